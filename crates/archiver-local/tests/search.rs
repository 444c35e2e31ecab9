//! The SQLite search index: built from the stored CDRs when a schema-4 database is opened,
//! kept in step by deletes.

use archiver_core::{CdrSearch, MetaStore, SearchScope, Source, TextDoc};
use archiver_local::SqliteMetaStore;
use archiver_testkit::fixtures::{at, cdr, unique_tenant};

fn search(t: &archiver_core::TenantId) -> CdrSearch {
    CdrSearch {
        scope: vec![SearchScope::tenant(t.clone())],
        limit: 100,
        ..CdrSearch::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_4_archive_gets_its_search_index_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.db");
    let t = unique_tenant("migrate");
    {
        let store = SqliteMetaStore::open(&path).unwrap();
        let mut a = cdr(&t, "a", at(0), "ann@example.com");
        a.to_info = "Quarterly Review".into();
        let mut b = cdr(&t, "b", at(60), "bob@example.com");
        b.source = Source::Phone;
        b.from = "+1 415 555 0100".into();
        store.insert_cdrs(&[a, b]).await.unwrap();
    }
    // Back to schema 4: what an archive written before the search index looks like.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TRIGGER cdrs_unindex; DROP TRIGGER cdr_index_cleanup;
             DROP TABLE cdr_index; DROP TABLE cdr_numbers; DROP TABLE cdr_topics;
             DROP TABLE cdr_texts; DROP TABLE cdr_text_fts; PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let store = SqliteMetaStore::open(&path).unwrap();
    let all = store.search_cdrs(&search(&t)).await.unwrap();
    assert_eq!(all.total, 2, "every stored CDR is in the rebuilt index");
    let topic = store
        .search_cdrs(&CdrSearch {
            topic: Some("quarterly".into()),
            ..search(&t)
        })
        .await
        .unwrap();
    assert_eq!(
        topic
            .cdrs
            .iter()
            .map(|c| c.cdr_id.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
    let mut q = search(&t);
    q.query.number = Some("+14155550100".into());
    let number = store.search_cdrs(&q).await.unwrap();
    assert_eq!(
        number
            .cdrs
            .iter()
            .map(|c| c.cdr_id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    // Reopening does not index twice.
    drop(store);
    let store = SqliteMetaStore::open(&path).unwrap();
    assert_eq!(store.search_cdrs(&search(&t)).await.unwrap().total, 2);
    // Text of a conversation is found; a word it does not have is not.
    store
        .index_text(&TextDoc {
            tenant: t.clone(),
            source: Source::Meetings,
            conversation_id: "conv-a".into(),
            file_id: "t1".into(),
            text: "the albatross clause".into(),
        })
        .await
        .unwrap();
    let hit = store
        .search_cdrs(&CdrSearch {
            text: Some("Albatross".into()),
            ..search(&t)
        })
        .await
        .unwrap();
    assert_eq!(
        hit.cdrs
            .iter()
            .map(|c| c.cdr_id.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
    let miss = store
        .search_cdrs(&CdrSearch {
            text: Some("pelican".into()),
            ..search(&t)
        })
        .await
        .unwrap();
    assert_eq!(miss.total, 0);
}
