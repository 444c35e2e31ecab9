//! `POST /oauth/token` (Server-to-Server OAuth, `grant_type=account_credentials`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use chrono::Duration;
use serde_json::json;

use super::{AppState, TokenInfo};

/// The granular scope each endpoint needs (as `admit` names the endpoint), per the shared
/// Zoom reference (archive scopes unconfirmed there).
const ENDPOINT_SCOPES: &[(&str, &str)] = &[
    (
        "GET /archive_files",
        "archiving:read:list_archived_files:admin",
    ),
    (
        "GET /past_meetings/{meetingUUID}/archive_files",
        "archiving:read:archived_files:admin",
    ),
    (
        "GET /metrics/meetings",
        "dashboard:read:list_meetings:admin",
    ),
    (
        "GET /metrics/meetings/{meetingId}/participants",
        "dashboard:read:list_meeting_participants:admin",
    ),
    (
        "GET /phone/recordings",
        "phone:read:list_call_recordings:admin",
    ),
    (
        "GET /phone/recording/download",
        "phone:read:call_recording:admin",
    ),
    ("GET /phone/call_history", "phone:read:list_call_logs:admin"),
    ("GET /phone/call_logs", "phone:read:list_call_logs:admin"),
    (
        "GET /phone/call_history/{callHistoryUuid}",
        "phone:read:call_log:admin",
    ),
    ("GET /users/{userId}", "user:read:user:admin"),
    // The deletes: granular scopes from Zoom's Phone spec (phone) and third-party listings
    // of Zoom's granular scopes (archiving; unconfirmed).
    (
        "DELETE /past_meetings/{meetingUUID}/archive_files",
        "archiving:delete:archived_files:admin",
    ),
    (
        "PATCH /archive_files/{fileId}",
        "archiving:update:archived_file_auto_delete_status:admin",
    ),
    (
        "DELETE /phone/recordings/{recordingId}",
        "phone:delete:call_recording:admin",
    ),
];

/// The scope `endpoint` needs, if the simulator checks one.
pub(crate) fn scope_of(endpoint: &str) -> Option<&'static str> {
    ENDPOINT_SCOPES
        .iter()
        .find(|(e, _)| *e == endpoint)
        .map(|(_, s)| *s)
}

/// Zoom's 400 / code 4711 for a token without `scope`: the scope's user and `:admin`
/// forms, in the words of `zoom-samples/error_4711_missing_scopes.json`.
pub(crate) fn missing_scope(scope: &str) -> Response {
    let user = scope.strip_suffix(":admin").unwrap_or(scope);
    super::common::zoom_error(
        400,
        4711,
        &format!("Invalid access token, does not contain scopes:[{user}, {scope}]."),
    )
}

/// The `scope` of a token issued now: every scope the endpoints need, but the withheld.
fn granted(st: &AppState) -> String {
    let mut scopes: Vec<&str> = ENDPOINT_SCOPES
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| !st.faults.is_withheld(s))
        .collect();
    scopes.dedup();
    scopes.join(" ")
}

fn oauth_error(reason: &str, error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"reason": reason, "error": error})),
    )
        .into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Issues an access token bound to one account.
pub(crate) async fn token(
    State(st): State<Arc<AppState>>,
    Query(mut params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.stats.endpoint("POST /oauth/token", None);
    if let Some(Err(status)) = st.faults.take_request_fault("/oauth/token", st.clock.now()) {
        st.stats.update(|s| s.errors_injected += 1);
        return super::common::zoom_error(status, i64::from(status), "Injected failure");
    }
    for (k, v) in url::form_urlencoded::parse(&body) {
        params
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    if params.get("grant_type").map(String::as_str) != Some("account_credentials") {
        return oauth_error("Unsupported grant type", "unsupported_grant_type");
    }
    let Some((client_id, client_secret)) = basic_credentials(&headers) else {
        return oauth_error("Invalid client_id or client_secret", "invalid_client");
    };
    let Some((idx, acct)) = st
        .scenario
        .accounts
        .iter()
        .enumerate()
        .find(|(_, a)| a.client_id == client_id && a.client_secret == client_secret)
    else {
        return oauth_error("Invalid client_id or client_secret", "invalid_client");
    };
    if params.get("account_id") != Some(&acct.account_id) {
        return oauth_error("Account does not exist", "invalid_request");
    }
    let ttl = st.scenario.options.token_ttl_secs;
    let access_token = format!(
        "eyJzaW0iOnRydWV9.{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    st.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
        access_token.clone(),
        TokenInfo {
            account: idx,
            expires: st.clock.now() + Duration::seconds(ttl as i64),
            epoch: st.faults.token_epoch(),
        },
    );
    st.stats.update(|s| s.tokens_issued += 1);
    axum::Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": granted(&st),
        "api_url": st.api_origin,
    }))
    .into_response()
}
