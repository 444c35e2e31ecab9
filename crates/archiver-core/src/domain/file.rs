//! File records: one per Zoom file selected for archiving, with its download state.

use super::ids::{Source, TenantId};
use super::keys::ObjectKey;
use crate::ports::UploadCheckpoint;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of content a file is expected to hold; decides the content checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// MP3 (phone recordings).
    Mp3,
    /// MPEG-4 audio (M4A).
    M4a,
    /// MPEG-4 video (MP4).
    Mp4,
    /// Text or JSON (chat, transcripts, captions): no media checks.
    Document,
}

impl ContentKind {
    /// The kind for a Zoom archive `file_type`.
    pub fn for_archive_type(file_type: &str) -> Self {
        match file_type.to_ascii_uppercase().as_str() {
            "MP4" => ContentKind::Mp4,
            "M4A" => ContentKind::M4a,
            "MP3" => ContentKind::Mp3,
            _ => ContentKind::Document,
        }
    }

    /// True for audio/video media.
    pub fn is_media(self) -> bool {
        !matches!(self, ContentKind::Document)
    }
}

/// Where a file is in its life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileState {
    /// Known, waiting for a download task.
    Pending,
    /// Claimed by a downloader until `lease_until`.
    Downloading {
        /// The claiming worker/task.
        owner: String,
        /// When the claim lapses.
        lease_until: DateTime<Utc>,
    },
    /// Stored in the object store.
    Archived {
        /// Bytes stored.
        size: u64,
        /// SHA-256 of the stored bytes, lowercase hex.
        sha256: String,
        /// Content type Zoom served.
        content_type: Option<String>,
        /// When it was stored.
        archived_at: DateTime<Utc>,
        /// Whether Zoom's `encryption_fingerprint` equals the SHA-256 (`None` when Zoom gave none).
        fingerprint_match: Option<bool>,
    },
    /// Deleted at Zoom before it could be archived (terminal, reported).
    Gone {
        /// Why.
        reason: String,
        /// When it was found gone.
        at: DateTime<Utc>,
    },
    /// Gave up after the retry budget or a permanent error (terminal, reported); or, when
    /// `transient`, parked after transient trouble before the queue's own redrive: the sweep
    /// gives it a fresh task until the transient horizon has passed.
    Failed {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
        /// Parked, not final: the reason is transient (see above).
        #[serde(default)]
        transient: bool,
    },
}

impl FileState {
    /// Every name [`FileState::name`] gives.
    pub const NAMES: [&'static str; 6] = [
        "pending",
        "downloading",
        "archived",
        "gone",
        "parked",
        "failed",
    ];

    /// Short name for reports and indexes (`pending`, `downloading`, `archived`, `gone`,
    /// `failed`, and `parked` for a file failed after transient trouble that the sweep
    /// re-drives).
    pub fn name(&self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Downloading { .. } => "downloading",
            FileState::Archived { .. } => "archived",
            FileState::Gone { .. } => "gone",
            FileState::Failed {
                transient: true, ..
            } => "parked",
            FileState::Failed { .. } => "failed",
        }
    }

    /// True for a file parked after transient trouble (`failed`, re-driven by the sweep).
    pub fn is_parked(&self) -> bool {
        matches!(
            self,
            FileState::Failed {
                transient: true,
                ..
            }
        )
    }

    /// True when no more work will happen on this file (a parked file is not: the sweep
    /// re-drives it).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            FileState::Archived { .. }
                | FileState::Gone { .. }
                | FileState::Failed {
                    transient: false,
                    ..
                }
        )
    }
}

/// Something an operator did to a file, kept in its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What (`retried`).
    pub what: String,
    /// Who (the operator's user name and host, or the function).
    pub by: String,
    /// The state it replaced, with its reason (`failed: Zoom served text/html …`).
    pub detail: String,
}

impl FileEvent {
    /// Events kept per file: the first (the original failure) and the newest after it.
    pub const KEPT: usize = 20;
}

impl FileRecord {
    /// Appends `ev` to the history, dropping the second-oldest past [`FileEvent::KEPT`].
    pub fn record_event(&mut self, ev: FileEvent) {
        self.history.push(ev);
        while self.history.len() > FileEvent::KEPT {
            self.history.remove(1);
        }
    }

