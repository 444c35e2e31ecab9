//! Shared request plumbing: errors, auth gate, rate-limit headers, dates, pagination.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::{AppState, PageState};
use crate::faults::{BadListing, RetryAfter};
use crate::ratelimit::{Category, Decision, RateLimiter, Table, next_midnight};

/// Zoom error body `{"code":..,"message":..}` with a status.
pub(crate) fn zoom_error(status: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

/// 401 / code 124.
pub(crate) fn invalid_token() -> Response {
    zoom_error(401, 124, "Invalid access token.")
}

/// 400 / code 300 validation error.
pub(crate) fn bad_request(message: &str) -> Response {
    zoom_error(400, 300, message)
}

/// JSON 200 with extra headers.
pub(crate) fn json_ok(value: Value, headers: HeaderMap) -> Response {
    let mut r = axum::Json(value).into_response();
    r.headers_mut().extend(headers);
    r
}

fn default_message(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Invalid access token.",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "You have reached the maximum per-second rate limit for this API. Try again later.",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

fn hv(s: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(s.as_ref()).expect("header value")
}

/// `X-RateLimit-*` headers.
pub(crate) fn rl_headers(cat: Category, kind: &str, limit: u64, remaining: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        HeaderName::from_static("x-ratelimit-category"),
        hv(cat.name()),
    );
    h.insert(HeaderName::from_static("x-ratelimit-type"), hv(kind));
    h.insert(
        HeaderName::from_static("x-ratelimit-limit"),
        hv(limit.to_string()),
    );
    h.insert(
        HeaderName::from_static("x-ratelimit-remaining"),
        hv(remaining.to_string()),
    );
    h
}

const QPS_MSG: &str =
    "You have reached the maximum per-second rate limit for this API. Try again later.";
const DAILY_MSG: &str = "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.";

fn too_many(mut headers: HeaderMap, msg: &str, retry_after: Option<String>) -> Response {
    if let Some(ra) = retry_after {
        headers.insert(header::RETRY_AFTER, hv(ra));
    }
    let mut r = zoom_error(429, 429, msg);
    r.headers_mut().extend(headers);
    r
}

/// Formats a date-time the way Zoom does (`Z`, or `+00:00` when configured).
pub(crate) fn fmt_dt(st: &AppState, t: DateTime<Utc>) -> String {
    if st.scenario.options.plus_offset_dates {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// Always-`Z` date-time (headers).
pub(crate) fn fmt_z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a Zoom date or date-time query value; the flag says whether it was a bare date.
pub(crate) fn parse_when(raw: &str) -> Option<(DateTime<Utc>, bool)> {
    let s = raw.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some((t.with_timezone(&Utc), false));
    }
    let s2 = raw.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(s2, "%Y-%m-%d %H:%M:%S") {
        return Some((t.and_utc(), false));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s2, "%Y-%m-%dT%H:%M:%S") {
        return Some((t.and_utc(), false));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s2, "%Y-%m-%d") {
        return Some((d.and_hms_opt(0, 0, 0)?.and_utc(), true));
    }
    None
}

/// Parses `from`/`to`: a bare-date `to` means the end of that day.
pub(crate) fn parse_range(
    q: &BTreeMap<String, String>,
    default_span: Duration,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, bool), Response> {
    let to = match q.get("to").filter(|s| !s.is_empty()) {
        Some(raw) => {
            let (t, date_only) = parse_when(raw)
                .ok_or_else(|| bad_request(&format!("Invalid field: to '{raw}'.")))?;
            if date_only {
                t + Duration::days(1) - Duration::seconds(1)
            } else {
                t
            }
        }
        None => now,
    };
    let (from, date_only) = match q.get("from").filter(|s| !s.is_empty()) {
        Some(raw) => {
            parse_when(raw).ok_or_else(|| bad_request(&format!("Invalid field: from '{raw}'.")))?
        }
        None => (to - default_span, false),
    };
    if from > to {
        return Err(bad_request("The from date must be before the to date."));
    }
    Ok((from, to, date_only))
}

/// `page_size`: default 30, max 300.
pub(crate) fn page_size(q: &BTreeMap<String, String>) -> Result<usize, Response> {
    match q.get("page_size").filter(|s| !s.is_empty()) {
        None => Ok(30),
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) | Err(_) => Err(bad_request(&format!("Invalid field: page_size '{raw}'."))),
            Ok(n) => Ok(n.min(300)),
        },
    }
}

