//! The adapter of the core's [`MediaAnalyser`] port: analyses an archived object by reading
//! it back from a [`BlobStore`] (see the crate documentation, "Reading back from the store").

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use archiver_core::domain::{ContentKind, MediaFacts, ObjectKey, Peaks, encode_activity};
use archiver_core::ports::{BlobStore, ByteStream, MediaAnalyser};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::runtime::Handle;

use crate::{MediaError, MediaReport};

/// A forward seek of at most this many bytes past the current chunk reads and discards
/// the bytes in between on the open stream; a longer forward seek, or any backward seek
/// out of the current chunk, opens a new stream at the target
/// ([`BlobStore::get_from`]).
pub const SEEK_SKIP_LIMIT: u64 = 256 * 1024;

/// [`MediaAnalyser`] that decodes objects of a [`BlobStore`] with [`crate::analyse`].
///
/// The decoder runs on a blocking thread (`spawn_blocking`) and reads through a
/// `Read + Seek` bridge that drives the store's async byte stream with
/// [`Handle::block_on`]: one stream open at a time, one chunk of it in memory. Must be
/// called inside a Tokio runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlobAnalyser;

impl BlobAnalyser {
    /// A new analyser.
    pub fn new() -> Self {
        Self
    }
}

/// The extension hint for a media kind; `None` for documents (not analysed).
fn hint_for(kind: ContentKind) -> Option<&'static str> {
    match kind {
        ContentKind::Mp3 => Some("mp3"),
        ContentKind::M4a => Some("m4a"),
        ContentKind::Mp4 => Some("mp4"),
        ContentKind::Document => None,
    }
}

/// Facts from a report. The voice activity is kept for individual meeting audio (M4A)
/// only: it is what talk-over is computed from.
fn facts_of(report: MediaReport, kind: ContentKind) -> MediaFacts {
    MediaFacts {
        audio_codec: Some(report.codec),
        video_codec: report.video_codec,
        sample_rate: Some(report.sample_rate),
        channels: Some(report.channels),
        duration_secs: Some(report.duration_secs),
        silence_ratio: Some(report.silence_ratio),
        longest_silence_secs: Some(report.longest_silence_secs),
        voice_quality: Some(report.voice_quality),
        clipping_ratio: Some(report.clipping_ratio),
        rms_dbfs: Some(report.rms_dbfs),
        activity: (kind == ContentKind::M4a).then(|| encode_activity(&report.activity)),
        error: None,
    }
}

/// The `MediaFacts::error` text of an analysis error.
fn error_text(e: &MediaError) -> String {
    match e {
        MediaError::NotMedia(m) => format!("not media: {m}"),
        MediaError::Truncated(m) => format!("truncated: {m}"),
        MediaError::Unsupported(m) => format!("unsupported codec: {m}"),
        MediaError::Io(m) => format!("could not read the stored object: {m}"),
    }
}

#[async_trait]
impl MediaAnalyser for BlobAnalyser {
    async fn analyse(
        &self,
        blobs: Arc<dyn BlobStore>,
        key: &ObjectKey,
        kind: ContentKind,
        size: u64,
    ) -> MediaFacts {
        self.analyse_with_peaks(blobs, key, kind, size).await.0
    }

    /// One decode pass gives both the facts and the waveform peaks.
    async fn analyse_with_peaks(
        &self,
        blobs: Arc<dyn BlobStore>,
        key: &ObjectKey,
        kind: ContentKind,
        size: u64,
    ) -> (MediaFacts, Option<Peaks>) {
        let Some(hint) = hint_for(kind) else {
            return (MediaFacts::default(), None);
        };
        let reader = BlobReader::new(Handle::current(), blobs, key.clone(), size);
        match tokio::task::spawn_blocking(move || crate::analyse(reader, hint)).await {
            Ok(Ok(mut report)) => {
                let peaks = std::mem::take(&mut report.peaks);
                (facts_of(report, kind), Some(peaks))
            }
            Ok(Err(e)) => (MediaFacts::failed(error_text(&e)), None),
            Err(e) => (
                MediaFacts::failed(format!("media analysis of {key} failed: {e}")),
                None,
            ),
        }
    }
}

