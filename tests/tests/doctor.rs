//! `zoom-archiver doctor` end to end: the simulator against the CLI's doctor on the
//! embedded default (a temporary data directory).

use archiver_core::services::doctor::{ARCHIVING_OFF, ProxyEnv};
use archiver_core::{QuotaLedger, SystemClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zoom_archiver::config::FileConfig;
use zoom_archiver::doctor::{Backend, check};
use zoom_sim::{Scenario, SimServer};

const HEAVY: [&str; 3] = [
    "GET /metrics/meetings/{meetingId}/participants",
    "GET /metrics/meetings",
    "GET /phone/call_history",
];

async fn sim() -> SimServer {
    SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .expect("simulator starts")
}

/// A configuration for the simulator's demo account, `tenant_extra` added to the tenant.
fn config(dir: &Path, sim: &SimServer, secret: &str, tenant_extra: &str) -> (FileConfig, PathBuf) {
    let text = format!(
        r#"[storage]
data_dir = "{data}"

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret = "{secret}"
api_base_url = "{api}"
oauth_url = "{oauth}"
{tenant_extra}
[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"
"#,
        data = dir.join("data").display(),
        api = sim.api_base_url(),
        oauth = sim.oauth_url(),
    );
    let path = dir.join("archiver.toml");
    std::fs::write(&path, &text).unwrap();
    (FileConfig::parse(&text).expect("valid config"), path)
}

async fn doctor(cfg: &FileConfig, path: &Path) -> (String, bool) {
    check(
        cfg,
        path,
        Backend::Local,
        None,
        Arc::new(SystemClock),
        &ProxyEnv::default(),
    )
    .await
    .expect("the tenant is known")
}

/// The line of check `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .nth(2)
                == Some(name)
        })
        .unwrap_or_else(|| panic!("no {name} line in\n{text}"))
}

#[tokio::test]
async fn all_ok_with_every_scope_and_no_heavy_call() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (cfg, path) = config(dir.path(), &sim, "demo-secret", "");
    let (text, ok) = doctor(&cfg, &path).await;
    assert!(ok, "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
    for name in [
        "config",
        "token",
        "proxy",
        "scope GET /archive_files",
        "scope GET /metrics/meetings/{meetingId}/participants",
        "scope GET /metrics/meetings",
        "scope GET /past_meetings/{meetingUUID}/archive_files",
        "scope GET /phone/recordings",
        "scope GET /phone/call_history",
        "scope GET /phone/call_history/{callHistoryUuid}",
        "scope GET /users/{userId}",
        "archiving",
        "objects",
        "metadata",
        "queue",
    ] {
        line(&text, name);
    }
    assert!(line(&text, "config").contains(&path.display().to_string()));
    assert!(line(&text, "queue").contains("embedded ("), "{text}");
    let stats = sim.stats();
    for heavy in HEAVY {
        assert_eq!(stats.by_endpoint.get(heavy), None, "{heavy} was called");
    }
    // One call per Light / Medium endpoint, counted in the quota ledger like any call.
    assert_eq!(stats.by_endpoint.get("GET /phone/recordings"), Some(&1));
    let ledger = archiver_local::open_quota(&dir.path().join("data")).unwrap();
    let used = ledger
        .list("demo-account", chrono::Utc::now().date_naive())
        .await
        .unwrap();
    assert!(
        used.contains(&("phone:Medium".to_string(), 1)) && used.contains(&("Medium".into(), 1)),
        "{used:?}"
    );
}

