//! Integration tests: rate limits and every fault knob.

mod common;

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use common::*;
use futures::StreamExt;
use serde_json::Value;
use zoom_sim::{RetryAfter, SimClock, SimServer};

#[tokio::test]
async fn per_second_limit_answers_429_with_headers() {
    let mut s = scenario();
    s.options.rate_limit_scale = 0.05; // Medium: 60/s -> 3/s
    let sim = start(s).await;
    let tok = token(&sim).await;
    let url = format!("{}/archive_files", sim.api_base_url());
    let mut limited = None;
    let mut ok = 0;
    for _ in 0..10 {
        let r = get(&url, &tok).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        ok += 1;
    }
    let r = limited.expect("a 429");
    assert!(ok >= 3);
    assert_eq!(r.headers()["x-ratelimit-category"], "Medium");
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], 429);
    assert_eq!(
        v["message"],
        "You have reached the maximum per-second rate limit for this API. Try again later."
    );
    assert!(sim.stats().rate_limited >= 1);
    // Refills after a second.
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    assert_eq!(get(&url, &tok).await.status(), 200);
    // Archive downloads are not rate limited.
    for _ in 0..6 {
        let r = get(
            &format!("{}/rec/archive/download/weird-chat", sim.web_origin()),
            &tok,
        )
        .await;
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key("x-ratelimit-category"));
    }
}

#[tokio::test]
async fn daily_limit_resets_at_midnight_utc() {
    let mut s = scenario();
    s.options.phone_daily_limit = 2;
    let sim = start(s).await;
    let tok = token(&sim).await;
    let url = format!("{}/phone/call_history", sim.api_base_url());
    assert_eq!(get(&url, &tok).await.status(), 200);
    assert_eq!(get(&url, &tok).await.status(), 200);
    let r = get(&url, &tok).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "Daily-limit");
    assert_eq!(r.headers()["x-ratelimit-category"], "Heavy");
    assert_eq!(r.headers()["retry-after"], "2025-03-13T00:00:00Z");
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("daily rate limit"));
    // The main table has its own budget.
    assert_eq!(
        get(
            &format!(
                "{}/metrics/meetings/{}/participants?type=past",
                sim.api_base_url(),
                1
            ),
            &tok
        )
        .await
        .status(),
        404
    );
    sim.clock().advance(Duration::hours(12));
    let tok = token(&sim).await;
    assert_eq!(get(&url, &tok).await.status(), 200);
}

#[tokio::test]
async fn fail_next_and_rate_limit_next() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/archive_files", sim.api_base_url());
    sim.faults().fail_next("/archive_files", 2, 503);
    for _ in 0..2 {
        let (s, v) = get_json(&url, &tok).await;
        assert_eq!(s, 503);
        assert_eq!(v["code"], 503);
        assert!(v["message"].is_string());
    }
    assert_eq!(get(&url, &tok).await.status(), 200);

    sim.faults()
        .rate_limit_next("/v2/archive_files", 1, RetryAfter::None);
    sim.faults()
        .rate_limit_next("/archive_files", 1, RetryAfter::Seconds(7));
    sim.faults()
        .rate_limit_next("/archive_files", 1, RetryAfter::DailyLimit);
    let r = get(&url, &tok).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
    assert!(!r.headers().contains_key("retry-after"));
    let r = get(&url, &tok).await;
    assert_eq!(r.headers()["retry-after"], "7");
    let r = get(&url, &tok).await;
    assert_eq!(r.headers()["x-ratelimit-type"], "Daily-limit");
    assert_eq!(r.headers()["retry-after"], "2025-03-13T00:00:00Z");
    assert_eq!(get(&url, &tok).await.status(), 200);
    let at = t0() + Duration::minutes(5);
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::DateTime(at));
    let r = get(&format!("{}/phone/recordings", sim.api_base_url()), &tok).await;
    assert_eq!(r.headers()["retry-after"], z(at).as_str());
    assert_eq!(r.headers()["x-ratelimit-category"], "Medium");
    // Downloads can fail too.
    sim.faults()
        .fail_next("/rec/archive/download/weird-chat", 1, 500);
    assert_eq!(
        get(
            &format!("{}/rec/archive/download/weird-chat", sim.web_origin()),
            &tok
        )
        .await
        .status(),
        500
    );
    let st = sim.stats();
    assert_eq!(st.errors_injected, 7);
    assert_eq!(st.rate_limited, 4);
}

#[tokio::test]
async fn cut_body_resets_the_connection() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-mp4", sim.web_origin());
    sim.faults().cut_body("weird-mp4", 70_000, 1);
    let r = get(&url, &tok).await;
    assert_eq!(r.status(), 200);
    let mut got = 0usize;
    let mut failed = false;
    let mut stream = r.bytes_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(b) => got += b.len(),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "body should fail");
    assert_eq!(got, 70_000);
    // Only once.
    let body = get(&url, &tok).await.bytes().await.unwrap();
    assert_eq!(sha(&body), sim.file_digest("weird-mp4").unwrap().1);
    let st = sim.stats();
    assert_eq!((st.downloads_started, st.downloads_completed), (2, 1));
}

