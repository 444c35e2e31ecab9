//! Phone recordings archived by the attribution rule before issue 13, judged again.
//!
//! That rule also gave a user the recording of *another* line of the call whenever the
//! user was named in its `accepted_by`/`outgoing_by`: the other party's audio (a person
//! nobody asked to record) was archived, and the user got a second CDR for the call. The
//! current rule ([`super::select::phone_owners`]) gives a user-owned line to its owner
//! alone.
//!
//! Once per tenant, the poller lists Zoom Phone recordings again over the span the archive
//! holds and plans each known one with the current rule:
//! - a file no configured user owns is marked `out_of_scope` with the reason (never
//!   downloaded from now on; what is stored stays where it is — nothing is deleted);
//! - a CDR the rule no longer makes is marked `out_of_scope` (kept, not listed by `cdrs`).
//!
//! Recordings Zoom no longer lists cannot be judged and are left as they are (counted).
//! The pass is idempotent; it is recorded as done only when it completed.

use super::cdrs;
use super::poller::split_windows;
use super::select::plan_phone_recording;
use crate::domain::{Source, TenantConfig};
use crate::ports::{
    FileQuery, MetaError, MetaStore, Window, ZoomApi, ZoomError, retry_on_conflict,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracing::{info, warn};

const DONE: &str = "scope/phone-attribution-v2";

/// What one pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeReport {
    /// Phone files of the archive judged again.
    pub judged: u64,
    /// Files marked out of scope by this pass.
    pub files_out_of_scope: u64,
    /// CDRs marked out of scope by this pass.
    pub cdrs_out_of_scope: u64,
    /// Phone files Zoom no longer lists (left as they are).
    pub not_listed: u64,
    /// Listing pages fetched.
    pub pages: u64,
}

/// Why a pass stopped (it runs again at the next poll).
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    /// Zoom failed.
    #[error("listing phone recordings again failed: {0}")]
    Zoom(#[from] ZoomError),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// True when the pass has completed for `tenant`.
pub async fn is_done(
    meta: &dyn MetaStore,
    tenant: &TenantConfig,
    now: DateTime<Utc>,
) -> Result<bool, MetaError> {
    Ok(meta.get_memo(&tenant.id, DONE, now).await?.is_some())
}

/// Runs the pass for `tenant` (its effective configuration, users resolved) up to
/// `until` (the phone watermark: later recordings are planned by the current rule anyway).
pub async fn rejudge_phone(
    meta: &dyn MetaStore,
    zoom: &dyn ZoomApi,
    tenant: &TenantConfig,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<ScopeReport, ScopeError> {
    let mut report = ScopeReport::default();
    let files: BTreeMap<String, crate::domain::FileRecord> = meta
        .list_files(&FileQuery {
            tenant: Some(tenant.id.clone()),
            ..FileQuery::default()
        })
        .await?
        .into_iter()
        .filter(|f| f.source == Source::Phone)
        .map(|f| (f.file_id.clone(), f))
        .collect();
    let Some(first) = files.values().map(|f| f.conversation_start).min() else {
        meta.put_memo(&tenant.id, DONE, "{}", now + Duration::days(36_500))
            .await?;
        return Ok(report);
    };
    let mut seen = std::collections::BTreeSet::new();
    for window in split_windows(
        first - Duration::hours(1),
        until.max(first),
        Source::Phone.max_window(),
    ) {
        let mut token: Option<String> = None;
        loop {
            let page = zoom
                .list_phone_recordings(
                    Window {
                        from: window.from,
                        to: window.to,
                    },
                    token.as_deref(),
                )
                .await?;
            report.pages += 1;
            for r in &page.items {
                let Some(f) = files.get(&r.id) else { continue };
                if !seen.insert(r.id.clone()) {
                    continue;
                }
                report.judged += 1;
                let plan = plan_phone_recording(tenant, r, now, "");
                let reason = |who: &str| {
                    let owner = r
                        .owner
                        .as_ref()
                        .map(|o| {
                            format!(
                                "{} {} (extension {})",
                                o.kind.as_deref().unwrap_or("user"),
                                o.name.as_deref().unwrap_or(""),
                                o.extension_number.as_deref().unwrap_or("?")
                            )
                        })
                        .unwrap_or_else(|| "an unknown owner".into());
                    format!(
                        "{who} by the attribution rule before issue 13: the recording's line belongs to {owner}, not to a configured user named in accepted_by/outgoing_by (kept; not listed)"
                    )
                };
                let wanted: Vec<&str> = plan.cdrs.iter().map(|c| c.cdr_id.as_str()).collect();
                for id in f.cdr_ids.iter().filter(|id| !wanted.contains(&id.as_str())) {
                    if cdrs::mark_out_of_scope(meta, &tenant.id, id, &reason("CDR made"), now)
                        .await?
                    {
                        report.cdrs_out_of_scope += 1;
                    }
                }
                if plan.files.is_empty() && f.out_of_scope.is_none() {
                    let why = reason("archived");
                    let why = &why;
                    let marked = retry_on_conflict(|| async move {
                        let Some(mut cur) =
                            meta.get_file(&tenant.id, Source::Phone, &f.file_id).await?
                        else {
                            return Ok(false);
                        };
                        if cur.out_of_scope.is_some() {
                            return Ok(false);
                        }
                        cur.out_of_scope = Some(why.clone());
                        cur.updated_at = now;
                        meta.update_file(&cur).await.map(|_| true)
                    })
                    .await?;
                    report.files_out_of_scope += u64::from(marked);
                }
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    report.not_listed = (files.len() - seen.len()) as u64;
    let summary = serde_json::to_string(&report).unwrap_or_default();
    meta.put_memo(&tenant.id, DONE, &summary, now + Duration::days(36_500))
        .await?;
    if report.files_out_of_scope + report.cdrs_out_of_scope > 0 || report.not_listed > 0 {
        warn!(tenant = %tenant.id, files = report.files_out_of_scope, cdrs = report.cdrs_out_of_scope, not_listed = report.not_listed, "phone recordings of the old attribution rule marked out of scope");
    } else {
        info!(tenant = %tenant.id, judged = report.judged, "phone attribution checked: nothing out of scope");
    }
    Ok(report)
}
