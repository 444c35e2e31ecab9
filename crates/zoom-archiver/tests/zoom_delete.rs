//! Delete at Zoom on the embedded default, against the simulator (both on a manual clock
//! at 2026-11-20 12:00 UTC; the demo account's conversations run from the 17th to the
//! 20th): the days up to the 19th are sealed, every object verified.
//!
//! - With `delete_at_zoom` off, nothing is ever deleted: not by `zoom-delete`, not by the
//!   reconciler, though everything is sealed and verified.
//! - Turned on, the guards hold: a recording under a legal hold, one whose last `verify`
//!   found it altered, and one of the 20th (not sealed) are never deleted at Zoom (the
//!   simulator counts no delete for them); a meeting whose archive at Zoom holds files
//!   not archived here is not deleted either. `--dry-run` calls Zoom for nothing. Every
//!   other sealed, verified, unheld recording is deleted, recorded on its file and in one
//!   `delete` audit entry carrying Zoom's answer; a second run deletes nothing again.
//! - Once the hold is released (two operators), the reconciler's step after sealing
//!   deletes that recording too.

use archiver_core::domain::manifest::key_day;
use archiver_core::services::custody::{HoldScope, hold_add, hold_release};
use archiver_core::services::verify::{VerifyOptions, verify};
use archiver_core::services::zoom_delete::Status;
use archiver_core::{
    AuditAction, Clock, DeleteMode, FileQuery, FileRecord, FileState, Source, TenantConfig,
};
use archiver_testkit::ManualClock;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use zoom_archiver::app::App;
use zoom_archiver::cli::Backend;
use zoom_archiver::config::FileConfig;
use zoom_sim::{Scenario, SimClock, SimServer};

/// Runs the CLI with `args` as OS user `tester`.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("USER", "tester")
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

