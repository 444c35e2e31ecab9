use crate::domain::ContentKind;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A stream of bytes, the currency between Zoom, the core and the object stores.
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

/// Why the core refused a download body. Carried inside an `io::Error` of kind
/// `InvalidData` so that it travels through any adapter; see [`BodyRejected::from_io`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyRejected {
    /// Media was expected but the body is an HTML page.
    #[error("expected {expected:?} media but the body is an HTML page")]
    Html {
        /// The expected content.
        expected: ContentKind,
    },
    /// Media was expected but the body is JSON (typically a Zoom error object).
    #[error("expected {expected:?} media but the body is JSON: {snippet}")]
    Json {
        /// The expected content.
        expected: ContentKind,
        /// The first bytes, for the log.
        snippet: String,
    },
    /// The body was empty.
    #[error("the body is empty")]
    Empty,
    /// The body length differs from Zoom's `file_size`.
    #[error("size mismatch: Zoom announced {expected} bytes, received {actual}")]
    SizeMismatch {
        /// Announced size.
        expected: u64,
        /// Received size.
        actual: u64,
    },
}

impl BodyRejected {
    /// Finds a rejection inside an I/O error produced by a [`VerifiedBody`].
    pub fn from_io(e: &io::Error) -> Option<&BodyRejected> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<BodyRejected>())
    }

    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// Size and SHA-256 of a fully read body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodySummary {
    /// Bytes read.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// What a download body must satisfy.
#[derive(Clone, Copy, Debug)]
pub struct BodyExpectations {
    /// Expected content.
    pub kind: ContentKind,
    /// Exact size, when Zoom announced one.
    pub size: Option<u64>,
}

const SNIFF_LEN: usize = 64;

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const SHA256_H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

use sha2_blocks::block_api::compress256;

/// The intermediate state of a SHA-256 computation, serializable so that a hash can be
/// continued in another process (a multipart upload resumed in the next invocation).
///
/// `h` is the chaining value after the whole 64-byte blocks hashed so far, `len` the
/// number of bytes hashed, `buf` the bytes of the incomplete last block
/// (`buf.len() == len % 64`). Serialized with `buf` as a hex string.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashState {
    /// Chaining value.
    pub h: [u32; 8],
    /// Bytes hashed so far.
    pub len: u64,
    /// The bytes of the incomplete block (fewer than 64).
    #[serde(with = "hex_bytes")]
    pub buf: Vec<u8>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

impl Default for HashState {
    /// The state before any byte was hashed.
    fn default() -> Self {
        Self {
            h: SHA256_H0,
            len: 0,
            buf: Vec::new(),
        }
    }
}

impl HashState {
    /// Checks the state's internal consistency (`buf` holds exactly `len % 64` bytes).
    pub fn check(&self) -> Result<(), String> {
        if self.buf.len() >= 64 || self.buf.len() as u64 != self.len % 64 {
            return Err(format!(
                "invalid SHA-256 state: {} buffered bytes for a length of {}",
                self.buf.len(),
                self.len
            ));
        }
        Ok(())
    }
}

/// A streaming SHA-256 whose state can be saved ([`ResumableSha256::state`]) and
/// continued later ([`ResumableSha256::from_state`]).
///
/// Built on the SHA-256 compression function of the `sha2` crate (0.11's `compress256`,
/// which takes `[[u8; 64]]` blocks, so whole blocks go in bulk and in place; SHA-NI /
/// AVX2 when the CPU has them): it runs at the speed of `sha2::Sha256`, with the same
/// digest.
#[derive(Clone)]
pub struct ResumableSha256 {
    h: [u32; 8],
    len: u64,
    buf: [u8; 64],
    buf_len: usize,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ResumableSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableSha256")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl ResumableSha256 {
    /// A hasher before any byte.
    pub fn new() -> Self {
        Self {
            h: SHA256_H0,
            len: 0,
            buf: [0; 64],
            buf_len: 0,
        }
    }

