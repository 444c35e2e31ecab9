//! Fault injection: wrappers that make chosen calls of any adapter fail.
//!
//! A [`FaultPlan`] is shared (clone it) between the test and the wrappers. `fail_next(op, n)`
//! makes the next `n` calls of the trait method named `op` (for example `"put_stream"`,
//! `"update_file"`, `"ack"`) fail with the port's retryable `Backend` error, without reaching
//! the inner adapter. Every call, failed or not, is counted: see [`FaultPlan::calls`].
//! [`FaultPlan::fail_later`] lets some calls pass first and chooses the [`FaultKind`]: the
//! metadata store then answers a non-retryable error or a version conflict as asked (the
//! other stores have one kind of error: their retryable `Backend`).
//!
//! ```
//! # use archiver_testkit::{faults::{FaultPlan, FaultyMetaStore}, MemMetaStore, fixtures};
//! # use archiver_core::MetaStore;
//! # use std::sync::Arc;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let plan = FaultPlan::new();
//! let store = FaultyMetaStore::new(Arc::new(MemMetaStore::new()), plan.clone());
//! plan.fail_next("insert_file", 1);
//! assert!(store.insert_file(&fixtures::file_record("acme", "f1")).await.is_err());
//! assert!(store.insert_file(&fixtures::file_record("acme", "f1")).await.unwrap());
//! assert_eq!(plan.calls("insert_file"), 2);
//! # });
//! ```

use archiver_core::{
    BlobError, BlobStore, ByteStream, Cdr, CdrQuery, Cursor, DeadLetter, Delivery, DownloadTask,
    FileQuery, FileRecord, MetaError, MetaStore, ObjectInfo, ObjectKey, ObjectMeta, QueueCounts,
    QueueError, Source, TaskQueue, TenantId, VerifiedBody,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an injected metadata-store failure looks like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultKind {
    /// `Backend { retryable: true }` (throttling, a timeout).
    #[default]
    Retryable,
    /// `Backend { retryable: false }` (an item over the size limit, a validation error).
    Fatal,
    /// `Conflict` (another writer won the conditional write).
    Conflict,
}

/// Failures planned for one operation: let `skip` calls pass, then fail `n` of `kind`.
#[derive(Clone, Copy, Debug, Default)]
struct Planned {
    skip: u32,
    n: u32,
    kind: FaultKind,
}

#[derive(Default, Debug)]
struct PlanInner {
    pending: HashMap<&'static str, Planned>,
    calls: HashMap<&'static str, u64>,
    injected: u64,
}

/// Which calls fail next, and how many calls were made. Clones share the same plan.
#[derive(Clone, Default, Debug)]
pub struct FaultPlan {
    inner: Arc<Mutex<PlanInner>>,
}

impl FaultPlan {
    /// A plan that fails nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` calls of `op` fail (adds to any failures already planned).
    pub fn fail_next(&self, op: &'static str, n: u32) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.pending.entry(op).or_default().n += n;
    }

    /// Lets the next `skip` calls of `op` pass, then makes `n` calls fail with `kind`
    /// (replaces what was planned for `op`).
    pub fn fail_later(&self, op: &'static str, skip: u32, n: u32, kind: FaultKind) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.pending.insert(op, Planned { skip, n, kind });
    }

    /// Cancels every planned failure.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending
            .clear();
    }

    /// How many calls of `op` were made (failed ones included).
    pub fn calls(&self, op: &str) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .calls
            .get(op)
            .copied()
            .unwrap_or(0)
    }

    /// How many failures were injected in total.
    pub fn injected(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .injected
    }

    /// Counts a call of `op`; true when it must fail.
    pub fn hit(&self, op: &'static str) -> bool {
        self.hit_kind(op).is_some()
    }

    /// Counts a call of `op`; the kind of failure when it must fail.
    pub fn hit_kind(&self, op: &'static str) -> Option<FaultKind> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *g.calls.entry(op).or_default() += 1;
        match g.pending.get_mut(op) {
            Some(p) if p.skip > 0 => {
                p.skip -= 1;
                None
            }
            Some(p) if p.n > 0 => {
                p.n -= 1;
                let kind = p.kind;
                g.injected += 1;
                Some(kind)
            }
            _ => None,
        }
    }
}

