use crate::db::{Db, DbError, decode, encode, ts};
use archiver_core::{AuditEntry, AuditLog, MetaError, TenantId};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// The audit trail in SQLite (table `audit`, one row per entry, primary key
/// `(tenant, seq)`; `body` is the entry as JSON, `at` its time as sortable text).
///
/// `try_append` is one `INSERT … ON CONFLICT (tenant, seq) DO NOTHING`: SQLite checks and
/// inserts under the database's write lock, so of two writers (connections, processes
/// sharing the file) chaining after the same head exactly one stores its entry; the other
/// sees no row changed and chains again. Rows are never updated or deleted by this code.
#[derive(Clone)]
pub struct SqliteAuditLog {
    db: Db,
}

impl std::fmt::Debug for SqliteAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAuditLog").finish_non_exhaustive()
    }
}

impl SqliteAuditLog {
    /// Opens (creating if needed) the database at `path` (WAL mode, schema migrated). It may
    /// be the same file as the [`SqliteMetaStore`](crate::SqliteMetaStore)'s; each opens its
    /// own connection.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        Ok(Self {
            db: Db::open(path.as_ref())?,
        })
    }
}

/// A `seq` as SQLite's INTEGER (the port numbers from 1; above `i64::MAX` is refused).
fn seq_value(seq: u64) -> Result<i64, MetaError> {
    i64::try_from(seq).map_err(|_| MetaError::Backend {
        what: format!("appending audit entry {seq}"),
        source: "a seq above i64::MAX cannot be stored".into(),
        retryable: false,
    })
}

fn decode_entry(tenant: &str, seq: i64, body: &str) -> Result<AuditEntry, DbError> {
    decode(|| format!("audit {tenant}/{seq}"), body)
}

#[async_trait]
impl AuditLog for SqliteAuditLog {
    async fn try_append(&self, entry: &AuditEntry) -> Result<bool, MetaError> {
        let seq = seq_value(entry.seq)?;
        let tenant = entry.draft.tenant.to_string();
        let at = ts(entry.draft.at);
        let body = encode(entry)?;
        let changed = self
            .db
            .call(move |c| {
                Ok(c.execute(
                    "INSERT INTO audit (tenant, seq, at, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, seq) DO NOTHING",
                    params![tenant, seq, at, body],
                )?)
            })
            .await?;
        Ok(changed == 1)
    }

    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditEntry>, MetaError> {
        let tenant = tenant.to_string();
        Ok(self
            .db
            .call(move |c| {
                let row: Option<(i64, String)> = c
                    .query_row(
                        "SELECT seq, body FROM audit WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1",
                        params![tenant],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                row.map(|(seq, body)| decode_entry(&tenant, seq, &body))
                    .transpose()
            })
            .await?)
    }

    async fn list(
        &self,
        tenant: &TenantId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, MetaError> {
        // Above i64::MAX nothing is stored.
        let Ok(from) = i64::try_from(from_seq) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let tenant = tenant.to_string();
        Ok(self
            .db
            .call(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT seq, body FROM audit WHERE tenant = ?1 AND seq >= ?2
                     ORDER BY seq LIMIT ?3",
                )?;
                let rows = st.query_map(params![tenant, from, limit], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (seq, body) = row?;
                    out.push(decode_entry(&tenant, seq, &body)?);
                }
                Ok(out)
            })
            .await?)
    }
}
