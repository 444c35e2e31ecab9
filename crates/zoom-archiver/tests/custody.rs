//! Custody through the command line (issue 16's done-when), on the embedded default and on
//! moto: archive the simulated demo account, `reconcile` seals each final day, `verify
//! --day D` exits 0 for every sealed day and `verify --object KEY` proves a recording's
//! place in it; then each tamper makes `verify --day` exit 1 with a line naming the
//! problem: one byte of a stored object flipped (OBJECT), one manifest line edited (ROOT),
//! the signature replaced (SIGNATURE), one audit entry altered, then one deleted (AUDIT).
//! Locally the key file is mode 0600 and the manifests are read-only files (the intruder
//! makes them writable first).
//!
//! The waveform peaks sidecars the archiver stores beside decodable recordings (under
//! `acme/derived/peaks/`) are there and readable, and neither `verify --day` nor the full
//! fixity `verify` names them.
//!
//! The AWS variant signs with a KMS key that `aws init` creates in moto (ECC_NIST_P256,
//! ECDSA_SHA_256) and needs `MOTO` and `ZA_PYTHON` (boto3 plays the intruder); without them
//! it is skipped unless `ZA_REQUIRE_MOTO=1`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use zoom_sim::{Scenario, SimServer};

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("ZA_CUSTODY_SECRET", "demo-secret")
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

/// Where the archive is, and how an intruder changes it behind the archiver's back.
enum Store {
    Local {
        data: PathBuf,
    },
    Aws {
        endpoint: String,
        name: String,
        python: String,
    },
}

impl Store {
    fn args(&self, cfg: &Path) -> Vec<String> {
        let mut a = vec!["--config".to_string(), cfg.display().to_string()];
        if matches!(self, Store::Aws { .. }) {
            a.extend(["--backend".into(), "aws".into()]);
        }
        a
    }

    fn read(&self, key: &str) -> Vec<u8> {
        match self {
            Store::Local { data } => std::fs::read(data.join("objects").join(key)).unwrap(),
            Store::Aws { .. } => {
                let hex = self.boto(
                    "print(s3.get_object(Bucket=a['name'], Key=a['key'])['Body'].read().hex())",
                    key,
                    "",
                );
                hex::decode(hex.trim()).unwrap()
            }
        }
    }

    /// The keys stored under `prefix`, sorted.
    fn keys(&self, prefix: &str) -> Vec<String> {
        match self {
            Store::Local { data } => {
                fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
                    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p, root, out);
                        } else if let Ok(rel) = p.strip_prefix(root) {
                            out.push(rel.to_string_lossy().into_owned());
                        }
                    }
                }
                let root = data.join("objects");
                let mut out = Vec::new();
                walk(&root.join(prefix), &root, &mut out);
                out.retain(|k| k.starts_with(prefix) && !k.contains(".tmp"));
                out.sort();
                out
            }
            Store::Aws { .. } => {
                let mut out: Vec<String> = self
                    .boto(
                        "p = s3.get_paginator('list_objects_v2')\nfor page in p.paginate(Bucket=a['name'], Prefix=a['key']):\n    for o in page.get('Contents', []):\n        print(o['Key'])",
                        prefix,
                        "",
                    )
                    .lines()
                    .map(str::to_string)
                    .collect();
                out.sort();
                out
            }
        }
    }

    /// Replaces an object's bytes (a read-only file is made writable first).
    fn write(&self, key: &str, bytes: &[u8]) {
        match self {
            Store::Local { data } => {
                let p = data.join("objects").join(key);
                let mut perm = std::fs::metadata(&p).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perm.set_readonly(false);
                std::fs::set_permissions(&p, perm).unwrap();
                std::fs::write(&p, bytes).unwrap();
            }
            Store::Aws { .. } => {
                self.boto(
                    "s3.put_object(Bucket=a['name'], Key=a['key'], Body=bytes.fromhex(a['arg']))",
                    key,
                    &hex::encode(bytes),
                );
            }
        }
    }

    /// The JSON body of audit entry `seq` of tenant acme.
    fn audit_body(&self, seq: u64) -> String {
        match self {
            Store::Local { data } => {
                let c = rusqlite::Connection::open(data.join("archive.db")).unwrap();
                c.query_row(
                    "SELECT body FROM audit WHERE tenant = 'acme' AND seq = ?1",
                    [seq],
                    |r| r.get(0),
                )
                .unwrap()
            }
            Store::Aws { .. } => self.boto(
                "print(ddb.get_item(TableName=a['name'], Key={'pk': {'S': 'T#acme#AUDIT'}, 'sk': {'S': '%020d' % int(a['key'])}}, ConsistentRead=True)['Item']['body']['S'])",
                &seq.to_string(),
                "",
            ).trim_end().to_string(),
        }
    }

    fn set_audit_body(&self, seq: u64, body: &str) {
        match self {
            Store::Local { data } => {
                let c = rusqlite::Connection::open(data.join("archive.db")).unwrap();
                let n = c
                    .execute(
                        "UPDATE audit SET body = ?2 WHERE tenant = 'acme' AND seq = ?1",
                        rusqlite::params![seq, body],
                    )
                    .unwrap();
                assert_eq!(n, 1);
            }
            Store::Aws { .. } => {
                self.boto(
                    "ddb.update_item(TableName=a['name'], Key={'pk': {'S': 'T#acme#AUDIT'}, 'sk': {'S': '%020d' % int(a['key'])}}, UpdateExpression='SET body = :b', ExpressionAttributeValues={':b': {'S': a['arg']}})",
                    &seq.to_string(),
                    body,
                );
            }
        }
    }

    fn delete_audit(&self, seq: u64) {
        match self {
            Store::Local { data } => {
                let c = rusqlite::Connection::open(data.join("archive.db")).unwrap();
                c.execute(
                    "DELETE FROM audit WHERE tenant = 'acme' AND seq = ?1",
                    [seq],
                )
                .unwrap();
            }
            Store::Aws { .. } => {
                self.boto(
                    "ddb.delete_item(TableName=a['name'], Key={'pk': {'S': 'T#acme#AUDIT'}, 'sk': {'S': '%020d' % int(a['key'])}})",
                    &seq.to_string(),
                    "",
                );
            }
        }
    }

    fn boto(&self, code: &str, key: &str, arg: &str) -> String {
        let Store::Aws {
            endpoint,
            name,
            python,
        } = self
        else {
            unreachable!()
        };
        let script = format!(
            "import boto3, json, sys\na = json.loads(sys.stdin.read())\nkw = dict(endpoint_url=a['endpoint'], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\ns3 = boto3.client('s3', **kw)\nddb = boto3.client('dynamodb', **kw)\n{code}\n"
        );
        let input = serde_json::json!({"endpoint": endpoint, "name": name, "key": key, "arg": arg});
        let mut child = std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
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
client_secret_env = "ZA_CUSTODY_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"
reconcile_grace = "1h"

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

/// `verify --day day`: its exit code and stdout.
async fn verify_day(s: &Store, cfg: &Path, day: &str) -> (Option<i32>, String) {
    let mut v = s.args(cfg);
    v.extend(["verify".into(), "--day".into(), day.into()]);
    let out = run(v).await;
    (
        out.status.code(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), text(&out)),
    )
}