fn msg(op: &str) -> String {
    format!("injected fault in {op}")
}

/// A [`BlobStore`] whose calls fail as planned (`put_stream`, `head`, `get`, `list`).
/// A failed `put_stream` does not consume the body.
pub struct FaultyBlobStore<B: ?Sized> {
    inner: Arc<B>,
    plan: FaultPlan,
}

impl<B: ?Sized> FaultyBlobStore<B> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<B>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
    /// The wrapped store.
    pub fn inner(&self) -> &Arc<B> {
        &self.inner
    }
    /// The shared plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
}

fn blob_fault(op: &str, key: &str) -> BlobError {
    BlobError::Backend {
        key: key.to_string(),
        source: msg(op).into(),
        retryable: true,
    }
}

#[async_trait]
impl<B: BlobStore + ?Sized> BlobStore for FaultyBlobStore<B> {
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError> {
        if self.plan.hit("put_stream") {
            return Err(blob_fault("put_stream", key.as_str()));
        }
        self.inner.put_stream(key, meta, body).await
    }
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError> {
        if self.plan.hit("head") {
            return Err(blob_fault("head", key.as_str()));
        }
        self.inner.head(key).await
    }
    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError> {
        if self.plan.hit("get") {
            return Err(blob_fault("get", key.as_str()));
        }
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError> {
        if self.plan.hit("list") {
            return Err(blob_fault("list", prefix));
        }
        self.inner.list(prefix).await
    }
}

/// A [`MetaStore`] whose calls fail as planned (op names are the trait's method names).
pub struct FaultyMetaStore<M: ?Sized> {
    inner: Arc<M>,
    plan: FaultPlan,
}

impl<M: ?Sized> FaultyMetaStore<M> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<M>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
    /// The wrapped store.
    pub fn inner(&self) -> &Arc<M> {
        &self.inner
    }
    /// The shared plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
    fn check(&self, op: &'static str) -> Result<(), MetaError> {
        match self.plan.hit_kind(op) {
            None => Ok(()),
            Some(FaultKind::Conflict) => Err(MetaError::Conflict(msg(op))),
            Some(kind) => Err(MetaError::Backend {
                what: op.to_string(),
                source: msg(op).into(),
                retryable: kind == FaultKind::Retryable,
            }),
        }
    }
}

