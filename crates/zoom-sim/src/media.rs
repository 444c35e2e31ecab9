//! Deterministic on-the-fly media generation.
//!
//! Every file is a pure function of its id, type and requested size: any byte range can be
//! produced without generating what precedes it, so downloads stream in chunks, Range
//! requests are cheap and files of any size (GiBs) never live in memory.
//!
//! * MP4 / M4A: an `ftyp` box (brand `isom` / `M4A `) followed by a 64-bit `mdat` box whose
//!   payload is pseudo-random noise (a 1 MiB block per file, varied per block by writing the
//!   block index into its first 8 bytes).
//! * MP3 (phone): an ID3v2.3 tag naming the recording, then MPEG-1 Layer III frames
//!   (48 kHz mono 128 kbps, header `FF FB 94 C0`, 384-byte frames, zero side info).
//! * CHAT / CC: fixed-width text lines (CC starts with `WEBVTT`).
//! * TRANSCRIPT / CHAT_MESSAGE / other JSON: one valid JSON document of fixed-width records.
//!
//! None of the generated audio/video decodes to sound. When a scenario maps a file id to one
//! of the embedded [`FIXTURES`] (`SimOptions::fixtures`), the file is served from those real,
//! decodable bytes instead (size, digest and fingerprint follow); see `fixtures/README.md`.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

const BLOCK: usize = 1 << 20;
const MP3_FRAME: u64 = 384;
const MP3_HEADER: [u8; 4] = [0xFF, 0xFB, 0x94, 0xC0];
/// Frame header plus 17 bytes of (zero) MPEG-1 mono side info.
const MP3_FIXED: u64 = 4 + 17;
/// Chunk size used when streaming.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Real, decodable media embedded in the simulator (generated once with ffmpeg; the
/// commands and the expected measurements are in `crates/zoom-sim/fixtures/README.md`).
pub(crate) const FIXTURES: &[(&str, &[u8])] = &[
    (
        "phone_tone_silence.mp3",
        include_bytes!("../fixtures/phone_tone_silence.mp3"),
    ),
    (
        "meeting_audio.m4a",
        include_bytes!("../fixtures/meeting_audio.m4a"),
    ),
    (
        "meeting_audio_party_b.m4a",
        include_bytes!("../fixtures/meeting_audio_party_b.m4a"),
    ),
    (
        "meeting_video.mp4",
        include_bytes!("../fixtures/meeting_video.mp4"),
    ),
];

/// Bytes of the embedded fixture `name`.
pub(crate) fn fixture(name: &str) -> Option<&'static [u8]> {
    FIXTURES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// What kind of bytes a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Mp4,
    M4a,
    Mp3,
    Text,
    Vtt,
    Json,
}

impl MediaKind {
    /// Kind of an archive file from its Zoom `file_type`.
    pub(crate) fn from_file_type(ft: &str) -> MediaKind {
        match ft {
            "MP4" => MediaKind::Mp4,
            "M4A" => MediaKind::M4a,
            "CHAT" => MediaKind::Text,
            "CC" => MediaKind::Vtt,
            _ => MediaKind::Json,
        }
    }

    /// `Content-Type` of the served bytes.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            MediaKind::Mp4 => "video/mp4",
            MediaKind::M4a => "audio/mp4",
            MediaKind::Mp3 => "audio/mpeg",
            MediaKind::Text => "text/plain",
            MediaKind::Vtt => "text/vtt",
            MediaKind::Json => "application/json",
        }
    }

    /// Zoom `file_extension`.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            MediaKind::Mp4 => "MP4",
            MediaKind::M4a => "M4A",
            MediaKind::Mp3 => "MP3",
            MediaKind::Text => "TXT",
            MediaKind::Vtt => "VTT",
            MediaKind::Json => "JSON",
        }
    }
}

