//! The poller: list one tenant source and turn what Zoom lists into files, CDR drafts and tasks.
//!
//! One poll:
//! 1. takes the lease `poll/{tenant}/{source}` in the metadata store, so that redundant
//!    deployments never list the same tenant at the same time (and do not multiply API use);
//!    a poll that finds a recent successful poll (younger than `min_gap`) does nothing;
//! 2. lists from `watermark - overlap` (first run: `now - initial_lookback`) to now, in
//!    windows no larger than the endpoint allows, paging with `next_page_token`; an expired
//!    token restarts the window (inserts are idempotent, so nothing is skipped or doubled);
//! 3. plans each conversation with [`super::select`], inserts each file once
//!    (insert-if-absent), inserts or merges the CDR drafts, and queues a download only for
//!    files that are new (or known but never queued: a crash between insert and send);
//! 4. advances the watermark with a compare-and-set after each window, holding it back to
//!    the completion time of a meeting whose selected files are still processing, so that
//!    a later poll lists it again.
//!
//! Meetings are listed with `query_date_type=archive_complete_time`: an archive that
//! completes hours after the meeting is listed when it completes, so a watermark that has
//! moved past the meeting's start cannot miss it.

use super::intake;
use super::participants::{self, Lookup};
use super::scope;
use super::select::{has_individual_files, plan_meeting, plan_phone_recording};
use super::users;

use crate::domain::{ArchiveMeeting, Cursor, MeetingParticipant, Source, TenantConfig};
use crate::ports::{
    ArchiveDateType, MetaError, Ports, QueueError, Window, ZoomApi, ZoomError, retry_on_conflict,
};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tracing::{info, warn};

/// What the participants lookup of one meeting gave.
enum Participants {
    /// The meeting has individual files (or was planned already): no lookup.
    NotNeeded,
    /// The recorded users' joins.
    Known(Vec<MeetingParticipant>),
    /// The daily budget is spent: plan the meeting after 00:00 UTC.
    Deferred,
}

/// True for a daily limit or budget (as opposed to a per-second limit).
pub fn is_daily(kind: &str) -> bool {
    kind.eq_ignore_ascii_case("Daily-limit")
        || kind.eq_ignore_ascii_case(crate::services::budget::BUDGET_KIND)
}

pub use super::participants::PARTICIPANTS_MEMO_TTL;

/// How a poll behaves.
#[derive(Clone, Debug)]
pub struct PollOptions {
    /// Identifies this poller in leases.
    pub owner: String,
    /// How long the poll lease lasts (renewed on every page).
    pub lease: Duration,
    /// Skip the poll when the last successful one is younger than this (redundant deployments).
    pub min_gap: Duration,
    /// How many times an expired page token may restart one window.
    pub max_restarts: u32,
    /// The sweep run after each poll ([`super::sweep`]).
    pub sweep: super::sweep::SweepOptions,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            owner: format!("poller-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(15 * 60),
            min_gap: Duration::ZERO,
            max_restarts: 3,
            sweep: super::sweep::SweepOptions::default(),
        }
    }
}

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PollReport {
    /// Why nothing was done, when nothing was.
    pub skipped: Option<String>,
    /// Windows listed.
    pub windows: u32,
    /// Pages fetched.
    pub pages: u32,
    /// Conversations (meetings or recordings) listed.
    pub listed: u64,
    /// Files selected by the rules (new or known).
    pub selected: u64,
    /// Files seen for the first time.
    pub new_files: u64,
    /// Download tasks sent.
    pub enqueued: u64,
    /// CDR drafts created.
    pub new_cdrs: u64,
    /// Conversations with selected files still processing at Zoom.
    pub waiting: u64,
    /// Window restarts after an expired page token.
    pub restarts: u32,
    /// Participants API calls (meetings without individual files only).
    pub participant_calls: u64,
    /// Meetings whose participants Zoom would not give (reported, not retried).
    pub participant_errors: u64,
    /// Meetings whose participants lookup was deferred by the daily budget (listed again
    /// by a later poll: the watermark is held back for them).
    pub participants_deferred: u64,
    /// "Recording failed" CDRs of reconciliation turned into normal CDRs by a late recording.
    pub upgraded_cdrs: u64,
    /// `GET /users/{email}` lookups of configured users (at most one per user and day).
    pub user_lookups: u64,
    /// Configured emails Zoom does not know (reported by every poll until fixed).
    pub unknown_users: Vec<String>,
    /// Configured users Zoom reports deactivated (still archived).
    pub deactivated_users: Vec<String>,
    /// User lookups that failed, with the error (the last known identity was used).
    pub user_lookup_errors: Vec<String>,
    /// Stored CDRs re-filed under their user's Zoom identity.
    pub refiled_cdrs: u64,
    /// The one-time judgement of phone recordings archived by the old attribution rule,
    /// when this poll ran it ([`super::scope`]).
    pub scope: Option<super::scope::ScopeReport>,
    /// Why that judgement stopped (it runs again at the next poll).
    pub scope_error: Option<String>,
    /// What the sweep after the poll did ([`super::sweep`]).
    pub sweep: super::sweep::SweepReport,
    /// The watermark after the poll.
    pub watermark: Option<DateTime<Utc>>,
}

