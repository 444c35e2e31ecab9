use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Time, injectable so that tests and simulations can run days in milliseconds.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current UTC time.
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `d` (a manual clock advances itself instead of waiting).
    async fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}
