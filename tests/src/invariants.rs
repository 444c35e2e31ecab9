//! The invariants every fault-injection test ends with.
//!
//! After any sequence of faults, once the pipeline has been given the chance to finish
//! (polls and drains after the faults stopped), the archive must satisfy:
//!
//! 1. **Faithful, exactly once**: every archived file's recorded size and SHA-256 equal what
//!    the simulator serves for it, the object store holds those exact bytes at the file's key,
//!    and the store holds nothing else (no second copy, no orphan, no temporary leftover).
//! 2. **Tenant prefix**: every object key lies under its file's tenant prefix.
//! 3. **No task stuck**: every file is terminal (archived, gone with a reason, failed with a
//!    reason) unless the test expects it otherwise, and the queue is drained (nothing ready,
//!    in flight or delayed) unless the test expects retries to be scheduled.
//! 4. **CDRs**: no duplicate CDR id; every CDR a file links exists and lists the file; every
//!    media entry of a CDR names a known file and shows its state (size and SHA-256 when archived).
//! 5. **Dead letters**: every dead-lettered task names a file that ended `failed` (unless the
//!    test crafted tasks that must be refused).

use crate::Harness;
use archiver_core::{FileState, ObjectKey};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What a test allows beyond the default invariants.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// File ids allowed to end non-terminal (pending or downloading).
    pub not_terminal: HashSet<String>,
    /// Allow the queue to hold delayed tasks (retries scheduled for later).
    pub queue_may_hold_retries: bool,
    /// How many dead letters may name no failed file (crafted tasks that must be refused).
    pub foreign_dead_letters: usize,
}

/// What the archive holds, in a comparable form: file id → state name, and the CDR ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// File id → `archived` | `gone` | `failed` | `pending` | `downloading`.
    pub files: BTreeMap<String, String>,
    /// `(tenant, cdr_id)` of every CDR.
    pub cdrs: BTreeSet<(String, String)>,
}

/// The outcome of an invariant check.
#[derive(Clone, Debug, Default)]
pub struct InvariantReport {
    /// Files archived.
    pub archived: usize,
    /// Files gone at Zoom.
    pub gone: usize,
    /// Files failed with a reason.
    pub failed: usize,
    /// Files not terminal (allowed by [`Expect::not_terminal`]).
    pub not_terminal: usize,
    /// CDRs.
    pub cdrs: usize,
    /// Objects in the store.
    pub objects: usize,
    /// Bytes archived.
    pub bytes: u64,
    /// Dead letters in the queue.
    pub dead_letters: usize,
    /// Every invariant that does not hold, in words.
    pub violations: Vec<String>,
    /// The archive's contents.
    pub snapshot: Snapshot,
}

async fn stored(h: &Harness, key: &ObjectKey) -> Result<(u64, String), String> {
    let mut s = h.ports.blobs.get(key).await.map_err(|e| e.to_string())?;
    let mut d = Sha256::new();
    let mut n = 0u64;
    while let Some(c) = s.next().await {
        let c = c.map_err(|e| e.to_string())?;
        n += c.len() as u64;
        d.update(&c);
    }
    Ok((n, hex::encode(d.finalize())))
}

