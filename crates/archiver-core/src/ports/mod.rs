//! Ports: the capabilities the services need, implemented by adapter crates.
//!
//! Every port is an object-safe `async_trait`, held as `Arc<dyn …>` in [`Ports`] (the
//! [`QuotaLedger`] and [`MediaAnalyser`] are given to the services that use them). Every
//! write that can race is conditional (insert-if-absent, compare-and-set on `version`),
//! so duplicate deliveries, reruns and redundant deployments cannot create a second copy.
//! The conformance suites in `archiver-testkit` define the contract of each port.

mod audit;
mod blob;
mod body;
mod clock;
mod media;
mod meta;
mod queue;
mod quota;
mod reviewers;
mod secrets;
mod signer;
mod zoom;

pub use audit::*;
pub use blob::*;
pub use body::*;
pub use clock::*;
pub use media::*;
pub use meta::*;
pub use queue::*;
pub use quota::*;
pub use reviewers::*;
pub use secrets::*;
pub use signer::*;
pub use zoom::*;

use std::sync::Arc;

/// The cause an adapter's error keeps (as `object_store` does): the backend's own error,
/// walkable with `std::error::Error::source` and downcastable, not only its text.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A cause behind what was being done: `Display` is `"{what}: {cause}"`, `source()` is
/// the cause. For adapter errors whose variant has no room for the step that failed.
#[derive(Debug)]
pub struct Caused {
    what: String,
    cause: BoxError,
}

impl Caused {
    /// `cause`, met while doing `what`, as a [`BoxError`].
    pub fn boxed(what: impl Into<String>, cause: impl Into<BoxError>) -> BoxError {
        Box::new(Caused {
            what: what.into(),
            cause: cause.into(),
        })
    }
}

impl std::fmt::Display for Caused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.cause)
    }
}

impl std::error::Error for Caused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.cause.as_ref())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_errors_say_what_failed_and_keep_the_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = BlobError::Backend {
            key: "acme/phone/x.mp3".into(),
            source: Caused::boxed("opening the object", io),
            retryable: false,
        };
        assert_eq!(
            e.to_string(),
            "object store failed on acme/phone/x.mp3: opening the object: denied"
        );
        let step = std::error::Error::source(&e).expect("the cause");
        let root = step.source().expect("the I/O error behind the step");
        let io = root
            .downcast_ref::<std::io::Error>()
            .expect("downcastable to the backend's own error type");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        let e = MetaError::Backend {
            what: "PutItem file acme/f1 on table t".into(),
            source: "throttled".into(),
            retryable: true,
        };
        assert_eq!(
            e.to_string(),
            "metadata store failed: PutItem file acme/f1 on table t: throttled"
        );
        assert!(e.is_retryable());
    }
}
