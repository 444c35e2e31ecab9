//! # zoom-sim: a faithful HTTP simulator of the Zoom REST API
//!
//! Used by the tests, demo and benchmarks of the compliance archiver. [`SimServer::start`]
//! binds two listeners on 127.0.0.1, mirroring Zoom's two hosts:
//!
//! * the **API host** (`api.zoom.us`, [`SimServer::api_base_url`] = `http://127.0.0.1:P/v2`):
//!   `GET /archive_files`, `GET /past_meetings/{uuid}/archive_files`, `GET /phone/recordings`,
//!   `GET /phone/recording/download/{id}`, `GET /phone/call_history[/{uuid}]`,
//!   `GET /phone/call_logs`, `GET /metrics/meetings`, `GET /metrics/meetings/{id}/participants`,
//!   `GET /users/{userId}`; and the deletes of `delete_at_zoom`:
//!   `DELETE /past_meetings/{uuid}/archive_files`, `PATCH /archive_files/{fileId}`
//!   (`auto_delete`), `DELETE /phone/recordings/{recordingId}` (what they delete is no
//!   longer listed nor served; [`Stats::deletes`] lists each one);
//! * the **web host** (`zoom.us`, [`SimServer::oauth_url`]): `POST /oauth/token` (S2S OAuth),
//!   archive downloads `GET /rec/archive/download/{id}`, phone downloads
//!   `GET /v2/phone/recording/download/{id}` (302 to `/file?...&jwt=...`) and `GET /file`.
//!
//! Both hosts serve `GET /_sim/stats` ([`Stats`] as JSON) and `POST /_sim/reset-stats`.
//!
//! The simulator reproduces the quirks documented in the shared Zoom reference: tokens bound
//! to one account and expiring by the [`SimClock`]; opaque `next_page_token`s bound to the
//! exact query and expiring after 15 minutes; the 7-day window of `/archive_files` and the
//! one-month window of phone and metrics endpoints; `to` clamped to now and echoed; archives
//! `processing` with `complete_time: ""` until they complete; external meetings stripped of
//! PII; double-encoded meeting UUIDs; per-category rate limits with `X-RateLimit-*` headers,
//! QPS and daily 429s; `encryption_fingerprint` = SHA-256 of the served bytes; Range requests.
//!
//! Media bytes are generated on the fly, deterministically per file id (see `media`), so
//! files of any size stream without being held in memory. [`Faults`] injects errors, 429s,
//! cut connections, HTML/JSON bodies with status 200, slow bodies, misreported
//! `Content-Range` totals, token revocation, page token expiry and deletions while the
//! server runs; it also withholds OAuth scopes (the token's `scope` lacks them and the
//! endpoints needing them answer 400 / code 4711 naming them) and turns archiving off for
//! the account ([`Faults::withhold_scopes`], [`Faults::disable_archiving`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use zoom_sim::{Scenario, SimServer};
//! let sim = SimServer::start(Scenario::demo(chrono::Utc::now())).await?;
//! println!("api {} oauth {}", sim.api_base_url(), sim.oauth_url());
//! # Ok(()) }
//! ```

mod account;
mod clock;
mod faults;
mod golden;
mod media;
mod ratelimit;
mod scenario;
mod server;
mod stats;

pub use account::{AccountSpec, generate_account};
pub use clock::SimClock;
pub use faults::{Faults, RetryAfter};
pub use scenario::{
    GenSpec, Scenario, SimAccount, SimArchiveFile, SimCall, SimMeeting, SimOptions, SimOwner,
    SimParticipant, SimParty, SimPhoneRecording, SimUser, UserStatus,
};
pub use server::SimServer;
pub use stats::Stats;
