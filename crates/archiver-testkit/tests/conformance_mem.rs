//! The conformance suites against the in-memory adapters.

use archiver_core::TaskQueue;
use archiver_testkit::{
    MemAuditLog, MemBlobStore, MemMetaStore, MemQuotaLedger, MemTaskQueue, conformance,
};
use std::sync::Arc;

#[tokio::test]
async fn mem_blob_store_conforms() {
    let store = MemBlobStore::new();
    conformance::blob_store(&store).await;
    conformance::blob_store_protection(&store).await;
    assert!(store.object_count() >= 7);
}

#[tokio::test]
async fn mem_meta_store_conforms() {
    conformance::meta_store(&MemMetaStore::new()).await;
}

#[tokio::test]
async fn mem_meta_store_search_conforms() {
    conformance::cdr_search(&MemMetaStore::new()).await;
}

#[tokio::test]
async fn mem_task_queue_conforms() {
    conformance::task_queue(|clock| async move {
        Arc::new(MemTaskQueue::new(clock)) as Arc<dyn TaskQueue>
    })
    .await;
}

#[tokio::test]
async fn mem_quota_ledger_conforms() {
    let ledger = MemQuotaLedger::new();
    conformance::quota_ledger(&ledger, conformance::Concurrency::Check).await;
    assert!(!ledger.all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_quota_ledger_conforms_on_many_threads() {
    conformance::quota_ledger(&MemQuotaLedger::new(), conformance::Concurrency::Check).await;
}

#[tokio::test]
async fn mem_audit_log_conforms() {
    let log = MemAuditLog::new();
    conformance::audit_log(&log).await;
    conformance::audit_log_tamper(&log, &log).await;
}

#[tokio::test]
async fn mem_quota_ledger_caps_at_i64_max_like_sqlite() {
    use archiver_core::QuotaLedger;
    let l = MemQuotaLedger::new();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let max = i64::MAX as u64;
    assert_eq!(l.raise_to("acc", "k", day, u64::MAX).await.unwrap(), max);
    assert_eq!(l.try_add("acc", "k", day, 1, None).await.unwrap(), None);
    assert_eq!(
        l.try_add("acc", "k", day, 0, None).await.unwrap(),
        Some(max)
    );
    assert_eq!(
        l.try_add("acc", "n", day, u64::MAX, None).await.unwrap(),
        None
    );
    assert_eq!(
        l.try_add("acc", "n", day, max, Some(u64::MAX))
            .await
            .unwrap(),
        Some(max)
    );
}

/// What the SQS model enforces beyond the port contract, as SQS does and moto does not.
mod sqs_model {
    use archiver_core::{MAX_RECEIVE_COUNT, QueueError, TaskQueue};
    use archiver_testkit::{ManualClock, MemTaskQueue, REDRIVE_REASON, fixtures};
    use std::sync::Arc;
    use std::time::Duration;

    fn queue() -> (Arc<ManualClock>, MemTaskQueue) {
        let clock = Arc::new(ManualClock::new(fixtures::t0()));
        (clock.clone(), MemTaskQueue::new(clock))
    }

    #[tokio::test]
    async fn the_redrive_policy_moves_a_message_after_max_receive_count_deliveries() {
        let (clock, q) = queue();
        q.send_batch(&[fixtures::task("acme", "r1")]).await.unwrap();
        for n in 1..=MAX_RECEIVE_COUNT {
            let d = q.receive(1, Duration::from_secs(1)).await.unwrap();
            assert_eq!(d.len(), 1, "delivery {n}");
            assert_eq!(d[0].receive_count, n);
            clock.advance(chrono::Duration::seconds(2));
        }
        // The 51st receive finds it in the DLQ instead, without a reason of ours.
        assert!(
            q.receive(1, Duration::from_secs(1))
                .await
                .unwrap()
                .is_empty()
        );
        let dead = q.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].reason, REDRIVE_REASON);
        assert_eq!(q.redriven(), 1);
        assert_eq!(q.receives(), u64::from(MAX_RECEIVE_COUNT));
    }

    #[tokio::test]
    async fn a_visibility_change_past_twelve_hours_from_the_receive_is_refused() {
        let (clock, q) = queue();
        q.send_batch(&[fixtures::task("acme", "h1")]).await.unwrap();
        let d = q
            .receive(1, Duration::from_secs(60))
            .await
            .unwrap()
            .remove(0);
        clock.advance(chrono::Duration::hours(1));
        // 11 h 59 min from now is 12 h 59 min from the receive: refused, as SQS does.
        let e = q
            .retry_later(&d.receipt, Duration::from_secs(12 * 3600 - 60))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &e,
                QueueError::Backend {
                    retryable: false,
                    ..
                }
            ) && e.to_string().contains("12 hours"),
            "{e}"
        );
        // Within it: accepted.
        q.retry_later(&d.receipt, Duration::from_secs(10 * 3600))
            .await
            .unwrap();
        // A receive asking for more than 12 hours is refused too.
        assert!(q.receive(1, Duration::from_secs(13 * 3600)).await.is_err());
    }

    #[tokio::test]
    async fn duplicate_deliveries_give_the_same_task_twice() {
        let (_, q) = queue();
        let q = q.with_duplicate_deliveries(1);
        q.send_batch(&[fixtures::task("acme", "d1")]).await.unwrap();
        let a = q.receive(1, Duration::from_secs(60)).await.unwrap();
        let b = q.receive(1, Duration::from_secs(60)).await.unwrap();
        assert_eq!(a[0].task, b[0].task);
        assert_ne!(a[0].receipt, b[0].receipt);
    }
}
