//! Crashes at step boundaries: the archive resumes with exactly one copy and nothing lost.

use archiver_core::{
    Cdr, CdrQuery, Cursor, FileQuery, FileRecord, FileState, MetaError, MetaStore, Ports, Source,
    TenantId,
};
use archiver_e2e::{Harness, HarnessOptions, SimTime};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use zoom_sim::{Scenario, SimClock, SimServer};

/// A metadata store that "crashes" (fails) the first `n` writes that would mark a file archived:
/// the object is already in the store, but the state write never happened.
struct CrashBeforeArchivedWrite {
    inner: Arc<dyn MetaStore>,
    remaining: AtomicU32,
}

#[async_trait]
impl MetaStore for CrashBeforeArchivedWrite {
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError> {
        self.inner.insert_file(rec).await
    }
    async fn get_memo(
        &self,
        t: &TenantId,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, MetaError> {
        self.inner.get_memo(t, key, now).await
    }
    async fn put_memo(
        &self,
        t: &TenantId,
        key: &str,
        value: &str,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), MetaError> {
        self.inner.put_memo(t, key, value, expires).await
    }
    async fn get_file(
        &self,
        t: &TenantId,
        s: Source,
        id: &str,
    ) -> Result<Option<FileRecord>, MetaError> {
        self.inner.get_file(t, s, id).await
    }
    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError> {
        if matches!(rec.state, FileState::Archived { .. })
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(MetaError::Backend {
                what: "update_file".into(),
                source: "simulated crash after the upload".into(),
                retryable: true,
            });
        }
        self.inner.update_file(rec).await
    }
    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError> {
        self.inner.list_files(q).await
    }
    async fn insert_cdr(&self, c: &Cdr) -> Result<bool, MetaError> {
        self.inner.insert_cdr(c).await
    }
    async fn get_cdr(&self, t: &TenantId, id: &str) -> Result<Option<Cdr>, MetaError> {
        self.inner.get_cdr(t, id).await
    }
    async fn update_cdr(&self, c: &Cdr) -> Result<Cdr, MetaError> {
        self.inner.update_cdr(c).await
    }
    async fn delete_cdr(&self, c: &Cdr) -> Result<bool, MetaError> {
        self.inner.delete_cdr(c).await
    }
    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError> {
        self.inner.query_cdrs(q).await
    }
    async fn get_cursor(&self, t: &TenantId, s: Source) -> Result<Option<Cursor>, MetaError> {
        self.inner.get_cursor(t, s).await
    }
    async fn put_cursor(&self, c: &Cursor) -> Result<Cursor, MetaError> {
        self.inner.put_cursor(c).await
    }
    async fn try_lease(
        &self,
        n: &str,
        o: &str,
        u: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError> {
        self.inner.try_lease(n, o, u, now).await
    }
    async fn release_lease(&self, n: &str, o: &str) -> Result<(), MetaError> {
        self.inner.release_lease(n, o).await
    }
}

#[tokio::test]
async fn a_crash_between_upload_and_state_write_resumes_with_exactly_one_copy() {
    let now = Utc::now();
    let sim = SimServer::start_with_clock(Scenario::demo(now), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::demo_tenant(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn archiver_core::Clock> = Arc::new(SimTime(sim.clock().clone()));
    let db = dir.path().join("archive.db");
    let meta: Arc<dyn MetaStore> = Arc::new(archiver_local::SqliteMetaStore::open(&db).unwrap());
    let crashing = Arc::new(CrashBeforeArchivedWrite {
        inner: meta.clone(),
        remaining: AtomicU32::new(3),
    });
    let ports = Ports {
        blobs: Arc::new(archiver_local::FsBlobStore::new(dir.path().join("objects")).unwrap()),
        meta: crashing.clone(),
        queue: Arc::new(archiver_local::SqliteTaskQueue::open(&db, clock.clone()).unwrap()),
        clock,
    };
    let opts = HarnessOptions::default();
    let zoom = archiver_e2e::zoom_client(&tenant, opts.page_size, opts.retry);
    let h = Harness::assemble(sim, tenant, ports, zoom, 1, dir);

    let ((m, p), d) = h.cycle().await;
    let files = m.new_files + p.new_files;
    assert_eq!(
        crashing.remaining.load(Ordering::SeqCst),
        0,
        "three crashes happened"
    );
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    // The three crashed files were stored once, then adopted (not downloaded again).
    assert_eq!(
        h.sim.stats().downloads_completed,
        files,
        "no second download after the crash"
    );
    let n = h.assert_archive_faithful().await;
    assert_eq!(n as u64, files, "every file archived exactly once");
    for c in h.cdrs().await {
        assert!(
            c.media
                .iter()
                .all(|m| m.state == archiver_core::MediaState::Archived && m.sha256.is_some()),
            "{c:?}"
        );
    }
}

#[tokio::test]
async fn every_task_delivered_twice_still_gives_one_copy() {
    let now = Utc::now();
    let h = Harness::start(
        Scenario::demo(now),
        SimClock::manual(now),
        HarnessOptions::default(),
    )
    .await;
    h.poll_all().await;
    // Duplicate every queued task (as an at-least-once queue may).
    let files = h.files().await;
    let dupes: Vec<_> = files
        .iter()
        .map(|f| archiver_core::DownloadTask::new(f.tenant.clone(), f.source, &f.file_id))
        .collect();
    for chunk in dupes.chunks(10) {
        h.ports.queue.send_batch(chunk).await.unwrap();
    }
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(d.done.len(), files.len() * 2);
    assert_eq!(h.assert_archive_faithful().await, files.len());
    assert_eq!(
        h.sim.stats().downloads_completed,
        files.len() as u64,
        "the duplicate deliveries downloaded nothing"
    );
}
