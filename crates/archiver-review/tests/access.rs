//! The review server over memory adapters, through HTTP: credentials on every path,
//! tenant and user grants (404 across them), Range and ETag on media, searches, plays
//! and exports in the audit trail, the login limiter, CSRF.

use archiver_core::{
    AuditLog, BlobStore, Clock, MediaRef, MediaState, MetaStore, Ports, ReviewRole, ReviewerStore,
    SystemClock, TenantId,
};
use archiver_review::{Review, ReviewConfig, accounts};
use archiver_testkit::fixtures::{
    cdr, media_bytes, mp3_body, object_key, object_meta, sha256_hex, time,
};
use archiver_testkit::{MemAuditLog, MemBlobStore, MemMetaStore, MemReviewerStore, MemTaskQueue};
use reqwest::StatusCode;
use std::sync::Arc;

struct Env {
    base: String,
    audit: Arc<MemAuditLog>,
    users: Arc<MemReviewerStore>,
    media: Vec<u8>,
    key_a: String,
    key_b: String,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs = Arc::new(MemBlobStore::new());
    let meta = Arc::new(MemMetaStore::new());
    let audit = Arc::new(MemAuditLog::new());
    let users = Arc::new(MemReviewerStore::new());
    let media = media_bytes(50_000, 7);
    let mut keys = Vec::new();
    for (t, email) in [
        ("tenant-a", "alice@a.example"),
        ("tenant-a", "bob@a.example"),
        ("tenant-b", "carol@b.example"),
    ] {
        let key = object_key(t, &format!("{}.mp3", email.split('@').next().unwrap()));
        let info = blobs
            .put_stream(&key, &object_meta(t, email), mp3_body(media.clone(), 4096))
            .await
            .unwrap();
        let mut c = cdr(
            t,
            &format!("meetings:conv/1+=:{email}"),
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
        blobs,
        meta,
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ReviewConfig::new(
        vec![
            TenantId::new("tenant-a").unwrap(),
            TenantId::new("tenant-b").unwrap(),
        ],
        dir.path().join("exports"),
    );
    cfg.login_failures = 3;
    let review = Review::new(
        ports,
        audit.clone() as Arc<dyn AuditLog>,
        users.clone() as Arc<dyn ReviewerStore>,
        cfg,
    );
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
        media,
        key_a: keys[0].clone(),
        key_b: keys[2].clone(),
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn media_url(base: &str, key: &str) -> String {
    format!("{base}/api/v1/media/{}", key.replace('%', "%25"))
}

async fn token_for(e: &Env, name: &str, role: ReviewRole) -> String {
    accounts::add_user(e.users.as_ref(), name, role, chrono::Utc::now())
        .await
        .unwrap();
    accounts::issue_token(e.users.as_ref(), name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_every_api_path_is_401_and_pages_redirect() {
    let e = env().await;
    let c = client();
    for path in [
        "/api/v1/cdrs".to_string(),
        "/api/v1/cdrs/x".into(),
        "/api/v1/exports".into(),
        "/api/v1/exports/x".into(),
        "/api/v1/nothing".into(),
        media_url("", &e.key_a),
    ] {
        let r = c.get(format!("{}{path}", e.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth("za_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong token");
    for path in ["/search", "/conversation?cdr=x", "/exports", "/"] {
        let r = c.get(format!("{}{path}", e.base)).send().await.unwrap();
        assert!(r.status().is_redirection(), "{path}: {}", r.status());
    }
    let r = c.get(format!("{}/search", e.base)).send().await.unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    for path in ["/login", "/static/app.css", "/static/app.js"] {
        let r = c.get(format!("{}{path}", e.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = c
        .post(format!("{}/api/v1/exports", e.base))
        .json(&serde_json::json!({"cdrs": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_sees_only_what_is_granted_and_every_access_is_audited() {
    let e = env().await;
    let c = client();
    let tok = token_for(&e, "rita", ReviewRole::Reviewer).await;
    let a = TenantId::new("tenant-a").unwrap();
    let b = TenantId::new("tenant-b").unwrap();
    accounts::grant(
        e.users.as_ref(),
        "rita",
        a.clone(),
        Some("alice@a.example".into()),
    )
    .await
    .unwrap();

    let r: serde_json::Value = c
        .get(format!("{}/api/v1/cdrs", e.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 1, "only alice of tenant A: {r}");
    let id_b = "meetings:conv/1+=:carol@b.example";
    let id_bob = "meetings:conv/1+=:bob@a.example";
    for (t, id) in [("tenant-b", id_b), ("tenant-a", id_bob)] {
        let url = format!(
            "{}/api/v1/cdrs/{}?tenant={t}",
            e.base,
            id.replace('/', "%2F")
                .replace('+', "%2B")
                .replace('=', "%3D")
        );
        let r = c.get(url).bearer_auth(&tok).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
    }
    // Media of tenant B: 404, with or without a CDR; tenant A by key alone needs a whole-tenant grant.
    let r = c
        .get(media_url(&e.base, &e.key_b))
        .bearer_auth(&tok)
        .query(&[("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .get(media_url(&e.base, &e.key_b))
        .bearer_auth(&tok)
        .query(&[("reason", "x"), ("cdr", id_b)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth(&tok)
        .query(&[("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a user-level grant goes through the CDR"
    );

    // Through alice's CDR: the reason is required, then Range works.
    let alice = "meetings:conv/1+=:alice@a.example";
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth(&tok)
        .query(&[("cdr", alice)])
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no reason");
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth(&tok)
        .query(&[("cdr", alice), ("reason", "case 42")])
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 100-199/{}", e.media.len())
    );
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    assert_eq!(r.headers()["etag"], format!("\"{}\"", sha256_hex(&e.media)));
    assert_eq!(r.bytes().await.unwrap().as_ref(), &e.media[100..200]);
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth(&tok)
        .query(&[("cdr", alice)])
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::PARTIAL_CONTENT,
        "later requests need no reason"
    );
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        &e.media[e.media.len() - 10..]
    );
    let r = c
        .get(media_url(&e.base, &e.key_a))
        .bearer_auth(&tok)
        .query(&[("cdr", alice)])
        .header("range", "bytes=999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let entries = e.audit.list(&a, 1, 1000).await.unwrap();
    let plays: Vec<_> = entries
        .iter()
        .filter(|x| x.draft.objects.contains(&e.key_a))
        .collect();
    assert_eq!(plays.len(), 1, "one play per session and file: {plays:?}");
    assert_eq!(plays[0].draft.actor, "review:rita");
    assert_eq!(plays[0].draft.reason.as_deref(), Some("case 42"));
    assert_eq!(plays[0].draft.result, "ok: play");
    assert!(
        entries.iter().any(|x| x
            .draft
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("search:"))),
        "the search is audited"
    );
    assert!(
        e.audit.list(&b, 1, 1000).await.unwrap().is_empty(),
        "nothing of tenant B was shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_bundle_holds_the_media_cdrs_and_manifests_and_is_audited() {
    let e = env().await;
    let c = client();
    let tok = token_for(&e, "ada", ReviewRole::Admin).await;
    let r: serde_json::Value = c
        .get(format!(
            "{}/api/v1/cdrs?tenant=tenant-a&sort=user&order=asc",
            e.base
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 2);
    let refs: Vec<_> = r["cdrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| serde_json::json!({"tenant": x["tenant"], "cdr_id": x["cdr_id"]}))
        .collect();
    let r = c
        .post(format!("{}/api/v1/exports", e.base))
        .bearer_auth(&tok)
        .json(&serde_json::json!({"cdrs": refs}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a reason is required");
    let r = c
        .post(format!("{}/api/v1/exports", e.base))
        .bearer_auth(&tok)
        .json(&serde_json::json!({"cdrs": refs, "reason": "subpoena 7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut job = serde_json::Value::Null;
    for _ in 0..100 {
        job = c
            .get(format!("{}/api/v1/exports/{id}", e.base))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["started_by"], "ada");
    let zip = c
        .get(format!("{}/api/v1/exports/{id}/download", e.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut f = z
            .by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the bundle"));
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut v).unwrap();
        v
    };
    let sums = String::from_utf8(read("MANIFEST.sha256")).unwrap();
    let mut checked = 0;
    for line in sums.lines() {
        let (sha, path) = line.split_once("  ").unwrap();
        assert_eq!(sha256_hex(&read(path)), sha, "{path}");
        checked += 1;
    }
    assert_eq!(
        checked,
        2 + 2 + 1 + 1,
        "2 media, 2 CDRs, index.html, manifest.json"
    );
    let manifest: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let media: Vec<_> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"].is_string())
        .collect();
    assert_eq!(media.len(), 2);
    assert!(
        media
            .iter()
            .all(|f| f["sha256"] == sha256_hex(&e.media) && f["size"] == e.media.len())
    );
    assert_eq!(manifest["reason"], "subpoena 7");
    assert!(
        String::from_utf8(read("index.html"))
            .unwrap()
            .contains("<audio")
    );
    let a = TenantId::new("tenant-a").unwrap();
    let entries = e.audit.list(&a, 1, 1000).await.unwrap();
    let ex: Vec<_> = entries
        .iter()
        .filter(|x| x.draft.action == archiver_core::AuditAction::Export)
        .collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].draft.reason.as_deref(), Some("subpoena 7"));
    assert!(ex[0].draft.objects.contains(&e.key_a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_needs_the_csrf_cookie_is_rate_limited_and_forces_a_new_password() {
    let e = env().await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let otp = accounts::add_user(
        e.users.as_ref(),
        "lee",
        ReviewRole::Admin,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // No CSRF cookie: refused.
    let r = c
        .post(format!("{}/login", e.base))
        .form(&[
            ("username", "lee"),
            ("password", otp.as_str()),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let login = |user: &'static str, pw: String| {
        let c = c.clone();
        let base = e.base.clone();
        async move {
            let r = c.get(format!("{base}/login")).send().await.unwrap();
            let cookie = r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            let token = cookie.split_once('=').unwrap().1.to_string();
            c.post(format!("{base}/login"))
                .header("cookie", cookie)
                .form(&[
                    ("username", user),
                    ("password", pw.as_str()),
                    ("csrf", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = login("lee", otp.clone()).await;
    assert!(r.status().is_redirection());
    assert_eq!(
        r.headers()["location"],
        "/password",
        "the one-time password must be changed"
    );
    let set: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set.iter().find(|c| c.starts_with("za_session=")).unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let sid = session.split(';').next().unwrap().to_string();
    let r = c
        .get(format!("{}/search", e.base))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/password");
    for _ in 0..3 {
        assert_eq!(
            login("lee", "wrong".into()).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login("lee", otp).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "limited after 3 failures"
    );
}
