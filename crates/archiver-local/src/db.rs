//! The shared SQLite plumbing: opening, schema migrations, blocking calls, time encoding.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The schema version this code writes (`PRAGMA user_version`).
pub(crate) const SCHEMA_VERSION: i64 = 5;

const SCHEMA_V1: &str = r#"
CREATE TABLE files (
    tenant     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    file_id    TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    queued     INTEGER NOT NULL,
    first_seen TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (tenant, source, file_id)
);
CREATE INDEX files_by_tenant ON files (tenant, first_seen, file_id);
CREATE INDEX files_by_state  ON files (state, queued, first_seen, file_id);

CREATE TABLE cdrs (
    tenant           TEXT    NOT NULL,
    cdr_id           TEXT    NOT NULL,
    start_time       TEXT    NOT NULL,
    user_email       TEXT,
    user_extension   TEXT,
    platform_call_id TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    body             TEXT    NOT NULL,
    PRIMARY KEY (tenant, cdr_id)
);
CREATE INDEX cdrs_by_time      ON cdrs (tenant, start_time, cdr_id);
CREATE INDEX cdrs_by_start     ON cdrs (start_time, cdr_id);
CREATE INDEX cdrs_by_email     ON cdrs (user_email, start_time);
CREATE INDEX cdrs_by_extension ON cdrs (user_extension, start_time);
CREATE INDEX cdrs_by_call      ON cdrs (platform_call_id, start_time);

CREATE TABLE cursors (
    tenant  TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    version INTEGER NOT NULL,
    body    TEXT    NOT NULL,
    PRIMARY KEY (tenant, source)
);

CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TEXT NOT NULL
);

-- Live tasks: state is 'queued', 'in_flight' or 'delayed'.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    visible_at    TEXT    NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
);
CREATE INDEX tasks_by_visibility ON tasks (visible_at, id);
CREATE UNIQUE INDEX tasks_by_receipt ON tasks (receipt) WHERE receipt IS NOT NULL;

CREATE TABLE dead_letters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    receive_count INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    dead_at       TEXT    NOT NULL
);
CREATE INDEX dead_letters_by_time ON dead_letters (dead_at, id);
"#;

const SCHEMA_V2: &str = r#"
CREATE TABLE memos (
    tenant  TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    expires TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
);
"#;

/// Daily API call counters (`SqliteQuotaLedger`); `day` is `YYYY-MM-DD` (UTC).
const SCHEMA_V3: &str = r#"
CREATE TABLE quota (
    account TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    used    INTEGER NOT NULL,
    PRIMARY KEY (account, key, day)
);
"#;

/// The audit trail (`SqliteAuditLog`): one hash-chained sequence per tenant; `body` is the
/// whole entry as JSON (what the chain walk re-hashes), `at` is [`ts`] text for reading.
const SCHEMA_V4: &str = r#"
CREATE TABLE audit (
    tenant TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    at     TEXT    NOT NULL,
    body   TEXT    NOT NULL,
    PRIMARY KEY (tenant, seq)
);
"#;

/// Errors of the SQLite layer, converted into each port's error type.
#[derive(Debug)]
pub(crate) enum DbError {
    Sql(rusqlite::Error),
    Corrupt { key: String, message: String },
    Conflict(String),
    Stale(String),
    Worker(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sql(e)
    }
}

impl DbError {
    pub(crate) fn retryable(e: &rusqlite::Error) -> bool {
        matches!(
            e.sqlite_error_code(),
            Some(
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
            )
        )
    }
}

/// One connection, used from blocking threads.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Worker(format!("creating {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| DbError::Worker(format!("database worker failed: {e}")))?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(DbError::Worker(format!(
            "the database has schema version {version}, newer than this program's {SCHEMA_VERSION}"
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_V4)?;
    }
    if version < 5 {
        // The search index (`sqlite_search`), built from the CDRs already stored.
        tx.execute_batch(crate::sqlite_search::SCHEMA_V5)?;
        crate::sqlite_search::backfill(&tx)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

/// Fixed-width UTC text (`2026-01-01T00:00:00.000000000Z`): sorts like the time it encodes.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Parses a time written by [`ts`].
pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Corrupt {
            key: s.to_string(),
            message: format!("bad time: {e}"),
        })
}

/// Decodes a JSON body.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    key: impl FnOnce() -> String,
    body: &str,
) -> Result<T, DbError> {
    serde_json::from_str(body).map_err(|e| DbError::Corrupt {
        key: key(),
        message: e.to_string(),
    })
}

/// Encodes a JSON body.
pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<String, DbError> {
    serde_json::to_string(v).map_err(|e| DbError::Worker(format!("encoding failed: {e}")))
}

/// Adds `d` to `t`, saturating.
pub(crate) fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_fixed_width_and_round_trip() {
        let a = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = a + chrono::Duration::nanoseconds(1);
        assert_eq!(ts(a).len(), ts(b).len());
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(b)).unwrap(), b);
    }

    #[test]
    fn schema_is_versioned_and_reopenable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/archive.db");
        drop(Db::open(&p).unwrap());
        let db = Db::open(&p).unwrap();
        let c = db.conn.lock().unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
