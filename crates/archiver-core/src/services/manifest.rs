//! Custody: sealing a day into a signed manifest, checking a sealed day, and proving that
//! one object belongs to it. The formats are in [`crate::domain::manifest`]; the auditor's
//! procedure in CUSTODY.md.
//!
//! **Sealing** ([`seal`]) a tenant's UTC day D, once D is final (its end + the tenant's
//! `reconcile_grace` has passed) and reconciled:
//!
//! - the conversations of D are the CDRs whose conversation started on D
//!   ([`crate::domain::manifest::cdr_day`]), read from the CDR index over D-1 to D+1 (a
//!   user's part may start after midnight of a long meeting's start day), out-of-scope ones
//!   included (they are kept); the objects are their archived media (the CDR's media
//!   reference, or the file record when the reference is not synced yet);
//! - the manifest lists the day, the previous manifest's SHA-256 (the latest sealed day
//!   before D, else `GENESIS`), the audit chain head, the day's newest reconciliation
//!   report, one line per object and one per CDR; its Merkle root is signed by the
//!   [`ManifestSigner`];
//! - it is stored create-only at `{tenant}/manifests/{D}.json` and a `seal` entry naming
//!   it, its root and its SHA-256 is appended to the audit trail;
//! - sealing a sealed day again compares the day as it is now with what its manifests list:
//!   nothing changed → [`SealStatus::AlreadySealed`], nothing written; a CDR or object that
//!   changed or appeared → an addendum `{D}.{n}.json` listing only those lines, its `prev`
//!   the day's previous part. A sealed manifest is never rewritten.
//!
//! The reconciler seals every day that became final and reconciled
//! ([`seal_due`], called by `Reconciler::run` when it has a [`Custody`]), and once a day
//! looks for changes in the sealed days of the last [`super::reconcile::LATE_RECORDING_DAYS`]
//! (late recordings), which get addenda.
//!
//! **Checking** ([`verify_day`]): every part's signature against the trusted public keys,
//! its Merkle root against its lines, its `prev` link, the audit chain up to the sealed
//! head; every listed object's bytes (streamed) against its SHA-256 and size; every listed
//! CDR against its digest (a CDR changed after the seal must be covered by an addendum);
//! and the day as it is now: a CDR or archived object of D that no manifest lists, or an
//! object stored under D's prefix that nothing names, is a finding. Objects and CDRs that
//! the audit trail records as disposed of (past retention) are not reported missing.
//!
//! **Inclusion proof** ([`inclusion_proof`]): the latest manifest part listing an object,
//! the object's line, its leaf index and audit path, and the signed root.

use super::audit::{record, verify_chain};
use super::reconcile::{DayReport, LATE_RECORDING_DAYS, RECONCILED_THROUGH};
use crate::domain::manifest::{
    GENESIS, Line, MANIFEST_FORMAT, ManifestDoc, cdr_day, cdr_digest, key_day, manifest_key,
    parse_manifest_key,
};
use crate::domain::merkle;
use crate::domain::{
    Cdr, CdrQuery, ContentKind, FileState, MediaState, ObjectKey, Source, TenantConfig, TenantId,
};
use crate::ports::{
    AuditAction, AuditDraft, AuditLog, BlobError, BodyExpectations, ManifestSigner, MetaError,
    ObjectMeta, Ports, PublicKey, ResumableSha256, SignerError, VerifiedBody, read_parallel,
    signed_message, verify_signature,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// The memo key of the last day sealed in order (see [`seal_due`]).
pub const SEALED_THROUGH: &str = "sealed-through";

/// Media files read at once while building a day (file records) and checking it (objects).
const CONCURRENCY: usize = 16;

/// What sealing needs besides the stores: the signer, the audit trail, and who seals.
#[derive(Clone)]
pub struct Custody {
    /// Signs the manifests' roots.
    pub signer: Arc<dyn ManifestSigner>,
    /// Where the `seal` entries go (and whose head each manifest records).
    pub audit: Arc<dyn AuditLog>,
    /// Who seals, for the audit trail (`aws-lambda:reconciler:eu-west-1`, `alice@host`).
    pub actor: String,
}

/// Whether [`seal`] may seal a day that has no manifest yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealMode {
    /// Seal it (or add an addendum to a sealed day).
    Seal,
    /// Only add addenda to a day already sealed; leave an unsealed day alone.
    AddendaOnly,
}

/// What [`seal`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealStatus {
    /// The day's manifest was written.
    Sealed,
    /// The day was sealed; an addendum lists what changed or appeared since.
    Addendum,
    /// The day was sealed and nothing changed since: nothing written.
    AlreadySealed,
    /// Not sealed, and [`SealMode::AddendaOnly`] asked not to.
    NotSealed,
}

/// The outcome of sealing one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SealOutcome {
    /// The tenant.
    pub tenant: String,
    /// The day.
    pub day: NaiveDate,
    /// What happened.
    pub status: SealStatus,
    /// The manifest written (or, when already sealed, the day's last part).
    pub key: Option<String>,
    /// Its part (0: the seal).
    pub part: Option<u32>,
    /// Its Merkle root.
    pub root: Option<String>,
    /// Object lines written.
    pub objects: usize,
    /// CDR lines written.
    pub cdrs: usize,
}

