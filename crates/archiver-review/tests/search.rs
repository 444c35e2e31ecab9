//! Search through HTTP (issue 17): topic, free text over transcripts, paging and sorting
//! done by the store, grants pushed into the query, and a 400 naming `q` on a store
//! without a text index.

use archiver_core::{
    AuditLog, Clock, MetaStore, Ports, ReviewRole, ReviewerStore, Source, SystemClock, TenantId,
    TextDoc,
};
use archiver_review::{Review, ReviewConfig, accounts};
use archiver_testkit::faults::{FaultPlan, FaultyMetaStore};
use archiver_testkit::fixtures::{cdr, time};
use archiver_testkit::{MemAuditLog, MemBlobStore, MemMetaStore, MemReviewerStore, MemTaskQueue};
use reqwest::StatusCode;
use std::sync::Arc;

struct Env {
    base: String,
    users: Arc<MemReviewerStore>,
    _dir: tempfile::TempDir,
}

/// tenant-a: alice in two meetings ("Quarterly Planning" with a transcript, "Weekly"),
/// bob on a phone call; tenant-b: carol in a meeting whose transcript has the same word.
async fn env(with_text: bool) -> Env {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mem = Arc::new(MemMetaStore::new());
    let rows = [
        (
            "tenant-a",
            "m1",
            "alice@a.example",
            "2026-01-01T10:00:00Z",
            "Quarterly Planning",
        ),
        (
            "tenant-a",
            "m2",
            "alice@a.example",
            "2026-01-02T10:00:00Z",
            "Weekly",
        ),
        (
            "tenant-a",
            "p1",
            "bob@a.example",
            "2026-01-03T10:00:00Z",
            "",
        ),
        (
            "tenant-b",
            "m3",
            "carol@b.example",
            "2026-01-04T10:00:00Z",
            "Quarterly",
        ),
    ];
    for (t, conv, email, at, topic) in rows {
        let mut c = cdr(t, &format!("{conv}:{email}"), time(at), email);
        c.conversation_id = conv.into();
        c.platform_call_id = conv.into();
        if topic.is_empty() {
            c.source = Source::Phone;
            c.source_platform = Source::Phone.platform().into();
            c.to_info = "Switchboard".into();
        } else {
            c.to_info = topic.into();
        }
        mem.insert_cdr(&c).await.unwrap();
    }
    for (t, conv, text) in [
        (
            "tenant-a",
            "m1",
            "Alice: we agreed on the albatross protocol",
        ),
        ("tenant-b", "m3", "Carol: albatross again"),
    ] {
        mem.index_text(&TextDoc {
            tenant: TenantId::new(t).unwrap(),
            source: Source::Meetings,
            conversation_id: conv.into(),
            file_id: format!("{conv}-transcript"),
            text: text.into(),
        })
        .await
        .unwrap();
    }
    let meta: Arc<dyn MetaStore> = if with_text {
        mem
    } else {
        // A store with only the port's defaults: no text index (as DynamoDB).
        Arc::new(FaultyMetaStore::new(mem, FaultPlan::new()))
    };
    let ports = Ports {
        blobs: Arc::new(MemBlobStore::new()),
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
    let users = Arc::new(MemReviewerStore::new());
    let review = Review::new(
        ports,
        Arc::new(MemAuditLog::new()) as Arc<dyn AuditLog>,
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
        users,
        _dir: dir,
    }
}

async fn token_for(e: &Env, name: &str, role: ReviewRole) -> String {
    accounts::add_user(e.users.as_ref(), name, role, chrono::Utc::now())
        .await
        .unwrap();
    accounts::issue_token(e.users.as_ref(), name).await.unwrap()
}

async fn get(e: &Env, tok: &str, query: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/cdrs", e.base))
        .bearer_auth(tok)
        .query(query)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["cdrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cdr_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_only_in_a_transcript_finds_its_conversation_for_those_who_may_see_it() {
    let e = env(true).await;
    let admin = token_for(&e, "ada", ReviewRole::Admin).await;
    let (s, r) = get(&e, &admin, &[("q", "Albatross"), ("tenant", "tenant-a")]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(ids(&r), ["m1:alice@a.example"], "{r}");
    assert_eq!(r["total"], 1);
    // Both tenants for an admin; newest first by default.
    let (_, r) = get(&e, &admin, &[("q", "albatross")]).await;
    assert_eq!(ids(&r), ["m3:carol@b.example", "m1:alice@a.example"]);
    // Words combine with AND, and part of a word is no word.
    let (_, r) = get(&e, &admin, &[("q", "albatross protocol")]).await;
    assert_eq!(r["total"], 1);
    let (_, r) = get(&e, &admin, &[("q", "albatro")]).await;
    assert_eq!(r["total"], 0);
    // Topic: a substring, any case; phone calls have none.
    let (_, r) = get(&e, &admin, &[("topic", "QUARTER")]).await;
    assert_eq!(ids(&r), ["m3:carol@b.example", "m1:alice@a.example"]);
    let (_, r) = get(&e, &admin, &[("topic", "board")]).await;
    assert_eq!(r["total"], 0);
    // A reviewer granted bob only: the transcript's conversation is not counted.
    let rita = token_for(&e, "rita", ReviewRole::Reviewer).await;
    accounts::grant(
        e.users.as_ref(),
        "rita",
        TenantId::new("tenant-a").unwrap(),
        Some("bob@a.example".into()),
    )
    .await
    .unwrap();
    let (_, r) = get(&e, &rita, &[("q", "albatross")]).await;
    assert_eq!(r["total"], 0, "{r}");
    let (_, r) = get(&e, &rita, &[]).await;
    assert_eq!(ids(&r), ["p1:bob@a.example"]);
    assert_eq!(r["total"], 1);
    // No word at all: 400 naming q.
    let (s, r) = get(&e, &admin, &[("q", "--")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(r["error"].as_str().unwrap().starts_with("q="), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_sorting_come_from_the_store() {
    let e = env(true).await;
    let admin = token_for(&e, "ada", ReviewRole::Admin).await;
    let mut seen = Vec::new();
    for page in ["1", "2", "3", "4", "5"] {
        let (_, r) = get(
            &e,
            &admin,
            &[
                ("per_page", "1"),
                ("page", page),
                ("sort", "start_time"),
                ("order", "asc"),
            ],
        )
        .await;
        assert_eq!(r["total"], 4);
        seen.extend(ids(&r));
    }
    assert_eq!(
        seen,
        [
            "m1:alice@a.example",
            "m2:alice@a.example",
            "p1:bob@a.example",
            "m3:carol@b.example"
        ]
    );
    let (_, r) = get(
        &e,
        &admin,
        &[("sort", "source"), ("order", "asc"), ("per_page", "2")],
    )
    .await;
    assert_eq!(ids(&r), ["m1:alice@a.example", "m2:alice@a.example"]);
    let (_, r) = get(
        &e,
        &admin,
        &[("sort", "source"), ("order", "desc"), ("per_page", "1")],
    )
    .await;
    assert_eq!(ids(&r), ["p1:bob@a.example"]);
    let (s, _) = get(&e, &admin, &[("sort", "colour")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_on_a_store_without_a_text_index_is_a_400_naming_q() {
    let e = env(false).await;
    let admin = token_for(&e, "ada", ReviewRole::Admin).await;
    let (s, r) = get(&e, &admin, &[("q", "albatross")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let msg = r["error"].as_str().unwrap();
    assert!(
        msg.starts_with("q=\"albatross\"") && msg.contains("not available"),
        "{msg}"
    );
    // The other filters still work there, topic included (filtered in memory).
    let (s, r) = get(&e, &admin, &[("topic", "weekly")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&r), ["m2:alice@a.example"]);
}
