//! Faults on Zoom's side: 429 storms, 5xx bursts, cut and stalled bodies, HTML/JSON bodies
//! with 200, revoked and expired tokens, deleted files, expired page tokens, concurrent
//! pollers, duplicate deliveries. Each test ends with the shared invariants and, where a
//! fault could make the archive skip something, a comparison with a fault-free run.

use archiver_core::services::poller::PollOptions;
use archiver_core::{FileRecord, FileState, Source};
use archiver_e2e::{
    Backend, Expect, Harness, HarnessOptions, assert_invariants, assert_invariants_with,
};
use std::time::Duration;
use zoom_sim::RetryAfter;

const SEED: u64 = 5;

async fn small(backend: Backend) -> Harness {
    Harness::small(
        SEED,
        HarnessOptions {
            backend,
            ..HarnessOptions::default()
        },
    )
    .await
}

/// Ids of files the poll selected: meeting files first, then phone recordings.
async fn selected(h: &Harness) -> (Vec<FileRecord>, Vec<FileRecord>) {
    h.poll_all().await;
    let files = h.files().await;
    let (m, p): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| f.source == Source::Meetings);
    assert!(m.len() >= 3 && p.len() >= 2, "{} {}", m.len(), p.len());
    (m, p)
}

async fn poll_until_ok(h: &Harness, s: Source) -> u32 {
    let mut failures = 0;
    while let Err(e) = h.try_poll(s).await {
        assert!(e.is_retryable(), "{e}");
        failures += 1;
        assert!(failures < 20, "poll keeps failing: {e}");
    }
    failures
}

async fn listing_429_storms_with_and_without_retry_after_lose_nothing(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let h = small(backend).await;
    // 10 consecutive 429s without Retry-After: the client retries 3 times per call, the
    // poll fails twice, the third poll gets through.
    h.sim
        .faults()
        .rate_limit_next("/v2/archive_files", 10, RetryAfter::None);
    // Retry-After 0 (honoured in place) then a Retry-After too long to wait in place.
    h.sim
        .faults()
        .rate_limit_next("/v2/phone/recordings", 3, RetryAfter::Seconds(0));
    h.sim
        .faults()
        .rate_limit_next("/v2/phone/recordings", 4, RetryAfter::Seconds(600));
    assert_eq!(poll_until_ok(&h, Source::Meetings).await, 2);
    assert!(poll_until_ok(&h, Source::Phone).await >= 1);
    h.drain().await;
    assert!(h.sim.stats().rate_limited >= 17, "{:?}", h.sim.stats());
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base, "nothing skipped by the storm");
}

async fn download_429_storms_are_waited_out_without_spending_attempts(backend: Backend) {
    let h = small(backend).await;
    let (m, p) = selected(&h).await;
    h.sim
        .faults()
        .rate_limit_next("/rec/archive/download", 40, RetryAfter::Seconds(120));
    h.sim
        .faults()
        .rate_limit_next("/v2/phone/recording/download", 12, RetryAfter::None);
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries > 0);
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, m.len() + p.len());
    for f in h.files().await {
        assert_eq!(
            f.attempts, 1,
            "a 429 is not a failed attempt: {}",
            f.file_id
        );
    }
}

async fn server_error_bursts_on_listings_and_downloads_are_retried(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let h = small(backend).await;
    let f = h.sim.faults();
    f.fail_next("/v2/archive_files", 6, 500);
    f.fail_next("/v2/phone/recordings", 5, 503);
    f.fail_next("/rec/archive/download", 14, 502);
    f.fail_next("/v2/phone/recording/download", 6, 504);
    f.fail_next("/oauth/token", 2, 503);
    poll_until_ok(&h, Source::Meetings).await;
    poll_until_ok(&h, Source::Phone).await;
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
}

async fn connections_cut_mid_body_on_several_files_leave_intact_objects(backend: Backend) {
    let h = small(backend).await;
    let (m, p) = selected(&h).await;
    let cut: Vec<_> = m.iter().take(3).chain(p.iter().take(2)).collect();
    for (i, f) in cut.iter().enumerate() {
        h.sim.faults().cut_body(&f.file_id, 200 + 700 * i as u64, 2);
    }
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(
        d.retries,
        2 * cut.len() as u64,
        "two cut transfers of each, retried"
    );
    assert_invariants(&h).await;
    for f in h.files().await {
        if cut.iter().any(|c| c.file_id == f.file_id) {
            assert!(matches!(f.state, FileState::Archived { .. }));
            assert_eq!(
                f.attempts, 1,
                "cut transfers are transient: only the whole one spends an attempt"
            );
        }
    }
    let tmp = h.dir.path().join("objects").join(".tmp");
    let leftovers = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "no temporary leftovers");
}

