//! The Lambda edge shared by the archiver's three functions (`poller`, `downloader`,
//! `reconciler`): everything a function's `main` does besides calling its handler.
//!
//! - [`init_tracing`]: JSON logs on stdout (Lambda's format), level and format from
//!   Lambda's advanced logging controls, the invocation's request id on every line.
//! - [`Stack::from_env`]: the deployed stack's adapters, quota ledger, tenant and budgeted
//!   Zoom client, built once per cold start (credentials by the one rule of
//!   [`archiver_core::services::credentials`], shared with the CLI).
//! - [`sqs`]: SQS Lambda records → deliveries, records that are not tasks → the DLQ, and a
//!   downloader outcome → the batch response ([`archiver_core::services::settle`]).
//! - [`run`]: `lambda_runtime::run` with CloudWatch EMF metrics ([`emf`]): everything
//!   recorded through the `metrics` facade during an invocation is written to stdout as
//!   EMF (namespace `ZoomArchiver`) when it ends.
//! - [`HandlerError`]: handler errors with Lambda `Diagnostic`s whose `errorType` says
//!   `Retryable` or `NonRetryable`.
//!
//! Each `functions/*/src/main.rs` is a few lines over this crate; each function's
//! `lib.rs` holds its handler, tested with the fixture events in `infra/events/`.

pub mod emf;
mod error;
mod logs;
pub mod sqs;
mod stack;

/// The `[download]` settings of a deployed stack, from its `DOWNLOAD_*` variables (read
/// here, at the edge, so the functions need no adapter crate of their own).
pub use archiver_aws::stack::{DownloadEnv, download_env_from_env};
pub use emf::{flush_metrics, init_metrics, run};
pub use error::HandlerError;
pub use logs::{init_tracing, log_filter, subscriber};
pub use sqs::{RawDeadLetters, delivery_from_sqs_message};
pub use stack::{InitError, Stack};
