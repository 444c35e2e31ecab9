use crate::db::{Db, DbError, add, decode, encode, parse_ts, ts};
use archiver_core::{
    Clock, DeadLetter, Delivery, DownloadTask, HeldDeadLetter, QueueCounts, QueueError, TaskQueue,
};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

impl From<DbError> for QueueError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sql(e) => QueueError::Backend {
                what: "SQLite queue".into(),
                retryable: DbError::retryable(&e),
                source: Box::new(e),
            },
            DbError::Corrupt { key, message } => QueueError::Malformed { id: key, message },
            DbError::Stale(receipt) => QueueError::StaleReceipt(receipt),
            DbError::Conflict(message) | DbError::Worker(message) => QueueError::Backend {
                what: "SQLite queue".into(),
                source: message.into(),
                retryable: false,
            },
        }
    }
}

/// A durable, at-least-once download task queue in SQLite, with SQS-like semantics.
///
/// A received task is hidden until its visibility timeout and then delivered again with a
/// new receipt (the old one becomes stale); `retry_later` schedules it; `dead_letter` moves
/// it to the `dead_letters` table with its reason. Receiving is one immediate transaction,
/// so two consumers (connections or processes) never get the same delivery, and a crash
/// leaves either the old or the new state. Time comes from the injected clock.
#[derive(Clone)]
pub struct SqliteTaskQueue {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteTaskQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTaskQueue").finish_non_exhaustive()
    }
}

