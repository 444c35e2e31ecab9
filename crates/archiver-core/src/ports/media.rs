use super::BlobStore;
use crate::domain::{ContentKind, MediaFacts, ObjectKey, Peaks};
use async_trait::async_trait;
use std::sync::Arc;

/// Measures an archived media file by reading it back from the object store.
///
/// Contract: reads the object in bounded memory (never the whole file), never downloads
/// from Zoom again, and never fails the archive: a file that cannot be decoded gives
/// facts whose `error` names what was wrong (not media, truncated, unsupported codec). An
/// error of the store itself (the object cannot be read) is also reported in `error`.
#[async_trait]
pub trait MediaAnalyser: Send + Sync {
    /// Analyses the object at `key`, of `size` bytes, expected to be `kind` media.
    async fn analyse(
        &self,
        blobs: Arc<dyn BlobStore>,
        key: &ObjectKey,
        kind: ContentKind,
        size: u64,
    ) -> MediaFacts;

    /// [`MediaAnalyser::analyse`], and the waveform [`Peaks`] from the same decode pass
    /// (`None` when the file could not be decoded, for documents, or from an analyser
    /// that does not compute them: the default).
    async fn analyse_with_peaks(
        &self,
        blobs: Arc<dyn BlobStore>,
        key: &ObjectKey,
        kind: ContentKind,
        size: u64,
    ) -> (MediaFacts, Option<Peaks>) {
        (self.analyse(blobs, key, kind, size).await, None)
    }
}
