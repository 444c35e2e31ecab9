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
    /// Meetings API, Resource-intensive (`/metrics/meetings`: 20 a minute on Business+;
    /// shares the daily budget with Heavy).
    ResourceIntensive,
    /// Zoom Phone API, Light (`/phone/call_history/{uuid}`; a separate table at Zoom).
    PhoneLight,
    /// Zoom Phone API, Medium (`/phone/recordings`).
    PhoneMedium,
    /// Zoom Phone API, Heavy (`/phone/call_history`, `/phone/call_logs`; daily budget).
    PhoneHeavy,
}

impl Bucket {
    /// Key in [`crate::ZoomClient::rate_limit_snapshot`] when Zoom does not name the category.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Bucket::Light => "Light",
            Bucket::Medium => "Medium",
            Bucket::Heavy => "Heavy",
            Bucket::ResourceIntensive => "Resource-intensive",
            Bucket::PhoneLight => "Light",
            Bucket::PhoneMedium => "Medium",
            Bucket::PhoneHeavy => "Heavy",
        }
    }

    /// Prefix separating the Phone table from the Meetings one in snapshot keys.
    pub(crate) fn table_prefix(self) -> &'static str {
        match self {
            Bucket::PhoneLight | Bucket::PhoneMedium | Bucket::PhoneHeavy => "phone:",
            Bucket::Light | Bucket::Medium | Bucket::Heavy | Bucket::ResourceIntensive => "",
        }
    }
}

/// A GCRA pacer without bursts: calls are spaced `period / n` apart, in arrival order.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Option<Duration>,
    tat: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `n` calls per `period`, evenly spaced; `n == 0` (or a zero period) disables pacing.
    pub(crate) fn new(n: u32, period: Duration) -> Self {
        let interval = (n > 0 && !period.is_zero()).then(|| period / n);
        Pacer {
            interval,
            tat: Mutex::new(None),
        }
    }

    /// `n` calls a second (0 disables).
    pub(crate) fn per_second(n: u32) -> Self {
        Self::new(n, Duration::from_secs(1))
    }

    /// `n` calls a minute (0 disables).
    pub(crate) fn per_minute(n: u32) -> Self {
        Self::new(n, Duration::from_secs(60))
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
        let p = Pacer::per_second(10);
        let start = Instant::now();
        for _ in 0..5 {
            p.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_millis(450),
            "{took:?}"
        );
        let off = Pacer::per_second(0);
        let start = Instant::now();
        for _ in 0..100 {
            off.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_per_minute() {
        let p = Pacer::per_minute(20);
        let start = Instant::now();
        // The first call goes at once, the next ones 3 s apart.
        p.acquire().await;
        assert!(start.elapsed() < Duration::from_millis(1));
        for _ in 0..4 {
            p.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_secs(12) && took < Duration::from_millis(12_050),
            "{took:?}"
        );
        // After a pause longer than the interval, a call goes at once again (no burst credit
        // beyond one slot).
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        p.acquire().await;
        assert!(start.elapsed() < Duration::from_millis(1));
        p.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        let off = Pacer::per_minute(0);
        let start = Instant::now();
        for _ in 0..100 {
            off.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        assert!(Pacer::new(5, Duration::ZERO).interval.is_none());
    }
}
