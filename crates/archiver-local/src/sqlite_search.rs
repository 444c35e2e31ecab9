//! CDR search in SQL ([`MetaStore::search_cdrs`](archiver_core::MetaStore::search_cdrs) of
//! [`SqliteMetaStore`](crate::SqliteMetaStore)), with the semantics of
//! [`archiver_core::domain::search`] (the conformance suite compares it with the in-memory
//! reference).
//!
//! Schema 5 adds, beside the `cdrs` table (whose rows carry the JSON bodies):
//! - `cdr_index`: one narrow row per CDR with every searchable and sortable column, indexed
//!   per filter and sort key, so a count or a page touches index pages, not bodies (the
//!   indexes of start time and of the few-valued filters, direction, failed and source,
//!   cover tenant, scope and each other: their counts and pages never read a row; a count
//!   of everything scans the narrowest index, tenant and scope). The tenant test is kept
//!   out of index choice (`+i.tenant`): every CDR of a site is usually of one tenant;
//! - `cdr_numbers`: each CDR's caller, callee and participants as normalized numbers;
//! - `cdr_topics`: the lowercased meeting topics in an FTS5 trigram index (substrings of
//!   three characters or more; shorter ones are checked row by row);
//! - `cdr_texts` + `cdr_text_fts`: the indexed words of the conversations' transcripts,
//!   captions and chat (FTS5, `unicode61` without diacritic removal, contentless).
//!
//! The index rows are written in the same transaction as the CDR (insert and
//! compare-and-set update), removed by triggers when a CDR is deleted, and built from the
//! bodies once when an older database is migrated.

