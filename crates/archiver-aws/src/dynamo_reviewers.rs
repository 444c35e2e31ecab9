//! DynamoDB reviewer store, in the metadata table (see [`DynamoReviewerStore`]).

use crate::error::Failure;
use archiver_core::{MetaError, ReviewGrant, Reviewer, ReviewerStore, TenantId};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// The partition of every review account (one `Query` lists them all).
pub(crate) const USERS_PK: &str = "R#USER";
/// The sort key of a token item.
const TOKEN_SK: &str = "TOKEN";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The partition of one API token, keyed by its hash.
pub(crate) fn token_pk(sha256: &str) -> String {
    format!("R#TOKEN#{sha256}")
}

/// The partition of one account's grants.
pub(crate) fn grant_pk(name: &str) -> String {
    format!("R#GRANT#{name}")
}

/// The sort key of a grant: the tenant (never contains `#`), then the user (empty for the
/// whole tenant), so that a partition sorts like `(tenant, user)`.
fn grant_sk(g: &ReviewGrant) -> String {
    format!("{}#{}", g.tenant, g.user.as_deref().unwrap_or(""))
}

/// [`ReviewerStore`] on the metadata table shared with
/// [`DynamoMetaStore`](crate::DynamoMetaStore) (string keys `pk`, `sk`). Every key starts
/// with `R#`, which no other item of the table uses, so an IAM policy can grant writes on
/// the review items alone (`dynamodb:LeadingKeys` `R#*`).
///
/// | item    | `pk`                 | `sk`                  | attributes                                  |
/// |---------|----------------------|-----------------------|---------------------------------------------|
/// | account | `R#USER`             | `{name}`              | `kind` = `reviewer`, the [`Reviewer`]'s fields (`name`, `role`, `password_hash`, `must_change_password`, `created_at`) |
/// | token   | `R#TOKEN#{sha256}`   | `TOKEN`               | `kind` = `review_token`, `name`             |
/// | grant   | `R#GRANT#{name}`     | `{tenant}#{user}`     | `kind` = `review_grant`, `tenant`, `user` (empty: the whole tenant) |
///
/// `insert` is `PutItem` with `attribute_not_exists(pk)` (names are unique); `set_password`
/// an `UpdateItem` with `attribute_exists(pk)`; `add_token` one `TransactWriteItems` that
/// checks the account exists and puts the token item with `attribute_not_exists(pk)` (a
/// hash names at most one account: the first one stays); `by_token` a `GetItem` of the
/// token item and one of the account, never a scan; `grant` a `PutItem` (the key makes
/// grants a set); `list` and `grants` one `Query` each. Reads are strongly consistent.
#[derive(Clone)]
pub struct DynamoReviewerStore {
    client: Client,
    table: String,
}

impl std::fmt::Debug for DynamoReviewerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoReviewerStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoReviewerStore {
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

    fn account_item(&self, r: &Reviewer) -> Result<Item, MetaError> {
        let mut item: Item = serde_dynamo::to_item(r).map_err(|e| MetaError::Backend {
            what: format!(
                "encoding review account {} for table {}",
                r.name, self.table
            ),
            source: Box::new(e),
            retryable: false,
        })?;
        item.insert("pk".into(), s(USERS_PK));
        item.insert("sk".into(), s(r.name.clone()));
        item.insert("kind".into(), s("reviewer"));
        Ok(item)
    }

    fn decode_account(item: Item) -> Result<Reviewer, MetaError> {
        let key = format!(
            "{USERS_PK}/{}",
            item.get("sk")
                .and_then(|v| v.as_s().ok())
                .map_or("?", String::as_str)
        );
        serde_dynamo::from_item(item).map_err(|e| MetaError::Corrupt {
            key,
            message: e.to_string(),
        })
    }

