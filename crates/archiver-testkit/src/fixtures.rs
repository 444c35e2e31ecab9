//! Small constructors of test records, tasks and bodies.
//!
//! Values are plausible but fixed, so tests change only the fields they care about:
//!
//! ```
//! use archiver_testkit::fixtures;
//! let mut rec = fixtures::file_record("acme", "f1");
//! rec.queued = true;
//! assert_eq!(rec.tenant.as_str(), "acme");
//! ```

use archiver_core::{
    BodyExpectations, ByteStream, Cdr, ContentKind, ConversationType, Cursor, Direction,
    DirectionUser, DownloadTask, FileRecord, FileState, ObjectKey, ObjectMeta, RecordType, Source,
    TenantId, VerifiedBody,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io;

/// Anything a fixture accepts as a tenant: `&str`, `String`, `TenantId` or `&TenantId`.
/// Panics on an invalid tenant id (fixtures are for tests).
pub trait IntoTenant {
    /// The tenant id.
    fn into_tenant(self) -> TenantId;
}

impl IntoTenant for &str {
    fn into_tenant(self) -> TenantId {
        TenantId::new(self).expect("fixture tenant id must be valid")
    }
}

impl IntoTenant for String {
    fn into_tenant(self) -> TenantId {
        TenantId::new(self).expect("fixture tenant id must be valid")
    }
}

impl IntoTenant for TenantId {
    fn into_tenant(self) -> TenantId {
        self
    }
}

impl IntoTenant for &TenantId {
    fn into_tenant(self) -> TenantId {
        self.clone()
    }
}

/// The fixtures' reference time: 2026-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

/// `t0() + secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// Parses an RFC 3339 time (panics on bad input).
pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("fixture time must be RFC 3339")
        .with_timezone(&Utc)
}

/// A validated tenant id (panics on an invalid one).
pub fn tenant(id: impl IntoTenant) -> TenantId {
    id.into_tenant()
}

/// A tenant id unique to this call, `{prefix}-{12 hex digits}`, so that suites can run
/// against shared stores without seeing each other's data.
pub fn unique_tenant(prefix: &str) -> TenantId {
    let id = uuid::Uuid::new_v4().simple().to_string();
    TenantId::new(format!("{prefix}-{}", &id[..12]))
        .expect("prefix must be a valid tenant id start")
}

/// A pending, unqueued meetings file record with version 0, first seen at [`t0`].
pub fn file_record(tenant: impl IntoTenant, file_id: &str) -> FileRecord {
    let tenant = tenant.into_tenant();
    let conversation_id = "conv-1".to_string();
    let object_key = ObjectKey::derive(
        &tenant,
        Source::Meetings,
        t0(),
        &conversation_id,
        file_id,
        "m4a",
    );
    FileRecord {
        tenant,
        source: Source::Meetings,
        file_id: file_id.to_string(),
        conversation_id,
        conversation_start: t0(),
        file_type: "M4A".into(),
        content_kind: ContentKind::M4a,
        expected_size: None,
        fingerprint: None,
        download_url: format!("https://zoom.invalid/rec/archive/download/{file_id}"),
        recording_start: Some(t0()),
        recording_end: Some(at(600)),
        object_key,
        cdr_ids: vec![],
        state: FileState::Pending,
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
        version: 0,
    }
}

/// A meetings CDR with id `id` starting at `start` (10 minutes long) for the user `email`
/// (no extension), platform call id `call-{id}`, version 0.
pub fn cdr(tenant: impl IntoTenant, id: &str, start: DateTime<Utc>, email: &str) -> Cdr {
    let end = start + chrono::Duration::minutes(10);
    Cdr {
        tenant: tenant.into_tenant(),
        cdr_id: id.to_string(),
        source: Source::Meetings,
        source_platform: Source::Meetings.platform().into(),
        platform_call_id: format!("call-{id}"),
        conversation_id: format!("conv-{id}"),
        user: "Test User".into(),
        user_id: email.to_string(),
        user_email: Some(email.to_string()),
        user_extension: None,
        start_time: start,
        end_time: end,
        duration_seconds: 600,
        from: email.to_string(),
        from_info: "Test User".into(),
        to: "Conference".into(),
        to_info: "Weekly sync".into(),
        participants: vec![email.to_string()],
        direction: Direction::Conference,
        direction_user: DirectionUser::Outgoing,
        conversation_type: ConversationType::Voice,
        record_type: RecordType::Standard,
        location: "testkit".into(),
        recording_failed: false,
        failure_reason: None,
        parent_meeting_id: None,
        segments: vec![],
        media_length: None,
        media_error: None,
        voice_quality: None,
        audio_codec: None,
        video_codec: None,
        silence_ratio: None,
        longest_silence_seconds: None,
        talkover_ratio: None,
        media: vec![],
        out_of_scope: None,
        created_at: start,
        updated_at: start,
        version: 0,
    }
}

