//! Draining the task queue with a bounded number of concurrent workers.
//!
//! Used by the local process (`run`, `run --once`, the demo) and by `--backend aws run
//! --once`; on AWS proper, the Lambda runtime delivers SQS batches to the downloader
//! function instead. Each worker receives one task at a time, hands it to the
//! [`Downloader`], and applies the outcome to the queue (ack, retry later, dead-letter).
//! The drain ends when the queue holds nothing ready, in flight or delayed, when what is
//! left is only due later than `max_wait` (reported as deferred: e.g. a daily rate limit
//! that resets at 00:00 UTC), or when what is left in flight is only this drain's own
//! deliveries whose outcome could not be written (reported as unsettled; never waited for).

use super::downloader::{Downloader, TaskOutcome};
use super::settle::{Ack, apply_outcome};
use crate::domain::{DownloadTask, TenantId};
use crate::ports::{Clock, Delivery, QueueError, TaskQueue, ZoomApi};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{error, warn};

/// The Zoom client of each tenant.
pub type ZoomClients = HashMap<TenantId, Arc<dyn ZoomApi>>;

/// How a drain runs.
#[derive(Clone, Debug)]
pub struct DrainOptions {
    /// Concurrent downloads.
    pub concurrency: usize,
    /// Visibility timeout of a received task (longer than a download takes).
    pub visibility: Duration,
    /// Stop waiting when the next task is due later than this.
    pub max_wait: Duration,
    /// Longest single idle sleep while waiting for delayed tasks.
    pub idle_poll: Duration,
    /// Set to stop: workers take no new task (the downloads in hand finish) and the drain
    /// ends (a process's SIGTERM or Ctrl-C).
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            visibility: Duration::from_secs(30 * 60),
            max_wait: Duration::from_secs(30 * 60),
            idle_poll: Duration::from_millis(500),
            stop: None,
        }
    }
}

/// One task's final word in a drain.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResult {
    /// The task.
    pub task: DownloadTask,
    /// What happened (for dead letters: the reason).
    pub detail: String,
}

/// What a drain did.
#[derive(Clone, Debug, Default)]
pub struct DrainReport {
    /// Tasks finished (archived, already archived, gone).
    pub done: Vec<TaskResult>,
    /// Tasks dead-lettered with their reason.
    pub dead: Vec<TaskResult>,
    /// Retries scheduled.
    pub retries: u64,
    /// Tasks still queued when the drain stopped (due later than `max_wait`).
    pub deferred: u64,
    /// Tasks whose outcome could not be written to the queue (an ack that kept failing):
    /// in flight with nobody working on them. The drain does not wait for them; the queue
    /// delivers them again (the next run, at once, locally) and the downloader settles
    /// them without a second download.
    pub unsettled: u64,
}

/// Called after each task with its outcome (progress display).
pub type OnOutcome<'a> = &'a (dyn Fn(&Delivery, &TaskOutcome) + Send + Sync);

fn stopping(opts: &DrainOptions) -> bool {
    opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
}

