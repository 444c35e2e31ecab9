//! The review UI on `--backend aws`, end to end against moto: archive the simulated
//! account (`aws init`, `run --once`), `users add` and `users grant` and `users token` on
//! AWS, `serve --backend aws` as its own process, then over HTTP: the one-time password
//! login and password change, `GET /api/v1/cdrs` with the session and with the API token,
//! a ranged `GET /api/v1/media/{key}` (206), 401 without credentials, and the plays in the
//! audit trail on DynamoDB.
//!
//! Needs `MOTO`; without it the test is skipped unless `ZA_REQUIRE_MOTO=1`.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, COOKIE, LOCATION, RANGE, SET_COOKIE};
use sha2::{Digest, Sha256};
use std::process::Output;
use std::time::Duration;
use zoom_sim::{Scenario, SimServer};

fn command(args: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"));
    c.args(args)
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("ZOOM_CLIENT_SECRET_ACME", "demo-secret");
    c
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || command(&args).output().unwrap())
        .await
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn args(c: &str, rest: &[&str]) -> Vec<String> {
    ["--config", c, "--backend", "aws"]
        .iter()
        .chain(rest)
        .map(|s| s.to_string())
        .collect()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The value of the hidden `csrf` input of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf input") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn users_and_serve_on_aws_log_in_search_and_play_over_http() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let unique = format!("rev-{:08x}-{}", fastrand_u32(), std::process::id());
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
    ok(&run(vec![
        "--config".into(),
        c.clone(),
        "aws".into(),
        "init".into(),
    ])
    .await);
    ok(&run(args(&c, &["run", "--once"])).await);
    let archived: Vec<serde_json::Value> = ok(&run(args(&c, &["cdrs"])).await)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(archived.len() >= 3, "{archived:?}");

    // Accounts on AWS: a one-time password, a grant of the tenant, an API token.
    let password = ok(&run(args(&c, &["users", "add", "ada", "--role", "reviewer"])).await)
        .trim()
        .to_string();
    assert!(password.len() >= 12, "{password:?}");
    let dup = run(args(&c, &["users", "add", "ada", "--role", "admin"])).await;
    assert_ne!(dup.status.code(), Some(0), "names are unique");
    ok(&run(args(&c, &["users", "grant", "ada", "--tenant", "acme"])).await);
    let token = ok(&run(args(&c, &["users", "token", "ada"])).await)
        .trim()
        .to_string();
    assert!(token.starts_with("za_"), "{token:?}");
    let list = ok(&run(args(&c, &["users", "list"])).await);
    assert!(list.contains("ada\tReviewer\tacme"), "{list}");

    // serve --backend aws, in its own process.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let exports = dir.path().join("exports").display().to_string();
    let _server = Server(
        command(&args(
            &c,
            &["serve", "--listen", &listen, "--exports-dir", &exports],
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts"),
    );
    let base = format!("http://{listen}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/login")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "serve --backend aws listens on {listen}");

    // Without credentials: 401, for the API and for media.
    let r = http
        .get(format!("{base}/api/v1/cdrs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(format!("{base}/api/v1/cdrs"))
        .header(AUTHORIZATION, "Bearer za_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an unknown token");

    // The one-time password logs in (hash read from DynamoDB) and must be changed first.
    let r = http.get(format!("{base}/login")).send().await.unwrap();
    let login_csrf = set_cookie(&r, "za_login_csrf").expect("a login CSRF cookie");
    let r = http
        .post(format!("{base}/login"))
        .header(COOKIE, format!("za_login_csrf={login_csrf}"))
        .form(&[
            ("csrf", login_csrf.as_str()),
            ("next", "/search"),
            ("username", "ada"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let session = set_cookie(&r, "za_session").expect("a session cookie");
    let with_session = format!("za_session={session}");
    let r = http
        .get(format!("{base}/api/v1/cdrs"))
        .header(COOKIE, &with_session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the one-time password");
    let page = http
        .get(format!("{base}/password"))
        .header(COOKIE, &with_session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let r = http
        .post(format!("{base}/password"))
        .header(COOKIE, &with_session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "a-new-password-42"),
            ("again", "a-new-password-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/search"),
        "{}",
        r.status()
    );
    let by_session: serde_json::Value = http
        .get(format!("{base}/api/v1/cdrs"))
        .header(COOKIE, &with_session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // The API token: the tenant's CDRs, the same as the session sees and as `cdrs` lists.
    let r = http
        .get(format!("{base}/api/v1/cdrs?per_page=100"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page: serde_json::Value = r.json().await.unwrap();
    let cdrs = page["cdrs"].as_array().unwrap();
    assert_eq!(
        page["total"].as_u64(),
        Some(archived.len() as u64),
        "{page}"
    );
    assert_eq!(by_session["total"], page["total"]);
    assert!(cdrs.iter().all(|c| c["tenant"] == "acme"), "{page}");
    let mut ids: Vec<&str> = cdrs.iter().map(|c| c["cdr_id"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = archived
        .iter()
        .map(|c| c["cdr_id"].as_str().unwrap())
        .collect();
    ids.sort();
    want.sort();
    assert_eq!(ids, want);

    // Media from S3: a Range request is answered 206 with those bytes; the whole file
    // has the recorded SHA-256.
    let (cdr_id, m) = cdrs
        .iter()
        .find_map(|c| {
            c["media"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["size"].as_u64() > Some(200)))
                .map(|m| (c["cdr_id"].as_str().unwrap().to_string(), m.clone()))
        })
        .expect("a CDR with media");
    let (key, size) = (m["key"].as_str().unwrap(), m["size"].as_u64().unwrap());
    let url = format!(
        "{base}/api/v1/media/{}?cdr={}&reason=matter%2042",
        encode(key, "/-_."),
        encode(&cdr_id, "")
    );
    let r = http
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()),
        Some(format!("bytes 100-199/{size}").as_str())
    );
    let part = r.bytes().await.unwrap();
    let whole = http
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let whole = whole.bytes().await.unwrap();
    assert_eq!(whole.len() as u64, size);
    assert_eq!(&whole[100..200], &part[..]);
    assert_eq!(
        hex::encode(Sha256::digest(&whole)),
        m["sha256"].as_str().unwrap()
    );
    let r = http
        .get(&url)
        .header(RANGE, "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "media needs credentials"
    );

    // The searches and the play are in the tenant's audit trail on DynamoDB, by ada, with
    // the reason; neither the password nor the token is.
    let trail = ok(&run(args(
        &c,
        &["audit", "--tenant", "acme", "--format", "jsonl"],
    ))
    .await);
    assert!(
        trail.lines().any(|l| l.contains("\"actor\":\"review:ada\"")
            && l.contains("matter 42")
            && l.contains(key)),
        "{trail}"
    );
    assert!(
        trail
            .lines()
            .any(|l| l.contains("\"actor\":\"review:ada\"") && l.contains("search:"))
    );
    assert!(!trail.contains(&password) && !trail.contains(&token));
}

/// Percent-encodes every byte but ASCII letters, digits and `keep` (keys hold escaped
/// conversation ids: their `%` must reach the server as such).
fn encode(s: &str, keep: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
