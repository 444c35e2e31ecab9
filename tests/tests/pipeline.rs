//! End-to-end: simulator → poller → queue → downloader → store, on the embedded default.

use archiver_core::{FileState, Source};
use archiver_e2e::{Backend, Harness, HarnessOptions};
use chrono::{Duration, Utc};
use std::collections::HashSet;
use zoom_sim::{RetryAfter, Scenario, SimClock};

const CONFIGURED: [&str; 3] = [
    "alice@acme.example",
    "bob@acme.example",
    "carol@acme.example",
];

async fn demo(backend: Backend) -> Harness {
    let now = Utc::now();
    Harness::start(
        Scenario::demo(now),
        SimClock::manual(now),
        HarnessOptions {
            backend,
            ..Default::default()
        },
    )
    .await
}

fn archived_ids(files: &[archiver_core::FileRecord]) -> HashSet<String> {
    files
        .iter()
        .filter(|f| matches!(f.state, FileState::Archived { .. }))
        .map(|f| f.file_id.clone())
        .collect()
}

async fn archives_the_demo_account_faithfully(backend: Backend) {
    let h = demo(backend).await;
    let ((meetings, phone), drained) = h.cycle().await;
    assert!(
        meetings.new_files > 0 && phone.new_files > 0,
        "{meetings:?} {phone:?}"
    );
    assert!(drained.dead.is_empty(), "no failures: {:?}", drained.dead);
    let archived = h.assert_archive_faithful().await;
    assert_eq!(archived as u64, meetings.new_files + phone.new_files);
    assert_eq!(
        h.sim.stats().downloads_completed,
        archived as u64,
        "no download was wasted"
    );

    // Selection rules, checked against the scenario.
    let files = h.files().await;
    let ids = archived_ids(&files);
    let account = &h.sim.scenario().accounts[0];
    for m in &account.meetings {
        let complete = m.complete_time <= h.sim.clock().now();
        let present: HashSet<&str> = m
            .files
            .iter()
            .filter(|f| f.individual)
            .filter_map(|f| f.participant_email.as_deref())
            .collect();
        let bob_there = present.contains("bob@acme.example");
        for f in &m.files {
            let mine = f
                .participant_email
                .as_deref()
                .is_some_and(|e| CONFIGURED.contains(&e));
            let expect = complete
                && !f.failed
                && f.available_at.is_none_or(|t| t <= h.sim.clock().now())
                && if f.individual {
                    mine && (f.file_type != "MP4"
                        || f.participant_email.as_deref() == Some("bob@acme.example"))
                } else if f.file_type == "MP4" {
                    bob_there
                } else if f.file_type == "M4A" {
                    false
                } else {
                    present.iter().any(|e| CONFIGURED.contains(e))
                };
            assert_eq!(
                ids.contains(&f.id),
                expect,
                "meeting {:?} file {} {} individual={} email={:?}",
                m.topic,
                f.id,
                f.file_type,
                f.individual,
                f.participant_email
            );
        }
    }
    // Phone: only recordings owned or accepted by configured extensions.
    for c in &account.calls {
        let ext = |e: &str| ["1001", "1002", "1003"].contains(&e);
        let mine = (c.owner.kind == "user" && ext(&c.owner.extension_number.to_string()))
            || c.accepted_by
                .as_ref()
                .is_some_and(|p| ext(&p.extension_number));
        for r in &c.recordings {
            let visible = r.available_at <= h.sim.clock().now();
            assert_eq!(
                ids.contains(&r.id),
                mine && visible,
                "call {} recording {}",
                c.call_id,
                r.id
            );
        }
    }

    // CDRs: one per recorded user per conversation, media filled in.
    let cdrs = h.cdrs().await;
    assert!(!cdrs.is_empty());
    for c in &cdrs {
        assert!(
            c.media
                .iter()
                .all(|m| m.state == archiver_core::MediaState::Archived && m.sha256.is_some()),
            "{c:?}"
        );
        match c.source {
            Source::Meetings => {
                let video = c.user_email.as_deref() == Some("bob@acme.example");
                assert_eq!(
                    c.conversation_type.as_str(),
                    if video {
                        "Screen & Application Share"
                    } else {
                        "Voice"
                    }
                );
                if !video {
                    assert!(
                        !c.media.iter().any(|m| m.file_type == "MP4"),
                        "a voice user gets no video: {c:?}"
                    );
                }
                assert_eq!(
                    (
                        c.to.as_str(),
                        c.direction.as_str(),
                        c.direction_user.as_str()
                    ),
                    ("Conference", "Conference", "Outgoing")
                );
            }
            Source::Phone => {
                assert_eq!(c.media.len(), 1);
                assert!(
                    ["1001", "1002", "1003"].contains(&c.user_id.as_str()),
                    "{c:?}"
                );
            }
        }
    }
    let ids: HashSet<_> = cdrs
        .iter()
        .map(|c| (c.tenant.clone(), c.cdr_id.clone()))
        .collect();
    assert_eq!(ids.len(), cdrs.len(), "no duplicate CDR");
}

