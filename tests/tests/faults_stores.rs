//! Faults of the archiver's own stores: object store, metadata store and queue errors, and
//! crashes at each step boundary of a download. Everything is retried; nothing is lost or doubled.

use archiver_core::{BlobStore, FileState, MetaStore, Ports, Source, TaskQueue};
use archiver_e2e::{
    Backend, Expect, Harness, HarnessOptions, assert_invariants, assert_invariants_with,
    backend_ports, generated_tenant, small_scenario, zoom_client_with,
};
use archiver_testkit::faults::{
    FaultKind, FaultPlan, FaultyBlobStore, FaultyMetaStore, FaultyQueue,
};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use zoom_sim::{SimClock, SimServer};

const SEED: u64 = 11;

/// A small-scenario harness whose three stores fail as `plan` says.
async fn faulty(plan: &FaultPlan, backend: Backend) -> Harness {
    faulty_with(plan, backend, HarnessOptions::default().concurrency).await
}

/// [`faulty`] with this many concurrent downloads (1: the store calls come in a known order).
async fn faulty_with(plan: &FaultPlan, backend: Backend, concurrency: usize) -> Harness {
    let now = Utc::now();
    let sim = SimServer::start_with_clock(small_scenario(SEED, now, 2), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = generated_tenant(&sim, 3, 3);
    let dir = tempfile::tempdir().unwrap();
    let local = backend_ports(backend, &sim, dir.path());
    let ports = Ports {
        blobs: Arc::new(FaultyBlobStore::new(local.blobs.clone(), plan.clone()))
            as Arc<dyn BlobStore>,
        meta: Arc::new(FaultyMetaStore::new(local.meta.clone(), plan.clone()))
            as Arc<dyn MetaStore>,
        queue: Arc::new(FaultyQueue::new(local.queue.clone(), plan.clone())) as Arc<dyn TaskQueue>,
        clock: local.clock.clone(),
    };
    let opts = HarnessOptions::default();
    let zoom = zoom_client_with(&tenant, &opts);
    Harness::assemble(sim, tenant, ports, zoom, concurrency, dir)
}

/// Polls until both sources succeed (a failed poll keeps its progress and is simply redone).
async fn poll_until_ok(h: &Harness) {
    for s in [Source::Meetings, Source::Phone] {
        let mut tries = 0;
        while let Err(e) = h.try_poll(s).await {
            tries += 1;
            assert!(e.is_retryable(), "{e}");
            assert!(tries < 30, "poll {s} keeps failing: {e}");
        }
    }
}

/// Drains until the queue is empty; a drain stopped by a queue error is restarted. Simulated
/// time moves on (a visibility timeout passes) between restarts, as it would in production.
async fn drain_until_done(h: &Harness) {
    for _ in 0..10 {
        let d = tokio::time::timeout(Duration::from_secs(20), h.try_drain())
            .await
            .expect("the drain ends");
        if d.is_ok() && h.queue_counts().await.is_drained() {
            return;
        }
        h.sim.clock().advance(chrono::Duration::minutes(31));
    }
    panic!("the queue never drained: {:?}", h.queue_counts().await);
}

async fn object_store_errors_are_retried_and_nothing_is_lost(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    plan.fail_next("put_stream", 6);
    plan.fail_next("head", 3);
    poll_until_ok(&h).await;
    drain_until_done(&h).await;
    assert_eq!(plan.injected(), 9, "every planned fault fired");
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base, "same archive as without faults");
}

async fn metadata_store_errors_are_retried_and_nothing_is_lost(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    for (op, n) in [
        ("insert_file", 2),
        ("insert_files", 2),
        ("insert_cdrs", 1),
        ("mark_queued", 1),
        ("put_cursor", 1),
        ("get_file", 3),
        ("update_file", 5),
        ("get_cdr", 2),
        ("update_cdr", 3),
        ("insert_cdr", 1),
    ] {
        plan.fail_next(op, n);
    }
    poll_until_ok(&h).await;
    drain_until_done(&h).await;
    // A second cycle once the faults are spent: nothing new, nothing downloaded again.
    let before = h.sim.stats().downloads_completed;
    h.cycle().await;
    assert_eq!(h.sim.stats().downloads_completed, before);
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
}

