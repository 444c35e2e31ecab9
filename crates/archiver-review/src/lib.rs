//! The review UI of the Zoom compliance archive: search, play and export conversations
//! in a browser, and the JSON API under `/api/v1/` the pages use.
//!
//! A library: [`router`] builds the axum router over the archive's ports (the same
//! [`Ports`] every command uses), its audit trail and a [`ReviewerStore`]; the CLI's
//! `serve` command builds the stores and serves it ([`serve`]). Pages are server-rendered
//! HTML with a little JavaScript for the player; the CSS and script are embedded in the
//! binary (`static/`). Above each player the script draws the recording's waveform peaks
//! (`GET /api/v1/peaks/{key}`, stored beside the recording when it was archived, or
//! computed on demand) on a canvas with a playhead; a click on it seeks the player.
//!
//! Access:
//! - every page and `/api/v1/*` endpoint except `/login` and `/static/*` needs a session
//!   cookie (`za_session`: HttpOnly, SameSite=Strict, Secure with
//!   [`ReviewConfig::secure_cookies`]) or `Authorization: Bearer TOKEN`; without one an
//!   API call gets 401 and a page a redirect to the login page;
//! - every form carries the session's CSRF token (the login form a pre-session one, also
//!   in a cookie); JSON `POST`s need `Content-Type: application/json`, which a cross-site
//!   form cannot send;
//! - failed logins are limited per user name and per client address
//!   ([`ReviewConfig::login_failures`] in [`ReviewConfig::login_window`]);
//! - a reviewer sees only the tenants and users granted to them: anything else is 404,
//!   exactly like something that does not exist; an admin sees every tenant.
//!
//! Audit (each entry in the tenant's chain, actor `review:NAME`): every search (`read`,
//! the query as the reason, the CDR ids shown as objects), every conversation page
//! (`read`), the first request of each media file per session (`read`, a play when it is
//! a Range request, else a download, with the reason the UI asked for:
//! [`ReviewConfig::play_reason`]), and every export bundle (`export`, with its reason).
//! Waveform peaks are derived data, neither a play nor a download: reading them is not
//! audited and does not count as the file's first request.

// Handlers return `Result<_, Response>` so that an early refusal is one `?`; the size of
// `Response` does not matter on these paths.
#![allow(clippy::result_large_err)]

mod access;
pub mod accounts;
mod api;
mod auth;
pub mod bundle;
mod html;
mod media;
mod pages;
mod peaks;
pub mod search;
mod transcript;

pub use access::Viewer;
pub use accounts::{AccountError, add_user, change_password, grant, issue_token};
pub use bundle::{BundleFile, BundleSummary, write_bundle};
pub use search::{SearchPage, SearchParams};

use archiver_core::{AuditAction, AuditDraft, AuditLog, Ports, ReviewerStore, TenantId};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether the UI asks for a reason before a play or an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReasonPolicy {
    /// Refused without a reason.
    #[default]
    Required,
    /// Asked for; may be left empty.
    Optional,
    /// Not asked for.
    Off,
}

impl std::str::FromStr for ReasonPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "required" => Ok(Self::Required),
            "optional" => Ok(Self::Optional),
            "off" => Ok(Self::Off),
            _ => Err(format!("{s:?}: expected required, optional or off")),
        }
    }
}

/// Settings of the review server.
#[derive(Clone, Debug)]
pub struct ReviewConfig {
    /// The tenants of the archive (an admin sees all of them).
    pub tenants: Vec<TenantId>,
    /// Mark the session cookie `Secure` (serve behind TLS).
    pub secure_cookies: bool,
    /// Reason for the first play of each media file per session.
    pub play_reason: ReasonPolicy,
    /// Reason for an export.
    pub export_reason: ReasonPolicy,
    /// Where export bundles are written.
    pub exports_dir: PathBuf,
    /// Failed logins allowed per user name and per client address within
    /// [`ReviewConfig::login_window`].
    pub login_failures: usize,
    /// The window of [`ReviewConfig::login_failures`].
    pub login_window: Duration,
    /// A session ends this long after the login.
    pub session_lifetime: Duration,
}

