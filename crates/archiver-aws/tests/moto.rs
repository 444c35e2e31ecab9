//! Adapter tests against `moto_server` (endpoint in env `MOTO`). Without `MOTO` each test
//! prints "skipped: MOTO not set" and passes, unless `ZA_REQUIRE_MOTO=1`.
//!
//! Every test creates its own bucket, table and queues (unique suffix), so the tests run
//! in parallel against one moto.

use archiver_aws::{
    AwsAdapters, AwsSettings, MAX_PARTS_IN_FLIGHT, PART_SIZE, connect, init_resources,
    table_definition,
};
use archiver_core::{
    BlobError, BlobStore, BodyExpectations, Cdr, CdrQuery, ContentKind, Cursor, DownloadTask,
    FileQuery, FileRecord, FileState, MetaError, MetaStore, ObjectKey, ObjectMeta, SecretError,
    SecretSource, Source, SystemClock, TaskQueue, TenantId, VerifiedBody,
};
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io;
use std::sync::Arc;
use std::time::Duration;

fn settings(endpoint: &str, name: &str) -> AwsSettings {
    let suffix = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
    let base = format!("za-{name}-{suffix}");
    AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.into()),
        bucket: base.clone(),
        table: base.clone(),
        queue_name: base,
        dlq_name: None,
        kms_key_id: None,
        key_prefix: Some("archive/".into()),
        object_lock: None,
        manifest_key_id: None,
    }
}

async fn setup(name: &str) -> Option<(AwsSettings, AwsAdapters)> {
    let endpoint = archiver_testkit::moto_endpoint()?;
    let s = settings(&endpoint, name);
    let report = init_resources(&s).await.expect("init_resources");
    assert_eq!(report.created.len(), 4, "{report:?}");
    let a = connect(&s, Arc::new(SystemClock)).await.expect("connect");
    Some((s, a))
}

fn tenant(t: &str) -> TenantId {
    TenantId::new(t).unwrap()
}

fn key(s: &str) -> ObjectKey {
    ObjectKey::parse(s.to_string()).unwrap()
}

fn meta() -> ObjectMeta {
    ObjectMeta {
        tenant: tenant("acme"),
        source: Source::Meetings,
        conversation_id: "a/b+c==".into(),
        file_id: "f1".into(),
        content_type: Some("audio/mp4".into()),
        retain_until: None,
    }
}

/// A body of `len` bytes in 1 MiB chunks (deterministic content); fails after `fail_after` bytes.
fn body(len: usize, fail_after: Option<usize>) -> (VerifiedBody, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<Result<Bytes, io::Error>> = data
        .chunks(1024 * 1024)
        .scan(0usize, |sent, c| {
            *sent += c.len();
            if fail_after.is_some_and(|f| *sent > f) {
                Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "peer reset",
                )))
            } else {
                Some(Ok(Bytes::copy_from_slice(c)))
            }
        })
        .collect();
    let stream = futures::stream::iter(chunks).boxed();
    (
        VerifiedBody::new(
            stream,
            BodyExpectations {
                kind: ContentKind::Document,
                size: None,
            },
        ),
        data,
    )
}

