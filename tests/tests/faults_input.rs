//! Bad input from Zoom: corrupt listings, unknown enum values, missing fields, odd date forms,
//! hostile identifiers; plus property tests of key derivation and of the payload parsers.

use archiver_core::{
    ArchiveFilesPage, ArchiveMeeting, FileState, ObjectKey, PhoneRecordingsPage, Source, TenantId,
};
use archiver_e2e::{Harness, HarnessOptions, assert_invariants, generated_tenant, small_scenario};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::path::Path;
use zoom_sim::{
    Scenario, SimAccount, SimArchiveFile, SimCall, SimClock, SimMeeting, SimOptions, SimOwner,
    SimParticipant, SimParty, SimPhoneRecording, SimServer, SimUser,
};

const SEED: u64 = 23;

#[tokio::test]
async fn corrupt_listings_fail_the_poll_and_the_next_poll_archives_everything() {
    let base = Harness::small_baseline(SEED).await;
    let h = Harness::small(SEED, HarnessOptions::default()).await;
    let f = h.sim.faults();
    f.truncated_listing("/v2/archive_files", 1);
    f.html_listing("/v2/archive_files", 1);
    f.malformed_listing("/v2/phone/recordings", 1);
    f.wrong_shape_listing("/v2/phone/recordings", 1);
    for s in [Source::Meetings, Source::Phone] {
        for _ in 0..2 {
            let e = h
                .try_poll(s)
                .await
                .expect_err("a corrupt page fails the poll");
            assert!(e.is_retryable(), "{e}");
            assert!(
                e.to_string().to_lowercase().contains("decod")
                    || e.to_string().contains("parse")
                    || e.to_string().contains("expected"),
                "{e}"
            );
        }
    }
    assert!(
        h.files().await.is_empty(),
        "nothing recorded from a corrupt page"
    );
    h.cycle().await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
}

#[tokio::test]
async fn an_oversized_listing_with_unknown_fields_is_parsed() {
    let base = Harness::small_baseline(SEED).await;
    let h = Harness::small(SEED, HarnessOptions::default()).await;
    h.sim
        .faults()
        .oversized_listing("/v2/archive_files", 1, 4 << 20);
    h.sim
        .faults()
        .oversized_listing("/v2/phone/recordings", 1, 1 << 20);
    h.cycle().await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
}

#[tokio::test]
async fn plus_offset_dates_are_archived_like_z_dates() {
    let base = Harness::small_baseline(SEED).await;
    let now = Utc::now();
    let mut sc = small_scenario(SEED, now, 2);
    sc.options.plus_offset_dates = true;
    let sim = SimServer::start_with_clock(sc, SimClock::manual(now))
        .await
        .unwrap();
    let tenant = generated_tenant(&sim, 3, 3);
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    h.cycle().await;
    let r = assert_invariants(&h).await;
    assert_eq!(r.snapshot, base);
    let cdr = &h.cdrs().await[0];
    assert!(cdr.start_time.timestamp() > 0);
}

