//! Media downloads: archive files, phone recordings (302 to `/file`) and the file host.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Duration;
use sha2::{Digest, Sha256};

use super::common::{admit, invalid_token, zoom_error};
use super::{AppState, FileLoc};
use crate::faults::{BodyFaults, Swap};
use crate::media::{CHUNK, Media};
use crate::ratelimit::{Category, Table};

const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign In | Zoom</title></head>\
<body><form action=\"/signin\" method=\"post\"><h1>Sign In</h1>\
<input name=\"email\"/><input name=\"password\" type=\"password\"/></form></body></html>\n";

fn swap_response(s: Swap) -> Response {
    match s {
        Swap::Html => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
            LOGIN_PAGE,
        )
            .into_response(),
        Swap::Json => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"code": 124, "message": "Invalid access token."})),
        )
            .into_response(),
    }
}

fn phone_not_found() -> Response {
    zoom_error(404, 404, "File does not exist.")
}

fn archive_not_found() -> Response {
    zoom_error(404, 3301, "This recording does not exist.")
}

/// Parses a single `bytes=` range: `None` = serve whole file, `Some(Err)` = unsatisfiable.
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len
        } else {
            let e: u64 = b.parse().ok()?;
            if e < start {
                return None;
            }
            (e + 1).min(len)
        };
        if start >= len {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

struct Streamer {
    st: Arc<AppState>,
    media: Media,
    pos: u64,
    end: u64,
    sent: u64,
    faults: BodyFaults,
    throttle: Option<u64>,
    done: bool,
}

async fn next_chunk(mut s: Streamer) -> Option<(Result<bytes::Bytes, std::io::Error>, Streamer)> {
    if s.done {
        return None;
    }
    if s.pos >= s.end {
        // Empty range.
        s.st.stats.update(|x| x.downloads_completed += 1);
        return None;
    }
    let mut n = (s.end - s.pos).min(CHUNK as u64);
    if let Some(cut) = s.faults.cut_after {
        if s.sent >= cut {
            s.done = true;
            // Let hyper flush the headers and bytes sent so far before the reset.
            tokio::time::sleep(StdDuration::from_millis(30)).await;
            s.st.stats.update(|x| x.errors_injected += 1);
            return Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "zoom-sim: injected connection reset",
                )),
                s,
            ));
        }
        n = n.min(cut - s.sent);
    }
    if let Some(d) = s.faults.delay_per_chunk {
        tokio::time::sleep(d).await;
    }
    if let Some(rate) = s.throttle.filter(|r| *r > 0) {
        tokio::time::sleep(StdDuration::from_secs_f64(n as f64 / rate as f64)).await;
    }
    let bytes = s.media.read_at(s.pos, n as usize);
    s.pos += n;
    s.sent += n;
    let finished = s.pos >= s.end;
    s.done = finished;
    s.st.stats.update(|x| {
        x.bytes_served += n;
        if finished {
            x.downloads_completed += 1;
        }
    });
    Some((Ok(bytes), s))
}

/// Streams a file (or a `Range` of it).
fn serve(st: &Arc<AppState>, file_id: &str, media: Media, req: &HeaderMap) -> Response {
    let len = media.len();
    let honour = st.scenario.options.honour_range;
    let mut status = StatusCode::OK;
    let (mut start, mut end) = (0, len);
    let mut content_range = None;
    if honour
        && let Some(r) = req
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_range(v, len))
    {
        match r {
            Ok((a, b)) => {
                (start, end) = (a, b);
                status = StatusCode::PARTIAL_CONTENT;
                let total = match st.faults.take_range_total(file_id) {
                    Some(lie) => {
                        st.stats.update(|x| x.errors_injected += 1);
                        lie
                    }
                    None => len,
                };
                content_range = Some(format!("bytes {a}-{}/{total}", b - 1));
            }
            Err(()) => {
                return (
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response();
            }
        }
    }
    st.stats.update(|x| x.downloads_started += 1);
    let content_type = media.content_type();
    let streamer = Streamer {
        st: st.clone(),
        media,
        pos: start,
        end,
        sent: 0,
        faults: st.faults.take_body_faults(file_id),
        throttle: st.scenario.options.throttle_bytes_per_sec_per_conn,
        done: false,
    };
    let body = Body::from_stream(futures::stream::unfold(streamer, next_chunk));
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if honour {
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    if let Some(cr) = content_range {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&cr).expect("content-range"),
        );
    }
    resp
}