async fn read_all(a: &AwsAdapters, k: &ObjectKey) -> Vec<u8> {
    let mut s = a.blobs.get(k).await.unwrap();
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

#[tokio::test]
async fn blob_single_put_is_create_only_and_keeps_its_sha256() {
    let Some((_s, a)) = setup("blob1").await else {
        return;
    };
    let k = key("acme/meetings/2026/11/20/x/f1.m4a");
    let (b, data) = body(3 * 1024 * 1024 + 17, None);
    let info = a.blobs.put_stream(&k, &meta(), b).await.unwrap();
    let sha = hex::encode(Sha256::digest(&data));
    assert_eq!(
        (info.size, info.sha256.as_deref()),
        (data.len() as u64, Some(sha.as_str()))
    );
    let head = a.blobs.head(&k).await.unwrap().unwrap();
    assert_eq!(head, info);
    assert_eq!(read_all(&a, &k).await, data);
    // Create-only.
    let (b2, _) = body(10, None);
    assert!(matches!(
        a.blobs.put_stream(&k, &meta(), b2).await,
        Err(BlobError::AlreadyExists(_))
    ));
    assert_eq!(read_all(&a, &k).await.len(), data.len());
    // Listing is relative to the key prefix and sorted.
    let k0 = key("acme/meetings/2026/11/19/x/f0.m4a");
    a.blobs
        .put_stream(&k0, &meta(), body(5, None).0)
        .await
        .unwrap();
    let list = a.blobs.list("acme/").await.unwrap();
    assert_eq!(
        list.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        [k0.as_str(), k.as_str()]
    );
    assert!(a.blobs.head(&key("acme/none")).await.unwrap().is_none());
    assert!(matches!(
        a.blobs.get(&key("acme/none")).await,
        Err(BlobError::NotFound(_))
    ));
    // Metadata and encryption are set on the object.
    let raw = a
        .blobs
        .client()
        .head_object()
        .bucket(a.blobs.bucket())
        .key(a.blobs.s3_key(&k))
        .send()
        .await
        .unwrap();
    let m = raw.metadata.unwrap();
    assert_eq!(m.get("tenant").map(String::as_str), Some("acme"));
    assert_eq!(
        m.get("conversation-id").map(String::as_str),
        Some("a/b+c==")
    );
    assert_eq!(
        raw.server_side_encryption
            .map(|s| s.as_str().to_string())
            .as_deref(),
        Some("AES256")
    );
}

#[tokio::test]
async fn blob_multipart_round_trips_20_mib_with_its_sha256() {
    let Some((_s, a)) = setup("blob2").await else {
        return;
    };
    let k = key("acme/meetings/2026/11/20/x/big.mp4");
    let (b, data) = body(20 * 1024 * 1024, None);
    assert!(data.len() > 2 * PART_SIZE && MAX_PARTS_IN_FLIGHT == 4);
    let info = a.blobs.put_stream(&k, &meta(), b).await.unwrap();
    let sha = hex::encode(Sha256::digest(&data));
    assert_eq!(info.sha256.as_deref(), Some(sha.as_str()));
    let head = a.blobs.head(&k).await.unwrap().unwrap();
    assert_eq!(
        (head.size, head.sha256.as_deref()),
        (data.len() as u64, Some(sha.as_str()))
    );
    let back = read_all(&a, &k).await;
    assert!(back == data, "content differs");
    let (b2, _) = body(9 * 1024 * 1024, None);
    assert!(matches!(
        a.blobs.put_stream(&k, &meta(), b2).await,
        Err(BlobError::AlreadyExists(_))
    ));
}

#[tokio::test]
async fn blob_body_error_midway_leaves_no_object_and_no_upload() {
    let Some((_s, a)) = setup("blob3").await else {
        return;
    };
    let k = key("acme/meetings/2026/11/20/x/broken.mp4");
    let (b, _) = body(20 * 1024 * 1024, Some(12 * 1024 * 1024));
    match a.blobs.put_stream(&k, &meta(), b).await {
        Err(BlobError::Body { source, .. }) => {
            assert_eq!(source.kind(), io::ErrorKind::ConnectionReset)
        }
        other => panic!("expected a body error, got {other:?}"),
    }
    assert!(a.blobs.head(&k).await.unwrap().is_none());
    let uploads = a
        .blobs
        .client()
        .list_multipart_uploads()
        .bucket(a.blobs.bucket())
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads.unwrap_or_default().is_empty(),
        "a multipart upload was left behind"
    );
    // A small body that fails leaves nothing either.
    let (b, _) = body(3 * 1024 * 1024, Some(1024 * 1024));
    assert!(matches!(
        a.blobs.put_stream(&k, &meta(), b).await,
        Err(BlobError::Body { .. })
    ));
    assert!(a.blobs.head(&k).await.unwrap().is_none());
}

fn t0() -> DateTime<Utc> {
    "2026-11-20T10:00:00Z".parse().unwrap()
}

fn file(t: &str, id: &str, state: FileState) -> FileRecord {
    FileRecord {
        tenant: tenant(t),
        source: Source::Meetings,
        file_id: id.into(),
        conversation_id: "conv/1==".into(),
        conversation_start: t0(),
        file_type: "M4A".into(),
        content_kind: ContentKind::M4a,
        expected_size: Some(10),
        fingerprint: None,
        download_url: "https://zoom.example/rec/download/x".into(),
        recording_start: Some(t0()),
        recording_end: None,
        object_key: ObjectKey::derive(&tenant(t), Source::Meetings, t0(), "conv/1==", id, "m4a"),
        cdr_ids: vec!["c1".into()],
        state,
        attempts: 0,
        upload: None,
        expected_duration_secs: None,
        media: None,
        queued: false,
        out_of_scope: None,
        transient_since: None,
        not_before: None,
        next_due: None,
        retention: None,
        holds: Vec::new(),
        disposed: None,
        last_verified: None,
        deleted_at_zoom: None,
        history: Vec::new(),
        first_seen: t0(),
        updated_at: t0(),
        version: 7,
    }
}

