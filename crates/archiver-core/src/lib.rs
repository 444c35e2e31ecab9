//! The hexagon of the Zoom compliance archiver.
//!
//! Everything the archiver *decides* lives here: which Zoom files belong to which
//! configured user, how a listing window is split and resumed, when a download is
//! retried, dead-lettered or declared gone, what a CDR contains, and how every write
//! stays idempotent. The crate has no AWS SDK, no HTTP client and no filesystem code;
//! it talks to the world only through the traits in [`ports`], which the adapter
//! crates implement (`archiver-local`, `archiver-aws`, `archiver-testkit`,
//! `archiver-zoom`).
//!
//! Layout:
//! - [`domain`]: tenants and users, Zoom payloads, file records, CDRs, tasks, object keys.
//! - [`ports`]: the capabilities the services need (blobs, metadata, queue, clock, Zoom).
//! - [`services`]: the poller, the downloader, the queue drain loop and the selection rules.

pub mod domain;
pub mod metrics;
pub mod ports;
pub mod services;

pub use domain::*;
pub use ports::*;
