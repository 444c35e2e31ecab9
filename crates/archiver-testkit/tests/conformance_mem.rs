//! The conformance suites against the in-memory adapters.

use archiver_core::TaskQueue;
use archiver_testkit::{MemBlobStore, MemMetaStore, MemQuotaLedger, MemTaskQueue, conformance};
use std::sync::Arc;

#[tokio::test]
async fn mem_blob_store_conforms() {
    let store = MemBlobStore::new();
    conformance::blob_store(&store).await;
    assert!(store.object_count() >= 7);
}

#[tokio::test]
async fn mem_meta_store_conforms() {
    conformance::meta_store(&MemMetaStore::new()).await;
}

#[tokio::test]
async fn mem_task_queue_conforms() {
    conformance::task_queue(|clock| async move {
        Arc::new(MemTaskQueue::new(clock)) as Arc<dyn TaskQueue>
    })
    .await;
}

#[tokio::test]
async fn mem_quota_ledger_conforms() {
    let ledger = MemQuotaLedger::new();
    conformance::quota_ledger(&ledger, conformance::Concurrency::Check).await;
    assert!(!ledger.all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_quota_ledger_conforms_on_many_threads() {
    conformance::quota_ledger(&MemQuotaLedger::new(), conformance::Concurrency::Check).await;
}

#[tokio::test]
async fn mem_quota_ledger_caps_at_i64_max_like_sqlite() {
    use archiver_core::QuotaLedger;
    let l = MemQuotaLedger::new();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let max = i64::MAX as u64;
    assert_eq!(l.raise_to("acc", "k", day, u64::MAX).await.unwrap(), max);
    assert_eq!(l.try_add("acc", "k", day, 1, None).await.unwrap(), None);
    assert_eq!(
        l.try_add("acc", "k", day, 0, None).await.unwrap(),
        Some(max)
    );
    assert_eq!(
        l.try_add("acc", "n", day, u64::MAX, None).await.unwrap(),
        None
    );
    assert_eq!(
        l.try_add("acc", "n", day, max, Some(u64::MAX))
            .await
            .unwrap(),
        Some(max)
    );
}
