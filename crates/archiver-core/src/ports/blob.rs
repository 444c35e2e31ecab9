use super::body::{ByteStream, VerifiedBody};
use crate::domain::{ObjectKey, Source, TenantId};
use async_trait::async_trait;
use std::io;

/// Descriptive metadata stored with an object.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectMeta {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Import source.
    pub source: Source,
    /// Meeting UUID or phone call id.
    pub conversation_id: String,
    /// Zoom file id.
    pub file_id: String,
    /// Content type Zoom served, if any.
    pub content_type: Option<String>,
}

/// What a store knows about a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key.
    pub key: ObjectKey,
    /// Its size.
    pub size: u64,
    /// Its SHA-256 (lowercase hex) when the store recorded one.
    pub sha256: Option<String>,
}

/// Errors of a [`BlobStore`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// A create-only write found an object already at the key (nothing was changed).
    #[error("object {0} already exists")]
    AlreadyExists(ObjectKey),
    /// No object at the key.
    #[error("object {0} not found")]
    NotFound(ObjectKey),
    /// The body stream failed or was refused; nothing was committed.
    #[error("body of {key} failed: {source}")]
    Body {
        /// The key being written.
        key: ObjectKey,
        /// The stream's error (see [`super::BodyRejected::from_io`]).
        source: io::Error,
    },
    /// The store failed.
    #[error("object store failed on {key}: {message}")]
    Backend {
        /// The key concerned.
        key: String,
        /// What failed.
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
}

impl BlobError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            BlobError::AlreadyExists(_) | BlobError::NotFound(_) => false,
            BlobError::Body { .. } => true,
            BlobError::Backend { retryable, .. } => *retryable,
        }
    }
}

/// Object storage (filesystem, S3, memory).
///
/// Contract (checked by the conformance suite):
/// - `put_stream` is create-only and atomic: either the whole body is committed under the
///   key, with its size and SHA-256 from [`VerifiedBody::summary`], or nothing is (a body
///   error or a crash leaves no object and no partial object visible under the key).
/// - A second `put_stream` to an existing key fails with `AlreadyExists` and changes nothing.
/// - Memory use is bounded by the store's part size and parallelism, not the body's length.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a new object at `key`.
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError>;
    /// Size and digest of the object at `key`, if any.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError>;
    /// The bytes of the object at `key`.
    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError>;
    /// Objects whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError>;
}
