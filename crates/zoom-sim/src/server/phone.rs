//! Zoom Phone: `GET /phone/recordings`, and `DELETE /phone/recordings/{recordingId}` (the
//! recording removed: no longer listed nor served).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::AppState;
use super::FileLoc;
use super::common::{
    admit, bad_request, fmt_dt, forced_page_expiry, listing_ok, next_token, page_size, parse_range,
    query_key, resume, zoom_error,
};
use crate::ratelimit::{Category, Table};
use crate::scenario::{SimCall, SimPhoneRecording};

/// Deterministic UUID-shaped id derived from a string (call log ids, call history ids).
pub(crate) fn derived_uuid(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// `site{id,name}` shared by every phone object.
pub(crate) fn site() -> Value {
    json!({"id": "8f71O6rWT8KFUGQmJIFAdQ", "name": "Main Site"})
}

fn party(p: &Option<crate::scenario::SimParty>) -> Option<Value> {
    p.as_ref()
        .map(|p| json!({"name": p.name, "extension_number": p.extension_number}))
}

fn recording_json(st: &AppState, call: &SimCall, rec: &SimPhoneRecording) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(rec.id));
    o.insert("call_id".into(), json!(call.call_id));
    o.insert(
        "call_log_id".into(),
        json!(derived_uuid(&format!("log:{}", call.call_id))),
    );
    o.insert(
        "call_element_id".into(),
        json!(format!(
            "{}-{}",
            call.start.format("%Y%m%d"),
            derived_uuid(&format!("elem:{}", rec.id))
        )),
    );
    o.insert("caller_number".into(), json!(call.caller_number));
    o.insert("caller_name".into(), json!(call.caller_name));
    o.insert("caller_number_type".into(), json!(call.caller_number_type));
    o.insert("callee_number".into(), json!(call.callee_number));
    o.insert("callee_name".into(), json!(call.callee_name));
    o.insert("callee_number_type".into(), json!(call.callee_number_type));
    if let Some(v) = party(&call.outgoing_by) {
        o.insert("outgoing_by".into(), v);
    }
    if let Some(v) = party(&call.accepted_by) {
        o.insert("accepted_by".into(), v);
    }
    o.insert("date_time".into(), json!(fmt_dt(st, rec.start)));
    o.insert("end_time".into(), json!(fmt_dt(st, rec.end)));
    o.insert(
        "duration".into(),
        json!((rec.end - rec.start).num_seconds().max(0)),
    );
    o.insert("direction".into(), json!(call.direction));
    o.insert("recording_type".into(), json!(rec.recording_type));
    o.insert(
        "download_url".into(),
        json!(st.faults.listed_url(&rec.id).unwrap_or_else(|| format!(
            "{}/v2/phone/recording/download/{}",
            st.web_origin, rec.id
        ))),
    );
    o.insert(
        "owner".into(),
        json!({
            "type": call.owner.kind,
            "id": call.owner.id,
            "name": call.owner.name,
            "extension_number": call.owner.extension_number,
        }),
    );
    o.insert("site".into(), site());
    o.insert("disclaimer_status".into(), json!(0));
    o.insert("auto_delete_enable".into(), json!(false));
    Value::Object(o)
}

fn visible(rec: &SimPhoneRecording, as_of: DateTime<Utc>) -> bool {
    rec.available_at <= as_of
}

/// `GET /v2/phone/recordings`
pub(crate) async fn list(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(mut q): Query<BTreeMap<String, String>>,
) -> Response {
    let adm = match admit(
        &st,
        &headers,
        "/v2/phone/recordings",
        "GET /phone/recordings",
        Some((Table::Phone, Category::Medium)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = st.clock.now();
    let (from, to, _) = match parse_range(&q, Duration::days(30), now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if to - from > Duration::days(31) {
        return bad_request("The date range between from and to can not exceed one month.");
    }
    let by_end = match q.get("query_date_type").map(String::as_str) {
        None | Some("") | Some("start_time") => false,
        Some("end_time") => true,
        Some(other) => return bad_request(&format!("Invalid field: query_date_type '{other}'.")),
    };
    let owner_type = q.get("owner_type").filter(|s| !s.is_empty()).cloned();
    let rec_type = q.get("recording_type").filter(|s| !s.is_empty()).cloned();
    let size = match page_size(&q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    q.insert("from".into(), fmt_dt(&st, from));
    q.insert("to".into(), fmt_dt(&st, to));
    let key = query_key("phone/recordings", adm.account, &q);
    if let Some(r) = forced_page_expiry(&st, "/v2/phone/recordings", &q) {
        return r;
    }
    let (offset, as_of) = match resume(&st, &key, &q) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let acct = &st.scenario.accounts[adm.account];
    let mut items: Vec<(&SimCall, &SimPhoneRecording)> = acct
        .calls
        .iter()
        .flat_map(|c| c.recordings.iter().map(move |r| (c, r)))
        .filter(|(c, r)| {
            let t = if by_end { r.end } else { r.start };
            visible(r, as_of)
                && !st.is_removed(&r.id)
                && t >= from
                && t <= to
                && owner_type.as_deref().is_none_or(|o| {
                    o == c.owner.kind || (o == "commonArea" && c.owner.kind == "sharedOffice")
                })
                && rec_type
                    .as_deref()
                    .is_none_or(|rt| rt.eq_ignore_ascii_case(&r.recording_type))
        })
        .collect();
    items.sort_by(|a, b| a.1.start.cmp(&b.1.start).then_with(|| a.1.id.cmp(&b.1.id)));
    let total = items.len();
    let recordings: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(size)
        .map(|(c, r)| recording_json(&st, c, r))
        .collect();
    let token = next_token(&st, &key, offset + size, total, as_of);
    listing_ok(
        &st,
        "/v2/phone/recordings",
        json!({
            "next_page_token": token,
            "page_size": size,
            "total_records": total,
            "recordings": recordings,
        }),
        adm.headers,
    )
}

/// `DELETE /v2/phone/recordings/{recordingId}` (Phone Light): 204; 404 / code 404
/// `Recording does not exist: {id}.` (Zoom's Phone spec) for one unknown, not available
/// yet, or deleted.
pub(crate) async fn delete_recording(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v2/phone/recordings/{id}");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "DELETE /phone/recordings/{recordingId}",
        Some((Table::Phone, Category::Light)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = st.clock.now();
    let found = st.files.get(&id).and_then(|f| match f.loc {
        FileLoc::Phone { call, rec } if f.account == adm.account => {
            Some(&st.scenario.accounts[f.account].calls[call].recordings[rec])
        }
        _ => None,
    });
    if !found.is_some_and(|r| visible(r, now)) || st.is_removed(&id) {
        return zoom_error(404, 404, &format!("Recording does not exist: {id}."));
    }
    st.removed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone());
    st.stats.update(|s| {
        s.deletes.push(id.clone());
        s.deleted_files.push(id);
    });
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().extend(adm.headers);
    r
}
