//! The command line contract: exit codes, the CDR export, config errors.

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Output;
use zoom_sim::{Scenario, SimServer};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zoom-archiver")
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin())
            .args(&args)
            .env_remove("RUST_LOG")
            .env("ZA_CLI_TEST_SECRET", "demo-secret")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn config(dir: &Path, sim: &SimServer, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[storage]
data_dir = "{data}"

[download]
retry_base = "10ms"
max_attempts = 2

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret_env = "ZA_CLI_TEST_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"
{extra}
[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"
"#,
        data = dir.join("data").display(),
        api = sim.api_base_url(),
        oauth = sim.oauth_url(),
    );
    let path = dir.join("archiver.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test]
async fn run_once_archives_and_cdrs_export_the_contract() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");

    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "cdrs".into(),
        "--format".into(),
        "jsonl".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 5, "{}", text);
    let required = [
        "tenant",
        "source_platform",
        "platform_call_id",
        "user",
        "user_id",
        "start_time",
        "end_time",
        "duration_seconds",
        "from",
        "from_info",
        "to",
        "to_info",
        "direction",
        "direction_user",
        "conversation_type",
        "recording_failed",
        "media",
    ];
    let objects = dir.path().join("data").join("objects");
    for c in &lines {
        for k in required {
            assert!(c.get(k).is_some(), "{k} missing in {c}");
        }
        assert!(["Zoom Meeting", "Zoom Phone"].contains(&c["source_platform"].as_str().unwrap()));
        assert!(c["start_time"].as_str().unwrap().ends_with('Z'));
        for m in c["media"].as_array().unwrap() {
            let key = m["key"].as_str().unwrap();
            let bytes = std::fs::read(objects.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(bytes.len() as u64, m["size"].as_u64().unwrap());
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                m["sha256"].as_str().unwrap()
            );
            assert!(m["file_type"].is_string());
        }
    }
    // Filters: by user and by tenant.
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "cdrs".into(),
        "--user".into(),
        "BOB@acme.example".into(),
    ])
    .await;
    let bob: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!bob.is_empty() && bob.len() < lines.len());
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "cdrs".into(),
        "--format".into(),
        "csv".into(),
    ])
    .await;
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with(
        "Start Date,Start Time,End Date,End Time,Duration,User,From,From Info,To,To Info"
    ));
    assert_eq!(csv.lines().count(), lines.len() + 1);
    // The spec's titles keep the spec's order (a subsequence of its metadata table).
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let spec_order = [
        "Start Date",
        "Start Time",
        "End Date",
        "End Time",
        "Duration",
        "User",
        "From",
        "From Info",
        "To",
        "To Info",
        "Participants",
        "Direction",
        "Direction (User)",
        "Location",
        "Audio Codec",
        "Video codec",
        "Platform Call ID",
        "Silence Ratio",
        "Talkover Ratio",
        "Longest Silence",
        "User ID / Agent ID",
        "Source Platform",
        "Conversation Type",
        "Recording failed",
        "Media Length",
        "Media Error",
        "Voice Quality",
        "Record Type",
    ];
    assert_eq!(&header[..spec_order.len()], &spec_order[..]);

    // Media analysis reached the CDRs: the demo's media is real, decodable audio/video.
    let phone = lines
        .iter()
        .find(|c| c["source_platform"] == "Zoom Phone")
        .unwrap();
    assert_eq!(phone["audio_codec"], "mp3");
    assert!(phone["media_length"].as_str().unwrap().starts_with("000:"));
    assert!(lines.iter().all(|c| c["media_error"].is_null()), "{text}");
    assert!(lines.iter().any(|c| {
        c["talkover_ratio"]
            .as_f64()
            .is_some_and(|r| r > 0.0 && r < 1.0)
    }));
    assert!(lines.iter().any(|c| c["video_codec"] == "h264"));

    // `cdrs show` prints one conversation with its media.
    let call = phone["platform_call_id"].as_str().unwrap();
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "cdrs".into(),
        "show".into(),
        call.into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["platform_call_id"], call);
    let expected = lines
        .iter()
        .filter(|c| c["platform_call_id"] == call)
        .count();
    assert_eq!(shown["cdrs"].as_array().unwrap().len(), expected);
    assert!(!shown["cdrs"][0]["media"].as_array().unwrap().is_empty());
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "cdrs".into(),
        "show".into(),
        "no-such-call".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-call"));

    // A rerun finds nothing new and still exits 0.
    let downloads = sim.stats().downloads_started;
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sim.stats().downloads_started, downloads);
}

