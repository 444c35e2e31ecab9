use super::body::{ByteStream, HashState, VerifiedBody};
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
    /// Not to be deleted before this time (the tenant's retention rule, applied at write
    /// time: S3 Object Lock, or recorded and enforced by the local store).
    pub retain_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// What protects a stored object from deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protection {
    /// Retained until this time.
    pub retain_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Under a legal hold (until released).
    pub legal_hold: bool,
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

/// One part of a multipart upload that the store has accepted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedPart {
    /// Part number (1-based, consecutive).
    pub number: u32,
    /// The store's entity tag of the part.
    pub etag: String,
    /// The part's SHA-256 checksum as the store reported it (base64 on S3), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
    /// Bytes in the part.
    pub size: u64,
}

/// Where a paused upload stands: what a later [`BlobStore::put_stream_until`] needs to
/// continue it. Kept in the file record between invocations.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadCheckpoint {
    /// The store's upload id.
    pub upload_id: String,
    /// The parts accepted so far, by number.
    pub parts: Vec<UploadedPart>,
    /// Bytes of the body uploaded so far (the sum of the parts' sizes): the offset the
    /// body must be resumed at.
    pub bytes: u64,
    /// SHA-256 state after those `bytes` (for [`VerifiedBody::resume`]).
    pub hash: HashState,
}

/// Outcome of [`BlobStore::put_stream_until`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutProgress {
    /// The object is committed.
    Complete(ObjectInfo),
    /// The deadline passed: nothing is committed yet; continue with this checkpoint.
    Paused(UploadCheckpoint),
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
    #[error("object store failed on {key}: {source}")]
    Backend {
        /// The key concerned.
        key: String,
        /// The backend's error.
        source: super::BoxError,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// A delete refused: the object is retained or held (or its protection cannot be
    /// read, which counts as protected).
    #[error("object {key} is protected: {why}")]
    Protected {
        /// The key.
        key: ObjectKey,
        /// Retained until when, or held.
        why: String,
    },
    /// The upload a checkpoint names no longer exists at the store (aborted, or removed
    /// by a lifecycle rule): start over.
    #[error("the upload to {key} no longer exists at the store")]
    UploadGone {
        /// The key being written.
        key: ObjectKey,
    },
}

impl BlobError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            BlobError::AlreadyExists(_) | BlobError::NotFound(_) | BlobError::Protected { .. } => {
                false
            }
            BlobError::Body { .. } | BlobError::UploadGone { .. } => true,
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
/// - `put_stream_until` (resumable stores): see its documentation.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a new object at `key`.
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError>;

    /// Streams `body` into a new object at `key`, pausing once `deadline` has passed.
    ///
    /// Contract:
    /// - Without a deadline it behaves as [`BlobStore::put_stream`] (and returns
    ///   `Complete`).
    /// - The store checks the deadline only at part boundaries, after a part was handed
    ///   off; once it has passed (and the body is not at its end) it waits for the parts in
    ///   flight and returns `Paused` with a checkpoint: upload id, every accepted part, the
    ///   bytes consumed and the SHA-256 state there ([`VerifiedBody::hash_state`]).
    /// - Nothing is committed under `key` before the whole body was read and checked;
    ///   a paused upload is invisible (S3: an incomplete multipart upload).
    /// - A later call continues with `resume: Some(checkpoint)` and a body created with
    ///   [`VerifiedBody::resume`] at `checkpoint.bytes` with `checkpoint.hash`; part
    ///   numbering continues after the checkpoint's parts and completion uses them all.
    ///   The same checkpoint may be resumed again if a later call died without returning
    ///   (parts are simply uploaded again).
    /// - On any error the store aborts the upload (best effort), so the checkpoint passed
    ///   in must be dropped. [`BlobError::UploadGone`] says the checkpoint's upload no
    ///   longer exists: start over from byte 0.
    ///
    /// The default implementation cannot pause or resume: it ignores the deadline, calls
    /// `put_stream`, and refuses a `resume` (non-retryable `Backend` error).
    async fn put_stream_until(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
        resume: Option<UploadCheckpoint>,
        deadline: Option<std::time::Instant>,
    ) -> Result<PutProgress, BlobError> {
        let _ = deadline;
        if resume.is_some() {
            return Err(BlobError::Backend {
                key: key.to_string(),
                source: "this object store cannot resume an upload".into(),
                retryable: false,
            });
        }
        self.put_stream(key, meta, body)
            .await
            .map(PutProgress::Complete)
    }

    /// Abandons a paused upload (after the file was found gone, failed, or archived by
    /// other means). The default does nothing; stores whose paused uploads hold space
    /// (S3) abort them. Errors are not fatal: a bucket lifecycle rule removes leftovers.
    async fn abort_upload(
        &self,
        key: &ObjectKey,
        checkpoint: &UploadCheckpoint,
    ) -> Result<(), BlobError> {
        let _ = (key, checkpoint);
        Ok(())
    }
    /// Size and digest of the object at `key`, if any.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError>;
    /// The bytes of the object at `key`.
    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError>;
    /// The bytes of the object at `key` from byte `offset` to its end (an offset at or
    /// past the end gives an empty stream). The default reads from the start and skips;
    /// stores that can seek (files, S3 `Range`) override it.
    async fn get_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        let body = self.get(key).await?;
        Ok(skip_bytes(body, offset, IfShorter::End))
    }
    /// The `len` bytes of the object at `key` from byte `offset` (fewer when the object
    /// ends first). The default reads from `offset` and stops after `len`; stores with
    /// ranged reads (S3 `Range`) override it.
    async fn get_slice(
        &self,
        key: &ObjectKey,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream, BlobError> {
        let body = self.get_from(key, offset).await?;
        Ok(take_bytes(body, len))
    }
    /// Objects whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError>;

    /// What protects the object at `key` from deletion. Stores that keep no protection
    /// report none (and refuse [`BlobStore::delete`] anyway).
    async fn protection(&self, key: &ObjectKey) -> Result<Protection, BlobError> {
        let _ = key;
        Ok(Protection::default())
    }

    /// Places (`true`) or lifts (`false`) a legal hold on the object at `key` (S3 Object
    /// Lock legal hold; recorded and enforced by the local store). The default refuses.
    async fn set_legal_hold(&self, key: &ObjectKey, on: bool) -> Result<(), BlobError> {
        let _ = on;
        Err(BlobError::Backend {
            key: key.to_string(),
            source: "this object store cannot hold objects".into(),
            retryable: false,
        })
    }

    /// Deletes the object at `key` for good, unless it is held or retained at `now`
    /// ([`BlobError::Protected`]); a missing object is `NotFound`. The default refuses
    /// every delete (a store that cannot enforce protection must not delete).
    async fn delete(
        &self,
        key: &ObjectKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        let _ = now;
        Err(BlobError::Protected {
            key: key.clone(),
            why: "this object store does not delete".into(),
        })
    }
}

