//! S3 object store.
//!
//! Writes are create-only and atomic:
//! - a body shorter than [`PART_SIZE`] is buffered and sent with one `PutObject` carrying
//!   `If-None-Match: *`; its SHA-256 goes into the user metadata `x-amz-meta-sha256` (and
//!   into the S3 checksum `x-amz-checksum-sha256`, which S3 verifies);
//! - a longer body goes through a multipart upload of [`PART_SIZE`] parts, at most
//!   [`MAX_PARTS_IN_FLIGHT`] in flight, each with its own SHA-256 checksum. The upload is
//!   completed with `If-None-Match: *`, and the full-object SHA-256 (known only at the end)
//!   is then stored as the object tag `sha256`. Any error (body, part, completion) aborts
//!   the upload, so nothing becomes visible and no parts are left behind.
//!
//! Resumable uploads ([`BlobStore::put_stream_until`]): parts are pulled from the body
//! with `VerifiedBody::next_chunk`, exactly [`PART_SIZE`] each, so the body's byte count and
//! SHA-256 state are exact at every part boundary. Once the deadline has passed, the store
//! stops at the next boundary, waits for the parts in flight and returns a checkpoint
//! (upload id, every part's number, ETag, checksum and size, bytes, SHA-256 state); the
//! upload stays incomplete (invisible). A later call continues with the checkpoint: part
//! numbers continue after it and completion lists the old and new parts. The parts are never
//! read back with `ListParts` (the checkpoint is the record of the parts; moto's `ListParts`
//! answer is also unreliable with the current SDK); one `ListParts` with `max-parts=1` only
//! checks, before resuming, that the upload still exists. An upload id that S3 no longer
//! knows (`NoSuchUpload` from that check, `UploadPart` or the completion, e.g. after the
//! lifecycle rule removed an incomplete upload) gives `BlobError::UploadGone`.
//!
//! Before a multipart upload starts, a `HeadObject` refuses an existing key early (it saves
//! uploading gigabytes for nothing); the conditional completion closes the race on S3.
//! moto 5.1.22 honours `If-None-Match: *` on both `PutObject` and
//! `CompleteMultipartUpload` (412 PreconditionFailed, checked by hand and by the tests), so
//! the emulator exercises the same create-only path as S3.
//!
//! Parts are [`PART_SIZE`], or larger for files Zoom announces above 4 GB
//! ([`part_size_for`]: at most [`TARGET_MAX_PARTS`] parts, so a checkpoint stays small).
//! Memory is bounded by `part × (MAX_PARTS_IN_FLIGHT + 1)` (the parts being sent plus the
//! one being filled), whatever the body's length.
//!
//! [`BlobStore::head`] returns the SHA-256 from the metadata, else from the `sha256` tag.
//! [`BlobStore::list`] does not read metadata or tags, so its entries have `sha256: None`.
//! [`BlobStore::get_from`] is a ranged `GetObject` (`Range: bytes={offset}-`); the 416
//! `InvalidRange` that S3 answers for an offset at or past the end gives an empty stream.

use crate::AwsSettings;
use crate::error::Failure;
use archiver_core::{
    BlobError, BlobStore, ByteStream, HashState, ObjectInfo, ObjectKey, ObjectMeta, Protection,
    PutProgress, UploadCheckpoint, UploadedPart, VerifiedBody,
};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectLockMode,
    ServerSideEncryption, Tag, Tagging,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io;
use std::time::Instant;
use tokio::task::JoinSet;

/// Size of a multipart part, and the threshold below which one `PutObject` is used.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// The most parts a multipart upload of a file of known size is cut into: larger files
/// get larger parts (whole MiB), so that a paused upload's checkpoint — every part's
/// number, ETag, checksum and size, kept in the file's DynamoDB item — stays near 65 KB,
/// far under DynamoDB's 400 KB item limit, up to Zoom's largest recordings (a 24-hour
/// meeting's MP4, tens of GB: parts of tens of MiB, well inside S3's 10,000 parts of at
/// most 5 GiB).
pub const TARGET_MAX_PARTS: u64 = 500;