    async fn get_item(&self, pk: String, sk: &str, label: &str) -> Result<Option<Item>, MetaError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map(|o| o.item)
            .map_err(|e| self.backend(&format!("GetItem {label}"), Failure::of(e)))
    }

    /// Every item of partition `pk`, in sort key order.
    async fn query_all(&self, pk: String, label: &str) -> Result<Vec<Item>, MetaError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.backend(&format!("Query {label}"), Failure::of(e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}

#[async_trait]
impl ReviewerStore for DynamoReviewerStore {
    async fn insert(&self, r: &Reviewer) -> Result<bool, MetaError> {
        let item = self.account_item(r)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.backend(
                &format!("PutItem review account {}", r.name),
                Failure::of(e),
            )),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Reviewer>, MetaError> {
        self.get_item(USERS_PK.into(), name, &format!("review account {name}"))
            .await?
            .map(Self::decode_account)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<Reviewer>, MetaError> {
        self.query_all(USERS_PK.into(), "review accounts")
            .await?
            .into_iter()
            .map(Self::decode_account)
            .collect()
    }

    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<bool, MetaError> {
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(USERS_PK))
            .key("sk", s(name))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET #h = :h, #m = :m")
            .expression_attribute_names("#h", "password_hash")
            .expression_attribute_names("#m", "must_change_password")
            .expression_attribute_values(":h", s(password_hash))
            .expression_attribute_values(":m", AttributeValue::Bool(must_change))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.backend(
                &format!("UpdateItem (password) review account {name}"),
                Failure::of(e),
            )),
        }
    }

    async fn add_token(&self, name: &str, token_sha256: &str) -> Result<(), MetaError> {
        let build = || -> Result<Vec<TransactWriteItem>, aws_sdk_dynamodb::error::BuildError> {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(USERS_PK))
                .key("sk", s(name))
                .condition_expression("attribute_exists(pk)")
                .build()?;
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(token_pk(token_sha256)))
                .item("sk", s(TOKEN_SK))
                .item("kind", s("review_token"))
                .item("name", s(name))
                .condition_expression("attribute_not_exists(pk)")
                .build()?;
            Ok(vec![
                TransactWriteItem::builder().condition_check(check).build(),
                TransactWriteItem::builder().put(put).build(),
            ])
        };
        let items = build().map_err(|e| MetaError::Backend {
            what: format!("building the token write of review account {name}"),
            source: Box::new(e),
            retryable: false,
        })?;
        // The token's hash is not a secret, but it is kept out of messages all the same.
        let label = format!("TransactWriteItems (token) review account {name}");
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_transaction_canceled_exception()) =>
            {
                // A condition failed: the hash is already recorded (the first account
                // stays, as the contract says), or the account does not exist.
                if self
                    .get_item(token_pk(token_sha256), TOKEN_SK, "review token")
                    .await?
                    .is_some()
                {
                    Ok(())
                } else {
                    Err(MetaError::Conflict(format!(
                        "review account {name} (no such account for the token)"
                    )))
                }
            }
            Err(e) => Err(self.backend(&label, Failure::of(e))),
        }
    }

    async fn by_token(&self, token_sha256: &str) -> Result<Option<Reviewer>, MetaError> {
        let Some(item) = self
            .get_item(token_pk(token_sha256), TOKEN_SK, "review token")
            .await?
        else {
            return Ok(None);
        };
        let name = item
            .get("name")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| MetaError::Corrupt {
                key: "a review token item".into(),
                message: "no string attribute name".into(),
            })?;
        self.get(name).await
    }

    async fn grant(&self, name: &str, grant: &ReviewGrant) -> Result<(), MetaError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(grant_pk(name)))
            .item("sk", s(grant_sk(grant)))
            .item("kind", s("review_grant"))
            .item("tenant", s(grant.tenant.to_string()))
            .item("user", s(grant.user.clone().unwrap_or_default()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                self.backend(
                    &format!("PutItem grant of review account {name}"),
                    Failure::of(e),
                )
            })
    }

    async fn grants(&self, name: &str) -> Result<Vec<ReviewGrant>, MetaError> {
        let items = self
            .query_all(grant_pk(name), &format!("grants of review account {name}"))
            .await?;
        items
            .into_iter()
            .map(|item| {
                let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                let corrupt = |message: String| MetaError::Corrupt {
                    key: format!(
                        "{}/{}",
                        grant_pk(name),
                        get("sk").unwrap_or_else(|| "?".into())
                    ),
                    message,
                };
                let tenant = get("tenant").ok_or_else(|| corrupt("no tenant".into()))?;
                let tenant = TenantId::new(&tenant).map_err(|e| corrupt(e.to_string()))?;
                let user = get("user").filter(|u| !u.is_empty());
                Ok(ReviewGrant { tenant, user })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_start_with_the_review_prefix_and_grants_sort_by_tenant_then_user() {
        assert!(USERS_PK.starts_with("R#"));
        assert!(token_pk("ab").starts_with("R#") && grant_pk("rita").starts_with("R#"));
        let g = |t: &str, u: Option<&str>| ReviewGrant {
            tenant: TenantId::new(t).unwrap(),
            user: u.map(str::to_string),
        };
        assert_eq!(grant_sk(&g("acme", None)), "acme#");
        assert_eq!(grant_sk(&g("acme", Some("bob@x"))), "acme#bob@x");
        assert!(grant_sk(&g("a", Some("z"))) < grant_sk(&g("a-b", None)));
    }
}
