//! Plain-text summaries of what a run did.

use archiver_core::services::poller::PollReport;
use archiver_core::services::retry::RetryReport;
use archiver_core::services::runner::DrainReport;
use archiver_core::services::status::TenantStatus;
use archiver_core::services::verify::VerifyReport;
use archiver_core::{MetaStore, Source, TenantId};

/// Per tenant and source: files by state and bytes archived.
#[derive(Clone, Debug, Default)]
pub struct ArchiveTotals {
    /// Rows: tenant, source, archived, pending, gone, failed, bytes.
    pub rows: Vec<(String, String, u64, u64, u64, u64, u64)>,
    /// CDRs stored.
    pub cdrs: u64,
    /// Files marked out of scope (kept, not counted above).
    pub out_of_scope: u64,
}

/// Reads the totals from the metadata store's counts (no record is read).
pub async fn totals(meta: &dyn MetaStore, tenants: &[TenantId]) -> anyhow::Result<ArchiveTotals> {
    let mut t = ArchiveTotals::default();
    for tenant in tenants {
        let counts = meta.count_files(tenant).await?;
        for source in Source::ALL {
            let (mut a, mut p, mut g, mut f, mut bytes) = (0, 0, 0, 0, 0);
            for c in counts.iter().filter(|c| c.source == source) {
                match c.state.as_str() {
                    "archived" => {
                        a += c.files;
                        bytes += c.bytes.unwrap_or(0);
                    }
                    "gone" => g += c.files,
                    "failed" | "parked" => f += c.files,
                    "out_of_scope" => t.out_of_scope += c.files,
                    _ => p += c.files,
                }
            }
            if a + p + g + f > 0 {
                t.rows
                    .push((tenant.to_string(), source.to_string(), a, p, g, f, bytes));
            }
        }
        t.cdrs += meta.count_cdrs(tenant).await?;
    }
    Ok(t)
}

