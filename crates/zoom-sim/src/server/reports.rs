//! Reconciliation feeds: phone call history / call logs and dashboard meeting metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::AppState;
use super::common::{
    Admitted, admit, bad_request, decode_uuid, fmt_dt, json_ok, next_token, page_size, parse_range,
    query_key, resume, zoom_error,
};
use super::phone::{derived_uuid, site};
use crate::ratelimit::{Category, Table};
use crate::scenario::{SimAccount, SimCall, SimMeeting};

/// One page of items computed as of the page-token snapshot time.
struct Page {
    items: Vec<Value>,
    total: usize,
    size: usize,
    token: String,
}

fn paged(
    st: &AppState,
    endpoint: &str,
    account: usize,
    q: &BTreeMap<String, String>,
    all: impl FnOnce(DateTime<Utc>) -> Vec<Value>,
) -> Result<Page, Response> {
    let size = page_size(q)?;
    let key = query_key(endpoint, account, q);
    let (offset, as_of) = resume(st, &key, q)?;
    let items = all(as_of);
    let total = items.len();
    let token = next_token(st, &key, offset + size, total, as_of);
    Ok(Page {
        items: items.into_iter().skip(offset).take(size).collect(),
        total,
        size,
        token,
    })
}

fn echo_range(
    st: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    date_only: bool,
) -> (String, String) {
    if date_only {
        (
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string(),
        )
    } else {
        (fmt_dt(st, from), fmt_dt(st, to))
    }
}

fn call_history_uuid(c: &SimCall) -> String {
    format!(
        "{}-{}",
        c.start.format("%Y%m%d"),
        derived_uuid(&format!("hist:{}", c.call_id))
    )
}

fn call_result(c: &SimCall) -> String {
    match c.result.as_str() {
        "Call connected" => "answered".into(),
        "Missed" | "No Answer" => "no_answer".into(),
        "Voicemail" => "voicemail".into(),
        other => other.to_lowercase().replace(' ', "_"),
    }
}

fn answered(c: &SimCall) -> bool {
    c.result == "Call connected"
}

/// Email and ext of an internal number (extension) in the account.
fn user_by_ext<'a>(acct: &'a SimAccount, number: &str) -> Option<&'a crate::scenario::SimUser> {
    acct.users
        .iter()
        .find(|u| u.extension.is_some_and(|e| e.to_string() == number))
}

fn side(
    acct: &SimAccount,
    o: &mut Map<String, Value>,
    prefix: &str,
    number: &str,
    name: &str,
    ntype: u8,
) {
    let user = if ntype == 1 {
        user_by_ext(acct, number)
    } else {
        // A call to (or from) a user's direct number is that user's leg: Zoom reports the
        // extension and email with the DID.
        acct.users
            .iter()
            .find(|u| u.phone_number.as_deref() == Some(number))
    };
    let (ext, did, email) = match (ntype, user) {
        (1, _) => (
            number.to_string(),
            user.and_then(|u| u.phone_number.clone())
                .unwrap_or_default(),
            user.map(|u| u.email.clone()).unwrap_or_default(),
        ),
        (_, Some(u)) => (
            u.extension.map(|e| e.to_string()).unwrap_or_default(),
            number.to_string(),
            u.email.clone(),
        ),
        _ => (String::new(), number.to_string(), String::new()),
    };
    o.insert(format!("{prefix}_ext_number"), json!(ext));
    o.insert(format!("{prefix}_name"), json!(name));
    o.insert(format!("{prefix}_email"), json!(email));
    o.insert(format!("{prefix}_did_number"), json!(did));
    o.insert(
        format!("{prefix}_ext_type"),
        json!(if ntype == 1 { "user" } else { "" }),
    );
    o.insert(
        format!("{prefix}_number_type"),
        json!(if ntype == 1 {
            "zoom_pstn"
        } else {
            "external_pstn"
        }),
    );
    if let Some(u) = user {
        o.insert(format!("{prefix}_ext_id"), json!(u.id));
    }
}

