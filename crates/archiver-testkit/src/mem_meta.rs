use archiver_core::{
    Cdr, CdrQuery, ConversationRef, Cursor, FileQuery, FileRecord, MetaError, MetaStore, Source,
    TenantId, TextDoc, text_contains_words,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Inner {
    files: BTreeMap<(TenantId, Source, String), FileRecord>,
    cdrs: BTreeMap<(TenantId, String), Cdr>,
    cursors: BTreeMap<(TenantId, Source), Cursor>,
    leases: HashMap<String, (String, DateTime<Utc>)>,
    memos: HashMap<(TenantId, String), (String, DateTime<Utc>)>,
    /// Indexed document text per (tenant, source, file id): (conversation id, text).
    texts: BTreeMap<(TenantId, Source, String), (String, String)>,
}

/// An in-memory [`MetaStore`]. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemMetaStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemMetaStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every stored file record (any tenant), in key order.
    pub fn all_files(&self) -> Vec<FileRecord> {
        self.lock().files.values().cloned().collect()
    }

    /// Every stored CDR (any tenant), in key order.
    pub fn all_cdrs(&self) -> Vec<Cdr> {
        self.lock().cdrs.values().cloned().collect()
    }

    /// The holder and expiry of the lease `name`, if one was ever taken and not released.
    pub fn lease(&self, name: &str) -> Option<(String, DateTime<Utc>)> {
        self.lock().leases.get(name).cloned()
    }
}

impl std::fmt::Debug for MemMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("MemMetaStore")
            .field("files", &g.files.len())
            .field("cdrs", &g.cdrs.len())
            .finish()
    }
}

fn file_key(tenant: &TenantId, source: Source, file_id: &str) -> (TenantId, Source, String) {
    (tenant.clone(), source, file_id.to_string())
}

#[async_trait]
impl MetaStore for MemMetaStore {
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError> {
        let mut g = self.lock();
        let k = file_key(&rec.tenant, rec.source, &rec.file_id);
        if g.files.contains_key(&k) {
            return Ok(false);
        }
        let mut stored = rec.clone();
        stored.version = 1;
        g.files.insert(k, stored);
        Ok(true)
    }

