//! Domain types: what the archiver knows about tenants, Zoom payloads, files, CDRs and tasks.

pub mod cdr;
pub mod config;
pub mod file;
pub mod ids;
pub mod keys;
pub mod manifest;
pub mod media;
pub mod merkle;
pub mod peaks;
pub mod retention;
pub mod search;
pub mod task;
pub mod time;
pub mod zoom;

pub use cdr::*;
pub use config::*;
pub use file::*;
pub use ids::*;
pub use keys::*;
pub use media::*;
pub use peaks::*;
pub use retention::*;
pub use search::*;
pub use task::*;
pub use zoom::*;