/// A blocking `Read + Seek` view of one stored object of a known size.
///
/// Holds at most one open stream and its current chunk: `chunk` covers the bytes
/// `[chunk_start, chunk_start + chunk.len())` and, while `stream` is open, the stream's
/// next byte is the one just past the chunk. Seeks only move `pos`; the next read serves
/// from the chunk, reads on (discarding) when `pos` is at most [`SEEK_SKIP_LIMIT`] past
/// the chunk, or else reopens the stream at `pos`. Reads stop at `size`.
pub(crate) struct BlobReader {
    handle: Handle,
    blobs: Arc<dyn BlobStore>,
    key: ObjectKey,
    size: u64,
    pos: u64,
    /// The open stream. In a `Mutex` only to make the reader `Sync` (symphonia wants it);
    /// it is reached through `&mut self` (`get_mut`), never locked.
    stream: Option<Mutex<ByteStream>>,
    /// The open stream has ended (just past the chunk).
    ended: bool,
    chunk: Bytes,
    chunk_start: u64,
    /// Streams opened so far.
    opens: u32,
}

impl BlobReader {
    pub(crate) fn new(
        handle: Handle,
        blobs: Arc<dyn BlobStore>,
        key: ObjectKey,
        size: u64,
    ) -> Self {
        Self {
            handle,
            blobs,
            key,
            size,
            pos: 0,
            stream: None,
            ended: false,
            chunk: Bytes::new(),
            chunk_start: 0,
            opens: 0,
        }
    }

    fn chunk_end(&self) -> u64 {
        self.chunk_start + self.chunk.len() as u64
    }

    /// Opens a stream at `pos` (dropping the previous one and its chunk).
    fn reopen(&mut self) -> io::Result<()> {
        self.stream = None;
        self.ended = false;
        self.chunk = Bytes::new();
        self.chunk_start = self.pos;
        self.opens += 1;
        let stream = self
            .handle
            .block_on(self.blobs.get_from(&self.key, self.pos))
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.stream = Some(Mutex::new(stream));
        Ok(())
    }