/// `GET /rec/archive/download/{id}` (web host; Bearer required; not rate limited).
pub(crate) async fn archive(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/rec/archive/download/{id}");
    let adm = match admit(&st, &headers, &path, "GET /rec/archive/download", None) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(fref) = st.files.get(&id).filter(|f| f.account == adm.account) else {
        return archive_not_found();
    };
    let FileLoc::Archive { meeting, file } = fref.loc else {
        return archive_not_found();
    };
    let m = &st.scenario.accounts[fref.account].meetings[meeting];
    let f = &m.files[file];
    if f.deleted
        || st.faults.is_deleted(&id)
        || st.is_removed(&id)
        || !super::archive::file_ready(m, f, st.clock.now())
    {
        return archive_not_found();
    }
    if let Some(s) = st.faults.take_swap(&id) {
        st.stats.update(|x| x.errors_injected += 1);
        return swap_response(s);
    }
    if let Some(to) = st.faults.redirect_of(&id) {
        st.stats.update(|x| x.errors_injected += 1);
        return redirect_to(&to);
    }
    let Some(media) = st.media(&id) else {
        return archive_not_found();
    };
    serve(&st, &id, media, &headers)
}

/// `302 Found` to `location` (an injected hostile redirect).
fn redirect_to(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn sign(st: &AppState, payload: &str) -> String {
    let mut h = Sha256::new();
    h.update(st.secret.as_bytes());
    h.update(payload.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

fn make_jwt(st: &AppState, id: &str) -> String {
    let exp = (st.clock.now() + Duration::hours(1)).timestamp();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64.encode(format!(r#"{{"rid":"{id}","exp":{exp}}}"#));
    let payload = format!("{header}.{claims}");
    let sig = sign(st, &payload);
    format!("{payload}.{sig}")
}

fn verify_jwt(st: &AppState, jwt: &str) -> Option<String> {
    let (payload, sig) = jwt.rsplit_once('.')?;
    if sign(st, payload) != sig {
        return None;
    }
    let claims = payload.split_once('.')?.1;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let exp = v["exp"].as_i64()?;
    (st.clock.now().timestamp() < exp).then(|| v["rid"].as_str().map(str::to_string))?
}

/// `GET /v2/phone/recording/download/{id}`: 302 to the file host.
pub(crate) async fn phone(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v2/phone/recording/download/{id}");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "GET /phone/recording/download",
        Some((Table::Phone, Category::Medium)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(fref) = st.files.get(&id).filter(|f| f.account == adm.account) else {
        return phone_not_found();
    };
    let FileLoc::Phone { call, rec } = fref.loc else {
        return phone_not_found();
    };
    let r = &st.scenario.accounts[fref.account].calls[call].recordings[rec];
    if r.deleted
        || st.faults.is_deleted(&id)
        || st.is_removed(&id)
        || st.clock.now() < r.available_at
    {
        return phone_not_found();
    }
    if let Some(s) = st.faults.take_swap(&id) {
        st.stats.update(|x| x.errors_injected += 1);
        return swap_response(s);
    }
    let location = format!(
        "{}/file?business=phone&filename=call_recording_{id}.mp3&jwt={}",
        st.web_origin,
        make_jwt(&st, &id)
    );
    let mut resp = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    resp.headers_mut().extend(adm.headers);
    resp
}

/// `GET /file?business=phone&filename=...&jwt=...`: the file host (no Bearer needed).
pub(crate) async fn file(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    st.stats.endpoint("GET /file", Some("Download"));
    if headers.contains_key(header::AUTHORIZATION) {
        st.stats.endpoint("GET /file (with Authorization)", None);
    }
    if let Some(f) = st.faults.take_request_fault("/file", st.clock.now()) {
        st.stats.update(|x| x.errors_injected += 1);
        let status = f.err().unwrap_or(429);
        return zoom_error(status, i64::from(status), "Injected failure");
    }
    let Some(id) = q.get("jwt").and_then(|j| verify_jwt(&st, j)) else {
        return invalid_token();
    };
    let deleted = match st.files.get(&id).map(|f| f.loc) {
        Some(FileLoc::Phone { call, rec }) => {
            let acct = st.files[&id].account;
            st.scenario.accounts[acct].calls[call].recordings[rec].deleted
        }
        _ => true,
    };
    if deleted || st.faults.is_deleted(&id) || st.is_removed(&id) {
        return phone_not_found();
    }
    let Some(media) = st.media(&id) else {
        return phone_not_found();
    };
    serve(&st, &id, media, &headers)
}