/// Why a day could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The day is not final yet.
    #[error("day {day} is not final until {until} (its end + reconcile_grace)")]
    NotFinal {
        /// The day.
        day: NaiveDate,
        /// When it will be.
        until: DateTime<Utc>,
    },
    /// The day is not reconciled yet.
    #[error(
        "day {day} is not reconciled yet (reconciled through {through}): run `zoom-archiver reconcile --day {day}` first"
    )]
    NotReconciled {
        /// The day.
        day: NaiveDate,
        /// The last day reconciled, if any.
        through: String,
    },
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The object store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// A stored manifest of the day cannot be read: it is not added to until checked.
    #[error("{key} cannot be read ({why}): run `zoom-archiver verify --day {day}`")]
    Unreadable {
        /// The manifest.
        key: String,
        /// The day.
        day: NaiveDate,
        /// What is wrong.
        why: String,
    },
    /// Another process wrote the same manifest first.
    #[error("{0} was written by another process at the same time: seal again")]
    Raced(String),
    /// The audit trail failed after the manifest was stored.
    #[error(
        "{key} is stored, but its seal entry could not be appended to the audit trail: {source}"
    )]
    Audit {
        /// The manifest.
        key: String,
        /// Why.
        source: MetaError,
    },
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// When `day` is final for `tenant`: its end plus `reconcile_grace`.
pub fn final_at(tenant: &TenantConfig, day: NaiveDate) -> DateTime<Utc> {
    let grace = Duration::from_std(tenant.reconcile_grace).unwrap_or(Duration::hours(6));
    day_start(day) + Duration::days(1) + grace
}

