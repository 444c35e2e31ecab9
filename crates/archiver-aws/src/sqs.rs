//! SQS task queue with a dead-letter queue.
//!
//! - `send_batch`: `SendMessageBatch` of 10; the JSON body is the [`DownloadTask`], with
//!   message attributes `tenant` and `source`. Entries that fail for a server-side reason
//!   are sent again (3 attempts, short backoff); a sender fault fails the call.
//! - `receive`: `ReceiveMessage` (≤ 10 per call, looped) with the given visibility timeout;
//!   `receive_count` is `ApproximateReceiveCount`. A message that is not a task is moved to
//!   the DLQ with the decode error as its reason and is not returned.
//! - `ack` deletes; `retry_later` is `ChangeMessageVisibility` (capped at 12 hours);
//!   `dead_letter` sends the body to the DLQ with the attributes `reason` and `dead_at`,
//!   then deletes the message from the main queue.
//! - `counts` reads `ApproximateNumberOf{Messages,MessagesNotVisible,MessagesDelayed}`;
//!   `dead` is the DLQ's visible plus invisible count.
//! - `dead_letters` receives from the DLQ with a 30-second visibility and makes every
//!   message visible again at once (`ChangeMessageVisibility 0`): nothing is consumed.
//!   Messages the redrive policy moved there (after `maxReceiveCount` deliveries) have no
//!   `reason`; they are reported as `"maxReceiveCount exceeded"`.

use crate::error::Failure;
use archiver_core::{
    Clock, DeadLetter, Delivery, DownloadTask, HeldDeadLetter, QueueCounts, QueueError, TaskQueue,
};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The longest visibility timeout SQS accepts.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);
const DLQ_PEEK_VISIBILITY: i32 = 30;
const REDRIVE_REASON: &str = "maxReceiveCount exceeded";
/// SQS limits a message attribute value; reasons longer than this are cut.
const MAX_REASON_BYTES: usize = 4096;

/// [`TaskQueue`] on an SQS standard queue and its dead-letter queue.
#[derive(Clone)]
pub struct SqsTaskQueue {
    client: Client,
    queue_name: String,
    dlq_name: String,
    queue_url: Arc<OnceCell<String>>,
    dlq_url: Arc<OnceCell<String>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqsTaskQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsTaskQueue")
            .field("queue", &self.queue_name)
            .field("dlq", &self.dlq_name)
            .finish_non_exhaustive()
    }
}

fn str_attr(v: impl Into<String>) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v.into())
        .build()
        .expect("data type is set")
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl SqsTaskQueue {
    /// The SDK client (for operations outside the port).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Wraps a client for the named queue and DLQ (URLs are looked up on first use).
    pub fn new(client: Client, queue_name: &str, dlq_name: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            queue_name: queue_name.into(),
            dlq_name: dlq_name.into(),
            queue_url: Arc::new(OnceCell::new()),
            dlq_url: Arc::new(OnceCell::new()),
            clock,
        }
    }

    fn backend(&self, what: &str, queue: &str, f: Failure) -> QueueError {
        QueueError::Backend {
            what: format!("{what} on queue {queue}"),
            retryable: f.retryable,
            source: f.into_source(),
        }
    }

    async fn url(&self, dlq: bool) -> Result<&str, QueueError> {
        let (cell, name) = if dlq {
            (&self.dlq_url, &self.dlq_name)
        } else {
            (&self.queue_url, &self.queue_name)
        };
        cell.get_or_try_init(|| async {
            let out = self
                .client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| self.backend("GetQueueUrl", name, Failure::of(e)))?;
            out.queue_url.ok_or_else(|| QueueError::Backend {
                what: format!("GetQueueUrl {name}"),
                source: "no queue URL in the answer".into(),
                retryable: false,
            })
        })
        .await
        .map(String::as_str)
    }

    /// The main queue's URL.
    pub async fn queue_url(&self) -> Result<String, QueueError> {
        self.url(false).await.map(str::to_owned)
    }

    /// The dead-letter queue's URL.
    pub async fn dlq_url(&self) -> Result<String, QueueError> {
        self.url(true).await.map(str::to_owned)
    }

    fn stale_or_backend(&self, what: &str, receipt: &str, f: Failure) -> QueueError {
        if f.is("ReceiptHandleIsInvalid")
            || f.is("InvalidParameterValue") && f.message.contains("eceipt")
            || f.is("MessageNotInflight")
        {
            QueueError::StaleReceipt(cut(receipt, 32).to_string())
        } else {
            self.backend(what, &self.queue_name, f)
        }
    }

    async fn send_to_dlq(
        &self,
        body: &str,
        reason: &str,
        attrs: HashMap<String, MessageAttributeValue>,
    ) -> Result<(), QueueError> {
        let url = self.url(true).await?;
        let mut attrs = attrs;
        attrs.insert("reason".into(), str_attr(cut(reason, MAX_REASON_BYTES)));
        attrs.insert("dead_at".into(), str_attr(self.clock.now().to_rfc3339()));
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .set_message_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| self.backend("SendMessage", &self.dlq_name, Failure::of(e)))?;
        Ok(())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let url = self.url(false).await?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| self.stale_or_backend("DeleteMessage", receipt, Failure::of(e)))?;
        Ok(())
    }

    async fn approximate(
        &self,
        dlq: bool,
    ) -> Result<HashMap<QueueAttributeName, String>, QueueError> {
        let url = self.url(dlq).await?;
        let name = if dlq {
            &self.dlq_name
        } else {
            &self.queue_name
        };
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| self.backend("GetQueueAttributes", name, Failure::of(e)))?;
        Ok(out.attributes.unwrap_or_default())
    }
}