/// Asserts that `verify --day` exits 1 with a `label` line about `subject`.
async fn names(s: &Store, cfg: &Path, day: &str, label: &str, subject: &str) {
    let (code, out) = verify_day(s, cfg, day).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(label) && l.contains(subject)),
        "a {label} line about {subject}: {out}"
    );
}

async fn intact(s: &Store, cfg: &Path, day: &str) {
    let (code, out) = verify_day(s, cfg, day).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.lines().any(|l| l.ends_with(": intact")), "{out}");
}

async fn scenario(s: Store, cfg: &Path) {
    let mut a = s.args(cfg);
    a.extend(["run".into(), "--once".into()]);
    let out = run(a).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Reconciling seals every final day, each printed with its manifest.
    let mut r = s.args(cfg);
    r.push("reconcile".into());
    let out = run(r.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let sealed: Vec<(String, u64)> = stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("acme ")?;
            let (day, rest) = rest.split_once(' ')?;
            let rest = rest.strip_prefix("sealed: ")?;
            let n = rest.split_once(" (")?.1.split_once(' ')?.0.parse().ok()?;
            Some((day.to_string(), n))
        })
        .collect();
    assert!(
        sealed.len() >= 3,
        "the lookback's final days: {}",
        text(&out)
    );
    let (day, _) = sealed
        .iter()
        .rev()
        .find(|(_, objects)| *objects > 0)
        .unwrap_or_else(|| panic!("a sealed day with recordings: {}", text(&out)))
        .clone();
    for (d, _) in &sealed {
        intact(&s, cfg, d).await;
    }
    // Waveform peaks beside the decodable recordings (the simulator's media fixtures):
    // derived data that neither `verify --day` (above) nor the full fixity check names.
    let sidecars = s.keys("acme/derived/peaks/");
    assert!(!sidecars.is_empty(), "peaks sidecars stored");
    let recordings = s.keys("acme/");
    for k in &sidecars {
        let p = archiver_core::Peaks::from_bytes(&s.read(k)).unwrap();
        assert!(p.window_ms == 20 && !p.pairs.is_empty(), "{k}");
        let rec = k
            .strip_prefix("acme/derived/peaks/")
            .and_then(|r| r.strip_suffix(".peaks"))
            .unwrap();
        assert!(
            recordings.contains(&format!("acme/{rec}")),
            "{k} lies beside its recording"
        );
    }
    let mut v = s.args(cfg);
    v.push("verify".into());
    let out = run(v).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains("UNKNOWN") && !stdout.contains("peaks"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 not"), "{stdout}");
    // Nothing new: reconciling and sealing again write nothing.
    let out = run(r).await;
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(" sealed: "),
        "{}",
        text(&out)
    );
    let mut again = s.args(cfg);
    again.extend(["seal".into(), "--day".into(), day.clone()]);
    let out = run(again).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("acme {day} already sealed")),
        "{}",
        text(&out)
    );

    let manifest_key = format!("acme/manifests/{day}.json");
    if let Store::Local { data } = &s {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("objects").join(&manifest_key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444, "sealed manifests are read-only files");
    }
    let manifest = s.read(&manifest_key);
    let doc: Value = serde_json::from_slice(&manifest).unwrap();
    let lines: Vec<String> = doc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let object = lines
        .iter()
        .find_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["t"] == "object").then(|| v["key"].as_str().unwrap().to_string())
        })
        .unwrap();

    // The inclusion proof of one recording.
    let mut p = s.args(cfg);
    p.extend(["verify".into(), "--object".into(), object.clone()]);
    let out = run(p.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let proof = String::from_utf8_lossy(&out.stdout).into_owned();
    for label in ["manifest ", "leaf ", "path ", "root ", "verified"] {
        assert!(
            proof.lines().any(|l| l.starts_with(label)),
            "{label}: {proof}"
        );
    }
    assert!(proof.contains(&manifest_key), "{proof}");

    // 1. One byte of a stored object flipped.
    let original = s.read(&object);
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    s.write(&object, &flipped);
    names(&s, cfg, &day, "OBJECT", &object).await;
    let out = run(p).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    s.write(&object, &original);
    intact(&s, cfg, &day).await;

    // 2. One manifest line edited (the day line's tenant, as it is escaped in the file).
    let edited = String::from_utf8(manifest.clone()).unwrap().replacen(
        r#"\"tenant\":\"acme\""#,
        r#"\"tenant\":\"acme \""#,
        1,
    );
    assert_ne!(edited.as_bytes(), &manifest[..]);
    s.write(&manifest_key, edited.as_bytes());
    names(&s, cfg, &day, "ROOT", &manifest_key).await;
    s.write(&manifest_key, &manifest);
    intact(&s, cfg, &day).await;

    // 3. The signature replaced.
    let sig = doc["signature"]["value"].as_str().unwrap();
    let mut forged: Vec<u8> = sig.as_bytes().to_vec();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(manifest.clone())
        .unwrap()
        .replace(sig, std::str::from_utf8(&forged).unwrap());
    s.write(&manifest_key, forged.as_bytes());
    names(&s, cfg, &day, "SIGNATURE", &manifest_key).await;
    s.write(&manifest_key, &manifest);
    intact(&s, cfg, &day).await;

    // 4. An audit entry altered, then one deleted (both before the sealed head).
    let body = s.audit_body(1);
    let mut altered: Value = serde_json::from_str(&body).unwrap();
    altered["actor"] = "mallory@elsewhere".into();
    s.set_audit_body(1, &altered.to_string());
    names(&s, cfg, &day, "AUDIT", "acme audit chain").await;
    s.set_audit_body(1, &body);
    intact(&s, cfg, &day).await;
    s.delete_audit(2);
    names(&s, cfg, &day, "AUDIT", "acme audit chain").await;
}

