//! `ZoomClient` against the Zoom simulator.

use archiver_core::{ArchiveDateType, RetryHint, Window, ZoomApi, ZoomCredentials, ZoomError};
use archiver_zoom::{PacingConfig, RetryPolicy, ZoomClient, ZoomClientConfig};
use chrono::{Duration as ChronoDuration, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zoom_sim::{RetryAfter, Scenario, SimServer};

async fn sim() -> SimServer {
    sim_with(|_| {}).await
}

async fn sim_with(tweak: impl FnOnce(&mut Scenario)) -> SimServer {
    let mut sc = Scenario::demo(Utc::now());
    tweak(&mut sc);
    SimServer::start(sc).await.expect("simulator starts")
}

fn config(sim: &SimServer) -> ZoomClientConfig {
    let mut cfg = ZoomClientConfig::with_urls(
        sim.api_base_url(),
        sim.oauth_url(),
        ZoomCredentials {
            account_id: "demo-account".into(),
            client_id: "demo-client".into(),
            client_secret: SecretString::from("demo-secret"),
        },
    );
    cfg.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_honoured_retry_after: Duration::from_secs(5),
    };
    cfg
}

fn client(sim: &SimServer) -> ZoomClient {
    ZoomClient::new(config(sim)).expect("client")
}

fn count(sim: &SimServer, endpoint: &str) -> u64 {
    sim.stats().by_endpoint.get(endpoint).copied().unwrap_or(0)
}

fn window() -> Window {
    let now = Utc::now();
    Window {
        from: now - ChronoDuration::days(4),
        to: now,
    }
}