async fn queue_send_and_receive_errors_are_retried_and_nothing_is_lost(backend: Backend) {
    let base = Harness::small_baseline(SEED).await;
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    // A failed send leaves files known but not queued: the next poll queues them.
    plan.fail_next("send_batch", 2);
    plan.fail_next("receive", 2);
    plan.fail_next("retry_later", 1);
    poll_until_ok(&h).await;
    poll_until_ok(&h).await;
    drain_until_done(&h).await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
    assert_eq!(
        h.sim.stats().downloads_completed as usize,
        r.archived,
        "one download per file"
    );
}

/// Crash between the state write and the CDR update: the file is archived, its CDR still
/// says pending. The redelivered task finds the file archived and only fills the CDR.
async fn a_crash_between_the_state_write_and_the_cdr_update_is_repaired_without_downloading_again(
    backend: Backend,
) {
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    poll_until_ok(&h).await;
    plan.fail_next("update_cdr", 4);
    drain_until_done(&h).await;
    assert_eq!(plan.injected(), 4);
    let r = assert_invariants(&h).await;
    assert_eq!(
        h.sim.stats().downloads_completed as usize,
        r.archived,
        "no second download after the crash"
    );
}

/// Crash between the CDR write and the queue ack: the task is redelivered after its
/// visibility timeout and acked as "already archived".
async fn a_crash_between_the_cdr_write_and_the_ack_redelivers_harmlessly(backend: Backend) {
    let plan = FaultPlan::new();
    let mut h = faulty(&plan, backend).await;
    h.drain_opts.visibility = Duration::from_secs(60);
    poll_until_ok(&h).await;
    let files = h.files().await.len();
    plan.fail_next("ack", 3);
    // The un-acked tasks stay in flight until their visibility timeout, which only passes
    // on the simulated clock: move it along while the drain waits.
    let clock = h.sim.clock().clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(30)).await;
            clock.advance(chrono::Duration::seconds(30));
        }
    });
    drain_until_done(&h).await;
    ticker.abort();
    assert_eq!(plan.injected(), 3);
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, files);
    assert_eq!(h.sim.stats().downloads_completed as usize, files);
}

/// Regression (the `run --once` hang of issue 14): an ack that keeps failing left its task
/// in flight with nobody working on it, and the drain slept its visibility timeout out (30
/// minutes of a real clock) before ending. A failing ack is now tried again, and a drain
/// whose only work left is its own unsettled deliveries ends at once, reporting them; their
/// next delivery settles them without downloading again.
async fn a_failed_ack_does_not_stall_the_drain(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    poll_until_ok(&h).await;
    // A failure the retries absorb.
    plan.fail_next("ack", 1);
    let d = tokio::time::timeout(Duration::from_secs(20), h.try_drain())
        .await
        .expect("the drain ends")
        .expect("the drain succeeds");
    assert_eq!(d.unsettled, 0, "one failed ack is retried");
    assert!(h.queue_counts().await.is_drained());

    // Acks that fail every time: the drain ends without waiting the visibility out.
    let h = faulty(&plan, backend).await;
    poll_until_ok(&h).await;
    let files = h.files().await.len();
    plan.fail_next("ack", 10_000);
    let before = h.sim.clock().now();
    let d = tokio::time::timeout(Duration::from_secs(20), h.try_drain())
        .await
        .expect("the drain ends")
        .expect("the drain succeeds");
    let waited = h.sim.clock().now() - before;
    assert_eq!(d.unsettled as usize, files, "{d:?}");
    assert!(
        waited < chrono::Duration::minutes(5),
        "the drain waited {waited} for its own orphans"
    );
    let counts = h.queue_counts().await;
    assert_eq!(
        (counts.ready, counts.in_flight, counts.delayed),
        (0, files as u64, 0)
    );
    plan.clear();
    let downloads = h.sim.stats().downloads_completed;
    assert_eq!(downloads as usize, files, "every file downloaded once");
    // Its next delivery settles it: nothing downloaded again.
    h.sim.clock().advance(chrono::Duration::minutes(31));
    let d = h.try_drain().await.unwrap();
    assert_eq!((d.unsettled, d.dead.len()), (0, 0));
    assert!(h.queue_counts().await.is_drained());
    assert_eq!(h.sim.stats().downloads_completed, downloads);
    assert_invariants(&h).await;
}