impl SqliteTaskQueue {
    /// Opens (creating if needed) the queue in the database at `path` (WAL mode, schema
    /// migrated); visibility follows `clock`.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self, QueueError> {
        Ok(Self {
            db: Db::open(path.as_ref())?,
            clock,
        })
    }

    /// Makes every in-flight task visible now (their receipts become stale). For a process
    /// that is the queue's only consumer: tasks that a crashed run had received are due at
    /// once instead of after their visibility timeout. Returns how many were recovered.
    pub async fn recover_in_flight(&self) -> Result<usize, QueueError> {
        let now = ts(self.clock.now());
        Ok(self
            .db
            .call(move |c| {
                Ok(c.execute(
                    "UPDATE tasks SET state = 'queued', visible_at = ?1, receipt = NULL WHERE state = 'in_flight' AND visible_at > ?1",
                    params![now],
                )?)
            })
            .await?)
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl TaskQueue for SqliteTaskQueue {
    async fn send_batch(&self, tasks: &[DownloadTask]) -> Result<(), QueueError> {
        if tasks.is_empty() {
            return Ok(());
        }
        let now = ts(self.clock.now());
        let rows: Vec<(String, String)> = tasks
            .iter()
            .map(|t| Ok((t.task_id.clone(), encode(t)?)))
            .collect::<Result<_, DbError>>()?;
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare(
                        "INSERT INTO tasks (task_id, body, state, visible_at, receive_count) VALUES (?1, ?2, 'queued', ?3, 0)",
                    )?;
                    for (id, body) in &rows {
                        stmt.execute(params![id, body, now])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await?)
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let (now_s, hidden_until) = (ts(now), ts(add(now, visibility)));
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let picked: Vec<(i64, String, String, u32)> = {
                    let mut stmt = tx.prepare(
                        "SELECT id, task_id, body, receive_count FROM tasks WHERE visible_at <= ?1 ORDER BY visible_at, id LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![now_s, limit(max)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                    rows.collect::<Result<_, _>>()?
                };
                let mut out = Vec::with_capacity(picked.len());
                for (id, task_id, body, count) in picked {
                    match decode::<DownloadTask>(|| task_id.clone(), &body) {
                        Ok(task) => {
                            let receipt = uuid::Uuid::new_v4().to_string();
                            tx.execute(
                                "UPDATE tasks SET state = 'in_flight', visible_at = ?1, receive_count = ?2, receipt = ?3 WHERE id = ?4",
                                params![hidden_until, count + 1, receipt, id],
                            )?;
                            out.push(Delivery { task, receipt, receive_count: count + 1, received_at: now });
                        }
                        Err(DbError::Corrupt { message, .. }) => {
                            // A message that is not a task can never succeed: park it with the dead letters.
                            tracing::warn!(task_id, error = %message, "dead-lettering an undecodable task");
                            tx.execute(
                                "INSERT INTO dead_letters (task_id, body, receive_count, reason, dead_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                                params![task_id, body, count + 1, format!("malformed task: {message}"), now_s],
                            )?;
                            tx.execute("DELETE FROM tasks WHERE id = ?1", params![id])?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await?)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        Ok(self
            .db
            .call(move |c| {
                let n = c.execute("DELETE FROM tasks WHERE receipt = ?1", params![receipt])?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(DbError::Stale(receipt))
                }
            })
            .await?)
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        let visible_at = ts(add(self.clock.now(), delay));
        Ok(self
            .db
            .call(move |c| {
                let n = c.execute(
                    "UPDATE tasks SET state = 'delayed', visible_at = ?1 WHERE receipt = ?2",
                    params![visible_at, receipt],
                )?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(DbError::Stale(receipt))
                }
            })
            .await?)
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let receipt = delivery.receipt.clone();
        let reason = reason.to_string();
        let now = ts(self.clock.now());
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row: Option<(i64, String, String, u32)> = tx
                    .query_row(
                        "SELECT id, task_id, body, receive_count FROM tasks WHERE receipt = ?1",
                        params![receipt],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()?;
                let Some((id, task_id, body, count)) = row else { return Err(DbError::Stale(receipt)) };
                tx.execute(
                    "INSERT INTO dead_letters (task_id, body, receive_count, reason, dead_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![task_id, body, count, reason, now],
                )?;
                tx.execute("DELETE FROM tasks WHERE id = ?1", params![id])?;
                tx.commit()?;
                Ok(())
            })
            .await?)
    }

    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        let now = ts(self.clock.now());
        Ok(self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let (ready, in_flight, delayed, next): (i64, i64, i64, Option<String>) = tx
                    .query_row(
                        "SELECT
                        COALESCE(SUM(visible_at <= ?1), 0),
                        COALESCE(SUM(visible_at > ?1 AND state <> 'delayed'), 0),
                        COALESCE(SUM(visible_at > ?1 AND state = 'delayed'), 0),
                        MIN(CASE WHEN visible_at > ?1 THEN visible_at END)
                     FROM tasks",
                        params![now],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?;
                let dead: i64 =
                    tx.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?;
                Ok(QueueCounts {
                    ready: ready as u64,
                    in_flight: in_flight as u64,
                    delayed: delayed as u64,
                    dead: dead as u64,
                    next_visible_at: next.as_deref().map(parse_ts).transpose()?,
                })
            })
            .await?)
    }

    async fn dead_letters(&self, limit_n: usize) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(self
            .db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT task_id, body, reason, dead_at FROM dead_letters ORDER BY dead_at, id LIMIT ?1",
                )?;
                let rows = stmt.query_map(params![limit(limit_n)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (task_id, body, reason, at) = row?;
                    match decode::<DownloadTask>(|| task_id.clone(), &body) {
                        Ok(task) => out.push(DeadLetter { task, reason, at: parse_ts(&at)? }),
                        // Undecodable messages stay in the table for inspection; they cannot be listed as tasks.
                        Err(_) => continue,
                    }
                }
                Ok(out)
            })
            .await?)
    }

    /// The one consumer of this queue is this process: `visibility` is not needed (a
    /// letter not removed is simply taken again by the next call). Receipts are row ids.
    async fn take_dead_letters(
        &self,
        max: usize,
        _visibility: Duration,
    ) -> Result<Vec<HeldDeadLetter>, QueueError> {
        Ok(self
            .db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT id, task_id, body, reason, dead_at FROM dead_letters ORDER BY dead_at, id LIMIT ?1",
                )?;
                let rows = stmt.query_map(params![limit(max)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, task_id, body, reason, at) = row?;
                    if let Ok(task) = decode::<DownloadTask>(|| task_id.clone(), &body) {
                        out.push(HeldDeadLetter {
                            letter: DeadLetter { task, reason, at: parse_ts(&at)? },
                            receipt: format!("dead-{id}"),
                        });
                    }
                }
                Ok(out)
            })
            .await?)
    }

    async fn remove_dead_letter(&self, receipt: &str) -> Result<(), QueueError> {
        let id = receipt
            .strip_prefix("dead-")
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| QueueError::StaleReceipt(receipt.to_string()))?;
        Ok(self
            .db
            .call(move |c| {
                c.execute("DELETE FROM dead_letters WHERE id = ?1", params![id])?;
                Ok(())
            })
            .await?)
    }
}