/// Canonical query key (without `next_page_token`) a page token is bound to.
pub(crate) fn query_key(endpoint: &str, account: usize, q: &BTreeMap<String, String>) -> String {
    let mut key = format!("{account}|{endpoint}");
    for (k, v) in q {
        if k != "next_page_token" {
            key.push('|');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
    }
    key
}

/// A forced expiry of the request's `next_page_token` (fault knob), if one is due.
pub(crate) fn forced_page_expiry(
    st: &AppState,
    path: &str,
    q: &BTreeMap<String, String>,
) -> Option<Response> {
    let has_token = q.get("next_page_token").is_some_and(|t| !t.is_empty());
    if has_token && st.faults.take_page_expiry(path) {
        st.stats.update(|s| s.errors_injected += 1);
        return Some(bad_request("The next page token is invalid or expired."));
    }
    None
}

/// A listing page as JSON 200, or the corrupt body a fault knob asks for.
pub(crate) fn listing_ok(st: &AppState, path: &str, body: Value, headers: HeaderMap) -> Response {
    let Some(kind) = st.faults.take_bad_listing(path) else {
        return json_ok(body, headers);
    };
    st.stats.update(|s| s.errors_injected += 1);
    let (content_type, text) = match kind {
        BadListing::Malformed => (
            "application/json;charset=UTF-8",
            "{\"page_size\": 30, \"meetings\": [{\"uuid\": \u{1}garbage]]} not json".to_string(),
        ),
        BadListing::Truncated => {
            let full = body.to_string();
            let cut = full.len() / 2;
            let cut = (0..=cut).rev().find(|&i| full.is_char_boundary(i)).unwrap_or(0);
            ("application/json;charset=UTF-8", full[..cut].to_string())
        }
        BadListing::Oversized(bytes) => {
            let mut v = body;
            if let Value::Object(o) = &mut v {
                o.insert("x_padding".into(), Value::String("x".repeat(bytes)));
            }
            ("application/json;charset=UTF-8", v.to_string())
        }
        BadListing::Html => (
            "text/html;charset=utf-8",
            "<!DOCTYPE html><html><body><h1>Sign In</h1></body></html>".to_string(),
        ),
        BadListing::WrongShape => (
            "application/json;charset=UTF-8",
            json!({"page_size": 30, "meetings": {"not": "a list"}, "recordings": 42, "next_page_token": 7}).to_string(),
        ),
    };
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], text).into_response();
    r.headers_mut().extend(headers);
    r
}

/// Resolves `next_page_token`: `(offset, as_of)`; a fresh query starts at 0 as of now.
pub(crate) fn resume(
    st: &AppState,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<(usize, DateTime<Utc>), Response> {
    let now = st.clock.now();
    let Some(tok) = q.get("next_page_token").filter(|s| !s.is_empty()) else {
        return Ok((0, now));
    };
    let pages = st.pages.lock().unwrap_or_else(|e| e.into_inner());
    match pages.get(tok) {
        Some(p)
            if p.key == key
                && p.epoch == st.faults.page_epoch()
                && now - p.created
                    <= Duration::seconds(st.scenario.options.page_token_ttl_secs as i64) =>
        {
            Ok((p.offset, p.as_of))
        }
        _ => Err(bad_request("The next page token is invalid or expired.")),
    }
}

/// Issues a page token for the next page, or `""` when `next_offset >= total`.
pub(crate) fn next_token(
    st: &AppState,
    key: &str,
    next_offset: usize,
    total: usize,
    as_of: DateTime<Utc>,
) -> String {
    if next_offset >= total {
        return String::new();
    }
    let tok = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        &uuid::Uuid::new_v4().simple().to_string()[..3]
    );
    st.pages.lock().unwrap_or_else(|e| e.into_inner()).insert(
        tok.clone(),
        PageState {
            key: key.to_string(),
            offset: next_offset,
            as_of,
            created: st.clock.now(),
            epoch: st.faults.page_epoch(),
        },
    );
    tok
}

/// Bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// An authenticated, admitted API request.
pub(crate) struct Admitted {
    /// Index of the token's account in the scenario.
    pub(crate) account: usize,
    /// `X-RateLimit-*` headers to add to the response.
    pub(crate) headers: HeaderMap,
}

/// Counts the request, applies injected faults, authenticates it, checks the token's scopes
/// (400 / 4711 for a withheld one) and, on the archive endpoints, that archiving is enabled,
/// then rate-limits it.
pub(crate) fn admit(
    st: &AppState,
    req_headers: &HeaderMap,
    path: &str,
    endpoint: &str,
    limit: Option<(Table, Category)>,
) -> Result<Admitted, Response> {
    st.stats.endpoint(
        endpoint,
        Some(limit.map(|(_, c)| c.name()).unwrap_or("Download")),
    );
    let cat = limit.map(|l| l.1).unwrap_or(Category::Light);
    if let Some(fault) = st.faults.take_request_fault(path, st.clock.now()) {
        st.stats.update(|s| s.errors_injected += 1);
        return Err(match fault {
            Err(status) => zoom_error(status, i64::from(status), default_message(status)),
            Ok(ra) => {
                st.stats.update(|s| s.rate_limited += 1);
                let lim = limit
                    .map(|(t, c)| RateLimiter::limit(&st.scenario.options, t, c))
                    .unwrap_or(1);
                match ra {
                    RetryAfter::None => too_many(rl_headers(cat, "QPS", lim, 0), QPS_MSG, None),
                    RetryAfter::Seconds(s) => {
                        too_many(rl_headers(cat, "QPS", lim, 0), QPS_MSG, Some(s.to_string()))
                    }
                    RetryAfter::DateTime(t) => {
                        too_many(rl_headers(cat, "QPS", lim, 0), QPS_MSG, Some(fmt_z(t)))
                    }
                    RetryAfter::DailyLimit => too_many(
                        rl_headers(cat, "Daily-limit", st.scenario.options.daily_limit, 0),
                        DAILY_MSG,
                        Some(fmt_z(next_midnight(st.clock.now()))),
                    ),
                    RetryAfter::Bare => too_many(HeaderMap::new(), QPS_MSG, None),
                    RetryAfter::DailyByMessage => too_many(HeaderMap::new(), DAILY_MSG, None),
                }
            }
        });
    }
    let account = st.authenticate(req_headers).ok_or_else(invalid_token)?;
    if let Some(scope) = super::oauth::scope_of(endpoint).filter(|s| st.faults.is_withheld(s)) {
        return Err(super::oauth::missing_scope(scope));
    }
    if st.faults.archiving_disabled()
        && matches!(
            endpoint,
            "GET /archive_files" | "GET /past_meetings/{meetingUUID}/archive_files"
        )
    {
        return Err(zoom_error(400, 200, "Not available for this account."));
    }
    let headers = match limit {
        None => HeaderMap::new(),
        Some((table, cat)) => {
            match st
                .limiter
                .check(&st.scenario.options, account, table, cat, st.clock.now())
            {
                Decision::Allowed { limit, remaining } => rl_headers(cat, "QPS", limit, remaining),
                Decision::Qps { limit } => {
                    st.stats.update(|s| s.rate_limited += 1);
                    return Err(too_many(
                        rl_headers(cat, "QPS", limit, 0),
                        QPS_MSG,
                        Some("1".into()),
                    ));
                }
                Decision::Daily { limit, reset } => {
                    st.stats.update(|s| s.rate_limited += 1);
                    return Err(too_many(
                        rl_headers(cat, "Daily-limit", limit, 0),
                        DAILY_MSG,
                        Some(fmt_z(reset)),
                    ));
                }
            }
        }
    };
    Ok(Admitted { account, headers })
}

/// Percent-decodes a meeting UUID path segment once more if it is still encoded
/// (double-encoded UUIDs starting with `/` or containing `//`).
pub(crate) fn decode_uuid(segment: &str) -> String {
    let lower = segment.to_ascii_lowercase();
    if ["%2f", "%3d", "%2b", "%25"]
        .iter()
        .any(|p| lower.contains(p))
    {
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned()
    } else {
        segment.to_string()
    }
}