async fn every_task_delivered_twice_under_store_faults_still_gives_one_copy(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    poll_until_ok(&h).await;
    let files = h.files().await;
    let dupes: Vec<_> = files
        .iter()
        .map(|f| archiver_core::DownloadTask::new(f.tenant.clone(), f.source, &f.file_id))
        .collect();
    h.ports.queue.send_batch(&dupes).await.unwrap();
    plan.fail_next("put_stream", 3);
    plan.fail_next("update_file", 3);
    for f in files.iter().take(3) {
        h.sim.faults().cut_body(&f.file_id, 500, 1);
    }
    drain_until_done(&h).await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, files.len());
    assert!(
        files
            .iter()
            .all(|f| h.sim.file_digest(&f.file_id).is_some())
    );
    let archived: Vec<_> = h
        .files()
        .await
        .into_iter()
        .filter(|f| matches!(f.state, FileState::Archived { .. }))
        .collect();
    assert_eq!(archived.len(), files.len());
}

/// A transient outage of the archive's own object store must not lose files for good.
async fn a_transient_object_store_outage_does_not_fail_files_for_good(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty(&plan, backend).await;
    poll_until_ok(&h).await;
    let n = h.files().await.len() as u32;
    // Six failed `head` calls per file: a few minutes of object-store outage.
    plan.fail_next("head", 6 * n);
    drain_until_done(&h).await;
    h.cycle().await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.failed, 0, "files failed by a transient store outage");
    assert_eq!(r.archived as u32, n);
}

/// Polls the phone source alone until it succeeds (every file an MP3: each archived file
/// is measured after it is stored).
async fn poll_phone_until_ok(h: &Harness) {
    let mut tries = 0;
    while let Err(e) = h.try_poll(Source::Phone).await {
        tries += 1;
        assert!(e.is_retryable() && tries < 30, "{e}");
    }
}

/// The first download answers 503 past the client's retries, so the worker gives the file
/// back: the write that ends its claim meets what `plan` holds.
fn first_download_fails(h: &Harness) {
    for p in ["/rec/archive/download", "/phone/recording/download"] {
        h.sim.faults().fail_next(p, 4, 503);
    }
}

/// Claims always end (issue 14): a non-retryable metadata error after the claim (an item
/// over DynamoDB's 400 KB, a validation error) fails the file with the reason, and the
/// task is dead-lettered with it; nothing is left `downloading`.
async fn a_non_retryable_store_error_after_the_claim_fails_the_file_with_its_reason(
    backend: Backend,
) {
    let plan = FaultPlan::new();
    let h = faulty_with(&plan, backend, 1).await;
    poll_until_ok(&h).await;
    first_download_fails(&h);
    // The claim passes; the release that ends it fails for good; saying why on the file works.
    plan.fail_later("update_file", 1, 1, FaultKind::Fatal);
    drain_until_done(&h).await;
    let failed: Vec<_> = h
        .files()
        .await
        .into_iter()
        .filter(|f| !matches!(f.state, FileState::Archived { .. }))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let FileState::Failed {
        reason, transient, ..
    } = &failed[0].state
    else {
        panic!("{:?}", failed[0].state);
    };
    assert!(
        reason.contains("metadata store") && reason.contains("injected fault in update_file"),
        "{reason}"
    );
    assert!(
        !transient,
        "a non-retryable error is not re-driven by the sweep"
    );
    let dead = h.ports.queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].task.file_id, failed[0].file_id);
    assert_eq!(&dead[0].reason, reason);
    assert_eq!(plan.injected(), 1);
    assert_invariants(&h).await;
}

