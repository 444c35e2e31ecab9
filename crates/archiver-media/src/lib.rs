//! # archiver-media: streaming analysis of archived audio and video
//!
//! The adapter of the core's [`MediaAnalyser`](archiver_core::ports::MediaAnalyser) port
//! ([`BlobAnalyser`]): it decodes MP3 (Zoom Phone recordings) and AAC in MP4/M4A (Zoom
//! meeting archives) read back from the object store, with pure-Rust
//! [symphonia](https://docs.rs/symphonia) decoders, and measures what a compliance reviewer
//! needs to know about a recording. It depends on the core's ports only (no AWS, no HTTP);
//! the decoding itself ([`analyse`]) works on any `Read + Seek` and needs neither the core
//! nor a runtime:
//!
//! * codec, sample rate, channel count and the **decoded** duration (sample frames actually
//!   produced by the decoder divided by the sample rate — not the container's claim);
//! * level ([`MediaReport::rms_dbfs`]), clipping, silence ([`MediaReport::silence_ratio`],
//!   [`MediaReport::longest_silence_secs`]) and a 1–5 [`MediaReport::voice_quality`] score;
//! * a voice-activity vector ([`MediaReport::activity`], one flag per
//!   [`WINDOW_SECS`] window) from which `archiver_core::talkover_ratio` measures how often two parties
//!   speak at once;
//! * for MP4 files, the codec of the video track if there is one
//!   ([`MediaReport::video_codec`], e.g. `"h264"`);
//! * waveform peaks ([`MediaReport::peaks`]): the minimum and maximum of the mono signal
//!   per [`PEAK_WINDOW_MS`] (20 ms) window, quantised to `i8` (±127 = full scale), in the
//!   same decode pass (no second decode). Their type and binary format live in the core
//!   ([`Peaks`], `archiver_core::domain::peaks`): the review UI draws them.
//!
//! ## Streaming
//!
//! Decoding is packet by packet through a 64 KiB read buffer; each decoded packet is folded
//! into running sums and dropped, so memory is bounded by the codec state plus the activity
//! vector (10 bytes per second of audio) and the peaks (100 bytes per second: 360 KB for an
//! hour, 180,000 windows). MP4 box headers are inspected by seeking, never by loading the
//! file.
//!
//! ## Reading back from the store
//!
//! [`BlobAnalyser`] runs [`analyse`] on a blocking thread (`spawn_blocking`) over a
//! `Read + Seek` bridge to [`BlobStore::get_from`](archiver_core::ports::BlobStore::get_from):
//! the bridge keeps one open stream, its current chunk and the position, and drives the
//! stream with the runtime's `Handle::block_on`. A read is served from the current chunk
//! (also after a seek back inside it); a seek to at most [`SEEK_SKIP_LIMIT`] (256 KiB) past
//! the chunk reads on and discards; any other seek opens a new stream at the target.
//! `SeekFrom::End` uses the size recorded for the object, and reads stop there. Memory is
//! therefore bounded by one chunk of the store's stream (64 KiB in memory, 1 MiB from
//! files, the HTTP body's chunks on S3) on top of the decoder's own bounds (above). Analysing
//! an MP3 opens two streams (the decode from the start, and the frame-header walk from the
//! start again; the trailer check at the end is served from the last chunk); an M4A with
//! `moov` first, one. An MP4 with `mdat` before `moov` opens a few more: seeking over the
//! media data to the index and back.
//!
//! The facts ([`MediaFacts`](archiver_core::domain::MediaFacts)) carry the report's
//! figures; the voice activity is kept (encoded) for M4A files only, the individual
//! meeting audio that talk-over is computed from. The peaks are not facts (the metadata
//! record stays small): `analyse_with_peaks` returns them beside the facts, and the
//! downloader stores them as a sidecar object beside the recording
//! (`archiver_core::services::peaks`); the review UI computes them the same way, on
//! demand, for recordings archived before. A failure never escapes: its message
//! goes into `MediaFacts::error`, starting with `not media:`, `truncated:`,
//! `unsupported codec:` or `could not read the stored object:` (a store error, such as a
//! missing object); a panic of the decoder is reported there too. `Document` objects are
//! not read (empty facts).
//!
//! ## Silence and activity
//!
//! The decoded signal (channels averaged to mono) is cut into consecutive
//! [`WINDOW_SECS`] (100 ms) windows (and, for the peaks, independently into 20 ms ones:
//! `round(rate × 0.02)` frames, the last one possibly partial, so a file of `d` seconds
//! has `⌈d / 0.02⌉` peak windows). A window is **silent** when its RMS is below
//! [`SILENCE_THRESHOLD_DBFS`] (−50 dBFS); otherwise it is **active** (voice activity).
//! `silence_ratio` is silent time / total time; `longest_silence_secs` is the longest run of
//! consecutive silent windows. The last window may be partial and counts for its real length.
//!
//! ## Voice quality
//!
//! `voice_quality = 1 + 4 × L × C × S`, clamped to 1.0–5.0, where
//!
//! * **L (level)** uses the RMS of the *active* windows only (speech level, `speech_dbfs`):
//!   `L = clamp((speech_dbfs + 50) / 20, 0, 1) × clamp(−speech_dbfs / 6, 0, 1)`, i.e. 1.0
//!   between −30 and −6 dBFS, falling linearly to 0 at −50 dBFS (inaudible) and at 0 dBFS
//!   (saturated). A recording with no active window has `L = 0` (score 1.0);
//! * **C (clipping)** `= 1 − min(1, clipping_ratio / 0.01)`: 1 % clipped samples scores 0;
//! * **S (silence)** `= 1 − max(0, silence_ratio − 0.5)`: listening half of the time is
//!   normal; an all-silent recording halves the score.
//!
//! A sample is **clipped** when `|x| ≥` [`CLIP_LEVEL`] (0.999 of full scale, on any channel).
//!
//! ## Errors and truncation
//!
//! A body that is not media (HTML login page, JSON error, random bytes, empty) gives
//! [`MediaError::NotMedia`]. A file that ends early — an MP4 box extending past the end of
//! the file, an MP4 without its `moov` index, a stream ending in the middle of a frame, or
//! fewer decoded frames than the container declares — gives [`MediaError::Truncated`]: an
//! archiver must treat a truncated download as failed and fetch it again, so no partial
//! report is returned. A decodable file whose codec is not MP3 or AAC gives
//! [`MediaError::Unsupported`]. Corrupt packets in the middle of an otherwise complete stream
//! are skipped and counted in [`MediaReport::decode_errors`]; if more than half of the
//! packets fail, the body is reported as [`MediaError::NotMedia`].
//!
//! Limits: an MP3 without a Xing/LAME header that was cut exactly on a frame boundary is
//! indistinguishable from a complete file. AAC priming/padding is not trimmed (symphonia's
//! MP4 reader ignores edit lists), so AAC durations read up to ~2 frames (≈ 40–60 ms) long.

