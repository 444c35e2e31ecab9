//! Smoke test of `zoom-archiver-bench api-budget` at a tiny scale.

use archiver_bench::api_budget::{ApiBudgetOptions, api_budget, meetings_pool, phone_pool};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_budget_runs_and_the_ledger_agrees_with_the_simulator() {
    let opts = ApiBudgetOptions {
        meetings: 40,
        calls: 200,
        users: 20,
        recorded_users: 5,
        interval: Duration::from_secs(300),
        seed: 7,
        also_scale: 0.0,
    };
    let out = api_budget(&opts).await.expect("the bench runs");
    assert!(out.ok, "{}", out.text);
    assert_eq!(out.runs.len(), 1);
    let r = &out.runs[0];
    assert!(r.ledger_agrees(), "{:?}", r.mismatches);
    let total = r.total();
    assert_eq!(
        r.ledger.get("pool:meetings").copied().unwrap_or(0),
        meetings_pool(&total)
    );
    assert_eq!(
        r.ledger.get("pool:phone").copied().unwrap_or(0),
        phone_pool(&total)
    );
    // A whole day of polls ran, and reconciliation listed both feeds.
    assert_eq!(r.polls_in_day, 288);
    assert!(r.reconcile.get("Resource-intensive").copied().unwrap_or(0) >= 1);
    assert!(r.reconcile.get("phone:Heavy").copied().unwrap_or(0) >= 1);
    // Reconciliation asks for participants only for some meetings, not for each.
    let heavy = r.reconcile.get("Heavy").copied().unwrap_or(0);
    assert!(
        heavy < r.facts.meetings,
        "{heavy} Heavy calls for {} meetings",
        r.facts.meetings
    );
    // The polls make no daily-limited Phone call.
    assert_eq!(phone_pool(&r.import()), 0);
    for row in [
        "| Meetings, import |",
        "| Meetings, import + reconciliation |",
        "| Phone, import + reconciliation |",
        "| Combined with reconciliation |",
    ] {
        assert!(out.text.contains(row), "missing {row} in\n{}", out.text);
    }
}
