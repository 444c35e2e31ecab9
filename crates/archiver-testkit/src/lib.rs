//! Test support for the Zoom compliance archiver's ports.
//!
//! - [`ManualClock`]: a clock that only moves when told to (its `sleep` advances it).
//! - [`MemBlobStore`], [`MemMetaStore`], [`MemTaskQueue`], [`MemQuotaLedger`],
//!   [`MemAuditLog`]: simple, correct in-memory adapters of the core ports, for unit tests
//!   and simulations (the audit log can also be tampered with, for tests of the chain walk).
//! - [`MemSigner`]: a manifest signer with a key from a seed (Ed25519, or ECDSA P-256 as
//!   AWS KMS signs), which can be made to fail.
//! - [`conformance`]: one async suite per port that asserts the port's contract on any
//!   adapter (memory, filesystem/SQLite, AWS).
//! - [`fixtures`]: small constructors of records, tasks and bodies used by the suites and
//!   reusable by other crates' tests.
//! - [`moto_endpoint`]: where the local AWS emulator is (or why the AWS tests skip).
//! - [`faults`]: wrappers that make chosen calls of any adapter fail with the port's
//!   retryable backend error.

mod clock;
pub mod conformance;
pub mod faults;
pub mod fixtures;
mod mem_audit;
mod mem_blob;
mod mem_meta;
mod mem_queue;
mod mem_quota;
mod mem_reviewers;
mod mem_signer;
mod moto;

pub use clock::{ClockStep, ManualClock};
pub use mem_audit::MemAuditLog;
pub use mem_blob::MemBlobStore;
pub use mem_meta::MemMetaStore;
pub use mem_queue::{MemTaskQueue, REDRIVE_REASON};
pub use mem_quota::MemQuotaLedger;
pub use mem_reviewers::MemReviewerStore;
pub use mem_signer::MemSigner;
pub use moto::moto_endpoint;
