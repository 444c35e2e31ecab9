//! DynamoDB metadata store: one table, string keys `pk` (HASH) and `sk` (RANGE).
//!
//! Key design (every item also has `kind`, one of `file`, `cdr`, `cursor`, `lease`, `memo`,
//! `quota`, `audit`, `reviewer`, `review_token`, `review_grant`):
//!
//! | item   | `pk`                    | `sk`                  | indexes                                                   |
//! |--------|-------------------------|-----------------------|-----------------------------------------------------------|
//! | file   | `T#{tenant}#FILE`       | `{source}#{file_id}`  | `gsi3`: `T#{tenant}#FS#{state}` / `{source}#{file_id}`    |
//! | CDR    | `T#{tenant}#CDR`        | `{cdr_id}`            | `gsi1`: `E#{email, lowercase}` / `{start}#{cdr_id}`; `gsi4`: `X#{extension}` / `{start}#{cdr_id}`; `gsi2`: `T#{tenant}#D#{yyyy-mm-dd}` / `{start}#{cdr_id}`; `gsi5`: `C#{tenant}#{platform_call_id}` / `{start}#{cdr_id}` |
//! | cursor | `T#{tenant}#CURSOR`     | `{source}`            |                                                           |
//! | lease  | `L#{name}`              | `LEASE`               | `ttl` (epoch seconds) lets DynamoDB drop old leases       |
//! | memo   | `T#{tenant}#MEMO`       | `{key}`               | `ttl`; expiry also checked on read (`expires_ms`)         |
//! | quota  | `Q#{account}#{day}`     | `{counter key}`       | `used` (N, atomic `ADD`), `ttl` 8 days after the day ([`crate::DynamoQuotaLedger`]) |
//! | audit  | `T#{tenant}#AUDIT`      | `{seq:020}` (zero-padded) | `body` (the entry's JSON), `seq`, `at`, `action`; insert-only with `attribute_not_exists(pk)`, head = backwards `Query` `Limit 1` ([`crate::DynamoAuditLog`]) |
//! | review | `R#USER` / `R#TOKEN#{sha256}` / `R#GRANT#{name}` | `{name}` / `TOKEN` / `{tenant}#{user}` | accounts, API token hashes and grants of the review UI ([`crate::DynamoReviewerStore`]); the only keys starting `R#` |
//!
//! Files, CDRs and cursors of one tenant share a partition per kind, so listing a tenant's
//! files or CDRs is one `Query`. `{start}` is the start time as a fixed-width
//! `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, so sort keys order by time. The user indexes are
//! keyed without the tenant (a user query may omit it); results are always filtered with
//! [`CdrQuery::matches`], so no other tenant's record is ever returned.
//!
//! Writes: inserts are `PutItem` with `attribute_not_exists(pk)`; updates are `PutItem`
//! with `#v = :expected` and store `version + 1`; leases are taken with
//! `attribute_not_exists(pk) OR #until <= :now OR #owner = :me`.
//!
//! Queries: a CDR query with a platform call id (and a tenant) goes to `gsi5`; with a
//! user to `gsi1` and `gsi4`; with a time range (and a
//! tenant) to `gsi2`, one query per day (at most 400 days, else the tenant partition);
//! a tenant-only query reads the tenant's partition; only a query without tenant, user or
//! range scans. `list_files` uses `gsi3` for a state, the tenant partition otherwise, and
//! scans only without a tenant. Files are listed in `(first_seen, file_id)` order.

use crate::error::Failure;
use archiver_core::{
    Cdr, CdrQuery, Clock, Cursor, FileCount, FileQuery, FileRecord, FileState, MetaError,
    MetaStore, Source, TenantId,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

type Item = HashMap<String, AttributeValue>;

/// One global secondary index: string keys, all attributes projected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GsiDefinition {
    /// Index name.
    pub name: String,
    /// Partition key attribute.
    pub partition_key: String,
    /// Sort key attribute.
    pub sort_key: String,
}

/// The table's keys and indexes, as data (the SAM template must declare the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDefinition {
    /// Partition key attribute (type S).
    pub partition_key: String,
    /// Sort key attribute (type S).
    pub sort_key: String,
    /// Global secondary indexes (projection ALL).
    pub gsis: Vec<GsiDefinition>,
    /// The TTL attribute (epoch seconds).
    pub ttl_attribute: String,
}