/// A not-yet-stored cursor (version 0).
pub fn cursor(tenant: impl IntoTenant, source: Source, high: DateTime<Utc>) -> Cursor {
    Cursor {
        tenant: tenant.into_tenant(),
        source,
        high,
        last_success_at: None,
        version: 0,
    }
}

/// A meetings download task with a fresh id.
pub fn task(tenant: impl IntoTenant, file_id: &str) -> DownloadTask {
    DownloadTask::new(tenant.into_tenant(), Source::Meetings, file_id)
}

/// A valid object key `{tenant}/meetings/2026/01/01/conv/{name}` (`name` may contain `/`).
pub fn object_key(tenant: impl IntoTenant, name: &str) -> ObjectKey {
    ObjectKey::parse(format!(
        "{}/meetings/2026/01/01/conv/{name}",
        tenant.into_tenant()
    ))
    .expect("fixture object key must be valid")
}

/// Object metadata for a meetings file.
pub fn object_meta(tenant: impl IntoTenant, file_id: &str) -> ObjectMeta {
    ObjectMeta {
        tenant: tenant.into_tenant(),
        source: Source::Meetings,
        conversation_id: "conv".into(),
        file_id: file_id.into(),
        content_type: Some("audio/mpeg".into()),
        retain_until: None,
    }
}

/// `len` bytes that look like MP3 media (`ID3` header, then pseudo-random bytes from `seed`).
pub fn media_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"ID3\x03\x00");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A byte stream yielding `data` in chunks of `chunk` bytes.
pub fn byte_stream(data: Vec<u8>, chunk: usize) -> ByteStream {
    let data = Bytes::from(data);
    let chunk = chunk.max(1);
    let chunks: Vec<Bytes> = (0..data.len())
        .step_by(chunk)
        .map(|i| data.slice(i..(i + chunk).min(data.len())))
        .collect();
    futures::stream::iter(chunks.into_iter().map(Ok)).boxed()
}

/// A verified MP3 body of `data`, in chunks of `chunk` bytes, with no announced size.
pub fn mp3_body(data: Vec<u8>, chunk: usize) -> VerifiedBody {
    VerifiedBody::new(
        byte_stream(data, chunk),
        BodyExpectations {
            kind: ContentKind::Mp3,
            size: None,
        },
    )
}

/// A verified body of `kind` over any stream.
pub fn verified(stream: ByteStream, kind: ContentKind, size: Option<u64>) -> VerifiedBody {
    VerifiedBody::new(stream, BodyExpectations { kind, size })
}

/// A body that yields `first` and then fails with an I/O error (a dropped connection).
pub fn failing_body(first: Vec<u8>) -> VerifiedBody {
    let s = futures::stream::iter(vec![
        Ok(Bytes::from(first)),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by fixture",
        )),
    ])
    .boxed();
    verified(s, ContentKind::Mp3, None)
}

/// An HTML login page offered where MP3 media is expected (the body refuses it).
pub fn html_body() -> VerifiedBody {
    let page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in to continue to Zoom</body></html>".to_vec();
    verified(byte_stream(page, 16), ContentKind::Mp3, None)
}

/// A large MP3-like body of `total` bytes produced lazily in `chunk`-byte chunks (never held
/// in memory as a whole). Returns the body and the expected SHA-256.
pub fn large_body(total: u64, chunk: usize, seed: u64) -> (VerifiedBody, String) {
    let chunk = chunk.max(8) as u64;
    let make = move |i: u64| -> Bytes {
        let start = i * chunk;
        let len = chunk.min(total - start) as usize;
        let mut v = media_bytes(len.max(8), seed.wrapping_add(i));
        v.truncate(len);
        Bytes::from(v)
    };
    let n = total.div_ceil(chunk);
    let mut hasher = Sha256::new();
    for i in 0..n {
        hasher.update(make(i));
    }
    let digest = hex::encode(hasher.finalize());
    let s = futures::stream::iter(0..n)
        .map(move |i| Ok(make(i)))
        .boxed();
    (verified(s, ContentKind::Mp3, Some(total)), digest)
}
