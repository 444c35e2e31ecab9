use archiver_core::{MetaError, ReviewGrant, Reviewer, ReviewerStore};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
struct Inner {
    users: BTreeMap<String, Reviewer>,
    tokens: BTreeMap<String, String>,
    grants: BTreeMap<String, Vec<ReviewGrant>>,
}

/// Review accounts, token hashes and grants in memory.
#[derive(Default)]
pub struct MemReviewerStore {
    inner: Mutex<Inner>,
}

impl MemReviewerStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl ReviewerStore for MemReviewerStore {
    async fn insert(&self, r: &Reviewer) -> Result<bool, MetaError> {
        Ok(self.with(|i| {
            if i.users.contains_key(&r.name) {
                return false;
            }
            i.users.insert(r.name.clone(), r.clone());
            true
        }))
    }

    async fn get(&self, name: &str) -> Result<Option<Reviewer>, MetaError> {
        Ok(self.with(|i| i.users.get(name).cloned()))
    }

    async fn list(&self) -> Result<Vec<Reviewer>, MetaError> {
        Ok(self.with(|i| i.users.values().cloned().collect()))
    }

    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<bool, MetaError> {
        Ok(self.with(|i| match i.users.get_mut(name) {
            Some(u) => {
                u.password_hash = password_hash.to_string();
                u.must_change_password = must_change;
                true
            }
            None => false,
        }))
    }

    async fn add_token(&self, name: &str, token_sha256: &str) -> Result<(), MetaError> {
        self.with(|i| {
            i.tokens
                .entry(token_sha256.to_string())
                .or_insert_with(|| name.to_string());
        });
        Ok(())
    }

    async fn by_token(&self, token_sha256: &str) -> Result<Option<Reviewer>, MetaError> {
        Ok(self.with(|i| {
            i.tokens
                .get(token_sha256)
                .and_then(|n| i.users.get(n))
                .cloned()
        }))
    }

    async fn grant(&self, name: &str, grant: &ReviewGrant) -> Result<(), MetaError> {
        self.with(|i| {
            let g = i.grants.entry(name.to_string()).or_default();
            if !g.contains(grant) {
                g.push(grant.clone());
            }
        });
        Ok(())
    }

    async fn grants(&self, name: &str) -> Result<Vec<ReviewGrant>, MetaError> {
        Ok(self.with(|i| {
            let mut out = i.grants.get(name).cloned().unwrap_or_default();
            out.sort_by_key(|g| (g.tenant.to_string(), g.user.clone().unwrap_or_default()));
            out
        }))
    }
}
