//! The reconciler handler on the scheduled-event fixture, against the Zoom simulator with
//! in-memory ports: it reconciles the due days and stores each day's report in the bucket.

use archiver_core::services::manifest::Custody;
use archiver_core::services::reconcile::Reconciler;
use archiver_core::{BlobStore, Ports, TaskQueue, TenantConfig, ZoomApi, ZoomCredentials};
use archiver_testkit::{
    ManualClock, MemAuditLog, MemBlobStore, MemMetaStore, MemSigner, MemTaskQueue,
};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use lambda_runtime::{Context, LambdaEvent};
use reconciler::{ReconcilerEnv, handle};
use std::sync::Arc;
use zoom_sim::{Scenario, SimClock, SimServer};

#[tokio::test]
async fn a_tick_reconciles_due_days_and_stores_reports() {
    let now: chrono::DateTime<chrono::Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let sim = SimServer::start_with_clock(Scenario::golden(now), SimClock::manual(now))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let blobs = Arc::new(MemBlobStore::new());
    let queue = Arc::new(MemTaskQueue::new(clock.clone()));
    let ports = Ports {
        blobs: blobs.clone(),
        meta: Arc::new(MemMetaStore::new()),
        queue: queue.clone(),
        clock,
    };
    let tenant: TenantConfig = serde_json::from_value(serde_json::json!({
        "id": "acme", "account_id": "golden-account", "client_id": "golden-client",
        "client_secret_ref": "s", "initial_lookback": "2d",
        "users": [{"email": "alice@acme.example", "extension": "1001", "mode": "voice"}]
    }))
    .unwrap();
    let zoom = ZoomClient::new(ZoomClientConfig::with_urls(
        sim.api_base_url(),
        sim.oauth_url(),
        ZoomCredentials {
            account_id: "golden-account".into(),
            client_id: "golden-client".into(),
            client_secret: "golden-secret".to_string().into(),
        },
    ))
    .unwrap();
    let audit = MemAuditLog::new();
    let signer = MemSigner::ecdsa_p256(1);
    let env = ReconcilerEnv {
        reconciler: Reconciler::new(ports.clone(), "test").with_custody(Custody {
            signer: Arc::new(signer.clone()),
            audit: Arc::new(audit.clone()),
            actor: "aws-lambda:reconciler:test".into(),
        }),
        tenant,
        zoom: Arc::new(zoom) as Arc<dyn ZoomApi>,
    };
    let event = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/events/scheduled-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = handle(&env, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(out["tenant"], "acme");
    assert!(out["stopped"].is_null(), "{out}");
    let reports = out["reports"].as_array().unwrap();
    assert_eq!(
        reports.len(),
        2,
        "the two final days (today is not over): {out}"
    );
    let stored = blobs.list("acme/reports/reconcile/").await.unwrap();
    assert_eq!(stored.len(), 2);
    // Nothing was polled here: Alice's two recorded calls (1 and 3), which Zoom lists, are
    // fetched and queued by reconciliation itself (pending, no gap); her meeting of the
    // golden day is reported missing as a "recording failed" CDR.
    let day = &out["days"][1];
    assert_eq!(day["day"], "2026-11-19");
    assert_eq!(day["phone"]["not_archived"], 0, "{day}");
    assert_eq!(day["phone"]["pending"], 2, "{day}");
    assert_eq!(day["fetched_late"], 2, "{day}");
    assert_eq!(day["meetings"]["not_archived"], 1, "{day}");
    assert_eq!(day["failed_cdrs_written"], 1, "{day}");
    let queued = queue.counts().await.unwrap();
    assert_eq!(queued.ready, 2, "their downloads are queued");
    // Both final days are sealed, each with a seal entry in the audit trail.
    let seals = out["seals"].as_array().unwrap();
    assert_eq!(seals.len(), 2, "{out}");
    assert_eq!(seals[1]["key"], "acme/manifests/2026-11-19.json", "{out}");
    assert_eq!(seals[1]["status"], "sealed", "{out}");
    assert_eq!(blobs.list("acme/manifests/").await.unwrap().len(), 2);
    let tenant_id = archiver_core::TenantId::new("acme").unwrap();
    assert_eq!(audit.entries(&tenant_id).len(), 2);
    let check = archiver_core::services::manifest::verify_day(
        &ports,
        &audit,
        &[signer.public()],
        &tenant_id,
        "2026-11-19".parse().unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    // Alice's two recordings are still queued: the day's CDR for them says pending, and
    // they are not archived: nothing to read back yet, and nothing unlisted.
    assert!(check.intact(), "{:#?}", check.findings);

    // A bad day in the input is a clear error.
    let bad = handle(
        &env,
        LambdaEvent::new(serde_json::json!({"day": "19/11/2026"}), Context::default()),
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("19/11/2026"));
}

/// The monthly fixity schedule's input (`{"verify": {"sample": N}}`, as the template
/// sends it) checks stored objects and names the one that was altered.
#[tokio::test]
async fn the_verify_input_checks_a_sample_and_names_an_altered_object() {
    use archiver_core::{FileState, MetaStore};
    use archiver_testkit::fixtures;
    let now: chrono::DateTime<chrono::Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let blobs = Arc::new(MemBlobStore::new());
    let meta = Arc::new(MemMetaStore::new());
    let ports = Ports {
        blobs: blobs.clone(),
        meta: meta.clone(),
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    for (id, seed, flip) in [("f1", 1, false), ("f2", 2, true)] {
        let mut rec = fixtures::file_record("acme", id);
        let data = fixtures::media_bytes(5000, seed);
        let stored = blobs
            .put_stream(
                &rec.object_key,
                &fixtures::object_meta("acme", id),
                fixtures::verified(
                    fixtures::byte_stream(data.clone(), 1000),
                    archiver_core::ContentKind::Document,
                    None,
                ),
            )
            .await
            .unwrap();
        let mut recorded = data.clone();
        if flip {
            recorded[100] ^= 1;
        }
        rec.state = FileState::Archived {
            size: stored.size,
            sha256: fixtures::sha256_hex(&recorded),
            content_type: None,
            archived_at: now,
            fingerprint_match: None,
        };
        meta.insert_file(&rec).await.unwrap();
    }
    let tenant: TenantConfig = serde_json::from_value(serde_json::json!({
        "id": "acme", "account_id": "a", "client_id": "c", "client_secret_ref": "s",
        "users": [{"email": "alice@acme.example", "extension": "1001", "mode": "voice"}]
    }))
    .unwrap();
    let zoom = ZoomClient::new(ZoomClientConfig::with_urls(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        ZoomCredentials {
            account_id: "a".into(),
            client_id: "c".into(),
            client_secret: "s".to_string().into(),
        },
    ))
    .unwrap();
    let env = ReconcilerEnv {
        reconciler: Reconciler::new(ports, "test"),
        tenant,
        zoom: Arc::new(zoom) as Arc<dyn ZoomApi>,
    };
    let input = serde_json::json!({"verify": {"sample": 200}});
    let out = handle(&env, LambdaEvent::new(input, Context::default()))
        .await
        .unwrap();
    let v = &out["verify"];
    assert_eq!(v["checked"], 2, "{out}");
    assert_eq!(v["intact"], 1, "{out}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["problem"], "altered");
    assert!(
        findings[0]["key"].as_str().unwrap().ends_with("f2.m4a"),
        "{out}"
    );
    // Each result is kept on its file (deleting at Zoom needs it).
    let tenant_id = archiver_core::TenantId::new("acme").unwrap();
    for (id, intact) in [("f1", true), ("f2", false)] {
        let f = meta
            .get_file(&tenant_id, archiver_core::Source::Meetings, id)
            .await
            .unwrap()
            .unwrap();
        let v = f.last_verified.expect("recorded");
        assert_eq!((v.at, v.intact), (now, intact), "{id}");
    }
    let bad = serde_json::json!({"verify": {"sample": "lots"}});
    assert!(
        handle(&env, LambdaEvent::new(bad, Context::default()))
            .await
            .is_err(),
        "a sample that is not a number is refused"
    );
}