#[tokio::test]
async fn meta_files_are_inserted_once_updated_by_version_and_listed() {
    let Some((_s, a)) = setup("meta1").await else {
        return;
    };
    let m = &a.meta;
    assert!(
        m.insert_file(&file("acme", "f2", FileState::Pending))
            .await
            .unwrap()
    );
    assert!(
        !m.insert_file(&file("acme", "f2", FileState::Pending))
            .await
            .unwrap()
    );
    assert!(
        m.insert_file(&file("acme", "f1", FileState::Pending))
            .await
            .unwrap()
    );
    assert!(
        m.insert_file(&file("other", "f1", FileState::Pending))
            .await
            .unwrap()
    );
    let got = m
        .get_file(&tenant("acme"), Source::Meetings, "f2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.version, 1);
    assert!(
        m.get_file(&tenant("acme"), Source::Phone, "f2")
            .await
            .unwrap()
            .is_none()
    );
    let mut next = got.clone();
    next.state = FileState::Archived {
        size: 10,
        sha256: "ab".into(),
        content_type: None,
        archived_at: t0(),
        fingerprint_match: None,
    };
    next.queued = true;
    let stored = m.update_file(&next).await.unwrap();
    assert_eq!(stored.version, 2);
    assert!(matches!(
        m.update_file(&next).await,
        Err(MetaError::Conflict(_))
    ));
    assert_eq!(
        m.get_file(&tenant("acme"), Source::Meetings, "f2")
            .await
            .unwrap()
            .unwrap(),
        stored
    );

    let ids = |v: Vec<FileRecord>| {
        v.into_iter()
            .map(|r| format!("{}/{}", r.tenant, r.file_id))
            .collect::<Vec<_>>()
    };
    let all = m
        .list_files(&FileQuery {
            tenant: Some(tenant("acme")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(all), ["acme/f1", "acme/f2"]);
    let archived = m
        .list_files(&FileQuery {
            tenant: Some(tenant("acme")),
            state: Some("archived"),
            unqueued_only: false,
        })
        .await
        .unwrap();
    assert_eq!(ids(archived), ["acme/f2"]);
    let pending_unqueued = m
        .list_files(&FileQuery {
            tenant: Some(tenant("acme")),
            state: Some("pending"),
            unqueued_only: true,
        })
        .await
        .unwrap();
    assert_eq!(ids(pending_unqueued), ["acme/f1"]);
    let everyone = m.list_files(&FileQuery::default()).await.unwrap();
    assert_eq!(ids(everyone), ["acme/f1", "other/f1", "acme/f2"]);
}

fn cdr(t: &str, id: &str, start: DateTime<Utc>, email: Option<&str>, ext: Option<&str>) -> Cdr {
    Cdr {
        tenant: tenant(t),
        cdr_id: id.into(),
        source: Source::Phone,
        source_platform: "Zoom Phone".into(),
        platform_call_id: format!("call-{id}"),
        conversation_id: format!("conv-{id}"),
        user: "Alice".into(),
        user_id: "u1".into(),
        user_email: email.map(str::to_string),
        user_extension: ext.map(str::to_string),
        start_time: start,
        end_time: start + ChronoDuration::minutes(5),
        duration_seconds: 300,
        from: "+1555".into(),
        from_info: "Alice".into(),
        to: "+1666".into(),
        to_info: "Bob".into(),
        participants: vec!["Alice".into(), "Bob".into()],
        direction: archiver_core::Direction::Outbound,
        direction_user: archiver_core::DirectionUser::Outgoing,
        conversation_type: archiver_core::ConversationType::Voice,
        record_type: archiver_core::RecordType::Standard,
        location: "test".into(),
        recording_failed: false,
        failure_reason: None,
        parent_meeting_id: None,
        segments: vec![],
        media_length: None,
        media_error: None,
        voice_quality: Some(4.5),
        audio_codec: Some("aac".into()),
        video_codec: None,
        silence_ratio: Some(0.25),
        longest_silence_seconds: Some(3.5),
        talkover_ratio: Some(0.1),
        media: vec![],
        out_of_scope: None,
        created_at: start,
        updated_at: start,
        version: 0,
    }
}

#[tokio::test]
async fn meta_cdrs_are_queried_by_user_day_and_tenant() {
    let Some((_s, a)) = setup("meta2").await else {
        return;
    };
    let m = &a.meta;
    let d = ChronoDuration::days(1);
    let cdrs = [
        cdr("acme", "c1", t0(), Some("Alice@Acme.example"), Some("1001")),
        cdr("acme", "c2", t0() + d, Some("bob@acme.example"), None),
        cdr("acme", "c3", t0() + d * 2, None, Some("1001")),
        cdr("other", "c4", t0() + d, Some("alice@acme.example"), None),
    ];
    for c in &cdrs {
        assert!(m.insert_cdr(c).await.unwrap());
    }
    assert!(!m.insert_cdr(&cdrs[0]).await.unwrap());
    let ids = |v: Vec<Cdr>| v.into_iter().map(|c| c.cdr_id).collect::<Vec<_>>();
    let acme = Some(tenant("acme"));
    assert_eq!(
        ids(m
            .query_cdrs(&CdrQuery {
                tenant: acme.clone(),
                ..Default::default()
            })
            .await
            .unwrap()),
        ["c1", "c2", "c3"]
    );
    assert_eq!(
        ids(m
            .query_cdrs(&CdrQuery {
                tenant: acme.clone(),
                user: Some("alice@acme.EXAMPLE".into()),
                ..Default::default()
            })
            .await
            .unwrap()),
        ["c1"]
    );
    assert_eq!(
        ids(m
            .query_cdrs(&CdrQuery {
                tenant: acme.clone(),
                user: Some("1001".into()),
                ..Default::default()
            })
            .await
            .unwrap()),
        ["c1", "c3"]
    );
    assert_eq!(
        ids(m
            .query_cdrs(&CdrQuery {
                tenant: None,
                user: Some("alice@acme.example".into()),
                ..Default::default()
            })
            .await
            .unwrap()),
        ["c1", "c4"]
    );
    let range = CdrQuery {
        tenant: acme.clone(),
        from: Some(t0() + ChronoDuration::hours(1)),
        to: Some(t0() + d * 2),
        ..Default::default()
    };
    assert_eq!(ids(m.query_cdrs(&range).await.unwrap()), ["c2"]);
    let open = CdrQuery {
        tenant: acme.clone(),
        from: Some(t0() + d),
        ..Default::default()
    };
    assert_eq!(ids(m.query_cdrs(&open).await.unwrap()), ["c2", "c3"]);
    let by_user_range = CdrQuery {
        tenant: acme.clone(),
        user: Some("1001".into()),
        from: Some(t0() + d),
        ..Default::default()
    };
    assert_eq!(ids(m.query_cdrs(&by_user_range).await.unwrap()), ["c3"]);
    // Compare-and-set.
    let got = m.get_cdr(&tenant("acme"), "c2").await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    let mut upd = got.clone();
    upd.recording_failed = true;
    assert_eq!(m.update_cdr(&upd).await.unwrap().version, 2);
    assert!(matches!(
        m.update_cdr(&upd).await,
        Err(MetaError::Conflict(_))
    ));
    assert!(m.get_cdr(&tenant("other"), "c2").await.unwrap().is_none());
}

#[tokio::test]
async fn meta_cursors_and_leases_are_conditional() {
    let Some((_s, a)) = setup("meta3").await else {
        return;
    };
    let m = &a.meta;
    let t = tenant("acme");
    assert!(m.get_cursor(&t, Source::Phone).await.unwrap().is_none());
    let c0 = Cursor {
        tenant: t.clone(),
        source: Source::Phone,
        high: t0(),
        last_success_at: None,
        version: 0,
    };
    let c1 = m.put_cursor(&c0).await.unwrap();
    assert_eq!(c1.version, 1);
    assert!(matches!(
        m.put_cursor(&c0).await,
        Err(MetaError::Conflict(_))
    ));
    let mut c2 = c1.clone();
    c2.high = t0() + ChronoDuration::hours(1);
    let c2 = m.put_cursor(&c2).await.unwrap();
    assert_eq!(m.get_cursor(&t, Source::Phone).await.unwrap().unwrap(), c2);
    assert!(matches!(
        m.put_cursor(&c1).await,
        Err(MetaError::Conflict(_))
    ));

    let now = t0();
    let later = now + ChronoDuration::minutes(5);
    assert!(m.try_lease("poll/acme", "w1", later, now).await.unwrap());
    assert!(
        m.try_lease("poll/acme", "w1", later, now).await.unwrap(),
        "the holder extends"
    );
    assert!(!m.try_lease("poll/acme", "w2", later, now).await.unwrap());
    assert!(
        m.try_lease(
            "poll/acme",
            "w2",
            later + ChronoDuration::minutes(5),
            later + ChronoDuration::seconds(1)
        )
        .await
        .unwrap(),
        "expired"
    );
    m.release_lease("poll/acme", "w1").await.unwrap();
    assert!(
        !m.try_lease("poll/acme", "w1", later, now).await.unwrap(),
        "w1 no longer holds it"
    );
    m.release_lease("poll/acme", "w2").await.unwrap();
    assert!(m.try_lease("poll/acme", "w1", later, now).await.unwrap());
}

fn task(i: usize) -> DownloadTask {
    DownloadTask::new(tenant("acme"), Source::Phone, format!("file-{i:02}"))
}

#[tokio::test]
async fn queue_sends_receives_retries_and_dead_letters() {
    let Some((_s, a)) = setup("queue1").await else {
        return;
    };
    let q = &a.queue;
    let tasks: Vec<DownloadTask> = (0..23).map(task).collect();
    q.send_batch(&tasks).await.unwrap();
    let counts = q.counts().await.unwrap();
    assert_eq!((counts.ready, counts.in_flight, counts.dead), (23, 0, 0));
    let got = q.receive(15, Duration::from_secs(60)).await.unwrap();
    assert_eq!(got.len(), 15);
    assert!(got.iter().all(|d| d.receive_count == 1));
    let rest = q.receive(100, Duration::from_secs(60)).await.unwrap();
    assert_eq!(rest.len(), 8);
    let mut seen: Vec<String> = got
        .iter()
        .chain(&rest)
        .map(|d| d.task.file_id.clone())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        tasks.iter().map(|t| t.file_id.clone()).collect::<Vec<_>>()
    );
    let counts = q.counts().await.unwrap();
    assert_eq!((counts.ready, counts.in_flight), (0, 23));

    for d in &got[1..] {
        q.ack(&d.receipt).await.unwrap();
    }
    // Retry: visible again after the delay, with a higher receive count.
    q.retry_later(&got[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = q.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].task.clone(), again[0].receive_count),
        (got[0].task.clone(), 2)
    );
    // Dead letter: off the main queue, on the DLQ with its reason; peeking does not consume.
    q.dead_letter(&again[0], "Zoom says 404").await.unwrap();
    for d in &rest[..7] {
        q.ack(&d.receipt).await.unwrap();
    }
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].task.clone(), dead[0].reason.as_str()),
        (got[0].task.clone(), "Zoom says 404")
    );
    assert_eq!(
        q.dead_letters(10).await.unwrap().len(),
        1,
        "dead_letters must not consume"
    );
    let counts = q.counts().await.unwrap();
    assert_eq!((counts.ready, counts.in_flight, counts.dead), (0, 1, 1));
}

