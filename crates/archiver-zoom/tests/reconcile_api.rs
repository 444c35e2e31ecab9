//! The reconciliation feeds of `ZoomClient` against the Zoom simulator: dashboard past
//! meetings, phone call history (and its call-log fallback), call paths, daily budgets.

use archiver_core::{
    CallHistoryItem, DashboardMeeting, Window, ZoomApi, ZoomCredentials, ZoomError,
};
use archiver_zoom::{PacingConfig, RetryPolicy, ZoomClient, ZoomClientConfig};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use zoom_sim::{RetryAfter, Scenario, SimCall, SimMeeting, SimServer};

async fn sim() -> SimServer {
    SimServer::start(Scenario::demo(Utc::now()))
        .await
        .expect("simulator starts")
}

fn config(sim: &SimServer, page_size: u32) -> ZoomClientConfig {
    let mut cfg = ZoomClientConfig::with_urls(
        sim.api_base_url(),
        sim.oauth_url(),
        ZoomCredentials {
            account_id: "demo-account".into(),
            client_id: "demo-client".into(),
            client_secret: SecretString::from("demo-secret"),
        },
    );
    cfg.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_honoured_retry_after: Duration::from_secs(5),
    };
    cfg.page_size = page_size;
    cfg
}

fn count(sim: &SimServer, endpoint: &str) -> u64 {
    sim.stats().by_endpoint.get(endpoint).copied().unwrap_or(0)
}

fn category(sim: &SimServer, category: &str) -> u64 {
    sim.stats().by_category.get(category).copied().unwrap_or(0)
}

/// The reconciler's window for one UTC day: `[day 00:00, next day 00:00]`.
fn day_window(day: NaiveDate) -> Window {
    let from = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    Window {
        from,
        to: from + ChronoDuration::days(1),
    }
}

fn in_window(t: DateTime<Utc>, w: Window) -> bool {
    t >= w.from && t <= w.to
}

/// The UTC day holding the most of `times`.
fn busiest_day(times: impl Iterator<Item = DateTime<Utc>>) -> NaiveDate {
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for t in times {
        *per_day.entry(t.date_naive()).or_default() += 1;
    }
    per_day
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| d)
        .expect("the scenario has items")
}

/// Zoom's payloads carry whole seconds.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

fn meeting_end(m: &SimMeeting) -> DateTime<Utc> {
    m.start_time + ChronoDuration::seconds(i64::from(m.duration_secs))
}

/// What the dashboard lists of the scenario for `w`: the account's own, non-breakout
/// meetings started in the window and ended by now.
fn expected_meetings(sim: &SimServer, w: Window) -> BTreeSet<String> {
    let now = Utc::now();
    sim.scenario().accounts[0]
        .meetings
        .iter()
        .filter(|m| !m.external && m.parent_uuid.is_none())
        .filter(|m| in_window(m.start_time, w) && meeting_end(m) <= now)
        .map(|m| m.uuid.clone())
        .collect()
}

fn expected_calls(sim: &SimServer, w: Window) -> Vec<&SimCall> {
    let now = Utc::now();
    sim.scenario().accounts[0]
        .calls
        .iter()
        .filter(|c| in_window(c.start, w) && c.end <= now)
        .collect()
}

async fn all_past_meetings(
    c: &ZoomClient,
    w: Window,
) -> Result<(Vec<DashboardMeeting>, usize, Option<u64>), ZoomError> {
    let mut token: Option<String> = None;
    let mut out = Vec::new();
    let mut pages = 0;
    let mut total = None;
    loop {
        let page = c.list_past_meetings(w, token.as_deref()).await?;
        pages += 1;
        assert_eq!(page.to, None, "the dashboard echoes a bare date");
        total = total.or(page.total_records);
        out.extend(page.items);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok((out, pages, total)),
        }
    }
}

async fn all_call_history(
    c: &ZoomClient,
    w: Window,
) -> Result<(Vec<CallHistoryItem>, usize), ZoomError> {
    let mut token: Option<String> = None;
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = c.list_call_history(w, token.as_deref()).await?;
        pages += 1;
        out.extend(page.items);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok((out, pages)),
        }
    }
}

