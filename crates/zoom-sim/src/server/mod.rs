//! The two HTTP listeners (api.zoom.us and zoom.us) and their shared state.

// Request helpers early-return ready-made error responses; boxing them buys nothing here.
#![expect(
    clippy::result_large_err,
    reason = "axum handlers return full responses as errors"
)]

mod archive;
mod common;
mod download;
mod oauth;
mod phone;
mod reports;
mod users;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::clock::SimClock;
use crate::faults::Faults;
use crate::media::{Media, MediaKind};
use crate::ratelimit::RateLimiter;
use crate::scenario::Scenario;
use crate::stats::{Stats, StatsRecorder};

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub(crate) account: usize,
    pub(crate) expires: DateTime<Utc>,
    pub(crate) epoch: u64,
}

/// An outstanding `next_page_token`.
#[derive(Clone, Debug)]
pub(crate) struct PageState {
    pub(crate) key: String,
    pub(crate) offset: usize,
    pub(crate) as_of: DateTime<Utc>,
    pub(crate) created: DateTime<Utc>,
    pub(crate) epoch: u64,
}

/// Where a served file lives in the scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FileLoc {
    Archive { meeting: usize, file: usize },
    Phone { call: usize, rec: usize },
}

/// Index entry of a served file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileRef {
    pub(crate) account: usize,
    pub(crate) kind: MediaKind,
    pub(crate) size: u64,
    pub(crate) loc: FileLoc,
}

/// State shared by both listeners.
pub(crate) struct AppState {
    pub(crate) scenario: Scenario,
    pub(crate) clock: SimClock,
    pub(crate) faults: Faults,
    pub(crate) stats: StatsRecorder,
    pub(crate) limiter: RateLimiter,
    pub(crate) tokens: Mutex<HashMap<String, TokenInfo>>,
    pub(crate) pages: Mutex<HashMap<String, PageState>>,
    pub(crate) digests: Mutex<HashMap<String, (u64, String)>>,
    pub(crate) files: HashMap<String, FileRef>,
    /// Files deleted through the API (archive file ids, recording ids): no longer listed
    /// nor served.
    pub(crate) removed: Mutex<HashSet<String>>,
    /// Archive files tagged `auto_delete` through the API.
    pub(crate) auto_delete: Mutex<HashSet<String>>,
    pub(crate) api_origin: String,
    pub(crate) web_origin: String,
    pub(crate) secret: String,
}

impl AppState {
    /// Whether a file was deleted through the API.
    pub(crate) fn is_removed(&self, file_id: &str) -> bool {
        self.removed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(file_id)
    }

    /// Whether an archive file is tagged `auto_delete`.
    pub(crate) fn is_auto_delete(&self, file_id: &str) -> bool {
        self.auto_delete
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(file_id)
    }

    /// Account index of a valid Bearer token.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Option<usize> {
        let tok = common::bearer(headers)?;
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let info = tokens.get(tok)?;
        (info.epoch == self.faults.token_epoch() && self.clock.now() < info.expires)
            .then_some(info.account)
    }

    /// Generator of a file's bytes.
    pub(crate) fn media(&self, file_id: &str) -> Option<Media> {
        let f = self.files.get(file_id)?;
        let fixture = self.scenario.options.fixtures.get(file_id);
        Some(Media::for_file(
            f.kind,
            file_id,
            f.size,
            fixture.map(String::as_str),
        ))
    }

    /// Size and SHA-256 of a file (computed once, cached). Blocking for large files.
    pub(crate) fn digest(&self, file_id: &str) -> Option<(u64, String)> {
        if let Some(d) = self
            .digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(file_id)
        {
            return Some(d.clone());
        }
        let d = self.media(file_id)?.digest();
        self.digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file_id.to_string(), d.clone());
        Some(d)
    }

    /// Served length of a file without hashing it.
    pub(crate) fn served_len(&self, file_id: &str) -> u64 {
        if let Some(d) = self
            .digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(file_id)
        {
            return d.0;
        }
        if self.scenario.options.fixtures.contains_key(file_id) {
            return self.media(file_id).map_or(0, |m| m.len());
        }
        self.files
            .get(file_id)
            .map(|f| served_len(f.kind, file_id, f.size))
            .unwrap_or(0)
    }
}

fn served_len(kind: MediaKind, id: &str, size: u64) -> u64 {
    match kind {
        // Avoid building the noise block just for a length.
        MediaKind::Mp4 | MediaKind::M4a => size.max(44),
        _ => Media::new(kind, id, size).len(),
    }
}

fn index_files(scenario: &Scenario) -> HashMap<String, FileRef> {
    let mut files = HashMap::new();
    for (a, acct) in scenario.accounts.iter().enumerate() {
        for (m, meeting) in acct.meetings.iter().enumerate() {
            for (i, f) in meeting.files.iter().enumerate() {
                files.insert(
                    f.id.clone(),
                    FileRef {
                        account: a,
                        kind: MediaKind::from_file_type(&f.file_type),
                        size: f.size,
                        loc: FileLoc::Archive {
                            meeting: m,
                            file: i,
                        },
                    },
                );
            }
        }
        for (c, call) in acct.calls.iter().enumerate() {
            for (r, rec) in call.recordings.iter().enumerate() {
                files.insert(
                    rec.id.clone(),
                    FileRef {
                        account: a,
                        kind: MediaKind::Mp3,
                        size: rec.size,
                        loc: FileLoc::Phone { call: c, rec: r },
                    },
                );
            }
        }
    }
    files
}

