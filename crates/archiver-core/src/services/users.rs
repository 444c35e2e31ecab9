//! Who the configured users are at Zoom.
//!
//! `/archive_files` names meeting participants by email only, and phone recordings name
//! their owner by extension and Zoom user id. The spec files a meeting CDR under the
//! recorded user's **Zoom user id** (`user_id`, `from`) and display name (`user`,
//! `from_info`). So each configured email is looked up once a day with `GET /users/{email}`
//! (Light, no daily budget), and the answer is remembered in the metadata store:
//!
//! - the id and display name fill the user's `zoom_user_id` and `name` for this run unless
//!   the configuration sets them (they stay overrides): meeting participants and phone
//!   owners are matched by it, and CDRs are filed under it;
//! - a user Zoom does not know (404, code 1001) is reported by every poll, with the tenant
//!   and email, and the other users go on;
//! - a deactivated user (`status: inactive`) is still archived: their history is evidence;
//! - when a lookup fails (Zoom down, a missing scope), the last known answer is used;
//! - when the identity a user's CDRs are filed under changes (the first lookup after an
//!   upgrade, or a new override), their stored CDRs are re-filed: the same CDRs, with
//!   `user_id`/`from` (meetings) and `user`/`from_info` updated (phone CDRs keep the
//!   extension as `user_id`, the spec's phone field).

use super::cdrs;
use crate::domain::{Source, TenantConfig, UserConfig, ZoomUser};
use crate::ports::{MetaError, MetaStore, ZoomApi, ZoomError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// How long a lookup is trusted before Zoom is asked again.
pub const USER_REFRESH: Duration = Duration::days(1);

/// How long a remembered answer is kept (the last known identity outlives failed refreshes).
const MEMO_KEEP: Duration = Duration::days(400);

fn memo_key(email: &str) -> String {
    format!("zoom-user/{}", email.trim().to_ascii_lowercase())
}

fn filed_key(user_key: &str) -> String {
    format!("cdr-identity/{user_key}")
}

/// What Zoom answered for one email, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Answer {
    /// `None`: Zoom does not know the email.
    user: Option<ZoomUser>,
    checked_at: DateTime<Utc>,
}

/// The identity a user's CDRs are filed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Filed {
    zoom_user_id: Option<String>,
    name: Option<String>,
}

/// One configured user's standing at Zoom.
#[derive(Clone, Debug, PartialEq)]
pub struct UserStanding {
    /// The configured email.
    pub email: String,
    /// What Zoom says (`None`: unknown to Zoom, or never looked up successfully).
    pub zoom: Option<ZoomUser>,
}

/// The outcome of [`resolve`].
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The tenant's configuration with each user's `zoom_user_id` and `name` filled in from
    /// Zoom where the configuration leaves them open.
    pub tenant: TenantConfig,
    /// `GET /users/{email}` calls made.
    pub lookups: u64,
    /// Configured emails Zoom does not know.
    pub unknown: Vec<String>,
    /// Configured users Zoom reports deactivated (still archived).
    pub deactivated: Vec<String>,
    /// Lookups that failed, with the error (the last known answer was used, if any).
    pub failed: Vec<String>,
    /// CDRs re-filed under a changed identity.
    pub refiled: u64,
}

