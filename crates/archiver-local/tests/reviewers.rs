//! The SQLite reviewer store against the conformance suite, beside the archive's own tables.

#[tokio::test]
async fn sqlite_reviewer_store_conforms_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    let _meta = archiver_local::SqliteMetaStore::open(&db).unwrap();
    let store = archiver_local::SqliteReviewerStore::open(&db).unwrap();
    archiver_testkit::conformance::reviewer_store(&store).await;
    let n = {
        use archiver_core::ReviewerStore;
        store.list().await.unwrap().len()
    };
    let again = archiver_local::SqliteReviewerStore::open(&db).unwrap();
    use archiver_core::ReviewerStore;
    assert_eq!(
        again.list().await.unwrap().len(),
        n,
        "accounts survive reopening"
    );
}
