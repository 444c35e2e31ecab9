//! The memory reviewer store against the conformance suite.

#[tokio::test]
async fn mem_reviewer_store_conforms() {
    archiver_testkit::conformance::reviewer_store(&archiver_testkit::MemReviewerStore::new()).await;
}
