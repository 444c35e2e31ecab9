//! Integration tests: OAuth, listings, pagination, downloads.

mod common;

use std::collections::HashSet;

use chrono::Duration;
use common::*;
use serde_json::Value;

#[tokio::test]
async fn token_issue_and_bad_credentials() {
    let sim = start(scenario()).await;
    let c = client();
    // Query params.
    let r = c
        .post(format!(
            "{}?grant_type=account_credentials&account_id=acct-a",
            sim.oauth_url()
        ))
        .header("authorization", basic("cid-a", "sec-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert!(v["scope"].as_str().unwrap().contains("phone:read"));
    assert!(
        sim.api_base_url()
            .starts_with(v["api_url"].as_str().unwrap())
    );
    // Form body.
    let r = c
        .post(sim.oauth_url())
        .header("authorization", basic("cid-a", "sec-a"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=account_credentials&account_id=acct-a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bad secret.
    let r = c
        .post(format!(
            "{}?grant_type=account_credentials&account_id=acct-a",
            sim.oauth_url()
        ))
        .header("authorization", basic("cid-a", "nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["reason"], "Invalid client_id or client_secret");
    // Unknown account.
    let r = c
        .post(format!(
            "{}?grant_type=account_credentials&account_id=zzz",
            sim.oauth_url()
        ))
        .header("authorization", basic("cid-a", "sec-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
    assert_eq!(v["reason"], "Account does not exist");
    assert_eq!(sim.stats().tokens_issued, 2);
    assert_eq!(sim.stats().by_endpoint["POST /oauth/token"], 4);
}

#[tokio::test]
async fn token_expiry_and_revocation() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/archive_files", sim.api_base_url());
    assert_eq!(get_json(&url, &tok).await.0, 200);
    let (s, v) = get_json(&url, "garbage").await;
    assert_eq!((s, v["code"].as_i64()), (401, Some(124)));
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);

    sim.clock().advance(Duration::seconds(3601));
    let (s, v) = get_json(&url, &tok).await;
    assert_eq!(s, 401);
    assert_eq!(v["message"], "Invalid access token.");

    let tok2 = token(&sim).await;
    assert_eq!(get_json(&url, &tok2).await.0, 200);
    sim.faults().revoke_tokens();
    assert_eq!(get_json(&url, &tok2).await.0, 401);
    let tok3 = token(&sim).await;
    assert_eq!(get_json(&url, &tok3).await.0, 200);
}

#[tokio::test]
async fn tokens_are_bound_to_their_account() {
    let sim = start(scenario()).await;
    let a = token(&sim).await;
    let b = token_for(&sim, "acct-b", "cid-b", "sec-b").await;
    let url = format!("{}/archive_files?page_size=300", sim.api_base_url());
    let (_, va) = get_json(&url, &a).await;
    let (_, vb) = get_json(&url, &b).await;
    let uuids_b: Vec<&str> = vb["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids_b, vec!["b-only=="]);
    assert!(
        va["meetings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["uuid"] != "b-only==")
    );
    // B cannot download A's file, nor see A's meeting.
    let r = get(
        &format!("{}/rec/archive/download/weird-mp4", sim.web_origin()),
        &b,
    )
    .await;
    assert_eq!(r.status(), 404);
    let (s, v) = get_json(
        &format!(
            "{}/past_meetings/b-only%3D%3D/archive_files",
            sim.api_base_url()
        ),
        &a,
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (404, Some(3001)));
}

#[tokio::test]
async fn archive_listing_shape_and_pagination() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let from = z(t0() - Duration::days(6));
    let to = z(t0());
    let base = format!(
        "{}/archive_files?page_size=2&from={from}&to={to}",
        sim.api_base_url()
    );
    let mut seen = Vec::new();
    let mut url = base.clone();
    let mut total = None;
    let mut first_token = String::new();
    loop {
        let (s, v) = get_json(&url, &tok).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["page_size"], 2);
        assert_eq!(v["from"], from.as_str());
        total.get_or_insert(v["total_records"].as_u64().unwrap());
        for m in v["meetings"].as_array().unwrap() {
            seen.push(m["uuid"].as_str().unwrap().to_string());
            for key in [
                "uuid",
                "type",
                "start_time",
                "timezone",
                "duration",
                "duration_in_second",
                "total_size",
                "recording_count",
                "meeting_type",
                "account_name",
                "complete_time",
                "is_breakout_room",
                "status",
                "archive_files",
            ] {
                assert!(m.get(key).is_some(), "missing {key} in {m}");
            }
            for f in m["archive_files"].as_array().unwrap() {
                for key in [
                    "id",
                    "file_type",
                    "file_extension",
                    "file_size",
                    "download_url",
                    "status",
                    "recording_type",
                    "individual",
                    "participant_join_time",
                    "participant_leave_time",
                    "encryption_fingerprint",
                ] {
                    assert!(f.get(key).is_some(), "missing {key} in {f}");
                }
                assert_eq!(
                    f.get("participant_email").is_some(),
                    f["individual"] == true
                );
                assert!(f["participant_join_time"].as_str().unwrap().ends_with('Z'));
            }
        }
        let next = v["next_page_token"].as_str().unwrap().to_string();
        if next.is_empty() {
            break;
        }
        if first_token.is_empty() {
            first_token = next.clone();
        }
        url = format!("{base}&next_page_token={next}");
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates: {seen:?}");
    assert_eq!(seen.len() as u64, total.unwrap());
    let expected = sim.scenario().accounts[0]
        .meetings
        .iter()
        .filter(|m| m.start_time >= t0() - Duration::days(6) && m.start_time <= t0())
        .count();
    assert_eq!(seen.len(), expected);
    assert!(seen.len() > 4);

    // Token bound to the query.
    let other = format!(
        "{}/archive_files?page_size=3&from={from}&to={to}&next_page_token={first_token}",
        sim.api_base_url()
    );
    let (s, v) = get_json(&other, &tok).await;
    assert_eq!((s, v["code"].as_i64()), (400, Some(300)));
    assert_eq!(v["message"], "The next page token is invalid or expired.");
    // Still valid with the same query...
    let same = format!("{base}&next_page_token={first_token}");
    assert_eq!(get_json(&same, &tok).await.0, 200);
    // ...until it expires (15 minutes).
    sim.clock().advance(Duration::seconds(901));
    let tok = token(&sim).await;
    let (s, v) = get_json(&same, &tok).await;
    assert_eq!((s, v["code"].as_i64()), (400, Some(300)));
}

#[tokio::test]
async fn archive_range_limits_and_to_clamp() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let api = sim.api_base_url();
    let (s, v) = get_json(
        &format!(
            "{api}/archive_files?from={}&to={}",
            z(t0() - Duration::days(8)),
            z(t0())
        ),
        &tok,
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (400, Some(300)));
    let (s, v) = get_json(
        &format!(
            "{api}/archive_files?from={}&to={}",
            z(t0() - Duration::days(2)),
            z(t0() + Duration::days(3))
        ),
        &tok,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["to"], z(t0()).as_str());
    assert_eq!(v["next_page_token"], "");
}

#[tokio::test]
async fn double_encoded_uuid_round_trips() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let once: String =
        percent_encoding::utf8_percent_encode(WEIRD_UUID, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let twice: String =
        percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    assert!(twice.contains("%252F"));
    let (s, v) = get_json(
        &format!("{}/past_meetings/{twice}/archive_files", sim.api_base_url()),
        &tok,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["uuid"], WEIRD_UUID);
    assert_eq!(v["archive_files"].as_array().unwrap().len(), 3);
    assert_eq!(v["archive_files"][1]["file_extension"], "TXT");
    let (s, v) = get_json(
        &format!("{}/past_meetings/nope/archive_files", sim.api_base_url()),
        &tok,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_i64(), v["message"].as_str()),
        (404, Some(3001), Some("Meeting does not exist."))
    );
    assert_eq!(sim.stats().by_category["Light"], 2);
}

#[tokio::test]
async fn late_completing_meeting_and_external_stripping() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let api = sim.api_base_url();
    let from = z(t0() - Duration::days(2));
    let to = z(t0() + Duration::days(2));
    let by_complete = format!(
        "{api}/archive_files?page_size=300&query_date_type=archive_complete_time&from={from}&to={to}"
    );
    let by_start = format!("{api}/archive_files?page_size=300&from={from}&to={to}");
    let find = |v: &Value, uuid: &str| {
        v["meetings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["uuid"] == uuid)
            .cloned()
    };

    let (_, v) = get_json(&by_complete, &tok).await;
    assert!(find(&v, "late+meeting==").is_none());
    let (_, v) = get_json(&by_start, &tok).await;
    let late = find(&v, "late+meeting==").expect("listed by start time");
    assert_eq!(late["status"], "processing");
    assert_eq!(late["complete_time"], "");
    assert_eq!(late["archive_files"][0]["status"], "processing");
    let r = get(
        &format!("{}/rec/archive/download/late-m4a", sim.web_origin()),
        &tok,
    )
    .await;
    assert_eq!(r.status(), 404);
    // External meeting: PII stripped.
    let ext = find(&v, "external==").unwrap();
    assert_eq!(ext["meeting_type"], "external");
    assert!(ext.get("id").is_none() && ext.get("host_id").is_none() && ext.get("topic").is_none());

    sim.clock().advance(Duration::hours(2));
    let tok = token(&sim).await;
    let (_, v) = get_json(&by_complete, &tok).await;
    let late = find(&v, "late+meeting==").expect("visible after completion");
    assert_eq!(late["status"], "completed");
    assert_eq!(late["complete_time"], z(t0() + Duration::hours(1)).as_str());
    assert_eq!(late["archive_files"][0]["status"], "completed");
}

#[tokio::test]
async fn archive_download_matches_fingerprint() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let (_, v) = get_json(
        &format!(
            "{}/past_meetings/{}/archive_files",
            sim.api_base_url(),
            "late%2Bmeeting%3D%3D"
        ),
        &tok,
    )
    .await;
    assert_eq!(v["uuid"], "late+meeting==");
    let (_, v) = get_json(
        &format!(
            "{}/archive_files?page_size=300&from={}&to={}",
            sim.api_base_url(),
            z(t0() - Duration::days(1)),
            z(t0())
        ),
        &tok,
    )
    .await;
    let m = v["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["uuid"] == WEIRD_UUID)
        .unwrap()
        .clone();
    for (f, ctype) in m["archive_files"].as_array().unwrap().iter().zip([
        "video/mp4",
        "text/plain",
        "application/json",
    ]) {
        let id = f["id"].as_str().unwrap();
        let url = f["download_url"].as_str().unwrap();
        assert!(url.starts_with(&sim.web_origin()));
        assert_eq!(get(url, "bad").await.status(), 401);
        let r = get(url, &tok).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], ctype);
        let len: u64 = r.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = r.bytes().await.unwrap();
        let (size, digest) = sim.file_digest(id).unwrap();
        assert_eq!(body.len() as u64, size);
        assert_eq!(len, size);
        assert_eq!(f["file_size"].as_u64().unwrap(), size);
        assert_eq!(sha(&body), digest);
        assert_eq!(f["encryption_fingerprint"], digest.as_str());
        if ctype == "application/json" {
            serde_json::from_slice::<Value>(&body).expect("transcript is JSON");
        }
        if ctype == "video/mp4" {
            assert_eq!(&body[4..8], b"ftyp");
        }
    }
    let st = sim.stats();
    assert_eq!(st.downloads_started, 3);
    assert_eq!(st.downloads_completed, 3);
    assert_eq!(st.by_endpoint["GET /rec/archive/download"], 6);
    assert_eq!(st.by_category["Download"], 6);
}

#[tokio::test]
async fn phone_recordings_listing_and_pagination() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let api = sim.api_base_url();
    let acct = &sim.scenario().accounts[0];
    let expected: HashSet<String> = acct
        .calls
        .iter()
        .flat_map(|c| c.recordings.iter())
        .filter(|r| r.available_at <= t0())
        .map(|r| r.id.clone())
        .collect();
    assert!(expected.len() >= 4);
    let base = format!(
        "{api}/phone/recordings?page_size=2&from={}&to={}",
        (t0() - Duration::days(5)).format("%Y-%m-%d"),
        t0().format("%Y-%m-%d")
    );
    let mut url = base.clone();
    let mut seen = Vec::new();
    loop {
        let (s, v) = get_json(&url, &tok).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["total_records"].as_u64().unwrap() as usize,
            expected.len()
        );
        for r in v["recordings"].as_array().unwrap() {
            for key in [
                "id",
                "call_id",
                "call_log_id",
                "caller_number",
                "caller_name",
                "caller_number_type",
                "callee_number",
                "callee_name",
                "callee_number_type",
                "date_time",
                "end_time",
                "duration",
                "direction",
                "recording_type",
                "download_url",
                "owner",
                "site",
            ] {
                assert!(r.get(key).is_some(), "missing {key}");
            }
            assert!(r["owner"]["extension_number"].is_u64());
            assert_eq!(r["id"].as_str().unwrap().len(), 32);
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        let next = v["next_page_token"].as_str().unwrap();
        if next.is_empty() {
            break;
        }
        url = format!("{base}&next_page_token={next}");
    }
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);
    // Range > 1 month.
    let (s, v) = get_json(
        &format!("{api}/phone/recordings?from=2025-01-01&to=2025-03-10"),
        &tok,
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (400, Some(300)));
    // Headers.
    let r = get(&format!("{api}/phone/recordings"), &tok).await;
    assert_eq!(r.headers()["x-ratelimit-category"], "Medium");
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert_eq!(r.headers()["x-ratelimit-limit"], "20");
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
}

#[tokio::test]
async fn phone_download_redirects_to_file_host() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let (_, v) = get_json(
        &format!("{}/phone/recordings?page_size=300", sim.api_base_url()),
        &tok,
    )
    .await;
    let rec = v["recordings"][0].clone();
    let id = rec["id"].as_str().unwrap();
    let url = rec["download_url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("{}/v2/phone/recording/download/{id}", sim.web_origin())
    );
    let r = get(url, &tok).await;
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&format!(
        "{}/file?business=phone&filename=call_recording_{id}.mp3&jwt=",
        sim.web_origin()
    )));
    // The file host needs no Bearer.
    let r = client().get(&loc).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    let body = r.bytes().await.unwrap();
    assert_eq!(&body[..3], b"ID3");
    let (size, digest) = sim.file_digest(id).unwrap();
    assert_eq!((body.len() as u64, sha(&body)), (size, digest));
    // The frames follow the ID3 tag.
    let tag = 10 + u32::from_be_bytes([0, body[7], body[8], body[9]]) as usize;
    assert_eq!(&body[tag..tag + 4], &[0xFF, 0xFB, 0x94, 0xC0]);
    assert!(
        !sim.stats()
            .by_endpoint
            .contains_key("GET /file (with Authorization)")
    );
    // Tampered jwt.
    let r = client().get(format!("{loc}x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // A client that forwards Authorization across the redirect is counted.
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        sha(&r.bytes().await.unwrap()),
        sim.file_digest(id).unwrap().1
    );
    assert_eq!(sim.stats().by_endpoint["GET /file (with Authorization)"], 1);
    // Unknown recording.
    let r = get(
        &format!(
            "{}/v2/phone/recording/download/ffffffffffffffffffffffffffffffff",
            sim.web_origin()
        ),
        &tok,
    )
    .await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["message"], "File does not exist.");
}

