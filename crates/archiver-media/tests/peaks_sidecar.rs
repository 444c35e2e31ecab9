//! Waveform peaks sidecars over a `MemBlobStore`: computed in the analysis pass, stored
//! beside the recording under `{tenant}/derived/peaks/`, read back, computed on demand
//! when missing (and then served from the sidecar, without decoding again), never reported
//! by the fixity check as an unknown object, and disposed of with their recording.

use std::path::PathBuf;
use std::sync::Arc;

use archiver_core::domain::{
    ContentKind, FileState, ObjectKey, PEAK_WINDOW_MS, Peaks, Retained, is_derived, peaks_key,
};
use archiver_core::ports::{BlobStore, MediaAnalyser, ObjectMeta, Ports};
use archiver_core::services::verify::{VerifyOptions, verify};
use archiver_core::services::{custody, peaks};
use archiver_media::BlobAnalyser;
use archiver_testkit::fixtures::{byte_stream, file_record, sha256_hex, t0, verified};
use archiver_testkit::{ManualClock, MemAuditLog, MemBlobStore, MemMetaStore, MemTaskQueue};
use async_trait::async_trait;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../zoom-sim/fixtures")
            .join(name),
    )
    .expect("fixture present")
}

/// An analyser that must not be called (the sidecar is there).
struct Refuses;

#[async_trait]
impl MediaAnalyser for Refuses {
    async fn analyse(
        &self,
        _: Arc<dyn BlobStore>,
        key: &ObjectKey,
        _: ContentKind,
        _: u64,
    ) -> archiver_core::MediaFacts {
        panic!("{key} decoded again although its sidecar is stored")
    }
}

/// An archived meeting audio file (party A: tone 0–6 s, silence 6–10 s, tone 10–15 s),
/// its retention over at `t0 + 1 day`.
async fn archived(ports: &Ports) -> (archiver_core::FileRecord, ObjectMeta) {
    let mut rec = file_record("acme", "f-audio");
    let bytes = fixture("meeting_audio.m4a");
    let size = bytes.len() as u64;
    let meta = ObjectMeta {
        tenant: rec.tenant.clone(),
        source: rec.source,
        conversation_id: rec.conversation_id.clone(),
        file_id: rec.file_id.clone(),
        content_type: Some("audio/mp4".into()),
        retain_until: Some(t0() + chrono::Duration::days(1)),
    };
    ports
        .blobs
        .put_stream(
            &rec.object_key,
            &meta,
            verified(
                byte_stream(bytes.clone(), 8_192),
                ContentKind::M4a,
                Some(size),
            ),
        )
        .await
        .unwrap();
    rec.state = FileState::Archived {
        size,
        sha256: sha256_hex(&bytes),
        content_type: Some("audio/mp4".into()),
        archived_at: t0(),
        fingerprint_match: None,
    };
    rec.retention = Some(Retained {
        rule: "one-day".into(),
        until: t0() + chrono::Duration::days(1),
    });
    ports.meta.insert_file(&rec).await.unwrap();
    (rec, meta)
}

fn ports(clock: Arc<ManualClock>) -> Ports {
    Ports {
        blobs: Arc::new(MemBlobStore::new()),
        meta: Arc::new(MemMetaStore::new()),
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    }
}

