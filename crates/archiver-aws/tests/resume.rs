//! A file too large for one invocation, end to end on the AWS adapters (moto) and the Zoom
//! simulator: the poller lists it, then each call of `Downloader::handle_until` with a
//! deadline already passed plays one Lambda invocation, which uploads at least one part,
//! pauses, and keeps the checkpoint in the file record, until the file is archived.
//!
//! Needs `MOTO` (see `moto.rs`); skipped without it unless `ZA_REQUIRE_MOTO=1`.

use archiver_aws::{AwsAdapters, AwsSettings, PART_SIZE, connect, init_resources};
use archiver_core::services::downloader::{
    CONTINUE_REASON, DownloadSettings, Downloader, TaskOutcome,
};
use archiver_core::services::poller::{PollOptions, Poller};
use archiver_core::{
    ArchiveDateType, ArchiveMeeting, BlobStore, Clock, Download, FileQuery, FileState, Page,
    PhoneRecording, Source, SystemClock, TaskQueue, TenantConfig, Window, ZoomApi, ZoomCredentials,
    ZoomError,
};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zoom_sim::{Scenario, SimServer};

async fn setup(endpoint: &str, name: &str) -> AwsAdapters {
    let suffix = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
    let base = format!("za-{name}-{suffix}");
    let s = AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.into()),
        bucket: base.clone(),
        table: base.clone(),
        queue_name: base,
        dlq_name: None,
        kms_key_id: None,
        key_prefix: Some("archive/".into()),
        object_lock: None,
        manifest_key_id: None,
    };
    init_resources(&s).await.expect("init_resources");
    connect(&s, Arc::new(SystemClock)).await.expect("connect")
}

/// One meeting whose one recorded participant has one M4A file of `size` bytes.
fn one_big_file(size: u64, honour_range: bool) -> Scenario {
    let mut s = Scenario::single_file(Utc::now(), size);
    s.options.honour_range = honour_range;
    s
}

fn tenant(sim: &SimServer) -> TenantConfig {
    serde_json::from_value(serde_json::json!({
        "id": "acme",
        "account_id": "single-account",
        "client_id": "single-client",
        "client_secret": "single-secret",
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "sources": ["meetings"],
        "initial_lookback": "1d",
        "users": [{"email": "alice@acme.example", "extension": "1001", "mode": "voice"}],
    }))
    .expect("valid tenant config")
}

fn zoom(t: &TenantConfig) -> Arc<dyn ZoomApi> {
    use secrecy::ExposeSecret;
    let secret = t
        .client_secret
        .as_ref()
        .expect("inline secret")
        .expose_secret()
        .to_string();
    let cfg = ZoomClientConfig::with_urls(
        t.api_base_url.clone(),
        t.oauth_url.clone(),
        ZoomCredentials {
            account_id: t.account_id.clone(),
            client_id: t.client_id.clone(),
            client_secret: secret.into(),
        },
    );
    Arc::new(ZoomClient::new(cfg).expect("zoom client"))
}

/// The Zoom client, counting the body bytes the downloader actually read and recording the
/// offset each download asked for and was served from.
struct CountingZoom {
    inner: Arc<dyn ZoomApi>,
    read: Arc<AtomicU64>,
    opened: Mutex<Vec<(u64, u64)>>,
}

impl CountingZoom {
    fn count(&self, asked: u64, mut d: Download) -> Download {
        self.opened.lock().unwrap().push((asked, d.offset));
        let read = self.read.clone();
        d.body = d
            .body
            .inspect(move |c| {
                if let Ok(c) = c {
                    read.fetch_add(c.len() as u64, Ordering::Relaxed);
                }
            })
            .boxed();
        d
    }
}

