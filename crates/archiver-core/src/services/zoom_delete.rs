//! Delete at Zoom, opt-in (`delete_at_zoom`, off by default): what the archive has sealed
//! and verified no longer needs to stay at Zoom.
//!
//! **The guard** ([`guard`]): a file of a source whose mode is not `off` is deleted at Zoom
//! only when every one of these holds; any one failing means Zoom is never called for it
//! (the report says which):
//!
//! 1. no legal hold holds it, it was not disposed of, and it is not deleted at Zoom yet;
//! 2. it is archived, and its conversation day (the day its object key is dated with) is
//!    sealed: `{tenant}/manifests/{day}.json` exists;
//! 3. the day's manifests list its object, with the SHA-256 and size of its record, in a
//!    part whose Merkle root matches its lines and whose signature verifies against a
//!    trusted public key (the sealing key, and the keys a rotation retired). Without a
//!    trusted key nothing is deleted;
//! 4. its last recorded fixity check ([`crate::domain::FileRecord::last_verified`], written
//!    by `verify` with `record`) found it intact, and was made after that manifest part.
//!
//! **What is deleted**:
//!
//! - phone `after_seal`: `DELETE /phone/recordings/{recordingId}`, per recording;
//! - meetings `after_seal`: `DELETE /past_meetings/{meetingUUID}/archive_files`, which
//!   deletes every archive file of the meeting. So a meeting is deleted only when every
//!   file of it this archive knows passes the guard, and every archive file Zoom lists for
//!   it (`GET /past_meetings/{uuid}/archive_files`, asked first) is one of them: a
//!   participant's file that was never archived here keeps the whole meeting at Zoom;
//! - meetings `auto_delete_after_seal`: `PATCH /archive_files/{fileId}`
//!   `{"auto_delete": true}`, per file (Zoom deletes it by its own schedule).
//!
//! **Records**: each file deleted gets [`crate::domain::FileRecord::deleted_at_zoom`] (when,
//! the request, Zoom's answer) and one `delete` entry in the audit trail, naming its object
//! key, why it was deletable, the request and Zoom's answer (status, code, message), actor
//! the process. A 404 means it was gone at Zoom already: recorded the same way, never asked
//! again. Any other error of Zoom is recorded in the audit trail and the file is tried again
//! by the next run; errors that concern every file (the app lacks the scope, the token is
//! refused, a rate limit, this system's daily budget) stop the run, the rest deferred.
//!
//! Every call goes through the tenant's client as given: the budgeted client counts them
//! (`Light`; `phone:Light` for phone recordings). A dry run calls Zoom for nothing.

use super::audit::record;
use super::budget::BUDGET_KIND;
use crate::domain::manifest::{Line, ManifestDoc, key_day, parse_manifest_key};
use crate::domain::{
    DeleteMode, FileRecord, FileState, ObjectKey, Source, TenantConfig, TenantId, ZoomAnswer,
    ZoomDeletion,
};
use crate::ports::{
    AuditAction, AuditDraft, AuditLog, BlobError, FileQuery, MetaError, Ports, PublicKey, ZoomApi,
    ZoomError, retry_on_conflict, signed_message, verify_signature,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Who deletes, where it is recorded, and which keys a manifest must be signed by.
#[derive(Clone)]
pub struct ZoomDeleter {
    /// Where the `delete` entries go.
    pub audit: Arc<dyn AuditLog>,
    /// Who deletes (`aws-lambda:reconciler:eu-west-1`, `alice@host`).
    pub actor: String,
    /// The public keys trusted to have signed the manifests (the sealing key, keys retired
    /// by a rotation). Without any, nothing is deleted.
    pub keys: Vec<PublicKey>,
}

/// How the sealed manifests of a file's day list its object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seal {
    /// The day has no manifest.
    NotSealed,
    /// The day is sealed, and no part lists the object.
    NotListed,
    /// The manifests of the day could not be read.
    Unreadable(String),
    /// The latest part listing the object.
    Listed {
        /// Its key.
        manifest: String,
        /// When it was made (the seal).
        at: DateTime<Utc>,
        /// The SHA-256 it lists.
        sha256: String,
        /// The size it lists.
        size: u64,
        /// What is wrong with the part (its root, its signature), if anything.
        problem: Option<String>,
    },
}

