//! Storing what the selection rules planned: files inserted once, CDR drafts inserted or
//! merged, a download task sent only for files that are new (or known but never sent).
//! The poller stores every listing page through it, and reconciliation a recording it
//! fetched late; both get the same guarantees (insert-if-absent, no second copy).

use super::cdrs;
use super::select::Plan;
use crate::domain::{Cdr, DownloadTask, FileRecord, Source, TenantId};
use crate::ports::{MetaError, Ports, QueueError, retry_on_conflict};
use std::collections::BTreeMap;
use tracing::debug;

/// What [`store`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// Files the plans selected (new or known).
    pub selected: u64,
    /// Files seen for the first time.
    pub new_files: u64,
    /// CDR drafts created.
    pub new_cdrs: u64,
    /// "Recording failed" CDRs turned into normal ones by a late recording.
    pub upgraded_cdrs: u64,
    /// Download tasks sent.
    pub enqueued: u64,
}

/// Why storing stopped (what was stored before stays; a rerun is harmless).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Stores `plans` (one batch of writes: one transaction each on SQLite) and queues the
/// downloads they need.
pub async fn store(ports: &Ports, plans: Vec<Plan>) -> Result<Stored, IntakeError> {
    let mut out = Stored::default();
    let mut tasks = Vec::new();
    let meta = &ports.meta;
    let mut existing_terminal = Vec::new();
    let files: Vec<FileRecord> = plans.iter().flat_map(|p| p.files.iter().cloned()).collect();
    let inserted = meta.insert_files(&files).await?;
    for (f, new) in files.iter().zip(inserted) {
        out.selected += 1;
        if new {
            out.new_files += 1;
            tasks.push(DownloadTask::new(f.tenant.clone(), f.source, &f.file_id));
            continue;
        }
        // Known file: merge newly linked CDRs, bring back into scope a file the rules
        // select again (a user configured since), re-queue one that was never queued.
        let now = ports.clock.now();
        let cur = retry_on_conflict(|| async move {
            let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
                return Ok(None);
            };
            let mut changed = false;
            for id in &f.cdr_ids {
                if !cur.cdr_ids.contains(id) {
                    cur.cdr_ids.push(id.clone());
                    changed = true;
                }
            }
            if cur.out_of_scope.take().is_some() {
                cur.queued = false;
                changed = true;
            }
            if !changed {
                return Ok(Some(cur));
            }
            cur.updated_at = now;
            meta.update_file(&cur).await.map(Some)
        })
        .await?;
        let Some(cur) = cur else { continue };
        if cur.state.name() == "pending" && !cur.queued {
            tasks.push(DownloadTask::new(
                cur.tenant.clone(),
                cur.source,
                &cur.file_id,
            ));
        }
        if cur.state.is_terminal() {
            existing_terminal.push(cur);
        }
    }
    let drafts: Vec<Cdr> = plans.iter().flat_map(|p| p.cdrs.iter().cloned()).collect();
    let stored = cdrs::store_drafts(meta.as_ref(), &drafts, ports.clock.now()).await?;
    out.new_cdrs += stored.new;
    out.upgraded_cdrs += stored.upgraded;
    // A CDR that newly links a file archived earlier must show it as archived.
    for f in existing_terminal {
        cdrs::sync_file(meta.as_ref(), &f, ports.clock.now()).await?;
    }
    out.enqueued = enqueue(ports, tasks).await?;
    Ok(out)
}

/// Sends `tasks` (in batches of 10) and marks their files queued. Returns how many.
pub async fn enqueue(ports: &Ports, tasks: Vec<DownloadTask>) -> Result<u64, IntakeError> {
    if tasks.is_empty() {
        return Ok(0);
    }
    for chunk in tasks.chunks(10) {
        ports.queue.send_batch(chunk).await?;
    }
    let mut groups: BTreeMap<(TenantId, Source), Vec<String>> = BTreeMap::new();
    for t in &tasks {
        groups
            .entry((t.tenant.clone(), t.source))
            .or_default()
            .push(t.file_id.clone());
    }
    for ((tenant, source), ids) in groups {
        ports.meta.mark_queued(&tenant, source, &ids).await?;
    }
    debug!(count = tasks.len(), "download tasks queued");
    Ok(tasks.len() as u64)
}