async fn all_archived(
    c: &ZoomClient,
    date_type: ArchiveDateType,
) -> Result<Vec<archiver_core::ArchiveMeeting>, ZoomError> {
    let mut w = window();
    let mut token: Option<String> = None;
    let mut out = Vec::new();
    loop {
        let page = c
            .list_archived_meetings(w, date_type, token.as_deref())
            .await?;
        out.extend(page.items);
        if let Some(to) = page.to {
            w.to = to;
        }
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

async fn sha256_of(d: archiver_core::Download) -> (u64, String) {
    let mut body = d.body;
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("body chunk");
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    (n, hex::encode(h.finalize()))
}

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let sim = sim().await;
    let c = client(&sim);
    for _ in 0..3 {
        c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
            .await
            .unwrap();
        c.list_phone_recordings(window(), None).await.unwrap();
    }
    // Concurrent callers on a fresh clone share the same cached token.
    let calls = (0..8).map(|_| {
        let c = c.clone();
        async move { c.list_phone_recordings(window(), None).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(count(&sim, "POST /oauth/token"), 1);

    // Single flight: concurrent first calls of a new client fetch one token.
    let c2 = client(&sim);
    let calls = (0..8).map(|_| {
        let c = c2.clone();
        async move {
            c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
                .await
        }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(count(&sim, "POST /oauth/token"), 2);
}

#[tokio::test]
async fn revoked_token_is_refreshed_transparently() {
    let sim = sim().await;
    let c = client(&sim);
    c.list_phone_recordings(window(), None).await.unwrap();
    sim.faults().revoke_tokens();
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(count(&sim, "POST /oauth/token"), 2);
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_without_leaking_the_secret() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.credentials.client_secret = SecretString::from("wrong-secret-value");
    let c = ZoomClient::new(cfg).unwrap();
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::Unauthorized(m)) => {
            assert!(m.contains("invalid_client"), "{m}");
            assert!(!m.contains("wrong-secret-value"), "{m}");
        }
        other => panic!(
            "expected Unauthorized, got {:?}",
            other.map(|p| p.items.len())
        ),
    }
    // A wrong account id is refused as well.
    let mut cfg = config(&sim);
    cfg.credentials.account_id = "other-account".into();
    let c = ZoomClient::new(cfg).unwrap();
    assert!(matches!(
        c.get_meeting_archive("x").await,
        Err(ZoomError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn archive_listing_pages_through_the_window() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.page_size = 2;
    let c = ZoomClient::new(cfg).unwrap();
    let w = window();
    let meetings = all_archived(&c, ArchiveDateType::MeetingStartTime)
        .await
        .unwrap();
    let seen: Vec<String> = meetings.iter().map(|m| m.uuid.clone()).collect();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a meeting was listed twice: {seen:?}"
    );
    let expected: BTreeSet<String> = sim.scenario().accounts[0]
        .meetings
        .iter()
        .filter(|m| m.start_time >= w.from && m.start_time <= w.to)
        .map(|m| m.uuid.clone())
        .collect();
    assert_eq!(unique, expected);
    assert!(count(&sim, "GET /archive_files") >= 3, "{:?}", sim.stats());
    assert!(
        meetings
            .iter()
            .any(|m| m.archive_files.iter().any(|f| f.download_url.is_some()))
    );

    // By archive completion: the late archive (completes in an hour) is not there yet.
    let by_complete = all_archived(&c, ArchiveDateType::ArchiveCompleteTime)
        .await
        .unwrap();
    assert!(!by_complete.is_empty() && by_complete.len() < meetings.len());
    assert!(by_complete.iter().all(|m| m.complete_time.is_some()));

    let snapshot = c.rate_limit_snapshot();
    let medium = snapshot.get("Medium").expect("Medium bucket recorded");
    assert!(medium.remaining.is_some(), "{snapshot:?}");
}

#[tokio::test]
async fn phone_listing() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.page_size = 3;
    let c = ZoomClient::new(cfg).unwrap();
    let w = window();
    let mut token = None;
    let mut ids = Vec::new();
    let mut total = None;
    loop {
        let page = c.list_phone_recordings(w, token.as_deref()).await.unwrap();
        total = total.or(page.total_records);
        ids.extend(page.items.iter().map(|r| r.id.clone()));
        assert!(
            page.items
                .iter()
                .all(|r| r.download_url.is_some() && r.call_id.is_some())
        );
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.len() > 3);
    if let Some(t) = total {
        assert_eq!(t as usize, ids.len());
    }
    assert!(
        c.rate_limit_snapshot().contains_key("phone:Medium"),
        "{:?}",
        c.rate_limit_snapshot()
    );
}

#[tokio::test]
async fn meeting_uuids_with_slashes_plus_and_equals() {
    let weird = [
        "ab/cd+ef==",
        "//lead/double",
        "plus+and=equals==",
        "trailing/",
        "plainUuid0123",
    ];
    let sim = sim_with(|sc| {
        // Meeting 3 keeps the demo's own `/Xk2//qQ+Lm9eR3w7Tz4A==`.
        for (i, u) in [0usize, 1, 2, 4, 5].into_iter().zip(weird) {
            sc.accounts[0].meetings[i].uuid = u.to_string();
        }
    })
    .await;
    let c = client(&sim);
    let mut uuids: Vec<String> = weird.iter().map(|s| s.to_string()).collect();
    uuids.push("/Xk2//qQ+Lm9eR3w7Tz4A==".into());
    for u in &uuids {
        let m = c
            .get_meeting_archive(u)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{u} not found"));
        assert_eq!(&m.uuid, u);
        assert!(!m.archive_files.is_empty());
    }
    assert_eq!(
        c.get_meeting_archive("no/such+meeting==").await.unwrap(),
        None
    );
    assert_eq!(c.get_meeting_archive("nosuchmeeting").await.unwrap(), None);
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds_is_retried() {
    let sim = sim().await;
    let c = client(&sim);
    c.list_phone_recordings(window(), None).await.unwrap();
    sim.faults()
        .rate_limit_next("/archive_files", 1, RetryAfter::Seconds(1));
    let started = Instant::now();
    c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(count(&sim, "GET /archive_files"), 2);

    // Without Retry-After, and with a date-time Retry-After: backoff, then success.
    sim.faults()
        .rate_limit_next("/archive_files", 2, RetryAfter::None);
    c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
        .await
        .unwrap();
    sim.faults().rate_limit_next(
        "/phone/recordings",
        1,
        RetryAfter::DateTime(Utc::now() + ChronoDuration::seconds(1)),
    );
    c.list_phone_recordings(window(), None).await.unwrap();
    assert_eq!(count(&sim, "GET /archive_files"), 5);
}

#[tokio::test]
async fn rate_limit_exhausted_or_too_long_is_returned() {
    let sim = sim().await;
    let c = client(&sim);
    sim.faults()
        .rate_limit_next("/archive_files", 10, RetryAfter::None);
    match c
        .list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
        .await
    {
        Err(ZoomError::RateLimited { category, kind, .. }) => {
            assert_eq!(kind, "QPS");
            assert_eq!(category, "Medium");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert_eq!(count(&sim, "GET /archive_files"), 4); // 1 + max_retries
    sim.faults().clear();
    // A Retry-After beyond max_honoured_retry_after is not slept on.
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::Seconds(120));
    let started = Instant::now();
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(RetryHint::Seconds(120)))
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn daily_limit_is_returned_at_once() {
    let sim = sim().await;
    let c = client(&sim);
    c.list_phone_recordings(window(), None).await.unwrap();
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::DailyLimit);
    let started = Instant::now();
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::RateLimited {
            kind,
            retry_after: Some(RetryHint::At(at)),
            ..
        }) => {
            assert_eq!(kind, "Daily-limit");
            let now = Utc::now();
            assert!(at > now && at <= now + ChronoDuration::days(1), "{at}");
            assert_eq!(at.format("%H:%M:%S").to_string(), "00:00:00");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(count(&sim, "GET /phone/recordings"), 2);
    let snap = c.rate_limit_snapshot();
    let info = snap.get("phone:Medium").expect("recorded");
    assert_eq!(info.kind.as_deref(), Some("Daily-limit"));
    assert!(matches!(info.retry_after, Some(RetryHint::At(_))));
}

/// Zoom's `X-RateLimit-*` headers are not confirmed: a 429 without any header whose
/// message says "daily" is a daily limit too (waits for 00:00 UTC, not retried at once).
#[tokio::test]
async fn a_daily_limit_is_known_by_its_message_without_headers() {
    let sim = sim().await;
    let c = client(&sim);
    c.list_phone_recordings(window(), None).await.unwrap();
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::DailyByMessage);
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::RateLimited {
            kind,
            retry_after: Some(RetryHint::At(at)),
            ..
        }) => {
            assert_eq!(kind, "Daily-limit");
            assert_eq!(at.format("%H:%M:%S").to_string(), "00:00:00");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert_eq!(count(&sim, "GET /phone/recordings"), 2, "not retried");
    // A bare 429 (no header, no daily message) is a per-second limit: retried.
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::Bare);
    c.list_phone_recordings(window(), None).await.unwrap();
    assert_eq!(count(&sim, "GET /phone/recordings"), 4);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let sim = sim().await;
    let c = client(&sim);
    sim.faults().fail_next("/archive_files", 2, 503);
    c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
        .await
        .unwrap();
    assert_eq!(count(&sim, "GET /archive_files"), 3);
    sim.faults().fail_next("/phone/recordings", 10, 500);
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::Server { status: 500, .. }) => {}
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    sim.faults().clear();
    // The token endpoint's 5xx are retried too.
    let c2 = client(&sim);
    sim.faults().fail_next("/oauth/token", 1, 502);
    c2.list_phone_recordings(window(), None).await.unwrap();
}

#[tokio::test]
async fn other_client_errors_are_classified() {
    let sim = sim().await;
    let c = client(&sim);
    sim.faults().fail_next("/archive_files", 1, 403);
    assert!(matches!(
        c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
            .await,
        Err(ZoomError::Forbidden(_))
    ));
    sim.faults().fail_next("/phone/recordings", 1, 409);
    assert!(matches!(
        c.list_phone_recordings(window(), None).await,
        Err(ZoomError::BadRequest { .. })
    ));
    // The simulator's own validation: a window longer than 7 days.
    let now = Utc::now();
    let long = Window {
        from: now - ChronoDuration::days(10),
        to: now,
    };
    match c
        .list_archived_meetings(long, ArchiveDateType::MeetingStartTime, None)
        .await
    {
        Err(ZoomError::BadRequest { code: 300, .. }) => {}
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
}

#[tokio::test]
async fn expired_page_token_is_invalid_page_token() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.page_size = 2;
    let c = ZoomClient::new(cfg).unwrap();
    let w = window();
    let first = c
        .list_archived_meetings(w, ArchiveDateType::MeetingStartTime, None)
        .await
        .unwrap();
    let token = first.next_page_token.expect("more than one page");
    sim.faults().expire_page_tokens();
    match c
        .list_archived_meetings(w, ArchiveDateType::MeetingStartTime, Some(&token))
        .await
    {
        Err(ZoomError::InvalidPageToken) => {}
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    let first = c.list_phone_recordings(w, None).await.unwrap();
    let token = first.next_page_token.expect("more than one page");
    sim.faults().expire_page_tokens();
    assert!(matches!(
        c.list_phone_recordings(w, Some(&token)).await,
        Err(ZoomError::InvalidPageToken)
    ));
}

#[tokio::test]
async fn downloads_archive_file_with_matching_digest() {
    let sim = sim().await;
    let c = client(&sim);
    let meetings = all_archived(&c, ArchiveDateType::ArchiveCompleteTime)
        .await
        .unwrap();
    let file = meetings
        .iter()
        .flat_map(|m| m.archive_files.iter())
        .find(|f| {
            f.is_completed() && f.download_url.is_some() && f.file_size.unwrap_or(0) > 100_000
        })
        .expect("a completed archive file");
    let d = c
        .download(file.download_url.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(d.content_length, file.file_size);
    let (n, sha) = sha256_of(d).await;
    let (size, digest) = sim.file_digest(&file.id).unwrap();
    assert_eq!((n, sha.clone()), (size, digest));
    if let Some(fp) = &file.encryption_fingerprint {
        assert_eq!(fp, &sha);
    }
}

#[tokio::test]
async fn downloads_phone_recording_through_redirect_without_leaking_the_token() {
    let sim = sim().await;
    let c = client(&sim);
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    let rec = page
        .items
        .iter()
        .find(|r| r.download_url.is_some())
        .expect("a recording");
    let d = c
        .download(rec.download_url.as_deref().unwrap())
        .await
        .unwrap();
    assert!(d.content_type.is_some());
    let (n, sha) = sha256_of(d).await;
    assert_eq!(sim.file_digest(&rec.id), Some((n, sha)));
    assert_eq!(count(&sim, "GET /file"), 1, "{:?}", sim.stats());
    assert_eq!(
        count(&sim, "GET /file (with Authorization)"),
        0,
        "{:?}",
        sim.stats()
    );

    // A revoked token is refreshed once, transparently.
    sim.faults().revoke_tokens();
    let d = c
        .download(rec.download_url.as_deref().unwrap())
        .await
        .unwrap();
    let (n2, _) = sha256_of(d).await;
    assert_eq!(n2, n);
    assert_eq!(count(&sim, "POST /oauth/token"), 2);
    assert_eq!(count(&sim, "GET /file (with Authorization)"), 0);
}

#[tokio::test]
async fn deleted_files_are_not_found() {
    let sim = sim().await;
    let c = client(&sim);
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    let rec = &page.items[0];
    sim.faults().delete_file(&rec.id);
    assert!(matches!(
        c.download(rec.download_url.as_deref().unwrap()).await,
        Err(ZoomError::NotFound(_))
    ));
    let meetings = all_archived(&c, ArchiveDateType::ArchiveCompleteTime)
        .await
        .unwrap();
    let file = meetings
        .iter()
        .flat_map(|m| m.archive_files.iter())
        .find(|f| f.download_url.is_some())
        .unwrap();
    sim.faults().delete_file(&file.id);
    match c.download(file.download_url.as_deref().unwrap()).await {
        Err(ZoomError::NotFound(m)) => assert!(!m.contains('?'), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("downloaded a deleted file"),
    }
}

#[tokio::test]
async fn download_5xx_is_retried_before_the_body() {
    let sim = sim().await;
    let c = client(&sim);
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    let rec = &page.items[0];
    sim.faults().fail_next("/file", 1, 503);
    sim.faults()
        .fail_next("/v2/phone/recording/download", 1, 500);
    let d = c
        .download(rec.download_url.as_deref().unwrap())
        .await
        .unwrap();
    let (n, sha) = sha256_of(d).await;
    assert_eq!(sim.file_digest(&rec.id), Some((n, sha)));
}

#[tokio::test]
async fn pacing_spaces_calls() {
    let sim = sim().await;
    let c = ZoomClient::with_pacing(
        config(&sim),
        PacingConfig {
            light_per_second: 10,
            medium_per_second: 10,
            heavy_per_second: 10,
            resource_intensive_per_minute: 10,
            phone_light_per_second: 10,
            phone_medium_per_second: 10,
            phone_heavy_per_second: 10,
        },
    )
    .unwrap();
    c.list_phone_recordings(window(), None).await.unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        c.list_phone_recordings(window(), None).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn token_is_refreshed_before_expiry() {
    let sim = sim_with(|sc| sc.options.token_ttl_secs = 2).await;
    let c = client(&sim);
    c.list_phone_recordings(window(), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1900)).await;
    c.list_phone_recordings(window(), None).await.unwrap();
    assert_eq!(count(&sim, "POST /oauth/token"), 2);
    // Refreshed proactively (10% of the ttl before expiry), so no call was refused.
    assert_eq!(count(&sim, "GET /phone/recordings"), 2);
}

#[tokio::test]
async fn persistent_401_is_unauthorized() {
    let sim = sim().await;
    let c = client(&sim);
    sim.faults().fail_next("/archive_files", 2, 401);
    assert!(matches!(
        c.list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
            .await,
        Err(ZoomError::Unauthorized(_))
    ));
    assert_eq!(count(&sim, "POST /oauth/token"), 2);
    assert_eq!(count(&sim, "GET /archive_files"), 2);
}

async fn bytes_of(d: archiver_core::Download) -> Vec<u8> {
    let mut body = d.body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("body chunk"));
    }
    out
}

#[tokio::test]
async fn downloads_from_an_offset_with_range_or_whole_when_range_is_ignored() {
    let sim = sim().await;
    let c = client(&sim);
    let meetings = all_archived(&c, ArchiveDateType::ArchiveCompleteTime)
        .await
        .unwrap();
    let file = meetings
        .iter()
        .flat_map(|m| m.archive_files.iter())
        .find(|f| {
            f.is_completed() && f.download_url.is_some() && f.file_size.unwrap_or(0) > 100_000
        })
        .expect("a completed archive file");
    let url = file.download_url.as_deref().unwrap();
    let whole = bytes_of(c.download(url).await.unwrap()).await;
    let d = c.download_from(url, 70_000).await.unwrap();
    assert_eq!(d.offset, 70_000);
    assert_eq!(d.content_length, Some(whole.len() as u64 - 70_000));
    assert_eq!(bytes_of(d).await, whole[70_000..]);
    // Nothing left at the offset (416): the whole file, from 0.
    let d = c.download_from(url, whole.len() as u64).await.unwrap();
    assert_eq!(d.offset, 0);
    assert_eq!(bytes_of(d).await, whole);

    // A phone recording: the range survives the redirect to the file host.
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    let rec = page
        .items
        .iter()
        .find(|r| r.download_url.is_some())
        .expect("a recording");
    let url = rec.download_url.as_deref().unwrap();
    let whole = bytes_of(c.download(url).await.unwrap()).await;
    let d = c.download_from(url, 1000).await.unwrap();
    assert_eq!(d.offset, 1000);
    assert_eq!(bytes_of(d).await, whole[1000..]);

    // A server that ignores Range serves the whole file: offset 0.
    let sim = sim_with(|sc| sc.options.honour_range = false).await;
    let c = client(&sim);
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    let rec = page
        .items
        .iter()
        .find(|r| r.download_url.is_some())
        .expect("a recording");
    let url = rec.download_url.as_deref().unwrap();
    let d = c.download_from(url, 1000).await.unwrap();
    assert_eq!(d.offset, 0);
    let (n, sha) = sha256_of(d).await;
    assert_eq!(sim.file_digest(&rec.id), Some((n, sha)));
}

/// Every probe of an app with all scopes answers: listings give a page, lookups of the
/// made-up id a 404 (which is the expected answer), in one request each (`page_size=1`).
#[tokio::test]
async fn probes_answer_with_every_scope_granted() {
    use archiver_core::Endpoint;
    let sim = sim().await;
    let c = client(&sim);
    let scopes = c
        .token_scopes()
        .await
        .unwrap()
        .expect("the token lists its scopes");
    assert!(
        scopes
            .iter()
            .any(|s| s == "phone:read:list_call_recordings:admin"),
        "{scopes:?}"
    );
    for e in Endpoint::ALL {
        match c.probe(e, window()).await {
            // Deletes are never called to probe them.
            Err(ZoomError::Refused(_)) => assert!(e.is_write(), "{e}"),
            Ok(()) => assert!(!e.is_lookup(), "{e}: a made-up id was found"),
            Err(ZoomError::NotFound(_)) => assert!(e.is_lookup(), "{e}: a listing 404"),
            Err(other) => panic!("{e}: {other}"),
        }
    }
    assert_eq!(count(&sim, "GET /phone/recordings"), 1);
    assert_eq!(count(&sim, "GET /archive_files"), 1);
    assert_eq!(
        count(&sim, "POST /oauth/token"),
        1,
        "one token for every probe"
    );
}

/// A withheld scope: the token no longer lists it, and the endpoint needing it answers
/// Zoom's 400 / 4711, read into the scopes it names (the user and `:admin` forms).
#[tokio::test]
async fn a_withheld_scope_is_named_by_the_probe_and_absent_from_the_token() {
    use archiver_core::Endpoint;
    let sim = sim().await;
    sim.faults()
        .withhold_scopes(["phone:read:list_call_recordings:admin"]);
    let c = client(&sim);
    let scopes = c.token_scopes().await.unwrap().unwrap();
    assert!(
        !scopes
            .iter()
            .any(|s| s == "phone:read:list_call_recordings:admin"),
        "{scopes:?}"
    );
    match c.probe(Endpoint::PhoneRecordings, window()).await {
        Err(ZoomError::MissingScopes { scopes, message }) => {
            assert_eq!(
                scopes,
                [
                    "phone:read:list_call_recordings",
                    "phone:read:list_call_recordings:admin"
                ]
            );
            assert_eq!(
                message,
                "Invalid access token, does not contain scopes:[phone:read:list_call_recordings, phone:read:list_call_recordings:admin]."
            );
        }
        other => panic!("{other:?}"),
    }
    // The poll itself gets the same typed error.
    assert!(matches!(
        c.list_phone_recordings(window(), None).await,
        Err(ZoomError::MissingScopes { .. })
    ));
    c.probe(Endpoint::ArchiveFiles, window()).await.unwrap();
    sim.faults().disable_archiving();
    match c.probe(Endpoint::ArchiveFiles, window()).await {
        Err(ZoomError::BadRequest { code: 200, message }) => {
            assert_eq!(message, "Not available for this account.")
        }
        other => panic!("{other:?}"),
    }
}

/// The deletes of `delete_at_zoom`: a phone recording's `DELETE` answers 204 and the
/// recording is no longer listed nor served (a second delete: 404, `NotFound`); a meeting's
/// archive `DELETE` removes every file of the meeting from the listings; `PATCH`
/// `auto_delete` tags one file; each counted by the simulator; a withheld scope is named.
#[tokio::test]
async fn deletes_remove_what_they_name_and_are_counted() {
    let sim = sim().await;
    let c = client(&sim);
    let rec = c
        .list_phone_recordings(window(), None)
        .await
        .unwrap()
        .items
        .remove(0);
    let a = c.delete_phone_recording(&rec.id).await.unwrap();
    assert_eq!(a.status, 204);
    match c.delete_phone_recording(&rec.id).await {
        Err(ZoomError::NotFound(m)) => assert!(m.contains("does not exist"), "{m}"),
        other => panic!("{other:?}"),
    }
    let left = c.list_phone_recordings(window(), None).await.unwrap().items;
    assert!(left.iter().all(|r| r.id != rec.id));
    let meetings = all_archived(&c, ArchiveDateType::MeetingStartTime)
        .await
        .unwrap();
    let m = meetings
        .iter()
        .find(|m| m.archive_files.len() >= 2)
        .expect("a meeting with files");
    let other = meetings.iter().find(|o| o.uuid != m.uuid).unwrap();
    let tagged = &other.archive_files[0].id;
    assert_eq!(
        c.set_archive_file_auto_delete(tagged, true)
            .await
            .unwrap()
            .status,
        204
    );
    assert_eq!(c.delete_meeting_archive(&m.uuid).await.unwrap().status, 204);
    assert!(c.get_meeting_archive(&m.uuid).await.unwrap().is_none());
    let listed = all_archived(&c, ArchiveDateType::MeetingStartTime)
        .await
        .unwrap();
    assert!(listed.iter().all(|x| x.uuid != m.uuid));
    let stats = sim.stats();
    assert_eq!(stats.deletes, vec![rec.id.clone(), m.uuid.clone()]);
    assert_eq!(stats.deleted_files.len(), 1 + m.archive_files.len());
    assert_eq!(stats.auto_deleted, vec![tagged.clone()]);
    assert_eq!(count(&sim, "DELETE /phone/recordings/{recordingId}"), 2);
    assert_eq!(
        count(&sim, "DELETE /past_meetings/{meetingUUID}/archive_files"),
        1
    );
    sim.faults()
        .withhold_scopes(["phone:delete:call_recording:admin"]);
    let c = client(&sim);
    match c.delete_phone_recording(&left[0].id).await {
        Err(ZoomError::MissingScopes { scopes, .. }) => {
            assert!(scopes.contains(&"phone:delete:call_recording:admin".to_string()))
        }
        other => panic!("{other:?}"),
    }
}