fn config(dir: &Path, sim: &SimServer, delete_at_zoom: &str) -> PathBuf {
    let text = format!(
        r#"[storage]
data_dir = "{data}"

[download]
retry_base = "10ms"
max_attempts = 2
concurrency = 1

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret = "demo-secret"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"
reconcile_grace = "1h"
{delete_at_zoom}

[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"

[[tenants.users]]
email = "carol@acme.example"
extension = "1003"
mode = "voice"

[[tenants.users]]
email = "dave@acme.example"
extension = "1004"
mode = "voice"

[[tenants.users]]
email = "erin@acme.example"
extension = "1005"
mode = "voice"
"#,
        data = dir.join("data").display(),
        api = sim.api_base_url(),
        oauth = sim.oauth_url(),
    );
    let path = dir.join("archiver.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const ON: &str = r#"delete_at_zoom = { phone = "after_seal", meetings = "after_seal" }"#;

/// `zoom-delete` through the command line: exit code and stdout + stderr.
async fn zoom_delete(cfg: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut a = vec![
        "--config".to_string(),
        cfg.display().to_string(),
        "zoom-delete".to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    let out = run(a).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        text(&out),
    )
}

/// The line of `file_id` in `zoom-delete`'s output.
fn line_of<'a>(out: &'a str, file_id: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(&format!("  {file_id}  ")))
        .unwrap_or_else(|| panic!("a line for {file_id}: {out}"))
}

async fn files(app: &App) -> Vec<FileRecord> {
    app.ports
        .meta
        .list_files(&FileQuery::default())
        .await
        .unwrap()
}

fn sealed_day(f: &FileRecord) -> bool {
    key_day(f.object_key.as_str()).unwrap() <= "2026-11-19".parse::<NaiveDate>().unwrap()
}

fn archived_phone(fs: &[FileRecord]) -> Vec<&FileRecord> {
    fs.iter()
        .filter(|f| f.source == Source::Phone && matches!(f.state, FileState::Archived { .. }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_sealed_verified_unheld_files_are_deleted_at_zoom_and_only_when_asked() {
    let now: DateTime<Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let sim = SimServer::start_with_clock(Scenario::demo(now), SimClock::manual(now))
        .await
        .unwrap();
    let clock = ManualClock::new(now);
    let advance = |d: Duration| {
        clock.advance(d);
        sim.clock().advance(d);
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = config(dir.path(), &sim, "");
    let cfg = FileConfig::load(&cfg_path).unwrap();
    archiver_local::Ed25519KeyFile::generate(&cfg.signing_key_path().unwrap()).unwrap();
    let app = App::local(&cfg, Some(Arc::new(clock.clone()) as Arc<dyn Clock>))
        .await
        .unwrap();
    let off: TenantConfig = app.tenants[0].clone();
    assert!(off.delete_at_zoom.is_off());
    let id = off.id.clone();
    let zoom = app.zooms.get(&id).unwrap().clone();

    // Archive, reconcile and seal (17th-19th), then verify everything (results recorded).
    for _ in 0..2 {
        app.poll_all(&Default::default(), false).await;
        app.drain(None).await.unwrap();
    }
    let reconciler = zoom_archiver::custody::attach(
        app.reconciler.clone(),
        &cfg,
        Backend::Local,
        app.audit.clone(),
    )
    .await
    .unwrap();
    let run = reconciler.run(&off, zoom.as_ref(), None).await;
    assert!(run.seal_failures.is_empty(), "{:?}", run.seal_failures);
    assert!(
        run.seals
            .iter()
            .any(|o| o.day == "2026-11-19".parse().unwrap()),
        "{:?}",
        run.seals
    );
    assert!(run.zoom_deletes.is_none(), "off: the step does not run");
    advance(Duration::minutes(10));
    let record = VerifyOptions {
        record: true,
        ..VerifyOptions::default()
    };
    let v = verify(&app.ports, std::slice::from_ref(&id), &record, None)
        .await
        .unwrap();
    assert!(v.all_intact() && v.checked > 0, "{v:?}");

    // Off: nothing is ever deleted, though all of it is sealed and verified.
    let (code, out, all) = zoom_delete(&cfg_path, &[]).await;
    assert_eq!(code, Some(0), "{all}");
    assert!(out.contains("acme: delete_at_zoom is off"), "{all}");
    let run = reconciler.run(&off, zoom.as_ref(), None).await;
    assert!(run.zoom_deletes.is_none());
    assert!(sim.stats().deletes.is_empty(), "{:?}", sim.stats().deletes);

    // The guards' cases, among the archived recordings.
    let fs = files(&app).await;
    let phone = archived_phone(&fs);
    let sealed: Vec<&FileRecord> = phone.iter().copied().filter(|f| sealed_day(f)).collect();
    let unsealed = phone
        .iter()
        .copied()
        .find(|f| !sealed_day(f))
        .expect("a recording of the 20th, not sealed");
    assert!(sealed.len() >= 4, "{} sealed recordings", sealed.len());
    let (held, altered) = (sealed[0], sealed[1]);
    hold_add(
        &app.ports,
        app.audit.as_ref(),
        &id,
        "m-1",
        HoldScope::Cdr {
            cdr_id: held.cdr_ids[0].clone(),
        },
        "litigation",
        "tester",
    )
    .await
    .unwrap();
    let object = dir
        .path()
        .join("data/objects")
        .join(altered.object_key.as_str());
    let original = std::fs::read(&object).unwrap();
    let mut perm = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&object, perm).unwrap();
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    std::fs::write(&object, &flipped).unwrap();
    advance(Duration::minutes(1));
    let v = verify(&app.ports, std::slice::from_ref(&id), &record, None)
        .await
        .unwrap();
    assert_eq!(v.findings.len(), 1, "{v:?}");
    // Put back: only the recorded result says it was altered.
    std::fs::write(&object, &original).unwrap();
    let guarded = [&held.file_id, &altered.file_id, &unsealed.file_id];
    // The hold covers the whole call (every recording of its CDR).
    let now_held: Vec<String> = files(&app)
        .await
        .into_iter()
        .filter(|f| !f.holds.is_empty())
        .map(|f| f.file_id)
        .collect();
    assert!(now_held.contains(&held.file_id));
    let eligible: Vec<&str> = sealed
        .iter()
        .filter(|f| !guarded.contains(&&f.file_id) && !now_held.contains(&f.file_id))
        .map(|f| f.file_id.as_str())
        .collect();
    assert!(!eligible.is_empty());

    // On: a dry run says what it would delete and calls Zoom for nothing.
    let cfg_path = config(dir.path(), &sim, ON);
    let (code, out, all) = zoom_delete(&cfg_path, &["--dry-run"]).await;
    assert_eq!(code, Some(0), "{all}");
    for e in &eligible {
        assert!(line_of(&out, e).contains("would delete"), "{all}");
    }
    let stats = sim.stats();
    assert!(stats.deletes.is_empty(), "{:?}", stats.deletes);
    assert!(
        !stats.by_endpoint.keys().any(|k| k.starts_with("DELETE")),
        "{:?}",
        stats.by_endpoint
    );

    // On, for real: each guard keeps its recording at Zoom; the others are deleted.
    let today = Utc::now().date_naive();
    let (code, out, all) = zoom_delete(&cfg_path, &[]).await;
    assert_eq!(code, Some(0), "{all}");
    // Counted through the budget like any call (the command runs on the real clock), in
    // Zoom's Phone Light category.
    if Utc::now().date_naive() == today {
        let counted = app.ledger.get("demo-account", "phone:Light", today).await;
        assert_eq!(counted.unwrap(), eligible.len() as u64);
    }
    assert!(
        line_of(&out, &held.file_id).contains("legal hold (matter m-1)"),
        "{all}"
    );
    assert!(
        line_of(&out, &altered.file_id).contains("not intact"),
        "{all}"
    );
    assert!(
        line_of(&out, &unsealed.file_id).contains("2026-11-20 is not sealed"),
        "{all}"
    );
    for g in guarded {
        assert!(line_of(&out, g).contains("refused"), "{all}");
    }
    let stats = sim.stats();
    for g in guarded {
        assert!(
            !stats.deletes.contains(g),
            "{g} deleted: {:?}",
            stats.deletes
        );
        assert!(
            !stats.deleted_files.contains(g),
            "{g}: {:?}",
            stats.deleted_files
        );
    }
    for e in &eligible {
        assert!(line_of(&out, e).contains("deleted"), "{all}");
        assert!(
            stats.deletes.iter().any(|d| d == e),
            "{e}: {:?}",
            stats.deletes
        );
    }
    assert_eq!(
        stats.by_endpoint["DELETE /phone/recordings/{recordingId}"],
        eligible.len() as u64
    );
    // A meeting's archive is deleted only when every file Zoom has of it is archived,
    // sealed and verified here (a breakout room of two recorded users); meetings with other
    // participants' files stay.
    let fs = files(&app).await;
    let ours: std::collections::HashSet<&str> = fs
        .iter()
        .filter(|f| f.source == Source::Meetings && sealed_day(f))
        .filter(|f| matches!(f.state, FileState::Archived { .. }))
        .map(|f| f.file_id.as_str())
        .collect();
    let meetings = &sim.scenario().accounts[0].meetings;
    let mut deleted_meetings = 0;
    for d in &stats.deletes {
        let Some(m) = meetings.iter().find(|m| m.uuid == *d) else {
            continue;
        };
        deleted_meetings += 1;
        for f in &m.files {
            assert!(ours.contains(f.id.as_str()), "{} of {d}: {all}", f.id);
        }
    }
    assert_eq!(
        stats
            .by_endpoint
            .get("DELETE /past_meetings/{meetingUUID}/archive_files")
            .copied()
            .unwrap_or(0),
        deleted_meetings
    );
    assert!(
        out.lines().any(|l| l.contains("  meetings  ")
            && l.contains("refused")
            && l.contains("other archive file(s) of the meeting")),
        "{all}"
    );
    // Recorded on each file, and one delete entry each with Zoom's answer.
    let entries = app.audit.list(&id, 1, 10_000).await.unwrap();
    for e in &eligible {
        let f = fs.iter().find(|f| f.file_id == *e).unwrap();
        let d = f.deleted_at_zoom.as_ref().expect("recorded on the file");
        assert_eq!(d.answer.status, 204);
        assert_eq!(d.request, format!("DELETE /phone/recordings/{e}"));
        let mine: Vec<_> = entries
            .iter()
            .filter(|x| {
                x.draft.action == AuditAction::Delete
                    && x.draft.objects == [f.object_key.to_string()]
            })
            .collect();
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0].draft.result, r#"deleted at Zoom: {"status":204}"#);
        assert!(mine[0].draft.actor.starts_with("tester@"), "{mine:?}");
        let reason = mine[0].draft.reason.as_deref().unwrap();
        assert!(
            reason.contains("verified intact") && reason.contains("acme/manifests/"),
            "{reason}"
        );
    }
    for g in guarded {
        let f = fs.iter().find(|f| f.file_id == *g).unwrap();
        assert!(f.deleted_at_zoom.is_none());
        assert!(
            !entries.iter().any(|x| x.draft.action == AuditAction::Delete
                && x.draft.objects == [f.object_key.to_string()])
        );
    }
    // A second run deletes nothing again.
    let (code, out, all) = zoom_delete(&cfg_path, &[]).await;
    assert_eq!(code, Some(0), "{all}");
    let before = files(&app)
        .await
        .iter()
        .filter(|f| f.deleted_at_zoom.is_some())
        .count();
    assert!(
        before > eligible.len(),
        "recordings and a breakout room's files"
    );
    assert!(
        out.contains("acme: deleted at Zoom 0,")
            && out.contains(&format!("({before} deleted by earlier runs)")),
        "{all}"
    );
    assert_eq!(sim.stats().deletes, stats.deletes);

    // The hold released (two operators): the reconciler's step after sealing deletes it.
    hold_release(&app.ports, app.audit.as_ref(), &id, "m-1", "op1", None)
        .await
        .unwrap();
    hold_release(
        &app.ports,
        app.audit.as_ref(),
        &id,
        "m-1",
        "op2",
        Some("op2"),
    )
    .await
    .unwrap();
    let mut on = off.clone();
    on.delete_at_zoom.phone = DeleteMode::AfterSeal;
    on.delete_at_zoom.meetings = DeleteMode::AfterSeal;
    let run = reconciler.run(&on, zoom.as_ref(), None).await;
    let z = run.zoom_deletes.expect("the step ran");
    assert_eq!(z.stopped, None);
    assert_eq!(
        z.of(&held.file_id).unwrap().status,
        Status::Deleted,
        "{z:?}"
    );
    assert_eq!(z.of(&altered.file_id).unwrap().status, Status::Refused);
    assert_eq!(z.of(&unsealed.file_id).unwrap().status, Status::Refused);
    assert_eq!(z.count(Status::Deleted), now_held.len(), "{z:?}");
    let deletes = sim.stats().deletes;
    assert!(deletes.contains(&held.file_id));
    assert!(!deletes.contains(&altered.file_id) && !deletes.contains(&unsealed.file_id));
}
