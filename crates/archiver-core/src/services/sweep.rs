//! The self-healing sweep: nothing stays stranded.
//!
//! Run once per poll (by the poller, so in the poller function on AWS and in the local
//! runner), per tenant source. It looks at the files that are not finished — by the state
//! index, never at the archived ones — and:
//!
//! - **re-queues** a `pending` or `downloading` file whose task should have been delivered
//!   by now and was not: more than [`SweepOptions::grace`] past its `next_due` (sent, a
//!   retry's end, a claim's end), whatever its `queued` flag. Its task was lost (a message
//!   deleted by hand, a crash between insert and send, a DLQ redrive from the console of a
//!   task already settled): a fresh one is sent. A duplicate of a live task is harmless
//!   (the downloader claims and is idempotent); to keep a busy queue from doubling, files
//!   are re-queued only while the queue has no ready backlog, or once they are a day past
//!   due;
//! - **re-drives** a `parked` file (transient trouble, settled before the queue's own
//!   redrive): back to `pending` with a fresh task, its transient horizon still running;
//!   past the horizon it is failed for good with the reason.
//!
//! Every re-queue and re-drive is counted in the poll report.

use crate::domain::{DownloadTask, FileRecord, FileState, Source, TenantId};
use crate::ports::{FileQuery, MetaError, Ports, QueueError, retry_on_conflict};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tracing::{info, warn};

/// How the sweep judges a file.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// How long past its `next_due` an unfinished file may wait before its task counts as
    /// lost (longer than the queue's visibility timeout: a task in flight at a dead worker
    /// comes back then).
    pub grace: std::time::Duration,
    /// The downloader's transient horizon (a parked file past it is failed for good).
    pub transient_horizon: std::time::Duration,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            grace: std::time::Duration::from_secs(2 * 3600),
            transient_horizon: std::time::Duration::from_secs(24 * 3600),
        }
    }
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Unfinished files given a fresh task (their task was lost).
    pub requeued: u64,
    /// Parked files re-driven after transient trouble.
    pub redriven: u64,
    /// Parked files failed for good: their transient horizon passed.
    pub expired: u64,
    /// Overdue files left alone because the queue has a ready backlog (they may be in it).
    pub left_for_backlog: u64,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Sweeps the unfinished files of one tenant source (see the module docs).
pub async fn sweep(
    ports: &Ports,
    tenant: &TenantId,
    source: Source,
    opts: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    let meta = ports.meta.as_ref();
    let now = ports.clock.now();
    let grace = Duration::from_std(opts.grace).unwrap_or(Duration::hours(2));
    let horizon = Duration::from_std(opts.transient_horizon).unwrap_or(Duration::hours(24));
    let mut report = SweepReport::default();
    let mut unfinished = Vec::new();
    for state in ["pending", "downloading", "parked"] {
        unfinished.extend(
            meta.list_files(&FileQuery {
                tenant: Some(tenant.clone()),
                state: Some(state),
                ..FileQuery::default()
            })
            .await?
            .into_iter()
            .filter(|f| f.source == source && f.out_of_scope.is_none()),
        );
    }
    if unfinished.is_empty() {
        return Ok(report);
    }
    let backlog = ports.queue.counts().await?.ready;
    let mut tasks = Vec::new();
    for f in unfinished {
        let due = f.next_due.unwrap_or(f.updated_at);
        match &f.state {
            FileState::Failed { reason, .. } => {
                let since = f.transient_since.unwrap_or(due);
                if now - since >= horizon {
                    let why = format!(
                        "gave up after {} of transient errors since {since}: {reason}",
                        humantime::format_duration(opts.transient_horizon)
                    );
                    if settle(ports, &f, now, Outcome::Final(why)).await? {
                        report.expired += 1;
                    }
                } else if settle(ports, &f, now, Outcome::Again).await? {
                    report.redriven += 1;
                    tasks.push(DownloadTask::new(f.tenant.clone(), f.source, &f.file_id));
                }
            }
            FileState::Pending | FileState::Downloading { .. } => {
                let lease_over = match &f.state {
                    FileState::Downloading { lease_until, .. } => *lease_until <= now,
                    _ => true,
                };
                if !lease_over || now - due < grace {
                    continue;
                }
                if backlog > 0 && now - due < Duration::days(1) {
                    report.left_for_backlog += 1;
                    continue;
                }
                if settle(ports, &f, now, Outcome::Requeue).await? {
                    report.requeued += 1;
                    tasks.push(DownloadTask::new(f.tenant.clone(), f.source, &f.file_id));
                }
            }
            _ => {}
        }
    }
    super::intake::enqueue(ports, tasks)
        .await
        .map_err(|e| match e {
            super::intake::IntakeError::Meta(e) => SweepError::Meta(e),
            super::intake::IntakeError::Queue(e) => SweepError::Queue(e),
        })?;
    if report != SweepReport::default() {
        info!(%tenant, %source, requeued = report.requeued, redriven = report.redriven, expired = report.expired, left_for_backlog = report.left_for_backlog, "sweep");
    }
    Ok(report)
}