impl TableDefinition {
    /// Every key attribute (all of type S), sorted: the table's `AttributeDefinitions`.
    pub fn attributes(&self) -> Vec<String> {
        let mut v = vec![self.partition_key.clone(), self.sort_key.clone()];
        for g in &self.gsis {
            v.push(g.partition_key.clone());
            v.push(g.sort_key.clone());
        }
        v.sort();
        v.dedup();
        v
    }
}

/// Index of CDRs by user email.
pub const GSI_USER_EMAIL: &str = "gsi1";
/// Index of CDRs by tenant and day.
pub const GSI_DAY: &str = "gsi2";
/// Index of files by tenant and state.
pub const GSI_FILE_STATE: &str = "gsi3";
/// Index of CDRs by user extension.
pub const GSI_USER_EXTENSION: &str = "gsi4";
/// Index of CDRs by tenant and platform call id (one conversation).
pub const GSI_CALL: &str = "gsi5";

/// The metadata table's keys and indexes.
pub fn table_definition() -> TableDefinition {
    let gsi = |n: &str| GsiDefinition {
        name: n.into(),
        partition_key: format!("{n}pk"),
        sort_key: format!("{n}sk"),
    };
    TableDefinition {
        partition_key: "pk".into(),
        sort_key: "sk".into(),
        gsis: vec![
            gsi(GSI_USER_EMAIL),
            gsi(GSI_DAY),
            gsi(GSI_FILE_STATE),
            gsi(GSI_USER_EXTENSION),
            gsi(GSI_CALL),
        ],
        ttl_attribute: "ttl".into(),
    }
}

const MAX_DAY_QUERIES: i64 = 400;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn file_pk(t: &TenantId) -> String {
    format!("T#{t}#FILE")
}
fn file_sk(source: Source, file_id: &str) -> String {
    format!("{source}#{file_id}")
}
fn cdr_pk(t: &TenantId) -> String {
    format!("T#{t}#CDR")
}
fn call_pk(t: &TenantId, call: &str) -> String {
    format!("C#{t}#{call}")
}
fn memo_pk(t: &TenantId) -> String {
    format!("T#{t}#MEMO")
}
fn cursor_pk(t: &TenantId) -> String {
    format!("T#{t}#CURSOR")
}
fn day_pk(t: &TenantId, d: NaiveDate) -> String {
    format!("T#{t}#D#{}", d.format("%Y-%m-%d"))
}
fn email_pk(e: &str) -> String {
    format!("E#{}", e.trim().to_ascii_lowercase())
}
fn ext_pk(x: &str) -> String {
    format!("X#{}", x.trim())
}

/// [`MetaStore`] on one DynamoDB table (see the module docs for the key design).
#[derive(Clone)]
pub struct DynamoMetaStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoMetaStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

enum Cond {
    Insert,
    Version(u64),
}

