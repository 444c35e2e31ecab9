//! Waveform peaks of an archived recording: the minimum and maximum of the decoded signal
//! (channels averaged to mono) per [`PEAK_WINDOW_MS`] window, which the review UI draws
//! above the player. Derived data, stored as a sidecar object beside the recording
//! ([`peaks_key`]), never in the metadata record (a 1-hour file has 180,000 windows).
//!
//! `archiver-media` computes them in the same decode pass as the media analysis; this
//! module is the one home of the type and its binary format (encoder and decoder).
//!
//! ## Format (version 1)
//!
//! Little-endian, a 16-byte header then the pairs:
//!
//! | bytes  | field                                                        |
//! |--------|--------------------------------------------------------------|
//! | 0..4   | magic `ZAPK`                                                 |
//! | 4      | format version (`1`)                                         |
//! | 5      | bits per value (`8`: signed, full scale = ±127)              |
//! | 6..8   | window length in ms (`u16`, 20)                              |
//! | 8..12  | sample rate of the decoded audio in Hz (`u32`)               |
//! | 12..16 | window count `n` (`u32`)                                     |
//! | 16..   | `n` pairs of (`min`, `max`) as `i8`, one pair per window     |
//!
//! A value is `round(x × 127)` of the sample `x` (full scale 1.0), clamped to ±127; the
//! last window may be partial. A 1-hour recording gives 16 + 360,000 bytes.
//!
//! ## Where the sidecar lives
//!
//! `{tenant}/derived/peaks/{rest of the object key}.peaks`: outside the media prefixes
//! (`{tenant}/{source}/…`) that the fixity check (`verify`) lists for unknown objects and
//! that the daily manifests list, so derived data is never reported as unknown or
//! unlisted, and outside the manifests themselves (it is recomputable from the sealed
//! recording). Disposing of a recording disposes of its sidecar.

use super::keys::ObjectKey;

/// Length of one peaks window, in milliseconds.
pub const PEAK_WINDOW_MS: u16 = 20;
/// The sidecar format version written by [`Peaks::to_bytes`].
pub const PEAKS_VERSION: u8 = 1;
/// Size of the format's header, in bytes.
pub const PEAKS_HEADER_LEN: usize = 16;
/// The sidecar's content type.
pub const PEAKS_CONTENT_TYPE: &str = "application/vnd.zoom-archiver.peaks";
/// The largest sidecar accepted when reading one back (a 24-hour recording is ~8.6 MB).
pub const PEAKS_MAX_BYTES: u64 = 32 * 1024 * 1024;

const MAGIC: &[u8; 4] = b"ZAPK";

/// Min/max of the mono signal per window, quantised to `i8` (±127 = full scale).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peaks {
    /// Window length in ms ([`PEAK_WINDOW_MS`] when computed here).
    pub window_ms: u16,
    /// Sample rate of the decoded audio, in Hz.
    pub sample_rate: u32,
    /// One (min, max) pair per window, from the start of the recording.
    pub pairs: Vec<(i8, i8)>,
}

/// Why bytes are not a peaks sidecar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a peaks sidecar: {0}")]
pub struct PeaksFormatError(pub String);

impl Peaks {
    /// Quantises a sample (full scale 1.0) to the format's `i8`.
    pub fn quantise(x: f32) -> i8 {
        if x.is_nan() {
            return 0;
        }
        (x * 127.0).round().clamp(-127.0, 127.0) as i8
    }

    /// Duration covered, in seconds (window count × window length; the last window may
    /// be partial, so this is up to one window long).
    pub fn covered_secs(&self) -> f64 {
        self.pairs.len() as f64 * f64::from(self.window_ms) / 1000.0
    }

    /// The version-1 encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = u32::try_from(self.pairs.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(PEAKS_HEADER_LEN + 2 * n as usize);
        out.extend_from_slice(MAGIC);
        out.push(PEAKS_VERSION);
        out.push(8);
        out.extend_from_slice(&self.window_ms.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        for &(lo, hi) in self.pairs.iter().take(n as usize) {
            out.push(lo as u8);
            out.push(hi as u8);
        }
        out
    }

