//! The archiver's view of Zoom payloads (archive files, phone recordings).
//!
//! Parsing is tolerant by design: unknown fields are ignored, unknown enum values are
//! kept as strings, optional fields may be absent, and dates accept every form Zoom
//! and its SDK fixtures use (see [`super::time`]). Only the fields without which a
//! file cannot be identified (`uuid`, file `id`, recording `id`) are required.

use super::time::{de_opt_string_or_number, de_opt_time};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One page of `GET /archive_files`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ArchiveFilesPage {
    /// The window start Zoom used.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub from: Option<DateTime<Utc>>,
    /// The window end Zoom used (clamped to "now" by Zoom when in the future).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub to: Option<DateTime<Utc>>,
    /// Records in the whole listing.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// Token of the next page; empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// The archived meetings of this page.
    #[serde(default)]
    pub meetings: Vec<ArchiveMeeting>,
}

/// An archived meeting (an element of `meetings[]`, or the body of `/past_meetings/{uuid}/archive_files`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArchiveMeeting {
    /// The meeting instance UUID (base64-like; may contain `/`, `+`, `=`).
    pub uuid: String,
    /// The meeting number (absent for external meetings).
    #[serde(default)]
    pub id: Option<i64>,
    /// Host's Zoom user id (absent for external meetings).
    #[serde(default)]
    pub host_id: Option<String>,
    /// Topic (absent for external meetings).
    #[serde(default)]
    pub topic: Option<String>,
    /// Zoom's meeting type number (100 = breakout room).
    #[serde(default, rename = "type")]
    pub meeting_kind: Option<i64>,
    /// Meeting start.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// The meeting's time zone name.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Actual length in seconds.
    #[serde(default)]
    pub duration_in_second: Option<i64>,
    /// Scheduled length in minutes.
    #[serde(default)]
    pub duration: Option<i64>,
    /// `internal` or `external`.
    #[serde(default)]
    pub meeting_type: Option<String>,
    /// When the archive completed; `None` while processing (Zoom sends `""`).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub complete_time: Option<DateTime<Utc>>,
    /// Whether this instance is a breakout room.
    #[serde(default)]
    pub is_breakout_room: Option<bool>,
    /// The parent meeting's UUID for breakout rooms.
    #[serde(default)]
    pub parent_meeting_id: Option<String>,
    /// `completed` or `processing`.
    #[serde(default)]
    pub status: Option<String>,
    /// The account's name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The archive files of this meeting.
    #[serde(default)]
    pub archive_files: Vec<ArchiveFile>,
}

impl ArchiveMeeting {
    /// True for meetings hosted outside the tenant's account.
    pub fn is_external(&self) -> bool {
        self.meeting_type.as_deref() == Some("external")
    }
}

/// One archive file of a meeting.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArchiveFile {
    /// File id (UUID).
    pub id: String,
    /// `MP4`, `M4A`, `CHAT`, `CC`, `CHAT_MESSAGE`, `TRANSCRIPT`, ... (kept as sent).
    #[serde(default)]
    pub file_type: String,
    /// Extension as Zoom reports it (e.g. `MP4`, `JSON`).
    #[serde(default)]
    pub file_extension: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Download URL (needs the Bearer token; absent for on-prem accounts).
    #[serde(default)]
    pub download_url: Option<String>,
    /// `completed`, `processing` or `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// e.g. `audio_only`, `shared_screen_with_speaker_view`, `chat_file`.
    #[serde(default)]
    pub recording_type: Option<String>,
    /// True for a per-participant file.
    #[serde(default)]
    pub individual: Option<bool>,
    /// The participant's email for individual files (`""` for external users).
    #[serde(default)]
    pub participant_email: Option<String>,
    /// The participant's join time (individual) or the gateway's (whole meeting).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub participant_join_time: Option<DateTime<Utc>>,
    /// The participant's leave time (individual) or the gateway's (whole meeting).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub participant_leave_time: Option<DateTime<Utc>>,
    /// SHA-256 hex fingerprint Zoom reports for the archived file.
    #[serde(default)]
    pub encryption_fingerprint: Option<String>,
}

impl ArchiveFile {
    /// True when the file is ready to download.
    pub fn is_completed(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("completed"))
    }

    /// True when Zoom reports the file as failed (it will never complete).
    pub fn is_failed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("failed"))
    }

    /// True for a per-participant file.
    pub fn is_individual(&self) -> bool {
        self.individual.unwrap_or(false)
    }
}