#[tokio::test]
async fn queue_redrives_to_the_dlq_after_max_receive_count() {
    let Some((_s, a)) = setup("queue2").await else {
        return;
    };
    let q = &a.queue;
    q.send_batch(&[task(1)]).await.unwrap();
    for i in 1..=archiver_aws::MAX_RECEIVE_COUNT {
        let d = q.receive(1, Duration::ZERO).await.unwrap();
        assert_eq!(d.len(), 1, "receive {i}");
        assert_eq!(d[0].receive_count, i);
    }
    assert!(
        q.receive(1, Duration::ZERO).await.unwrap().is_empty(),
        "the next receive finds it moved to the DLQ"
    );
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].task.file_id, "file-01");
    assert_eq!(dead[0].reason, "maxReceiveCount exceeded");
}

#[tokio::test]
async fn queue_dead_letters_malformed_messages() {
    let Some((_s, a)) = setup("queue3").await else {
        return;
    };
    let url = a.queue.queue_url().await.unwrap();
    a.queue
        .client()
        .send_message()
        .queue_url(&url)
        .message_body("{not a task")
        .send()
        .await
        .unwrap();
    a.queue.send_batch(&[task(2)]).await.unwrap();
    let got = a.queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1);
    let counts = a.queue.counts().await.unwrap();
    assert_eq!(counts.dead, 1);
}