mod blob;

pub use blob::{BlobAnalyser, SEEK_SKIP_LIMIT};

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_MP3};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

pub use archiver_core::domain::{PEAK_WINDOW_MS, Peaks};

/// Length of one analysis window (silence detection and voice activity), in seconds.
pub const WINDOW_SECS: f64 = archiver_core::ACTIVITY_WINDOW_MS as f64 / 1000.0;
/// Log filter directives that silence the decoders' own chatter (junk skipped, corrupt
/// frames): what matters reaches the report (`decode_errors`, the error). Append to an
/// `EnvFilter`.
pub const QUIET_DECODERS: &str = "symphonia=error,symphonia_core=error,symphonia_bundle_mp3=error,symphonia_format_isomp4=error,symphonia_codec_aac=error,symphonia_metadata=error";
/// A window whose RMS is below this level (dBFS) is silent.
pub const SILENCE_THRESHOLD_DBFS: f64 = -50.0;
/// A sample at or above this absolute value (full scale = 1.0) is clipped.
pub const CLIP_LEVEL: f32 = 0.999;
/// Level reported for digital silence (an RMS of exactly 0), in dBFS.
pub const SILENCE_FLOOR_DBFS: f64 = -120.0;

/// Measured properties of one media file. See the crate documentation for definitions.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaReport {
    /// Audio codec: `"mp3"` or `"aac"`.
    pub codec: String,
    /// Sample rate of the decoded audio, in Hz.
    pub sample_rate: u32,
    /// Number of audio channels.
    pub channels: u16,
    /// Decoded duration: decoded sample frames / sample rate.
    pub duration_secs: f64,
    /// Fraction (0–1) of the duration spent in silent windows.
    pub silence_ratio: f64,
    /// Longest run of consecutive silent windows, in seconds.
    pub longest_silence_secs: f64,
    /// Score from 1.0 (unusable) to 5.0 (clean), from level, clipping and silence.
    pub voice_quality: f64,
    /// Fraction (0–1) of decoded samples (all channels) that are clipped.
    pub clipping_ratio: f64,
    /// RMS level of the whole recording (all samples, silence included), in dBFS.
    pub rms_dbfs: f64,
    /// Codec of the video track of an MP4 (`"h264"`, `"hevc"`, `"av1"`, ...), if any.
    pub video_codec: Option<String>,
    /// Voice activity: one flag per [`WINDOW_SECS`] window, `true` when not silent.
    pub activity: Vec<bool>,
    /// Corrupt packets skipped while decoding (0 for a clean file).
    pub decode_errors: u64,
    /// Waveform peaks: min/max of the mono signal per [`PEAK_WINDOW_MS`] window.
    pub peaks: Peaks,
}

/// Why a body could not be analysed. Every message names what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaError {
    /// The body is not an audio/video file (HTML, JSON, text, random bytes, empty).
    NotMedia(String),
    /// The file ends early (cut mid-box or mid-frame, missing index, fewer frames than declared).
    Truncated(String),
    /// A media file, but of a codec or layout this crate does not decode.
    Unsupported(String),
    /// Reading the source failed.
    Io(String),
}

impl std::fmt::Display for MediaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaError::NotMedia(m) => write!(f, "not a media file: {m}"),
            MediaError::Truncated(m) => write!(f, "truncated media file: {m}"),
            MediaError::Unsupported(m) => write!(f, "unsupported media: {m}"),
            MediaError::Io(m) => write!(f, "I/O error reading media: {m}"),
        }
    }
}

impl std::error::Error for MediaError {}

/// Voice activity of a file (one flag per [`WINDOW_SECS`] window): [`analyse`]'s
/// [`MediaReport::activity`].
pub fn voice_activity(
    reader: impl Read + Seek + Send + Sync + 'static,
    hint_ext: &str,
) -> Result<Vec<bool>, MediaError> {
    analyse(reader, hint_ext).map(|r| r.activity)
}

/// [`analyse`] on a file, with the hint taken from its extension.
pub fn analyse_path(path: impl AsRef<Path>) -> Result<MediaReport, MediaError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| MediaError::Io(format!("{}: {e}", path.display())))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    analyse(file, &ext)
}

/// Decodes a whole MP3 / M4A / MP4 stream packet by packet and measures it.
///
/// `hint_ext` is the file extension if known (`"mp3"`, `"m4a"`, `"mp4"`; case-insensitive,
/// may be empty): it only orders the format probes, the bytes decide.
pub fn analyse(
    reader: impl Read + Seek + Send + Sync + 'static,
    hint_ext: &str,
) -> Result<MediaReport, MediaError> {
    let mut src = Source::new(reader)?;
    let mp4 = sniff(&mut src)?;
    src.seek(SeekFrom::Start(0)).map_err(io_err)?;
    decode(src, hint_ext, mp4)
}

