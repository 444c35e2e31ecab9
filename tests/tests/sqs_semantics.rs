//! The queue as SQS runs it (issue 14), on the SQS-faithful model of the test kit (what the
//! local emulator does not enforce): a receive cap with redrive to the DLQ, and a 12-hour
//! visibility horizon from each receive. Nothing is stranded: no task ever reaches SQS's own
//! redrive (every dead letter names its file and reason), every wait stays inside the
//! horizon, and a task lost for any reason is sent again by the sweep of a later poll.

use archiver_core::{FileState, Source};
use archiver_e2e::{Backend, Harness, HarnessOptions, assert_invariants, small_scenario};
use archiver_testkit::MemTaskQueue;
use chrono::{Duration, Timelike, Utc};
use std::sync::Arc;
use zoom_sim::{RetryAfter, SimClock, SimServer};

async fn harness(seed: u64) -> (Harness, MemTaskQueue) {
    harness_with(seed, HarnessOptions::default()).await
}

async fn harness_with(seed: u64, opts: HarnessOptions) -> (Harness, MemTaskQueue) {
    let now = Utc::now()
        .with_hour(10)
        .and_then(|t| t.with_minute(0))
        .unwrap();
    let sim = SimServer::start_with_clock(small_scenario(seed, now, 2), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim, 3, 3);
    let mut h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::SqsModel,
            ..opts
        },
    )
    .await;
    // Keep a handle on the model to read its counters.
    let q = MemTaskQueue::new(h.ports.clock.clone());
    h.ports.queue = Arc::new(q.clone());
    h = Harness::assemble(h.sim, h.tenant, h.ports, h.zoom, 3, h.dir);
    (h, q)
}

/// Ten minutes of bare 429s with the test harness's short retries (50 ms doubling to 5 s):
/// far more deliveries than the queue's 50. The downloader settles each task on its 49th
/// delivery (file parked with the reason, task dead-lettered with it); SQS's own redrive
/// never happens; the sweep of the next poll sends fresh tasks and everything is archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receive_cap_is_never_reached_and_parked_files_are_redriven() {
    // No quick retries inside the client: each delivery is one 429.
    let (h, q) = harness_with(
        31,
        HarnessOptions {
            retry: archiver_zoom::RetryPolicy::none(),
            ..HarnessOptions::default()
        },
    )
    .await;
    h.poll_all().await;
    let files = h.files().await.len();
    let until = h.sim.clock().now() + Duration::minutes(10);
    for p in ["/rec/archive/download", "/phone/recording/download"] {
        h.sim.faults().rate_limit_until(p, until, RetryAfter::Bare);
    }
    let d = h.drain().await;
    assert_eq!(q.redriven(), 0, "SQS's own redrive never takes a task");
    assert!(!d.dead.is_empty(), "the storm outlasted 50 deliveries");
    for dead in &d.dead {
        assert!(
            dead.detail.contains("parked for the sweep") && dead.detail.contains("rate limited"),
            "{}",
            dead.detail
        );
    }
    let dead_letters = h.ports.queue.dead_letters(1000).await.unwrap();
    assert!(
        dead_letters
            .iter()
            .all(|x| x.reason.contains("delivery 49"))
    );
    let parked = h
        .files()
        .await
        .into_iter()
        .filter(|f| f.state.name() == "parked")
        .count();
    assert_eq!(parked, d.dead.len());
    // After the storm: the next poll's sweep re-drives them.
    h.sim.clock().set(until + Duration::minutes(1));
    let ((m, p), d2) = h.cycle().await;
    assert_eq!(m.sweep.redriven + p.sweep.redriven, parked as u64);
    assert!(d2.dead.is_empty(), "{:?}", d2.dead);
    let archived = h
        .files()
        .await
        .into_iter()
        .filter(|f| matches!(f.state, FileState::Archived { .. }))
        .count();
    assert_eq!(archived, files);
    assert_invariants(&h).await;
}

