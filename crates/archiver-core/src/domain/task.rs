//! Download tasks and the watermark cursor of each tenant source.

use super::ids::{Source, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A request to archive one file. Small on purpose: everything else is in the file record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadTask {
    /// Unique id of this task message.
    pub task_id: String,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Import source.
    pub source: Source,
    /// The file to archive.
    pub file_id: String,
}

impl DownloadTask {
    /// A new task with a fresh id.
    pub fn new(tenant: TenantId, source: Source, file_id: impl Into<String>) -> Self {
        Self {
            task_id: uuid::Uuid::now_v7().to_string(),
            tenant,
            source,
            file_id: file_id.into(),
        }
    }
}

/// The listing watermark of one tenant source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Import source.
    pub source: Source,
    /// Everything up to here has been listed (the next poll starts at `high - overlap`).
    pub high: DateTime<Utc>,
    /// When the last complete poll finished.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version; 0 means "not stored yet".
    pub version: u64,
}
