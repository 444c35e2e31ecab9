//! The audit trail's rules: appending a chained entry, and walking a chain to find the
//! first broken link.
//!
//! Every entry's `hash` is SHA-256 over its canonical JSON, which includes the previous
//! entry's hash ([`AuditEntry::chain`]); entries are numbered from 1 without gaps. An entry
//! deleted, inserted or altered anywhere breaks the walk at that point: the checker names
//! the first `seq` whose number, `prev_hash` or `hash` does not hold.

use crate::domain::TenantId;
use crate::ports::{AuditDraft, AuditEntry, AuditLog, GENESIS_HASH, MetaError};
use serde::Serialize;

/// How often [`record`] re-reads the head after losing the append race.
const APPEND_ATTEMPTS: u32 = 40;

/// The longest pause between two attempts of [`record`] (full jitter below it).
const MAX_PAUSE_MS: u64 = 100;

/// Appends `draft` to its tenant's chain: reads the head, chains after it, and writes
/// conditionally; another writer's entry in between makes it chain again.
///
/// Writers that lost pause for a random time that grows with their losses (full jitter,
/// 1 ms doubling up to 100 ms) before they chain again: without it, writers that read the
/// same head keep colliding, and one of 8 can lose many times in a row. At most about
/// 3.4 s of pauses before giving up.
pub async fn record(log: &dyn AuditLog, draft: AuditDraft) -> Result<AuditEntry, MetaError> {
    for lost in 0..APPEND_ATTEMPTS {
        let head = log.head(&draft.tenant).await?;
        let entry = AuditEntry::chain(draft.clone(), head.as_ref());
        if log.try_append(&entry).await? {
            return Ok(entry);
        }
        let cap = (1u64 << lost.min(7)).min(MAX_PAUSE_MS);
        tokio::time::sleep(std::time::Duration::from_micros(fastrand::u64(
            0..=cap * 1000,
        )))
        .await;
    }
    Err(MetaError::Conflict(format!(
        "audit chain of {}: {APPEND_ATTEMPTS} appends lost to other writers",
        draft.tenant
    )))
}

/// The first link of a chain that does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The entry's position (or the position expected there).
    pub seq: u64,
    /// What is wrong.
    pub problem: String,
}

/// What a walk of a chain found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Entries checked.
    pub checked: u64,
    /// The last entry that held (the chain's head when intact).
    pub last_good: Option<(u64, String)>,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl ChainCheck {
    /// True when no link is broken.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Walks `tenant`'s chain from the start (up to `up_to` when given: a sealed head) and
/// reports the first broken link. With `up_to`, a chain that ends before it, or whose
/// entry there has another hash than `up_to_hash`, is broken too.
pub async fn verify_chain(
    log: &dyn AuditLog,
    tenant: &TenantId,
    up_to: Option<(u64, &str)>,
) -> Result<ChainCheck, MetaError> {
    const PAGE: usize = 1000;
    let mut check = ChainCheck::default();
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expect = 1u64;
    'walk: loop {
        let page = log.list(tenant, expect, PAGE).await?;
        let n = page.len();
        for e in page {
            if up_to.is_some_and(|(seq, _)| e.seq > seq) {
                break 'walk;
            }
            let problem = if e.seq != expect {
                Some(format!(
                    "entry {expect} is missing (the next stored entry is {})",
                    e.seq
                ))
            } else if e.draft.tenant != *tenant {
                Some(format!(
                    "entry {} belongs to tenant {}",
                    e.seq, e.draft.tenant
                ))
            } else if e.prev_hash != prev_hash {
                Some(format!(
                    "entry {} does not follow entry {}: prev_hash {} is not {}",
                    e.seq,
                    expect - 1,
                    e.prev_hash,
                    prev_hash
                ))
            } else if e.compute_hash() != e.hash {
                Some(format!(
                    "entry {} was altered: its content hashes to {}, it says {}",
                    e.seq,
                    e.compute_hash(),
                    e.hash
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                check.broken = Some(BrokenLink {
                    seq: expect,
                    problem,
                });
                return Ok(check);
            }
            check.checked += 1;
            prev_hash = e.hash.clone();
            check.last_good = Some((e.seq, e.hash));
            expect += 1;
        }
        if n < PAGE {
            break;
        }
    }
    if let Some((seq, hash)) = up_to {
        match &check.last_good {
            Some((s, h)) if *s == seq && h == hash => {}
            Some((s, h)) if *s == seq => {
                check.broken = Some(BrokenLink {
                    seq,
                    problem: format!("entry {seq} hashes to {h}, the seal recorded {hash}"),
                })
            }
            _ => {
                check.broken = Some(BrokenLink {
                    seq,
                    problem: format!(
                        "the chain ends at entry {} before the sealed head {seq}",
                        check.last_good.as_ref().map_or(0, |(s, _)| *s)
                    ),
                })
            }
        }
    }
    Ok(check)
}
