//! CDR reconciliation: what happened but was not archived is itself a record.
//!
//! For one tenant and one UTC day:
//!
//! - **Phone**: the account's call history (`/phone/call_history`, Phone Heavy) lists every
//!   call leg. For each connected call (answered: missed and voicemail calls are no
//!   conversation) and each configured user who is a party (caller or callee, by extension
//!   or email): a normal CDR of that user with the call's `call_id` means **archived**; a
//!   recording file still being downloaded means **pending**; a call that ended less than
//!   `reconcile_grace` ago is **pending**; otherwise a "recording failed" CDR is written
//!   with every field the call history gives, and the reason: **not_archived** when Zoom
//!   says the call was recorded (its recording id comes from the call path, a Light call
//!   made only for these gaps) and **not_recorded** when Zoom did not record a call of a
//!   user configured for recording (beyond the spec).
//! - **Meetings**: the dashboard's past meetings (`/metrics/meetings?type=past`,
//!   Resource-intensive, one call per 300 meetings). A meeting with a CDR from the archive
//!   is settled from it (**archived**, **pending**, or **not_archived** when every file
//!   of it was lost) and costs nothing more. For the others that ended more than the grace
//!   ago, the configured users present are taken, cheapest first, from the participants
//!   the poller remembered, from the meeting's archive at Zoom (Light: its individual files
//!   name every archived participant, so a meeting without ours costs no Heavy call), and
//!   only then from the participants lookup (Heavy, once per meeting, remembered). Each
//!   gets a "recording failed" CDR spanning their joins, **not_archived** when the meeting
//!   had archiving on, **not_recorded** when it had not. The dashboard lists the account's
//!   own meetings: breakout rooms are not listed on their own (their archive CDRs carry the
//!   parent meeting's id; a participant's breakout joins are joins of the parent), and
//!   meetings hosted by other accounts are not listed at all.
//!
//! A failed CDR has the id the normal CDR would have (recording id for phone, meeting UUID
//! for meetings), so a recording that arrives later turns it into a normal CDR (the poller
//! merges, no duplicate). Reconciliation is idempotent: a rerun writes nothing new.
//!
//! Budget: the listing calls draw on Zoom's daily pools (see [`super::budget`]); when the
//! budget is spent the day stays open ([`ReconcileError::Deferred`]) and is done again
//! after 00:00 UTC.

use super::budget::next_midnight;
use super::cdrs;
use super::participants;
use super::poller::is_daily;
use super::select::{classify_call, party_is_internal};
use crate::domain::{
    CallHistoryItem, Cdr, CdrQuery, DashboardMeeting, DirectionUser, MediaState, MeetingCdr,
    MeetingParticipant, PhoneCdr, Segment, Source, TenantConfig, UserConfig,
};
use crate::ports::{MetaError, Ports, Window, ZoomApi, ZoomError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracing::{info, warn};

/// Reason of a failed CDR: Zoom recorded it, the archive does not have it.
pub const NOT_ARCHIVED: &str = "not_archived";
/// Reason of a failed CDR: Zoom did not record a conversation of a recorded user.
pub const NOT_RECORDED: &str = "not_recorded";

/// How long a recording that a call path names but Zoom does not list yet is looked for
/// again (each reconciliation run lists its call's minutes once).
pub const LATE_RECORDING_DAYS: i64 = 7;

const LATE_MEMO: &str = "late-recordings";

/// A recording the call history names and the recordings listing did not give yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LateRecording {
    recording_id: String,
    call_id: String,
    start: DateTime<Utc>,
    since: DateTime<Utc>,
}

/// Counts of one source on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Conversations of recorded users with their recording archived (per user).
    pub archived: u64,
    /// Recorded by Zoom, missing from the archive after the grace period (per user).
    pub not_archived: u64,
    /// Not recorded by Zoom (per user).
    pub not_recorded: u64,
    /// Still within the grace period, or being downloaded.
    pub pending: u64,
}

/// The reconciliation of one tenant and day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayReport {
    /// Tenant.
    pub tenant: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// Zoom Phone.
    pub phone: Counts,
    /// Zoom Meetings.
    pub meetings: Counts,
    /// "Recording failed" CDRs written by this run.
    pub failed_cdrs_written: u64,
    /// Recordings found in the call history that no listing had given, fetched and queued
    /// by this run (listed late at Zoom: behind the poller's watermark).
    #[serde(default)]
    pub fetched_late: u64,
    /// Whether the day is final (its end + grace has passed): reruns change nothing.
    pub complete: bool,
    /// Zoom calls made: call-history/meeting pages, call paths, participants lookups.
    pub zoom_calls: BTreeMap<String, u64>,
    /// When it ran.
    pub reconciled_at: DateTime<Utc>,
}