impl ReviewConfig {
    /// Defaults for `tenants`, writing bundles into `exports_dir`.
    pub fn new(tenants: Vec<TenantId>, exports_dir: PathBuf) -> Self {
        Self {
            tenants,
            secure_cookies: false,
            play_reason: ReasonPolicy::Required,
            export_reason: ReasonPolicy::Required,
            exports_dir,
            login_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            session_lifetime: Duration::from_secs(8 * 3600),
        }
    }
}

/// The server's state: the stores, sessions, login limits and export jobs.
pub struct Review {
    pub(crate) ports: Ports,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) users: Arc<dyn ReviewerStore>,
    pub(crate) cfg: ReviewConfig,
    pub(crate) sessions: Mutex<HashMap<String, auth::Session>>,
    /// Media keys already audited, per session (or per API token).
    pub(crate) played: Mutex<HashMap<String, std::collections::HashSet<String>>>,
    pub(crate) failures: Mutex<HashMap<String, Vec<std::time::Instant>>>,
    pub(crate) jobs: Mutex<Vec<bundle::ExportJob>>,
    /// Decodes recordings whose waveform peaks were never stored ([`Review::with_analyser`]).
    pub(crate) analyser: std::sync::OnceLock<Arc<dyn archiver_core::MediaAnalyser>>,
}

impl Review {
    /// The state over the archive's ports, audit trail and accounts.
    pub fn new(
        ports: Ports,
        audit: Arc<dyn AuditLog>,
        users: Arc<dyn ReviewerStore>,
        cfg: ReviewConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            ports,
            audit,
            users,
            cfg,
            sessions: Mutex::default(),
            played: Mutex::default(),
            failures: Mutex::default(),
            jobs: Mutex::default(),
            analyser: std::sync::OnceLock::new(),
        })
    }

    /// Lets `/api/v1/peaks/` compute (and store) the waveform peaks of a recording that
    /// has none yet, with `analyser` (the CLI gives `archiver-media`'s). Without one, only
    /// stored peaks are served. The first analyser given stays.
    pub fn with_analyser(
        self: Arc<Self>,
        analyser: Arc<dyn archiver_core::MediaAnalyser>,
    ) -> Arc<Self> {
        let _ = self.analyser.set(analyser);
        self
    }

    /// Records one audit entry per tenant (actor `review:NAME`). An entry that cannot be
    /// written fails the request: nothing is shown that was not recorded.
    pub(crate) async fn record(
        &self,
        tenants: &[TenantId],
        actor: &str,
        action: AuditAction,
        objects: Vec<String>,
        reason: Option<String>,
        result: &str,
    ) -> Result<(), archiver_core::MetaError> {
        for t in tenants {
            archiver_core::services::audit::record(
                self.audit.as_ref(),
                AuditDraft {
                    tenant: t.clone(),
                    at: self.ports.clock.now(),
                    actor: format!("review:{actor}"),
                    action,
                    objects: objects.clone(),
                    reason: reason.clone(),
                    result: result.to_string(),
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// The router: pages, `/api/v1`, `/static`.
pub fn router(state: Arc<Review>) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(auth::routes())
        .route("/static/app.css", axum::routing::get(static_css))
        .route("/static/app.js", axum::routing::get(static_js))
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves `router` on `listener` with the client address known to the login limiter.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");

async fn static_css() -> impl axum::response::IntoResponse {
    (
        [
            ("content-type", "text/css; charset=utf-8"),
            ("cache-control", "max-age=3600"),
        ],
        APP_CSS,
    )
}

async fn static_js() -> impl axum::response::IntoResponse {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "max-age=3600"),
        ],
        APP_JS,
    )
}

/// Unknown paths need credentials too (401 / login), then are 404.
async fn not_found(_v: Viewer) -> axum::response::Response {
    api::not_found()
}

async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k)
            .or_insert(axum::http::HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; media-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    r
}
