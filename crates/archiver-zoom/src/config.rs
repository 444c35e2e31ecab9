//! Client configuration.

use archiver_core::ZoomCredentials;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

/// Retries of 429 (per-second limits), 5xx and transport errors done inside the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry, then jittered.
    pub base_delay: Duration,
    /// Cap of one backoff delay.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not slept on: the call fails with `RateLimited`.
    pub max_honoured_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_honoured_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests, or callers that retry themselves).
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The jittered exponential backoff before retry number `retry` (0-based):
    /// a uniform value in `[d/2, d]` where `d = min(max_delay, base_delay * 2^retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        archiver_core::services::backoff(retry + 1, self.base_delay, self.max_delay)
    }
}

/// In-process pacing of API calls per rate-limit category (0 disables a category).
///
/// Zoom's limits are per account and shared by every app on it. The Meetings Light /
/// Medium / Heavy and Phone Medium defaults are the Pro-plan numbers, below the Business+
/// ones, so that one archiver leaves room for others; the reconciliation endpoints
/// (Resource-intensive, Phone Heavy, Phone Light) default to the Business+ numbers, the
/// plans that have the dashboard and Zoom Phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacingConfig {
    /// Meetings API "Light" endpoints (`/past_meetings/{uuid}/archive_files`), per second.
    pub light_per_second: u32,
    /// Meetings API "Medium" endpoints (`/archive_files`), per second.
    pub medium_per_second: u32,
    /// Meetings API "Heavy" endpoints (`/metrics/meetings/{id}/participants`), per second.
    pub heavy_per_second: u32,
    /// Meetings API "Resource-intensive" endpoints (`/metrics/meetings`), **per minute**.
    pub resource_intensive_per_minute: u32,
    /// Zoom Phone "Light" endpoints (`/phone/call_history/{uuid}`), per second.
    pub phone_light_per_second: u32,
    /// Zoom Phone "Medium" endpoints (`/phone/recordings`), per second.
    pub phone_medium_per_second: u32,
    /// Zoom Phone "Heavy" endpoints (`/phone/call_history`, `/phone/call_logs`), per second.
    pub phone_heavy_per_second: u32,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            light_per_second: 30,
            medium_per_second: 20,
            heavy_per_second: 10,
            resource_intensive_per_minute: 20,
            phone_light_per_second: 40,
            phone_medium_per_second: 10,
            phone_heavy_per_second: 10,
        }
    }
}

impl PacingConfig {
    /// No pacing.
    pub fn disabled() -> Self {
        PacingConfig {
            light_per_second: 0,
            medium_per_second: 0,
            heavy_per_second: 0,
            resource_intensive_per_minute: 0,
            phone_light_per_second: 0,
            phone_medium_per_second: 0,
            phone_heavy_per_second: 0,
        }
    }
}

/// Everything a [`crate::ZoomClient`] needs for one tenant.
#[derive(Clone)]
pub struct ZoomClientConfig {
    /// API base, e.g. `https://api.zoom.us/v2` (or the simulator's).
    pub api_base_url: String,
    /// Token endpoint, e.g. `https://zoom.us/oauth/token`.
    pub oauth_url: String,
    /// Server-to-Server OAuth credentials.
    pub credentials: ZoomCredentials,
    /// Forward proxy `http(s)://[user:pass@]host:port` for every request; never logged.
    pub proxy: Option<SecretString>,
    /// Short in-client retries.
    pub retry: RetryPolicy,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of each read (not of a whole body), so multi-GB downloads are fine.
    pub read_timeout: Duration,
    /// `page_size` of listings (Zoom's maximum is 300).
    pub page_size: u32,
}

impl ZoomClientConfig {
    /// The production endpoints (`https://api.zoom.us/v2`, `https://zoom.us/oauth/token`) with default settings.
    pub fn zoom(credentials: ZoomCredentials) -> Self {
        Self::with_urls(
            "https://api.zoom.us/v2",
            "https://zoom.us/oauth/token",
            credentials,
        )
    }

    /// The client configuration of `tenant`: its endpoints and forward proxy, default
    /// settings otherwise (what every process of the archive builds).
    pub fn for_tenant(tenant: &archiver_core::TenantConfig, credentials: ZoomCredentials) -> Self {
        let mut cfg = Self::with_urls(
            tenant.api_base_url.clone(),
            tenant.oauth_url.clone(),
            credentials,
        );
        cfg.proxy = tenant.proxy.clone();
        cfg
    }

    /// Given endpoints with default settings (no proxy, default retries, 10 s / 60 s timeouts, 300 per page).
    pub fn with_urls(
        api_base_url: impl Into<String>,
        oauth_url: impl Into<String>,
        credentials: ZoomCredentials,
    ) -> Self {
        ZoomClientConfig {
            api_base_url: api_base_url.into(),
            oauth_url: oauth_url.into(),
            credentials,
            proxy: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            page_size: 300,
        }
    }
}

/// A proxy URL for logs: scheme, host and port, credentials replaced by `***`.
pub(crate) fn redact_proxy(proxy: &SecretString) -> String {
    match url::Url::parse(proxy.expose_secret()) {
        Ok(u) => {
            let creds = if !u.username().is_empty() || u.password().is_some() {
                "***@"
            } else {
                ""
            };
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{creds}{}{port}",
                u.scheme(),
                u.host_str().unwrap_or("")
            )
        }
        Err(_) => "<unparsable proxy URL>".to_string(),
    }
}

impl fmt::Debug for ZoomClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoomClientConfig")
            .field("api_base_url", &self.api_base_url)
            .field("oauth_url", &self.oauth_url)
            .field("account_id", &self.credentials.account_id)
            .field("client_id", &self.credentials.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("proxy", &self.proxy.as_ref().map(redact_proxy))
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("page_size", &self.page_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ZoomClientConfig {
        let mut c = ZoomClientConfig::zoom(ZoomCredentials {
            account_id: "acct".into(),
            client_id: "cid".into(),
            client_secret: SecretString::from("topsecret-value"),
        });
        c.proxy = Some(SecretString::from("http://puser:ppass@proxy.example:3128"));
        c
    }

    #[test]
    fn debug_redacts_secret_and_proxy_credentials() {
        let s = format!("{:?}", cfg());
        assert!(
            !s.contains("topsecret-value") && !s.contains("ppass") && !s.contains("puser"),
            "{s}"
        );
        assert!(s.contains("http://***@proxy.example:3128"), "{s}");
        assert_eq!(
            redact_proxy(&SecretString::from("https://proxy:8080")),
            "https://proxy:8080"
        );
        assert_eq!(
            redact_proxy(&SecretString::from("not a url user:pw")),
            "<unparsable proxy URL>"
        );
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let d = p.backoff(retry);
            let full = p
                .base_delay
                .saturating_mul(1u32 << retry.min(20))
                .min(p.max_delay);
            assert!(d >= full / 2 && d <= full, "{retry}: {d:?}");
        }
        assert_eq!(RetryPolicy::none().max_retries, 0);
    }
}
