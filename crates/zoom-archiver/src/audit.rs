//! The command line's side of the audit trail: what its commands record (configuration
//! loads, reads and exports of CDRs, retries, fixity checks) and the `audit` command
//! (listing entries, verifying each tenant's chain).
//!
//! Entries are appended through [`archiver_core::services::audit::record`], naming this
//! process's [`actor`](crate::app::actor) (`user@host`). A failed write is never silent:
//! reads and exports refuse to show data without their entry ([`cdrs_accessed`]); other
//! commands say so on stderr ([`config_loaded`]) or fail ([`record`]).

use anyhow::{Context, Result};
use archiver_core::services::audit::verify_chain;
use archiver_core::{AuditAction, AuditDraft, AuditEntry, AuditLog, Cdr, TenantId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Object keys or ids in one entry at most; longer lists are split over several entries
/// (`part i of n` in the reason), which keeps an entry far below DynamoDB's 400 KB item.
pub const OBJECTS_PER_ENTRY: usize = 500;

/// Appends one entry per [`OBJECTS_PER_ENTRY`] objects (one entry when there are none) to
/// `tenant`'s chain, naming this process's actor.
pub async fn record(
    log: &dyn AuditLog,
    tenant: &TenantId,
    action: AuditAction,
    objects: Vec<String>,
    reason: Option<String>,
    result: &str,
) -> Result<()> {
    let chunks: Vec<Vec<String>> = if objects.is_empty() {
        vec![Vec::new()]
    } else {
        objects
            .chunks(OBJECTS_PER_ENTRY)
            .map(<[String]>::to_vec)
            .collect()
    };
    let n = chunks.len();
    for (i, objects) in chunks.into_iter().enumerate() {
        let reason = match (&reason, n) {
            (r, 1) => r.clone(),
            (Some(r), _) => Some(format!("{r} (part {} of {n})", i + 1)),
            (None, _) => Some(format!("part {} of {n}", i + 1)),
        };
        let draft = AuditDraft {
            tenant: tenant.clone(),
            at: Utc::now(),
            actor: crate::app::actor(),
            action,
            objects,
            reason,
            result: result.to_string(),
        };
        archiver_core::services::audit::record(log, draft)
            .await
            .with_context(|| format!("tenant {tenant}: writing the audit entry"))?;
    }
    Ok(())
}

/// Records that `command` loaded the configuration at `path`, once in each tenant's
/// chain. A failure is reported on stderr and does not stop the command (archiving, status
/// and fixity go on; reads and exports refuse without their own entry).
pub async fn config_loaded<'a>(
    log: &dyn AuditLog,
    path: &Path,
    tenants: impl IntoIterator<Item = &'a TenantId>,
    command: &str,
) {
    for t in tenants {
        if let Err(e) = record(
            log,
            t,
            AuditAction::ConfigLoad,
            vec![path.display().to_string()],
            Some(format!("zoom-archiver {command}")),
            "ok",
        )
        .await
        {
            eprintln!("warning: the audit trail did not record this configuration load: {e:#}");
        }
    }
}

/// Records a read (`cdrs show`) or export (`cdrs`) of `cdrs` before they are shown: one
/// entry per tenant concerned (each of `selected`, and the tenant of every CDR), the CDR ids
/// as objects, `reason` (the filters) as the reason. An error means the CDRs must not be
/// shown.
pub async fn cdrs_accessed(
    log: &dyn AuditLog,
    action: AuditAction,
    selected: &[TenantId],
    cdrs: &[Cdr],
    reason: String,
) -> Result<()> {
    let mut by_tenant: BTreeMap<TenantId, Vec<String>> =
        selected.iter().map(|t| (t.clone(), Vec::new())).collect();
    for c in cdrs {
        by_tenant
            .entry(c.tenant.clone())
            .or_default()
            .push(c.cdr_id.clone());
    }
    let what = if action == AuditAction::Read {
        "show"
    } else {
        "export"
    };
    for (tenant, ids) in by_tenant {
        record(log, &tenant, action, ids, Some(reason.clone()), "ok")
            .await
            .with_context(|| {
                format!(
                    "refusing to {what} CDRs: every access is recorded in the audit trail, and this one could not be"
                )
            })?;
    }
    Ok(())
}

