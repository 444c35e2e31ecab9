//! Every change to a stored CDR, made in one place: each is a compare-and-set on the CDR's
//! version, retried on conflict ([`crate::ports::retry_on_conflict`]), applying a rule of
//! [`crate::domain::cdr`].
//!
//! - [`store_drafts`]: the poller's drafts, inserted once or merged (late recordings
//!   upgrade "recording failed" CDRs);
//! - [`sync_file`]: a file's state and measurements into every CDR that links it (the
//!   downloader after each outcome, the poller when a CDR newly links an archived file);
//! - [`update_talkover`]: talk-over of a meeting from its users' individual audio;
//! - [`insert_failed`], [`mark_lost`]: reconciliation's "recording failed" CDRs;
//! - [`set_identity`]: re-files a user's CDRs under their resolved Zoom identity;
//! - [`mark_out_of_scope`]: CDRs an earlier rule made that the configuration does not ask for.

use crate::domain::{
    Cdr, CdrQuery, FileRecord, Merged, Source, TenantId, decode_activity, talkover_ratio,
};
use crate::ports::{MetaError, MetaStore, retry_on_conflict};
use chrono::{DateTime, Utc};
use tracing::warn;

/// Reads CDR `cdr_id`, applies `change` (which says whether it changed anything) and
/// stores it with a compare-and-set, retried on conflict. `Ok(None)` when the CDR does not
/// exist; otherwise the CDR as stored (unchanged when `change` returned false).
pub async fn update_with(
    meta: &dyn MetaStore,
    tenant: &TenantId,
    cdr_id: &str,
    now: DateTime<Utc>,
    change: impl FnMut(&mut Cdr) -> bool + Send,
) -> Result<Option<Cdr>, MetaError> {
    let change = std::sync::Mutex::new(change);
    let change = &change;
    retry_on_conflict(|| async move {
        let Some(mut cdr) = meta.get_cdr(tenant, cdr_id).await? else {
            return Ok(None);
        };
        let changed = (change.lock().expect("not poisoned"))(&mut cdr);
        if !changed {
            return Ok(Some(cdr));
        }
        cdr.updated_at = now;
        meta.update_cdr(&cdr).await.map(Some)
    })
    .await
}

/// What [`store_drafts`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DraftsStored {
    /// CDRs created.
    pub new: u64,
    /// "Recording failed" CDRs turned into normal ones by a late recording.
    pub upgraded: u64,
}

/// Stores the poller's CDR drafts: each is inserted once (insert-if-absent, in one batch);
/// a draft of a stored CDR is merged into it ([`Cdr::merge_draft`]).
pub async fn store_drafts(
    meta: &dyn MetaStore,
    drafts: &[Cdr],
    now: DateTime<Utc>,
) -> Result<DraftsStored, MetaError> {
    let mut out = DraftsStored::default();
    let inserted = meta.insert_cdrs(drafts).await?;
    for (draft, new) in drafts.iter().zip(inserted) {
        if new {
            out.new += 1;
            continue;
        }
        let mut merged = Merged::Unchanged;
        update_with(meta, &draft.tenant, &draft.cdr_id, now, |c| {
            merged = c.merge_draft(draft);
            merged != Merged::Unchanged
        })
        .await?;
        if merged == Merged::Upgraded {
            out.upgraded += 1;
        }
    }
    Ok(out)
}

/// Brings every CDR that links `rec` up to date with the file's state and measurements
/// ([`Cdr::sync_file`]; idempotent).
pub async fn sync_file(
    meta: &dyn MetaStore,
    rec: &FileRecord,
    now: DateTime<Utc>,
) -> Result<(), MetaError> {
    for cdr_id in &rec.cdr_ids {
        let found = update_with(meta, &rec.tenant, cdr_id, now, |c| c.sync_file(rec)).await?;
        if found.is_none() {
            warn!(cdr_id, file_id = %rec.file_id, "file links a CDR that does not exist (yet)");
        }
    }
    Ok(())
}