/// A daily limit at 10:00 UTC waits 14 hours for midnight: longer than SQS lets a
/// visibility change reach (12 hours from the receive; the model refuses more). The wait is
/// armed in steps inside the horizon and re-armed by the next delivery without asking Zoom;
/// after midnight the files are archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_limit_wait_is_rearmed_inside_the_visibility_horizon() {
    let (h, q) = harness(32).await;
    h.poll_all().await;
    let midnight = (h.sim.clock().now() + Duration::days(1))
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .unwrap();
    for p in ["/rec/archive/download", "/phone/recording/download"] {
        h.sim
            .faults()
            .rate_limit_until(p, midnight, RetryAfter::DailyLimit);
    }
    // The drain stops waiting (max_wait 1 h): the tasks are deferred to midnight.
    let d = h
        .try_drain()
        .await
        .expect("no visibility change is refused");
    assert!(d.deferred > 0, "{d:?}");
    let before = h.sim.stats().downloads_started;
    // 11 hours later the tasks come back once: re-armed, Zoom not asked.
    h.sim
        .clock()
        .advance(Duration::hours(11) + Duration::minutes(1));
    let d = h
        .try_drain()
        .await
        .expect("no visibility change is refused");
    assert!(d.deferred > 0, "{d:?}");
    assert_eq!(
        h.sim.stats().downloads_started,
        before,
        "Zoom not asked before midnight"
    );
    // After midnight: archived.
    h.sim.clock().set(midnight + Duration::minutes(5));
    let d = h.try_drain().await.unwrap();
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(h.queue_counts().await.is_drained());
    assert_eq!(q.redriven(), 0);
    for f in h.files().await {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
        assert_eq!(f.attempts, 1, "waits spend no attempt");
    }
}

/// A task lost for any reason (deleted by hand, a crash between insert and send): the
/// file stays pending with nothing in the queue. The sweep of a later poll sends a fresh
/// task once it is well past due; it is archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_task_is_sent_again_by_the_sweep() {
    let (h, _) = harness(33).await;
    h.poll(Source::Phone).await;
    // Lose every task: received and deleted without being handled.
    loop {
        let got = h
            .ports
            .queue
            .receive(10, std::time::Duration::from_secs(60))
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        for d in got {
            h.ports.queue.ack(&d.receipt).await.unwrap();
        }
    }
    assert!(h.queue_counts().await.is_drained());
    let lost = h.files().await.len();
    assert!(lost > 0);
    // Within the grace nothing is sent again (a live task may still come).
    let r = h.poll(Source::Phone).await;
    assert_eq!(r.sweep.requeued, 0);
    h.sim.clock().advance(Duration::hours(3));
    let r = h.poll(Source::Phone).await;
    assert_eq!(r.sweep.requeued as usize, lost, "{:?}", r.sweep);
    let d = h.drain().await;
    assert!(d.dead.is_empty());
    for f in h.files().await {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
    }
    // Archived files are left alone by later sweeps.
    h.sim.clock().advance(Duration::hours(3));
    assert_eq!(h.poll(Source::Phone).await.sweep, Default::default());
}

/// A parked file (its task settled before the queue's redrive) whose trouble began longer
/// ago than the transient horizon (24 h) is failed for good by the sweep, with the reason;
/// one inside the horizon is re-driven.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_fails_a_parked_file_past_the_transient_horizon() {
    let (h, _) = harness(33).await;
    h.poll_all().await;
    let mut files = h.files().await;
    assert!(files.len() >= 2);
    // Park two files as the downloader does (their tasks are settled before any download),
    // one 25 h into its trouble and one 1 h.
    let now = h.sim.clock().now();
    for (f, hours) in files.iter_mut().zip([25, 1]) {
        f.state = FileState::Failed {
            reason: "rate limited by Zoom (unknown, unknown) (delivery 49 of the queue's 50: parked for the sweep)".into(),
            at: now,
            transient: true,
        };
        f.transient_since = Some(now - Duration::hours(hours));
        h.ports.meta.update_file(f).await.unwrap();
    }
    let (m, p) = h.poll_all().await;
    assert_eq!(
        (
            m.sweep.expired + p.sweep.expired,
            m.sweep.redriven + p.sweep.redriven
        ),
        (1, 1),
        "{:?} {:?}",
        m.sweep,
        p.sweep
    );
    let expired = h
        .ports
        .meta
        .get_file(&files[0].tenant, files[0].source, &files[0].file_id)
        .await
        .unwrap()
        .unwrap();
    let FileState::Failed {
        reason, transient, ..
    } = &expired.state
    else {
        panic!("{:?}", expired.state);
    };
    assert!(!transient);
    assert!(
        reason.starts_with("gave up after 1day of transient errors since")
            && reason.contains("rate limited"),
        "{reason}"
    );
    // The other one is archived by its fresh task (with everything else).
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let again = h
        .ports
        .meta
        .get_file(&files[1].tenant, files[1].source, &files[1].file_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(again.state, FileState::Archived { .. }),
        "{again:?}"
    );
    assert_invariants(&h).await;
}