fn count(attrs: &HashMap<QueueAttributeName, String>, name: QueueAttributeName) -> u64 {
    attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn secs(d: Duration) -> i32 {
    d.min(MAX_VISIBILITY).as_secs_f64().ceil() as i32
}

impl SqsTaskQueue {
    /// Moves a message that is not a task (its raw `body`) to the dead-letter queue with
    /// `reason`, then deletes it from the main queue by its `receipt`. (A [`TaskQueue`]
    /// cannot express it: it only knows tasks.)
    pub async fn dead_letter_raw(
        &self,
        receipt: &str,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.send_to_dlq(body, reason, HashMap::new()).await?;
        self.delete(receipt).await
    }
}

impl SqsTaskQueue {
    /// Receives up to `limit` dead letters, hidden for `visibility` seconds: each with its
    /// message id and receipt, and every receipt taken (messages that are not tasks too),
    /// and how the receiving ended.
    #[allow(clippy::type_complexity)]
    async fn receive_dead(
        &self,
        limit: usize,
        visibility: i32,
    ) -> Result<
        (
            Vec<(DeadLetter, String, String)>,
            Vec<String>,
            Result<(), QueueError>,
        ),
        QueueError,
    > {
        let url = self.url(true).await?;
        let mut seen: Vec<(DeadLetter, String, String)> = Vec::new();
        let mut receipts: Vec<String> = Vec::new();
        let mut result: Result<(), QueueError> = Ok(());
        while seen.len() < limit {
            let n = (limit - seen.len()).min(10) as i32;
            let resp = match self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(n)
                .visibility_timeout(visibility)
                .wait_time_seconds(0)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_attribute_names("All")
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    result = Err(self.backend("ReceiveMessage", &self.dlq_name, Failure::of(e)));
                    break;
                }
            };
            let msgs = resp.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                let receipt = m.receipt_handle.clone().unwrap_or_default();
                if !receipt.is_empty() {
                    receipts.push(receipt.clone());
                }
                let id = m.message_id.clone().unwrap_or_default();
                let Ok(task) =
                    serde_json::from_str::<DownloadTask>(m.body.as_deref().unwrap_or(""))
                else {
                    tracing::warn!(queue = %self.dlq_name, message_id = %id, "the dead-letter queue holds a message that is not a task");
                    continue;
                };
                let attrs = m.message_attributes.unwrap_or_default();
                let attr = |k: &str| attrs.get(k).and_then(|v| v.string_value.clone());
                let sent = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(DateTime::<Utc>::from_timestamp_millis);
                let at = attr("dead_at")
                    .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .or(sent)
                    .unwrap_or_else(|| self.clock.now());
                let reason = attr("reason").unwrap_or_else(|| REDRIVE_REASON.to_string());
                seen.push((DeadLetter { task, reason, at }, id, receipt));
            }
        }
        Ok((seen, receipts, result))
    }
}