#[tokio::test]
async fn archives_the_demo_account_faithfully_on_the_embedded_default() {
    archives_the_demo_account_faithfully(Backend::Local).await;
}

#[tokio::test]
async fn archives_the_demo_account_faithfully_in_memory() {
    archives_the_demo_account_faithfully(Backend::Memory).await;
}

#[tokio::test]
async fn a_rerun_archives_nothing_new_and_downloads_nothing() {
    let h = demo(Backend::Local).await;
    h.cycle().await;
    let before = h.sim.stats();
    let files_before = h.files().await.len();
    let ((m, p), d) = h.cycle().await;
    assert_eq!(
        (m.new_files, p.new_files, m.enqueued, p.enqueued),
        (0, 0, 0, 0)
    );
    assert!(d.done.is_empty() && d.dead.is_empty());
    let after = h.sim.stats();
    assert_eq!(
        after.downloads_started, before.downloads_started,
        "no download on a rerun"
    );
    assert_eq!(h.files().await.len(), files_before);
    h.assert_archive_faithful().await;
}

#[tokio::test]
async fn meeting_uuids_with_slashes_plus_and_equals_round_trip() {
    let h = demo(Backend::Local).await;
    h.cycle().await;
    let uuid = "/Xk2//qQ+Lm9eR3w7Tz4A==";
    let cdrs: Vec<_> = h
        .cdrs()
        .await
        .into_iter()
        .filter(|c| c.platform_call_id == uuid)
        .collect();
    assert!(
        !cdrs.is_empty(),
        "the meeting with an awkward UUID was archived"
    );
    for c in &cdrs {
        for m in &c.media {
            let segs: Vec<&str> = m.key.split('/').collect();
            assert_eq!(segs.len(), 7, "{}", m.key);
            assert_eq!(segs[5], "%2FXk2%2F%2FqQ%2BLm9eR3w7Tz4A%3D%3D");
            assert!(
                h.dir.path().join("objects").join(&m.key).is_file(),
                "{} on disk",
                m.key
            );
        }
    }
    // And the single-meeting endpoint finds it by that UUID.
    let m = h
        .zoom
        .get_meeting_archive(uuid)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(m.uuid, uuid);
}

#[tokio::test]
async fn a_late_completing_archive_is_picked_up_by_a_later_poll() {
    let h = demo(Backend::Local).await;
    h.cycle().await;
    let late = h.sim.scenario().accounts[0]
        .meetings
        .iter()
        .find(|m| m.complete_time > h.sim.clock().now())
        .expect("a late meeting")
        .clone();
    let ids = archived_ids(&h.files().await);
    assert!(
        late.files.iter().all(|f| !ids.contains(&f.id)),
        "not archived before it completes"
    );
    h.sim.clock().advance(Duration::hours(2));
    let ((m, _), d) = h.cycle().await;
    assert!(m.new_files > 0, "{m:?}");
    assert!(d.dead.is_empty());
    let ids = archived_ids(&h.files().await);
    let bob_m4a = late
        .files
        .iter()
        .find(|f| f.individual && f.participant_email.as_deref() == Some("bob@acme.example"))
        .expect("bob's audio");
    assert!(ids.contains(&bob_m4a.id));
    h.assert_archive_faithful().await;
}

