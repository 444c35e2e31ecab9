//! Zoom's outages end in an archive (issue 14): a 10-minute outage of Zoom's file host
//! (every download answers 503) and a 10-minute storm of bare 429s (no `Retry-After`, no
//! `X-RateLimit-*`) are retried by the error's class — transient, never final before the
//! 24-hour horizon, never spending the file's attempt budget — so every recording is
//! archived after them, whatever else is queued. Before, 25 new files failed for good in a
//! 5-minute outage (six attempts from 5 s).
//!
//! Embedded default (SQLite queue) and the SQS-faithful queue model on a simulated clock at
//! the production retry settings; the AWS adapters on moto in real time, shortened (same
//! shape: the outage outlasts what the old attempt budget survived).

use archiver_core::FileState;
use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_e2e::{
    Backend, Harness, HarnessOptions, assert_invariants, aws_harness, small_scenario,
};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use zoom_sim::{RetryAfter, SimClock, SimServer};

const DOWNLOADS: [&str; 2] = ["/rec/archive/download", "/phone/recording/download"];

enum Trouble {
    Outage503,
    Bare429,
}

fn start(h: &Harness, trouble: &Trouble, minutes: i64) {
    let until = h.sim.clock().now() + chrono::Duration::minutes(minutes);
    for p in DOWNLOADS {
        match trouble {
            Trouble::Outage503 => h.sim.faults().outage_until(p, until, 503),
            Trouble::Bare429 => h.sim.faults().rate_limit_until(p, until, RetryAfter::Bare),
        }
    }
}

fn with_settings(mut h: Harness, settings: DownloadSettings) -> Harness {
    h.downloader = Downloader::new(h.ports.clone(), settings)
        .with_analyser(Arc::new(archiver_media::BlobAnalyser::new()));
    h
}

/// Everything archived, nothing failed or parked, no attempt spent on the outage.
async fn assert_all_archived(h: &Harness, what: &str) {
    let files = h.files().await;
    assert!(files.len() >= 3, "{what}: {} files", files.len());
    for f in &files {
        assert!(
            matches!(f.state, FileState::Archived { .. }),
            "{what}: {} is {:?}",
            f.file_id,
            f.state
        );
        assert_eq!(
            f.attempts, 1,
            "{what}: the outage spent no attempt of {}",
            f.file_id
        );
    }
    assert_invariants(h).await;
}

async fn embedded(backend: Backend, trouble: Trouble) {
    let now = Utc::now();
    let sim = SimServer::start_with_clock(small_scenario(21, now, 3), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim, 4, 4);
    let h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend,
            ..HarnessOptions::default()
        },
    )
    .await;
    // The production retry settings (5 s doubling to 15 min, 24 h horizon).
    let h = with_settings(h, DownloadSettings::default());
    h.poll_all().await;
    start(&h, &trouble, 10);
    let began = h.sim.clock().now();
    let d = h.drain().await;
    assert!(
        h.sim.clock().now() - began >= chrono::Duration::minutes(10),
        "the drain outlasted the outage"
    );
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries > 0, "{d:?}");
    // A later poll finds nothing to heal.
    let ((m, p), d2) = h.cycle().await;
    assert_eq!(
        m.sweep.requeued + p.sweep.requeued + m.sweep.redriven + p.sweep.redriven,
        0
    );
    assert!(d2.dead.is_empty());
    assert_all_archived(&h, "embedded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_minute_file_host_outage_ends_archived_embedded() {
    embedded(Backend::Local, Trouble::Outage503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_minute_file_host_outage_ends_archived_on_the_sqs_model() {
    embedded(Backend::SqsModel, Trouble::Outage503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_minute_storm_of_bare_429s_ends_archived_embedded() {
    embedded(Backend::Local, Trouble::Bare429).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_minute_storm_of_bare_429s_ends_archived_on_the_sqs_model() {
    embedded(Backend::SqsModel, Trouble::Bare429).await;
}

/// On the AWS adapters (SQS delays are real time on moto): an 8-second outage against
/// retries from 200 ms doubling to 2 s — longer than six attempts of the old budget lasted.
async fn on_aws(trouble: Trouble) {
    let now = Utc::now();
    let Some(h) = aws_harness(
        "outage",
        small_scenario(22, now, 1),
        SimClock::system(),
        |sim| archiver_e2e::generated_tenant(sim, 2, 2),
    )
    .await
    else {
        return;
    };
    let h = with_settings(
        h,
        DownloadSettings {
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(2),
            ..DownloadSettings::default()
        },
    );
    h.poll_all().await;
    let until = h.sim.clock().now() + chrono::Duration::seconds(8);
    for p in DOWNLOADS {
        match trouble {
            Trouble::Outage503 => h.sim.faults().outage_until(p, until, 503),
            Trouble::Bare429 => h.sim.faults().rate_limit_until(p, until, RetryAfter::Bare),
        }
    }
    let d = tokio::time::timeout(Duration::from_secs(120), h.drain())
        .await
        .expect("the drain ends");
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert!(d.retries > 0, "{d:?}");
    assert!(Utc::now() >= until, "the drain outlasted the outage");
    let (_, d2) = h.cycle().await;
    assert!(d2.dead.is_empty());
    assert_all_archived(&h, "aws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_host_outage_ends_archived_on_aws() {
    on_aws(Trouble::Outage503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_bare_429s_ends_archived_on_aws() {
    on_aws(Trouble::Bare429).await;
}

/// The transient horizon is where waiting ends: an outage longer than it fails every file
/// for good, each with a reason that says so and names the error, its CDR showing it; no
/// file is left pending and the queue is drained. (A 3-hour outage against a 2-hour
/// horizon, retries capped at 5 minutes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_transient_horizon_fails_files_with_their_reason() {
    let now = Utc::now();
    let sim = SimServer::start_with_clock(small_scenario(22, now, 2), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim, 3, 3);
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    let h = with_settings(
        h,
        DownloadSettings {
            retry_max: Duration::from_secs(300),
            transient_horizon: Duration::from_secs(2 * 3600),
            ..DownloadSettings::default()
        },
    );
    h.poll_all().await;
    start(&h, &Trouble::Outage503, 180);
    let d = h.drain().await;
    assert!(d.retries > 0, "{d:?}");
    let files = h.files().await;
    assert!(files.len() >= 3);
    for f in &files {
        let FileState::Failed {
            reason, transient, ..
        } = &f.state
        else {
            panic!("{} is {:?}", f.file_id, f.state);
        };
        assert!(!transient, "{reason}");
        assert!(
            reason.starts_with("gave up after 2h of transient errors since")
                && reason.contains("503"),
            "{reason}"
        );
        assert_eq!(
            f.attempts, 1,
            "the outage spent no attempt of {}",
            f.file_id
        );
    }
    assert_invariants(&h).await;
}
