//! Measurements of the simulator's media fixtures (`crates/zoom-sim/fixtures`, see its
//! README for the ffmpeg commands and expected figures), truncation and non-media bodies.

use std::io::Cursor;
use std::path::PathBuf;

use archiver_media::{MediaError, MediaReport, analyse, analyse_path};

/// Talk-over of two parties whose files start together (the core's rule).
fn talkover_ratio(a: &[bool], b: &[bool]) -> f64 {
    let t0 = chrono::DateTime::UNIX_EPOCH;
    archiver_core::talkover_ratio(&[vec![(t0, a.to_vec())], vec![(t0, b.to_vec())]]).unwrap_or(0.0)
}

/// Tolerances documented in `crates/zoom-sim/fixtures/README.md`.
const DURATION_TOL: f64 = 0.1;
const SILENCE_RATIO_TOL: f64 = 0.03;
const LONGEST_SILENCE_TOL: f64 = 0.15;
const TALKOVER_TOL: f64 = 0.05;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../zoom-sim/fixtures")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture present")
}

fn report(name: &str) -> MediaReport {
    analyse_path(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} ± {tol}"
    );
}

fn check(r: &MediaReport, codec: &str, rate: u32, duration: f64, silence_ratio: f64, longest: f64) {
    assert_eq!(r.codec, codec);
    assert_eq!(r.sample_rate, rate);
    assert_eq!(r.channels, 1);
    close("duration", r.duration_secs, duration, DURATION_TOL);
    close(
        "silence ratio",
        r.silence_ratio,
        silence_ratio,
        SILENCE_RATIO_TOL,
    );
    close(
        "longest silence",
        r.longest_silence_secs,
        longest,
        LONGEST_SILENCE_TOL,
    );
    assert_eq!(r.clipping_ratio, 0.0);
    assert_eq!(r.decode_errors, 0);
    // 100 ms windows cover the whole duration.
    close(
        "activity windows",
        r.activity.len() as f64 * archiver_media::WINDOW_SECS,
        r.duration_secs,
        archiver_media::WINDOW_SECS,
    );
}

#[test]
fn phone_mp3_tone_and_silence() {
    let r = report("phone_tone_silence.mp3");
    check(&r, "mp3", 48_000, 20.0, 0.25, 5.0);
    assert_eq!(r.video_codec, None);
    // A -18 dBFS-peak tone 75 % of the time: about -22.3 dBFS overall.
    close("rms", r.rms_dbfs, -22.3, 1.0);
    close("quality", r.voice_quality, 5.0, 0.01);
    assert_eq!(
        archiver_core::format_media_length(r.duration_secs),
        "000:00:20"
    );
    // The silence is 5-10 s.
    assert!(r.activity[..49].iter().all(|&a| a));
    assert!(r.activity[51..99].iter().all(|&a| !a));
    assert!(r.activity[101..].iter().all(|&a| a));
}

#[test]
fn meeting_m4a_with_a_gap() {
    let r = report("meeting_audio.m4a");
    check(&r, "aac", 32_000, 15.0, 4.0 / 15.0, 4.0);
    assert_eq!(r.video_codec, None);
    close("quality", r.voice_quality, 5.0, 0.01);
}

#[test]
fn second_party_m4a() {
    let r = report("meeting_audio_party_b.m4a");
    check(&r, "aac", 32_000, 15.0, 10.0 / 15.0, 6.0);
    // 2/3 silent: the silence factor lowers the score to 1 + 4 × (1 - (0.667 - 0.5)).
    close("quality", r.voice_quality, 4.33, 0.05);
}

#[test]
fn talkover_of_the_two_parties() {
    let a = report("meeting_audio.m4a");
    let b = report("meeting_audio_party_b.m4a");
    // A speaks 0-6 s and 10-15 s, B 4-9 s: both 2 s out of 14 s with someone speaking.
    close(
        "talk-over",
        talkover_ratio(&a.activity, &b.activity),
        2.0 / 14.0,
        TALKOVER_TOL,
    );
    close(
        "self talk-over",
        talkover_ratio(&a.activity, &a.activity),
        1.0,
        1e-12,
    );
}

#[test]
fn video_mp4_reports_h264_and_its_audio() {
    let r = report("meeting_video.mp4");
    check(&r, "aac", 32_000, 4.0, 0.0, 0.0);
    assert_eq!(r.video_codec.as_deref(), Some("h264"));
}

