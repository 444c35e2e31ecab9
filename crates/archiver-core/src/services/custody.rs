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
//!   file records its key, SHA-256, rule and time. Manifests that sealed the file keep
//!   listing it.
//!
//! Every hold, release and disposal is written to the audit trail.

use super::audit::record;
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

fn memo_key(matter: &str) -> String {
    format!("hold:{matter}")
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
            Some(v) => Some(serde_json::from_str(&v).map_err(|e| MetaError::Corrupt {
                key: memo_key(matter),
                message: e.to_string(),
            })?),
            None => None,
        },
    )
}

async fn put_hold(ports: &Ports, tenant: &TenantId, h: &Hold) -> Result<(), CustodyError> {
    let forever: DateTime<Utc> = FOREVER.parse().unwrap_or(DateTime::<Utc>::MAX_UTC);
    let v = serde_json::to_string(h).unwrap_or_default();
    ports
        .meta
        .put_memo(tenant, &memo_key(&h.matter), &v, forever)
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
    // The matter is recorded first: a hold interrupted half way is completed by running
    // it again, and nothing is released by accident.
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

/// One file disposal (or refusal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disposition {
    /// The object's key.
    pub key: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The retention rule that expired.
    pub rule: String,
    /// `disposed`, `would dispose` (dry run), or why it was refused.
    pub result: String,
}

/// Disposes of `tenant`'s archived files past retention and held by no matter (see the
/// module docs). With `dry_run`, says what it would do.
pub async fn dispose(
    ports: &Ports,
    audit: &dyn AuditLog,
    tenant: &TenantId,
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
        record(
            audit,
            AuditDraft {
                tenant: tenant.clone(),
                at: now,
                actor: by.to_string(),
                action: AuditAction::Dispose,
                objects: vec![d.key.clone()],
                reason: Some(format!(
                    "retention rule {} until {}; sha256 {}",
                    d.rule, ret.until, d.sha256
                )),
                result: d.result.clone(),
            },
        )
        .await?;
        out.push(d);
    }
    Ok(out)
}
                // Its derived waveform peaks go with it.
                if let Err(e) =
                    super::peaks::dispose(ports.blobs.as_ref(), &f.object_key, now).await
                {
                    tracing::warn!(key = %f.object_key, error = %e, "the recording is disposed of but its peaks sidecar could not be deleted");
                }
