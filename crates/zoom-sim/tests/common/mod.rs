//! Shared helpers for the zoom-sim integration tests.
#![allow(
    dead_code,
    reason = "shared by several test binaries, each using a part"
)]

use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zoom_sim::{
    GenSpec, Scenario, SimAccount, SimArchiveFile, SimClock, SimMeeting, SimParticipant, SimServer,
};

pub const WEIRD_UUID: &str = "/ab//Cd+eF0gH1iJ2kL3mN==";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 12, 12, 0, 0).unwrap()
}

fn file(id: &str, ft: &str, start: DateTime<Utc>, size: u64) -> SimArchiveFile {
    SimArchiveFile {
        id: id.into(),
        file_type: ft.into(),
        recording_type: "audio_only".into(),
        individual: false,
        participant_email: None,
        join: start,
        leave: start + Duration::minutes(30),
        size,
        available_at: None,
        failed: false,
        deleted: false,
    }
}

fn meeting(uuid: &str, start: DateTime<Utc>, files: Vec<SimArchiveFile>) -> SimMeeting {
    SimMeeting {
        uuid: uuid.into(),
        id: 85_000_000_001,
        host_id: "host-1".into(),
        topic: "Hand-made".into(),
        start_time: start,
        duration_secs: 1800,
        external: false,
        parent_uuid: None,
        complete_time: start + Duration::minutes(40),
        participants: vec![SimParticipant {
            user_id: "host-1".into(),
            name: "Host One".into(),
            email: "host@corp.example".into(),
            segments: vec![
                (start, start + Duration::minutes(10)),
                (start + Duration::minutes(12), start + Duration::minutes(30)),
            ],
        }],
        files,
    }
}

/// Generated account A (small files) + hand-made meetings + account B.
pub fn scenario() -> Scenario {
    let now = t0();
    let mut s = Scenario::generate(&GenSpec {
        seed: 7,
        start: now - Duration::days(3),
        days: 3,
        users: 4,
        meetings_per_day: 3,
        calls_per_day: 4,
        recorded_call_ratio: 0.75,
        min_size: 2_000,
        max_size: 40_000,
    });
    let a = &mut s.accounts[0];
    a.account_id = "acct-a".into();
    a.client_id = "cid-a".into();
    a.client_secret = "sec-a".into();
    let start = now - Duration::hours(20);
    a.meetings.push(meeting(
        WEIRD_UUID,
        start,
        vec![
            file("weird-mp4", "MP4", start, 150_000),
            file("weird-chat", "CHAT", start, 3_000),
            file("weird-transcript", "TRANSCRIPT", start, 5_000),
        ],
    ));
    let late_start = now - Duration::hours(2);
    let mut late = meeting(
        "late+meeting==",
        late_start,
        vec![file("late-m4a", "M4A", late_start, 20_000)],
    );
    late.complete_time = now + Duration::hours(1);
    a.meetings.push(late);
    let mut ext = meeting(
        "external==",
        now - Duration::hours(30),
        vec![file("ext-m4a", "M4A", now, 9_000)],
    );
    ext.external = true;
    a.meetings.push(ext);

    let mut b = SimAccount {
        account_id: "acct-b".into(),
        client_id: "cid-b".into(),
        client_secret: "sec-b".into(),
        ..SimAccount::default()
    };
    b.meetings.push(meeting(
        "b-only==",
        now - Duration::hours(5),
        vec![file("b-file", "M4A", now, 5_000)],
    ));
    s.accounts.push(b);
    s
}

pub async fn start(s: Scenario) -> SimServer {
    SimServer::start_with_clock(s, SimClock::manual(t0()))
        .await
        .expect("start sim")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub async fn token_for(sim: &SimServer, account: &str, id: &str, secret: &str) -> String {
    let r = client()
        .post(format!(
            "{}?grant_type=account_credentials&account_id={account}",
            sim.oauth_url()
        ))
        .header("authorization", basic(id, secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

pub async fn token(sim: &SimServer) -> String {
    token_for(sim, "acct-a", "cid-a", "sec-a").await
}

pub async fn get(url: &str, token: &str) -> reqwest::Response {
    client().get(url).bearer_auth(token).send().await.unwrap()
}

pub async fn get_json(url: &str, token: &str) -> (u16, Value) {
    let r = get(url, token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

pub fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub fn z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
