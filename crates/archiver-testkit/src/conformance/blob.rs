use crate::fixtures::{
    self, failing_body, html_body, media_bytes, mp3_body, object_key, object_meta, sha256_hex,
};
use archiver_core::{BlobError, BlobStore, BodyRejected, ByteStream, ObjectKey};
use futures::StreamExt;
use sha2::{Digest, Sha256};

async fn read_all(store: &dyn BlobStore, key: &ObjectKey) -> Vec<u8> {
    let mut s: ByteStream = store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"));
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap_or_else(|e| panic!("reading {key}: {e}")));
    }
    out
}

async fn keys(store: &dyn BlobStore, prefix: &str) -> Vec<String> {
    store
        .list(prefix)
        .await
        .unwrap_or_else(|e| panic!("list {prefix}: {e}"))
        .into_iter()
        .map(|i| i.key.as_str().to_string())
        .collect()
}

/// Asserts the [`BlobStore`] contract: create-only atomic puts with size and SHA-256,
/// `AlreadyExists` leaving the first content, failing and refused bodies leaving nothing,
/// identical bytes on `get`, exact suffixes on `get_from` (at 0, inside, at and past the
/// end; `NotFound` for a missing key), sorted prefix listing, and a 20 MiB streamed round
/// trip (see [`blob_store_large_body`]).
pub async fn blob_store(store: &dyn BlobStore) {
    let tenant = fixtures::unique_tenant("cb");
    let meta = object_meta(&tenant, "f1");

    // Missing objects.
    let missing = object_key(&tenant, "missing.mp3");
    assert!(
        store
            .head(&missing)
            .await
            .expect("head of a missing key")
            .is_none(),
        "head of a missing key must be None"
    );
    match store.get(&missing).await {
        Err(BlobError::NotFound(k)) => assert_eq!(k, missing),
        Err(e) => panic!("get of a missing key must be NotFound, got {e}"),
        Ok(_) => panic!("get of a missing key must be NotFound, got a stream"),
    }
    assert!(
        keys(store, &format!("{tenant}/")).await.is_empty(),
        "a fresh tenant prefix must list nothing"
    );

    // A simple put: summary size and digest, head, get.
    let a = object_key(&tenant, "a.mp3");
    let data = media_bytes(10_000, 1);
    let info = store
        .put_stream(&a, &meta, mp3_body(data.clone(), 999))
        .await
        .expect("put_stream of a new key");
    assert_eq!(info.key, a);
    assert_eq!(
        info.size,
        data.len() as u64,
        "put_stream must report the body size"
    );
    assert_eq!(
        info.sha256.as_deref(),
        Some(sha256_hex(&data).as_str()),
        "put_stream must report the body's SHA-256"
    );
    let head = store
        .head(&a)
        .await
        .expect("head")
        .expect("head of a stored object must be Some");
    assert_eq!(head.key, a);
    assert_eq!(head.size, data.len() as u64);
    if let Some(sha) = &head.sha256 {
        assert_eq!(
            sha,
            &sha256_hex(&data),
            "head's SHA-256, when given, must be the body's"
        );
    }
    assert_eq!(
        read_all(store, &a).await,
        data,
        "get must return the stored bytes"
    );

    // Create-only: the second put fails and changes nothing.
    let other = media_bytes(5_000, 2);
    match store.put_stream(&a, &meta, mp3_body(other, 1000)).await {
        Err(BlobError::AlreadyExists(k)) => assert_eq!(k, a),
        Err(e) => panic!("second put_stream must be AlreadyExists, got {e}"),
        Ok(_) => panic!("second put_stream to the same key must fail with AlreadyExists"),
    }
    assert_eq!(
        read_all(store, &a).await,
        data,
        "AlreadyExists must leave the first content"
    );
    assert_eq!(
        store.head(&a).await.unwrap().unwrap().size,
        data.len() as u64
    );

    // A body that fails midway leaves nothing.
    let broken = object_key(&tenant, "broken/b.mp3");
    match store
        .put_stream(&broken, &meta, failing_body(media_bytes(4096, 3)))
        .await
    {
        Err(e @ BlobError::Body { .. }) => assert!(e.is_retryable()),
        Err(e) => panic!("a failing body must give BlobError::Body, got {e}"),
        Ok(_) => panic!("a failing body must not be committed"),
    }
    assert!(
        store.head(&broken).await.unwrap().is_none(),
        "a failed body must leave no object"
    );
    assert!(
        keys(store, &format!("{tenant}/meetings/2026/01/01/conv/broken"))
            .await
            .is_empty(),
        "a failed body must list nothing"
    );

    // A body refused by VerifiedBody (HTML where MP3 is expected) leaves nothing.
    let html = object_key(&tenant, "html.mp3");
    match store.put_stream(&html, &meta, html_body()).await {
        Err(BlobError::Body { key, source }) => {
            assert_eq!(key, html);
            assert!(
                matches!(
                    BodyRejected::from_io(&source),
                    Some(BodyRejected::Html { .. })
                ),
                "the Body error must carry the BodyRejected::Html cause, got {source}"
            );
        }
        Err(e) => panic!("an HTML body must give BlobError::Body, got {e}"),
        Ok(_) => panic!("an HTML body must not be committed"),
    }
    assert!(
        store.head(&html).await.unwrap().is_none(),
        "a refused body must leave no object"
    );

    // A size mismatch is refused at the end and leaves nothing.
    let short = object_key(&tenant, "short.mp3");
    let s = fixtures::byte_stream(media_bytes(1000, 4), 100);
    let r = store
        .put_stream(
            &short,
            &meta,
            fixtures::verified(s, archiver_core::ContentKind::Mp3, Some(2000)),
        )
        .await;
    assert!(
        matches!(r, Err(BlobError::Body { .. })),
        "a short body must give BlobError::Body"
    );
    assert!(
        store.head(&short).await.unwrap().is_none(),
        "a short body must leave no object"
    );

    // Listing: by prefix, sorted by key, including prefixes that end inside a segment.
    for name in [
        "list/c.mp3",
        "list/a.mp3",
        "list/b/z.mp3",
        "list/b.mp3",
        "listx.mp3",
    ] {
        let k = object_key(&tenant, name);
        let bytes = media_bytes(100 + name.len(), 5);
        store
            .put_stream(&k, &meta, mp3_body(bytes, 7))
            .await
            .unwrap_or_else(|e| panic!("put {k}: {e}"));
    }
    let base = format!("{tenant}/meetings/2026/01/01/conv/");
    assert_eq!(
        keys(store, &format!("{base}list/")).await,
        ["list/a.mp3", "list/b.mp3", "list/b/z.mp3", "list/c.mp3"]
            .map(|n| format!("{base}{n}"))
            .to_vec(),
        "list must return the keys under the prefix, sorted"
    );
    assert_eq!(
        keys(store, &format!("{base}list")).await,
        [
            "list/a.mp3",
            "list/b.mp3",
            "list/b/z.mp3",
            "list/c.mp3",
            "listx.mp3"
        ]
        .map(|n| format!("{base}{n}"))
        .to_vec(),
        "a prefix ending inside a segment must match"
    );
    assert_eq!(keys(store, &format!("{base}list/b")).await.len(), 2);
    let all = store.list(&format!("{tenant}/")).await.unwrap();
    assert_eq!(
        all.len(),
        6,
        "the tenant prefix must list every stored object: {all:?}"
    );
    let sorted = {
        let mut v = all.clone();
        v.sort_by(|x, y| x.key.cmp(&y.key));
        v
    };
    assert_eq!(all, sorted, "list must be sorted by key");
    let a_info = all.iter().find(|i| i.key == a).expect("a listed");
    assert_eq!(a_info.size, data.len() as u64, "list must report sizes");
    let other_tenant = fixtures::unique_tenant("cb");
    assert!(keys(store, &format!("{other_tenant}/")).await.is_empty());

    blob_store_get_from(store).await;
    blob_store_large_body(store, 20 * 1024 * 1024, 64 * 1024).await;
}