async fn read_all(ports: &Ports, key: &ObjectKey) -> Result<Vec<u8>, BlobError> {
    let body = ports.blobs.get(key).await?;
    body.try_fold(Vec::new(), |mut acc, c| async move {
        acc.extend_from_slice(&c);
        Ok(acc)
    })
    .await
    .map_err(|e| BlobError::Backend {
        key: key.to_string(),
        source: e.into(),
        retryable: true,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The metadata of a stored manifest. Retention: manifests are to be kept at least as long
/// as the longest retention of what they list (S3 Object Lock COMPLIANCE; the bucket's
/// default retention applies until a per-object date is passed here).
fn manifest_meta(tenant: &TenantId, day: NaiveDate, part: u32) -> ObjectMeta {
    ObjectMeta {
        tenant: tenant.clone(),
        source: Source::Meetings,
        conversation_id: "manifest".into(),
        file_id: format!("manifest-{day}-{part}"),
        content_type: Some("application/json".into()),
        retain_until: None,
    }
}

/// One stored part of a day: its key, its bytes' SHA-256, and the document.
struct Part {
    key: ObjectKey,
    part: u32,
    hash: String,
    doc: Result<ManifestDoc, String>,
}

/// The manifest keys stored for `day`, by part.
async fn part_keys(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
) -> Result<BTreeMap<u32, ObjectKey>, BlobError> {
    let prefix = format!("{tenant}/manifests/{day}.");
    Ok(ports
        .blobs
        .list(&prefix)
        .await?
        .into_iter()
        .filter_map(|o| match parse_manifest_key(o.key.as_str()) {
            Some((d, p)) if d == day => Some((p, o.key)),
            _ => None,
        })
        .collect())
}

async fn read_part(ports: &Ports, key: ObjectKey, part: u32) -> Result<Part, BlobError> {
    let bytes = read_all(ports, &key).await?;
    let doc = serde_json::from_slice::<ManifestDoc>(&bytes).map_err(|e| e.to_string());
    Ok(Part {
        key,
        part,
        hash: sha256_hex(&bytes),
        doc,
    })
}

/// The day as it is now: its CDRs and archived objects, each as its manifest line.
struct DayContent {
    /// By CDR id.
    cdrs: BTreeMap<String, Line>,
    /// By object key.
    objects: BTreeMap<String, Line>,
}

async fn day_content(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
) -> Result<DayContent, MetaError> {
    let cdrs: Vec<Cdr> = ports
        .meta
        .query_cdrs(&CdrQuery {
            tenant: Some(tenant.clone()),
            from: Some(day_start(day) - Duration::days(1)),
            to: Some(day_start(day) + Duration::days(2)),
            include_out_of_scope: true,
            ..CdrQuery::default()
        })
        .await?
        .into_iter()
        .filter(|c| cdr_day(c) == day)
        .collect();
    let mut content = DayContent {
        cdrs: BTreeMap::new(),
        objects: BTreeMap::new(),
    };
    let mut unsynced: BTreeSet<(Source, String)> = BTreeSet::new();
    for c in &cdrs {
        content.cdrs.insert(
            c.cdr_id.clone(),
            Line::Cdr {
                cdr_id: c.cdr_id.clone(),
                sha256: cdr_digest(c),
            },
        );
        for m in &c.media {
            match (&m.state, &m.sha256, m.size) {
                (MediaState::Archived, Some(sha256), Some(size)) => {
                    content
                        .objects
                        .entry(m.key.clone())
                        .or_insert_with(|| Line::Object {
                            key: m.key.clone(),
                            sha256: sha256.clone(),
                            size,
                            file_id: m.file_id.clone(),
                        });
                }
                _ => {
                    unsynced.insert((c.source, m.file_id.clone()));
                }
            }
        }
    }
    // Files whose CDR does not show them archived (yet): their own record decides.
    let records: Vec<_> = futures::stream::iter(unsynced)
        .map(|(source, id)| async move { ports.meta.get_file(tenant, source, &id).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for f in records.into_iter().flatten() {
        if let FileState::Archived { size, sha256, .. } = &f.state {
            let key = f.object_key.to_string();
            content
                .objects
                .entry(key.clone())
                .or_insert_with(|| Line::Object {
                    key,
                    sha256: sha256.clone(),
                    size: *size,
                    file_id: f.file_id.clone(),
                });
        }
    }
    Ok(content)
}

/// The newest stored reconciliation report of the day, as its manifest line.
async fn reconciliation_line(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
) -> Result<Line, BlobError> {
    let prefix = format!("{tenant}/reports/reconcile/{day}/");
    let Some(info) = ports.blobs.list(&prefix).await?.pop() else {
        return Ok(Line::Reconciliation {
            report: None,
            complete: None,
            phone: None,
            meetings: None,
        });
    };
    let bytes = read_all(ports, &info.key).await?;
    let report = serde_json::from_slice::<DayReport>(&bytes).ok();
    Ok(Line::Reconciliation {
        report: Some(info.key.to_string()),
        complete: report.as_ref().map(|r| r.complete),
        phone: report
            .as_ref()
            .and_then(|r| serde_json::to_value(&r.phone).ok()),
        meetings: report
            .as_ref()
            .and_then(|r| serde_json::to_value(&r.meetings).ok()),
    })
}

/// The manifest (part 0) of the latest sealed day before `day`, with its bytes' SHA-256.
async fn previous_day(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
) -> Result<Option<(NaiveDate, ObjectKey, String)>, BlobError> {
    let yesterday = day - Duration::days(1);
    let key = manifest_key(tenant, yesterday, 0);
    let found = if ports.blobs.head(&key).await?.is_some() {
        Some((yesterday, key))
    } else {
        ports
            .blobs
            .list(&format!("{tenant}/manifests/"))
            .await?
            .into_iter()
            .filter_map(|o| match parse_manifest_key(o.key.as_str()) {
                Some((d, 0)) if d < day => Some((d, o.key)),
                _ => None,
            })
            .max_by_key(|(d, _)| *d)
    };
    match found {
        None => Ok(None),
        Some((d, key)) => {
            let bytes = read_all(ports, &key).await?;
            Ok(Some((d, key, sha256_hex(&bytes))))
        }
    }
}

/// Seals `tenant`'s `day` (see the module docs). Refuses a day that is not final or not
/// reconciled.
pub async fn seal(
    ports: &Ports,
    custody: &Custody,
    tenant: &TenantConfig,
    day: NaiveDate,
    mode: SealMode,
) -> Result<SealOutcome, SealError> {
    let now = ports.clock.now();
    let until = final_at(tenant, day);
    if now < until {
        return Err(SealError::NotFinal { day, until });
    }
    let through = ports
        .meta
        .get_memo(&tenant.id, RECONCILED_THROUGH, now)
        .await?
        .and_then(|v| v.parse::<NaiveDate>().ok());
    if through.is_none_or(|t| t < day) {
        return Err(SealError::NotReconciled {
            day,
            through: through.map_or_else(|| "no day".to_string(), |d| d.to_string()),
        });
    }
    let t = &tenant.id;
    let mut outcome = SealOutcome {
        tenant: t.to_string(),
        day,
        status: SealStatus::NotSealed,
        key: None,
        part: None,
        root: None,
        objects: 0,
        cdrs: 0,
    };
    let mut parts = Vec::new();
    for (p, key) in part_keys(ports, t, day).await? {
        parts.push(read_part(ports, key, p).await?);
    }
    if parts.is_empty() && mode == SealMode::AddendaOnly {
        return Ok(outcome);
    }
    // What the day's manifests list so far (later parts supersede earlier ones).
    let mut listed: HashMap<String, String> = HashMap::new();
    for part in &parts {
        let doc = part.doc.as_ref().map_err(|why| SealError::Unreadable {
            key: part.key.to_string(),
            day,
            why: why.clone(),
        })?;
        for l in &doc.lines {
            let line = Line::parse(l).map_err(|why| SealError::Unreadable {
                key: part.key.to_string(),
                day,
                why,
            })?;
            if let Some(s) = line.subject() {
                listed.insert(s, l.clone());
            }
        }
    }
    let content = day_content(ports, t, day).await?;
    let changed = |line: &Line| {
        let s = line.subject().unwrap_or_default();
        listed.get(&s) != Some(&line.encode())
    };
    let objects: Vec<&Line> = content.objects.values().filter(|l| changed(l)).collect();
    let cdrs: Vec<&Line> = content.cdrs.values().filter(|l| changed(l)).collect();
    let (part, prev) = match parts.last() {
        None => (
            0,
            match previous_day(ports, t, day).await? {
                Some((d, key, hash)) => Line::Prev {
                    key: Some(key.to_string()),
                    day: Some(d),
                    hash,
                },
                None => Line::Prev {
                    key: None,
                    day: None,
                    hash: GENESIS.into(),
                },
            },
        ),
        Some(last) => {
            if objects.is_empty() && cdrs.is_empty() {
                outcome.status = SealStatus::AlreadySealed;
                outcome.key = Some(last.key.to_string());
                outcome.part = Some(last.part);
                outcome.root = last.doc.as_ref().ok().map(|d| d.root.clone());
                return Ok(outcome);
            }
            (
                last.part + 1,
                Line::Prev {
                    key: Some(last.key.to_string()),
                    day: Some(day),
                    hash: last.hash.clone(),
                },
            )
        }
    };
    let head = custody.audit.head(t).await?;
    let mut lines = vec![
        Line::Day {
            tenant: t.to_string(),
            day,
            part,
            format: MANIFEST_FORMAT.into(),
        }
        .encode(),
        prev.encode(),
        Line::AuditHead {
            seq: head.as_ref().map_or(0, |h| h.seq),
            hash: head.as_ref().map_or_else(
                || crate::ports::GENESIS_HASH.to_string(),
                |h| h.hash.clone(),
            ),
        }
        .encode(),
        reconciliation_line(ports, t, day).await?.encode(),
    ];
    lines.extend(objects.iter().map(|l| l.encode()));
    lines.extend(cdrs.iter().map(|l| l.encode()));
    let leaves: Vec<_> = lines
        .iter()
        .map(|l| merkle::leaf_hash(l.as_bytes()))
        .collect();
    let root = hex::encode(merkle::root(&leaves));
    let signature = custody.signer.sign(&signed_message(&root)).await?;
    let doc = ManifestDoc {
        format: MANIFEST_FORMAT.into(),
        tenant: t.to_string(),
        day,
        part,
        created_at: now,
        root: root.clone(),
        signature,
        lines,
    };
    let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    let hash = sha256_hex(&bytes);
    let key = manifest_key(t, day, part);
    let size = bytes.len() as u64;
    let body = VerifiedBody::new(
        Box::pin(futures::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::from(bytes),
        )])),
        BodyExpectations {
            kind: ContentKind::Document,
            size: Some(size),
        },
    );
    match ports
        .blobs
        .put_stream(&key, &manifest_meta(t, day, part), body)
        .await
    {
        Ok(_) => {}
        Err(BlobError::AlreadyExists(k)) => return Err(SealError::Raced(k.to_string())),
        Err(e) => return Err(e.into()),
    }
    let entry = AuditDraft {
        tenant: t.clone(),
        at: now,
        actor: custody.actor.clone(),
        action: AuditAction::Seal,
        objects: vec![key.to_string()],
        reason: Some(format!(
            "day {day} part {part}: {} objects, {} CDRs, root {root}, manifest sha256 {hash}",
            objects.len(),
            cdrs.len()
        )),
        result: "ok".into(),
    };
    record(custody.audit.as_ref(), entry)
        .await
        .map_err(|source| SealError::Audit {
            key: key.to_string(),
            source,
        })?;
    tracing::info!(tenant = %t, %day, part, objects = objects.len(), cdrs = cdrs.len(), %root, "day sealed");
    outcome.status = if part == 0 {
        SealStatus::Sealed
    } else {
        SealStatus::Addendum
    };
    outcome.key = Some(key.to_string());
    outcome.part = Some(part);
    outcome.root = Some(root);
    outcome.objects = objects.len();
    outcome.cdrs = cdrs.len();
    Ok(outcome)
}

/// What [`seal_due`] did.
#[derive(Debug, Default)]
pub struct SealRun {
    /// Each day looked at, in order.
    pub outcomes: Vec<SealOutcome>,
    /// Days that could not be sealed, with the reason (they are tried again next run).
    pub failures: Vec<String>,
}

/// Seals what reconciliation made final: every day after the last one sealed in order
/// (the [`SEALED_THROUGH`] memo; without it, from the first day of the tenant's
/// `initial_lookback`, or the earliest of `extra` when earlier) through the last day
/// reconciled, in order; a day that fails is tried again by the next run; then `extra` (days
/// reconciled explicitly, final ones only). When a new day was sealed, the sealed days of
/// the last [`LATE_RECORDING_DAYS`] before it are looked at again for addenda.
pub async fn seal_due(
    ports: &Ports,
    custody: &Custody,
    tenant: &TenantConfig,
    extra: &[NaiveDate],
) -> SealRun {
    let mut run = SealRun::default();
    let now = ports.clock.now();
    let memo = |key: &'static str| async move {
        ports
            .meta
            .get_memo(&tenant.id, key, now)
            .await
            .map(|v| v.and_then(|v| v.parse::<NaiveDate>().ok()))
    };
    let (through, sealed) = match (memo(RECONCILED_THROUGH).await, memo(SEALED_THROUGH).await) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => {
            run.failures.push(format!("reading what is sealed: {e}"));
            return run;
        }
    };
    let extra: Vec<NaiveDate> = extra
        .iter()
        .copied()
        .filter(|d| final_at(tenant, *d) <= now && through.is_some_and(|t| *d <= t))
        .collect();
    let mut sealed_new = false;
    if let Some(through) = through {
        let from = match sealed {
            Some(s) => s + Duration::days(1),
            // First seal of this tenant: the days reconciliation starts with.
            None => {
                let lookback =
                    Duration::from_std(tenant.initial_lookback).unwrap_or(Duration::days(30));
                let start = (now - lookback).date_naive();
                extra.iter().copied().min().map_or(start, |e| e.min(start))
            }
        };
        let mut in_order = true;
        let mut d = from;
        while d <= through {
            match seal(ports, custody, tenant, d, SealMode::Seal).await {
                Ok(o) => {
                    sealed_new |= o.status == SealStatus::Sealed;
                    run.outcomes.push(o);
                    if in_order
                        && let Err(e) = ports
                            .meta
                            .put_memo(
                                &tenant.id,
                                SEALED_THROUGH,
                                &d.to_string(),
                                now + Duration::days(3650),
                            )
                            .await
                    {
                        run.failures
                            .push(format!("remembering day {d} sealed: {e}"));
                        in_order = false;
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, day = %d, error = %e, "sealing failed; tried again next run");
                    run.failures.push(format!("sealing {d}: {e}"));
                    in_order = false;
                }
            }
            d += Duration::days(1);
        }
        if sealed_new {
            let mut d = from - Duration::days(LATE_RECORDING_DAYS);
            while d < from {
                match seal(ports, custody, tenant, d, SealMode::AddendaOnly).await {
                    Ok(o) if o.status == SealStatus::Addendum => run.outcomes.push(o),
                    Ok(_) => {}
                    Err(e) => run.failures.push(format!("looking again at {d}: {e}")),
                }
                d += Duration::days(1);
            }
        }
    }
    for d in extra {
        if run.outcomes.iter().any(|o| o.day == d) {
            continue;
        }
        match seal(ports, custody, tenant, d, SealMode::Seal).await {
            Ok(o) => run.outcomes.push(o),
            Err(e) => run.failures.push(format!("sealing {d}: {e}")),
        }
    }
    run
}