fn history_item(st: &AppState, acct: &SimAccount, c: &SimCall) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("call_history_uuid".into(), json!(call_history_uuid(c)));
    o.insert("call_id".into(), json!(c.call_id));
    o.insert("direction".into(), json!(c.direction));
    o.insert("international".into(), json!(false));
    o.insert("start_time".into(), json!(fmt_dt(st, c.start)));
    if answered(c) {
        o.insert(
            "answer_time".into(),
            json!(fmt_dt(st, c.start + Duration::seconds(3))),
        );
    }
    o.insert("end_time".into(), json!(fmt_dt(st, c.end)));
    o.insert("duration".into(), json!((c.end - c.start).num_seconds()));
    o.insert("connect_type".into(), json!("external"));
    o.insert("call_type".into(), json!("general"));
    o.insert("call_result".into(), json!(call_result(c)));
    o.insert("hide_caller_id".into(), json!(false));
    o.insert("end_to_end".into(), json!(false));
    side(
        acct,
        &mut o,
        "caller",
        &c.caller_number,
        &c.caller_name,
        c.caller_number_type,
    );
    side(
        acct,
        &mut o,
        "callee",
        &c.callee_number,
        &c.callee_name,
        c.callee_number_type,
    );
    o.insert("site_id".into(), site()["id"].clone());
    o.insert("site_name".into(), site()["name"].clone());
    o.insert(
        "recording_status".into(),
        json!(if c.recordings.is_empty() {
            "non_recorded"
        } else {
            "recorded"
        }),
    );
    o
}

fn phone_admit(
    st: &AppState,
    headers: &HeaderMap,
    path: &str,
    endpoint: &str,
    cat: Category,
) -> Result<Admitted, Response> {
    admit(st, headers, path, endpoint, Some((Table::Phone, cat)))
}

fn month_range(
    q: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, bool), Response> {
    let r = parse_range(q, Duration::days(1), now)?;
    if r.1 - r.0 > Duration::days(31) {
        return Err(bad_request(
            "The date range between from and to can not exceed one month.",
        ));
    }
    Ok(r)
}

/// `GET /v2/phone/call_history` (Heavy, phone table).
pub(crate) async fn call_history(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let adm = match phone_admit(
        &st,
        &headers,
        "/v2/phone/call_history",
        "GET /phone/call_history",
        Category::Heavy,
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (from, to, date_only) = match month_range(&q, st.clock.now()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let acct = &st.scenario.accounts[adm.account];
    let rec_filter = q.get("recording_status").filter(|s| !s.is_empty()).cloned();
    let by_end = q.get("time_type").map(String::as_str) == Some("end_time");
    let page = match paged(&st, "phone/call_history", adm.account, &q, |as_of| {
        let mut calls: Vec<&SimCall> = acct
            .calls
            .iter()
            .filter(|c| {
                let t = if by_end { c.end } else { c.start };
                c.end <= as_of && t >= from && t <= to
            })
            .collect();
        calls.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| a.call_id.cmp(&b.call_id))
        });
        calls
            .into_iter()
            .map(|c| history_item(&st, acct, c))
            .filter(|o| {
                rec_filter
                    .as_deref()
                    .is_none_or(|f| o["recording_status"] == f)
            })
            .map(Value::Object)
            .collect()
    }) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (f, t) = echo_range(&st, from, to, date_only);
    json_ok(
        json!({
            "call_history": page.items,
            "from": f,
            "to": t,
            "page_count": page.total.div_ceil(page.size),
            "page_size": page.size,
            "total_records": page.total,
            "next_page_token": page.token,
        }),
        adm.headers,
    )
}

