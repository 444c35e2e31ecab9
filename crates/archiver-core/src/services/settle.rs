//! What a download task's outcome does to its delivery on the queue: the one mapping, used
//! by the local drain ([`super::runner`]) and by the downloader Lambda (`archiver-lambda`).
//!
//! - `Done` → the task is deleted (acked);
//! - `Retry { after }` → the delivery becomes visible again after `after`;
//! - `DeadLetter { reason }` → the task moves to the dead-letter store with its reason.
//!
//! A consumer whose runtime deletes a message it reports as handled (Lambda's SQS event
//! source) passes [`Ack::ByRuntime`]: `Done` then makes no queue call of its own.

use super::downloader::TaskOutcome;
use crate::ports::{Delivery, QueueError, TaskQueue};
use chrono::{DateTime, Utc};

/// Who deletes a finished task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    /// This consumer acks it ([`TaskQueue::ack`]).
    Explicit,
    /// The consumer's runtime deletes what is reported as handled (Lambda + SQS).
    ByRuntime,
}

/// Where a delivery went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Finished: deleted (or left for the runtime to delete).
    Done,
    /// Back on the queue, visible again later: the runtime must *not* delete it.
    RetryLater,
    /// Moved to the dead-letter store.
    DeadLettered,
}

impl Settled {
    /// True when the runtime may delete the message (Lambda: not a batch item failure).
    pub fn is_handled(self) -> bool {
        !matches!(self, Settled::RetryLater)
    }
}

/// Applies `outcome` to `delivery` on `queue` at `now`. A retry's wait is armed within the
/// delivery's visibility horizon ([`Delivery::within_horizon`]; a longer wait is re-armed
/// by the next delivery). On an error the delivery is where it was (in flight): it becomes
/// visible again at its timeout and its next delivery decides.
pub async fn apply_outcome(
    queue: &dyn TaskQueue,
    delivery: &Delivery,
    outcome: &TaskOutcome,
    ack: Ack,
    now: DateTime<Utc>,
) -> Result<Settled, QueueError> {
    match outcome {
        TaskOutcome::Done(_) => {
            if ack == Ack::Explicit {
                queue.ack(&delivery.receipt).await?;
            }
            Ok(Settled::Done)
        }
        TaskOutcome::Retry { after, .. } => {
            queue
                .retry_later(&delivery.receipt, delivery.within_horizon(*after, now))
                .await?;
            Ok(Settled::RetryLater)
        }
        TaskOutcome::DeadLetter { reason } => {
            queue.dead_letter(delivery, reason).await?;
            Ok(Settled::DeadLettered)
        }
    }
}
