//! `zoom-archiver`: the command-line process of the Zoom compliance archiver.
//!
//! Subcommands: `demo` (simulator + embedded default, end to end), `run [--once]`,
//! `cdrs` (export), `reconcile`, `bench` (measurements; `bench api-budget`: [`bench_api`])
//! and `estimate` (API calls and storage a day: [`estimate`]). The binary is a composition
//! root: it reads the configuration, builds adapters and Zoom clients ([`app`]), and hands
//! work to the core services.

pub mod app;
pub mod bench;
pub mod bench_api;
pub mod bench_aws;
pub mod bench_cold;
pub mod config;
pub mod demo;
pub mod estimate;
pub mod export;
pub mod report;
