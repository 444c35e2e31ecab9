use crate::fixtures;
use archiver_core::QuotaLedger;
use chrono::{NaiveDate, Utc};

/// Whether [`quota_ledger`] and [`audit_log_with`](super::audit_log_with) run their
/// concurrency check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// 16 concurrent tasks race `try_add`s on one counter: exactly the limit must succeed;
    /// 8 threads race audit appends on one chain: one gap-free chain.
    Check,
    /// Skip the race, for emulators known not to make a conditional write atomic (moto's
    /// DynamoDB evaluates the condition and writes in two unlocked steps).
    Skip,
}

/// A fresh account name, so runs against a shared store do not collide.
fn account(prefix: &str) -> String {
    fixtures::unique_tenant(prefix).to_string()
}

/// Asserts the [`QuotaLedger`] contract: missing counters read 0; `try_add` without a limit
/// accumulates; with a limit it succeeds up to the limit and a refused call (including `n`
/// above the limit) returns `None` and changes nothing; counters are independent per
/// account, key and day; `raise_to` raises and never lowers; `list` returns one account's
/// counters of one day, sorted by key; and, with [`Concurrency::Check`], concurrent
/// `try_add`s never together exceed the limit.
///
/// Counters are written under fresh random accounts, on today's and tomorrow's UTC date (so a
/// store that expires past days' counters keeps them for the test).
pub async fn quota_ledger(ledger: &dyn QuotaLedger, concurrency: Concurrency) {
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().expect("a tomorrow");
    basics(ledger, today, tomorrow).await;
    limits(ledger, today).await;
    raise(ledger, today).await;
    listing(ledger, today, tomorrow).await;
    if concurrency == Concurrency::Check {
        race(ledger, today).await;
    }
}

async fn basics(l: &dyn QuotaLedger, day: NaiveDate, other_day: NaiveDate) {
    let a = account("quota");
    let b = account("quota");
    assert_eq!(
        l.get(&a, "Heavy", day).await.unwrap(),
        0,
        "a counter never written reads 0"
    );
    assert_eq!(
        l.list(&a, day).await.unwrap(),
        Vec::<(String, u64)>::new(),
        "an account without counters lists nothing"
    );
    assert_eq!(
        l.try_add(&a, "Heavy", day, 1, None).await.unwrap(),
        Some(1),
        "try_add without a limit on a new counter returns n"
    );
    assert_eq!(
        l.try_add(&a, "Heavy", day, 5, None).await.unwrap(),
        Some(6),
        "try_add without a limit accumulates"
    );
    assert_eq!(
        l.try_add(&a, "Heavy", day, 1_000_000, None).await.unwrap(),
        Some(1_000_006),
        "values are exact"
    );
    assert_eq!(l.get(&a, "Heavy", day).await.unwrap(), 1_000_006);
    // Independent per account, key and day.
    assert_eq!(
        l.get(&b, "Heavy", day).await.unwrap(),
        0,
        "counters are per account"
    );
    assert_eq!(
        l.get(&a, "Medium", day).await.unwrap(),
        0,
        "counters are per key"
    );
    assert_eq!(
        l.get(&a, "Heavy", other_day).await.unwrap(),
        0,
        "counters are per day"
    );
    assert_eq!(
        l.try_add(&b, "Heavy", day, 2, Some(2)).await.unwrap(),
        Some(2),
        "another account's counter starts at 0 (a limit of 2 admits 2)"
    );
    assert_eq!(
        l.try_add(&a, "Heavy", other_day, 3, Some(3)).await.unwrap(),
        Some(3),
        "another day's counter starts at 0"
    );
    assert_eq!(
        l.try_add(&a, "pool:meetings", day, 4, Some(4))
            .await
            .unwrap(),
        Some(4),
        "another key's counter starts at 0"
    );
    assert_eq!(l.get(&a, "Heavy", day).await.unwrap(), 1_000_006);
    assert_eq!(l.get(&b, "Heavy", day).await.unwrap(), 2);
    assert_eq!(l.get(&a, "Heavy", other_day).await.unwrap(), 3);
    assert_eq!(l.get(&a, "pool:meetings", day).await.unwrap(), 4);
}

async fn limits(l: &dyn QuotaLedger, day: NaiveDate) {
    let a = account("quota");
    let k = "Heavy";
    assert_eq!(
        l.try_add(&a, k, day, 4, Some(10)).await.unwrap(),
        Some(4),
        "try_add within the limit returns the new value"
    );
    assert_eq!(l.try_add(&a, k, day, 5, Some(10)).await.unwrap(), Some(9));
    assert_eq!(
        l.try_add(&a, k, day, 2, Some(10)).await.unwrap(),
        None,
        "try_add that would exceed the limit is refused"
    );
    assert_eq!(
        l.get(&a, k, day).await.unwrap(),
        9,
        "a refused try_add changes nothing"
    );
    assert_eq!(
        l.try_add(&a, k, day, 1, Some(10)).await.unwrap(),
        Some(10),
        "try_add reaching the limit exactly succeeds"
    );
    assert_eq!(
        l.try_add(&a, k, day, 1, Some(10)).await.unwrap(),
        None,
        "a counter at its limit admits nothing more"
    );
    assert_eq!(
        l.try_add(&a, k, day, 0, Some(10)).await.unwrap(),
        Some(10),
        "adding 0 at the limit returns the value"
    );
    assert_eq!(
        l.try_add(&a, k, day, 5, Some(20)).await.unwrap(),
        Some(15),
        "the limit is per call: a higher one admits more"
    );
    assert_eq!(
        l.try_add(&a, k, day, 1, Some(12)).await.unwrap(),
        None,
        "a limit below the value refuses"
    );
    assert_eq!(
        l.try_add(&a, k, day, 0, Some(12)).await.unwrap(),
        None,
        "a limit below the value refuses even 0"
    );
    assert_eq!(l.get(&a, k, day).await.unwrap(), 15);

    let fresh = "pool:recordings";
    assert_eq!(
        l.try_add(&a, fresh, day, 11, Some(10)).await.unwrap(),
        None,
        "n larger than the limit is refused, even on a new counter"
    );
    assert_eq!(l.get(&a, fresh, day).await.unwrap(), 0);
    assert_eq!(
        l.try_add(&a, fresh, day, 1, Some(0)).await.unwrap(),
        None,
        "a limit of 0 admits nothing"
    );
    assert_eq!(
        l.try_add(&a, fresh, day, 10, Some(10)).await.unwrap(),
        Some(10),
        "n equal to the limit on a new counter succeeds"
    );
    assert_eq!(
        l.try_add(&a, fresh, day, 7, None).await.unwrap(),
        Some(17),
        "no limit: always added"
    );
}

