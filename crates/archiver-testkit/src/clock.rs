use archiver_core::Clock;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A step a [`ManualClock`] can advance by: a `chrono::Duration` or a `std::time::Duration`.
pub trait ClockStep {
    /// The step as a chrono duration.
    fn to_chrono(self) -> chrono::Duration;
}

impl ClockStep for chrono::Duration {
    fn to_chrono(self) -> chrono::Duration {
        self
    }
}

impl ClockStep for Duration {
    fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self).unwrap_or(chrono::Duration::MAX)
    }
}

/// A clock that moves only when told to. Clones share the same time.
///
/// [`Clock::sleep`] advances the clock by the requested duration and yields to the runtime
/// instead of waiting, so tests can run days of retries in milliseconds.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// Moves the time forward by `d` (a `chrono::Duration` or a `std::time::Duration`).
    pub fn advance(&self, d: impl ClockStep) {
        let d = d.to_chrono();
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now
            .checked_add_signed(d)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
    }

    /// The current time (same as [`Clock::now`]).
    pub fn time(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for ManualClock {
    /// A clock showing 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::new(crate::fixtures::t0())
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.time()
    }

    async fn sleep(&self, d: Duration) {
        self.advance(d);
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advances_and_sleeps_without_waiting() {
        let c = ManualClock::new(crate::fixtures::t0());
        let c2 = c.clone();
        c.advance(chrono::Duration::seconds(5));
        c.advance(Duration::from_millis(500));
        assert_eq!(
            c2.now(),
            crate::fixtures::t0() + chrono::Duration::milliseconds(5500)
        );
        let started = std::time::Instant::now();
        c2.sleep(Duration::from_secs(3600)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(
            c.now(),
            crate::fixtures::t0() + chrono::Duration::milliseconds(3_605_500)
        );
        c.set(crate::fixtures::t0());
        assert_eq!(c2.now(), crate::fixtures::t0());
    }
}
