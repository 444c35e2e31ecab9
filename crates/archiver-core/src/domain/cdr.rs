//! Call detail records: one per recorded user per conversation. The CDR's one home.
//!
//! This module holds the type, its typed fields, and the pure rules of every change made
//! to a CDR:
//! - the three kinds of CDR are built only here: [`Cdr::for_meeting_user`],
//!   [`Cdr::for_phone_recording`], and [`Cdr::recording_failed`] (what reconciliation
//!   writes for a conversation whose recording is missing);
//! - [`Cdr::merge_draft`]: a poller's draft of a stored CDR adds media, and turns a
//!   "recording failed" CDR into a normal one when its recording arrives late (same id, no
//!   duplicate);
//! - [`Cdr::sync_file`]: a linked file's state, size, SHA-256 and measurements;
//! - [`Cdr::mark_lost`], [`Cdr::set_identity`], [`Cdr::mark_out_of_scope`].
//!
//! `services::cdrs` stores these changes (compare-and-set, retried on conflict); no other
//! code edits a stored CDR.

use super::config::UserConfig;
use super::file::{FileRecord, FileState};
use super::ids::{Source, TenantId};
use super::media::{MediaFacts, format_media_length};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a linked file is: the file's state as the CDR shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaState {
    /// Known, not (yet) stored.
    #[default]
    Pending,
    /// Stored with its SHA-256.
    Archived,
    /// Deleted at Zoom before it could be archived.
    Gone,
    /// Given up on, with a reason on the file.
    Failed,
}

impl MediaState {
    /// The exported value (`pending`, `archived`, `gone`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Pending => "pending",
            MediaState::Archived => "archived",
            MediaState::Gone => "gone",
            MediaState::Failed => "failed",
        }
    }
}

impl From<&FileState> for MediaState {
    fn from(s: &FileState) -> Self {
        match s {
            FileState::Archived { .. } => MediaState::Archived,
            FileState::Gone { .. } => MediaState::Gone,
            FileState::Failed {
                transient: false, ..
            } => MediaState::Failed,
            // Parked after transient trouble: the sweep sends it again.
            FileState::Failed { .. } | FileState::Pending | FileState::Downloading { .. } => {
                MediaState::Pending
            }
        }
    }
}

/// Direction of a conversation from the organisation's perspective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// Both parties are internal.
    Internal,
    /// From an external party to an internal one.
    Inbound,
    /// From an internal party to an external one.
    Outbound,
    /// Both parties are external (a call forwarded or transferred through the organisation).
    External,
    /// A meeting.
    Conference,
}

/// Direction from the recorded user's perspective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DirectionUser {
    /// The user received the call.
    Incoming,
    /// The user placed the call (or took part in a meeting).
    Outgoing,
}

/// The spec's conversation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConversationType {
    /// Audio only.
    Voice,
    /// Audio with the whole-meeting video and screen share.
    #[serde(rename = "Screen & Application Share")]
    ScreenShare,
}

/// The spec's record type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordType {
    /// The only one Zoom imports produce.
    #[default]
    Standard,
}