/// `GET /v2/phone/call_history/{callHistoryUuid}` (Light, phone table).
pub(crate) async fn call_path(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v2/phone/call_history/{id}");
    let adm = match phone_admit(
        &st,
        &headers,
        &path,
        "GET /phone/call_history/{callHistoryUuid}",
        Category::Light,
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let acct = &st.scenario.accounts[adm.account];
    let now = st.clock.now();
    let Some(c) = acct
        .calls
        .iter()
        .find(|c| c.end <= now && call_history_uuid(c) == id)
    else {
        return zoom_error(404, 404, "Call history does not exist.");
    };
    let mut top = history_item(&st, acct, c);
    top.insert("id".into(), json!(call_history_uuid(c)));
    let base = history_item(&st, acct, c);
    let segments: Vec<Value> = if c.recordings.is_empty() {
        vec![None]
    } else {
        c.recordings.iter().map(Some).collect()
    }
    .into_iter()
    .enumerate()
    .map(|(i, rec)| {
        let mut o = base.clone();
        o.remove("call_history_uuid");
        o.insert(
            "id".into(),
            json!(derived_uuid(&format!("path:{}:{i}", c.call_id))),
        );
        o.insert(
            "event".into(),
            json!(if c.direction == "inbound" {
                "incoming"
            } else {
                "outgoing"
            }),
        );
        o.insert("result".into(), json!(call_result(c)));
        o.insert("segment".into(), json!(i));
        o.insert("node".into(), json!(0));
        o.insert("is_node".into(), json!(0));
        if let Some(r) = rec {
            o.insert("recording_id".into(), json!(r.id));
            o.insert(
                "recording_type".into(),
                json!(if r.recording_type == "OnDemand" {
                    "ad-hoc"
                } else {
                    "automatic"
                }),
            );
        }
        o.insert("hold_time".into(), json!(0));
        o.insert("waiting_time".into(), json!(0));
        Value::Object(o)
    })
    .collect();
    top.insert("call_path".into(), Value::Array(segments));
    json_ok(Value::Object(top), adm.headers)
}

/// `GET /v2/phone/call_logs` (Heavy, phone table, deprecated).
pub(crate) async fn call_logs(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let adm = match phone_admit(
        &st,
        &headers,
        "/v2/phone/call_logs",
        "GET /phone/call_logs",
        Category::Heavy,
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (from, to, date_only) = match month_range(&q, st.clock.now()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let acct = &st.scenario.accounts[adm.account];
    let missed_only = q.get("type").map(String::as_str) == Some("missed");
    let page = match paged(&st, "phone/call_logs", adm.account, &q, |as_of| {
        let mut calls: Vec<&SimCall> = acct
            .calls
            .iter()
            .filter(|c| c.end <= as_of && c.start >= from && c.start <= to)
            .filter(|c| !missed_only || c.result == "Missed")
            .collect();
        calls.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| a.call_id.cmp(&b.call_id))
        });
        calls
            .into_iter()
            .map(|c| {
                let mut o = Map::new();
                o.insert(
                    "id".into(),
                    json!(derived_uuid(&format!("log:{}", c.call_id))),
                );
                o.insert("call_id".into(), json!(c.call_id));
                o.insert("date_time".into(), json!(fmt_dt(&st, c.start)));
                if answered(c) {
                    o.insert(
                        "answer_start_time".into(),
                        json!(fmt_dt(&st, c.start + Duration::seconds(3))),
                    );
                }
                o.insert("call_end_time".into(), json!(fmt_dt(&st, c.end)));
                o.insert("duration".into(), json!((c.end - c.start).num_seconds()));
                o.insert("direction".into(), json!(c.direction));
                o.insert("call_type".into(), json!("voip"));
                o.insert("caller_number".into(), json!(c.caller_number));
                o.insert("caller_name".into(), json!(c.caller_name));
                o.insert("caller_number_type".into(), json!(c.caller_number_type));
                o.insert("callee_number".into(), json!(c.callee_number));
                o.insert("callee_name".into(), json!(c.callee_name));
                o.insert("callee_number_type".into(), json!(c.callee_number_type));
                o.insert(
                    "owner".into(),
                    json!({"type": c.owner.kind, "id": c.owner.id, "name": c.owner.name,
                           "extension_number": c.owner.extension_number}),
                );
                o.insert("path".into(), json!("pstn"));
                o.insert("result".into(), json!(c.result));
                if let Some(r) = c.recordings.first() {
                    o.insert("recording_id".into(), json!(r.id));
                    o.insert("recording_type".into(), json!(r.recording_type));
                }
                o.insert("site".into(), site());
                if c.owner.kind == "user" {
                    o.insert("user_id".into(), json!(c.owner.id));
                }
                Value::Object(o)
            })
            .collect()
    }) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (f, t) = echo_range(&st, from, to, date_only);
    json_ok(
        json!({
            "call_logs": page.items,
            "from": f,
            "to": t,
            "page_count": page.total.div_ceil(page.size),
            "page_size": page.size,
            "total_records": page.total,
            "next_page_token": page.token,
        }),
        adm.headers,
    )
}

