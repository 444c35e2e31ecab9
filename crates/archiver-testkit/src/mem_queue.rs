use archiver_core::{
    Clock, DeadLetter, Delivery, DownloadTask, QueueCounts, QueueError, TaskQueue,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Place {
    Queued,
    InFlight,
    Delayed,
}

struct Entry {
    task: DownloadTask,
    visible_at: DateTime<Utc>,
    receive_count: u32,
    receipt: Option<String>,
    place: Place,
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    entries: BTreeMap<u64, Entry>,
    dead: Vec<DeadLetter>,
}

/// An in-memory [`TaskQueue`] with SQS-like semantics, driven by an injected clock.
/// Clones share the same queue.
#[derive(Clone)]
pub struct MemTaskQueue {
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<Inner>>,
}

impl MemTaskQueue {
    /// An empty queue whose visibility timeouts follow `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every task not acked or dead-lettered (ready, in flight or delayed), in send order.
    pub fn pending_tasks(&self) -> Vec<DownloadTask> {
        self.lock()
            .entries
            .values()
            .map(|e| e.task.clone())
            .collect()
    }
}

impl std::fmt::Debug for MemTaskQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("MemTaskQueue")
            .field("tasks", &g.entries.len())
            .field("dead", &g.dead.len())
            .finish()
    }
}

pub(crate) fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn find<'a>(g: &'a mut Inner, receipt: &str) -> Result<(u64, &'a mut Entry), QueueError> {
    g.entries
        .iter_mut()
        .find(|(_, e)| e.receipt.as_deref() == Some(receipt))
        .map(|(k, e)| (*k, e))
        .ok_or_else(|| QueueError::StaleReceipt(receipt.to_string()))
}

#[async_trait]
impl TaskQueue for MemTaskQueue {
    async fn send_batch(&self, tasks: &[DownloadTask]) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut g = self.lock();
        for task in tasks {
            let seq = g.next_seq;
            g.next_seq += 1;
            g.entries.insert(
                seq,
                Entry {
                    task: task.clone(),
                    visible_at: now,
                    receive_count: 0,
                    receipt: None,
                    place: Place::Queued,
                },
            );
        }
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let now = self.clock.now();
        let hidden_until = add(now, visibility);
        let mut g = self.lock();
        let mut ready: Vec<(DateTime<Utc>, u64)> = g
            .entries
            .iter()
            .filter(|(_, e)| e.visible_at <= now)
            .map(|(k, e)| (e.visible_at, *k))
            .collect();
        ready.sort();
        let mut out = Vec::new();
        for (_, seq) in ready.into_iter().take(max) {
            let e = g.entries.get_mut(&seq).expect("present");
            let receipt = uuid::Uuid::new_v4().to_string();
            e.visible_at = hidden_until;
            e.receive_count += 1;
            e.receipt = Some(receipt.clone());
            e.place = Place::InFlight;
            out.push(Delivery {
                task: e.task.clone(),
                receipt,
                receive_count: e.receive_count,
            });
        }
        Ok(out)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let mut g = self.lock();
        let (seq, _) = find(&mut g, receipt)?;
        g.entries.remove(&seq);
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut g = self.lock();
        let (_, e) = find(&mut g, receipt)?;
        e.visible_at = add(now, delay);
        e.place = Place::Delayed;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut g = self.lock();
        let (seq, _) = find(&mut g, &delivery.receipt)?;
        let e = g.entries.remove(&seq).expect("present");
        g.dead.push(DeadLetter {
            task: e.task,
            reason: reason.to_string(),
            at: now,
        });
        Ok(())
    }

    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        let now = self.clock.now();
        let g = self.lock();
        let mut c = QueueCounts {
            dead: g.dead.len() as u64,
            ..QueueCounts::default()
        };
        for e in g.entries.values() {
            if e.visible_at <= now {
                c.ready += 1;
                continue;
            }
            match e.place {
                Place::Delayed => c.delayed += 1,
                Place::InFlight | Place::Queued => c.in_flight += 1,
            }
            c.next_visible_at = Some(
                c.next_visible_at
                    .map_or(e.visible_at, |n| n.min(e.visible_at)),
            );
        }
        Ok(c)
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(self.lock().dead.iter().take(limit).cloned().collect())
    }
}
