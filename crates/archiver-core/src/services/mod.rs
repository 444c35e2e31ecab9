//! Services: every business rule of the archiver.
//!
//! - [`custody`]: legal holds (two-operator release) and disposal past retention.
//! - [`audit`]: the hash-chained audit trail: appending an entry, walking a chain.
//! - [`select`]: which Zoom files belong to which configured user; CDR drafts.
//! - [`users`]: who the configured users are at Zoom (Zoom user id, display name,
//!   status), looked up once a day; their CDRs re-filed when it changes.
//! - [`participants`]: who of the configured users was in a meeting, asked of Zoom once
//!   per meeting and remembered.
//! - [`cdrs`]: every change to a stored CDR (drafts, file sync, talk-over, failures,
//!   identity, scope), each a compare-and-set retried on conflict.
//! - [`intake`]: stores planned files and CDR drafts once and queues the downloads they
//!   need (the poller's pages, reconciliation's late recordings).
//! - [`poller`]: lists a tenant source from its watermark, stores new files and CDR drafts
//!   once, queues downloads only for new files, advances the watermark conditionally.
//! - [`downloader`]: claims a file, streams it from Zoom into the object store with
//!   verification, records the outcome and fills the CDRs.
//! - [`credentials`]: where a tenant's Zoom credentials come from (one rule for the CLI
//!   and the functions).
//! - [`doctor`]: whether a deployment can archive (token, proxy, scopes, archiving,
//!   stores, queue), one line per check with what to fix.
//! - [`budget`]: counts Zoom calls per account, category and UTC day and keeps within
//!   this system's share of Zoom's daily limits.
//! - [`reconcile`]: finds calls and meetings of recorded users without a recording and
//!   writes "recording failed" CDRs; per-day reports.
//! - [`settle`]: what a task's outcome does to its delivery on the queue (shared by the
//!   local drain and the downloader Lambda).
//! - [`scope`]: phone recordings archived by the attribution rule before issue 13,
//!   judged again once per tenant (out of scope: kept, never listed, never downloaded).
//! - [`sweep`]: once per poll, a fresh task for every unfinished file whose task was lost,
//!   and parked files (transient trouble) re-driven until their horizon.
//! - [`status`]: an operator's view of a tenant from counts and indexes.
//! - [`retry`]: an operator's re-queue of failed files and dead-lettered tasks, recorded
//!   in each file's history.
//! - [`manifest`]: custody: each final day sealed into a signed manifest (Merkle root over
//!   its objects and CDRs, chained to the previous day and the audit trail), addenda for
//!   later changes, the check of a sealed day, inclusion proofs.
//! - [`peaks`]: waveform peaks sidecars beside recordings: stored, read back, computed
//!   on demand, disposed of with their recording.
//! - [`verify`]: fixity: every stored object (or a sample) read back and checked
//!   against its record.
//! - [`runner`]: drains the queue with a bounded number of workers (local process and
//!   `run --once`; on AWS the Lambda runtime plays this role).
//! - [`zoom_delete`]: delete at Zoom, opt-in: files of sealed days, listed in the signed
//!   manifest, verified intact since, and under no legal hold; each deletion recorded on
//!   the file and in the audit trail with Zoom's answer.

pub mod audit;
pub mod budget;
pub mod cdrs;
pub mod credentials;
pub mod custody;
pub mod doctor;
pub mod downloader;
pub mod intake;
pub mod manifest;
pub mod participants;
pub mod peaks;
pub mod poller;
pub mod reconcile;
pub mod retry;
pub mod runner;
pub mod scope;
pub mod select;
pub mod settle;
pub mod status;
pub mod sweep;
pub mod users;
pub mod verify;
pub mod zoom_delete;

use crate::ports::MetaError;
use std::time::Duration;

/// Jittered exponential backoff before retry number `attempt` (1-based): a uniform value in
/// `[d/2, d]` where `d = min(max, base * 2^(attempt-1))` ("equal jitter": never less than
/// half the exponential step, so retries of many clients spread without bunching at zero).
/// The one backoff of the project: the downloader's retries and the Zoom client's own.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1).min(20))
        .unwrap_or(u32::MAX);
    let d = base.saturating_mul(factor).min(max);
    let half = d / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=nanos))
}

pub(crate) fn is_conflict(e: &MetaError) -> bool {
    matches!(e, MetaError::Conflict(_))
}

#[cfg(test)]
mod send_tests {
    //! The services' futures are `Send`: the Lambda runtime and `tokio::spawn` need it.

    use crate::domain::{Source, TenantConfig};
    use crate::ports::{Delivery, Ports, ZoomApi};

    fn is_send<T: Send>(_: &T) {}

    #[expect(dead_code, reason = "compiled for its types, never run")]
    fn futures_are_send(
        ports: Ports,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        d: &Delivery,
        rec: &crate::domain::FileRecord,
    ) {
        let poller = super::poller::Poller::new(ports.clone(), "x");
        let opts = super::poller::PollOptions::default();
        is_send(&poller.poll(tenant, Source::Phone, zoom, &opts));
        let dl = super::downloader::Downloader::new(ports.clone(), Default::default());
        is_send(&dl.handle(d, zoom));
        let rec_ = super::reconcile::Reconciler::new(ports.clone(), "x");
        is_send(&rec_.run(tenant, zoom, None));
        is_send(&super::cdrs::sync_file(
            ports.meta.as_ref(),
            rec,
            chrono::Utc::now(),
        ));
    }
}