async fn slow_bodies_hit_the_read_timeout_and_are_retried(backend: Backend) {
    let h = Harness::small(
        SEED,
        HarnessOptions {
            backend,
            read_timeout: Duration::from_millis(150),
            ..HarnessOptions::default()
        },
    )
    .await;
    let (m, p) = selected(&h).await;
    let slow = [m[0].file_id.clone(), p[0].file_id.clone()];
    for id in &slow {
        h.sim.faults().slow_body(id, Duration::from_secs(3));
    }
    // The stall ends (the slow knob is cleared) after a few timed-out attempts.
    let drain = h.drain();
    let clear = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        h.sim.faults().clear();
    };
    let (d, ()) = tokio::join!(drain, clear);
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries >= 2, "{d:?}");
    assert_invariants(&h).await;
    for f in h.files().await {
        if slow.contains(&f.file_id) {
            assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
            assert_eq!(f.attempts, 1, "timeouts are transient: {}", f.file_id);
        }
    }
}

async fn html_and_json_bodies_served_with_200_are_never_archived(backend: Backend) {
    let h = small(backend).await;
    let (m, p) = selected(&h).await;
    let f = h.sim.faults();
    f.html_200(&m[0].file_id, 2);
    f.json_200(&m[1].file_id, 2);
    f.html_200(&p[0].file_id, 1);
    f.json_200(&p[1].file_id, 1);
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries >= 6);
    // Every stored object is Zoom's exact bytes (no HTML or JSON stored under a media key).
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, m.len() + p.len());
}

async fn tokens_revoked_mid_run_and_expired_by_the_clock_are_replaced(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let h = small(backend).await;
    h.poll(Source::Meetings).await;
    h.sim.faults().revoke_tokens();
    h.poll(Source::Phone).await;
    h.sim.faults().revoke_tokens();
    let drain = h.drain();
    let revoke = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.sim.faults().revoke_tokens();
    };
    let (d, ()) = tokio::join!(drain, revoke);
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    // Expiry by the clock: two hours later every token is stale.
    h.sim.clock().advance(chrono::Duration::hours(2));
    let ((mp, pp), d) = h.cycle().await;
    assert!(mp.skipped.is_none() && pp.skipped.is_none());
    assert!(d.dead.is_empty());
    assert!(h.sim.stats().tokens_issued >= 4, "{:?}", h.sim.stats());
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
}

async fn deleted_files_end_gone_are_reported_and_never_retried(backend: Backend) {
    let h = small(backend).await;
    let (m, p) = selected(&h).await;
    let gone = [m[0].file_id.clone(), p[0].file_id.clone()];
    for id in &gone {
        h.sim.faults().delete_file(id);
    }
    let d = h.drain().await;
    for id in &gone {
        assert!(
            d.done
                .iter()
                .any(|r| &r.task.file_id == id && r.detail.starts_with("gone")),
            "{id} reported gone: {:?}",
            d.done
        );
    }
    let r = assert_invariants(&h).await;
    assert_eq!(r.gone, 2);
    for c in h.cdrs().await {
        for media in c.media.iter().filter(|x| gone.contains(&x.file_id)) {
            assert_eq!(media.state, archiver_core::MediaState::Gone);
        }
    }
    let starts = h.sim.stats().downloads_started;
    let attempts: Vec<_> = h.files().await.iter().map(|f| f.attempts).collect();
    h.sim.clock().advance(chrono::Duration::hours(1));
    h.cycle().await;
    assert_eq!(h.sim.stats().downloads_started, starts, "not retried");
    let again: Vec<_> = h.files().await.iter().map(|f| f.attempts).collect();
    assert_eq!(attempts, again);
}

async fn an_expired_page_token_mid_listing_restarts_the_window_and_skips_nothing(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let h = Harness::small(
        SEED,
        HarnessOptions {
            backend,
            page_size: 1,
            ..HarnessOptions::default()
        },
    )
    .await;
    h.sim
        .faults()
        .expire_page_tokens_next("/v2/archive_files", 2);
    h.sim
        .faults()
        .expire_page_tokens_next("/v2/phone/recordings", 1);
    let (mp, pp) = h.poll_all().await;
    assert!(mp.restarts >= 1 && pp.restarts >= 1, "{mp:?} {pp:?}");
    assert!(mp.pages > 2 && pp.pages > 2, "several pages: {mp:?} {pp:?}");
    h.drain().await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base, "a restarted window skips nothing");
}

