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

use archiver_core::services::downloader::{DownloadSettings, Downloader, TaskOutcome};
use archiver_core::{TaskQueue, ZoomApi};
use archiver_lambda::download_env_from_env;
use archiver_lambda::sqs::{RecordResult, batch_response, delivery_or_dead_letter, settle};
use archiver_lambda::{HandlerError, RawDeadLetters, Stack};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{Instrument, info, warn};

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

impl DownloaderEnv {
    /// The function's environment on a deployed stack: the downloader (the `[download]`
    /// settings from the `DOWNLOAD_*` variables, see [`archiver_lambda::download_env_from_env`]; media
    /// analysis unless `DOWNLOAD_ANALYSE_MEDIA=false`; this execution environment's worker
    /// id; the DynamoDB audit trail) over the stack's ports, its queue for visibility changes and dead letters, its
    /// budgeted Zoom client.
    pub fn from_stack(stack: &Stack) -> Result<Self, String> {
        let download = download_env_from_env().map_err(|e| e.to_string())?;
        let settings = download.apply(DownloadSettings {
            worker_id: stack.instance_id(),
            ..DownloadSettings::default()
        });
        // Each archived file is a `create` entry of the tenant's audit chain, naming the
        // function (`aws-lambda:{function}:{region}`).
        let downloader = Downloader::new(stack.ports.clone(), settings)
            .with_audit(stack.aws.audit.clone(), stack.location.clone());
        Ok(DownloaderEnv {
            downloader: if download.analyse_media {
                downloader.with_analyser(Arc::new(archiver_media::BlobAnalyser::new()))
            } else {
                downloader
            },
            queue: stack.aws.queue.clone(),
            raw_dead_letters: stack.aws.queue.clone(),
            zoom: stack.zoom.clone(),
            deadline_margin: deadline_margin_from_env()?,
        })
    }
}

async fn process(env: &DownloaderEnv, msg: &SqsMessage, deadline: Option<Instant>) -> RecordResult {
    let received_at = env.downloader.now();
    let delivery =
        match delivery_or_dead_letter(msg, received_at, env.raw_dead_letters.as_ref()).await {
            Ok(d) => d,
            Err(result) => return result,
        };
    let t = &delivery.task;
    let message_id = msg.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("record", message_id, tenant = %t.tenant, source = %t.source, file_id = %t.file_id, task_id = %t.task_id);
    async {
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
        match &outcome {
            TaskOutcome::Done(what) => info!(outcome = "done", detail = %what, "task done"),
            TaskOutcome::Retry { after, reason } => {
                info!(outcome = "retry", after_secs = after.as_secs(), reason = %reason, "task will be retried")
            }
            TaskOutcome::DeadLetter { reason } => {
                warn!(outcome = "dead_letter", reason = %reason, "task dead-lettered")
            }
        }
        settle(env.queue.as_ref(), &delivery, &outcome, env.downloader.now()).await
    }
    .instrument(span)
    .await
}

/// Handles one SQS batch; the response lists the records to keep on the queue.
pub async fn handle(
    env: &DownloaderEnv,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, HandlerError> {
    let deadline = upload_deadline(event.context.deadline(), env.deadline_margin);
    let records = event.payload.records;
    let results: Vec<(Option<String>, RecordResult)> = futures::stream::iter(records.iter())
        .map(|m| async move { (m.message_id.clone(), process(env, m, deadline).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    Ok(batch_response(results))
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
