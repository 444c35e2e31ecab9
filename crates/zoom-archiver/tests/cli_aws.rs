//! `--backend aws`: `aws init`, `run --once` and `cdrs` against moto, read back with boto3.
//!
//! Needs `MOTO` (and, for the boto3 read-back, `ZA_PYTHON`: a Python with boto3, which
//! `.ci/run` sets to its venv). Without `MOTO` the test is skipped unless `ZA_REQUIRE_MOTO=1`.

use std::process::Output;
use zoom_sim::{Scenario, SimServer};

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("ZOOM_CLIENT_SECRET_ACME", "demo-secret")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn aws_init_then_run_once_archives_into_s3_and_dynamodb() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let unique = format!(
        "cli-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 0xffff_ffff
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aws.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
bucket = "za-{unique}"
table = "za-{unique}"
queue_name = "za-{unique}"

[download]
retry_base = "10ms"
# One at a time: moto's conditional writes are not atomic under concurrent requests.
concurrency = 1

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret_ref = "zoom/{unique}"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"
"#,
            api = sim.api_base_url(),
            oauth = sim.oauth_url()
        ),
    )
    .unwrap();
    let c = cfg.display().to_string();

    let out = run(vec![
        "--config".into(),
        c.clone(),
        "aws".into(),
        "init".into(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("created  secret zoom/"), "{stdout}");
    let again = run(vec![
        "--config".into(),
        c.clone(),
        "aws".into(),
        "init".into(),
    ])
    .await;
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .lines()
            .all(|l| l.starts_with("exists")),
        "idempotent"
    );

    let out = run(vec![
        "--config".into(),
        c.clone(),
        "--backend".into(),
        "aws".into(),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(vec![
        "--config".into(),
        c.clone(),
        "--backend".into(),
        "aws".into(),
        "cdrs".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let cdrs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(cdrs.len() >= 3, "{cdrs:?}");
    let mut media = Vec::new();
    // Meeting CDRs are filed under Bob's Zoom user id (looked up by his email), phone CDRs
    // under his extension.
    let bob_id = sim.scenario().accounts[0]
        .users
        .iter()
        .find(|u| u.email == "bob@acme.example")
        .map(|u| u.id.clone())
        .unwrap();
    for c in &cdrs {
        let want = if c["source_platform"] == "Zoom Phone" {
            "1002"
        } else {
            bob_id.as_str()
        };
        assert_eq!(c["user_id"].as_str(), Some(want), "{c}");
        for m in c["media"].as_array().unwrap() {
            media.push((
                m["key"].as_str().unwrap().to_string(),
                m["sha256"].as_str().unwrap().to_string(),
                m["size"].as_u64().unwrap(),
            ));
        }
    }
    assert!(!media.is_empty());

    // Any standard client can read it back: boto3.
    let Ok(python) = std::env::var("ZA_PYTHON") else {
        println!("boto3 read-back skipped: ZA_PYTHON not set");
        return;
    };
    let script = r#"
import boto3, hashlib, json, sys
args = json.loads(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=args["endpoint"], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
for key, sha, size in args["media"]:
    body = s3.get_object(Bucket=args["bucket"], Key=key)["Body"].read()
    assert len(body) == size, (key, len(body), size)
    assert hashlib.sha256(body).hexdigest() == sha, key
ddb = boto3.client("dynamodb", endpoint_url=args["endpoint"], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
items = ddb.scan(TableName=args["table"])["Items"]
assert len(items) > len(args["media"]), len(items)
print("boto3 verified", len(args["media"]), "objects and", len(items), "items")
"#;
    let arg = serde_json::json!({"endpoint": endpoint, "bucket": format!("za-{unique}"), "table": format!("za-{unique}"), "media": media}).to_string();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}