enum Outcome {
    /// A fresh task for an unfinished file.
    Requeue,
    /// A parked file back to pending.
    Again,
    /// A parked file failed for good.
    Final(String),
}

/// Writes what the sweep decided about `f` (compare-and-set, retried; a file that changed
/// meanwhile in a way that settles it is left alone). True when it was written.
async fn settle(
    ports: &Ports,
    f: &FileRecord,
    now: DateTime<Utc>,
    outcome: Outcome,
) -> Result<bool, MetaError> {
    let meta = ports.meta.as_ref();
    let outcome = &outcome;
    let state_before = f.state.name();
    let written = retry_on_conflict(|| async move {
        let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
            return Ok(None);
        };
        if cur.state.name() != state_before {
            return Ok(None);
        }
        match outcome {
            Outcome::Requeue => {
                cur.queued = false;
                cur.next_due = Some(now);
            }
            Outcome::Again => {
                cur.state = FileState::Pending;
                cur.queued = false;
                cur.not_before = None;
                cur.next_due = Some(now);
            }
            Outcome::Final(why) => {
                warn!(file_id = %cur.file_id, reason = %why, "parked file failed for good");
                cur.state = FileState::Failed {
                    reason: why.clone(),
                    at: now,
                    transient: false,
                };
                cur.next_due = None;
                cur.not_before = None;
            }
        }
        cur.updated_at = now;
        meta.update_file(&cur).await.map(Some)
    })
    .await?;
    match written {
        Some(rec) => {
            if rec.state.is_terminal() {
                super::cdrs::sync_file(meta, &rec, now).await?;
            }
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Releases every file claim (`downloading`) back to `pending`: for a process that is the
/// only consumer of its queue (the embedded default), at start, the claims a run that ended
/// (killed, or stopped after its grace) left behind, so that their tasks — made visible
/// again by the queue's own recovery — are taken up at once instead of after the lease.
/// Returns how many were released.
pub async fn release_claims(ports: &Ports) -> Result<u64, MetaError> {
    let meta = ports.meta.as_ref();
    let now = ports.clock.now();
    let mut released = 0;
    for f in meta
        .list_files(&FileQuery {
            state: Some("downloading"),
            ..FileQuery::default()
        })
        .await?
    {
        let f = &f;
        let done = retry_on_conflict(|| async move {
            let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
                return Ok(false);
            };
            if !matches!(cur.state, FileState::Downloading { .. }) {
                return Ok(false);
            }
            cur.state = FileState::Pending;
            cur.attempts = cur.attempts.saturating_sub(1);
            cur.next_due = Some(now);
            cur.updated_at = now;
            meta.update_file(&cur).await.map(|_| true)
        })
        .await?;
        released += u64::from(done);
    }
    Ok(released)
}
