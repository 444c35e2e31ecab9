//! Meeting archiving: `GET /archive_files`, `GET /past_meetings/{uuid}/archive_files`, and
//! the writes `DELETE /past_meetings/{uuid}/archive_files` (every archive file of the
//! meeting removed: no longer listed nor served) and `PATCH /archive_files/{fileId}`
//! (`auto_delete` set, as listed).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::AppState;
use super::common::{
    admit, bad_request, decode_uuid, fmt_dt, forced_page_expiry, json_ok, listing_ok, next_token,
    page_size, parse_range, query_key, resume, zoom_error,
};
use crate::media::MediaKind;
use crate::ratelimit::{Category, Table};
use crate::scenario::{SimArchiveFile, SimMeeting};

/// Status of one archive file at `now`.
fn file_status(m: &SimMeeting, f: &SimArchiveFile, now: DateTime<Utc>) -> &'static str {
    if now < m.complete_time {
        "processing"
    } else if f.failed {
        "failed"
    } else if f.available_at.is_some_and(|t| now < t) {
        "processing"
    } else {
        "completed"
    }
}

/// Whether a file can be downloaded at `now`.
pub(crate) fn file_ready(m: &SimMeeting, f: &SimArchiveFile, now: DateTime<Utc>) -> bool {
    file_status(m, f, now) == "completed"
}

fn file_json(st: &AppState, m: &SimMeeting, f: &SimArchiveFile, now: DateTime<Utc>) -> Value {
    let kind = MediaKind::from_file_type(&f.file_type);
    let status = file_status(m, f, now);
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id));
    o.insert("file_type".into(), json!(f.file_type));
    o.insert("file_extension".into(), json!(kind.extension()));
    o.insert("file_size".into(), json!(st.served_len(&f.id)));
    o.insert(
        "download_url".into(),
        json!(
            st.faults
                .listed_url(&f.id)
                .unwrap_or_else(|| format!("{}/rec/archive/download/{}", st.web_origin, f.id))
        ),
    );
    o.insert("status".into(), json!(status));
    o.insert("recording_type".into(), json!(f.recording_type));
    o.insert("individual".into(), json!(f.individual));
    if f.individual {
        o.insert(
            "participant_email".into(),
            json!(f.participant_email.clone().unwrap_or_default()),
        );
    }
    o.insert("participant_join_time".into(), json!(fmt_dt(st, f.join)));
    o.insert("participant_leave_time".into(), json!(fmt_dt(st, f.leave)));
    if st.scenario.options.fingerprints {
        let fp = if status == "completed" {
            st.digest(&f.id).map(|d| d.1).unwrap_or_default()
        } else {
            String::new()
        };
        o.insert("encryption_fingerprint".into(), json!(fp));
    }
    if matches!(kind, MediaKind::Text | MediaKind::Json)
        && let Some(n) = st.media(&f.id).and_then(|m| m.records())
    {
        o.insert("number_of_messages".into(), json!(n));
    }
    o.insert("auto_delete".into(), json!(st.is_auto_delete(&f.id)));
    Value::Object(o)
}

/// Whether every archive file of a meeting was deleted through the API (the meeting is
/// then no longer listed).
fn deleted_meeting(st: &AppState, m: &SimMeeting) -> bool {
    !m.files.is_empty() && m.files.iter().all(|f| st.is_removed(&f.id))
}

