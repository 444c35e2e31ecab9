//! The Zoom HTTP client of the compliance archiver.
//!
//! [`ZoomClient`] implements [`archiver_core::ZoomApi`] for one tenant over `reqwest`
//! (rustls, certificate verification always on):
//!
//! - **Server-to-Server OAuth**: one cached access token per client, fetched with
//!   `grant_type=account_credentials`, refreshed single-flight shortly before expiry and
//!   once more when Zoom answers 401 / code 124.
//! - **Listings**: `/archive_files`, `/past_meetings/{uuid}/archive_files` (UUIDs encoded
//!   per [`encode_meeting_uuid`]) and `/phone/recordings`, parsed with the core's tolerant types.
//! - **Reconciliation feeds**: `/metrics/meetings?type=past` (dashboard),
//!   `/metrics/meetings/{uuid}/participants`, `/phone/call_history` (falling back to the
//!   legacy `/phone/call_logs` for the client's lifetime where the call history is
//!   unavailable) and `/phone/call_history/{uuid}` (call path).
//! - **Downloads**: a download URL and every redirect target must be `https` on a Zoom host
//!   (or the configured API / OAuth host; loopback ones, also over `http`, when the API host
//!   is loopback), redirects never go to IP literals, at most 5 hops; a refused URL fails
//!   before any request. The Bearer token goes only to the API and OAuth origins. Ranged
//!   answers are checked against the range asked and the file size. The body is streamed,
//!   never buffered.
//! - **Body limits**: JSON bodies (listings, lookups, the token) are read up to
//!   [`MAX_JSON_BODY_BYTES`], error bodies up to 8 KiB.
//! - **Access checks** (`zoom-archiver doctor`): the scopes the token's OAuth answer lists
//!   ([`archiver_core::ZoomApi::token_scopes`]) and one `page_size=1` call of an endpoint
//!   ([`archiver_core::ZoomApi::probe`]).
//! - **Errors and retries**: Zoom's `{"code","message"}` bodies classified into
//!   [`archiver_core::ZoomError`] (code 4711 into `MissingScopes` with the scopes Zoom
//!   named); per-second 429s, 5xx and transport errors retried with
//!   jittered exponential backoff (honouring `Retry-After`), daily limits returned at once.
//! - **Pacing**: requests spaced per rate-limit category ([`PacingConfig`]; per second, or
//!   per minute for Resource-intensive), and the last `X-RateLimit-*` headers kept per
//!   category ([`ZoomClient::rate_limit_snapshot`]).
//!
//! Logs (`tracing`, debug level) carry method, path, status and attempt; never tokens,
//! secrets, proxy credentials or query strings.

mod client;
mod config;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod hosts;
mod pacing;
mod uuid;

pub use client::{MAX_JSON_BODY_BYTES, ZoomClient};
pub use config::{PacingConfig, RetryPolicy, ZoomClientConfig};
pub use errors::parse_retry_after;
pub use pacing::RateLimitInfo;
pub use uuid::encode_meeting_uuid;