#[tokio::test]
async fn listing_pages_through_many_pages_and_windows() {
    let now = Utc::now();
    let spec = zoom_sim::GenSpec {
        seed: 7,
        start: now - Duration::days(20),
        days: 20,
        users: 6,
        meetings_per_day: 3,
        calls_per_day: 4,
        recorded_call_ratio: 0.8,
        min_size: 2_000,
        max_size: 20_000,
    };
    let scenario = Scenario::generate(&spec);
    let sim = zoom_sim::SimServer::start_with_clock(scenario, SimClock::manual(now))
        .await
        .unwrap();
    let account = sim.scenario().accounts[0].clone();
    let users: Vec<(String, String, &str)> = account
        .users
        .iter()
        .take(3)
        .map(|u| {
            (
                u.email.clone(),
                u.extension.map(|e| e.to_string()).unwrap_or_default(),
                "video",
            )
        })
        .collect();
    let users_ref: Vec<(&str, &str, &str)> = users
        .iter()
        .map(|(e, x, m)| (e.as_str(), x.as_str(), *m))
        .collect();
    let mut tenant = archiver_e2e::tenant_config(
        &sim,
        &account.account_id,
        &account.client_id,
        &account.client_secret,
        &users_ref,
    );
    tenant.initial_lookback = std::time::Duration::from_secs(21 * 86400);
    let h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    let ((m, p), d) = h.cycle().await;
    assert!(
        m.windows >= 3,
        "21 days need at least 3 windows of 7: {m:?}"
    );
    assert!(
        m.pages > m.windows && p.pages > 1,
        "several pages: {m:?} {p:?}"
    );
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let n = h.assert_archive_faithful().await;
    assert!(n > 20, "{n}");
    // Every listed meeting in the period is seen once: count what the rules must select.
    let stats = h.sim.stats();
    assert!(
        stats
            .by_endpoint
            .get("GET /archive_files")
            .copied()
            .unwrap_or(0)
            >= m.pages as u64
    );
}

#[tokio::test]
async fn a_token_revoked_mid_run_is_refreshed_transparently() {
    let h = demo(Backend::Local).await;
    h.poll_all().await;
    h.sim.faults().revoke_tokens();
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(h.sim.stats().tokens_issued >= 2);
    h.assert_archive_faithful().await;
    // And the token expiring by time (one hour on the simulator's clock).
    h.sim.clock().advance(Duration::hours(2));
    let ((m, p), d) = h.cycle().await;
    assert_eq!(m.new_files + p.new_files, m.new_files + p.new_files);
    assert!(d.dead.is_empty());
    assert!(h.sim.stats().tokens_issued >= 3, "a new token after expiry");
}

#[tokio::test]
async fn rate_limits_with_and_without_retry_after_are_honoured() {
    let h = demo(Backend::Local).await;
    h.sim
        .faults()
        .rate_limit_next("/v2/archive_files", 2, RetryAfter::Seconds(1));
    h.sim
        .faults()
        .rate_limit_next("/v2/phone/recordings", 2, RetryAfter::None);
    h.sim
        .faults()
        .rate_limit_next("/rec/archive/download", 3, RetryAfter::None);
    let ((m, p), d) = h.cycle().await;
    assert!(m.new_files > 0 && p.new_files > 0);
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(h.sim.stats().rate_limited >= 7, "{:?}", h.sim.stats());
    h.assert_archive_faithful().await;
}

#[tokio::test]
async fn a_daily_limit_defers_the_download_instead_of_failing_it() {
    let mut h = demo(Backend::Local).await;
    h.drain_opts.max_wait = std::time::Duration::from_secs(2 * 86400);
    h.poll_all().await;
    h.sim
        .faults()
        .rate_limit_next("/rec/archive/download", 1, RetryAfter::DailyLimit);
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    // The drain waited (on the simulated clock) for 00:00 UTC and then archived it.
    h.assert_archive_faithful().await;
    assert_eq!(
        h.files()
            .await
            .iter()
            .filter(|f| !matches!(f.state, FileState::Archived { .. }))
            .count(),
        0
    );
}

async fn first_meeting_audio(h: &Harness) -> String {
    h.sim.scenario().accounts[0].meetings[0]
        .files
        .iter()
        .find(|f| f.individual && f.participant_email.as_deref() == Some("alice@acme.example"))
        .unwrap()
        .id
        .clone()
}

#[tokio::test]
async fn an_html_page_served_with_200_is_rejected_then_archived_intact() {
    let h = demo(Backend::Local).await;
    let id = first_meeting_audio(&h).await;
    h.sim.faults().html_200(&id, 2);
    let ((_, _), d) = h.cycle().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries >= 2);
    let f = h
        .files()
        .await
        .into_iter()
        .find(|f| f.file_id == id)
        .unwrap();
    assert!(matches!(f.state, FileState::Archived { .. }));
    assert_eq!(f.attempts, 3);
    h.assert_archive_faithful().await;
}

