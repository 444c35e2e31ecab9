//! Decodable media fixtures: files mapped in `SimOptions::fixtures` are served verbatim from
//! the embedded fixture bytes (size, `file_size`, digest and fingerprint follow).

mod common;

use chrono::Duration;
use common::*;
use serde_json::Value;
use zoom_sim::{Scenario, SimOptions};

fn fixture(name: &str) -> &'static [u8] {
    SimOptions::fixture_bytes(name).unwrap_or_else(|| panic!("fixture {name}"))
}

#[test]
fn fixtures_are_embedded_and_small() {
    let names = SimOptions::fixture_names();
    for n in [
        "phone_tone_silence.mp3",
        "meeting_audio.m4a",
        "meeting_audio_party_b.m4a",
        "meeting_video.mp4",
    ] {
        assert!(names.contains(&n), "{n}");
        let b = fixture(n);
        assert!(
            b.len() > 10_000 && b.len() < 300_000,
            "{n}: {} bytes",
            b.len()
        );
    }
    assert_eq!(&fixture("phone_tone_silence.mp3")[..3], b"ID3");
    assert_eq!(&fixture("meeting_audio.m4a")[4..12], b"ftypM4A ");
    assert_eq!(&fixture("meeting_video.mp4")[4..8], b"ftyp");
    assert!(SimOptions::fixture_bytes("nope.mp3").is_none());
}

#[test]
fn demo_maps_every_meeting_media_file_and_two_phone_recordings() {
    let d = Scenario::demo(t0());
    let fx = &d.options.fixtures;
    let a = &d.accounts[0];
    // Every meeting audio and video file is served from a fixture, nothing else is.
    let media: Vec<_> = a
        .meetings
        .iter()
        .flat_map(|m| &m.files)
        .filter(|f| f.file_type == "M4A" || f.file_type == "MP4")
        .collect();
    assert!(media.iter().all(|f| fx.contains_key(&f.id)));
    assert_eq!(fx.len(), media.len() + 2);
    for f in &media {
        let name = &fx[&f.id];
        assert_eq!(f.size, fixture(name).len() as u64, "{name}");
        assert_eq!(name == "meeting_video.mp4", f.file_type == "MP4");
    }
    let m = &a.meetings[0];
    for (email, name) in [
        ("alice@acme.example", "meeting_audio.m4a"),
        ("bob@acme.example", "meeting_audio_party_b.m4a"),
    ] {
        let f = m
            .files
            .iter()
            .find(|f| f.individual && f.participant_email.as_deref() == Some(email))
            .unwrap();
        assert_eq!(f.file_type, "M4A");
        assert_eq!(fx.get(&f.id).map(String::as_str), Some(name));
        assert_eq!(f.size, fixture(name).len() as u64);
    }
    let recs: Vec<_> = a
        .calls
        .iter()
        .flat_map(|c| &c.recordings)
        .filter(|r| fx.get(&r.id).map(String::as_str) == Some("phone_tone_silence.mp3"))
        .collect();
    assert_eq!(recs.len(), 2);
    // Their Zoom duration is the fixture's 20 s, so the measured length agrees.
    assert!(recs.iter().all(|r| (r.end - r.start).num_seconds() == 20));
    // The option survives a JSON round trip; scenarios without it default to empty.
    let back: Scenario = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(&back.options.fixtures, fx);
    let plain: SimOptions = serde_json::from_str("{}").unwrap();
    assert!(plain.fixtures.is_empty());
}

