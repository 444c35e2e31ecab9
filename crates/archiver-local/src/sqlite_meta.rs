use crate::db::{Db, DbError, decode, encode, parse_ts, ts};
use archiver_core::{
    Cdr, CdrQuery, CdrSearch, ConversationRef, Cursor, FileCount, FileQuery, FileRecord, MetaError,
    MetaStore, SearchResult, Source, TenantId, TextDoc,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params, params_from_iter};
use std::path::Path;

impl From<DbError> for MetaError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sql(e) => MetaError::Backend {
                what: "SQLite".into(),
                retryable: DbError::retryable(&e),
                source: Box::new(e),
            },
            DbError::Corrupt { key, message } => MetaError::Corrupt { key, message },
            DbError::Conflict(what) => MetaError::Conflict(what),
            DbError::Stale(what) => MetaError::Conflict(what),
            DbError::Worker(message) => MetaError::Backend {
                what: "SQLite worker thread".into(),
                source: message.into(),
                retryable: false,
            },
        }
    }
}

/// File records, CDRs, cursors and leases in SQLite.
///
/// Each record is stored as JSON in a `body` column, next to indexed columns for lookups
/// (tenant, state, queued, first seen; CDR start time, lowercased email, extension, platform
/// call id). Updates are compare-and-set on `version` in one statement, so concurrent
/// writers (other connections, other processes) cannot both win. Search runs in SQL over a
/// narrow index table written in the same transaction as each CDR, and FTS5 for topics and
/// transcript text (`sqlite_search`).
#[derive(Clone)]
pub struct SqliteMetaStore {
    db: Db,
}

impl std::fmt::Debug for SqliteMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteMetaStore").finish_non_exhaustive()
    }
}

fn file_key(tenant: &TenantId, source: Source, file_id: &str) -> String {
    format!("file {tenant}/{source}/{file_id}")
}

fn email_key(e: Option<&str>) -> Option<String> {
    e.map(str::to_ascii_lowercase)
}

impl SqliteMetaStore {
    /// Opens (creating if needed) the database at `path` (WAL mode, schema migrated).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        Ok(Self {
            db: Db::open(path.as_ref())?,
        })
    }
}

#[async_trait]
impl MetaStore for SqliteMetaStore {
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError> {
        Ok(self.insert_files(std::slice::from_ref(rec)).await?[0])
    }

