//! Local-backend behaviour beyond the port contracts: durability, crash leftovers,
//! concurrency, path safety.

use archiver_core::{
    BlobError, BlobStore, Clock, FileState, MetaError, MetaStore, Source, TaskQueue,
};
use archiver_local::{FsBlobStore, SqliteMetaStore, SqliteTaskQueue};
use archiver_testkit::{ManualClock, fixtures};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn failed_body_leaves_no_file_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    let key = fixtures::object_key("acme", "a.mp3");
    let meta = fixtures::object_meta("acme", "a");
    let e = store
        .put_stream(
            &key,
            &meta,
            fixtures::failing_body(fixtures::media_bytes(300_000, 1)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::Body { .. }), "{e}");
    let e = store
        .put_stream(&key, &meta, fixtures::html_body())
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::Body { .. }), "{e}");
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
    assert!(!store.path_of(&key).unwrap().exists());
}

#[tokio::test]
async fn already_exists_keeps_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    let key = fixtures::object_key("acme", "a.mp3");
    let meta = fixtures::object_meta("acme", "a");
    let first = fixtures::media_bytes(5000, 1);
    let info = store
        .put_stream(&key, &meta, fixtures::mp3_body(first.clone(), 1000))
        .await
        .unwrap();
    let e = store
        .put_stream(
            &key,
            &meta,
            fixtures::mp3_body(fixtures::media_bytes(9000, 2), 1000),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::AlreadyExists(_)), "{e}");
    assert_eq!(std::fs::read(store.path_of(&key).unwrap()).unwrap(), first);
    let head = store.head(&key).await.unwrap().unwrap();
    assert_eq!(head.size, 5000);
    // The digest comes back from the extended attribute where the filesystem has them.
    if let Some(sha) = head.sha256 {
        assert_eq!(Some(sha), info.sha256);
    } else {
        eprintln!("note: no user xattrs on this filesystem; head gives no digest");
    }
    assert_eq!(files_under(&store.root().join(".tmp")).len(), 0);
}