enum Body {
    /// Pseudo-random payload, optionally overlaid with MP3 frame headers.
    Noise { block: Vec<u8>, mp3: bool },
    /// An embedded fixture, served verbatim.
    Fixture(&'static [u8]),
    /// Fixed-width records, padding and a suffix.
    Records {
        rec_len: u64,
        count: u64,
        pad: u64,
        pad_byte: u8,
        suffix: Vec<u8>,
    },
}

/// A generated file: layout is `prefix | body`.
pub(crate) struct Media {
    kind: MediaKind,
    seed: u64,
    len: u64,
    prefix: Vec<u8>,
    body: Body,
}

/// FNV-1a 64 of a string: per-file seed.
fn seed_of(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn noise_block(seed: u64) -> Vec<u8> {
    let mut rng = crate::scenario::Rng::new(seed);
    let mut v = Vec::with_capacity(BLOCK);
    for _ in 0..BLOCK / 8 {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v
}

fn mp4_prefix(kind: MediaKind, payload: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(44);
    p.extend_from_slice(&28u32.to_be_bytes());
    p.extend_from_slice(b"ftyp");
    if kind == MediaKind::M4a {
        p.extend_from_slice(b"M4A ");
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(b"M4A mp42isom");
    } else {
        p.extend_from_slice(b"isom");
        p.extend_from_slice(&512u32.to_be_bytes());
        p.extend_from_slice(b"isomiso2mp41");
    }
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(b"mdat");
    p.extend_from_slice(&(payload + 16).to_be_bytes());
    p
}

fn id3_prefix(id: &str) -> Vec<u8> {
    let text = format!("call_recording_{id}");
    let mut frame = Vec::new();
    frame.extend_from_slice(b"TIT2");
    frame.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0]); // flags, then ISO-8859-1 encoding byte
    frame.extend_from_slice(text.as_bytes());
    let n = frame.len() as u32;
    let mut p = Vec::with_capacity(10 + frame.len());
    p.extend_from_slice(b"ID3\x03\x00\x00");
    // Synchsafe size.
    p.extend_from_slice(&[
        ((n >> 21) & 0x7F) as u8,
        ((n >> 14) & 0x7F) as u8,
        ((n >> 7) & 0x7F) as u8,
        (n & 0x7F) as u8,
    ]);
    p.extend_from_slice(&frame);
    p
}

const WORDS: &[&str] = &[
    "alpha", "bond", "client", "desk", "equity", "fund", "hedge", "index", "ledger", "margin",
    "note", "order", "price", "quote", "risk", "swap", "trade", "yield",
];

impl Media {
    /// The bytes of file `id`: the named embedded fixture if `fixture` names one, else
    /// generated for `kind` and the requested size (an unknown fixture name is logged and
    /// ignored).
    pub(crate) fn for_file(
        kind: MediaKind,
        id: &str,
        requested: u64,
        fixture: Option<&str>,
    ) -> Media {
        if let Some(name) = fixture {
            match self::fixture(name) {
                Some(bytes) => {
                    return Media {
                        kind,
                        seed: seed_of(id),
                        len: bytes.len() as u64,
                        prefix: Vec::new(),
                        body: Body::Fixture(bytes),
                    };
                }
                None => tracing::warn!(file_id = id, fixture = name, "unknown media fixture"),
            }
        }
        Media::new(kind, id, requested)
    }

    /// Builds the layout of file `id` of `kind` for a requested size.
    pub(crate) fn new(kind: MediaKind, id: &str, requested: u64) -> Media {
        let seed = seed_of(id);
        match kind {
            MediaKind::Mp4 | MediaKind::M4a => {
                let payload = requested.saturating_sub(44);
                let prefix = mp4_prefix(kind, payload);
                Media {
                    kind,
                    seed,
                    len: prefix.len() as u64 + payload,
                    prefix,
                    body: Body::Noise {
                        block: noise_block(seed),
                        mp3: false,
                    },
                }
            }
            MediaKind::Mp3 => {
                let prefix = id3_prefix(id);
                let frames = (requested.saturating_sub(prefix.len() as u64) / MP3_FRAME).max(1);
                Media {
                    kind,
                    seed,
                    len: prefix.len() as u64 + frames * MP3_FRAME,
                    prefix,
                    body: Body::Noise {
                        block: noise_block(seed),
                        mp3: true,
                    },
                }
            }
            MediaKind::Text | MediaKind::Vtt | MediaKind::Json => {
                let (prefix, rec_len, suffix, pad_byte): (Vec<u8>, u64, Vec<u8>, u8) = match kind {
                    MediaKind::Text => (Vec::new(), 64, b"\n".to_vec(), b' '),
                    MediaKind::Vtt => (b"WEBVTT\n\n".to_vec(), 96, b"\n".to_vec(), b' '),
                    _ => (
                        format!(
                            "{{\"type\":\"zoom_archive\",\"ver\":1,\"file_id\":\"{id}\",\"items\":["
                        )
                        .into_bytes(),
                        128,
                        b"{\"seq\":-1,\"end\":true}]}\n".to_vec(),
                        b' ',
                    ),
                };
                let fixed = (prefix.len() + suffix.len()) as u64;
                let room = requested.saturating_sub(fixed);
                Media {
                    kind,
                    seed,
                    len: fixed + room,
                    prefix,
                    body: Body::Records {
                        rec_len,
                        count: room / rec_len,
                        pad: room % rec_len,
                        pad_byte,
                        suffix,
                    },
                }
            }
        }
    }

    /// Exact number of bytes served.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// `Content-Type` of the bytes.
    pub(crate) fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }

