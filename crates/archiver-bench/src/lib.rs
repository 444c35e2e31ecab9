//! Benchmarks of the Zoom compliance archiver and their harness: never a dependency of the
//! product. The binary `zoom-archiver-bench` runs each part; `bench/run` runs them all and
//! prints one summary table (figures and what was learned: BENCHMARKS.md).
//!
//! - [`parts`]: streaming one file, many small files, listing, the summary table, and the
//!   simulator in its own process;
//! - [`api_budget`]: the Zoom API calls of one tenant's simulated day against the quota
//!   ledger and Zoom's daily limits;
//! - [`aws`]: streaming into S3 and the AWS cost model, with requests counted on the wire
//!   by a counting proxy in front of the local AWS emulator;
//! - [`cold_start`]: cold start of the Lambda binaries against a Lambda Runtime API
//!   emulator;
//! - [`custody`]: sealing a day of 10,000 recordings and checking a day of 5 GiB
//!   (`seal` and `verify --day`);
//! - [`hang_hunt`]: the embedded `run --once` many times under CPU load, with a watchdog
//!   (RELIABILITY.md);
//! - [`search`]: review search pages over a generated SQLite store of N CDRs (issue 17).
//!
//! It measures the product as shipped: the CLI's composition root
//! (`zoom_archiver::app::App`) and the adapters, never a copy of them.

pub mod api_budget;
pub mod aws;
pub mod cold_start;
pub mod custody;
pub mod hang_hunt;
pub mod parts;
pub mod search;