#[tokio::test]
async fn concurrent_puts_to_one_key_commit_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let key = fixtures::object_key("acme", "race.mp3");
    let mut handles = Vec::new();
    for i in 0..4u64 {
        let (store, key) = (store.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            let data = fixtures::media_bytes(200_000, i);
            let r = store
                .put_stream(
                    &key,
                    &fixtures::object_meta("acme", "r"),
                    fixtures::mp3_body(data.clone(), 8192),
                )
                .await;
            (r, data)
        }));
    }
    let mut winners = Vec::new();
    for h in handles {
        let (r, data) = h.await.unwrap();
        match r {
            Ok(_) => winners.push(data),
            Err(BlobError::AlreadyExists(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let mut s = store.get(&key).await.unwrap();
    let mut got = Vec::new();
    while let Some(c) = s.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert_eq!(got, winners[0]);
}

#[tokio::test]
async fn keys_cannot_reach_outside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.mp3"), b"ID3 outside").unwrap();
    let store = FsBlobStore::new(dir.path().join("root")).unwrap();
    // The temp directory is not addressable as an object.
    let tmp_key = archiver_core::ObjectKey::parse(".tmp/x.mp3").unwrap();
    assert!(store.head(&tmp_key).await.is_err());
    let e = store
        .put_stream(
            &tmp_key,
            &fixtures::object_meta("acme", "x"),
            fixtures::mp3_body(fixtures::media_bytes(100, 1), 10),
        )
        .await;
    assert!(e.is_err());
    // A symlinked directory pointing outside is refused, not followed.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), dir.path().join("root/evil")).unwrap();
        let key = archiver_core::ObjectKey::parse("evil/secret.mp3").unwrap();
        assert!(
            store.get(&key).await.is_err(),
            "reading through a symlink out of the root must fail"
        );
        assert!(store.head(&key).await.is_err());
        let key2 = archiver_core::ObjectKey::parse("evil/new.mp3").unwrap();
        let r = store
            .put_stream(
                &key2,
                &fixtures::object_meta("acme", "x"),
                fixtures::mp3_body(fixtures::media_bytes(100, 1), 10),
            )
            .await;
        assert!(
            r.is_err(),
            "writing through a symlink out of the root must fail"
        );
        assert!(!outside.path().join("new.mp3").exists());
        assert!(store.list("evil/").await.unwrap_or_default().is_empty());
        assert!(store.list("").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn stale_temp_files_are_cleaned_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join(".tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let old = tmp.join("old.part");
    let fresh = tmp.join("fresh.part");
    std::fs::write(&old, b"x").unwrap();
    std::fs::write(&fresh, b"x").unwrap();
    let f = std::fs::File::options().write(true).open(&old).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3 * 24 * 3600))
        .unwrap();
    drop(f);
    let _store = FsBlobStore::new(dir.path()).unwrap();
    assert!(!old.exists());
    assert!(
        fresh.exists(),
        "a recent temp file may belong to a running writer"
    );
}

#[tokio::test]
async fn queue_and_records_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let clock = Arc::new(ManualClock::new(fixtures::t0()));
    let tasks: Vec<_> = (0..4)
        .map(|i| fixtures::task("acme", &format!("f{i}")))
        .collect();
    let (inflight, dead);
    {
        let meta = SqliteMetaStore::open(&db).unwrap();
        let q = SqliteTaskQueue::open(&db, clock.clone()).unwrap();
        let mut rec = fixtures::file_record("acme", "f1");
        assert!(meta.insert_file(&rec).await.unwrap());
        rec.version = 1;
        rec.state = FileState::Gone {
            reason: "deleted".into(),
            at: fixtures::at(5),
        };
        meta.update_file(&rec).await.unwrap();
        assert!(
            meta.insert_cdr(&fixtures::cdr(
                "acme",
                "c1",
                fixtures::at(0),
                "a@example.com"
            ))
            .await
            .unwrap()
        );
        meta.put_cursor(&fixtures::cursor("acme", Source::Phone, fixtures::at(77)))
            .await
            .unwrap();
        assert!(
            meta.try_lease("poller", "me", fixtures::at(600), fixtures::at(0))
                .await
                .unwrap()
        );
        q.send_batch(&tasks).await.unwrap();
        let ds = q.receive(2, Duration::from_secs(60)).await.unwrap();
        inflight = ds[0].clone();
        dead = ds[1].clone();
        q.dead_letter(&dead, "gone").await.unwrap();
    }
    let meta = SqliteMetaStore::open(&db).unwrap();
    let q = SqliteTaskQueue::open(&db, clock.clone()).unwrap();
    let rec = meta
        .get_file(&fixtures::tenant("acme"), Source::Meetings, "f1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.version, 2);
    assert_eq!(rec.state.name(), "gone");
    assert!(
        meta.get_cdr(&fixtures::tenant("acme"), "c1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        meta.get_cursor(&fixtures::tenant("acme"), Source::Phone)
            .await
            .unwrap()
            .unwrap()
            .high,
        fixtures::at(77)
    );
    assert!(
        !meta
            .try_lease("poller", "other", fixtures::at(600), fixtures::at(10))
            .await
            .unwrap(),
        "leases persist"
    );
    let c = q.counts().await.unwrap();
    assert_eq!((c.ready, c.in_flight, c.delayed, c.dead), (2, 1, 0, 1));
    assert_eq!(q.dead_letters(10).await.unwrap()[0].task, dead.task);
    // The receipt of the in-flight delivery is still valid after a restart.
    q.ack(&inflight.receipt).await.unwrap();
    clock.advance(Duration::from_secs(120));
    let rest = q.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert!(
        rest.iter()
            .all(|d| d.task != inflight.task && d.task != dead.task)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_updates_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let a = Arc::new(SqliteMetaStore::open(&db).unwrap());
    let b = Arc::new(SqliteMetaStore::open(&db).unwrap());
    for round in 0..20 {
        let id = format!("f{round}");
        assert!(
            a.insert_file(&fixtures::file_record("acme", &id))
                .await
                .unwrap()
        );
        let rec = a
            .get_file(&fixtures::tenant("acme"), Source::Meetings, &id)
            .await
            .unwrap()
            .unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut handles = Vec::new();
        for (i, store) in [a.clone(), b.clone()].into_iter().enumerate() {
            let (barrier, mut rec) = (barrier.clone(), rec.clone());
            handles.push(tokio::spawn(async move {
                rec.attempts = i as u32 + 10;
                barrier.wait().await;
                store.update_file(&rec).await
            }));
        }
        let mut wins = 0;
        let mut winner_attempts = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(r) => {
                    wins += 1;
                    winner_attempts = r.attempts;
                    assert_eq!(r.version, 2);
                }
                Err(MetaError::Conflict(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(wins, 1, "exactly one CAS update wins");
        let stored = b
            .get_file(&fixtures::tenant("acme"), Source::Meetings, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.attempts, winner_attempts);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_never_share_a_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(fixtures::t0()));
    let q1 = Arc::new(SqliteTaskQueue::open(&db, clock.clone()).unwrap());
    let q2 = Arc::new(SqliteTaskQueue::open(&db, clock.clone()).unwrap());
    let tasks: Vec<_> = (0..200)
        .map(|i| fixtures::task("acme", &format!("f{i}")))
        .collect();
    q1.send_batch(&tasks).await.unwrap();
    let mut handles = Vec::new();
    for q in [q1.clone(), q2.clone()] {
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let ds = q.receive(7, Duration::from_secs(600)).await.unwrap();
                if ds.is_empty() {
                    break;
                }
                for d in ds {
                    q.ack(&d.receipt).await.unwrap();
                    got.push(d.task.task_id);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, 200);
    assert_eq!(all.len(), 200);
    assert!(q2.counts().await.unwrap().is_drained());
}

#[tokio::test]
async fn cdr_queries_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let _store = SqliteMetaStore::open(&db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for (sql, index) in [
        (
            "SELECT body FROM cdrs WHERE tenant = 'a' AND start_time >= 'x' ORDER BY start_time, cdr_id, tenant",
            "cdrs_by_time",
        ),
        (
            "SELECT body FROM cdrs WHERE (user_email = 'a' OR user_extension = 'a') AND start_time >= 'x'",
            "cdrs_by_email",
        ),
        (
            "SELECT body FROM cdrs WHERE platform_call_id = 'p'",
            "cdrs_by_call",
        ),
        (
            "SELECT body FROM files WHERE tenant = 'a' AND state = 'pending' ORDER BY first_seen, file_id",
            "files_by",
        ),
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join(" | ");
        assert!(plan.contains(index), "{sql}: {plan}");
        assert!(
            !plan.contains("SCAN cdrs") && !plan.contains("SCAN files"),
            "{sql}: {plan}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_put_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    let key = fixtures::object_key("acme", "slow.mp3");
    let first = futures::stream::iter(vec![Ok(bytes::Bytes::from(fixtures::media_bytes(
        100_000, 1,
    )))]);
    let stalled = first.chain(futures::stream::pending()).boxed();
    let body = fixtures::verified(stalled, archiver_core::ContentKind::Mp3, None);
    let meta = fixtures::object_meta("acme", "s");
    let put = store.put_stream(&key, &meta, body);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), put)
            .await
            .is_err(),
        "the put must still be waiting"
    );
    let tmp = store.root().join(".tmp");
    for _ in 0..100 {
        if std::fs::read_dir(&tmp).unwrap().count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the writer removes its file when the put is dropped"
    );
    assert!(store.head(&key).await.unwrap().is_none());
}