macro_rules! cdr_value {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The exported value (the spec's wording).
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cdr_value!(Direction { Internal => "Internal", Inbound => "Inbound", Outbound => "Outbound", External => "External", Conference => "Conference" });
cdr_value!(DirectionUser { Incoming => "Incoming", Outgoing => "Outgoing" });
cdr_value!(ConversationType { Voice => "Voice", ScreenShare => "Screen & Application Share" });
cdr_value!(RecordType { Standard => "Standard" });

impl std::fmt::Display for MediaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The file's state.
    pub state: MediaState,
    /// Start of what the file covers (the whole-meeting MP4 spans the meeting, not the user).
    pub start_time: Option<DateTime<Utc>>,
    /// End of what the file covers.
    pub end_time: Option<DateTime<Utc>>,
}

impl MediaRef {
    /// The reference to `f` as it stands (state, size and SHA-256 from its state).
    pub fn of(f: &FileRecord) -> MediaRef {
        let mut m = MediaRef {
            file_id: f.file_id.clone(),
            file_type: f.file_type.clone(),
            key: f.object_key.to_string(),
            size: None,
            sha256: None,
            state: MediaState::Pending,
            start_time: f.recording_start,
            end_time: f.recording_end,
        };
        m.set_state(&f.state);
        m
    }

    fn set_state(&mut self, s: &FileState) {
        self.state = MediaState::from(s);
        (self.size, self.sha256) = match s {
            FileState::Archived { size, sha256, .. } => (Some(*size), Some(sha256.clone())),
            _ => (None, None),
        };
    }

    fn is_audio(&self) -> bool {
        is_audio_type(&self.file_type)
    }
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
    /// Stable id: `{source}:{conversation}:{user key}` (see [`UserConfig::key`]).
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
    /// Recorded user id: the Zoom user id for meetings, the extension for phone.
    pub user_id: String,
    /// The configured user's email, when known (query key).
    pub user_email: Option<String>,
    /// The configured user's extension, when known (query key).
    pub user_extension: Option<String>,
    /// Start of the conversation for this user.
    pub start_time: DateTime<Utc>,
    /// End of the conversation for this user.
    pub end_time: DateTime<Utc>,
    /// `end_time - start_time` in seconds (phone: Zoom's `duration`).
    pub duration_seconds: i64,
    /// Calling party (number for phone, the recorded user's Zoom id for meetings).
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
    pub direction: Direction,
    /// Direction from the recorded user's perspective.
    pub direction_user: DirectionUser,
    /// Voice, or Screen & Application Share (video users in meetings).
    pub conversation_type: ConversationType,
    /// Always `Standard`.
    pub record_type: RecordType,
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
    /// Why this CDR is outside what the configuration asks to archive (made by an earlier
    /// rule): kept, never listed by default, never deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_scope: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version (see [`super::FileRecord::version`]).
    pub version: u64,
}

/// The parts of a meeting CDR ([`Cdr::for_meeting_user`]).
#[derive(Clone, Debug)]
pub struct MeetingCdr<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The recorded user.
    pub user: &'a UserConfig,
    /// The meeting instance UUID.
    pub meeting_uuid: &'a str,
    /// The meeting topic (`to_info`).
    pub topic: &'a str,
    /// The parent meeting of a breakout room.
    pub parent_meeting_id: Option<String>,
    /// The user's display name (`user`, `from_info`).
    pub name: String,
    /// The user's Zoom user id (`user_id`, `from`).
    pub zoom_user_id: String,
    /// The recorded users present (display names).
    pub participants: Vec<String>,
    /// The user's joins.
    pub segments: Vec<Segment>,
    /// When the user's part started.
    pub start: DateTime<Utc>,
    /// When it ended.
    pub end: DateTime<Utc>,
    /// Where it was imported.
    pub location: &'a str,
}

/// The parts of a phone CDR ([`Cdr::for_phone_recording`]).
#[derive(Clone, Debug)]
pub struct PhoneCdr<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The recorded user.
    pub user: &'a UserConfig,
    /// The recording id (the unit of a phone CDR; a call recorded on two lines has two).
    pub recording_id: &'a str,
    /// Zoom's `call_id` (`platform_call_id`, shared by every line of the call).
    pub call_id: &'a str,
    /// The user's display name.
    pub name: String,
    /// The user's extension (`user_id`).
    pub extension: String,
    /// Call start.
    pub start: DateTime<Utc>,
    /// Call end.
    pub end: DateTime<Utc>,
    /// Zoom's `duration`.
    pub duration_seconds: i64,
    /// Calling number and name.
    pub from: (String, String),
    /// Called number and name.
    pub to: (String, String),
    /// Every party named on the call.
    pub participants: Vec<String>,
    /// From the organisation's perspective.
    pub direction: Direction,
    /// From the user's perspective.
    pub direction_user: DirectionUser,
    /// Where it was imported.
    pub location: &'a str,
}

/// What [`Cdr::merge_draft`] changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merged {
    /// Nothing: the stored CDR already had it all.
    Unchanged,
    /// Media references were added.
    MediaAdded,
    /// A "recording failed" CDR of reconciliation became a normal CDR.
    Upgraded,
}