    /// Continues from a saved state; refuses an inconsistent one (see [`HashState::check`]).
    pub fn from_state(state: HashState) -> Result<Self, String> {
        state.check()?;
        let mut buf = [0u8; 64];
        buf[..state.buf.len()].copy_from_slice(&state.buf);
        Ok(Self {
            h: state.h,
            len: state.len,
            buf,
            buf_len: state.buf.len(),
        })
    }

    /// The current state, to continue with [`ResumableSha256::from_state`].
    pub fn state(&self) -> HashState {
        HashState {
            h: self.h,
            len: self.len,
            buf: self.buf[..self.buf_len].to_vec(),
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before any byte was hashed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hashes `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            compress256(&mut self.h, std::slice::from_ref(&self.buf));
            self.buf_len = 0;
        }
        let whole = data.len() - data.len() % 64;
        compress_bulk(&mut self.h, &data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The digest of everything hashed.
    pub fn finalize(mut self) -> [u8; 32] {
        let bit_len = self.len.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        tail[self.buf_len] = 0x80;
        let total = if self.buf_len < 56 { 64 } else { 128 };
        tail[total - 8..total].copy_from_slice(&bit_len.to_be_bytes());
        compress_bulk(&mut self.h, &tail[..total]);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// Compresses `data` (a multiple of 64 bytes) into `h`: all its blocks in one call, in
/// place (`as_chunks` views the bytes as blocks without a copy).
fn compress_bulk(h: &mut [u32; 8], data: &[u8]) {
    let (blocks, rest) = data.as_chunks::<64>();
    debug_assert!(rest.is_empty());
    if !blocks.is_empty() {
        compress256(h, blocks);
    }
}

/// A download body checked and hashed on the way through.
///
/// It passes chunks on unchanged (no copy), computes SHA-256 and the length, refuses an
/// HTML or JSON body where media is expected, and at the end refuses a body whose length
/// differs from the announced one. A refusal is yielded as an error item, so an object
/// store that streams it aborts and commits nothing. After the stream ended successfully,
/// [`VerifiedBody::summary`] gives the size and digest, which the store records.
///
/// A body can be resumed ([`VerifiedBody::resume`]): it then stands for the bytes from
/// `offset` on, with the hash and the size continuing from the saved state, so that the
/// summary still covers the whole file. [`VerifiedBody::next_chunk`] hands out at most a
/// given number of bytes, so a consumer can stop exactly at a part boundary, where
/// [`VerifiedBody::hash_state`] and [`VerifiedBody::consumed`] describe exactly the bytes
/// passed on.
pub struct VerifiedBody {
    inner: ByteStream,
    expect: BodyExpectations,
    hasher: ResumableSha256,
    size: u64,
    /// Received from `inner` but not passed on yet (neither hashed nor counted).
    pending: Bytes,
    /// An error of `inner` received while looking ahead ([`VerifiedBody::at_end`]).
    pending_err: Option<io::Error>,
    inner_done: bool,
    /// A resume state that does not fit: yielded as the first item.
    invalid: Option<String>,
    prefix: Vec<u8>,
    sniffed: bool,
    summary: Option<BodySummary>,
    failed: bool,
}

impl VerifiedBody {
    /// Wraps `inner`.
    pub fn new(inner: ByteStream, expect: BodyExpectations) -> Self {
        Self {
            inner,
            expect,
            hasher: ResumableSha256::new(),
            size: 0,
            pending: Bytes::new(),
            pending_err: None,
            inner_done: false,
            invalid: None,
            prefix: Vec::with_capacity(SNIFF_LEN),
            sniffed: false,
            summary: None,
            failed: false,
        }
    }

    /// Wraps `inner`, which holds the bytes from `offset` on of a body whose first
    /// `offset` bytes were hashed into `state` earlier.
    ///
    /// The size counts from `offset` (the expectations apply to the whole body) and the
    /// summary is the whole body's. The HTML/JSON check applies only when `offset` is 0
    /// (it looks at the first bytes of the body). A `state` that does not describe exactly
    /// `offset` bytes makes the body yield an `InvalidData` error first.
    pub fn resume(
        inner: ByteStream,
        expect: BodyExpectations,
        offset: u64,
        state: HashState,
    ) -> Self {
        let mut body = Self::new(inner, expect);
        if state.len != offset {
            body.invalid = Some(format!(
                "the saved SHA-256 state covers {} bytes, not the resume offset {offset}",
                state.len
            ));
            return body;
        }
        match ResumableSha256::from_state(state) {
            Ok(h) => body.hasher = h,
            Err(e) => body.invalid = Some(e),
        }
        body.size = offset;
        body.sniffed = offset > 0;
        body
    }

    /// Size and SHA-256, once the stream has ended successfully.
    pub fn summary(&self) -> Option<&BodySummary> {
        self.summary.as_ref()
    }

    /// The SHA-256 state after the bytes passed on so far (including a resume offset).
    pub fn hash_state(&self) -> HashState {
        self.hasher.state()
    }

    /// Bytes passed on so far, counted from the start of the whole body (a resumed body
    /// starts at its offset).
    pub fn consumed(&self) -> u64 {
        self.size
    }

    /// The expectations the body is checked against.
    pub fn expectations(&self) -> BodyExpectations {
        self.expect
    }

    /// The next chunk of at most `max` bytes (`max` 0 counts as 1), or the end.
    ///
    /// Bytes of a longer chunk that are not handed out stay inside, unhashed and
    /// uncounted (no copy), so that [`VerifiedBody::hash_state`] and
    /// [`VerifiedBody::consumed`] describe exactly what was returned.
    pub async fn next_chunk(&mut self, max: usize) -> Option<Result<Bytes, io::Error>> {
        let max = max.max(1);
        std::future::poll_fn(|cx| self.poll_chunk(cx, max)).await
    }

    /// Whether the inner stream has ended with nothing left to pass on: looks ahead one
    /// chunk of the inner stream (kept inside, unhashed) when nothing is held.
    ///
    /// After `true`, the next [`VerifiedBody::next_chunk`] ends the body (or yields the
    /// error of the final checks). An error of the inner stream gives `false` and is
    /// yielded by the next `next_chunk`.
    pub async fn at_end(&mut self) -> bool {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if self.failed || self.summary.is_some() {
                return Poll::Ready(true);
            }
            if !self.pending.is_empty() || self.pending_err.is_some() || self.invalid.is_some() {
                return Poll::Ready(false);
            }
            if self.inner_done {
                return Poll::Ready(true);
            }
            match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => self.pending = chunk,
                Poll::Ready(Some(Err(e))) => {
                    self.pending_err = Some(e);
                    return Poll::Ready(false);
                }
                Poll::Ready(None) => self.inner_done = true,
            }
        }
    }

    fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<Option<Result<Bytes, io::Error>>> {
        if self.failed || self.summary.is_some() {
            return Poll::Ready(None);
        }
        if let Some(msg) = self.invalid.take() {
            self.failed = true;
            return Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::InvalidData, msg))));
        }
        loop {
            if !self.pending.is_empty() {
                let chunk = if self.pending.len() <= max {
                    std::mem::take(&mut self.pending)
                } else {
                    self.pending.split_to(max)
                };
                return Poll::Ready(Some(self.accept(chunk)));
            }
            if let Some(e) = self.pending_err.take() {
                self.failed = true;
                return Poll::Ready(Some(Err(e)));
            }
            if self.inner_done {
                return match self.finish() {
                    Ok(()) => Poll::Ready(None),
                    Err(r) => {
                        self.failed = true;
                        Poll::Ready(Some(Err(r.into_io())))
                    }
                };
            }
            match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => self.pending = chunk,
                Poll::Ready(Some(Err(e))) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => self.inner_done = true,
            }
        }
    }

    /// Hashes, counts and checks a chunk being passed on.
    fn accept(&mut self, chunk: Bytes) -> Result<Bytes, io::Error> {
        self.hasher.update(&chunk);
        self.size += chunk.len() as u64;
        if let Some(expected) = self.expect.size
            && self.size > expected
        {
            self.failed = true;
            return Err(BodyRejected::SizeMismatch {
                expected,
                actual: self.size,
            }
            .into_io());
        }
        if !self.sniffed {
            let take = (SNIFF_LEN - self.prefix.len()).min(chunk.len());
            self.prefix.extend_from_slice(&chunk[..take]);
            if self.prefix.len() >= SNIFF_LEN {
                self.sniffed = true;
                if let Some(r) = self.sniff() {
                    self.failed = true;
                    return Err(r.into_io());
                }
            }
        }
        Ok(chunk)
    }

    fn sniff(&self) -> Option<BodyRejected> {
        if !self.expect.kind.is_media() {
            return None;
        }
        let p = &self.prefix;
        let start = p
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
        let start = start?;
        let head = &p[start..];
        let lower: Vec<u8> = head
            .iter()
            .take(16)
            .map(|b| b.to_ascii_lowercase())
            .collect();
        if lower.starts_with(b"<!doctype")
            || lower.starts_with(b"<html")
            || lower.starts_with(b"<?xml")
            || lower.starts_with(b"<head")
            || lower.starts_with(b"<body")
        {
            return Some(BodyRejected::Html {
                expected: self.expect.kind,
            });
        }
        if (head[0] == b'{' || head[0] == b'[')
            && head
                .get(1)
                .is_some_and(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        {
            let snippet = String::from_utf8_lossy(&head[..head.len().min(48)]).into_owned();
            return Some(BodyRejected::Json {
                expected: self.expect.kind,
                snippet,
            });
        }
        None
    }

    fn finish(&mut self) -> Result<(), BodyRejected> {
        if !self.sniffed {
            self.sniffed = true;
            if let Some(r) = self.sniff() {
                return Err(r);
            }
        }
        if self.size == 0 {
            return Err(BodyRejected::Empty);
        }
        if let Some(expected) = self.expect.size
            && expected != self.size
        {
            return Err(BodyRejected::SizeMismatch {
                expected,
                actual: self.size,
            });
        }
        let digest = self.hasher.clone().finalize();
        self.summary = Some(BodySummary {
            size: self.size,
            sha256: hex::encode(digest),
        });
        Ok(())
    }
}

impl Stream for VerifiedBody {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx, usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use sha2::{Digest, Sha256};

    fn body(chunks: Vec<&'static [u8]>, kind: ContentKind, size: Option<u64>) -> VerifiedBody {
        let s =
            futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed();
        VerifiedBody::new(s, BodyExpectations { kind, size })
    }

    async fn drain(mut b: VerifiedBody) -> (Result<u64, io::Error>, Option<BodySummary>) {
        let mut n = 0;
        while let Some(item) = b.next().await {
            match item {
                Ok(c) => n += c.len() as u64,
                Err(e) => return (Err(e), b.summary().cloned()),
            }
        }
        (Ok(n), b.summary().cloned())
    }

    #[tokio::test]
    async fn hashes_and_counts_media() {
        let (r, s) = drain(body(
            vec![b"ID3\x03", b"\xff\xfb\x94\xc0abc"],
            ContentKind::Mp3,
            Some(11),
        ))
        .await;
        assert_eq!(r.unwrap(), 11);
        let s = s.unwrap();
        assert_eq!(s.size, 11);
        assert_eq!(
            s.sha256,
            hex::encode(Sha256::digest(b"ID3\x03\xff\xfb\x94\xc0abc"))
        );
    }

    #[tokio::test]
    async fn refuses_html_and_json_where_media_is_expected() {
        let (r, s) = drain(body(
            vec![b"  <!DOCTYPE html><html>login</html>"],
            ContentKind::M4a,
            None,
        ))
        .await;
        let e = r.unwrap_err();
        assert!(
            matches!(BodyRejected::from_io(&e), Some(BodyRejected::Html { .. })),
            "{e}"
        );
        assert!(s.is_none());
        let (r, _) = drain(body(
            vec![br#"{"code":124,"message":"Invalid access token."}"#],
            ContentKind::Mp3,
            None,
        ))
        .await;
        assert!(matches!(
            BodyRejected::from_io(&r.unwrap_err()),
            Some(BodyRejected::Json { .. })
        ));
        // A transcript is JSON by nature.
        let (r, _) = drain(body(
            vec![br#"{"type":"zoom_transcript"}"#],
            ContentKind::Document,
            None,
        ))
        .await;
        assert!(r.is_ok());
    }

    #[tokio::test]
    async fn refuses_wrong_sizes_and_empty_bodies() {
        let (r, _) = drain(body(vec![b"ftypM4A ", b"12"], ContentKind::M4a, Some(20))).await;
        assert_eq!(
            BodyRejected::from_io(&r.unwrap_err()),
            Some(&BodyRejected::SizeMismatch {
                expected: 20,
                actual: 10
            })
        );
        let (r, _) = drain(body(vec![b"ftypM4A ", b"1234"], ContentKind::M4a, Some(9))).await;
        assert!(matches!(
            BodyRejected::from_io(&r.unwrap_err()),
            Some(BodyRejected::SizeMismatch { .. })
        ));
        let (r, _) = drain(body(vec![], ContentKind::Mp4, None)).await;
        assert_eq!(
            BodyRejected::from_io(&r.unwrap_err()),
            Some(&BodyRejected::Empty)
        );
    }

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn resumable_sha256_matches_sha2_on_edge_lengths() {
        for len in [
            0usize, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 4095, 4096, 70_000,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let mut h = ResumableSha256::new();
            h.update(&data);
            assert_eq!(h.len(), len as u64);
            assert_eq!(h.finalize(), sha(&data), "length {len}");
        }
    }

    proptest::proptest! {
        #[test]
        fn resumable_sha256_survives_saving_at_any_split(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..20_000),
            cuts in proptest::collection::vec(0usize..20_000, 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut h = ResumableSha256::new();
            let mut at = 0;
            for c in cuts {
                h.update(&data[at..c]);
                at = c;
                // Save, serialize, restore: as between two invocations.
                let json = serde_json::to_string(&h.state()).unwrap();
                let st: HashState = serde_json::from_str(&json).unwrap();
                proptest::prop_assert_eq!(st.len, c as u64);
                h = ResumableSha256::from_state(st).unwrap();
            }
            h.update(&data[at..]);
            proptest::prop_assert_eq!(h.finalize(), sha(&data));
        }
    }

    #[test]
    fn inconsistent_hash_states_are_refused() {
        let mut st = HashState {
            len: 3,
            ..HashState::default()
        };
        assert!(ResumableSha256::from_state(st.clone()).is_err());
        st.buf = vec![1, 2, 3];
        assert!(ResumableSha256::from_state(st).is_ok());
        let json = serde_json::to_value(HashState {
            h: [1; 8],
            len: 66,
            buf: vec![0xab, 0x01],
        })
        .unwrap();
        assert_eq!(json["buf"], "ab01");
    }

    fn chunked(data: &[u8], sizes: &[usize]) -> ByteStream {
        let mut out = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < data.len() {
            let n = sizes[i % sizes.len()].min(data.len() - at);
            out.push(Ok(Bytes::copy_from_slice(&data[at..at + n])));
            at += n;
            i += 1;
        }
        futures::stream::iter(out).boxed()
    }

    #[tokio::test]
    async fn next_chunk_stops_exactly_and_a_resumed_body_gives_the_whole_summary() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let expect = BodyExpectations {
            kind: ContentKind::M4a,
            size: Some(data.len() as u64),
        };
        let mut b = VerifiedBody::new(chunked(&data, &[7000, 13, 30_001]), expect);
        // Take exactly 40_000 bytes in pieces of at most 4096.
        let mut got = Vec::new();
        while got.len() < 40_000 {
            let c = b
                .next_chunk(4096.min(40_000 - got.len()))
                .await
                .unwrap()
                .unwrap();
            assert!(c.len() <= 4096 && !c.is_empty());
            got.extend_from_slice(&c);
        }
        assert_eq!(got, data[..40_000]);
        assert_eq!(b.consumed(), 40_000);
        let st = b.hash_state();
        assert_eq!(st.len, 40_000);
        assert!(!b.at_end().await);
        assert_eq!(b.consumed(), 40_000, "looking ahead consumes nothing");
        assert_eq!(b.hash_state(), st);
        drop(b);
        // Next invocation: the rest, from the offset.
        let rest = chunked(&data[40_000..], &[999]);
        let mut r = VerifiedBody::resume(rest, expect, 40_000, st);
        let mut tail = Vec::new();
        while let Some(c) = r.next_chunk(usize::MAX).await {
            tail.extend_from_slice(&c.unwrap());
        }
        assert_eq!(tail, data[40_000..]);
        let s = r.summary().unwrap();
        assert_eq!(s.size, data.len() as u64);
        assert_eq!(s.sha256, hex::encode(sha(&data)));
    }

    #[tokio::test]
    async fn a_resumed_body_checks_the_whole_size_and_skips_the_sniff() {
        let head = b"ftypM4A 0123456789".to_vec();
        let mut h = ResumableSha256::new();
        h.update(&head);
        let expect = BodyExpectations {
            kind: ContentKind::M4a,
            size: Some(head.len() as u64 + 30),
        };
        // The rest starts like JSON: no sniffing in the middle of a file.
        let rest: Vec<u8> = br#"{"a":1}"#.iter().copied().cycle().take(30).collect();
        let mut r =
            VerifiedBody::resume(chunked(&rest, &[5]), expect, head.len() as u64, h.state());
        while let Some(c) = r.next_chunk(8).await {
            c.unwrap();
        }
        let mut all = head.clone();
        all.extend_from_slice(&rest);
        assert_eq!(r.summary().unwrap().sha256, hex::encode(sha(&all)));
        // One byte short of the whole size.
        let (r, _) = drain(VerifiedBody::resume(
            chunked(&rest[1..], &[5]),
            expect,
            head.len() as u64,
            h.state(),
        ))
        .await;
        assert!(matches!(
            BodyRejected::from_io(&r.unwrap_err()),
            Some(BodyRejected::SizeMismatch { actual, .. }) if *actual == 47
        ));
        // A state that does not cover the offset is refused.
        let (r, _) = drain(VerifiedBody::resume(
            chunked(&rest, &[5]),
            expect,
            head.len() as u64 + 1,
            h.state(),
        ))
        .await;
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn at_end_sees_the_end_and_keeps_errors_for_the_next_chunk() {
        let mut b = body(vec![b"abc"], ContentKind::Document, Some(3));
        assert!(!b.at_end().await);
        assert_eq!(&b.next_chunk(10).await.unwrap().unwrap()[..], b"abc");
        assert!(b.at_end().await);
        assert!(b.next_chunk(10).await.is_none());
        assert_eq!(b.summary().unwrap().size, 3);
        let s = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
        ])
        .boxed();
        let mut b = VerifiedBody::new(
            s,
            BodyExpectations {
                kind: ContentKind::Document,
                size: None,
            },
        );
        b.next_chunk(3).await.unwrap().unwrap();
        assert!(!b.at_end().await);
        assert_eq!(
            b.next_chunk(3).await.unwrap().unwrap_err().kind(),
            io::ErrorKind::ConnectionReset
        );
        assert!(b.next_chunk(3).await.is_none());
    }

    /// Throughput against `sha2::Sha256`; run with
    /// `cargo test -p archiver-core --profile bench-fast --lib -- --ignored --nocapture sha256_speed`.
    #[test]
    #[ignore = "measurement; run in an optimised build"]
    fn resumable_sha256_speed() {
        let data: Vec<u8> = (0..64 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let chunk = 16 * 1024 + 7; // uneven, like network chunks
        for round in 0..5 {
            let t = std::time::Instant::now();
            let mut a = Sha256::new();
            for c in data.chunks(chunk) {
                a.update(c);
            }
            let da: [u8; 32] = a.finalize().into();
            let ta = t.elapsed();
            let t = std::time::Instant::now();
            let mut b = ResumableSha256::new();
            for c in data.chunks(chunk) {
                b.update(c);
            }
            let db = b.finalize();
            let tb = t.elapsed();
            assert_eq!(da, db);
            let mib = data.len() as f64 / 1048576.0;
            println!(
                "round {round}: sha2::Sha256 {:.0} MiB/s, ResumableSha256 {:.0} MiB/s",
                mib / ta.as_secs_f64(),
                mib / tb.as_secs_f64()
            );
        }
    }
}