#[tokio::test]
async fn sidecar_stored_read_back_ignored_by_verify_and_disposed_with_its_recording() {
    let clock = Arc::new(ManualClock::new(t0()));
    let ports = ports(clock.clone());
    let (rec, meta) = archived(&ports).await;
    let FileState::Archived { size, .. } = rec.state else {
        unreachable!()
    };

    // One pass: the facts equal `analyse`'s, and the peaks come with them.
    let (facts, computed) = BlobAnalyser::new()
        .analyse_with_peaks(ports.blobs.clone(), &rec.object_key, ContentKind::M4a, size)
        .await;
    assert_eq!(
        facts,
        BlobAnalyser::new()
            .analyse(ports.blobs.clone(), &rec.object_key, ContentKind::M4a, size)
            .await
    );
    let computed = computed.expect("peaks of a decodable file");
    let secs = facts.duration_secs.unwrap();
    assert_eq!(computed.window_ms, PEAK_WINDOW_MS);
    assert_eq!(computed.pairs.len(), (secs * 50.0).ceil() as usize);
    assert!(computed.pairs[100].1 > 10 && computed.pairs[400].1.abs() <= 1);

    // Stored beside the recording, under the tenant's derived prefix; read back equal.
    assert_eq!(
        peaks::load(ports.blobs.as_ref(), &rec.object_key)
            .await
            .unwrap(),
        None
    );
    peaks::store(ports.blobs.as_ref(), &rec.object_key, &meta, &computed)
        .await
        .unwrap();
    // A second store (a redelivery) keeps the first.
    peaks::store(
        ports.blobs.as_ref(),
        &rec.object_key,
        &meta,
        &Peaks::default(),
    )
    .await
    .unwrap();
    let sidecar = peaks_key(&rec.object_key).unwrap();
    assert!(is_derived(&sidecar));
    assert!(sidecar.as_str().starts_with("acme/derived/peaks/meetings/"));
    let info = ports
        .blobs
        .head(&sidecar)
        .await
        .unwrap()
        .expect("sidecar stored");
    assert_eq!(info.size, 16 + 2 * computed.pairs.len() as u64);
    assert_eq!(
        peaks::load(ports.blobs.as_ref(), &rec.object_key)
            .await
            .unwrap()
            .as_ref(),
        Some(&computed)
    );
    // Served from the sidecar: no second decode.
    let served = peaks::load_or_compute(
        ports.blobs.clone(),
        &Refuses,
        &rec.object_key,
        ContentKind::M4a,
        size,
        &meta,
    )
    .await
    .unwrap();
    assert_eq!(served.as_ref(), Some(&computed));

    // The full fixity check reads the recording and reports nothing else.
    let report = verify(
        &ports,
        std::slice::from_ref(&rec.tenant),
        &VerifyOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!((report.checked, report.intact), (1, 1));
    assert!(report.findings.is_empty(), "{:?}", report.findings);

    // Past retention, disposal deletes the recording and its sidecar.
    clock.set(t0() + chrono::Duration::days(2));
    let audit = MemAuditLog::new();
    let out = custody::dispose(&ports, &audit, &rec.tenant, &[], "tester", false)
        .await
        .unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].result, "disposed");
    assert_eq!(ports.blobs.head(&rec.object_key).await.unwrap(), None);
    assert_eq!(
        ports.blobs.head(&sidecar).await.unwrap(),
        None,
        "sidecar disposed too"
    );
    // A recording without a sidecar (or disposed twice) is fine.
    peaks::dispose(
        ports.blobs.as_ref(),
        &rec.object_key,
        t0() + chrono::Duration::days(2),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn missing_sidecar_is_computed_on_demand_and_stored() {
    let clock = Arc::new(ManualClock::new(t0()));
    let ports = ports(clock);
    let (rec, meta) = archived(&ports).await;
    let FileState::Archived { size, .. } = rec.state else {
        unreachable!()
    };
    let got = peaks::load_or_compute(
        ports.blobs.clone(),
        &BlobAnalyser::new(),
        &rec.object_key,
        ContentKind::M4a,
        size,
        &meta,
    )
    .await
    .unwrap()
    .expect("computed");
    assert!(got.pairs.len() > 700);
    let stored = peaks::load(ports.blobs.as_ref(), &rec.object_key)
        .await
        .unwrap()
        .expect("stored for next time");
    assert_eq!(stored, got);
    // The sidecar carries the recording's retention.
    let prot = ports
        .blobs
        .protection(&peaks_key(&rec.object_key).unwrap())
        .await
        .unwrap();
    assert_eq!(prot.retain_until, meta.retain_until);
    // A damaged sidecar is ignored (and the caller may compute again).
    let other = archiver_testkit::fixtures::object_key("acme", "x.m4a");
    let damaged = peaks_key(&other).unwrap();
    ports
        .blobs
        .put_stream(
            &damaged,
            &meta,
            verified(
                byte_stream(b"ZAPK\x09".to_vec(), 5),
                ContentKind::Document,
                Some(5),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        peaks::load(ports.blobs.as_ref(), &other).await.unwrap(),
        None
    );
    // Documents have none.
    assert_eq!(
        peaks::load_or_compute(
            ports.blobs.clone(),
            &Refuses,
            &other,
            ContentKind::Document,
            5,
            &meta
        )
        .await
        .unwrap(),
        None
    );
}