async fn get_stats(State(st): State<Arc<AppState>>) -> Response {
    axum::Json(st.stats.snapshot()).into_response()
}

async fn reset_stats(State(st): State<Arc<AppState>>) -> Response {
    st.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn not_found() -> Response {
    common::zoom_error(404, 404, "Not Found")
}

fn api_router(st: Arc<AppState>) -> Router {
    Router::new()
        .route("/v2/archive_files", get(archive::list))
        .route(
            "/v2/past_meetings/{uuid}/archive_files",
            get(archive::one_meeting).delete(archive::delete_meeting),
        )
        .route("/v2/archive_files/{file_id}", patch(archive::tag_file))
        .route("/v2/phone/recordings", get(phone::list))
        .route("/v2/phone/recordings/{id}", delete(phone::delete_recording))
        .route("/v2/phone/recording/download/{id}", get(download::phone))
        .route("/v2/phone/call_history", get(reports::call_history))
        .route("/v2/phone/call_history/{id}", get(reports::call_path))
        .route("/v2/phone/call_logs", get(reports::call_logs))
        .route("/v2/metrics/meetings", get(reports::metrics_meetings))
        .route(
            "/v2/metrics/meetings/{id}/participants",
            get(reports::metrics_participants),
        )
        .route("/v2/users/{user_id}", get(users::get_user))
        .route("/_sim/stats", get(get_stats))
        .route("/_sim/reset-stats", post(reset_stats))
        .fallback(not_found)
        .with_state(st)
}

fn web_router(st: Arc<AppState>) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/rec/archive/download/{id}", get(download::archive))
        .route("/v2/phone/recording/download/{id}", get(download::phone))
        .route("/file", get(download::file))
        .route("/_sim/stats", get(get_stats))
        .route("/_sim/reset-stats", post(reset_stats))
        .fallback(not_found)
        .with_state(st)
}

/// A running simulator: two listeners on 127.0.0.1 (API host and web/OAuth/download host).
///
/// Dropping it (or calling [`SimServer::shutdown`]) stops both listeners.
pub struct SimServer {
    state: Arc<AppState>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("api", &self.state.api_origin)
            .field("web", &self.state.web_origin)
            .finish()
    }
}

impl SimServer {
    /// Starts listeners on 127.0.0.1 port 0 and serves the scenario, on the real UTC clock.
    pub async fn start(scenario: Scenario) -> std::io::Result<SimServer> {
        Self::start_with_clock(scenario, SimClock::system()).await
    }

    /// Like [`SimServer::start`] with a given (e.g. manual) clock.
    pub async fn start_with_clock(
        scenario: Scenario,
        clock: SimClock,
    ) -> std::io::Result<SimServer> {
        Self::start_on(scenario, clock, "127.0.0.1:0", "127.0.0.1:0").await
    }

    /// Like [`SimServer::start_with_clock`] on explicit listen addresses (API, web).
    pub async fn start_on(
        scenario: Scenario,
        clock: SimClock,
        api_addr: &str,
        web_addr: &str,
    ) -> std::io::Result<SimServer> {
        let api = TcpListener::bind(api_addr).await?;
        let web = TcpListener::bind(web_addr).await?;
        let api_origin = format!("http://{}", api.local_addr()?);
        let web_origin = format!("http://{}", web.local_addr()?);
        let state = Arc::new(AppState {
            files: index_files(&scenario),
            removed: Mutex::default(),
            auto_delete: Mutex::default(),
            scenario,
            clock,
            faults: Faults::default(),
            stats: StatsRecorder::default(),
            limiter: RateLimiter::default(),
            tokens: Mutex::default(),
            pages: Mutex::default(),
            digests: Mutex::default(),
            api_origin,
            web_origin,
            secret: uuid::Uuid::new_v4().simple().to_string(),
        });
        let mut tasks = Vec::new();
        for (listener, router) in [
            (api, api_router(state.clone())),
            (web, web_router(state.clone())),
        ] {
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::warn!(error = %e, "zoom-sim listener stopped");
                }
            }));
        }
        Ok(SimServer { state, tasks })
    }

    /// Base URL of the API host, e.g. `http://127.0.0.1:PORT/v2`.
    pub fn api_base_url(&self) -> String {
        format!("{}/v2", self.state.api_origin)
    }

    /// Token URL on the web host, e.g. `http://127.0.0.1:PORT2/oauth/token`.
    /// The same host serves archive downloads and phone download redirects.
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth/token", self.state.web_origin)
    }

    /// Origin of the web host (zoom.us), e.g. `http://127.0.0.1:PORT2`.
    pub fn web_origin(&self) -> String {
        self.state.web_origin.clone()
    }

    /// Current counters (same data as `GET /_sim/stats`).
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Fault knobs, usable while running.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The simulator clock.
    pub fn clock(&self) -> &SimClock {
        &self.state.clock
    }

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.state.scenario
    }

    /// SHA-256 (lowercase hex) and size of the exact bytes a full GET serves for a file id
    /// (archive file id or phone recording id). Computed on first use, then cached.
    pub fn file_digest(&self, file_id: &str) -> Option<(u64, String)> {
        self.state.digest(file_id)
    }

    /// Stops both listeners.
    pub fn shutdown(self) {}
}

impl Drop for SimServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
