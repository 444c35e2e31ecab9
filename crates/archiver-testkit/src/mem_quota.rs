use archiver_core::{MetaError, QuotaLedger};
use async_trait::async_trait;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// `(account, day, key)`: one account's counters of one day are adjacent, in key order.
type Key = (String, NaiveDate, String);

/// An in-memory [`QuotaLedger`]. Clones share the same counters.
///
/// Every call holds one lock for its whole check-and-update, so it is atomic. Counters are
/// never expired. Like the SQLite store, counters are capped at `i64::MAX`.
#[derive(Clone, Default)]
pub struct MemQuotaLedger {
    inner: Arc<Mutex<BTreeMap<Key, u64>>>,
}

const MAX: u64 = i64::MAX as u64;

impl MemQuotaLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, u64>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every counter (any account, key and day), as `((account, day, key), value)` in that
    /// order.
    pub fn all(&self) -> Vec<((String, NaiveDate, String), u64)> {
        self.lock().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

impl std::fmt::Debug for MemQuotaLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemQuotaLedger")
            .field("counters", &self.lock().len())
            .finish()
    }
}

fn counter(account: &str, key: &str, day: NaiveDate) -> Key {
    (account.to_string(), day, key.to_string())
}

#[async_trait]
impl QuotaLedger for MemQuotaLedger {
    async fn try_add(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        n: u64,
        limit: Option<u64>,
    ) -> Result<Option<u64>, MetaError> {
        let limit = limit.unwrap_or(MAX).min(MAX);
        if n > limit {
            return Ok(None);
        }
        let mut g = self.lock();
        let used = g.entry(counter(account, key, day)).or_insert(0);
        if *used > limit - n {
            return Ok(None);
        }
        *used += n;
        Ok(Some(*used))
    }

    async fn raise_to(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        floor: u64,
    ) -> Result<u64, MetaError> {
        let mut g = self.lock();
        let used = g.entry(counter(account, key, day)).or_insert(0);
        *used = (*used).max(floor.min(MAX));
        Ok(*used)
    }

    async fn get(&self, account: &str, key: &str, day: NaiveDate) -> Result<u64, MetaError> {
        Ok(self
            .lock()
            .get(&counter(account, key, day))
            .copied()
            .unwrap_or(0))
    }

    async fn list(&self, account: &str, day: NaiveDate) -> Result<Vec<(String, u64)>, MetaError> {
        let lo = (account.to_string(), day, String::new());
        Ok(self
            .lock()
            .range(lo..)
            .take_while(|((a, d, _), _)| a == account && *d == day)
            .map(|((_, _, k), v)| (k.clone(), *v))
            .collect())
    }
}