#[tokio::test]
async fn init_resources_is_idempotent_and_matches_the_definition() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let s = settings(&endpoint, "init");
    let first = init_resources(&s).await.unwrap();
    assert_eq!(first.created.len(), 4);
    let second = init_resources(&s).await.unwrap();
    assert!(second.created.is_empty());
    assert_eq!(second.existing.len(), 4);
    let a = connect(&s, Arc::new(SystemClock)).await.unwrap();
    let desc = a
        .meta
        .client()
        .describe_table()
        .table_name(&s.table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let def = table_definition();
    let mut gsis: Vec<String> = desc
        .global_secondary_indexes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| g.index_name)
        .collect();
    gsis.sort();
    assert_eq!(
        gsis,
        def.gsis.iter().map(|g| g.name.clone()).collect::<Vec<_>>()
    );
    let ttl = a
        .meta
        .client()
        .describe_time_to_live()
        .table_name(&s.table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description
            .and_then(|t| t.attribute_name)
            .as_deref(),
        Some("ttl")
    );
    let v = a
        .blobs
        .client()
        .get_bucket_versioning()
        .bucket(&s.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v.status.map(|s| s.as_str().to_string()).as_deref(),
        Some("Enabled")
    );
    let url = a.queue.queue_url().await.unwrap();
    let attrs = a
        .queue
        .client()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes.unwrap();
    let redrive = attrs
        .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .unwrap();
    assert!(
        redrive.contains("\"maxReceiveCount\":50")
            || redrive.contains("\"maxReceiveCount\": 50")
            || redrive.contains("\"maxReceiveCount\":\"50\""),
        "{redrive}"
    );
    assert_eq!(
        attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("3600")
    );
}

#[tokio::test]
async fn secrets_are_read_parsed_and_cached() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let s = settings(&endpoint, "secrets");
    let a = connect(&s, Arc::new(SystemClock)).await.unwrap();
    let name = format!("{}/zoom", s.table);
    let sm = a.secrets.client();
    sm.create_secret()
        .name(&name)
        .secret_string(r#"{"account_id":"acc","client_id":"cid","client_secret":"shh-value"}"#)
        .send()
        .await
        .unwrap();
    let creds = a.secrets.zoom_credentials(&name).await.unwrap();
    assert_eq!(
        (creds.account_id.as_str(), creds.client_id.as_str()),
        ("acc", "cid")
    );
    // Cached: a change is not seen within the TTL.
    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"account_id":"acc2","client_id":"cid","client_secret":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        a.secrets.zoom_credentials(&name).await.unwrap().account_id,
        "acc"
    );
    assert!(matches!(
        a.secrets.get(&format!("{name}-missing")).await,
        Err(SecretError::NotFound(_))
    ));
    let bad = format!("{}/bad", s.table);
    sm.create_secret()
        .name(&bad)
        .secret_string(r#"{"account_id":"acc","client_secret":"shh-value"}"#)
        .send()
        .await
        .unwrap();
    let e = a.secrets.zoom_credentials(&bad).await.unwrap_err();
    assert!(matches!(e, SecretError::Malformed { .. }));
    assert!(e.to_string().contains("client_id") && !e.to_string().contains("shh-value"));
}

