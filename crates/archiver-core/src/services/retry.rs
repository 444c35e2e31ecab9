//! An operator's retry (`zoom-archiver retry`): failed files and dead-lettered tasks
//! queued again.
//!
//! A file is retried when it is `failed` (for good, or parked after transient trouble):
//! back to `pending` with a fresh attempt budget and transient horizon, a new download
//! task, and an event in its history saying who retried it, when, and the failure it
//! replaced (the first failure is never dropped from the history). A file in any other
//! state is left alone: archived and gone files are final, and pending or downloading
//! ones are already on their way.
//!
//! A dead letter is handled by its file: a failed file is retried as above; the letter is
//! then removed in every case (a letter of an archived, gone or unknown file has nothing
//! left to do, and says so in the report). A letter that cannot be handled (the store
//! failed) is left in place for the next retry.

use super::intake::{IntakeError, enqueue};
use crate::domain::{DownloadTask, FileEvent, FileRecord, FileState, Source, TenantId};
use crate::ports::{FileQuery, MetaError, Ports, QueueError, retry_on_conflict};
use serde::Serialize;
use std::time::Duration;

/// What to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryWhat {
    /// One file, by its Zoom file id (any source).
    File(String),
    /// Every failed file (final and parked).
    Failed,
    /// Every dead-lettered task.
    DeadLetters,
}

/// One file or letter the retry looked at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetryLine {
    /// Tenant.
    pub tenant: String,
    /// Source.
    pub source: String,
    /// Zoom file id.
    pub file_id: String,
    /// `retried`, `would retry` (dry run), or why it was left alone.
    pub action: String,
    /// The failure it replaced, or the letter's reason.
    pub reason: String,
}

/// What a retry did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    /// Files queued again (or that would be, in a dry run).
    pub retried: u64,
    /// Dead letters removed.
    pub letters_removed: u64,
    /// One line per file or letter.
    pub lines: Vec<RetryLine>,
}

/// Why a retry stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// `--file` named a file no tenant has.
    #[error("no file with id {0:?}")]
    UnknownFile(String),
}

impl From<IntakeError> for RetryError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Meta(e) => RetryError::Meta(e),
            IntakeError::Queue(e) => RetryError::Queue(e),
        }
    }
}

/// How long a taken dead letter stays hidden from another operator's retry.
const LETTER_HOLD: Duration = Duration::from_secs(300);

/// Retries `what` for `tenants` (dead letters: those of these tenants; others are left in
/// place). `by` names the operator in each file's history. With `dry_run`, nothing is
/// changed and the report says what would be done.
pub async fn retry(
    ports: &Ports,
    tenants: &[TenantId],
    what: &RetryWhat,
    by: &str,
    dry_run: bool,
) -> Result<RetryReport, RetryError> {
    let mut report = RetryReport::default();
    match what {
        RetryWhat::File(id) => {
            let mut found = false;
            for t in tenants {
                for source in Source::ALL {
                    if let Some(f) = ports.meta.get_file(t, source, id).await? {
                        found = true;
                        retry_file(ports, &f, by, dry_run, &mut report).await?;
                    }
                }
            }
            if !found {
                return Err(RetryError::UnknownFile(id.clone()));
            }
        }
        RetryWhat::Failed => {
            for t in tenants {
                for state in ["failed", "parked"] {
                    let files = ports
                        .meta
                        .list_files(&FileQuery {
                            tenant: Some(t.clone()),
                            state: Some(state),
                            ..FileQuery::default()
                        })
                        .await?;
                    for f in files.iter().filter(|f| f.out_of_scope.is_none()) {
                        retry_file(ports, f, by, dry_run, &mut report).await?;
                    }
                }
            }
        }
        RetryWhat::DeadLetters => dead_letters(ports, tenants, by, dry_run, &mut report).await?,
    }
    Ok(report)
}