/// Whether `f` may be deleted at Zoom, given how its day's manifests list it (see the
/// module docs); the error says why not.
pub fn guard(f: &FileRecord, seal: &Seal) -> Result<(), String> {
    if let Some(d) = &f.deleted_at_zoom {
        return Err(format!("deleted at Zoom already, at {}", d.at));
    }
    if !f.holds.is_empty() {
        return Err(format!("under legal hold (matter {})", f.holds.join(", ")));
    }
    if let Some(why) = &f.disposed {
        return Err(format!("disposed of: {why}"));
    }
    let FileState::Archived { sha256, size, .. } = &f.state else {
        return Err(format!("not archived ({})", f.state.name()));
    };
    let day = key_day(f.object_key.as_str())
        .map_or_else(|| "its day".to_string(), |d| format!("day {d}"));
    let sealed_at = match seal {
        Seal::NotSealed => return Err(format!("{day} is not sealed")),
        Seal::NotListed => {
            return Err(format!(
                "not listed in the sealed manifests of {day}: sealing again adds it"
            ));
        }
        Seal::Unreadable(why) => return Err(format!("the manifests of {day}: {why}")),
        Seal::Listed {
            manifest, problem, ..
        } if problem.is_some() => {
            return Err(format!(
                "{manifest}: {}",
                problem.as_deref().unwrap_or_default()
            ));
        }
        Seal::Listed {
            manifest,
            at,
            sha256: listed,
            size: listed_size,
            ..
        } => {
            if !listed.eq_ignore_ascii_case(sha256) || listed_size != size {
                return Err(format!(
                    "{manifest} lists sha256 {listed} ({listed_size} bytes), its record says {sha256} ({size} bytes)"
                ));
            }
            *at
        }
    };
    match &f.last_verified {
        None => Err("never verified: run `zoom-archiver verify`".into()),
        Some(v) if !v.intact => Err(format!(
            "the last verify, at {}, found its object not intact",
            v.at
        )),
        Some(v) if v.at <= sealed_at => Err(format!(
            "last verified at {}, before its day was sealed at {sealed_at}: run `zoom-archiver verify`",
            v.at
        )),
        Some(_) => Ok(()),
    }
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Deleted at Zoom (or tagged for Zoom's auto-delete).
    Deleted,
    /// Zoom did not know it any more (404): recorded as deleted.
    Gone,
    /// A dry run: it would be deleted.
    WouldDelete,
    /// A guard failed: Zoom was not called for it.
    Refused,
    /// Zoom refused or failed: recorded, tried again next run.
    Failed,
    /// Not tried: the run stopped before it (tried again next run).
    Deferred,
}

/// One file's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The source.
    pub source: Source,
    /// Zoom's file id.
    pub file_id: String,
    /// The meeting UUID or call id.
    pub conversation_id: String,
    /// The object's key.
    pub key: String,
    /// What happened.
    pub status: Status,
    /// Why, or Zoom's answer.
    pub detail: String,
}

/// What one run did for a tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ZoomDeleteReport {
    /// The tenant.
    pub tenant: String,
    /// Files looked at (of the sources that delete, not deleted at Zoom yet), by outcome.
    pub outcomes: Vec<Outcome>,
    /// Files deleted at Zoom by earlier runs.
    pub already_deleted: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

impl ZoomDeleteReport {
    /// Outcomes with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }

    /// The outcome of a file.
    pub fn of(&self, file_id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.file_id == file_id)
    }
}

/// Reads an object whole (manifests are small).
async fn read_all(ports: &Ports, key: &ObjectKey) -> Result<Vec<u8>, BlobError> {
    let body = ports.blobs.get(key).await?;
    body.try_fold(Vec::new(), |mut acc, c| async move {
        acc.extend_from_slice(&c);
        Ok(acc)
    })
    .await
    .map_err(|e| BlobError::Backend {
        key: key.to_string(),
        source: e.into(),
        retryable: true,
    })
}

