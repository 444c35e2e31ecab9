//! Write/read throughput of the filesystem store (ignored by default; run with
//! `cargo test --profile bench-fast -p archiver-local --test throughput -- --ignored --nocapture`,
//! size in MiB from `ZA_THROUGHPUT_MIB`, default 1024).

use archiver_core::{BlobStore, BodyExpectations, ContentKind, VerifiedBody};
use archiver_local::FsBlobStore;
use archiver_testkit::fixtures;
use bytes::Bytes;
use futures::StreamExt;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn fs_blob_store_throughput() {
    let mib: u64 = std::env::var("ZA_THROUGHPUT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    const CHUNK: usize = 64 * 1024;
    let total = mib * 1024 * 1024;
    let block = Bytes::from(fixtures::media_bytes(CHUNK, 9));
    let n = total / CHUNK as u64;
    let stream = futures::stream::iter(0..n)
        .map(move |_| Ok(block.clone()))
        .boxed();
    let body = VerifiedBody::new(
        stream,
        BodyExpectations {
            kind: ContentKind::Mp3,
            size: Some(total),
        },
    );
    let dir =
        tempfile::tempdir_in(std::env::var("ZA_THROUGHPUT_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    let key = fixtures::object_key("acme", "big.mp3");
    let t = Instant::now();
    let info = store
        .put_stream(&key, &fixtures::object_meta("acme", "big"), body)
        .await
        .unwrap();
    let w = t.elapsed();
    assert_eq!(info.size, total);
    let t = Instant::now();
    let mut s = store.get(&key).await.unwrap();
    let mut read = 0u64;
    while let Some(c) = s.next().await {
        read += c.unwrap().len() as u64;
    }
    let r = t.elapsed();
    assert_eq!(read, total);
    let mb = total as f64 / 1e6;
    println!(
        "put_stream {mib} MiB: {:.2}s = {:.0} MB/s (incl. SHA-256 and fsync)",
        w.as_secs_f64(),
        mb / w.as_secs_f64()
    );
    println!(
        "get        {mib} MiB: {:.2}s = {:.0} MB/s (page cache likely warm)",
        r.as_secs_f64(),
        mb / r.as_secs_f64()
    );
}