    /// Decodes [`Peaks::to_bytes`]'s output; refuses another magic or version, a zero
    /// window, or a length that disagrees with the count.
    pub fn from_bytes(b: &[u8]) -> Result<Self, PeaksFormatError> {
        let bad = |m: String| Err(PeaksFormatError(m));
        if b.len() < PEAKS_HEADER_LEN || &b[..4] != MAGIC {
            return bad(format!("{} bytes without the ZAPK header", b.len()));
        }
        if b[4] != PEAKS_VERSION || b[5] != 8 {
            return bad(format!("version {} with {}-bit values", b[4], b[5]));
        }
        let window_ms = u16::from_le_bytes([b[6], b[7]]);
        let sample_rate = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let n = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
        if window_ms == 0 {
            return bad("a window of 0 ms".into());
        }
        if b.len() - PEAKS_HEADER_LEN != 2 * n {
            return bad(format!(
                "{n} windows declared but {} bytes of pairs",
                b.len() - PEAKS_HEADER_LEN
            ));
        }
        let pairs = b[PEAKS_HEADER_LEN..]
            .chunks_exact(2)
            .map(|p| (p[0] as i8, p[1] as i8))
            .collect();
        Ok(Peaks {
            window_ms,
            sample_rate,
            pairs,
        })
    }
}

/// The key of the peaks sidecar of the object at `key` (see the module documentation):
/// `{tenant}/derived/peaks/{rest}.peaks`. `None` for a key without a tenant prefix or one
/// too long to extend.
pub fn peaks_key(key: &ObjectKey) -> Option<ObjectKey> {
    let (tenant, rest) = key.as_str().split_once('/')?;
    if is_derived(key) {
        return None;
    }
    ObjectKey::parse(format!("{tenant}/derived/peaks/{rest}.peaks")).ok()
}

/// The recording a peaks sidecar key belongs to (the inverse of [`peaks_key`]); `None` for
/// any other key.
pub fn recording_of_peaks(key: &ObjectKey) -> Option<ObjectKey> {
    let (tenant, rest) = key.as_str().split_once('/')?;
    let rest = rest
        .strip_prefix("derived/peaks/")?
        .strip_suffix(".peaks")?;
    ObjectKey::parse(format!("{tenant}/{rest}")).ok()
}

/// True for a key under a tenant's `derived/` prefix (sidecars, never recordings).
pub fn is_derived(key: &ObjectKey) -> bool {
    key.as_str()
        .split_once('/')
        .is_some_and(|(_, rest)| rest.starts_with("derived/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Peaks {
            window_ms: PEAK_WINDOW_MS,
            sample_rate: 48_000,
            pairs: vec![(-127, 127), (0, 0), (-3, 5), (Peaks::quantise(-0.5), 64)],
        };
        let b = p.to_bytes();
        assert_eq!(b.len(), PEAKS_HEADER_LEN + 8);
        assert_eq!(&b[..6], b"ZAPK\x01\x08");
        assert_eq!(Peaks::from_bytes(&b), Ok(p.clone()));
        assert!((p.covered_secs() - 0.08).abs() < 1e-12);
        assert_eq!(Peaks::quantise(-0.5), -64);
        assert_eq!(Peaks::quantise(2.0), 127);
        assert_eq!(Peaks::quantise(f32::NAN), 0);
    }

    #[test]
    fn refuses_damage() {
        let b = Peaks {
            window_ms: 20,
            sample_rate: 8000,
            pairs: vec![(1, 2); 3],
        }
        .to_bytes();
        assert!(Peaks::from_bytes(&b[..b.len() - 1]).is_err());
        assert!(Peaks::from_bytes(b"{\"peaks\":[]}").is_err());
        let mut v2 = b.clone();
        v2[4] = 2;
        assert!(Peaks::from_bytes(&v2).is_err());
        let mut zero = b;
        zero[6] = 0;
        assert!(Peaks::from_bytes(&zero).is_err());
    }

    #[test]
    fn sidecar_keys() {
        let k = ObjectKey::parse("t1/phone/2026/12/07/c%2F1/f1.mp3").unwrap();
        let p = peaks_key(&k).unwrap();
        assert_eq!(
            p.as_str(),
            "t1/derived/peaks/phone/2026/12/07/c%2F1/f1.mp3.peaks"
        );
        assert!(is_derived(&p) && !is_derived(&k));
        assert!(p.belongs_to(&crate::domain::TenantId::new("t1").unwrap()));
        assert_eq!(peaks_key(&p), None, "no sidecar of a sidecar");
        assert_eq!(recording_of_peaks(&p).as_ref(), Some(&k));
        assert_eq!(recording_of_peaks(&k), None);
        assert_eq!(peaks_key(&ObjectKey::parse("lonely").unwrap()), None);
    }
}
