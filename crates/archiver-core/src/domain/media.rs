//! What was measured in an archived media file (codec, length, silence, quality, voice
//! activity), and the talk-over figure computed from several recorded users' audio.
//!
//! The measurements come from a [`crate::ports::MediaAnalyser`] (the `archiver-media`
//! crate decodes MP3 and AAC with pure-Rust decoders); this module only holds the results
//! and the arithmetic on them, so the core stays free of codecs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Length of one voice-activity window, in milliseconds.
pub const ACTIVITY_WINDOW_MS: i64 = 100;

/// How far the measured length of a phone recording may differ from Zoom's `duration`
/// before the CDR gets a `media_error`: the larger of this many seconds and
/// [`LENGTH_TOLERANCE_RATIO`] of Zoom's duration.
pub const LENGTH_TOLERANCE_SECS: f64 = 2.0;
/// See [`LENGTH_TOLERANCE_SECS`].
pub const LENGTH_TOLERANCE_RATIO: f64 = 0.02;

/// Measurements of one archived media file. Every field is optional: an analysis that
/// failed keeps what it learned before failing (at least the error).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaFacts {
    /// Audio codec (`mp3`, `aac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    /// Video codec of the video track (`h264`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<String>,
    /// Sample rate in Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Audio channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// Decoded length in seconds (frames decoded / sample rate, not the container's claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Silent time / total time (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_ratio: Option<f64>,
    /// Longest run of silence, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_silence_secs: Option<f64>,
    /// Voice-quality score, 1.0–5.0 (documented in `archiver-media`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_quality: Option<f64>,
    /// Share of clipped samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipping_ratio: Option<f64>,
    /// Overall level in dBFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rms_dbfs: Option<f64>,
    /// Voice activity, one bit per [`ACTIVITY_WINDOW_MS`] window from the file's start
    /// (see [`encode_activity`]); kept for individual meeting audio (talk-over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Why the file could not be analysed (not media, truncated, unsupported codec), or
    /// why its length disagrees with Zoom's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MediaFacts {
    /// Facts that only carry an error.
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::default()
        }
    }

    /// Checks the measured length against the length Zoom announced (phone recordings):
    /// sets `error` when they differ by more than the tolerance. Returns true when it did.
    pub fn check_length(&mut self, expected_secs: f64) -> bool {
        let Some(measured) = self.duration_secs else {
            return false;
        };
        if expected_secs <= 0.0 || self.error.is_some() {
            return false;
        }
        let tolerance = LENGTH_TOLERANCE_SECS.max(expected_secs * LENGTH_TOLERANCE_RATIO);
        if (measured - expected_secs).abs() > tolerance {
            self.error = Some(format!(
                "media length {} differs from Zoom's duration {} by more than {:.0} s",
                format_media_length(measured),
                format_media_length(expected_secs),
                tolerance
            ));
            return true;
        }
        false
    }
}

/// Formats seconds as the CDR's `hhh:mm:ss` (rounded to the nearest second; negative or
/// non-finite values give `000:00:00`), e.g. `65.0` → `000:01:05`.
pub fn format_media_length(secs: f64) -> String {
    let total = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
    format!(
        "{:03}:{:02}:{:02}",
        total / 3600,
        (total / 60) % 60,
        total % 60
    )
}

/// Packs voice-activity flags into a hex string (bit `i % 8` of byte `i / 8` is window `i`),
/// prefixed by the window count: `"{count}:{hex}"`.
pub fn encode_activity(flags: &[bool]) -> String {
    let mut bytes = vec![0u8; flags.len().div_ceil(8)];
    for (i, f) in flags.iter().enumerate() {
        if *f {
            bytes[i / 8] |= 1 << (i % 8);
        }
    }
    format!("{}:{}", flags.len(), hex::encode(bytes))
}

/// Reverses [`encode_activity`]; `None` when the text is not an encoding.
pub fn decode_activity(s: &str) -> Option<Vec<bool>> {
    let (count, hex_part) = s.split_once(':')?;
    let count: usize = count.parse().ok()?;
    let bytes = hex::decode(hex_part).ok()?;
    if bytes.len() != count.div_ceil(8) {
        return None;
    }
    Some(
        (0..count)
            .map(|i| bytes[i / 8] & (1 << (i % 8)) != 0)
            .collect(),
    )
}

