//! Ports: the capabilities the services need, implemented by adapter crates.
//!
//! Every port is an object-safe `async_trait`, held as `Arc<dyn …>` in [`Ports`] (the
//! [`QuotaLedger`] and [`MediaAnalyser`] are given to the services that use them). Every
//! write that can race is conditional (insert-if-absent, compare-and-set on `version`),
//! so duplicate deliveries, reruns and redundant deployments cannot create a second copy.
//! The conformance suites in `archiver-testkit` define the contract of each port.

mod blob;
mod body;
mod clock;
mod media;
mod meta;
mod queue;
mod quota;
mod secrets;
mod zoom;

pub use blob::*;
pub use body::*;
pub use clock::*;
pub use media::*;
pub use meta::*;
pub use queue::*;
pub use quota::*;
pub use secrets::*;
pub use zoom::*;

use std::sync::Arc;

/// The adapters one deployment runs on.
#[derive(Clone)]
pub struct Ports {
    /// Where media is stored.
    pub blobs: Arc<dyn BlobStore>,
    /// Where file states, CDRs, cursors and leases live.
    pub meta: Arc<dyn MetaStore>,
    /// The download task queue.
    pub queue: Arc<dyn TaskQueue>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}