/// Recomputes the talk-over ratio of a meeting from the voice activity of its recorded
/// users' individual audio files (aligned on each file's start) and writes it into every
/// CDR of the meeting. Needs two or more users with analysed audio; idempotent.
pub async fn update_talkover(
    meta: &dyn MetaStore,
    tenant: &TenantId,
    meeting_uuid: &str,
    now: DateTime<Utc>,
) -> Result<(), MetaError> {
    let q = CdrQuery {
        tenant: Some(tenant.clone()),
        platform_call_id: Some(meeting_uuid.to_string()),
        ..CdrQuery::default()
    };
    let cdrs: Vec<Cdr> = meta
        .query_cdrs(&q)
        .await?
        .into_iter()
        .filter(|c| c.source == Source::Meetings && !c.recording_failed)
        .collect();
    let mut parties = Vec::new();
    for c in &cdrs {
        let mut timelines = Vec::new();
        for m in c
            .media
            .iter()
            .filter(|m| m.file_type.eq_ignore_ascii_case("M4A"))
        {
            let Some(f) = meta.get_file(tenant, Source::Meetings, &m.file_id).await? else {
                continue;
            };
            let (Some(start), Some(act)) = (
                f.recording_start,
                f.media
                    .as_ref()
                    .and_then(|x| x.activity.as_deref())
                    .and_then(decode_activity),
            ) else {
                continue;
            };
            timelines.push((start, act));
        }
        parties.push(timelines);
    }
    let Some(ratio) = talkover_ratio(&parties) else {
        return Ok(());
    };
    for c in cdrs {
        update_with(meta, tenant, &c.cdr_id, now, |c| c.set_talkover(ratio)).await?;
    }
    Ok(())
}

/// Stores reconciliation's "recording failed" CDR (insert-if-absent: a rerun writes
/// nothing). True when it was inserted.
pub async fn insert_failed(meta: &dyn MetaStore, cdr: &Cdr) -> Result<bool, MetaError> {
    debug_assert!(cdr.recording_failed);
    meta.insert_cdr(cdr).await
}

/// Marks `cdr` (as last read) "recording failed" because every file it links was lost
/// ([`Cdr::mark_lost`]). One compare-and-set, not retried: `Ok(false)` when the CDR changed
/// meanwhile (a late file arrived; the next reconciliation looks again) or was marked.
pub async fn mark_lost(
    meta: &dyn MetaStore,
    cdr: &Cdr,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, MetaError> {
    let mut c = cdr.clone();
    if !c.mark_lost(reason) {
        return Ok(false);
    }
    c.updated_at = now;
    match meta.update_cdr(&c).await {
        Ok(_) => Ok(true),
        Err(MetaError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Files every CDR of the configured user `user_key` (their email or extension, as in
/// [`CdrQuery::user`]) of `source` under `user_id` and `name` ([`Cdr::set_identity`]);
/// `None` leaves that part as it is. Returns how many CDRs changed. Uses the user index.
pub async fn set_identity(
    meta: &dyn MetaStore,
    tenant: &TenantId,
    user_key: &str,
    source: Source,
    user_id: Option<&str>,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, MetaError> {
    let q = CdrQuery {
        tenant: Some(tenant.clone()),
        user: Some(user_key.to_string()),
        include_out_of_scope: true,
        ..CdrQuery::default()
    };
    let mut changed = 0;
    for c in meta.query_cdrs(&q).await? {
        if c.source != source {
            continue;
        }
        let mut did = false;
        update_with(meta, tenant, &c.cdr_id, now, |c| {
            did = c.set_identity(user_id, name);
            did
        })
        .await?;
        changed += u64::from(did);
    }
    Ok(changed)
}

/// Marks CDR `cdr_id` out of scope with `reason` (kept, never listed by default). True
/// when it changed.
pub async fn mark_out_of_scope(
    meta: &dyn MetaStore,
    tenant: &TenantId,
    cdr_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, MetaError> {
    let mut did = false;
    update_with(meta, tenant, cdr_id, now, |c| {
        did = c.mark_out_of_scope(reason);
        did
    })
    .await?;
    Ok(did)
}