/// The part size of an upload whose body Zoom announced at `expected` bytes:
/// [`PART_SIZE`], or larger (whole MiB) so that it is cut into at most
/// [`TARGET_MAX_PARTS`] parts.
pub fn part_size_for(expected: Option<u64>) -> usize {
    const MIB: u64 = 1024 * 1024;
    let Some(size) = expected else {
        return PART_SIZE;
    };
    let per_part = size.div_ceil(TARGET_MAX_PARTS).div_ceil(MIB) * MIB;
    usize::try_from(per_part.max(PART_SIZE as u64)).unwrap_or(PART_SIZE)
}
/// Parts uploaded concurrently.
pub const MAX_PARTS_IN_FLIGHT: usize = 4;

const SHA256_META: &str = "sha256";
const SHA256_TAG: &str = "sha256";
/// The S3 error code of an upload id that does not exist (any more).
const NO_SUCH_UPLOAD: &str = "NoSuchUpload";

/// [`BlobStore`] on an S3 bucket.
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
    kms_key_id: Option<String>,
    object_lock: Option<ObjectLockMode>,
}

/// The user-metadata key holding an object's retain-until date (RFC 3339) or `none`.
const RETAIN_META: &str = "retain-until";

/// Metadata values must be printable ASCII: anything else (and `%`) is percent-encoded.
fn meta_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn b64_sha256(data: &[u8]) -> String {
    B64.encode(Sha256::digest(data))
}

impl S3BlobStore {
    /// The SDK client (for operations outside the port).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Wraps a client for the bucket, prefix and SSE settings of `settings`.
    pub fn new(client: Client, settings: &AwsSettings) -> Self {
        let prefix = settings.key_prefix.clone().unwrap_or_default();
        Self {
            client,
            bucket: settings.bucket.clone(),
            prefix,
            kms_key_id: settings.kms_key_id.clone(),
            object_lock: settings.object_lock.as_deref().map(ObjectLockMode::from),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The S3 key of an object key (the configured prefix plus the key).
    pub fn s3_key(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn backend(&self, key: &str, what: &str, f: Failure) -> BlobError {
        BlobError::Backend {
            key: format!("s3://{}/{key}", self.bucket),
            retryable: f.retryable,
            source: archiver_core::Caused::boxed(what, f.into_source()),
        }
    }

    fn sse(&self) -> ServerSideEncryption {
        if self.kms_key_id.is_some() {
            ServerSideEncryption::AwsKms
        } else {
            ServerSideEncryption::Aes256
        }
    }

    /// Object Lock mode and date for a write of `meta` (when the store locks objects and
    /// the object has a retention).
    fn lock_of(
        &self,
        meta: &ObjectMeta,
    ) -> (
        Option<ObjectLockMode>,
        Option<aws_sdk_s3::primitives::DateTime>,
    ) {
        match (&self.object_lock, meta.retain_until) {
            // S3 refuses a retain-until date in the past (a backfill of old recordings
            // whose retention has run out): such an object is written unlocked, its date
            // in the metadata.
            (Some(mode), Some(until)) if until > chrono::Utc::now() => (
                Some(mode.clone()),
                Some(aws_sdk_s3::primitives::DateTime::from_secs(
                    until.timestamp(),
                )),
            ),
            _ => (None, None),
        }
    }

    fn metadata(meta: &ObjectMeta) -> HashMap<String, String> {
        HashMap::from([
            (
                RETAIN_META.to_string(),
                meta.retain_until
                    .map_or_else(|| "none".to_string(), |t| t.to_rfc3339()),
            ),
            ("tenant".to_string(), meta_value(meta.tenant.as_str())),
            ("source".to_string(), meta.source.as_str().to_string()),
            (
                "conversation-id".to_string(),
                meta_value(&meta.conversation_id),
            ),
            ("file-id".to_string(), meta_value(&meta.file_id)),
        ])
    }

    /// `GetObject` from byte `offset` (`Range: bytes={offset}-`; no range for 0). S3
    /// answers an offset at or past the end with 416 `InvalidRange`: that is an empty
    /// stream (the object exists, there is nothing after the offset).
    async fn get_range(
        &self,
        key: &ObjectKey,
        offset: u64,
        len: Option<u64>,
    ) -> Result<ByteStream, BlobError> {
        let s3_key = self.s3_key(key);
        let range = match len {
            Some(0) => return Ok(futures::stream::empty().boxed()),
            Some(n) => Some(format!("bytes={offset}-{}", offset + n - 1)),
            None => (offset > 0).then(|| format!("bytes={offset}-")),
        };
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&s3_key)
            .set_range(range)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let f = Failure::of(e);
                return if f.status == Some(404) || f.is("NoSuchKey") {
                    Err(BlobError::NotFound(key.clone()))
                } else if (offset > 0 || len.is_some())
                    && (f.status == Some(416) || f.is("InvalidRange"))
                {
                    Ok(futures::stream::empty().boxed())
                } else {
                    Err(self.backend(&s3_key, "GetObject", f))
                };
            }
        };
        let stream = futures::stream::unfold(out.body, |mut b| async move {
            match b.next().await {
                Some(Ok(chunk)) => Some((Ok(chunk), b)),
                Some(Err(e)) => Some((Err(io::Error::other(e)), b)),
                None => None,
            }
        });
        Ok(stream.boxed())
    }