/// Which check found a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A manifest missing, unreadable, or not what its key says.
    Manifest,
    /// A signature.
    Signature,
    /// A Merkle root against its lines.
    Root,
    /// The link to the previous manifest.
    Prev,
    /// The audit chain up to the sealed head.
    Audit,
    /// An object's bytes.
    Object,
    /// A CDR.
    Cdr,
}

impl Check {
    /// The upper-case label of report lines.
    pub fn label(self) -> &'static str {
        match self {
            Check::Manifest => "MANIFEST",
            Check::Signature => "SIGNATURE",
            Check::Root => "ROOT",
            Check::Prev => "PREV",
            Check::Audit => "AUDIT",
            Check::Object => "OBJECT",
            Check::Cdr => "CDR",
        }
    }
}

/// One problem of a sealed day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayFinding {
    /// Which check.
    pub check: Check,
    /// What it concerns: a manifest or object key, a CDR id, the tenant's audit chain.
    pub subject: String,
    /// What is wrong.
    pub problem: String,
}

/// What [`verify_day`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCheck {
    /// The tenant.
    pub tenant: String,
    /// The day.
    pub day: Option<NaiveDate>,
    /// The manifest parts checked.
    pub manifests: Vec<String>,
    /// Objects read back.
    pub objects: u64,
    /// Bytes read.
    pub bytes: u64,
    /// CDRs compared.
    pub cdrs: u64,
    /// Audit entries walked.
    pub audit_entries: u64,
    /// Listed objects and CDRs that the audit trail records as disposed of since.
    pub disposed: u64,
    /// Every problem.
    pub findings: Vec<DayFinding>,
}

