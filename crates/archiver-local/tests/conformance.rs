//! The testkit conformance suites against the local backend.

use archiver_core::TaskQueue;
use archiver_local::{FsBlobStore, SqliteMetaStore, SqliteQuotaLedger, SqliteTaskQueue};
use archiver_testkit::conformance;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_blob_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("objects")).unwrap();
    conformance::blob_store(&store).await;
    conformance::blob_store_protection(&store).await;
    // Nothing is left in the temporary directory.
    assert_eq!(
        std::fs::read_dir(store.root().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_meta_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(dir.path().join("archive.db")).unwrap();
    conformance::meta_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_agrees_with_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(dir.path().join("archive.db")).unwrap();
    // The metadata suite first: search runs on a store that has seen inserts, updates and
    // deletes of other tenants.
    conformance::meta_store(&store).await;
    conformance::cdr_search(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_task_queue_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let dir2 = dir.path().to_path_buf();
    let n = std::sync::atomic::AtomicU32::new(0);
    conformance::task_queue(|clock| {
        let path = dir2.join(format!(
            "q{}.db",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move { Arc::new(SqliteTaskQueue::open(path, clock).unwrap()) as Arc<dyn TaskQueue> }
    })
    .await;
}

#[tokio::test]
async fn meta_store_and_queue_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let meta = SqliteMetaStore::open(&db).unwrap();
    conformance::meta_store(&meta).await;
    let path = db.clone();
    conformance::task_queue(|clock| {
        // A fresh database per scenario, but with the metadata tables in it too.
        let p = path.with_file_name(format!("{}.db", uuid::Uuid::new_v4().simple()));
        async move {
            let _meta = SqliteMetaStore::open(&p).unwrap();
            Arc::new(SqliteTaskQueue::open(&p, clock).unwrap()) as Arc<dyn TaskQueue>
        }
    })
    .await;
    let clock = Arc::new(archiver_testkit::ManualClock::default());
    let q = SqliteTaskQueue::open(&db, clock).unwrap();
    q.send_batch(&[archiver_testkit::fixtures::task("acme", "f1")])
        .await
        .unwrap();
    assert_eq!(q.counts().await.unwrap().ready, 1);
    conformance::meta_store(&meta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_quota_ledger_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteQuotaLedger::open(dir.path().join("archive.db")).unwrap();
    conformance::quota_ledger(&ledger, conformance::Concurrency::Check).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_ledger_shares_the_database_with_the_meta_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let meta = SqliteMetaStore::open(&db).unwrap();
    let ledger = SqliteQuotaLedger::open(&db).unwrap();
    conformance::quota_ledger(&ledger, conformance::Concurrency::Check).await;
    conformance::meta_store(&meta).await;
    let again = archiver_local::open_quota(dir.path()).unwrap();
    conformance::quota_ledger(&again, conformance::Concurrency::Check).await;
}

/// The audit trail's way around the port: raw SQL on the same file.
struct SqlTamper(std::path::PathBuf);

#[async_trait::async_trait]
impl conformance::AuditTamper for SqlTamper {
    async fn alter(&self, tenant: &archiver_core::TenantId, seq: u64) {
        let c = rusqlite::Connection::open(&self.0).unwrap();
        let n = c
            .execute(
                "UPDATE audit SET body = json_set(body, '$.result', 'altered')
                 WHERE tenant = ?1 AND seq = ?2",
                rusqlite::params![tenant.as_str(), seq as i64],
            )
            .unwrap();
        assert_eq!(n, 1, "no entry {seq} of {tenant}");
    }

    async fn remove(&self, tenant: &archiver_core::TenantId, seq: u64) {
        let c = rusqlite::Connection::open(&self.0).unwrap();
        let n = c
            .execute(
                "DELETE FROM audit WHERE tenant = ?1 AND seq = ?2",
                rusqlite::params![tenant.as_str(), seq as i64],
            )
            .unwrap();
        assert_eq!(n, 1, "no entry {seq} of {tenant}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_audit_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    // In the database the other stores use.
    let _meta = SqliteMetaStore::open(&db).unwrap();
    let log = archiver_local::open_audit(dir.path()).unwrap();
    conformance::audit_log(&log).await;
    conformance::audit_log_tamper(&log, &SqlTamper(db)).await;
}