/// Why reconciliation stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The daily budget (ours or Zoom's) is spent: the day stays open until `until`.
    #[error("reconciliation deferred until {until}: {reason}")]
    Deferred {
        /// When to try again.
        until: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// Zoom failed.
    #[error("Zoom failed during reconciliation: {0}")]
    Zoom(ZoomError),
    /// The metadata store failed.
    #[error("metadata store failed during reconciliation: {0}")]
    Meta(#[from] MetaError),
    /// The task queue failed (queuing a recording fetched late).
    #[error("task queue failed during reconciliation: {0}")]
    Queue(#[from] crate::ports::QueueError),
}

impl From<ZoomError> for ReconcileError {
    fn from(e: ZoomError) -> Self {
        match e {
            ZoomError::RateLimited {
                ref kind,
                retry_after,
                ..
            } if is_daily(kind) => ReconcileError::Deferred {
                until: match retry_after {
                    Some(hint) => hint.until(Utc::now()),
                    None => next_midnight(Utc::now()),
                },
                reason: e.to_string(),
            },
            e => ReconcileError::Zoom(e),
        }
    }
}

/// The memo key of the last final day reconciled.
pub const RECONCILED_THROUGH: &str = "reconciled-through";

/// The last day reconciled for good (final) of `tenant`, with its newest stored report
/// when one can be read (an operator's status; `None` before the first final day).
pub async fn last_reconciled(
    ports: &Ports,
    tenant: &crate::domain::TenantId,
) -> Result<Option<(NaiveDate, Option<DayReport>)>, ReconcileError> {
    use futures::TryStreamExt;
    let now = ports.clock.now();
    let Some(day) = ports
        .meta
        .get_memo(tenant, RECONCILED_THROUGH, now)
        .await?
        .and_then(|v| v.parse::<NaiveDate>().ok())
    else {
        return Ok(None);
    };
    // Reports are small JSON documents; the newest of the day is the last key.
    let prefix = format!("{tenant}/reports/reconcile/{day}/");
    let report = match ports.blobs.list(&prefix).await {
        Ok(list) => match list.last() {
            Some(info) => match ports.blobs.get(&info.key).await {
                Ok(body) => body
                    .try_fold(Vec::new(), |mut acc, chunk| async move {
                        acc.extend_from_slice(&chunk);
                        Ok(acc)
                    })
                    .await
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<DayReport>(&bytes).ok()),
                Err(_) => None,
            },
            None => None,
        },
        Err(_) => None,
    };
    Ok(Some((day, report)))
}

/// Runs reconciliation.
#[derive(Clone)]
pub struct Reconciler {
    ports: Ports,
    location: String,
    custody: Option<super::manifest::Custody>,
    zoom_delete: Option<super::zoom_delete::ZoomDeleter>,
}

fn day_window(day: NaiveDate) -> Window {
    let from =
        DateTime::from_naive_utc_and_offset(day.and_hms_opt(0, 0, 0).unwrap_or_default(), Utc);
    Window {
        from,
        to: from + Duration::days(1) - Duration::seconds(1),
    }
}

impl Reconciler {
    /// The ports it works on.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// A reconciler over `ports`; `location` fills the failed CDRs' `location`.
    pub fn new(ports: Ports, location: impl Into<String>) -> Self {
        Self {
            ports,
            location: location.into(),
            custody: None,
            zoom_delete: None,
        }
    }

    /// This reconciler also deletes at Zoom, after sealing, what a tenant with
    /// `delete_at_zoom` allows ([`super::zoom_delete::run`], at the end of each
    /// [`Reconciler::run`]; tenants without it are left alone). The custody's signing key,
    /// when there is one, is trusted for the manifests' signatures.
    pub fn with_zoom_delete(mut self, deleter: super::zoom_delete::ZoomDeleter) -> Self {
        self.zoom_delete = Some(deleter);
        self
    }

    /// This reconciler also seals every day that becomes final and reconciled, with
    /// `custody`'s signer and audit trail ([`super::manifest::seal_due`], at the end of
    /// each [`Reconciler::run`]).
    pub fn with_custody(mut self, custody: super::manifest::Custody) -> Self {
        self.custody = Some(custody);
        self
    }

    /// The days to reconcile at `now`: from the day after the last day reconciled (else
    /// `initial_lookback` ago) through the last day that is final (its end + the grace has
    /// passed). Each day is listed once: a partial day is only reconciled when asked for
    /// explicitly ([`Reconciler::reconcile_day`]).
    pub async fn due_days(&self, tenant: &TenantConfig) -> Result<Vec<NaiveDate>, ReconcileError> {
        let now = self.ports.clock.now();
        let today = now.date_naive();
        let first = match self
            .ports
            .meta
            .get_memo(&tenant.id, RECONCILED_THROUGH, now)
            .await?
            .and_then(|v| v.parse::<NaiveDate>().ok())
        {
            Some(d) => d + Duration::days(1),
            None => (now
                - Duration::from_std(tenant.initial_lookback).unwrap_or(Duration::days(30)))
            .date_naive(),
        };
        let grace = Duration::from_std(tenant.reconcile_grace).unwrap_or(Duration::hours(6));
        let mut days = Vec::new();
        let mut d = first;
        while d <= today && day_window(d).to + Duration::seconds(1) + grace <= now {
            days.push(d);
            d += Duration::days(1);
        }
        Ok(days)
    }

    /// Reconciles every due day (see [`Reconciler::due_days`]), in order; stops at the
    /// first error (a deferred day is retried by the next run). Returns the reports of the
    /// days done.
    pub async fn reconcile_due(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
    ) -> Result<Vec<DayReport>, (Vec<DayReport>, ReconcileError)> {
        let days = match self.due_days(tenant).await {
            Ok(d) => d,
            Err(e) => return Err((Vec::new(), e)),
        };
        let mut out = Vec::new();
        for day in days {
            match self.reconcile_day(tenant, zoom, day).await {
                Ok(r) => out.push(r),
                Err(e) => return Err((out, e)),
            }
        }
        Ok(out)
    }

    /// Reconciles one UTC day of one tenant.
    pub async fn reconcile_day(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        day: NaiveDate,
    ) -> Result<DayReport, ReconcileError> {
        let now = self.ports.clock.now();
        let grace = Duration::from_std(tenant.reconcile_grace).unwrap_or(Duration::hours(6));
        let mut report = DayReport {
            tenant: tenant.id.to_string(),
            day,
            complete: day_window(day).to + Duration::seconds(1) + grace <= now,
            reconciled_at: now,
            ..DayReport::default()
        };
        // The configured users' Zoom identities (remembered for a day: usually no call).
        let resolved = super::users::resolve(self.ports.meta.as_ref(), zoom, tenant, now).await?;
        if resolved.lookups > 0 {
            *report
                .zoom_calls
                .entry("GET /users/{userId}".to_string())
                .or_default() += resolved.lookups;
        }
        let tenant = &resolved.tenant;
        if tenant.sources.contains(&Source::Phone) {
            self.phone(tenant, zoom, day, now, grace, &mut report)
                .await?;
        }
        if tenant.sources.contains(&Source::Meetings) {
            self.meetings(tenant, zoom, day, now, grace, &mut report)
                .await?;
        }
        if report.complete {
            let meta = &self.ports.meta;
            let prev = meta
                .get_memo(&tenant.id, RECONCILED_THROUGH, now)
                .await?
                .and_then(|v| v.parse::<NaiveDate>().ok());
            if prev.is_none_or(|p| p < day) {
                meta.put_memo(
                    &tenant.id,
                    RECONCILED_THROUGH,
                    &day.to_string(),
                    now + Duration::days(3650),
                )
                .await?;
            }
        }
        info!(tenant = %tenant.id, %day, phone = ?report.phone, meetings = ?report.meetings, failed_written = report.failed_cdrs_written, "reconciled");
        Ok(report)
    }

    fn bump(report: &mut DayReport, what: &str) {
        *report.zoom_calls.entry(what.to_string()).or_default() += 1;
    }

    /// The CDRs of one conversation, by the call-id index.
    async fn cdrs_of(&self, tenant: &TenantConfig, call_id: &str) -> Result<Vec<Cdr>, MetaError> {
        self.ports
            .meta
            .query_cdrs(&CdrQuery {
                tenant: Some(tenant.id.clone()),
                platform_call_id: Some(call_id.to_string()),
                ..CdrQuery::default()
            })
            .await
    }

    async fn phone(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        day: NaiveDate,
        now: DateTime<Utc>,
        grace: Duration,
        report: &mut DayReport,
    ) -> Result<(), ReconcileError> {
        let window = day_window(day);
        let items: Vec<CallHistoryItem> =
            all_pages(report, "GET /phone/call_history", |t| async move {
                zoom.list_call_history(window, t.as_deref()).await
            })
            .await?;
        // (call id, user key) → the legs naming that user.
        let mut calls: BTreeMap<(String, String), (&UserConfig, Vec<&CallHistoryItem>)> =
            BTreeMap::new();
        for it in &items {
            let Some(call_id) = it.call_id.as_deref().filter(|c| !c.is_empty()) else {
                continue;
            };
            // A missed, rejected or voicemail call was no conversation: nothing to record
            // (unless Zoom recorded something anyway).
            if !it.connected() && !it.is_recorded() {
                continue;
            }
            for u in parties(tenant, it) {
                calls
                    .entry((call_id.to_string(), u.key()))
                    .or_insert_with(|| (u, Vec::new()))
                    .1
                    .push(it);
            }
        }
        let mut by_call: BTreeMap<String, Vec<Cdr>> = BTreeMap::new();
        for ((call_id, key), (user, legs)) in calls {
            if !by_call.contains_key(&call_id) {
                by_call.insert(call_id.clone(), self.cdrs_of(tenant, &call_id).await?);
            }
            let cdrs = &by_call[&call_id];
            let mine: Vec<&Cdr> = cdrs
                .iter()
                .filter(|c| c.source == Source::Phone && c.cdr_id.ends_with(&format!(":{key}")))
                .collect();
            match self.settle(&mine, report.complete).await? {
                Settled::Archived => {
                    report.phone.archived += 1;
                    continue;
                }
                Settled::Pending => {
                    report.phone.pending += 1;
                    continue;
                }
                Settled::Lost { written } => {
                    report.failed_cdrs_written += written;
                    crate::metrics::recording_failed_cdrs(&tenant.id, Source::Phone, written);
                    report.phone.not_archived += 1;
                    continue;
                }
                Settled::None => {}
            }
            let leg = legs[0];
            let end = leg
                .end_time
                .or_else(|| {
                    leg.start_time
                        .map(|s| s + Duration::seconds(leg.duration.unwrap_or(0)))
                })
                .unwrap_or(now);
            if end + grace > now {
                report.phone.pending += 1;
                continue;
            }
            let recorded_leg = legs.iter().find(|l| l.is_recorded()).copied();
            let mut reason = NOT_RECORDED;
            let mut detail =
                "Zoom did not record this call of a user configured for recording".to_string();
            let mut conversation = format!("call-{call_id}");
            if let Some(l) = recorded_leg {
                reason = NOT_ARCHIVED;
                let mut ids: Vec<String> = l.recording_id.iter().cloned().collect();
                if ids.is_empty()
                    && let Some(uuid) = l.call_history_uuid.as_deref()
                {
                    Self::bump(report, "GET /phone/call_history/{uuid}");
                    if let Some(path) = zoom.get_call_path(uuid).await? {
                        ids = path.recording_ids();
                    }
                }
                if let Some(rid) = ids.first() {
                    conversation = rid.clone();
                    match self
                        .ports
                        .meta
                        .get_file(&tenant.id, Source::Phone, rid)
                        .await?
                    {
                        Some(f) if !f.state.is_terminal() => {
                            report.phone.pending += 1;
                            continue;
                        }
                        Some(f) => {
                            detail = format!(
                                "Zoom recorded it (recording {rid}); the archive has it {}: {}",
                                f.state.name(),
                                state_reason(&f.state)
                            );
                        }
                        None => {
                            // Listed late (a long call, a backlog at Zoom): behind the
                            // poller's watermark. Fetch it now, or keep looking.
                            let start = leg.start_time.unwrap_or(now);
                            if self.fetch_late(tenant, zoom, rid, start, report).await? {
                                report.phone.pending += 1;
                                continue;
                            }
                            self.remember_late(tenant, rid, call_id.as_str(), start, now)
                                .await?;
                            detail = format!(
                                "Zoom recorded it (recording {rid}) but Zoom Phone's recordings do not list it yet; later runs look again for {} days",
                                LATE_RECORDING_DAYS
                            );
                        }
                    }
                } else {
                    detail = "Zoom marks the call recorded but names no recording".into();
                }
            }
            if mine.iter().any(|c| c.is_reconciliation_failure()) {
                count(&mut report.phone, reason);
                continue;
            }
            let cdr = self.failed_phone_cdr(
                tenant,
                user,
                leg,
                &call_id,
                &conversation,
                reason,
                &detail,
                now,
            );
            if cdrs::insert_failed(self.ports.meta.as_ref(), &cdr).await? {
                report.failed_cdrs_written += 1;
                crate::metrics::recording_failed_cdrs(&tenant.id, Source::Phone, 1);
            }
            count(&mut report.phone, reason);
        }
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one request, named at the call site"
    )]
    fn failed_phone_cdr(
        &self,
        tenant: &TenantConfig,
        u: &UserConfig,
        leg: &CallHistoryItem,
        call_id: &str,
        conversation: &str,
        reason: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Cdr {
        let start = leg.start_time.unwrap_or(now);
        let end = leg
            .end_time
            .unwrap_or_else(|| start + Duration::seconds(leg.duration.unwrap_or(0)))
            .max(start);
        let number = |ext: &Option<String>, did: &Option<String>| {
            ext.clone()
                .filter(|x| !x.is_empty())
                .or_else(|| did.clone())
                .unwrap_or_default()
        };
        let from = number(&leg.caller_ext_number, &leg.caller_did_number);
        let to = number(&leg.callee_ext_number, &leg.callee_did_number);
        let side_internal = |ext: &Option<String>, did: &Option<String>, email: &Option<String>| {
            if ext.as_deref().is_some_and(|x| !x.is_empty()) {
                Some(true)
            } else {
                // Zoom names the extension of every party inside the account: a number
                // without one is outside, unless the tenant's patterns or domains say not.
                party_is_internal(tenant, did.as_deref(), None, email.as_deref())
                    .or(did.as_deref().filter(|d| !d.is_empty()).map(|_| false))
            }
        };
        let direction = classify_call(
            side_internal(
                &leg.caller_ext_number,
                &leg.caller_did_number,
                &leg.caller_email,
            ),
            side_internal(
                &leg.callee_ext_number,
                &leg.callee_did_number,
                &leg.callee_email,
            ),
            leg.direction.as_deref(),
        );
        let is_caller = leg
            .caller_ext_number
            .as_deref()
            .is_some_and(|x| u.has_extension(x))
            || leg.caller_email.as_deref().is_some_and(|e| u.has_email(e));
        let mut participants = Vec::new();
        for n in [&leg.caller_name, &leg.callee_name].into_iter().flatten() {
            if !n.is_empty() && !participants.contains(n) {
                participants.push(n.clone());
            }
        }
        let name_from_leg = if is_caller {
            &leg.caller_name
        } else {
            &leg.callee_name
        };
        let ext = u.extension.clone().unwrap_or_default();
        let normal = Cdr::for_phone_recording(
            PhoneCdr {
                tenant: &tenant.id,
                user: u,
                recording_id: conversation,
                call_id,
                name: u
                    .name
                    .clone()
                    .or_else(|| name_from_leg.clone().filter(|n| !n.is_empty()))
                    .or_else(|| u.email.clone())
                    .unwrap_or_else(|| ext.clone()),
                extension: ext,
                start,
                end,
                duration_seconds: leg
                    .duration
                    .filter(|d| *d > 0)
                    .unwrap_or((end - start).num_seconds()),
                from: (from, leg.caller_name.clone().unwrap_or_default()),
                to: (to, leg.callee_name.clone().unwrap_or_default()),
                participants,
                direction,
                direction_user: if is_caller {
                    DirectionUser::Outgoing
                } else {
                    DirectionUser::Incoming
                },
                location: &self.location,
            },
            Vec::new(),
            now,
        );
        Cdr::recording_failed(normal, reason, detail)
    }

    async fn meetings(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        day: NaiveDate,
        now: DateTime<Utc>,
        grace: Duration,
        report: &mut DayReport,
    ) -> Result<(), ReconcileError> {
        let window = day_window(day);
        let meetings: Vec<DashboardMeeting> =
            all_pages(report, "GET /metrics/meetings", |t| async move {
                zoom.list_past_meetings(window, t.as_deref()).await
            })
            .await?;
        for m in &meetings {
            let cdrs = self.cdrs_of(tenant, &m.uuid).await?;
            let archive: Vec<&Cdr> = cdrs
                .iter()
                .filter(|c| !c.is_reconciliation_failure())
                .collect();
            if !archive.is_empty() {
                // The archive of this meeting exists: it names every recorded participant
                // (individual files), so no participants call can change the answer.
                for c in archive {
                    match self.settle(&[c], report.complete).await? {
                        Settled::Archived => report.meetings.archived += 1,
                        Settled::Pending | Settled::None => report.meetings.pending += 1,
                        Settled::Lost { written } => {
                            report.failed_cdrs_written += written;
                            crate::metrics::recording_failed_cdrs(
                                &tenant.id,
                                Source::Meetings,
                                written,
                            );
                            report.meetings.not_archived += 1;
                        }
                    }
                }
                continue;
            }
            let end = m.end_time.or(m.start_time).unwrap_or(now);
            if end + grace > now {
                report.meetings.pending += 1;
                continue;
            }
            let rows = match self.presence(tenant, zoom, m, report).await? {
                Some(r) => r,
                None => continue,
            };
            // Group the joins per configured user (breakout joins count for the meeting).
            let mut present: Vec<(&UserConfig, Vec<&MeetingParticipant>)> = Vec::new();
            for p in &rows {
                let u = p
                    .email
                    .as_deref()
                    .and_then(|e| tenant.user_by_email(e))
                    .or_else(|| p.zoom_user_id().and_then(|id| tenant.user_by_zoom_id(id)));
                let Some(u) = u else { continue };
                match present.iter_mut().find(|(x, _)| std::ptr::eq(*x, u)) {
                    Some((_, v)) => v.push(p),
                    None => present.push((u, vec![p])),
                }
            }
            let names: Vec<String> = present.iter().map(|(u, rows)| display(u, rows)).collect();
            let reason = if m.has_archiving == Some(false) {
                NOT_RECORDED
            } else {
                NOT_ARCHIVED
            };
            for (u, rows) in &present {
                let key = u.key();
                if let Some(existing) = cdrs.iter().find(|c| c.cdr_id.ends_with(&format!(":{key}")))
                {
                    if existing.recording_failed {
                        count(&mut report.meetings, reason);
                    }
                    continue;
                }
                let cdr = self.failed_meeting_cdr(tenant, u, rows, m, &names, reason, now);
                if cdrs::insert_failed(self.ports.meta.as_ref(), &cdr).await? {
                    report.failed_cdrs_written += 1;
                    crate::metrics::recording_failed_cdrs(&tenant.id, Source::Meetings, 1);
                }
                count(&mut report.meetings, reason);
            }
        }
        Ok(())
    }

    /// Who of the configured users was in a meeting the archive has nothing of. Cheapest
    /// first: the participants the poller or an earlier run remembered; for a meeting Zoom
    /// archived, its archive (Light, no daily budget), whose individual files name every
    /// archived participant (none of ours: nothing to reconcile, no Heavy call); only
    /// otherwise (archiving off, or an archive without individual files) the participants
    /// lookup (Heavy).
    async fn presence(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        m: &DashboardMeeting,
        report: &mut DayReport,
    ) -> Result<Option<Vec<MeetingParticipant>>, ReconcileError> {
        let now = self.ports.clock.now();
        let meta = self.ports.meta.as_ref();
        if let Some(rows) = participants::remembered(meta, tenant, &m.uuid, now).await? {
            return Ok(Some(rows));
        }
        if m.has_archiving != Some(false) {
            Self::bump(report, "GET /past_meetings/{meetingUUID}/archive_files");
            if let Some(a) = zoom.get_meeting_archive(&m.uuid).await?
                && super::select::has_individual_files(&a)
            {
                let rows = a
                    .archive_files
                    .iter()
                    .filter(|f| f.is_individual())
                    .filter(|f| {
                        f.participant_email
                            .as_deref()
                            .is_some_and(|e| tenant.user_by_email(e).is_some())
                    })
                    .map(|f| MeetingParticipant {
                        email: f.participant_email.clone(),
                        join_time: f.participant_join_time,
                        leave_time: f.participant_leave_time,
                        ..MeetingParticipant::default()
                    })
                    .collect();
                return Ok(Some(rows));
            }
        }
        let mut calls = 0;
        let answer = participants::lookup(meta, zoom, tenant, &m.uuid, now, &mut calls).await?;
        *report
            .zoom_calls
            .entry("GET /metrics/meetings/{meetingId}/participants".to_string())
            .or_default() += calls;
        match answer? {
            participants::Lookup::Known(rows) => Ok(Some(rows)),
            participants::Lookup::Unavailable { error, .. } => {
                warn!(tenant = %tenant.id, meeting = %m.uuid, %error, "participants unavailable; meeting not reconciled");
                Ok(None)
            }
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one request, named at the call site"
    )]
    fn failed_meeting_cdr(
        &self,
        tenant: &TenantConfig,
        u: &UserConfig,
        rows: &[&MeetingParticipant],
        m: &DashboardMeeting,
        names: &[String],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Cdr {
        let mut segments: Vec<Segment> = rows
            .iter()
            .filter_map(|p| {
                let join_time = p.join_time?;
                Some(Segment {
                    join_time,
                    leave_time: p.leave_time.unwrap_or(join_time).max(join_time),
                })
            })
            .collect();
        segments.sort_by_key(|s| s.join_time);
        segments.dedup();
        let start = segments
            .first()
            .map(|s| s.join_time)
            .or(m.start_time)
            .unwrap_or(now);
        let end = segments
            .iter()
            .map(|s| s.leave_time)
            .max()
            .or(m.end_time)
            .unwrap_or(start)
            .max(start);
        let name = display(u, rows);
        let zoom_id = u
            .zoom_user_id
            .clone()
            .or_else(|| {
                rows.iter()
                    .find_map(|p| p.zoom_user_id().map(str::to_string))
            })
            .or_else(|| u.email.clone())
            .unwrap_or_default();
        let detail = if reason == NOT_RECORDED {
            "the meeting was not archived by Zoom (archiving off)"
        } else {
            "Zoom archived the meeting but the archive has no recording of this user"
        };
        let topic = m.topic.clone().unwrap_or_default();
        let normal = Cdr::for_meeting_user(
            MeetingCdr {
                tenant: &tenant.id,
                user: u,
                meeting_uuid: &m.uuid,
                topic: &topic,
                parent_meeting_id: None,
                name,
                zoom_user_id: zoom_id,
                participants: names.to_vec(),
                segments,
                start,
                end,
                location: &self.location,
            },
            Vec::new(),
            now,
        );
        Cdr::recording_failed(normal, reason, detail)
    }
}

/// Where the CDRs of one user in one conversation stand.
enum Settled {
    /// A recording is archived.
    Archived,
    /// A recording is still being downloaded (or the CDR waits for Zoom's processing).
    Pending,
    /// The recordings were gone at Zoom or failed for good: the CDR is (now) marked failed.
    Lost {
        /// CDRs marked failed by this call.
        written: u64,
    },
    /// No CDR from the archive: reconciliation decides.
    None,
}

impl Reconciler {
    /// Classifies the archive's CDRs of one user; marks a CDR whose every file is gone or
    /// failed as "recording failed" (`not_archived`, with the files' reasons) once `final_`.
    async fn settle(&self, cdrs: &[&Cdr], final_: bool) -> Result<Settled, MetaError> {
        let archive: Vec<&&Cdr> = cdrs
            .iter()
            .filter(|c| !c.is_reconciliation_failure())
            .collect();
        if archive.is_empty() {
            return Ok(Settled::None);
        }
        if archive
            .iter()
            .any(|c| c.media.iter().any(|m| m.state == MediaState::Archived))
        {
            return Ok(Settled::Archived);
        }
        if archive
            .iter()
            .any(|c| c.media.is_empty() || c.media.iter().any(|m| m.state == MediaState::Pending))
            || !final_
        {
            return Ok(Settled::Pending);
        }
        let mut written = 0;
        for c in archive {
            if c.recording_failed {
                continue;
            }
            if cdrs::mark_lost(
                self.ports.meta.as_ref(),
                c,
                NOT_ARCHIVED,
                self.ports.clock.now(),
            )
            .await?
            {
                written += 1;
            } else {
                // Changed meanwhile (a late file arrived): the next run looks again.
                return Ok(Settled::Pending);
            }
        }
        Ok(Settled::Lost { written })
    }
}

/// Every page of a listing, restarting once on an expired page token; counts the calls.
async fn all_pages<T, F, Fut>(
    report: &mut DayReport,
    label: &str,
    mut fetch: F,
) -> Result<Vec<T>, ReconcileError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<crate::ports::Page<T>, ZoomError>>,
{
    let mut items: Vec<T> = Vec::new();
    let mut token: Option<String> = None;
    let mut restarted = false;
    loop {
        *report.zoom_calls.entry(label.to_string()).or_default() += 1;
        match fetch(token.take()).await {
            Ok(p) => {
                items.extend(p.items);
                match p.next_page_token.filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t),
                    None => return Ok(items),
                }
            }
            Err(ZoomError::InvalidPageToken) if !restarted => {
                restarted = true;
                items.clear();
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn count(c: &mut Counts, reason: &str) {
    if reason == NOT_RECORDED {
        c.not_recorded += 1;
    } else {
        c.not_archived += 1;
    }
}

fn state_reason(s: &crate::domain::FileState) -> String {
    match s {
        crate::domain::FileState::Gone { reason, .. }
        | crate::domain::FileState::Failed { reason, .. } => reason.clone(),
        _ => String::new(),
    }
}

fn display(u: &UserConfig, rows: &[&MeetingParticipant]) -> String {
    u.name
        .clone()
        .or_else(|| {
            rows.iter()
                .find_map(|p| p.user_name.clone().filter(|n| !n.is_empty()))
        })
        .or_else(|| u.email.clone())
        .unwrap_or_default()
}

/// The configured users who are a party of a call leg (caller or callee).
fn parties<'a>(tenant: &'a TenantConfig, it: &CallHistoryItem) -> Vec<&'a UserConfig> {
    let mut out: Vec<&UserConfig> = Vec::new();
    let sides = [
        (&it.caller_ext_number, &it.caller_email),
        (&it.callee_ext_number, &it.callee_email),
    ];
    for (ext, email) in sides {
        let u = ext
            .as_deref()
            .filter(|x| !x.is_empty())
            .and_then(|x| tenant.user_by_extension(x))
            .or_else(|| email.as_deref().and_then(|e| tenant.user_by_email(e)));
        if let Some(u) = u
            && !out.iter().any(|x| std::ptr::eq(*x, u))
        {
            out.push(u);
        }
    }
    out
}

impl Reconciler {
    /// One run, as the CLI's `reconcile` and the reconciler function do it: `day` alone
    /// (final or not), else every due day ([`Reconciler::reconcile_due`]); each day's
    /// report is stored ([`Reconciler::store_report`]). A report that cannot be stored is
    /// listed in `store_failures` and the others are still stored.
    pub async fn run(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        day: Option<NaiveDate>,
    ) -> RunReport {
        let late = self.recheck_late(tenant, zoom).await;
        let result = match day {
            Some(d) => self
                .reconcile_day(tenant, zoom, d)
                .await
                .map(|r| vec![r])
                .map_err(|e| (Vec::new(), e)),
            None => self.reconcile_due(tenant, zoom).await,
        };
        let (days, stopped) = match result {
            Ok(v) => (v, None),
            Err((v, e)) => (v, Some(e)),
        };
        let mut run = RunReport {
            stopped,
            ..RunReport::default()
        };
        match late {
            Ok(n) => run.fetched_late = n,
            Err(e) => {
                warn!(tenant = %tenant.id, error = %e, "looking again for recordings listed late failed");
                run.stopped.get_or_insert(e);
            }
        }
        for r in &days {
            match self.store_report(&tenant.id, r).await {
                Ok(key) => run.report_keys.push(key),
                Err(e) => run
                    .store_failures
                    .push(format!("storing the report of {}: {e}", r.day)),
            }
        }
        run.days = days;
        if let Some(c) = &self.custody {
            let explicit: Vec<NaiveDate> = day
                .into_iter()
                .filter(|d| run.days.iter().any(|r| r.day == *d && r.complete))
                .collect();
            let sealed = super::manifest::seal_due(&self.ports, c, tenant, &explicit).await;
            run.seals = sealed.outcomes;
            run.seal_failures = sealed.failures;
        }
        if let Some(d) = &self.zoom_delete
            && !tenant.delete_at_zoom.is_off()
        {
            let mut d = d.clone();
            if let Some(c) = &self.custody {
                match c.signer.public_key().await {
                    Ok(k) => d.keys.push(k),
                    Err(e) => {
                        warn!(tenant = %tenant.id, error = %e, "the sealing key's public key could not be read");
                    }
                }
            }
            match super::zoom_delete::run(&self.ports, &d, tenant, zoom, false).await {
                Ok(r) => {
                    if let Some(why) = &r.stopped {
                        warn!(tenant = %tenant.id, %why, "deleting at Zoom stopped; the rest is tried next run");
                    }
                    run.zoom_deletes = Some(r);
                }
                Err(e) => run.zoom_delete_failure = Some(format!("deleting at Zoom: {e}")),
            }
        }
        // Disposal past retention, a scheduled step of every run for a tenant with
        // retention rules (the audit trail of the custody or of the deleter records it).
        let audit = self
            .custody
            .as_ref()
            .map(|c| (c.audit.clone(), c.actor.clone()))
            .or_else(|| {
                self.zoom_delete
                    .as_ref()
                    .map(|d| (d.audit.clone(), d.actor.clone()))
            });
        if let Some((audit, actor)) = audit
            && !tenant.retention.is_empty()
        {
            match super::custody::dispose(
                &self.ports,
                audit.as_ref(),
                &tenant.id,
                &tenant.retention,
                &actor,
                false,
            )
            .await
            {
                Ok(d) => run.disposals = d,
                Err(e) => run.disposal_failure = Some(format!("disposing past retention: {e}")),
            }
        }
        run
    }

    /// Stores a day report as JSON in the object store, at
    /// `{tenant}/reports/reconcile/{day}/{reconciled_at}.json` (create-only: every run
    /// keeps its own report). Returns the key.
    pub async fn store_report(
        &self,
        tenant: &crate::domain::TenantId,
        report: &DayReport,
    ) -> Result<crate::domain::ObjectKey, String> {
        use crate::ports::{BodyExpectations, ObjectMeta, VerifiedBody};
        let key = crate::domain::ObjectKey::parse(format!(
            "{tenant}/reports/reconcile/{}/{}.json",
            report.day,
            report.reconciled_at.format("%Y%m%dT%H%M%S%.3fZ")
        ))
        .map_err(|e| e.to_string())?;
        let json = serde_json::to_vec_pretty(report).map_err(|e| e.to_string())?;
        let size = json.len() as u64;
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(json))]);
        let body = VerifiedBody::new(
            Box::pin(body),
            BodyExpectations {
                kind: crate::domain::ContentKind::Document,
                size: Some(size),
            },
        );
        let meta = ObjectMeta {
            tenant: tenant.clone(),
            source: Source::Meetings,
            conversation_id: "reconciliation".into(),
            file_id: format!("report-{}", report.day),
            content_type: Some("application/json".into()),
            retain_until: None,
        };
        self.ports
            .blobs
            .put_stream(&key, &meta, body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(key)
    }
}