/// What is wrong with a stored manifest part, if anything: not this tenant's or day's, a
/// root that is not its lines', a signature that does not verify against one of `keys`.
fn part_problem(
    doc: &ManifestDoc,
    tenant: &TenantId,
    day: NaiveDate,
    keys: &[PublicKey],
) -> Option<String> {
    if doc.tenant != tenant.as_str() || doc.day != day {
        return Some(format!(
            "it says tenant {} day {}, not {tenant} {day}",
            doc.tenant, doc.day
        ));
    }
    if doc.computed_root() != doc.root {
        return Some("its Merkle root is not its lines' root".into());
    }
    match keys.iter().find(|k| k.key_id == doc.signature.key_id) {
        None => Some(format!(
            "signed by key {}, which is not a trusted public key",
            doc.signature.key_id
        )),
        Some(k) => verify_signature(k, &signed_message(&doc.root), &doc.signature)
            .err()
            .map(|e| format!("its signature does not verify: {e}")),
    }
}

/// The objects the manifests of `day` list (each from the latest part listing it), or
/// `None` when the day is not sealed.
async fn day_listing(
    ports: &Ports,
    tenant: &TenantId,
    day: NaiveDate,
    keys: &[PublicKey],
) -> Result<Option<HashMap<String, Seal>>, String> {
    let prefix = format!("{tenant}/manifests/{day}.");
    let parts: BTreeMap<u32, ObjectKey> = ports
        .blobs
        .list(&prefix)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|o| match parse_manifest_key(o.key.as_str()) {
            Some((d, p)) if d == day => Some((p, o.key)),
            _ => None,
        })
        .collect();
    if !parts.contains_key(&0) {
        return Ok(None);
    }
    let mut listed = HashMap::new();
    for key in parts.values() {
        let bytes = read_all(ports, key).await.map_err(|e| e.to_string())?;
        let doc: ManifestDoc =
            serde_json::from_slice(&bytes).map_err(|e| format!("{key} does not parse: {e}"))?;
        let problem = part_problem(&doc, tenant, day, keys);
        for l in &doc.lines {
            if let Ok(Line::Object {
                key: object,
                sha256,
                size,
                ..
            }) = Line::parse(l)
            {
                listed.insert(
                    object,
                    Seal::Listed {
                        manifest: key.to_string(),
                        at: doc.created_at,
                        sha256,
                        size,
                        problem: problem.clone(),
                    },
                );
            }
        }
    }
    Ok(Some(listed))
}

/// Why the run cannot go on after `e` (it concerns every file), if it cannot.
fn stops_the_run(e: &ZoomError) -> Option<String> {
    match e {
        ZoomError::RateLimited { kind, .. } if kind == BUDGET_KIND => Some(format!(
            "{e}: this system's daily budget is spent; the rest is deleted after 00:00 UTC"
        )),
        ZoomError::RateLimited { .. } => Some(format!("{e}; the rest is deleted next run")),
        ZoomError::Unauthorized(_) | ZoomError::Forbidden(_) | ZoomError::MissingScopes { .. } => {
            Some(format!(
                "{e}: the app may not delete at Zoom (see `zoom-archiver doctor`)"
            ))
        }
        _ => None,
    }
}

/// One run's state.
struct Run<'a> {
    ports: &'a Ports,
    deleter: &'a ZoomDeleter,
    tenant: &'a TenantConfig,
    now: DateTime<Utc>,
    report: ZoomDeleteReport,
    /// Why each eligible file is deletable (for its audit entry), by file id.
    why: HashMap<String, String>,
}