#[tokio::test]
async fn range_requests_return_the_right_slice() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-mp4", sim.web_origin());
    let full = get(&url, &tok).await.bytes().await.unwrap();
    let c = client();
    let r = c
        .get(&url)
        .bearer_auth(&tok)
        .header("range", "bytes=1000-70999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-70999/{}", full.len())
    );
    assert_eq!(r.bytes().await.unwrap(), full.slice(1000..71000));
    let r = c
        .get(&url)
        .bearer_auth(&tok)
        .header("range", "bytes=140000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), full.slice(140000..));
    let r = c
        .get(&url)
        .bearer_auth(&tok)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap(), full.slice(full.len() - 10..));
    let r = c
        .get(&url)
        .bearer_auth(&tok)
        .header("range", "bytes=999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
}

#[tokio::test]
async fn demo_and_generated_scenarios_are_sane() {
    let now = t0();
    let d = zoom_sim::Scenario::demo(now);
    let a = &d.accounts[0];
    assert_eq!(
        (
            a.account_id.as_str(),
            a.client_id.as_str(),
            a.client_secret.as_str()
        ),
        ("demo-account", "demo-client", "demo-secret")
    );
    assert_eq!(a.users.len(), 6);
    assert_eq!(a.users[0].email, "alice@acme.example");
    assert_eq!(a.users[0].extension, Some(1001));
    assert_eq!(a.meetings.len(), 8);
    assert_eq!(a.calls.len(), 20);
    assert!(a.meetings.iter().any(|m| m.parent_uuid.is_some()));
    assert!(a.meetings.iter().any(|m| m.external));
    assert!(a.meetings.iter().any(|m| m.uuid.starts_with('/')
        && m.uuid.contains("//")
        && m.uuid.contains('+')
        && m.uuid.contains('=')));
    assert!(a.calls.iter().any(|c| c.recordings.is_empty()));
    assert!(
        a.calls
            .iter()
            .any(|c| c.owner.kind == "callQueue" && c.accepted_by.is_some())
    );
    assert!(
        a.meetings
            .iter()
            .all(|m| m.start_time >= now - Duration::days(3) && m.start_time < now)
    );
    let json = serde_json::to_string(&d).unwrap();
    let back: zoom_sim::Scenario = serde_json::from_str(&json).unwrap();
    assert_eq!(back.accounts[0].meetings.len(), 8);
    let g1 = serde_json::to_string(&zoom_sim::Scenario::generate(&zoom_sim::GenSpec::default()))
        .unwrap();
    let g2 = serde_json::to_string(&zoom_sim::Scenario::generate(&zoom_sim::GenSpec::default()))
        .unwrap();
    assert_eq!(g1, g2);

    // The demo serves end to end.
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
    assert_eq!(v["total_records"], 8);
    let (s, v) = get_json(
        &format!("{}/phone/recordings?page_size=300", sim.api_base_url()),
        &tok,
    )
    .await;
    assert_eq!(s, 200);
    assert!(v["total_records"].as_u64().unwrap() >= 8);
}

