//! Legal holds and disposition: what retention may delete, and what nothing may.
//!
//! - **Holds** (`hold add --matter M …`): every file of the selected conversations (a
//!   user's, one CDR's, a time range's) gets the matter in its record (`holds`) and, once
//!   stored, an object-store legal hold (S3 Object Lock legal hold; recorded and enforced
//!   by the local store). A file archived after the hold was placed gets the store's hold
//!   when it is stored (the downloader looks at `holds`).
//! - **Release** needs two different operators: the first asks
//!   (`hold release --matter M`), a second confirms (`--confirm-by NAME`, not the one who
//!   asked). Only then is the matter taken off each file, and the store's hold lifted
//!   from objects no other matter holds.
//! - **Dispose**: archived files past their retention date and held by no matter have
//!   their object deleted (the store refuses anything retained or held, whatever this
//!   code thinks); the record stays, marked disposed, and one `dispose` audit entry per
//!   file records its key, SHA-256, rule and time. Then the **CDRs** past retention are
//!   deleted: a CDR goes once every file it links is disposed of (a CDR without files, such
//!   as "recording failed", once the tenant's rules as configured give it a date that has
//!   passed; a CDR no rule matches is kept), the longest of its files' and its own rule's
//!   dates has passed, and no matter's scope (user, CDR or time range) covers it, even a
//!   hold placed after its files were disposed of. One `dispose` audit entry per CDR
//!   records its id, the SHA-256 of its canonical JSON (the digest manifests list), the
//!   rule and the time. CDRs out of scope are never deleted. Manifests that sealed a
//!   disposed file or CDR keep listing it, and `verify --day` excuses exactly the
//!   disposals the audit trail records.
//! - Matters are listed in the tenant's memo `holds` (written under the lease
//!   `holds-index:{tenant}` before the hold itself), so that disposal finds every hold.
//!
//! Every hold, release and disposal is written to the audit trail.

use super::audit::record;
use crate::domain::manifest::cdr_digest;
use crate::domain::retention::{Retained, RetentionRule, retention_for};
use crate::domain::{Cdr, CdrQuery, FileRecord, FileState, TenantId};
use crate::ports::{
    AuditAction, AuditDraft, AuditLog, BlobError, FileQuery, MetaError, Ports, retry_on_conflict,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which conversations a hold covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum HoldScope {
    /// Every conversation of a user (email or extension).
    User {
        /// The user.
        user: String,
    },
    /// One CDR's conversation.
    Cdr {
        /// The CDR id.
        cdr_id: String,
    },
    /// Every conversation starting in `[from, to)`.
    Range {
        /// From.
        from: DateTime<Utc>,
        /// To.
        to: DateTime<Utc>,
    },
}

/// A matter's hold, as recorded (memo `hold:{matter}` of the tenant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The matter.
    pub matter: String,
    /// What it covers (each `hold add` of the matter adds one).
    pub scopes: Vec<HoldScope>,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who asked for its release, and when (waiting for a second operator).
    #[serde(default)]
    pub release_requested: Option<(String, DateTime<Utc>)>,
}

/// Why a custody operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// The metadata store or the audit trail failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The object store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The request is not allowed (names why).
    #[error("{0}")]
    Refused(String),
}

const FOREVER: &str = "9999-12-31T00:00:00Z";
/// The memo listing every matter ever placed on a tenant (JSON array of names).
const HOLDS_INDEX: &str = "holds";

fn memo_key(matter: &str) -> String {
    format!("hold:{matter}")
}