/// The first `n` bytes of `body` (all of it when shorter).
pub fn take_bytes(body: ByteStream, n: u64) -> ByteStream {
    use futures::StreamExt;
    futures::stream::unfold((body, n), |(mut s, left)| async move {
        if left == 0 {
            return None;
        }
        match s.next().await {
            Some(Ok(mut chunk)) => {
                if chunk.len() as u64 > left {
                    chunk.truncate(left as usize);
                }
                let rest = left - chunk.len() as u64;
                Some((Ok(chunk), (s, rest)))
            }
            Some(Err(e)) => Some((Err(e), (s, 0))),
            None => None,
        }
    })
    .boxed()
}

/// The whole object at `key` (of `size` bytes) read as `streams` ranged reads of `part`
/// bytes at once, delivered in order: for large objects on a store whose single stream is
/// slower than the link (S3). Memory: up to `streams` parts are buffered. Smaller
/// objects (one part or less) and `streams < 2` read as one stream.
pub async fn read_parallel(
    store: std::sync::Arc<dyn BlobStore>,
    key: &ObjectKey,
    size: u64,
    part: u64,
    streams: usize,
) -> Result<ByteStream, BlobError> {
    use futures::{StreamExt, TryStreamExt};
    if streams < 2 || part == 0 || size <= part {
        return store.get(key).await;
    }
    let starts: Vec<u64> = (0..size.div_ceil(part)).map(|i| i * part).collect();
    let key = key.clone();
    let body = futures::stream::iter(starts)
        .map(move |start| {
            let (store, key) = (store.clone(), key.clone());
            async move {
                let len = part.min(size - start);
                let stream = store
                    .get_slice(&key, start, len)
                    .await
                    .map_err(io::Error::other)?;
                let buf = stream
                    .try_fold(bytes::BytesMut::new(), |mut acc, c| async move {
                        acc.extend_from_slice(&c);
                        Ok(acc)
                    })
                    .await?;
                Ok::<_, io::Error>(buf.freeze())
            }
        })
        .buffered(streams);
    Ok(body.boxed())
}

/// What [`skip_bytes`] makes of a body shorter than the bytes to skip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfShorter {
    /// The stream just ends (reading past the end of an object gives nothing).
    End,
    /// The stream fails with `UnexpectedEof` (resuming at an offset the body never reached).
    Fail,
}

/// Drops the first `n` bytes of `body`; a body shorter than `n` ends or fails as
/// `if_shorter` says.
pub fn skip_bytes(body: ByteStream, n: u64, if_shorter: IfShorter) -> ByteStream {
    use futures::StreamExt;
    if n == 0 {
        return body;
    }
    futures::stream::unfold(Some((body, n)), move |st| async move {
        let (mut s, mut left) = st?;
        loop {
            match s.next().await {
                Some(Ok(mut chunk)) => {
                    if left == 0 {
                        return Some((Ok(chunk), Some((s, 0))));
                    }
                    if (chunk.len() as u64) <= left {
                        left -= chunk.len() as u64;
                        continue;
                    }
                    let rest = chunk.split_off(left as usize);
                    return Some((Ok(rest), Some((s, 0))));
                }
                Some(Err(e)) => return Some((Err(e), None)),
                None if left > 0 && if_shorter == IfShorter::Fail => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the body ended {left} bytes before offset {n}"),
                    );
                    return Some((Err(e), None));
                }
                None => return None,
            }
        }
    })
    .boxed()
}