/// Why a poll stopped early. Progress made before the error is kept.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Zoom failed (after the client's own retries).
    #[error("listing {import} of tenant {tenant} failed: {error}")]
    Zoom {
        /// Tenant.
        tenant: String,
        /// The import source.
        import: Source,
        /// The Zoom error.
        error: ZoomError,
    },
    /// The metadata store failed.
    #[error("metadata store failed while polling: {0}")]
    Meta(#[from] MetaError),
    /// The queue failed.
    #[error("task queue failed while polling: {0}")]
    Queue(#[from] QueueError),
}

impl From<intake::IntakeError> for PollError {
    fn from(e: intake::IntakeError) -> Self {
        match e {
            intake::IntakeError::Meta(e) => PollError::Meta(e),
            intake::IntakeError::Queue(e) => PollError::Queue(e),
        }
    }
}

impl PollError {
    /// Whether a later poll may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PollError::Zoom { error, .. } => error.is_retryable(),
            PollError::Meta(e) => e.is_retryable(),
            PollError::Queue(_) => true,
        }
    }
}

/// Lists tenant sources and stores what the selection rules keep.
#[derive(Clone)]
pub struct Poller {
    ports: Ports,
    location: String,
}

/// Splits `[from, to]` into consecutive windows of at most `max`.
pub fn split_windows(from: DateTime<Utc>, to: DateTime<Utc>, max: chrono::Duration) -> Vec<Window> {
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + max).min(to);
        out.push(Window {
            from: start,
            to: end,
        });
        start = end;
    }
    out
}

impl Poller {
    /// A poller over `ports`; `location` fills the CDRs' `location` field.
    pub fn new(ports: Ports, location: impl Into<String>) -> Self {
        Self {
            ports,
            location: location.into(),
        }
    }

    /// Polls one source of one tenant.
    pub async fn poll(
        &self,
        tenant: &TenantConfig,
        source: Source,
        zoom: &dyn ZoomApi,
        opts: &PollOptions,
    ) -> Result<PollReport, PollError> {
        let clock = &self.ports.clock;
        let meta = &self.ports.meta;
        let now = clock.now();
        let lease_name = format!("poll/{}/{}", tenant.id, source);
        let lease_until =
            now + chrono::Duration::from_std(opts.lease).unwrap_or(chrono::Duration::minutes(15));
        if !meta
            .try_lease(&lease_name, &opts.owner, lease_until, now)
            .await?
        {
            info!(tenant = %tenant.id, %source, "another poller holds the lease; skipping");
            return Ok(PollReport {
                skipped: Some("another poller holds the lease".into()),
                ..Default::default()
            });
        }
        let result = self
            .poll_locked(tenant, source, zoom, opts, &lease_name)
            .await;
        if let Err(e) = meta.release_lease(&lease_name, &opts.owner).await {
            warn!(tenant = %tenant.id, %source, error = %e, "could not release the poll lease (it will expire)");
        }
        result
    }

