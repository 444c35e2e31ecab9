//! What an operator needs to know about a tenant, at a glance (`zoom-archiver status`):
//! files per source and state with the age of the oldest unfinished one, the last
//! successful poll and the watermark, the queue, today's Zoom budget use and the last
//! day reconciled.
//!
//! Everything comes from counts and indexes ([`crate::MetaStore::count_files`],
//! [`crate::MetaStore::count_cdrs`], [`crate::TaskQueue::counts`], the quota ledger's
//! day list): nothing reads every record.

use super::budget::{Budget, pool_of};
use super::reconcile::{DayReport, last_reconciled};
use crate::domain::{Source, TenantConfig};
use crate::ports::{MetaError, Ports, QueueError, QuotaLedger};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// One source of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// `phone` or `meetings`.
    pub source: String,
    /// Files stored.
    pub archived: u64,
    /// Files waiting for a download (new, or between attempts).
    pub pending: u64,
    /// Files being downloaded now (claimed).
    pub downloading: u64,
    /// Files failed for good: they need `zoom-archiver retry`.
    pub failed: u64,
    /// Files failed after transient trouble that the sweep tries again by itself (until
    /// the transient horizon).
    pub parked: u64,
    /// Files deleted at Zoom before they could be archived.
    pub gone: u64,
    /// Files kept from an earlier selection rule (never downloaded again).
    pub out_of_scope: u64,
    /// Bytes stored, where the store can sum them cheaply (the embedded default).
    pub bytes: Option<u64>,
    /// Age of the oldest unfinished file (pending, downloading or parked), in seconds.
    pub oldest_pending_seconds: Option<u64>,
    /// When the last complete poll finished.
    pub last_poll: Option<DateTime<Utc>>,
    /// Everything up to here has been listed.
    pub watermark: Option<DateTime<Utc>>,
    /// How long ago the last complete poll finished, in seconds.
    pub last_poll_seconds_ago: Option<u64>,
}

/// The task queue (on the embedded default one queue serves every tenant).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Visible now.
    pub ready: u64,
    /// Received or waiting for a retry.
    pub in_flight: u64,
    /// Dead-lettered: `zoom-archiver retry --dead-letters`.
    pub dead: u64,
}

/// Today's use of one quota counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaUse {
    /// The UTC day.
    pub day: NaiveDate,
    /// A rate-limit category (`Heavy`, `phone:Medium`, …) or a pool (`pool:meetings`).
    pub category: String,
    /// Calls counted.
    pub used: u64,
    /// This system's daily limit for it, if it has one.
    pub budget: Option<u64>,
}

/// The last final day reconciled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconciledGaps {
    /// Recorded at Zoom, missing from the archive (both sources).
    pub not_archived: u64,
    /// Not recorded at Zoom (both sources).
    pub not_recorded: u64,
    /// "Recording failed" CDRs written for the day.
    pub failed_cdrs_written: u64,
}

/// One tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantStatus {
    /// Tenant id.
    pub id: String,
    /// Per configured source.
    pub sources: Vec<SourceStatus>,
    /// The queue.
    pub queue: QueueStatus,
    /// Today's Zoom API use against the budget.
    pub quota: Vec<QuotaUse>,
    /// The last day reconciled for good.
    pub last_reconciled_day: Option<NaiveDate>,
    /// What that day's newest report found.
    pub last_reconciled_gaps: Option<ReconciledGaps>,
    /// CDRs stored.
    pub cdrs: u64,
}

/// Why a status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The metadata store or the ledger failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Reading the reconciliation state failed.
    #[error("reading the last reconciled day: {0}")]
    Reconcile(String),
}

/// The status of one tenant at the ports' clock.
pub async fn tenant_status(
    ports: &Ports,
    ledger: &dyn QuotaLedger,
    tenant: &TenantConfig,
) -> Result<TenantStatus, StatusError> {
    let now = ports.clock.now();
    let counts = ports.meta.count_files(&tenant.id).await?;
    let age = |t: DateTime<Utc>| (now - t).num_seconds().max(0) as u64;
    let mut sources = Vec::new();
    let mut seen: Vec<Source> = tenant.sources.clone();
    // A source no longer configured still shows while it has files.
    for c in &counts {
        if !seen.contains(&c.source) {
            seen.push(c.source);
        }
    }
    seen.sort();
    for source in seen {
        let mut s = SourceStatus {
            source: source.to_string(),
            ..SourceStatus::default()
        };
        let mut oldest: Option<DateTime<Utc>> = None;
        for c in counts.iter().filter(|c| c.source == source) {
            match c.state.as_str() {
                "archived" => {
                    s.archived += c.files;
                    s.bytes = c.bytes.map(|b| s.bytes.unwrap_or(0) + b);
                }
                "pending" => s.pending += c.files,
                "downloading" => s.downloading += c.files,
                "failed" => s.failed += c.files,
                "parked" => s.parked += c.files,
                "gone" => s.gone += c.files,
                _ => s.out_of_scope += c.files,
            }
            if let Some(t) = c.oldest_first_seen {
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
        }
        s.oldest_pending_seconds = oldest.map(age);
        if let Some(cur) = ports.meta.get_cursor(&tenant.id, source).await? {
            s.watermark = Some(cur.high);
            s.last_poll = cur.last_success_at;
            s.last_poll_seconds_ago = cur.last_success_at.map(age);
        }
        sources.push(s);
    }
    let q = ports.queue.counts().await?;
    let queue = QueueStatus {
        ready: q.ready,
        in_flight: q.in_flight + q.delayed,
        dead: q.dead,
    };
    let day = now.date_naive();
    let budget: Budget = tenant.budget();
    let mut counters = ledger.list(&tenant.account_id, day).await?;
    // The daily pools of the configured sources show even before their first call.
    for source in &tenant.sources {
        let pool = match source {
            Source::Phone => super::budget::POOL_PHONE,
            Source::Meetings => super::budget::POOL_MEETINGS,
        };
        if !counters.iter().any(|(k, _)| k == pool) {
            counters.push((pool.to_string(), 0));
        }
    }
    counters.sort();
    let quota = counters
        .into_iter()
        .map(|(category, used)| QuotaUse {
            day,
            budget: quota_limit(&budget, &category),
            category,
            used,
        })
        .collect();
    let last = last_reconciled(ports, &tenant.id)
        .await
        .map_err(|e| StatusError::Reconcile(e.to_string()))?;
    let (last_reconciled_day, last_reconciled_gaps) = match last {
        Some((d, r)) => (Some(d), r.as_ref().map(gaps)),
        None => (None, None),
    };
    Ok(TenantStatus {
        id: tenant.id.to_string(),
        sources,
        queue,
        quota,
        last_reconciled_day,
        last_reconciled_gaps,
        cdrs: ports.meta.count_cdrs(&tenant.id).await?,
    })
}

/// The daily limit of a counter: a pool's share, the pool's for a category that draws on
/// one, none otherwise.
fn quota_limit(budget: &Budget, key: &str) -> Option<u64> {
    if key.starts_with("pool:") {
        Some(budget.limit(key))
    } else {
        pool_of(key).map(|p| budget.limit(p))
    }
}

fn gaps(r: &DayReport) -> ReconciledGaps {
    ReconciledGaps {
        not_archived: r.phone.not_archived + r.meetings.not_archived,
        not_recorded: r.phone.not_recorded + r.meetings.not_recorded,
        failed_cdrs_written: r.failed_cdrs_written,
    }
}