impl DynamoMetaStore {
    /// The SDK client (for operations outside the port).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Wraps a client for `table`; `clock` bounds open-ended day-index queries.
    pub fn new(client: Client, table: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.to_string(),
            clock,
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn backend(&self, what: &str, f: Failure) -> MetaError {
        f.on_table(what, &self.table)
    }

    fn encode<T: Serialize>(&self, what: &str, v: &T) -> Result<Item, MetaError> {
        serde_dynamo::to_item(v).map_err(|e| MetaError::Backend {
            what: format!("encoding {what} for table {}", self.table),
            source: Box::new(e),
            retryable: false,
        })
    }

    fn decode<T: DeserializeOwned>(item: Item) -> Result<T, MetaError> {
        let key = format!(
            "{}/{}",
            item.get("pk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("?"),
            item.get("sk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("?")
        );
        serde_dynamo::from_item(item).map_err(|e| MetaError::Corrupt {
            key,
            message: e.to_string(),
        })
    }

    /// Conditional put; `Ok(false)` when the condition failed.
    async fn put(&self, item: Item, cond: Cond, label: &str) -> Result<bool, MetaError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        req = match cond {
            Cond::Insert => req.condition_expression("attribute_not_exists(pk)"),
            Cond::Version(v) => req
                .condition_expression("attribute_exists(pk) AND #v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let service = e
                    .as_service_error()
                    .map(|s| s.is_conditional_check_failed_exception())
                    .unwrap_or(false);
                if service {
                    Ok(false)
                } else {
                    Err(self.backend(&format!("PutItem {label}"), Failure::of(e)))
                }
            }
        }
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, MetaError> {
        let label = format!("GetItem {pk}/{sk}");
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.backend(&label, Failure::of(e)))?;
        Ok(out.item)
    }

    /// All items of a query on the table (`index` None) or an index.
    async fn query(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: String,
        sk: Option<(String, Option<String>)>,
    ) -> Result<Vec<Item>, MetaError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        let label = format!("Query {} {pk}", index.unwrap_or("table"));
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start.take());
            req = match &sk {
                None => req.key_condition_expression("#pk = :pk"),
                Some((lo, None)) => req
                    .key_condition_expression("#pk = :pk AND #sk >= :lo")
                    .expression_attribute_names("#sk", sk_attr(pk_attr))
                    .expression_attribute_values(":lo", s(lo.clone())),
                Some((lo, Some(hi))) => req
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_names("#sk", sk_attr(pk_attr))
                    .expression_attribute_values(":lo", s(lo.clone()))
                    .expression_attribute_values(":hi", s(hi.clone())),
            };
            if index.is_none() {
                req = req.consistent_read(true);
            }
            let out = req
                .send()
                .await
                .map_err(|e| self.backend(&label, Failure::of(e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }

    async fn scan_kind(&self, kind: &str) -> Result<Vec<Item>, MetaError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#k = :k")
                .expression_attribute_names("#k", "kind")
                .expression_attribute_values(":k", s(kind))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.backend(&format!("Scan kind={kind}"), Failure::of(e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Counts the items of a key range without reading them out: `(in scope, all)`, where
    /// "in scope" are the items without an `out_of_scope` attribute. With `oldest`, the
    /// in-scope items' `first_seen` is projected and its minimum returned as well.
    async fn count_range(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: String,
        sk_prefix: Option<String>,
        oldest: bool,
    ) -> Result<(u64, u64, Option<DateTime<Utc>>), MetaError> {
        let (mut in_scope, mut all, mut min) = (0u64, 0u64, None::<DateTime<Utc>>);
        let mut start: Option<Item> = None;
        let label = format!("Query (count) {} {pk}", index.unwrap_or("table"));
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_values(":pk", s(pk.clone()))
                .filter_expression("attribute_not_exists(#oos)")
                .expression_attribute_names("#oos", "out_of_scope")
                .set_exclusive_start_key(start.take());
            req = match &sk_prefix {
                None => req.key_condition_expression("#pk = :pk"),
                Some(p) => req
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                    .expression_attribute_names("#sk", sk_attr(pk_attr))
                    .expression_attribute_values(":p", s(p.clone())),
            };
            req = if oldest {
                req.projection_expression("#fs")
                    .expression_attribute_names("#fs", "first_seen")
            } else {
                req.select(aws_sdk_dynamodb::types::Select::Count)
            };
            let out = req
                .send()
                .await
                .map_err(|e| self.backend(&label, Failure::of(e)))?;
            in_scope += out.count.max(0) as u64;
            all += out.scanned_count.max(0) as u64;
            for item in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(t)) = item.get("first_seen")
                    && let Ok(t) = DateTime::parse_from_rfc3339(t)
                {
                    let t = t.with_timezone(&Utc);
                    min = Some(min.map_or(t, |m| m.min(t)));
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok((in_scope, all, min))
    }

    fn file_item(&self, rec: &FileRecord) -> Result<Item, MetaError> {
        let mut item = self.encode("file record", rec)?;
        let sk = file_sk(rec.source, &rec.file_id);
        item.insert("pk".into(), s(file_pk(&rec.tenant)));
        item.insert("sk".into(), s(sk.clone()));
        item.insert("kind".into(), s("file"));
        item.insert(
            "gsi3pk".into(),
            s(format!("T#{}#FS#{}", rec.tenant, rec.state.name())),
        );
        item.insert("gsi3sk".into(), s(sk));
        Ok(item)
    }

    fn cdr_item(&self, cdr: &Cdr) -> Result<Item, MetaError> {
        let mut item = self.encode("CDR", cdr)?;
        let sort = format!("{}#{}", ts(cdr.start_time), cdr.cdr_id);
        item.insert("pk".into(), s(cdr_pk(&cdr.tenant)));
        item.insert("sk".into(), s(cdr.cdr_id.clone()));
        item.insert("kind".into(), s("cdr"));
        item.insert(
            "gsi2pk".into(),
            s(day_pk(&cdr.tenant, cdr.start_time.date_naive())),
        );
        item.insert("gsi2sk".into(), s(sort.clone()));
        if let Some(e) = cdr.user_email.as_deref().filter(|e| !e.trim().is_empty()) {
            item.insert("gsi1pk".into(), s(email_pk(e)));
            item.insert("gsi1sk".into(), s(sort.clone()));
        }
        if let Some(x) = cdr
            .user_extension
            .as_deref()
            .filter(|x| !x.trim().is_empty())
        {
            item.insert("gsi4pk".into(), s(ext_pk(x)));
            item.insert("gsi4sk".into(), s(sort.clone()));
        }
        item.insert(
            "gsi5pk".into(),
            s(call_pk(&cdr.tenant, &cdr.platform_call_id)),
        );
        item.insert("gsi5sk".into(), s(sort));
        Ok(item)
    }

    fn cursor_item(&self, c: &Cursor) -> Result<Item, MetaError> {
        let mut item = self.encode("cursor", c)?;
        item.insert("pk".into(), s(cursor_pk(&c.tenant)));
        item.insert("sk".into(), s(c.source.as_str()));
        item.insert("kind".into(), s("cursor"));
        Ok(item)
    }

    fn time_bounds(q: &CdrQuery) -> Option<(String, Option<String>)> {
        match (q.from, q.to) {
            (None, None) => None,
            (Some(f), None) => Some((ts(f), None)),
            (f, Some(t)) => Some((f.map(ts).unwrap_or_default(), Some(ts(t)))),
        }
    }
}

fn sk_attr(pk_attr: &str) -> String {
    match pk_attr.strip_suffix("pk") {
        Some(base) => format!("{base}sk"),
        None => "sk".into(),
    }
}

#[async_trait]
impl MetaStore for DynamoMetaStore {
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError> {
        let mut r = rec.clone();
        r.version = 1;
        let item = self.file_item(&r)?;
        self.put(
            item,
            Cond::Insert,
            &format!("file {}/{}/{}", rec.tenant, rec.source, rec.file_id),
        )
        .await
    }

    async fn get_file(
        &self,
        tenant: &TenantId,
        source: Source,
        file_id: &str,
    ) -> Result<Option<FileRecord>, MetaError> {
        match self.get(file_pk(tenant), file_sk(source, file_id)).await? {
            Some(item) => Ok(Some(Self::decode(item)?)),
            None => Ok(None),
        }
    }

    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError> {
        let mut r = rec.clone();
        r.version = rec.version + 1;
        let item = self.file_item(&r)?;
        let label = format!("file {}/{}/{}", rec.tenant, rec.source, rec.file_id);
        if self.put(item, Cond::Version(rec.version), &label).await? {
            Ok(r)
        } else {
            Err(MetaError::Conflict(label))
        }
    }

    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError> {
        let items = match (&q.tenant, q.state) {
            (Some(t), Some(state)) => {
                self.query(
                    Some(GSI_FILE_STATE),
                    "gsi3pk",
                    format!("T#{t}#FS#{state}"),
                    None,
                )
                .await?
            }
            (Some(t), None) => self.query(None, "pk", file_pk(t), None).await?,
            (None, _) => self.scan_kind("file").await?,
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let r: FileRecord = Self::decode(item)?;
            if q.state.is_some_and(|st| r.state.name() != st) || (q.unqueued_only && r.queued) {
                continue;
            }
            out.push(r);
        }
        out.sort_by(|a, b| {
            (a.first_seen, &a.file_id, &a.tenant, a.source).cmp(&(
                b.first_seen,
                &b.file_id,
                &b.tenant,
                b.source,
            ))
        });
        Ok(out)
    }

    /// One `Select=COUNT` query per state and source on the state index (`gsi3`); for the
    /// unfinished states a query projecting `first_seen` only. Sizes are not summed (that
    /// would read every archived record): `bytes` is `None`.
    async fn count_files(&self, tenant: &TenantId) -> Result<Vec<FileCount>, MetaError> {
        let mut out = Vec::new();
        let mut out_of_scope: HashMap<Source, u64> = HashMap::new();
        for source in Source::ALL {
            for state in FileState::NAMES {
                let ages = FileCount::tracks_age(state);
                let (n, all, oldest) = self
                    .count_range(
                        Some(GSI_FILE_STATE),
                        "gsi3pk",
                        format!("T#{tenant}#FS#{state}"),
                        Some(format!("{}#", source.as_str())),
                        ages,
                    )
                    .await?;
                *out_of_scope.entry(source).or_default() += all - n;
                if n > 0 {
                    out.push(FileCount {
                        source,
                        state: state.to_string(),
                        files: n,
                        bytes: None,
                        oldest_first_seen: oldest,
                    });
                }
            }
            if let Some(&n) = out_of_scope.get(&source)
                && n > 0
            {
                out.push(FileCount {
                    source,
                    state: "out_of_scope".into(),
                    files: n,
                    bytes: None,
                    oldest_first_seen: None,
                });
            }
        }
        Ok(out)
    }

    async fn count_cdrs(&self, tenant: &TenantId) -> Result<u64, MetaError> {
        let (n, _, _) = self
            .count_range(None, "pk", cdr_pk(tenant), None, false)
            .await?;
        Ok(n)
    }

    async fn insert_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        let mut c = cdr.clone();
        c.version = 1;
        let item = self.cdr_item(&c)?;
        self.put(
            item,
            Cond::Insert,
            &format!("CDR {}/{}", cdr.tenant, cdr.cdr_id),
        )
        .await
    }

    async fn get_cdr(&self, tenant: &TenantId, cdr_id: &str) -> Result<Option<Cdr>, MetaError> {
        match self.get(cdr_pk(tenant), cdr_id.to_string()).await? {
            Some(item) => Ok(Some(Self::decode(item)?)),
            None => Ok(None),
        }
    }

    async fn update_cdr(&self, cdr: &Cdr) -> Result<Cdr, MetaError> {
        let mut c = cdr.clone();
        c.version = cdr.version + 1;
        let item = self.cdr_item(&c)?;
        let label = format!("CDR {}/{}", cdr.tenant, cdr.cdr_id);
        if self.put(item, Cond::Version(cdr.version), &label).await? {
            Ok(c)
        } else {
            Err(MetaError::Conflict(label))
        }
    }

    async fn delete_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError> {
        let label = format!("CDR {}/{}", cdr.tenant, cdr.cdr_id);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(cdr_pk(&cdr.tenant)))
            .key("sk", s(cdr.cdr_id.clone()))
            .condition_expression("attribute_exists(pk) AND #v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(cdr.version))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                // Gone already (nothing to delete) or changed since it was read.
                match self.get_cdr(&cdr.tenant, &cdr.cdr_id).await? {
                    None => Ok(false),
                    Some(_) => Err(MetaError::Conflict(label)),
                }
            }
            Err(e) => Err(self.backend(&format!("DeleteItem {label}"), Failure::of(e))),
        }
    }

    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError> {
        let bounds = Self::time_bounds(q);
        let items = if let (Some(t), Some(call)) = (&q.tenant, q.platform_call_id.as_deref()) {
            self.query(Some(GSI_CALL), "gsi5pk", call_pk(t, call), bounds)
                .await?
        } else if let Some(user) = q.user.as_deref() {
            let mut items = self
                .query(
                    Some(GSI_USER_EMAIL),
                    "gsi1pk",
                    email_pk(user),
                    bounds.clone(),
                )
                .await?;
            items.extend(
                self.query(Some(GSI_USER_EXTENSION), "gsi4pk", ext_pk(user), bounds)
                    .await?,
            );
            items
        } else if let (Some(t), Some(from)) = (&q.tenant, q.from) {
            let end =
                q.to.unwrap_or_else(|| self.clock.now() + chrono::Duration::days(1));
            let (first, last) = (from.date_naive(), end.date_naive());
            if (last - first).num_days() <= MAX_DAY_QUERIES {
                let mut items = Vec::new();
                let mut d = first;
                loop {
                    items.extend(
                        self.query(Some(GSI_DAY), "gsi2pk", day_pk(t, d), bounds.clone())
                            .await?,
                    );
                    match d.succ_opt() {
                        Some(next) if next <= last => d = next,
                        _ => break,
                    }
                }
                items
            } else {
                self.query(None, "pk", cdr_pk(t), None).await?
            }
        } else if let Some(t) = &q.tenant {
            self.query(None, "pk", cdr_pk(t), None).await?
        } else {
            self.scan_kind("cdr").await?
        };
        let mut out: Vec<Cdr> = Vec::with_capacity(items.len());
        for item in items {
            let c: Cdr = Self::decode(item)?;
            if q.matches(&c)
                && !out
                    .iter()
                    .any(|x| x.tenant == c.tenant && x.cdr_id == c.cdr_id)
            {
                out.push(c);
            }
        }
        out.sort_by(|a, b| (a.start_time, &a.cdr_id).cmp(&(b.start_time, &b.cdr_id)));
        Ok(out)
    }

    async fn get_cursor(
        &self,
        tenant: &TenantId,
        source: Source,
    ) -> Result<Option<Cursor>, MetaError> {
        match self
            .get(cursor_pk(tenant), source.as_str().to_string())
            .await?
        {
            Some(item) => Ok(Some(Self::decode(item)?)),
            None => Ok(None),
        }
    }

    async fn put_cursor(&self, cursor: &Cursor) -> Result<Cursor, MetaError> {
        let mut c = cursor.clone();
        c.version = cursor.version + 1;
        let item = self.cursor_item(&c)?;
        let label = format!("cursor {}/{}", cursor.tenant, cursor.source);
        let cond = if cursor.version == 0 {
            Cond::Insert
        } else {
            Cond::Version(cursor.version)
        };
        if self.put(item, cond, &label).await? {
            Ok(c)
        } else {
            Err(MetaError::Conflict(label))
        }
    }

    async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError> {
        let ttl = until.timestamp() + 86_400;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("L#{name}")))
            .item("sk", s("LEASE"))
            .item("kind", s("lease"))
            .item("owner", s(owner))
            .item("until_ms", n(until.timestamp_millis()))
            .item("until", s(ts(until)))
            .item("ttl", n(ttl))
            .condition_expression("attribute_not_exists(pk) OR #until <= :now OR #owner = :me")
            .expression_attribute_names("#until", "until_ms")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.backend(&format!("PutItem lease {name}"), Failure::of(e))),
        }
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), MetaError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("L#{name}")))
            .key("sk", s("LEASE"))
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.backend(&format!("DeleteItem lease {name}"), Failure::of(e))),
        }
    }

    async fn get_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MetaError> {
        let Some(item) = self.get(memo_pk(tenant), key.to_string()).await? else {
            return Ok(None);
        };
        // TTL deletion is lazy (up to days late): the expiry is checked here.
        let expires = item
            .get("expires_ms")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        if expires <= now.timestamp_millis() {
            return Ok(None);
        }
        Ok(item.get("value").and_then(|v| v.as_s().ok()).cloned())
    }

    async fn put_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(memo_pk(tenant)))
            .item("sk", s(key))
            .item("kind", s("memo"))
            .item("value", s(value))
            .item("expires_ms", n(expires.timestamp_millis()))
            .item("ttl", n(expires.timestamp() + 86_400))
            .send()
            .await
            .map_err(|e| self.backend(&format!("PutItem memo {tenant}/{key}"), Failure::of(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_lists_every_key_attribute_once() {
        let d = table_definition();
        assert_eq!(
            d.attributes(),
            [
                "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk",
                "gsi5pk", "gsi5sk", "pk", "sk"
            ]
        );
        assert_eq!(sk_attr("gsi2pk"), "gsi2sk");
        assert_eq!(sk_attr("pk"), "sk");
    }

    #[test]
    fn timestamps_sort_as_strings() {
        let a: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-01-02T03:04:05.5Z".parse().unwrap();
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a), "2026-01-02T03:04:05.000000000Z");
    }
}