#[test]
fn analyse_from_memory_and_hints_do_not_matter() {
    for (name, ext) in [
        ("phone_tone_silence.mp3", ""),
        ("phone_tone_silence.mp3", "m4a"),
        ("meeting_audio.m4a", "mp3"),
        ("meeting_video.mp4", ".MP4"),
    ] {
        let r = analyse(Cursor::new(bytes(name)), ext).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r, report(name), "{name} with hint {ext:?}");
    }
}

/// Decision: a truncated file is an error ([`MediaError::Truncated`]), never a partial report
/// — a compliance archive must re-download it.
#[test]
fn truncated_files_are_reported_as_truncated() {
    for name in [
        "phone_tone_silence.mp3",
        "meeting_audio.m4a",
        "meeting_audio_party_b.m4a",
        "meeting_video.mp4",
    ] {
        let b = bytes(name);
        for keep in [0.6, 0.95] {
            let cut = b[..(b.len() as f64 * keep) as usize].to_vec();
            match analyse(Cursor::new(cut), name.rsplit('.').next().unwrap()) {
                Err(MediaError::Truncated(msg)) => {
                    assert!(!msg.is_empty());
                    eprintln!("{name} at {keep}: {msg}");
                }
                other => panic!("{name} cut at {keep}: {other:?}"),
            }
        }
    }
}

/// Byte offset of the top-level box `kind` of an MP4.
fn box_offset(b: &[u8], kind: &[u8; 4]) -> usize {
    let mut pos = 0;
    while pos + 8 <= b.len() {
        let size = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        if &b[pos + 4..pos + 8] == kind {
            return pos;
        }
        pos += size;
    }
    panic!("no {kind:?} box");
}

#[test]
fn mp4_cut_before_its_index_is_truncated() {
    // meeting_video.mp4 keeps `moov` after `mdat` (ffmpeg's default layout).
    let b = bytes("meeting_video.mp4");
    let moov = box_offset(&b, b"moov");
    assert!(moov > box_offset(&b, b"mdat"));
    let err = analyse(Cursor::new(b[..moov].to_vec()), "mp4").unwrap_err();
    assert!(
        matches!(&err, MediaError::Truncated(m) if m.contains("moov")),
        "{err:?}"
    );
    // Cut inside the moov header.
    let err = analyse(Cursor::new(b[..moov + 5].to_vec()), "mp4").unwrap_err();
    assert!(matches!(err, MediaError::Truncated(_)), "{err:?}");
}

fn pseudo_random(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn non_media_bodies_are_not_media() {
    let html = b"<!DOCTYPE html>\n<html><head><title>Sign In | Zoom</title></head>\
<body><form action=\"/signin\" method=\"post\"></form></body></html>\n"
        .to_vec();
    let json = br#"{"code":124,"message":"Invalid access token."}"#.to_vec();
    let json_array = b"  [{\"seq\":1}]".to_vec();
    let text = b"00:00:01\t From Alice to Everyone:\thello\n".repeat(100);
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        ("html", html),
        ("json", json),
        ("json array", json_array),
        ("text", text),
        ("empty", Vec::new()),
    ];
    for seed in 1..=4u64 {
        bodies.push(("random", pseudo_random(200_000, seed * 0x9E37_79B9)));
    }
    for (what, body) in bodies {
        for ext in ["mp3", "m4a", "mp4", ""] {
            match analyse(Cursor::new(body.clone()), ext) {
                Err(MediaError::NotMedia(msg)) => assert!(!msg.is_empty()),
                other => panic!("{what} as {ext:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn other_containers_are_unsupported() {
    // A 44-byte WAV header plus 1000 zero samples.
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&(36u32 + 2000).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0]);
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&[2, 0, 16, 0]);
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&2000u32.to_le_bytes());
    wav.extend_from_slice(&[0; 2000]);
    let err = analyse(Cursor::new(wav), "wav").unwrap_err();
    assert!(
        matches!(&err, MediaError::Unsupported(m) if m.contains("WAV")),
        "{err:?}"
    );
}

