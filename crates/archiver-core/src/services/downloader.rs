//! The downloader: archive one file, exactly once, or say clearly why not.
//!
//! For one task: load the file record (of the task's tenant only), return at once if it
//! is already terminal, claim it with a lease (compare-and-set), adopt an object that a
//! crashed earlier attempt already stored, otherwise stream Zoom → [`VerifiedBody`] →
//! object store (create-only), record the outcome, and fill the CDRs that link the file.
//!
//! Outcomes: `Done` (archived, already archived, or gone at Zoom: terminal and reported),
//! `Retry { after }` (transient: rate limits honour Zoom's hint, other errors back off
//! exponentially), `DeadLetter { reason }` (permanent, or the attempt budget is spent; the
//! file is marked `failed` with the same reason). Nothing is dropped silently.
//!
//! Large files across invocations ([`Downloader::handle_until`]): with a deadline, the
//! object store may pause a multipart upload at a part boundary once the deadline has
//! passed. The checkpoint (upload id, parts, bytes, SHA-256 state) is stored on the file
//! record (`upload`), the file goes back to `pending` without counting an attempt, and the
//! task is retried at once (`Retry { after: 0 }`). The next attempt downloads from the
//! checkpoint's offset (`Range`; when Zoom serves the whole file instead, the bytes already
//! uploaded are skipped), resumes the hash and the upload, and the size check still covers
//! the whole file. An upload that vanished at the store (`UploadGone`) or any other failed
//! write drops the checkpoint: the next attempt starts over.
//!
//! Audit trail ([`Downloader::with_audit`]): each file archived adds a `create` entry to its
//! tenant's chain (the object key; its SHA-256 and size in `reason`). Best effort: an entry
//! that cannot be written is logged at warn level and counted
//! ([`Downloader::audit_failures`]), and the archived file stays archived. Failing the task
//! instead would delete nothing but would download the file again for no gain, and the
//! object's creation is proven elsewhere too: its record (key, SHA-256, time) is in the
//! metadata store and every object of a day is listed in that day's manifest.
//!
//! `encryption_fingerprint`: Zoom documents it as the file's SHA-256 fingerprint, but it is
//! not confirmed that it is the SHA-256 of the downloaded bytes. A mismatch is logged at
//! warn level and recorded (`fingerprint_match = false`), but does not reject the file:
//! refusing would risk archiving nothing at all if the two hashes differ by design
//! (docs/adr/0002-encryption-fingerprint.md).

use super::cdrs;
use super::{backoff, is_conflict};
use crate::domain::{ContentKind, FileRecord, FileState, Source};
use crate::ports::{
    AuditAction, AuditDraft, AuditLog, BlobError, BodyExpectations, BodyRejected, Delivery,
    IfShorter, MediaAnalyser, MetaError, ObjectInfo, ObjectMeta, Ports, PutProgress, RetryHint,
    UploadCheckpoint, VerifiedBody, ZoomApi, ZoomError, retry_on_conflict, skip_bytes,
};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::{Instrument, debug, info, info_span, warn};

/// Downloader settings.
#[derive(Clone, Debug)]
pub struct DownloadSettings {
    /// Identifies this worker in claims.
    pub worker_id: String,
    /// How long a claim lasts (longer than the longest download).
    pub lease: Duration,
    /// Download attempts before a file is declared failed (rate-limit waits do not count).
    pub max_attempts: u32,
    /// First retry delay.
    pub retry_base: Duration,
    /// Longest retry delay (rate-limit hints may be longer: a daily limit waits for 00:00 UTC).
    pub retry_max: Duration,
    /// Ranges fetched at once for a large file (1: one stream). Pays where Zoom's file host
    /// throttles each connection; memory grows by `parallel_streams × parallel_part`.
    pub parallel_streams: usize,
    /// Size of each range.
    pub parallel_part: u64,
    /// Files of at least this size (announced by Zoom) use parallel ranges.
    pub parallel_min_size: u64,
    /// How long transient trouble (Zoom 5xx, network, timeouts, 429s, a daily limit, our
    /// own stores) is retried before the file is failed for good, counted from its first
    /// transient failure.
    pub transient_horizon: Duration,
    /// The queue's redrive policy (`maxReceiveCount`): the downloader settles a task on its
    /// second-to-last delivery, so the queue never dead-letters one without a reason.
    pub max_receive_count: u32,
}

impl Default for DownloadSettings {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30 * 60),
            max_attempts: 6,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            parallel_streams: 1,
            parallel_part: 8 * 1024 * 1024,
            parallel_min_size: 64 * 1024 * 1024,
            transient_horizon: Duration::from_secs(24 * 3600),
            max_receive_count: crate::ports::MAX_RECEIVE_COUNT,
        }
    }
}

