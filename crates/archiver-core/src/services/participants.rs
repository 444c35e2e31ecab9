//! The configured users' joins of one meeting, from Zoom's participants API (Heavy), asked
//! once per meeting: the answer, limited to configured users, is remembered as a memo
//! (`participants/{uuid}`) that the poller and the reconciler share.

use crate::domain::{MeetingParticipant, TenantConfig};
use crate::ports::{MetaError, MetaStore, ZoomApi, ZoomError};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tracing::warn;

/// How long the participants of a meeting are remembered (well past any listing overlap).
pub const PARTICIPANTS_MEMO_TTL: Duration = Duration::from_secs(90 * 86_400);

fn memo_key(uuid: &str) -> String {
    format!("participants/{uuid}")
}

/// What a lookup gave.
pub enum Lookup {
    /// The configured users' joins (remembered).
    Known(Vec<MeetingParticipant>),
    /// Zoom will not say for this meeting (no Dashboard on the plan, a meeting it no longer
    /// reports): nothing was remembered; the rows of the pages read before are kept.
    Unavailable {
        /// Zoom's answer.
        error: ZoomError,
        /// Rows of the pages read before it.
        rows: Vec<MeetingParticipant>,
    },
}

/// The remembered joins of `uuid`, if any (an unreadable memo counts as none).
pub async fn remembered(
    meta: &dyn MetaStore,
    tenant: &TenantConfig,
    uuid: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<MeetingParticipant>>, MetaError> {
    let Some(v) = meta.get_memo(&tenant.id, &memo_key(uuid), now).await? else {
        return Ok(None);
    };
    match serde_json::from_str(&v) {
        Ok(rows) => Ok(Some(rows)),
        Err(e) => {
            warn!(tenant = %tenant.id, meeting = %uuid, error = %e, "unreadable participants memo; asking Zoom again");
            Ok(None)
        }
    }
}

/// Remembers `rows` as the joins of `uuid`.
pub async fn remember(
    meta: &dyn MetaStore,
    tenant: &TenantConfig,
    uuid: &str,
    rows: &[MeetingParticipant],
    now: DateTime<Utc>,
) -> Result<(), MetaError> {
    let ttl =
        chrono::Duration::from_std(PARTICIPANTS_MEMO_TTL).unwrap_or(chrono::Duration::days(90));
    let value = serde_json::to_string(rows).unwrap_or_else(|_| "[]".into());
    meta.put_memo(&tenant.id, &memo_key(uuid), &value, now + ttl)
        .await
}

/// The remembered joins, else every page of the participants lookup, filtered to
/// configured users and remembered. `calls` counts the requests that reached Zoom (our own
/// budget refusing one does not). A permanent refusal is [`Lookup::Unavailable`]; any other
/// Zoom error (rate limits, transient failures) is returned for the caller to defer.
pub async fn lookup(
    meta: &dyn MetaStore,
    zoom: &dyn ZoomApi,
    tenant: &TenantConfig,
    uuid: &str,
    now: DateTime<Utc>,
    calls: &mut u64,
) -> Result<Result<Lookup, ZoomError>, MetaError> {
    if let Some(rows) = remembered(meta, tenant, uuid, now).await? {
        return Ok(Ok(Lookup::Known(rows)));
    }
    let mut rows: Vec<MeetingParticipant> = Vec::new();
    let mut token: Option<String> = None;
    let mut restarted = false;
    loop {
        let answer = zoom.list_meeting_participants(uuid, token.as_deref()).await;
        if !matches!(&answer, Err(ZoomError::RateLimited { kind, .. }) if kind == super::budget::BUDGET_KIND)
        {
            *calls += 1;
        }
        match answer {
            Ok(page) => {
                rows.extend(page.items.into_iter().filter(|p| {
                    p.email
                        .as_deref()
                        .is_some_and(|e| tenant.user_by_email(e).is_some())
                        || p.zoom_user_id()
                            .is_some_and(|id| tenant.user_by_zoom_id(id).is_some())
                }));
                match page.next_page_token.filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            Err(ZoomError::InvalidPageToken) if !restarted => {
                restarted = true;
                rows.clear();
                token = None;
            }
            Err(
                error @ (ZoomError::NotFound(_)
                | ZoomError::Forbidden(_)
                | ZoomError::MissingScopes { .. }
                | ZoomError::BadRequest { .. }),
            ) => return Ok(Ok(Lookup::Unavailable { error, rows })),
            Err(e) => return Ok(Err(e)),
        }
    }
    remember(meta, tenant, uuid, &rows, now).await?;
    Ok(Ok(Lookup::Known(rows)))
}
