//! Classification of Zoom responses: error bodies, rate-limit headers, `Retry-After`.

use archiver_core::domain::time::parse_zoom_time;
use archiver_core::{RetryHint, ZoomError};
use chrono::{DateTime, Days, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

/// The longest body excerpt put into an error.
const EXCERPT: usize = 200;

/// What the `X-RateLimit-*` and `Retry-After` headers of one response said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub(crate) category: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) limit: Option<u64>,
    pub(crate) remaining: Option<u64>,
    pub(crate) retry_after: Option<RetryHint>,
}

impl RateHeaders {
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        RateHeaders {
            category: get("x-ratelimit-category").map(str::to_string),
            kind: get("x-ratelimit-type").map(str::to_string),
            limit: get("x-ratelimit-limit").and_then(|s| s.parse().ok()),
            remaining: get("x-ratelimit-remaining").and_then(|s| s.parse().ok()),
            retry_after: get("retry-after").and_then(parse_retry_after),
        }
    }

    pub(crate) fn is_daily(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("daily-limit"))
    }

    /// Whether the response carried any rate-limit information worth recording.
    pub(crate) fn is_present(&self) -> bool {
        self.category.is_some()
            || self.remaining.is_some()
            || self.limit.is_some()
            || self.kind.is_some()
    }
}

/// Parses `Retry-After`: delta-seconds, an HTTP-date (RFC 7231 / RFC 2822) or an ISO date-time.
pub fn parse_retry_after(value: &str) -> Option<RetryHint> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Some(RetryHint::Seconds(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(RetryHint::Seconds(secs.ceil() as u64));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(v) {
        return Some(RetryHint::At(t.with_timezone(&Utc)));
    }
    // RFC 850 / asctime forms are obsolete; ISO forms (Zoom's own) go through the lenient parser.
    parse_zoom_time(v).map(RetryHint::At)
}

/// The next 00:00:00 UTC after `now` (Zoom's daily limits reset then).
pub(crate) fn next_midnight_utc(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .checked_add_days(Days::new(1))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

/// Zoom's `{"code","message"}` body, and the OAuth `{"error","reason"}` one.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ZoomErrorBody {
    #[serde(default)]
    pub(crate) code: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    #[serde(default, rename = "errorCode")]
    pub(crate) error_code: Option<serde_json::Value>,
}

impl ZoomErrorBody {
    pub(crate) fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The numeric code (`code`, or Contact Center's `errorCode`), numbers or numeric strings.
    pub(crate) fn code(&self) -> Option<i64> {
        let v = self.code.as_ref().or(self.error_code.as_ref())?;
        match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The message, or the OAuth reason / error, or a body excerpt.
    pub(crate) fn message_or(&self, body: &[u8]) -> String {
        self.message
            .clone()
            .or_else(|| self.reason.clone())
            .or_else(|| self.error.clone())
            .unwrap_or_else(|| excerpt(body))
    }
}

/// The first bytes of a body as text, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT * 4)]);
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT || body.len() > EXCERPT * 4 {
        out.push('…');
    }
    out
}

/// Whether a non-success response means "the access token is not (or no longer) valid".
pub(crate) fn is_token_rejection(status: StatusCode, body: &ZoomErrorBody) -> bool {
    status == StatusCode::UNAUTHORIZED || body.code() == Some(124)
}

/// Maps a final non-success, non-429, non-5xx API response to an error.
pub(crate) fn classify(status: StatusCode, body_bytes: &[u8], what: &str) -> ZoomError {
    let body = ZoomErrorBody::parse(body_bytes);
    let code = body.code();
    let message = body.message_or(body_bytes);
    if is_token_rejection(status, &body) {
        return ZoomError::Unauthorized(message);
    }
    if code == Some(4711) {
        let scopes = parse_missing_scopes(&message);
        if !scopes.is_empty() {
            return ZoomError::MissingScopes { scopes, message };
        }
        return ZoomError::Forbidden(message);
    }
    if status == StatusCode::FORBIDDEN || code == Some(4700) {
        return ZoomError::Forbidden(message);
    }
    if status == StatusCode::NOT_FOUND {
        return ZoomError::NotFound(format!("{what}: {message}"));
    }
    if status == StatusCode::BAD_REQUEST && code == Some(300) && mentions_page_token(&message) {
        return ZoomError::InvalidPageToken;
    }
    if status.is_server_error() {
        return ZoomError::Server {
            status: status.as_u16(),
            message,
        };
    }
    ZoomError::BadRequest {
        code: code.unwrap_or(i64::from(status.as_u16())),
        message,
    }
}

/// The scopes a missing-scope message names (Zoom's code 4711: `"Invalid access token,
/// does not contain scopes:[a:read:x, a:read:x:admin]."`), in order, without duplicates.
///
/// Lenient: the list is what follows the first `scope` of the message, in brackets (an
/// unclosed bracket runs to the end) or else after the next `:`; items are split on commas
/// and white space, stripped of quotes, brackets and dots around them, and kept only when they look like
/// a scope (`[A-Za-z0-9_:.-]`, with at least one `:`). Nothing found gives an empty list.
pub(crate) fn parse_missing_scopes(message: &str) -> Vec<String> {
    // ASCII lowercasing keeps every byte offset.
    let Some(at) = message.to_ascii_lowercase().find("scope") else {
        return Vec::new();
    };
    let rest = &message[at..];
    let list = match (rest.find('['), rest.find(':')) {
        (Some(open), _) => {
            let inner = &rest[open + 1..];
            inner.find(']').map_or(inner, |close| &inner[..close])
        }
        (None, Some(colon)) => &rest[colon + 1..],
        (None, None) => return Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for item in list.split(|c: char| c == ',' || c.is_whitespace()) {
        let item =
            item.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | '(' | ')' | '.' | ';'));
        let looks_like_scope = item.contains(':')
            && !item.starts_with(':')
            && item
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-'));
        if looks_like_scope && !out.iter().any(|s| s == item) {
            out.push(item.to_string());
        }
    }
    out
}

fn mentions_page_token(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("next_page_token") || m.contains("page token") || m.contains("next page")
}

/// True when a 429's body says it is a daily limit (Zoom's message: "You have exceeded the
/// daily rate limit …", "…maximum daily rate limit…"), whatever its headers say.
pub(crate) fn mentions_daily_limit(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.into_owned());
    message.to_ascii_lowercase().contains("daily")
}

