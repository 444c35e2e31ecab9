//! Waveform peaks sidecars ([`crate::domain::peaks`]): written beside a recording when it
//! is analysed (the downloader), read back by the review UI, computed on demand for a
//! recording archived before peaks existed, and disposed of with the recording.
//!
//! A sidecar is written create-only with the recording's own descriptive metadata and
//! retention date (so on S3 it is locked exactly as long as the recording); a sidecar that
//! already exists is left as it is (two computations of the same bytes agree).

use crate::domain::{
    ContentKind, ObjectKey, PEAKS_CONTENT_TYPE, PEAKS_MAX_BYTES, Peaks, peaks_key,
};
use crate::ports::{
    BlobError, BlobStore, BodyExpectations, MediaAnalyser, ObjectMeta, VerifiedBody,
};
use futures::TryStreamExt;
use std::sync::Arc;

/// Stores `peaks` as the sidecar of the object at `key`, described by the object's own
/// `meta` (its content type is replaced). An existing sidecar is kept (`Ok`).
pub async fn store(
    blobs: &dyn BlobStore,
    key: &ObjectKey,
    meta: &ObjectMeta,
    peaks: &Peaks,
) -> Result<(), BlobError> {
    let Some(sidecar) = peaks_key(key) else {
        return Ok(());
    };
    let bytes = bytes::Bytes::from(peaks.to_bytes());
    let size = bytes.len() as u64;
    let body = VerifiedBody::new(
        Box::pin(futures::stream::iter([Ok::<_, std::io::Error>(bytes)])),
        BodyExpectations {
            kind: ContentKind::Document,
            size: Some(size),
        },
    );
    let meta = ObjectMeta {
        content_type: Some(PEAKS_CONTENT_TYPE.into()),
        ..meta.clone()
    };
    match blobs.put_stream(&sidecar, &meta, body).await {
        Ok(_) | Err(BlobError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The stored sidecar of the object at `key`: `Ok(None)` when there is none, or when the
/// stored bytes are not a readable sidecar (too large, damaged, another version: the
/// caller may compute them again).
pub async fn load(blobs: &dyn BlobStore, key: &ObjectKey) -> Result<Option<Peaks>, BlobError> {
    let Some(sidecar) = peaks_key(key) else {
        return Ok(None);
    };
    let Some(info) = blobs.head(&sidecar).await? else {
        return Ok(None);
    };
    if info.size > PEAKS_MAX_BYTES {
        tracing::warn!(key = %sidecar, size = info.size, "peaks sidecar too large; ignored");
        return Ok(None);
    }
    let body = match blobs.get(&sidecar).await {
        Ok(b) => b,
        Err(BlobError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let bytes = body
        .try_fold(
            Vec::with_capacity(info.size as usize),
            |mut acc, c| async move {
                acc.extend_from_slice(&c);
                Ok(acc)
            },
        )
        .await
        .map_err(|e| BlobError::Backend {
            key: sidecar.to_string(),
            source: Box::new(e),
            retryable: true,
        })?;
    match Peaks::from_bytes(&bytes) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            tracing::warn!(key = %sidecar, error = %e, "unreadable peaks sidecar; ignored");
            Ok(None)
        }
    }
}

/// The peaks of the object at `key` (`size` bytes, `kind` media): the stored sidecar, or
/// else computed by `analyser` (one decode of the stored object, in bounded memory) and
/// stored for next time with `meta`. `Ok(None)` when the object cannot be decoded (or is
/// a document). A failure to store the computed sidecar is logged, not returned.
pub async fn load_or_compute(
    blobs: Arc<dyn BlobStore>,
    analyser: &dyn MediaAnalyser,
    key: &ObjectKey,
    kind: ContentKind,
    size: u64,
    meta: &ObjectMeta,
) -> Result<Option<Peaks>, BlobError> {
    if let Some(p) = load(blobs.as_ref(), key).await? {
        return Ok(Some(p));
    }
    if !kind.is_media() {
        return Ok(None);
    }
    let (_, peaks) = analyser
        .analyse_with_peaks(blobs.clone(), key, kind, size)
        .await;
    if let Some(p) = &peaks
        && let Err(e) = store(blobs.as_ref(), key, meta, p).await
    {
        tracing::warn!(%key, error = %e, "computed peaks could not be stored; served anyway");
    }
    Ok(peaks)
}

/// Deletes the sidecar of the object at `key` (after the object itself was disposed of).
/// No sidecar is fine; a refusal (S3's default retention locking a sidecar computed on
/// demand after its recording's own retention had run out) is returned to be reported.
pub async fn dispose(
    blobs: &dyn BlobStore,
    key: &ObjectKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), BlobError> {
    let Some(sidecar) = peaks_key(key) else {
        return Ok(());
    };
    match blobs.delete(&sidecar, now).await {
        Ok(()) | Err(BlobError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