/// The decoder alone, as a reference for [`analyse`]'s cost: probes and decodes every packet
/// of the default audio track with symphonia and returns the number of sample frames, with no
/// measurement, sample conversion or checks. Benchmarks time it beside [`analyse`] on the same
/// bytes; the difference is what the measurements cost.
pub fn decode_only(
    reader: impl Read + Seek + Send + Sync + 'static,
    hint_ext: &str,
) -> Result<u64, MediaError> {
    let mut format = open_format(Source::new(reader)?, hint_ext)
        .map_err(|e| MediaError::NotMedia(e.to_string()))?;
    let track = format
        .default_track(TrackType::Audio)
        .cloned()
        .ok_or_else(|| MediaError::Unsupported("no audio track".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| MediaError::Unsupported("no audio parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| MediaError::Unsupported(e.to_string()))?;
    let mut frames = 0u64;
    loop {
        match format.next_packet() {
            Ok(Some(p)) if p.track_id == track.id => {
                if let Ok(buf) = decoder.decode(&p) {
                    frames += buf.frames() as u64;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if is_eof(&e) => break,
            Err(e) => return Err(MediaError::NotMedia(e.to_string())),
        }
    }
    Ok(frames)
}

// ---------------------------------------------------------------------------------------------
// Source adapter
// ---------------------------------------------------------------------------------------------

/// A seekable reader with a known length, as symphonia wants it.
struct Source<R> {
    inner: R,
    len: u64,
}

impl<R: Read + Seek> Source<R> {
    fn new(mut inner: R) -> Result<Self, MediaError> {
        let len = inner.seek(SeekFrom::End(0)).map_err(io_err)?;
        inner.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok(Source { inner, len })
    }

    /// Reads up to `buf.len()` bytes at `pos`; returns how many were read.
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, MediaError> {
        self.inner.seek(SeekFrom::Start(pos)).map_err(io_err)?;
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(n)
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Source<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for Source<R> {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

fn io_err(e: std::io::Error) -> MediaError {
    MediaError::Io(e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Sniffing: non-media bodies and MP4 box structure
// ---------------------------------------------------------------------------------------------

/// What the MP4 box walk found.
#[derive(Debug, Default)]
struct Mp4Info {
    video_codec: Option<String>,
}

/// Printable excerpt of the first bytes, for error messages.
fn excerpt(head: &[u8]) -> String {
    let s: String = head
        .iter()
        .take(40)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{s:?}")
}

/// Rejects obvious non-media bodies and validates the MP4 box structure.
/// Returns the MP4 findings when the file is an ISO BMFF (`ftyp`) file.
fn sniff<R: Read + Seek>(src: &mut Source<R>) -> Result<Option<Mp4Info>, MediaError> {
    if src.len == 0 {
        return Err(MediaError::NotMedia("empty body (0 bytes)".into()));
    }
    let mut head = [0u8; 64];
    let n = src.read_at(0, &mut head)?;
    let head = &head[..n];
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    if let Some(&c) = text.first() {
        let lower: Vec<u8> = text.iter().take(16).map(u8::to_ascii_lowercase).collect();
        if c == b'<' {
            let what = if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
                "an HTML document"
            } else {
                "an HTML/XML document"
            };
            return Err(MediaError::NotMedia(format!(
                "body is {what} (starts with {})",
                excerpt(text)
            )));
        }
        if c == b'{' || (c == b'[' && text.get(1).is_some_and(|b| b"{[\"0123456789]".contains(b))) {
            return Err(MediaError::NotMedia(format!(
                "body is a JSON document (starts with {})",
                excerpt(text)
            )));
        }
    }
    for (magic, what) in [
        (&b"RIFF"[..], "RIFF (WAV/AVI)"),
        (b"OggS", "Ogg"),
        (b"fLaC", "FLAC"),
        (b"\x1A\x45\xDF\xA3", "Matroska/WebM"),
        (b"FORM", "AIFF"),
        (b"caff", "CAF"),
    ] {
        if head.starts_with(magic) {
            return Err(MediaError::Unsupported(format!(
                "{what} container: only MP3 and MP4/M4A (AAC) are decoded"
            )));
        }
    }
    if head.len() >= 8 && &head[4..8] == b"ftyp" {
        return walk_mp4(src).map(Some);
    }
    Ok(None)
}

/// A parsed box header.
struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the payload.
    body: u64,
    /// Offset just past the box.
    end: u64,
}

fn fourcc(k: &[u8; 4]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Reads the box header at `pos` (which must be below `limit`) and checks it fits.
fn box_at<R: Read + Seek>(
    src: &mut Source<R>,
    pos: u64,
    limit: u64,
) -> Result<BoxHeader, MediaError> {
    let mut h = [0u8; 16];
    let n = src.read_at(pos, &mut h)?;
    if n < 8 {
        return Err(MediaError::Truncated(format!(
            "MP4 box header at byte {pos} is cut off ({n} of 8 bytes; file is {} bytes)",
            src.len
        )));
    }
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let kind = [h[4], h[5], h[6], h[7]];
    if !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(MediaError::NotMedia(format!(
            "invalid MP4 box type {:02x?} at byte {pos}",
            kind
        )));
    }
    let (size, body) = match size32 {
        0 => (limit - pos, pos + 8),
        1 => {
            if n < 16 {
                return Err(MediaError::Truncated(format!(
                    "MP4 box `{}` at byte {pos}: 64-bit size is cut off",
                    fourcc(&kind)
                )));
            }
            let mut s = [0u8; 8];
            s.copy_from_slice(&h[8..16]);
            (u64::from_be_bytes(s), pos + 16)
        }
        s => (u64::from(s), pos + 8),
    };
    if size < body - pos {
        return Err(MediaError::NotMedia(format!(
            "MP4 box `{}` at byte {pos} has an impossible size {size}",
            fourcc(&kind)
        )));
    }
    let end = pos.saturating_add(size);
    if end > limit {
        return Err(MediaError::Truncated(format!(
            "MP4 box `{}` at byte {pos} declares {size} bytes but only {} remain{}",
            fourcc(&kind),
            limit - pos,
            if limit == src.len {
                " in the file"
            } else {
                " in its parent box"
            }
        )));
    }
    Ok(BoxHeader { kind, body, end })
}

/// Walks the top-level boxes (headers only) and the `moov` tree to find a video track.
fn walk_mp4<R: Read + Seek>(src: &mut Source<R>) -> Result<Mp4Info, MediaError> {
    let mut info = Mp4Info::default();
    let mut pos = 0u64;
    let mut moov = false;
    let mut count = 0u32;
    while pos < src.len {
        count += 1;
        if count > 100_000 {
            return Err(MediaError::NotMedia(
                "more than 100000 top-level MP4 boxes".into(),
            ));
        }
        let b = box_at(src, pos, src.len)?;
        if &b.kind == b"moov" {
            moov = true;
            for trak in children(src, b.body, b.end)? {
                if &trak.kind == b"trak"
                    && let Some(codec) = video_track_codec(src, &trak)?
                    && info.video_codec.is_none()
                {
                    info.video_codec = Some(codec);
                }
            }
        }
        pos = b.end;
    }
    if !moov {
        return Err(MediaError::Truncated(
            "MP4 has no `moov` box (the track index written when a recording is finalised): \
             the file is incomplete"
                .into(),
        ));
    }
    Ok(info)
}

fn children<R: Read + Seek>(
    src: &mut Source<R>,
    start: u64,
    end: u64,
) -> Result<Vec<BoxHeader>, MediaError> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos + 8 <= end && out.len() < 10_000 {
        let b = box_at(src, pos, end)?;
        pos = b.end;
        out.push(b);
    }
    Ok(out)
}

fn child<R: Read + Seek>(
    src: &mut Source<R>,
    parent: &BoxHeader,
    kind: &[u8; 4],
) -> Result<Option<BoxHeader>, MediaError> {
    Ok(children(src, parent.body, parent.end)?
        .into_iter()
        .find(|b| &b.kind == kind))
}

/// Codec name of a `trak` if its handler is `vide`.
fn video_track_codec<R: Read + Seek>(
    src: &mut Source<R>,
    trak: &BoxHeader,
) -> Result<Option<String>, MediaError> {
    let Some(mdia) = child(src, trak, b"mdia")? else {
        return Ok(None);
    };
    let Some(hdlr) = child(src, &mdia, b"hdlr")? else {
        return Ok(None);
    };
    // Full box: version/flags (4), pre_defined (4), handler_type (4).
    let mut h = [0u8; 12];
    if src.read_at(hdlr.body, &mut h)? < 12 || &h[8..12] != b"vide" {
        return Ok(None);
    }
    let stsd = match child(src, &mdia, b"minf")? {
        Some(minf) => match child(src, &minf, b"stbl")? {
            Some(stbl) => child(src, &stbl, b"stsd")?,
            None => None,
        },
        None => None,
    };
    let Some(stsd) = stsd else {
        return Ok(Some("unknown".into()));
    };
    // Full box (4), entry_count (4), first entry: size (4), format (4).
    let mut e = [0u8; 16];
    if src.read_at(stsd.body, &mut e)? < 16 {
        return Ok(Some("unknown".into()));
    }
    let name = match &e[12..16] {
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => "h264".to_string(),
        b"hvc1" | b"hev1" => "hevc".to_string(),
        b"av01" => "av1".to_string(),
        b"vp08" => "vp8".to_string(),
        b"vp09" => "vp9".to_string(),
        b"mp4v" => "mpeg4".to_string(),
        b"s263" | b"h263" => "h263".to_string(),
        b"jpeg" | b"mjpa" => "mjpeg".to_string(),
        other => fourcc(&[other[0], other[1], other[2], other[3]])
            .trim()
            .to_ascii_lowercase(),
    };
    Ok(Some(name))
}

// ---------------------------------------------------------------------------------------------
// Decoding and measurement
// ---------------------------------------------------------------------------------------------

fn is_eof(e: &SymError) -> bool {
    matches!(e, SymError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof)
}

/// Probes the container of `src` (the extension, if any, orders the probes).
fn open_format<R: Read + Seek + Send + Sync + 'static>(
    src: Source<R>,
    hint_ext: &str,
) -> Result<Box<dyn symphonia::core::formats::FormatReader>, SymError> {
    let mss = MediaSourceStream::new(Box::new(src), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    let ext = hint_ext.trim_start_matches('.').to_ascii_lowercase();
    if !ext.is_empty() {
        hint.with_extension(&ext);
    }
    symphonia::default::get_probe().probe(
        &hint,
        mss,
        FormatOptions::default(),
        MetadataOptions::default(),
    )
}

fn decode<R: Read + Seek + Send + Sync + 'static>(
    src: Source<R>,
    hint_ext: &str,
    mp4: Option<Mp4Info>,
) -> Result<MediaReport, MediaError> {
    let file_len = src.len;
    let mut format = open_format(src, hint_ext).map_err(|e| match e {
        e if is_eof(&e) => MediaError::Truncated(format!(
            "stream ends before its first complete header ({file_len} bytes)"
        )),
        SymError::Unsupported(_) => MediaError::NotMedia(format!(
            "no MP3 or MP4/M4A stream found in {file_len} bytes"
        )),
        SymError::IoError(io) => MediaError::Io(io.to_string()),
        other => MediaError::NotMedia(format!("cannot read the container: {other}")),
    })?;

    let Some(track) = format.default_track(TrackType::Audio).cloned() else {
        let video = mp4.as_ref().and_then(|m| m.video_codec.clone());
        return Err(MediaError::Unsupported(match video {
            Some(v) => format!("the file has no audio track (video only: {v})"),
            None => "the file has no audio track".into(),
        }));
    };
    let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()).cloned() else {
        return Err(MediaError::Unsupported(
            "the audio track's codec parameters are unknown".into(),
        ));
    };
    let codec = match params.codec {
        c if c == CODEC_ID_MP3 => "mp3",
        c if c == CODEC_ID_AAC => "aac",
        other => {
            return Err(MediaError::Unsupported(format!(
                "audio codec {other} (only MP3 and AAC are decoded)"
            )));
        }
    };
    // The declared frame count is trusted from an MP4 sample table or an MP3 Xing/LAME
    // header. Without one, symphonia only *estimates* an MP3's length from its first frames.
    // Its decoders' gapless mode trims the output to the declared length (hiding audio past
    // a wrong or estimated count), so it is off: encoder delay and padding from a LAME tag
    // are trimmed here instead, and everything else that decodes is counted.
    let declared = match codec {
        "mp3" if track.delay.is_some() => track.num_frames,
        "mp3" => None,
        _ => track.num_frames,
    };
    let mut opts = AudioDecoderOptions::default();
    opts.gapless = false;
    let mut trim = Trim {
        skip: u64::from(track.delay.unwrap_or(0)),
        hold: track.padding.unwrap_or(0) as usize,
        held: Vec::new(),
    };
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &opts)
        .map_err(|e| MediaError::Unsupported(format!("{codec} decoder: {e}")))?;

    let mut acc: Option<Accumulator> = params
        .sample_rate
        .map(|rate| Accumulator::new(rate, params.channels.as_ref().map_or(0, |c| c.count())));
    let mut scratch: Vec<f32> = Vec::new();
    let (mut packets, mut errors) = (0u64, 0u64);
    let mut cut: Option<String> = None;

    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) if is_eof(&e) => {
                cut = Some("the stream ends in the middle of a frame".into());
                break;
            }
            Err(SymError::ResetRequired) => {
                decoder.reset();
                continue;
            }
            Err(SymError::IoError(io)) => return Err(MediaError::Io(io.to_string())),
            Err(e) => {
                // A demuxer error mid-stream: the container is damaged from here on.
                errors += 1;
                cut = Some(format!(
                    "the container is damaged after {packets} packets: {e}"
                ));
                break;
            }
        };
        if packet.track_id != track.id {
            continue;
        }
        packets += 1;
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                let a = acc
                    .get_or_insert_with(|| Accumulator::new(spec.rate(), spec.channels().count()));
                if a.channels == 0 {
                    a.channels = spec.channels().count();
                }
                buf.copy_to_vec_interleaved::<f32>(&mut scratch);
                trim.push(a, &scratch, spec.channels().count().max(1));
            }
            Err(SymError::DecodeError(_)) => errors += 1,
            Err(e) if is_eof(&e) => errors += 1,
            Err(SymError::ResetRequired) => decoder.reset(),
            Err(e) => {
                return Err(MediaError::Unsupported(format!(
                    "{codec} decoding failed: {e}"
                )));
            }
        }
    }

    if codec == "mp3" && cut.is_none() {
        // symphonia ends an MPEG stream quietly at a partial frame: walk the frame headers.
        let mut mss = format.into_inner();
        if let Some(why) = mp3_tail(&mut mss, file_len)? {
            cut = Some(why);
        }
    }
    let frames = acc.as_ref().map_or(0, |a| a.frames);
    if frames == 0 || (packets > 0 && errors * 2 > packets) {
        return Err(MediaError::NotMedia(format!(
            "no decodable {codec} audio: {errors} of {packets} packets failed to decode"
        )));
    }
    let acc = acc.expect("frames > 0");
    let duration = frames as f64 / f64::from(acc.rate);
    if let Some(why) = cut {
        return Err(MediaError::Truncated(format!(
            "{why} after {duration:.2} s of {codec} audio ({file_len} bytes)"
        )));
    }
    if let Some(declared) = declared {
        // `num_frames` counts playable sample frames; compare in seconds.
        let declared_secs = declared as f64 / f64::from(acc.rate);
        if declared_secs - duration > 0.5_f64.max(declared_secs * 0.02) {
            return Err(MediaError::Truncated(format!(
                "decoded {duration:.2} s of {codec} audio but the container declares \
                 {declared_secs:.2} s ({file_len} bytes)"
            )));
        }
    }
    Ok(acc.finish(codec, mp4.and_then(|m| m.video_codec), errors))
}