use crate::db::{DbError, decode, ts};
use archiver_core::{
    Cdr, CdrSearch, ConversationRef, SearchResult, SearchSort, Source, TenantId, TextDoc,
    normalize_number, text_words,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// Schema 5: the search tables (see the module documentation). Idempotent, as is
/// [`backfill`]: a database whose version was set back (the migration tests of older
/// versions do that) is brought forward again without error.
pub(crate) const SCHEMA_V5: &str = r#"
CREATE TABLE IF NOT EXISTS cdr_index (
    id               INTEGER PRIMARY KEY,
    tenant           TEXT    NOT NULL,
    cdr_id           TEXT    NOT NULL,
    start_time       TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    conversation_id  TEXT    NOT NULL,
    platform_call_id TEXT    NOT NULL,
    user_email       TEXT,
    user_extension   TEXT,
    user_name        TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    failed           INTEGER NOT NULL,
    has_failure      INTEGER NOT NULL,
    duration         INTEGER NOT NULL,
    topic            TEXT,
    out_of_scope     INTEGER NOT NULL,
    UNIQUE (tenant, cdr_id)
);
CREATE INDEX IF NOT EXISTS cdr_index_by_scope     ON cdr_index (tenant, out_of_scope);
CREATE INDEX IF NOT EXISTS cdr_index_by_time      ON cdr_index (start_time, cdr_id, tenant, out_of_scope);
CREATE INDEX IF NOT EXISTS cdr_index_by_direction ON cdr_index
    (direction, start_time, cdr_id, tenant, out_of_scope, source, failed);
CREATE INDEX IF NOT EXISTS cdr_index_by_failed    ON cdr_index
    (failed, start_time, cdr_id, tenant, out_of_scope, source, direction);
CREATE INDEX IF NOT EXISTS cdr_index_by_source    ON cdr_index
    (source, start_time, cdr_id, tenant, out_of_scope, failed, direction);
CREATE INDEX IF NOT EXISTS cdr_index_by_email     ON cdr_index (user_email, start_time);
CREATE INDEX IF NOT EXISTS cdr_index_by_extension ON cdr_index (user_extension, start_time);
CREATE INDEX IF NOT EXISTS cdr_index_by_call      ON cdr_index (platform_call_id, start_time);
CREATE INDEX IF NOT EXISTS cdr_index_by_duration  ON cdr_index (duration, start_time);
CREATE INDEX IF NOT EXISTS cdr_index_by_user      ON cdr_index (user_name, start_time);
CREATE INDEX IF NOT EXISTS cdr_index_by_conv      ON cdr_index (conversation_id, source, tenant);

CREATE TABLE IF NOT EXISTS cdr_numbers (
    number TEXT    NOT NULL,
    id     INTEGER NOT NULL,
    PRIMARY KEY (number, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cdr_numbers_by_id ON cdr_numbers (id);

CREATE VIRTUAL TABLE IF NOT EXISTS cdr_topics USING fts5(topic, tokenize = 'trigram case_sensitive 1');

CREATE TABLE IF NOT EXISTS cdr_texts (
    id              INTEGER PRIMARY KEY,
    tenant          TEXT NOT NULL,
    source          TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    UNIQUE (tenant, source, file_id)
);
CREATE INDEX IF NOT EXISTS cdr_texts_by_conv ON cdr_texts (tenant, source, conversation_id);
CREATE VIRTUAL TABLE IF NOT EXISTS cdr_text_fts USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 0', content = '', contentless_delete = 1
);

CREATE TRIGGER IF NOT EXISTS cdrs_unindex AFTER DELETE ON cdrs BEGIN
    DELETE FROM cdr_index WHERE tenant = old.tenant AND cdr_id = old.cdr_id;
END;
CREATE TRIGGER IF NOT EXISTS cdr_index_cleanup AFTER DELETE ON cdr_index BEGIN
    DELETE FROM cdr_numbers WHERE id = old.id;
    DELETE FROM cdr_topics WHERE rowid = old.id;
END;
"#;

/// Builds the index of every stored CDR (the migration to schema 5). A body that does not
/// decode is left out of the index (logged), as it is unreadable anyway.
pub(crate) fn backfill(c: &Connection) -> Result<(), DbError> {
    let mut stmt = c.prepare("SELECT tenant, cdr_id, body FROM cdrs")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut n = 0u64;
    for row in rows {
        let (tenant, id, body) = row?;
        match decode::<Cdr>(|| format!("cdr {tenant}/{id}"), &body) {
            Ok(cdr) => {
                index_cdr(c, &cdr)?;
                n += 1;
            }
            Err(DbError::Corrupt { key, message }) => {
                tracing::warn!(%key, %message, "a stored CDR does not decode: left out of the search index");
            }
            Err(e) => return Err(e),
        }
    }
    if n > 0 {
        tracing::info!(cdrs = n, "search index built (schema 5)");
    }
    Ok(())
}

fn topic_of(cdr: &Cdr) -> Option<String> {
    (cdr.source == Source::Meetings).then(|| cdr.to_info.to_lowercase())
}

/// Writes (or rewrites) the index rows of `cdr`. Called in the transaction that stores it.
pub(crate) fn index_cdr(c: &Connection, cdr: &Cdr) -> Result<(), DbError> {
    let topic = topic_of(cdr);
    let old: Option<(i64, Option<String>)> = c
        .prepare_cached("SELECT id, topic FROM cdr_index WHERE tenant = ?1 AND cdr_id = ?2")?
        .query_row(params![cdr.tenant.as_str(), cdr.cdr_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let values = params![
        cdr.tenant.as_str(),
        cdr.cdr_id,
        ts(cdr.start_time),
        cdr.source.as_str(),
        cdr.conversation_id,
        cdr.platform_call_id,
        cdr.user_email.as_deref().map(str::to_ascii_lowercase),
        cdr.user_extension,
        cdr.user,
        cdr.direction.as_str(),
        cdr.recording_failed,
        cdr.failure_reason.is_some(),
        cdr.duration_seconds,
        topic,
        cdr.out_of_scope.is_some(),
    ];
    let id = match &old {
        Some((id, _)) => {
            c.prepare_cached(
                "UPDATE cdr_index SET tenant = ?1, cdr_id = ?2, start_time = ?3, source = ?4,
                        conversation_id = ?5, platform_call_id = ?6, user_email = ?7,
                        user_extension = ?8, user_name = ?9, direction = ?10, failed = ?11,
                        has_failure = ?12, duration = ?13, topic = ?14, out_of_scope = ?15
                 WHERE id = ?16",
            )?
            .execute(rusqlite::params_from_iter(
                values
                    .iter()
                    .copied()
                    .chain(std::iter::once(id as &dyn rusqlite::ToSql)),
            ))?;
            *id
        }
        None => {
            c.prepare_cached(
                "INSERT INTO cdr_index (tenant, cdr_id, start_time, source, conversation_id,
                        platform_call_id, user_email, user_extension, user_name, direction,
                        failed, has_failure, duration, topic, out_of_scope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(values)?;
            c.last_insert_rowid()
        }
    };
    let mut numbers: Vec<String> = [cdr.from.as_str(), cdr.to.as_str()]
        .into_iter()
        .chain(cdr.participants.iter().map(String::as_str))
        .map(normalize_number)
        .filter(|n| !n.is_empty())
        .collect();
    numbers.sort();
    numbers.dedup();
    if old.is_some() {
        c.prepare_cached("DELETE FROM cdr_numbers WHERE id = ?1")?
            .execute(params![id])?;
    }
    {
        let mut ins = c.prepare_cached("INSERT INTO cdr_numbers (number, id) VALUES (?1, ?2)")?;
        for n in &numbers {
            ins.execute(params![n, id])?;
        }
    }
    let old_topic = old.and_then(|(_, t)| t);
    if old_topic != topic {
        if old_topic.is_some() {
            c.prepare_cached("DELETE FROM cdr_topics WHERE rowid = ?1")?
                .execute(params![id])?;
        }
        if let Some(t) = &topic {
            c.prepare_cached("INSERT INTO cdr_topics (rowid, topic) VALUES (?1, ?2)")?
                .execute(params![id, t])?;
        }
    }
    Ok(())
}

/// Stores a document's text for free-text search (replacing the file's earlier text).
pub(crate) fn index_text(c: &mut Connection, doc: &TextDoc) -> Result<(), DbError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let old: Option<i64> = tx
        .query_row(
            "SELECT id FROM cdr_texts WHERE tenant = ?1 AND source = ?2 AND file_id = ?3",
            params![doc.tenant.as_str(), doc.source.as_str(), doc.file_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = old {
        tx.execute("DELETE FROM cdr_text_fts WHERE rowid = ?1", params![id])?;
        tx.execute("DELETE FROM cdr_texts WHERE id = ?1", params![id])?;
    }
    tx.execute(
        "INSERT INTO cdr_texts (tenant, source, conversation_id, file_id) VALUES (?1, ?2, ?3, ?4)",
        params![
            doc.tenant.as_str(),
            doc.source.as_str(),
            doc.conversation_id,
            doc.file_id
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO cdr_text_fts (rowid, text) VALUES (?1, ?2)",
        params![id, doc.text],
    )?;
    tx.commit()?;
    Ok(())
}

/// The FTS5 query of free text: every word, quoted (words are letters and digits only),
/// combined with AND. `None` when the text has no word (nothing matches).
fn fts_words(text: &str) -> Option<String> {
    let words = text_words(text);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The conversations of `tenants` whose indexed text has every word of `text`.
pub(crate) fn text_conversations(
    c: &Connection,
    tenants: &[TenantId],
    text: &str,
) -> Result<std::collections::HashSet<ConversationRef>, DbError> {
    let mut out = std::collections::HashSet::new();
    let Some(q) = fts_words(text) else {
        return Ok(out);
    };
    let mut stmt = c.prepare(
        "SELECT x.tenant, x.source, x.conversation_id FROM cdr_text_fts f
         JOIN cdr_texts x ON x.id = f.rowid WHERE cdr_text_fts MATCH ?1",
    )?;
    let rows = stmt.query_map(params![q], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (t, s, conv) = row?;
        let (Ok(t), Ok(s)) = (TenantId::new(&t), s.parse::<Source>()) else {
            continue;
        };
        if tenants.contains(&t) {
            out.insert((t, s, conv));
        }
    }
    Ok(out)
}

/// The WHERE clause of `s` over `cdr_index i`, with its arguments. `None` when nothing
/// can match (an empty scope, a number or text without characters that count).
fn where_clause(s: &CdrSearch) -> Option<(String, Vec<Value>)> {
    let mut sql = String::from("1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let arg = |args: &mut Vec<Value>, v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    let text = |v: &str| Value::Text(v.to_string());
    // The viewer's scope (OR of its entries), narrowed by the query's tenant.
    let mut scope = Vec::new();
    for sc in &s.scope {
        if s.query.tenant.as_ref().is_some_and(|t| t != &sc.tenant) {
            continue;
        }
        let t = arg(&mut args, text(sc.tenant.as_str()));
        match &sc.user {
            None => scope.push(format!("+i.tenant = {t}")),
            Some(u) => {
                let e = arg(&mut args, text(&u.to_ascii_lowercase()));
                let x = arg(&mut args, text(u));
                // Two flat terms (not a nested OR), so each can use its index.
                scope.push(format!("(+i.tenant = {t} AND i.user_email = {e})"));
                scope.push(format!("(+i.tenant = {t} AND i.user_extension = {x})"));
            }
        }
    }
    if scope.is_empty() {
        return None;
    }
    sql.push_str(&format!(" AND ({})", scope.join(" OR ")));
    let q = &s.query;
    if !q.include_out_of_scope {
        sql.push_str(" AND i.out_of_scope = 0");
    }
    if let Some(f) = q.from {
        let a = arg(&mut args, Value::Text(ts(f)));
        sql.push_str(&format!(" AND i.start_time >= {a}"));
    }
    if let Some(t) = q.to {
        let a = arg(&mut args, Value::Text(ts(t)));
        sql.push_str(&format!(" AND i.start_time < {a}"));
    }
    if let Some(p) = &q.platform_call_id {
        let a = arg(&mut args, text(p));
        sql.push_str(&format!(" AND i.platform_call_id = {a}"));
    }
    if let Some(u) = &q.user {
        let e = arg(&mut args, text(&u.to_ascii_lowercase()));
        let x = arg(&mut args, text(u));
        sql.push_str(&format!(
            " AND (i.user_email = {e} OR i.user_extension = {x})"
        ));
    }
    if let Some(d) = q.direction {
        let a = arg(&mut args, text(d.as_str()));
        sql.push_str(&format!(" AND i.direction = {a}"));
    }
    if q.failed_only {
        sql.push_str(" AND i.has_failure = 1");
    }
    if let Some(n) = &q.number {
        let n = normalize_number(n);
        if n.is_empty() {
            return None;
        }
        let a = arg(&mut args, Value::Text(n));
        sql.push_str(&format!(
            " AND i.id IN (SELECT id FROM cdr_numbers WHERE number = {a})"
        ));
    }
    if let Some(src) = s.source {
        let a = arg(&mut args, text(src.as_str()));
        sql.push_str(&format!(" AND i.source = {a}"));
    }
    if let Some(f) = s.failed {
        sql.push_str(if f {
            " AND i.failed = 1"
        } else {
            " AND i.failed = 0"
        });
    }
    if let Some(needle) = s.topic_needle() {
        if needle.chars().count() >= 3 {
            let m = arg(
                &mut args,
                Value::Text(format!("\"{}\"", needle.replace('"', "\"\""))),
            );
            sql.push_str(&format!(
                " AND i.id IN (SELECT rowid FROM cdr_topics WHERE cdr_topics MATCH {m})"
            ));
        }
        // The trigram index finds candidates; the substring test has the last word (and is
        // all there is for one or two characters).
        let a = arg(&mut args, Value::Text(needle));
        sql.push_str(&format!(" AND instr(i.topic, {a}) > 0"));
    }
    if let Some(t) = &s.text {
        let q = fts_words(t)?;
        let a = arg(&mut args, Value::Text(q));
        sql.push_str(&format!(
            " AND (i.tenant, i.source, i.conversation_id) IN \
             (SELECT x.tenant, x.source, x.conversation_id FROM cdr_text_fts f \
              JOIN cdr_texts x ON x.id = f.rowid WHERE cdr_text_fts MATCH {a})"
        ));
    }
    Some((sql, args))
}

/// One page of `s` and the number of matches, in one read transaction.
pub(crate) fn search(c: &mut Connection, s: &CdrSearch) -> Result<SearchResult, DbError> {
    let Some((cond, args)) = where_clause(s) else {
        return Ok(SearchResult::default());
    };
    let tx = c.transaction()?;
    let total: i64 = tx.query_row(
        &format!("SELECT COUNT(*) FROM cdr_index i WHERE {cond}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let dir = if s.descending { "DESC" } else { "ASC" };
    let key = match s.sort {
        SearchSort::StartTime => String::new(),
        SearchSort::User => format!("i.user_name {dir}, "),
        SearchSort::Duration => format!("i.duration {dir}, "),
        SearchSort::Direction => format!("i.direction {dir}, "),
        SearchSort::Source => format!("i.source {dir}, "),
    };
    let mut page_args = args.clone();
    page_args.push(Value::Integer(s.limit.min(i64::MAX as usize) as i64));
    page_args.push(Value::Integer(s.offset.min(i64::MAX as usize) as i64));
    let n = args.len();
    let sql = format!(
        "SELECT i.tenant, i.cdr_id FROM cdr_index i WHERE {cond}
         ORDER BY {key}i.start_time {dir}, i.cdr_id {dir}, i.tenant {dir}
         LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    let ids: Vec<(String, String)> = {
        let mut stmt = tx.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(page_args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut cdrs = Vec::with_capacity(ids.len());
    {
        let mut get =
            tx.prepare_cached("SELECT body FROM cdrs WHERE tenant = ?1 AND cdr_id = ?2")?;
        for (t, id) in ids {
            let body: String = get.query_row(params![t, id], |r| r.get(0))?;
            cdrs.push(decode(|| format!("cdr {t}/{id}"), &body)?);
        }
    }
    tx.commit()?;
    Ok(SearchResult {
        total: total.max(0) as usize,
        cdrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_quote_words_only() {
        assert_eq!(
            fts_words("Merger, \"NOW\"").as_deref(),
            Some("\"merger\" \"now\"")
        );
        assert_eq!(fts_words("\"*) OR (").as_deref(), Some("\"or\""));
        assert_eq!(fts_words("--"), None);
    }
}
