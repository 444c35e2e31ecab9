use crate::domain::ContentKind;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
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

/// A download body checked and hashed on the way through.
///
/// It passes chunks on unchanged (no copy), computes SHA-256 and the length, refuses an
/// HTML or JSON body where media is expected, and at the end refuses a body whose length
/// differs from the announced one. A refusal is yielded as an error item, so an object
/// store that streams it aborts and commits nothing. After the stream ended successfully,
/// [`VerifiedBody::summary`] gives the size and digest, which the store records.
pub struct VerifiedBody {
    inner: ByteStream,
    expect: BodyExpectations,
    hasher: Sha256,
    size: u64,
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
            hasher: Sha256::new(),
            size: 0,
            prefix: Vec::with_capacity(SNIFF_LEN),
            sniffed: false,
            summary: None,
            failed: false,
        }
    }

    /// Size and SHA-256, once the stream has ended successfully.
    pub fn summary(&self) -> Option<&BodySummary> {
        self.summary.as_ref()
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
        let digest = std::mem::take(&mut self.hasher).finalize();
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
        let this = self.get_mut();
        if this.failed || this.summary.is_some() {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                this.hasher.update(&chunk);
                this.size += chunk.len() as u64;
                if let Some(expected) = this.expect.size
                    && this.size > expected
                {
                    this.failed = true;
                    return Poll::Ready(Some(Err(BodyRejected::SizeMismatch {
                        expected,
                        actual: this.size,
                    }
                    .into_io())));
                }
                if !this.sniffed {
                    let take = (SNIFF_LEN - this.prefix.len()).min(chunk.len());
                    this.prefix.extend_from_slice(&chunk[..take]);
                    if this.prefix.len() >= SNIFF_LEN {
                        this.sniffed = true;
                        if let Some(r) = this.sniff() {
                            this.failed = true;
                            return Poll::Ready(Some(Err(r.into_io())));
                        }
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.failed = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => match this.finish() {
                Ok(()) => Poll::Ready(None),
                Err(r) => {
                    this.failed = true;
                    Poll::Ready(Some(Err(r.into_io())))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

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
}