/// What to do with a task after handling it.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskOutcome {
    /// Finished (archived, already archived, or gone at Zoom); delete the task.
    Done(String),
    /// Try again after `after`.
    Retry {
        /// Delay before the next attempt.
        after: Duration,
        /// Why.
        reason: String,
    },
    /// Give up; move the task to the dead-letter queue with this reason.
    DeadLetter {
        /// Why.
        reason: String,
    },
}

/// Why an attempt did not store the file, by class: the class decides how long it is
/// retried (docs: RELIABILITY.md, "Retry horizons").
enum Failure {
    /// Deleted at Zoom (404): terminal, reported.
    Gone(String),
    /// Zoom or the network or our own stores failing (5xx, transport, timeout, 429, daily
    /// limit): retried with growing waits until the transient horizon, never spending the
    /// file's attempt budget.
    Transient {
        reason: String,
        hint: Option<RetryHint>,
    },
    /// What Zoom served is wrong (HTML or JSON instead of media, a size mismatch, not
    /// media): spends an attempt of the budget.
    Content(String),
    /// Retrying cannot help (refused by Zoom, a refused host, an object that differs).
    Permanent(String),
}

/// What a download attempt achieved.
enum Fetched {
    /// The object is stored (or was already).
    Stored(ObjectInfo),
    /// The upload paused at the deadline; continue from this checkpoint.
    Paused(UploadCheckpoint),
}

/// What the reason of a task settled before the queue's own redrive says (the file is
/// parked; the sweep sends a fresh task).
pub const PARKED_REASON: &str = "parked for the sweep to send a fresh task";

/// The reason given with the `Retry` of a paused upload.
pub const CONTINUE_REASON: &str = "continuing the upload in the next invocation";

/// Archives files named by download tasks.
#[derive(Clone)]
pub struct Downloader {
    ports: Ports,
    settings: DownloadSettings,
    analyser: Option<Arc<dyn MediaAnalyser>>,
    audit: Option<Arc<dyn AuditLog>>,
    /// Who the audit entries name (the process or function).
    actor: String,
    /// Audit entries that could not be written (shared by clones).
    audit_failures: Arc<AtomicU64>,
}