/// One page of `GET /phone/recordings`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PhoneRecordingsPage {
    /// Token of the next page; empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Records in the whole listing.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// The window end, when Zoom echoes it.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub to: Option<DateTime<Utc>>,
    /// The recordings of this page.
    #[serde(default)]
    pub recordings: Vec<PhoneRecording>,
}

/// A Zoom Phone call recording.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PhoneRecording {
    /// Recording id (32 hex characters).
    pub id: String,
    /// The call id shared by all legs and logs of one call.
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub call_id: Option<String>,
    /// Call log id.
    #[serde(default)]
    pub call_log_id: Option<String>,
    /// Caller number.
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub caller_number: Option<String>,
    /// Caller display name.
    #[serde(default)]
    pub caller_name: Option<String>,
    /// 1 internal, 2 external.
    #[serde(default)]
    pub caller_number_type: Option<i64>,
    /// Callee number.
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub callee_number: Option<String>,
    /// Callee display name.
    #[serde(default)]
    pub callee_name: Option<String>,
    /// 1 internal, 2 external, 3 customised emergency.
    #[serde(default)]
    pub callee_number_type: Option<i64>,
    /// Who placed the call on behalf of a queue or shared line.
    #[serde(default)]
    pub outgoing_by: Option<PhoneParty>,
    /// Who accepted the call for a queue or shared line.
    #[serde(default)]
    pub accepted_by: Option<PhoneParty>,
    /// Recording (call) start.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub date_time: Option<DateTime<Utc>>,
    /// Recording end.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// Length in seconds.
    #[serde(default)]
    pub duration: Option<i64>,
    /// `inbound` or `outbound`.
    #[serde(default)]
    pub direction: Option<String>,
    /// `OnDemand` or `Automatic`.
    #[serde(default)]
    pub recording_type: Option<String>,
    /// Download URL (needs the Bearer token; may redirect to a file host).
    #[serde(default)]
    pub download_url: Option<String>,
    /// The recording's owner (user, call queue, common area).
    #[serde(default)]
    pub owner: Option<PhoneOwner>,
    /// Related meeting, when the call was elevated.
    #[serde(default)]
    pub meeting_uuid: Option<String>,
}

/// A party named on a phone recording (`accepted_by`, `outgoing_by`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PhoneParty {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Extension number (string or number in Zoom's payloads).
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub extension_number: Option<String>,
}

/// The owner of a phone recording.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PhoneOwner {
    /// `user`, `callQueue` or `commonArea`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Zoom id of the owner.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Extension number (an integer in `/phone/recordings`).
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub extension_number: Option<String>,
}

/// One page of `GET /metrics/meetings/{meetingId}/participants`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ParticipantsPage {
    /// Token of the next page; empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Records in the whole listing.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// One entry per join (a rejoin gives a second entry).
    #[serde(default)]
    pub participants: Vec<MeetingParticipant>,
}

/// One join of a meeting participant (dashboard metrics).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct MeetingParticipant {
    /// Zoom user id when signed in, else empty (deprecated by Zoom in favour of
    /// `participant_user_id`, same meaning).
    #[serde(default)]
    pub id: Option<String>,
    /// Zoom user id when signed in, else empty.
    #[serde(default)]
    pub participant_user_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Email (empty for external users unless the account's display rules show it).
    #[serde(default)]
    pub email: Option<String>,
    /// Join time.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub join_time: Option<DateTime<Utc>>,
    /// Leave time (absent while still in a live meeting).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub leave_time: Option<DateTime<Utc>>,
    /// `host` or `attendee`.
    #[serde(default)]
    pub role: Option<String>,
    /// `in_meeting` or `in_waiting_room`.
    #[serde(default)]
    pub status: Option<String>,
    /// Breakout room meeting id, when the join was in a breakout room.
    #[serde(default)]
    pub bo_mtg_id: Option<String>,
}

impl MeetingParticipant {
    /// The participant's Zoom user id, when signed in.
    pub fn zoom_user_id(&self) -> Option<&str> {
        self.participant_user_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .or_else(|| self.id.as_deref().filter(|s| !s.is_empty()))
    }
}

