//! Peak memory while analysing a long MP3 stays bounded (streaming decode).
//!
//! The phone fixture concatenated N times (MPEG frames concatenate validly; the extra ID3
//! tags and Info frames in between are skipped by the demuxer) is analysed from a temp file
//! and the process's peak RSS (`VmHWM` in `/proc/self/status`) is compared before and after.
//! This file holds only these tests so no other test's allocations pollute the peak; the
//! default run uses 15 copies (≈ 300 s, 1.7 MB), the ignored one 200 (≈ 4000 s, 22 MB):
//!
//! `cargo test -p archiver-media --profile bench-fast --test memory -- --ignored --nocapture`
//! (or without `--profile`: about 2 minutes in a debug build). Measured: +2.2 MiB peak RSS
//! for both 15 copies (1.7 MB) and 200 copies (22 MB, 4008 s of audio).

use std::io::Write;
use std::path::PathBuf;

/// Peak-RSS growth allowed while analysing, whatever the file size.
const MAX_GROWTH_KIB: u64 = 10 * 1024;

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn long_mp3(copies: usize) -> tempfile::NamedTempFile {
    let one = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../zoom-sim/fixtures/phone_tone_silence.mp3"),
    )
    .expect("fixture");
    let mut f = tempfile::Builder::new()
        .suffix(".mp3")
        .tempfile()
        .expect("temp file");
    for _ in 0..copies {
        f.write_all(&one).expect("write");
    }
    f.flush().expect("flush");
    f
}

fn run(copies: usize) {
    let file = long_mp3(copies);
    let size = std::fs::metadata(file.path()).expect("metadata").len();
    let Some(before) = status_kib("VmHWM:") else {
        eprintln!("no /proc/self/status: skipping the memory measurement");
        return;
    };
    let t = std::time::Instant::now();
    let r = archiver_media::analyse_path(file.path()).expect("long MP3 analyses");
    let secs = t.elapsed().as_secs_f64();
    let after = status_kib("VmHWM:").expect("VmHWM");
    let growth = after.saturating_sub(before);
    eprintln!(
        "{copies} copies: {size} bytes, {:.1} s of audio decoded in {secs:.2} s ({:.0}x real time); \
         VmHWM {before} KiB -> {after} KiB (+{growth} KiB)",
        r.duration_secs,
        r.duration_secs / secs
    );
    // Each copy is 20 s; at each inner joint the encoder delay and padding (16 ms) and the
    // next copy's Info frame (24 ms of silence) are kept.
    let want = copies as f64 * 20.0;
    assert!(
        (r.duration_secs - want).abs() <= 0.1 + copies as f64 * 0.05,
        "duration {} vs {want}",
        r.duration_secs
    );
    assert!(
        (r.silence_ratio - 0.25).abs() <= 0.03,
        "{}",
        r.silence_ratio
    );
    assert!(
        (r.longest_silence_secs - 5.0).abs() <= 0.15,
        "{}",
        r.longest_silence_secs
    );
    assert_eq!(r.activity.len(), (r.duration_secs * 10.0).ceil() as usize);
    assert!(
        growth < MAX_GROWTH_KIB,
        "peak RSS grew by {growth} KiB analysing a {size}-byte file"
    );
}

#[test]
fn long_mp3_memory_is_bounded() {
    run(15);
}

#[test]
#[ignore = "slow in debug builds; run with --profile bench-fast -- --ignored"]
fn long_mp3_200x_memory_is_bounded() {
    run(200);
}