#[tokio::test]
async fn a_json_error_body_served_as_media_is_never_archived() {
    let h = demo(Backend::Local).await;
    let id = first_meeting_audio(&h).await;
    h.sim.faults().json_200(&id, 100);
    let (_, d) = h.cycle().await;
    let dead: Vec<_> = d.dead.iter().filter(|r| r.task.file_id == id).collect();
    assert_eq!(
        dead.len(),
        1,
        "dead-lettered once, with its reason: {:?}",
        d.dead
    );
    assert!(
        dead[0].detail.contains("JSON") || dead[0].detail.contains("json"),
        "{}",
        dead[0].detail
    );
    let f = h
        .files()
        .await
        .into_iter()
        .find(|f| f.file_id == id)
        .unwrap();
    assert!(
        matches!(&f.state, FileState::Failed { reason, .. } if reason.contains("gave up")),
        "{:?}",
        f.state
    );
    assert!(
        h.ports.blobs.head(&f.object_key).await.unwrap().is_none(),
        "nothing stored for it"
    );
    let cdr = h
        .cdrs()
        .await
        .into_iter()
        .find(|c| c.media.iter().any(|m| m.file_id == id))
        .unwrap();
    assert_eq!(
        cdr.media.iter().find(|m| m.file_id == id).unwrap().state,
        archiver_core::MediaState::Failed
    );
    h.assert_archive_faithful().await;
}

#[tokio::test]
async fn a_connection_cut_mid_body_is_retried_with_an_intact_object() {
    let h = demo(Backend::Local).await;
    let id = first_meeting_audio(&h).await;
    h.sim.faults().cut_body(&id, 50_000, 2);
    let (_, d) = h.cycle().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let f = h
        .files()
        .await
        .into_iter()
        .find(|f| f.file_id == id)
        .unwrap();
    assert!(matches!(f.state, FileState::Archived { .. }));
    // Two cut transfers retried (transient: the network, not the file) and a whole one;
    // only the whole one counts against the attempt budget.
    assert!(d.retries >= 2, "{d:?}");
    assert_eq!(f.attempts, 1);
    assert_eq!(f.transient_since, None, "cleared once archived");
    h.assert_archive_faithful().await;
    // No temporary leftovers from the cut attempts.
    let tmp = h.dir.path().join("objects").join(".tmp");
    let leftovers = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn a_file_deleted_at_zoom_ends_gone_and_is_not_retried() {
    let h = demo(Backend::Local).await;
    let id = first_meeting_audio(&h).await;
    h.sim.faults().delete_file(&id);
    let (_, d) = h.cycle().await;
    let f = h
        .files()
        .await
        .into_iter()
        .find(|f| f.file_id == id)
        .unwrap();
    assert!(matches!(f.state, FileState::Gone { .. }), "{:?}", f.state);
    assert!(
        d.done
            .iter()
            .any(|r| r.task.file_id == id && r.detail.starts_with("gone"))
    );
    assert!(h.queue_counts().await.is_drained());
    let starts = h.sim.stats().downloads_started;
    h.cycle().await;
    assert_eq!(h.sim.stats().downloads_started, starts, "not retried");
}

#[tokio::test]
async fn unconfigured_users_files_are_never_downloaded() {
    let h = demo(Backend::Local).await;
    h.cycle().await;
    let files = h.files().await;
    let known: HashSet<_> = files.iter().map(|f| f.file_id.clone()).collect();
    for m in &h.sim.scenario().accounts[0].meetings {
        for f in m.files.iter().filter(|f| f.individual) {
            if !f
                .participant_email
                .as_deref()
                .is_some_and(|e| CONFIGURED.contains(&e))
            {
                assert!(
                    !known.contains(&f.id),
                    "file {} of {:?} must not even be recorded",
                    f.id,
                    f.participant_email
                );
            }
        }
    }
    assert_eq!(
        h.sim.stats().downloads_started,
        files.len() as u64,
        "only selected files were requested"
    );
}

#[tokio::test]
async fn two_pollers_at_once_do_not_double_zoom_api_usage() {
    let h = demo(Backend::Local).await;
    let opts_a = archiver_core::services::poller::PollOptions {
        owner: "a".into(),
        ..Default::default()
    };
    let opts_b = archiver_core::services::poller::PollOptions {
        owner: "b".into(),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        h.poller
            .poll(&h.tenant, Source::Meetings, h.zoom.as_ref(), &opts_a),
        h.poller
            .poll(&h.tenant, Source::Meetings, h.zoom.as_ref(), &opts_b)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        [a.skipped.is_some(), b.skipped.is_some()]
            .iter()
            .filter(|s| **s)
            .count(),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(
        h.sim.stats().by_endpoint.get("GET /archive_files").copied(),
        Some(1)
    );
    let d = h.drain().await;
    assert!(d.dead.is_empty());
    h.assert_archive_faithful().await;
}
