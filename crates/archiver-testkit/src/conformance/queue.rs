use crate::ManualClock;
use crate::fixtures::{self, t0, task};
use archiver_core::{Clock, QueueCounts, QueueError, TaskQueue};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const VIS: Duration = Duration::from_secs(30);

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

fn stale<T: std::fmt::Debug>(r: Result<T, QueueError>) -> bool {
    matches!(r, Err(QueueError::StaleReceipt(_)))
}

async fn counts(q: &dyn TaskQueue) -> QueueCounts {
    q.counts().await.expect("counts")
}

/// Asserts the [`TaskQueue`] contract. `make` is called once per scenario with a fresh
/// [`ManualClock`] (starting at [`fixtures::t0`]) and must return a new, empty queue that
/// reads time from that clock.
///
/// Covers: send/receive/ack, visibility expiry and redelivery (receive count 2, old receipt
/// stale), `retry_later` delays, dead-lettering with reason and time, counts at each step,
/// the `receive(max)` limit, and a batch of 25 tasks each received exactly once.
pub async fn task_queue<F, Fut>(make: F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    basic(&make).await;
    redelivery(&make).await;
    retry_later(&make).await;
    dead_letters(&make).await;
    receive_limit(&make).await;
    batch_of_25(&make).await;
    horizon_steps(&make).await;
}

/// A delivery says when it was received, and a wait armed by the core's rule
/// (`Delivery::within_horizon`: at most 11 hours from the receive) is accepted by every
/// queue, SQS's 12-hour visibility horizon included.
async fn horizon_steps<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (clock, q) = fresh(make).await;
    q.send_batch(&[task("acme", "h1")]).await.unwrap();
    let d = q.receive(1, VIS).await.unwrap().pop().expect("a delivery");
    assert_eq!(
        d.received_at,
        clock.now(),
        "a delivery carries its receive time"
    );
    // Ten minutes later a 14-hour wait (a daily limit) is wanted: armed within the horizon.
    clock.advance(chrono::Duration::minutes(10));
    let wait = d.within_horizon(Duration::from_secs(14 * 3600), clock.now());
    assert_eq!(wait, Duration::from_secs(11 * 3600 - 600));
    q.retry_later(&d.receipt, wait)
        .await
        .expect("a wait inside the horizon");
    clock.advance(secs(11 * 3600 - 601));
    assert!(
        q.receive(1, VIS).await.unwrap().is_empty(),
        "not before its time"
    );
    clock.advance(secs(2));
    let d = q
        .receive(1, VIS)
        .await
        .unwrap()
        .pop()
        .expect("visible again");
    assert_eq!(
        d.received_at,
        clock.now(),
        "the horizon runs from the new receive"
    );
    assert_eq!(d.receive_count, 2);
}

async fn fresh<F, Fut>(make: &F) -> (Arc<ManualClock>, Arc<dyn TaskQueue>)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let clock = Arc::new(ManualClock::new(t0()));
    let q = make(clock.clone()).await;
    assert_eq!(
        counts(&*q).await,
        QueueCounts::default(),
        "a new queue must be empty"
    );
    (clock, q)
}

async fn basic<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (clock, q) = fresh(make).await;
    let q = &*q;
    assert!(
        q.receive(10, VIS).await.unwrap().is_empty(),
        "an empty queue delivers nothing"
    );
    let t = task("acme", "f1");
    q.send_batch(std::slice::from_ref(&t)).await.unwrap();
    q.send_batch(&[]).await.expect("an empty batch is fine");
    assert_eq!(
        counts(q).await,
        QueueCounts {
            ready: 1,
            ..QueueCounts::default()
        }
    );
    let d = q.receive(10, VIS).await.unwrap();
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d.task, t, "the task must round-trip");
    assert_eq!(d.receive_count, 1);
    assert!(!d.receipt.is_empty());
    assert_eq!(
        counts(q).await,
        QueueCounts {
            in_flight: 1,
            next_visible_at: Some(t0() + secs(30)),
            ..QueueCounts::default()
        },
        "a received task is in flight until its visibility ends"
    );
    assert!(
        q.receive(10, VIS).await.unwrap().is_empty(),
        "an in-flight task is hidden"
    );
    clock.advance(secs(10));
    assert!(
        q.receive(10, VIS).await.unwrap().is_empty(),
        "still hidden before the visibility ends"
    );
    q.ack(&d.receipt).await.expect("ack");
    assert_eq!(
        counts(q).await,
        QueueCounts::default(),
        "an acked task is gone"
    );
    assert!(
        stale(q.ack(&d.receipt).await),
        "a second ack must be StaleReceipt"
    );
    assert!(
        stale(q.ack("no-such-receipt").await),
        "an unknown receipt must be StaleReceipt"
    );
    clock.advance(secs(60));
    assert!(
        q.receive(10, VIS).await.unwrap().is_empty(),
        "an acked task is never redelivered"
    );
}