/// One page of `GET /metrics/meetings?type=past` (dashboard, Resource-intensive).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DashboardMeetingsPage {
    /// Token of the next page; empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Records in the whole listing.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// The window end Zoom used.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub to: Option<DateTime<Utc>>,
    /// The meetings.
    #[serde(default)]
    pub meetings: Vec<DashboardMeeting>,
}

/// A past meeting as the dashboard reports it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DashboardMeeting {
    /// Meeting instance UUID.
    pub uuid: String,
    /// Meeting number.
    #[serde(default)]
    pub id: Option<i64>,
    /// Topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// Host display name.
    #[serde(default)]
    pub host: Option<String>,
    /// Host email.
    #[serde(default)]
    pub email: Option<String>,
    /// Start.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// Participant count.
    #[serde(default)]
    pub participants: Option<i64>,
    /// Whether the meeting was archived (Zoom's archiving was on).
    #[serde(default)]
    pub has_archiving: Option<bool>,
    /// Whether the meeting was (cloud or local) recorded.
    #[serde(default)]
    pub has_recording: Option<bool>,
}

/// One page of `GET /phone/call_history` (Heavy, Phone table). Transitional responses
/// carry the same items in `call_logs`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CallHistoryPage {
    /// Token of the next page; empty or absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Records in the whole listing.
    #[serde(default)]
    pub total_records: Option<u64>,
    /// The calls.
    #[serde(default)]
    pub call_history: Vec<CallHistoryItem>,
    /// The same calls under the transitional name (used when `call_history` is absent).
    #[serde(default)]
    pub call_logs: Vec<CallHistoryItem>,
}

/// One call leg of the account's call history.
///
/// Also parses the legacy call-log items (`GET /phone/call_logs`, the transitional
/// `call_logs[]`): `id` → `call_history_uuid`, `date_time` → `start_time`, `call_end_time`
/// → `end_time`, `result` → `call_result`, `caller_number` / `callee_number` →
/// `caller_did_number` / `callee_did_number`. When an item carries both names (Zoom's call
/// logs send `caller_number` *and* `caller_did_number`), the current one wins.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(from = "CallHistoryItemWire")]
pub struct CallHistoryItem {
    /// The call history UUID (key of `GET /phone/call_history/{uuid}`, the call path).
    pub call_history_uuid: Option<String>,
    /// The call id shared by every leg and recording of the call.
    pub call_id: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Start.
    pub start_time: Option<DateTime<Utc>>,
    /// When answered.
    pub answer_time: Option<DateTime<Utc>>,
    /// End.
    pub end_time: Option<DateTime<Utc>>,
    /// Length in seconds.
    pub duration: Option<i64>,
    /// `answered`, `voicemail`, `no_answer`, ...
    pub call_result: Option<String>,
    /// `internal` or `external`.
    pub connect_type: Option<String>,
    /// Caller's extension number.
    pub caller_ext_number: Option<String>,
    /// Caller's phone number.
    pub caller_did_number: Option<String>,
    /// Caller's name.
    pub caller_name: Option<String>,
    /// Caller's email.
    pub caller_email: Option<String>,
    /// Callee's extension number.
    pub callee_ext_number: Option<String>,
    /// Callee's phone number.
    pub callee_did_number: Option<String>,
    /// Callee's name.
    pub callee_name: Option<String>,
    /// Callee's email.
    pub callee_email: Option<String>,
    /// `recorded` or `non_recorded`.
    pub recording_status: Option<String>,
    /// The recording id, when the listing gives it (legacy call logs do; the call history
    /// does not: see [`CallPath`]).
    pub recording_id: Option<String>,
}

/// The wire form of [`CallHistoryItem`]: current and legacy names side by side (serde
/// aliases reject an object carrying both as a duplicate field).
#[derive(Deserialize)]
struct CallHistoryItemWire {
    #[serde(default)]
    call_history_uuid: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    call_id: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default, deserialize_with = "de_opt_time")]
    start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_opt_time")]
    date_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_opt_time")]
    answer_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_opt_time")]
    end_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_opt_time")]
    call_end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    call_result: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    connect_type: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    caller_ext_number: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    caller_did_number: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    caller_number: Option<String>,
    #[serde(default)]
    caller_name: Option<String>,
    #[serde(default)]
    caller_email: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    callee_ext_number: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    callee_did_number: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    callee_number: Option<String>,
    #[serde(default)]
    callee_name: Option<String>,
    #[serde(default)]
    callee_email: Option<String>,
    #[serde(default)]
    recording_status: Option<String>,
    #[serde(default)]
    recording_id: Option<String>,
}