impl DayCheck {
    /// True when nothing was found.
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }

    fn find(&mut self, check: Check, subject: impl Into<String>, problem: impl Into<String>) {
        self.findings.push(DayFinding {
            check,
            subject: subject.into(),
            problem: problem.into(),
        });
    }
}

/// How objects are read back.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Objects read at once.
    pub concurrency: usize,
    /// Objects of at least this size are read as parallel ranges.
    pub parallel_min_size: u64,
    /// The size of each range.
    pub parallel_part: u64,
    /// Ranges read at once per large object.
    pub parallel_streams: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            parallel_min_size: 64 * 1024 * 1024,
            parallel_part: 8 * 1024 * 1024,
            parallel_streams: 4,
        }
    }
}

/// Reads an object back: its size and SHA-256 (lowercase hex).
async fn hash_object(
    ports: &Ports,
    key: &ObjectKey,
    size: u64,
    opts: &ReadOptions,
) -> Result<(u64, String), BlobError> {
    let mut body = if size >= opts.parallel_min_size {
        read_parallel(
            ports.blobs.clone(),
            key,
            size,
            opts.parallel_part,
            opts.parallel_streams,
        )
        .await?
    } else {
        ports.blobs.get(key).await?
    };
    let mut h = ResumableSha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| BlobError::Backend {
            key: key.to_string(),
            source: e.into(),
            retryable: true,
        })?;
        h.update(&chunk);
    }
    Ok((h.len(), hex::encode(h.finalize())))
}