/// Drops the encoder delay (`skip` leading frames) and padding (`hold` trailing frames,
/// held back until the end of the stream and then discarded). Only the last `hold` frames
/// are ever copied; the rest goes to the accumulator from the decoder's buffer.
struct Trim {
    skip: u64,
    hold: usize,
    held: Vec<f32>,
}

impl Trim {
    fn push(&mut self, acc: &mut Accumulator, interleaved: &[f32], ch: usize) {
        let frames = (interleaved.len() / ch) as u64;
        let drop = self.skip.min(frames);
        self.skip -= drop;
        let rest = &interleaved[drop as usize * ch..];
        if self.hold == 0 {
            acc.push(rest, ch);
            return;
        }
        let keep = self.hold * ch;
        if rest.len() >= keep {
            // Everything held so far, and all of `rest` but its last `keep` samples, is
            // known not to be padding.
            if !self.held.is_empty() {
                acc.push(&self.held, ch);
            }
            let cut = rest.len() - keep;
            acc.push(&rest[..cut], ch);
            self.held.clear();
            self.held.extend_from_slice(&rest[cut..]);
        } else {
            self.held.extend_from_slice(rest);
            if self.held.len() > keep {
                let n = (self.held.len() - keep) / ch * ch;
                acc.push(&self.held[..n], ch);
                self.held.drain(..n);
            }
        }
    }
}