#[test]
fn corrupt_middle_is_skipped_and_counted() {
    // Overwrite 2 KB in the middle of the MP3 with garbage: the decoder resyncs.
    let mut b = bytes("phone_tone_silence.mp3");
    let mid = b.len() / 2;
    b[mid..mid + 2048].copy_from_slice(&pseudo_random(2048, 7));
    match analyse(Cursor::new(b), "mp3") {
        Ok(r) => {
            close("duration", r.duration_secs, 20.0, 0.5);
            eprintln!("decode errors: {}", r.decode_errors);
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn missing_file_is_io() {
    let err = analyse_path("/nonexistent/x.mp3").unwrap_err();
    assert!(
        matches!(&err, MediaError::Io(m) if m.contains("/nonexistent/x.mp3")),
        "{err:?}"
    );
}

/// The phone fixture without its Xing/Info frame (no declared frame count, like a plain CBR
/// stream): `(bytes, offset of the first audio frame)`.
fn mp3_without_xing() -> (Vec<u8>, usize) {
    let b = bytes("phone_tone_silence.mp3");
    assert_eq!(&b[..3], b"ID3");
    let tag = 10
        + b[6..10]
            .iter()
            .fold(0usize, |n, &x| (n << 7) | usize::from(x & 0x7F));
    // MPEG-1 Layer III, 48 kHz: 144 × bitrate / 48000 (+ padding) bytes.
    let h = &b[tag..tag + 4];
    assert_eq!((h[0], h[1] & 0xFE), (0xFF, 0xFA));
    let kbps = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ][usize::from(h[2] >> 4)];
    let len = 144 * kbps * 1000 / 48_000 + usize::from((h[2] >> 1) & 1);
    assert!(
        b[tag..tag + len]
            .windows(4)
            .any(|w| w == b"Xing" || w == b"Info")
    );
    let mut out = b[..tag].to_vec();
    out.extend_from_slice(&b[tag + len..]);
    (out, tag)
}

#[test]
fn mp3_without_frame_count_cut_mid_frame_is_truncated() {
    let (b, _) = mp3_without_xing();
    let r = analyse(Cursor::new(b.clone()), "mp3").expect("whole stream decodes");
    // Without the Info frame there is no gapless trimming: encoder delay and padding remain.
    close("duration", r.duration_secs, 20.0, DURATION_TOL);
    for keep in [0.6, 0.8, 0.95] {
        let cut = b[..(b.len() as f64 * keep) as usize].to_vec();
        match analyse(Cursor::new(cut), "mp3") {
            Err(MediaError::Truncated(msg)) => eprintln!("no Xing, cut at {keep}: {msg}"),
            other => panic!("cut at {keep}: {other:?}"),
        }
    }
}

/// Waveform peaks from the same pass: one (min, max) pair per 20 ms, large where the tone
/// plays (ffmpeg's sine is ±1/8 of full scale: ±16 of 127), zero in the digital silence.
#[test]
fn peaks_follow_tone_and_silence() {
    let r = report("phone_tone_silence.mp3");
    let p = &r.peaks;
    assert_eq!(p.window_ms, 20);
    assert_eq!(p.sample_rate, 48_000);
    let want = (r.duration_secs * 1000.0 / 20.0).ceil() as usize;
    assert_eq!(p.pairs.len(), want, "duration {}", r.duration_secs);
    assert!(
        (p.pairs.len() as i64 - 1000).abs() <= 2,
        "{}",
        p.pairs.len()
    );
    let window = |secs: f64| (secs * 50.0) as usize;
    for (from, to, loud) in [(0.2, 4.8, true), (5.2, 9.8, false), (10.2, 19.8, true)] {
        for (i, &(lo, hi)) in p.pairs[window(from)..window(to)].iter().enumerate() {
            let at = from + i as f64 * 0.02;
            if loud {
                assert!(hi >= 14 && lo <= -14, "tone at {at:.2} s: ({lo}, {hi})");
                assert!(hi <= 17 && lo >= -17, "tone at {at:.2} s: ({lo}, {hi})");
            } else {
                assert!(
                    hi.abs() <= 1 && lo.abs() <= 1,
                    "silence at {at:.2} s: ({lo}, {hi})"
                );
            }
        }
    }
    // The sidecar encoding holds exactly these pairs.
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), 16 + 2 * p.pairs.len());
    assert_eq!(&archiver_core::Peaks::from_bytes(&bytes).unwrap(), p);
}

#[test]
fn peaks_of_meeting_audio_and_video() {
    let a = report("meeting_audio.m4a");
    assert_eq!(a.peaks.sample_rate, 32_000);
    assert_eq!(
        a.peaks.pairs.len(),
        (a.duration_secs * 50.0).ceil() as usize
    );
    // Party A: tone 0-6 s, silence 6-10 s.
    assert!(a.peaks.pairs[100].1 > 10, "{:?}", a.peaks.pairs[100]);
    assert!(a.peaks.pairs[400].1.abs() <= 1, "{:?}", a.peaks.pairs[400]);
    let v = report("meeting_video.mp4");
    assert!(
        (v.peaks.pairs.len() as i64 - 200).abs() <= 4,
        "{}",
        v.peaks.pairs.len()
    );
    assert!(
        v.peaks
            .pairs
            .iter()
            .skip(10)
            .take(150)
            .all(|&(lo, hi)| hi > 10 && lo < -10)
    );
}