#[tokio::test]
async fn run_once_exits_1_and_lists_each_failure_with_its_reason() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let alice_audio = sim.scenario().accounts[0].meetings[0]
        .files
        .iter()
        .find(|f| f.individual && f.participant_email.as_deref() == Some("alice@acme.example"))
        .unwrap()
        .id
        .clone();
    sim.faults().json_200(&alice_audio, 100);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "sources = [\"meetings\"]\n");
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("FAILED"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains(&alice_audio) && line.to_lowercase().contains("json"),
        "{line}"
    );
}

#[tokio::test]
async fn config_errors_exit_2_and_name_the_key() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("mode = \"video\"", "mode = \"hologram\"");
    std::fs::write(&cfg, text).unwrap();
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("archiver.toml") && stderr.contains("mode") && stderr.contains("hologram"),
        "{stderr}"
    );

    let out = run(vec!["run".into(), "--once".into()]).await;
    assert_eq!(out.status.code(), Some(2), "no --config");
    let out = run(vec!["--config".into(), s(&cfg), "frobnicate".into()]).await;
    assert_eq!(out.status.code(), Some(2), "unknown command");

    // A missing table, an unreadable secret file and an unknown tenant are configuration
    // problems too: exit 2, naming the file and the key.
    let good = config(dir.path(), &sim, "");
    let text = std::fs::read_to_string(&good).unwrap();
    let no_storage = dir.path().join("no-storage.toml");
    let cut = text.find("[download]").unwrap();
    std::fs::write(&no_storage, &text[cut..]).unwrap();
    for cmd in [vec!["run", "--once"], vec!["status"]] {
        let mut a = vec!["--config".to_string(), s(&no_storage)];
        a.extend(cmd.iter().map(|c| c.to_string()));
        let out = run(a).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(
            stderr.contains("no-storage.toml") && stderr.contains("storage.data_dir"),
            "{cmd:?}: {stderr}"
        );
    }
    let mut a = vec![
        "--config".to_string(),
        s(&no_storage),
        "--backend".into(),
        "aws".into(),
        "status".into(),
    ];
    let out = run(a.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-storage.toml") && stderr.contains("aws"),
        "{stderr}"
    );

    let secret_file = dir.path().join("no-such-secret");
    let unreadable = dir.path().join("unreadable.toml");
    std::fs::write(
        &unreadable,
        text.replace(
            "client_secret_env = \"ZA_CLI_TEST_SECRET\"",
            &format!("client_secret_ref = \"file:{}\"", secret_file.display()),
        ),
    )
    .unwrap();
    let out = run(vec![
        "--config".into(),
        s(&unreadable),
        "run".into(),
        "--once".into(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unreadable.toml")
            && stderr.contains("tenants[0].client_secret_ref")
            && stderr.contains("no-such-secret"),
        "{stderr}"
    );

    a = vec![
        "--config".into(),
        s(&good),
        "status".into(),
        "--tenant".into(),
        "nope".into(),
    ];
    let out = run(a).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nope") && stderr.contains("acme"),
        "{stderr}"
    );
}

