//! In-process pacing per rate-limit category, and the last rate-limit headers seen.

use archiver_core::RetryHint;
use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The rate-limit bucket of an API endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bucket {
    /// Meetings API, Light.
    Light,
    /// Meetings API, Medium.
    Medium,
    /// Meetings API, Heavy (`/metrics/meetings/{id}/participants`; shares the daily budget).
    Heavy,
    /// Zoom Phone API, Medium (a separate table at Zoom).
    PhoneMedium,
}

impl Bucket {
    /// Key in [`crate::ZoomClient::rate_limit_snapshot`] when Zoom does not name the category.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Bucket::Light => "Light",
            Bucket::Medium => "Medium",
            Bucket::Heavy => "Heavy",
            Bucket::PhoneMedium => "Medium",
        }
    }

    /// Prefix separating the Phone table from the Meetings one in snapshot keys.
    pub(crate) fn table_prefix(self) -> &'static str {
        match self {
            Bucket::PhoneMedium => "phone:",
            _ => "",
        }
    }
}

/// A GCRA pacer without bursts: calls are spaced `1/rate` apart, in arrival order.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Option<Duration>,
    tat: Mutex<Option<Instant>>,
}

impl Pacer {
    pub(crate) fn new(per_second: u32) -> Self {
        let interval = (per_second > 0).then(|| Duration::from_secs(1) / per_second);
        Pacer {
            interval,
            tat: Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    pub(crate) async fn acquire(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let wait = {
            let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = tat.map_or(now, |t| t.max(now));
            *tat = Some(slot + interval);
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The rate-limit state Zoom last reported for one category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// `X-RateLimit-Limit`, when sent.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`, when sent.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Type` of the last response that carried one (`QPS`, `Daily-limit`).
    pub kind: Option<String>,
    /// The hint of the last 429 of this category (kept until a later success).
    pub retry_after: Option<RetryHint>,
    /// When these headers were received.
    pub observed_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls() {
        let p = Pacer::new(10);
        let start = Instant::now();
        for _ in 0..5 {
            p.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_millis(450),
            "{took:?}"
        );
        let off = Pacer::new(0);
        let start = Instant::now();
        for _ in 0..100 {
            off.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
    }
}