impl Run<'_> {
    fn push(&mut self, f: &FileRecord, status: Status, detail: impl Into<String>) {
        self.report.outcomes.push(Outcome {
            source: f.source,
            file_id: f.file_id.clone(),
            conversation_id: f.conversation_id.clone(),
            key: f.object_key.to_string(),
            status,
            detail: detail.into(),
        });
    }

    /// Records Zoom's answer to `request` for `files` (see the module docs). `Err` stops
    /// the run: the metadata store or the audit trail failed. Returns why the run stops,
    /// when Zoom's answer concerns every file.
    async fn settle(
        &mut self,
        files: &[&FileRecord],
        request: &str,
        verdict: &str,
        result: Result<ZoomAnswer, ZoomError>,
    ) -> Result<Option<String>, MetaError> {
        let (answer, status, stop) = match result {
            Ok(a) => (Some(a), Status::Deleted, None),
            Err(ZoomError::NotFound(m)) => {
                (Some(ZoomError::NotFound(m).answer()), Status::Gone, None)
            }
            Err(e) => {
                let stop = stops_the_run(&e);
                let status = if stop.is_some() {
                    Status::Deferred
                } else {
                    Status::Failed
                };
                let called =
                    !matches!(&e, ZoomError::RateLimited { kind, .. } if kind == BUDGET_KIND);
                if called {
                    for f in files {
                        self.audit(f, request, format!("failed: {}", answer_json(&e.answer())))
                            .await?;
                    }
                }
                for f in files {
                    let detail = if called {
                        format!("{request}: {}; tried again next run", e.answer())
                    } else {
                        format!("{request} not sent: {e}")
                    };
                    self.push(f, status, detail);
                }
                return Ok(stop);
            }
        };
        let answer = answer.unwrap_or(ZoomAnswer {
            status: 0,
            code: None,
            message: None,
        });
        let result = match status {
            Status::Gone => format!("already gone at Zoom: {}", answer_json(&answer)),
            _ => format!("{verdict}: {}", answer_json(&answer)),
        };
        for f in files {
            self.audit(f, request, result.clone()).await?;
            let deletion = ZoomDeletion {
                at: self.now,
                request: request.to_string(),
                answer: answer.clone(),
            };
            mark(self.ports, f, deletion).await?;
            self.push(f, status, format!("{request}: {answer}"));
        }
        Ok(stop)
    }

    async fn audit(&self, f: &FileRecord, request: &str, result: String) -> Result<(), MetaError> {
        let why = self.why.get(&f.file_id).cloned().unwrap_or_default();
        record(
            self.deleter.audit.as_ref(),
            AuditDraft {
                tenant: self.tenant.id.clone(),
                at: self.now,
                actor: self.deleter.actor.clone(),
                action: AuditAction::Delete,
                objects: vec![f.object_key.to_string()],
                reason: Some(format!(
                    "delete_at_zoom {}: {} file {} of {}; {why}; {request}",
                    self.tenant.delete_at_zoom.mode(f.source).as_str(),
                    f.source,
                    f.file_id,
                    f.conversation_id
                )),
                result,
            },
        )
        .await
        .map(drop)
    }
}

/// Zoom's answer as compact JSON (`{"status":204}`), as the audit entries carry it.
fn answer_json(a: &ZoomAnswer) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// Records the deletion on the file (compare-and-set, retried on conflict).
async fn mark(ports: &Ports, f: &FileRecord, deletion: ZoomDeletion) -> Result<(), MetaError> {
    let meta = ports.meta.as_ref();
    let deletion = &deletion;
    retry_on_conflict(|| async move {
        let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
            return Ok(());
        };
        cur.deleted_at_zoom = Some(deletion.clone());
        cur.updated_at = deletion.at;
        meta.update_file(&cur).await.map(drop)
    })
    .await
}