async fn raise(l: &dyn QuotaLedger, day: NaiveDate) {
    let a = account("quota");
    let k = "Heavy";
    assert_eq!(
        l.raise_to(&a, k, day, 50).await.unwrap(),
        50,
        "raise_to on a new counter sets it"
    );
    assert_eq!(l.get(&a, k, day).await.unwrap(), 50);
    assert_eq!(
        l.raise_to(&a, k, day, 20).await.unwrap(),
        50,
        "raise_to below the value returns the value unchanged"
    );
    assert_eq!(
        l.get(&a, k, day).await.unwrap(),
        50,
        "raise_to never lowers"
    );
    assert_eq!(
        l.raise_to(&a, k, day, 50).await.unwrap(),
        50,
        "raise_to to the value is a no-op"
    );
    assert_eq!(
        l.raise_to(&a, k, day, 80).await.unwrap(),
        80,
        "raise_to raises"
    );
    assert_eq!(
        l.try_add(&a, k, day, 20, Some(100)).await.unwrap(),
        Some(100),
        "try_add counts from the raised value"
    );
    assert_eq!(l.try_add(&a, k, day, 1, Some(100)).await.unwrap(), None);
    assert_eq!(
        l.raise_to(&a, k, day, 150).await.unwrap(),
        150,
        "raise_to may go above any limit"
    );
    assert_eq!(l.try_add(&a, k, day, 1, Some(100)).await.unwrap(), None);
    assert_eq!(l.get(&a, k, day).await.unwrap(), 150);
    assert_eq!(
        l.get(&a, "Medium", day).await.unwrap(),
        0,
        "raise_to touches only its counter"
    );
}

async fn listing(l: &dyn QuotaLedger, day: NaiveDate, other_day: NaiveDate) {
    let a = account("quota");
    // A second account whose name extends the first, to catch prefix matching.
    let longer = format!("{a}x");
    for (k, n) in [
        ("pool:meetings", 3),
        ("Heavy", 1),
        ("Medium", 2),
        ("a b/c#d", 4),
    ] {
        l.try_add(&a, k, day, n, None).await.unwrap();
    }
    l.raise_to(&a, "Light", day, 9).await.unwrap();
    l.try_add(&a, "Other day", other_day, 5, None)
        .await
        .unwrap();
    l.try_add(&longer, "Heavy", day, 6, None).await.unwrap();
    assert_eq!(
        l.list(&a, day).await.unwrap(),
        [
            ("Heavy", 1),
            ("Light", 9),
            ("Medium", 2),
            ("a b/c#d", 4),
            ("pool:meetings", 3)
        ]
        .map(|(k, v)| (k.to_string(), v)),
        "list returns the account's counters of that day, sorted by key"
    );
    assert_eq!(
        l.list(&a, other_day).await.unwrap(),
        [("Other day".to_string(), 5)],
        "list is per day"
    );
    assert_eq!(
        l.list(&longer, day).await.unwrap(),
        [("Heavy".to_string(), 6)],
        "list is per account"
    );
}

async fn race(l: &dyn QuotaLedger, day: NaiveDate) {
    const TASKS: usize = 16;
    const CALLS: usize = 10;
    const LIMIT: u64 = 100;
    let a = account("quota");
    let k = "Heavy";
    let results = futures::future::join_all((0..TASKS).map(|_| {
        let a = a.as_str();
        async move {
            let mut won = Vec::new();
            for _ in 0..CALLS {
                if let Some(v) = l.try_add(a, k, day, 1, Some(LIMIT)).await.unwrap() {
                    won.push(v);
                }
            }
            won
        }
    }))
    .await;
    let mut won: Vec<u64> = results.into_iter().flatten().collect();
    assert_eq!(
        won.len() as u64,
        LIMIT,
        "of {} concurrent try_adds of 1 with limit {LIMIT}, exactly {LIMIT} succeed",
        TASKS * CALLS
    );
    won.sort_unstable();
    assert_eq!(
        won,
        (1..=LIMIT).collect::<Vec<_>>(),
        "each successful concurrent try_add returns a distinct new value"
    );
    assert_eq!(
        l.get(&a, k, day).await.unwrap(),
        LIMIT,
        "concurrent try_adds end exactly at the limit"
    );
}