/// `zoom-archiver status` as text.
pub fn status_table(all: &[TenantStatus]) -> String {
    let mut s = format!(
        "{:<16} {:<9} {:>9} {:>8} {:>11} {:>7} {:>6} {:>5} {:>14} {:>14}  {}\n",
        "tenant",
        "source",
        "archived",
        "pending",
        "downloading",
        "parked",
        "failed",
        "gone",
        "bytes",
        "oldest_pending",
        "last_poll (watermark)"
    );
    for t in all {
        for src in &t.sources {
            let poll = match (&src.last_poll, src.last_poll_seconds_ago) {
                (Some(p), Some(ago)) => format!(
                    "{} ({} ago; watermark {})",
                    p.format("%Y-%m-%dT%H:%M:%SZ"),
                    ago_text(ago),
                    src.watermark
                        .map(|w| w.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_else(|| "-".into())
                ),
                _ => "never".into(),
            };
            s.push_str(&format!(
                "{:<16} {:<9} {:>9} {:>8} {:>11} {:>7} {:>6} {:>5} {:>14} {:>14}  {}\n",
                t.id,
                src.source,
                src.archived,
                src.pending,
                src.downloading,
                src.parked,
                src.failed,
                src.gone,
                src.bytes.map_or_else(|| "-".into(), |b| b.to_string()),
                src.oldest_pending_seconds
                    .map_or_else(|| "-".into(), ago_text),
                poll
            ));
        }
    }
    for t in all {
        s.push_str(&format!(
            "{}: queue {} ready, {} in flight, {} dead letters{}; {} CDRs\n",
            t.id,
            t.queue.ready,
            t.queue.in_flight,
            t.queue.dead,
            if t.queue.dead > 0 {
                " (zoom-archiver retry --dead-letters)"
            } else {
                ""
            },
            t.cdrs
        ));
        if t.sources.iter().any(|s| s.failed > 0) {
            s.push_str(&format!(
                "{}: failed files need an operator: zoom-archiver retry --tenant {} --failed\n",
                t.id, t.id
            ));
        }
        let quota: Vec<String> = t
            .quota
            .iter()
            .map(|q| match q.budget {
                Some(b) => format!("{} {}/{}", q.category, q.used, b),
                None => format!("{} {}", q.category, q.used),
            })
            .collect();
        s.push_str(&format!(
            "{}: Zoom calls today (UTC): {}\n",
            t.id,
            if quota.is_empty() {
                "none".into()
            } else {
                quota.join(", ")
            }
        ));
        s.push_str(&format!(
            "{}: last reconciled day: {}\n",
            t.id,
            match (&t.last_reconciled_day, &t.last_reconciled_gaps) {
                (Some(d), Some(g)) => format!(
                    "{d} ({} not archived, {} not recorded, {} \"recording failed\" CDRs)",
                    g.not_archived, g.not_recorded, g.failed_cdrs_written
                ),
                (Some(d), None) => d.to_string(),
                _ => "none yet".into(),
            }
        ));
    }
    s
}

fn ago_text(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `zoom-archiver retry` as text.
pub fn retry_lines(r: &RetryReport, dry_run: bool) -> String {
    let mut s = String::new();
    for l in &r.lines {
        s.push_str(&format!(
            "{}/{}/{}: {}{}\n",
            l.tenant,
            l.source,
            l.file_id,
            l.action,
            if l.reason.is_empty() {
                String::new()
            } else {
                format!(" (was: {})", l.reason)
            }
        ));
    }
    s.push_str(&format!(
        "{} {} files{}\n",
        if dry_run { "would retry" } else { "retried" },
        r.retried,
        if r.letters_removed > 0 {
            format!(", removed {} dead letters", r.letters_removed)
        } else {
            String::new()
        }
    ));
    if !dry_run && r.retried > 0 {
        s.push_str("the next run (or the downloader on AWS) takes them up\n");
    }
    s
}

/// `zoom-archiver verify` as text: one line per object not intact, then a summary.
pub fn verify_lines(r: &VerifyReport, took: std::time::Duration) -> String {
    use archiver_core::services::verify::Problem;
    let mut s = String::new();
    for f in &r.findings {
        let what = match &f.problem {
            Problem::Missing => "MISSING".to_string(),
            Problem::Altered {
                expected_size,
                actual_size,
                expected_sha256,
                actual_sha256,
            } => format!(
                "ALTERED size {actual_size} (recorded {expected_size}), sha256 {actual_sha256} (recorded {expected_sha256})"
            ),
            Problem::Unknown { size } => format!("UNKNOWN {size} bytes stored without a record"),
            Problem::Unreadable { error } => format!("UNREADABLE {error}"),
        };
        s.push_str(&format!("{what}: {}\n", f.key));
    }
    let secs = took.as_secs_f64().max(1e-9);
    s.push_str(&format!(
        "verified {} files, {} bytes in {:.1} s ({:.1} MiB/s): {} intact, {} not\n",
        r.checked,
        r.bytes,
        secs,
        r.bytes as f64 / 1_048_576.0 / secs,
        r.intact,
        r.findings.len()
    ));
    s
}

/// Formats the totals as a table.
pub fn totals_table(t: &ArchiveTotals) -> String {
    let mut s = format!(
        "{:<16} {:<9} {:>9} {:>8} {:>6} {:>7} {:>14}\n",
        "tenant", "source", "archived", "pending", "gone", "failed", "bytes"
    );
    for (tenant, source, a, p, g, f, b) in &t.rows {
        s.push_str(&format!(
            "{tenant:<16} {source:<9} {a:>9} {p:>8} {g:>6} {f:>7} {b:>14}\n"
        ));
    }
    s.push_str(&format!("CDRs stored: {}\n", t.cdrs));
    if t.out_of_scope > 0 {
        s.push_str(&format!(
            "out of scope: {} files archived by an earlier rule (kept where they are, not listed)\n",
            t.out_of_scope
        ));
    }
    s
}

/// One line per poll.
pub fn poll_lines(polls: &[(TenantId, Source, Result<PollReport, String>)]) -> String {
    let mut s = String::new();
    for (t, src, r) in polls {
        match r {
            Ok(p) if p.skipped.is_some() => s.push_str(&format!("poll {t}/{src}: skipped ({})\n", p.skipped.as_deref().unwrap_or(""))),
            Ok(p) => s.push_str(&format!(
                "poll {t}/{src}: {} listed, {} files selected, {} new, {} queued, {} waiting at Zoom, {} pages\n",
                p.listed, p.selected, p.new_files, p.enqueued, p.waiting, p.pages
            )),
            Err(e) => s.push_str(&format!("poll {t}/{src}: FAILED: {e}\n")),
        }
        let Ok(p) = r else { continue };
        for email in &p.unknown_users {
            s.push_str(&format!(
                "poll {t}/{src}: configured user {email} is unknown to Zoom (404): fix the email in the configuration\n"
            ));
        }
        for e in &p.user_lookup_errors {
            s.push_str(&format!("poll {t}/{src}: user lookup failed: {e}\n"));
        }
        if let Some(sc) = &p.scope
            && sc.files_out_of_scope + sc.cdrs_out_of_scope > 0
        {
            s.push_str(&format!(
                "poll {t}/{src}: {} phone files and {} CDRs of the earlier attribution rule marked out of scope (kept, not listed)\n",
                sc.files_out_of_scope, sc.cdrs_out_of_scope
            ));
        }
        if let Some(e) = &p.scope_error {
            s.push_str(&format!("poll {t}/{src}: re-judging archived phone recordings failed (retried next poll): {e}\n"));
        }
    }
    s
}

/// The failures of a drain, one per line.
pub fn failure_lines(d: &DrainReport) -> String {
    let mut s = String::new();
    for r in &d.dead {
        s.push_str(&format!(
            "FAILED {}/{}/{}: {}\n",
            r.task.tenant, r.task.source, r.task.file_id, r.detail
        ));
    }
    for r in d.done.iter().filter(|r| r.detail.starts_with("gone")) {
        s.push_str(&format!(
            "GONE {}/{}/{}: {}\n",
            r.task.tenant, r.task.source, r.task.file_id, r.detail
        ));
    }
    s
}