/// Retention and legal holds (stores that enforce them: the filesystem, memory, S3 with
/// Object Lock): a delete is refused while an object is retained or held, and for an
/// object written without a retention; once the retention has passed and no hold remains
/// it is deleted for good.
pub async fn blob_store_protection(store: &dyn BlobStore) {
    use chrono::{Duration, Utc};
    let tenant = fixtures::unique_tenant("cp");
    let now = Utc::now();
    let put = |name: &'static str, until: Option<chrono::DateTime<Utc>>| {
        let tenant = tenant.clone();
        async move {
            let key = object_key(&tenant, name);
            let mut meta = object_meta(&tenant, name);
            meta.retain_until = until;
            store
                .put_stream(&key, &meta, mp3_body(media_bytes(5_000, 3), 1000))
                .await
                .unwrap_or_else(|e| panic!("put {name}: {e}"));
            key
        }
    };
    let forever = put("kept.mp3", None).await;
    let retained = put("retained.mp3", Some(now + Duration::days(30))).await;
    let expired = put("expired.mp3", Some(now + Duration::seconds(2))).await;
    let protected = |r: Result<(), BlobError>, what: &str| match r {
        Err(BlobError::Protected { .. }) => {}
        other => panic!("{what}: expected Protected, got {other:?}"),
    };
    protected(store.delete(&forever, now).await, "no retention recorded");
    protected(store.delete(&retained, now).await, "retained for 30 days");
    let p = store.protection(&retained).await.expect("protection");
    let until = p.retain_until.expect("the retain-until date is kept");
    assert!(
        (until - (now + Duration::days(30))).num_seconds().abs() <= 1,
        "{until}"
    );
    assert!(!p.legal_hold);
    // Held: refused even past its retention (real time passes: S3 Object Lock keeps its
    // own clock).
    store.set_legal_hold(&expired, true).await.expect("hold");
    assert!(store.protection(&expired).await.unwrap().legal_hold);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let later = Utc::now();
    protected(store.delete(&expired, later).await, "held");
    store
        .set_legal_hold(&expired, false)
        .await
        .expect("release");
    store
        .delete(&expired, later)
        .await
        .expect("past retention, no hold: deleted");
    assert!(
        store.head(&expired).await.unwrap().is_none(),
        "deleted for good"
    );
    match store.delete(&expired, later).await {
        Err(BlobError::NotFound(_)) => {}
        other => panic!("deleting a deleted object: expected NotFound, got {other:?}"),
    }
    assert!(store.head(&retained).await.unwrap().is_some());
}

