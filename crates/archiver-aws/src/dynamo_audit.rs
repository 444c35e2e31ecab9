//! DynamoDB audit log, in the metadata table (see [`DynamoAuditLog`]).

use crate::error::Failure;
use archiver_core::{AuditEntry, AuditLog, MetaError, TenantId};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB pages a query at 1 MB; a page of the port is read in requests of at most this
/// many items.
const QUERY_PAGE: usize = 1000;

/// [`AuditLog`] on the metadata table shared with
/// [`DynamoMetaStore`](crate::DynamoMetaStore) (string keys `pk`, `sk`).
///
/// One item per entry, one partition per tenant's chain:
///
/// | attribute | value                                                         |
/// |-----------|---------------------------------------------------------------|
/// | `pk`      | `T#{tenant}#AUDIT`                                            |
/// | `sk`      | the seq, zero-padded to 20 digits (`00000000000000000042`), so sort keys order like seqs |
/// | `kind`    | `audit`                                                       |
/// | `seq`     | N, the seq                                                    |
/// | `at`      | S, the entry's time (RFC 3339, UTC), for reading              |
/// | `action`  | S, the entry's action, for reading                            |
/// | `body`    | S, the whole entry as JSON (what the chain walk re-hashes)    |
///
/// `try_append` is `PutItem` with `attribute_not_exists(pk)`: DynamoDB checks and writes
/// atomically, so of two writers chaining after the same head exactly one stores its entry
/// (the other gets `ConditionalCheckFailedException`, returned as `false`). `head` is a
/// strongly consistent `Query` of the tenant's partition, backwards, `Limit 1`; `list` a
/// strongly consistent `Query` from `sk >= {from_seq:020}`. An entry is about 0.5 KB plus its
/// object keys (DynamoDB's item limit is 400 KB: callers split long object lists). The items
/// have no TTL: the trail is kept as long as the table.
#[derive(Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

impl std::fmt::Debug for DynamoAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoAuditLog")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The partition of a tenant's chain.
pub(crate) fn audit_pk(t: &TenantId) -> String {
    format!("T#{t}#AUDIT")
}

/// The sort key of an entry: its seq, zero-padded so that strings sort like numbers.
pub(crate) fn audit_sk(seq: u64) -> String {
    format!("{seq:020}")
}

impl DynamoAuditLog {
    /// Wraps a client for `table` (the metadata table).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn backend(&self, what: &str, f: Failure) -> MetaError {
        f.on_table(what, &self.table)
    }

    /// The item of an entry.
    fn item(entry: &AuditEntry) -> Result<Item, MetaError> {
        let body = serde_json::to_string(entry).map_err(|e| MetaError::Backend {
            what: format!("encoding audit entry {}/{}", entry.draft.tenant, entry.seq),
            source: Box::new(e),
            retryable: false,
        })?;
        let action = serde_json::to_value(entry.draft.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(HashMap::from([
            ("pk".to_string(), s(audit_pk(&entry.draft.tenant))),
            ("sk".to_string(), s(audit_sk(entry.seq))),
            ("kind".to_string(), s("audit")),
            ("seq".to_string(), AttributeValue::N(entry.seq.to_string())),
            ("at".to_string(), s(entry.draft.at.to_rfc3339())),
            ("action".to_string(), s(action)),
            ("body".to_string(), s(body)),
        ]))
    }

    fn decode(item: &Item) -> Result<AuditEntry, MetaError> {
        let key = || {
            format!(
                "{}/{}",
                item.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .map_or("?", String::as_str),
                item.get("sk")
                    .and_then(|v| v.as_s().ok())
                    .map_or("?", String::as_str)
            )
        };
        let body = item
            .get("body")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| MetaError::Corrupt {
                key: key(),
                message: "an audit item without a string body".into(),
            })?;
        serde_json::from_str(body).map_err(|e| MetaError::Corrupt {
            key: key(),
            message: e.to_string(),
        })
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn try_append(&self, entry: &AuditEntry) -> Result<bool, MetaError> {
        let item = Self::item(entry)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
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
            Err(e) => Err(self.backend(
                &format!(
                    "PutItem {}/{}",
                    audit_pk(&entry.draft.tenant),
                    audit_sk(entry.seq)
                ),
                Failure::of(e),
            )),
        }
    }

    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditEntry>, MetaError> {
        let pk = audit_pk(tenant);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(pk.clone()))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.backend(&format!("Query (head) {pk}"), Failure::of(e)))?;
        out.items
            .unwrap_or_default()
            .first()
            .map(Self::decode)
            .transpose()
    }

    async fn list(
        &self,
        tenant: &TenantId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, MetaError> {
        let pk = audit_pk(tenant);
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        while entries.len() < limit {
            let want = (limit - entries.len()).min(QUERY_PAGE) as i32;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":from", s(audit_sk(from_seq)))
                .limit(want)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.backend(&format!("Query {pk}"), Failure::of(e)))?;
            for item in out.items.unwrap_or_default() {
                entries.push(Self::decode(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        entries.truncate(limit);
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_like_seqs() {
        assert_eq!(audit_sk(42), "00000000000000000042");
        assert_eq!(audit_sk(u64::MAX), "18446744073709551615");
        assert!(audit_sk(9) < audit_sk(10) && audit_sk(999) < audit_sk(1000));
        assert_eq!(audit_pk(&TenantId::new("acme").unwrap()), "T#acme#AUDIT");
    }
}
