//! Conformance suites: one async function per port that asserts the port's contract.
//!
//! Every adapter (memory, filesystem/SQLite, AWS) runs the same suites in its tests:
//!
//! ```no_run
//! # async fn demo() {
//! use archiver_testkit::{conformance, MemBlobStore, MemMetaStore, MemQuotaLedger, MemTaskQueue};
//! use archiver_core::TaskQueue;
//! use std::sync::Arc;
//! conformance::blob_store(&MemBlobStore::new()).await;
//! conformance::meta_store(&MemMetaStore::new()).await;
//! conformance::task_queue(|clock| async move { Arc::new(MemTaskQueue::new(clock)) as Arc<dyn TaskQueue> }).await;
//! conformance::quota_ledger(&MemQuotaLedger::new(), conformance::Concurrency::Check).await;
//! let audit = archiver_testkit::MemAuditLog::new();
//! conformance::audit_log(&audit).await;
//! conformance::audit_log_tamper(&audit, &audit).await;
//! # }
//! ```
//!
//! The blob, metadata and audit suites write under fresh random tenants (the quota suite under fresh
//! random accounts), so they can run against a shared, non-empty store. The queue suite asks
//! its factory for a new, empty queue for each scenario, built on the
//! [`ManualClock`](crate::ManualClock) it passes in. A failed expectation panics with a
//! message naming the broken rule. The audit suite's tampering half
//! ([`audit_log_tamper`]) needs the adapter's way around the port ([`AuditTamper`]: raw
//! SQL, a `PutItem`), which each adapter's test supplies.

mod audit;
mod blob;
mod meta;
mod queue;
mod quota;
mod reviewers;
mod search;
mod signer;

pub use audit::{AuditTamper, audit_log, audit_log_tamper, audit_log_with};
pub use blob::{blob_store, blob_store_large_body, blob_store_protection};
pub use meta::meta_store;
pub use queue::task_queue;
pub use quota::{Concurrency, quota_ledger};
pub use reviewers::reviewer_store;
pub use search::cdr_search;
pub use signer::manifest_signer;