/// All bytes of `get_from(key, offset)`.
async fn read_from(store: &dyn BlobStore, key: &ObjectKey, offset: u64) -> Vec<u8> {
    let mut s: ByteStream = store
        .get_from(key, offset)
        .await
        .unwrap_or_else(|e| panic!("get_from {key} at {offset}: {e}"));
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(
            &chunk.unwrap_or_else(|e| panic!("reading {key} from {offset}: {e}")),
        );
    }
    out
}

/// `get_from` returns exactly the suffix of the object from the offset (empty at or past
/// its end), across the store's chunk boundaries, and `NotFound` for a missing key.
async fn blob_store_get_from(store: &dyn BlobStore) {
    let tenant = fixtures::unique_tenant("cb");
    let key = object_key(&tenant, "ranged.mp3");
    let data = media_bytes(200_003, 11);
    let len = data.len() as u64;
    store
        .put_stream(
            &key,
            &object_meta(&tenant, "ranged"),
            mp3_body(data.clone(), 7001),
        )
        .await
        .expect("put of the ranged object");
    // 65_535 and 131_073 straddle 64 KiB chunk boundaries.
    for offset in [0, 1, 65_535, 100_000, 131_073, len - 1, len, len + 10] {
        let got = read_from(store, &key, offset).await;
        let want = &data[(offset.min(len) as usize)..];
        assert_eq!(
            got.len(),
            want.len(),
            "get_from at {offset} of a {len}-byte object must return {} bytes",
            want.len()
        );
        assert!(
            got == want,
            "get_from at {offset} must return the object's bytes from that offset"
        );
    }
    // `get_slice`: exactly `len` bytes from the offset, fewer at the end.
    for (offset, n) in [(0, 10), (65_530, 70_000), (len - 5, 10), (len, 4), (7, 0)] {
        let mut s = store
            .get_slice(&key, offset, n)
            .await
            .unwrap_or_else(|e| panic!("get_slice {offset}+{n}: {e}"));
        let mut got = Vec::new();
        while let Some(chunk) = s.next().await {
            got.extend_from_slice(&chunk.expect("slice chunk"));
        }
        let from = offset.min(len) as usize;
        let to = (offset + n).min(len) as usize;
        assert!(
            got == data[from..to],
            "get_slice({offset}, {n}) of a {len}-byte object must return bytes {from}..{to}, got {} bytes",
            got.len()
        );
    }
    let missing = object_key(&tenant, "ranged-missing.mp3");
    for offset in [0, 10] {
        match store.get_from(&missing, offset).await {
            Err(BlobError::NotFound(k)) => assert_eq!(k, missing),
            Err(e) => panic!("get_from of a missing key must be NotFound, got {e}"),
            Ok(_) => panic!("get_from of a missing key must be NotFound, got a stream"),
        }
    }
}

/// Streams a `total`-byte body in `chunk`-byte chunks through `put_stream` and `get` and
/// checks size and SHA-256 on both ways (neither side holds the whole body).
pub async fn blob_store_large_body(store: &dyn BlobStore, total: u64, chunk: usize) {
    let tenant = fixtures::unique_tenant("cb");
    let key = object_key(&tenant, "large.mp3");
    let (body, sha) = fixtures::large_body(total, chunk, 42);
    let info = store
        .put_stream(&key, &object_meta(&tenant, "large"), body)
        .await
        .expect("put of a large body");
    assert_eq!(info.size, total);
    assert_eq!(info.sha256.as_deref(), Some(sha.as_str()));
    let head = store
        .head(&key)
        .await
        .unwrap()
        .expect("large object stored");
    assert_eq!(head.size, total);
    let mut s = store.get(&key).await.expect("get large");
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    while let Some(c) = s.next().await {
        let c = c.expect("read large");
        n += c.len() as u64;
        hasher.update(&c);
    }
    assert_eq!(n, total, "get must return every byte");
    assert_eq!(
        hex::encode(hasher.finalize()),
        sha,
        "get must return identical bytes"
    );
}