/// The CDR filters of `cdrs` (direction, number, failed) and `cdrs show --format`.
#[tokio::test]
async fn cdrs_filters_and_show_formats() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");
    let c = |rest: &[&str]| {
        let mut a = vec!["--config".to_string(), s(&cfg)];
        a.extend(rest.iter().map(|x| x.to_string()));
        a
    };
    let out = run(c(&["run", "--once"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<serde_json::Value> = String::from_utf8_lossy(&run(c(&["cdrs"])).await.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(all.len() > 3);
    let lines = |out: &Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let conf = lines(&run(c(&["cdrs", "--direction", "conference"])).await);
    assert_eq!(
        conf.len(),
        all.iter()
            .filter(|x| x["direction"] == "Conference")
            .count()
    );
    assert!(conf.iter().all(|x| x["direction"] == "Conference"));
    assert!(conf.len() < all.len(), "the phone CDRs are left out");
    let phone = all
        .iter()
        .find(|x| x["source_platform"] == "Zoom Phone")
        .expect("a phone CDR");
    let number = phone["to"].as_str().unwrap();
    let by_number = lines(&run(c(&["cdrs", "--number", number])).await);
    assert!(!by_number.is_empty());
    assert!(
        by_number.iter().all(|x| x["to"] == number
            || x["from"] == number
            || x["participants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == number)),
        "{by_number:?}"
    );
    assert!(
        lines(&run(c(&["cdrs", "--failed"])).await).is_empty(),
        "none failed"
    );
    // `show` honours --format and the filters.
    let call = phone["platform_call_id"].as_str().unwrap();
    let out = run(c(&["cdrs", "show", call, "--format", "csv"])).await;
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.lines().count() >= 2 && csv.contains(call), "{csv}");
    let out = run(c(&["cdrs", "show", call, "--format", "jsonl"])).await;
    assert!(lines(&out).iter().all(|x| x["platform_call_id"] == call));
    let out = run(c(&["cdrs", "show", call, "--user", "nobody@acme.example"])).await;
    assert_eq!(out.status.code(), Some(1), "filtered to nothing");
}

/// `run --listen` serves /healthz and /metrics (Prometheus text) while it runs. (Two
/// workers: the simulator keeps serving while this test blocks on its own requests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_listen_serves_health_and_metrics() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(bin())
        .args([
            "--config",
            &s(&cfg),
            "run",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env_remove("RUST_LOG")
        .env("ZA_CLI_TEST_SECRET", "demo-secret")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        Some(body)
    };
    let t0 = std::time::Instant::now();
    let mut metrics = String::new();
    while t0.elapsed() < std::time::Duration::from_secs(60) {
        if let Some(m) = get("/metrics")
            && m.contains("files_archived")
            && m.contains("poll_succeeded")
        {
            metrics = m;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let health = get("/healthz").unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );
    assert!(
        metrics.contains("files_archived{") && metrics.contains("tenant=\"acme\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn reconcile_writes_failed_cdrs_once_prints_the_day_and_stores_its_report() {
    let now = chrono::Utc::now();
    let mut scenario = Scenario::demo(now);
    // Alice talks with a customer two days ago and Zoom does not record it.
    let calls = &mut scenario.accounts[0].calls;
    let mut c = calls
        .iter()
        .find(|c| c.owner.extension_number == 1001)
        .unwrap()
        .clone();
    c.call_id = "7000000000000000042".into();
    c.start = (now - chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    c.end = c.start + chrono::Duration::minutes(3);
    c.result = "Call connected".into();
    c.recordings.clear();
    calls.push(c);
    let sim = SimServer::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");
    let out = run(vec![
        "--config".into(),
        s(&cfg),
        "run".into(),
        "--once".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let day = (now - chrono::Duration::days(2)).date_naive().to_string();
    let reconcile = |args: &[&str]| {
        let mut v = vec!["--config".to_string(), s(&cfg), "reconcile".into()];
        v.extend(args.iter().map(|a| a.to_string()));
        run(v)
    };
    // Every final day since the initial lookback (the demo spans the last three days).
    let out = reconcile(&[]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for source in ["phone", "meetings"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("acme") && l.contains(&day) && l.contains(source)),
            "{text}"
        );
    }
    let written = |t: &str| -> u64 {
        t.lines()
            .find_map(|l| l.strip_prefix("\"recording failed\" CDRs written: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let first = written(&text);
    assert!(
        first > 0,
        "the demo has unrecorded calls of Alice and Bob: {text}"
    );
    // The failed CDRs are exported like any other, with their reason.
    let out = run(vec!["--config".into(), s(&cfg), "cdrs".into()]).await;
    let failed: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|c| c["recording_failed"] == true)
        .collect();
    assert_eq!(failed.len() as u64, first);
    assert!(failed.iter().all(|c| {
        let r = c["failure_reason"].as_str().unwrap();
        r.starts_with("not_recorded") || r.starts_with("not_archived")
    }));
    // Idempotent (an explicit day again writes nothing; without --day nothing is due), and
    // every run keeps its report in the object store.
    let out = reconcile(&["--day", &day]).await;
    assert_eq!(written(&String::from_utf8_lossy(&out.stdout)), 0);
    let out = reconcile(&[]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(written(&text), 0);
    assert!(!text.contains(&day), "{text}");
    let reports = dir
        .path()
        .join("data/objects/acme/reports/reconcile")
        .join(&day);
    let n = std::fs::read_dir(&reports).unwrap().count();
    assert_eq!(n, 2, "{}", reports.display());
}

/// SIGTERM (systemd, `docker stop`): `run` takes no new download, lets the ones in hand
/// finish within its grace, and exits; a second signal exits at once. The next `run --once`
/// takes up what was left (claims released, tasks delivered again at once) and archives
/// everything, each file once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_the_next_run_takes_up_the_rest() {
    let mut scenario = Scenario::demo(chrono::Utc::now());
    // Slow downloads: the run is still at work when the signal comes.
    scenario.options.throttle_bytes_per_sec_per_conn = Some(400_000);
    let sim = SimServer::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim, "");
    let spawn = |grace: &str| {
        std::process::Command::new(bin())
            .args(["--config", &s(&cfg), "run", "--grace", grace])
            .env_remove("RUST_LOG")
            .env("ZA_CLI_TEST_SECRET", "demo-secret")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let kill = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
    };
    let wait = |mut child: std::process::Child, limit: std::time::Duration| {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                return (status, t0.elapsed(), err);
            }
            if t0.elapsed() > limit {
                let _ = child.kill();
                panic!("did not exit within {limit:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };

    // One signal: graceful, within the grace period.
    let child = spawn("3s");
    let pid = child.id();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(kill(pid).success());
    let (status, took, err) =
        tokio::task::spawn_blocking(move || wait(child, std::time::Duration::from_secs(15)))
            .await
            .unwrap();
    assert!(err.contains("SIGTERM: stopping"), "{err}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}: {err}");
    assert!(
        matches!(status.code(), Some(0) | Some(130)),
        "{status:?}: {err}"
    );

    // Two signals: at once.
    let child = spawn("60s");
    let pid = child.id();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(kill(pid).success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(kill(pid).success());
    let (status, took, err) =
        tokio::task::spawn_blocking(move || wait(child, std::time::Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert!(err.contains("exiting now"), "{err}");

    // The next run takes up the rest at once: everything archived, each file once.
    let out = run(vec![
        "--config".into(),
        s(&cfg),
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
    let stats = sim.stats();
    let files = sim
        .scenario()
        .accounts
        .iter()
        .map(|a| a.meetings.iter().map(|m| m.files.len()).sum::<usize>() + a.calls.len())
        .sum::<usize>();
    assert!(stats.downloads_completed as usize <= files + 2, "{stats:?}");
    let totals = String::from_utf8_lossy(&out.stdout);
    for row in totals.lines().filter(|l| l.starts_with("acme ")) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // tenant source archived pending gone failed bytes
        assert_eq!(
            (cols[3], cols[5]),
            ("0", "0"),
            "nothing pending or failed: {totals}"
        );
    }
}
