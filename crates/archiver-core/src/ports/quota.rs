use crate::ports::meta::MetaError;
use async_trait::async_trait;
use chrono::NaiveDate;

/// Counts Zoom API calls per account, counter key and UTC day, shared by every process.
///
/// Zoom's heavy APIs share a daily request budget per account (for example 60,000 calls a
/// day for the Heavy and Resource-intensive categories on Business and above), reset at
/// 00:00 UTC. The archiver counts its own calls here, before making them, and refuses a call
/// that would go over a limit, even when many processes (Lambda instances) call at once.
///
/// A counter is named by `(account, key, day)`:
/// - `account`: the Zoom account whose budget is spent;
/// - `key`: what is counted, a rate-limit category (`Heavy`) or a budget pool
///   (`pool:meetings`); any string;
/// - `day`: the UTC calendar day the calls belong to.
///
/// Contract (checked by `archiver_testkit::conformance::quota_ledger`):
/// - **Exact**: a counter is a non-negative integer, 0 until first written; every successful
///   [`try_add`](Self::try_add) adds exactly `n`, nothing else changes it except
///   [`raise_to`](Self::raise_to).
/// - **Atomic**: the check against the limit and the addition are one step. Concurrent
///   `try_add`s on one counter, from any number of tasks or processes, never together take it
///   above the limit they were given: with a limit of 100 and 1,000 concurrent calls of 1,
///   exactly 100 succeed. A refused call changes nothing.
/// - **Independent**: counters of different accounts, keys or days never affect each other.
/// - **Monotonic within a day**: no operation lowers a counter.
///
/// Retention: counters are only needed on their own day (and briefly after, for reports).
/// Stores may expire counters of past days; the DynamoDB store lets TTL delete them about
/// 8 days after their day. A read of an expired counter returns 0, as for one never written.
///
/// Range: a store may cap counters at `i64::MAX` (SQLite's integers); a `try_add` that would
/// go beyond the store's range is refused like one over its limit.
#[async_trait]
pub trait QuotaLedger: Send + Sync {
    /// Adds `n` to the counter `(account, key, day)` when the result stays at or below
    /// `limit` (no limit: always). Returns the new value, or `None` when refused (nothing
    /// changed). `n` larger than `limit` is always refused; `n = 0` returns the current value
    /// when it is within the limit (and may create the counter at 0).
    async fn try_add(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        n: u64,
        limit: Option<u64>,
    ) -> Result<Option<u64>, MetaError>;

    /// Raises the counter to at least `floor` (never lowers it); returns the value after.
    ///
    /// For aligning the ledger with what Zoom reports as already used (for example from the
    /// rate-limit headers of a response), which may include calls made by other clients.
    async fn raise_to(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        floor: u64,
    ) -> Result<u64, MetaError>;

    /// The counter's value (0 when never written, or expired).
    async fn get(&self, account: &str, key: &str, day: NaiveDate) -> Result<u64, MetaError>;

    /// Every counter of `account` on `day`, as `(key, value)`, sorted by key.
    async fn list(&self, account: &str, day: NaiveDate) -> Result<Vec<(String, u64)>, MetaError>;
}