/// The current name's value unless absent or empty, else the legacy one's.
fn current_or<T: PartialEq + Default>(current: Option<T>, legacy: Option<T>) -> Option<T> {
    current.filter(|v| *v != T::default()).or(legacy)
}

impl From<CallHistoryItemWire> for CallHistoryItem {
    fn from(w: CallHistoryItemWire) -> Self {
        CallHistoryItem {
            call_history_uuid: current_or(w.call_history_uuid, w.id),
            call_id: w.call_id,
            direction: w.direction,
            start_time: w.start_time.or(w.date_time),
            answer_time: w.answer_time,
            end_time: w.end_time.or(w.call_end_time),
            duration: w.duration,
            call_result: current_or(w.call_result, w.result),
            connect_type: w.connect_type,
            caller_ext_number: w.caller_ext_number,
            caller_did_number: current_or(w.caller_did_number, w.caller_number),
            caller_name: w.caller_name,
            caller_email: w.caller_email,
            callee_ext_number: w.callee_ext_number,
            callee_did_number: current_or(w.callee_did_number, w.callee_number),
            callee_name: w.callee_name,
            callee_email: w.callee_email,
            recording_status: w.recording_status,
            recording_id: w.recording_id,
        }
    }
}

impl CallHistoryItem {
    /// True when the call was a conversation (answered): only those can be recorded.
    /// Call-history results `answered`, `accepted`, `picked_up`, `connected`,
    /// `succeeded`, the legacy `Call connected`, or an answer time without a result.
    pub fn connected(&self) -> bool {
        match self.call_result.as_deref().map(str::to_ascii_lowercase) {
            Some(r) => matches!(
                r.as_str(),
                "answered"
                    | "accepted"
                    | "picked_up"
                    | "connected"
                    | "succeeded"
                    | "call connected"
            ),
            None => self.answer_time.is_some(),
        }
    }

    /// True when Zoom says the call was recorded.
    pub fn is_recorded(&self) -> bool {
        self.recording_status.as_deref() == Some("recorded")
            || self.recording_id.as_deref().is_some_and(|r| !r.is_empty())
    }
}

/// `GET /phone/call_history/{callHistoryUuid}` (Light): the call's path, whose segments
/// name the recordings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CallPath {
    /// The call id.
    #[serde(default, deserialize_with = "de_opt_string_or_number")]
    pub call_id: Option<String>,
    /// The segments.
    #[serde(default)]
    pub call_path: Vec<CallPathSegment>,
}

/// One segment of a call path.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CallPathSegment {
    /// Recording id, when this segment was recorded.
    #[serde(default)]
    pub recording_id: Option<String>,
    /// `automatic` or `ad-hoc`.
    #[serde(default)]
    pub recording_type: Option<String>,
    /// Result text.
    #[serde(default)]
    pub result: Option<String>,
}

