//! The conformance suites against the in-memory adapters.

use archiver_core::TaskQueue;
use archiver_testkit::{MemBlobStore, MemMetaStore, MemTaskQueue, conformance};
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