    async fn exists(&self, s3_key: &str) -> Result<bool, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(s3_key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let f = Failure::of(e);
                if f.status == Some(404) || f.is("NotFound") || f.is("NoSuchKey") {
                    Ok(false)
                } else {
                    Err(self.backend(s3_key, "HeadObject", f))
                }
            }
        }
    }

    async fn put_single(
        &self,
        key: &ObjectKey,
        s3_key: &str,
        meta: &ObjectMeta,
        data: Bytes,
        sha_hex: &str,
    ) -> Result<(), BlobError> {
        let mut metadata = Self::metadata(meta);
        metadata.insert(SHA256_META.into(), sha_hex.to_string());
        let checksum = b64_sha256(&data);
        let (lock_mode, lock_until) = self.lock_of(meta);
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(s3_key)
            .if_none_match("*")
            .set_object_lock_mode(lock_mode)
            .set_object_lock_retain_until_date(lock_until)
            .set_metadata(Some(metadata))
            .set_content_type(meta.content_type.clone())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .server_side_encryption(self.sse())
            .set_ssekms_key_id(self.kms_key_id.clone())
            .body(S3Body::from(data));
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = Failure::of(e);
                if f.status == Some(412)
                    || f.is("PreconditionFailed")
                    || f.status == Some(409) && f.is("ConditionalRequestConflict")
                {
                    Err(BlobError::AlreadyExists(key.clone()))
                } else {
                    Err(self.backend(s3_key, "PutObject", f))
                }
            }
        }
    }

    async fn abort(&self, s3_key: &str, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(s3_key)
            .upload_id(upload_id)
            .send()
            .await
        {
            // The bucket's lifecycle rule removes what an abort could not.
            tracing::warn!(bucket = %self.bucket, key = %s3_key, error = %Failure::of(e).source, "aborting a multipart upload failed");
        }
    }

    /// Reads the next part: exactly `part` bytes (see [`part_size_for`]), or fewer when
    /// the body ends (then `ended` is true). A whole part that arrives as one chunk is not
    /// copied.
    async fn read_part(
        key: &ObjectKey,
        body: &mut VerifiedBody,
    ) -> Result<(Bytes, bool), BlobError> {
        let part = part_size_for(body.expectations().size);
        let mut buf = BytesMut::new();
        loop {
            match body.next_chunk(part - buf.len()).await {
                Some(Ok(chunk)) => {
                    if buf.is_empty() && chunk.len() == part {
                        return Ok((chunk, false));
                    }
                    if buf.capacity() == 0 {
                        buf.reserve(part);
                    }
                    buf.extend_from_slice(&chunk);
                    if buf.len() == part {
                        return Ok((buf.freeze(), false));
                    }
                }
                Some(Err(e)) => {
                    return Err(BlobError::Body {
                        key: key.clone(),
                        source: e,
                    });
                }
                None => return Ok((buf.freeze(), true)),
            }
        }
    }

    /// Uploads `first` (when given) and the rest of the body as parts numbered after the
    /// checkpoint's, at most [`MAX_PARTS_IN_FLIGHT`] at a time. Returns every part (the
    /// checkpoint's and the new ones, by number) and whether it paused at the deadline.
    async fn upload_parts(
        &self,
        key: &ObjectKey,
        s3_key: &str,
        cp: &UploadCheckpoint,
        first: Option<Bytes>,
        body: &mut VerifiedBody,
        deadline: Option<Instant>,
    ) -> Result<(Vec<UploadedPart>, bool), BlobError> {
        let mut tasks: JoinSet<Result<UploadedPart, BlobError>> = JoinSet::new();
        let mut done: Vec<UploadedPart> = cp.parts.clone();
        let mut next_part = cp.parts.iter().map(|p| p.number).max().unwrap_or(0) + 1;
        let mut first = first;
        let result: Result<bool, BlobError> = async {
            let paused = loop {
                let (part, ended) = match first.take() {
                    Some(p) => (p, false),
                    None => Self::read_part(key, body).await?,
                };
                if !part.is_empty() {
                    while tasks.len() >= MAX_PARTS_IN_FLIGHT {
                        if let Some(r) = tasks.join_next().await {
                            done.push(join_result(r, self, s3_key)?);
                        }
                    }
                    tasks.spawn(self.clone().upload_part(
                        key.clone(),
                        s3_key.to_string(),
                        cp.upload_id.clone(),
                        next_part,
                        part,
                    ));
                    next_part += 1;
                }
                if ended {
                    break false;
                }
                // A part boundary: stop here once the deadline has passed, unless the body
                // has nothing left (a checkpoint at the very end would ask Zoom for an
                // empty range).
                if deadline.is_some_and(|d| Instant::now() >= d) && !body.at_end().await {
                    break true;
                }
            };
            while let Some(r) = tasks.join_next().await {
                done.push(join_result(r, self, s3_key)?);
            }
            Ok(paused)
        }
        .await;
        match result {
            Ok(paused) => {
                done.sort_by_key(|p| p.number);
                Ok((done, paused))
            }
            Err(e) => {
                // Stop the parts still in flight before aborting, so none lands after the abort.
                tasks.shutdown().await;
                Err(e)
            }
        }
    }

    async fn upload_part(
        self,
        key: ObjectKey,
        s3_key: String,
        upload_id: String,
        number: u32,
        data: Bytes,
    ) -> Result<UploadedPart, BlobError> {
        let checksum = b64_sha256(&data);
        let size = data.len() as u64;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&s3_key)
            .upload_id(upload_id)
            .part_number(number as i32)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum.clone())
            .body(S3Body::from(data))
            .send()
            .await
            .map_err(|e| {
                let f = Failure::of(e);
                if f.is(NO_SUCH_UPLOAD) {
                    BlobError::UploadGone { key: key.clone() }
                } else {
                    self.backend(&s3_key, &format!("UploadPart {number}"), f)
                }
            })?;
        Ok(UploadedPart {
            number,
            etag: out.e_tag.unwrap_or_default(),
            checksum_sha256: Some(out.checksum_sha256.unwrap_or(checksum)),
            size,
        })
    }

    /// True when S3 says the upload no longer exists (`ListParts` → `NoSuchUpload`). Any
    /// other answer, including an error, counts as "still there": `ListParts` is only used
    /// as this early check (its part listing is not relied on), and `UploadPart` reports a
    /// vanished upload anyway.
    async fn upload_is_gone(&self, s3_key: &str, upload_id: &str) -> bool {
        match self
            .client
            .list_parts()
            .bucket(&self.bucket)
            .key(s3_key)
            .upload_id(upload_id)
            .max_parts(1)
            .send()
            .await
        {
            Ok(_) => false,
            Err(e) => {
                let f = Failure::of(e);
                if f.is(NO_SUCH_UPLOAD) || f.status == Some(404) {
                    true
                } else {
                    tracing::debug!(bucket = %self.bucket, key = %s3_key, error = %f.source, "ListParts failed; assuming the upload exists");
                    false
                }
            }
        }
    }

    async fn create_upload(&self, s3_key: &str, meta: &ObjectMeta) -> Result<String, BlobError> {
        let (lock_mode, lock_until) = self.lock_of(meta);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(s3_key)
            .set_object_lock_mode(lock_mode)
            .set_object_lock_retain_until_date(lock_until)
            .set_metadata(Some(Self::metadata(meta)))
            .set_content_type(meta.content_type.clone())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .server_side_encryption(self.sse())
            .set_ssekms_key_id(self.kms_key_id.clone())
            .send()
            .await
            .map_err(|e| self.backend(s3_key, "CreateMultipartUpload", Failure::of(e)))?;
        created.upload_id.ok_or_else(|| BlobError::Backend {
            key: s3_key.into(),
            source: "CreateMultipartUpload returned no upload id".into(),
            retryable: true,
        })
    }

    /// Continues the multipart upload of `cp` with `first` and the rest of `body`; then
    /// completes it (create-only) and tags the object with its SHA-256, or pauses at the
    /// deadline. Every error aborts the upload.
    async fn put_multipart(
        &self,
        key: &ObjectKey,
        s3_key: &str,
        cp: UploadCheckpoint,
        first: Option<Bytes>,
        body: &mut VerifiedBody,
        deadline: Option<Instant>,
    ) -> Result<PutProgress, BlobError> {
        let upload_id = cp.upload_id.clone();
        let (parts, paused) = match self
            .upload_parts(key, s3_key, &cp, first, body, deadline)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                if !matches!(e, BlobError::UploadGone { .. }) {
                    self.abort(s3_key, &upload_id).await;
                }
                return Err(e);
            }
        };
        if paused {
            let checkpoint = UploadCheckpoint {
                upload_id,
                bytes: body.consumed(),
                hash: body.hash_state(),
                parts,
            };
            debug_assert_eq!(
                checkpoint.bytes,
                checkpoint.parts.iter().map(|p| p.size).sum::<u64>()
            );
            tracing::debug!(bucket = %self.bucket, key = %s3_key, bytes = checkpoint.bytes, parts = checkpoint.parts.len(), "multipart upload paused at the deadline");
            return Ok(PutProgress::Paused(checkpoint));
        }
        let Some(summary) = body.summary().cloned() else {
            self.abort(s3_key, &upload_id).await;
            return Err(BlobError::Body {
                key: key.clone(),
                source: io::Error::other("the body ended without a summary"),
            });
        };
        let completed_parts: Vec<CompletedPart> = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number as i32)
                    .e_tag(&p.etag)
                    .set_checksum_sha256(p.checksum_sha256.clone())
                    .build()
            })
            .collect();
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(s3_key)
            .upload_id(&upload_id)
            .if_none_match("*")
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed_parts))
                    .build(),
            )
            .send()
            .await;
        if let Err(e) = completed {
            let f = Failure::of(e);
            if f.is(NO_SUCH_UPLOAD) {
                return Err(BlobError::UploadGone { key: key.clone() });
            }
            self.abort(s3_key, &upload_id).await;
            return if f.status == Some(412) || f.is("PreconditionFailed") {
                Err(BlobError::AlreadyExists(key.clone()))
            } else {
                Err(self.backend(s3_key, "CompleteMultipartUpload", f))
            };
        }
        let tag = Tag::builder()
            .key(SHA256_TAG)
            .value(&summary.sha256)
            .build()
            .map_err(|e| BlobError::Backend {
                key: s3_key.into(),
                source: Box::new(e),
                retryable: false,
            })?;
        let tagging = Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| BlobError::Backend {
                key: s3_key.into(),
                source: Box::new(e),
                retryable: false,
            })?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(s3_key)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| self.backend(s3_key, "PutObjectTagging sha256", Failure::of(e)))?;
        Ok(PutProgress::Complete(ObjectInfo {
            key: key.clone(),
            size: summary.size,
            sha256: Some(summary.sha256),
        }))
    }
}