#[tokio::test]
async fn demo_serves_fixture_bytes_for_archive_files() {
    let now = t0();
    let d = Scenario::demo(now);
    let fx = d.options.fixtures.clone();
    let sim = zoom_sim::SimServer::start_with_clock(d, zoom_sim::SimClock::manual(now))
        .await
        .unwrap();
    let tok = token_for(&sim, "demo-account", "demo-client", "demo-secret").await;
    let (s, v) = get_json(
        &format!(
            "{}/archive_files?page_size=300&from={}&to={}",
            sim.api_base_url(),
            z(now - Duration::days(3)),
            z(now)
        ),
        &tok,
    )
    .await;
    assert_eq!(s, 200);
    let files: Vec<&Value> = v["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["archive_files"].as_array().unwrap())
        .filter(|f| fx.contains_key(f["id"].as_str().unwrap()))
        .collect();
    // Every listed audio/video file of the demo is a fixture.
    let media = v["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["archive_files"].as_array().unwrap())
        .filter(|f| matches!(f["file_type"].as_str(), Some("M4A" | "MP4")))
        .count();
    assert_eq!(files.len(), media);
    assert!(files.iter().any(|f| f["file_type"] == "MP4"));
    let mut checked = std::collections::BTreeSet::new();
    for f in files {
        let id = f["id"].as_str().unwrap();
        // One download per fixture kind is enough.
        if !checked.insert(fx[id].clone()) {
            continue;
        }
        let want = fixture(&fx[id]);
        let video = fx[id] == "meeting_video.mp4";
        assert_eq!(f["file_extension"], if video { "MP4" } else { "M4A" });
        assert_eq!(f["file_size"].as_u64().unwrap(), want.len() as u64);
        assert_eq!(f["encryption_fingerprint"], sha(want).as_str());
        let r = get(f["download_url"].as_str().unwrap(), &tok).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            if video { "video/mp4" } else { "audio/mp4" }
        );
        let body = r.bytes().await.unwrap();
        assert_eq!(&body[..], want, "{id}");
        assert_eq!(sim.file_digest(id).unwrap(), (want.len() as u64, sha(want)));
        // Ranges slice the fixture.
        let r = client()
            .get(f["download_url"].as_str().unwrap())
            .bearer_auth(&tok)
            .header("range", "bytes=100-1099")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(&r.bytes().await.unwrap()[..], &want[100..1100]);
    }
}

#[tokio::test]
async fn demo_serves_fixture_bytes_for_phone_recordings() {
    let now = t0();
    let d = Scenario::demo(now);
    let fx = d.options.fixtures.clone();
    let sim = zoom_sim::SimServer::start_with_clock(d, zoom_sim::SimClock::manual(now))
        .await
        .unwrap();
    let tok = token_for(&sim, "demo-account", "demo-client", "demo-secret").await;
    let (s, v) = get_json(
        &format!("{}/phone/recordings?page_size=300", sim.api_base_url()),
        &tok,
    )
    .await;
    assert_eq!(s, 200);
    let want = fixture("phone_tone_silence.mp3");
    let mut served = 0;
    for rec in v["recordings"].as_array().unwrap() {
        let id = rec["id"].as_str().unwrap();
        if !fx.contains_key(id) {
            continue;
        }
        served += 1;
        let r = get(rec["download_url"].as_str().unwrap(), &tok).await;
        assert_eq!(r.status(), 302);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let r = client().get(&loc).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "audio/mpeg");
        assert_eq!(&r.bytes().await.unwrap()[..], want);
        assert_eq!(sim.file_digest(id).unwrap(), (want.len() as u64, sha(want)));
    }
    assert_eq!(served, 2);
}

#[tokio::test]
async fn any_file_can_be_mapped_to_a_fixture() {
    let mut s = scenario();
    s.options.serve_fixture("weird-mp4", "meeting_video.mp4");
    let sim = start(s).await;
    let tok = token(&sim).await;
    let want = fixture("meeting_video.mp4");
    assert_eq!(
        sim.file_digest("weird-mp4").unwrap(),
        (want.len() as u64, sha(want))
    );
    let (st, v) = get_json(
        &format!(
            "{}/past_meetings/{}/archive_files",
            sim.api_base_url(),
            urlencode(WEIRD_UUID)
        ),
        &tok,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let f = v["archive_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "weird-mp4")
        .unwrap();
    assert_eq!(f["file_size"].as_u64().unwrap(), want.len() as u64);
    let body = get(f["download_url"].as_str().unwrap(), &tok)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], want);
}

fn urlencode(s: &str) -> String {
    // Meeting UUIDs that start with `/` or contain `//` are double-encoded.
    let once =
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC).to_string()
}
