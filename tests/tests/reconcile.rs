//! Reconciliation and the daily budget on a simulated clock, against the simulator:
//! gaps found exactly (recorded, not recorded, not archived, late, breakout), failed CDRs
//! upgraded (not duplicated) when the media arrives, the budget deferring work to 00:00
//! UTC and finishing it after, and Zoom's own daily 429 honoured.

use archiver_core::services::budget::{BudgetedZoom, POOL_MEETINGS};
use archiver_core::services::reconcile::{NOT_ARCHIVED, NOT_RECORDED, Reconciler};
use archiver_core::{Cdr, QuotaLedger, Source, TenantConfig, ZoomApi};
use archiver_e2e::{Backend, Harness, HarnessOptions};
use archiver_testkit::MemQuotaLedger;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use zoom_sim::{
    Scenario, SimArchiveFile, SimCall, SimClock, SimMeeting, SimOwner, SimParticipant,
    SimPhoneRecording, SimServer,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn tenant(sim: &SimServer, extra: serde_json::Value) -> TenantConfig {
    let mut v = serde_json::json!({
        "id": "acme",
        "account_id": "golden-account",
        "client_id": "golden-client",
        "client_secret": "golden-secret",
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "initial_lookback": "3d",
        "reconcile_grace": "1h",
        "users": [
            {"email": "alice@acme.example", "extension": "1001", "mode": "voice"},
            {"email": "bob@acme.example", "extension": "1002", "mode": "video"},
            {"email": "carol@acme.example", "extension": "1003", "mode": "voice"},
        ],
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn call(id: &str, start: DateTime<Utc>, owner_ext: u32, owner: &str, to: &str) -> SimCall {
    SimCall {
        call_id: id.into(),
        start,
        end: start + Duration::seconds(20),
        direction: "outbound".into(),
        caller_number: owner_ext.to_string(),
        caller_name: owner.into(),
        caller_number_type: 1,
        callee_number: to.into(),
        callee_name: "Someone Else".into(),
        callee_number_type: 2,
        owner: SimOwner {
            kind: "user".into(),
            id: format!("u-{}", owner.to_lowercase()),
            name: owner.into(),
            extension_number: owner_ext,
        },
        accepted_by: None,
        outgoing_by: None,
        result: "Call connected".into(),
        recordings: vec![],
    }
}

fn recording(id: &str, start: DateTime<Utc>, available: DateTime<Utc>) -> SimPhoneRecording {
    SimPhoneRecording {
        id: id.into(),
        recording_type: "Automatic".into(),
        start,
        end: start + Duration::seconds(20),
        size: 320_000,
        available_at: available,
        deleted: false,
    }
}

fn participant(
    id: &str,
    email: &str,
    name: &str,
    span: (DateTime<Utc>, DateTime<Utc>),
) -> SimParticipant {
    SimParticipant {
        user_id: id.into(),
        name: name.into(),
        email: email.into(),
        segments: vec![span],
    }
}

/// The golden account plus the gaps: on 2026-11-19 Alice's unrecorded call (8), Carol's
/// recording that Zoom lost (9: listed, then 404 on download), a meeting whose archive
/// failed at Zoom (Alice, Carol), a meeting without archiving (Bob); on 2026-11-20 Alice's
/// call whose recording becomes available at 11:45 (10).
fn scenario() -> Scenario {
    let now = t("2026-11-20T12:00:00Z");
    let mut s = Scenario::golden(now);
    let a = &mut s.accounts[0];
    a.calls.push(call(
        "9100000000000000008",
        t("2026-11-19T17:00:00Z"),
        1001,
        "Alice Anders",
        "+33123456789",
    ));
    let mut c9 = call(
        "9100000000000000009",
        t("2026-11-19T17:10:00Z"),
        1003,
        "Carol Chen",
        "+33123456789",
    );
    let mut r9 = recording(
        "f0000000000000000000000000000009",
        c9.start,
        c9.end + Duration::minutes(2),
    );
    r9.deleted = true;
    c9.recordings.push(r9);
    a.calls.push(c9);
    let mut c10 = call(
        "9100000000000000010",
        t("2026-11-20T10:00:00Z"),
        1001,
        "Alice Anders",
        "+33123456789",
    );
    c10.recordings.push(recording(
        "f0000000000000000000000000000010",
        c10.start,
        t("2026-11-20T11:45:00Z"),
    ));
    a.calls.push(c10);
    let span = (t("2026-11-19T18:00:00Z"), t("2026-11-19T18:30:00Z"));
    let failed = |id: &str, email: &str| SimArchiveFile {
        id: id.into(),
        file_type: "M4A".into(),
        recording_type: "audio_only".into(),
        individual: true,
        participant_email: Some(email.into()),
        join: span.0,
        leave: span.1,
        size: 1000,
        available_at: None,
        failed: true,
        deleted: false,
    };
    a.meetings.push(SimMeeting {
        uuid: "lost-archive==".into(),
        id: 86_000_000_001,
        host_id: "u-alice".into(),
        topic: "Lost archive".into(),
        start_time: span.0,
        duration_secs: 1800,
        external: false,
        parent_uuid: None,
        complete_time: span.1 + Duration::minutes(10),
        participants: vec![
            participant("u-alice", "alice@acme.example", "Alice Anders", span),
            participant("u-carol", "carol@acme.example", "Carol Chen", span),
        ],
        files: vec![
            failed("lost-a", "alice@acme.example"),
            failed("lost-c", "carol@acme.example"),
        ],
    });
    let span2 = (t("2026-11-19T19:00:00Z"), t("2026-11-19T19:20:00Z"));
    a.meetings.push(SimMeeting {
        uuid: "no-archiving==".into(),
        id: 86_000_000_002,
        host_id: "u-bob".into(),
        topic: "Off the record".into(),
        start_time: span2.0,
        duration_secs: 1200,
        external: false,
        parent_uuid: None,
        complete_time: span2.1,
        participants: vec![participant("u-bob", "bob@acme.example", "Bob Baker", span2)],
        files: vec![],
    });
    s
}

fn budgeted(h: &Harness, ledger: Arc<dyn QuotaLedger>, share: f64, heavy: u64) -> Arc<dyn ZoomApi> {
    Arc::new(BudgetedZoom::new(
        h.zoom.clone(),
        ledger,
        h.tenant.account_id.clone(),
        archiver_core::services::budget::Budget {
            meetings_daily: heavy,
            phone_daily: 30_000,
            share,
        },
        h.ports.clock.clone(),
    ))
}

fn failed_of(cdrs: &[Cdr]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = cdrs
        .iter()
        .filter(|c| c.recording_failed)
        .map(|c| {
            (
                c.cdr_id.clone(),
                c.failure_reason
                    .clone()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_are_found_exactly_and_late_recordings_upgrade_the_failed_cdr() {
    let clock = SimClock::manual(t("2026-11-20T11:30:00Z"));
    let sim = SimServer::start_with_clock(scenario(), clock.clone())
        .await
        .unwrap();
    let tenant = tenant(&sim, serde_json::json!({}));
    let h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    let ledger: Arc<dyn QuotaLedger> = Arc::new(MemQuotaLedger::new());
    let zoom = budgeted(&h, ledger.clone(), 0.8, 60_000);
    h.cycle().await;
    h.cycle().await;
    let rec = Reconciler::new(h.ports.clone(), "test-host");
    let day19: NaiveDate = "2026-11-19".parse().unwrap();
    let r = rec
        .reconcile_day(&h.tenant, zoom.as_ref(), day19)
        .await
        .unwrap();
    assert!(r.complete);
    // Phone, per (call, recorded party): call 1 Alice + Bob, 2 Carol, 3 Alice, 7 Carol
    // archived; 8 Alice not recorded; 9 Carol not archived (lost at Zoom). Calls 4
    // (external to external) and 5 (queue) name no configured party; 6 is Dave's.
    assert_eq!(
        (
            r.phone.archived,
            r.phone.not_archived,
            r.phone.not_recorded,
            r.phone.pending
        ),
        (5, 1, 1, 0),
        "{r:?}"
    );
    // Meetings: the account's dashboard lists its own meetings, not breakout rooms (their
    // archive CDRs carry the parent meeting's id) nor meetings hosted by another account:
    // of the golden ones 5 CDRs are archived (voice-video 2, rejoin 1, without individual
    // files 2); the lost archive gives Alice and Carol not_archived; the meeting without
    // archiving gives Bob not_recorded.
    assert_eq!(
        (
            r.meetings.archived,
            r.meetings.not_archived,
            r.meetings.not_recorded,
            r.meetings.pending
        ),
        (5, 2, 1, 0),
        "{r:?}"
    );
    let cdrs = h.cdrs().await;
    assert_eq!(
        failed_of(&cdrs),
        vec![
            (
                "meetings:lost-archive==:alice@acme.example".to_string(),
                NOT_ARCHIVED.to_string()
            ),
            (
                "meetings:lost-archive==:carol@acme.example".to_string(),
                NOT_ARCHIVED.to_string()
            ),
            (
                "meetings:no-archiving==:bob@acme.example".to_string(),
                NOT_RECORDED.to_string()
            ),
            (
                "phone:call-9100000000000000008:alice@acme.example".to_string(),
                NOT_RECORDED.to_string()
            ),
            (
                "phone:f0000000000000000000000000000009:carol@acme.example".to_string(),
                NOT_ARCHIVED.to_string()
            ),
        ]
    );
    let c8 = cdrs
        .iter()
        .find(|c| c.platform_call_id == "9100000000000000008")
        .unwrap();
    assert_eq!((c8.from.as_str(), c8.to.as_str()), ("1001", "+33123456789"));
    assert_eq!(
        (c8.direction.as_str(), c8.direction_user.as_str()),
        ("Outbound", "Outgoing")
    );
    assert_eq!(c8.duration_seconds, 20);
    let bob = cdrs
        .iter()
        .find(|c| c.platform_call_id == "no-archiving==")
        .unwrap();
    assert_eq!(bob.conversation_type.as_str(), "Screen & Application Share");
    assert_eq!(bob.segments.len(), 1);
    // Heavy calls only where they can change the answer: none for the archived meetings;
    // the lost archive is read (Light) and names Alice and Carol; one participants lookup
    // (Heavy) for the meeting Zoom did not archive.
    assert_eq!(
        r.zoom_calls
            .get("GET /metrics/meetings/{meetingId}/participants"),
        Some(&1),
        "{r:?}"
    );
    assert_eq!(
        r.zoom_calls
            .get("GET /past_meetings/{meetingUUID}/archive_files"),
        Some(&1),
        "{r:?}"
    );

    // Idempotent: a rerun writes nothing and reports the same.
    let again = rec
        .reconcile_day(&h.tenant, zoom.as_ref(), day19)
        .await
        .unwrap();
    assert_eq!(again.failed_cdrs_written, 0);
    assert_eq!(
        (again.phone.clone(), again.meetings.clone()),
        (r.phone.clone(), r.meetings.clone())
    );

    // Today: call 10 ended 10:00:20, its recording is not available yet (11:45); past the
    // 1 h grace it is reported not archived.
    let day20: NaiveDate = "2026-11-20".parse().unwrap();
    let r20 = rec
        .reconcile_day(&h.tenant, zoom.as_ref(), day20)
        .await
        .unwrap();
    assert!(!r20.complete);
    assert_eq!(r20.phone.not_archived, 1, "{r20:?}");
    let id = "phone:f0000000000000000000000000000010:alice@acme.example";
    assert!(
        h.cdrs()
            .await
            .iter()
            .any(|c| c.cdr_id == id && c.recording_failed)
    );

    // The recording arrives: the same CDR becomes a normal one with its media.
    h.sim.clock().set(t("2026-11-20T12:00:00Z"));
    let ((_, p), d) = h.cycle().await;
    assert!(d.dead.is_empty());
    assert_eq!(p.upgraded_cdrs, 1);
    let cdrs = h.cdrs().await;
    let of_call: Vec<&Cdr> = cdrs
        .iter()
        .filter(|c| c.platform_call_id == "9100000000000000010")
        .collect();
    assert_eq!(of_call.len(), 1, "upgraded, not duplicated");
    assert!(!of_call[0].recording_failed && of_call[0].failure_reason.is_none());
    assert_eq!(of_call[0].media[0].state.as_str(), "archived");
    let r20 = rec
        .reconcile_day(&h.tenant, zoom.as_ref(), day20)
        .await
        .unwrap();
    assert_eq!((r20.phone.archived, r20.phone.not_archived), (1, 0));
}

/// Meetings without individual files need a participants lookup (Heavy) each: with room
/// for 3 in the day's budget, the 4th waits for 00:00 UTC and is done after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_defers_to_midnight_and_the_work_completes_after() {
    let now = t("2026-11-20T22:00:00Z");
    let mut s = Scenario::golden(t("2026-11-20T12:00:00Z"));
    let a = &mut s.accounts[0];
    let template = a
        .meetings
        .iter()
        .find(|m| m.uuid == "golden-noindiv==")
        .unwrap()
        .clone();
    a.meetings.retain(|m| m.uuid != "golden-noindiv==");
    for i in 0..4 {
        let mut m = template.clone();
        m.uuid = format!("noindiv-{i}==");
        for f in &mut m.files {
            f.id = format!("{}-{i}", f.id);
        }
        a.meetings.push(m);
    }
    let sim = SimServer::start_with_clock(s, SimClock::manual(now))
        .await
        .unwrap();
    let tenant = tenant(&sim, serde_json::json!({"sources": ["meetings"]}));
    let mut h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    let ledger: Arc<dyn QuotaLedger> = Arc::new(MemQuotaLedger::new());
    // A limit of 3 a day (share 1.0 of 3).
    h.zoom = budgeted(&h, ledger.clone(), 1.0, 3);
    let p = h.poll(Source::Meetings).await;
    assert_eq!(
        (p.participant_calls, p.participants_deferred),
        (3, 1),
        "{p:?}"
    );
    let day = now.date_naive();
    assert_eq!(
        ledger
            .get("golden-account", POOL_MEETINGS, day)
            .await
            .unwrap(),
        3
    );
    assert_eq!(ledger.get("golden-account", "Heavy", day).await.unwrap(), 3);
    let sim_calls = |h: &Harness| {
        h.sim
            .stats()
            .by_endpoint
            .get("GET /metrics/meetings/{meetingId}/participants")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(sim_calls(&h), 3, "the refused call never reached Zoom");
    // Polling again the same day spends nothing and plans nothing new.
    h.sim.clock().set(now + Duration::hours(1));
    let p = h.poll(Source::Meetings).await;
    assert_eq!((p.participant_calls, p.participants_deferred), (0, 1));
    assert_eq!(sim_calls(&h), 3);
    let planned = |cdrs: &[Cdr]| {
        let mut m: Vec<String> = cdrs
            .iter()
            .filter(|c| c.source == Source::Meetings)
            .map(|c| c.platform_call_id.clone())
            .collect();
        m.sort();
        m.dedup();
        m.len()
    };
    assert_eq!(
        planned(&h.cdrs().await),
        3 + 4,
        "3 of the 4 + the 4 golden meetings with individual files"
    );
    // After 00:00 UTC the deferred meeting is planned and archived.
    h.sim.clock().set(t("2026-11-21T00:05:00Z"));
    let ((p, _), d) = h.cycle().await;
    assert_eq!((p.participant_calls, p.participants_deferred), (1, 0));
    assert!(d.dead.is_empty());
    assert_eq!(planned(&h.cdrs().await), 8);
    assert_eq!(sim_calls(&h), 4, "each meeting asked once in all");
}

/// Zoom's own daily-limit 429 (another app spent the account's budget): the work is
/// deferred like a spent budget, and the ledger records the pool as spent for the day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_daily_limit_429_defers_and_marks_the_pool_spent() {
    daily_limit_on_the_participants_lookup(zoom_sim::RetryAfter::DailyLimit).await;
}

/// The same 429 known only by its message (`"…daily rate limit…"`, no `X-RateLimit-*`
/// headers: zoom-api.md §7 lists them as unconfirmed): only that meeting waits; the rest
/// of the poll goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_limit_known_only_by_its_message_defers_only_that_meeting() {
    daily_limit_on_the_participants_lookup(zoom_sim::RetryAfter::DailyByMessage).await;
}

async fn daily_limit_on_the_participants_lookup(kind: zoom_sim::RetryAfter) {
    let now = t("2026-11-20T22:00:00Z");
    let sim = SimServer::start_with_clock(
        Scenario::golden(t("2026-11-20T12:00:00Z")),
        SimClock::manual(now),
    )
    .await
    .unwrap();
    let tenant = tenant(&sim, serde_json::json!({"sources": ["meetings"]}));
    let mut h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    let ledger: Arc<dyn QuotaLedger> = Arc::new(MemQuotaLedger::new());
    h.zoom = budgeted(&h, ledger.clone(), 0.8, 60_000);
    h.sim
        .faults()
        .rate_limit_next("/v2/metrics/meetings/", 1, kind);
    let p = h.poll(Source::Meetings).await;
    assert_eq!(p.participants_deferred, 1, "{p:?}");
    assert!(p.new_files > 0, "the rest of the poll went on: {p:?}");
    assert_eq!(
        ledger
            .get("golden-account", POOL_MEETINGS, now.date_naive())
            .await
            .unwrap(),
        48_000,
        "the pool is spent for the day"
    );
    h.sim.clock().set(t("2026-11-21T00:05:00Z"));
    let p = h.poll(Source::Meetings).await;
    assert_eq!((p.participant_calls, p.participants_deferred), (1, 0));
}

/// Runs a poll (listing one item a page), a full download drain and a reconciliation of
/// the same account at once, as separate processes would (each its own Zoom client), and
/// returns how many requests the simulator answered 429 (per-second limits, Business+).
async fn storm(paced: bool, limit_scale: f64) -> (u64, u64) {
    use archiver_zoom::{PacingConfig, ZoomClient, ZoomClientConfig};
    let now = t("2026-11-20T12:00:00Z");
    let spec = zoom_sim::GenSpec {
        seed: 7,
        start: t("2026-11-19T00:00:00Z"),
        days: 1,
        users: 6,
        meetings_per_day: 150,
        calls_per_day: 20,
        recorded_call_ratio: 0.5,
        min_size: 20_000,
        max_size: 40_000,
    };
    let mut scenario = Scenario::generate(&spec);
    scenario.options.rate_limit_scale = limit_scale;
    let sim = SimServer::start_with_clock(scenario, SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim, 6, 2);
    let client = |page_size: u32| -> Arc<dyn ZoomApi> {
        let mut cfg = ZoomClientConfig::with_urls(
            tenant.api_base_url.clone(),
            tenant.oauth_url.clone(),
            archiver_core::ZoomCredentials {
                account_id: tenant.account_id.clone(),
                client_id: tenant.client_id.clone(),
                client_secret: secrecy::ExposeSecret::expose_secret(
                    tenant.client_secret.as_ref().unwrap(),
                )
                .to_string()
                .into(),
            },
        );
        cfg.page_size = page_size;
        let pacing = if paced {
            PacingConfig::default()
        } else {
            PacingConfig::disabled()
        };
        Arc::new(ZoomClient::with_pacing(cfg, pacing).unwrap())
    };
    let mut h = Harness::with_tenant(
        sim,
        tenant.clone(),
        HarnessOptions {
            backend: Backend::Local,
            concurrency: 8,
            ..HarnessOptions::default()
        },
    )
    .await;
    h.zoom = client(1);
    let reconciler_zoom = client(300);
    let rec = Reconciler::new(h.ports.clone(), "test-host");
    let day: NaiveDate = "2026-11-19".parse().unwrap();
    let (_, d, r) = tokio::join!(
        h.poll_all(),
        async {
            // Downloads start once the poll has queued some.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            h.drain().await
        },
        rec.reconcile_day(&h.tenant, reconciler_zoom.as_ref(), day)
    );
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    r.unwrap();
    let st = h.sim.stats();
    (st.rate_limited, st.by_category.values().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_concurrent_processes_under_zoom_per_second_limits() {
    let (limited, calls) = storm(true, 1.0).await;
    assert_eq!(
        limited, 0,
        "no 429 with the production pacing ({calls} calls)"
    );
    assert!(calls > 150, "the storm made {calls} calls");
    // The measure can fail: unpaced, the same storm trips the limits (scaled to a fifth,
    // Medium 12/s, because an unpaced debug build on two cores lists slower than 60/s).
    let (limited, _) = storm(false, 0.2).await;
    assert!(
        limited > 0,
        "an unpaced storm must hit the simulator's limits"
    );
}

/// A phone recording that Zoom lists two days after its call (a backlog at Zoom): by then
/// the poller's watermark (call time minus the 6-hour overlap) is far past it. The
/// reconciler finds it named in the call path, writes its "recording failed" CDR while Zoom
/// does not list it, looks again on later runs, fetches and queues it when Zoom lists it,
/// and the CDR becomes a normal one with the recording archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_listed_two_days_after_its_call_is_archived() {
    let call_start = t("2026-11-20T09:00:00Z");
    let rid = "f0000000000000000000000000000077";
    let mut s = Scenario::golden(t("2026-11-20T12:00:00Z"));
    let mut c = call(
        "9100000000000000077",
        call_start,
        1001,
        "Alice Anders",
        "+33123456789",
    );
    c.recordings
        .push(recording(rid, call_start, call_start + Duration::days(2)));
    s.accounts[0].calls.push(c);
    let clock = SimClock::manual(t("2026-11-20T12:00:00Z"));
    let sim = SimServer::start_with_clock(s, clock.clone()).await.unwrap();
    let tenant = tenant(&sim, serde_json::json!({}));
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    let rec = Reconciler::new(h.ports.clone(), "test-host");
    let file_known = async |h: &Harness| {
        h.ports
            .meta
            .get_file(&h.tenant.id, Source::Phone, rid)
            .await
            .unwrap()
            .is_some()
    };
    h.cycle().await;
    assert!(!file_known(&h).await, "not listed yet");
    // The day is final: reconciled. Zoom names the recording in the call path only.
    clock.set(t("2026-11-21T02:00:00Z"));
    h.cycle().await;
    let run = rec.run(&h.tenant, h.zoom.as_ref(), None).await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    let failed: Vec<Cdr> = h
        .cdrs()
        .await
        .into_iter()
        .filter(|c| c.conversation_id == rid)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].recording_failed);
    assert!(
        failed[0]
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("do not list it yet"),
        "{:?}",
        failed[0].failure_reason
    );
    // Two days after the call Zoom lists it; the poller's window is long past it.
    clock.set(t("2026-11-22T10:00:00Z"));
    h.cycle().await;
    assert!(!file_known(&h).await, "behind the watermark");
    // The next reconciliation run looks again, fetches and queues it.
    let run = rec.run(&h.tenant, h.zoom.as_ref(), None).await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    assert_eq!(run.fetched_late, 1);
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let cdrs: Vec<Cdr> = h
        .cdrs()
        .await
        .into_iter()
        .filter(|c| c.conversation_id == rid)
        .collect();
    assert_eq!(cdrs.len(), 1, "upgraded, not duplicated");
    assert!(!cdrs[0].recording_failed && cdrs[0].failure_reason.is_none());
    assert_eq!(cdrs[0].media[0].state, archiver_core::MediaState::Archived);
    // Nothing left to look for.
    let run = rec.run(&h.tenant, h.zoom.as_ref(), None).await;
    assert_eq!(run.fetched_late, 0);
}
