//! `GET /api/v1/peaks/{key}` over memory adapters, through HTTP: 401 without credentials,
//! the media endpoint's grants (404 across them), stored sidecars served as they are,
//! missing ones computed once by the analyser and stored, none without an analyser, no
//! audit entry and no effect on the audited first play; sidecars are not media.

use archiver_core::services::peaks;
use archiver_core::{
    AuditLog, BlobStore, Clock, ContentKind, MediaAnalyser, MediaFacts, MediaRef, MediaState,
    MetaStore, ObjectKey, Peaks, Ports, ReviewRole, ReviewerStore, SystemClock, TenantId,
    peaks_key,
};
use archiver_review::{Review, ReviewConfig, accounts};
use archiver_testkit::fixtures::{cdr, media_bytes, mp3_body, object_key, object_meta, time};
use archiver_testkit::{MemAuditLog, MemBlobStore, MemMetaStore, MemReviewerStore, MemTaskQueue};
use async_trait::async_trait;
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Answers every analysis with the same peaks, counting the calls.
struct Fake {
    calls: AtomicUsize,
    peaks: Peaks,
}

#[async_trait]
impl MediaAnalyser for Fake {
    async fn analyse(
        &self,
        _: Arc<dyn BlobStore>,
        _: &ObjectKey,
        _: ContentKind,
        _: u64,
    ) -> MediaFacts {
        MediaFacts::default()
    }
    async fn analyse_with_peaks(
        &self,
        _: Arc<dyn BlobStore>,
        _: &ObjectKey,
        _: ContentKind,
        _: u64,
    ) -> (MediaFacts, Option<Peaks>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (MediaFacts::default(), Some(self.peaks.clone()))
    }
}

struct Env {
    base: String,
    audit: Arc<MemAuditLog>,
    users: Arc<MemReviewerStore>,
    blobs: Arc<MemBlobStore>,
    fake: Arc<Fake>,
    /// alice's (sidecar stored), bob's (none), carol's of tenant B (sidecar stored).
    keys: Vec<String>,
    stored: Peaks,
    _dir: tempfile::TempDir,
}

fn some_peaks(n: usize, amp: i8) -> Peaks {
    Peaks {
        window_ms: 20,
        sample_rate: 48_000,
        pairs: (0..n)
            .map(|i| (-amp, if i % 2 == 0 { amp } else { 1 }))
            .collect(),
    }
}