/// One meeting object as Zoom lists it at `now`.
fn meeting_json(st: &AppState, m: &SimMeeting, now: DateTime<Utc>) -> Value {
    let completed = now >= m.complete_time;
    let files: Vec<Value> = m
        .files
        .iter()
        .filter(|f| !st.is_removed(&f.id))
        .map(|f| file_json(st, m, f, now))
        .collect();
    let total: u64 = m
        .files
        .iter()
        .filter(|f| !st.is_removed(&f.id))
        .map(|f| st.served_len(&f.id))
        .sum();
    let mut o = Map::new();
    o.insert("uuid".into(), json!(m.uuid));
    if !m.external {
        o.insert("id".into(), json!(m.id));
        o.insert("host_id".into(), json!(m.host_id));
        o.insert("topic".into(), json!(m.topic));
    }
    o.insert(
        "type".into(),
        json!(if m.parent_uuid.is_some() { 100 } else { 2 }),
    );
    o.insert("start_time".into(), json!(fmt_dt(st, m.start_time)));
    o.insert("timezone".into(), json!("America/New_York"));
    o.insert("duration".into(), json!(m.duration_secs.div_ceil(60)));
    o.insert("duration_in_second".into(), json!(m.duration_secs));
    o.insert("total_size".into(), json!(total));
    o.insert("recording_count".into(), json!(files.len()));
    o.insert(
        "meeting_type".into(),
        json!(if m.external { "external" } else { "internal" }),
    );
    o.insert("account_name".into(), json!("Acme Compliance Inc."));
    o.insert(
        "complete_time".into(),
        json!(if completed {
            fmt_dt(st, m.complete_time)
        } else {
            String::new()
        }),
    );
    o.insert("is_breakout_room".into(), json!(m.parent_uuid.is_some()));
    if let Some(p) = &m.parent_uuid {
        o.insert("parent_meeting_id".into(), json!(p));
    }
    o.insert(
        "status".into(),
        json!(if completed { "completed" } else { "processing" }),
    );
    o.insert("archive_files".into(), Value::Array(files));
    Value::Object(o)
}