async fn dead_letters(
    ports: &Ports,
    tenants: &[TenantId],
    by: &str,
    dry_run: bool,
    report: &mut RetryReport,
) -> Result<(), RetryError> {
    let queue = ports.queue.as_ref();
    if dry_run {
        let total = queue.counts().await?.dead as usize;
        for l in queue.dead_letters(total.max(1)).await? {
            if !tenants.contains(&l.task.tenant) {
                continue;
            }
            let f = ports
                .meta
                .get_file(&l.task.tenant, l.task.source, &l.task.file_id)
                .await?;
            report
                .lines
                .push(letter_line(&l.task, f.as_ref(), &l.reason, true));
            if f.as_ref().is_some_and(retryable) {
                report.retried += 1;
            }
        }
        return Ok(());
    }
    // Every letter is taken at most once per call (a store with one consumer hands back
    // what was not removed; the count bounds the loop).
    let mut budget = queue.counts().await?.dead + 10;
    while budget > 0 {
        let held = queue.take_dead_letters(10, LETTER_HOLD).await?;
        if held.is_empty() {
            break;
        }
        budget = budget.saturating_sub(held.len() as u64);
        for h in held {
            let task = &h.letter.task;
            if !tenants.contains(&task.tenant) {
                continue;
            }
            let f = ports
                .meta
                .get_file(&task.tenant, task.source, &task.file_id)
                .await?;
            match &f {
                Some(f) if retryable(f) => retry_file(ports, f, by, false, report).await?,
                _ => report
                    .lines
                    .push(letter_line(task, f.as_ref(), &h.letter.reason, false)),
            }
            queue.remove_dead_letter(&h.receipt).await?;
            report.letters_removed += 1;
        }
    }
    Ok(())
}

fn retryable(f: &FileRecord) -> bool {
    matches!(f.state, FileState::Failed { .. }) && f.out_of_scope.is_none()
}

fn letter_line(
    task: &DownloadTask,
    f: Option<&FileRecord>,
    reason: &str,
    dry_run: bool,
) -> RetryLine {
    let action = match f {
        None => "letter removed: no such file".to_string(),
        Some(f) if retryable(f) && dry_run => "would retry".to_string(),
        Some(f) if f.out_of_scope.is_some() => "letter removed: file out of scope".into(),
        Some(f) => format!("letter removed: file is {}", f.state.name()),
    };
    let action = if dry_run {
        action.replace("letter removed", "letter would be removed")
    } else {
        action
    };
    RetryLine {
        tenant: task.tenant.to_string(),
        source: task.source.to_string(),
        file_id: task.file_id.clone(),
        action,
        reason: reason.to_string(),
    }
}

/// Retries one file when it is failed; reports what was done either way.
async fn retry_file(
    ports: &Ports,
    f: &FileRecord,
    by: &str,
    dry_run: bool,
    report: &mut RetryReport,
) -> Result<(), RetryError> {
    let mut line = RetryLine {
        tenant: f.tenant.to_string(),
        source: f.source.to_string(),
        file_id: f.file_id.clone(),
        action: String::new(),
        reason: f.state_reason().unwrap_or_default().to_string(),
    };
    if !retryable(f) {
        line.action = match &f.out_of_scope {
            Some(_) => "left alone: out of scope".into(),
            None => format!("left alone: {}", f.state.name()),
        };
        report.lines.push(line);
        return Ok(());
    }
    if dry_run {
        line.action = "would retry".into();
        report.retried += 1;
        report.lines.push(line);
        return Ok(());
    }
    let meta = ports.meta.as_ref();
    let now = ports.clock.now();
    let written = retry_on_conflict(|| async move {
        let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
            return Ok(None);
        };
        if !retryable(&cur) {
            return Ok(None);
        }
        let detail = format!(
            "{}: {}",
            cur.state.name(),
            cur.state_reason().unwrap_or_default()
        );
        cur.record_event(FileEvent {
            at: now,
            what: "retried".into(),
            by: by.to_string(),
            detail,
        });
        cur.state = FileState::Pending;
        cur.attempts = 0;
        cur.transient_since = None;
        cur.not_before = None;
        cur.queued = false;
        cur.next_due = Some(now);
        cur.updated_at = now;
        meta.update_file(&cur).await.map(Some)
    })
    .await?;
    match written {
        Some(rec) => {
            // The CDRs show the file as pending again (no longer failed).
            super::cdrs::sync_file(meta, &rec, now).await?;
            enqueue(
                ports,
                vec![DownloadTask::new(
                    rec.tenant.clone(),
                    rec.source,
                    &rec.file_id,
                )],
            )
            .await?;
            line.action = "retried".into();
            report.retried += 1;
        }
        None => line.action = "left alone: changed meanwhile".into(),
    }
    report.lines.push(line);
    Ok(())
}