/// Checks every invariant and reports the violations (never panics on a violation).
pub async fn check_invariants(h: &Harness, expect: &Expect) -> InvariantReport {
    let mut r = InvariantReport::default();
    let v = &mut r.violations;
    let files = match h
        .ports
        .meta
        .list_files(&archiver_core::FileQuery::default())
        .await
    {
        Ok(f) => f,
        Err(e) => {
            v.push(format!("listing files failed: {e}"));
            return r;
        }
    };
    let cdrs = match h
        .ports
        .meta
        .query_cdrs(&archiver_core::CdrQuery::default())
        .await
    {
        Ok(c) => c,
        Err(e) => {
            v.push(format!("querying CDRs failed: {e}"));
            return r;
        }
    };

    // Files: unique, terminal, faithful.
    let mut by_id: HashMap<(String, String), &archiver_core::FileRecord> = HashMap::new();
    let mut archived_keys = BTreeSet::new();
    for f in &files {
        if by_id
            .insert((f.tenant.to_string(), f.file_id.clone()), f)
            .is_some()
        {
            v.push(format!("file {} recorded twice", f.file_id));
        }
        r.snapshot
            .files
            .insert(f.file_id.clone(), f.state.name().to_string());
        if !f.object_key.belongs_to(&f.tenant) {
            v.push(format!(
                "file {} has key {} outside tenant {}",
                f.file_id, f.object_key, f.tenant
            ));
        }
        match &f.state {
            FileState::Archived { size, sha256, .. } => {
                r.archived += 1;
                r.bytes += size;
                archived_keys.insert(f.object_key.to_string());
                match h.sim.file_digest(&f.file_id) {
                    None => v.push(format!("archived file {} unknown to Zoom", f.file_id)),
                    Some(expected) => {
                        if (*size, sha256.clone()) != expected {
                            v.push(format!(
                                "file {} recorded {size}/{sha256}, Zoom serves {expected:?}",
                                f.file_id
                            ));
                        }
                        match stored(h, &f.object_key).await {
                            Ok(got) if got == expected => {}
                            Ok(got) => v.push(format!(
                                "file {} stored {got:?} at {}, Zoom serves {expected:?}",
                                f.file_id, f.object_key
                            )),
                            Err(e) => v.push(format!(
                                "file {} archived but its object {} is unreadable: {e}",
                                f.file_id, f.object_key
                            )),
                        }
                    }
                }
            }
            FileState::Gone { reason, .. } => {
                r.gone += 1;
                if reason.trim().is_empty() {
                    v.push(format!("file {} gone without a reason", f.file_id));
                }
            }
            FileState::Failed { reason, .. } => {
                r.failed += 1;
                if reason.trim().is_empty() {
                    v.push(format!("file {} failed without a reason", f.file_id));
                }
            }
            s => {
                r.not_terminal += 1;
                if !expect.not_terminal.contains(&f.file_id) {
                    v.push(format!("file {} stuck in state {}", f.file_id, s.name()));
                }
            }
        }
    }

    // The store holds exactly the archived files.
    match h.ports.blobs.list("").await {
        Ok(mut objects) => {
            // Waveform peaks sidecars are derived data beside archived recordings.
            objects.retain(|o| match archiver_core::recording_of_peaks(&o.key) {
                Some(rec) => {
                    if !archived_keys.contains(rec.as_str()) {
                        v.push(format!("peaks sidecar {} without its recording", o.key));
                    }
                    false
                }
                None => true,
            });
            r.objects = objects.len();
            let keys: BTreeSet<String> = objects.iter().map(|o| o.key.to_string()).collect();
            if keys.len() != objects.len() {
                v.push("the store lists a key twice".into());
            }
            for extra in keys.difference(&archived_keys) {
                v.push(format!("object {extra} is not an archived file"));
            }
            for missing in archived_keys.difference(&keys) {
                v.push(format!(
                    "archived object {missing} is missing from the store"
                ));
            }
        }
        Err(e) => v.push(format!("listing objects failed: {e}")),
    }

    // CDRs.
    let mut cdr_ids = HashMap::new();
    for c in &cdrs {
        let id = (c.tenant.to_string(), c.cdr_id.clone());
        r.snapshot.cdrs.insert(id.clone());
        if cdr_ids.insert(id, c).is_some() {
            v.push(format!("CDR {} appears twice", c.cdr_id));
        }
        let mut seen = HashSet::new();
        for m in &c.media {
            if !seen.insert(m.file_id.clone()) {
                v.push(format!("CDR {} lists file {} twice", c.cdr_id, m.file_id));
            }
            match by_id.get(&(c.tenant.to_string(), m.file_id.clone())) {
                None => v.push(format!("CDR {} lists unknown file {}", c.cdr_id, m.file_id)),
                Some(f) => {
                    let (state, size, sha) = match &f.state {
                        FileState::Archived { size, sha256, .. } => {
                            ("archived", Some(*size), Some(sha256.clone()))
                        }
                        FileState::Gone { .. } => ("gone", None, None),
                        FileState::Failed { .. } => ("failed", None, None),
                        _ => ("pending", None, None),
                    };
                    if (m.state.as_str(), m.size, m.sha256.clone()) != (state, size, sha) {
                        v.push(format!(
                            "CDR {} shows file {} as {} ({:?}), the file is {}",
                            c.cdr_id, m.file_id, m.state, m.sha256, state
                        ));
                    }
                    if m.key != f.object_key.as_str() {
                        v.push(format!(
                            "CDR {} keys file {} at {}, the file is at {}",
                            c.cdr_id, m.file_id, m.key, f.object_key
                        ));
                    }
                }
            }
        }
    }
    r.cdrs = cdrs.len();
    for f in &files {
        if f.cdr_ids.is_empty() {
            v.push(format!("file {} belongs to no CDR", f.file_id));
        }
        for id in &f.cdr_ids {
            match cdr_ids.get(&(f.tenant.to_string(), id.clone())) {
                None => v.push(format!("file {} links missing CDR {id}", f.file_id)),
                Some(c) if !c.media.iter().any(|m| m.file_id == f.file_id) => {
                    v.push(format!("CDR {id} does not list its file {}", f.file_id))
                }
                Some(_) => {}
            }
        }
    }

    // Queue.
    match h.ports.queue.counts().await {
        Ok(c) => {
            let drained = if expect.queue_may_hold_retries {
                c.ready == 0 && c.in_flight == 0
            } else {
                c.is_drained()
            };
            if !drained {
                v.push(format!("queue not drained: {c:?}"));
            }
        }
        Err(e) => v.push(format!("queue counts failed: {e}")),
    }
    match h.ports.queue.dead_letters(100_000).await {
        Ok(dl) => {
            r.dead_letters = dl.len();
            let foreign = dl
                .iter()
                .filter(|d| {
                    // A delivery settled before the queue's redrive names its file and the
                    // reason; the sweep gave that file a fresh task.
                    !d.reason
                        .contains(archiver_core::services::downloader::PARKED_REASON)
                        && !by_id
                            .get(&(d.task.tenant.to_string(), d.task.file_id.clone()))
                            .is_some_and(|f| matches!(f.state, FileState::Failed { .. }))
                })
                .count();
            if foreign > expect.foreign_dead_letters {
                v.push(format!(
                    "{foreign} dead letters name no failed file (allowed {}): {dl:?}",
                    expect.foreign_dead_letters
                ));
            }
            if dl.iter().any(|d| d.reason.trim().is_empty()) {
                v.push("a dead letter has no reason".into());
            }
        }
        Err(e) => v.push(format!("listing dead letters failed: {e}")),
    }
    r
}

/// Asserts every invariant (see the module docs) with nothing unusual expected.
pub async fn assert_invariants(h: &Harness) -> InvariantReport {
    assert_invariants_with(h, &Expect::default()).await
}

/// Asserts every invariant, allowing what `expect` allows.
pub async fn assert_invariants_with(h: &Harness, expect: &Expect) -> InvariantReport {
    let r = check_invariants(h, expect).await;
    assert!(
        r.violations.is_empty(),
        "{} invariant violation(s):\n  {}",
        r.violations.len(),
        r.violations.join("\n  ")
    );
    r
}