/// Talk-over of a conversation from the voice activity of its separately recorded parties:
/// the windows where two or more parties speak divided by the windows where at least one
/// speaks. Each timeline is `(start, flags)`; a party with several timelines (rejoins) is
/// one party. `None` with fewer than two parties, or when nobody speaks.
pub fn talkover_ratio(parties: &[Vec<(DateTime<Utc>, Vec<bool>)>]) -> Option<f64> {
    let parties: Vec<&Vec<(DateTime<Utc>, Vec<bool>)>> =
        parties.iter().filter(|p| !p.is_empty()).collect();
    if parties.len() < 2 {
        return None;
    }
    let origin = parties
        .iter()
        .flat_map(|p| p.iter().map(|(s, _)| *s))
        .min()?;
    let window = |t: DateTime<Utc>| ((t - origin).num_milliseconds() / ACTIVITY_WINDOW_MS) as usize;
    let len = parties
        .iter()
        .flat_map(|p| p.iter().map(|(s, f)| window(*s) + f.len()))
        .max()?;
    let mut speakers = vec![0u8; len];
    for p in parties {
        let mut mine = vec![false; len];
        for (start, flags) in p.iter() {
            let off = window(*start);
            for (i, f) in flags.iter().enumerate() {
                if *f {
                    mine[off + i] = true;
                }
            }
        }
        for (s, m) in speakers.iter_mut().zip(mine) {
            *s = s.saturating_add(m as u8);
        }
    }
    let any = speakers.iter().filter(|s| **s >= 1).count();
    let both = speakers.iter().filter(|s| **s >= 2).count();
    (any > 0).then(|| both as f64 / any as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_round_trips() {
        let flags: Vec<bool> = (0..21).map(|i| i % 3 == 0).collect();
        let s = encode_activity(&flags);
        assert!(s.starts_with("21:"));
        assert_eq!(decode_activity(&s).unwrap(), flags);
        assert_eq!(decode_activity("9:00"), None);
        assert_eq!(decode_activity("x"), None);
    }

    #[test]
    fn media_length_format() {
        assert_eq!(format_media_length(65.4), "000:01:05");
        assert_eq!(format_media_length(3600.0 * 101.0 + 59.6), "101:01:00");
        assert_eq!(format_media_length(f64::NAN), "000:00:00");
        assert_eq!(format_media_length(65.0), "000:01:05");
        assert_eq!(format_media_length(0.4), "000:00:00");
        assert_eq!(format_media_length(3599.6), "001:00:00");
        assert_eq!(format_media_length(360_000.0), "100:00:00");
        assert_eq!(format_media_length(-3.0), "000:00:00");
    }

    #[test]
    fn talkover_aligns_parties_on_their_start_times() {
        let t0: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        // A speaks windows 0..10; B joins 0.5 s later and speaks its windows 0..10 (= 5..15).
        let a = vec![(t0, vec![true; 10])];
        let b = vec![(t0 + chrono::Duration::milliseconds(500), vec![true; 10])];
        let r = talkover_ratio(&[a.clone(), b]).unwrap();
        assert!((r - 5.0 / 15.0).abs() < 1e-9, "{r}");
        assert_eq!(talkover_ratio(std::slice::from_ref(&a)), None);
        assert_eq!(talkover_ratio(&[a, vec![]]), None);
        // Two parties starting together: both speak 1 window of the 3 with anyone.
        let a = vec![(t0, vec![true, true, false, false])];
        let b = vec![(t0, vec![false, true, true])];
        let r = talkover_ratio(&[a, b]).unwrap();
        assert!((r - 1.0 / 3.0).abs() < 1e-12, "{r}");
        let silent = vec![(t0, vec![false; 4])];
        assert_eq!(
            talkover_ratio(&[silent.clone(), silent]),
            None,
            "nobody speaks"
        );
    }

    #[test]
    fn length_check_uses_the_tolerance() {
        let mut f = MediaFacts {
            duration_secs: Some(61.5),
            ..Default::default()
        };
        assert!(!f.check_length(60.0));
        assert!(f.error.is_none());
        let mut f = MediaFacts {
            duration_secs: Some(30.0),
            ..Default::default()
        };
        assert!(f.check_length(60.0));
        assert!(f.error.as_deref().unwrap().contains("000:00:30"));
    }
}
