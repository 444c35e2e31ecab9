use crate::domain::DownloadTask;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Errors of a [`TaskQueue`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue failed.
    #[error("task queue failed: {what}: {source}")]
    Backend {
        /// What was being done, naming the queue or task.
        what: String,
        /// The backend's error.
        source: super::BoxError,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// A receipt is unknown or expired (the message was redelivered meanwhile).
    #[error("receipt {0} is unknown or expired")]
    StaleReceipt(String),
    /// A message could not be decoded into a task.
    #[error("message {id} is not a download task: {message}")]
    Malformed {
        /// The message id.
        id: String,
        /// The decode error.
        message: String,
    },
}

/// The deployment's redrive policy: after this many deliveries of one message the queue
/// itself moves it to the dead-letter queue (SQS `maxReceiveCount`; the template and
/// `aws init` use it). The downloader settles a task before that happens
/// (`services::downloader`), so that every dead letter carries its file and reason.
pub const MAX_RECEIVE_COUNT: u32 = 50;

/// How far past its receive a delivery's visibility may reach (SQS refuses more).
pub const VISIBILITY_HORIZON: Duration = Duration::from_secs(12 * 3600);

/// The longest step a wait is armed in: a longer wait (a daily limit until 00:00 UTC) is
/// re-armed by the next delivery, so every change stays an hour inside
/// [`VISIBILITY_HORIZON`].
pub const REARM_STEP: Duration = Duration::from_secs(11 * 3600);

/// One delivery of a task.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The task.
    pub task: DownloadTask,
    /// Handle for ack/retry/dead-letter of this delivery.
    pub receipt: String,
    /// How many times the task has been delivered, this one included.
    pub receive_count: u32,
    /// When this delivery was received (its visibility horizon runs from here).
    pub received_at: DateTime<Utc>,
}

impl Delivery {
    /// `wanted`, shortened so that a visibility change made at `now` stays within
    /// [`REARM_STEP`] of this delivery's receive (the rest is waited out by re-arming).
    pub fn within_horizon(&self, wanted: Duration, now: DateTime<Utc>) -> Duration {
        let elapsed = (now - self.received_at).to_std().unwrap_or_default();
        wanted.min(REARM_STEP.saturating_sub(elapsed))
    }
}

/// A dead-lettered task with its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// The task.
    pub task: DownloadTask,
    /// Why it was given up.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A dead letter taken out for handling by [`TaskQueue::take_dead_letters`].
#[derive(Clone, Debug, PartialEq)]
pub struct HeldDeadLetter {
    /// The letter.
    pub letter: DeadLetter,
    /// Handle for [`TaskQueue::remove_dead_letter`].
    pub receipt: String,
}

/// How many tasks are where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Visible now.
    pub ready: u64,
    /// Received and not yet acked, visible again later.
    pub in_flight: u64,
    /// Scheduled for a later retry.
    pub delayed: u64,
    /// Dead-lettered.
    pub dead: u64,
    /// When the next invisible task becomes visible, if any.
    pub next_visible_at: Option<DateTime<Utc>>,
}

impl QueueCounts {
    /// True when nothing is left to do (dead letters aside).
    pub fn is_drained(&self) -> bool {
        self.ready == 0 && self.in_flight == 0 && self.delayed == 0
    }
}

/// The download task queue (durable SQLite locally, SQS with a DLQ on AWS).
///
/// At-least-once: a received task that is neither acked nor retried becomes visible again
/// after its visibility timeout. Consumers must be idempotent (the downloader is).
#[async_trait]
pub trait TaskQueue: Send + Sync {
    /// Sends tasks (adapters batch them as the backend allows).
    async fn send_batch(&self, tasks: &[DownloadTask]) -> Result<(), QueueError>;
    /// Receives up to `max` visible tasks, hiding them for `visibility`.
    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError>;
    /// Deletes a delivered task (done).
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;
    /// Makes a delivered task visible again after `delay`.
    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Moves a delivered task to the dead-letter store with its reason.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError>;
    /// Counts of tasks by place.
    async fn counts(&self) -> Result<QueueCounts, QueueError>;
    /// Dead-lettered tasks, oldest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError>;
    /// Takes up to `max` dead letters out for handling (an operator's retry), each hidden
    /// from other takers for `visibility` (a store with one consumer may ignore it). A
    /// letter is gone once [`TaskQueue::remove_dead_letter`] is called with its receipt;
    /// otherwise it stays, and is taken again after `visibility`.
    async fn take_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<HeldDeadLetter>, QueueError>;
    /// Removes a dead letter taken by [`TaskQueue::take_dead_letters`]; removing one that
    /// is already gone is not an error.
    async fn remove_dead_letter(&self, receipt: &str) -> Result<(), QueueError>;
}
