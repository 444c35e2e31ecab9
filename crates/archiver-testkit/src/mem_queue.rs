//! An in-memory task queue that behaves as SQS does, including what the local AWS emulator
//! (moto) does not enforce.
//!
//! - **At-least-once**: a received message that is neither deleted nor changed becomes
//!   visible again when its visibility timeout ends; with
//!   [`MemTaskQueue::with_duplicate_deliveries`] some messages are also delivered twice at
//!   once, as a standard queue may.
//! - **Receive count and redrive**: each receive counts; a message received
//!   [`MAX_RECEIVE_COUNT`] times that becomes visible again is moved to the dead-letter
//!   queue by the queue itself, without a reason (SQS's redrive policy), instead of being
//!   delivered a 51st time.
//! - **The 12-hour visibility horizon**: `ChangeMessageVisibility` (and a receive's
//!   visibility) may not reach past 12 hours from the moment the message was received; a
//!   change past it is refused with an error, as SQS does (moto accepts it).
//! - **Receipts**: only the receipt of a message's latest delivery is valid.
//!
//! Time follows the injected clock.

use archiver_core::{
    Clock, DeadLetter, Delivery, DownloadTask, HeldDeadLetter, MAX_RECEIVE_COUNT, QueueCounts,
    QueueError, TaskQueue, VISIBILITY_HORIZON,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The reason SQS gives a message its redrive policy moved (it gives none; adapters say this).
pub const REDRIVE_REASON: &str = "maxReceiveCount exceeded";

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
    received_at: Option<DateTime<Utc>>,
    place: Place,
}

struct DeadEntry {
    id: u64,
    letter: DeadLetter,
    hidden_until: Option<DateTime<Utc>>,
}

impl Inner {
    fn bury(&mut self, letter: DeadLetter) {
        self.next_dead += 1;
        self.dead.push(DeadEntry {
            id: self.next_dead,
            letter,
            hidden_until: None,
        });
    }
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    entries: BTreeMap<u64, Entry>,
    dead: Vec<DeadEntry>,
    next_dead: u64,
    receives: u64,
    redriven: u64,
}

/// An in-memory [`TaskQueue`] with SQS's semantics (see the module docs), driven by an
/// injected clock. Clones share the same queue.
#[derive(Clone)]
pub struct MemTaskQueue {
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<Inner>>,
    max_receive_count: u32,
    duplicate_every: Option<u64>,
}

impl MemTaskQueue {
    /// An empty queue whose visibility timeouts follow `clock`, with the deployment's
    /// redrive policy ([`MAX_RECEIVE_COUNT`]).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            inner: Arc::default(),
            max_receive_count: MAX_RECEIVE_COUNT,
            duplicate_every: None,
        }
    }

    /// The same queue with another `maxReceiveCount` (0: no redrive policy).
    pub fn with_max_receive_count(mut self, n: u32) -> Self {
        self.max_receive_count = n;
        self
    }

    /// Every `n`-th receive also leaves a second copy of the message visible, delivered
    /// again at once (a standard queue's at-least-once delivery).
    pub fn with_duplicate_deliveries(mut self, n: u64) -> Self {
        self.duplicate_every = Some(n.max(1));
        self
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

    /// Messages moved to the dead-letter queue by the redrive policy (not by a consumer).
    pub fn redriven(&self) -> u64 {
        self.lock().redriven
    }

    /// Receives made (each delivery of a message counts one).
    pub fn receives(&self) -> u64 {
        self.lock().receives
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

fn beyond_horizon(what: &str, received_at: DateTime<Utc>, until: DateTime<Utc>) -> QueueError {
    QueueError::Backend {
        what: format!("{what} (InvalidParameterValue)"),
        source: format!(
            "the visibility timeout may not reach past 12 hours from the receive at {received_at}: asked until {until}"
        )
        .into(),
        retryable: false,
    }
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
                    received_at: None,
                    place: Place::Queued,
                },
            );
        }
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let now = self.clock.now();
        if visibility > VISIBILITY_HORIZON {
            return Err(beyond_horizon("ReceiveMessage", now, add(now, visibility)));
        }
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
        for (_, seq) in ready {
            if out.len() >= max {
                break;
            }
            // The redrive policy: a message received maxReceiveCount times goes to the DLQ
            // instead of being delivered again.
            let count = g.entries[&seq].receive_count;
            if self.max_receive_count > 0 && count >= self.max_receive_count {
                let e = g.entries.remove(&seq).expect("present");
                g.bury(DeadLetter {
                    task: e.task,
                    reason: REDRIVE_REASON.into(),
                    at: now,
                });
                g.redriven += 1;
                continue;
            }
            g.receives += 1;
            let duplicate = self
                .duplicate_every
                .is_some_and(|n| g.receives.is_multiple_of(n));
            let e = g.entries.get_mut(&seq).expect("present");
            let receipt = uuid::Uuid::new_v4().to_string();
            e.visible_at = hidden_until;
            e.receive_count += 1;
            e.receipt = Some(receipt.clone());
            e.received_at = Some(now);
            e.place = Place::InFlight;
            let delivery = Delivery {
                task: e.task.clone(),
                receipt,
                receive_count: e.receive_count,
                received_at: now,
            };
            if duplicate {
                let copy = Entry {
                    task: e.task.clone(),
                    visible_at: now,
                    receive_count: e.receive_count,
                    receipt: None,
                    received_at: None,
                    place: Place::Queued,
                };
                let seq = g.next_seq;
                g.next_seq += 1;
                g.entries.insert(seq, copy);
            }
            out.push(delivery);
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
        let until = add(now, delay);
        let received_at = e.received_at.unwrap_or(now);
        if until > add(received_at, VISIBILITY_HORIZON) {
            return Err(beyond_horizon(
                "ChangeMessageVisibility",
                received_at,
                until,
            ));
        }
        e.visible_at = until;
        e.place = Place::Delayed;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let now = self.clock.now();
        let mut g = self.lock();
        let (seq, _) = find(&mut g, &delivery.receipt)?;
        let e = g.entries.remove(&seq).expect("present");
        g.bury(DeadLetter {
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
        Ok(self
            .lock()
            .dead
            .iter()
            .take(limit)
            .map(|d| d.letter.clone())
            .collect())
    }

    async fn take_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<HeldDeadLetter>, QueueError> {
        let now = self.clock.now();
        let until = now + chrono::Duration::from_std(visibility).unwrap_or_default();
        let mut g = self.lock();
        let mut out = Vec::new();
        for d in g.dead.iter_mut() {
            if out.len() >= max {
                break;
            }
            if d.hidden_until.is_some_and(|h| h > now) {
                continue;
            }
            d.hidden_until = Some(until);
            out.push(HeldDeadLetter {
                letter: d.letter.clone(),
                receipt: format!("dead-{}", d.id),
            });
        }
        Ok(out)
    }

    async fn remove_dead_letter(&self, receipt: &str) -> Result<(), QueueError> {
        let id = receipt
            .strip_prefix("dead-")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| QueueError::StaleReceipt(receipt.to_string()))?;
        self.lock().dead.retain(|d| d.id != id);
        Ok(())
    }
}
