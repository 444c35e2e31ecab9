//! Call detail records: one per recorded user per conversation.

use super::ids::{Source, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A media file linked to a CDR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    /// Zoom's file id.
    pub file_id: String,
    /// Zoom's file type (`M4A`, `MP4`, `MP3`, `CHAT`, ...).
    pub file_type: String,
    /// Object key (relative to the object store root).
    pub key: String,
    /// Stored size, once archived.
    pub size: Option<u64>,
    /// SHA-256 of the stored bytes, once archived.
    pub sha256: Option<String>,
    /// `pending`, `archived`, `gone` or `failed` (mirrors the file's state).
    pub state: String,
    /// Start of what the file covers (the whole-meeting MP4 spans the meeting, not the user).
    pub start_time: Option<DateTime<Utc>>,
    /// End of what the file covers.
    pub end_time: Option<DateTime<Utc>>,
}

/// A presence segment of the recorded user (one per join).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Join time.
    pub join_time: DateTime<Utc>,
    /// Leave time.
    pub leave_time: DateTime<Utc>,
}

/// A call detail record. Field names follow the spec's metadata tables in snake case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cdr {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Stable id: `{source}:{conversation}:{user key}`.
    pub cdr_id: String,
    /// Import source.
    pub source: Source,
    /// `Zoom Meeting` or `Zoom Phone`.
    pub source_platform: String,
    /// Meeting UUID or phone `call_id`.
    pub platform_call_id: String,
    /// Meeting UUID or phone recording id (the unit this CDR describes).
    pub conversation_id: String,
    /// Name of the recorded user.
    pub user: String,
    /// Recorded user id (Zoom user id or email for meetings; extension for phone).
    pub user_id: String,
    /// The configured user's email, when known (query key).
    pub user_email: Option<String>,
    /// The configured user's extension, when known (query key).
    pub user_extension: Option<String>,
    /// Start of the conversation for this user.
    pub start_time: DateTime<Utc>,
    /// End of the conversation for this user.
    pub end_time: DateTime<Utc>,
    /// `end_time - start_time` in seconds.
    pub duration_seconds: i64,
    /// Calling party (number for phone, user id for meetings).
    pub from: String,
    /// Calling party's display name.
    pub from_info: String,
    /// Called party (number for phone, `Conference` for meetings).
    pub to: String,
    /// Called party's display name (meeting topic for meetings).
    pub to_info: String,
    /// Every party named on the conversation.
    pub participants: Vec<String>,
    /// Direction from the system's perspective.
    pub direction: String,
    /// Direction from the recorded user's perspective.
    pub direction_user: String,
    /// `Voice` or `Screen & Application Share`.
    pub conversation_type: String,
    /// Always `Standard`.
    pub record_type: String,
    /// Where it was imported (host name, or function and region).
    pub location: String,
    /// True when the conversation happened but its recording is missing.
    pub recording_failed: bool,
    /// Why the recording failed, when it did.
    pub failure_reason: Option<String>,
    /// Parent meeting UUID for breakout rooms.
    pub parent_meeting_id: Option<String>,
    /// Presence segments of the recorded user (meetings).
    pub segments: Vec<Segment>,
    /// Media length `hhh:mm:ss`, when measured.
    pub media_length: Option<String>,
    /// Media processing error, when any.
    pub media_error: Option<String>,
    /// Voice quality score (1.0–5.0), when measured.
    pub voice_quality: Option<f64>,
    /// Audio codec of the recorded stream, when measured.
    #[serde(default)]
    pub audio_codec: Option<String>,
    /// Video codec of the recorded stream, when there is video.
    #[serde(default)]
    pub video_codec: Option<String>,
    /// Share of silence in the user's audio (0–1), when measured.
    #[serde(default)]
    pub silence_ratio: Option<f64>,
    /// Longest silence in the user's audio, in seconds, when measured.
    #[serde(default)]
    pub longest_silence_seconds: Option<f64>,
    /// Share of speaking time during which two or more recorded parties spoke at once,
    /// when their audio is recorded separately (meetings with individual audio files).
    #[serde(default)]
    pub talkover_ratio: Option<f64>,
    /// The linked media files.
    pub media: Vec<MediaRef>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version (see [`super::FileRecord::version`]).
    pub version: u64,
}

impl Cdr {
    /// Builds the stable CDR id.
    pub fn make_id(source: Source, conversation_id: &str, user_key: &str) -> String {
        format!("{source}:{conversation_id}:{user_key}")
    }

    /// True when every linked file reached a terminal state.
    pub fn is_settled(&self) -> bool {
        self.media.iter().all(|m| m.state != "pending")
    }

    /// Merges media references of `other` not yet linked here. Returns true when something was added.
    pub fn merge_media(&mut self, other: &[MediaRef]) -> bool {
        let mut changed = false;
        for m in other {
            if !self.media.iter().any(|x| x.file_id == m.file_id) {
                self.media.push(m.clone());
                changed = true;
            }
        }
        changed
    }
}

/// A CDR query. All filters are optional and combined with AND.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CdrQuery {
    /// Only this tenant.
    pub tenant: Option<TenantId>,
    /// Only CDRs starting at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only CDRs starting before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only this user (email, case-insensitive, or extension).
    pub user: Option<String>,
    /// Only this platform call id.
    pub platform_call_id: Option<String>,
}

impl CdrQuery {
    /// True when `cdr` satisfies every filter (shared by adapters that filter in memory).
    pub fn matches(&self, cdr: &Cdr) -> bool {
        self.tenant.as_ref().is_none_or(|t| &cdr.tenant == t)
            && self.from.is_none_or(|f| cdr.start_time >= f)
            && self.to.is_none_or(|t| cdr.start_time < t)
            && self
                .platform_call_id
                .as_ref()
                .is_none_or(|p| &cdr.platform_call_id == p)
            && self.user.as_ref().is_none_or(|u| {
                cdr.user_email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(u))
                    || cdr.user_extension.as_deref() == Some(u.as_str())
            })
    }
}
