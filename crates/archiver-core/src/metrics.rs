//! The archive's metrics: one home for their names and labels.
//!
//! Recorded through the `metrics` facade, so the process decides where they go: CloudWatch
//! EMF in the Lambda functions (`archiver-lambda`, namespace `ZoomArchiver`, labels become
//! dimensions), Prometheus text on `zoom-archiver run --listen`. Without a recorder they
//! cost nothing.
//!
//! | metric | kind | labels | recorded when |
//! |---|---|---|---|
//! | `files_archived` | counter | tenant, source | a file is stored |
//! | `bytes_archived` | counter | tenant, source | a file is stored (its size) |
//! | `download_seconds` | histogram | tenant, source | a file is stored (the delivery's handling time) |
//! | `files_failed` | counter | tenant, source | a file fails for good |
//! | `files_gone` | counter | tenant, source | a file is found deleted at Zoom |
//! | `queue_age_seconds` | gauge | tenant | a task is delivered (time since it was sent) |
//! | `poll_succeeded` | counter | tenant | a poll of a source completes |
//! | `poll_lag_seconds` | gauge | tenant, source | a poll completes (now − watermark) |
//! | `budget_deferrals` | counter | tenant | a Zoom call is refused by this system's daily budget |
//! | `recording_failed_cdrs` | counter | tenant, source | reconciliation writes "recording failed" CDRs |
//! | `sweep_redrives` | counter | tenant, source | the sweep re-queues or re-drives files |
//! | `verify_checked` | counter | tenant | fixity checks a stored object |
//! | `verify_mismatches` | counter | tenant | fixity finds an object missing, altered, unknown or unreadable |

use crate::domain::{Source, TenantId};

/// Every metric name (the table above; the template's alarms and dashboard use them).
pub const NAMES: [&str; 13] = [
    "files_archived",
    "bytes_archived",
    "download_seconds",
    "files_failed",
    "files_gone",
    "queue_age_seconds",
    "poll_succeeded",
    "poll_lag_seconds",
    "budget_deferrals",
    "recording_failed_cdrs",
    "sweep_redrives",
    "verify_checked",
    "verify_mismatches",
];

fn ts(tenant: &TenantId, source: Source) -> [(&'static str, String); 2] {
    [
        ("tenant", tenant.to_string()),
        ("source", source.as_str().to_string()),
    ]
}

fn t(tenant: &TenantId) -> [(&'static str, String); 1] {
    [("tenant", tenant.to_string())]
}

/// A file stored: `files_archived`, `bytes_archived`.
pub fn file_archived(tenant: &TenantId, source: Source, bytes: u64) {
    metrics::counter!("files_archived", &ts(tenant, source)).increment(1);
    metrics::counter!("bytes_archived", &ts(tenant, source)).increment(bytes);
}

/// How long a delivery that stored its file took.
pub fn download_seconds(tenant: &TenantId, source: Source, secs: f64) {
    metrics::histogram!("download_seconds", &ts(tenant, source)).record(secs);
}

/// A file failed for good.
pub fn file_failed(tenant: &TenantId, source: Source) {
    metrics::counter!("files_failed", &ts(tenant, source)).increment(1);
}

/// A file found deleted at Zoom.
pub fn file_gone(tenant: &TenantId, source: Source) {
    metrics::counter!("files_gone", &ts(tenant, source)).increment(1);
}

/// A task delivered `secs` after it was sent.
pub fn queue_age(tenant: &TenantId, secs: f64) {
    metrics::gauge!("queue_age_seconds", &t(tenant)).set(secs);
}

/// A poll of a source completed, its watermark `lag_secs` behind now.
pub fn poll_succeeded(tenant: &TenantId, source: Source, lag_secs: f64) {
    metrics::counter!("poll_succeeded", &t(tenant)).increment(1);
    metrics::gauge!("poll_lag_seconds", &ts(tenant, source)).set(lag_secs);
}

/// A Zoom call refused by this system's daily budget.
pub fn budget_deferral(tenant: &str) {
    metrics::counter!("budget_deferrals", "tenant" => tenant.to_string()).increment(1);
}

/// "Recording failed" CDRs written.
pub fn recording_failed_cdrs(tenant: &TenantId, source: Source, n: u64) {
    if n > 0 {
        metrics::counter!("recording_failed_cdrs", &ts(tenant, source)).increment(n);
    }
}

/// Files the sweep re-queued or re-drove.
pub fn sweep_redrives(tenant: &TenantId, source: Source, n: u64) {
    if n > 0 {
        metrics::counter!("sweep_redrives", &ts(tenant, source)).increment(n);
    }
}

/// Fixity checked `checked` objects of a tenant and found `mismatches` not intact.
pub fn verified(tenant: &str, checked: u64, mismatches: u64) {
    metrics::counter!("verify_checked", "tenant" => tenant.to_string()).increment(checked);
    metrics::counter!("verify_mismatches", "tenant" => tenant.to_string()).increment(mismatches);
}