/// Maps a 429 to the final error.
pub(crate) fn rate_limited(rh: &RateHeaders, now: DateTime<Utc>) -> ZoomError {
    let retry_after = if rh.is_daily() {
        Some(match rh.retry_after {
            Some(RetryHint::At(t)) => RetryHint::At(t),
            Some(hint @ RetryHint::Seconds(_)) => RetryHint::At(hint.until(now)),
            None => RetryHint::At(next_midnight_utc(now)),
        })
    } else {
        rh.retry_after
    };
    ZoomError::RateLimited {
        category: rh.category.clone().unwrap_or_else(|| "unknown".into()),
        kind: rh.kind.clone().unwrap_or_else(|| "unknown".into()),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        parse_zoom_time("2024-05-30T13:14:15Z").unwrap()
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(RetryHint::Seconds(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(RetryHint::Seconds(0)));
        let midnight = parse_zoom_time("2024-05-31T00:00:00Z").unwrap();
        assert_eq!(
            parse_retry_after("2024-05-31T00:00:00Z"),
            Some(RetryHint::At(midnight))
        );
        assert_eq!(
            parse_retry_after("Fri, 31 May 2024 00:00:00 GMT"),
            Some(RetryHint::At(midnight))
        );
        assert_eq!(
            parse_retry_after("2024-05-31T02:00:00+02:00"),
            Some(RetryHint::At(midnight))
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn next_midnight() {
        assert_eq!(
            next_midnight_utc(now()),
            parse_zoom_time("2024-05-31T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn rate_headers_and_daily_hint() {
        let mut h = HeaderMap::new();
        h.insert("X-RateLimit-Category", HeaderValue::from_static("Heavy"));
        h.insert("X-RateLimit-Type", HeaderValue::from_static("Daily-limit"));
        h.insert("X-RateLimit-Limit", HeaderValue::from_static("30000"));
        h.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
        let rh = RateHeaders::parse(&h);
        assert!(rh.is_daily() && rh.is_present());
        assert_eq!((rh.limit, rh.remaining), (Some(30000), Some(0)));
        match rate_limited(&rh, now()) {
            ZoomError::RateLimited {
                category,
                kind,
                retry_after,
            } => {
                assert_eq!((category.as_str(), kind.as_str()), ("Heavy", "Daily-limit"));
                assert_eq!(retry_after, Some(RetryHint::At(next_midnight_utc(now()))));
            }
            e => panic!("{e:?}"),
        }
        match rate_limited(&RateHeaders::default(), now()) {
            ZoomError::RateLimited {
                category,
                kind,
                retry_after,
            } => {
                assert_eq!(
                    (category.as_str(), kind.as_str(), retry_after),
                    ("unknown", "unknown", None)
                );
            }
            e => panic!("{e:?}"),
        }
    }

    /// An absurd `Retry-After` (a proxy's, a gateway's) on a daily limit neither panics nor
    /// parks the work for years: it is cut to `RetryHint::MAX_WAIT`.
    #[test]
    fn absurd_retry_after_is_cut_to_the_longest_wait() {
        for value in [
            "18446744073709551615",
            "9223372036854775807",
            "1e300",
            "9999-12-31T23:59:59Z",
        ] {
            let mut h = HeaderMap::new();
            h.insert("X-RateLimit-Type", HeaderValue::from_static("Daily-limit"));
            h.insert("Retry-After", HeaderValue::from_str(value).unwrap());
            let rh = RateHeaders::parse(&h);
            let ZoomError::RateLimited {
                retry_after: Some(hint),
                ..
            } = rate_limited(&rh, now())
            else {
                panic!("{value}: not a rate limit with a hint");
            };
            assert_eq!(hint.wait_from(now()), RetryHint::MAX_WAIT, "{value}");
            assert_eq!(
                hint.until(now()),
                now() + chrono::Duration::from_std(RetryHint::MAX_WAIT).unwrap(),
                "{value}"
            );
            // Without the daily type, the hint stays as said and is cut where it is used.
            let mut h = HeaderMap::new();
            h.insert("Retry-After", HeaderValue::from_str(value).unwrap());
            let hint = RateHeaders::parse(&h).retry_after.unwrap();
            assert_eq!(hint.wait_from(now()), RetryHint::MAX_WAIT, "{value}");
        }
        assert_eq!(
            RetryHint::At(now() - chrono::Duration::hours(1)).wait_from(now()),
            std::time::Duration::ZERO
        );
    }

    #[test]
    fn classification() {
        let c = |status: u16, body: &str| {
            classify(StatusCode::from_u16(status).unwrap(), body.as_bytes(), "x")
        };
        assert!(
            matches!(c(401, r#"{"code":124,"message":"Invalid access token."}"#), ZoomError::Unauthorized(m) if m == "Invalid access token.")
        );
        assert!(matches!(
            c(400, r#"{"code":124,"message":"Invalid access token."}"#),
            ZoomError::Unauthorized(_)
        ));
        assert!(matches!(
            c(
                400,
                r#"{"code":4711,"message":"Invalid access token, does not contain scopes:[a:read:x]."}"#
            ),
            ZoomError::MissingScopes { scopes, .. } if scopes == ["a:read:x"]
        ));
        // A 4711 whose message names no scope stays a refusal.
        assert!(matches!(
            c(400, r#"{"code":4711,"message":"Invalid access token."}"#),
            ZoomError::Forbidden(_)
        ));
        assert!(matches!(
            c(403, r#"{"code":200,"message":"No permission."}"#),
            ZoomError::Forbidden(_)
        ));
        assert!(matches!(
            c(404, r#"{"code":3001,"message":"Meeting does not exist."}"#),
            ZoomError::NotFound(_)
        ));
        assert!(matches!(
            c(
                400,
                r#"{"code":300,"message":"The next page token is invalid or expired."}"#
            ),
            ZoomError::InvalidPageToken
        ));
        assert!(matches!(
            c(400, r#"{"code":300,"message":"Invalid field: page_size."}"#),
            ZoomError::BadRequest { code: 300, .. }
        ));
        assert!(
            matches!(c(409, "<html>conflict</html>"), ZoomError::BadRequest { code: 409, message } if message.contains("conflict"))
        );
        assert!(
            matches!(c(400, r#"{"reason":"Invalid client_id or client_secret","error":"invalid_client"}"#), ZoomError::BadRequest { code: 400, message } if message.starts_with("Invalid client_id"))
        );
        assert!(matches!(
            c(401, r#"{"status":false,"errorCode":401}"#),
            ZoomError::Unauthorized(_)
        ));
    }

    /// Zoom's real answer (`zoom-samples/error_4711_missing_scopes.json`) gives its two
    /// scopes; other spellings of the list are read too, and junk gives nothing.
    #[test]
    fn missing_scopes_are_read_from_the_message() {
        let sample: serde_json::Value = serde_json::from_str(include_str!(
            "../../archiver-core/tests/zoom-samples/error_4711_missing_scopes.json"
        ))
        .unwrap();
        let body = sample.to_string();
        match classify(StatusCode::BAD_REQUEST, body.as_bytes(), "x") {
            ZoomError::MissingScopes { scopes, message } => {
                assert_eq!(
                    scopes,
                    [
                        "cloud_recording:read:list_user_recordings",
                        "cloud_recording:read:list_user_recordings:admin"
                    ]
                );
                assert!(message.starts_with("Invalid access token"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let p = parse_missing_scopes;
        assert_eq!(
            p("does not contain scopes:[phone:read:list_call_recordings:admin]."),
            ["phone:read:list_call_recordings:admin"]
        );
        assert_eq!(
            p("Scopes: \"a:read:x\", 'b:read:y:admin';"),
            ["a:read:x", "b:read:y:admin"]
        );
        assert_eq!(
            p("scopes:[a:read:x,a:read:x , b:read:y"),
            ["a:read:x", "b:read:y"]
        );
        assert_eq!(p("does not contain scopes:[]."), Vec::<String>::new());
        assert_eq!(p("Invalid access token."), Vec::<String>::new());
        assert_eq!(p("scopes"), Vec::<String>::new());
        assert_eq!(p("scopes:[<script>, ok:scope, :bad]"), ["ok:scope"]);
        assert_eq!(p("scopé:[ü:x]"), Vec::<String>::new());
    }

    #[test]
    fn excerpt_is_short() {
        let long = "a".repeat(5000);
        let e = excerpt(long.as_bytes());
        assert!(e.chars().count() <= EXCERPT + 1);
        assert_eq!(excerpt(b"{\"x\":1}\n"), "{\"x\":1}");
    }
}