async fn redelivery<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (clock, q) = fresh(make).await;
    let q = &*q;
    let t = task("acme", "f1");
    q.send_batch(std::slice::from_ref(&t)).await.unwrap();
    let first = q.receive(1, VIS).await.unwrap().remove(0);
    clock.advance(secs(29));
    assert!(q.receive(1, VIS).await.unwrap().is_empty());
    clock.advance(secs(2));
    assert_eq!(
        counts(q).await,
        QueueCounts {
            ready: 1,
            ..QueueCounts::default()
        },
        "visible again after the timeout"
    );
    let second = q.receive(1, VIS).await.unwrap();
    assert_eq!(
        second.len(),
        1,
        "an unacked task is redelivered after its visibility timeout"
    );
    let second = &second[0];
    assert_eq!(second.task, t);
    assert_eq!(second.receive_count, 2, "receive_count counts deliveries");
    assert_ne!(
        second.receipt, first.receipt,
        "each delivery has a fresh receipt"
    );
    assert!(
        stale(q.ack(&first.receipt).await),
        "the receipt of an earlier delivery must be stale"
    );
    assert!(
        stale(q.retry_later(&first.receipt, VIS).await),
        "retry_later with a stale receipt"
    );
    assert!(
        stale(q.dead_letter(&first, "x").await),
        "dead_letter with a stale receipt"
    );
    assert_eq!(counts(q).await.in_flight, 1, "stale calls change nothing");
    assert_eq!(counts(q).await.dead, 0);
    q.ack(&second.receipt).await.unwrap();
    assert!(counts(q).await.is_drained());
}

async fn retry_later<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (clock, q) = fresh(make).await;
    let q = &*q;
    let (a, b) = (task("acme", "a"), task("acme", "b"));
    q.send_batch(&[a.clone(), b.clone()]).await.unwrap();
    let ds = q.receive(2, VIS).await.unwrap();
    assert_eq!(ds.len(), 2);
    let da = ds
        .iter()
        .find(|d| d.task == a)
        .expect("a delivered")
        .clone();
    let db = ds
        .iter()
        .find(|d| d.task == b)
        .expect("b delivered")
        .clone();
    q.retry_later(&da.receipt, Duration::from_secs(300))
        .await
        .expect("retry_later");
    assert_eq!(
        counts(q).await,
        QueueCounts {
            in_flight: 1,
            delayed: 1,
            next_visible_at: Some(t0() + secs(30)),
            ..QueueCounts::default()
        },
        "a retried task is delayed, not in flight"
    );
    q.ack(&db.receipt).await.unwrap();
    assert_eq!(
        counts(q).await,
        QueueCounts {
            delayed: 1,
            next_visible_at: Some(t0() + secs(300)),
            ..QueueCounts::default()
        }
    );
    clock.advance(secs(299));
    assert!(
        q.receive(10, VIS).await.unwrap().is_empty(),
        "a delayed task is hidden until its delay ends"
    );
    clock.advance(secs(1));
    assert_eq!(
        counts(q).await,
        QueueCounts {
            ready: 1,
            ..QueueCounts::default()
        }
    );
    let again = q.receive(10, VIS).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].task, a);
    assert_eq!(again[0].receive_count, 2);
    q.retry_later(&again[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        counts(q).await.ready,
        1,
        "a zero delay makes the task visible at once"
    );
    let third = q.receive(10, VIS).await.unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].receive_count, 3);
    q.ack(&third[0].receipt).await.unwrap();
    assert!(counts(q).await.is_drained());
}

