//! The downloader handler on the fixture SQS batch, with in-memory ports.

use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_core::{
    ArchiveDateType, ArchiveMeeting, Clock, Download, MetaStore, Page, PhoneRecording, Ports,
    QueueError, TaskQueue, Window, ZoomApi, ZoomError,
};
use archiver_lambda::RawDeadLetters;
use archiver_testkit::{ManualClock, MemBlobStore, MemMetaStore, MemTaskQueue, fixtures};
use async_trait::async_trait;
use aws_lambda_events::sqs::SqsEvent;
use downloader::{DownloaderEnv, handle};
use lambda_runtime::{Context, LambdaEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Zoom that answers every download with a 503.
struct UnavailableZoom;

#[async_trait]
impl ZoomApi for UnavailableZoom {
    async fn list_archived_meetings(
        &self,
        _: Window,
        _: ArchiveDateType,
        _: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError> {
        Err(ZoomError::Server {
            status: 503,
            message: "unavailable".into(),
        })
    }
    async fn get_meeting_archive(&self, _: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
        Err(ZoomError::Server {
            status: 503,
            message: "unavailable".into(),
        })
    }
    async fn list_meeting_participants(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Page<archiver_core::MeetingParticipant>, ZoomError> {
        Err(ZoomError::Server {
            status: 503,
            message: "unavailable".into(),
        })
    }
    async fn list_phone_recordings(
        &self,
        _: Window,
        _: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError> {
        Err(ZoomError::Server {
            status: 503,
            message: "unavailable".into(),
        })
    }
    async fn download(&self, _: &str) -> Result<Download, ZoomError> {
        Err(ZoomError::Server {
            status: 503,
            message: "unavailable".into(),
        })
    }
}

#[derive(Default)]
struct RecordingDlq(Mutex<Vec<(String, String, String)>>);

#[async_trait]
impl RawDeadLetters for RecordingDlq {
    async fn dead_letter_raw(
        &self,
        receipt: &str,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.0
            .lock()
            .unwrap()
            .push((receipt.into(), body.into(), reason.into()));
        Ok(())
    }
}

fn fixture() -> SqsEvent {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/events/sqs-batch.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_batch_retries_dead_letters_and_never_fails_a_malformed_record_forever() {
    let clock = Arc::new(ManualClock::new(fixtures::t0()));
    let meta = Arc::new(MemMetaStore::new());
    let queue = Arc::new(MemTaskQueue::new(clock.clone() as Arc<dyn Clock>));
    let mut event = fixture();

    // The queue holds the two tasks of the fixture; the SQS records carry their receipts.
    let tasks: Vec<archiver_core::DownloadTask> = event.records[..2]
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect();
    queue.send_batch(&tasks).await.unwrap();
    let deliveries = queue.receive(10, Duration::from_secs(60)).await.unwrap();
    for r in &mut event.records[..2] {
        let task: archiver_core::DownloadTask =
            serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        r.receipt_handle = Some(
            deliveries
                .iter()
                .find(|d| d.task == task)
                .unwrap()
                .receipt
                .clone(),
        );
    }
    // Only the first file is known to the archive.
    assert!(
        meta.insert_file(&fixtures::file_record("acme", "file-known"))
            .await
            .unwrap()
    );

    let ports = Ports {
        blobs: Arc::new(MemBlobStore::new()),
        meta: meta.clone(),
        queue: queue.clone(),
        clock: clock.clone(),
    };
    let dlq = Arc::new(RecordingDlq::default());
    let env = DownloaderEnv {
        downloader: Downloader::new(ports, DownloadSettings::default()),
        queue: queue.clone(),
        raw_dead_letters: dlq.clone(),
        zoom: Arc::new(UnavailableZoom),
        deadline_margin: downloader::DEFAULT_DEADLINE_MARGIN,
    };
    let resp = handle(&env, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();

    // Zoom 503 → retry: reported as a batch item failure, and delayed on the queue.
    let failed: Vec<&str> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
    // Unknown file → dead-lettered with its reason; malformed record → raw dead letter.
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].task.file_id, "file-unknown");
    let raw = dlq.0.lock().unwrap().clone();
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].0, "AQEBmalformed-3");
    assert!(
        raw[0].2.contains("7b270e59") && raw[0].2.contains("not a download task"),
        "{}",
        raw[0].2
    );
    let counts = queue.counts().await.unwrap();
    assert_eq!(
        (counts.ready, counts.in_flight + counts.delayed, counts.dead),
        (0, 1, 1)
    );
    // The batch response serialises as Lambda expects.
    let json = serde_json::to_value(&resp).unwrap();
    assert_eq!(
        json["batchItemFailures"][0]["itemIdentifier"],
        "059f36b4-87a3-44ab-83d2-661975830a7d"
    );
}
