//! Retention, legal holds and disposal through the command line on the embedded default:
//! a held file is never disposed of, a release needs a second operator, and an expired,
//! unheld file is disposed of with a disposition record in the audit trail (the record
//! kept, the object gone), and then its CDR, also recorded; a held user's CDRs stay.

mod common;

use common::{Backend, run_as, text};
use std::path::{Path, PathBuf};
use zoom_sim::{Scenario, SimServer};

fn config(dir: &Path, sim: &SimServer, storage: &str) -> PathBuf {
    let text = format!(
        r#"{storage}
[download]
concurrency = 1
retry_base = "10ms"

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret_env = "ZA_TEST_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"
sources = ["meetings"]

# Alice's conversations are kept one day (long past for the demo's meetings); Bob's
# match no rule: kept, never disposed of.
[[tenants.retention]]
name = "alice-short"
period = "1d"
users = ["alice@acme.example"]

[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"
"#,
        api = sim.api_base_url(),
        oauth = sim.oauth_url(),
    );
    let path = dir.join("archiver.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn scenario(b: Backend, cfg: &Path) {
    let c = |rest: &[&str]| {
        let mut a = b.args(cfg);
        a.extend(rest.iter().map(|s| s.to_string()));
        a
    };
    // The media objects (reconciliation adds reports and manifests beside them).
    let stored = || {
        let mut k = b.keys("acme/meetings/");
        k.extend(b.keys("acme/phone/"));
        k
    };
    // The CDR ids of a user.
    let cdrs_of = |user: &'static str| {
        let a = c(&["cdrs", "--format", "jsonl", "--user", user]);
        async move {
            let out = run_as("ops1", a).await;
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|v| v["cdr_id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let out = run_as("ops1", c(&["run", "--once"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = stored();
    let (alice, bob) = (
        cdrs_of("alice@acme.example").await,
        cdrs_of("bob@acme.example").await,
    );
    assert!(!alice.is_empty() && !bob.is_empty(), "{alice:?} {bob:?}");
    assert!(before.len() >= 3, "{before:?}");

    // Alice's files are past retention but held: nothing is disposed of.
    let out = run_as(
        "ops1",
        c(&[
            "hold",
            "add",
            "--matter",
            "M-1",
            "--user",
            "alice@acme.example",
            "--reason",
            "subpoena 42",
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stored objects held"),
        "{}",
        text(&out)
    );
    let out = run_as("ops1", c(&["dispose"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stored(), before, "a held file is never disposed of");
    assert_eq!(
        cdrs_of("alice@acme.example").await,
        alice,
        "a held user's CDRs are never disposed of"
    );

    // One operator cannot release alone.
    let out = run_as("ops1", c(&["hold", "release", "--matter", "M-1"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--confirm-by"));
    let out = run_as(
        "ops1",
        c(&["hold", "release", "--matter", "M-1", "--confirm-by", "ops1"]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("another operator"), "{}", text(&out));
    let out = run_as("ops1", c(&["dispose"])).await;
    assert_eq!(stored(), before, "{}", text(&out));

    // A second operator confirms: now Alice's expired files are disposed of, Bob's stay.
    let out = run_as(
        "ops2",
        c(&["hold", "release", "--matter", "M-1", "--confirm-by", "ops2"]),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run_as("ops2", c(&["dispose", "--dry-run"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stored(), before, "a dry run deletes nothing");
    // Disposal is also a scheduled step of reconciliation: `reconcile` disposes of them.
    let out = run_as("ops2", c(&["reconcile"])).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let disposed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": disposed (") && l.contains("alice-short"))
        .filter(|l| !l.starts_with("CDR "))
        .collect();
    assert!(!disposed.is_empty(), "{stdout}");
    // Then the CDRs whose files are all gone and whose own date has passed: Alice's
    // (a conversation of the last day is not one day old yet), never Bob's.
    let mut cdrs_disposed: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("CDR ") && l.contains(": disposed (retention rule alice-short"))
        .map(|l| {
            l["CDR ".len()..]
                .split(": disposed")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    cdrs_disposed.sort();
    assert!(!cdrs_disposed.is_empty(), "{stdout}");
    assert!(
        cdrs_disposed.iter().all(|id| alice.contains(id)),
        "{stdout}"
    );
    let kept: Vec<String> = alice
        .iter()
        .filter(|id| !cdrs_disposed.contains(id))
        .cloned()
        .collect();
    assert_eq!(cdrs_of("alice@acme.example").await, kept, "{stdout}");
    assert_eq!(
        cdrs_of("bob@acme.example").await,
        bob,
        "Bob's CDRs match no rule"
    );
    let after = stored();
    assert_eq!(after.len(), before.len() - disposed.len(), "{stdout}");
    for l in &disposed {
        let key = l.split(": disposed").next().unwrap();
        assert!(!after.iter().any(|k| k == key), "{key} is gone");
    }
    // Each disposal is in the audit trail with its key and rule, and the chain holds.
    let out = run_as("ops2", c(&["audit", "--format", "jsonl"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let audit = String::from_utf8_lossy(&out.stdout).to_string();
    let dispose_entries: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["action"] == "dispose")
        .collect();
    assert_eq!(
        dispose_entries.len(),
        disposed.len() + cdrs_disposed.len(),
        "one entry per object and per CDR: {audit}"
    );
    for id in &cdrs_disposed {
        assert!(
            dispose_entries
                .iter()
                .any(|e| e["objects"][0] == id.as_str() && e["result"] == "disposed"),
            "CDR {id} has its disposition record: {audit}"
        );
    }
    for e in &dispose_entries {
        assert!(e["reason"].as_str().unwrap().contains("alice-short"), "{e}");
        assert_eq!(e["actor"].as_str().unwrap().split('@').next(), Some("ops2"));
    }
    assert!(
        audit.contains("\"hold\"") && audit.contains("\"release\""),
        "holds and releases are audited: {audit}"
    );
    let out = run_as("ops2", c(&["audit", "verify"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A second dispose finds nothing more to do.
    let out = run_as("ops2", c(&["dispose"])).await;
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(": disposed"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn a_held_file_is_never_disposed_and_a_release_needs_two_operators_locally() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = config(
        dir.path(),
        &sim,
        &format!("[storage]\ndata_dir = \"{}\"\n", data.display()),
    );
    scenario(
        Backend::Local {
            objects: data.join("objects"),
        },
        &cfg,
    )
    .await;
}

/// On S3 with Object Lock (COMPLIANCE): holds are S3 legal holds, disposal deletes the
/// object's version.
#[tokio::test]
async fn a_held_file_is_never_disposed_and_a_release_needs_two_operators_on_aws() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let Ok(python) = std::env::var("ZA_PYTHON") else {
        assert!(
            std::env::var("ZA_REQUIRE_MOTO").is_err(),
            "ZA_PYTHON (a Python with boto3) is needed with MOTO"
        );
        return;
    };
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let name = common::unique("holds");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &sim,
        &common::aws_table(&endpoint, &name, "object_lock = \"COMPLIANCE\"\n"),
    );
    let b = Backend::Aws {
        endpoint,
        bucket: format!("za-{name}"),
        python,
    };
    let mut init = b.args(&cfg);
    init.extend(["aws".into(), "init".into()]);
    let out = run_as("ops1", init).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    scenario(b, &cfg).await;
}
