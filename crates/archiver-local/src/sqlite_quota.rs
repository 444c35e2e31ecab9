use crate::db::Db;
use archiver_core::{MetaError, QuotaLedger};
use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// Daily Zoom API call counters in SQLite (table `quota`, one row per account, key and day).
///
/// Every write is one statement (an upsert with `RETURNING`), which SQLite runs atomically
/// under the database's write lock, so concurrent callers (other connections, other
/// processes sharing the file) never together exceed a limit. Counters are capped at
/// `i64::MAX` and never expired: a row is 3 small strings and an integer per account, key
/// and day.
#[derive(Clone)]
pub struct SqliteQuotaLedger {
    db: Db,
}

impl std::fmt::Debug for SqliteQuotaLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQuotaLedger").finish_non_exhaustive()
    }
}

impl SqliteQuotaLedger {
    /// Opens (creating if needed) the database at `path` (WAL mode, schema migrated). It may
    /// be the same file as the [`SqliteMetaStore`](crate::SqliteMetaStore)'s; each opens its
    /// own connection.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        Ok(Self {
            db: Db::open(path.as_ref())?,
        })
    }
}

const MAX: u64 = i64::MAX as u64;

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A stored value as `u64` (the schema only ever stores non-negative values).
fn value(account: &str, key: &str, day: &str, v: i64) -> Result<u64, MetaError> {
    u64::try_from(v).map_err(|_| MetaError::Corrupt {
        key: format!("quota {account}/{key}/{day}"),
        message: format!("negative counter {v}"),
    })
}

#[async_trait]
impl QuotaLedger for SqliteQuotaLedger {
    async fn try_add(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        n: u64,
        limit: Option<u64>,
    ) -> Result<Option<u64>, MetaError> {
        let limit = limit.unwrap_or(MAX).min(MAX);
        if n > limit {
            return Ok(None);
        }
        // The value before the add must be at most `limit - n`: no overflow, no float.
        let (n, max) = (n as i64, (limit - n) as i64);
        let (account, key, day) = (account.to_string(), key.to_string(), day_text(day));
        let used: Option<i64> = self
            .db
            .call({
                let (account, key, day) = (account.clone(), key.clone(), day.clone());
                move |c| {
                    Ok(c.query_row(
                        "INSERT INTO quota (account, key, day, used) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (account, key, day)
                         DO UPDATE SET used = used + excluded.used WHERE used <= ?5
                         RETURNING used",
                        params![account, key, day, n, max],
                        |r| r.get(0),
                    )
                    .optional()?)
                }
            })
            .await?;
        used.map(|v| value(&account, &key, &day, v)).transpose()
    }

    async fn raise_to(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        floor: u64,
    ) -> Result<u64, MetaError> {
        let floor = floor.min(MAX) as i64;
        let (account, key, day) = (account.to_string(), key.to_string(), day_text(day));
        let used: i64 = self
            .db
            .call({
                let (account, key, day) = (account.clone(), key.clone(), day.clone());
                move |c| {
                    Ok(c.query_row(
                        "INSERT INTO quota (account, key, day, used) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (account, key, day)
                         DO UPDATE SET used = max(used, excluded.used)
                         RETURNING used",
                        params![account, key, day, floor],
                        |r| r.get(0),
                    )?)
                }
            })
            .await?;
        value(&account, &key, &day, used)
    }

    async fn get(&self, account: &str, key: &str, day: NaiveDate) -> Result<u64, MetaError> {
        let (account, key, day) = (account.to_string(), key.to_string(), day_text(day));
        let used: Option<i64> = self
            .db
            .call({
                let (account, key, day) = (account.clone(), key.clone(), day.clone());
                move |c| {
                    Ok(c.query_row(
                        "SELECT used FROM quota WHERE account = ?1 AND key = ?2 AND day = ?3",
                        params![account, key, day],
                        |r| r.get(0),
                    )
                    .optional()?)
                }
            })
            .await?;
        used.map_or(Ok(0), |v| value(&account, &key, &day, v))
    }

    async fn list(&self, account: &str, day: NaiveDate) -> Result<Vec<(String, u64)>, MetaError> {
        let (account, day) = (account.to_string(), day_text(day));
        let rows: Vec<(String, i64)> = self
            .db
            .call({
                let (account, day) = (account.clone(), day.clone());
                move |c| {
                    let mut st = c.prepare_cached(
                        // BINARY collation: bytewise UTF-8, the order of Rust's strings.
                        "SELECT key, used FROM quota WHERE account = ?1 AND day = ?2
                         ORDER BY key",
                    )?;
                    let rows = st
                        .query_map(params![account, day], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows)
                }
            })
            .await?;
        rows.into_iter()
            .map(|(k, v)| Ok((k.clone(), value(&account, &k, &day, v)?)))
            .collect()
    }
}