#[async_trait]
impl ZoomApi for CountingZoom {
    async fn list_archived_meetings(
        &self,
        window: Window,
        date_type: ArchiveDateType,
        page_token: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError> {
        self.inner
            .list_archived_meetings(window, date_type, page_token)
            .await
    }
    async fn get_meeting_archive(&self, uuid: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
        self.inner.get_meeting_archive(uuid).await
    }
    async fn list_phone_recordings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError> {
        self.inner.list_phone_recordings(window, page_token).await
    }
    async fn list_meeting_participants(
        &self,
        uuid: &str,
        page_token: Option<&str>,
    ) -> Result<Page<archiver_core::MeetingParticipant>, ZoomError> {
        self.inner.list_meeting_participants(uuid, page_token).await
    }
    async fn download(&self, url: &str) -> Result<Download, ZoomError> {
        let d = self.inner.download(url).await?;
        Ok(self.count(0, d))
    }
    async fn download_from(&self, url: &str, offset: u64) -> Result<Download, ZoomError> {
        let d = self.inner.download_from(url, offset).await?;
        Ok(self.count(offset, d))
    }
}

struct Run {
    invocations: u32,
    /// Bytes the simulator wrote (includes what sat in socket buffers when a body was dropped).
    bytes_served: u64,
    /// Body bytes the downloader read.
    bytes_read: u64,
    /// (asked offset, served offset) of every download.
    opened: Vec<(u64, u64)>,
    /// Where each invocation paused.
    pauses: Vec<u64>,
    size: u64,
}

/// Polls, then plays invocations (each with a deadline already passed) until the task is done.
async fn archive_in_invocations(name: &str, size: u64, honour_range: bool) -> Option<Run> {
    let endpoint = archiver_testkit::moto_endpoint()?;
    let a = setup(&endpoint, name).await;
    let sim = SimServer::start(one_big_file(size, honour_range))
        .await
        .expect("simulator");
    let t = tenant(&sim);
    let counting = Arc::new(CountingZoom {
        inner: zoom(&t),
        read: Arc::new(AtomicU64::new(0)),
        opened: Mutex::new(Vec::new()),
    });
    let zoom: Arc<dyn ZoomApi> = counting.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ports = a.ports(clock);
    let report = Poller::new(ports.clone(), "test")
        .poll(&t, Source::Meetings, &*zoom, &PollOptions::default())
        .await
        .expect("poll");
    assert!(report.skipped.is_none(), "{report:?}");

    let mut invocations = 0u32;
    let mut pauses = Vec::new();
    let mut served_before = sim.stats().bytes_served;
    loop {
        let deliveries = a
            .queue
            .receive(1, Duration::from_secs(60))
            .await
            .expect("receive");
        let Some(d) = deliveries.into_iter().next() else {
            panic!("the task vanished from the queue after {invocations} invocations");
        };
        invocations += 1;
        assert!(invocations <= 20, "no progress");
        // A fresh worker per invocation, as a new Lambda container would be.
        let downloader = Downloader::new(ports.clone(), DownloadSettings::default());
        match downloader
            .handle_until(&d, &*zoom, Some(Instant::now()))
            .await
        {
            TaskOutcome::Done(what) => {
                assert_eq!(what, "archived");
                a.queue.ack(&d.receipt).await.expect("ack");
                break;
            }
            TaskOutcome::Retry { after, reason } => {
                assert_eq!((after, reason.as_str()), (Duration::ZERO, CONTINUE_REASON));
                let rec = ports
                    .meta
                    .list_files(&FileQuery::default())
                    .await
                    .unwrap()
                    .pop()
                    .unwrap();
                let cp = rec
                    .upload
                    .as_ref()
                    .expect("the checkpoint is on the record");
                assert_eq!(rec.state, FileState::Pending);
                assert_eq!(rec.attempts, 0, "a pause is not a failed attempt");
                assert_eq!(cp.bytes % PART_SIZE as u64, 0);
                assert!(cp.bytes < size);
                let served = sim.stats().bytes_served;
                println!(
                    "invocation {invocations}: paused at {} bytes ({} parts), Zoom served {} bytes",
                    cp.bytes,
                    cp.parts.len(),
                    served - served_before
                );
                served_before = served;
                pauses.push(cp.bytes);
                a.queue.retry_later(&d.receipt, after).await.expect("retry");
            }
            TaskOutcome::DeadLetter { reason } => panic!("dead-lettered: {reason}"),
        }
    }

    let (zsize, zsha) = sim.file_digest("big-file").expect("digest");
    assert_eq!(zsize, size);
    let files = ports.meta.list_files(&FileQuery::default()).await.unwrap();
    assert_eq!(files.len(), 1);
    let rec = &files[0];
    assert!(rec.upload.is_none(), "the checkpoint is cleared");
    assert_eq!(rec.attempts, 1);
    match &rec.state {
        FileState::Archived {
            size: s, sha256, ..
        } => {
            assert_eq!((*s, sha256.as_str()), (size, zsha.as_str()))
        }
        other => panic!("not archived: {other:?}"),
    }
    let head = a.blobs.head(&rec.object_key).await.unwrap().unwrap();
    assert_eq!(
        (head.size, head.sha256.as_deref()),
        (size, Some(zsha.as_str()))
    );
    let mut stream = a.blobs.get(&rec.object_key).await.unwrap();
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        n += c.len() as u64;
        h.update(&c);
    }
    assert_eq!((n, hex::encode(h.finalize())), (size, zsha));
    let open = a
        .blobs
        .client()
        .list_multipart_uploads()
        .bucket(a.blobs.bucket())
        .send()
        .await
        .unwrap()
        .uploads
        .unwrap_or_default();
    assert!(open.is_empty(), "no multipart upload is left open");
    let bytes_served = sim.stats().bytes_served;
    println!("{invocations} invocations; Zoom served {bytes_served} bytes for a {size}-byte file");
    let opened = counting.opened.lock().unwrap().clone();
    Some(Run {
        invocations,
        bytes_served,
        bytes_read: counting.read.load(Ordering::Relaxed),
        opened,
        pauses,
        size,
    })
}

