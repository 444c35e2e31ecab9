use super::Concurrency;
use crate::fixtures;
use archiver_core::services::audit::{record, verify_chain};
use archiver_core::{AuditAction, AuditDraft, AuditEntry, AuditLog, GENESIS_HASH, TenantId};
use async_trait::async_trait;
use chrono::Duration;
use std::collections::BTreeSet;

/// Changes an adapter's stored entries behind the chain's back, as someone with write access
/// to the store would (raw SQL, a `PutItem`, a map in memory): what
/// [`audit_log_tamper`] needs from each adapter's test.
#[async_trait]
pub trait AuditTamper: Send + Sync {
    /// Changes what the stored entry `seq` of `tenant` says (e.g. its `result` or `actor`)
    /// without fixing its `hash`.
    async fn alter(&self, tenant: &TenantId, seq: u64);
    /// Deletes the stored entry `seq` of `tenant`.
    async fn remove(&self, tenant: &TenantId, seq: u64);
}

/// A draft of `tenant` that says which `n`th it is (in `objects` and `reason`).
fn draft(tenant: &TenantId, n: usize) -> AuditDraft {
    AuditDraft {
        tenant: tenant.clone(),
        // Sub-second precision must survive the store.
        at: fixtures::t0() + Duration::milliseconds(n as i64 * 1_001) + Duration::nanoseconds(7),
        actor: "conformance@test".into(),
        action: if n.is_multiple_of(2) {
            AuditAction::Read
        } else {
            AuditAction::Create
        },
        objects: vec![format!("{tenant}/obj/{n}"), format!("cdr-{n}")],
        reason: (!n.is_multiple_of(3)).then(|| format!("entry {n} ✓ \"quoted\"")),
        result: "ok".into(),
    }
}

/// Appends `n` chained entries to `tenant` directly (one `try_append` each, no head read).
async fn chain_of(log: &dyn AuditLog, tenant: &TenantId, n: usize) -> Vec<AuditEntry> {
    let mut out: Vec<AuditEntry> = Vec::with_capacity(n);
    for i in 1..=n {
        let e = AuditEntry::chain(draft(tenant, i), out.last());
        assert!(
            log.try_append(&e).await.unwrap(),
            "try_append of a new seq {} must store it",
            e.seq
        );
        out.push(e);
    }
    out
}

/// Asserts the [`AuditLog`] contract, the concurrency check included (see
/// [`audit_log_with`]).
pub async fn audit_log(log: &dyn AuditLog) {
    audit_log_with(log, Concurrency::Check).await;
}

/// Asserts the [`AuditLog`] contract: an empty tenant has no head and lists nothing;
/// entries come back exactly as appended (times to the nanosecond, `None` reasons, Unicode);
/// `try_append` is insert-if-absent on `(tenant, seq)` (a second entry at a taken seq returns
/// `false` and changes nothing); `head` is the highest seq; `list` starts at `from_seq`, is in
/// seq order and honours `limit`; tenants are isolated (also one whose id extends another's);
/// a 1,000-entry chain pages correctly and [`verify_chain`] accepts it; and, with
/// [`Concurrency::Check`], 8 tasks × 25 concurrent [`record`]s make one gap-free chain of
/// 200 that `verify_chain` accepts, every draft in it exactly once.
///
/// Entries are written under fresh random tenants, so the store may be shared. The race runs
/// on 8 OS threads, each with its own current-thread runtime (a real race even when the
/// caller's runtime has one thread), blocking the caller's thread meanwhile: an adapter whose
/// client is bound to the caller's runtime runs it with [`Concurrency::Skip`].
pub async fn audit_log_with(log: &dyn AuditLog, concurrency: Concurrency) {
    basics(log).await;
    insert_if_absent(log).await;
    isolation(log).await;
    long_chain(log).await;
    if concurrency == Concurrency::Check {
        race(log).await;
    }
}

async fn basics(log: &dyn AuditLog) {
    let t = fixtures::unique_tenant("audit");
    assert_eq!(
        log.head(&t).await.unwrap(),
        None,
        "an empty chain has no head"
    );
    assert!(
        log.list(&t, 1, 10).await.unwrap().is_empty(),
        "an empty chain lists nothing"
    );
    let c = verify_chain(log, &t, None).await.unwrap();
    assert!(
        c.intact() && c.checked == 0,
        "an empty chain is intact: {c:?}"
    );

    // Through the service: it chains after the head.
    let mut written = Vec::new();
    for i in 1..=5 {
        written.push(record(log, draft(&t, i)).await.unwrap());
    }
    assert_eq!(
        written.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5],
        "record numbers entries from 1"
    );
    assert_eq!(written[0].prev_hash, GENESIS_HASH);
    assert_eq!(written[1].prev_hash, written[0].hash);
    assert_eq!(
        log.head(&t).await.unwrap().as_ref(),
        written.last(),
        "head is the highest seq, exactly as appended"
    );
    assert_eq!(
        log.list(&t, 1, 100).await.unwrap(),
        written,
        "list returns every entry, in order, exactly as appended"
    );
    assert_eq!(
        log.list(&t, 0, 100).await.unwrap(),
        written,
        "from_seq 0 lists from the start"
    );
    assert_eq!(
        log.list(&t, 3, 100).await.unwrap(),
        written[2..].to_vec(),
        "list starts at from_seq"
    );
    assert_eq!(
        log.list(&t, 2, 2).await.unwrap(),
        written[1..3].to_vec(),
        "list returns at most limit entries"
    );
    assert!(
        log.list(&t, 6, 100).await.unwrap().is_empty(),
        "nothing after the head"
    );
    assert!(
        log.list(&t, u64::MAX, 100).await.unwrap().is_empty(),
        "from_seq u64::MAX lists nothing"
    );
    assert!(
        log.list(&t, 1, 0).await.unwrap().is_empty(),
        "limit 0 lists nothing"
    );
    let c = verify_chain(log, &t, None).await.unwrap();
    assert!(c.intact(), "{c:?}");
    assert_eq!(c.checked, 5);
    assert_eq!(
        c.last_good,
        Some((5, written[4].hash.clone())),
        "the walk ends at the head"
    );
    for e in &written {
        assert_eq!(
            e.compute_hash(),
            e.hash,
            "a stored entry hashes to its hash"
        );
    }
}

