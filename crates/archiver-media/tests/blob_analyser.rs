//! `BlobAnalyser`: the simulator's media fixtures (`crates/zoom-sim/fixtures`, see its
//! README for the expected figures) stored in a `MemBlobStore` and analysed by reading them
//! back; broken objects give facts with an error naming what was wrong.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use archiver_core::domain::{ContentKind, MediaFacts, ObjectKey, decode_activity};
use archiver_core::ports::{
    BlobError, BlobStore, ByteStream, MediaAnalyser, ObjectInfo, ObjectMeta, VerifiedBody,
};
use archiver_media::BlobAnalyser;
use archiver_testkit::MemBlobStore;
use archiver_testkit::fixtures::{byte_stream, object_key, object_meta, unique_tenant, verified};
use async_trait::async_trait;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../zoom-sim/fixtures")
            .join(name),
    )
    .expect("fixture present")
}

fn close(what: &str, got: Option<f64>, want: f64, tol: f64) {
    let got = got.unwrap_or_else(|| panic!("{what} missing"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} ± {tol}"
    );
}

/// Stores `bytes` under a fresh key (as a document, so the body check lets anything in).
async fn put(store: &dyn BlobStore, name: &str, bytes: Vec<u8>) -> (ObjectKey, u64) {
    let tenant = unique_tenant("ba");
    let key = object_key(&tenant, name);
    let size = bytes.len() as u64;
    store
        .put_stream(
            &key,
            &object_meta(&tenant, name),
            verified(
                byte_stream(bytes, 10_000),
                ContentKind::Document,
                Some(size),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("put {name}: {e}"));
    (key, size)
}

async fn analyse(
    store: Arc<dyn BlobStore>,
    name: &str,
    bytes: Vec<u8>,
    kind: ContentKind,
) -> MediaFacts {
    let (key, size) = put(&*store, name, bytes).await;
    BlobAnalyser::new().analyse(store, &key, kind, size).await
}

/// A store that counts the streams opened (`get` and `get_from`).
struct Counting {
    inner: MemBlobStore,
    opens: AtomicUsize,
}

#[async_trait]
impl BlobStore for Counting {
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError> {
        self.inner.put_stream(key, meta, body).await
    }
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError> {
        self.inner.head(key).await
    }
    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn get_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        self.inner.get_from(key, offset).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError> {
        self.inner.list(prefix).await
    }
}

fn mem() -> Arc<dyn BlobStore> {
    Arc::new(MemBlobStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_mp3_read_back_from_the_store() {
    let f = analyse(
        mem(),
        "call.mp3",
        fixture("phone_tone_silence.mp3"),
        ContentKind::Mp3,
    )
    .await;
    assert_eq!(f.error, None);
    assert_eq!(f.audio_codec.as_deref(), Some("mp3"));
    assert_eq!(f.video_codec, None);
    assert_eq!(f.sample_rate, Some(48_000));
    assert_eq!(f.channels, Some(1));
    close("duration", f.duration_secs, 20.0, 0.1);
    close("longest silence", f.longest_silence_secs, 5.0, 0.3);
    close("silence ratio", f.silence_ratio, 0.25, 0.03);
    let q = f.voice_quality.expect("voice quality");
    assert!((1.0..=5.0).contains(&q), "voice quality {q}");
    close("clipping", f.clipping_ratio, 0.0, 0.0);
    close("rms", f.rms_dbfs, -22.8, 1.0);
    assert_eq!(f.activity, None, "activity is kept for M4A only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_m4a_keeps_its_voice_activity() {
    let f = analyse(
        mem(),
        "alice.m4a",
        fixture("meeting_audio.m4a"),
        ContentKind::M4a,
    )
    .await;
    assert_eq!(f.error, None);
    assert_eq!(f.audio_codec.as_deref(), Some("aac"));
    assert_eq!(f.video_codec, None);
    close("duration", f.duration_secs, 15.0, 0.1);
    close("silence ratio", f.silence_ratio, 0.267, 0.03);
    let activity = decode_activity(f.activity.as_deref().expect("activity for M4A"))
        .expect("activity decodes");
    let windows = f.duration_secs.unwrap() / 0.1;
    assert!(
        (activity.len() as f64 - windows).abs() <= 1.0,
        "{} windows for {windows:.1}",
        activity.len()
    );
    // Alice speaks 0-6 s, is silent 6-10 s (activity shifted ~32 ms by AAC priming).
    assert!(activity[1..59].iter().all(|&a| a));
    assert!(activity[62..99].iter().all(|&a| !a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_mp4_reports_its_video_codec() {
    let f = analyse(
        mem(),
        "video.mp4",
        fixture("meeting_video.mp4"),
        ContentKind::Mp4,
    )
    .await;
    assert_eq!(f.error, None);
    assert_eq!(f.video_codec.as_deref(), Some("h264"));
    assert_eq!(f.audio_codec.as_deref(), Some("aac"));
    close("duration", f.duration_secs, 4.0, 0.1);
    assert_eq!(f.activity, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_mp3_is_reported_truncated() {
    let mut bytes = fixture("phone_tone_silence.mp3");
    bytes.truncate(bytes.len() / 2);
    let f = analyse(mem(), "half.mp3", bytes, ContentKind::Mp3).await;
    let e = f.error.expect("a truncated file gives an error");
    assert!(e.contains("truncated"), "{e}");
    assert_eq!(
        f.audio_codec, None,
        "no partial report for a truncated file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_stored_as_mp3_is_not_media() {
    let page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>".to_vec();
    let f = analyse(mem(), "login.mp3", page, ContentKind::Mp3).await;
    let e = f.error.expect("an HTML page gives an error");
    assert!(e.contains("not media"), "{e}");
    assert!(e.contains("HTML"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_a_read_failure() {
    let key = object_key(unique_tenant("ba"), "gone.mp3");
    let f = BlobAnalyser::new()
        .analyse(mem(), &key, ContentKind::Mp3, 111_164)
        .await;
    let e = f.error.expect("a missing object gives an error");
    assert!(e.contains("could not read the stored object"), "{e}");
    assert!(e.contains("not found"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_not_read() {
    let counting = Arc::new(Counting {
        inner: MemBlobStore::new(),
        opens: AtomicUsize::new(0),
    });
    let key = object_key(unique_tenant("ba"), "chat.txt");
    let f = BlobAnalyser::new()
        .analyse(counting.clone(), &key, ContentKind::Document, 10)
        .await;
    assert_eq!(f, MediaFacts::default());
    assert_eq!(counting.opens.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_opens_only_a_few_streams() {
    for (name, kind) in [
        ("phone_tone_silence.mp3", ContentKind::Mp3),
        ("meeting_audio.m4a", ContentKind::M4a),
        ("meeting_video.mp4", ContentKind::Mp4),
    ] {
        let counting = Arc::new(Counting {
            inner: MemBlobStore::new(),
            opens: AtomicUsize::new(0),
        });
        let f = analyse(counting.clone(), name, fixture(name), kind).await;
        assert_eq!(f.error, None, "{name}");
        let opens = counting.opens.load(Ordering::SeqCst);
        eprintln!("{name}: {opens} streams opened");
        assert!((1..=4).contains(&opens), "{name}: {opens} streams opened");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_over_the_filesystem_store_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn BlobStore> =
        Arc::new(archiver_local::FsBlobStore::new(dir.path()).expect("fs store"));
    let f = analyse(
        store,
        "bob.m4a",
        fixture("meeting_audio_party_b.m4a"),
        ContentKind::M4a,
    )
    .await;
    assert_eq!(f.error, None);
    close("silence ratio", f.silence_ratio, 0.667, 0.03);
    close("longest silence", f.longest_silence_secs, 6.0, 0.15);
    assert!(f.activity.is_some());
}