/// Drains `queue` with `downloader` until nothing is left to do now.
pub async fn drain(
    queue: &dyn TaskQueue,
    clock: &dyn Clock,
    downloader: &Downloader,
    zooms: &ZoomClients,
    opts: &DrainOptions,
    on_outcome: Option<OnOutcome<'_>>,
) -> Result<DrainReport, QueueError> {
    let report = Mutex::new(DrainReport::default());
    let stop = Mutex::new(None::<QueueError>);
    // Tasks this drain's workers are handling right now, and consecutive receive failures.
    let busy = AtomicUsize::new(0);
    // Deliveries of this drain left in flight because their outcome could not be applied.
    let orphans = AtomicUsize::new(0);
    let receive_failures = AtomicUsize::new(0);
    let workers = opts.concurrency.max(1);
    futures::stream::iter(0..workers)
        .for_each_concurrent(workers, |_| async {
            loop {
                if stop.lock().unwrap().is_some() || stopping(opts) {
                    return;
                }
                // Counted busy from before the receive: a worker that finds the queue empty
                // must not conclude that nobody holds a task while this one is receiving it
                // (it would wait the in-flight task's visibility out, and a simulated clock
                // would jump past it: a second delivery).
                busy.fetch_add(1, Ordering::SeqCst);
                let deliveries = match queue.receive(1, opts.visibility).await {
                    Ok(d) => {
                        receive_failures.store(0, Ordering::SeqCst);
                        d
                    }
                    Err(e) => {
                        busy.fetch_sub(1, Ordering::SeqCst);
                        let failures = receive_failures.fetch_add(1, Ordering::SeqCst) + 1;
                        let retryable = matches!(e, QueueError::Backend { retryable: true, .. });
                        if retryable && failures < 6 {
                            warn!(error = %e, failures, "receiving from the task queue failed; retrying");
                            tokio::time::sleep(Duration::from_millis(50u64 << failures.min(6))).await;
                            continue;
                        }
                        error!(error = %e, "receiving from the task queue failed");
                        stop.lock().unwrap().get_or_insert(e);
                        return;
                    }
                };
                let Some(delivery) = deliveries.into_iter().next() else {
                    busy.fetch_sub(1, Ordering::SeqCst);
                    match queue.counts().await {
                        Ok(c) if c.is_drained() => return,
                        Ok(c) => {
                            if c.ready > 0 {
                                continue;
                            }
                            let now = clock.now();
                            let wait = c.next_visible_at.map(|t| (t - now).to_std().unwrap_or_default()).unwrap_or(opts.idle_poll);
                            if busy.load(Ordering::SeqCst) > 0 {
                                // Another worker of this drain is busy: wait in real time, so that a
                                // simulated clock does not race past its visibility timeout and lease.
                                tokio::time::sleep(opts.idle_poll.min(Duration::from_millis(20))).await;
                                continue;
                            }
                            // Nobody here is working. In flight with nobody working on them are
                            // only this drain's own orphans (their outcome could not be applied):
                            // waiting their visibility out (30 minutes) would hang the run for
                            // nothing, they are settled by their next delivery. Exit.
                            let orphaned = orphans.load(Ordering::SeqCst) as u64;
                            if c.ready == 0 && c.delayed == 0 && c.in_flight <= orphaned {
                                report.lock().unwrap().unsettled = orphaned;
                                return;
                            }
                            // What is left is scheduled for later, or in flight with a consumer
                            // that is gone (a crash), visible again at its timeout. Wait for the
                            // first, unless it is too far off.
                            if wait > opts.max_wait {
                                report.lock().unwrap().deferred = c.delayed + c.in_flight;
                                return;
                            }
                            // (In steps, when it may be asked to stop.)
                            let step = if opts.stop.is_some() { wait.min(Duration::from_secs(1)) } else { wait };
                            clock.sleep(step.max(Duration::from_millis(1))).await;
                            continue;
                        }
                        Err(e) => {
                            stop.lock().unwrap().get_or_insert(e);
                            return;
                        }
                    }
                };
                let outcome = match zooms.get(&delivery.task.tenant) {
                    Some(zoom) => downloader.handle(&delivery, zoom.as_ref()).await,
                    None => TaskOutcome::DeadLetter { reason: format!("tenant {} is not configured", delivery.task.tenant) },
                };
                if let Some(cb) = on_outcome {
                    cb(&delivery, &outcome);
                }
                match &outcome {
                    TaskOutcome::Done(detail) => report.lock().unwrap().done.push(TaskResult { task: delivery.task.clone(), detail: detail.clone() }),
                    TaskOutcome::Retry { .. } => report.lock().unwrap().retries += 1,
                    TaskOutcome::DeadLetter { reason } => report.lock().unwrap().dead.push(TaskResult { task: delivery.task.clone(), detail: reason.clone() }),
                }
                // A failing queue write (a busy database, a throttled queue) is tried again
                // briefly before the delivery is left to its visibility timeout.
                let mut applied = apply_outcome(queue, &delivery, &outcome, Ack::Explicit, clock.now()).await;
                for pause in [10u64, 50, 250] {
                    match &applied {
                        Err(QueueError::Backend { retryable: true, .. }) => {
                            tokio::time::sleep(Duration::from_millis(pause)).await;
                            applied = apply_outcome(queue, &delivery, &outcome, Ack::Explicit, clock.now()).await;
                        }
                        _ => break,
                    }
                }
                match applied {
                    Ok(_) => {}
                    Err(QueueError::StaleReceipt(r)) => warn!(receipt = %r, "task was redelivered meanwhile; its new delivery decides"),
                    Err(e) => {
                        orphans.fetch_add(1, Ordering::SeqCst);
                        error!(error = %e, "applying a task outcome failed; the task will be delivered again");
                    }
                }
                busy.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .await;
    if let Some(e) = stop.into_inner().unwrap() {
        return Err(e);
    }
    Ok(report.into_inner().unwrap())
}