#[async_trait]
impl TaskQueue for SqsTaskQueue {
    async fn send_batch(&self, tasks: &[DownloadTask]) -> Result<(), QueueError> {
        let url = self.url(false).await?;
        for chunk in tasks.chunks(10) {
            let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::with_capacity(chunk.len());
            for (i, t) in chunk.iter().enumerate() {
                let body = serde_json::to_string(t).map_err(|e| QueueError::Backend {
                    what: format!("encoding task {}", t.task_id),
                    source: Box::new(e),
                    retryable: false,
                })?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .message_attributes("tenant", str_attr(t.tenant.as_str()))
                    .message_attributes("source", str_attr(t.source.as_str()))
                    .build()
                    .map_err(|e| QueueError::Backend {
                        what: format!("SendMessageBatch entry for task {}", t.task_id),
                        source: Box::new(e),
                        retryable: false,
                    })?;
                entries.push(entry);
            }
            let mut attempt = 0;
            while !entries.is_empty() {
                attempt += 1;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        self.backend("SendMessageBatch", &self.queue_name, Failure::of(e))
                    })?;
                if out.failed.is_empty() {
                    break;
                }
                if let Some(f) = out.failed.iter().find(|f| f.sender_fault) {
                    return Err(QueueError::Backend {
                        what: format!("SendMessageBatch on queue {}", self.queue_name),
                        source: format!(
                            "refused a task: {} {}",
                            f.code,
                            f.message.clone().unwrap_or_default()
                        )
                        .into(),
                        retryable: false,
                    });
                }
                if attempt >= 3 {
                    let f = &out.failed[0];
                    return Err(QueueError::Backend {
                        what: format!("SendMessageBatch on queue {}", self.queue_name),
                        source: format!("{} entries still failing ({})", out.failed.len(), f.code)
                            .into(),
                        retryable: true,
                    });
                }
                let failed: Vec<&str> = out.failed.iter().map(|f| f.id.as_str()).collect();
                entries.retain(|e| failed.contains(&e.id()));
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let url = self.url(false).await?;
        let mut out = Vec::new();
        while out.len() < max {
            let n = (max - out.len()).min(10) as i32;
            let resp = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(n)
                .visibility_timeout(secs(visibility))
                .wait_time_seconds(0)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| self.backend("ReceiveMessage", &self.queue_name, Failure::of(e)))?;
            let msgs = resp.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                let Some(receipt) = m.receipt_handle.clone() else {
                    continue;
                };
                let id = m.message_id.clone().unwrap_or_default();
                let body = m.body.clone().unwrap_or_default();
                match serde_json::from_str::<DownloadTask>(&body) {
                    Ok(task) => {
                        let receive_count = m
                            .attributes
                            .as_ref()
                            .and_then(|a| {
                                a.get(&MessageSystemAttributeName::ApproximateReceiveCount)
                            })
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1);
                        out.push(Delivery {
                            task,
                            receipt,
                            receive_count,
                            received_at: self.clock.now(),
                        });
                    }
                    Err(e) => {
                        let reason = format!("message {id} is not a download task: {e}");
                        tracing::warn!(queue = %self.queue_name, message_id = %id, error = %e, "dead-lettering a malformed message");
                        self.dead_letter_raw(&receipt, &body, &reason).await?;
                    }
                }
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.delete(receipt).await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let url = self.url(false).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(secs(delay))
            .send()
            .await
            .map_err(|e| {
                self.stale_or_backend("ChangeMessageVisibility", receipt, Failure::of(e))
            })?;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let t = &delivery.task;
        let body = serde_json::to_string(t).map_err(|e| QueueError::Backend {
            what: format!("encoding task {}", t.task_id),
            source: Box::new(e),
            retryable: false,
        })?;
        let attrs = HashMap::from([
            ("tenant".to_string(), str_attr(t.tenant.as_str())),
            ("source".to_string(), str_attr(t.source.as_str())),
        ]);
        self.send_to_dlq(&body, reason, attrs).await?;
        self.delete(&delivery.receipt).await
    }

    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        let main = self.approximate(false).await?;
        let dlq = self.approximate(true).await?;
        Ok(QueueCounts {
            ready: count(&main, QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(
                &main,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ),
            delayed: count(
                &main,
                QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            ),
            dead: count(&dlq, QueueAttributeName::ApproximateNumberOfMessages)
                + count(
                    &dlq,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                ),
            next_visible_at: None,
        })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let url = self.url(true).await?;
        let (mut seen, receipts, result) = self.receive_dead(limit, DLQ_PEEK_VISIBILITY).await?;
        // Make everything visible again: peeking must not hide dead letters.
        for r in receipts {
            if let Err(e) = self
                .client
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(&r)
                .visibility_timeout(0)
                .send()
                .await
            {
                tracing::warn!(queue = %self.dlq_name, error = %Failure::of(e).message, "could not make a peeked dead letter visible again");
            }
        }
        result?;
        seen.sort_by(|a, b| (a.0.at, &a.1).cmp(&(b.0.at, &b.1)));
        Ok(seen.into_iter().map(|(d, _, _)| d).collect())
    }

    async fn take_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<HeldDeadLetter>, QueueError> {
        let secs = visibility.as_secs().clamp(1, MAX_VISIBILITY.as_secs()) as i32;
        let (mut seen, _, result) = self.receive_dead(max, secs).await?;
        if seen.is_empty() {
            result?;
        }
        seen.sort_by(|a, b| (a.0.at, &a.1).cmp(&(b.0.at, &b.1)));
        Ok(seen
            .into_iter()
            .map(|(letter, _, receipt)| HeldDeadLetter { letter, receipt })
            .collect())
    }

    async fn remove_dead_letter(&self, receipt: &str) -> Result<(), QueueError> {
        let url = self.url(true).await?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| self.stale_or_backend("DeleteMessage", receipt, Failure::of(e)))?;
        Ok(())
    }
}