/// The entries of `tenants` whose time is within `[from, to)`, tenant by tenant, each in
/// chain order. The chains are read whole and filtered here.
pub async fn list(
    log: &dyn AuditLog,
    tenants: &[TenantId],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<AuditEntry>> {
    const PAGE: usize = 1000;
    let mut out = Vec::new();
    for t in tenants {
        let mut next = 1u64;
        loop {
            let page = log
                .list(t, next, PAGE)
                .await
                .with_context(|| format!("tenant {t}: reading the audit trail"))?;
            let n = page.len();
            if let Some(last) = page.last() {
                next = last.seq + 1;
            }
            out.extend(page.into_iter().filter(|e| {
                from.is_none_or(|f| e.draft.at >= f) && to.is_none_or(|to| e.draft.at < to)
            }));
            if n < PAGE {
                break;
            }
        }
    }
    Ok(out)
}

/// Entries as JSON lines (every field, the hashes included).
pub fn jsonl(entries: &[AuditEntry]) -> Result<String> {
    let mut s = String::new();
    for e in entries {
        s.push_str(&serde_json::to_string(e)?);
        s.push('\n');
    }
    Ok(s)
}

fn action_name(a: AuditAction) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{a:?}"))
}

/// Entries as a table: seq, time, tenant, action, actor, result, objects (the first and
/// how many more), reason.
pub fn table(entries: &[AuditEntry]) -> String {
    let mut s = format!(
        "{:<16} {:>6}  {:<20}  {:<11} {:<28} {:<10} {:<40} reason\n",
        "tenant", "seq", "at", "action", "actor", "result", "objects"
    );
    for e in entries {
        let d = &e.draft;
        let objects = match d.objects.as_slice() {
            [] => "-".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} (+{})", rest.len()),
        };
        let _ = writeln!(
            s,
            "{:<16} {:>6}  {:<20}  {:<11} {:<28} {:<10} {:<40} {}",
            d.tenant,
            e.seq,
            d.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            action_name(d.action),
            d.actor,
            d.result,
            objects,
            d.reason.as_deref().unwrap_or("-")
        );
    }
    s
}

/// Walks each tenant's chain: one line per tenant (`{tenant}: ok: N entries, head SEQ
/// HASH` or `{tenant}: BROKEN at SEQ: problem`), and whether all are intact.
pub async fn verify(log: &dyn AuditLog, tenants: &[TenantId]) -> Result<(String, bool)> {
    let mut s = String::new();
    let mut all = true;
    for t in tenants {
        let c = verify_chain(log, t, None)
            .await
            .with_context(|| format!("tenant {t}: reading the audit trail"))?;
        match (&c.broken, &c.last_good) {
            (Some(b), _) => {
                all = false;
                let _ = writeln!(s, "{t}: BROKEN at {}: {}", b.seq, b.problem);
            }
            (None, Some((seq, hash))) => {
                let _ = writeln!(s, "{t}: ok: {} entries, head {seq} {hash}", c.checked);
            }
            (None, None) => {
                let _ = writeln!(s, "{t}: ok: 0 entries");
            }
        }
    }
    Ok((s, all))
}

/// The filters of a CDR query as an entry's reason (`tenant=acme user=bob@… failed`), or
/// `no filters`.
pub fn cdr_filters(q: &archiver_core::CdrQuery) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &q.tenant {
        parts.push(format!("tenant={t}"));
    }
    if let Some(id) = &q.platform_call_id {
        parts.push(format!("platform_call_id={id}"));
    }
    if let Some(f) = q.from {
        parts.push(format!("from={}", f.to_rfc3339()));
    }
    if let Some(t) = q.to {
        parts.push(format!("to={}", t.to_rfc3339()));
    }
    if let Some(u) = &q.user {
        parts.push(format!("user={u}"));
    }
    if let Some(d) = q.direction {
        let d = serde_json::to_value(d)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{d:?}"));
        parts.push(format!("direction={d}"));
    }
    if let Some(n) = &q.number {
        parts.push(format!("number={n}"));
    }
    if q.failed_only {
        parts.push("failed".into());
    }
    if parts.is_empty() {
        "no filters".into()
    } else {
        parts.join(" ")
    }
}
