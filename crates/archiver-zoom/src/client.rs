//! The client: OAuth token cache, retries, pacing, listings and downloads.

use crate::config::{PacingConfig, ZoomClientConfig, redact_proxy};
use crate::errors::{
    RateHeaders, ZoomErrorBody, classify, excerpt, is_token_rejection, rate_limited,
};
use crate::hosts::HostPolicy;
use crate::pacing::{Bucket, Pacer, RateLimitInfo};
use crate::uuid::{encode_meeting_uuid, encode_path_segment};
use archiver_core::domain::time::{format_zoom_time, parse_zoom_time};
use archiver_core::{
    ArchiveDateType, ArchiveFilesPage, ArchiveMeeting, ByteStream, CallHistoryItem,
    CallHistoryPage, CallPath, DashboardMeeting, DashboardMeetingsPage, Download, Endpoint,
    MeetingParticipant, Page, ParticipantsPage, PhoneRecording, PhoneRecordingsPage, Window,
    ZoomAnswer, ZoomApi, ZoomError, ZoomUser,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tracing::debug;
use url::Url;

/// Redirect hops followed by [`ZoomClient::download`].
const MAX_REDIRECTS: usize = 5;
/// Longest error body read (the rest is dropped).
const ERROR_BODY_LIMIT: usize = 8 * 1024;
/// Largest JSON body (a listing, a lookup, the token response) a [`ZoomClient`] reads: a
/// larger one fails with [`ZoomError::Decode`] naming the endpoint, after at most this many
/// bytes were read and held. Download bodies are streams and are not limited by it.
pub const MAX_JSON_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Longest gap before a token's expiry at which it is refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A Zoom HTTP client for one tenant (implements [`ZoomApi`]).
///
/// Cheap to clone: clones share the connection pool, the cached access token, the pacers
/// and the rate-limit snapshot.
#[derive(Clone)]
pub struct ZoomClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ZoomClientConfig,
    api_base: String,
    oauth_url: Url,
    /// Where downloads may go and which origins get the token.
    hosts: HostPolicy,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Arc<AccessToken>>>,
    generation: std::sync::atomic::AtomicU64,
    light: Pacer,
    medium: Pacer,
    heavy: Pacer,
    resource_intensive: Pacer,
    phone_light: Pacer,
    phone_medium: Pacer,
    phone_heavy: Pacer,
    limits: Mutex<BTreeMap<String, RateLimitInfo>>,
    /// Set once `/phone/call_history` proved unavailable: the legacy `/phone/call_logs` is
    /// used from then on (see [`call_history_unavailable`]).
    legacy_call_logs: AtomicBool,
}

/// A cached access token.
struct AccessToken {
    value: SecretString,
    generation: u64,
    refresh_at: Instant,
    /// The scopes the OAuth answer said the token grants, when it listed them.
    scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    /// Space-separated scopes.
    #[serde(default)]
    scope: Option<String>,
}

/// One logical request, for logs, pacing and the rate-limit snapshot.
#[derive(Clone, Copy)]
struct Op<'a> {
    method: &'static str,
    /// Path (or origin + path for downloads), never with a query string.
    log_path: &'a str,
    bucket: Option<Bucket>,
}

/// A final non-2xx answer of an API `GET`, before classification.
struct Rejected {
    status: StatusCode,
    body: Bytes,
    log_path: String,
}

impl Rejected {
    fn classify(&self) -> ZoomError {
        classify(self.status, &self.body, &self.log_path)
    }
}

/// Whether an answer of `GET /phone/call_history` means the account has no call history
/// API (so the legacy `GET /phone/call_logs` is to be used):
///
/// - 404 whose body carries no Zoom code or the code 404 (the answer for an unknown route;
///   a resource-specific 404 carries its own code: 1001 user, 2001 account, ...);
/// - 400 whose message says the API is unavailable (`unavailable`, `not available`).
///
/// Anything else (403 scopes, 429, other 400s) is an error of the call, not a fallback.
fn call_history_unavailable(status: StatusCode, body: &[u8]) -> bool {
    let parsed = ZoomErrorBody::parse(body);
    match status {
        StatusCode::NOT_FOUND => matches!(parsed.code(), None | Some(404)),
        StatusCode::BAD_REQUEST => {
            let m = parsed.message.unwrap_or_default().to_ascii_lowercase();
            m.contains("unavailable") || m.contains("not available")
        }
        _ => false,
    }
}

