//! The SQLite quota ledger beyond the conformance suite: atomicity across connections (as
//! between processes sharing the file) and the schema migration from version 2.

use archiver_core::{MetaStore, QuotaLedger};
use archiver_local::{SqliteMetaStore, SqliteQuotaLedger};
use archiver_testkit::fixtures;
use chrono::NaiveDate;
use std::sync::Arc;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

/// 4 connections to one file, 8 tasks each doing 25 `try_add`s of 1 with a limit of 300
/// (800 attempts): exactly 300 succeed, each returning a distinct value.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn try_add_is_atomic_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.db");
    let ledgers: Vec<Arc<SqliteQuotaLedger>> = (0..4)
        .map(|_| Arc::new(SqliteQuotaLedger::open(&path).unwrap()))
        .collect();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let l = ledgers[i % ledgers.len()].clone();
            tokio::spawn(async move {
                let mut won = Vec::new();
                for _ in 0..25 {
                    if let Some(v) = l
                        .try_add("acc", "Heavy", day(), 1, Some(300))
                        .await
                        .unwrap()
                    {
                        won.push(v);
                    }
                }
                won
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        won.extend(t.await.unwrap());
    }
    won.sort_unstable();
    assert_eq!(won, (1..=300).collect::<Vec<u64>>());
    for l in &ledgers {
        assert_eq!(l.get("acc", "Heavy", day()).await.unwrap(), 300);
    }
}

#[tokio::test]
async fn a_version_2_database_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.db");
    let meta = SqliteMetaStore::open(&path).unwrap();
    assert!(
        meta.insert_file(&fixtures::file_record("acme", "f1"))
            .await
            .unwrap()
    );
    drop(meta);
    // Make it a version 2 database, as written before the quota table existed.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE quota; DROP TABLE IF EXISTS audit; PRAGMA user_version = 2;")
            .unwrap();
    }
    let ledger = SqliteQuotaLedger::open(&path).unwrap();
    assert_eq!(
        ledger
            .try_add("acc", "Heavy", day(), 2, Some(5))
            .await
            .unwrap(),
        Some(2)
    );
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 3, "migrated past version 3: {v}");
    let meta = SqliteMetaStore::open(&path).unwrap();
    assert!(
        meta.get_file(
            &fixtures::tenant("acme"),
            archiver_core::Source::Meetings,
            "f1"
        )
        .await
        .unwrap()
        .is_some()
    );
}

#[tokio::test]
async fn counters_beyond_i64_are_capped_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let l = SqliteQuotaLedger::open(dir.path().join("archive.db")).unwrap();
    let max = i64::MAX as u64;
    assert_eq!(l.raise_to("acc", "k", day(), u64::MAX).await.unwrap(), max);
    assert_eq!(l.try_add("acc", "k", day(), 1, None).await.unwrap(), None);
    assert_eq!(
        l.try_add("acc", "k", day(), 0, None).await.unwrap(),
        Some(max)
    );
    assert_eq!(
        l.try_add("acc", "n", day(), u64::MAX, None).await.unwrap(),
        None
    );
    assert_eq!(
        l.try_add("acc", "n", day(), max, Some(u64::MAX))
            .await
            .unwrap(),
        Some(max)
    );
    assert_eq!(l.get("acc", "n", day()).await.unwrap(), max);
}
