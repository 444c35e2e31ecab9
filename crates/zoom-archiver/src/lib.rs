//! `zoom-archiver`: the command-line process of the Zoom compliance archiver.
//!
//! Subcommands: `demo` (simulator + embedded default, end to end), `run [--once]`,
//! `cdrs` (export). The binary is a composition root: it reads the configuration, builds
//! adapters and Zoom clients ([`app`]), and hands work to the core services.

pub mod app;
pub mod bench;
pub mod config;
pub mod demo;
pub mod export;
pub mod report;