/// A `from`/`to` value of `/metrics/meetings`: the dashboard takes `yyyy-MM-dd` or
/// `yyyy-MM-dd HH:mm:ss` (UTC), not the ISO form of the other listings. The date-time
/// form is always sent, so that a window inside one day (or ending at midnight) means
/// exactly that window: a bare-date `to` would mean the end of that whole day.
fn format_dashboard_time(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The `to` Zoom echoed, when it is a date-time (a bare date names a day, not the window
/// end that was sent, and must not be reused with a page token).
fn echoed_instant(body: &[u8]) -> Option<chrono::DateTime<Utc>> {
    #[derive(Deserialize)]
    struct Echo {
        #[serde(default)]
        to: Option<serde_json::Value>,
    }
    let echo: Echo = serde_json::from_slice(body).ok()?;
    let raw = echo.to?;
    let raw = raw.as_str()?.trim();
    if raw.len() <= "yyyy-mm-dd".len() {
        return None;
    }
    parse_zoom_time(raw)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ZoomError> {
    serde_json::from_slice(body)
        .map_err(|e| ZoomError::Decode(format!("{e}; body starts with: {}", excerpt(body))))
}

/// A call-history (or call-log) page: `call_history[]`, else the transitional or legacy
/// `call_logs[]`.
fn call_history_page(page: CallHistoryPage) -> Page<CallHistoryItem> {
    let items = if page.call_history.is_empty() {
        page.call_logs
    } else {
        page.call_history
    };
    Page {
        items,
        next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        to: None,
        total_records: page.total_records,
    }
}

fn config_error(message: impl Into<String>) -> ZoomError {
    ZoomError::BadRequest {
        code: 0,
        message: format!("invalid Zoom client configuration: {}", message.into()),
    }
}

/// Scheme, host, port and path of a URL: what may be logged of a download URL.
fn loggable(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A transport error as text, without the URL (which may carry a signed query).
fn transport_message(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    let e = e.without_url();
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// A `Content-Range: bytes {start}-{end}/{total}` value (`total` is `None` for `*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) total: Option<u64>,
}

pub(crate) fn parse_content_range(v: &str) -> Option<ContentRange> {
    let range = v.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = range.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (start <= end && total.is_none_or(|t| end < t)).then_some(ContentRange { start, end, total })
}

/// Checks a 206 answer of `from` to `Range: bytes={asked}-{last}` (`last` empty when `None`):
/// the range served is the one asked, its total is `expected_total` (when known), an
/// open range ends at the total, and `Content-Length` is the range's length.
fn check_partial(
    from: &Url,
    header: Option<&reqwest::header::HeaderValue>,
    content_length: Option<u64>,
    (asked, last): (u64, Option<u64>),
    expected_total: Option<u64>,
) -> Result<(), ZoomError> {
    let host = from.host_str().unwrap_or("(none)");
    let asked_text = format!(
        "bytes={asked}-{}",
        last.map(|l| l.to_string()).unwrap_or_default()
    );
    let Some(cr) = header
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
    else {
        return Err(ZoomError::Decode(format!(
            "206 from {host} for {asked_text} with an unusable Content-Range {header:?}"
        )));
    };
    if let Some(expected) = expected_total
        && cr.total != Some(expected)
    {
        let got = cr.total.map_or("*".to_string(), |t| t.to_string());
        return Err(ZoomError::Decode(format!(
            "206 from {host} for {asked_text}: Content-Range total {got}, expected {expected} (the file size)"
        )));
    }
    let end_ok = match (last, cr.total) {
        (Some(l), _) => cr.end == l,
        (None, Some(total)) => cr.end + 1 == total,
        (None, None) => true,
    };
    if cr.start != asked || !end_ok {
        return Err(ZoomError::Decode(format!(
            "206 from {host} for {asked_text} served bytes {}-{} of {}",
            cr.start,
            cr.end,
            cr.total.map_or("*".to_string(), |t| t.to_string())
        )));
    }
    if let Some(len) = content_length
        && len != cr.end - cr.start + 1
    {
        return Err(ZoomError::Decode(format!(
            "206 from {host} for {asked_text}: Content-Length {len} for bytes {}-{} ({} bytes)",
            cr.start,
            cr.end,
            cr.end - cr.start + 1
        )));
    }
    Ok(())
}

/// Reads a whole (JSON) body of `what` (method and path, never a query), failing once it
/// exceeds `limit` bytes: at once when `Content-Length` says so, else as soon as the bytes
/// read pass it. Never holds more than `limit` bytes.
async fn read_capped(resp: Response, limit: usize, what: &str) -> Result<Bytes, ZoomError> {
    let too_large = |size: String| {
        ZoomError::Decode(format!(
            "the body of {what} is {size}, over the limit of {limit} bytes"
        ))
    };
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(too_large(format!("{len} bytes")));
    }
    let hint = resp.content_length().unwrap_or(0) as usize;
    let mut out: Vec<u8> = Vec::with_capacity(hint);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ZoomError::Transport(transport_message(e)))?;
        if chunk.len() > limit - out.len() {
            return Err(too_large(format!("more than {limit} bytes")));
        }
        if out.capacity() - out.len() < chunk.len() {
            // Grow by doubling, but never past the limit.
            let want = (out.capacity() * 2).max(out.len() + chunk.len()).min(limit);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// Reads at most [`ERROR_BODY_LIMIT`] bytes of an (error) body.
async fn read_limited(resp: Response) -> Bytes {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = ERROR_BODY_LIMIT - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    Bytes::from(out)
}

impl ZoomClient {
    /// Builds a client with the default [`PacingConfig`]. Does no I/O (the token is fetched on first use).
    pub fn new(cfg: ZoomClientConfig) -> Result<Self, ZoomError> {
        Self::with_pacing(cfg, PacingConfig::default())
    }

    /// Builds a client with explicit per-category pacing.
    pub fn with_pacing(cfg: ZoomClientConfig, pacing: PacingConfig) -> Result<Self, ZoomError> {
        let api_base = cfg.api_base_url.trim_end_matches('/').to_string();
        let parsed =
            Url::parse(&api_base).map_err(|e| config_error(format!("api_base_url: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(config_error("api_base_url must be http(s)"));
        }
        let oauth_url =
            Url::parse(&cfg.oauth_url).map_err(|e| config_error(format!("oauth_url: {e}")))?;
        let hosts = HostPolicy::new(&parsed, &oauth_url)
            .ok_or_else(|| config_error("api_base_url has no host"))?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .user_agent(concat!("zoom-archiver/", env!("CARGO_PKG_VERSION")));
        builder = match &cfg.proxy {
            Some(p) => {
                let proxy = reqwest::Proxy::all(p.expose_secret())
                    .map_err(|_| config_error(format!("proxy {}", redact_proxy(p))))?;
                builder.proxy(proxy)
            }
            None => builder.no_proxy(),
        };
        let http = builder
            .build()
            .map_err(|e| config_error(transport_message(e)))?;
        Ok(ZoomClient {
            inner: Arc::new(Inner {
                api_base,
                oauth_url,
                hosts,
                http,
                token: tokio::sync::Mutex::new(None),
                generation: std::sync::atomic::AtomicU64::new(0),
                light: Pacer::per_second(pacing.light_per_second),
                medium: Pacer::per_second(pacing.medium_per_second),
                heavy: Pacer::per_second(pacing.heavy_per_second),
                resource_intensive: Pacer::per_minute(pacing.resource_intensive_per_minute),
                phone_light: Pacer::per_second(pacing.phone_light_per_second),
                phone_medium: Pacer::per_second(pacing.phone_medium_per_second),
                phone_heavy: Pacer::per_second(pacing.phone_heavy_per_second),
                limits: Mutex::new(BTreeMap::new()),
                legacy_call_logs: AtomicBool::new(false),
                cfg,
            }),
        })
    }

    /// The last rate-limit headers Zoom sent, per category (`Light`, `Medium`, `Heavy`,
    /// `Resource-intensive`, `phone:Light`, `phone:Medium`, `phone:Heavy`, ...).
    pub fn rate_limit_snapshot(&self) -> BTreeMap<String, RateLimitInfo> {
        self.inner
            .limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn pacer(&self, b: Bucket) -> &Pacer {
        match b {
            Bucket::Light => &self.inner.light,
            Bucket::Medium => &self.inner.medium,
            Bucket::Heavy => &self.inner.heavy,
            Bucket::ResourceIntensive => &self.inner.resource_intensive,
            Bucket::PhoneLight => &self.inner.phone_light,
            Bucket::PhoneMedium => &self.inner.phone_medium,
            Bucket::PhoneHeavy => &self.inner.phone_heavy,
        }
    }

    fn record_limits(&self, bucket: Option<Bucket>, rh: &RateHeaders, status: StatusCode) {
        if !rh.is_present() {
            return;
        }
        let Some(category) = rh
            .category
            .clone()
            .or_else(|| bucket.map(|b| b.label().to_string()))
        else {
            return;
        };
        let key = format!(
            "{}{category}",
            bucket.map(Bucket::table_prefix).unwrap_or("")
        );
        let mut limits = self.inner.limits.lock().unwrap_or_else(|e| e.into_inner());
        let prev = limits.get(&key).cloned();
        let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
            match rate_limited(rh, Utc::now()) {
                ZoomError::RateLimited { retry_after, .. } => retry_after,
                _ => None,
            }
        } else if status.is_success() {
            None
        } else {
            prev.as_ref().and_then(|p| p.retry_after)
        };
        limits.insert(
            key,
            RateLimitInfo {
                limit: rh.limit.or(prev.as_ref().and_then(|p| p.limit)),
                remaining: rh.remaining,
                kind: rh.kind.clone().or(prev.and_then(|p| p.kind)),
                retry_after,
                observed_at: Utc::now(),
            },
        );
    }

    /// Sends a request, retrying transport errors, 5xx and per-second 429s per the policy.
    /// Returns every other response (2xx, 3xx, 4xx) as is.
    async fn send(
        &self,
        op: Op<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ZoomError> {
        let policy = self.inner.cfg.retry;
        let mut attempt: u32 = 0;
        loop {
            if let Some(b) = op.bucket {
                self.pacer(b).acquire().await;
            }
            let resp = match build().send().await {
                Ok(r) => r,
                Err(e) => {
                    let msg = transport_message(e);
                    debug!(method = op.method, path = op.log_path, attempt, error = %msg, "zoom request failed");
                    if attempt < policy.max_retries {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(ZoomError::Transport(msg));
                }
            };
            let status = resp.status();
            debug!(
                method = op.method,
                path = op.log_path,
                status = status.as_u16(),
                attempt,
                "zoom response"
            );
            let now = Utc::now();
            let mut rh = RateHeaders::parse(resp.headers());
            if status == StatusCode::TOO_MANY_REQUESTS {
                // The `X-RateLimit-*` headers are not confirmed (zoom-api.md §7): a daily
                // limit is also known by its message ("…the daily rate limit…").
                let body = read_limited(resp).await;
                if !rh.is_daily() && crate::errors::mentions_daily_limit(&body) {
                    rh.kind = Some("Daily-limit".into());
                }
                self.record_limits(op.bucket, &rh, status);
                if rh.is_daily() || attempt >= policy.max_retries {
                    return Err(rate_limited(&rh, now));
                }
                let wait = match rh.retry_after {
                    Some(hint) => {
                        let w = hint.wait_from(now);
                        if w > policy.max_honoured_retry_after {
                            return Err(rate_limited(&rh, now));
                        }
                        w + Duration::from_millis(fastrand::u64(0..=250))
                    }
                    None => policy.backoff(attempt),
                };
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            self.record_limits(op.bucket, &rh, status);
            if status.is_server_error() {
                if attempt < policy.max_retries {
                    drop(resp);
                    tokio::time::sleep(policy.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                let body = read_limited(resp).await;
                let message = ZoomErrorBody::parse(&body).message_or(&body);
                return Err(ZoomError::Server {
                    status: status.as_u16(),
                    message,
                });
            }
            return Ok(resp);
        }
    }

    /// The cached token, fetched or refreshed when missing or near expiry (single flight).
    async fn token(&self) -> Result<Arc<AccessToken>, ZoomError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.clone());
        }
        let t = Arc::new(self.fetch_token().await?);
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Replaces a token Zoom refused, unless another caller already did.
    async fn refresh_token(&self, stale: &AccessToken) -> Result<Arc<AccessToken>, ZoomError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && t.generation != stale.generation
            && Instant::now() < t.refresh_at
        {
            return Ok(t.clone());
        }
        *slot = None;
        let t = Arc::new(self.fetch_token().await?);
        *slot = Some(t.clone());
        Ok(t)
    }

    async fn fetch_token(&self) -> Result<AccessToken, ZoomError> {
        let creds = &self.inner.cfg.credentials;
        let op = Op {
            method: "POST",
            log_path: self.inner.oauth_url.path(),
            bucket: None,
        };
        let form = [
            ("grant_type", "account_credentials"),
            ("account_id", creds.account_id.as_str()),
        ];
        let started = Instant::now();
        let resp = self
            .send(op, || {
                self.inner
                    .http
                    .post(self.inner.oauth_url.clone())
                    .basic_auth(&creds.client_id, Some(creds.client_secret.expose_secret()))
                    .form(&form)
            })
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let body = read_limited(resp).await;
            let parsed = ZoomErrorBody::parse(&body);
            let reason = match (&parsed.error, &parsed.reason) {
                (Some(e), Some(r)) => format!("{e}: {r}"),
                _ => parsed.message_or(&body),
            };
            let reason = if reason.is_empty() {
                status.to_string()
            } else {
                reason
            };
            return Err(match status {
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => {
                    ZoomError::Unauthorized(format!("token request refused ({status}): {reason}"))
                }
                StatusCode::FORBIDDEN => {
                    ZoomError::Forbidden(format!("token request refused: {reason}"))
                }
                _ => ZoomError::BadRequest {
                    code: i64::from(status.as_u16()),
                    message: format!("token request: {reason}"),
                },
            });
        }
        let body = read_capped(
            resp,
            MAX_JSON_BODY_BYTES,
            &format!("POST {}", self.inner.oauth_url.path()),
        )
        .await?;
        // Never echo the body: it carries the token.
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            ZoomError::Decode(format!(
                "token response does not parse ({} bytes)",
                body.len()
            ))
        })?;
        if parsed.access_token.is_empty() {
            return Err(ZoomError::Decode(
                "token response has an empty access_token".into(),
            ));
        }
        let ttl = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        let margin = REFRESH_MARGIN.min(ttl / 10);
        let generation = self
            .inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        debug!(
            ttl_secs = ttl.as_secs(),
            generation, "zoom access token obtained"
        );
        let scopes = parsed
            .scope
            .map(|s| s.split_whitespace().map(str::to_string).collect());
        Ok(AccessToken {
            value: SecretString::from(parsed.access_token),
            generation,
            refresh_at: started + ttl - margin,
            scopes,
        })
    }

    /// An authenticated API `GET` returning the 2xx body; refreshes the token once on 401 / code 124.
    async fn api_get(
        &self,
        bucket: Bucket,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Bytes, ZoomError> {
        self.api_get_raw(bucket, path, query)
            .await?
            .map_err(|r| r.classify())
    }

    /// Like [`ZoomClient::api_get`], with a final non-2xx answer (other than 429 / 5xx,
    /// which `send` turns into errors) returned unclassified.
    async fn api_get_raw(
        &self,
        bucket: Bucket,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Result<Bytes, Rejected>, ZoomError> {
        let url = format!("{}{path}", self.inner.api_base);
        let log_path = Url::parse(&url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| path.to_string());
        let op = Op {
            method: "GET",
            log_path: &log_path,
            bucket: Some(bucket),
        };
        let mut token = self.token().await?;
        let mut refreshed = false;
        loop {
            let resp = self
                .send(op, || {
                    self.inner
                        .http
                        .get(&url)
                        .bearer_auth(token.value.expose_secret())
                        .query(query)
                })
                .await?;
            let status = resp.status();
            if status.is_success() {
                return read_capped(resp, MAX_JSON_BODY_BYTES, &format!("GET {log_path}"))
                    .await
                    .map(Ok);
            }
            let body = read_limited(resp).await;
            if !refreshed && is_token_rejection(status, &ZoomErrorBody::parse(&body)) {
                debug!(path = %log_path, "zoom refused the access token; refreshing it once");
                token = self.refresh_token(&token).await?;
                refreshed = true;
                continue;
            }
            return Ok(Err(Rejected {
                status,
                body,
                log_path,
            }));
        }
    }

    /// An authenticated API write (`DELETE`, or `PATCH` with a JSON body); refreshes the
    /// token once on 401 / code 124. A 2xx is `Ok` with its status; any other final answer
    /// is classified ([`classify`]: `NotFound`, `MissingScopes`, `BadRequest`, ...).
    async fn api_write(
        &self,
        method: reqwest::Method,
        bucket: Bucket,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<ZoomAnswer, ZoomError> {
        let url = format!("{}{path}", self.inner.api_base);
        let log_path = Url::parse(&url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| path.to_string());
        let name: &'static str = if method == reqwest::Method::DELETE {
            "DELETE"
        } else {
            "PATCH"
        };
        let op = Op {
            method: name,
            log_path: &log_path,
            bucket: Some(bucket),
        };
        let mut token = self.token().await?;
        let mut refreshed = false;
        loop {
            let resp = self
                .send(op, || {
                    let r = self
                        .inner
                        .http
                        .request(method.clone(), &url)
                        .bearer_auth(token.value.expose_secret());
                    match &body {
                        Some(b) => r.json(b),
                        None => r,
                    }
                })
                .await?;
            let status = resp.status();
            let answer = read_limited(resp).await;
            if status.is_success() {
                let parsed = ZoomErrorBody::parse(&answer);
                return Ok(ZoomAnswer {
                    status: status.as_u16(),
                    code: parsed.code(),
                    message: parsed.message.clone().filter(|m| !m.is_empty()),
                });
            }
            if !refreshed && is_token_rejection(status, &ZoomErrorBody::parse(&answer)) {
                debug!(path = %log_path, "zoom refused the access token; refreshing it once");
                token = self.refresh_token(&token).await?;
                refreshed = true;
                continue;
            }
            return Err(classify(status, &answer, &format!("{name} {log_path}")));
        }
    }

    async fn api_get_json<T: DeserializeOwned>(
        &self,
        bucket: Bucket,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ZoomError> {
        let body = self.api_get(bucket, path, query).await?;
        decode(&body)
    }

    /// `page_size` and `next_page_token` (when given) of a listing.
    fn page_query(&self, page_token: Option<&str>) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "page_size",
            self.inner.cfg.page_size.clamp(1, 300).to_string(),
        )];
        if let Some(t) = page_token.filter(|t| !t.is_empty()) {
            q.push(("next_page_token", t.to_string()));
        }
        q
    }

    /// One page of the legacy `GET /phone/call_logs` (Phone Heavy), the items mapped onto
    /// the call history's names by [`CallHistoryItem`]'s deserializer (`id`, `date_time`,
    /// `call_end_time`, `result`, `caller_number`, `callee_number`).
    async fn list_call_logs(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<CallHistoryItem>, ZoomError> {
        let q = self.list_query(window, page_token);
        let page: CallHistoryPage = self
            .api_get_json(Bucket::PhoneHeavy, "/phone/call_logs", &q)
            .await?;
        Ok(call_history_page(page))
    }

    /// [`ZoomApi::probe`]'s one call: the smallest page (`page_size=1`) of a listing over
    /// `window`, or [`Endpoint::PROBE_ID`] of a lookup. The answer must be JSON (a proxy's
    /// or portal's HTML page at 200 is a [`ZoomError::Decode`]); its content is dropped.
    async fn probe_call(&self, endpoint: Endpoint, window: Window) -> Result<(), ZoomError> {
        let id = Endpoint::PROBE_ID;
        let listing = |mut q: Vec<(&'static str, String)>| {
            q.push(("page_size", "1".to_string()));
            q
        };
        let range = vec![
            ("from", format_zoom_time(window.from)),
            ("to", format_zoom_time(window.to)),
        ];
        let (bucket, path, query) = match endpoint {
            Endpoint::ArchiveFiles => {
                let mut q = listing(range);
                q.push((
                    "query_date_type",
                    ArchiveDateType::ArchiveCompleteTime.as_str().to_string(),
                ));
                (Bucket::Medium, "/archive_files".to_string(), q)
            }
            Endpoint::MeetingArchive => (
                Bucket::Light,
                format!("/past_meetings/{}/archive_files", encode_meeting_uuid(id)),
                Vec::new(),
            ),
            Endpoint::MeetingParticipants => (
                Bucket::Heavy,
                format!("/metrics/meetings/{}/participants", encode_meeting_uuid(id)),
                listing(vec![("type", "past".to_string())]),
            ),
            Endpoint::PastMeetings => (
                Bucket::ResourceIntensive,
                "/metrics/meetings".to_string(),
                listing(vec![
                    ("type", "past".to_string()),
                    ("from", format_dashboard_time(window.from)),
                    ("to", format_dashboard_time(window.to)),
                ]),
            ),
            Endpoint::PhoneRecordings => (
                Bucket::PhoneMedium,
                "/phone/recordings".to_string(),
                listing(range),
            ),
            Endpoint::CallHistory => {
                let q = listing(range);
                let path = if self.inner.legacy_call_logs.load(Ordering::Relaxed) {
                    "/phone/call_logs"
                } else {
                    match self
                        .api_get_raw(Bucket::PhoneHeavy, "/phone/call_history", &q)
                        .await?
                    {
                        Ok(body) => return decode::<serde_json::Value>(&body).map(drop),
                        Err(r) if call_history_unavailable(r.status, &r.body) => {
                            self.inner.legacy_call_logs.store(true, Ordering::Relaxed);
                            "/phone/call_logs"
                        }
                        Err(r) => return Err(r.classify()),
                    }
                };
                (Bucket::PhoneHeavy, path.to_string(), q)
            }
            Endpoint::CallPath => (
                Bucket::PhoneLight,
                format!("/phone/call_history/{}", encode_path_segment(id)),
                Vec::new(),
            ),
            Endpoint::User => (Bucket::Light, format!("/users/{id}"), Vec::new()),
            Endpoint::DeleteMeetingArchive
            | Endpoint::ArchiveFileAutoDelete
            | Endpoint::DeletePhoneRecording => return Err(archiver_core::never_probed(endpoint)),
        };
        self.api_get_json::<serde_json::Value>(bucket, &path, &query)
            .await
            .map(drop)
    }

    fn list_query(&self, window: Window, page_token: Option<&str>) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("from", format_zoom_time(window.from)),
            ("to", format_zoom_time(window.to)),
        ];
        q.extend(self.page_query(page_token));
        q
    }

    /// One download hop; the Bearer token only when `token` is given, `Range: bytes={from}-`
    /// when `from` is given.
    async fn hop(
        &self,
        url: &Url,
        token: Option<&AccessToken>,
        from: Option<(u64, Option<u64>)>,
    ) -> Result<Response, ZoomError> {
        let log_path = loggable(url);
        let op = Op {
            method: "GET",
            log_path: &log_path,
            bucket: None,
        };
        self.send(op, || {
            let mut rb = self.inner.http.get(url.clone());
            match from {
                Some((from, Some(last))) => rb = rb.header(RANGE, format!("bytes={from}-{last}")),
                Some((from, None)) => rb = rb.header(RANGE, format!("bytes={from}-")),
                None => {}
            }
            match token {
                Some(t) => rb.bearer_auth(t.value.expose_secret()),
                None => rb,
            }
        })
        .await
    }

    /// Opens a download, following redirects by hand (at most [`MAX_REDIRECTS`]), each
    /// target checked by [`HostPolicy::check_redirect`] before it is requested. The Bearer
    /// token goes to the original URL when it is on the API or OAuth origin
    /// ([`HostPolicy::gets_token`]); a redirect hop gets it only if it is on the same origin
    /// as the original *and* on one of those, *and* answers 401 without it. Any other
    /// origin (the file host, a CDN) never sees it. `from` (a `Range`) goes to every hop.
    ///
    /// Returns the final response and whether it was answered to a request with the token.
    async fn open(
        &self,
        original: &Url,
        token: &AccessToken,
        from: Option<(u64, Option<u64>)>,
    ) -> Result<(Response, bool), ZoomError> {
        let hosts = &self.inner.hosts;
        let mut current = original.clone();
        for hop in 0..=MAX_REDIRECTS {
            let mut sent = hop == 0 && hosts.gets_token(&current);
            let mut resp = self.hop(&current, sent.then_some(token), from).await?;
            if hop > 0
                && resp.status() == StatusCode::UNAUTHORIZED
                && same_origin(&current, original)
                && hosts.gets_token(&current)
            {
                drop(resp);
                resp = self.hop(&current, Some(token), from).await?;
                sent = true;
            }
            let status = resp.status();
            if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| current.join(loc).ok())
                    .ok_or_else(|| {
                        ZoomError::Decode(format!(
                            "redirect {status} from {} without a usable Location",
                            loggable(&current)
                        ))
                    })?;
                hosts.check_redirect(&next, &current)?;
                debug!(from = %loggable(&current), to = %loggable(&next), "following download redirect");
                current = next;
                continue;
            }
            return Ok((resp, sent));
        }
        Err(ZoomError::Transport(format!(
            "more than {MAX_REDIRECTS} redirects downloading {}",
            loggable(original)
        )))
    }
}

#[async_trait]
impl ZoomApi for ZoomClient {
    async fn list_archived_meetings(
        &self,
        window: Window,
        date_type: ArchiveDateType,
        page_token: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError> {
        let mut q = self.list_query(window, page_token);
        q.push(("query_date_type", date_type.as_str().to_string()));
        let page: ArchiveFilesPage = self
            .api_get_json(Bucket::Medium, "/archive_files", &q)
            .await?;
        Ok(Page {
            items: page.meetings,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            to: page.to,
            total_records: page.total_records,
        })
    }

    async fn get_meeting_archive(&self, uuid: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
        let path = format!("/past_meetings/{}/archive_files", encode_meeting_uuid(uuid));
        match self
            .api_get_json::<ArchiveMeeting>(Bucket::Light, &path, &[])
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(ZoomError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_user(&self, email: &str) -> Result<Option<ZoomUser>, ZoomError> {
        let path = format!(
            "/users/{}",
            percent_encoding::utf8_percent_encode(email.trim(), percent_encoding::NON_ALPHANUMERIC)
        );
        match self
            .api_get_json::<ZoomUser>(Bucket::Light, &path, &[])
            .await
        {
            Ok(u) => Ok(Some(u)),
            Err(ZoomError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_phone_recordings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError> {
        let q = self.list_query(window, page_token);
        let page: PhoneRecordingsPage = self
            .api_get_json(Bucket::PhoneMedium, "/phone/recordings", &q)
            .await?;
        Ok(Page {
            items: page.recordings,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            to: page.to,
            total_records: page.total_records,
        })
    }

    async fn list_meeting_participants(
        &self,
        meeting_uuid: &str,
        page_token: Option<&str>,
    ) -> Result<Page<MeetingParticipant>, ZoomError> {
        let path = format!(
            "/metrics/meetings/{}/participants",
            encode_meeting_uuid(meeting_uuid)
        );
        let mut q = vec![("type", "past".to_string())];
        q.extend(self.page_query(page_token));
        let page: ParticipantsPage = self.api_get_json(Bucket::Heavy, &path, &q).await?;
        Ok(Page {
            items: page.participants,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            to: None,
            total_records: page.total_records,
        })
    }

    /// `GET /metrics/meetings?type=past&from&to` (Resource-intensive), `from`/`to` as
    /// `yyyy-MM-dd HH:mm:ss` UTC (see [`format_dashboard_time`]). `Page::to` is `None`
    /// unless Zoom echoes a date-time (it echoes bare dates): keep the window as sent.
    async fn list_past_meetings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<DashboardMeeting>, ZoomError> {
        let mut q = vec![
            ("type", "past".to_string()),
            ("from", format_dashboard_time(window.from)),
            ("to", format_dashboard_time(window.to)),
        ];
        q.extend(self.page_query(page_token));
        let body = self
            .api_get(Bucket::ResourceIntensive, "/metrics/meetings", &q)
            .await?;
        let page: DashboardMeetingsPage = decode(&body)?;
        Ok(Page {
            items: page.meetings,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            to: echoed_instant(&body),
            total_records: page.total_records,
        })
    }

    /// `GET /phone/call_history?from&to` (Phone Heavy), `from`/`to` as `yyyy-MM-ddTHH:mm:ssZ`
    /// like `/phone/recordings`. When Zoom answers that the call history is unavailable
    /// (see [`call_history_unavailable`]), the same window is asked of the legacy
    /// `GET /phone/call_logs` (Phone Heavy), for this request and every later one of this
    /// client. A page token of one listing is not valid for the other: a switch in the
    /// middle of a listing ends in [`ZoomError::InvalidPageToken`] and a restart.
    async fn list_call_history(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<CallHistoryItem>, ZoomError> {
        if self.inner.legacy_call_logs.load(Ordering::Relaxed) {
            return self.list_call_logs(window, page_token).await;
        }
        let q = self.list_query(window, page_token);
        match self
            .api_get_raw(Bucket::PhoneHeavy, "/phone/call_history", &q)
            .await?
        {
            Ok(body) => Ok(call_history_page(decode(&body)?)),
            Err(r) if call_history_unavailable(r.status, &r.body) => {
                debug!(
                    status = r.status.as_u16(),
                    "zoom call history unavailable; using the legacy call logs from now on"
                );
                self.inner.legacy_call_logs.store(true, Ordering::Relaxed);
                self.list_call_logs(window, page_token).await
            }
            Err(r) => Err(r.classify()),
        }
    }

    /// `GET /phone/call_history/{uuid}` (Phone Light), the UUID percent-encoded once as one
    /// path segment; 404 → `None`.
    async fn get_call_path(&self, call_history_uuid: &str) -> Result<Option<CallPath>, ZoomError> {
        if matches!(call_history_uuid.trim(), "" | "." | "..") {
            return Err(ZoomError::BadRequest {
                code: 0,
                message: format!("invalid call history UUID {call_history_uuid:?}"),
            });
        }
        let path = format!(
            "/phone/call_history/{}",
            encode_path_segment(call_history_uuid)
        );
        match self
            .api_get_json::<CallPath>(Bucket::PhoneLight, &path, &[])
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(ZoomError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete_meeting_archive(&self, meeting_uuid: &str) -> Result<ZoomAnswer, ZoomError> {
        let path = format!(
            "/past_meetings/{}/archive_files",
            encode_meeting_uuid(meeting_uuid)
        );
        self.api_write(reqwest::Method::DELETE, Bucket::Light, &path, None)
            .await
    }

    async fn set_archive_file_auto_delete(
        &self,
        file_id: &str,
        auto_delete: bool,
    ) -> Result<ZoomAnswer, ZoomError> {
        let path = format!("/archive_files/{}", encode_path_segment(file_id));
        self.api_write(
            reqwest::Method::PATCH,
            Bucket::Light,
            &path,
            Some(serde_json::json!({ "auto_delete": auto_delete })),
        )
        .await
    }

    async fn delete_phone_recording(&self, recording_id: &str) -> Result<ZoomAnswer, ZoomError> {
        let path = format!("/phone/recordings/{}", encode_path_segment(recording_id));
        self.api_write(reqwest::Method::DELETE, Bucket::PhoneLight, &path, None)
            .await
    }

    /// `(X-RateLimit-Limit, X-RateLimit-Remaining)` last seen for `category` (a key of
    /// [`ZoomClient::rate_limit_snapshot`]) when both were sent, unless that response typed
    /// them `QPS`: per-second numbers say nothing of the daily budget.
    fn daily_remaining(&self, category: &str) -> Option<(u64, u64)> {
        let limits = self.inner.limits.lock().unwrap_or_else(|e| e.into_inner());
        let info = limits.get(category)?;
        if info
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("qps"))
        {
            return None;
        }
        Some((info.limit?, info.remaining?))
    }

    /// The cached token's scopes (a token is fetched when none is cached or it is about
    /// to expire): the `scope` of Zoom's OAuth answer, split on white space.
    async fn token_scopes(&self) -> Result<Option<Vec<String>>, ZoomError> {
        Ok(self.token().await?.scopes.clone())
    }

    /// One request with `page_size=1` (listings, over `window`) or for
    /// [`Endpoint::PROBE_ID`] (lookups), paced in the endpoint's category like any call;
    /// the call history falls back to the legacy call logs as [`ZoomApi::list_call_history`]
    /// does.
    async fn probe(&self, endpoint: Endpoint, window: Window) -> Result<(), ZoomError> {
        self.probe_call(endpoint, window).await
    }

    async fn download(&self, url: &str) -> Result<Download, ZoomError> {
        self.fetch(url, 0).await
    }

    /// Ranges of `part` bytes, `streams` at a time (each `Range: bytes={start}-{last}`). A probe of the second range first: a server that
    /// ignores `Range` answers with the whole file, which is then the (single) download.
    /// Every 206 must serve exactly the range asked with a `Content-Range` total of `size`
    /// ([`ZoomError::Decode`] naming the host and both numbers otherwise).
    async fn download_parallel(
        &self,
        url: &str,
        size: u64,
        part: u64,
        streams: usize,
    ) -> Result<Download, ZoomError> {
        const SLICE: usize = 64 * 1024;
        if streams < 2 || part == 0 || size <= part {
            return self.fetch(url, 0).await;
        }
        let last_of = |start: u64| Some((start + part).min(size) - 1);
        let probe = self
            .fetch_range(url, part, last_of(part), Some(size))
            .await?;
        if probe.offset != part {
            debug!("the server ignored Range; downloading in one stream");
            return Ok(probe);
        }
        let first = self.fetch_range(url, 0, last_of(0), Some(size)).await?;
        let content_type = first.content_type.clone();
        enum Job {
            Open(ByteStream, u64),
            Fetch(u64, u64),
        }
        let mut jobs = vec![
            Job::Open(first.body, part),
            Job::Open(probe.body, part.min(size - part)),
        ];
        let mut start = 2 * part;
        while start < size {
            jobs.push(Job::Fetch(start, part.min(size - start)));
            start += part;
        }
        let me = self.clone();
        let url = url.to_string();
        let body = futures::stream::iter(jobs)
            .map(move |job| {
                let (me, url) = (me.clone(), url.clone());
                async move {
                    let (mut body, len) = match job {
                        Job::Open(b, len) => (b, len),
                        Job::Fetch(start, len) => {
                            let d = me
                                .fetch_range(
                                    &url,
                                    start,
                                    Some((start + len).min(size) - 1),
                                    Some(size),
                                )
                                .await
                                .map_err(|e| std::io::Error::other(e.to_string()))?;
                            if d.offset != start {
                                return Err(std::io::Error::other(format!(
                                    "asked bytes from {start}, the server sent from {}",
                                    d.offset
                                )));
                            }
                            (d.body, len)
                        }
                    };
                    let mut buf = bytes::BytesMut::with_capacity(len as usize);
                    while (buf.len() as u64) < len {
                        match body.next().await {
                            Some(Ok(chunk)) => {
                                let want = (len - buf.len() as u64) as usize;
                                buf.extend_from_slice(&chunk[..want.min(chunk.len())]);
                            }
                            Some(Err(e)) => return Err(e),
                            None => {
                                return Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    format!("a range ended after {} of {len} bytes", buf.len()),
                                ));
                            }
                        }
                    }
                    // Dropping the rest of the response closes its connection.
                    Ok::<Bytes, std::io::Error>(buf.freeze())
                }
            })
            .buffered(streams)
            // Hand the part on in 64 KiB slices (no copy): stores buffer by chunk count.
            .flat_map(|part: Result<Bytes, std::io::Error>| {
                let pieces: Vec<Result<Bytes, std::io::Error>> = match part {
                    Ok(b) => (0..b.len())
                        .step_by(SLICE)
                        .map(|i| Ok(b.slice(i..(i + SLICE).min(b.len()))))
                        .collect(),
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(pieces)
            })
            .boxed();
        Ok(Download {
            content_type,
            content_length: Some(size),
            offset: 0,
            body,
        })
    }

    /// `Range: bytes={offset}-`: a 206 whose `Content-Range` starts at `offset` gives a body
    /// from `offset`; a 200 (the server ignored the range) gives the whole file
    /// (`offset` 0); a 416 (nothing at or after `offset`) is retried without a range. The
    /// 206 must run from `offset` to its `Content-Range` total, `Content-Length` matching.
    async fn download_from(&self, url: &str, offset: u64) -> Result<Download, ZoomError> {
        self.fetch(url, offset).await
    }
}

impl ZoomClient {
    /// Opens a download, from `offset` when it is not 0.
    async fn fetch(&self, url: &str, offset: u64) -> Result<Download, ZoomError> {
        self.fetch_range(url, offset, None, None).await
    }

    /// Opens a download from byte `offset` (to byte `last`, inclusive, when given) of a file
    /// of `total` bytes (when known). The URL is checked against the [`HostPolicy`] before
    /// anything else, the access token included, is requested.
    async fn fetch_range(
        &self,
        url: &str,
        offset: u64,
        last: Option<u64>,
        total: Option<u64>,
    ) -> Result<Download, ZoomError> {
        let original = Url::parse(url).map_err(|e| ZoomError::BadRequest {
            code: 0,
            message: format!("invalid download URL: {e}"),
        })?;
        self.inner.hosts.check_download(&original)?;
        let what = loggable(&original);
        let mut token = self.token().await?;
        let mut refreshed = false;
        let mut from = (offset > 0 || last.is_some()).then_some(offset);
        loop {
            let (resp, sent_token) = self
                .open(&original, &token, from.map(|f| (f, last)))
                .await?;
            let status = resp.status();
            if status == StatusCode::RANGE_NOT_SATISFIABLE && from.is_some() {
                debug!(url = %what, offset, "range not satisfiable; downloading the whole file");
                drop(resp);
                from = None;
                continue;
            }
            if status.is_success() {
                let served_from = match (from, status) {
                    (Some(asked), StatusCode::PARTIAL_CONTENT) => {
                        check_partial(
                            resp.url(),
                            resp.headers().get(CONTENT_RANGE),
                            resp.content_length(),
                            (asked, last),
                            total,
                        )?;
                        asked
                    }
                    (None, StatusCode::PARTIAL_CONTENT) => {
                        return Err(ZoomError::Decode(format!(
                            "unexpected 206 from {what} without a Range request"
                        )));
                    }
                    _ => 0,
                };
                let content_type = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let content_length = resp.content_length();
                let body = resp
                    .bytes_stream()
                    .map_err(|e| std::io::Error::other(transport_message(e)))
                    .boxed();
                return Ok(Download {
                    content_type,
                    content_length,
                    offset: served_from,
                    body,
                });
            }
            let answered_by = resp.url().host_str().unwrap_or("(none)").to_string();
            let body = read_limited(resp).await;
            let parsed = ZoomErrorBody::parse(&body);
            if is_token_rejection(status, &parsed) {
                if !sent_token {
                    // Refreshing would not help: the token is not for this host.
                    return Err(ZoomError::Unauthorized(format!(
                        "{answered_by} asked for credentials downloading {what}; the access \
                         token is sent only to the API and OAuth hosts: {}",
                        parsed.message_or(&body)
                    )));
                }
                if !refreshed {
                    debug!(url = %what, "download refused the access token; refreshing it once");
                    token = self.refresh_token(&token).await?;
                    refreshed = true;
                    continue;
                }
            }
            if status.is_redirection() {
                return Err(ZoomError::Decode(format!(
                    "unexpected {status} from {what}"
                )));
            }
            return Err(classify(status, &body, &what));
        }
    }
}

impl fmt::Debug for ZoomClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoomClient")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetryPolicy;
    use archiver_core::ZoomCredentials;

    fn cfg() -> ZoomClientConfig {
        ZoomClientConfig::with_urls(
            "http://127.0.0.1:9/v2/",
            "http://127.0.0.1:9/oauth/token",
            ZoomCredentials {
                account_id: "a".into(),
                client_id: "c".into(),
                client_secret: SecretString::from("s3cr3t"),
            },
        )
    }

    #[test]
    fn call_history_unavailability_is_told_from_the_body() {
        let u = |status: u16, body: &str| {
            call_history_unavailable(StatusCode::from_u16(status).unwrap(), body.as_bytes())
        };
        // The route is unknown.
        assert!(u(404, r#"{"code":404,"message":"Not Found"}"#));
        assert!(u(404, ""));
        assert!(u(404, "<html>Not Found</html>"));
        // A resource of the route is unknown: not a fallback.
        assert!(!u(404, r#"{"code":1001,"message":"User does not exist."}"#));
        assert!(!u(
            404,
            r#"{"code":2001,"message":"Account does not exist."}"#
        ));
        // The API is unavailable for the account.
        assert!(u(
            400,
            r#"{"code":400,"message":"This API is unavailable for your account."}"#
        ));
        assert!(u(
            400,
            r#"{"code":300,"message":"Call history is not available."}"#
        ));
        assert!(!u(400, r#"{"code":300,"message":"Invalid field: from."}"#));
        assert!(!u(
            403,
            r#"{"code":4711,"message":"Invalid access token, does not contain scopes:[x]."}"#
        ));
    }

    #[test]
    fn dashboard_times_and_echoes() {
        let t = "2024-05-30T00:00:00Z".parse().unwrap();
        assert_eq!(format_dashboard_time(t), "2024-05-30 00:00:00");
        assert_eq!(echoed_instant(br#"{"to":"2024-05-31"}"#), None);
        assert_eq!(
            echoed_instant(br#"{"to":"2024-05-31T12:00:00Z"}"#),
            Some("2024-05-31T12:00:00Z".parse().unwrap())
        );
        assert_eq!(
            echoed_instant(br#"{"to":"2024-05-31 12:00:00"}"#),
            Some("2024-05-31T12:00:00Z".parse().unwrap())
        );
        assert_eq!(echoed_instant(br#"{"meetings":[]}"#), None);
        assert_eq!(echoed_instant(br#"{"to":7}"#), None);
    }

    #[test]
    fn content_ranges_are_parsed() {
        let cr = |start, end, total| Some(ContentRange { start, end, total });
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            cr(100, 199, Some(200))
        );
        assert_eq!(parse_content_range("bytes  0-0/1"), cr(0, 0, Some(1)));
        assert_eq!(parse_content_range("bytes 5-9/*"), cr(5, 9, None));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("bytes 100-199"), None);
        assert_eq!(parse_content_range("bytes 100-99/200"), None);
        assert_eq!(parse_content_range("bytes 100-200/200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn partial_answers_are_checked() {
        use reqwest::header::HeaderValue;
        let url = Url::parse("https://file.zoom.us/file?jwt=secret").unwrap();
        let check = |cr: &str, len: Option<u64>, asked, total| {
            check_partial(
                &url,
                Some(&HeaderValue::from_str(cr).unwrap()),
                len,
                asked,
                total,
            )
            .map_err(|e| e.to_string())
        };
        assert_eq!(
            check("bytes 10-19/100", Some(10), (10, Some(19)), Some(100)),
            Ok(())
        );
        assert_eq!(check("bytes 10-99/100", Some(90), (10, None), None), Ok(()));
        assert_eq!(check("bytes 10-99/*", None, (10, None), None), Ok(()));
        let e = check("bytes 10-19/101", Some(10), (10, Some(19)), Some(100)).unwrap_err();
        assert!(
            e.contains("file.zoom.us") && e.contains("101") && e.contains("expected 100"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
        let e = check("bytes 10-18/100", Some(9), (10, Some(19)), Some(100)).unwrap_err();
        assert!(e.contains("served bytes 10-18 of 100"), "{e}");
        let e = check("bytes 11-19/100", Some(9), (10, Some(19)), Some(100)).unwrap_err();
        assert!(e.contains("bytes=10-19"), "{e}");
        let e = check("bytes 10-49/100", Some(40), (10, None), None).unwrap_err();
        assert!(e.contains("served bytes 10-49 of 100"), "{e}");
        let e = check("bytes 10-99/100", Some(80), (10, None), None).unwrap_err();
        assert!(e.contains("Content-Length 80"), "{e}");
        let e = check_partial(&url, None, None, (10, None), None).unwrap_err();
        assert!(e.to_string().contains("unusable Content-Range"), "{e}");
    }

    #[test]
    fn origins_and_loggable_urls() {
        let a = Url::parse("https://zoom.us/rec/archive/download/x?jwt=abc").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://zoom.us:443/file").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://zoom.us/file").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://file.zoom.us/file").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://zoom.us:8443/file").unwrap()
        ));
        assert_eq!(
            loggable(&Url::parse("https://u:p@zoom.us:8443/file?jwt=abc#f").unwrap()),
            "https://zoom.us:8443/file"
        );
    }

    #[test]
    fn constructor_validates_and_debug_redacts() {
        let c = ZoomClient::new(cfg()).unwrap();
        assert_eq!(c.inner.api_base, "http://127.0.0.1:9/v2");
        let s = format!("{c:?}");
        assert!(!s.contains("s3cr3t"), "{s}");
        let mut bad = cfg();
        bad.api_base_url = "not a url".into();
        assert!(matches!(
            ZoomClient::new(bad),
            Err(ZoomError::BadRequest { code: 0, .. })
        ));
        let mut bad = cfg();
        bad.proxy = Some(SecretString::from("::user:pw@"));
        match ZoomClient::new(bad) {
            Err(e) => assert!(!e.to_string().contains("pw"), "{e}"),
            Ok(_) => panic!("accepted a bad proxy"),
        }
    }

    #[tokio::test]
    async fn connection_refused_is_a_transport_error_after_retries() {
        let mut c = cfg();
        c.retry = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let client = ZoomClient::new(c).unwrap();
        let w = Window {
            from: Utc::now() - chrono::Duration::hours(1),
            to: Utc::now(),
        };
        match client.list_phone_recordings(w, None).await {
            Err(ZoomError::Transport(m)) => assert!(m.starts_with("connect"), "{m}"),
            other => panic!("{:?}", other.map(|p| p.items.len())),
        }
    }
}