async fn insert_if_absent(log: &dyn AuditLog) {
    let t = fixtures::unique_tenant("audit");
    let chain = chain_of(log, &t, 3).await;
    // Another writer's entry at a taken seq (and one at seq 1, the genesis).
    for taken in [1usize, 2, 3] {
        let mut other = draft(&t, 100 + taken);
        other.actor = "someone-else@test".into();
        let rival = AuditEntry::chain(other, taken.checked_sub(2).map(|i| &chain[i]));
        assert_eq!(rival.seq, taken as u64);
        assert!(
            !log.try_append(&rival).await.unwrap(),
            "try_append at a taken seq {taken} must return false"
        );
    }
    // The very same entry again: also refused (it is not an upsert).
    assert!(
        !log.try_append(&chain[2]).await.unwrap(),
        "appending an entry twice must return false the second time"
    );
    assert_eq!(
        log.list(&t, 1, 10).await.unwrap(),
        chain,
        "a refused append changes nothing"
    );
    assert_eq!(log.head(&t).await.unwrap().as_ref(), chain.last());
    // A gap is the store's to accept (the chain walk finds it); the port does not renumber.
    let far = AuditEntry {
        seq: 10,
        ..AuditEntry::chain(draft(&t, 10), chain.last())
    };
    assert!(log.try_append(&far).await.unwrap());
    assert_eq!(
        log.head(&t).await.unwrap().map(|e| e.seq),
        Some(10),
        "head is the highest seq, not the count"
    );
    assert_eq!(
        log.list(&t, 4, 10).await.unwrap().len(),
        1,
        "list skips a gap"
    );
}

