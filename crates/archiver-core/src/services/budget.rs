//! Zoom's daily budgets, respected by counting, not by luck.
//!
//! [`BudgetedZoom`] wraps a tenant's [`ZoomApi`] and counts every API call in the
//! [`QuotaLedger`] per Zoom account, rate-limit category and UTC day (keys `Light`,
//! `Medium`, `Heavy`, `Resource-intensive`, `phone:Medium`, `phone:Heavy`, `phone:Light`;
//! the deletes of `delete_at_zoom` too: meeting archive deletes and auto-delete tags in
//! `Light`, phone recording deletes in `phone:Light`).
//! Categories with a daily limit also draw on a pool shared the way Zoom shares it:
//!
//! | pool            | categories                                | Zoom's limit (Business+)  |
//! |-----------------|-------------------------------------------|---------------------------|
//! | `pool:meetings` | `Heavy`, `Resource-intensive`             | 60,000 a day              |
//! | `pool:phone`    | `phone:Heavy`, `phone:Resource-intensive` | 30,000 a day              |
//!
//! This system may use `share` of each pool (default 80 %: other apps use the same
//! account). A call that would go over is not made: it fails at once with
//! [`ZoomError::RateLimited`] of kind [`BUDGET_KIND`] and a retry time of the next
//! 00:00 UTC, which the services treat like Zoom's own daily limit: the work is deferred
//! (a poll holds its watermark, a download task waits, a reconciliation day stays open),
//! never dropped. The ledger's conditional add is atomic, so any number of processes
//! (Lambda instances) sharing the ledger never overspend together.
//!
//! Corrections: a daily-limit 429 from Zoom marks the pool spent for the day; the
//! `X-RateLimit-Limit`/`X-RateLimit-Remaining` Zoom reports for a category raise the pool
//! to `limit − remaining` (the whole account's use, other apps included).

use crate::domain::{
    ArchiveMeeting, CallHistoryItem, CallPath, DashboardMeeting, MeetingParticipant,
    PhoneRecording, ZoomAnswer, ZoomUser,
};
use crate::ports::{
    ArchiveDateType, Clock, Download, Endpoint, Page, QuotaLedger, RetryHint, Window, ZoomApi,
    ZoomError,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use tracing::warn;

/// The `kind` of the [`ZoomError::RateLimited`] returned when this system's own daily
/// budget is spent (Zoom was not called).
pub const BUDGET_KIND: &str = "Daily-budget";

/// The daily limits and this system's share of them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Zoom's daily limit of Heavy + Resource-intensive Meetings-API calls.
    pub meetings_daily: u64,
    /// Zoom's daily limit of Heavy + Resource-intensive Phone-API calls.
    pub phone_daily: u64,
    /// The share of each limit this system may spend (0–1).
    pub share: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            meetings_daily: 60_000,
            phone_daily: 30_000,
            share: 0.8,
        }
    }
}

impl Budget {
    /// This system's limit for `pool` (`pool:meetings` or `pool:phone`).
    pub fn limit(&self, pool: &str) -> u64 {
        let daily = match pool {
            POOL_PHONE => self.phone_daily,
            _ => self.meetings_daily,
        };
        (daily as f64 * self.share.clamp(0.0, 1.0)).floor() as u64
    }
}

/// The pool of Meetings-API Heavy and Resource-intensive calls.
pub const POOL_MEETINGS: &str = "pool:meetings";
/// The pool of Phone-API Heavy and Resource-intensive calls.
pub const POOL_PHONE: &str = "pool:phone";

/// The pool a category draws on, if it has a daily limit.
pub fn pool_of(category: &str) -> Option<&'static str> {
    match category {
        "Heavy" | "Resource-intensive" => Some(POOL_MEETINGS),
        "phone:Heavy" | "phone:Resource-intensive" => Some(POOL_PHONE),
        _ => None,
    }
}

/// The next 00:00 UTC after `now`.
pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + Duration::days(1);
    DateTime::from_naive_utc_and_offset(tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default(), Utc)
}

/// A [`ZoomApi`] that counts its calls and keeps within the daily budget (module docs).
pub struct BudgetedZoom {
    inner: Arc<dyn ZoomApi>,
    ledger: Arc<dyn QuotaLedger>,
    account: String,
    budget: Budget,
    clock: Arc<dyn Clock>,
    tenant: Option<String>,
}

impl BudgetedZoom {
    /// Names the tenant in the `budget_deferrals` metric (else the account).
    pub fn for_tenant(mut self, tenant: &crate::domain::TenantId) -> Self {
        self.tenant = Some(tenant.to_string());
        self
    }

    /// Wraps `inner` (the client of Zoom account `account`).
    pub fn new(
        inner: Arc<dyn ZoomApi>,
        ledger: Arc<dyn QuotaLedger>,
        account: impl Into<String>,
        budget: Budget,
        clock: Arc<dyn Clock>,
    ) -> Self {
        BudgetedZoom {
            inner,
            ledger,
            account: account.into(),
            budget,
            clock,
            tenant: None,
        }
    }

