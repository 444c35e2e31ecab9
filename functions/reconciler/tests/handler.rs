//! The reconciler handler on the scheduled-event fixture, with in-memory ports.

use archiver_core::{Ports, TenantConfig};
use archiver_testkit::{ManualClock, MemBlobStore, MemMetaStore, MemTaskQueue, fixtures};
use lambda_runtime::{Context, LambdaEvent};
use reconciler::{ReconcilerEnv, handle};
use std::sync::Arc;

#[tokio::test]
async fn a_tick_succeeds() {
    let clock = Arc::new(ManualClock::new(fixtures::t0()));
    let ports = Ports {
        blobs: Arc::new(MemBlobStore::new()),
        meta: Arc::new(MemMetaStore::new()),
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    let tenant: TenantConfig = serde_json::from_value(serde_json::json!({"id": "acme", "account_id": "a", "client_id": "c", "client_secret_ref": "s"})).unwrap();
    let event = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/events/scheduled-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = handle(
        &ReconcilerEnv { ports, tenant },
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(out["tenant"], "acme");
}