async fn isolation(log: &dyn AuditLog) {
    let a = fixtures::unique_tenant("audit");
    // A tenant whose id extends a's: no prefix match may leak entries.
    let ab = TenantId::new(format!("{a}-b")).unwrap();
    let b = fixtures::unique_tenant("audit");
    let ca = chain_of(log, &a, 3).await;
    let cab = chain_of(log, &ab, 4).await;
    let cb = chain_of(log, &b, 2).await;
    for (t, c) in [(&a, &ca), (&ab, &cab), (&b, &cb)] {
        assert_eq!(
            log.list(t, 1, 100).await.unwrap(),
            *c,
            "tenant {t} lists only its own entries"
        );
        assert_eq!(
            log.head(t).await.unwrap().as_ref(),
            c.last(),
            "tenant {t}'s head is its own"
        );
        let v = verify_chain(log, t, None).await.unwrap();
        assert!(v.intact() && v.checked == c.len() as u64, "{t}: {v:?}");
    }
    // The same seq in two tenants is two entries.
    assert_eq!(ca[0].seq, cb[0].seq);
    assert!(
        log.head(&fixtures::unique_tenant("audit"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn long_chain(log: &dyn AuditLog) {
    let t = fixtures::unique_tenant("audit");
    let chain = chain_of(log, &t, 1000).await;
    assert_eq!(log.head(&t).await.unwrap().as_ref(), chain.last());
    // Pages of 100 (and one of 37) cover it in order, without a gap or a repeat.
    let mut paged = Vec::new();
    let mut from = 1u64;
    loop {
        let page = log.list(&t, from, 100).await.unwrap();
        assert!(page.len() <= 100, "a page holds at most limit entries");
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        paged.extend(page);
    }
    assert_eq!(paged.len(), 1000, "paging returns every entry once");
    assert!(
        paged == chain,
        "paging returns the entries in order, as appended"
    );
    let odd = log.list(&t, 964, 37).await.unwrap();
    assert_eq!(
        odd.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (964..=1000).collect::<Vec<_>>()
    );
    assert_eq!(
        log.list(&t, 1, 5000).await.unwrap().len(),
        1000,
        "a limit above the chain's length returns the whole chain"
    );
    let c = verify_chain(log, &t, None).await.unwrap();
    assert!(c.intact(), "{c:?}");
    assert_eq!(c.checked, 1000, "the walk reads every page");
    let head = chain.last().unwrap();
    let sealed = verify_chain(log, &t, Some((1000, head.hash.as_str())))
        .await
        .unwrap();
    assert!(
        sealed.intact(),
        "a chain up to its sealed head is intact: {sealed:?}"
    );
}

async fn race(log: &dyn AuditLog) {
    let t = fixtures::unique_tenant("audit");
    // Real parallelism with a borrowed log: 8 threads, each with its own runtime (the
    // caller's runtime may have a single thread).
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|task| {
                let t = t.clone();
                s.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime");
                    rt.block_on(async {
                        let mut seqs = Vec::new();
                        for i in 0..25 {
                            let mut d = draft(&t, task * 100 + i);
                            d.actor = format!("task-{task}");
                            seqs.push(record(log, d).await.unwrap().seq);
                        }
                        seqs
                    })
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|h| h.join().expect("a racing task panicked"))
            .collect()
    });
    let unique: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(
        unique.len(),
        200,
        "no two concurrent records got the same seq"
    );
    let chain = log.list(&t, 1, 1000).await.unwrap();
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>(),
        "concurrent records make one gap-free chain"
    );
    let drafts: BTreeSet<(String, Vec<String>)> = chain
        .iter()
        .map(|e| (e.draft.actor.clone(), e.draft.objects.clone()))
        .collect();
    assert_eq!(
        drafts.len(),
        200,
        "every draft is in the chain exactly once"
    );
    let c = verify_chain(log, &t, None).await.unwrap();
    assert!(c.intact(), "the raced chain verifies: {c:?}");
    assert_eq!(c.checked, 200);
}

/// Asserts that the chain walk finds tampering in this adapter's store: an entry whose
/// content was altered is reported at its seq; a deleted entry is reported as the gap at
/// its seq; the deleted last entry is found only against a sealed head. `tamper` is the
/// adapter's way in (its test's helper).
pub async fn audit_log_tamper(log: &dyn AuditLog, tamper: &dyn AuditTamper) {
    // Altered content.
    let t = fixtures::unique_tenant("audit");
    let chain = chain_of(log, &t, 8).await;
    assert!(verify_chain(log, &t, None).await.unwrap().intact());
    tamper.alter(&t, 4).await;
    let c = verify_chain(log, &t, None).await.unwrap();
    let broken = c
        .broken
        .as_ref()
        .unwrap_or_else(|| panic!("an altered entry must break the chain: {c:?}"));
    assert_eq!(broken.seq, 4, "the altered entry is named: {c:?}");
    assert_eq!(c.checked, 3, "the entries before it hold");
    assert_eq!(c.last_good, Some((3, chain[2].hash.clone())));
    // Appending goes on after the head: the break stays where it is.
    record(log, draft(&t, 9)).await.unwrap();
    assert_eq!(
        verify_chain(log, &t, None)
            .await
            .unwrap()
            .broken
            .map(|b| b.seq),
        Some(4)
    );

    // A deleted entry in the middle.
    let t = fixtures::unique_tenant("audit");
    let chain = chain_of(log, &t, 8).await;
    tamper.remove(&t, 6).await;
    let c = verify_chain(log, &t, None).await.unwrap();
    let broken = c
        .broken
        .as_ref()
        .unwrap_or_else(|| panic!("a deleted entry must break the chain: {c:?}"));
    assert_eq!(broken.seq, 6, "the gap is named: {c:?}");
    assert!(
        broken.problem.contains("missing"),
        "the problem says the entry is missing: {}",
        broken.problem
    );
    assert_eq!(c.last_good, Some((5, chain[4].hash.clone())));

    // The deleted first entry.
    let t = fixtures::unique_tenant("audit");
    chain_of(log, &t, 3).await;
    tamper.remove(&t, 1).await;
    let c = verify_chain(log, &t, None).await.unwrap();
    assert_eq!(c.broken.map(|b| b.seq), Some(1), "a missing first entry");

    // The deleted last entry: a shorter chain is intact by itself, but not against the
    // head that was sealed.
    let t = fixtures::unique_tenant("audit");
    let chain = chain_of(log, &t, 5).await;
    tamper.remove(&t, 5).await;
    assert!(verify_chain(log, &t, None).await.unwrap().intact());
    let c = verify_chain(log, &t, Some((5, chain[4].hash.as_str())))
        .await
        .unwrap();
    assert_eq!(
        c.broken.map(|b| b.seq),
        Some(5),
        "a truncated chain is broken against its sealed head"
    );
}

/// [`AuditTamper`] over a [`crate::MemAuditLog`].
#[async_trait]
impl AuditTamper for crate::MemAuditLog {
    async fn alter(&self, tenant: &TenantId, seq: u64) {
        assert!(
            self.tamper(tenant, seq, |e| e.draft.result = "altered".into()),
            "no entry {seq} of {tenant} to alter"
        );
    }

    async fn remove(&self, tenant: &TenantId, seq: u64) {
        assert!(
            crate::MemAuditLog::remove(self, tenant, seq),
            "no entry {seq} of {tenant} to remove"
        );
    }
}