fn hms(secs: i64) -> String {
    if secs >= 3600 {
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

fn meeting_end(m: &SimMeeting) -> DateTime<Utc> {
    m.start_time + Duration::seconds(i64::from(m.duration_secs))
}

/// `GET /v2/metrics/meetings` (Resource-intensive).
pub(crate) async fn metrics_meetings(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let adm = match admit(
        &st,
        &headers,
        "/v2/metrics/meetings",
        "GET /metrics/meetings",
        Some((Table::Main, Category::ResourceIntensive)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !q.contains_key("from") || !q.contains_key("to") {
        return bad_request("The from and to fields are required.");
    }
    let (from, to, _) = match month_range(&q, st.clock.now()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let kind = q.get("type").cloned().unwrap_or_else(|| "live".into());
    let by_end = q.get("query_date_type").map(String::as_str) == Some("end_time");
    let acct = &st.scenario.accounts[adm.account];
    let page = match paged(&st, "metrics/meetings", adm.account, &q, |as_of| {
        let mut ms: Vec<&SimMeeting> = acct
            .meetings
            .iter()
            .filter(|m| !m.external && m.parent_uuid.is_none())
            .filter(|m| {
                let end = meeting_end(m);
                let t = if by_end { end } else { m.start_time };
                let live = m.start_time <= as_of && as_of < end;
                let past = end <= as_of;
                t >= from && t <= to && if kind == "live" { live } else { past }
            })
            .collect();
        ms.sort_by(|a, b| {
            a.start_time
                .cmp(&b.start_time)
                .then_with(|| a.uuid.cmp(&b.uuid))
        });
        ms.into_iter()
            .map(|m| {
                let host = acct.users.iter().find(|u| u.id == m.host_id);
                json!({
                    "uuid": m.uuid,
                    "id": m.id,
                    "topic": m.topic,
                    "host": host.map(|u| u.name.clone()).unwrap_or_default(),
                    "email": host.map(|u| u.email.clone()).unwrap_or_default(),
                    "user_type": "Licensed",
                    "start_time": fmt_dt(&st, m.start_time),
                    "end_time": fmt_dt(&st, meeting_end(m)),
                    "duration": hms(i64::from(m.duration_secs)),
                    "participants": m.participants.iter().map(|p| p.segments.len()).sum::<usize>(),
                    "has_pstn": false,
                    "has_voip": true,
                    "has_3rd_party_audio": false,
                    "has_video": true,
                    "has_screen_share": m.files.iter().any(|f| f.file_type == "MP4"),
                    "has_recording": false,
                    "has_sip": false,
                    "has_archiving": !m.files.is_empty(),
                    "has_manual_captions": false,
                    "has_automated_captions": false,
                    "has_poll": false,
                    "has_qa": false,
                    "has_survey": false,
                    "audio_quality": "good",
                    "video_quality": "good",
                    "screen_share_quality": "good",
                })
            })
            .collect()
    }) {
        Ok(p) => p,
        Err(r) => return r,
    };
    json_ok(
        json!({
            "from": from.format("%Y-%m-%d").to_string(),
            "to": to.format("%Y-%m-%d").to_string(),
            "page_count": page.total.div_ceil(page.size),
            "page_size": page.size,
            "total_records": page.total,
            "next_page_token": page.token,
            "meetings": page.items,
        }),
        adm.headers,
    )
}

/// `GET /v2/metrics/meetings/{meetingId}/participants` (Heavy): one row per join segment.
pub(crate) async fn metrics_participants(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let path = format!("/v2/metrics/meetings/{segment}/participants");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "GET /metrics/meetings/{meetingId}/participants",
        Some((Table::Main, Category::Heavy)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let id = decode_uuid(&segment);
    let now = st.clock.now();
    let acct = &st.scenario.accounts[adm.account];
    let past = matches!(
        q.get("type").map(String::as_str),
        Some("past") | Some("pastOne")
    );
    let m = acct.meetings.iter().find(|m| m.uuid == id).or_else(|| {
        let n: i64 = id.parse().ok()?;
        acct.meetings
            .iter()
            .filter(|m| m.id == n && m.parent_uuid.is_none() && m.start_time <= now)
            .max_by_key(|m| m.start_time)
    });
    let Some(m) = m.filter(|m| past && meeting_end(m) <= now) else {
        return zoom_error(404, 3001, "Meeting ID is invalid or has not ended.");
    };
    if now - m.start_time > Duration::days(365) {
        return zoom_error(400, 12702, "Can not access a meeting a year ago.");
    }
    let page = match paged(
        &st,
        &format!("metrics/participants/{}", m.uuid),
        adm.account,
        &q,
        |_| {
            let mut rows = Vec::new();
            for (i, p) in m.participants.iter().enumerate() {
                for (join, leave) in &p.segments {
                    rows.push(json!({
                    "id": p.user_id,
                    "participant_user_id": p.user_id,
                    "user_id": (16_778_240 + i * 1024 + rows.len()).to_string(),
                    "participant_uuid": derived_uuid(&format!("part:{}:{}", m.uuid, p.email)).to_uppercase(),
                    "user_name": p.name,
                    "email": p.email,
                    "join_time": fmt_dt(&st, *join),
                    "leave_time": fmt_dt(&st, *leave),
                    "leave_reason": format!("{} left the meeting.", p.name),
                    "role": if p.user_id == m.host_id { "host" } else { "attendee" },
                    "status": "in_meeting",
                    "device": "Mac",
                    "has_archiving": !m.files.is_empty(),
                    "optional_archiving": "no optional archiving",
                    "recording": false,
                }));
                }
            }
            rows
        },
    ) {
        Ok(p) => p,
        Err(r) => return r,
    };
    json_ok(
        json!({
            "page_count": page.total.div_ceil(page.size),
            "page_size": page.size,
            "total_records": page.total,
            "next_page_token": page.token,
            "meeting_number": m.id.to_string(),
            "participants": page.items,
        }),
        adm.headers,
    )
}