async fn env(with_analyser: bool) -> Env {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs = Arc::new(MemBlobStore::new());
    let meta = Arc::new(MemMetaStore::new());
    let audit = Arc::new(MemAuditLog::new());
    let users = Arc::new(MemReviewerStore::new());
    let stored = some_peaks(250, 90);
    let mut keys = Vec::new();
    for (t, email, sidecar) in [
        ("tenant-a", "alice@a.example", true),
        ("tenant-a", "bob@a.example", false),
        ("tenant-b", "carol@b.example", true),
    ] {
        let key = object_key(t, &format!("{}.mp3", email.split('@').next().unwrap()));
        let info = blobs
            .put_stream(
                &key,
                &object_meta(t, email),
                mp3_body(media_bytes(20_000, 3), 4096),
            )
            .await
            .unwrap();
        if sidecar {
            peaks::store(blobs.as_ref(), &key, &object_meta(t, email), &stored)
                .await
                .unwrap();
        }
        let mut c = cdr(
            t,
            &format!("meetings:conv-{email}"),
            time("2026-01-01T10:00:00Z"),
            email,
        );
        c.media = vec![MediaRef {
            file_id: email.into(),
            file_type: "MP3".into(),
            key: key.to_string(),
            size: Some(info.size),
            sha256: info.sha256.clone(),
            state: MediaState::Archived,
            start_time: None,
            end_time: None,
        }];
        meta.insert_cdr(&c).await.unwrap();
        keys.push(key.to_string());
    }
    let ports = Ports {
        blobs: blobs.clone(),
        meta,
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = ReviewConfig::new(
        vec![
            TenantId::new("tenant-a").unwrap(),
            TenantId::new("tenant-b").unwrap(),
        ],
        dir.path().join("exports"),
    );
    let fake = Arc::new(Fake {
        calls: AtomicUsize::new(0),
        peaks: some_peaks(400, 30),
    });
    let mut review = Review::new(
        ports,
        audit.clone() as Arc<dyn AuditLog>,
        users.clone() as Arc<dyn ReviewerStore>,
        cfg,
    );
    if with_analyser {
        review = review.with_analyser(fake.clone());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(archiver_review::serve(
        listener,
        archiver_review::router(review),
    ));
    Env {
        base,
        audit,
        users,
        blobs,
        fake,
        keys,
        stored,
        _dir: dir,
    }
}

fn url(base: &str, what: &str, key: &str, email: Option<&str>) -> String {
    let mut u = format!("{base}/api/v1/{what}/{}", key.replace('%', "%25"));
    if let Some(e) = email {
        u.push_str(&format!("?cdr=meetings:conv-{}", e.replace('@', "%40")));
    }
    u
}

async fn token_for(e: &Env, name: &str, role: ReviewRole) -> String {
    accounts::add_user(e.users.as_ref(), name, role, chrono::Utc::now())
        .await
        .unwrap();
    accounts::issue_token(e.users.as_ref(), name).await.unwrap()
}

async fn get(tok: Option<&str>, u: &str) -> (StatusCode, Vec<u8>) {
    let mut r = reqwest::Client::new().get(u);
    if let Some(t) = tok {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peaks_need_credentials_and_the_media_grants() {
    let e = env(true).await;
    let (alice, bob, carol) = (&e.keys[0], &e.keys[1], &e.keys[2]);
    // No credentials, wrong token: 401.
    let (s, _) = get(None, &url(&e.base, "peaks", alice, None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = get(
        Some("za_wrong"),
        &url(&e.base, "peaks", alice, Some("alice@a.example")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A reviewer granted alice of tenant A only.
    let tok = token_for(&e, "rita", ReviewRole::Reviewer).await;
    accounts::grant(
        e.users.as_ref(),
        "rita",
        TenantId::new("tenant-a").unwrap(),
        Some("alice@a.example".into()),
    )
    .await
    .unwrap();
    let (s, body) = get(
        Some(&tok),
        &url(&e.base, "peaks", alice, Some("alice@a.example")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(Peaks::from_bytes(&body).unwrap(), e.stored);
    for (u, what) in [
        (
            url(&e.base, "peaks", alice, None),
            "by key without a whole-tenant grant",
        ),
        (
            url(&e.base, "peaks", bob, Some("bob@a.example")),
            "a user not granted",
        ),
        (
            url(&e.base, "peaks", bob, Some("alice@a.example")),
            "another CDR's file",
        ),
        (
            url(&e.base, "peaks", carol, Some("carol@b.example")),
            "another tenant",
        ),
        (url(&e.base, "peaks", carol, None), "another tenant by key"),
    ] {
        let (s, _) = get(Some(&tok), &u).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{what}");
    }
    assert_eq!(
        e.fake.calls.load(Ordering::SeqCst),
        0,
        "nothing computed for a refusal"
    );

    // Reading peaks is neither a play nor a download: no audit entry, and the first
    // media request afterwards is still audited as the play.
    let a = TenantId::new("tenant-a").unwrap();
    let before = e.audit.list(&a, 1, 10_000).await.unwrap().len();
    assert_eq!(
        before,
        0,
        "{:?}",
        e.audit.list(&a, 1, 10_000).await.unwrap()
    );
    let r = reqwest::Client::new()
        .get(url(&e.base, "media", alice, Some("alice@a.example")) + "&reason=qa")
        .bearer_auth(&tok)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    let entries = e.audit.list(&a, 1, 10_000).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].draft.result, "ok: play");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_peaks_are_computed_once_and_stored_sidecars_are_not_media() {
    let e = env(true).await;
    let admin = token_for(&e, "ada", ReviewRole::Admin).await;
    let bob = &e.keys[1];
    let key = ObjectKey::parse(bob.clone()).unwrap();
    assert_eq!(peaks::load(e.blobs.as_ref(), &key).await.unwrap(), None);
    for _ in 0..2 {
        let (s, body) = get(Some(&admin), &url(&e.base, "peaks", bob, None)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(Peaks::from_bytes(&body).unwrap(), e.fake.peaks);
    }
    assert_eq!(
        e.fake.calls.load(Ordering::SeqCst),
        1,
        "computed once, then stored"
    );
    assert_eq!(
        peaks::load(e.blobs.as_ref(), &key).await.unwrap().as_ref(),
        Some(&e.fake.peaks)
    );
    // The sidecar itself is not served as media, nor as peaks.
    let sidecar = peaks_key(&key).unwrap().to_string();
    for what in ["media", "peaks"] {
        let (s, _) = get(Some(&admin), &url(&e.base, what, &sidecar, None)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{what} of the sidecar");
    }
    // No such object: 404.
    let (s, _) = get(
        Some(&admin),
        &url(
            &e.base,
            "peaks",
            "tenant-a/meetings/2026/01/01/conv/none.mp3",
            None,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_analyser_only_stored_peaks_are_served() {
    let e = env(false).await;
    let admin = token_for(&e, "ada", ReviewRole::Admin).await;
    let (s, body) = get(Some(&admin), &url(&e.base, "peaks", &e.keys[0], None)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(Peaks::from_bytes(&body).unwrap(), e.stored);
    let (s, _) = get(Some(&admin), &url(&e.base, "peaks", &e.keys[1], None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
