//! `zoom-archiver`: the command-line process of the Zoom compliance archiver.
//!
//! Subcommands: `demo` (simulator + embedded default, end to end), `run [--once]
//! [--listen]` (metrics: [`serve`]), `status`, `retry`, `verify`, `doctor`, `cdrs`
//! (export), `audit` (the audit trail: [`audit`]), `reconcile`, `seal`, `keys` and
//! `verify --day|--object` (signed daily manifests: [`custody`]), `aws init`, `estimate` (API calls and storage a day:
//! [`estimate`]), `serve`, `users` and `export` (the review UI and export bundles: [`review`]),
//! `completions` and `man`. The binary is a composition root: it reads the configuration, builds
//! adapters and Zoom clients ([`app`]), and hands work to the core services. The
//! benchmarks live in `crates/archiver-bench` (binary `zoom-archiver-bench`).

pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod custody;
pub mod demo;
pub mod doctor;
pub mod estimate;
pub mod export;
pub mod report;
pub mod review;
pub mod serve;
pub mod zoom_delete;

use std::io::IsTerminal;

/// Logs to stderr with `filter` (an `EnvFilter` directive list; `warn` when it does not
/// parse), colours only on a terminal, decoder chatter muted.
pub fn init_logs(filter: &str) {
    let filter = format!("{filter},{}", archiver_media::QUIET_DECODERS);
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