#[test]
fn missing_optional_fields_and_unknown_enum_values_parse() {
    let page: ArchiveFilesPage = serde_json::from_str(
        r#"{"meetings":[{"uuid":"u1","archive_files":[{"id":"f1"},
            {"id":"f2","file_type":"HOLOGRAM","status":"quantum","recording_type":"brainwaves"}]}]}"#,
    )
    .unwrap();
    let m = &page.meetings[0];
    assert_eq!(m.start_time, None);
    assert_eq!(m.complete_time, None);
    assert_eq!(m.archive_files[0].file_type, "");
    assert!(
        m.archive_files[0].is_completed(),
        "no status: assume completed"
    );
    let f2 = &m.archive_files[1];
    assert_eq!(f2.file_type, "HOLOGRAM");
    assert!(
        !f2.is_completed() && !f2.is_failed(),
        "unknown status: wait"
    );
    // Empty strings and numbers where strings are expected.
    let m: ArchiveMeeting = serde_json::from_str(
        r#"{"uuid":"u","complete_time":"","start_time":"2024-03-01T10:00:00+00:00","type":100,"extra":{"nested":[1,2]}}"#,
    )
    .unwrap();
    assert_eq!(m.complete_time, None);
    assert_eq!(
        m.start_time,
        Some(Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap())
    );
    let p: PhoneRecordingsPage = serde_json::from_str(
        r#"{"recordings":[{"id":"r1","direction":"sideways","recording_type":"Telepathic",
            "owner":{"type":"robot","extension_number":1001},"caller_number":4155550100}]}"#,
    )
    .unwrap();
    assert_eq!(p.recordings.len(), 1);
    // Identity fields are required: a page without them is an error, not a panic.
    assert!(serde_json::from_str::<ArchiveFilesPage>(r#"{"meetings":[{"topic":"x"}]}"#).is_err());
    assert!(serde_json::from_str::<PhoneRecordingsPage>(r#"{"recordings":[{}]}"#).is_err());
}

/// Meeting UUIDs, topics and call ids with `/`, `..`, NUL, control characters and unicode.
fn hostile_scenario(now: chrono::DateTime<Utc>) -> Scenario {
    let start = now - Duration::hours(5);
    let end = start + Duration::minutes(30);
    let email = "alice@acme.example".to_string();
    let uuids = [
        "../../../../etc/passwd",
        "a/./b/../../c==",
        "nul\u{0}byte/\u{7f}",
        "\t\r\n ctrl\u{1b}[31m",
        "会议/ünïcødé/..",
        ".",
        "..",
        "%2e%2e%2f",
    ];
    let file_ids = [
        "a..b",
        "...",
        "fïlé-ünï",
        "CON",
        "x.y.z",
        "%",
        "~root",
        "-rf",
    ];
    let meetings = uuids
        .iter()
        .zip(file_ids)
        .enumerate()
        .map(|(i, (uuid, fid))| SimMeeting {
            uuid: (*uuid).into(),
            id: 81_000_000_100 + i as i64,
            host_id: "u-alice".into(),
            topic: format!("../{uuid}/\u{0}topic"),
            start_time: start + Duration::minutes(i as i64),
            duration_secs: 1800,
            external: false,
            parent_uuid: None,
            complete_time: end + Duration::minutes(5 + i as i64),
            participants: vec![SimParticipant {
                user_id: "u-alice".into(),
                name: "Alice".into(),
                email: email.clone(),
                segments: vec![(start, end)],
            }],
            files: vec![SimArchiveFile {
                id: fid.into(),
                file_type: "M4A".into(),
                recording_type: "audio_only".into(),
                individual: true,
                participant_email: Some(email.clone()),
                join: start,
                leave: end,
                size: 3_000 + i as u64,
                available_at: None,
                failed: false,
                deleted: false,
            }],
        })
        .collect();
    let calls = ["../call/..", "call\u{0}/x", "呼叫-☎"]
        .iter()
        .enumerate()
        .map(|(i, id)| SimCall {
            call_id: (*id).into(),
            start: start + Duration::minutes(i as i64),
            end: start + Duration::minutes(i as i64 + 3),
            direction: "inbound".into(),
            caller_number: "+14155550199".into(),
            caller_name: "../\u{0}caller".into(),
            caller_number_type: 2,
            callee_number: "1001".into(),
            callee_name: "Alice".into(),
            callee_number_type: 1,
            owner: SimOwner {
                kind: "user".into(),
                id: "u-alice".into(),
                name: "Alice".into(),
                extension_number: 1001,
            },
            accepted_by: Some(SimParty {
                name: "Alice".into(),
                extension_number: "1001".into(),
            }),
            outgoing_by: None,
            result: "Call connected".into(),
            recordings: vec![SimPhoneRecording {
                id: format!("rec.{i}..~x"),
                recording_type: "Automatic".into(),
                start: start + Duration::minutes(i as i64),
                end: start + Duration::minutes(i as i64 + 3),
                size: 2_500,
                available_at: start + Duration::minutes(10),
                deleted: false,
            }],
        })
        .collect();
    Scenario {
        accounts: vec![SimAccount {
            account_id: "hostile-account".into(),
            client_id: "hostile-client".into(),
            client_secret: "hostile-secret".into(),
            users: vec![SimUser {
                id: "u-alice".into(),
                email: email.clone(),
                name: "Alice".into(),
                extension: Some(1001),
                phone_number: None,
                ..SimUser::default()
            }],
            meetings,
            calls,
        }],
        options: SimOptions::default(),
    }
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test]
async fn hostile_identifiers_give_safe_stable_keys_and_no_path_traversal() {
    let now = Utc::now();
    let outside = tempfile::tempdir().unwrap();
    let sim = SimServer::start_with_clock(hostile_scenario(now), SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::tenant_config(
        &sim,
        "hostile-account",
        "hostile-client",
        "hostile-secret",
        &[("alice@acme.example", "1001", "voice")],
    );
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    let ((m, p), d) = h.cycle().await;
    assert_eq!((m.new_files, p.new_files), (8, 3), "{m:?} {p:?}");
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let r = assert_invariants(&h).await;
    assert_eq!(r.archived, 11);

    let objects = h.dir.path().join("objects").canonicalize().unwrap();
    let mut on_disk = Vec::new();
    walk(&objects, &mut on_disk);
    let files = h.files().await;
    // Waveform peaks sidecars (derived data) lie under the archive too, each beside its
    // recording (its key escaped the same way), and nowhere else.
    let (sidecars, recordings): (Vec<_>, Vec<_>) = on_disk.iter().partition(|p| {
        p.strip_prefix(&objects).is_ok_and(|r| {
            r.components()
                .nth(1)
                .is_some_and(|c| c.as_os_str() == "derived")
        })
    });
    for s in &sidecars {
        let rel = s
            .strip_prefix(&objects)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let sidecar = ObjectKey::parse(rel.clone()).unwrap();
        let rec = archiver_core::recording_of_peaks(&sidecar).unwrap_or_else(|| panic!("{rel}"));
        assert!(
            files.iter().any(|f| f.object_key == rec),
            "{rel} lies beside an archived recording"
        );
    }
    assert_eq!(recordings.len(), files.len(), "{on_disk:?}");
    for f in &files {
        assert!(matches!(f.state, FileState::Archived { .. }));
        let key = f.object_key.as_str();
        assert_eq!(ObjectKey::parse(key).unwrap(), f.object_key);
        assert!(f.object_key.belongs_to(&f.tenant));
        let segs: Vec<&str> = key.split('/').collect();
        assert_eq!(segs.len(), 7, "{key}");
        assert!(
            segs.iter()
                .all(|s| *s != "." && *s != ".." && !s.is_empty()),
            "{key}"
        );
        assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key:?}");
        // Stable: deriving again gives the same key.
        let again = ObjectKey::derive(
            &f.tenant,
            f.source,
            f.conversation_start,
            &f.conversation_id,
            &f.file_id,
            key.rsplit('.').next().unwrap(),
        );
        assert_eq!(again, f.object_key);
        let path = objects.join(key).canonicalize().unwrap();
        assert!(path.starts_with(&objects), "{path:?} escapes {objects:?}");
    }
    // Nothing was written next to the archive or anywhere outside it.
    let mut top: Vec<String> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("archive.db"))
        .collect();
    top.sort();
    assert_eq!(top, ["objects"]);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

fn tenant() -> TenantId {
    serde_json::from_value(serde_json::json!("acme")).unwrap()
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        prop_oneof![
            ".*",
            Just("2024-03-01T10:00:00Z".to_string()),
            Just("2024-03-01T10:00:00+00:00".to_string()),
            Just("".to_string()),
            Just("completed".to_string()),
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("uuid".to_string()),
        Just("id".to_string()),
        Just("meetings".to_string()),
        Just("recordings".to_string()),
        Just("archive_files".to_string()),
        Just("start_time".to_string()),
        Just("complete_time".to_string()),
        Just("date_time".to_string()),
        Just("file_size".to_string()),
        Just("owner".to_string()),
        Just("extension_number".to_string()),
        Just("next_page_token".to_string()),
        "[a-z_]{1,12}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn payload_parsers_never_panic_on_arbitrary_json(v in arb_json()) {
        let _ = serde_json::from_value::<ArchiveFilesPage>(v.clone());
        let _ = serde_json::from_value::<PhoneRecordingsPage>(v.clone());
        let _ = serde_json::from_value::<ArchiveMeeting>(v.clone());
        let text = v.to_string();
        let _ = serde_json::from_str::<ArchiveFilesPage>(&text);
        let _ = serde_json::from_str::<PhoneRecordingsPage>(&text);
    }

    #[test]
    fn payload_parsers_never_panic_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<ArchiveFilesPage>(&b);
        let _ = serde_json::from_slice::<PhoneRecordingsPage>(&b);
    }

    #[test]
    fn derived_keys_are_valid_confined_and_stable(
        conv in any::<String>(),
        file in any::<String>(),
        ext in any::<String>(),
        secs in 0i64..4_102_444_800,
        phone in any::<bool>(),
    ) {
        let t = tenant();
        let source = if phone { Source::Phone } else { Source::Meetings };
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        let k = ObjectKey::derive(&t, source, at, &conv, &file, &ext);
        prop_assert_eq!(ObjectKey::parse(k.as_str()).unwrap(), k.clone());
        prop_assert!(k.belongs_to(&t));
        let segs: Vec<&str> = k.as_str().split('/').collect();
        prop_assert_eq!(segs.len(), 7);
        prop_assert!(segs.iter().all(|s| !s.is_empty() && *s != "." && *s != ".."));
        prop_assert!(k.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.%/".contains(&b)));
        prop_assert!(k.as_str().len() <= 1024);
        prop_assert_eq!(ObjectKey::derive(&t, source, at, &conv, &file, &ext), k);
    }

    #[test]
    fn distinct_short_ids_give_distinct_keys(a in ".{0,30}", b in ".{0,30}") {
        prop_assume!(a != b);
        let t = tenant();
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let ka = ObjectKey::derive(&t, Source::Meetings, at, &a, "f", "m4a");
        let kb = ObjectKey::derive(&t, Source::Meetings, at, &b, "f", "m4a");
        prop_assert_ne!(ka, kb);
        let fa = ObjectKey::derive(&t, Source::Meetings, at, "c", &a, "m4a");
        let fb = ObjectKey::derive(&t, Source::Meetings, at, "c", &b, "m4a");
        prop_assert_ne!(fa, fb);
    }
}
