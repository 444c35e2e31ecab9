//! Operating the archive through the command line, on the embedded default and on moto:
//! files that fail (HTML bodies beyond the attempt budget) are counted by `status`,
//! queued again by `retry --failed` and archived by the next `run --once`; `verify`
//! passes on an intact archive and names the key of an object with one byte flipped and
//! of one deleted.
//!
//! The AWS variant needs `MOTO` and `ZA_PYTHON` (boto3 plays the intruder that alters the
//! bucket); without them it is skipped unless `ZA_REQUIRE_MOTO=1`.

mod common;

use common::{Backend, run_as, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use zoom_sim::{Scenario, SimServer};

async fn run(args: Vec<String>) -> Output {
    run_as("operator", args).await
}

fn config(dir: &Path, sim: &SimServer, storage: &str) -> PathBuf {
    let text = format!(
        r#"{storage}
[download]
retry_base = "10ms"
max_attempts = 2
# One at a time: moto's conditional writes are not atomic under concurrent requests.
concurrency = 1

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret_env = "ZA_TEST_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"
sources = ["meetings"]

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

async fn status(b: &Backend, cfg: &Path) -> Value {
    let mut a = b.args(cfg);
    a.extend(["status".into(), "--format".into(), "json".into()]);
    let out = run(a).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn meetings(st: &Value) -> &Value {
    st["tenants"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "meetings")
        .unwrap_or_else(|| panic!("{st}"))
}

async fn scenario(b: Backend, sim: &SimServer, cfg: &Path) {
    // Two of Alice's and Bob's meeting files serve an HTML login page on both attempts.
    let broken: Vec<String> = sim.scenario().accounts[0].meetings[0]
        .files
        .iter()
        .filter(|f| f.individual)
        .take(2)
        .map(|f| f.id.clone())
        .collect();
    assert_eq!(broken.len(), 2);
    for id in &broken {
        sim.faults().html_200(id, 2);
    }
    let mut a = b.args(cfg);
    a.extend(["run".into(), "--once".into()]);
    let out = run(a.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // 2. status counts them.
    let st = status(&b, cfg).await;
    let m = meetings(&st);
    assert_eq!(m["failed"], 2, "{st}");
    assert_eq!(m["pending"], 0, "{st}");
    let archived_before = m["archived"].as_u64().unwrap();
    assert!(archived_before > 0, "{st}");
    assert!(m["last_poll"].is_string(), "{st}");
    assert!(m["watermark"].is_string(), "{st}");
    let t = &st["tenants"][0];
    assert_eq!(t["id"], "acme");
    assert!(
        t["queue"]["ready"].is_u64() && t["queue"]["dead"].is_u64(),
        "{st}"
    );
    assert!(
        t["quota"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["category"] == "pool:meetings" && q["budget"].as_u64() > Some(0)),
        "{st}"
    );

    // A dry run changes nothing.
    let mut r = b.args(cfg);
    r.extend(["retry".into(), "--failed".into(), "--dry-run".into()]);
    let out = run(r).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("would retry 2 files"),
        "{}",
        text(&out)
    );
    assert_eq!(meetings(&status(&b, cfg).await)["failed"], 2);

    // 3. retry --failed, then run --once archives them.
    let mut r = b.args(cfg);
    r.extend(["retry".into(), "--failed".into()]);
    let out = run(r).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in &broken {
        assert!(
            stdout.lines().any(|l| l.contains(id.as_str())
                && l.contains("retried")
                && l.contains("text/html")),
            "each retried file with the failure it replaced: {}",
            text(&out)
        );
    }
    let out = run(a).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // 4. status shows none failed.
    let st = status(&b, cfg).await;
    let m = meetings(&st);
    assert_eq!(m["failed"], 0, "{st}");
    assert_eq!(m["archived"].as_u64().unwrap(), archived_before + 2, "{st}");

    // verify: 0 on the intact archive; 1 naming the key of a flipped byte and of a
    // deleted object.
    let mut v = b.args(cfg);
    v.push("verify".into());
    let out = run(v.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let keys = b.keys("acme/meetings/");
    assert!(keys.len() >= 3, "{keys:?}");
    let (flipped, deleted) = (&keys[0], &keys[1]);
    b.flip_byte(flipped);
    b.delete(deleted);
    let out = run(v.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ALTERED") && l.ends_with(flipped.as_str())),
        "{}",
        text(&out)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("MISSING") && l.ends_with(deleted.as_str())),
        "{}",
        text(&out)
    );
    let mut j = v;
    j.extend(["--format".into(), "json".into()]);
    let out = run(j).await;
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"].as_array().unwrap().len(), 2, "{r}");
}

#[tokio::test]
async fn failed_files_are_counted_retried_and_archived_and_verify_finds_tampering_locally() {
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
        &sim,
        &cfg,
    )
    .await;
    // Each retry is on the file's record: who, when, and the failure it replaced.
    use archiver_core::MetaStore;
    let meta = archiver_local::SqliteMetaStore::open(data.join("archive.db")).unwrap();
    let files = meta
        .list_files(&archiver_core::FileQuery::default())
        .await
        .unwrap();
    let retried: Vec<_> = files.iter().filter(|f| !f.history.is_empty()).collect();
    assert_eq!(retried.len(), 2);
    for f in retried {
        let e = &f.history[0];
        assert_eq!(e.what, "retried");
        assert!(e.by.contains('@'), "who: user@host: {e:?}");
        assert!(
            e.detail.starts_with("failed:") && e.detail.contains("text/html"),
            "{e:?}"
        );
        assert!(matches!(f.state, archiver_core::FileState::Archived { .. }));
    }
}

#[tokio::test]
async fn failed_files_are_counted_retried_and_archived_and_verify_finds_tampering_on_aws() {
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
    let unique = format!(
        "op-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 0xffff_ffff
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &sim,
        &format!(
            "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nbucket = \"za-{unique}\"\ntable = \"za-{unique}\"\nqueue_name = \"za-{unique}\"\n"
        ),
    );
    let b = Backend::Aws {
        endpoint,
        bucket: format!("za-{unique}"),
        python,
    };
    let mut init = b.args(&cfg);
    init.extend(["aws".into(), "init".into()]);
    let out = run(init).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    scenario(b, &sim, &cfg).await;
}