#[async_trait]
impl<M: MetaStore + ?Sized> MetaStore for FaultyMetaStore<M> {
    async fn count_files(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<archiver_core::FileCount>, MetaError> {
        self.check("count_files")?;
        self.inner.count_files(tenant).await
    }
    async fn count_cdrs(&self, tenant: &TenantId) -> Result<u64, MetaError> {
        self.check("count_cdrs")?;
        self.inner.count_cdrs(tenant).await
    }
    async fn insert_files(&self, recs: &[FileRecord]) -> Result<Vec<bool>, MetaError> {
        self.check("insert_files")?;
        self.inner.insert_files(recs).await
    }
    async fn insert_cdrs(&self, cdrs: &[Cdr]) -> Result<Vec<bool>, MetaError> {
        self.check("insert_cdrs")?;
        self.inner.insert_cdrs(cdrs).await
    }
    async fn mark_queued(
        &self,
        tenant: &TenantId,
        source: Source,
        file_ids: &[String],
    ) -> Result<(), MetaError> {
        self.check("mark_queued")?;
        self.inner.mark_queued(tenant, source, file_ids).await
    }
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError> {
        self.check("insert_file")?;
        self.inner.insert_file(rec).await
    }
    async fn get_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MetaError> {
        self.check("get_memo")?;
        self.inner.get_memo(tenant, key, now).await
    }
    async fn put_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        self.check("put_memo")?;
        self.inner.put_memo(tenant, key, value, expires).await
    }
    async fn get_file(
        &self,
        tenant: &TenantId,
        source: Source,
        file_id: &str,
    ) -> Result<Option<FileRecord>, MetaError> {
        self.check("get_file")?;
        self.inner.get_file(tenant, source, file_id).await
    }
    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError> {
        self.check("update_file")?;
        self.inner.update_file(rec).await
    }
    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError> {
        self.check("list_files")?;
        self.inner.list_files(q).await
    }
    async fn insert_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        self.check("insert_cdr")?;
        self.inner.insert_cdr(cdr).await
    }
    async fn get_cdr(&self, tenant: &TenantId, cdr_id: &str) -> Result<Option<Cdr>, MetaError> {
        self.check("get_cdr")?;
        self.inner.get_cdr(tenant, cdr_id).await
    }
    async fn update_cdr(&self, cdr: &Cdr) -> Result<Cdr, MetaError> {
        self.check("update_cdr")?;
        self.inner.update_cdr(cdr).await
    }
    async fn delete_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        self.check("delete_cdr")?;
        self.inner.delete_cdr(cdr).await
    }
    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError> {
        self.check("query_cdrs")?;
        self.inner.query_cdrs(q).await
    }
    async fn get_cursor(
        &self,
        tenant: &TenantId,
        source: Source,
    ) -> Result<Option<Cursor>, MetaError> {
        self.check("get_cursor")?;
        self.inner.get_cursor(tenant, source).await
    }
    async fn put_cursor(&self, cursor: &Cursor) -> Result<Cursor, MetaError> {
        self.check("put_cursor")?;
        self.inner.put_cursor(cursor).await
    }
    async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError> {
        self.check("try_lease")?;
        self.inner.try_lease(name, owner, until, now).await
    }
    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), MetaError> {
        self.check("release_lease")?;
        self.inner.release_lease(name, owner).await
    }
}

/// A [`TaskQueue`] whose calls fail as planned (op names are the trait's method names).
pub struct FaultyQueue<Q: ?Sized> {
    inner: Arc<Q>,
    plan: FaultPlan,
}

impl<Q: ?Sized> FaultyQueue<Q> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<Q>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
    /// The wrapped queue.
    pub fn inner(&self) -> &Arc<Q> {
        &self.inner
    }
    /// The shared plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
    fn check(&self, op: &'static str) -> Result<(), QueueError> {
        if self.plan.hit(op) {
            Err(QueueError::Backend {
                what: op.to_string(),
                source: msg(op).into(),
                retryable: true,
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl<Q: TaskQueue + ?Sized> TaskQueue for FaultyQueue<Q> {
    async fn send_batch(&self, tasks: &[DownloadTask]) -> Result<(), QueueError> {
        self.check("send_batch")?;
        self.inner.send_batch(tasks).await
    }
    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.check("receive")?;
        self.inner.receive(max, visibility).await
    }
    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.check("ack")?;
        self.inner.ack(receipt).await
    }
    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.check("retry_later")?;
        self.inner.retry_later(receipt, delay).await
    }
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        self.check("dead_letter")?;
        self.inner.dead_letter(delivery, reason).await
    }
    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        self.check("counts")?;
        self.inner.counts().await
    }
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.check("dead_letters")?;
        self.inner.dead_letters(limit).await
    }
    async fn take_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<archiver_core::HeldDeadLetter>, QueueError> {
        self.check("take_dead_letters")?;
        self.inner.take_dead_letters(max, visibility).await
    }
    async fn remove_dead_letter(&self, receipt: &str) -> Result<(), QueueError> {
        self.check("remove_dead_letter")?;
        self.inner.remove_dead_letter(receipt).await
    }
}

/// A [`QuotaLedger`](archiver_core::QuotaLedger) whose calls fail as planned, with the
/// retryable `MetaError::Backend`; op names are `quota_try_add`, `quota_raise_to`,
/// `quota_get` and `quota_list` (prefixed, as a ledger often shares a plan with a
/// [`FaultyMetaStore`]).
pub struct FaultyQuotaLedger<Q: ?Sized> {
    inner: Arc<Q>,
    plan: FaultPlan,
}

