//! Plain-text summaries of what a run did.

use archiver_core::services::poller::PollReport;
use archiver_core::services::runner::DrainReport;
use archiver_core::{FileQuery, MetaStore, Source, TenantId};

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

/// Reads the totals from the metadata store.
pub async fn totals(meta: &dyn MetaStore, tenants: &[TenantId]) -> anyhow::Result<ArchiveTotals> {
    let mut t = ArchiveTotals::default();
    for tenant in tenants {
        let files = meta
            .list_files(&FileQuery {
                tenant: Some(tenant.clone()),
                ..Default::default()
            })
            .await?;
        for source in Source::ALL {
            let (mut a, mut p, mut g, mut f, mut bytes) = (0, 0, 0, 0, 0);
            for r in files.iter().filter(|r| r.source == source) {
                if r.out_of_scope.is_some() {
                    t.out_of_scope += 1;
                    continue;
                }
                match &r.state {
                    archiver_core::FileState::Archived { size, .. } => {
                        a += 1;
                        bytes += size;
                    }
                    archiver_core::FileState::Gone { .. } => g += 1,
                    archiver_core::FileState::Failed { .. } => f += 1,
                    _ => p += 1,
                }
            }
            if a + p + g + f > 0 {
                t.rows
                    .push((tenant.to_string(), source.to_string(), a, p, g, f, bytes));
            }
        }
        t.cdrs += meta
            .query_cdrs(&archiver_core::CdrQuery {
                tenant: Some(tenant.clone()),
                ..Default::default()
            })
            .await?
            .len() as u64;
    }
    Ok(t)
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