async fn every_task_delivered_twice_under_zoom_faults_gives_one_copy(backend: Backend) {
    let h = small(backend).await;
    let (m, p) = selected(&h).await;
    let all: Vec<_> = m.iter().chain(p.iter()).collect();
    let dupes: Vec<_> = all
        .iter()
        .map(|f| archiver_core::DownloadTask::new(f.tenant.clone(), f.source, &f.file_id))
        .collect();
    h.ports.queue.send_batch(&dupes).await.unwrap();
    h.sim.faults().cut_body(&m[0].file_id, 300, 1);
    h.sim.faults().html_200(&p[0].file_id, 1);
    h.sim
        .faults()
        .rate_limit_next("/rec/archive/download", 5, RetryAfter::Seconds(30));
    h.sim.faults().fail_next("/rec/archive/download", 4, 500);
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, all.len());
    assert_eq!(
        h.sim.stats().downloads_completed as usize,
        all.len(),
        "a duplicate delivery never downloads a second time"
    );
}

async fn two_phone_pollers_at_once_do_not_double_zoom_api_calls(backend: Backend) {
    let h = small(backend).await;
    let a = PollOptions {
        owner: "a".into(),
        ..Default::default()
    };
    let b = PollOptions {
        owner: "b".into(),
        ..Default::default()
    };
    let (ra, rb) = tokio::join!(
        h.poller.poll(&h.tenant, Source::Phone, h.zoom.as_ref(), &a),
        h.poller.poll(&h.tenant, Source::Phone, h.zoom.as_ref(), &b)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        u8::from(ra.skipped.is_some()) + u8::from(rb.skipped.is_some()),
        1,
        "exactly one poller ran: {ra:?} {rb:?}"
    );
    let pages = ra.pages + rb.pages;
    assert_eq!(
        h.sim
            .stats()
            .by_endpoint
            .get("GET /phone/recordings")
            .copied(),
        Some(u64::from(pages)),
        "one listing's worth of API calls"
    );
    h.drain().await;
    assert_invariants(&h).await;
}

#[tokio::test]
async fn a_one_day_soak_at_five_percent_faults_keeps_every_invariant() {
    for seed in [1, 2] {
        let s = archiver_e2e::soak::run(&archiver_e2e::soak::SoakOptions {
            days: 1,
            fault_rate: 0.05,
            seed,
            ..Default::default()
        })
        .await;
        assert!(s.passed(), "{s}");
        assert!(s.archived > 5 && s.sim_faults_fired > 0, "{s}");
    }
}

async fn the_invariant_check_reports_pending_files_and_an_undrained_queue(backend: Backend) {
    // Control for the invariant helper: a non-terminal file is a violation unless expected.
    let h = small(backend).await;
    let (m, _) = selected(&h).await;
    let r = archiver_e2e::invariants::check_invariants(&h, &Expect::default()).await;
    assert!(
        r.violations.iter().any(|v| v.contains("stuck")),
        "pending files are reported: {:?}",
        r.violations
    );
    assert!(r.violations.iter().any(|v| v.contains("queue not drained")));
    let expect = Expect {
        not_terminal: h.files().await.into_iter().map(|f| f.file_id).collect(),
        queue_may_hold_retries: false,
        foreign_dead_letters: 0,
    };
    let r = archiver_e2e::invariants::check_invariants(&h, &expect).await;
    assert!(r.not_terminal >= m.len());
    assert!(!r.violations.iter().any(|v| v.contains("stuck")));
    h.drain().await;
    assert_invariants_with(&h, &Expect::default()).await;
}

archiver_e2e::on_both_queues!(
    listing_429_storms_with_and_without_retry_after_lose_nothing,
    download_429_storms_are_waited_out_without_spending_attempts,
    server_error_bursts_on_listings_and_downloads_are_retried,
    connections_cut_mid_body_on_several_files_leave_intact_objects,
    slow_bodies_hit_the_read_timeout_and_are_retried,
    html_and_json_bodies_served_with_200_are_never_archived,
    tokens_revoked_mid_run_and_expired_by_the_clock_are_replaced,
    deleted_files_end_gone_are_reported_and_never_retried,
    an_expired_page_token_mid_listing_restarts_the_window_and_skips_nothing,
    every_task_delivered_twice_under_zoom_faults_gives_one_copy,
    two_phone_pollers_at_once_do_not_double_zoom_api_calls,
    the_invariant_check_reports_pending_files_and_an_undrained_queue,
);
