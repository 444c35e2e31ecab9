use archiver_core::{AuditEntry, AuditLog, MetaError, TenantId};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// `(tenant, seq)`: one tenant's entries are adjacent, in chain order.
type Key = (String, u64);

/// An in-memory [`AuditLog`]. Clones share the same entries.
///
/// `try_append` checks and inserts under one lock, so it is atomic. For tests, an entry can
/// be altered ([`MemAuditLog::tamper`]) or removed ([`MemAuditLog::remove`]) behind the
/// chain's back, as an intruder with write access to a store would.
#[derive(Clone, Default)]
pub struct MemAuditLog {
    inner: Arc<Mutex<BTreeMap<Key, AuditEntry>>>,
}

impl MemAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, AuditEntry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every entry of `tenant`, in order.
    pub fn entries(&self, tenant: &TenantId) -> Vec<AuditEntry> {
        let lo = (tenant.to_string(), 0);
        self.lock()
            .range(lo..)
            .take_while(|((t, _), _)| t == tenant.as_str())
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Changes the stored entry `seq` of `tenant` with `f` (its `hash` is left as it was,
    /// unless `f` changes it). False when there is no such entry.
    pub fn tamper(&self, tenant: &TenantId, seq: u64, f: impl FnOnce(&mut AuditEntry)) -> bool {
        match self.lock().get_mut(&(tenant.to_string(), seq)) {
            Some(e) => {
                f(e);
                true
            }
            None => false,
        }
    }

    /// Deletes the stored entry `seq` of `tenant`. False when there is no such entry.
    pub fn remove(&self, tenant: &TenantId, seq: u64) -> bool {
        self.lock().remove(&(tenant.to_string(), seq)).is_some()
    }
}

impl std::fmt::Debug for MemAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemAuditLog")
            .field("entries", &self.lock().len())
            .finish()
    }
}

#[async_trait]
impl AuditLog for MemAuditLog {
    async fn try_append(&self, entry: &AuditEntry) -> Result<bool, MetaError> {
        let mut g = self.lock();
        let key = (entry.draft.tenant.to_string(), entry.seq);
        if g.contains_key(&key) {
            return Ok(false);
        }
        g.insert(key, entry.clone());
        Ok(true)
    }

    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditEntry>, MetaError> {
        let lo = (tenant.to_string(), 0);
        let hi = (tenant.to_string(), u64::MAX);
        Ok(self
            .lock()
            .range(lo..=hi)
            .next_back()
            .map(|(_, e)| e.clone()))
    }

    async fn list(
        &self,
        tenant: &TenantId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, MetaError> {
        let lo = (tenant.to_string(), from_seq);
        let hi = (tenant.to_string(), u64::MAX);
        Ok(self
            .lock()
            .range(lo..=hi)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}
