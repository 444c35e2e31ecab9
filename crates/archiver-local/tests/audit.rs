//! The SQLite audit log beyond the conformance suite: one chain across connections (as
//! between processes sharing the file), the migration from schema version 3, and the
//! append rate (an ignored test that prints it).

use archiver_core::services::audit::{record, verify_chain};
use archiver_core::{AuditAction, AuditDraft, AuditLog, MetaStore, TenantId};
use archiver_local::{SqliteAuditLog, SqliteMetaStore};
use archiver_testkit::fixtures;
use std::sync::Arc;

fn draft(tenant: &TenantId, actor: &str, n: usize) -> AuditDraft {
    AuditDraft {
        tenant: tenant.clone(),
        at: chrono::Utc::now(),
        actor: actor.into(),
        action: AuditAction::Create,
        objects: vec![format!("{tenant}/meetings/2026/11/20/conv/file-{n}.m4a")],
        reason: Some(format!("sha256={:064x}", n)),
        result: "ok".into(),
    }
}

/// 4 connections to one file, 8 tasks on a multi-threaded runtime each recording 25
/// entries: one gap-free chain of 200 that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_chain_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.db");
    let logs: Vec<Arc<SqliteAuditLog>> = (0..4)
        .map(|_| Arc::new(SqliteAuditLog::open(&path).unwrap()))
        .collect();
    let t = fixtures::tenant("acme");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (log, t) = (logs[i % logs.len()].clone(), t.clone());
            tokio::spawn(async move {
                for n in 0..25 {
                    record(log.as_ref(), draft(&t, &format!("task-{i}"), n))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for log in &logs {
        assert_eq!(log.head(&t).await.unwrap().map(|e| e.seq), Some(200));
        let c = verify_chain(log.as_ref(), &t, None).await.unwrap();
        assert!(c.intact() && c.checked == 200, "{c:?}");
    }
}

#[tokio::test]
async fn a_version_3_database_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.db");
    let meta = SqliteMetaStore::open(&path).unwrap();
    assert!(
        meta.insert_file(&fixtures::file_record("acme", "f1"))
            .await
            .unwrap()
    );
    drop(meta);
    // Make it a version 3 database, as written before the audit table existed.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE audit; PRAGMA user_version = 3;")
            .unwrap();
    }
    let log = SqliteAuditLog::open(&path).unwrap();
    let t = fixtures::tenant("acme");
    let e = record(&log, draft(&t, "me@host", 1)).await.unwrap();
    assert_eq!(e.seq, 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 4, "migrated past version 4: {v}");
    let at: String = c
        .query_row("SELECT at FROM audit WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    assert!(at.ends_with('Z') && at.len() == 30, "fixed-width UTC: {at}");
    let meta = SqliteMetaStore::open(&path).unwrap();
    assert!(
        meta.get_file(&t, archiver_core::Source::Meetings, "f1")
            .await
            .unwrap()
            .is_some()
    );
}

/// The append rate: 10,000 entries through `record` (head read + conditional insert, one
/// transaction each, WAL with `synchronous = NORMAL`), then the walk of the whole chain.
/// `cargo test --release -p archiver-local --test audit -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement; prints the rates"]
async fn append_rate_of_10k_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteAuditLog::open(dir.path().join("archive.db")).unwrap();
    let t = fixtures::tenant("acme");
    let n = 10_000;
    let started = std::time::Instant::now();
    for i in 0..n {
        record(&log, draft(&t, "bench@host", i)).await.unwrap();
    }
    let append = started.elapsed();
    let started = std::time::Instant::now();
    let c = verify_chain(&log, &t, None).await.unwrap();
    let walk = started.elapsed();
    assert!(c.intact() && c.checked == n as u64, "{c:?}");
    println!(
        "appended {n} entries in {:.2} s: {:.0}/s; verified the chain in {:.2} s: {:.0}/s",
        append.as_secs_f64(),
        n as f64 / append.as_secs_f64(),
        walk.as_secs_f64(),
        n as f64 / walk.as_secs_f64()
    );
}