fn join_result(
    r: Result<Result<UploadedPart, BlobError>, tokio::task::JoinError>,
    store: &S3BlobStore,
    s3_key: &str,
) -> Result<UploadedPart, BlobError> {
    match r {
        Ok(r) => r,
        Err(e) => Err(BlobError::Backend {
            key: format!("s3://{}/{s3_key}", store.bucket),
            source: Box::new(e),
            retryable: true,
        }),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError> {
        match self.put_stream_until(key, meta, body, None, None).await? {
            PutProgress::Complete(info) => Ok(info),
            PutProgress::Paused(_) => Err(BlobError::Backend {
                key: self.s3_key(key),
                source: "the upload paused without a deadline".into(),
                retryable: false,
            }),
        }
    }

    /// Single `PutObject` for a fresh body shorter than a part; otherwise a multipart
    /// upload of [`PART_SIZE`] parts that pauses at the first part boundary after
    /// `deadline` and resumes from a checkpoint (parts numbered after the checkpoint's;
    /// no `ListParts`: the checkpoint holds the parts).
    async fn put_stream_until(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        mut body: VerifiedBody,
        resume: Option<UploadCheckpoint>,
        deadline: Option<Instant>,
    ) -> Result<PutProgress, BlobError> {
        let s3_key = self.s3_key(key);
        if let Some(cp) = resume {
            let in_parts: u64 = cp.parts.iter().map(|p| p.size).sum();
            if body.consumed() != cp.bytes || in_parts != cp.bytes || cp.hash.len != cp.bytes {
                return Err(BlobError::Backend {
                    key: s3_key,
                    source: format!(
                        "inconsistent resume: body at {}, checkpoint at {}, parts hold {in_parts}, hash state covers {}",
                        body.consumed(),
                        cp.bytes,
                        cp.hash.len
                    )
                    .into(),
                    retryable: false,
                });
            }
            if self.upload_is_gone(&s3_key, &cp.upload_id).await {
                return Err(BlobError::UploadGone { key: key.clone() });
            }
            return self
                .put_multipart(key, &s3_key, cp, None, &mut body, deadline)
                .await;
        }
        // Fill the first part: a body that ends before it fills goes in one PutObject.
        let (first, ended) = Self::read_part(key, &mut body).await?;
        if ended {
            let summary = body.summary().cloned().ok_or_else(|| BlobError::Body {
                key: key.clone(),
                source: io::Error::other("the body ended without a summary"),
            })?;
            self.put_single(key, &s3_key, meta, first, &summary.sha256)
                .await?;
            return Ok(PutProgress::Complete(ObjectInfo {
                key: key.clone(),
                size: summary.size,
                sha256: Some(summary.sha256),
            }));
        }
        if self.exists(&s3_key).await? {
            return Err(BlobError::AlreadyExists(key.clone()));
        }
        let upload_id = self.create_upload(&s3_key, meta).await?;
        let cp = UploadCheckpoint {
            upload_id,
            parts: Vec::new(),
            bytes: 0,
            hash: HashState::default(),
        };
        self.put_multipart(key, &s3_key, cp, Some(first), &mut body, deadline)
            .await
    }

    async fn abort_upload(
        &self,
        key: &ObjectKey,
        checkpoint: &UploadCheckpoint,
    ) -> Result<(), BlobError> {
        let s3_key = self.s3_key(key);
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&s3_key)
            .upload_id(&checkpoint.upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = Failure::of(e);
                if f.is(NO_SUCH_UPLOAD) || f.status == Some(404) {
                    Ok(())
                } else {
                    Err(self.backend(&s3_key, "AbortMultipartUpload", f))
                }
            }
        }
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError> {
        let s3_key = self.s3_key(key);
        let out = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&s3_key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let f = Failure::of(e);
                return if f.status == Some(404) || f.is("NotFound") || f.is("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(self.backend(&s3_key, "HeadObject", f))
                };
            }
        };
        let size = out.content_length.unwrap_or(0).max(0) as u64;
        let mut sha256 = out
            .metadata
            .as_ref()
            .and_then(|m| m.get(SHA256_META))
            .cloned();
        if sha256.is_none() {
            let tags = self
                .client
                .get_object_tagging()
                .bucket(&self.bucket)
                .key(&s3_key)
                .send()
                .await
                .map_err(|e| self.backend(&s3_key, "GetObjectTagging", Failure::of(e)))?;
            sha256 = tags
                .tag_set
                .into_iter()
                .find(|t| t.key == SHA256_TAG)
                .map(|t| t.value);
        }
        Ok(Some(ObjectInfo {
            key: key.clone(),
            size,
            sha256,
        }))
    }

    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError> {
        self.get_range(key, 0, None).await
    }

    async fn get_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        self.get_range(key, offset, None).await
    }

    async fn get_slice(
        &self,
        key: &ObjectKey,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream, BlobError> {
        self.get_range(key, offset, Some(len)).await
    }

    /// Object Lock's retention and legal hold when the bucket has them, else the
    /// retain-until date recorded in the object's metadata.
    async fn protection(&self, key: &ObjectKey) -> Result<Protection, BlobError> {
        let s3_key = self.s3_key(key);
        let out = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&s3_key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let f = Failure::of(e);
                return if f.status == Some(404) || f.is("NotFound") || f.is("NoSuchKey") {
                    Err(BlobError::NotFound(key.clone()))
                } else {
                    Err(self.backend(&s3_key, "HeadObject", f))
                };
            }
        };
        let from_meta = out
            .metadata
            .as_ref()
            .and_then(|m| m.get(RETAIN_META))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let from_lock = out
            .object_lock_retain_until_date
            .and_then(|d| chrono::DateTime::from_timestamp(d.secs(), 0));
        Ok(Protection {
            retain_until: from_lock.max(from_meta),
            legal_hold: out.object_lock_legal_hold_status
                == Some(aws_sdk_s3::types::ObjectLockLegalHoldStatus::On),
        })
    }

    /// `PutObjectLegalHold` (the bucket must have Object Lock).
    async fn set_legal_hold(&self, key: &ObjectKey, on: bool) -> Result<(), BlobError> {
        let s3_key = self.s3_key(key);
        let status = if on {
            aws_sdk_s3::types::ObjectLockLegalHoldStatus::On
        } else {
            aws_sdk_s3::types::ObjectLockLegalHoldStatus::Off
        };
        self.client
            .put_object_legal_hold()
            .bucket(&self.bucket)
            .key(&s3_key)
            .legal_hold(
                aws_sdk_s3::types::ObjectLockLegalHold::builder()
                    .status(status)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                let f = Failure::of(e);
                if f.status == Some(404) || f.is("NoSuchKey") {
                    BlobError::NotFound(key.clone())
                } else {
                    self.backend(&s3_key, "PutObjectLegalHold", f)
                }
            })?;
        Ok(())
    }

    /// Checks the protection, then deletes the object's version itself (a plain delete
    /// in a versioned bucket would only add a delete marker); S3 Object Lock refuses the
    /// delete of a locked or held version on its own as well.
    async fn delete(
        &self,
        key: &ObjectKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        let p = self.protection(key).await?;
        let s3_key = self.s3_key(key);
        let why = if p.legal_hold {
            Some("under a legal hold".to_string())
        } else {
            match p.retain_until {
                None => Some("no retention was recorded for it".into()),
                Some(t) if t > now => Some(format!("retained until {t}")),
                Some(_) => None,
            }
        };
        if let Some(why) = why {
            return Err(BlobError::Protected {
                key: key.clone(),
                why,
            });
        }
        let version = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&s3_key)
            .send()
            .await
            .map_err(|e| self.backend(&s3_key, "HeadObject", Failure::of(e)))?
            .version_id;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&s3_key)
            .set_version_id(version)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = Failure::of(e);
                if f.status == Some(403) || f.is("AccessDenied") {
                    Err(BlobError::Protected {
                        key: key.clone(),
                        why: format!("S3 refused the delete: {}", f.message),
                    })
                } else {
                    Err(self.backend(&s3_key, "DeleteObject", f))
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError> {
        let full = format!("{}{prefix}", self.prefix);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.backend(&full, "ListObjectsV2", Failure::of(e)))?;
            for o in page.contents.unwrap_or_default() {
                let Some(k) = o.key else { continue };
                let Some(rel) = k.strip_prefix(&self.prefix) else {
                    continue;
                };
                match ObjectKey::parse(rel.to_string()) {
                    Ok(key) => out.push(ObjectInfo {
                        key,
                        size: o.size.unwrap_or(0).max(0) as u64,
                        sha256: None,
                    }),
                    Err(_) => {
                        tracing::debug!(bucket = %self.bucket, key = %k, "skipping an object whose key is not an archiver key")
                    }
                }
            }
            match page.next_continuation_token {
                Some(t) if page.is_truncated == Some(true) => token = Some(t),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

#[cfg(test)]
mod part_tests {
    use super::*;

    #[test]
    fn large_files_get_larger_parts_and_small_checkpoints() {
        assert_eq!(part_size_for(None), PART_SIZE);
        assert_eq!(part_size_for(Some(100 << 20)), PART_SIZE);
        assert_eq!(part_size_for(Some(4000 << 20)), PART_SIZE, "500 × 8 MiB");
        // A 24-hour 1080p meeting (~30 GB): at most 500 parts of whole MiB.
        let size = 30_u64 << 30;
        let part = part_size_for(Some(size)) as u64;
        assert_eq!(part % (1 << 20), 0);
        assert!(size.div_ceil(part) <= TARGET_MAX_PARTS);
        assert!(part <= 5 << 30, "S3's largest part");
        // The checkpoint of such an upload, as stored in the file's item.
        let cp = UploadCheckpoint {
            upload_id: "x".repeat(140),
            parts: (1..=TARGET_MAX_PARTS as u32)
                .map(|number| archiver_core::UploadedPart {
                    number,
                    etag: format!("\"{}\"", "f".repeat(32)),
                    checksum_sha256: Some("A".repeat(44)),
                    size: part,
                })
                .collect(),
            bytes: size,
            hash: HashState::default(),
        };
        let item = serde_json::to_vec(&cp).unwrap().len();
        assert!(item < 100_000, "{item} bytes: far under DynamoDB's 400 KB");
    }
}
