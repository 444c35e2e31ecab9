//! SQS deliveries of the downloader function: records → [`Delivery`]s, records that are
//! not tasks → the dead-letter queue, outcomes → the partial batch response.

use archiver_aws::SqsTaskQueue;
use archiver_core::services::downloader::TaskOutcome;
use archiver_core::services::settle::{Ack, apply_outcome};
use archiver_core::{Delivery, DownloadTask, QueueError, TaskQueue};
use async_trait::async_trait;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use chrono::{DateTime, Utc};
use tracing::{error, warn};

/// Sends an undecodable message to the dead-letter queue (SQS records whose body is not a
/// task, which a [`TaskQueue`] cannot express).
#[async_trait]
pub trait RawDeadLetters: Send + Sync {
    /// Moves the message with `receipt` and `body` to the dead-letter queue with `reason`.
    async fn dead_letter_raw(
        &self,
        receipt: &str,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError>;
}

#[async_trait]
impl RawDeadLetters for SqsTaskQueue {
    async fn dead_letter_raw(
        &self,
        receipt: &str,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        SqsTaskQueue::dead_letter_raw(self, receipt, body, reason).await
    }
}

/// Turns a message of an SQS Lambda event into a [`Delivery`] (body = JSON task, receipt
/// handle, `ApproximateReceiveCount`) received at `received_at` (the invocation's start: the
/// event source received the batch just before; the core arms waits an hour inside the
/// 12-hour horizon). Fails with [`QueueError::Malformed`] naming the message id when the
/// body is not a task.
pub fn delivery_from_sqs_message(
    msg: &SqsMessage,
    received_at: DateTime<Utc>,
) -> Result<Delivery, QueueError> {
    let id = msg.message_id.clone().unwrap_or_default();
    let receipt = msg
        .receipt_handle
        .clone()
        .ok_or_else(|| QueueError::Malformed {
            id: id.clone(),
            message: "no receipt handle".into(),
        })?;
    let body = msg.body.as_deref().ok_or_else(|| QueueError::Malformed {
        id: id.clone(),
        message: "no body".into(),
    })?;
    let task: DownloadTask = serde_json::from_str(body).map_err(|e| QueueError::Malformed {
        id: id.clone(),
        message: e.to_string(),
    })?;
    let receive_count = msg
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    Ok(Delivery {
        task,
        receipt,
        receive_count,
        received_at,
    })
}

/// What becomes of one record of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordResult {
    /// Handled (done or dead-lettered): Lambda deletes the message.
    Handled,
    /// Reported in `batchItemFailures`: the message stays on the queue (a retry, or a
    /// queue operation that failed and is decided by the next delivery).
    KeepOnQueue,
}

/// The record's delivery; a record that is not a task is dead-lettered with the parse error
/// (so it is never failed forever) and its result returned instead.
pub async fn delivery_or_dead_letter(
    msg: &SqsMessage,
    received_at: DateTime<Utc>,
    raw_dlq: &dyn RawDeadLetters,
) -> Result<Delivery, RecordResult> {
    let message_id = msg.message_id.as_deref().unwrap_or_default();
    let e = match delivery_from_sqs_message(msg, received_at) {
        Ok(d) => return Ok(d),
        Err(e) => e,
    };
    let reason = e.to_string();
    warn!(message_id, error = %reason, "record is not a download task; dead-lettering it");
    let Some(receipt) = msg.receipt_handle.as_deref() else {
        error!(message_id, "record has no receipt handle");
        return Err(RecordResult::KeepOnQueue);
    };
    match raw_dlq
        .dead_letter_raw(receipt, msg.body.as_deref().unwrap_or(""), &reason)
        .await
    {
        Ok(()) => Err(RecordResult::Handled),
        Err(e) => {
            error!(message_id, error = %e, "dead-lettering a malformed record failed");
            Err(RecordResult::KeepOnQueue)
        }
    }
}

/// Applies a downloader outcome to its delivery as Lambda needs it
/// ([`apply_outcome`] with [`Ack::ByRuntime`]): done and dead-lettered records are handled,
/// retries and failed queue operations stay on the queue.
pub async fn settle(
    queue: &dyn TaskQueue,
    delivery: &Delivery,
    outcome: &TaskOutcome,
    now: DateTime<Utc>,
) -> RecordResult {
    match apply_outcome(queue, delivery, outcome, Ack::ByRuntime, now).await {
        Ok(s) if s.is_handled() => RecordResult::Handled,
        Ok(_) => RecordResult::KeepOnQueue,
        Err(e) => {
            error!(error = %e, "queue operation failed; the record will be delivered again");
            RecordResult::KeepOnQueue
        }
    }
}

/// The partial batch response: every record kept on the queue, by message id (sorted).
pub fn batch_response(
    results: impl IntoIterator<Item = (Option<String>, RecordResult)>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (id, r) in results {
        if r == RecordResult::KeepOnQueue {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.unwrap_or_default();
            response.batch_item_failures.push(f);
        }
    }
    response
        .batch_item_failures
        .sort_by(|a, b| a.item_identifier.cmp(&b.item_identifier));
    response
}
