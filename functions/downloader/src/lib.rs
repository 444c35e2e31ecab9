//! The downloader Lambda: consumes the SQS task queue and archives one Zoom file per record.
//!
//! For each record of a batch (at most [`CONCURRENCY`] at a time) the handler builds a
//! [`Delivery`] and calls [`Downloader::handle_until`] with a deadline: the invocation's
//! deadline minus [`DownloaderEnv::deadline_margin`] (env `DOWNLOAD_DEADLINE_MARGIN_SECS`,
//! default [`DEFAULT_DEADLINE_MARGIN`]). A file too large to finish by then pauses its
//! multipart upload at a part boundary, keeps the checkpoint in its file record and comes
//! back as `Retry { after: 0 }`; the next invocation continues it. A record whose turn
//! comes after the deadline is retried at once without being started.
//! - `Done` → success (Lambda deletes the message);
//! - `Retry { after }` → `ChangeMessageVisibility(after)` and the record is reported in
//!   `batchItemFailures`, so Lambda leaves it on the queue until then;
//! - `DeadLetter { reason }` → the task goes to the DLQ with its reason, then success;
//! - a record that is not a task → to the DLQ with the parse error, then success (it is
//!   never failed forever).
//!
//! If moving a record fails (SQS error), the record is reported as failed and SQS delivers it
//! again; the redrive policy dead-letters it after `maxReceiveCount` deliveries.

use archiver_aws::{RawDeadLetters, delivery_from_sqs_message};
use archiver_core::services::downloader::{Downloader, TaskOutcome};
use archiver_core::{QueueError, TaskQueue, ZoomApi};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{Instrument, error, info, warn};

/// Records of one batch processed concurrently.
pub const CONCURRENCY: usize = 2;

/// Time kept free before the invocation's deadline: enough to finish the part being read,
/// wait for the parts in flight and save the checkpoint.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(90);

/// The margin from env `DOWNLOAD_DEADLINE_MARGIN_SECS` (whole seconds), else
/// [`DEFAULT_DEADLINE_MARGIN`].
pub fn deadline_margin_from_env() -> Result<Duration, String> {
    match std::env::var("DOWNLOAD_DEADLINE_MARGIN_SECS") {
        Ok(v) if !v.trim().is_empty() => {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|e| {
                    format!("DOWNLOAD_DEADLINE_MARGIN_SECS={v:?} is not a number of seconds: {e}")
                })
        }
        _ => Ok(DEFAULT_DEADLINE_MARGIN),
    }
}

/// The instant at which uploads should pause: `deadline` (the invocation's, as wall-clock
/// time) minus `margin`. `None` when the runtime gave no deadline (0 ms: tests, local runs).
pub fn upload_deadline(deadline: SystemTime, margin: Duration) -> Option<Instant> {
    if deadline == SystemTime::UNIX_EPOCH {
        return None;
    }
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(margin);
    Some(Instant::now() + left)
}

/// What the handler needs, built once per cold start.
pub struct DownloaderEnv {
    /// The core service.
    pub downloader: Downloader,
    /// The task queue (visibility changes and dead letters of parsed tasks).
    pub queue: Arc<dyn TaskQueue>,
    /// Dead letters of records that are not tasks.
    pub raw_dead_letters: Arc<dyn RawDeadLetters>,
    /// The tenant's Zoom API.
    pub zoom: Arc<dyn ZoomApi>,
    /// Time kept free before the invocation's deadline (see [`upload_deadline`]).
    pub deadline_margin: Duration,
}

enum RecordResult {
    Ok,
    Failed,
}

async fn process(env: &DownloaderEnv, msg: &SqsMessage, deadline: Option<Instant>) -> RecordResult {
    let message_id = msg.message_id.clone().unwrap_or_default();
    let delivery = match delivery_from_sqs_message(msg) {
        Ok(d) => d,
        Err(e) => {
            let reason = e.to_string();
            warn!(message_id = %message_id, error = %reason, "record is not a download task; dead-lettering it");
            let Some(receipt) = msg.receipt_handle.as_deref() else {
                error!(message_id = %message_id, "record has no receipt handle");
                return RecordResult::Failed;
            };
            return match env
                .raw_dead_letters
                .dead_letter_raw(receipt, msg.body.as_deref().unwrap_or(""), &reason)
                .await
            {
                Ok(()) => RecordResult::Ok,
                Err(e) => {
                    error!(message_id = %message_id, error = %e, "dead-lettering a malformed record failed");
                    RecordResult::Failed
                }
            };
        }
    };
    let t = &delivery.task;
    let span = tracing::info_span!("record", message_id = %message_id, tenant = %t.tenant, source = %t.source, file_id = %t.file_id, task_id = %t.task_id);
    let r: Result<RecordResult, QueueError> = async {
        let outcome = if deadline.is_some_and(|d| Instant::now() >= d) {
            TaskOutcome::Retry {
                after: Duration::ZERO,
                reason: "no time left in this invocation".into(),
            }
        } else {
            env.downloader
                .handle_until(&delivery, &*env.zoom, deadline)
                .await
        };
        match outcome {
            TaskOutcome::Done(what) => {
                info!(outcome = "done", detail = %what, "task done");
                Ok(RecordResult::Ok)
            }
            TaskOutcome::Retry { after, reason } => {
                info!(outcome = "retry", after_secs = after.as_secs(), reason = %reason, "task will be retried");
                env.queue.retry_later(&delivery.receipt, after).await?;
                Ok(RecordResult::Failed)
            }
            TaskOutcome::DeadLetter { reason } => {
                warn!(outcome = "dead_letter", reason = %reason, "task dead-lettered");
                env.queue.dead_letter(&delivery, &reason).await?;
                Ok(RecordResult::Ok)
            }
        }
    }
    .instrument(span)
    .await;
    r.unwrap_or_else(|e| {
        error!(message_id = %message_id, error = %e, "queue operation failed; the record will be delivered again");
        RecordResult::Failed
    })
}

/// Handles one SQS batch; the response lists the records to keep on the queue.
pub async fn handle(
    env: &DownloaderEnv,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let deadline = upload_deadline(event.context.deadline(), env.deadline_margin);
    let records = event.payload.records;
    let results: Vec<(Option<String>, RecordResult)> = futures::stream::iter(records.iter())
        .map(|m| async move { (m.message_id.clone(), process(env, m, deadline).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (id, r) in results {
        if let RecordResult::Failed = r {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.unwrap_or_default();
            response.batch_item_failures.push(f);
        }
    }
    response
        .batch_item_failures
        .sort_by(|a, b| a.item_identifier.cmp(&b.item_identifier));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_deadline_keeps_the_margin_free() {
        let margin = Duration::from_secs(90);
        assert_eq!(upload_deadline(SystemTime::UNIX_EPOCH, margin), None);
        let d = upload_deadline(SystemTime::now() + Duration::from_secs(600), margin).unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(500) && left <= Duration::from_secs(510),
            "{left:?}"
        );
        let d = upload_deadline(SystemTime::now() + Duration::from_secs(30), margin).unwrap();
        assert!(d <= Instant::now());
    }
}