    async fn insert_files(&self, recs: &[FileRecord]) -> Result<Vec<bool>, MetaError> {
        let mut rows = Vec::with_capacity(recs.len());
        for r in recs {
            let mut stored = r.clone();
            stored.version = 1;
            let body = encode(&stored)?;
            rows.push((stored, body));
        }
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut out = Vec::with_capacity(rows.len());
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO files (tenant, source, file_id, state, queued, first_seen, version, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) ON CONFLICT DO NOTHING",
                    )?;
                    for (stored, body) in &rows {
                        let n = stmt.execute(params![
                            stored.tenant.as_str(),
                            stored.source.as_str(),
                            stored.file_id,
                            stored.state.name(),
                            stored.queued,
                            ts(stored.first_seen),
                            body
                        ])?;
                        out.push(n == 1);
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await?)
    }

    async fn insert_cdrs(&self, cdrs: &[Cdr]) -> Result<Vec<bool>, MetaError> {
        let mut rows = Vec::with_capacity(cdrs.len());
        for c in cdrs {
            let mut stored = c.clone();
            stored.version = 1;
            let body = encode(&stored)?;
            rows.push((stored, body));
        }
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut out = Vec::with_capacity(rows.len());
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO cdrs (tenant, cdr_id, start_time, user_email, user_extension, platform_call_id, version, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) ON CONFLICT DO NOTHING",
                    )?;
                    for (stored, body) in &rows {
                        let n = stmt.execute(params![
                            stored.tenant.as_str(),
                            stored.cdr_id,
                            ts(stored.start_time),
                            email_key(stored.user_email.as_deref()),
                            stored.user_extension,
                            stored.platform_call_id,
                            body
                        ])?;
                        if n == 1 {
                            crate::sqlite_search::index_cdr(&tx, stored)?;
                        }
                        out.push(n == 1);
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await?)
    }

    async fn mark_queued(
        &self,
        tenant: &TenantId,
        source: Source,
        file_ids: &[String],
    ) -> Result<(), MetaError> {
        let (tenant, ids) = (tenant.clone(), file_ids.to_vec());
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                {
                    let mut read = tx.prepare_cached(
                        "SELECT body FROM files WHERE tenant = ?1 AND source = ?2 AND file_id = ?3",
                    )?;
                    let mut write = tx.prepare_cached(
                        "UPDATE files SET queued = 1, version = ?1, body = ?2
                         WHERE tenant = ?3 AND source = ?4 AND file_id = ?5 AND version = ?6",
                    )?;
                    for id in &ids {
                        let body: Option<String> = read
                            .query_row(params![tenant.as_str(), source.as_str(), id], |r| r.get(0))
                            .optional()?;
                        let Some(body) = body else { continue };
                        let mut rec: FileRecord = decode(|| file_key(&tenant, source, id), &body)?;
                        if rec.queued {
                            continue;
                        }
                        let expected = rec.version as i64;
                        rec.queued = true;
                        rec.version += 1;
                        let body = encode(&rec)?;
                        // In one transaction nobody else writes: the version still matches.
                        write.execute(params![
                            rec.version as i64,
                            body,
                            tenant.as_str(),
                            source.as_str(),
                            id,
                            expected
                        ])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await?)
    }

    async fn get_file(
        &self,
        tenant: &TenantId,
        source: Source,
        file_id: &str,
    ) -> Result<Option<FileRecord>, MetaError> {
        let (tenant, file_id) = (tenant.clone(), file_id.to_string());
        Ok(self
            .db
            .call(move |c| {
                let body: Option<String> = c
                    .query_row(
                        "SELECT body FROM files WHERE tenant = ?1 AND source = ?2 AND file_id = ?3",
                        params![tenant.as_str(), source.as_str(), file_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                body.map(|b| decode(|| file_key(&tenant, source, &file_id), &b))
                    .transpose()
            })
            .await?)
    }

    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError> {
        let mut stored = rec.clone();
        stored.version = rec.version + 1;
        let body = encode(&stored)?;
        let expected = rec.version as i64;
        Ok(self
            .db
            .call(move |c| {
                let n = c.execute(
                    "UPDATE files SET state = ?1, queued = ?2, first_seen = ?3, version = ?4, body = ?5
                     WHERE tenant = ?6 AND source = ?7 AND file_id = ?8 AND version = ?9",
                    params![
                        stored.state.name(),
                        stored.queued,
                        ts(stored.first_seen),
                        stored.version as i64,
                        body,
                        stored.tenant.as_str(),
                        stored.source.as_str(),
                        stored.file_id,
                        expected
                    ],
                )?;
                if n == 1 {
                    Ok(stored)
                } else {
                    Err(DbError::Conflict(file_key(&stored.tenant, stored.source, &stored.file_id)))
                }
            })
            .await?)
    }

    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError> {
        let q = q.clone();
        Ok(self
            .db
            .call(move |c| {
                let mut sql = String::from("SELECT body FROM files WHERE 1 = 1");
                let mut args: Vec<String> = Vec::new();
                if let Some(t) = &q.tenant {
                    args.push(t.as_str().to_string());
                    sql.push_str(&format!(" AND tenant = ?{}", args.len()));
                }
                if let Some(s) = q.state {
                    args.push(s.to_string());
                    sql.push_str(&format!(" AND state = ?{}", args.len()));
                }
                if q.unqueued_only {
                    sql.push_str(" AND queued = 0");
                }
                sql.push_str(" ORDER BY first_seen, file_id, tenant, source");
                let mut stmt = c.prepare(&sql)?;
                let rows =
                    stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for body in rows {
                    let body = body?;
                    out.push(decode(|| "file (listing)".to_string(), &body)?);
                }
                Ok(out)
            })
            .await?)
    }

    async fn count_files(&self, tenant: &TenantId) -> Result<Vec<FileCount>, MetaError> {
        let tenant = tenant.clone();
        Ok(self
            .db
            .call(move |c| {
                // One grouped pass over the tenant's index range; sizes and out-of-scope
                // marks come from the body without decoding it.
                let mut stmt = c.prepare(
                    "SELECT source, st, COUNT(*), \
                            SUM(CASE WHEN st = 'archived' THEN json_extract(body, '$.state.size') END), \
                            MIN(first_seen) \
                     FROM (SELECT source, body, first_seen, \
                                  CASE WHEN json_extract(body, '$.out_of_scope') IS NOT NULL \
                                       THEN 'out_of_scope' ELSE state END AS st \
                           FROM files WHERE tenant = ?1) \
                     GROUP BY source, st ORDER BY source, st",
                )?;
                let rows = stmt.query_map(params![tenant.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (source, state, files, bytes, oldest) = row?;
                    let source: Source = source.parse().map_err(|e| DbError::Corrupt {
                        key: format!("files of {tenant}"),
                        message: format!("source {source:?}: {e}"),
                    })?;
                    let oldest = match oldest {
                        Some(t) if FileCount::tracks_age(&state) => Some(parse_ts(&t)?),
                        _ => None,
                    };
                    out.push(FileCount {
                        source,
                        bytes: (state == "archived").then(|| bytes.unwrap_or(0).max(0) as u64),
                        state,
                        files: files.max(0) as u64,
                        oldest_first_seen: oldest,
                    });
                }
                Ok(out)
            })
            .await?)
    }

    async fn count_cdrs(&self, tenant: &TenantId) -> Result<u64, MetaError> {
        let tenant = tenant.clone();
        Ok(self
            .db
            .call(move |c| {
                let n: i64 = c.query_row(
                    "SELECT COUNT(*) FROM cdrs WHERE tenant = ?1 \
                     AND json_extract(body, '$.out_of_scope') IS NULL",
                    params![tenant.as_str()],
                    |r| r.get(0),
                )?;
                Ok(n.max(0) as u64)
            })
            .await?)
    }

    async fn insert_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        Ok(self.insert_cdrs(std::slice::from_ref(cdr)).await?[0])
    }

    async fn get_cdr(&self, tenant: &TenantId, cdr_id: &str) -> Result<Option<Cdr>, MetaError> {
        let (tenant, cdr_id) = (tenant.clone(), cdr_id.to_string());
        Ok(self
            .db
            .call(move |c| {
                let body: Option<String> = c
                    .query_row(
                        "SELECT body FROM cdrs WHERE tenant = ?1 AND cdr_id = ?2",
                        params![tenant.as_str(), cdr_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                body.map(|b| decode(|| format!("cdr {tenant}/{cdr_id}"), &b))
                    .transpose()
            })
            .await?)
    }

    async fn delete_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        let (tenant, cdr_id, version) = (cdr.tenant.clone(), cdr.cdr_id.clone(), cdr.version);
        Ok(self
            .db
            .call(move |c| {
                let n = c.execute(
                    "DELETE FROM cdrs WHERE tenant = ?1 AND cdr_id = ?2 AND version = ?3",
                    params![tenant.as_str(), cdr_id, version as i64],
                )?;
                if n == 1 {
                    return Ok(true);
                }
                let exists: Option<i64> = c
                    .query_row(
                        "SELECT version FROM cdrs WHERE tenant = ?1 AND cdr_id = ?2",
                        params![tenant.as_str(), cdr_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                match exists {
                    None => Ok(false),
                    Some(_) => Err(DbError::Conflict(format!("cdr {tenant}/{cdr_id}"))),
                }
            })
            .await?)
    }

    async fn update_cdr(&self, cdr: &Cdr) -> Result<Cdr, MetaError> {
        let mut stored = cdr.clone();
        stored.version = cdr.version + 1;
        let body = encode(&stored)?;
        let expected = cdr.version as i64;
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let n = tx.execute(
                    "UPDATE cdrs SET start_time = ?1, user_email = ?2, user_extension = ?3, platform_call_id = ?4,
                                     version = ?5, body = ?6
                     WHERE tenant = ?7 AND cdr_id = ?8 AND version = ?9",
                    params![
                        ts(stored.start_time),
                        email_key(stored.user_email.as_deref()),
                        stored.user_extension,
                        stored.platform_call_id,
                        stored.version as i64,
                        body,
                        stored.tenant.as_str(),
                        stored.cdr_id,
                        expected
                    ],
                )?;
                if n == 1 {
                    crate::sqlite_search::index_cdr(&tx, &stored)?;
                    tx.commit()?;
                    Ok(stored)
                } else {
                    Err(DbError::Conflict(format!("cdr {}/{}", stored.tenant, stored.cdr_id)))
                }
            })
            .await?)
    }

    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError> {
        let q = q.clone();
        Ok(self
            .db
            .call(move |c| {
                let mut sql = String::from("SELECT body FROM cdrs WHERE 1 = 1");
                let mut args: Vec<String> = Vec::new();
                let mut add = |sql: &mut String, cond: &str, v: String| {
                    args.push(v);
                    sql.push_str(&cond.replace("?N", &format!("?{}", args.len())));
                };
                if let Some(t) = &q.tenant {
                    add(&mut sql, " AND tenant = ?N", t.as_str().to_string());
                }
                if let Some(f) = q.from {
                    add(&mut sql, " AND start_time >= ?N", ts(f));
                }
                if let Some(t) = q.to {
                    add(&mut sql, " AND start_time < ?N", ts(t));
                }
                if let Some(p) = &q.platform_call_id {
                    add(&mut sql, " AND platform_call_id = ?N", p.clone());
                }
                if let Some(u) = &q.user {
                    add(&mut sql, " AND (user_email = ?N", u.to_ascii_lowercase());
                    add(&mut sql, " OR user_extension = ?N)", u.clone());
                }
                sql.push_str(" ORDER BY start_time, cdr_id, tenant");
                let mut stmt = c.prepare(&sql)?;
                let rows =
                    stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for body in rows {
                    let cdr: Cdr = decode(|| "cdr (query)".to_string(), &body?)?;
                    // The columns mirror the body; the shared predicate has the last word.
                    if q.matches(&cdr) {
                        out.push(cdr);
                    }
                }
                Ok(out)
            })
            .await?)
    }

    async fn search_cdrs(&self, s: &CdrSearch) -> Result<SearchResult, MetaError> {
        let s = s.clone();
        Ok(self
            .db
            .call(move |c| crate::sqlite_search::search(c, &s))
            .await?)
    }

    fn indexes_text(&self) -> bool {
        true
    }

    async fn index_text(&self, doc: &TextDoc) -> Result<(), MetaError> {
        let doc = doc.clone();
        Ok(self
            .db
            .call(move |c| crate::sqlite_search::index_text(c, &doc))
            .await?)
    }

    async fn text_conversations(
        &self,
        tenants: &[TenantId],
        text: &str,
    ) -> Result<std::collections::HashSet<ConversationRef>, MetaError> {
        let (tenants, text) = (tenants.to_vec(), text.to_string());
        Ok(self
            .db
            .call(move |c| crate::sqlite_search::text_conversations(c, &tenants, &text))
            .await?)
    }

    async fn get_cursor(
        &self,
        tenant: &TenantId,
        source: Source,
    ) -> Result<Option<Cursor>, MetaError> {
        let tenant = tenant.clone();
        Ok(self
            .db
            .call(move |c| {
                let body: Option<String> = c
                    .query_row(
                        "SELECT body FROM cursors WHERE tenant = ?1 AND source = ?2",
                        params![tenant.as_str(), source.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?;
                body.map(|b| decode(|| format!("cursor {tenant}/{source}"), &b))
                    .transpose()
            })
            .await?)
    }

    async fn put_cursor(&self, cursor: &Cursor) -> Result<Cursor, MetaError> {
        let mut stored = cursor.clone();
        stored.version = cursor.version + 1;
        let body = encode(&stored)?;
        let expected = cursor.version as i64;
        Ok(self
            .db
            .call(move |c| {
                let n = if expected == 0 {
                    c.execute(
                        "INSERT INTO cursors (tenant, source, version, body) VALUES (?1, ?2, 1, ?3) ON CONFLICT DO NOTHING",
                        params![stored.tenant.as_str(), stored.source.as_str(), body],
                    )?
                } else {
                    c.execute(
                        "UPDATE cursors SET version = ?1, body = ?2 WHERE tenant = ?3 AND source = ?4 AND version = ?5",
                        params![stored.version as i64, body, stored.tenant.as_str(), stored.source.as_str(), expected],
                    )?
                };
                if n == 1 {
                    Ok(stored)
                } else {
                    Err(DbError::Conflict(format!("cursor {}/{}", stored.tenant, stored.source)))
                }
            })
            .await?)
    }

    async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError> {
        let (name, owner) = (name.to_string(), owner.to_string());
        Ok(self
            .db
            .call(move |c| {
                let n = c.execute(
                    "INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                     WHERE leases.owner = excluded.owner OR leases.until <= ?4",
                    params![name, owner, ts(until), ts(now)],
                )?;
                Ok(n == 1)
            })
            .await?)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), MetaError> {
        let (name, owner) = (name.to_string(), owner.to_string());
        Ok(self
            .db
            .call(move |c| {
                c.execute(
                    "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
                    params![name, owner],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn get_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MetaError> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        Ok(self
            .db
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT value FROM memos WHERE tenant = ?1 AND key = ?2 AND expires > ?3",
                    params![tenant, key, ts(now)],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?)
    }

    async fn put_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        let (tenant, key, value) = (tenant.to_string(), key.to_string(), value.to_string());
        Ok(self
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO memos (tenant, key, value, expires) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                    params![tenant, key, value, ts(expires)],
                )?;
                Ok(())
            })
            .await?)
    }
}