impl Downloader {
    /// A downloader over `ports`.
    pub fn new(ports: Ports, settings: DownloadSettings) -> Self {
        Self {
            ports,
            settings,
            analyser: None,
            audit: None,
            actor: String::new(),
            audit_failures: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records a `create` entry in `log` for every file archived, naming `actor` (the
    /// process or function, e.g. `aws-lambda:downloader:eu-west-1`). Best effort: see the
    /// module's documentation.
    pub fn with_audit(mut self, log: Arc<dyn AuditLog>, actor: impl Into<String>) -> Self {
        self.audit = Some(log);
        self.actor = actor.into();
        self
    }

    /// Audit entries this downloader (and its clones) could not write.
    pub fn audit_failures(&self) -> u64 {
        self.audit_failures.load(Ordering::Relaxed)
    }

    /// The `create` entry of an archived file (best effort).
    async fn audit_created(&self, rec: &FileRecord, sha256: &str, size: u64) {
        let Some(log) = &self.audit else {
            return;
        };
        let draft = AuditDraft {
            tenant: rec.tenant.clone(),
            at: self.ports.clock.now(),
            actor: self.actor.clone(),
            action: AuditAction::Create,
            objects: vec![rec.object_key.to_string()],
            reason: Some(format!(
                "archived {} file {}: sha256={sha256} size={size}",
                rec.source, rec.file_id
            )),
            result: "ok".into(),
        };
        if let Err(e) = super::audit::record(log.as_ref(), draft).await {
            self.audit_failures.fetch_add(1, Ordering::Relaxed);
            warn!(key = %rec.object_key, error = %e, "could not write the audit entry of an archived file (the file stays archived)");
        }
    }

    /// Measures every archived media file with `analyser` (read back from the object store
    /// once stored) and fills the CDRs' media fields from it.
    pub fn with_analyser(mut self, analyser: Arc<dyn MediaAnalyser>) -> Self {
        self.analyser = Some(analyser);
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &DownloadSettings {
        &self.settings
    }

    /// The time on the downloader's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }

    /// Handles one delivery of a download task; `zoom` must be the task's tenant's client.
    pub async fn handle(&self, delivery: &Delivery, zoom: &dyn ZoomApi) -> TaskOutcome {
        self.handle_until(delivery, zoom, None).await
    }

    /// Like [`Downloader::handle`], but a long upload pauses at the first part boundary
    /// after `deadline` (when the object store can pause): the checkpoint is kept on the
    /// file record and the outcome is `Retry { after: 0 }` with [`CONTINUE_REASON`]; the
    /// next delivery continues the upload where it stopped.
    pub async fn handle_until(
        &self,
        delivery: &Delivery,
        zoom: &dyn ZoomApi,
        deadline: Option<Instant>,
    ) -> TaskOutcome {
        let t = &delivery.task;
        let span = info_span!("download", tenant = %t.tenant, source = %t.source, file_id = %t.file_id, task_id = %t.task_id, delivery = delivery.receive_count);
        let started = Instant::now();
        // Task ids are UUIDv7: they carry the time the task was sent.
        if let Some(sent) = uuid::Uuid::parse_str(&t.task_id)
            .ok()
            .and_then(|u| u.get_timestamp())
        {
            let (secs, nanos) = sent.to_unix();
            let sent = secs as f64 + f64::from(nanos) / 1e9;
            let now = self.ports.clock.now();
            let now = now.timestamp() as f64 + f64::from(now.timestamp_subsec_nanos()) / 1e9;
            crate::metrics::queue_age(&t.tenant, (now - sent).max(0.0));
        }
        async move {
            let outcome = match self.handle_inner(delivery, zoom, deadline).await {
                Ok(o) => o,
                Err(e) if e.is_retryable() => {
                    let after = backoff(
                        delivery.receive_count,
                        self.settings.retry_base,
                        self.settings.retry_max,
                    );
                    warn!(error = %e, "metadata store error; will retry");
                    TaskOutcome::Retry {
                        after,
                        reason: format!("metadata store: {e}"),
                    }
                }
                Err(e) => {
                    // The claim must end: say why on the file (best effort: when even
                    // this fails, the lease expires and the sweep takes it up again).
                    let reason = format!("metadata store: {e}");
                    if let Err(e2) = self.fail_after_error(delivery, &reason).await {
                        warn!(error = %e2, "could not record the failure on the file; the sweep will find it");
                    }
                    TaskOutcome::DeadLetter { reason }
                }
            };
            let outcome = self.before_redrive(delivery, outcome).await;
            if matches!(&outcome, TaskOutcome::Done(d) if d == "archived") {
                crate::metrics::download_seconds(
                    &t.tenant,
                    t.source,
                    started.elapsed().as_secs_f64(),
                );
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// A retry on the second-to-last delivery the queue allows would let the queue's own
    /// redrive dead-letter the task without a reason: the file is parked instead
    /// (`failed`, transient, with the reason) and the task dead-lettered with it; the sweep
    /// gives it a fresh task. A file another worker holds is left to that worker.
    async fn before_redrive(&self, delivery: &Delivery, outcome: TaskOutcome) -> TaskOutcome {
        let max = self.settings.max_receive_count;
        let TaskOutcome::Retry { reason, .. } = &outcome else {
            return outcome;
        };
        if max == 0 || delivery.receive_count + 1 < max {
            return outcome;
        }
        let reason = format!(
            "{reason} (delivery {} of the queue's {max}: {PARKED_REASON})",
            delivery.receive_count
        );
        let t = &delivery.task;
        let meta = self.ports.meta.as_ref();
        let now = self.ports.clock.now();
        let me = format!("{}/{}", self.settings.worker_id, t.task_id);
        let parked = retry_on_conflict(|| {
            let reason = &reason;
            let me = &me;
            async move {
                let Some(mut rec) = meta.get_file(&t.tenant, t.source, &t.file_id).await? else {
                    return Ok(false);
                };
                match &rec.state {
                    FileState::Pending => {}
                    FileState::Downloading { owner, lease_until }
                        if owner == me || *lease_until <= now => {}
                    _ => return Ok(false),
                }
                rec.state = FileState::Failed {
                    reason: reason.clone(),
                    at: now,
                    transient: true,
                };
                rec.updated_at = now;
                meta.update_file(&rec).await.map(|_| true)
            }
        })
        .await;
        match parked {
            Ok(true) => warn!(%reason, "task settled before the queue's redrive"),
            Ok(false) => {
                debug!("another worker holds the file; only this delivery is dead-lettered")
            }
            Err(e) => warn!(error = %e, "could not park the file; the sweep will find it"),
        }
        TaskOutcome::DeadLetter { reason }
    }

    /// Best effort after a non-retryable metadata error: the file, if not yet terminal, is
    /// failed with the reason (without its upload checkpoint, which may be what no longer
    /// fits the store), and its CDRs show it.
    async fn fail_after_error(&self, delivery: &Delivery, reason: &str) -> Result<(), MetaError> {
        let t = &delivery.task;
        let meta = self.ports.meta.as_ref();
        let now = self.ports.clock.now();
        let Some(mut rec) = meta.get_file(&t.tenant, t.source, &t.file_id).await? else {
            return Ok(());
        };
        if rec.state.is_terminal() {
            return Ok(());
        }
        rec.upload = None;
        rec.state = FileState::Failed {
            reason: reason.to_string(),
            at: now,
            transient: false,
        };
        rec.updated_at = now;
        let rec = meta.update_file(&rec).await?;
        cdrs::sync_file(meta, &rec, now).await
    }

    async fn handle_inner(
        &self,
        delivery: &Delivery,
        zoom: &dyn ZoomApi,
        deadline: Option<Instant>,
    ) -> Result<TaskOutcome, MetaError> {
        let t = &delivery.task;
        let meta = self.ports.meta.as_ref();
        let now = self.ports.clock.now();
        let Some(mut rec) = meta.get_file(&t.tenant, t.source, &t.file_id).await? else {
            return Ok(TaskOutcome::DeadLetter {
                reason: format!(
                    "no file {}/{}/{} is known to the archive",
                    t.tenant, t.source, t.file_id
                ),
            });
        };
        if rec.tenant != t.tenant || !rec.object_key.belongs_to(&t.tenant) {
            return Ok(TaskOutcome::DeadLetter {
                reason: format!("file {} does not belong to tenant {}", t.file_id, t.tenant),
            });
        }
        if let Some(why) = &rec.out_of_scope
            && !rec.state.is_terminal()
        {
            // Selected by an earlier rule that the configuration does not ask for: never
            // downloaded (what a user was not configured for is not ours to copy).
            return Ok(TaskOutcome::Done(format!("out of scope: {why}")));
        }
        let me = format!("{}/{}", self.settings.worker_id, t.task_id);
        match &rec.state {
            FileState::Archived { .. } => {
                // A kill between storing and measuring: the measurement is redone, never
                // the download.
                if rec.media.is_none()
                    && rec.content_kind.is_media()
                    && let Some(facts) = self.measure(&rec).await
                {
                    rec = self.record_facts(rec, facts).await?;
                }
                cdrs::sync_file(meta, &rec, now).await?;
                return Ok(TaskOutcome::Done("already archived".into()));
            }
            FileState::Gone { .. } | FileState::Failed { .. } => {
                cdrs::sync_file(meta, &rec, now).await?;
                return Ok(TaskOutcome::Done(format!("already {}", rec.state.name())));
            }
            FileState::Downloading { owner, lease_until } if *lease_until > now && *owner != me => {
                let after = (*lease_until - now)
                    .to_std()
                    .unwrap_or_default()
                    .max(Duration::from_secs(1));
                return Ok(TaskOutcome::Retry {
                    after,
                    reason: "claimed by another worker".into(),
                });
            }
            _ => {}
        }
        if let Some(nb) = rec.not_before
            && nb > now
        {
            // A wait longer than one visibility step (a daily limit until 00:00 UTC):
            // armed again, Zoom not asked.
            return Ok(TaskOutcome::Retry {
                after: (nb - now).to_std().unwrap_or_default(),
                reason: format!("waiting until {nb}"),
            });
        }
        // Claim.
        let lease_until = now
            + chrono::Duration::from_std(self.settings.lease)
                .unwrap_or(chrono::Duration::minutes(30));
        rec.state = FileState::Downloading {
            owner: me,
            lease_until,
        };
        rec.attempts += 1;
        rec.next_due = Some(lease_until);
        rec.updated_at = now;
        rec = match meta.update_file(&rec).await {
            Ok(r) => r,
            Err(e) if is_conflict(&e) => {
                return Ok(TaskOutcome::Retry {
                    after: Duration::from_secs(1),
                    reason: "file changed while claiming".into(),
                });
            }
            Err(e) => return Err(e),
        };
        let attempt = rec.attempts;
        match self.fetch_and_store(&mut rec, zoom, deadline).await {
            Ok(Fetched::Paused(cp)) => {
                let (bytes, parts) = (cp.bytes, cp.parts.len());
                let now = self.ports.clock.now();
                self.release(rec, false, Some(cp), None, now).await?;
                info!(
                    bytes,
                    parts, "upload paused at the deadline; continuing in the next invocation"
                );
                Ok(TaskOutcome::Retry {
                    after: Duration::ZERO,
                    reason: CONTINUE_REASON.into(),
                })
            }
            Ok(Fetched::Stored(info)) => {
                let fingerprint_match = rec
                    .fingerprint
                    .as_ref()
                    .map(|f| info.sha256.as_deref() == Some(f.as_str()));
                if fingerprint_match == Some(false) {
                    warn!(
                        expected = rec.fingerprint.as_deref().unwrap_or(""),
                        actual = info.sha256.as_deref().unwrap_or(""),
                        "SHA-256 differs from Zoom's encryption_fingerprint (archived anyway, recorded)"
                    );
                }
                let state = FileState::Archived {
                    size: info.size,
                    sha256: info.sha256.clone().unwrap_or_default(),
                    content_type: None,
                    archived_at: self.ports.clock.now(),
                    fingerprint_match,
                };
                // The state first: a kill during the measurement loses no download.
                let mut rec = self.finish(rec, state).await?;
                // A hold placed before the file was stored reaches its object now.
                if !rec.holds.is_empty()
                    && let Err(e) = self.ports.blobs.set_legal_hold(&rec.object_key, true).await
                {
                    // Retried by the next delivery? The file is archived already; the hold
                    // is in its record, which dispose respects: say so loudly.
                    warn!(error = %e, key = %rec.object_key, holds = ?rec.holds, "could not set the store's legal hold on a held file; `hold add` again sets it");
                }
                self.audit_created(&rec, info.sha256.as_deref().unwrap_or(""), info.size)
                    .await;
                cdrs::sync_file(meta, &rec, self.ports.clock.now()).await?;
                self.index_text(&rec).await;
                if rec.media.is_none()
                    && let Some(facts) = self.measure(&rec).await
                {
                    rec = self.record_facts(rec, facts).await?;
                    cdrs::sync_file(meta, &rec, self.ports.clock.now()).await?;
                }
                if rec.source == Source::Meetings && rec.content_kind == ContentKind::M4a {
                    cdrs::update_talkover(
                        meta,
                        &rec.tenant,
                        &rec.conversation_id,
                        self.ports.clock.now(),
                    )
                    .await?;
                }
                info!(key = %rec.object_key, size = info.size, attempt, "archived");
                crate::metrics::file_archived(&rec.tenant, rec.source, info.size);
                Ok(TaskOutcome::Done("archived".into()))
            }
            Err(Failure::Gone(reason)) => {
                warn!(%reason, "file is gone at Zoom");
                let rec = self
                    .finish(
                        rec,
                        FileState::Gone {
                            reason: reason.clone(),
                            at: self.ports.clock.now(),
                        },
                    )
                    .await?;
                cdrs::sync_file(meta, &rec, self.ports.clock.now()).await?;
                crate::metrics::file_gone(&rec.tenant, rec.source);
                Ok(TaskOutcome::Done(format!("gone: {reason}")))
            }
            Err(Failure::Permanent(reason)) => self.fail(rec, reason).await,
            Err(Failure::Content(reason)) => {
                if attempt >= self.settings.max_attempts {
                    return self
                        .fail(rec, format!("gave up after {attempt} attempts: {reason}"))
                        .await;
                }
                let now = self.ports.clock.now();
                let after = backoff(attempt, self.settings.retry_base, self.settings.retry_max);
                warn!(%reason, retry_in = ?after, attempt, "Zoom served something else than the file; will retry");
                self.release(rec, true, None, Some(now + after), now)
                    .await?;
                Ok(TaskOutcome::Retry { after, reason })
            }
            Err(Failure::Transient { reason, hint }) => {
                let now = self.ports.clock.now();
                let since = rec.transient_since.unwrap_or(now);
                let horizon = chrono::Duration::from_std(self.settings.transient_horizon)
                    .unwrap_or(chrono::Duration::hours(24));
                if now - since >= horizon {
                    return self
                        .fail(
                            rec,
                            format!(
                                "gave up after {} of transient errors since {since}: {reason}",
                                humantime::format_duration(self.settings.transient_horizon)
                            ),
                        )
                        .await;
                }
                // Waits grow with the deliveries (not with how busy the queue is).
                let after = match hint {
                    Some(h) => h.wait_from(now) + Duration::from_millis(fastrand::u64(0..250)),
                    None => backoff(
                        delivery.receive_count,
                        self.settings.retry_base,
                        self.settings.retry_max,
                    ),
                };
                warn!(%reason, retry_in = ?after, since = %since, "transient failure; will retry");
                rec.transient_since = Some(since);
                self.release(rec, false, None, Some(now + after), now)
                    .await?;
                Ok(TaskOutcome::Retry { after, reason })
            }
        }
    }

    /// Gives a claimed file back (`pending`), retried on conflict: an attempt that did not
    /// count is given back to the budget (`uncount`), a paused upload's checkpoint is kept
    /// (`checkpoint`), and the task waits until `not_before`. A file that another worker
    /// took over or finished meanwhile is left as it is.
    async fn release(
        &self,
        rec: FileRecord,
        counts: bool,
        checkpoint: Option<UploadCheckpoint>,
        not_before: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), MetaError> {
        let meta = self.ports.meta.as_ref();
        let mine = rec.state.clone();
        let key = (rec.tenant.clone(), rec.source, rec.file_id.clone());
        let first = std::sync::Mutex::new(Some(rec));
        let (first, mine, checkpoint, key) = (&first, &mine, &checkpoint, &key);
        let released = retry_on_conflict(|| async move {
            let claimed = first.lock().expect("not poisoned").take();
            let mut r = match claimed {
                Some(r) => r,
                // Lost a race (a duplicate delivery's read, a sync): read it again; the
                // claim, if still ours, is released.
                None => match meta.get_file(&key.0, key.1, &key.2).await? {
                    Some(cur) => cur,
                    None => return Ok(false),
                },
            };
            if r.state != *mine {
                return Ok(false);
            }
            r.state = FileState::Pending;
            if !counts {
                r.attempts = r.attempts.saturating_sub(1);
            }
            if checkpoint.is_some() {
                r.upload = checkpoint.clone();
            }
            r.not_before = not_before;
            r.next_due = Some(not_before.unwrap_or(now));
            r.updated_at = now;
            meta.update_file(&r).await.map(|_| true)
        })
        .await;
        match released {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => {
                warn!(error = %e, "could not release the claim (it expires; the next delivery decides)");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn fail(&self, rec: FileRecord, reason: String) -> Result<TaskOutcome, MetaError> {
        warn!(%reason, "file failed");
        let rec = self
            .finish(
                rec,
                FileState::Failed {
                    reason: reason.clone(),
                    at: self.ports.clock.now(),
                    transient: false,
                },
            )
            .await?;
        cdrs::sync_file(self.ports.meta.as_ref(), &rec, self.ports.clock.now()).await?;
        crate::metrics::file_failed(&rec.tenant, rec.source);
        Ok(TaskOutcome::DeadLetter { reason })
    }

    /// Measures an archived media file (read back from the object store), with Zoom's
    /// announced length checked, and stores its waveform peaks sidecar from the same
    /// decode pass. `None` without an analyser or for documents.
    async fn measure(&self, rec: &FileRecord) -> Option<crate::domain::MediaFacts> {
        let analyser = self.analyser.as_ref()?;
        if !rec.content_kind.is_media() {
            return None;
        }
        let FileState::Archived { size, .. } = rec.state else {
            return None;
        };
        let (mut facts, peaks) = analyser
            .analyse_with_peaks(
                self.ports.blobs.clone(),
                &rec.object_key,
                rec.content_kind,
                size,
            )
            .await;
        if let Some(peaks) = peaks {
            // Derived data beside the object, from the same decode pass: a failure to
            // store it costs the review UI one decode later (on demand), not the archive.
            let meta = ObjectMeta {
                tenant: rec.tenant.clone(),
                source: rec.source,
                conversation_id: rec.conversation_id.clone(),
                file_id: rec.file_id.clone(),
                content_type: None,
                retain_until: rec.retention.as_ref().map(|r| r.until),
            };
            if let Err(e) =
                super::peaks::store(self.ports.blobs.as_ref(), &rec.object_key, &meta, &peaks).await
            {
                warn!(error = %e, key = %rec.object_key, "could not store the waveform peaks (computed again on demand)");
            }
        }
        if let Some(expected) = rec.expected_duration_secs {
            facts.check_length(expected);
        }
        if let Some(e) = &facts.error {
            warn!(error = %e, key = %rec.object_key, "media analysis found a problem (archived anyway, recorded in the CDR)");
        }
        Some(facts)
    }

    /// Indexes the text of an archived document (transcript, captions, chat) for
    /// free-text search, read back from the object store: its first
    /// [`TEXT_INDEX_LIMIT`](crate::domain::TEXT_INDEX_LIMIT) bytes. Only for stores that
    /// keep text ([`MetaStore::indexes_text`](crate::ports::MetaStore::indexes_text)). Best
    /// effort, as the audit entry: the file stays archived when this fails (logged at warn
    /// level; search then misses its words).
    async fn index_text(&self, rec: &FileRecord) {
        if rec.content_kind.is_media() || !self.ports.meta.indexes_text() {
            return;
        }
        let read = async {
            let mut body = self
                .ports
                .blobs
                .get_slice(&rec.object_key, 0, crate::domain::TEXT_INDEX_LIMIT)
                .await
                .map_err(|e| e.to_string())?;
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                bytes.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(bytes)
        };
        let text = match read.await {
            Ok(bytes) => {
                crate::domain::indexable_text(&rec.file_type, rec.object_key.as_str(), &bytes)
            }
            Err(e) => {
                warn!(error = %e, key = %rec.object_key, "could not read the document back to index its text (not searchable by its words)");
                return;
            }
        };
        let Some(text) = text else { return };
        let doc = crate::domain::TextDoc {
            tenant: rec.tenant.clone(),
            source: rec.source,
            conversation_id: rec.conversation_id.clone(),
            file_id: rec.file_id.clone(),
            text,
        };
        if let Err(e) = self.ports.meta.index_text(&doc).await {
            warn!(error = %e, key = %rec.object_key, "could not index the document's text (not searchable by its words)");
        }
    }

    /// Stores an archived file's measurements (retried on conflict).
    async fn record_facts(
        &self,
        rec: FileRecord,
        facts: crate::domain::MediaFacts,
    ) -> Result<FileRecord, MetaError> {
        let meta = self.ports.meta.as_ref();
        let first = std::sync::Mutex::new(Some(rec.clone()));
        let (first, facts, rec) = (&first, &facts, &rec);
        retry_on_conflict(|| async move {
            let claimed = first.lock().expect("not poisoned").take();
            let mut r = match claimed {
                Some(r) => r,
                None => match meta.get_file(&rec.tenant, rec.source, &rec.file_id).await? {
                    Some(cur) => cur,
                    None => return Ok(rec.clone()),
                },
            };
            if r.media.is_some() {
                return Ok(r);
            }
            r.media = Some(facts.clone());
            r.updated_at = self.ports.clock.now();
            meta.update_file(&r).await
        })
        .await
    }

    /// Writes a terminal state (compare-and-set; a concurrent terminal state wins), and
    /// abandons a paused upload the record still holds.
    async fn finish(&self, mut rec: FileRecord, state: FileState) -> Result<FileRecord, MetaError> {
        let meta = self.ports.meta.as_ref();
        if let Some(cp) = rec.upload.take()
            && let Err(e) = self.ports.blobs.abort_upload(&rec.object_key, &cp).await
        {
            warn!(error = %e, "could not abort the paused upload (the store's lifecycle rule removes it)");
        }
        let media = rec.media.clone();
        let (tenant, source, file_id) = (rec.tenant.clone(), rec.source, rec.file_id.clone());
        // The first attempt writes the claimed record; a conflict re-reads it, and a terminal
        // state written meanwhile wins.
        let first = std::sync::Mutex::new(Some(rec));
        let (first, media, state, file_id, tenant) = (&first, &media, &state, &file_id, &tenant);
        retry_on_conflict(|| async move {
            let claimed = first.lock().expect("not poisoned").take();
            let mut r = match claimed {
                Some(r) => r,
                None => match meta.get_file(tenant, source, file_id).await? {
                    Some(cur) if cur.state.is_terminal() => return Ok(cur),
                    Some(cur) => cur,
                    None => {
                        return Err(MetaError::Conflict(format!("file {file_id} vanished")));
                    }
                },
            };
            r.state = state.clone();
            r.upload = None;
            r.transient_since = None;
            r.not_before = None;
            r.next_due = None;
            if r.media.is_none() {
                r.media = media.clone();
            }
            r.updated_at = self.ports.clock.now();
            meta.update_file(&r).await
        })
        .await
    }

    async fn adopt_existing(&self, rec: &FileRecord) -> Result<Option<ObjectInfo>, Failure> {
        let blobs = &self.ports.blobs;
        let info = match blobs.head(&rec.object_key).await {
            Ok(Some(i)) => i,
            Ok(None) => return Ok(None),
            Err(e) => return Err(blob_failure(e)),
        };
        if let Some(expected) = rec.expected_size
            && expected != info.size
        {
            return Err(Failure::Permanent(format!(
                "an object of {} bytes already exists at {} where Zoom announced {expected}",
                info.size, rec.object_key
            )));
        }
        if info.sha256.is_some() {
            return Ok(Some(info));
        }
        // The store kept no digest: hash what it holds.
        let mut stream = blobs.get(&rec.object_key).await.map_err(blob_failure)?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Failure::Transient {
                reason: format!("reading back {}: {e}", rec.object_key),
                hint: None,
            })?;
            size += chunk.len() as u64;
            h.update(&chunk);
        }
        Ok(Some(ObjectInfo {
            key: info.key,
            size,
            sha256: Some(hex::encode(h.finalize())),
        }))
    }

    /// Downloads and stores the file, continuing `rec.upload` when there is one. Clears
    /// `rec.upload` when the store dropped the upload (completed or failed).
    async fn fetch_and_store(
        &self,
        rec: &mut FileRecord,
        zoom: &dyn ZoomApi,
        deadline: Option<Instant>,
    ) -> Result<Fetched, Failure> {
        if let Some(info) = self.adopt_existing(rec).await? {
            info!(key = %rec.object_key, "object already stored by an earlier attempt; adopting it");
            return Ok(Fetched::Stored(info));
        }
        let resume = rec.upload.clone();
        let from = resume.as_ref().map_or(0, |cp| cp.bytes);
        let st = &self.settings;
        let download = if from > 0 {
            zoom.download_from(&rec.download_url, from).await
        } else if let Some(size) = rec
            .expected_size
            .filter(|s| st.parallel_streams > 1 && *s >= st.parallel_min_size)
        {
            zoom.download_parallel(
                &rec.download_url,
                size,
                st.parallel_part,
                st.parallel_streams,
            )
            .await
        } else {
            zoom.download(&rec.download_url).await
        }
        .map_err(zoom_failure)?;
        if download.offset != 0 && download.offset != from {
            return Err(Failure::Content(format!(
                "Zoom served the file from byte {} where {from} was asked",
                download.offset
            )));
        }
        if rec.content_kind.is_media()
            && let Some(ct) = download.content_type.as_deref()
        {
            let ct = ct.to_ascii_lowercase();
            if ct.starts_with("text/html") || ct.starts_with("application/json") {
                return Err(Failure::Content(format!(
                    "Zoom served {ct} where {:?} media was expected",
                    rec.content_kind
                )));
            }
        }
        if let (Some(expected), Some(len)) = (rec.expected_size, download.content_length)
            && expected != download.offset + len
        {
            return Err(Failure::Content(format!(
                "Zoom announced {expected} bytes but serves Content-Length {len} from byte {}",
                download.offset
            )));
        }
        let expect = BodyExpectations {
            kind: rec.content_kind,
            size: rec.expected_size,
        };
        let body = match &resume {
            Some(cp) => {
                let stream = if download.offset == 0 && cp.bytes > 0 {
                    debug!(
                        skip = cp.bytes,
                        "Zoom served the whole file; skipping what is uploaded"
                    );
                    // A server that ignored `Range` served the whole file.
                    skip_bytes(download.body, cp.bytes, IfShorter::Fail)
                } else {
                    download.body
                };
                VerifiedBody::resume(stream, expect, cp.bytes, cp.hash.clone())
            }
            None => VerifiedBody::new(download.body, expect),
        };
        let meta = ObjectMeta {
            tenant: rec.tenant.clone(),
            source: rec.source,
            conversation_id: rec.conversation_id.clone(),
            file_id: rec.file_id.clone(),
            content_type: download.content_type.clone(),
            retain_until: rec.retention.as_ref().map(|r| r.until),
        };
        let resumed = resume.is_some();
        let result = self
            .ports
            .blobs
            .put_stream_until(&rec.object_key, &meta, body, resume, deadline)
            .await;
        if !matches!(result, Ok(PutProgress::Paused(_))) {
            // Completed, or failed (the store aborted the upload): the checkpoint is spent.
            rec.upload = None;
        }
        match result {
            Ok(PutProgress::Complete(info)) => Ok(Fetched::Stored(info)),
            Ok(PutProgress::Paused(cp)) => Ok(Fetched::Paused(cp)),
            Err(BlobError::UploadGone { .. }) => Err(Failure::Transient {
                reason: "the paused upload no longer exists at the object store; starting over"
                    .into(),
                hint: None,
            }),
            Err(e) if resumed && !e.is_retryable() && !matches!(e, BlobError::AlreadyExists(_)) => {
                Err(Failure::Transient {
                    reason: format!("resuming the upload failed; starting over: {e}"),
                    hint: None,
                })
            }
            Err(BlobError::AlreadyExists(_)) => match self.adopt_existing(rec).await? {
                Some(info) => Ok(Fetched::Stored(info)),
                None => Err(Failure::Transient {
                    reason: "object vanished after AlreadyExists".into(),
                    hint: None,
                }),
            },
            Err(e) => Err(blob_failure(e)),
        }
    }
}

fn zoom_failure(e: ZoomError) -> Failure {
    match e {
        ZoomError::NotFound(m) => Failure::Gone(format!("deleted at Zoom (404): {m}")),
        ZoomError::RateLimited { retry_after, .. } => Failure::Transient {
            reason: e.to_string(),
            hint: retry_after,
        },
        e if e.is_retryable() => Failure::Transient {
            reason: e.to_string(),
            hint: None,
        },
        e => Failure::Permanent(e.to_string()),
    }
}

fn blob_failure(e: BlobError) -> Failure {
    match &e {
        BlobError::Body { source, .. } => match BodyRejected::from_io(source) {
            // What Zoom served is not the file.
            Some(r) => Failure::Content(format!("download rejected: {r}")),
            // The connection broke or stalled: the network, not the file.
            None => Failure::Transient {
                reason: format!("download interrupted: {source}"),
                hint: None,
            },
        },
        // Our own storage failing (throttling, an outage) says nothing about the file.
        e if e.is_retryable() => Failure::Transient {
            reason: e.to_string(),
            hint: None,
        },
        e => Failure::Permanent(e.to_string()),
    }
}
