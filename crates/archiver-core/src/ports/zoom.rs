use super::body::ByteStream;
use crate::domain::{
    ArchiveMeeting, CallHistoryItem, CallPath, DashboardMeeting, MeetingParticipant,
    PhoneRecording, ZoomAnswer, ZoomUser,
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
    /// The app lacks OAuth scopes the call needs (Zoom's code 4711, HTTP 400: `"Invalid
    /// access token, does not contain scopes:[a, b]."`): the scopes as Zoom named them
    /// (any one of them is enough; Zoom names a scope's user and `:admin` forms).
    #[error("the Zoom app lacks the OAuth scopes [{}]: {message}", scopes.join(", "))]
    MissingScopes {
        /// The scopes Zoom named.
        scopes: Vec<String>,
        /// Zoom's message.
        message: String,
    },
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
    /// Zoom's answer as far as the error keeps it (status, code, message), for the
    /// records of a write; status 0 when Zoom gave no HTTP answer (network, a refused
    /// redirect, this system's own daily budget).
    pub fn answer(&self) -> ZoomAnswer {
        let (status, code) = match self {
            ZoomError::RateLimited { kind, .. } if kind == crate::services::budget::BUDGET_KIND => {
                (0, None)
            }
            ZoomError::RateLimited { .. } => (429, Some(429)),
            ZoomError::Unauthorized(_) => (401, Some(124)),
            ZoomError::Forbidden(_) => (403, None),
            ZoomError::MissingScopes { .. } => (400, Some(4711)),
            ZoomError::NotFound(_) => (404, None),
            ZoomError::InvalidPageToken => (400, Some(300)),
            ZoomError::BadRequest { code, .. } => (400, Some(*code)),
            ZoomError::Server { status, .. } => (*status, None),
            ZoomError::Transport(_) | ZoomError::Decode(_) | ZoomError::Refused(_) => (0, None),
        };
        ZoomAnswer {
            status,
            code,
            message: Some(self.to_string()),
        }
    }

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

/// A Zoom endpoint the archive calls, for access checks ([`ZoomApi::probe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /archive_files` (Medium): the meetings poll.
    ArchiveFiles,
    /// `GET /past_meetings/{meetingUUID}/archive_files` (Light): meetings reconciliation.
    MeetingArchive,
    /// `GET /metrics/meetings/{meetingId}/participants` (Heavy): who was in a meeting.
    MeetingParticipants,
    /// `GET /metrics/meetings` (Resource-intensive): meetings reconciliation.
    PastMeetings,
    /// `GET /phone/recordings` (Phone Medium): the phone poll.
    PhoneRecordings,
    /// `GET /phone/call_history` (Phone Heavy; legacy `GET /phone/call_logs`): phone
    /// reconciliation.
    CallHistory,
    /// `GET /phone/call_history/{callHistoryUuid}` (Phone Light): a call's recordings.
    CallPath,
    /// `GET /users/{userId}` (Light): who a configured email is at Zoom.
    User,
    /// `DELETE /past_meetings/{meetingUUID}/archive_files` (Light): a meeting's archive
    /// files deleted at Zoom (`delete_at_zoom`; never probed).
    DeleteMeetingArchive,
    /// `PATCH /archive_files/{fileId}` (Light): an archive file tagged for Zoom's
    /// auto-delete (`delete_at_zoom`; never probed).
    ArchiveFileAutoDelete,
    /// `DELETE /phone/recordings/{recordingId}` (Phone Light): a call recording deleted at
    /// Zoom (`delete_at_zoom`; never probed).
    DeletePhoneRecording,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 11] = [
        Endpoint::ArchiveFiles,
        Endpoint::MeetingArchive,
        Endpoint::MeetingParticipants,
        Endpoint::PastMeetings,
        Endpoint::PhoneRecordings,
        Endpoint::CallHistory,
        Endpoint::CallPath,
        Endpoint::User,
        Endpoint::DeleteMeetingArchive,
        Endpoint::ArchiveFileAutoDelete,
        Endpoint::DeletePhoneRecording,
    ];

    /// The id a probe of a lookup endpoint asks for: made up, so that an app allowed to
    /// call the endpoint gets a 404 (Zoom checks the token's scopes before the resource).
    pub const PROBE_ID: &'static str = "zoom-archiver-doctor-probe";

    /// Method and path as Zoom documents them (`GET /archive_files`).
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::ArchiveFiles => "GET /archive_files",
            Endpoint::MeetingArchive => "GET /past_meetings/{meetingUUID}/archive_files",
            Endpoint::MeetingParticipants => "GET /metrics/meetings/{meetingId}/participants",
            Endpoint::PastMeetings => "GET /metrics/meetings",
            Endpoint::PhoneRecordings => "GET /phone/recordings",
            Endpoint::CallHistory => "GET /phone/call_history",
            Endpoint::CallPath => "GET /phone/call_history/{callHistoryUuid}",
            Endpoint::User => "GET /users/{userId}",
            Endpoint::DeleteMeetingArchive => "DELETE /past_meetings/{meetingUUID}/archive_files",
            Endpoint::ArchiveFileAutoDelete => "PATCH /archive_files/{fileId}",
            Endpoint::DeletePhoneRecording => "DELETE /phone/recordings/{recordingId}",
        }
    }

    /// The rate-limit category, as the quota ledger keys it (`Light`, `Medium`, `Heavy`,
    /// `Resource-intensive`, `phone:Light`, `phone:Medium`, `phone:Heavy`).
    pub fn category(self) -> &'static str {
        match self {
            Endpoint::ArchiveFiles => "Medium",
            Endpoint::MeetingArchive
            | Endpoint::User
            | Endpoint::DeleteMeetingArchive
            | Endpoint::ArchiveFileAutoDelete => "Light",
            Endpoint::MeetingParticipants => "Heavy",
            Endpoint::PastMeetings => "Resource-intensive",
            Endpoint::PhoneRecordings => "phone:Medium",
            Endpoint::CallHistory => "phone:Heavy",
            Endpoint::CallPath | Endpoint::DeletePhoneRecording => "phone:Light",
        }
    }

    /// Whether a call changes something at Zoom (deletes, tags for deletion): such an
    /// endpoint is never called to probe it.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Endpoint::DeleteMeetingArchive
                | Endpoint::ArchiveFileAutoDelete
                | Endpoint::DeletePhoneRecording
        )
    }

    /// Whether a call draws on a daily limit (Heavy and Resource-intensive categories).
    pub fn has_daily_limit(self) -> bool {
        matches!(
            self,
            Endpoint::MeetingParticipants | Endpoint::PastMeetings | Endpoint::CallHistory
        )
    }

    /// Whether the endpoint reads one resource by id (a probe asks for [`Self::PROBE_ID`]
    /// and takes a 404 as a yes), rather than listing a window.
    pub fn is_lookup(self) -> bool {
        matches!(
            self,
            Endpoint::MeetingArchive
                | Endpoint::MeetingParticipants
                | Endpoint::CallPath
                | Endpoint::User
        )
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The refusal of a probe of a write endpoint: nothing is deleted to learn whether it may be.
pub fn never_probed(endpoint: Endpoint) -> ZoomError {
    ZoomError::Refused(format!(
        "{endpoint} changes data at Zoom: it is never called to probe it"
    ))
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
    /// `DELETE /past_meetings/{meetingUUID}/archive_files` (Light): deletes every archive
    /// file of the meeting at Zoom. `Ok` is Zoom's success (204); an answer that is not a
    /// success is an error (`NotFound` when Zoom does not know the meeting). The default
    /// refuses (`Forbidden`).
    async fn delete_meeting_archive(&self, meeting_uuid: &str) -> Result<ZoomAnswer, ZoomError> {
        let _ = meeting_uuid;
        Err(ZoomError::Forbidden(
            "deleting archive files is not supported by this client".into(),
        ))
    }
    /// `PATCH /archive_files/{fileId}` with `{"auto_delete": …}` (Light): tags (or untags)
    /// one archive file for Zoom's own deletion. `Ok` is Zoom's success (204). The default
    /// refuses (`Forbidden`).
    async fn set_archive_file_auto_delete(
        &self,
        file_id: &str,
        auto_delete: bool,
    ) -> Result<ZoomAnswer, ZoomError> {
        let _ = (file_id, auto_delete);
        Err(ZoomError::Forbidden(
            "tagging archive files for deletion is not supported by this client".into(),
        ))
    }
    /// `DELETE /phone/recordings/{recordingId}` (Phone Light): deletes a call recording at
    /// Zoom. `Ok` is Zoom's success (204); `NotFound` when Zoom does not know it. The
    /// default refuses (`Forbidden`).
    async fn delete_phone_recording(&self, recording_id: &str) -> Result<ZoomAnswer, ZoomError> {
        let _ = recording_id;
        Err(ZoomError::Forbidden(
            "deleting phone recordings is not supported by this client".into(),
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
    /// Obtains an access token (the cached one while it is valid, else a new one) and
    /// returns the scopes it grants, when the OAuth answer listed them (`scope`). An error
    /// says why no token could be had ([`ZoomError::Unauthorized`] for refused
    /// credentials, [`ZoomError::Transport`] when the OAuth host was not reached).
    ///
    /// The default (a client without OAuth) has nothing to check: `Ok(None)`.
    async fn token_scopes(&self) -> Result<Option<Vec<String>>, ZoomError> {
        Ok(None)
    }
    /// One call of `endpoint`, as cheap as it can be made, to learn whether the app may
    /// call it: a listing asks for one page over `window` (implementations ask for the
    /// smallest page); a lookup asks for [`Endpoint::PROBE_ID`], so that `NotFound` is
    /// the expected answer of an app that may call it. What was found is dropped.
    ///
    /// The default calls the port's own methods (so a wrapper that counts them counts the
    /// probe). A write endpoint ([`Endpoint::is_write`]) is never called: `Refused`.
    async fn probe(&self, endpoint: Endpoint, window: Window) -> Result<(), ZoomError> {
        let id = Endpoint::PROBE_ID;
        match endpoint {
            Endpoint::DeleteMeetingArchive
            | Endpoint::ArchiveFileAutoDelete
            | Endpoint::DeletePhoneRecording => Err(never_probed(endpoint)),
            Endpoint::ArchiveFiles => self
                .list_archived_meetings(window, ArchiveDateType::ArchiveCompleteTime, None)
                .await
                .map(drop),
            Endpoint::MeetingArchive => self.get_meeting_archive(id).await.map(drop),
            Endpoint::MeetingParticipants => {
                self.list_meeting_participants(id, None).await.map(drop)
            }
            Endpoint::PastMeetings => self.list_past_meetings(window, None).await.map(drop),
            Endpoint::PhoneRecordings => self.list_phone_recordings(window, None).await.map(drop),
            Endpoint::CallHistory => self.list_call_history(window, None).await.map(drop),
            Endpoint::CallPath => self.get_call_path(id).await.map(drop),
            Endpoint::User => self.get_user(id).await.map(drop),
        }
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