#[tokio::test]
async fn past_meetings_of_a_day_match_the_scenario_across_pages() {
    let sim = sim().await;
    let day = busiest_day(
        sim.scenario().accounts[0]
            .meetings
            .iter()
            .filter(|m| !m.external && m.parent_uuid.is_none())
            .map(|m| m.start_time),
    );
    let w = day_window(day);
    let expected = expected_meetings(&sim, w);
    assert!(expected.len() >= 2, "{expected:?}");

    // One meeting a page: as many pages as meetings, the token reused with the same query.
    let c = ZoomClient::with_pacing(config(&sim, 1), PacingConfig::disabled()).unwrap();
    let (items, pages, total) = all_past_meetings(&c, w).await.unwrap();
    let got: BTreeSet<String> = items.iter().map(|m| m.uuid.clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(items.len(), expected.len(), "no duplicates");
    assert_eq!(pages, expected.len());
    assert_eq!(total, Some(expected.len() as u64));
    for m in &items {
        let start = m.start_time.expect("start_time");
        assert!(in_window(start, w), "{start}");
        assert!(m.end_time.expect("end_time") <= Utc::now());
    }
    assert_eq!(count(&sim, "GET /metrics/meetings"), pages as u64);
    assert_eq!(category(&sim, "Resource-intensive"), pages as u64);
    let snap = c.rate_limit_snapshot();
    let ri = snap
        .get("Resource-intensive")
        .expect("Resource-intensive headers");
    assert_eq!(ri.limit, Some(20));

    // A window inside the day (date-times, not dates): only the meeting it covers.
    let one = items[0].start_time.unwrap();
    let narrow = Window {
        from: one - ChronoDuration::minutes(1),
        to: one + ChronoDuration::minutes(1),
    };
    let (items, _, _) = all_past_meetings(&c, narrow).await.unwrap();
    let got: BTreeSet<String> = items.iter().map(|m| m.uuid.clone()).collect();
    assert_eq!(got, expected_meetings(&sim, narrow));
    assert!(!got.is_empty());
}

#[tokio::test]
async fn call_history_of_a_day_matches_the_scenario_and_call_paths_name_the_recordings() {
    let sim = sim().await;
    let day = busiest_day(sim.scenario().accounts[0].calls.iter().map(|c| c.start));
    let w = day_window(day);
    let expected = expected_calls(&sim, w);
    assert!(expected.len() >= 2);

    let c = ZoomClient::new(config(&sim, 3)).unwrap();
    let (items, pages) = all_call_history(&c, w).await.unwrap();
    assert_eq!(pages, expected.len().div_ceil(3));
    let mut got: Vec<&str> = items
        .iter()
        .map(|i| i.call_id.as_deref().unwrap())
        .collect();
    got.sort_unstable();
    let mut want: Vec<&str> = expected.iter().map(|c| c.call_id.as_str()).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    for item in &items {
        let call = expected
            .iter()
            .find(|c| Some(c.call_id.as_str()) == item.call_id.as_deref())
            .unwrap();
        let recorded = !call.recordings.is_empty();
        assert_eq!(
            item.recording_status.as_deref(),
            Some(if recorded { "recorded" } else { "non_recorded" }),
            "{}",
            call.call_id
        );
        assert_eq!(item.is_recorded(), recorded);
        assert_eq!(item.start_time, Some(whole_seconds(call.start)));
        assert_eq!(item.end_time, Some(whole_seconds(call.end)));
        assert!(item.call_history_uuid.is_some());
    }
    assert_eq!(count(&sim, "GET /phone/call_history"), pages as u64);
    assert_eq!(count(&sim, "GET /phone/call_logs"), 0);

    // Call paths of every call of the scenario (the one with two recordings included).
    let all = Window {
        from: Utc::now() - ChronoDuration::days(5),
        to: Utc::now(),
    };
    let (items, _) = all_call_history(&c, all).await.unwrap();
    let calls = &sim.scenario().accounts[0].calls;
    assert_eq!(items.len(), calls.len());
    assert!(calls.iter().any(|c| c.recordings.len() == 2));
    let before = count(&sim, "GET /phone/call_history/{callHistoryUuid}");
    for item in &items {
        let call = calls
            .iter()
            .find(|c| Some(c.call_id.as_str()) == item.call_id.as_deref())
            .unwrap();
        let path = c
            .get_call_path(item.call_history_uuid.as_deref().unwrap())
            .await
            .unwrap()
            .expect("a known call path");
        assert_eq!(path.call_id.as_deref(), Some(call.call_id.as_str()));
        let want: Vec<String> = call.recordings.iter().map(|r| r.id.clone()).collect();
        assert_eq!(path.recording_ids(), want, "{}", call.call_id);
    }
    assert_eq!(
        count(&sim, "GET /phone/call_history/{callHistoryUuid}") - before,
        items.len() as u64
    );
    // Unknown UUIDs (also ones that need encoding) are `None`.
    assert_eq!(c.get_call_path("20000101-unknown").await.unwrap(), None);
    assert_eq!(c.get_call_path("a/b+c= d?x#y").await.unwrap(), None);
    assert!(matches!(
        c.get_call_path("..").await,
        Err(ZoomError::BadRequest { code: 0, .. })
    ));
    let snap = c.rate_limit_snapshot();
    assert!(snap.contains_key("phone:Heavy"), "{snap:?}");
    assert_eq!(snap.get("phone:Light").and_then(|i| i.limit), Some(40));
}

#[tokio::test]
async fn call_history_falls_back_to_the_call_logs_once_unavailable() {
    let sim = sim().await;
    let day = busiest_day(sim.scenario().accounts[0].calls.iter().map(|c| c.start));
    let w = day_window(day);
    let expected = expected_calls(&sim, w);
    let c = ZoomClient::new(config(&sim, 300)).unwrap();

    // A 400 that is not "unavailable" is an error, not a fallback.
    sim.faults().fail_next("/phone/call_history", 1, 400);
    assert!(matches!(
        c.list_call_history(w, None).await,
        Err(ZoomError::BadRequest { code: 400, .. })
    ));
    assert_eq!(count(&sim, "GET /phone/call_logs"), 0);

    // The route answers 404 `{"code":404,"message":"Not Found"}`, as for an unknown route.
    sim.faults().fail_next("/phone/call_history", 1, 404);
    let page = c.list_call_history(w, None).await.unwrap();
    assert_eq!(count(&sim, "GET /phone/call_history"), 2);
    assert_eq!(count(&sim, "GET /phone/call_logs"), 1);
    assert_eq!(page.next_page_token, None);
    assert_eq!(page.items.len(), expected.len());
    for item in &page.items {
        let call = expected
            .iter()
            .find(|c| Some(c.call_id.as_str()) == item.call_id.as_deref())
            .expect("a call of the day");
        // Legacy names mapped by the aliases.
        assert_eq!(item.start_time, Some(whole_seconds(call.start)));
        assert_eq!(item.end_time, Some(whole_seconds(call.end)));
        assert_eq!(item.call_result.as_deref(), Some(call.result.as_str()));
        assert_eq!(
            item.caller_did_number.as_deref(),
            Some(call.caller_number.as_str())
        );
        assert!(item.call_history_uuid.is_some());
        assert_eq!(
            item.recording_id.as_deref(),
            call.recordings.first().map(|r| r.id.as_str())
        );
        assert_eq!(item.is_recorded(), !call.recordings.is_empty());
    }

    // Remembered: the next listing goes straight to the call logs.
    c.list_call_history(w, None).await.unwrap();
    assert_eq!(count(&sim, "GET /phone/call_history"), 2);
    assert_eq!(count(&sim, "GET /phone/call_logs"), 2);
    // Clones share it.
    c.clone().list_call_history(w, None).await.unwrap();
    assert_eq!(count(&sim, "GET /phone/call_history"), 2);
    // A new client tries the call history again.
    let fresh = ZoomClient::new(config(&sim, 300)).unwrap();
    let page = fresh.list_call_history(w, None).await.unwrap();
    assert_eq!(page.items.len(), expected.len());
    assert_eq!(count(&sim, "GET /phone/call_history"), 3);
}

#[tokio::test]
async fn daily_remaining_reports_daily_headers_only() {
    let sim = sim().await;
    let c = ZoomClient::new(config(&sim, 300)).unwrap();
    let uuid = sim.scenario().accounts[0].meetings[0].uuid.clone();
    assert_eq!(c.daily_remaining("Heavy"), None);

    // The simulator answers a Heavy call with per-second headers (type QPS, limit 40):
    // they say nothing of the daily budget.
    let page = c.list_meeting_participants(&uuid, None).await.unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(
        count(&sim, "GET /metrics/meetings/{meetingId}/participants"),
        1
    );
    assert_eq!(category(&sim, "Heavy"), 1);
    let heavy = c.rate_limit_snapshot().get("Heavy").cloned().unwrap();
    assert_eq!(heavy.kind.as_deref(), Some("QPS"));
    assert_eq!(heavy.limit, Some(40));
    assert!(heavy.remaining.is_some_and(|r| r < 40), "{heavy:?}");
    assert_eq!(c.daily_remaining("Heavy"), None);

    // A daily-limit answer carries the daily limit and what is left of it.
    sim.faults()
        .rate_limit_next("/metrics/meetings/", 1, RetryAfter::DailyLimit);
    match c.list_meeting_participants(&uuid, None).await {
        Err(ZoomError::RateLimited { kind, category, .. }) => {
            assert_eq!((kind.as_str(), category.as_str()), ("Daily-limit", "Heavy"));
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert_eq!(c.daily_remaining("Heavy"), Some((60_000, 0)));
    assert_eq!(c.daily_remaining("Resource-intensive"), None);

    // The next per-second answer replaces it.
    c.list_meeting_participants(&uuid, None).await.unwrap();
    assert_eq!(c.daily_remaining("Heavy"), None);

    // Phone Heavy: per-second headers too.
    let w = Window {
        from: Utc::now() - ChronoDuration::days(1),
        to: Utc::now(),
    };
    c.list_call_history(w, None).await.unwrap();
    let ph = c.rate_limit_snapshot().get("phone:Heavy").cloned().unwrap();
    assert_eq!((ph.kind.as_deref(), ph.limit), (Some("QPS"), Some(10)));
    assert_eq!(c.daily_remaining("phone:Heavy"), None);
}
