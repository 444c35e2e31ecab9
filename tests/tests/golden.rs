//! The CDR golden test: the simulator's golden scenario (`Scenario::golden`, every case
//! with a known answer) archived on the embedded backend and on the AWS adapters (moto)
//! gives exactly the CDRs in `tests/golden/cdrs.json`, field by field.
//!
//! The expected file was produced by this test (`UPDATE_GOLDEN=1`) and reviewed case by
//! case against the scenario's documentation; a change to it is a change of behaviour and
//! must be reviewed again.

use archiver_core::{Cdr, TenantConfig};
use archiver_e2e::{Backend, Harness, HarnessOptions};
use chrono::{DateTime, Utc};
use serde_json::Value;
use zoom_sim::{Scenario, SimClock, SimServer};

fn now() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

fn golden_tenant(sim: &SimServer) -> TenantConfig {
    serde_json::from_value(serde_json::json!({
        "id": "acme",
        "account_id": "golden-account",
        "client_id": "golden-client",
        "client_secret": "golden-secret",
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "initial_lookback": "7d",
        "internal_numbers": ["+1415555*"],
        "internal_domains": ["acme.example"],
        "users": [
            {"email": "alice@acme.example", "extension": "1001", "mode": "voice", "name": "Alice Anders"},
            {"email": "bob@acme.example", "extension": "1002", "mode": "video"},
            {"email": "carol@acme.example", "extension": "1003", "mode": "voice"},
        ],
    }))
    .expect("valid tenant")
}

/// The CDRs without what varies from run to run (write times, versions).
fn normalized(mut cdrs: Vec<Cdr>) -> Value {
    cdrs.sort_by(|a, b| a.cdr_id.cmp(&b.cdr_id));
    let list: Vec<Value> = cdrs
        .into_iter()
        .map(|c| {
            let mut v = serde_json::to_value(&c).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in ["created_at", "updated_at", "version"] {
                o.remove(k);
            }
            v
        })
        .collect();
    Value::Array(list)
}

async fn archive(h: &Harness) -> Value {
    h.cycle().await;
    let (_, d) = h.cycle().await;
    assert!(d.dead.is_empty(), "dead letters: {:?}", d.dead);
    normalized(h.cdrs().await)
}

fn check(actual: &Value, backend: &str) {
    let path = format!("{}/golden/cdrs.json", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, serde_json::to_string_pretty(actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("golden file")).unwrap();
    let (a, e) = (actual.as_array().unwrap(), expected.as_array().unwrap());
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|c| c["cdr_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(a), ids(e), "{backend}: the set of CDRs");
    for (x, y) in a.iter().zip(e) {
        for (k, want) in y.as_object().unwrap() {
            assert_eq!(
                x.get(k).unwrap_or(&Value::Null),
                want,
                "{backend}: CDR {} field {k}",
                y["cdr_id"]
            );
        }
        assert_eq!(
            x.as_object().unwrap().len(),
            y.as_object().unwrap().len(),
            "{backend}: CDR {} has fields the golden file lacks",
            y["cdr_id"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_cdrs_on_the_embedded_backend() {
    let sim = SimServer::start_with_clock(Scenario::golden(now()), SimClock::manual(now()))
        .await
        .unwrap();
    let tenant = golden_tenant(&sim);
    let h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    let cdrs = archive(&h).await;
    // The participants API is asked once, for the one meeting without individual files.
    assert_eq!(
        h.sim
            .stats()
            .by_endpoint
            .get("GET /metrics/meetings/{meetingId}/participants")
            .copied(),
        Some(1)
    );
    check(&cdrs, "local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_cdrs_on_the_aws_adapters() {
    let Some(h) = archiver_e2e::aws_harness(
        "golden",
        Scenario::golden(now()),
        SimClock::manual(now()),
        golden_tenant,
    )
    .await
    else {
        return;
    };
    let cdrs = archive(&h).await;
    check(&cdrs, "aws");
}