#[tokio::test]
async fn a_large_file_continues_its_upload_across_invocations_with_range() {
    let size = 5 * PART_SIZE as u64 + 123_457;
    let Some(run) = archive_in_invocations("resume1", size, true).await else {
        return;
    };
    assert!(
        run.invocations > 1,
        "one invocation could not have finished"
    );
    // Every invocation after the first asked for, and got, the rest from where the previous
    // one paused.
    let mut expected: Vec<(u64, u64)> = vec![(0, 0)];
    expected.extend(run.pauses.iter().map(|p| (*p, *p)));
    assert_eq!(run.opened, expected);
    // Nothing was read twice: beyond the file, only the chunk each pause looked ahead.
    assert!(
        run.bytes_read >= run.size
            && run.bytes_read < run.size + run.invocations as u64 * 1024 * 1024,
        "read {} bytes for a {}-byte file over {} invocations",
        run.bytes_read,
        run.size,
        run.invocations
    );
    // The simulator counts what it pushed into the socket, which includes what the
    // connection buffered when a paused body was dropped: less than a part per invocation
    // here, and far below downloading the file again each time.
    assert!(
        run.bytes_served < run.size + run.invocations as u64 * PART_SIZE as u64,
        "Zoom served {} bytes for {} over {} invocations",
        run.bytes_served,
        run.size,
        run.invocations
    );
}

#[tokio::test]
async fn a_large_file_continues_its_upload_when_zoom_ignores_range() {
    let size = 2 * PART_SIZE as u64 + 99_991;
    let Some(run) = archive_in_invocations("resume2", size, false).await else {
        return;
    };
    assert!(run.invocations > 1);
    // Asked from the pause point, served from 0: the downloader skipped what was uploaded.
    let mut expected: Vec<(u64, u64)> = vec![(0, 0)];
    expected.extend(run.pauses.iter().map(|p| (*p, 0)));
    assert_eq!(run.opened, expected);
    let prefixes: u64 = run.pauses.iter().sum();
    assert!(run.bytes_read >= run.size + prefixes);
}