impl CallPath {
    /// The recording ids named on the path (without duplicates).
    pub fn recording_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.call_path {
            if let Some(r) = s.recording_id.as_deref().filter(|r| !r.is_empty())
                && !out.iter().any(|x| x == r)
            {
                out.push(r.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        let path = format!("{}/tests/zoom-samples/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn parses_the_real_archive_files_sample() {
        let page: ArchiveFilesPage =
            serde_json::from_str(&sample("archive_files_list.json")).unwrap();
        assert_eq!(page.meetings.len(), 1);
        let m = &page.meetings[0];
        assert_eq!(m.uuid, "yO3dfhh3t467UkQ==");
        assert_eq!(
            m.parent_meeting_id.as_deref(),
            Some("atsXxhSEQWit9t+U02HXNQ==")
        );
        assert!(m.complete_time.is_some());
        let f = &m.archive_files[0];
        assert_eq!(f.file_type, "CHAT");
        assert!(f.is_individual() && f.is_completed());
        assert_eq!(f.participant_email.as_deref(), Some("jchill@example.com"));
        assert_eq!(f.file_size, Some(165743));
        assert_eq!(
            page.next_page_token.as_deref(),
            Some("At6eWnFZ1FB3arCXnRxqHLXKhbDW18yz2i2")
        );
    }

    #[test]
    fn parses_the_real_phone_recordings_sample() {
        let page: PhoneRecordingsPage =
            serde_json::from_str(&sample("phone_recordings_list.json")).unwrap();
        let r = &page.recordings[0];
        assert_eq!(r.call_id.as_deref(), Some("7072598989368295984"));
        let owner = r.owner.as_ref().unwrap();
        assert_eq!(owner.extension_number.as_deref(), Some("1000123476"));
        assert_eq!(
            r.accepted_by.as_ref().unwrap().extension_number.as_deref(),
            Some("10201")
        );
        assert_eq!(r.duration, Some(115));
        assert!(r.date_time.is_some() && r.end_time.is_some());
    }

    #[test]
    fn parses_the_real_participants_sample() {
        let page: ParticipantsPage =
            serde_json::from_str(&sample("metrics_participants.json")).unwrap();
        let p = &page.participants[0];
        assert_eq!(p.email.as_deref(), Some("jchill@example.com"));
        assert_eq!(p.zoom_user_id(), Some("DYHrdpjrS3uaOf7dPkkg8w"));
        assert_eq!(
            p.join_time.unwrap(),
            "2022-03-01T10:15:14Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(p.leave_time.unwrap() > p.join_time.unwrap());
        assert_eq!(p.role.as_deref(), Some("host"));
    }

    #[test]
    fn tolerates_empty_complete_time_and_missing_fields() {
        let m: ArchiveMeeting = serde_json::from_str(
            r#"{"uuid":"a/b//c+d=","complete_time":"","status":"processing","archive_files":[{"id":"f1","file_type":"NEW_KIND","status":"processing","extra":1}]}"#,
        )
        .unwrap();
        assert_eq!(m.complete_time, None);
        assert!(!m.archive_files[0].is_completed());
        assert_eq!(m.archive_files[0].file_type, "NEW_KIND");
    }

    #[test]
    fn parses_the_real_call_history_sample() {
        let page: CallHistoryPage = serde_json::from_str(&sample("call_history.json")).unwrap();
        assert_eq!(page.call_history.len(), 1);
        assert_eq!(page.total_records, Some(54));
        assert_eq!(
            page.next_page_token.as_deref(),
            Some("AmhfoKtF2Ey4TaPg2iZsAcmetRLs2ZY0Sk2")
        );
        let c = &page.call_history[0];
        assert_eq!(
            c.call_history_uuid.as_deref(),
            Some("20211008-48c1dfd4-91ce-4df5-8495-7c9e33d10869")
        );
        assert_eq!(c.call_id.as_deref(), Some("7018317023722949162"));
        assert_eq!(c.direction.as_deref(), Some("inbound"));
        assert_eq!(
            c.start_time.unwrap(),
            "2021-10-08T16:12:04Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            c.end_time.unwrap(),
            "2021-10-08T16:12:15Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(c.duration, Some(20));
        assert_eq!(c.call_result.as_deref(), Some("answered"));
        assert_eq!(c.caller_did_number.as_deref(), Some("+12059300920"));
        assert_eq!(c.caller_ext_number.as_deref(), Some("101229"));
        assert_eq!(c.callee_email.as_deref(), Some("test@abc.com"));
        assert_eq!(c.recording_status.as_deref(), Some("recorded"));
        assert_eq!(c.recording_id, None);
        assert!(c.is_recorded());
        // The transitional `call_logs[]` carries the same call, keyed by `id`.
        assert_eq!(page.call_logs.len(), 1);
        assert_eq!(
            page.call_logs[0].call_history_uuid.as_deref(),
            Some("20211001-48c1dfd4-91ce-4df5-8495-7c9e33d10869")
        );
        assert_eq!(page.call_logs[0].call_id, c.call_id);
        let unrecorded = CallHistoryItem {
            recording_status: Some("non_recorded".into()),
            ..CallHistoryItem::default()
        };
        assert!(!unrecorded.is_recorded());
    }

    #[test]
    fn parses_the_real_call_logs_sample_through_the_aliases() {
        let page: CallHistoryPage = serde_json::from_str(&sample("call_logs.json")).unwrap();
        assert!(page.call_history.is_empty());
        assert_eq!(page.call_logs.len(), 1);
        let c = &page.call_logs[0];
        assert_eq!(
            c.call_history_uuid.as_deref(),
            Some("48c1dfd4-91ce-4df5-8495-7c9e33d10869")
        );
        assert_eq!(c.call_id.as_deref(), Some("7018210229361148737"));
        // date_time → start_time, call_end_time → end_time, result → call_result.
        assert_eq!(
            c.start_time.unwrap(),
            "2021-10-08T16:23:34Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            c.end_time.unwrap(),
            "2021-10-08T16:12:04Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(c.call_result.as_deref(), Some("Call connected"));
        // The log names both the number and the DID: the DID wins.
        assert_eq!(c.caller_did_number.as_deref(), Some("+12055432724"));
        assert_eq!(c.callee_did_number.as_deref(), Some("+12055432724"));
        assert_eq!(
            c.recording_id.as_deref(),
            Some("c71b360f6e774e3aa101453117b7e1a7")
        );
        assert_eq!(c.recording_status, None);
        assert!(c.is_recorded());
        // A log with only `caller_number` / `callee_number` maps them onto the DID fields.
        let only_numbers: CallHistoryItem = serde_json::from_str(
            r#"{"id":"x","date_time":"2021-10-08T16:23:34Z","caller_number":"+12059300920","callee_number":1001}"#,
        )
        .unwrap();
        assert_eq!(
            only_numbers.caller_did_number.as_deref(),
            Some("+12059300920")
        );
        assert_eq!(only_numbers.callee_did_number.as_deref(), Some("1001"));
        assert!(!only_numbers.is_recorded());
    }

    #[test]
    fn parses_the_real_call_path_sample() {
        let path: CallPath = serde_json::from_str(&sample("call_history_call_path.json")).unwrap();
        assert_eq!(path.call_id.as_deref(), Some("7018317023722949162"));
        assert_eq!(path.call_path.len(), 1);
        assert_eq!(
            path.call_path[0].recording_type.as_deref(),
            Some("automatic")
        );
        assert_eq!(path.call_path[0].result.as_deref(), Some("answered"));
        assert_eq!(
            path.recording_ids(),
            vec!["c71b360f6e774e3aa101453117b7e1a7".to_string()]
        );
        // Duplicates and empty ids are dropped, order kept.
        let seg = |r: Option<&str>| CallPathSegment {
            recording_id: r.map(str::to_string),
            ..CallPathSegment::default()
        };
        let p = CallPath {
            call_id: None,
            call_path: vec![
                seg(Some("b")),
                seg(None),
                seg(Some("")),
                seg(Some("a")),
                seg(Some("b")),
            ],
        };
        assert_eq!(p.recording_ids(), vec!["b".to_string(), "a".to_string()]);
    }

    #[test]
    fn parses_the_real_metrics_meetings_sample() {
        let page: DashboardMeetingsPage =
            serde_json::from_str(&sample("metrics_meetings.json")).unwrap();
        assert_eq!(page.total_records, Some(1));
        assert_eq!(
            page.next_page_token.as_deref(),
            Some("Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3")
        );
        // The echoed `to` is a bare date.
        assert_eq!(
            page.to.unwrap(),
            "2022-04-07T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let m = &page.meetings[0];
        assert_eq!(m.uuid, "gm8s9L+PTEC+FG3sFbd1Cw==");
        assert_eq!(m.id, Some(93201235621));
        assert_eq!(m.topic.as_deref(), Some("Share Now"));
        assert_eq!(m.host.as_deref(), Some("Jill Chill"));
        assert_eq!(m.email.as_deref(), Some("jchill@example.com"));
        assert_eq!(
            m.start_time.unwrap(),
            "2022-01-04T08:04:27Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            m.end_time.unwrap(),
            "2022-01-04T07:50:47Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(m.participants, Some(2));
        assert_eq!(m.has_archiving, Some(true));
        assert_eq!(m.has_recording, Some(true));
    }
}

/// A Zoom user, from `GET /users/{userId}` (Light): who a configured email is at Zoom.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ZoomUser {
    /// The Zoom user id.
    pub id: String,
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// First name (used when there is no display name).
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `active`, `inactive` (deactivated) or `pending`.
    #[serde(default)]
    pub status: Option<String>,
}

impl ZoomUser {
    /// The name to file CDRs under: the display name, else first and last name.
    pub fn name(&self) -> Option<String> {
        self.display_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                let n = format!(
                    "{} {}",
                    self.first_name.as_deref().unwrap_or(""),
                    self.last_name.as_deref().unwrap_or("")
                );
                Some(n.trim().to_string()).filter(|n| !n.is_empty())
            })
    }

    /// True when Zoom says the user is deactivated.
    pub fn is_deactivated(&self) -> bool {
        self.status.as_deref() == Some("inactive")
    }
}
