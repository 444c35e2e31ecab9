//! [`FaultyQuotaLedger`] fails the planned calls and passes the others through.

use archiver_core::{MetaError, QuotaLedger};
use archiver_testkit::MemQuotaLedger;
use archiver_testkit::conformance;
use archiver_testkit::faults::{FaultPlan, FaultyQuotaLedger};
use chrono::NaiveDate;
use std::sync::Arc;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn injected<T: std::fmt::Debug>(r: Result<T, MetaError>) -> bool {
    matches!(
        r,
        Err(MetaError::Backend {
            retryable: true,
            ..
        })
    )
}

#[tokio::test]
async fn planned_quota_failures_do_not_reach_the_ledger() {
    let plan = FaultPlan::new();
    let mem = Arc::new(MemQuotaLedger::new());
    let q = FaultyQuotaLedger::new(mem.clone(), plan.clone());

    plan.fail_next("quota_try_add", 1);
    assert!(injected(
        q.try_add("acc", "Heavy", day(), 1, Some(10)).await
    ));
    assert_eq!(mem.get("acc", "Heavy", day()).await.unwrap(), 0);
    assert_eq!(
        q.try_add("acc", "Heavy", day(), 1, Some(10)).await.unwrap(),
        Some(1)
    );

    plan.fail_next("quota_raise_to", 1);
    assert!(injected(q.raise_to("acc", "Heavy", day(), 5).await));
    assert_eq!(mem.get("acc", "Heavy", day()).await.unwrap(), 1);
    assert_eq!(q.raise_to("acc", "Heavy", day(), 5).await.unwrap(), 5);

    plan.fail_next("quota_get", 1);
    assert!(injected(q.get("acc", "Heavy", day()).await));
    assert_eq!(q.get("acc", "Heavy", day()).await.unwrap(), 5);

    plan.fail_next("quota_list", 1);
    assert!(injected(q.list("acc", day()).await));
    assert_eq!(
        q.list("acc", day()).await.unwrap(),
        [("Heavy".to_string(), 5)]
    );

    for op in ["quota_try_add", "quota_raise_to", "quota_get", "quota_list"] {
        assert_eq!(plan.calls(op), 2, "{op}");
    }
    assert_eq!(plan.injected(), 4);
    assert!(q.inner().list("acc", day()).await.unwrap().len() == 1);
}

#[tokio::test]
async fn faulty_quota_ledger_without_faults_conforms() {
    let plan = FaultPlan::new();
    let q = FaultyQuotaLedger::new(Arc::new(MemQuotaLedger::new()), plan.clone());
    conformance::quota_ledger(&q, conformance::Concurrency::Check).await;
    assert_eq!(plan.injected(), 0);
    assert!(plan.calls("quota_try_add") > 160);
}