    /// The state's reason, for the failed and gone states.
    pub fn state_reason(&self) -> Option<&str> {
        match &self.state {
            FileState::Failed { reason, .. } | FileState::Gone { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// A Zoom file selected for archiving.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Import source.
    pub source: Source,
    /// Zoom's file id (archive file id, or phone recording id).
    pub file_id: String,
    /// The conversation: meeting UUID, or the phone recording's call id.
    pub conversation_id: String,
    /// When the conversation started (dates the object key).
    pub conversation_start: DateTime<Utc>,
    /// Zoom's file type (`M4A`, `MP4`, `CHAT`, `MP3`, ...).
    pub file_type: String,
    /// What the content must look like.
    pub content_kind: ContentKind,
    /// Size Zoom announced, when it did.
    pub expected_size: Option<u64>,
    /// Zoom's `encryption_fingerprint`, when given.
    pub fingerprint: Option<String>,
    /// Where to download it (needs the tenant's Bearer token; never logged).
    pub download_url: String,
    /// Start of what the file covers.
    pub recording_start: Option<DateTime<Utc>>,
    /// End of what the file covers.
    pub recording_end: Option<DateTime<Utc>>,
    /// Where it is (or will be) stored.
    pub object_key: ObjectKey,
    /// The CDRs that link this file.
    pub cdr_ids: Vec<String>,
    /// Download state.
    pub state: FileState,
    /// Download attempts so far.
    pub attempts: u32,
    /// A paused multipart upload of this file, continued by the next download attempt
    /// (upload id, accepted parts, bytes and SHA-256 state so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadCheckpoint>,
    /// Length Zoom announced for the recording, in seconds (phone `duration`), checked
    /// against the measured length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_duration_secs: Option<f64>,
    /// What media analysis measured, once archived (see [`super::MediaFacts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<super::MediaFacts>,
    /// Whether a download task was sent for it.
    pub queued: bool,
    /// When transient trouble began (the transient horizon runs from here); cleared when
    /// the file reaches a final state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_since: Option<DateTime<Utc>>,
    /// Not to be tried before this time (a retry's wait; a daily limit until 00:00 UTC): a
    /// delivery before it re-arms without asking Zoom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// When the file's task is next expected to be delivered (sent now, a retry's end, a
    /// claim's end). A file left unfinished well past it has no live task: the sweep sends
    /// a fresh one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<DateTime<Utc>>,
    /// Why this file is outside what the configuration asks to archive (selected by an
    /// earlier rule): never downloaded from now on; what is stored stays, never deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_scope: Option<String>,
    /// The retention rule applied when it was selected, and its date (the object is
    /// written with it and cannot be deleted before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<super::retention::Retained>,
    /// Legal-hold matters holding this file (its object cannot be deleted while any is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
    /// When and why it was disposed of (object deleted past retention, record kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposed: Option<String>,
    /// The last fixity check of its stored object that was recorded (`verify` with
    /// `record`: the CLI's `verify`, the reconciler's monthly sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<Fixity>,
    /// Deleted at Zoom (or tagged for Zoom's auto-delete) after its day was sealed
    /// (`services::zoom_delete`): when, the request and Zoom's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at_zoom: Option<ZoomDeletion>,
    /// What operators did to this file (a retry: who, when, and the failure it replaced),
    /// oldest first; at most [`FileEvent::KEPT`], the first always kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<FileEvent>,
    /// When the poller first saw it.
    pub first_seen: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: a store accepts an update only when the stored
    /// version equals this one, and stores `version + 1`.
    pub version: u64,
}

/// A fixity check's result, kept on the file it checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixity {
    /// When the object was read back.
    pub at: DateTime<Utc>,
    /// Whether its bytes had the recorded size and SHA-256.
    pub intact: bool,
}

/// Zoom's answer to a request: the HTTP status, and the `code` and `message` of its body
/// when it had them. Status 0: no answer (the request did not reach Zoom, or Zoom's answer
/// was not HTTP: a network error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoomAnswer {
    /// HTTP status (0: none).
    pub status: u16,
    /// Zoom's error code, when the body had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Zoom's message (or what went wrong), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ZoomAnswer {
    /// A success (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl std::fmt::Display for ZoomAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            f.write_str("no answer")?;
        } else {
            write!(f, "HTTP {}", self.status)?;
        }
        if let Some(c) = self.code {
            write!(f, ", code {c}")?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// A file deleted at Zoom (or tagged for deletion), as recorded on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoomDeletion {
    /// When.
    pub at: DateTime<Utc>,
    /// The request, as Zoom documents it with the ids filled in
    /// (`DELETE /phone/recordings/abc`).
    pub request: String,
    /// Zoom's answer (a success, or 404: it was gone already).
    pub answer: ZoomAnswer,
}