/// Deletes at Zoom what `tenant`'s configuration and the guard allow (see the module
/// docs). A tenant whose `delete_at_zoom` is off, or a deleter without trusted keys, gets
/// an empty report: nothing is read, Zoom is not called. With `dry_run`, says what it would do and calls Zoom for nothing.
///
/// `Err` only when the metadata store or the audit trail failed; Zoom's errors are in the
/// report.
pub async fn run(
    ports: &Ports,
    deleter: &ZoomDeleter,
    tenant: &TenantConfig,
    zoom: &dyn ZoomApi,
    dry_run: bool,
) -> Result<ZoomDeleteReport, MetaError> {
    let mut run = Run {
        ports,
        deleter,
        tenant,
        now: ports.clock.now(),
        report: ZoomDeleteReport {
            tenant: tenant.id.to_string(),
            ..ZoomDeleteReport::default()
        },
        why: HashMap::new(),
    };
    if tenant.delete_at_zoom.is_off() {
        return Ok(run.report);
    }
    if deleter.keys.is_empty() {
        run.report.stopped = Some(
            "no public key is trusted to check the manifests' signatures: nothing deleted".into(),
        );
        return Ok(run.report);
    }
    let files: Vec<FileRecord> = ports
        .meta
        .list_files(&FileQuery {
            tenant: Some(tenant.id.clone()),
            ..FileQuery::default()
        })
        .await?
        .into_iter()
        .filter(|f| tenant.delete_at_zoom.mode(f.source) != DeleteMode::Off)
        .collect();
    // The guard, file by file; the manifests of each day read once.
    let mut days: HashMap<NaiveDate, Result<Option<HashMap<String, Seal>>, String>> =
        HashMap::new();
    let mut eligible: Vec<&FileRecord> = Vec::new();
    // Meeting files of this archive that cannot be deleted, by meeting.
    let mut blocked: HashMap<&str, Vec<&FileRecord>> = HashMap::new();
    for f in &files {
        if f.deleted_at_zoom.is_some() {
            run.report.already_deleted += 1;
            continue;
        }
        let seal = match key_day(f.object_key.as_str()) {
            None => Seal::Unreadable(format!("{} is not dated", f.object_key)),
            Some(day) => {
                if let std::collections::hash_map::Entry::Vacant(v) = days.entry(day) {
                    v.insert(day_listing(ports, &tenant.id, day, &deleter.keys).await);
                }
                match days.get(&day) {
                    Some(Ok(None)) | None => Seal::NotSealed,
                    Some(Err(e)) => Seal::Unreadable(e.clone()),
                    Some(Ok(Some(listed))) => listed
                        .get(f.object_key.as_str())
                        .cloned()
                        .unwrap_or(Seal::NotListed),
                }
            }
        };
        match guard(f, &seal) {
            Ok(()) => {
                if let (
                    Seal::Listed { manifest, .. },
                    Some(v),
                    FileState::Archived { sha256, .. },
                ) = (&seal, &f.last_verified, &f.state)
                {
                    run.why.insert(
                        f.file_id.clone(),
                        format!(
                            "sha256 {sha256} listed in sealed {manifest}, verified intact at {}",
                            v.at
                        ),
                    );
                }
                eligible.push(f);
            }
            Err(why) => {
                if f.source == Source::Meetings {
                    blocked
                        .entry(f.conversation_id.as_str())
                        .or_default()
                        .push(f);
                }
                // Files not archived yet say so only through the meeting they block.
                if matches!(f.state, FileState::Archived { .. }) {
                    run.push(f, Status::Refused, why);
                }
            }
        }
    }
    // Phone recordings and tagged meeting files: one request each.
    let mut stop: Option<String> = None;
    let mut meetings: BTreeMap<&str, Vec<&FileRecord>> = BTreeMap::new();
    for f in eligible {
        let mode = tenant.delete_at_zoom.mode(f.source);
        let (request, verdict) = match (f.source, mode) {
            (Source::Meetings, DeleteMode::AfterSeal) => {
                meetings
                    .entry(f.conversation_id.as_str())
                    .or_default()
                    .push(f);
                continue;
            }
            (Source::Meetings, _) => (
                format!(
                    "PATCH /archive_files/{} {{\"auto_delete\":true}}",
                    f.file_id
                ),
                "tagged for deletion at Zoom",
            ),
            (Source::Phone, _) => (
                format!("DELETE /phone/recordings/{}", f.file_id),
                "deleted at Zoom",
            ),
        };
        if let Some(why) = &stop {
            run.push(f, Status::Deferred, format!("not tried: {why}"));
            continue;
        }
        if dry_run {
            run.push(f, Status::WouldDelete, format!("would send {request}"));
            continue;
        }
        let result = match f.source {
            Source::Meetings => zoom.set_archive_file_auto_delete(&f.file_id, true).await,
            Source::Phone => zoom.delete_phone_recording(&f.file_id).await,
        };
        stop = run.settle(&[f], &request, verdict, result).await?;
    }
    // Meetings: the whole meeting's archive, only when nothing else of it is at stake.
    for (uuid, files) in meetings {
        let request = format!("DELETE /past_meetings/{uuid}/archive_files");
        if let Some(others) = blocked.get(uuid) {
            let ids: Vec<&str> = others.iter().map(|o| o.file_id.as_str()).take(5).collect();
            for f in &files {
                run.push(
                    f,
                    Status::Refused,
                    format!(
                        "{request} would also delete {} file(s) of the meeting that may not be deleted yet ({})",
                        others.len(),
                        ids.join(", ")
                    ),
                );
            }
            continue;
        }
        if let Some(why) = &stop {
            for f in &files {
                run.push(f, Status::Deferred, format!("not tried: {why}"));
            }
            continue;
        }
        if dry_run {
            for f in &files {
                run.push(
                    f,
                    Status::WouldDelete,
                    format!("would send {request} (if Zoom lists no other file of the meeting)"),
                );
            }
            continue;
        }
        let listed = match zoom.get_meeting_archive(uuid).await {
            Ok(m) => m,
            Err(e) => {
                stop = stops_the_run(&e);
                let status = if stop.is_some() {
                    Status::Deferred
                } else {
                    Status::Failed
                };
                for f in &files {
                    run.push(
                        f,
                        status,
                        format!(
                            "GET /past_meetings/{uuid}/archive_files failed, nothing deleted: {e}"
                        ),
                    );
                }
                continue;
            }
        };
        let Some(meeting) = listed else {
            let gone = Err(ZoomError::NotFound(format!(
                "GET /past_meetings/{uuid}/archive_files: Zoom does not know the meeting"
            )));
            stop = run
                .settle(
                    &files,
                    &format!("GET /past_meetings/{uuid}/archive_files"),
                    "",
                    gone,
                )
                .await?;
            continue;
        };
        let ours: HashSet<&str> = files.iter().map(|f| f.file_id.as_str()).collect();
        let others: Vec<&str> = meeting
            .archive_files
            .iter()
            .map(|a| a.id.as_str())
            .filter(|id| !ours.contains(id))
            .collect();
        if !others.is_empty() {
            for f in &files {
                run.push(
                    f,
                    Status::Refused,
                    format!(
                        "Zoom lists {} other archive file(s) of the meeting that are not archived and sealed here ({}): {request} would delete them; `auto_delete_after_seal` tags one file at a time",
                        others.len(),
                        others.iter().take(5).copied().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            continue;
        }
        let result = zoom.delete_meeting_archive(uuid).await;
        stop = run
            .settle(&files, &request, "deleted at Zoom", result)
            .await?;
    }
    run.report.stopped = stop;
    run.report
        .outcomes
        .sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.file_id.cmp(&b.file_id)));
    Ok(run.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Fixity, ZoomAnswer};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn file() -> FileRecord {
        let mut f: FileRecord = serde_json::from_value(serde_json::json!({
            "tenant": "acme",
            "source": "phone",
            "file_id": "rec1",
            "conversation_id": "call1",
            "conversation_start": "2026-11-18T10:00:00Z",
            "file_type": "MP3",
            "content_kind": "mp3",
            "expected_size": null,
            "fingerprint": null,
            "download_url": "https://zoom.us/x",
            "recording_start": null,
            "recording_end": null,
            "object_key": "acme/phone/2026/11/18/call1/rec1.mp3",
            "cdr_ids": [],
            "state": {"state": "archived", "size": 10, "sha256": "ab", "content_type": null,
                      "archived_at": "2026-11-18T11:00:00Z", "fingerprint_match": null},
            "attempts": 1,
            "queued": true,
            "first_seen": "2026-11-18T10:30:00Z",
            "updated_at": "2026-11-18T11:00:00Z",
            "version": 3
        }))
        .unwrap();
        f.last_verified = Some(Fixity {
            at: t("2026-11-20T08:00:00Z"),
            intact: true,
        });
        f
    }

    fn listed() -> Seal {
        Seal::Listed {
            manifest: "acme/manifests/2026-11-18.json".into(),
            at: t("2026-11-20T06:00:00Z"),
            sha256: "ab".into(),
            size: 10,
            problem: None,
        }
    }

    #[test]
    fn a_sealed_listed_verified_unheld_file_passes() {
        assert_eq!(guard(&file(), &listed()), Ok(()));
    }

    #[test]
    fn each_guard_refuses_on_its_own() {
        let why = |f: &FileRecord, s: &Seal| guard(f, s).unwrap_err();
        let mut held = file();
        held.holds = vec!["m-1".into()];
        assert!(why(&held, &listed()).contains("legal hold (matter m-1)"));
        assert!(why(&file(), &Seal::NotSealed).contains("day 2026-11-18 is not sealed"));
        assert!(why(&file(), &Seal::NotListed).contains("not listed"));
        assert!(why(&file(), &Seal::Unreadable("boom".into())).contains("boom"));
        let mut bad = listed();
        if let Seal::Listed { problem, .. } = &mut bad {
            *problem = Some("its signature does not verify".into());
        }
        assert!(why(&file(), &bad).contains("signature"));
        let mut other = listed();
        if let Seal::Listed { sha256, .. } = &mut other {
            *sha256 = "cd".into();
        }
        assert!(why(&file(), &other).contains("lists sha256 cd"));
        let mut never = file();
        never.last_verified = None;
        assert!(why(&never, &listed()).contains("never verified"));
        let mut altered = file();
        altered.last_verified = Some(Fixity {
            at: t("2026-11-20T08:00:00Z"),
            intact: false,
        });
        assert!(why(&altered, &listed()).contains("not intact"));
        let mut stale = file();
        stale.last_verified = Some(Fixity {
            at: t("2026-11-20T05:00:00Z"),
            intact: true,
        });
        assert!(why(&stale, &listed()).contains("before its day was sealed"));
        let mut disposed = file();
        disposed.disposed = Some("past retention".into());
        assert!(why(&disposed, &listed()).contains("disposed"));
        let mut pending = file();
        pending.state = FileState::Pending;
        assert!(why(&pending, &listed()).contains("not archived"));
        let mut done = file();
        done.deleted_at_zoom = Some(ZoomDeletion {
            at: t("2026-11-21T00:00:00Z"),
            request: "DELETE /phone/recordings/rec1".into(),
            answer: ZoomAnswer {
                status: 204,
                code: None,
                message: None,
            },
        });
        assert!(why(&done, &listed()).contains("already"));
    }

    #[test]
    fn zoom_errors_that_concern_every_file_stop_the_run() {
        assert!(
            stops_the_run(&ZoomError::MissingScopes {
                scopes: vec!["phone:delete:call_recording:admin".into()],
                message: "m".into()
            })
            .is_some()
        );
        assert!(
            stops_the_run(&ZoomError::RateLimited {
                category: "phone:Light".into(),
                kind: BUDGET_KIND.into(),
                retry_after: None
            })
            .is_some()
        );
        assert!(
            stops_the_run(&ZoomError::Server {
                status: 502,
                message: "m".into()
            })
            .is_none()
        );
        assert_eq!(
            ZoomError::MissingScopes {
                scopes: vec![],
                message: "m".into()
            }
            .answer()
            .code,
            Some(4711)
        );
    }
}
