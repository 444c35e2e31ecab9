//! The embedded default backend of the Zoom compliance archiver.
//!
//! - [`FsBlobStore`]: objects as files under a root directory, written through a temporary
//!   file and published create-only (hard link), with the SHA-256 kept in an extended
//!   attribute.
//! - [`SqliteMetaStore`]: file records, CDRs, cursors and leases in SQLite (WAL).
//! - [`SqliteTaskQueue`]: a durable, at-least-once download task queue in SQLite.
//! - [`SqliteQuotaLedger`]: daily Zoom API call counters in SQLite.
//! - [`SqliteAuditLog`]: the hash-chained audit trail in SQLite.
//! - [`SqliteReviewerStore`]: the review UI's accounts, token hashes and grants.
//! - [`Ed25519KeyFile`]: the manifest signing key (Ed25519, PKCS#8 PEM, mode 0600) and its
//!   exported public key.
//! - [`LocalSecretSource`]: secrets from environment variables (`env:NAME`) or files
//!   (`file:PATH`).
//!
//! The metadata store, the queue, the quota ledger and the audit log may share one database
//! file ([`DB_FILE`] in the data directory); each opens its own connection. [`open_ports`]
//! wires everything together; [`open_quota`] and [`open_audit`] open the quota ledger and
//! the audit log on the same database.

mod db;
mod fs_blob;
mod secrets;
mod signer;
mod sqlite_audit;
mod sqlite_meta;
mod sqlite_queue;
mod sqlite_quota;
mod sqlite_reviewers;
mod sqlite_search;

pub use fs_blob::{FsBlobStore, SHA256_XATTR};
pub use secrets::LocalSecretSource;
pub use signer::{Ed25519KeyFile, public_key_file_text, public_key_path, read_public_key};
pub use sqlite_audit::SqliteAuditLog;
pub use sqlite_meta::SqliteMetaStore;
pub use sqlite_queue::SqliteTaskQueue;
pub use sqlite_quota::SqliteQuotaLedger;
pub use sqlite_reviewers::SqliteReviewerStore;

use archiver_core::{Clock, Ports};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database file name inside the data directory.
pub const DB_FILE: &str = "archive.db";

/// Opens the local backend: objects under `object_root`, metadata and queue in
/// `data_dir/archive.db` (both directories are created if missing).
pub fn open_ports(
    data_dir: &Path,
    object_root: PathBuf,
    clock: Arc<dyn Clock>,
) -> std::io::Result<Ports> {
    std::fs::create_dir_all(data_dir)?;
    let db = data_dir.join(DB_FILE);
    let blobs = FsBlobStore::new(object_root)?;
    let meta = SqliteMetaStore::open(&db).map_err(std::io::Error::other)?;
    let queue = SqliteTaskQueue::open(&db, clock.clone()).map_err(std::io::Error::other)?;
    Ok(Ports {
        blobs: Arc::new(blobs),
        meta: Arc::new(meta),
        queue: Arc::new(queue),
        clock,
    })
}

/// Opens the quota ledger in `data_dir/archive.db` (the database [`open_ports`] uses; the
/// directory is created if missing).
pub fn open_quota(data_dir: &Path) -> std::io::Result<SqliteQuotaLedger> {
    std::fs::create_dir_all(data_dir)?;
    SqliteQuotaLedger::open(data_dir.join(DB_FILE)).map_err(std::io::Error::other)
}

/// Opens the audit log in `data_dir/archive.db` (the database [`open_ports`] uses; the
/// directory is created if missing).
pub fn open_audit(data_dir: &Path) -> std::io::Result<SqliteAuditLog> {
    std::fs::create_dir_all(data_dir)?;
    SqliteAuditLog::open(data_dir.join(DB_FILE)).map_err(std::io::Error::other)
}