#[tokio::test]
async fn get_user_by_id_or_email() {
    let mut s = scenario();
    s.accounts[0].users[1].status = zoom_sim::UserStatus::Inactive;
    let u0 = s.accounts[0].users[0].clone();
    let u1 = s.accounts[0].users[1].clone();
    let sim = start(s).await;
    let tok = token(&sim).await;
    let base = format!("{}/users", sim.api_base_url());

    // By id.
    let r = get(&format!("{base}/{}", u0.id), &tok).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-category"], "Light");
    assert_eq!(r.headers()["x-ratelimit-limit"], "80");
    let v: Value = r.json().await.unwrap();
    let (first, last) = u0.name.split_once(' ').unwrap();
    assert_eq!(v["id"], u0.id.as_str());
    assert_eq!(v["first_name"], first);
    assert_eq!(v["last_name"], last);
    assert_eq!(v["display_name"], u0.name.as_str());
    assert_eq!(v["email"], u0.email.as_str());
    assert_eq!(v["type"], 1);
    assert_eq!(v["status"], "active");
    assert_eq!(v["phone_number"], u0.phone_number.as_deref().unwrap());
    assert_eq!(v["timezone"], "UTC");
    assert_eq!(v["dept"], "");
    assert_eq!(v["role_id"], "2");
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(v["last_login_time"].as_str().unwrap().ends_with('Z'));

    // By e-mail, in another case: the deactivated user.
    let (s, v) = get_json(&format!("{base}/{}", u1.email.to_uppercase()), &tok).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], u1.id.as_str());
    assert_eq!(v["email"], u1.email.as_str());
    assert_eq!(v["status"], "inactive");

    // Unknown user.
    let (s, v) = get_json(&format!("{base}/nobody@corp.example"), &tok).await;
    assert_eq!(s, 404);
    assert_eq!(v["code"], 1001);
    assert_eq!(v["message"], "User does not exist: nobody@corp.example.");

    // Another account's user is unknown to this account's token.
    let b = token_for(&sim, "acct-b", "cid-b", "sec-b").await;
    let (s, v) = get_json(&format!("{base}/{}", u0.id), &b).await;
    assert_eq!((s, v["code"].as_i64()), (404, Some(1001)));

    // Bearer token required.
    let r = client()
        .get(format!("{base}/{}", u0.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Counted like every API route (the 401 too: counting happens before auth).
    let st = sim.stats();
    assert_eq!(st.by_endpoint["GET /users/{userId}"], 5);
    assert_eq!(st.by_category["Light"], 5);
}

#[tokio::test]
async fn get_user_obeys_the_light_rate_limit() {
    let mut s = scenario();
    s.options.rate_limit_scale = 0.025; // Light: 80/s -> 2/s
    let id = s.accounts[0].users[0].id.clone();
    let sim = start(s).await;
    let tok = token(&sim).await;
    let url = format!("{}/users/{id}", sim.api_base_url());
    let mut limited = None;
    for _ in 0..10 {
        let r = get(&url, &tok).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit"], "2");
    }
    let r = limited.expect("a 429");
    assert_eq!(r.headers()["x-ratelimit-category"], "Light");
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert!(sim.stats().rate_limited >= 1);
}