/// Running measurements over the decoded signal.
struct Accumulator {
    rate: u32,
    channels: usize,
    window: u64,
    frames: u64,
    samples: u64,
    sum_sq: f64,
    clipped: u64,
    // Current window.
    w_frames: u64,
    w_sum_sq: f64,
    // Finished windows.
    activity: Vec<bool>,
    silent_frames: u64,
    run_frames: u64,
    longest_run: u64,
    active_sum_sq: f64,
    active_frames: u64,
    peaks: PeakAcc,
}

/// Running min/max of the mono signal per [`PEAK_WINDOW_MS`] window.
struct PeakAcc {
    window: u64,
    w_frames: u64,
    lo: f32,
    hi: f32,
    pairs: Vec<(i8, i8)>,
}

impl PeakAcc {
    fn new(rate: u32) -> Self {
        PeakAcc {
            window: ((f64::from(rate) * f64::from(PEAK_WINDOW_MS) / 1000.0).round() as u64).max(1),
            w_frames: 0,
            lo: f32::INFINITY,
            hi: f32::NEG_INFINITY,
            pairs: Vec::new(),
        }
    }

    /// One mono sample.
    fn push_one(&mut self, x: f32) {
        self.lo = self.lo.min(x);
        self.hi = self.hi.max(x);
        self.w_frames += 1;
        if self.w_frames == self.window {
            self.close();
        }
    }