/// Why a day could not be checked (problems of the day itself are findings).
#[derive(Debug, thiserror::Error)]
pub enum VerifyDayError {
    /// The metadata store or the audit trail failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The object store failed while listing.
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// The object keys and CDR ids that the audit trail records as disposed of past retention.
async fn disposed(log: &dyn AuditLog, tenant: &TenantId) -> Result<HashSet<String>, MetaError> {
    const PAGE: usize = 1000;
    let mut out = HashSet::new();
    let mut from = 1;
    loop {
        let page = log.list(tenant, from, PAGE).await?;
        let n = page.len();
        for e in page {
            from = e.seq + 1;
            // A disposal past retention that the store carried out (`services::custody`
            // records "disposed"; a refusal or a dry run is no disposal). Deletions at Zoom
            // leave the archive's copy: they do not count.
            if e.draft.action == AuditAction::Dispose
                && (e.draft.result == "disposed" || e.draft.result.starts_with("ok"))
            {
                out.extend(e.draft.objects);
            }
        }
        if n < PAGE {
            return Ok(out);
        }
    }
}

/// Checks `tenant`'s sealed `day` (see the module docs) with the public keys trusted to
/// have signed manifests (the current key and retired ones).
pub async fn verify_day(
    ports: &Ports,
    audit: &dyn AuditLog,
    keys: &[PublicKey],
    tenant: &TenantId,
    day: NaiveDate,
    opts: &ReadOptions,
) -> Result<DayCheck, VerifyDayError> {
    let mut check = DayCheck {
        tenant: tenant.to_string(),
        day: Some(day),
        ..DayCheck::default()
    };
    let stored = part_keys(ports, tenant, day).await?;
    if stored.is_empty() {
        let key = manifest_key(tenant, day, 0);
        check.find(
            Check::Manifest,
            key.as_str(),
            format!("day {day} is not sealed: no manifest"),
        );
        return Ok(check);
    }
    let last = stored.keys().max().copied().unwrap_or(0);
    for p in 0..=last {
        if !stored.contains_key(&p) {
            check.find(
                Check::Manifest,
                manifest_key(tenant, day, p).as_str(),
                format!("part {p} of day {day} is missing (part {last} exists)"),
            );
        }
    }
    let mut parts: Vec<Part> = Vec::new();
    for (p, key) in stored {
        check.manifests.push(key.to_string());
        match read_part(ports, key.clone(), p).await {
            Ok(part) => parts.push(part),
            Err(e) => check.find(
                Check::Manifest,
                key.as_str(),
                format!("cannot be read: {e}"),
            ),
        }
    }
    // Latest line per object and CDR, over the parts in order.
    let mut listed: BTreeMap<String, Line> = BTreeMap::new();
    let mut heads: BTreeSet<(u64, String)> = BTreeSet::new();
    let mut hashes: HashMap<u32, String> = HashMap::new();
    for part in &parts {
        hashes.insert(part.part, part.hash.clone());
    }
    for part in &parts {
        let k = part.key.as_str();
        let doc = match &part.doc {
            Ok(d) => d,
            Err(e) => {
                check.find(Check::Manifest, k, format!("is not a manifest: {e}"));
                continue;
            }
        };
        let mut lines = Vec::with_capacity(doc.lines.len());
        for l in &doc.lines {
            match Line::parse(l) {
                Ok(line) => lines.push(line),
                Err(e) => check.find(Check::Manifest, k, e),
            }
        }
        let claimed = (doc.format.as_str(), doc.tenant.as_str(), doc.day, doc.part);
        let want = (MANIFEST_FORMAT, tenant.as_str(), day, part.part);
        let first_ok = matches!(lines.first(), Some(Line::Day { tenant: t, day: d, part: p, format: f })
            if (f.as_str(), t.as_str(), *d, *p) == want);
        if claimed != want || !first_ok {
            check.find(
                Check::Manifest,
                k,
                format!(
                    "says it is part {} of {} for tenant {} (format {}), not part {} of {day} for {tenant}",
                    doc.part, doc.day, doc.tenant, doc.format, part.part
                ),
            );
        }
        let root = doc.computed_root();
        if root != doc.root {
            check.find(
                Check::Root,
                k,
                format!(
                    "its {} lines hash to root {root}, it says {} (a line was changed, added or removed)",
                    doc.lines.len(),
                    doc.root
                ),
            );
        }
        match keys.iter().find(|key| key.key_id == doc.signature.key_id) {
            None => check.find(
                Check::Signature,
                k,
                format!(
                    "signed by key {}, which is not a trusted public key ({})",
                    doc.signature.key_id,
                    keys.iter()
                        .map(|k| k.key_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(key) => {
                if let Err(e) = verify_signature(key, &signed_message(&doc.root), &doc.signature) {
                    check.find(Check::Signature, k, e);
                }
            }
        }
        for line in lines {
            match &line {
                Line::Prev { key, hash, .. } => {
                    check_prev(
                        ports,
                        tenant,
                        day,
                        part,
                        key.as_deref(),
                        hash,
                        &hashes,
                        &mut check,
                    )
                    .await;
                }
                Line::AuditHead { seq, hash } if *seq > 0 => {
                    heads.insert((*seq, hash.clone()));
                }
                _ => {
                    if let Some(s) = line.subject() {
                        listed.insert(s, line);
                    }
                }
            }
        }
    }
    // The highest sealed head first: a link broken below it breaks the lower heads above
    // that link too, and is reported once.
    let mut broken_at: Option<u64> = None;
    for (seq, hash) in heads.iter().rev() {
        if broken_at.is_some_and(|b| *seq >= b) {
            continue;
        }
        let c = verify_chain(audit, tenant, Some((*seq, hash.as_str()))).await?;
        check.audit_entries = check.audit_entries.max(c.checked);
        if let Some(b) = c.broken {
            broken_at = Some(b.seq);
            check.find(
                Check::Audit,
                format!("{tenant} audit chain"),
                format!("sealed head {seq}: {}", b.problem),
            );
        }
    }
    let content = day_content(ports, tenant, day).await?;
    let mut gone: Option<HashSet<String>> = None;
    // Objects: read back and hashed.
    let objects: Vec<(String, u64, String)> = listed
        .values()
        .filter_map(|l| match l {
            Line::Object {
                key, sha256, size, ..
            } => Some((key.clone(), *size, sha256.clone())),
            _ => None,
        })
        .collect();
    let results: Vec<_> = futures::stream::iter(objects)
        .map(|(key, size, sha256)| async move {
            let r = match ObjectKey::parse(key.clone()) {
                Ok(k) => hash_object(ports, &k, size, opts).await,
                Err(e) => Err(BlobError::Backend {
                    key: key.clone(),
                    source: e.into(),
                    retryable: false,
                }),
            };
            (key, size, sha256, r)
        })
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    for (key, size, sha256, r) in results {
        check.objects += 1;
        match r {
            Ok((n, h)) => {
                check.bytes += n;
                if n != size || h != sha256 {
                    check.find(
                        Check::Object,
                        key,
                        format!("its bytes hash to {h} ({n} bytes); the manifest lists {sha256} ({size} bytes)"),
                    );
                }
            }
            Err(BlobError::NotFound(_)) => {
                if gone.is_none() {
                    gone = Some(disposed(audit, tenant).await?);
                }
                if gone.as_ref().is_some_and(|g| g.contains(&key)) {
                    check.disposed += 1;
                } else {
                    check.find(Check::Object, key, "is missing");
                }
            }
            Err(e) => check.find(Check::Object, key, format!("cannot be read: {e}")),
        }
    }
    // CDRs: compared with their sealed digest.
    for line in listed.values() {
        let Line::Cdr { cdr_id, sha256 } = line else {
            continue;
        };
        check.cdrs += 1;
        let now = match content.cdrs.get(cdr_id) {
            Some(Line::Cdr { sha256, .. }) => Some(sha256.clone()),
            _ => ports
                .meta
                .get_cdr(tenant, cdr_id)
                .await?
                .map(|c| cdr_digest(&c)),
        };
        match now {
            Some(h) if h == *sha256 => {}
            Some(h) => check.find(
                Check::Cdr,
                cdr_id,
                format!(
                    "changed after the seal and no addendum covers it: it hashes to {h}, the manifest lists {sha256}"
                ),
            ),
            None => {
                if gone.is_none() {
                    gone = Some(disposed(audit, tenant).await?);
                }
                if gone.as_ref().is_some_and(|g| g.contains(cdr_id)) {
                    check.disposed += 1;
                } else {
                    check.find(Check::Cdr, cdr_id, "is missing from the metadata store");
                }
            }
        }
    }
    // The day as it is now: what no manifest lists.
    for id in content.cdrs.keys() {
        if !listed.contains_key(&format!("cdr:{id}")) {
            check.find(
                Check::Cdr,
                id,
                format!("is a CDR of {day} that no manifest lists (it appeared after the seal; `zoom-archiver seal --day {day}` adds an addendum)"),
            );
        }
    }
    let mut named: HashSet<&str> = content.objects.keys().map(String::as_str).collect();
    for key in content.objects.keys() {
        if !listed.contains_key(&format!("object:{key}")) {
            check.find(
                Check::Object,
                key,
                format!("was archived for {day} and no manifest lists it (archived after the seal; `zoom-archiver seal --day {day}` adds an addendum)"),
            );
        }
    }
    for l in listed.values() {
        if let Line::Object { key, .. } = l {
            named.insert(key);
        }
    }
    for source in Source::ALL {
        let prefix = format!("{tenant}/{source}/{}/", day.format("%Y/%m/%d"));
        for o in ports.blobs.list(&prefix).await? {
            if !named.contains(o.key.as_str()) {
                check.find(
                    Check::Object,
                    o.key.as_str(),
                    format!("is stored under {day} but no record or manifest names it"),
                );
            }
        }
    }
    Ok(check)
}

#[allow(clippy::too_many_arguments)]
async fn check_prev(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
    part: &Part,
    key: Option<&str>,
    hash: &str,
    hashes: &HashMap<u32, String>,
    check: &mut DayCheck,
) {
    let k = part.key.as_str();
    if part.part > 0 {
        let want = manifest_key(tenant, day, part.part - 1);
        if key != Some(want.as_str()) {
            check.find(
                Check::Prev,
                k,
                format!("links to {key:?}, not to the day's previous part {want}"),
            );
            return;
        }
        match hashes.get(&(part.part - 1)) {
            Some(h) if h == hash => {}
            Some(h) => check.find(
                Check::Prev,
                k,
                format!("the previous part {want} hashes to {h}, this addendum recorded {hash}"),
            ),
            None => {} // Reported as a missing part already.
        }
        return;
    }
    let Some(key) = key else {
        if hash != GENESIS {
            check.find(
                Check::Prev,
                k,
                format!("has no previous manifest but a hash {hash}"),
            );
        }
        return;
    };
    let prev_ok = parse_manifest_key(key).is_some_and(|(d, p)| d < day && p == 0)
        && key.starts_with(&format!("{tenant}/manifests/"));
    let Ok(pk) = ObjectKey::parse(key) else {
        check.find(
            Check::Prev,
            k,
            format!("links to {key:?}, not a manifest key"),
        );
        return;
    };
    if !prev_ok {
        check.find(
            Check::Prev,
            k,
            format!("links to {key}, not to an earlier day's manifest of {tenant}"),
        );
        return;
    }
    match read_all(ports, &pk).await {
        Ok(bytes) => {
            let h = sha256_hex(&bytes);
            if h != hash {
                check.find(
                    Check::Prev,
                    k,
                    format!(
                        "the previous manifest {key} hashes to {h}, this manifest recorded {hash}"
                    ),
                );
            }
        }
        Err(BlobError::NotFound(_)) => check.find(
            Check::Prev,
            k,
            format!("the previous manifest {key} is missing"),
        ),
        Err(e) => check.find(
            Check::Prev,
            k,
            format!("the previous manifest {key} cannot be read: {e}"),
        ),
    }
}

/// An object's place in a sealed day: what `verify --object` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    /// The manifest part listing the object (the latest that does).
    pub manifest: String,
    /// The object's line.
    pub line: String,
    /// Its leaf hash, hex.
    pub leaf_hash: String,
    /// Its index among the manifest's lines (0-based).
    pub leaf_index: u64,
    /// The number of lines.
    pub tree_size: u64,
    /// The audit path (RFC 6962), from the leaf up, hex.
    pub path: Vec<String>,
    /// The manifest's signed root.
    pub root: String,
    /// The signature over the root.
    pub signature: crate::ports::SignatureEnvelope,
    /// Whether the path leads to the root.
    pub path_verifies: bool,
    /// What is wrong with the signature, if anything.
    pub signature_problem: Option<String>,
    /// What is wrong with the object's bytes now, if anything.
    pub object_problem: Option<String>,
}

impl InclusionProof {
    /// True when the path and the signature verify and the object's bytes are the ones listed.
    pub fn verifies(&self) -> bool {
        self.path_verifies && self.signature_problem.is_none() && self.object_problem.is_none()
    }
}

/// Why no inclusion proof could be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The key is not a dated media key of the tenant.
    #[error("{0} is not a media object key of this tenant ({{tenant}}/{{source}}/yyyy/mm/dd/…)")]
    NotMedia(String),
    /// No manifest of its day lists it.
    #[error("no manifest of {day} lists {key}")]
    NotListed {
        /// The key.
        key: String,
        /// Its day.
        day: NaiveDate,
    },
    /// The object store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// The inclusion proof of the object at `key` in its day's manifests (see the module docs).
pub async fn inclusion_proof(
    ports: &Ports,
    keys: &[PublicKey],
    tenant: &TenantId,
    key: &str,
) -> Result<InclusionProof, ProofError> {
    let day = key_day(key)
        .filter(|_| key.starts_with(&format!("{tenant}/")))
        .ok_or_else(|| ProofError::NotMedia(key.to_string()))?;
    let stored = part_keys(ports, tenant, day).await?;
    for (p, mk) in stored.into_iter().rev() {
        let part = read_part(ports, mk, p).await?;
        let Ok(doc) = part.doc else { continue };
        let found = doc
            .lines
            .iter()
            .position(|l| matches!(Line::parse(l), Ok(Line::Object { key: k, .. }) if k == key));
        let Some(index) = found else { continue };
        let leaves = doc.leaves();
        let path = merkle::audit_path(&leaves, index).unwrap_or_default();
        let root_bytes: Option<merkle::Hash> =
            hex::decode(&doc.root).ok().and_then(|r| r.try_into().ok());
        let path_verifies = root_bytes.is_some_and(|r| {
            merkle::verify_inclusion(index as u64, leaves.len() as u64, &leaves[index], &path, &r)
        });
        let signature_problem = match keys.iter().find(|k| k.key_id == doc.signature.key_id) {
            None => Some(format!(
                "signed by key {}, which is not a trusted public key",
                doc.signature.key_id
            )),
            Some(k) => verify_signature(k, &signed_message(&doc.root), &doc.signature).err(),
        };
        let object_problem = match Line::parse(&doc.lines[index]) {
            Ok(Line::Object { sha256, size, .. }) => match ObjectKey::parse(key.to_string()) {
                Ok(ok) => match hash_object(ports, &ok, size, &ReadOptions::default()).await {
                    Ok((n, h)) if n == size && h == sha256 => None,
                    Ok((n, h)) => Some(format!(
                        "its bytes hash to {h} ({n} bytes); the manifest lists {sha256} ({size} bytes)"
                    )),
                    Err(e) => Some(e.to_string()),
                },
                Err(e) => Some(e.to_string()),
            },
            _ => None,
        };
        return Ok(InclusionProof {
            manifest: part.key.to_string(),
            line: doc.lines[index].clone(),
            leaf_hash: hex::encode(leaves[index]),
            leaf_index: index as u64,
            tree_size: leaves.len() as u64,
            path: path.iter().map(hex::encode).collect(),
            root: doc.root.clone(),
            signature: doc.signature.clone(),
            path_verifies,
            signature_problem,
            object_problem,
        });
    }
    Err(ProofError::NotListed {
        key: key.to_string(),
        day,
    })
}