    /// Replaces the chunk with the stream's next non-empty chunk; false at its end.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        let stream = stream.get_mut().unwrap_or_else(|e| e.into_inner());
        loop {
            match self.handle.block_on(stream.next()) {
                Some(Ok(c)) if c.is_empty() => {}
                Some(Ok(c)) => {
                    self.chunk_start = self.chunk_end();
                    self.chunk = c;
                    return Ok(true);
                }
                Some(Err(e)) => {
                    // The stream is unusable after an error: the next read reopens. The
                    // kind is not kept: a store's `UnexpectedEof` must not pass for a
                    // truncated file.
                    self.stream = None;
                    return Err(io::Error::other(format!("reading {}: {e}", self.key)));
                }
                None => {
                    self.stream = None;
                    self.ended = true;
                    return Ok(false);
                }
            }
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        loop {
            let end = self.chunk_end();
            if self.pos >= self.chunk_start && self.pos < end {
                let from = (self.pos - self.chunk_start) as usize;
                let left = (self.size - self.pos).min(usize::MAX as u64) as usize;
                let n = buf.len().min(self.chunk.len() - from).min(left);
                buf[..n].copy_from_slice(&self.chunk[from..from + n]);
                self.pos += n as u64;
                return Ok(n);
            }
            let ahead = self.pos >= end && self.pos - end <= SEEK_SKIP_LIMIT;
            if ahead && self.ended {
                // The object is shorter than `size`: end of file here.
                return Ok(0);
            }
            if !(ahead && self.stream.is_some()) {
                self.reopen()?;
            }
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("seek before the start of {}", self.key),
            ));
        };
        self.pos = target;
        Ok(target)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archiver_testkit::MemBlobStore;
    use archiver_testkit::fixtures::{mp3_body, object_key, object_meta, unique_tenant};

    /// 400 KB of known bytes (`MemBlobStore` streams 64 KiB chunks).
    async fn stored() -> (Arc<dyn BlobStore>, ObjectKey, Vec<u8>) {
        let data = archiver_testkit::fixtures::media_bytes(400_000, 9);
        let tenant = unique_tenant("br");
        let key = object_key(&tenant, "r.mp3");
        let store = MemBlobStore::new();
        store
            .put_stream(
                &key,
                &object_meta(&tenant, "r"),
                mp3_body(data.clone(), 4096),
            )
            .await
            .unwrap();
        (Arc::new(store), key, data)
    }

    fn read_n(r: &mut BlobReader, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let k = r.read(&mut out[got..]).unwrap();
            if k == 0 {
                break;
            }
            got += k;
        }
        out.truncate(got);
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_and_seeks_like_a_file() {
        let (store, key, data) = stored().await;
        let size = data.len() as u64;
        let h = Handle::current();
        let opens = tokio::task::spawn_blocking(move || {
            let mut r = BlobReader::new(h, store, key, size);
            // Seeks alone open nothing.
            assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), size);
            assert_eq!(r.seek(SeekFrom::Start(0)).unwrap(), 0);
            assert_eq!(r.opens, 0);
            assert_eq!(read_n(&mut r, 100), data[..100]);
            // Backwards inside the current chunk: no new stream.
            r.seek(SeekFrom::Start(10)).unwrap();
            assert_eq!(read_n(&mut r, 70_000), data[10..70_010]);
            // Forward by less than the skip limit: same stream.
            r.seek(SeekFrom::Current(200_000)).unwrap();
            assert_eq!(read_n(&mut r, 1000), data[270_010..271_010]);
            assert_eq!(r.opens, 1);
            // Backwards out of the chunk: a new stream.
            r.seek(SeekFrom::Start(5)).unwrap();
            assert_eq!(read_n(&mut r, 10), data[5..15]);
            assert_eq!(r.opens, 2);
            // Forward by more than the skip limit (relative to the end): a new stream;
            // reading stops at the end.
            r.seek(SeekFrom::End(-3)).unwrap();
            assert_eq!(read_n(&mut r, 10), data[data.len() - 3..]);
            assert_eq!(r.opens, 3);
            assert_eq!(read_n(&mut r, 10), Vec::<u8>::new());
            r.seek(SeekFrom::End(10)).unwrap();
            assert_eq!(read_n(&mut r, 10), Vec::<u8>::new());
            assert!(r.seek(SeekFrom::Current(-(size as i64) - 11)).is_err());
            r.opens
        })
        .await
        .unwrap();
        assert_eq!(opens, 3, "reads at or past the end open nothing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_declared_size_beyond_the_object_reads_as_end_of_file() {
        let (store, key, data) = stored().await;
        let h = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut r = BlobReader::new(h, store, key, data.len() as u64 + 1000);
            assert_eq!(read_n(&mut r, data.len() + 1000), data);
            assert_eq!(read_n(&mut r, 10), Vec::<u8>::new());
            let opens = r.opens;
            // Past the end and within the skip distance: still no new stream.
            r.seek(SeekFrom::Current(500)).unwrap();
            assert_eq!(read_n(&mut r, 10), Vec::<u8>::new());
            assert_eq!(r.opens, opens);
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_object_is_a_read_error() {
        let store: Arc<dyn BlobStore> = Arc::new(MemBlobStore::new());
        let key = object_key(unique_tenant("br"), "none.mp3");
        let h = Handle::current();
        let e = tokio::task::spawn_blocking(move || {
            let mut r = BlobReader::new(h, store, key, 100);
            r.read(&mut [0u8; 10]).unwrap_err()
        })
        .await
        .unwrap();
        assert!(e.to_string().contains("not found"), "{e}");
    }

    #[test]
    fn errors_name_what_was_wrong() {
        assert_eq!(
            error_text(&MediaError::Truncated("x".into())),
            "truncated: x"
        );
        assert_eq!(
            error_text(&MediaError::NotMedia("x".into())),
            "not media: x"
        );
        assert!(error_text(&MediaError::Unsupported("x".into())).starts_with("unsupported codec"));
        assert!(error_text(&MediaError::Io("x".into())).starts_with("could not read"));
        assert_eq!(hint_for(ContentKind::Document), None);
    }
}