#[tokio::test]
async fn sealed_days_verify_and_every_tamper_is_named_locally() {
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
    let s = Store::Local { data: data.clone() };
    // Without a key, reconciling works and says the days are not sealed.
    let out = run(vec![
        "--config".into(),
        cfg.display().to_string(),
        "seal".into(),
        "--day".into(),
        "2026-01-01".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("keys init"), "{}", text(&out));
    let mut k = s.args(&cfg);
    k.extend(["keys".into(), "init".into()]);
    let out = run(k.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let key = data.join("keys/manifest-ed25519.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let public = std::fs::read_to_string(data.join("keys/manifest-ed25519.key.pub")).unwrap();
    assert!(
        public.starts_with("key_id: ed25519:") && public.contains("-----BEGIN PUBLIC KEY-----"),
        "{public}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&public));
    // Never replaced.
    let out = run(k).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    scenario(s, &cfg).await;
}

#[tokio::test]
async fn sealed_days_verify_and_every_tamper_is_named_on_aws() {
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
        "cu-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 0xffff_ffff
    );
    let name = format!("za-{unique}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &sim,
        &format!(
            "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nbucket = \"{name}\"\ntable = \"{name}\"\nqueue_name = \"{name}\"\nmanifest_key_id = \"alias/{name}\"\n"
        ),
    );
    let s = Store::Aws {
        endpoint,
        name: name.clone(),
        python,
    };
    let mut init = s.args(&cfg);
    init.extend(["aws".into(), "init".into()]);
    let out = run(init).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("created  kms:alias/{name}")),
        "{}",
        text(&out)
    );
    let mut show = s.args(&cfg);
    show.extend(["keys".into(), "show".into()]);
    let out = run(show).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("key_id: arn:aws:kms:"),
        "{}",
        text(&out)
    );
    scenario(s, &cfg).await;
}
