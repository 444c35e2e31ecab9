//! DynamoDB quota ledger, in the metadata table (see [`DynamoQuotaLedger`]).

use crate::error::Failure;
use archiver_core::{MetaError, QuotaLedger};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::NaiveDate;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// Days after the start of a counter's day when DynamoDB's TTL may delete it.
const TTL_DAYS: i64 = 8;

/// Counters are capped at `i64::MAX`, like the other stores.
const MAX: u64 = i64::MAX as u64;

/// [`QuotaLedger`] on the metadata table shared with
/// [`DynamoMetaStore`](crate::DynamoMetaStore) (string keys `pk`, `sk`).
///
/// One item per counter:
///
/// | attribute | value                                                     |
/// |-----------|-----------------------------------------------------------|
/// | `pk`      | `Q#{account}#{yyyy-mm-dd}` (one partition per account and day) |
/// | `sk`      | the counter key (`Heavy`, `pool:meetings`, …)             |
/// | `used`    | N, the counter's value                                    |
/// | `kind`    | `quota`                                                   |
/// | `ttl`     | N, epoch seconds of the day's start + 8 days              |
///
/// `try_add` is one `UpdateItem` (`ADD used :n`) with the condition
/// `attribute_not_exists(used) OR used <= :max` where `:max = limit - n`: DynamoDB checks
/// and writes atomically, so concurrent callers never together exceed the limit; a failed
/// condition is a refusal. `raise_to` is `SET used = :floor` on the condition
/// `attribute_not_exists(used) OR used < :floor` (reading the value when that fails).
/// `list` is one strongly consistent `Query` of the account's day partition. Each write
/// refreshes `kind` and `ttl`; TTL deletes a day's counters about a week after the day ends.
#[derive(Clone)]
pub struct DynamoQuotaLedger {
    client: Client,
    table: String,
}

impl std::fmt::Debug for DynamoQuotaLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoQuotaLedger")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn pk(account: &str, day: NaiveDate) -> String {
    format!("Q#{account}#{}", day.format("%Y-%m-%d"))
}

fn ttl(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        + TTL_DAYS * 86_400
}

/// True when an `UpdateItem` failed only because its condition did not hold.
fn is_condition_failed(e: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_conditional_check_failed_exception())
}

impl DynamoQuotaLedger {
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

    /// The `used` attribute of `item` (`None` when absent).
    fn used(item: &Item) -> Result<Option<u64>, MetaError> {
        let Some(v) = item.get("used") else {
            return Ok(None);
        };
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
        let text = v.as_n().map_err(|_| MetaError::Corrupt {
            key: key(),
            message: "used is not a number".into(),
        })?;
        text.parse::<u64>()
            .map(Some)
            .map_err(|e| MetaError::Corrupt {
                key: key(),
                message: format!("used {text:?}: {e}"),
            })
    }
}

#[async_trait]
impl QuotaLedger for DynamoQuotaLedger {
    async fn try_add(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        add: u64,
        limit: Option<u64>,
    ) -> Result<Option<u64>, MetaError> {
        let limit = limit.unwrap_or(MAX).min(MAX);
        if add > limit {
            return Ok(None);
        }
        let pk = pk(account, day);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(key))
            .update_expression("ADD #used :n SET #kind = :kind, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#used) OR #used <= :max")
            .expression_attribute_names("#used", "used")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":n", n(add))
            .expression_attribute_values(":max", n(limit - add))
            .expression_attribute_values(":kind", s("quota"))
            .expression_attribute_values(":ttl", n(ttl(day)))
            // ALL_NEW, not UPDATED_NEW: an add of 0 changes no attribute, and moto then returns
            // none (the item is 5 small attributes).
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let attrs = out.attributes.unwrap_or_default();
                match Self::used(&attrs)? {
                    Some(v) => Ok(Some(v)),
                    None => Err(MetaError::Backend {
                        what: format!("UpdateItem quota {pk}/{key} on table {}", self.table),
                        source: "the answer holds no value".into(),
                        retryable: false,
                    }),
                }
            }
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(self.backend(&format!("UpdateItem quota {pk}/{key}"), Failure::of(e))),
        }
    }

    async fn raise_to(
        &self,
        account: &str,
        key: &str,
        day: NaiveDate,
        floor: u64,
    ) -> Result<u64, MetaError> {
        let floor = floor.min(MAX);
        let pk = pk(account, day);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(key))
            .update_expression("SET #used = :floor, #kind = :kind, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#used) OR #used < :floor")
            .expression_attribute_names("#used", "used")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":floor", n(floor))
            .expression_attribute_values(":kind", s("quota"))
            .expression_attribute_values(":ttl", n(ttl(day)))
            .send()
            .await;
        match out {
            Ok(_) => Ok(floor),
            // Already at or above the floor.
            Err(e) if is_condition_failed(&e) => self.get(account, key, day).await,
            Err(e) => Err(self.backend(&format!("UpdateItem quota {pk}/{key}"), Failure::of(e))),
        }
    }

    async fn get(&self, account: &str, key: &str, day: NaiveDate) -> Result<u64, MetaError> {
        let pk = pk(account, day);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.backend(&format!("GetItem quota {pk}/{key}"), Failure::of(e)))?;
        Ok(match out.item {
            Some(item) => Self::used(&item)?.unwrap_or(0),
            None => 0,
        })
    }

    async fn list(&self, account: &str, day: NaiveDate) -> Result<Vec<(String, u64)>, MetaError> {
        let pk = pk(account, day);
        let mut counters = Vec::new();
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
                .map_err(|e| self.backend(&format!("Query quota {pk}"), Failure::of(e)))?;
            for item in out.items.unwrap_or_default() {
                let Some(AttributeValue::S(key)) = item.get("sk") else {
                    return Err(MetaError::Corrupt {
                        key: pk.clone(),
                        message: "an item without a string sk".into(),
                    });
                };
                counters.push((key.clone(), Self::used(&item)?.unwrap_or(0)));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        counters.sort();
        Ok(counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ttl() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(pk("acc", d), "Q#acc#2026-01-01");
        // 2026-01-09T00:00:00Z
        assert_eq!(ttl(d), 1_767_916_800);
    }
}