    async fn poll_locked(
        &self,
        tenant: &TenantConfig,
        source: Source,
        zoom: &dyn ZoomApi,
        opts: &PollOptions,
        lease_name: &str,
    ) -> Result<PollReport, PollError> {
        let clock = &self.ports.clock;
        let meta = &self.ports.meta;
        let now = clock.now();
        let mut report = PollReport::default();
        let cursor = meta.get_cursor(&tenant.id, source).await?;
        if let Some(last) = cursor.as_ref().and_then(|c| c.last_success_at)
            && !opts.min_gap.is_zero()
            && now - last < chrono::Duration::from_std(opts.min_gap).unwrap_or_default()
        {
            report.skipped = Some(format!(
                "polled successfully at {last}, less than {:?} ago",
                opts.min_gap
            ));
            report.watermark = cursor.map(|c| c.high);
            return Ok(report);
        }
        // Who the configured users are at Zoom (one Light call per user and day).
        let resolved = users::resolve(meta.as_ref(), zoom, tenant, now).await?;
        report.user_lookups = resolved.lookups;
        report.unknown_users = resolved.unknown;
        report.deactivated_users = resolved.deactivated;
        report.user_lookup_errors = resolved.failed;
        report.refiled_cdrs = resolved.refiled;
        let tenant = &resolved.tenant;
        // (Only with every user's identity known: an owner matched by Zoom id must not be
        // judged someone else's because a lookup failed.)
        if source == Source::Phone
            && report.user_lookup_errors.is_empty()
            && !scope::is_done(meta.as_ref(), tenant, now).await?
        {
            let until = cursor.as_ref().map_or(now, |c| c.high);
            match scope::rejudge_phone(meta.as_ref(), zoom, tenant, until, now).await {
                Ok(r) => report.scope = Some(r),
                Err(e) => {
                    warn!(tenant = %tenant.id, error = %e, "judging archived phone recordings by the current attribution rule failed; it runs again at the next poll");
                    report.scope_error = Some(e.to_string());
                }
            }
        }
        let overlap = chrono::Duration::from_std(tenant.overlap(source)).unwrap_or_default();
        let from = match &cursor {
            Some(c) => c.high - overlap,
            None => {
                now - chrono::Duration::from_std(tenant.initial_lookback)
                    .unwrap_or(chrono::Duration::days(30))
            }
        };
        let max_wait = chrono::Duration::from_std(tenant.max_processing_wait)
            .unwrap_or(chrono::Duration::days(3));
        let mut holdback: Option<DateTime<Utc>> = None;
        let mut high = cursor.as_ref().map(|c| c.high);

        for window in split_windows(from, now, source.max_window()) {
            report.windows += 1;
            let Some(listed_to) = self
                .list_window(
                    tenant,
                    source,
                    zoom,
                    window,
                    opts,
                    lease_name,
                    &mut report,
                    &mut holdback,
                    max_wait,
                )
                .await?
            else {
                report.skipped = Some("the poll lease was lost to another poller".into());
                return Ok(report);
            };
            let window_high = holdback.map_or(listed_to, |h| h.min(listed_to));
            high = Some(window_high);
            self.store_cursor(tenant, source, window_high, None).await?;
        }
        report.sweep = super::sweep::sweep(&self.ports, &tenant.id, source, &opts.sweep)
            .await
            .map_err(|e| match e {
                super::sweep::SweepError::Meta(e) => PollError::Meta(e),
                super::sweep::SweepError::Queue(e) => PollError::Queue(e),
            })?;
        let final_high = high.unwrap_or(now);
        self.store_cursor(tenant, source, final_high, Some(clock.now()))
            .await?;
        report.watermark = Some(final_high);
        crate::metrics::poll_succeeded(
            &tenant.id,
            source,
            (clock.now() - final_high).num_milliseconds().max(0) as f64 / 1000.0,
        );
        crate::metrics::sweep_redrives(
            &tenant.id,
            source,
            report.sweep.requeued + report.sweep.redriven,
        );
        info!(tenant = %tenant.id, %source, listed = report.listed, new_files = report.new_files, enqueued = report.enqueued, pages = report.pages, "poll finished");
        Ok(report)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one request, named at the call site"
    )]
    async fn list_window(
        &self,
        tenant: &TenantConfig,
        source: Source,
        zoom: &dyn ZoomApi,
        window: Window,
        opts: &PollOptions,
        lease_name: &str,
        report: &mut PollReport,
        holdback: &mut Option<DateTime<Utc>>,
        max_wait: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>, PollError> {
        let zerr = |error| PollError::Zoom {
            tenant: tenant.id.to_string(),
            import: source,
            error,
        };
        let mut restarts = 0;
        'restart: loop {
            let mut token: Option<String> = None;
            let mut win = window;
            loop {
                let now = self.ports.clock.now();
                let listed = match source {
                    Source::Meetings => {
                        match zoom
                            .list_archived_meetings(
                                win,
                                ArchiveDateType::ArchiveCompleteTime,
                                token.as_deref(),
                            )
                            .await
                        {
                            Ok(p) => {
                                let mut plans = Vec::with_capacity(p.items.len());
                                for m in &p.items {
                                    let parts = match self
                                        .meeting_participants(tenant, zoom, m, report)
                                        .await?
                                    {
                                        Participants::Known(p) => Some(p),
                                        Participants::NotNeeded => None,
                                        Participants::Deferred => {
                                            // Listed again by a later poll.
                                            report.participants_deferred += 1;
                                            if let Some(t) = m.complete_time.or(m.start_time) {
                                                *holdback = Some(holdback.map_or(t, |h| h.min(t)));
                                            }
                                            continue;
                                        }
                                    };
                                    plans.push((
                                        plan_meeting(
                                            tenant,
                                            m,
                                            parts.as_deref(),
                                            now,
                                            &self.location,
                                        ),
                                        m.complete_time.or(m.start_time),
                                        m.uuid.clone(),
                                    ));
                                }
                                Ok((plans, p.next_page_token, p.to))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Source::Phone => {
                        zoom.list_phone_recordings(win, token.as_deref())
                            .await
                            .map(|p| {
                                (
                                    p.items
                                        .iter()
                                        .map(|r| {
                                            (
                                                plan_phone_recording(
                                                    tenant,
                                                    r,
                                                    now,
                                                    &self.location,
                                                ),
                                                None,
                                                r.id.clone(),
                                            )
                                        })
                                        .collect::<Vec<_>>(),
                                    p.next_page_token,
                                    p.to,
                                )
                            })
                    }
                };
                let (plans, next, echoed_to) = match listed {
                    Ok(v) => v,
                    Err(ZoomError::InvalidPageToken)
                        if token.is_some() && restarts < opts.max_restarts =>
                    {
                        restarts += 1;
                        report.restarts += 1;
                        warn!(tenant = %tenant.id, %source, restarts, "next_page_token expired; restarting the window");
                        continue 'restart;
                    }
                    Err(e) => return Err(zerr(e)),
                };
                report.pages += 1;
                report.listed += plans.len() as u64;
                let mut page_plans = Vec::with_capacity(plans.len());
                for (plan, completed_at, conversation) in plans {
                    if plan.waiting {
                        report.waiting += 1;
                        if let Some(t) = completed_at {
                            if now - t < max_wait {
                                *holdback = Some(holdback.map_or(t, |h| h.min(t)));
                            } else {
                                warn!(tenant = %tenant.id, meeting = %conversation, "files still processing at Zoom after the maximum wait; no longer holding the watermark for them");
                            }
                        }
                    }
                    if plan.without_url > 0 {
                        warn!(tenant = %tenant.id, conversation = %conversation, files = plan.without_url, "files without a download URL (on-prem storage) skipped");
                    }
                    page_plans.push(plan);
                }
                // One batch of writes per page (one transaction each on SQLite).
                let stored = intake::store(&self.ports, page_plans).await?;
                report.selected += stored.selected;
                report.new_files += stored.new_files;
                report.new_cdrs += stored.new_cdrs;
                report.upgraded_cdrs += stored.upgraded_cdrs;
                report.enqueued += stored.enqueued;
                if let Some(t) = echoed_to {
                    win.to = t;
                }
                let now = self.ports.clock.now();
                let until = now
                    + chrono::Duration::from_std(opts.lease)
                        .unwrap_or(chrono::Duration::minutes(15));
                if !self
                    .ports
                    .meta
                    .try_lease(lease_name, &opts.owner, until, now)
                    .await?
                {
                    warn!(tenant = %tenant.id, %source, "poll lease lost to another poller; stopping");
                    return Ok(None);
                }
                match next.filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t),
                    None => return Ok(Some(win.to)),
                }
            }
        }
    }

    /// The recorded users' joins of a meeting without individual files (whose files say
    /// nothing of who was there), from the participants API: called once per meeting (the
    /// answer, limited to configured users, is kept as a memo for [`PARTICIPANTS_MEMO_TTL`]),
    /// and never for meetings with individual files or already planned.
    async fn meeting_participants(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        m: &ArchiveMeeting,
        report: &mut PollReport,
    ) -> Result<Participants, PollError> {
        if has_individual_files(m) || tenant.users.is_empty() {
            return Ok(Participants::NotNeeded);
        }
        let Some(first) = m.archive_files.iter().find(|f| {
            (f.file_type.eq_ignore_ascii_case("MP4") || f.file_type.eq_ignore_ascii_case("M4A"))
                && f.is_completed()
        }) else {
            return Ok(Participants::NotNeeded);
        };
        let meta = self.ports.meta.as_ref();
        if meta
            .get_file(&tenant.id, Source::Meetings, &first.id)
            .await?
            .is_some()
        {
            return Ok(Participants::NotNeeded);
        }
        let now = self.ports.clock.now();
        let mut calls = 0;
        let answer = participants::lookup(meta, zoom, tenant, &m.uuid, now, &mut calls).await?;
        report.participant_calls += calls;
        match answer {
            Ok(Lookup::Known(rows)) => Ok(Participants::Known(rows)),
            Ok(Lookup::Unavailable { error, rows }) => {
                // Permanent for this meeting: remember that, so it is not asked every poll.
                warn!(tenant = %tenant.id, meeting = %m.uuid, %error, "participants unavailable; recorded users without individual files cannot be found in this meeting");
                report.participant_errors += 1;
                participants::remember(meta, tenant, &m.uuid, &rows, now).await?;
                Ok(Participants::Known(rows))
            }
            Err(ZoomError::RateLimited { kind, .. }) if is_daily(&kind) => {
                warn!(tenant = %tenant.id, meeting = %m.uuid, %kind, "participants lookup deferred: the daily budget is spent");
                Ok(Participants::Deferred)
            }
            Err(error) => Err(PollError::Zoom {
                tenant: tenant.id.to_string(),
                import: Source::Meetings,
                error,
            }),
        }
    }

    async fn store_cursor(
        &self,
        tenant: &TenantConfig,
        source: Source,
        high: DateTime<Utc>,
        success_at: Option<DateTime<Utc>>,
    ) -> Result<(), PollError> {
        let meta = &self.ports.meta;
        retry_on_conflict(|| async move {
            let cur = meta.get_cursor(&tenant.id, source).await?;
            let mut c = cur.unwrap_or(Cursor {
                tenant: tenant.id.clone(),
                source,
                high,
                last_success_at: None,
                version: 0,
            });
            c.high = high;
            if success_at.is_some() {
                c.last_success_at = success_at;
            }
            meta.put_cursor(&c).await.map(|_| ())
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_range_without_gaps() {
        let from: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        let to: DateTime<Utc> = "2026-10-31T12:00:00Z".parse().unwrap();
        let w = split_windows(from, to, chrono::Duration::days(7));
        assert_eq!(w.len(), 5);
        assert_eq!(w[0].from, from);
        assert_eq!(w.last().unwrap().to, to);
        assert!(w.windows(2).all(|p| p[0].to == p[1].from));
        assert!(w.iter().all(|x| x.to - x.from <= chrono::Duration::days(7)));
        assert!(split_windows(to, to, chrono::Duration::days(7)).is_empty());
    }
}