/// What one [`Reconciler::run`] did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// The days reconciled, in order.
    pub days: Vec<DayReport>,
    /// Where their reports were stored.
    pub report_keys: Vec<crate::domain::ObjectKey>,
    /// Why the run stopped before the last due day (a deferred day is retried later).
    pub stopped: Option<ReconcileError>,
    /// Reports that could not be stored, with the reason.
    pub store_failures: Vec<String>,
    /// Recordings earlier runs found in the call history but not in the listing, fetched
    /// and queued by this run.
    pub fetched_late: u64,
    /// Days sealed (or looked at again for addenda) by this run, when the reconciler has
    /// a custody ([`Reconciler::with_custody`]).
    pub seals: Vec<super::manifest::SealOutcome>,
    /// Days that could not be sealed, with the reason (tried again by the next run).
    pub seal_failures: Vec<String>,
    /// What was deleted at Zoom after sealing, for a tenant with `delete_at_zoom`, when the
    /// reconciler deletes ([`Reconciler::with_zoom_delete`]).
    pub zoom_deletes: Option<super::zoom_delete::ZoomDeleteReport>,
    /// Why deleting at Zoom could not run (the metadata store or the audit trail failed).
    pub zoom_delete_failure: Option<String>,
    /// Files disposed of past retention by this run (or refused by the store), for a
    /// tenant with retention rules.
    pub disposals: Vec<super::custody::Disposition>,
    /// Why disposal could not run.
    pub disposal_failure: Option<String>,
}