#[tokio::test]
async fn a_withheld_scope_is_named_and_fails_the_run() {
    let sim = sim().await;
    sim.faults().withhold_scopes([
        "phone:read:list_call_recordings:admin",
        "dashboard:read:list_meeting_participants:admin",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (cfg, path) = config(dir.path(), &sim, "demo-secret", "");
    let (text, ok) = doctor(&cfg, &path).await;
    assert!(!ok, "{text}");
    // A Medium endpoint: called, and Zoom's 4711 names the scope.
    let rec = line(&text, "scope GET /phone/recordings");
    assert!(
        rec.starts_with("FAIL") && rec.contains("phone:read:list_call_recordings:admin"),
        "{text}"
    );
    // A Heavy endpoint: never called, the scope missing from the token's list.
    let part = line(
        &text,
        "scope GET /metrics/meetings/{meetingId}/participants",
    );
    assert!(
        part.starts_with("FAIL") && part.contains("dashboard:read:list_meeting_participants:admin"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("FAIL")).count(),
        2,
        "only those two: {text}"
    );
    for heavy in HEAVY {
        assert_eq!(
            sim.stats().by_endpoint.get(heavy),
            None,
            "{heavy} was called"
        );
    }
}

#[tokio::test]
async fn a_wrong_secret_fails_the_token_line_without_showing_it() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "not-the-secret-4711";
    let (cfg, path) = config(dir.path(), &sim, secret, "");
    let (text, ok) = doctor(&cfg, &path).await;
    assert!(!ok, "{text}");
    let token = line(&text, "token");
    assert!(
        token.starts_with("FAIL")
            && token.contains("invalid_client")
            && token.contains("wrong client id or client secret"),
        "{text}"
    );
    assert!(!text.contains(secret), "the secret is shown:\n{text}");
    // Zoom answered (the refusal): the proxy line is fine, the stores are checked anyway.
    assert!(line(&text, "proxy").starts_with("ok"), "{text}");
    assert!(line(&text, "objects").starts_with("ok"), "{text}");
    assert!(
        !text.contains("scope GET"),
        "no scope is checked without a token: {text}"
    );
}

#[tokio::test]
async fn archiving_off_and_an_unreachable_proxy_say_what_to_fix() {
    let sim = sim().await;
    sim.faults().disable_archiving();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, path) = config(dir.path(), &sim, "demo-secret", "");
    let (text, ok) = doctor(&cfg, &path).await;
    assert!(!ok, "{text}");
    let arch = line(&text, "archiving");
    assert!(
        arch.starts_with("FAIL") && arch.ends_with(ARCHIVING_OFF),
        "{text}"
    );

    // A proxy nobody listens on: the token and proxy lines fail, naming the proxy but
    // not its password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (cfg, path) = config(
        dir.path(),
        &sim,
        "demo-secret",
        &format!("proxy = \"http://me:pr0xy-pw@127.0.0.1:{port}\"\n"),
    );
    let (text, ok) = doctor(&cfg, &path).await;
    assert!(!ok, "{text}");
    let proxy = line(&text, "proxy");
    assert!(
        proxy.starts_with("FAIL") && proxy.contains(&format!("http://***@127.0.0.1:{port}")),
        "{text}"
    );
    assert!(line(&text, "token").starts_with("FAIL"), "{text}");
    assert!(!text.contains("pr0xy-pw"), "{text}");
}

#[tokio::test]
async fn an_unknown_tenant_is_an_error() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (cfg, path) = config(dir.path(), &sim, "demo-secret", "");
    let e = check(
        &cfg,
        &path,
        Backend::Local,
        Some("nope"),
        Arc::new(SystemClock),
        &ProxyEnv::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("unknown tenant \"nope\""), "{e}");
}

/// On the AWS backend (moto): the stores are named and checked, the probes counted in the
/// DynamoDB ledger; a secret named by `client_secret_ref` that does not exist fails the
/// token line with its name. Skipped when moto is not configured.
#[tokio::test]
async fn on_aws_the_stores_are_checked_and_a_missing_secret_is_named() {
    let Some(endpoint) = archiver_e2e::moto_endpoint() else {
        return;
    };
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let unique = format!("doctor-{:x}", fastrand::u64(..) % 0xffff_ffff);
    let aws = format!(
        "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nbucket = \"za-{unique}\"\n\
         table = \"za-{unique}\"\nqueue_name = \"za-{unique}\"\n\n"
    );
    let settings: archiver_aws::AwsSettings = toml_settings(&aws);
    archiver_aws::init_resources(&settings)
        .await
        .expect("init_resources");
    let (_, path) = config(dir.path(), &sim, "demo-secret", "");
    let cfg = FileConfig::parse(&format!("{aws}{}", std::fs::read_to_string(&path).unwrap()))
        .expect("valid config");
    let (text, ok) = check(
        &cfg,
        &path,
        Backend::Aws,
        None,
        Arc::new(SystemClock),
        &ProxyEnv::default(),
    )
    .await
    .unwrap();
    assert!(ok, "{text}");
    for name in ["objects", "metadata", "queue"] {
        let l = line(&text, name);
        assert!(l.contains(&format!("AWS (bucket za-{unique}")), "{text}");
    }

    let missing = format!("za-{unique}-no-such-secret");
    let body = std::fs::read_to_string(&path).unwrap().replace(
        "client_secret = \"demo-secret\"",
        &format!("client_secret_ref = \"{missing}\""),
    );
    let cfg = FileConfig::parse(&format!("{aws}{body}")).expect("valid config");
    let (text, ok) = check(
        &cfg,
        &path,
        Backend::Aws,
        None,
        Arc::new(SystemClock),
        &ProxyEnv::default(),
    )
    .await
    .unwrap();
    assert!(!ok, "{text}");
    let token = line(&text, "token");
    assert!(
        token.starts_with("FAIL") && token.contains(&missing),
        "{text}"
    );
    assert!(line(&text, "queue").starts_with("ok"), "{text}");
}

/// The `[aws]` table of a configuration text.
fn toml_settings(text: &str) -> archiver_aws::AwsSettings {
    let cfg = FileConfig::parse(&format!(
        "{text}[[tenants]]\nid = \"x\"\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"
    ))
    .expect("valid [aws] table");
    cfg.aws().expect("an [aws] table").clone()
}