/// When even saying why fails, the claim still ends: its lease expires and the sweep of a
/// later poll gives the file a fresh task (after the grace, not before), and it is archived.
async fn when_the_failure_cannot_be_written_the_sweep_takes_the_file_up_again(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty_with(&plan, backend, 1).await;
    poll_until_ok(&h).await;
    first_download_fails(&h);
    plan.fail_later("update_file", 1, 2, FaultKind::Fatal);
    drain_until_done(&h).await;
    let stuck: Vec<_> = h
        .files()
        .await
        .into_iter()
        .filter(|f| !matches!(f.state, FileState::Archived { .. }))
        .collect();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0].state.name(), "downloading", "{:?}", stuck[0].state);
    let dead = h.ports.queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0].reason.contains("metadata store"),
        "{}",
        dead[0].reason
    );
    // Within the grace the sweep leaves it (a live task may still come)...
    let (m, p) = h.poll_all().await;
    assert_eq!(m.sweep.requeued + p.sweep.requeued, 0);
    // ...after it, a fresh task, and the file is archived.
    h.sim.clock().advance(chrono::Duration::hours(3));
    let (m, p) = h.poll_all().await;
    assert_eq!(m.sweep.requeued + p.sweep.requeued, 1, "{m:?} {p:?}");
    drain_until_done(&h).await;
    for f in h.files().await {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
    }
    // The one dead letter is of the abandoned delivery, its file now archived.
    assert_invariants_with(
        &h,
        &Expect {
            foreign_dead_letters: 1,
            ..Expect::default()
        },
    )
    .await;
}

/// Conflicts on the release are retried: the file goes back to `pending` and is archived;
/// nothing is dead-lettered.
async fn conflicts_on_the_release_are_retried(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty_with(&plan, backend, 1).await;
    poll_until_ok(&h).await;
    first_download_fails(&h);
    plan.fail_later("update_file", 1, 3, FaultKind::Conflict);
    drain_until_done(&h).await;
    assert_eq!(plan.injected(), 3);
    assert_eq!(h.ports.queue.dead_letters(10).await.unwrap().len(), 0);
    for f in h.files().await {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
    }
    assert_invariants(&h).await;
}

/// `archived` is written before the media analysis: when the write of the measurements
/// fails (as a kill during the analysis would leave it), the next delivery measures again
/// and never downloads again.
async fn the_state_is_stored_before_the_analysis_which_alone_is_redone(backend: Backend) {
    let plan = FaultPlan::new();
    let h = faulty_with(&plan, backend, 1).await;
    poll_phone_until_ok(&h).await;
    let files = h.files().await.len();
    assert!(files >= 2);
    // Claim, archived, then the measurements' write fails.
    plan.fail_later("update_file", 2, 1, FaultKind::Retryable);
    drain_until_done(&h).await;
    assert_eq!(plan.injected(), 1);
    assert_eq!(h.sim.stats().downloads_completed as usize, files);
    for f in h.files().await {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
        assert!(f.media.is_some(), "{} measured", f.file_id);
    }
    assert_invariants(&h).await;
}

archiver_e2e::on_both_queues!(
    object_store_errors_are_retried_and_nothing_is_lost,
    metadata_store_errors_are_retried_and_nothing_is_lost,
    queue_send_and_receive_errors_are_retried_and_nothing_is_lost,
    a_crash_between_the_state_write_and_the_cdr_update_is_repaired_without_downloading_again,
    a_crash_between_the_cdr_write_and_the_ack_redelivers_harmlessly,
    a_failed_ack_does_not_stall_the_drain,
    every_task_delivered_twice_under_store_faults_still_gives_one_copy,
    a_transient_object_store_outage_does_not_fail_files_for_good,
    a_non_retryable_store_error_after_the_claim_fails_the_file_with_its_reason,
    when_the_failure_cannot_be_written_the_sweep_takes_the_file_up_again,
    conflicts_on_the_release_are_retried,
    the_state_is_stored_before_the_analysis_which_alone_is_redone,
);
