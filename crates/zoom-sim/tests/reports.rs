//! Integration tests: call history, call logs and dashboard metrics.

mod common;

use chrono::Duration;
use common::*;

#[tokio::test]
async fn call_history_and_call_path_link_recordings() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let api = sim.api_base_url();
    let from = (t0() - Duration::days(4)).format("%Y-%m-%d");
    let to = t0().format("%Y-%m-%d");
    let (s, v) = get_json(
        &format!("{api}/phone/call_history?page_size=300&from={from}&to={to}"),
        &tok,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let calls = &sim.scenario().accounts[0].calls;
    let items = v["call_history"].as_array().unwrap();
    assert_eq!(items.len(), calls.iter().filter(|c| c.end <= t0()).count());
    assert_eq!(v["from"], from.to_string().as_str());
    let recorded = items
        .iter()
        .find(|i| i["recording_status"] == "recorded")
        .unwrap();
    for key in [
        "call_history_uuid",
        "call_id",
        "direction",
        "start_time",
        "end_time",
        "duration",
        "call_result",
        "caller_ext_number",
        "caller_name",
        "caller_email",
        "caller_did_number",
        "callee_ext_number",
        "callee_name",
        "callee_email",
        "callee_did_number",
    ] {
        assert!(recorded.get(key).is_some(), "missing {key}");
    }
    let call = calls
        .iter()
        .find(|c| c.call_id == recorded["call_id"])
        .unwrap();
    let uuid = recorded["call_history_uuid"].as_str().unwrap();
    let (s, p) = get_json(&format!("{api}/phone/call_history/{uuid}"), &tok).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = p["call_path"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["recording_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        call.recordings
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
    );
    // Too wide.
    let (s, _) = get_json(
        &format!("{api}/phone/call_history?from=2025-01-01&to=2025-03-10"),
        &tok,
    )
    .await;
    assert_eq!(s, 400);

    let (s, v) = get_json(
        &format!("{api}/phone/call_logs?page_size=300&from={from}&to={to}"),
        &tok,
    )
    .await;
    assert_eq!(s, 200);
    let logs = v["call_logs"].as_array().unwrap();
    assert_eq!(logs.len(), items.len());
    let log = logs
        .iter()
        .find(|l| l["call_id"] == call.call_id.as_str())
        .unwrap();
    assert_eq!(log["recording_id"], call.recordings[0].id.as_str());
    assert!(log["owner"]["extension_number"].is_u64());
    let r = get(&format!("{api}/phone/call_logs"), &tok).await;
    assert_eq!(r.headers()["x-ratelimit-category"], "Heavy");
    assert_eq!(r.headers()["x-ratelimit-limit"], "10");
}

#[tokio::test]
async fn metrics_meetings_and_participants() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let api = sim.api_base_url();
    let from = (t0() - Duration::days(4)).format("%Y-%m-%d");
    let to = t0().format("%Y-%m-%d");
    let (s, v) = get_json(
        &format!("{api}/metrics/meetings?type=past&page_size=300&from={from}&to={to}"),
        &tok,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ms = v["meetings"].as_array().unwrap();
    let weird = ms.iter().find(|m| m["uuid"] == WEIRD_UUID).unwrap();
    assert_eq!(weird["duration"], "30:00");
    assert_eq!(weird["has_archiving"], true);
    assert_eq!(weird["participants"], 2);
    assert!(ms.iter().all(|m| m["uuid"] != "external=="));
    // Missing from/to.
    assert_eq!(
        get_json(&format!("{api}/metrics/meetings?type=past"), &tok)
            .await
            .0,
        400
    );
    let r = get(
        &format!("{api}/metrics/meetings?type=past&from={from}&to={to}"),
        &tok,
    )
    .await;
    assert_eq!(r.headers()["x-ratelimit-category"], "Resource-intensive");

    let once: String =
        percent_encoding::utf8_percent_encode(WEIRD_UUID, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let twice: String =
        percent_encoding::utf8_percent_encode(&once, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let (s, v) = get_json(
        &format!("{api}/metrics/meetings/{twice}/participants?type=past&page_size=1"),
        &tok,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total_records"], 2);
    assert_eq!(v["participants"][0]["role"], "host");
    let next = v["next_page_token"].as_str().unwrap();
    let (_, v2) = get_json(&format!("{api}/metrics/meetings/{twice}/participants?type=past&page_size=1&next_page_token={next}"), &tok).await;
    // A rejoin is a duplicate row for the same person.
    assert_eq!(
        v2["participants"][0]["email"],
        v["participants"][0]["email"]
    );
    assert_ne!(
        v2["participants"][0]["join_time"],
        v["participants"][0]["join_time"]
    );
    assert_eq!(v2["next_page_token"], "");
    let (s, v) = get_json(
        &format!("{api}/metrics/meetings/{twice}/participants"),
        &tok,
    )
    .await;
    assert_eq!((s, v["code"].as_i64()), (404, Some(3001)));
}