    async fn get_file(
        &self,
        tenant: &TenantId,
        source: Source,
        file_id: &str,
    ) -> Result<Option<FileRecord>, MetaError> {
        Ok(self
            .lock()
            .files
            .get(&file_key(tenant, source, file_id))
            .cloned())
    }

    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError> {
        let mut g = self.lock();
        let k = file_key(&rec.tenant, rec.source, &rec.file_id);
        match g.files.get_mut(&k) {
            Some(cur) if cur.version == rec.version => {
                let mut stored = rec.clone();
                stored.version = rec.version + 1;
                *cur = stored.clone();
                Ok(stored)
            }
            _ => Err(MetaError::Conflict(format!(
                "file {}/{}/{}",
                rec.tenant, rec.source, rec.file_id
            ))),
        }
    }

    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError> {
        let g = self.lock();
        let mut out: Vec<FileRecord> = g
            .files
            .values()
            .filter(|r| q.tenant.as_ref().is_none_or(|t| &r.tenant == t))
            .filter(|r| q.state.is_none_or(|s| r.state.name() == s))
            .filter(|r| !q.unqueued_only || !r.queued)
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            (a.first_seen, &a.file_id, &a.tenant, a.source).cmp(&(
                b.first_seen,
                &b.file_id,
                &b.tenant,
                b.source,
            ))
        });
        Ok(out)
    }

    async fn insert_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        let mut g = self.lock();
        let k = (cdr.tenant.clone(), cdr.cdr_id.clone());
        if g.cdrs.contains_key(&k) {
            return Ok(false);
        }
        let mut stored = cdr.clone();
        stored.version = 1;
        g.cdrs.insert(k, stored);
        Ok(true)
    }

    async fn get_cdr(&self, tenant: &TenantId, cdr_id: &str) -> Result<Option<Cdr>, MetaError> {
        Ok(self
            .lock()
            .cdrs
            .get(&(tenant.clone(), cdr_id.to_string()))
            .cloned())
    }

    async fn update_cdr(&self, cdr: &Cdr) -> Result<Cdr, MetaError> {
        let mut g = self.lock();
        match g.cdrs.get_mut(&(cdr.tenant.clone(), cdr.cdr_id.clone())) {
            Some(cur) if cur.version == cdr.version => {
                let mut stored = cdr.clone();
                stored.version = cdr.version + 1;
                *cur = stored.clone();
                Ok(stored)
            }
            _ => Err(MetaError::Conflict(format!(
                "cdr {}/{}",
                cdr.tenant, cdr.cdr_id
            ))),
        }
    }

    async fn delete_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        let mut g = self.lock();
        let key = (cdr.tenant.clone(), cdr.cdr_id.clone());
        match g.cdrs.get(&key) {
            None => Ok(false),
            Some(cur) if cur.version == cdr.version => {
                g.cdrs.remove(&key);
                Ok(true)
            }
            Some(_) => Err(MetaError::Conflict(format!(
                "cdr {}/{}",
                cdr.tenant, cdr.cdr_id
            ))),
        }
    }

    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError> {
        let g = self.lock();
        let mut out: Vec<Cdr> = g.cdrs.values().filter(|c| q.matches(c)).cloned().collect();
        out.sort_by(|a, b| {
            (a.start_time, &a.cdr_id, &a.tenant).cmp(&(b.start_time, &b.cdr_id, &b.tenant))
        });
        Ok(out)
    }

    fn indexes_text(&self) -> bool {
        true
    }

    async fn index_text(&self, doc: &TextDoc) -> Result<(), MetaError> {
        self.lock().texts.insert(
            (doc.tenant.clone(), doc.source, doc.file_id.clone()),
            (doc.conversation_id.clone(), doc.text.clone()),
        );
        Ok(())
    }

    async fn text_conversations(
        &self,
        tenants: &[TenantId],
        text: &str,
    ) -> Result<std::collections::HashSet<ConversationRef>, MetaError> {
        Ok(self
            .lock()
            .texts
            .iter()
            .filter(|((t, _, _), (_, body))| tenants.contains(t) && text_contains_words(body, text))
            .map(|((t, s, _), (conv, _))| (t.clone(), *s, conv.clone()))
            .collect())
    }

    async fn get_cursor(
        &self,
        tenant: &TenantId,
        source: Source,
    ) -> Result<Option<Cursor>, MetaError> {
        Ok(self.lock().cursors.get(&(tenant.clone(), source)).cloned())
    }

    async fn put_cursor(&self, cursor: &Cursor) -> Result<Cursor, MetaError> {
        let mut g = self.lock();
        let k = (cursor.tenant.clone(), cursor.source);
        let ok = match g.cursors.get(&k) {
            None => cursor.version == 0,
            Some(cur) => cursor.version != 0 && cur.version == cursor.version,
        };
        if !ok {
            return Err(MetaError::Conflict(format!(
                "cursor {}/{}",
                cursor.tenant, cursor.source
            )));
        }
        let mut stored = cursor.clone();
        stored.version = cursor.version + 1;
        g.cursors.insert(k, stored.clone());
        Ok(stored)
    }

    async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError> {
        let mut g = self.lock();
        let free = match g.leases.get(name) {
            None => true,
            Some((holder, expires)) => holder == owner || *expires <= now,
        };
        if free {
            g.leases
                .insert(name.to_string(), (owner.to_string(), until));
        }
        Ok(free)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), MetaError> {
        let mut g = self.lock();
        if g.leases
            .get(name)
            .is_some_and(|(holder, _)| holder == owner)
        {
            g.leases.remove(name);
        }
        Ok(())
    }

    async fn get_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MetaError> {
        Ok(self
            .lock()
            .memos
            .get(&(tenant.clone(), key.to_string()))
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone()))
    }

    async fn put_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        self.lock().memos.insert(
            (tenant.clone(), key.to_string()),
            (value.to_string(), expires),
        );
        Ok(())
    }
}
