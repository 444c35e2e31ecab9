//! Request counters, served at `GET /_sim/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Counters of everything the simulator served.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests per endpoint, e.g. `GET /archive_files`, `POST /oauth/token`, `GET /file`,
    /// `GET /file (with Authorization)`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Requests per rate-limit category: `Light`, `Medium`, `Heavy`, `Resource-intensive`, `Download`.
    pub by_category: BTreeMap<String, u64>,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Media bodies started (archive downloads and `/file`).
    pub downloads_started: u64,
    /// Media bodies fully sent.
    pub downloads_completed: u64,
    /// Media body bytes sent.
    pub bytes_served: u64,
    /// 429 answers (real limits and injected).
    pub rate_limited: u64,
    /// Injected faults that fired.
    pub errors_injected: u64,
    /// What each successful delete named, in order: the meeting UUID of a
    /// `DELETE /past_meetings/{uuid}/archive_files`, the recording id of a
    /// `DELETE /phone/recordings/{recordingId}`.
    #[serde(default)]
    pub deletes: Vec<String>,
    /// Every file those deletes removed (archive file ids, recording ids), in order.
    #[serde(default)]
    pub deleted_files: Vec<String>,
    /// Archive file ids tagged for deletion (`PATCH /archive_files/{fileId}` with
    /// `auto_delete: true`), in order.
    #[serde(default)]
    pub auto_deleted: Vec<String>,
}

/// Thread-safe recorder of [`Stats`].
#[derive(Default, Debug)]
pub(crate) struct StatsRecorder {
    inner: Mutex<Stats>,
}

impl StatsRecorder {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn endpoint(&self, key: &str, category: Option<&str>) {
        self.update(|s| {
            *s.by_endpoint.entry(key.to_string()).or_default() += 1;
            if let Some(c) = category {
                *s.by_category.entry(c.to_string()).or_default() += 1;
            }
        });
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    }
}