#[tokio::test]
async fn conformance_blob_store_on_s3() {
    let Some((_s, a)) = setup("cblob").await else {
        return;
    };
    archiver_testkit::conformance::blob_store(&*a.blobs).await;
}

/// Retention and legal holds on a bucket with Object Lock (COMPLIANCE): the archive's
/// checks and S3's own refusals.
#[tokio::test]
async fn conformance_blob_protection_on_s3_with_object_lock() {
    let Some(endpoint) = archiver_testkit::moto_endpoint() else {
        return;
    };
    let mut s = settings(&endpoint, "lock");
    s.object_lock = Some("COMPLIANCE".into());
    init_resources(&s).await.expect("init_resources");
    let a = connect(&s, Arc::new(SystemClock)).await.expect("connect");
    archiver_testkit::conformance::blob_store_protection(&*a.blobs).await;
}

#[tokio::test]
async fn conformance_meta_store_on_dynamodb() {
    let Some((_s, a)) = setup("cmeta").await else {
        return;
    };
    archiver_testkit::conformance::meta_store(&*a.meta).await;
}

#[tokio::test]
async fn conformance_cdr_search_on_dynamodb() {
    let Some((_s, a)) = setup("csearch").await else {
        return;
    };
    // The port's default search over the DynamoDB query: the same pages as the reference,
    // and free text refused (no text index).
    archiver_testkit::conformance::cdr_search(&*a.meta).await;
}

#[tokio::test]
async fn conformance_quota_ledger_on_dynamodb() {
    let Some((_s, a)) = setup("cquota").await else {
        return;
    };
    // moto's DynamoDB evaluates an UpdateItem's condition and then writes, in two steps
    // without a lock, so concurrent conditional updates can both pass; the race is checked
    // on the memory and SQLite stores (DynamoDB itself makes conditional writes atomic).
    archiver_testkit::conformance::quota_ledger(
        &*a.quota,
        archiver_testkit::conformance::Concurrency::Skip,
    )
    .await;
}