impl Reconciler {
    /// Lists the minutes around a call's start for recording `rid` (Zoom Phone lists
    /// recordings by call time) and, when Zoom gives it, plans and stores it and queues its
    /// download as the poller would (a "recording failed" CDR of it is upgraded). True when
    /// it was found.
    async fn fetch_late(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
        rid: &str,
        start: DateTime<Utc>,
        report: &mut DayReport,
    ) -> Result<bool, ReconcileError> {
        let window = Window {
            from: start - Duration::minutes(30),
            to: start + Duration::minutes(30),
        };
        let items: Vec<crate::domain::PhoneRecording> =
            all_pages(report, "GET /phone/recordings", |t| async move {
                zoom.list_phone_recordings(window, t.as_deref()).await
            })
            .await?;
        let Some(r) = items.iter().find(|r| r.id == rid) else {
            return Ok(false);
        };
        let plan =
            super::select::plan_phone_recording(tenant, r, self.ports.clock.now(), &self.location);
        if plan.files.is_empty() {
            // Not a configured user's line: nothing to fetch for them.
            return Ok(false);
        }
        super::intake::store(&self.ports, vec![plan])
            .await
            .map_err(|e| match e {
                super::intake::IntakeError::Meta(e) => ReconcileError::Meta(e),
                super::intake::IntakeError::Queue(e) => ReconcileError::Queue(e),
            })?;
        report.fetched_late += 1;
        info!(tenant = %tenant.id, recording = rid, "recording listed late by Zoom: fetched and queued");
        Ok(true)
    }