    /// Mono samples, a window at a time; min/max over eight lanes (vectorised).
    fn push_mono(&mut self, mut samples: &[f32]) {
        while !samples.is_empty() {
            let room = (self.window - self.w_frames) as usize;
            let (part, rest) = samples.split_at(room.min(samples.len()));
            samples = rest;
            let mut lo = [f32::INFINITY; 8];
            let mut hi = [f32::NEG_INFINITY; 8];
            let mut chunks = part.chunks_exact(8);
            for c in &mut chunks {
                for i in 0..8 {
                    lo[i] = lo[i].min(c[i]);
                    hi[i] = hi[i].max(c[i]);
                }
            }
            for &x in chunks.remainder() {
                lo[0] = lo[0].min(x);
                hi[0] = hi[0].max(x);
            }
            self.lo = lo.iter().fold(self.lo, |a, &b| a.min(b));
            self.hi = hi.iter().fold(self.hi, |a, &b| a.max(b));
            self.w_frames += part.len() as u64;
            if self.w_frames == self.window {
                self.close();
            }
        }
    }

    fn close(&mut self) {
        if self.w_frames == 0 {
            return;
        }
        self.pairs
            .push((Peaks::quantise(self.lo), Peaks::quantise(self.hi)));
        self.w_frames = 0;
        self.lo = f32::INFINITY;
        self.hi = f32::NEG_INFINITY;
    }

    fn finish(mut self, rate: u32) -> Peaks {
        self.close();
        Peaks {
            window_ms: PEAK_WINDOW_MS,
            sample_rate: rate,
            pairs: self.pairs,
        }
    }
}

impl Accumulator {
    fn new(rate: u32, channels: usize) -> Self {
        Accumulator {
            rate: rate.max(1),
            channels,
            window: ((f64::from(rate) * WINDOW_SECS).round() as u64).max(1),
            frames: 0,
            samples: 0,
            sum_sq: 0.0,
            clipped: 0,
            w_frames: 0,
            w_sum_sq: 0.0,
            activity: Vec::new(),
            silent_frames: 0,
            run_frames: 0,
            longest_run: 0,
            active_sum_sq: 0.0,
            active_frames: 0,
            peaks: PeakAcc::new(rate),
        }
    }

    /// Folds interleaved samples into the measurements.
    fn push(&mut self, interleaved: &[f32], ch: usize) {
        if ch == 1 {
            self.push_mono(interleaved);
        } else {
            self.push_frames(interleaved, ch);
        }
    }

    /// The general path: one frame at a time, channels mixed to mono for the windows.
    fn push_frames(&mut self, interleaved: &[f32], ch: usize) {
        for frame in interleaved.chunks_exact(ch) {
            let mut mono = 0.0f64;
            for &s in frame {
                let x = f64::from(s);
                self.sum_sq += x * x;
                mono += x;
                if s.abs() >= CLIP_LEVEL {
                    self.clipped += 1;
                }
            }
            self.samples += ch as u64;
            let mono = mono / ch as f64;
            self.peaks.push_one(mono as f32);
            self.w_sum_sq += mono * mono;
            self.w_frames += 1;
            self.frames += 1;
            if self.w_frames == self.window {
                self.close_window();
            }
        }
    }

    /// [`Accumulator::push`] for one channel (phone MP3, meeting M4A), a window at a time:
    /// the sum of squares of up to one window (4,800 samples at 48 kHz) is taken in `f32`
    /// over eight lanes, which the compiler vectorises, and folded into the `f64` totals once
    /// per window. The same figures as the per-frame path to within `f32` rounding of one
    /// window (relative 1e-6), about four times faster.
    fn push_mono(&mut self, mut samples: &[f32]) {
        self.peaks.push_mono(samples);
        while !samples.is_empty() {
            let room = (self.window - self.w_frames) as usize;
            let (part, rest) = samples.split_at(room.min(samples.len()));
            samples = rest;
            let mut lanes = [0f32; 8];
            let mut clipped = 0u64;
            let mut chunks = part.chunks_exact(8);
            for c in &mut chunks {
                for (lane, &x) in lanes.iter_mut().zip(c) {
                    *lane += x * x;
                }
                clipped += c.iter().filter(|x| x.abs() >= CLIP_LEVEL).count() as u64;
            }
            let mut sq = f64::from(lanes.iter().sum::<f32>());
            for &x in chunks.remainder() {
                sq += f64::from(x) * f64::from(x);
                clipped += u64::from(x.abs() >= CLIP_LEVEL);
            }
            let n = part.len() as u64;
            self.sum_sq += sq;
            self.w_sum_sq += sq;
            self.clipped += clipped;
            self.samples += n;
            self.frames += n;
            self.w_frames += n;
            if self.w_frames == self.window {
                self.close_window();
            }
        }
    }