/// The audit trail's way around the port on DynamoDB: `PutItem` and `DeleteItem` straight
/// to the table, as anyone with write access to it could.
struct DynamoTamper {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoTamper {
    fn key(t: &TenantId, seq: u64) -> [(String, aws_sdk_dynamodb::types::AttributeValue); 2] {
        use aws_sdk_dynamodb::types::AttributeValue;
        [
            ("pk".into(), AttributeValue::S(format!("T#{t}#AUDIT"))),
            ("sk".into(), AttributeValue::S(format!("{seq:020}"))),
        ]
    }
}

#[async_trait::async_trait]
impl archiver_testkit::conformance::AuditTamper for DynamoTamper {
    async fn alter(&self, tenant: &TenantId, seq: u64) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let [pk, sk] = Self::key(tenant, seq);
        let mut item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_else(|| panic!("no entry {seq} of {tenant}"));
        let mut body: serde_json::Value =
            serde_json::from_str(item["body"].as_s().unwrap()).unwrap();
        body["result"] = "altered".into();
        item.insert("body".into(), AttributeValue::S(body.to_string()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    async fn remove(&self, tenant: &TenantId, seq: u64) {
        let [pk, sk] = Self::key(tenant, seq);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .unwrap();
        assert!(out.attributes.is_some(), "no entry {seq} of {tenant}");
    }
}

#[tokio::test]
async fn conformance_audit_log_on_dynamodb() {
    use archiver_core::AuditLog;
    use aws_sdk_dynamodb::types::AttributeValue;
    let Some((s, a)) = setup("caudit").await else {
        return;
    };
    // moto's DynamoDB evaluates a PutItem's condition and then writes, in two steps without
    // a lock, so two concurrent appends at one seq can both pass (the second overwriting the
    // first); the race is checked on the memory and SQLite stores (DynamoDB itself makes
    // conditional writes atomic).
    archiver_testkit::conformance::audit_log_with(
        &*a.audit,
        archiver_testkit::conformance::Concurrency::Skip,
    )
    .await;
    let tamper = DynamoTamper {
        client: a.meta.client().clone(),
        table: s.table.clone(),
    };
    archiver_testkit::conformance::audit_log_tamper(&*a.audit, &tamper).await;

    // The item as documented: the tenant's partition, the zero-padded seq, readable
    // attributes next to the body; the metadata store does not see it.
    assert_eq!(a.audit.table(), s.table);
    let t = tenant("audit-items");
    let e = archiver_core::services::audit::record(
        &*a.audit,
        archiver_core::AuditDraft {
            tenant: t.clone(),
            at: Utc::now(),
            actor: "moto@test".into(),
            action: archiver_core::AuditAction::Export,
            objects: vec!["cdr-1".into()],
            reason: None,
            result: "ok".into(),
        },
    )
    .await
    .unwrap();
    let item = a
        .meta
        .client()
        .get_item()
        .table_name(&s.table)
        .key("pk", AttributeValue::S("T#audit-items#AUDIT".into()))
        .key("sk", AttributeValue::S("00000000000000000001".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the entry's item");
    assert_eq!(item["kind"], AttributeValue::S("audit".into()));
    assert_eq!(item["seq"], AttributeValue::N("1".into()));
    assert_eq!(item["action"], AttributeValue::S("export".into()));
    assert_eq!(
        serde_json::from_str::<archiver_core::AuditEntry>(item["body"].as_s().unwrap()).unwrap(),
        e
    );
    assert_eq!(a.audit.head(&t).await.unwrap(), Some(e));
    assert!(
        a.meta
            .list_files(&FileQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn quota_items_live_in_the_meta_table_with_a_ttl() {
    use archiver_core::QuotaLedger;
    use aws_sdk_dynamodb::types::AttributeValue;
    let Some((s, a)) = setup("quota").await else {
        return;
    };
    // Today, so that no TTL has passed.
    let day = Utc::now().date_naive();
    assert_eq!(
        a.quota
            .try_add("acc#1", "Heavy", day, 3, Some(10))
            .await
            .unwrap(),
        Some(3)
    );
    assert_eq!(a.quota.table(), s.table);
    let item = a
        .meta
        .client()
        .get_item()
        .table_name(&s.table)
        .key(
            "pk",
            AttributeValue::S(format!("Q#acc#1#{}", day.format("%Y-%m-%d"))),
        )
        .key("sk", AttributeValue::S("Heavy".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the counter's item");
    assert_eq!(item["used"], AttributeValue::N("3".into()));
    assert_eq!(item["kind"], AttributeValue::S("quota".into()));
    // The day's start + 8 days, in epoch seconds.
    let ttl = (day + ChronoDuration::days(8))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    assert_eq!(item["ttl"], AttributeValue::N(ttl.to_string()));
    // A ledger over the same table sees the same counters; the metadata store is unaffected.
    let other = archiver_aws::DynamoQuotaLedger::new(a.meta.client().clone(), &s.table);
    assert_eq!(other.get("acc#1", "Heavy", day).await.unwrap(), 3);
    assert!(
        a.meta
            .list_files(&FileQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    // A missing table is a backend error, not a refusal.
    let gone = archiver_aws::DynamoQuotaLedger::new(a.meta.client().clone(), "no-such-table");
    let err = gone
        .try_add("acc", "Heavy", day, 1, Some(10))
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Backend { .. }), "{err}");
    // The error says what failed and where, and keeps the SDK's error as its cause.
    let text = err.to_string();
    assert!(
        text.contains("UpdateItem quota") && text.contains("no-such-table"),
        "{text}"
    );
    assert!(text.contains("ResourceNotFoundException"), "{text}");
    let mut causes = 0;
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        causes += 1;
        cause = c.source();
    }
    assert!(causes >= 2, "the SDK error is kept as the cause: {err:?}");
}

// --- Resumable multipart uploads (put_stream_until) ---

/// The bytes of `data` from `offset` on, in 1 MiB chunks, as a body resumed there (a fresh
/// body when `cp` is `None`).
fn resumed_body(data: &[u8], cp: Option<&archiver_core::UploadCheckpoint>) -> VerifiedBody {
    let offset = cp.map_or(0, |c| c.bytes as usize);
    let chunks: Vec<Result<Bytes, io::Error>> = data[offset..]
        .chunks(1024 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures::stream::iter(chunks).boxed();
    let expect = BodyExpectations {
        kind: ContentKind::M4a,
        size: Some(data.len() as u64),
    };
    match cp {
        Some(c) => VerifiedBody::resume(stream, expect, c.bytes, c.hash.clone()),
        None => VerifiedBody::new(stream, expect),
    }
}

async fn open_uploads(a: &AwsAdapters) -> Vec<String> {
    a.blobs
        .client()
        .list_multipart_uploads()
        .bucket(a.blobs.bucket())
        .send()
        .await
        .unwrap()
        .uploads
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| u.upload_id)
        .collect()
}

#[tokio::test]
async fn blob_multipart_pauses_at_the_deadline_and_resumes_until_complete() {
    use archiver_core::PutProgress;
    let Some((_s, a)) = setup("blob4").await else {
        return;
    };
    let k = key("acme/meetings/2026/11/20/x/resumed.m4a");
    let data: Vec<u8> = (0..40 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut cp: Option<archiver_core::UploadCheckpoint> = None;
    let mut invocations = 0;
    let info = loop {
        invocations += 1;
        assert!(invocations < 20, "no progress");
        let body = resumed_body(&data, cp.as_ref());
        // A deadline already passed: every call stops at its first part boundary.
        match a
            .blobs
            .put_stream_until(
                &k,
                &meta(),
                body,
                cp.clone(),
                Some(std::time::Instant::now()),
            )
            .await
            .unwrap()
        {
            PutProgress::Paused(next) => {
                let before = cp.as_ref().map_or(0, |c| c.bytes);
                assert!(next.bytes > before, "a call must make progress");
                assert_eq!(
                    next.bytes % PART_SIZE as u64,
                    0,
                    "pauses at part boundaries"
                );
                assert_eq!(next.bytes, next.parts.iter().map(|p| p.size).sum::<u64>());
                assert_eq!(next.hash.len, next.bytes);
                let numbers: Vec<u32> = next.parts.iter().map(|p| p.number).collect();
                assert_eq!(numbers, (1..=next.parts.len() as u32).collect::<Vec<_>>());
                if let Some(prev) = &cp {
                    assert_eq!(prev.upload_id, next.upload_id);
                }
                // Invisible while paused, but listed as an open upload.
                assert!(a.blobs.head(&k).await.unwrap().is_none());
                assert_eq!(open_uploads(&a).await, vec![next.upload_id.clone()]);
                // Through JSON, as in the file record.
                let json = serde_json::to_string(&next).unwrap();
                cp = Some(serde_json::from_str(&json).unwrap());
            }
            PutProgress::Complete(info) => break info,
        }
    };
    assert!(invocations > 1, "a 40 MiB body must pause at least once");
    let sha = hex::encode(Sha256::digest(&data));
    assert_eq!(
        (info.size, info.sha256.as_deref()),
        (data.len() as u64, Some(sha.as_str()))
    );
    let head = a.blobs.head(&k).await.unwrap().unwrap();
    assert_eq!(
        (head.size, head.sha256.as_deref()),
        (data.len() as u64, Some(sha.as_str()))
    );
    assert!(read_all(&a, &k).await == data, "content differs");
    assert!(open_uploads(&a).await.is_empty(), "the upload is completed");
    println!("completed after {invocations} calls");
}

#[tokio::test]
async fn blob_resume_repeats_a_lost_call_and_reports_a_vanished_upload() {
    use archiver_core::PutProgress;
    let Some((_s, a)) = setup("blob5").await else {
        return;
    };
    let k = key("acme/meetings/2026/11/20/x/again.m4a");
    let data: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 247) as u8).collect();
    let now = Some(std::time::Instant::now());
    let PutProgress::Paused(cp1) = a
        .blobs
        .put_stream_until(&k, &meta(), resumed_body(&data, None), None, now)
        .await
        .unwrap()
    else {
        panic!("expected a pause");
    };
    // A call continues from cp1 and pauses, but its checkpoint is lost (the invocation died).
    let r = a
        .blobs
        .put_stream_until(
            &k,
            &meta(),
            resumed_body(&data, Some(&cp1)),
            Some(cp1.clone()),
            now,
        )
        .await
        .unwrap();
    assert!(matches!(r, PutProgress::Paused(_)), "{r:?}");
    // The next one starts from cp1 again: the same parts are uploaded again.
    let PutProgress::Complete(info) = a
        .blobs
        .put_stream_until(
            &k,
            &meta(),
            resumed_body(&data, Some(&cp1)),
            Some(cp1.clone()),
            None,
        )
        .await
        .unwrap()
    else {
        panic!("expected completion without a deadline");
    };
    assert_eq!(info.sha256, Some(hex::encode(Sha256::digest(&data))));
    assert!(read_all(&a, &k).await == data, "content differs");

    // An upload that was aborted meanwhile: UploadGone, and nothing is written.
    let k2 = key("acme/meetings/2026/11/20/x/gone.m4a");
    let PutProgress::Paused(cp) = a
        .blobs
        .put_stream_until(&k2, &meta(), resumed_body(&data, None), None, now)
        .await
        .unwrap()
    else {
        panic!("expected a pause");
    };
    a.blobs.abort_upload(&k2, &cp).await.unwrap();
    assert!(open_uploads(&a).await.is_empty());
    a.blobs.abort_upload(&k2, &cp).await.unwrap();
    match a
        .blobs
        .put_stream_until(
            &k2,
            &meta(),
            resumed_body(&data, Some(&cp)),
            Some(cp.clone()),
            None,
        )
        .await
    {
        Err(e @ BlobError::UploadGone { .. }) => assert!(e.is_retryable()),
        other => panic!("expected UploadGone, got {other:?}"),
    }
    assert!(a.blobs.head(&k2).await.unwrap().is_none());

    // A body that ends exactly at a part boundary completes instead of pausing at its end.
    let k3 = key("acme/meetings/2026/11/20/x/exact.m4a");
    let exact: Vec<u8> = (0..2 * PART_SIZE).map(|i| (i % 239) as u8).collect();
    let mut cp: Option<archiver_core::UploadCheckpoint> = None;
    let mut calls = 0;
    loop {
        calls += 1;
        match a
            .blobs
            .put_stream_until(
                &k3,
                &meta(),
                resumed_body(&exact, cp.as_ref()),
                cp.clone(),
                now,
            )
            .await
            .unwrap()
        {
            PutProgress::Paused(next) => {
                assert!(next.bytes < exact.len() as u64, "paused at the very end");
                cp = Some(next);
            }
            PutProgress::Complete(info) => {
                assert_eq!(info.size, exact.len() as u64);
                break;
            }
        }
    }
    assert_eq!(calls, 2);
}