    async fn late(
        &self,
        tenant: &TenantConfig,
        now: DateTime<Utc>,
    ) -> Result<Vec<LateRecording>, MetaError> {
        Ok(self
            .ports
            .meta
            .get_memo(&tenant.id, LATE_MEMO, now)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    async fn save_late(
        &self,
        tenant: &TenantConfig,
        list: &[LateRecording],
        now: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        let value = serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
        self.ports
            .meta
            .put_memo(
                &tenant.id,
                LATE_MEMO,
                &value,
                now + Duration::days(LATE_RECORDING_DAYS + 1),
            )
            .await
    }

    async fn remember_late(
        &self,
        tenant: &TenantConfig,
        rid: &str,
        call_id: &str,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), MetaError> {
        let mut list = self.late(tenant, now).await?;
        if list.iter().any(|l| l.recording_id == rid) {
            return Ok(());
        }
        list.push(LateRecording {
            recording_id: rid.to_string(),
            call_id: call_id.to_string(),
            start,
            since: now,
        });
        self.save_late(tenant, &list, now).await
    }

    /// Looks again for the recordings earlier runs found in the call history but not in
    /// the listing; fetches those Zoom lists now. Returns how many were fetched.
    pub async fn recheck_late(
        &self,
        tenant: &TenantConfig,
        zoom: &dyn ZoomApi,
    ) -> Result<u64, ReconcileError> {
        let now = self.ports.clock.now();
        let list = self.late(tenant, now).await?;
        if list.is_empty() {
            return Ok(0);
        }
        let resolved = super::users::resolve(self.ports.meta.as_ref(), zoom, tenant, now).await?;
        let tenant = &resolved.tenant;
        let mut keep = Vec::new();
        let mut fetched = 0;
        let mut scratch = DayReport::default();
        for l in list {
            let known = self
                .ports
                .meta
                .get_file(&tenant.id, Source::Phone, &l.recording_id)
                .await?
                .is_some();
            if known {
                continue;
            }
            if self
                .fetch_late(tenant, zoom, &l.recording_id, l.start, &mut scratch)
                .await?
            {
                fetched += 1;
            } else if now - l.since < Duration::days(LATE_RECORDING_DAYS) {
                keep.push(l);
            } else {
                warn!(tenant = %tenant.id, recording = %l.recording_id, call = %l.call_id, "Zoom never listed this recording; its \"recording failed\" CDR stays");
            }
        }
        self.save_late(tenant, &keep, now).await?;
        Ok(fetched)
    }
}
