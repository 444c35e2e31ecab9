use crate::db::{Db, DbError, decode, encode};
use archiver_core::{MetaError, ReviewGrant, Reviewer, ReviewerStore, TenantId};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// The review UI's tables. Created on opening (`IF NOT EXISTS`) rather than by a schema
/// version, so that they stay out of the way of the archive's own migrations: a database
/// without them is one nobody has served the review UI from.
const REVIEW_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS review_users (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_tokens (
    sha256 TEXT PRIMARY KEY,
    name   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_grants (
    name   TEXT NOT NULL,
    tenant TEXT NOT NULL,
    user   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, tenant, user)
);
"#;

/// Review accounts, API token hashes and grants in SQLite (tables `review_users`,
/// `review_tokens`, `review_grants` of `archive.db`).
#[derive(Clone)]
pub struct SqliteReviewerStore {
    db: Db,
}

impl std::fmt::Debug for SqliteReviewerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReviewerStore")
            .finish_non_exhaustive()
    }
}

impl SqliteReviewerStore {
    /// Opens (creating if needed) the database at `path` and its review tables.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        let db = Db::open(path.as_ref())?;
        // Made here, on a short-lived connection of its own: `Db::call` needs a runtime.
        let conn = rusqlite::Connection::open(path.as_ref()).map_err(DbError::from)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| conn.execute_batch(REVIEW_TABLES))
            .map_err(DbError::from)?;
        Ok(Self { db })
    }
}

fn decode_user(name: &str, body: &str) -> Result<Reviewer, DbError> {
    decode(|| format!("review user {name}"), body)
}

#[async_trait]
impl ReviewerStore for SqliteReviewerStore {
    async fn insert(&self, r: &Reviewer) -> Result<bool, MetaError> {
        let name = r.name.clone();
        let body = encode(r)?;
        Ok(self
            .db
            .call(move |c| {
                Ok(c.execute(
                    "INSERT INTO review_users (name, body) VALUES (?1, ?2)
                     ON CONFLICT (name) DO NOTHING",
                    params![name, body],
                )? == 1)
            })
            .await?)
    }

    async fn get(&self, name: &str) -> Result<Option<Reviewer>, MetaError> {
        let name = name.to_string();
        Ok(self
            .db
            .call(move |c| {
                let body: Option<String> = c
                    .query_row(
                        "SELECT body FROM review_users WHERE name = ?1",
                        params![name],
                        |r| r.get(0),
                    )
                    .optional()?;
                body.map(|b| decode_user(&name, &b)).transpose()
            })
            .await?)
    }

    async fn list(&self) -> Result<Vec<Reviewer>, MetaError> {
        Ok(self
            .db
            .call(|c| {
                let mut stmt = c.prepare("SELECT name, body FROM review_users ORDER BY name")?;
                let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
                let mut out = Vec::new();
                for row in rows {
                    let (name, body): (String, String) = row?;
                    out.push(decode_user(&name, &body)?);
                }
                Ok(out)
            })
            .await?)
    }

    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<bool, MetaError> {
        let Some(mut r) = self.get(name).await? else {
            return Ok(false);
        };
        r.password_hash = password_hash.to_string();
        r.must_change_password = must_change;
        let body = encode(&r)?;
        let name = name.to_string();
        Ok(self
            .db
            .call(move |c| {
                Ok(c.execute(
                    "UPDATE review_users SET body = ?2 WHERE name = ?1",
                    params![name, body],
                )? == 1)
            })
            .await?)
    }

    async fn add_token(&self, name: &str, token_sha256: &str) -> Result<(), MetaError> {
        let (name, sha) = (name.to_string(), token_sha256.to_string());
        Ok(self
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO review_tokens (sha256, name) VALUES (?1, ?2)
                     ON CONFLICT (sha256) DO NOTHING",
                    params![sha, name],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn by_token(&self, token_sha256: &str) -> Result<Option<Reviewer>, MetaError> {
        let sha = token_sha256.to_string();
        let name: Option<String> = self
            .db
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT name FROM review_tokens WHERE sha256 = ?1",
                    params![sha],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        match name {
            Some(n) => self.get(&n).await,
            None => Ok(None),
        }
    }

    async fn grant(&self, name: &str, grant: &ReviewGrant) -> Result<(), MetaError> {
        let (name, tenant) = (name.to_string(), grant.tenant.to_string());
        let user = grant.user.clone().unwrap_or_default();
        Ok(self
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO review_grants (name, tenant, user) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![name, tenant, user],
                )?;
                Ok(())
            })
            .await?)
    }

    async fn grants(&self, name: &str) -> Result<Vec<ReviewGrant>, MetaError> {
        let name = name.to_string();
        Ok(self
            .db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT tenant, user FROM review_grants WHERE name = ?1 ORDER BY tenant, user",
                )?;
                let rows = stmt.query_map(params![name], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (tenant, user) = row?;
                    let tenant = TenantId::new(&tenant).map_err(|e| DbError::Corrupt {
                        key: format!("review grant of {name}"),
                        message: e.to_string(),
                    })?;
                    out.push(ReviewGrant {
                        tenant,
                        user: (!user.is_empty()).then_some(user),
                    });
                }
                Ok(out)
            })
            .await?)
    }
}