/// `GET /v2/archive_files`
pub(crate) async fn list(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(mut q): Query<BTreeMap<String, String>>,
) -> Response {
    let adm = match admit(
        &st,
        &headers,
        "/v2/archive_files",
        "GET /archive_files",
        Some((Table::Main, Category::Medium)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = st.clock.now();
    let (from, mut to, _) = match parse_range(&q, Duration::days(7), now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if to > now {
        to = now;
    }
    if from > to {
        return bad_request("The from date must be before the to date.");
    }
    if to - from > Duration::days(7) {
        return bad_request("The date range between from and to can not exceed 7 days.");
    }
    let by_complete = match q.get("query_date_type").map(String::as_str) {
        None | Some("") | Some("meeting_start_time") => false,
        Some("archive_complete_time") => true,
        Some(other) => return bad_request(&format!("Invalid field: query_date_type '{other}'.")),
    };
    let size = match page_size(&q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Bind page tokens to the canonical (echoed) from/to.
    q.insert("from".into(), fmt_dt(&st, from));
    q.insert("to".into(), fmt_dt(&st, to));
    let key = query_key("archive_files", adm.account, &q);
    if let Some(r) = forced_page_expiry(&st, "/v2/archive_files", &q) {
        return r;
    }
    let (offset, as_of) = match resume(&st, &key, &q) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let body = tokio::task::spawn_blocking(move || {
        let st = st2;
        let acct = &st.scenario.accounts[adm.account];
        let mut selected: Vec<&SimMeeting> = acct
            .meetings
            .iter()
            .filter(|m| !deleted_meeting(&st, m))
            .filter(|m| {
                if by_complete {
                    m.complete_time <= as_of && m.complete_time >= from && m.complete_time <= to
                } else {
                    m.start_time >= from && m.start_time <= to && m.start_time <= as_of
                }
            })
            .collect();
        selected.sort_by(|a, b| {
            let (ka, kb) = if by_complete {
                (a.complete_time, b.complete_time)
            } else {
                (a.start_time, b.start_time)
            };
            ka.cmp(&kb).then_with(|| a.uuid.cmp(&b.uuid))
        });
        let total = selected.len();
        let meetings: Vec<Value> = selected
            .iter()
            .skip(offset)
            .take(size)
            .map(|m| meeting_json(&st, m, as_of))
            .collect();
        let token = next_token(&st, &key, offset + size, total, as_of);
        json!({
            "from": fmt_dt(&st, from),
            "to": fmt_dt(&st, to),
            "page_size": size,
            "total_records": total,
            "next_page_token": token,
            "meetings": meetings,
        })
    })
    .await
    .expect("listing task");
    listing_ok(&st, "/v2/archive_files", body, adm.headers)
}

/// `GET /v2/past_meetings/{meetingUUID}/archive_files`
pub(crate) async fn one_meeting(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let path = format!("/v2/past_meetings/{segment}/archive_files");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "GET /past_meetings/{meetingUUID}/archive_files",
        Some((Table::Main, Category::Light)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let uuid = decode_uuid(&segment);
    let now = st.clock.now();
    let acct = &st.scenario.accounts[adm.account];
    let found = acct
        .meetings
        .iter()
        .position(|m| m.uuid == uuid)
        .or_else(|| {
            // A meeting number means its latest instance.
            let id: i64 = uuid.parse().ok()?;
            acct.meetings
                .iter()
                .enumerate()
                .filter(|(_, m)| m.id == id && !m.external && m.start_time <= now)
                .max_by_key(|(_, m)| m.start_time)
                .map(|(i, _)| i)
        });
    let Some(idx) = found.filter(|&i| {
        acct.meetings[i].start_time <= now && !deleted_meeting(&st, &acct.meetings[i])
    }) else {
        return zoom_error(404, 3001, "Meeting does not exist.");
    };
    let st2 = st.clone();
    let account = adm.account;
    let body = tokio::task::spawn_blocking(move || {
        meeting_json(&st2, &st2.scenario.accounts[account].meetings[idx], now)
    })
    .await
    .expect("meeting task");
    json_ok(body, adm.headers)
}

/// `DELETE /v2/past_meetings/{meetingUUID}/archive_files`: every archive file of the
/// meeting deleted, 204; 404 / 3001 for a meeting unknown or already deleted (Zoom's answer
/// then is assumed, not documented).
pub(crate) async fn delete_meeting(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let path = format!("/v2/past_meetings/{segment}/archive_files");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "DELETE /past_meetings/{meetingUUID}/archive_files",
        Some((Table::Main, Category::Light)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let uuid = decode_uuid(&segment);
    let now = st.clock.now();
    let acct = &st.scenario.accounts[adm.account];
    let Some(m) = acct
        .meetings
        .iter()
        .find(|m| m.uuid == uuid && m.start_time <= now && !deleted_meeting(&st, m))
    else {
        return zoom_error(404, 3001, "Meeting does not exist.");
    };
    let ids: Vec<String> = m.files.iter().map(|f| f.id.clone()).collect();
    st.removed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(ids.iter().cloned());
    st.stats.update(|s| {
        s.deletes.push(uuid.clone());
        s.deleted_files.extend(ids);
    });
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().extend(adm.headers);
    r
}

/// `PATCH /v2/archive_files/{fileId}` with `{"auto_delete": bool}`: 204; 400 / 300 without
/// the field; 404 for a file unknown or deleted (that answer's code and message are
/// assumed).
pub(crate) async fn tag_file(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(file_id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/v2/archive_files/{file_id}");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "PATCH /archive_files/{fileId}",
        Some((Table::Main, Category::Light)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(auto_delete) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("auto_delete").and_then(Value::as_bool))
    else {
        return bad_request("Invalid field: auto_delete.");
    };
    let known = st.files.get(&file_id).is_some_and(|f| {
        f.account == adm.account && matches!(f.loc, super::FileLoc::Archive { .. })
    }) && !st.is_removed(&file_id);
    if !known {
        return zoom_error(404, 404, "File does not exist.");
    }
    {
        let mut tagged = st.auto_delete.lock().unwrap_or_else(|e| e.into_inner());
        if auto_delete {
            tagged.insert(file_id.clone());
        } else {
            tagged.remove(&file_id);
        }
    }
    if auto_delete {
        st.stats.update(|s| s.auto_deleted.push(file_id));
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().extend(adm.headers);
    r
}