/// Looks up (at most once a day each) the configured users of `tenant` that have an email,
/// fills in their Zoom identity, and re-files their CDRs when it changed. Metadata errors
/// fail it; Zoom errors are reported in [`Resolution::failed`] and never stop the others.
pub async fn resolve(
    meta: &dyn MetaStore,
    zoom: &dyn ZoomApi,
    tenant: &TenantConfig,
    now: DateTime<Utc>,
) -> Result<Resolution, MetaError> {
    let mut out = Resolution {
        tenant: tenant.clone(),
        lookups: 0,
        unknown: Vec::new(),
        deactivated: Vec::new(),
        failed: Vec::new(),
        refiled: 0,
    };
    for (i, u) in tenant.users.iter().enumerate() {
        let Some(email) = u.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        let answer = lookup(meta, zoom, tenant, email, now, &mut out).await?;
        let known = answer.as_ref().and_then(|a| a.user.as_ref());
        if answer.as_ref().is_some_and(|a| a.user.is_none()) {
            warn!(tenant = %tenant.id, email, "Zoom does not know this configured user (404): their meetings cannot be matched by Zoom user id");
            out.unknown.push(email.to_string());
        }
        if known.is_some_and(ZoomUser::is_deactivated) {
            out.deactivated.push(email.to_string());
        }
        let effective = &mut out.tenant.users[i];
        if effective.zoom_user_id.is_none() {
            effective.zoom_user_id = known.map(|z| z.id.clone()).filter(|id| !id.is_empty());
        }
        if effective.name.is_none() {
            effective.name = known.and_then(ZoomUser::name);
        }
        let effective = effective.clone();
        out.refiled += refile(meta, tenant, &effective, now).await?;
    }
    Ok(out)
}

/// The answer for `email`: remembered when fresh, else asked of Zoom (a failure keeps the
/// last answer). `None` when Zoom was never asked successfully.
async fn lookup(
    meta: &dyn MetaStore,
    zoom: &dyn ZoomApi,
    tenant: &TenantConfig,
    email: &str,
    now: DateTime<Utc>,
    out: &mut Resolution,
) -> Result<Option<Answer>, MetaError> {
    let key = memo_key(email);
    let last: Option<Answer> = meta
        .get_memo(&tenant.id, &key, now)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
    if let Some(a) = &last
        && now - a.checked_at < USER_REFRESH
    {
        return Ok(last);
    }
    out.lookups += 1;
    let user = match zoom.get_user(email).await {
        Ok(u) => u,
        Err(e) => {
            let stale = if last.is_some() {
                "using the last known answer"
            } else {
                "no earlier answer"
            };
            warn!(tenant = %tenant.id, email, error = %e, "looking up a configured user at Zoom failed; {stale}");
            out.failed.push(format!("{email}: {}", describe(&e)));
            return Ok(last);
        }
    };
    let a = Answer {
        user,
        checked_at: now,
    };
    let value = serde_json::to_string(&a).unwrap_or_default();
    meta.put_memo(&tenant.id, &key, &value, now + MEMO_KEEP)
        .await?;
    Ok(Some(a))
}

fn describe(e: &ZoomError) -> String {
    match e {
        ZoomError::Forbidden(_) => format!("{e} (the app needs the user:read:admin scope)"),
        e => e.to_string(),
    }
}

/// Re-files `u`'s CDRs when the identity they are filed under is not `u`'s effective one.
async fn refile(
    meta: &dyn MetaStore,
    tenant: &TenantConfig,
    u: &UserConfig,
    now: DateTime<Utc>,
) -> Result<u64, MetaError> {
    let want = Filed {
        zoom_user_id: u.zoom_user_id.clone(),
        name: u.name.clone(),
    };
    if want.zoom_user_id.is_none() && want.name.is_none() {
        return Ok(0);
    }
    let key = filed_key(&u.key());
    let filed: Option<Filed> = meta
        .get_memo(&tenant.id, &key, now)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
    if filed.as_ref() == Some(&want) {
        return Ok(0);
    }
    let query_key = u
        .email
        .clone()
        .or_else(|| u.extension.clone())
        .unwrap_or_default();
    let mut changed = cdrs::set_identity(
        meta,
        &tenant.id,
        &query_key,
        Source::Meetings,
        want.zoom_user_id.as_deref(),
        want.name.as_deref(),
        now,
    )
    .await?;
    changed += cdrs::set_identity(
        meta,
        &tenant.id,
        &query_key,
        Source::Phone,
        None,
        want.name.as_deref(),
        now,
    )
    .await?;
    if changed > 0 {
        info!(tenant = %tenant.id, user = %u.key(), changed, "CDRs re-filed under the user's Zoom identity");
    }
    let value = serde_json::to_string(&want).unwrap_or_default();
    meta.put_memo(&tenant.id, &key, &value, now + Duration::days(36_500))
        .await?;
    Ok(changed)
}
