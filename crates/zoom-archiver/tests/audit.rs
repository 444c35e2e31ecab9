//! The audit trail through the command line, on the embedded default: `run --once`, `cdrs
//! show` and a CSV export leave `config_load`, `create` (one per archived file), `read` and
//! `export` entries naming the actor; `audit verify` passes on the intact chain and names
//! the seq of an entry altered in `archive.db`, and the gap of one deleted; a read or an
//! export that cannot be recorded shows no data. On moto (`MOTO`), the same entries land in
//! DynamoDB and verify (tampering there is covered by the adapter's conformance test).

use archiver_core::MetaStore;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use zoom_sim::{Scenario, SimServer};

/// The user the entries name (`USER@host`).
const USER: &str = "auditor";

async fn run(cfg: &Path, args: &[&str]) -> Output {
    let mut argv = vec!["--config".to_string(), cfg.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&argv)
            .env_remove("RUST_LOG")
            .env("ZA_AUDIT_SECRET", "demo-secret")
            .env("USER", USER)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
client_secret_env = "ZA_AUDIT_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"

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

/// `audit --format jsonl`, parsed.
async fn entries(cfg: &Path) -> Vec<Value> {
    let out = run(cfg, &["audit", "--format", "jsonl"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of<'a>(entries: &'a [Value], action: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["action"] == action).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn reads_exports_and_archived_files_are_chained_and_tampering_is_named() {
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
    let db = data.join("archive.db");

    let out = run(&cfg, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // What was archived, read behind the CLI's back.
    let meta = archiver_local::SqliteMetaStore::open(&db).unwrap();
    let files = meta
        .list_files(&archiver_core::FileQuery::default())
        .await
        .unwrap();
    let mut archived: Vec<String> = files
        .iter()
        .filter(|f| matches!(f.state, archiver_core::FileState::Archived { .. }))
        .map(|f| f.object_key.to_string())
        .collect();
    archived.sort();
    assert!(archived.len() > 5, "{archived:?}");
    let all_cdrs = meta
        .query_cdrs(&archiver_core::CdrQuery::default())
        .await
        .unwrap();
    let call = all_cdrs[0].platform_call_id.clone();
    let mut shown: Vec<String> = all_cdrs
        .iter()
        .filter(|c| c.platform_call_id == call)
        .map(|c| c.cdr_id.clone())
        .collect();
    shown.sort();
    drop(meta);

    let out = run(&cfg, &["cdrs", "show", &call]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&cfg, &["cdrs", "--format", "csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&cfg, &["cdrs", "--user", "bob@acme.example"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let all = entries(&cfg).await;
    let actor = |e: &Value| e["actor"].as_str().unwrap().to_string();
    // Configuration loads: one per command that opened the stores, naming the file.
    let loads = of(&all, "config_load");
    assert!(loads.len() >= 4, "{all:#?}");
    for e in &loads {
        assert!(actor(e).starts_with(&format!("{USER}@")), "{e}");
        assert_eq!(strings(&e["objects"]), [cfg.display().to_string()], "{e}");
        assert_eq!(e["tenant"], "acme");
    }
    let commands: Vec<&str> = loads
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        &commands[..4],
        [
            "zoom-archiver run",
            "zoom-archiver cdrs",
            "zoom-archiver cdrs",
            "zoom-archiver cdrs"
        ]
    );
    // One create per archived file, with its SHA-256.
    let creates = of(&all, "create");
    let mut created: Vec<String> = creates
        .iter()
        .flat_map(|e| strings(&e["objects"]))
        .collect();
    created.sort();
    assert_eq!(created, archived, "one create entry per archived file");
    for e in &creates {
        assert!(actor(e).starts_with(&format!("{USER}@")), "{e}");
        assert!(e["reason"].as_str().unwrap().contains("sha256="), "{e}");
    }
    // The read names the CDRs shown; the exports every CDR, with their filters.
    let reads = of(&all, "read");
    assert_eq!(reads.len(), 1, "{reads:#?}");
    let mut read = strings(&reads[0]["objects"]);
    read.sort();
    assert_eq!(read, shown);
    assert!(
        reads[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("platform_call_id={call}")),
        "{}",
        reads[0]
    );
    assert_eq!(actor(reads[0]), actor(loads[0]));
    let exports = of(&all, "export");
    assert_eq!(exports.len(), 2, "{exports:#?}");
    assert_eq!(
        strings(&exports[0]["objects"]).len(),
        all_cdrs.len(),
        "the export names every CDR"
    );
    assert_eq!(exports[0]["reason"], "cdrs: no filters");
    assert_eq!(exports[1]["reason"], "cdrs: user=bob@acme.example");
    assert!(strings(&exports[1]["objects"]).len() < all_cdrs.len());
    // Seqs from 1 without gaps, each chained to the one before.
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e["seq"], (i + 1) as u64);
        if i > 0 {
            assert_eq!(e["prev_hash"], all[i - 1]["hash"]);
        }
    }

    // The table and the time filter.
    let out = run(&cfg, &["audit"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("tenant") && table.contains("config_load"),
        "{table}"
    );
    let out = run(
        &cfg,
        &[
            "audit",
            "--from",
            "2999-01-01T00:00:00Z",
            "--format",
            "jsonl",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = run(&cfg, &["audit", "--tenant", "nope"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // verify: intact.
    let out = run(&cfg, &["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        line.starts_with("acme: ok: ") && line.contains(" entries, head "),
        "{line}"
    );
    let out = run(&cfg, &["audit", "verify", "--tenant", "nope"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // An entry altered in the database: named by its seq.
    let read_seq = reads[0]["seq"].as_i64().unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    let original: String = c
        .query_row(
            "SELECT body FROM audit WHERE tenant = 'acme' AND seq = ?1",
            [read_seq],
            |r| r.get(0),
        )
        .unwrap();
    let n = c
        .execute(
            "UPDATE audit SET body = json_set(body, '$.objects', json('[]')) WHERE tenant = 'acme' AND seq = ?1",
            [read_seq],
        )
        .unwrap();
    assert_eq!(n, 1);
    let out = run(&cfg, &["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("acme: BROKEN at {read_seq}: ")) && stdout.contains("altered"),
        "{}",
        text(&out)
    );

    // Put back, intact again; then one deleted: named as the gap.
    c.execute(
        "UPDATE audit SET body = ?2 WHERE tenant = 'acme' AND seq = ?1",
        rusqlite::params![read_seq, original],
    )
    .unwrap();
    let out = run(&cfg, &["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let gone = 3;
    c.execute(
        "DELETE FROM audit WHERE tenant = 'acme' AND seq = ?1",
        [gone],
    )
    .unwrap();
    let out = run(&cfg, &["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("acme: BROKEN at {gone}: entry {gone} is missing")),
        "{}",
        text(&out)
    );

    // An access that cannot be recorded shows nothing.
    c.execute_batch(
        "CREATE TRIGGER audit_offline BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit offline'); END;",
    )
    .unwrap();
    for args in [
        vec!["cdrs", "--format", "csv"],
        vec!["cdrs", "show", call.as_str()],
    ] {
        let out = run(&cfg, &args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("refusing to") && stderr.contains("audit trail"),
            "{args:?}: {}",
            text(&out)
        );
    }
    // Other commands go on, saying that the load was not recorded.
    let out = run(&cfg, &["status"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit trail did not record"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn on_aws_the_entries_are_in_dynamodb_and_verify() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let unique = format!(
        "audit-{:x}",
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
    let aws = |args: &[&str]| {
        let mut a = vec!["--backend", "aws"];
        a.extend_from_slice(args);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let go = |args: Vec<String>| {
        let cfg = cfg.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&cfg, &refs).await
        }
    };
    let out = go(aws(&["aws", "init"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = go(aws(&["run", "--once"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = go(aws(&["cdrs", "--format", "jsonl"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let exported: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call = exported[0]["platform_call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = go(aws(&["cdrs", "show", &call])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = go(aws(&["audit", "--format", "jsonl"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let archived = exported
        .iter()
        .flat_map(|c| c["media"].as_array().unwrap().iter())
        .filter(|m| m["state"] == "archived")
        .map(|m| m["key"].as_str().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>();
    let created = of(&all, "create")
        .iter()
        .flat_map(|e| strings(&e["objects"]))
        .collect::<std::collections::BTreeSet<_>>();
    assert!(!created.is_empty());
    assert!(
        archived.is_subset(&created),
        "every archived medium of a CDR has its create entry"
    );
    assert_eq!(of(&all, "export").len(), 1);
    assert_eq!(of(&all, "read").len(), 1);
    assert!(of(&all, "config_load").len() >= 4);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e["seq"], (i + 1) as u64, "gap-free: {e}");
    }
    let out = go(aws(&["audit", "verify"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("acme: ok: "),
        "{}",
        text(&out)
    );
}