    /// Number of text/JSON records (messages), if a record format.
    pub(crate) fn records(&self) -> Option<u64> {
        match &self.body {
            Body::Records { count, .. } => Some(*count),
            Body::Noise { .. } | Body::Fixture(_) => None,
        }
    }

    /// Bytes `[offset, offset + len)` (clamped to the file).
    pub(crate) fn read_at(&self, offset: u64, len: usize) -> Bytes {
        let end = (offset + len as u64).min(self.len);
        if offset >= end {
            return Bytes::new();
        }
        let mut buf = BytesMut::zeroed((end - offset) as usize);
        self.fill(offset, &mut buf);
        buf.freeze()
    }

    /// Fills `buf` with the bytes starting at `offset` (must be within the file).
    pub(crate) fn fill(&self, offset: u64, buf: &mut [u8]) {
        let plen = self.prefix.len() as u64;
        let mut pos = offset;
        let mut out = 0usize;
        if pos < plen {
            let n = ((plen - pos) as usize).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[pos as usize..pos as usize + n]);
            out += n;
            pos += n as u64;
        }
        if out < buf.len() {
            self.fill_body(pos - plen, &mut buf[out..]);
        }
    }

    fn fill_body(&self, start: u64, buf: &mut [u8]) {
        match &self.body {
            Body::Fixture(bytes) => {
                let s = start as usize;
                buf.copy_from_slice(&bytes[s..s + buf.len()]);
            }
            Body::Noise { block, mp3 } => {
                let mut q = start;
                let mut done = 0usize;
                while done < buf.len() {
                    let o = (q % BLOCK as u64) as usize;
                    let n = (BLOCK - o).min(buf.len() - done);
                    buf[done..done + n].copy_from_slice(&block[o..o + n]);
                    if o < 8 {
                        let tag = ((q / BLOCK as u64) ^ self.seed).to_le_bytes();
                        let m = (8 - o).min(n);
                        buf[done..done + m].copy_from_slice(&tag[o..o + m]);
                    }
                    done += n;
                    q += n as u64;
                }
                if *mp3 {
                    let end = start + buf.len() as u64;
                    let mut f = start / MP3_FRAME;
                    while f * MP3_FRAME < end {
                        let fs = f * MP3_FRAME;
                        for k in 0..MP3_FIXED {
                            let p = fs + k;
                            if p >= start && p < end {
                                buf[(p - start) as usize] =
                                    if k < 4 { MP3_HEADER[k as usize] } else { 0 };
                            }
                        }
                        f += 1;
                    }
                }
            }
            Body::Records {
                rec_len,
                count,
                pad,
                pad_byte,
                suffix,
            } => {
                let recs_end = rec_len * count;
                let pad_end = recs_end + pad;
                let mut q = start;
                let mut done = 0usize;
                let mut rec_cache: Option<(u64, Vec<u8>)> = None;
                while done < buf.len() {
                    if q < recs_end {
                        let i = q / rec_len;
                        let o = (q % rec_len) as usize;
                        if rec_cache.as_ref().map(|c| c.0) != Some(i) {
                            rec_cache = Some((i, self.record(i, *rec_len as usize)));
                        }
                        let rec = &rec_cache.as_ref().expect("set").1;
                        let n = (rec.len() - o).min(buf.len() - done);
                        buf[done..done + n].copy_from_slice(&rec[o..o + n]);
                        done += n;
                        q += n as u64;
                    } else if q < pad_end {
                        let n = ((pad_end - q) as usize).min(buf.len() - done);
                        buf[done..done + n].fill(*pad_byte);
                        done += n;
                        q += n as u64;
                    } else {
                        let o = (q - pad_end) as usize;
                        let n = (suffix.len() - o).min(buf.len() - done);
                        buf[done..done + n].copy_from_slice(&suffix[o..o + n]);
                        done += n;
                        q += n as u64;
                    }
                }
            }
        }
    }

    /// Record `i`, exactly `len` bytes.
    fn record(&self, i: u64, len: usize) -> Vec<u8> {
        let mut rng = crate::scenario::Rng::new(self.seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let secs = i * 7;
        let ts = format!(
            "{:02}:{:02}:{:02}",
            secs / 3600 % 100,
            secs / 60 % 60,
            secs % 60
        );
        let mut text = String::new();
        while text.len() < len {
            let word: &&str = rng.pick(WORDS);
            text.push_str(word);
            text.push(' ');
        }
        let speaker = rng.range(1, 9);
        let mut line = match self.kind {
            MediaKind::Text => format!("{ts}\t From Speaker {speaker} to Everyone:\t{text}"),
            MediaKind::Vtt => format!(
                "{}\n{ts}.000 --> {ts}.900\nSpeaker {speaker}: {text}",
                i + 1
            ),
            _ => format!(
                "{{\"seq\":{i},\"ts\":\"{ts}\",\"speaker\":\"Speaker {speaker}\",\"text\":\"{text}"
            ),
        }
        .into_bytes();
        let tail: &[u8] = match self.kind {
            MediaKind::Text => b"\n",
            MediaKind::Vtt => b"\n\n",
            _ => b"\"},",
        };
        line.truncate(len - tail.len());
        line.extend_from_slice(tail);
        line
    }

    /// Size and SHA-256 (lowercase hex) of the whole file.
    pub(crate) fn digest(&self) -> (u64, String) {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; BLOCK.min(self.len as usize).max(1)];
        let mut off = 0u64;
        while off < self.len {
            let n = ((self.len - off) as usize).min(buf.len());
            self.fill(off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        (self.len, hex::encode(h.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(m: &Media) -> Vec<u8> {
        m.read_at(0, m.len() as usize).to_vec()
    }

    #[test]
    fn sizes_and_headers() {
        let m = Media::new(MediaKind::M4a, "f1", 200_000);
        assert_eq!(m.len(), 200_000);
        let b = all(&m);
        assert_eq!(&b[4..12], b"ftypM4A ");
        assert_eq!(&b[32..36], b"mdat");
        let m = Media::new(MediaKind::Mp4, "f2", 3_000_000);
        assert_eq!(&all(&m)[8..12], b"isom");

        let m = Media::new(MediaKind::Mp3, "abcd", 100_000);
        let b = all(&m);
        assert_eq!(&b[..3], b"ID3");
        let p = m.prefix.len();
        assert_eq!((b.len() - p) % 384, 0);
        assert_eq!(&b[p..p + 4], &MP3_HEADER);
        assert_eq!(&b[p + 384..p + 388], &MP3_HEADER);
        assert!(b[p + 4..p + 21].iter().all(|&x| x == 0));
    }

    #[test]
    fn fixtures_are_served_verbatim() {
        for (name, bytes) in FIXTURES {
            let m = Media::for_file(MediaKind::M4a, "fx", 5, Some(name));
            assert_eq!(m.len(), bytes.len() as u64);
            assert_eq!(all(&m), *bytes);
            assert_eq!(&m.read_at(7, 100)[..], &bytes[7..107]);
            assert_eq!(m.digest().1, hex::encode(Sha256::digest(bytes)));
            assert!(bytes.len() < 300_000, "{name} is too large");
        }
        // Unknown names fall back to generated bytes.
        let m = Media::for_file(MediaKind::Mp3, "fx", 100_000, Some("nope.mp3"));
        assert_eq!(&all(&m)[..3], b"ID3");
        assert!(m.len() > 99_000);
    }

    #[test]
    fn json_and_text_are_valid() {
        for size in [10u64, 100, 5_000, 12_345] {
            let m = Media::new(MediaKind::Json, "t1", size);
            let b = all(&m);
            assert_eq!(b.len() as u64, m.len());
            let v: serde_json::Value = serde_json::from_slice(&b).expect("valid json");
            assert_eq!(v["ver"], 1);
        }
        let m = Media::new(MediaKind::Text, "c1", 1000);
        assert_eq!(m.len(), 1000);
        assert!(std::str::from_utf8(&all(&m)).is_ok());
        let m = Media::new(MediaKind::Vtt, "v1", 1000);
        assert!(all(&m).starts_with(b"WEBVTT\n\n1\n"));
    }

    #[test]
    fn random_access_matches_sequential() {
        for kind in [MediaKind::Mp3, MediaKind::Mp4, MediaKind::Json] {
            let m = Media::new(kind, "ra", 3 * BLOCK as u64 + 777);
            let whole = all(&m);
            for (off, len) in [
                (0u64, 10usize),
                (5, 1000),
                (BLOCK as u64 - 3, 20),
                (2_000_000, 70_000),
            ] {
                assert_eq!(
                    &m.read_at(off, len)[..],
                    &whole[off as usize..off as usize + len]
                );
            }
            assert_eq!(m.digest().1, hex::encode(Sha256::digest(&whole)));
        }
    }
}

#[cfg(test)]
mod throughput {
    use super::*;

    /// `cargo test -p zoom-sim --profile bench-fast --lib -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn generation_throughput() {
        for kind in [MediaKind::Mp4, MediaKind::Mp3] {
            let m = Media::new(kind, "bench", 1 << 30);
            let t = std::time::Instant::now();
            let mut off = 0;
            while off < m.len() {
                off += m.read_at(off, CHUNK).len() as u64;
            }
            let secs = t.elapsed().as_secs_f64();
            println!("{kind:?}: {:.2} GB/s", m.len() as f64 / secs / 1e9);
        }
    }
}