#[tokio::test]
async fn html_and_json_200_swaps() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-chat", sim.web_origin());
    sim.faults().html_200("weird-chat", 1);
    let r = get(&url, &tok).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("<html"));
    sim.faults().json_200("weird-chat", 1);
    let r = get(&url, &tok).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({"code":124,"message":"Invalid access token."})
    );
    let r = get(&url, &tok).await;
    assert_eq!(r.headers()["content-type"], "text/plain");

    // Phone downloads: the swap replaces the redirect.
    let (_, v) = get_json(&format!("{}/phone/recordings", sim.api_base_url()), &tok).await;
    let id = v["recordings"][0]["id"].as_str().unwrap().to_string();
    let purl = v["recordings"][0]["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    sim.faults().html_200(&id, 1);
    let r = get(&purl, &tok).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(get(&purl, &tok).await.status(), 302);
}

#[tokio::test]
async fn slow_body_and_throttle() {
    let mut s = scenario();
    s.options.throttle_bytes_per_sec_per_conn = Some(100_000);
    let sim = start(s).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-mp4", sim.web_origin());
    // 150 KB at 100 KB/s: about 1.5 s.
    let t = Instant::now();
    let b = get(&url, &tok).await.bytes().await.unwrap();
    assert_eq!(b.len(), 150_000);
    assert!(
        t.elapsed() >= StdDuration::from_millis(1200),
        "{:?}",
        t.elapsed()
    );

    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-mp4", sim.web_origin());
    sim.faults()
        .slow_body("weird-mp4", StdDuration::from_millis(200));
    let t = Instant::now();
    let b = get(&url, &tok).await.bytes().await.unwrap();
    assert_eq!(b.len(), 150_000);
    assert!(
        t.elapsed() >= StdDuration::from_millis(600),
        "3 chunks x 200 ms: {:?}",
        t.elapsed()
    );
    sim.faults().clear();
    let t = Instant::now();
    get(&url, &tok).await.bytes().await.unwrap();
    assert!(t.elapsed() < StdDuration::from_millis(500));
}

#[tokio::test]
async fn delete_file_and_expire_page_tokens() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-chat", sim.web_origin());
    assert_eq!(get(&url, &tok).await.status(), 200);
    sim.faults().delete_file("weird-chat");
    assert_eq!(get(&url, &tok).await.status(), 404);

    let (_, v) = get_json(&format!("{}/phone/recordings", sim.api_base_url()), &tok).await;
    let rec = &v["recordings"][0];
    let id = rec["id"].as_str().unwrap();
    let purl = rec["download_url"].as_str().unwrap();
    let loc = get(purl, &tok).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    sim.faults().delete_file(id);
    let r = get(purl, &tok).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({"code":404,"message":"File does not exist."})
    );
    assert_eq!(client().get(&loc).send().await.unwrap().status(), 404);
    sim.faults().clear();
    assert_eq!(get(&url, &tok).await.status(), 200);

    let base = format!("{}/archive_files?page_size=1", sim.api_base_url());
    let (_, v) = get_json(&base, &tok).await;
    let next = v["next_page_token"].as_str().unwrap().to_string();
    assert!(!next.is_empty());
    sim.faults().expire_page_tokens();
    let (s, v) = get_json(&format!("{base}&next_page_token={next}"), &tok).await;
    assert_eq!((s, v["code"].as_i64()), (400, Some(300)));
}

#[tokio::test]
async fn stats_endpoint_on_both_hosts() {
    let sim = SimServer::start_with_clock(scenario(), SimClock::manual(t0()))
        .await
        .unwrap();
    let tok = token(&sim).await;
    get(&format!("{}/archive_files", sim.api_base_url()), &tok).await;
    let api_origin = sim.api_base_url().trim_end_matches("/v2").to_string();
    for origin in [api_origin.clone(), sim.web_origin()] {
        let v: zoom_sim::Stats = client()
            .get(format!("{origin}/_sim/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v.by_endpoint["GET /archive_files"], 1);
        assert_eq!(v.by_category["Medium"], 1);
        assert_eq!(v.tokens_issued, 1);
    }
    let r = client()
        .post(format!("{}/_sim/reset-stats", sim.web_origin()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(sim.stats(), zoom_sim::Stats::default());
}

#[tokio::test]
async fn misreported_range_total_lies_only_in_content_range() {
    let sim = start(scenario()).await;
    let tok = token(&sim).await;
    let url = format!("{}/rec/archive/download/weird-mp4", sim.web_origin());
    let full = get(&url, &tok).await.bytes().await.unwrap();
    let ranged = || async {
        client()
            .get(&url)
            .bearer_auth(&tok)
            .header("range", "bytes=1000-1999")
            .send()
            .await
            .unwrap()
    };
    // A whole-file answer carries no Content-Range and does not spend the fault.
    sim.faults().misreport_range_total("weird-mp4", 7, 1);
    assert!(
        get(&url, &tok)
            .await
            .headers()
            .get("content-range")
            .is_none()
    );
    let r = ranged().await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 1000-1999/7");
    assert_eq!(r.bytes().await.unwrap(), full.slice(1000..2000));
    // Only once.
    let r = ranged().await;
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-1999/{}", full.len())
    );
    assert_eq!(sim.stats().errors_injected, 1);
}