    fn day(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// Counts one call of `category`; refuses it when its pool is spent. Ledger errors do
    /// not stop the call (Zoom's own limits still apply), they are logged.
    async fn admit(&self, category: &'static str) -> Result<(), ZoomError> {
        let day = self.day();
        if let Some(pool) = pool_of(category) {
            let limit = self.budget.limit(pool);
            match self
                .ledger
                .try_add(&self.account, pool, day, 1, Some(limit))
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => {
                    crate::metrics::budget_deferral(
                        self.tenant.as_deref().unwrap_or(&self.account),
                    );
                    return Err(ZoomError::RateLimited {
                        category: category.to_string(),
                        kind: BUDGET_KIND.to_string(),
                        retry_after: Some(RetryHint::At(next_midnight(self.clock.now()))),
                    });
                }
                Err(e) => {
                    warn!(error = %e, pool, "quota ledger unavailable; calling Zoom uncounted")
                }
            }
        }
        if let Err(e) = self
            .ledger
            .try_add(&self.account, category, day, 1, None)
            .await
        {
            warn!(error = %e, category, "quota ledger unavailable; call not counted");
        }
        Ok(())
    }

    /// Corrects the pool from Zoom's answer.
    async fn observe<T>(&self, category: &'static str, r: &Result<T, ZoomError>) {
        let Some(pool) = pool_of(category) else {
            return;
        };
        let day = self.day();
        let floor = match r {
            Err(ZoomError::RateLimited { kind, .. })
                if kind.eq_ignore_ascii_case("Daily-limit") =>
            {
                Some(self.budget.limit(pool))
            }
            _ => self
                .inner
                .daily_remaining(category)
                .map(|(limit, remaining)| limit.saturating_sub(remaining)),
        };
        if let Some(floor) = floor
            && let Err(e) = self.ledger.raise_to(&self.account, pool, day, floor).await
        {
            warn!(error = %e, pool, "could not correct the quota ledger");
        }
    }
}

macro_rules! counted {
    ($self:ident, $cat:expr, $call:expr) => {{
        $self.admit($cat).await?;
        let r = $call.await;
        $self.observe($cat, &r).await;
        r
    }};
}

#[async_trait]
impl ZoomApi for BudgetedZoom {
    async fn list_archived_meetings(
        &self,
        window: Window,
        date_type: ArchiveDateType,
        page_token: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError> {
        counted!(
            self,
            "Medium",
            self.inner
                .list_archived_meetings(window, date_type, page_token)
        )
    }

    async fn get_meeting_archive(&self, uuid: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
        counted!(self, "Light", self.inner.get_meeting_archive(uuid))
    }

    async fn list_phone_recordings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError> {
        counted!(
            self,
            "phone:Medium",
            self.inner.list_phone_recordings(window, page_token)
        )
    }

    async fn list_meeting_participants(
        &self,
        meeting_uuid: &str,
        page_token: Option<&str>,
    ) -> Result<Page<MeetingParticipant>, ZoomError> {
        counted!(
            self,
            "Heavy",
            self.inner
                .list_meeting_participants(meeting_uuid, page_token)
        )
    }

    async fn list_past_meetings(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<DashboardMeeting>, ZoomError> {
        counted!(
            self,
            "Resource-intensive",
            self.inner.list_past_meetings(window, page_token)
        )
    }

    async fn list_call_history(
        &self,
        window: Window,
        page_token: Option<&str>,
    ) -> Result<Page<CallHistoryItem>, ZoomError> {
        counted!(
            self,
            "phone:Heavy",
            self.inner.list_call_history(window, page_token)
        )
    }

    async fn get_user(&self, email: &str) -> Result<Option<ZoomUser>, ZoomError> {
        counted!(self, "Light", self.inner.get_user(email))
    }

    async fn get_call_path(&self, call_history_uuid: &str) -> Result<Option<CallPath>, ZoomError> {
        counted!(
            self,
            "phone:Light",
            self.inner.get_call_path(call_history_uuid)
        )
    }

    async fn delete_meeting_archive(&self, meeting_uuid: &str) -> Result<ZoomAnswer, ZoomError> {
        counted!(
            self,
            Endpoint::DeleteMeetingArchive.category(),
            self.inner.delete_meeting_archive(meeting_uuid)
        )
    }

    async fn set_archive_file_auto_delete(
        &self,
        file_id: &str,
        auto_delete: bool,
    ) -> Result<ZoomAnswer, ZoomError> {
        counted!(
            self,
            Endpoint::ArchiveFileAutoDelete.category(),
            self.inner
                .set_archive_file_auto_delete(file_id, auto_delete)
        )
    }

    async fn delete_phone_recording(&self, recording_id: &str) -> Result<ZoomAnswer, ZoomError> {
        counted!(
            self,
            Endpoint::DeletePhoneRecording.category(),
            self.inner.delete_phone_recording(recording_id)
        )
    }

    fn daily_remaining(&self, category: &str) -> Option<(u64, u64)> {
        self.inner.daily_remaining(category)
    }

    // The OAuth endpoint is not a rate-limited API: not counted.
    async fn token_scopes(&self) -> Result<Option<Vec<String>>, ZoomError> {
        self.inner.token_scopes().await
    }

    async fn probe(&self, endpoint: Endpoint, window: Window) -> Result<(), ZoomError> {
        if endpoint.is_write() {
            // Never called: nothing to count.
            return Err(crate::ports::never_probed(endpoint));
        }
        counted!(
            self,
            endpoint.category(),
            self.inner.probe(endpoint, window)
        )
    }

    // Downloads are not rate-limited API calls: not counted.
    async fn download(&self, url: &str) -> Result<Download, ZoomError> {
        self.inner.download(url).await
    }

    async fn download_from(&self, url: &str, offset: u64) -> Result<Download, ZoomError> {
        self.inner.download_from(url, offset).await
    }

    async fn download_parallel(
        &self,
        url: &str,
        size: u64,
        part: u64,
        streams: usize,
    ) -> Result<Download, ZoomError> {
        self.inner.download_parallel(url, size, part, streams).await
    }
}
