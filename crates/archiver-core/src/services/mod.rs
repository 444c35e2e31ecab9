//! Services: every business rule of the archiver.
//!
//! - [`select`]: which Zoom files belong to which configured user; CDR drafts.
//! - [`participants`]: who of the configured users was in a meeting, asked of Zoom once
//!   per meeting and remembered.
//! - [`poller`]: lists a tenant source from its watermark, stores new files and CDR drafts
//!   once, queues downloads only for new files, advances the watermark conditionally.
//! - [`downloader`]: claims a file, streams it from Zoom into the object store with
//!   verification, records the outcome and fills the CDRs.
//! - [`budget`]: counts Zoom calls per account, category and UTC day and keeps within
//!   this system's share of Zoom's daily limits.
//! - [`reconcile`]: finds calls and meetings of recorded users without a recording and
//!   writes "recording failed" CDRs; per-day reports.
//! - [`runner`]: drains the queue with a bounded number of workers (local process and
//!   `run --once`; on AWS the Lambda runtime plays this role).

pub mod budget;
pub mod downloader;
pub mod participants;
pub mod poller;
pub mod reconcile;
pub mod runner;
pub mod select;

use crate::ports::MetaError;
use std::time::Duration;

/// How often a compare-and-set loop retries before giving up.
pub(crate) const CAS_ATTEMPTS: usize = 8;

/// Jittered exponential backoff: `base * 2^(attempt-1)`, capped, ±20 %.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    capped.mul_f64(jitter)
}

pub(crate) fn is_conflict(e: &MetaError) -> bool {
    matches!(e, MetaError::Conflict(_))
}
