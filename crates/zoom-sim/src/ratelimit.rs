//! Zoom account-level rate limits (Business+ table): per-category token buckets plus the
//! shared Heavy + Resource-intensive daily budget resetting at 00:00 UTC (by the sim clock).
//!
//! Per-second buckets run on real monotonic time (a frozen manual clock must not block
//! traffic); the daily budget follows the [`crate::SimClock`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::scenario::SimOptions;

/// Which Zoom rate-limit table applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    Main,
    Phone,
}

/// Zoom rate-limit label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Category {
    Light,
    Medium,
    Heavy,
    ResourceIntensive,
}

impl Category {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Category::Light => "Light",
            Category::Medium => "Medium",
            Category::Heavy => "Heavy",
            Category::ResourceIntensive => "Resource-intensive",
        }
    }

    /// (requests, per seconds) for a table.
    fn base(self, table: Table) -> (f64, f64) {
        match (table, self) {
            (Table::Main, Category::Light) => (80.0, 1.0),
            (Table::Main, Category::Medium) => (60.0, 1.0),
            (Table::Main, Category::Heavy) => (40.0, 1.0),
            (Table::Main, Category::ResourceIntensive) => (20.0, 60.0),
            (Table::Phone, Category::Light) => (40.0, 1.0),
            (Table::Phone, Category::Medium) => (20.0, 1.0),
            (Table::Phone, Category::Heavy) => (10.0, 1.0),
            (Table::Phone, Category::ResourceIntensive) => (10.0, 60.0),
        }
    }

    fn daily(self) -> bool {
        matches!(self, Category::Heavy | Category::ResourceIntensive)
    }
}

/// Outcome of a rate-limit check.
#[derive(Clone, Debug)]
pub(crate) enum Decision {
    /// Allowed; headers report the per-period limit and what is left.
    Allowed { limit: u64, remaining: u64 },
    /// Over the per-second (or per-minute) limit.
    Qps { limit: u64 },
    /// Over the daily budget; retry at `reset`.
    Daily { limit: u64, reset: DateTime<Utc> },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Limiter state for all accounts.
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<(usize, Table, Category), Bucket>>,
    daily: Mutex<HashMap<(usize, Table), (NaiveDate, u64)>>,
}

/// Next 00:00:00 UTC after `now`.
pub(crate) fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    (now.date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

impl RateLimiter {
    /// Effective per-period limit.
    pub(crate) fn limit(opts: &SimOptions, table: Table, cat: Category) -> u64 {
        let (n, _) = cat.base(table);
        ((n * opts.rate_limit_scale).round() as u64).max(1)
    }

    fn daily_limit(opts: &SimOptions, table: Table) -> u64 {
        let base = match table {
            Table::Main => opts.daily_limit,
            Table::Phone => opts.phone_daily_limit,
        };
        ((base as f64 * opts.rate_limit_scale).round() as u64).max(1)
    }

    /// Checks and consumes one request of `account` in `(table, cat)`.
    pub(crate) fn check(
        &self,
        opts: &SimOptions,
        account: usize,
        table: Table,
        cat: Category,
        now: DateTime<Utc>,
    ) -> Decision {
        let limit = Self::limit(opts, table, cat);
        if !opts.rate_limits {
            return Decision::Allowed {
                limit,
                remaining: limit,
            };
        }
        let today = now.date_naive();
        if cat.daily() {
            let daily = self.daily.lock().unwrap_or_else(|e| e.into_inner());
            let dl = Self::daily_limit(opts, table);
            let used = match daily.get(&(account, table)) {
                Some((day, used)) if *day == today => *used,
                _ => 0,
            };
            if used >= dl {
                return Decision::Daily {
                    limit: dl,
                    reset: next_midnight(now),
                };
            }
        }
        let (_, per) = cat.base(table);
        let rate = limit as f64 / per;
        let remaining = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let b = buckets.entry((account, table, cat)).or_insert(Bucket {
                tokens: limit as f64,
                last: Instant::now(),
            });
            let t = Instant::now();
            b.tokens = (b.tokens + t.duration_since(b.last).as_secs_f64() * rate).min(limit as f64);
            b.last = t;
            if b.tokens < 1.0 {
                return Decision::Qps { limit };
            }
            b.tokens -= 1.0;
            b.tokens.floor() as u64
        };
        if cat.daily() {
            let mut daily = self.daily.lock().unwrap_or_else(|e| e.into_inner());
            let e = daily.entry((account, table)).or_insert((today, 0));
            if e.0 != today {
                *e = (today, 0);
            }
            e.1 += 1;
        }
        Decision::Allowed { limit, remaining }
    }
}
