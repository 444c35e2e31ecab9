//! Zoom's answers the client reads before trusting them: `Content-Range` values, 429
//! headers and bodies, error bodies. Never a panic; a parsed range is consistent; a retry
//! hint never asks for more than `RetryHint::MAX_WAIT`.
#![no_main]
use archiver_core::RetryHint;
use archiver_zoom::fuzzing::{content_range, error_answer, rate_limit_hint};
use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;

type Input<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16, i64);

fuzz_target!(|input: Input<'_>| {
    let (range, headers, body, status, secs) = input;
    if let Some((start, end, total)) = content_range(range) {
        assert!(start <= end);
        assert!(total.is_none_or(|t| end < t));
    }
    // Any time in chrono's range (clamped so that `now` itself is valid).
    let now = chrono::Utc
        .timestamp_opt(secs.clamp(-8_000_000_000_000, 8_000_000_000_000), 0)
        .single()
        .unwrap_or_else(chrono::Utc::now);
    if let Some(hint) = rate_limit_hint(&headers, body, now) {
        assert!(hint.wait_from(now) <= RetryHint::MAX_WAIT);
        let until = hint.until(now);
        assert!(until >= now);
    }
    if let Some((_, message)) = error_answer(status, body) {
        assert!(message.len() <= 64 * 1024 || body.len() > 64 * 1024);
    }
});