fn is_audio_type(file_type: &str) -> bool {
    file_type.eq_ignore_ascii_case("M4A") || file_type.eq_ignore_ascii_case("MP3")
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Cdr {
    /// Builds the stable CDR id.
    pub fn make_id(source: Source, conversation_id: &str, user_key: &str) -> String {
        format!("{source}:{conversation_id}:{user_key}")
    }

    /// A bare CDR of `user` with every measured field empty.
    fn base(tenant: &TenantId, source: Source, conversation_id: &str, user: &UserConfig) -> Cdr {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        Cdr {
            tenant: tenant.clone(),
            cdr_id: Cdr::make_id(source, conversation_id, &user.key()),
            source,
            source_platform: source.platform().into(),
            platform_call_id: String::new(),
            conversation_id: conversation_id.to_string(),
            user: String::new(),
            user_id: String::new(),
            user_email: user.email.as_ref().map(|e| e.trim().to_ascii_lowercase()),
            user_extension: user.extension.clone(),
            start_time: epoch,
            end_time: epoch,
            duration_seconds: 0,
            from: String::new(),
            from_info: String::new(),
            to: String::new(),
            to_info: String::new(),
            participants: Vec::new(),
            direction: Direction::Conference,
            direction_user: DirectionUser::Outgoing,
            conversation_type: ConversationType::Voice,
            record_type: RecordType::Standard,
            location: String::new(),
            recording_failed: false,
            failure_reason: None,
            parent_meeting_id: None,
            segments: Vec::new(),
            media_length: None,
            media_error: None,
            voice_quality: None,
            audio_codec: None,
            video_codec: None,
            silence_ratio: None,
            longest_silence_seconds: None,
            talkover_ratio: None,
            media: Vec::new(),
            out_of_scope: None,
            created_at: epoch,
            updated_at: epoch,
            version: 0,
        }
    }

    /// The CDR of one recorded user in one meeting: `from`/`user_id` the Zoom user id,
    /// `user`/`from_info` the display name, `to` `Conference`, `to_info` the topic, a video
    /// user's conversation type `Screen & Application Share`.
    pub fn for_meeting_user(p: MeetingCdr<'_>, media: Vec<MediaRef>, now: DateTime<Utc>) -> Cdr {
        let end = p.end.max(p.start);
        Cdr {
            platform_call_id: p.meeting_uuid.to_string(),
            user: p.name.clone(),
            user_id: p.zoom_user_id.clone(),
            start_time: p.start,
            end_time: end,
            duration_seconds: (end - p.start).num_seconds(),
            from: p.zoom_user_id,
            from_info: p.name,
            to: "Conference".into(),
            to_info: p.topic.to_string(),
            participants: p.participants,
            direction: Direction::Conference,
            direction_user: DirectionUser::Outgoing,
            conversation_type: match p.user.mode {
                super::config::RecordingMode::Voice => ConversationType::Voice,
                super::config::RecordingMode::Video => ConversationType::ScreenShare,
            },
            location: p.location.to_string(),
            parent_meeting_id: p.parent_meeting_id.filter(|x| !x.is_empty()),
            segments: p.segments,
            media,
            created_at: now,
            updated_at: now,
            ..Cdr::base(p.tenant, Source::Meetings, p.meeting_uuid, p.user)
        }
    }

    /// The CDR of one recorded user's line of a phone call (one recording): `user_id` the
    /// extension, `from`/`to` the numbers, `platform_call_id` Zoom's `call_id`.
    pub fn for_phone_recording(p: PhoneCdr<'_>, media: Vec<MediaRef>, now: DateTime<Utc>) -> Cdr {
        Cdr {
            platform_call_id: p.call_id.to_string(),
            user: p.name,
            user_id: p.extension,
            start_time: p.start,
            end_time: p.end.max(p.start),
            duration_seconds: p.duration_seconds,
            from: p.from.0,
            from_info: p.from.1,
            to: p.to.0,
            to_info: p.to.1,
            participants: p.participants,
            direction: p.direction,
            direction_user: p.direction_user,
            conversation_type: ConversationType::Voice,
            location: p.location.to_string(),
            media,
            created_at: now,
            updated_at: now,
            ..Cdr::base(p.tenant, Source::Phone, p.recording_id, p.user)
        }
    }

    /// `normal` (the CDR the archive would hold had the recording arrived) as a
    /// "recording failed" CDR: no media, `recording_failed`, and `reason: detail`. It keeps
    /// the normal CDR's id, so a late recording upgrades it ([`Cdr::merge_draft`]).
    pub fn recording_failed(normal: Cdr, reason: &str, detail: &str) -> Cdr {
        Cdr {
            recording_failed: true,
            failure_reason: Some(format!("{reason}: {detail}")),
            media: Vec::new(),
            ..normal
        }
    }

    /// True when every linked file reached a terminal state.
    pub fn is_settled(&self) -> bool {
        self.media.iter().all(|m| m.state != MediaState::Pending)
    }

    /// True for a "recording failed" CDR written by reconciliation (it links no media).
    pub fn is_reconciliation_failure(&self) -> bool {
        self.recording_failed && self.media.is_empty()
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

    /// Merges a poller's `draft` of this CDR (same id). A "recording failed" CDR of
    /// reconciliation whose recording arrived after all becomes the draft (a normal CDR:
    /// same id, creation time and version, no duplicate); otherwise media not yet linked
    /// are added.
    pub fn merge_draft(&mut self, draft: &Cdr) -> Merged {
        if self.is_reconciliation_failure() && !draft.media.is_empty() {
            let (created, version) = (self.created_at, self.version);
            *self = Cdr {
                created_at: created,
                version,
                ..draft.clone()
            };
            return Merged::Upgraded;
        }
        if self.merge_media(&draft.media) {
            Merged::MediaAdded
        } else {
            Merged::Unchanged
        }
    }

    /// Brings the reference to `rec` (added when missing) up to date with the file's state,
    /// and the CDR's measured fields with the file's measurements. Returns true when
    /// something changed.
    pub fn sync_file(&mut self, rec: &FileRecord) -> bool {
        let before = self.clone();
        let idx = match self.media.iter().position(|m| m.file_id == rec.file_id) {
            Some(i) => i,
            None => {
                self.media.push(MediaRef::of(rec));
                self.media.len() - 1
            }
        };
        self.media[idx].set_state(&rec.state);
        if let Some(facts) = &rec.media {
            self.apply_facts(rec, facts);
        }
        *self != before
    }

    /// Fills the media fields from one file's measurements. The user's own audio (M4A,
    /// MP3) decides length, silence and quality; the meeting video adds the video codec,
    /// and its length only when the CDR has no audio file. Errors of every file are listed.
    fn apply_facts(&mut self, rec: &FileRecord, f: &MediaFacts) {
        let audio = is_audio_type(&rec.file_type);
        let has_audio_file = self.media.iter().any(MediaRef::is_audio);
        if audio || !has_audio_file {
            if let Some(d) = f.duration_secs {
                self.media_length = Some(format_media_length(d));
            }
            if f.audio_codec.is_some() {
                self.audio_codec = f.audio_codec.clone();
            }
            if f.voice_quality.is_some() {
                self.voice_quality = f.voice_quality.map(round3);
                self.silence_ratio = f.silence_ratio.map(round3);
                self.longest_silence_seconds =
                    f.longest_silence_secs.map(|x| (x * 10.0).round() / 10.0);
            }
        }
        if f.video_codec.is_some() {
            self.video_codec = f.video_codec.clone();
        }
        if let Some(e) = &f.error {
            let line = format!("{} {}: {e}", rec.file_type, rec.file_id);
            match &mut self.media_error {
                Some(existing) if existing.contains(&line) => {}
                Some(existing) => {
                    existing.push_str("; ");
                    existing.push_str(&line);
                }
                None => self.media_error = Some(line),
            }
        }
    }

    /// Sets the talk-over ratio (rounded to 3 places). Returns true when it changed.
    pub fn set_talkover(&mut self, ratio: f64) -> bool {
        let ratio = round3(ratio);
        if self.talkover_ratio == Some(ratio) {
            return false;
        }
        self.talkover_ratio = Some(ratio);
        true
    }

    /// Marks a CDR whose every linked file was lost (gone at Zoom or failed for good) as
    /// "recording failed" with `reason` and the files' states. False when already marked.
    pub fn mark_lost(&mut self, reason: &str) -> bool {
        if self.recording_failed {
            return false;
        }
        let states: Vec<String> = self
            .media
            .iter()
            .map(|m| format!("{} {} {}", m.file_type, m.file_id, m.state))
            .collect();
        self.recording_failed = true;
        self.failure_reason = Some(format!(
            "{reason}: Zoom listed the recording but it could not be archived ({})",
            states.join(", ")
        ));
        true
    }

    /// Sets who the CDR is filed under: `user_id` (and `from`, for meetings, where the
    /// calling party is the user) and the display name (`user`, and `from_info` for
    /// meetings). Returns true when something changed.
    pub fn set_identity(&mut self, user_id: Option<&str>, name: Option<&str>) -> bool {
        let before = (
            self.user_id.clone(),
            self.from.clone(),
            self.user.clone(),
            self.from_info.clone(),
        );
        let meeting = self.source == Source::Meetings;
        if let Some(id) = user_id.filter(|i| !i.is_empty()) {
            if meeting && self.from == self.user_id {
                self.from = id.to_string();
            }
            self.user_id = id.to_string();
        }
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            if meeting && self.from_info == self.user {
                self.from_info = n.to_string();
            }
            self.user = n.to_string();
        }
        before
            != (
                self.user_id.clone(),
                self.from.clone(),
                self.user.clone(),
                self.from_info.clone(),
            )
    }

    /// Marks the CDR out of scope with `reason`. False when it already was.
    pub fn mark_out_of_scope(&mut self, reason: &str) -> bool {
        if self.out_of_scope.is_some() {
            return false;
        }
        self.out_of_scope = Some(reason.to_string());
        true
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
    /// Also CDRs marked out of scope (left out by default).
    pub include_out_of_scope: bool,
    /// Only this direction (system's perspective).
    pub direction: Option<Direction>,
    /// Only conversations with this phone number as caller, callee or participant
    /// (compared without spaces, dashes, dots and brackets).
    pub number: Option<String>,
    /// Only "recording failed" CDRs (those with a `failure_reason`).
    pub failed_only: bool,
}

impl CdrQuery {
    /// True when `cdr` satisfies every filter (shared by adapters that filter in memory).
    pub fn matches(&self, cdr: &Cdr) -> bool {
        self.tenant.as_ref().is_none_or(|t| &cdr.tenant == t)
            && (self.include_out_of_scope || cdr.out_of_scope.is_none())
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
            && self.direction.is_none_or(|d| cdr.direction == d)
            && (!self.failed_only || cdr.failure_reason.is_some())
            && self.number.as_deref().is_none_or(|n| {
                let n = super::config::normalize_number(n);
                !n.is_empty()
                    && [cdr.from.as_str(), cdr.to.as_str()]
                        .into_iter()
                        .chain(cdr.participants.iter().map(String::as_str))
                        .any(|p| super::config::normalize_number(p) == n)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_keep_the_spec_wording_in_storage() {
        let v = serde_json::json!([
            Direction::Internal,
            DirectionUser::Incoming,
            ConversationType::ScreenShare,
            RecordType::Standard,
            MediaState::Archived
        ]);
        assert_eq!(
            v,
            serde_json::json!([
                "Internal",
                "Incoming",
                "Screen & Application Share",
                "Standard",
                "archived"
            ])
        );
        let back: ConversationType =
            serde_json::from_value(serde_json::json!("Screen & Application Share")).unwrap();
        assert_eq!(back, ConversationType::ScreenShare);
        assert_eq!(
            ConversationType::ScreenShare.to_string(),
            "Screen & Application Share"
        );
    }

    fn user() -> UserConfig {
        serde_json::from_value(serde_json::json!({
            "email": "Alice@Acme.example", "extension": "1001", "mode": "video"
        }))
        .unwrap()
    }

    fn meeting_cdr(media: Vec<MediaRef>) -> Cdr {
        let t = TenantId::new("acme").unwrap();
        let u = user();
        let at: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        Cdr::for_meeting_user(
            MeetingCdr {
                tenant: &t,
                user: &u,
                meeting_uuid: "m1==",
                topic: "Weekly",
                parent_meeting_id: Some(String::new()),
                name: "Alice".into(),
                zoom_user_id: "alice@acme.example".into(),
                participants: vec!["Alice".into()],
                segments: Vec::new(),
                start: at,
                end: at + chrono::Duration::minutes(30),
                location: "h",
            },
            media,
            at,
        )
    }

    fn file(id: &str, state: FileState) -> FileRecord {
        let at: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        let t = TenantId::new("acme").unwrap();
        FileRecord {
            tenant: t.clone(),
            source: Source::Meetings,
            file_id: id.into(),
            conversation_id: "m1==".into(),
            conversation_start: at,
            file_type: "M4A".into(),
            content_kind: super::super::ContentKind::M4a,
            expected_size: None,
            fingerprint: None,
            download_url: String::new(),
            recording_start: Some(at),
            recording_end: None,
            object_key: super::super::ObjectKey::derive(
                &t,
                Source::Meetings,
                at,
                "m1==",
                id,
                "m4a",
            ),
            cdr_ids: Vec::new(),
            state,
            attempts: 0,
            upload: None,
            expected_duration_secs: None,
            media: None,
            queued: false,
            out_of_scope: None,
            transient_since: None,
            not_before: None,
            next_due: None,
            retention: None,
            holds: Vec::new(),
            disposed: None,
            last_verified: None,
            deleted_at_zoom: None,
            history: Vec::new(),
            first_seen: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn constructors_fill_the_spec_fields() {
        let c = meeting_cdr(Vec::new());
        assert_eq!(c.cdr_id, "meetings:m1==:alice@acme.example");
        assert_eq!(c.user_email.as_deref(), Some("alice@acme.example"));
        assert_eq!(
            (c.to.as_str(), c.to_info.as_str()),
            ("Conference", "Weekly")
        );
        assert_eq!(c.conversation_type, ConversationType::ScreenShare);
        assert_eq!(c.duration_seconds, 1800);
        assert_eq!(c.parent_meeting_id, None, "an empty parent is none");
        let failed = Cdr::recording_failed(c.clone(), "not_archived", "lost at Zoom");
        assert_eq!(failed.cdr_id, c.cdr_id, "the normal CDR's id");
        assert!(failed.is_reconciliation_failure());
        assert_eq!(
            failed.failure_reason.as_deref(),
            Some("not_archived: lost at Zoom")
        );
    }

    #[test]
    fn a_late_recording_upgrades_a_failed_cdr_and_files_sync_in() {
        let f = file("f1", FileState::Pending);
        let normal = meeting_cdr(vec![MediaRef::of(&f)]);
        let mut stored = Cdr::recording_failed(meeting_cdr(Vec::new()), "not_archived", "x");
        stored.version = 4;
        assert_eq!(stored.merge_draft(&normal), Merged::Upgraded);
        assert!(!stored.recording_failed && stored.failure_reason.is_none());
        assert_eq!(stored.version, 4, "the same stored CDR");
        assert_eq!(stored.merge_draft(&normal), Merged::Unchanged);
        // The file is archived: state, size and SHA-256 follow.
        let done = file(
            "f1",
            FileState::Archived {
                size: 10,
                sha256: "ab".into(),
                content_type: None,
                archived_at: f.first_seen,
                fingerprint_match: None,
            },
        );
        assert!(stored.sync_file(&done));
        assert_eq!(stored.media[0].state, MediaState::Archived);
        assert_eq!(
            (stored.media[0].size, stored.media[0].sha256.as_deref()),
            (Some(10), Some("ab"))
        );
        assert!(!stored.sync_file(&done), "idempotent");
        // Lost files make it failed, once.
        let mut lost = meeting_cdr(vec![MediaRef::of(&file(
            "f2",
            FileState::Gone {
                reason: "404".into(),
                at: f.first_seen,
            },
        ))]);
        assert!(lost.mark_lost("not_archived"));
        assert!(
            lost.failure_reason
                .as_deref()
                .unwrap()
                .contains("M4A f2 gone")
        );
        assert!(!lost.mark_lost("not_archived"));
    }

    #[test]
    fn identity_refiles_meeting_user_and_caller_together() {
        let mut c = meeting_cdr(Vec::new());
        assert!(c.set_identity(Some("zid-1"), Some("Alice Anders")));
        assert_eq!((c.user_id.as_str(), c.from.as_str()), ("zid-1", "zid-1"));
        assert_eq!(
            (c.user.as_str(), c.from_info.as_str()),
            ("Alice Anders", "Alice Anders")
        );
        assert!(!c.set_identity(Some("zid-1"), Some("Alice Anders")));
        assert!(c.mark_out_of_scope("why"));
        assert!(!c.mark_out_of_scope("again"));
        assert!(!CdrQuery::default().matches(&c));
        assert!(
            CdrQuery {
                include_out_of_scope: true,
                ..CdrQuery::default()
            }
            .matches(&c)
        );
    }
}
