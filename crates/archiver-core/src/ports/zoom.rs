use super::body::ByteStream;
use crate::domain::{
    ArchiveMeeting, CallHistoryItem, CallPath, DashboardMeeting, MeetingParticipant,
    PhoneRecording, ZoomUser,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A listing window `[from, to]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (inclusive).
    pub to: DateTime<Utc>,
}

/// Which date `/archive_files` filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveDateType {
    /// `meeting_start_time` (Zoom's default).
    MeetingStartTime,
    /// `archive_complete_time`: meetings appear when their archive completes, so late
    /// archives are never missed by a watermark that has moved past their start.
    ArchiveCompleteTime,
}

impl ArchiveDateType {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveDateType::MeetingStartTime => "meeting_start_time",
            ArchiveDateType::ArchiveCompleteTime => "archive_complete_time",
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Token for the next page, `None` on the last page.
    pub next_page_token: Option<String>,
    /// The window end Zoom used (it clamps a future `to` to now); reuse it with the token.
    pub to: Option<DateTime<Utc>>,
    /// Records in the whole listing, when reported.
    pub total_records: Option<u64>,
}

/// When a rate-limited call may be tried again, as Zoom said it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryHint {
    /// After this many seconds.
    Seconds(u64),
    /// At this time (daily limits: the next 00:00 UTC).
    At(DateTime<Utc>),
}

impl RetryHint {
    /// The longest wait a hint is taken for: a day and an hour. Zoom's longest limit is the
    /// daily one, which resets at 00:00 UTC; a longer hint (a proxy's or a gateway's
    /// `Retry-After: 99999999999`, a date years ahead) is cut to this, so that no header can
    /// park work for years or overflow a time computation.
    pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(25 * 3600);

    /// The wait from `now`, at most [`RetryHint::MAX_WAIT`] (none for a time in the past).
    pub fn wait_from(self, now: DateTime<Utc>) -> std::time::Duration {
        let wait = match self {
            RetryHint::Seconds(s) => std::time::Duration::from_secs(s),
            RetryHint::At(t) => t.signed_duration_since(now).to_std().unwrap_or_default(),
        };
        wait.min(Self::MAX_WAIT)
    }

    /// When to try again: `now` plus [`RetryHint::wait_from`].
    pub fn until(self, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.wait_from(now))
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now)
    }
}

/// Errors of the Zoom API, classified for the services' decisions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoomError {
    /// 429 after the client's own retries.
    #[error("rate limited by Zoom ({category}, {kind})")]
    RateLimited {
        /// Rate-limit category (`Light`, `Medium`, `Heavy`, `Resource-intensive`, or `unknown`).
        category: String,
        /// `QPS` or `Daily-limit` (or `unknown`).
        kind: String,
        /// When to retry, if Zoom said.
        retry_after: Option<RetryHint>,
    },
    /// The credentials were refused or the token stayed invalid after a refresh.
    #[error("Zoom refused the credentials: {0}")]
    Unauthorized(String),
    /// The app lacks a scope or permission.
    #[error("Zoom refused the call (missing scope or permission): {0}")]
    Forbidden(String),
    /// The resource does not exist (deleted file, unknown meeting).
    #[error("not found at Zoom: {0}")]
    NotFound(String),
    /// `next_page_token` was invalid or expired: restart the listing.
    #[error("next_page_token is invalid or expired")]
    InvalidPageToken,
    /// Zoom rejected the request (code and message from Zoom).
    #[error("Zoom rejected the request: code {code}: {message}")]
    BadRequest {
        /// Zoom's error code.
        code: i64,
        /// Zoom's message.
        message: String,
    },
    /// 5xx after the client's own retries.
    #[error("Zoom server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Body excerpt.
        message: String,
    },
    /// Network failure (connect, reset, timeout).
    #[error("network error talking to Zoom: {0}")]
    Transport(String),
    /// A body that does not parse.
    #[error("unexpected response from Zoom: {0}")]
    Decode(String),
    /// The client refused to make the request: a download URL or redirect off the allowed
    /// hosts (never retried; the message names the host and the rule, never the URL).
    #[error("refused: {0}")]
    Refused(String),
}

impl ZoomError {
    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ZoomError::RateLimited { .. }
                | ZoomError::Server { .. }
                | ZoomError::Transport(_)
                | ZoomError::Unauthorized(_)
                | ZoomError::InvalidPageToken
                | ZoomError::Decode(_)
        )
    }
}

/// An opened download.
pub struct Download {
    /// `Content-Type` served.
    pub content_type: Option<String>,
    /// `Content-Length` served (of what is served: from `offset` on).
    pub content_length: Option<u64>,
    /// The offset in the file at which `body` starts: the requested offset when the server
    /// honoured the range, 0 when it served the whole file.
    pub offset: u64,
    /// The body.
    pub body: ByteStream,
}

/// The Zoom API of one tenant (one account, its credentials, base URLs and proxy).
///
/// Implementations handle OAuth, per-second pacing and short retries of 429/5xx themselves;
/// what reaches the services is a final outcome.
#[async_trait]
pub trait ZoomApi: Send + Sync {
    /// `GET /archive_files` for one window and page.
    async fn list_archived_meetings(
        &self,
        window: Window,
        date_type: ArchiveDateType,
        page_token: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError>;
    /// `GET /past_meetings/{uuid}/archive_files`; `None` when Zoom does not know the meeting.
    async fn get_meeting_archive(&self, uuid: &str) -> Result<Option<ArchiveMeeting>, ZoomError>;
    /// `GET /phone/recordings` for one window and page.
    async fn list_phone_recordings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError>;
    /// `GET /metrics/meetings/{uuid}/participants?type=past` for one page (Heavy): one
    /// entry per join. `NotFound` when Zoom does not know the meeting (or it has not ended).
    async fn list_meeting_participants(
        &self,
        meeting_uuid: &str,
        page_token: Option<&str>,
    ) -> Result<Page<MeetingParticipant>, ZoomError>;
    /// `GET /metrics/meetings?type=past` for one window and page (Resource-intensive:
    /// 20 a minute, and the daily budget shared with Heavy calls).
    ///
    /// The default refuses (`Forbidden`): for clients that cannot reconcile.
    async fn list_past_meetings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<DashboardMeeting>, ZoomError> {
        let _ = (window, page_token);
        Err(ZoomError::Forbidden(
            "listing past meetings is not supported by this client".into(),
        ))
    }
    /// `GET /phone/call_history` for one window and page (Phone Heavy, daily budget);
    /// falls back to the legacy `GET /phone/call_logs` where the account lacks the call
    /// history. The default refuses (`Forbidden`).
    async fn list_call_history(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<CallHistoryItem>, ZoomError> {
        let _ = (window, page_token);
        Err(ZoomError::Forbidden(
            "listing the call history is not supported by this client".into(),
        ))
    }
    /// `GET /phone/call_history/{callHistoryUuid}` (Phone Light): the recordings of one
    /// call leg. `None` when Zoom does not know it. The default refuses (`Forbidden`).
    async fn get_call_path(&self, call_history_uuid: &str) -> Result<Option<CallPath>, ZoomError> {
        let _ = call_history_uuid;
        Err(ZoomError::Forbidden(
            "reading a call path is not supported by this client".into(),
        ))
    }
    /// `GET /users/{email}` (Light): the Zoom user a configured email is. `None` when Zoom
    /// does not know it (404, code 1001). The default refuses (`Forbidden`).
    async fn get_user(&self, email: &str) -> Result<Option<ZoomUser>, ZoomError> {
        let _ = email;
        Err(ZoomError::Forbidden(
            "looking up users is not supported by this client".into(),
        ))
    }
    /// What Zoom last reported of a daily-limited category through its rate-limit headers:
    /// `(X-RateLimit-Limit, X-RateLimit-Remaining)`. `category` is `Heavy`,
    /// `Resource-intensive`, `phone:Heavy` or `phone:Resource-intensive`. The default
    /// knows nothing.
    fn daily_remaining(&self, category: &str) -> Option<(u64, u64)> {
        let _ = category;
        None
    }
    /// Opens a download URL (following redirects without leaking the token to another host).
    async fn download(&self, url: &str) -> Result<Download, ZoomError>;
    /// Opens a download of a file of `size` bytes fetched as `part`-byte ranges, up to
    /// `streams` at a time, each on its own connection; the body yields the bytes in order
    /// (memory: at most `streams` parts). Pays where the file host throttles each
    /// connection. When the server does not honour `Range`, the download is one stream.
    ///
    /// The default is one stream ([`ZoomApi::download`]).
    async fn download_parallel(
        &self,
        url: &str,
        size: u64,
        part: u64,
        streams: usize,
    ) -> Result<Download, ZoomError> {
        let _ = (size, part, streams);
        self.download(url).await
    }
    /// Opens a download URL from byte `offset` on (an HTTP `Range` request), to continue
    /// an interrupted upload. A server may ignore the range: `Download::offset` says where
    /// the body really starts (0 = the whole file), and the caller skips what it has.
    ///
    /// The default ignores `offset` and calls [`ZoomApi::download`].
    async fn download_from(&self, url: &str, offset: u64) -> Result<Download, ZoomError> {
        let _ = offset;
        let mut d = self.download(url).await?;
        d.offset = 0;
        Ok(d)
    }
}