async fn dead_letters<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (clock, q) = fresh(make).await;
    let q = &*q;
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    let (a, b, c) = (task("acme", "a"), task("acme", "b"), task("acme", "c"));
    q.send_batch(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let ds = q.receive(3, VIS).await.unwrap();
    assert_eq!(ds.len(), 3);
    let find = |t: &archiver_core::DownloadTask| {
        ds.iter().find(|d| &d.task == t).expect("delivered").clone()
    };
    clock.advance(secs(5));
    q.dead_letter(&find(&a), "file is gone at Zoom")
        .await
        .expect("dead_letter");
    clock.advance(secs(5));
    q.dead_letter(&find(&c), "retry budget exhausted")
        .await
        .expect("dead_letter");
    assert_eq!(
        counts(q).await,
        QueueCounts {
            in_flight: 1,
            dead: 2,
            next_visible_at: Some(t0() + secs(30)),
            ..QueueCounts::default()
        }
    );
    assert!(
        stale(q.ack(&find(&a).receipt).await),
        "a dead-lettered delivery's receipt is stale"
    );
    assert!(
        stale(q.dead_letter(&find(&a), "again").await),
        "dead-lettering twice is StaleReceipt"
    );
    let dl = q.dead_letters(10).await.unwrap();
    assert_eq!(dl.len(), 2);
    assert_eq!(
        (dl[0].task.clone(), dl[0].reason.as_str(), dl[0].at),
        (a.clone(), "file is gone at Zoom", t0() + secs(5)),
        "oldest first, with reason and time"
    );
    assert_eq!(
        (dl[1].task.clone(), dl[1].reason.as_str(), dl[1].at),
        (c.clone(), "retry budget exhausted", t0() + secs(10))
    );
    assert_eq!(
        q.dead_letters(1).await.unwrap().len(),
        1,
        "dead_letters honours its limit"
    );
    clock.advance(secs(60));
    let again = q.receive(10, VIS).await.unwrap();
    assert_eq!(again.len(), 1, "dead letters are never redelivered");
    assert_eq!(again[0].task, b);
    q.ack(&again[0].receipt).await.unwrap();
    let end = counts(q).await;
    assert!(end.is_drained());
    assert_eq!(end.dead, 2);

    // An operator's retry takes the letters out and removes each one it handled.
    let held = q
        .take_dead_letters(10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        held.iter()
            .map(|h| (h.letter.task.clone(), h.letter.reason.as_str()))
            .collect::<Vec<_>>(),
        vec![(a, "file is gone at Zoom"), (c, "retry budget exhausted")],
        "take_dead_letters: the letters with their reasons, oldest first"
    );
    q.remove_dead_letter(&held[0].receipt).await.unwrap();
    q.remove_dead_letter(&held[0].receipt)
        .await
        .expect("removing a removed letter is not an error");
    assert_eq!(counts(q).await.dead, 1, "a removed letter is gone");
    q.remove_dead_letter(&held[1].receipt).await.unwrap();
    assert_eq!(counts(q).await.dead, 0);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
}

async fn receive_limit<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (_clock, q) = fresh(make).await;
    let q = &*q;
    let tasks: Vec<_> = (0..5).map(|i| task("acme", &format!("f{i}"))).collect();
    q.send_batch(&tasks).await.unwrap();
    let first = q.receive(3, VIS).await.unwrap();
    assert!(
        !first.is_empty() && first.len() <= 3,
        "receive(3) returns 1..=3 tasks, got {}",
        first.len()
    );
    assert!(
        q.receive(0, VIS).await.unwrap().is_empty(),
        "receive(0) returns nothing"
    );
    let c = counts(q).await;
    assert_eq!(
        (c.ready, c.in_flight),
        (5 - first.len() as u64, first.len() as u64)
    );
    let mut seen: HashSet<String> = first.iter().map(|d| d.task.task_id.clone()).collect();
    loop {
        let more = q.receive(3, VIS).await.unwrap();
        if more.is_empty() {
            break;
        }
        assert!(more.len() <= 3);
        for d in more {
            assert!(
                seen.insert(d.task.task_id.clone()),
                "a hidden task must not be delivered twice"
            );
        }
    }
    assert_eq!(seen.len(), 5);
}

async fn batch_of_25<F, Fut>(make: &F)
where
    F: Fn(Arc<ManualClock>) -> Fut,
    Fut: Future<Output = Arc<dyn TaskQueue>>,
{
    let (_clock, q) = fresh(make).await;
    let q = &*q;
    let tasks: Vec<_> = (0..25)
        .map(|i| task(fixtures::tenant("acme"), &format!("f{i:02}")))
        .collect();
    q.send_batch(&tasks)
        .await
        .expect("a batch larger than any backend batch limit");
    assert_eq!(counts(q).await.ready, 25);
    let mut receipts = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let ds = q.receive(10, Duration::from_secs(300)).await.unwrap();
        if ds.is_empty() {
            break;
        }
        for d in ds {
            assert_eq!(d.receive_count, 1);
            assert!(
                seen.insert(d.task.task_id.clone()),
                "each task is received once"
            );
            receipts.push(d.receipt);
        }
    }
    let expected: HashSet<String> = tasks.iter().map(|t| t.task_id.clone()).collect();
    assert_eq!(seen, expected, "every sent task must be received");
    assert_eq!(counts(q).await.in_flight, 25);
    for r in &receipts {
        q.ack(r).await.unwrap();
    }
    assert_eq!(counts(q).await, QueueCounts::default());
}
