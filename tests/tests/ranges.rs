//! Parallel ranged downloads: a large file fetched as several ranges at once, each on its
//! own connection, reassembled in order into one verified object; a server that ignores
//! `Range` gets one stream.

use archiver_core::FileState;
use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_e2e::{Backend, Harness, HarnessOptions};
use std::time::Duration;
use zoom_sim::{Scenario, SimClock, SimServer};

async fn harness(honour_range: bool) -> Harness {
    let now = chrono::Utc::now();
    let mut scenario = Scenario::single_file(now, 20 * 1024 * 1024 + 12_345);
    scenario.options.honour_range = honour_range;
    let sim = SimServer::start_with_clock(scenario, SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::tenant_config(
        &sim,
        "single-account",
        "single-client",
        "single-secret",
        &[("alice@acme.example", "1001", "voice")],
    );
    let mut h = Harness::with_tenant(
        sim,
        tenant,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    h.downloader = Downloader::new(
        h.ports.clone(),
        DownloadSettings {
            parallel_streams: 4,
            parallel_part: 2 * 1024 * 1024,
            parallel_min_size: 1024 * 1024,
            retry_base: Duration::from_millis(20),
            ..DownloadSettings::default()
        },
    );
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_fetched_as_parallel_ranges_and_stored_intact() {
    let h = harness(true).await;
    let (_, d) = h.cycle().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(h.assert_archive_faithful().await, 1);
    // 11 ranges of 2 MiB (the last one short): one request each.
    assert_eq!(h.sim.stats().downloads_started, 11, "{:?}", h.sim.stats());
    assert!(matches!(
        h.files().await[0].state,
        FileState::Archived { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ignoring_range_gets_one_stream() {
    let h = harness(false).await;
    let (_, d) = h.cycle().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(h.assert_archive_faithful().await, 1);
    assert_eq!(
        h.sim.stats().downloads_started,
        1,
        "the probe's whole-file answer is the download"
    );
}
