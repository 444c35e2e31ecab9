//! Entry points for the fuzz targets in `fuzz/` (RELIABILITY.md): the client's parsers and
//! rules of untrusted input, behind plain types. Not an API: hidden from the docs, no
//! stability promise, used by nothing but `fuzz/`.

use crate::client::parse_content_range;
use crate::errors::{RateHeaders, ZoomErrorBody, classify, mentions_daily_limit, rate_limited};
use crate::hosts::HostPolicy;
use archiver_core::{RetryHint, ZoomError};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// A `Content-Range` value as `(start, end, total)`; `None` when malformed or inconsistent.
pub fn content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    parse_content_range(value).map(|c| (c.start, c.end, c.total))
}

/// The download rules of a client configured with this API base and token URL.
pub struct HostRules(HostPolicy);

impl HostRules {
    /// `None` when either URL does not parse or the API base has no host.
    pub fn new(api_base_url: &str, oauth_url: &str) -> Option<HostRules> {
        HostPolicy::new(
            &Url::parse(api_base_url).ok()?,
            &Url::parse(oauth_url).ok()?,
        )
        .map(HostRules)
    }

    /// Whether a listing's download URL is allowed (`None` when it does not parse).
    pub fn download(&self, url: &str) -> Option<Result<(), ZoomError>> {
        Some(self.0.check_download(&Url::parse(url).ok()?))
    }

    /// Whether a redirect from `from` to `to` may be followed (`None` when either does not
    /// parse).
    pub fn redirect(&self, to: &str, from: &str) -> Option<Result<(), ZoomError>> {
        Some(
            self.0
                .check_redirect(&Url::parse(to).ok()?, &Url::parse(from).ok()?),
        )
    }

    /// Whether a request to `url` would carry the access token.
    pub fn gets_token(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| self.0.gets_token(&u))
    }
}

/// A 429 answer with these headers (invalid names or values are left out) and this body,
/// classified as the client classifies it: its retry hint.
pub fn rate_limit_hint(
    headers: &[(&str, &str)],
    body: &[u8],
    now: DateTime<Utc>,
) -> Option<RetryHint> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(n, v);
        }
    }
    let mut rh = RateHeaders::parse(&map);
    if !rh.is_daily() && mentions_daily_limit(body) {
        rh.kind = Some("Daily-limit".into());
    }
    match rate_limited(&rh, now) {
        ZoomError::RateLimited { retry_after, .. } => retry_after,
        _ => None,
    }
}

/// An error answer with this status and body, classified, and the message the client
/// would report.
pub fn error_answer(status: u16, body: &[u8]) -> Option<(ZoomError, String)> {
    let status = StatusCode::from_u16(status).ok()?;
    Some((
        classify(status, body, "fuzz"),
        ZoomErrorBody::parse(body).message_or(body),
    ))
}
