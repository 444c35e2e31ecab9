//! `zoom-archiver-bench cold-start` without moto or release binaries: the Lambda Runtime API emulator
//! driven in-process with an HTTP client, and [`measure_cold_start`] timing small shell
//! scripts (curl) that play a function.

use archiver_bench::cold_start::{
    Invocation, Outcome, RuntimeEmulator, RuntimeEvent, measure_cold_start,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const API: &str = "2018-06-01/runtime";

async fn recv(emu: &mut RuntimeEmulator) -> RuntimeEvent {
    tokio::time::timeout(Duration::from_secs(5), emu.recv())
        .await
        .expect("an event within 5 s")
        .expect("the emulator is running")
}

#[tokio::test]
async fn the_emulator_hands_out_one_invocation_and_records_the_posts() {
    let payload = serde_json::json!({"Records": []});
    let inv = Invocation::new("downloader", &payload);
    let request_id = inv.request_id.clone();
    let mut emu = RuntimeEmulator::start(inv.clone()).await.unwrap();
    let base = format!("http://{}/{API}", emu.addr());
    let http = reqwest::Client::new();

    let before = Instant::now();
    let r = http
        .get(format!("{base}/invocation/next"))
        .send()
        .await
        .unwrap();
    let after = Instant::now();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let header = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("header {name} missing: {h:?}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(header("Lambda-Runtime-Aws-Request-Id"), request_id);
    assert_eq!(
        header("Lambda-Runtime-Invoked-Function-Arn"),
        "arn:aws:lambda:us-east-1:123456789012:function:downloader"
    );
    assert!(header("Lambda-Runtime-Trace-Id").starts_with("Root=1-"));
    let deadline: u64 = header("Lambda-Runtime-Deadline-Ms").parse().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        (now_ms + 890_000..=now_ms + 900_000).contains(&deadline),
        "deadline {deadline} is not about 900 s after {now_ms}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, payload);

    // The first poll is timestamped on arrival: that instant ends init.
    match recv(&mut emu).await {
        RuntimeEvent::NextPolled { at, poll } => {
            assert_eq!(poll, 1);
            assert!(at >= before && at <= after, "arrival outside the request");
        }
        e => panic!("expected the first poll, got {e:?}"),
    }
    match recv(&mut emu).await {
        RuntimeEvent::Delivered { request_id: id, .. } => assert_eq!(id, request_id),
        e => panic!("expected the delivery, got {e:?}"),
    }

    let r = http
        .post(format!("{base}/invocation/{request_id}/response"))
        .body(r#"{"batchItemFailures":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    match recv(&mut emu).await {
        RuntimeEvent::Response {
            request_id: id,
            body,
            ..
        } => {
            assert_eq!(id, request_id);
            assert_eq!(body, r#"{"batchItemFailures":[]}"#);
        }
        e => panic!("expected the response, got {e:?}"),
    }

    let r = http
        .post(format!("{base}/invocation/{request_id}/error"))
        .header("Lambda-Runtime-Function-Error-Type", "unhandled")
        .body(r#"{"errorType":"&str","errorMessage":"boom"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    match recv(&mut emu).await {
        RuntimeEvent::InvocationError {
            request_id: id,
            error_type,
            body,
            ..
        } => {
            assert_eq!(id, request_id);
            assert_eq!(error_type.as_deref(), Some("unhandled"));
            assert!(body.contains("boom"), "{body}");
        }
        e => panic!("expected the invocation error, got {e:?}"),
    }

    let r = http
        .post(format!("{base}/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .body(r#"{"errorType":"x","errorMessage":"no config"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    match recv(&mut emu).await {
        RuntimeEvent::InitError {
            error_type, body, ..
        } => {
            assert_eq!(error_type.as_deref(), Some("Runtime.InitError"));
            assert!(body.contains("no config"), "{body}");
        }
        e => panic!("expected the init error, got {e:?}"),
    }

    // A later poll is held open (one invocation per process) until the emulator goes.
    let held = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/invocation/next");
        async move { http.get(url).send().await.map(|r| r.status()) }
    });
    match recv(&mut emu).await {
        RuntimeEvent::NextPolled { poll, .. } => assert_eq!(poll, 2),
        e => panic!("expected the second poll, got {e:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "the second poll was answered");
    drop(emu);
    let status = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("released when the emulator is dropped")
        .unwrap()
        .unwrap();
    assert_eq!(status, 410);
}

fn curl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("curl"))
        .find(|p| p.is_file())
}

/// Writes an executable `#!/bin/sh` script playing a function.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nset -e\napi=\"http://$AWS_LAMBDA_RUNTIME_API/{API}\"\ncd \"$SCRATCH\"\n{body}"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("SCRATCH".into(), dir.display().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), "fake".into()),
    ]
}

const POLL: &str = "curl -sS -D headers -o event \"$api/invocation/next\"\nid=$(grep -i '^lambda-runtime-aws-request-id:' headers | cut -d' ' -f2 | tr -d '\\r')\n";

#[tokio::test]
async fn a_fake_function_is_timed_from_spawn_to_first_poll_and_to_its_response() {
    if curl().is_none() {
        println!("skipped: no curl on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 300 ms of "init", 200 ms of "handling", then echo the event and poll again.
    let exe = script(
        dir.path(),
        "echo-function",
        &format!(
            "sleep 0.3\n{POLL}sleep 0.2\ncurl -sS -X POST --data-binary @event \"$api/invocation/$id/response\" >/dev/null\nexec curl -sS \"$api/invocation/next\"\n"
        ),
    );
    let payload = serde_json::json!({"Records": [], "marker": "echo me"});
    let run = measure_cold_start(
        &exe,
        &env(dir.path()),
        Invocation::new("fake", &payload),
        &dir.path().join("echo.log"),
        Duration::from_secs(20),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let log = std::fs::read_to_string(&run.log).unwrap_or_default();
    assert!(run.ok(), "{run:?}\n{log}");
    let init = run.init.unwrap();
    assert!(
        init >= Duration::from_millis(300) && init < Duration::from_secs(10),
        "init {init:?}"
    );
    let first = run.first_invocation.unwrap();
    assert!(
        first >= Duration::from_millis(200) && first < Duration::from_secs(10),
        "first invocation {first:?}"
    );
    match &run.outcome {
        Some(Outcome::Response(body)) => {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(body).unwrap(),
                payload
            )
        }
        o => panic!("{o:?}"),
    }
    assert!(run.peak_rss_kib.is_some_and(|k| k > 0), "{run:?}");
    assert_eq!(run.exited, None, "killed by the bench, not exited");
    // The headers the function saw carry the request id it answered.
    let headers = std::fs::read_to_string(dir.path().join("headers")).unwrap();
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("lambda-runtime-deadline-ms:"),
        "{headers}"
    );
}

#[tokio::test]
async fn errors_exits_and_hangs_of_a_fake_function_are_recorded() {
    if curl().is_none() {
        println!("skipped: no curl on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run_of = |exe: PathBuf, log: &str, init_timeout: Duration| {
        let env = env(dir.path());
        let log = dir.path().join(log);
        async move {
            measure_cold_start(
                &exe,
                &env,
                Invocation::new("fake", &serde_json::json!({})),
                &log,
                init_timeout,
                Duration::from_secs(20),
            )
            .await
            .unwrap()
        }
    };

    let failing = script(
        dir.path(),
        "failing-function",
        &format!(
            "{POLL}curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: unhandled' --data '{{\"errorType\":\"&str\",\"errorMessage\":\"poll failed\"}}' \"$api/invocation/$id/error\" >/dev/null\nexec curl -sS \"$api/invocation/next\"\n"
        ),
    );
    let run = run_of(failing, "failing.log", Duration::from_secs(20)).await;
    assert!(!run.ok());
    assert!(
        run.init.is_some() && run.first_invocation.is_some(),
        "{run:?}"
    );
    match &run.outcome {
        Some(Outcome::Error { error_type, body }) => {
            assert_eq!(error_type.as_deref(), Some("unhandled"));
            assert!(body.contains("poll failed"), "{body}");
        }
        o => panic!("{o:?}"),
    }
    assert!(run.problem().unwrap().contains("poll failed"));

    let crashing = script(
        dir.path(),
        "crashing-function",
        "curl -sS -X POST --data '{\"errorMessage\":\"no settings\"}' \"$api/init/error\" >/dev/null\necho 'error: environment variable ARCHIVE_BUCKET is not set' >&2\nexit 3\n",
    );
    let run = run_of(crashing, "crashing.log", Duration::from_secs(20)).await;
    assert_eq!(run.init, None, "{run:?}");
    assert!(
        run.exited.as_deref().is_some_and(|s| s.contains('3')),
        "{run:?}"
    );
    assert!(
        run.init_error
            .as_deref()
            .is_some_and(|e| e.contains("no settings")),
        "{run:?}"
    );
    assert!(
        std::fs::read_to_string(&run.log)
            .unwrap()
            .contains("ARCHIVE_BUCKET"),
        "stderr goes to the log"
    );

    let hanging = script(dir.path(), "hanging-function", "exec sleep 30\n");
    let started = Instant::now();
    let run = run_of(hanging, "hanging.log", Duration::from_millis(300)).await;
    assert_eq!(run.init, None);
    assert!(run.timed_out.is_some(), "{run:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the hung process was killed"
    );
}