    fn close_window(&mut self) {
        if self.w_frames == 0 {
            return;
        }
        let rms = (self.w_sum_sq / self.w_frames as f64).sqrt();
        let silent = dbfs(rms) < SILENCE_THRESHOLD_DBFS;
        self.activity.push(!silent);
        if silent {
            self.silent_frames += self.w_frames;
            self.run_frames += self.w_frames;
            self.longest_run = self.longest_run.max(self.run_frames);
        } else {
            self.run_frames = 0;
            self.active_sum_sq += self.w_sum_sq;
            self.active_frames += self.w_frames;
        }
        self.w_frames = 0;
        self.w_sum_sq = 0.0;
    }

    fn finish(mut self, codec: &str, video_codec: Option<String>, errors: u64) -> MediaReport {
        self.close_window();
        let rate = f64::from(self.rate);
        let silence_ratio = self.silent_frames as f64 / self.frames.max(1) as f64;
        let clipping_ratio = self.clipped as f64 / self.samples.max(1) as f64;
        let rms_dbfs = dbfs((self.sum_sq / self.samples.max(1) as f64).sqrt());
        let level = if self.active_frames == 0 {
            0.0
        } else {
            let speech = dbfs((self.active_sum_sq / self.active_frames as f64).sqrt());
            ((speech + 50.0) / 20.0).clamp(0.0, 1.0) * (-speech / 6.0).clamp(0.0, 1.0)
        };
        let clip = 1.0 - (clipping_ratio / 0.01).min(1.0);
        let silence = 1.0 - (silence_ratio - 0.5).max(0.0);
        let voice_quality = (1.0 + 4.0 * level * clip * silence).clamp(1.0, 5.0);
        MediaReport {
            codec: codec.into(),
            sample_rate: self.rate,
            channels: self.channels.min(usize::from(u16::MAX)) as u16,
            duration_secs: self.frames as f64 / rate,
            silence_ratio,
            longest_silence_secs: self.longest_run as f64 / rate,
            voice_quality,
            clipping_ratio,
            rms_dbfs,
            video_codec,
            activity: self.activity,
            decode_errors: errors,
            peaks: self.peaks.finish(self.rate),
        }
    }
}

/// Level of an RMS amplitude in dBFS, floored at [`SILENCE_FLOOR_DBFS`].
fn dbfs(rms: f64) -> f64 {
    if rms > 0.0 {
        (20.0 * rms.log10()).max(SILENCE_FLOOR_DBFS)
    } else {
        SILENCE_FLOOR_DBFS
    }
}

// ---------------------------------------------------------------------------------------------
// MP3 frame walk (truncation check)
// ---------------------------------------------------------------------------------------------