impl<Q: ?Sized> FaultyQuotaLedger<Q> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<Q>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
    /// The wrapped ledger.
    pub fn inner(&self) -> &Arc<Q> {
        &self.inner
    }
    /// The shared plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
    fn check(&self, op: &'static str) -> Result<(), MetaError> {
        if self.plan.hit(op) {
            Err(MetaError::Backend {
                what: op.to_string(),
                source: msg(op).into(),
                retryable: true,
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl<Q: archiver_core::QuotaLedger + ?Sized> archiver_core::QuotaLedger for FaultyQuotaLedger<Q> {
    async fn try_add(
        &self,
        account: &str,
        key: &str,
        day: chrono::NaiveDate,
        n: u64,
        limit: Option<u64>,
    ) -> Result<Option<u64>, MetaError> {
        self.check("quota_try_add")?;
        self.inner.try_add(account, key, day, n, limit).await
    }
    async fn raise_to(
        &self,
        account: &str,
        key: &str,
        day: chrono::NaiveDate,
        floor: u64,
    ) -> Result<u64, MetaError> {
        self.check("quota_raise_to")?;
        self.inner.raise_to(account, key, day, floor).await
    }
    async fn get(
        &self,
        account: &str,
        key: &str,
        day: chrono::NaiveDate,
    ) -> Result<u64, MetaError> {
        self.check("quota_get")?;
        self.inner.get(account, key, day).await
    }
    async fn list(
        &self,
        account: &str,
        day: chrono::NaiveDate,
    ) -> Result<Vec<(String, u64)>, MetaError> {
        self.check("quota_list")?;
        self.inner.list(account, day).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, MemBlobStore, MemTaskQueue, fixtures};

    #[tokio::test]
    async fn planned_failures_do_not_reach_the_inner_adapter() {
        let plan = FaultPlan::new();
        let mem = Arc::new(MemBlobStore::new());
        let blobs = FaultyBlobStore::new(mem.clone(), plan.clone());
        let key = fixtures::object_key("acme", "a.mp3");
        plan.fail_next("put_stream", 2);
        for _ in 0..2 {
            let e = blobs
                .put_stream(
                    &key,
                    &fixtures::object_meta("acme", "a"),
                    fixtures::mp3_body(fixtures::media_bytes(100, 1), 10),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    BlobError::Backend {
                        retryable: true,
                        ..
                    }
                ),
                "{e}"
            );
            assert!(e.is_retryable());
        }
        assert_eq!(mem.object_count(), 0);
        blobs
            .put_stream(
                &key,
                &fixtures::object_meta("acme", "a"),
                fixtures::mp3_body(fixtures::media_bytes(100, 1), 10),
            )
            .await
            .unwrap();
        assert_eq!(plan.calls("put_stream"), 3);
        assert_eq!(plan.injected(), 2);
        assert_eq!(mem.object_count(), 1);
        plan.fail_next("head", 1);
        assert!(blobs.head(&key).await.is_err());
        assert!(blobs.head(&key).await.unwrap().is_some());
        assert_eq!(plan.calls("get"), 0);

        let clock = Arc::new(ManualClock::default());
        let q = FaultyQueue::new(Arc::new(MemTaskQueue::new(clock)), plan.clone());
        q.send_batch(&[fixtures::task("acme", "f1")]).await.unwrap();
        let d = q
            .receive(1, Duration::from_secs(30))
            .await
            .unwrap()
            .remove(0);
        plan.fail_next("ack", 1);
        assert!(matches!(
            q.ack(&d.receipt).await,
            Err(QueueError::Backend {
                retryable: true,
                ..
            })
        ));
        q.ack(&d.receipt).await.unwrap();
        assert!(q.counts().await.unwrap().is_drained());
        plan.fail_next("send_batch", 5);
        plan.clear();
        q.send_batch(&[]).await.unwrap();
    }
}
