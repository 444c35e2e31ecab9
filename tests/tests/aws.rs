//! The same end-to-end scenario on the AWS adapters (S3, DynamoDB, SQS) against moto.
//!
//! Needs `MOTO=http://127.0.0.1:PORT` (`.ci/run` starts moto and sets it). Without it the
//! test prints "skipped" and passes, unless `ZA_REQUIRE_MOTO=1`.

use archiver_core::FileState;
use archiver_e2e::Harness;
use chrono::Utc;
use zoom_sim::{Scenario, SimClock};

async fn aws_harness(name: &str, scenario: Scenario, clock: SimClock) -> Option<Harness> {
    archiver_e2e::aws_harness(name, scenario, clock, archiver_e2e::demo_tenant).await
}

#[tokio::test]
async fn the_demo_account_is_archived_on_s3_dynamodb_and_sqs() {
    let now = Utc::now();
    let Some(h) = aws_harness("e2e", Scenario::demo(now), SimClock::manual(now)).await else {
        return;
    };
    let ((m, p), d) = h.cycle().await;
    assert!(m.new_files > 0 && p.new_files > 0);
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let n = h.assert_archive_faithful().await;
    assert_eq!(n as u64, m.new_files + p.new_files);
    for c in h.cdrs().await {
        assert!(
            c.media
                .iter()
                .all(|m| m.state == archiver_core::MediaState::Archived && m.sha256.is_some()),
            "{c:?}"
        );
    }
    // Idempotent: a rerun downloads nothing.
    let before = h.sim.stats().downloads_started;
    let ((m2, p2), _) = h.cycle().await;
    assert_eq!((m2.new_files, p2.new_files), (0, 0));
    assert_eq!(h.sim.stats().downloads_started, before);
    assert!(
        h.files()
            .await
            .iter()
            .all(|f| matches!(f.state, FileState::Archived { .. }))
    );
}

/// A connection cut mid-body while streaming into S3 (multipart): retried as transient,
/// one intact object, no attempt of the budget spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_body_into_s3_gives_one_intact_object() {
    let Some(h) = aws_harness("cut", Scenario::demo(Utc::now()), SimClock::system()).await else {
        return;
    };
    h.poll_all().await;
    let files = h.files().await;
    let cut: Vec<_> = files.iter().take(2).map(|f| f.file_id.clone()).collect();
    for id in &cut {
        h.sim.faults().cut_body(id, 1_000, 2);
    }
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries >= 4, "two cuts of each file retried: {d:?}");
    for f in h.files().await.iter().filter(|f| cut.contains(&f.file_id)) {
        assert!(matches!(f.state, FileState::Archived { .. }), "{f:?}");
        assert_eq!(f.attempts, 1, "a cut transfer is transient: {}", f.file_id);
    }
    assert!(h.sim.stats().errors_injected >= 4);
    h.assert_archive_faithful().await;
}