fn forever() -> DateTime<Utc> {
    FOREVER.parse().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

async fn matters(ports: &Ports, tenant: &TenantId) -> Result<Vec<String>, CustodyError> {
    let now = ports.clock.now();
    match ports.meta.get_memo(tenant, HOLDS_INDEX, now).await? {
        Some(v) if !v.is_empty() => {
            Ok(serde_json::from_str(&v).map_err(|e| MetaError::Corrupt {
                key: HOLDS_INDEX.into(),
                message: e.to_string(),
            })?)
        }
        _ => Ok(Vec::new()),
    }
}

/// Adds `matter` to the tenant's list of matters, under a lease so that two operators
/// placing holds at once cannot lose one (the second is asked to try again).
async fn index_matter(
    ports: &Ports,
    tenant: &TenantId,
    matter: &str,
    by: &str,
) -> Result<(), CustodyError> {
    if matters(ports, tenant).await?.iter().any(|m| m == matter) {
        return Ok(());
    }
    let now = ports.clock.now();
    let lease = format!("holds-index:{tenant}");
    let owner = format!("{by}#{}", now.timestamp_nanos_opt().unwrap_or_default());
    if !ports
        .meta
        .try_lease(&lease, &owner, now + chrono::Duration::seconds(60), now)
        .await?
    {
        return Err(CustodyError::Refused(format!(
            "another hold of tenant {tenant} is being placed: try again in a minute"
        )));
    }
    let written = async {
        let mut fresh = matters(ports, tenant).await?;
        if !fresh.iter().any(|m| m == matter) {
            fresh.push(matter.to_string());
            let v = serde_json::to_string(&fresh).unwrap_or_default();
            ports
                .meta
                .put_memo(tenant, HOLDS_INDEX, &v, forever())
                .await?;
        }
        Ok::<(), CustodyError>(())
    }
    .await;
    ports.meta.release_lease(&lease, &owner).await?;
    written
}

/// Every hold in force on `tenant` (placed, and not released by a second operator).
pub async fn active_holds(ports: &Ports, tenant: &TenantId) -> Result<Vec<Hold>, CustodyError> {
    let mut out = Vec::new();
    for m in matters(ports, tenant).await? {
        if let Some(h) = get_hold(ports, tenant, &m).await? {
            out.push(h);
        }
    }
    Ok(out)
}

impl HoldScope {
    /// Whether the scope selects `cdr`'s conversation (as `hold add` selects them).
    pub fn covers(&self, cdr: &Cdr) -> bool {
        match self {
            HoldScope::Cdr { cdr_id } => &cdr.cdr_id == cdr_id,
            HoldScope::User { user } => CdrQuery {
                user: Some(user.clone()),
                include_out_of_scope: true,
                ..CdrQuery::default()
            }
            .matches(cdr),
            HoldScope::Range { from, to } => CdrQuery {
                from: Some(*from),
                to: Some(*to),
                include_out_of_scope: true,
                ..CdrQuery::default()
            }
            .matches(cdr),
        }
    }
}

/// The matter's hold, if placed.
pub async fn get_hold(
    ports: &Ports,
    tenant: &TenantId,
    matter: &str,
) -> Result<Option<Hold>, CustodyError> {
    let now = ports.clock.now();
    Ok(
        match ports.meta.get_memo(tenant, &memo_key(matter), now).await? {
            // A confirmed release empties the memo.
            Some(v) if v.is_empty() => None,
            Some(v) => Some(serde_json::from_str(&v).map_err(|e| MetaError::Corrupt {
                key: memo_key(matter),
                message: e.to_string(),
            })?),
            None => None,
        },
    )
}

async fn put_hold(ports: &Ports, tenant: &TenantId, h: &Hold) -> Result<(), CustodyError> {
    let v = serde_json::to_string(h).unwrap_or_default();
    ports
        .meta
        .put_memo(tenant, &memo_key(&h.matter), &v, forever())
        .await?;
    Ok(())
}

/// The files of the conversations `scope` selects.
async fn files_of(
    ports: &Ports,
    tenant: &TenantId,
    scope: &HoldScope,
) -> Result<Vec<FileRecord>, CustodyError> {
    let cdrs: Vec<Cdr> = match scope {
        HoldScope::Cdr { cdr_id } => ports
            .meta
            .get_cdr(tenant, cdr_id)
            .await?
            .into_iter()
            .collect(),
        HoldScope::User { user } => {
            ports
                .meta
                .query_cdrs(&CdrQuery {
                    tenant: Some(tenant.clone()),
                    user: Some(user.clone()),
                    include_out_of_scope: true,
                    ..CdrQuery::default()
                })
                .await?
        }
        HoldScope::Range { from, to } => {
            ports
                .meta
                .query_cdrs(&CdrQuery {
                    tenant: Some(tenant.clone()),
                    from: Some(*from),
                    to: Some(*to),
                    include_out_of_scope: true,
                    ..CdrQuery::default()
                })
                .await?
        }
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in &cdrs {
        for m in &c.media {
            if seen.insert((c.source, m.file_id.clone()))
                && let Some(f) = ports.meta.get_file(tenant, c.source, &m.file_id).await?
            {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Adds `matter` to (or removes it from) a file's holds; returns the record written.
async fn mark(
    ports: &Ports,
    f: &FileRecord,
    matter: &str,
    on: bool,
) -> Result<Option<FileRecord>, MetaError> {
    let meta = ports.meta.as_ref();
    let now = ports.clock.now();
    retry_on_conflict(|| async move {
        let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
            return Ok(None);
        };
        let has = cur.holds.iter().any(|m| m == matter);
        if has == on {
            return Ok(Some(cur));
        }
        if on {
            cur.holds.push(matter.to_string());
        } else {
            cur.holds.retain(|m| m != matter);
        }
        cur.updated_at = now;
        meta.update_file(&cur).await.map(Some)
    })
    .await
}

/// What a hold or release did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HoldReport {
    /// Files the matter now holds (add) or no longer holds (release).
    pub files: u64,
    /// Stored objects whose store-level legal hold was set (add) or lifted (release).
    pub objects: u64,
    /// What is waiting (a release waiting for its confirmation).
    pub note: Option<String>,
}

/// Places (or extends) the hold of `matter` on what `scope` selects.
pub async fn hold_add(
    ports: &Ports,
    audit: &dyn AuditLog,
    tenant: &TenantId,
    matter: &str,
    scope: HoldScope,
    reason: &str,
    by: &str,
) -> Result<HoldReport, CustodyError> {
    if matter.trim().is_empty() || reason.trim().is_empty() {
        return Err(CustodyError::Refused(
            "a hold needs a matter and a reason".into(),
        ));
    }
    let now = ports.clock.now();
    let mut hold = get_hold(ports, tenant, matter).await?.unwrap_or(Hold {
        matter: matter.to_string(),
        scopes: Vec::new(),
        reason: reason.to_string(),
        by: by.to_string(),
        at: now,
        release_requested: None,
    });
    if !hold.scopes.contains(&scope) {
        hold.scopes.push(scope.clone());
    }
    hold.release_requested = None;
    // The matter is listed, then recorded, first: a hold interrupted half way is completed by running
    // it again, and nothing is released by accident.
    index_matter(ports, tenant, matter, by).await?;
    put_hold(ports, tenant, &hold).await?;
    let mut report = HoldReport::default();
    let mut keys = Vec::new();
    for f in files_of(ports, tenant, &scope).await? {
        let Some(rec) = mark(ports, &f, matter, true).await? else {
            continue;
        };
        report.files += 1;
        if matches!(rec.state, FileState::Archived { .. }) && rec.disposed.is_none() {
            ports.blobs.set_legal_hold(&rec.object_key, true).await?;
            report.objects += 1;
            keys.push(rec.object_key.to_string());
        }
    }
    record(
        audit,
        AuditDraft {
            tenant: tenant.clone(),
            at: now,
            actor: by.to_string(),
            action: AuditAction::Hold,
            objects: keys,
            reason: Some(format!(
                "matter {matter}: {reason} ({})",
                serde_json::to_string(&scope).unwrap_or_default()
            )),
            result: format!("ok: {} files", report.files),
        },
    )
    .await?;
    Ok(report)
}

/// Asks for (`confirm_by: None`) or confirms the release of `matter`. The confirming
/// operator must not be the one who asked.
pub async fn hold_release(
    ports: &Ports,
    audit: &dyn AuditLog,
    tenant: &TenantId,
    matter: &str,
    by: &str,
    confirm_by: Option<&str>,
) -> Result<HoldReport, CustodyError> {
    let now = ports.clock.now();
    let Some(mut hold) = get_hold(ports, tenant, matter).await? else {
        return Err(CustodyError::Refused(format!(
            "no hold for matter {matter:?} in tenant {tenant}"
        )));
    };
    let draft = |result: String, objects: Vec<String>| AuditDraft {
        tenant: tenant.clone(),
        at: now,
        actor: by.to_string(),
        action: AuditAction::Release,
        objects,
        reason: Some(format!("matter {matter}")),
        result,
    };
    let Some(confirmer) = confirm_by else {
        hold.release_requested = Some((by.to_string(), now));
        put_hold(ports, tenant, &hold).await?;
        record(audit, draft(format!("requested by {by}"), vec![])).await?;
        return Ok(HoldReport {
            note: Some(format!(
                "release of matter {matter} requested by {by}: a second operator confirms with `hold release --matter {matter} --confirm-by NAME`"
            )),
            ..HoldReport::default()
        });
    };
    let Some((asker, _)) = hold.release_requested.clone() else {
        return Err(CustodyError::Refused(format!(
            "the release of matter {matter} was not requested: run `hold release --matter {matter}` first"
        )));
    };
    let user = |s: &str| s.split('@').next().unwrap_or(s).trim().to_ascii_lowercase();
    if user(confirmer) == user(&asker) || user(by) == user(&asker) {
        record(
            audit,
            draft(format!("refused: {confirmer} asked for it"), vec![]),
        )
        .await?;
        return Err(CustodyError::Refused(format!(
            "the release of matter {matter} was requested by {asker}: another operator must confirm it"
        )));
    }
    let mut report = HoldReport::default();
    let mut keys = Vec::new();
    let files = ports
        .meta
        .list_files(&FileQuery {
            tenant: Some(tenant.clone()),
            ..FileQuery::default()
        })
        .await?;
    for f in files.iter().filter(|f| f.holds.iter().any(|m| m == matter)) {
        let Some(rec) = mark(ports, f, matter, false).await? else {
            continue;
        };
        report.files += 1;
        if rec.holds.is_empty()
            && matches!(rec.state, FileState::Archived { .. })
            && rec.disposed.is_none()
        {
            ports.blobs.set_legal_hold(&rec.object_key, false).await?;
            report.objects += 1;
            keys.push(rec.object_key.to_string());
        }
    }
    ports
        .meta
        .put_memo(tenant, &memo_key(matter), "", now)
        .await?;
    record(
        audit,
        draft(
            format!("released: requested by {asker}, confirmed by {confirmer}"),
            keys,
        ),
    )
    .await?;
    Ok(report)
}

/// One disposal (or refusal) of a stored object or a CDR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disposition {
    /// `object` or `cdr`.
    pub kind: &'static str,
    /// The object's key, or the CDR's id.
    pub key: String,
    /// The object's SHA-256, or the SHA-256 of the CDR's canonical JSON.
    pub sha256: String,
    /// The retention rule that expired.
    pub rule: String,
    /// `disposed`, `would dispose` (dry run), or why it was refused.
    pub result: String,
}

impl std::fmt::Display for Disposition {
    /// `KEY: RESULT (retention rule R, sha256 H)`, with `CDR ` before a CDR's id.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.kind == "cdr" { "CDR " } else { "" };
        write!(
            f,
            "{what}{}: {} (retention rule {}, sha256 {})",
            self.key, self.result, self.rule, self.sha256
        )
    }
}

/// Disposes of `tenant`'s archived files past retention and held by no matter, then of
/// its CDRs past retention (`rules`: the tenant's retention rules; see the module docs).
/// With `dry_run`, says what it would do.
pub async fn dispose(
    ports: &Ports,
    audit: &dyn AuditLog,
    tenant: &TenantId,
    rules: &[RetentionRule],
    by: &str,
    dry_run: bool,
) -> Result<Vec<Disposition>, CustodyError> {
    let now = ports.clock.now();
    let mut out = Vec::new();
    let files = ports
        .meta
        .list_files(&FileQuery {
            tenant: Some(tenant.clone()),
            state: Some("archived"),
            ..FileQuery::default()
        })
        .await?;
    for f in files {
        let (Some(ret), FileState::Archived { sha256, .. }) = (&f.retention, &f.state) else {
            continue;
        };
        if ret.until > now || !f.holds.is_empty() || f.disposed.is_some() {
            continue;
        }
        let mut d = Disposition {
            kind: "object",
            key: f.object_key.to_string(),
            sha256: sha256.clone(),
            rule: ret.rule.clone(),
            result: String::new(),
        };
        if dry_run {
            d.result = "would dispose".into();
            out.push(d);
            continue;
        }
        match ports.blobs.delete(&f.object_key, now).await {
            Ok(()) | Err(BlobError::NotFound(_)) => {
                // Its derived waveform peaks go with it.
                if let Err(e) =
                    super::peaks::dispose(ports.blobs.as_ref(), &f.object_key, now).await
                {
                    tracing::warn!(key = %f.object_key, error = %e, "the recording is disposed of but its peaks sidecar could not be deleted");
                }
                let why = format!(
                    "disposed at {now} under retention rule {} (until {}); sha256 {sha256}",
                    ret.rule, ret.until
                );
                let meta = ports.meta.as_ref();
                let why = &why;
                let f = &f;
                retry_on_conflict(|| async move {
                    let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await?
                    else {
                        return Ok(());
                    };
                    cur.disposed = Some(why.clone());
                    cur.updated_at = now;
                    meta.update_file(&cur).await.map(|_| ())
                })
                .await?;
                d.result = "disposed".into();
            }
            Err(BlobError::Protected { why, .. }) => d.result = format!("refused: {why}"),
            Err(e) => return Err(e.into()),
        }
        record_disposition(audit, tenant, now, by, &d, ret.until).await?;
        out.push(d);
    }
    // Objects refused by the store keep their CDRs (their files are not disposed of).
    out.extend(dispose_cdrs(ports, audit, tenant, rules, by, dry_run).await?);
    Ok(out)
}

/// The `dispose` audit entry of `d` (an object's or a CDR's).
async fn record_disposition(
    audit: &dyn AuditLog,
    tenant: &TenantId,
    at: DateTime<Utc>,
    by: &str,
    d: &Disposition,
    until: DateTime<Utc>,
) -> Result<(), CustodyError> {
    let (what, digest) = if d.kind == "cdr" {
        ("CDR past retention rule", "cdr sha256")
    } else {
        ("retention rule", "sha256")
    };
    record(
        audit,
        AuditDraft {
            tenant: tenant.clone(),
            at,
            actor: by.to_string(),
            action: AuditAction::Dispose,
            objects: vec![d.key.clone()],
            reason: Some(format!(
                "{what} {} until {until}; {digest} {}",
                d.rule, d.sha256
            )),
            result: d.result.clone(),
        },
    )
    .await?;
    Ok(())
}

/// The retention of `cdr` if it may be deleted now: a rule of its own (a CDR no rule
/// matches is kept, even when a file it shares expired under another user's rule), every
/// file it links disposed of or never stored (gone at Zoom, or failed for good), no hold
/// covering it, and a date (the latest of its own rule's and its files') that has passed.
async fn cdr_expiry(
    ports: &Ports,
    cdr: &Cdr,
    rules: &[RetentionRule],
    holds: &[Hold],
    now: DateTime<Utc>,
) -> Result<Option<Retained>, CustodyError> {
    if holds.iter().any(|h| h.scopes.iter().any(|s| s.covers(cdr))) {
        return Ok(None);
    }
    let Some(own) = retention_for(rules, cdr.source, cdr.start_time, &[cdr]) else {
        return Ok(None);
    };
    let mut dates = vec![own];
    for m in &cdr.media {
        let Some(f) = ports
            .meta
            .get_file(&cdr.tenant, cdr.source, &m.file_id)
            .await?
        else {
            // Not recorded yet: kept until it is.
            return Ok(None);
        };
        match &f.state {
            FileState::Archived { .. } if f.disposed.is_some() => dates.extend(f.retention),
            FileState::Gone { .. } => {}
            FileState::Failed { transient, .. } if !transient => {}
            // Stored and kept, or still on its way: the file keeps its CDR.
            _ => return Ok(None),
        }
    }
    Ok(dates
        .into_iter()
        .max_by_key(|r| r.until)
        .filter(|r| r.until <= now))
}

async fn dispose_cdrs(
    ports: &Ports,
    audit: &dyn AuditLog,
    tenant: &TenantId,
    rules: &[RetentionRule],
    by: &str,
    dry_run: bool,
) -> Result<Vec<Disposition>, CustodyError> {
    let now = ports.clock.now();
    let holds = active_holds(ports, tenant).await?;
    let cdrs = ports
        .meta
        .query_cdrs(&CdrQuery {
            tenant: Some(tenant.clone()),
            to: Some(now),
            ..CdrQuery::default()
        })
        .await?;
    let mut out = Vec::new();
    for c in cdrs {
        let Some(ret) = cdr_expiry(ports, &c, rules, &holds, now).await? else {
            continue;
        };
        let mut d = Disposition {
            kind: "cdr",
            key: c.cdr_id.clone(),
            sha256: cdr_digest(&c),
            rule: ret.rule.clone(),
            result: String::new(),
        };
        if dry_run {
            d.result = "would dispose".into();
            out.push(d);
            continue;
        }
        match ports.meta.delete_cdr(&c).await {
            Ok(_) => d.result = "disposed".into(),
            // Changed since it was read (a late recording, say): looked at again next run.
            Err(MetaError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        record_disposition(audit, tenant, now, by, &d, ret.until).await?;
        out.push(d);
    }
    Ok(out)
}