/// Size in bytes of an MPEG audio Layer III frame from its header, `None` if not one.
fn mp3_frame_len(h: [u8; 4]) -> Option<u64> {
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0 = 2.5, 2 = 2, 3 = 1
    let layer = (h[1] >> 1) & 3; // 1 = Layer III
    let br_idx = usize::from(h[2] >> 4);
    let sr_idx = usize::from((h[2] >> 2) & 3);
    let padding = u64::from((h[2] >> 1) & 1);
    if version == 1 || layer != 1 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
        return None;
    }
    const V1: [u64; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [u64; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let (kbps, rate, coef) = match version {
        3 => (V1[br_idx], [44_100, 48_000, 32_000][sr_idx], 144),
        2 => (V2[br_idx], [22_050, 24_000, 16_000][sr_idx], 72),
        _ => (V2[br_idx], [11_025, 12_000, 8_000][sr_idx], 72),
    };
    Some(coef * kbps * 1000 / rate + padding)
}

/// Walks the MPEG frames of an MP3 (skipping ID3v2 tags, stopping at ID3v1/APEv2 trailers).
/// Returns why the file is truncated if its last frame is cut off; `None` if it ends on a
/// frame boundary or the walk cannot tell (junk between frames, free-format bitrate).
fn mp3_tail<R: Read + Seek>(src: &mut R, len: u64) -> Result<Option<String>, MediaError> {
    let mut end = len;
    let mut tail = [0u8; 160];
    if len >= 160 {
        src.seek(SeekFrom::Start(len - 160)).map_err(io_err)?;
        src.read_exact(&mut tail).map_err(io_err)?;
        if &tail[32..35] == b"TAG" {
            end -= 128;
        }
        // APEv2 footer just before the end (or before an ID3v1 tag).
        let f = (end - (len - 160)) as usize;
        if f >= 32 && &tail[f - 32..f - 24] == b"APETAGEX" {
            let size = u32::from_le_bytes([tail[f - 20], tail[f - 19], tail[f - 18], tail[f - 17]]);
            let header = if tail[f - 9] & 0x80 != 0 { 32 } else { 0 };
            end = end.saturating_sub(u64::from(size) + header);
        }
    }
    src.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let mut r = std::io::BufReader::with_capacity(64 * 1024, src);
    let mut pos = 0u64;
    let mut h = [0u8; 10];
    while pos < end {
        let want = if end - pos >= 10 {
            10
        } else {
            (end - pos) as usize
        };
        r.read_exact(&mut h[..want]).map_err(io_err)?;
        if want < 4 {
            return Ok(Some(format!(
                "the file ends {want} bytes into an MPEG frame header at byte {pos}"
            )));
        }
        let skip = if want == 10 && &h[..3] == b"ID3" {
            let size = h[6..10]
                .iter()
                .fold(0u64, |n, &x| (n << 7) | u64::from(x & 0x7F));
            10 + size + if h[5] & 0x10 != 0 { 10 } else { 0 }
        } else if let Some(n) = mp3_frame_len([h[0], h[1], h[2], h[3]]) {
            if pos + n > end {
                return Ok(Some(format!(
                    "the last MPEG frame at byte {pos} needs {n} bytes but only {} remain",
                    end - pos
                )));
            }
            n
        } else {
            return Ok(None);
        };
        let skip = skip.min(end - pos);
        r.seek_relative(skip as i64 - want as i64).map_err(io_err)?;
        pos += skip;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulator_windows() {
        // 1 s at 1 kHz: 0.3 s tone, 0.5 s silence, 0.2 s tone.
        let mut a = Accumulator::new(1000, 1);
        let mut v = Vec::new();
        for i in 0..1000 {
            let on = !(300..800).contains(&i);
            v.push(if on {
                0.1 * ((i as f32) * 0.7).sin()
            } else {
                0.0
            });
        }
        a.push(&v, 1);
        let r = a.finish("mp3", None, 0);
        assert_eq!(r.activity.len(), 10);
        assert!((r.silence_ratio - 0.5).abs() < 1e-9);
        assert!((r.longest_silence_secs - 0.5).abs() < 1e-9);
        assert_eq!(r.clipping_ratio, 0.0);
        assert_eq!(r.voice_quality, 5.0);
    }

    #[test]
    fn mono_fast_path_matches_the_frame_path() {
        // A tone with a silent stretch and a clipped burst, fed in uneven packets.
        let signal: Vec<f32> = (0..48_000 * 3)
            .map(|i| match i / 24_000 {
                1 => 0.0,
                3 => 1.0,
                _ => (i as f32 * 0.0576).sin() * 0.3,
            })
            .collect();
        let (mut fast, mut slow) = (Accumulator::new(48_000, 1), Accumulator::new(48_000, 1));
        for (k, packet) in signal.chunks(1_000 + 37).enumerate() {
            let (a, b) = packet.split_at(packet.len().min(k % 7 * 3));
            fast.push_mono(a);
            fast.push_mono(b);
            slow.push_frames(packet, 1);
        }
        let (f, s) = (fast.finish("mp3", None, 0), slow.finish("mp3", None, 0));
        assert_eq!(f.activity, s.activity);
        assert_eq!(f.duration_secs, s.duration_secs);
        assert_eq!(f.clipping_ratio, s.clipping_ratio);
        assert!(f.clipping_ratio > 0.1, "{}", f.clipping_ratio);
        assert_eq!(f.silence_ratio, s.silence_ratio);
        assert!(
            (f.silence_ratio - 1.0 / 6.0).abs() < 0.01,
            "{}",
            f.silence_ratio
        );
        assert!(
            (f.rms_dbfs - s.rms_dbfs).abs() < 1e-4,
            "{} {}",
            f.rms_dbfs,
            s.rms_dbfs
        );
        assert!((f.voice_quality - s.voice_quality).abs() < 1e-4);
    }

    #[test]
    fn all_silent_scores_one() {
        let mut a = Accumulator::new(8000, 2);
        a.push(&vec![0.0; 16_000], 2);
        let r = a.finish("aac", None, 0);
        assert_eq!(r.silence_ratio, 1.0);
        assert_eq!(r.voice_quality, 1.0);
        assert_eq!(r.rms_dbfs, SILENCE_FLOOR_DBFS);
        assert!((r.duration_secs - 1.0).abs() < 1e-9);
    }

    #[test]
    fn peaks_per_20ms_window_both_paths() {
        // 1 s at 1 kHz: 20 windows of 20 frames; window k holds a ramp up to ±k/20.
        let signal: Vec<f32> = (0..1000)
            .map(|i| {
                let k = (i / 20) as f32 / 50.0;
                if i % 2 == 0 { k } else { -k }
            })
            .collect();
        let (mut fast, mut slow) = (Accumulator::new(1000, 1), Accumulator::new(1000, 1));
        for packet in signal.chunks(37) {
            fast.push_mono(packet);
            slow.push_frames(packet, 1);
        }
        let (f, s) = (fast.finish("mp3", None, 0), slow.finish("mp3", None, 0));
        assert_eq!(f.peaks, s.peaks);
        assert_eq!(f.peaks.pairs.len(), 50);
        assert_eq!(f.peaks.window_ms, 20);
        assert_eq!(f.peaks.pairs[0], (0, 0));
        assert_eq!(f.peaks.pairs[25], (-64, 64));
        assert_eq!(f.peaks.pairs[49], (-124, 124));
        // Stereo is averaged to mono; a partial last window counts.
        let mut st = Accumulator::new(1000, 2);
        let v: Vec<f32> = (0..30)
            .flat_map(|_| [0.5f32, -0.5])
            .chain([1.0, 0.0])
            .collect();
        st.push(&v, 2);
        let r = st.finish("aac", None, 0);
        assert_eq!(r.peaks.pairs, vec![(0, 0), (0, 64)]);
    }

    #[test]
    fn clipping_counts() {
        let mut a = Accumulator::new(1000, 1);
        let v: Vec<f32> = (0..1000)
            .map(|i| if i % 50 == 0 { 1.0 } else { 0.2 })
            .collect();
        a.push(&v, 1);
        let r = a.finish("mp3", None, 0);
        assert!((r.clipping_ratio - 0.02).abs() < 1e-9);
        assert_eq!(r.voice_quality, 1.0);
    }
}
