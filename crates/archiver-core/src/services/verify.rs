//! Fixity (`zoom-archiver verify`, and a monthly sample in the stack): every stored
//! object (or a random sample) read back and checked against its record.
//!
//! For each archived file of the tenants (out-of-scope ones too: they are kept), in the
//! date range of its conversation when one is given:
//!
//! - **missing**: no object at its key;
//! - **altered**: the object's size or SHA-256 differs from what was recorded when it was
//!   stored;
//! - **unreadable**: the store failed while reading (reported, not judged).
//!
//! A full run (no sample) also lists the stored media objects of each tenant source and
//! reports as **unknown** every object no record names (something wrote into the archive
//! behind the archiver's back). Reports and other documents outside the media prefixes
//! are not judged.
//!
//! Objects are read as streams (memory stays flat whatever their size); large ones as
//! ranged reads in parallel, in order ([`crate::ports::read_parallel`]).
//!
//! With [`VerifyOptions::record`] (the CLI's `verify`, the reconciler's monthly sample),
//! each checked file's record keeps the result ([`FileRecord::last_verified`]: when, and
//! whether intact; missing, altered and unreadable count as not intact), which deleting at
//! Zoom requires (`services::zoom_delete`).

use crate::domain::{FileRecord, FileState, Fixity, ObjectKey, Source, TenantId};
use crate::ports::{
    BlobError, FileQuery, MetaError, Ports, ResumableSha256, read_parallel, retry_on_conflict,
};
use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashSet;

/// What to verify and how.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Only conversations on or after this UTC day.
    pub from: Option<NaiveDate>,
    /// Only conversations on or before this UTC day.
    pub to: Option<NaiveDate>,
    /// Check a random sample of this many files instead of all (no unknown-object check).
    pub sample: Option<usize>,
    /// Objects read at once.
    pub concurrency: usize,
    /// Objects of at least this size are read as parallel ranges.
    pub parallel_min_size: u64,
    /// The size of each range.
    pub parallel_part: u64,
    /// Ranges read at once per large object.
    pub parallel_streams: usize,
    /// Record each checked file's result in its record ([`FileRecord::last_verified`]).
    pub record: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            sample: None,
            concurrency: 4,
            parallel_min_size: 64 * 1024 * 1024,
            parallel_part: 8 * 1024 * 1024,
            parallel_streams: 4,
            record: false,
        }
    }
}

/// What is wrong with one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// No object at the recorded key.
    Missing,
    /// The object differs from the record.
    Altered {
        /// Recorded size.
        expected_size: u64,
        /// Size read.
        actual_size: u64,
        /// Recorded SHA-256.
        expected_sha256: String,
        /// SHA-256 read.
        actual_sha256: String,
    },
    /// An object no record names.
    Unknown {
        /// Its size.
        size: u64,
    },
    /// The store failed while reading it.
    Unreadable {
        /// The store's error.
        error: String,
    },
}

/// One object that is not intact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The object's key.
    pub key: String,
    /// The tenant.
    pub tenant: String,
    /// The file's Zoom id (none for unknown objects).
    pub file_id: Option<String>,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
}

/// What a verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Archived files checked.
    pub checked: u64,
    /// Of them, intact.
    pub intact: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Every object not intact.
    pub findings: Vec<Finding>,
    /// Results that could not be recorded in their file's record (with
    /// [`VerifyOptions::record`]; the metadata store failed): those files keep their
    /// previous result.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unrecorded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl VerifyReport {
    /// True when every object checked is intact and none is unknown or unreadable.
    pub fn all_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Why a verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Listing the object store failed.
    #[error("listing the object store: {0}")]
    List(BlobError),
}

/// Called after each object with the bytes read so far and the files checked so far.
pub type OnProgress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Verifies the archive of `tenants` (see the module docs).
pub async fn verify(
    ports: &Ports,
    tenants: &[TenantId],
    opts: &VerifyOptions,
    progress: Option<OnProgress<'_>>,
) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::default();
    let in_range =
        |d: NaiveDate| opts.from.is_none_or(|f| d >= f) && opts.to.is_none_or(|t| d <= t);
    for tenant in tenants {
        let mut files: Vec<FileRecord> = ports
            .meta
            .list_files(&FileQuery {
                tenant: Some(tenant.clone()),
                state: Some("archived"),
                ..FileQuery::default()
            })
            .await?
            .into_iter()
            // A disposed file's object is gone on purpose (its record says when and why).
            .filter(|f| f.disposed.is_none() && in_range(f.conversation_start.date_naive()))
            .collect();
        let known: HashSet<String> = files.iter().map(|f| f.object_key.to_string()).collect();
        if let Some(n) = opts.sample
            && n < files.len()
        {
            fastrand::shuffle(&mut files);
            files.truncate(n);
        }
        let checks = futures::stream::iter(files)
            .map(|f| async move {
                let r = check(ports, &f, opts).await;
                (f, r)
            })
            .buffer_unordered(opts.concurrency.max(1));
        futures::pin_mut!(checks);
        while let Some((f, (read, problem))) = checks.next().await {
            report.checked += 1;
            report.bytes += read;
            if opts.record
                && let Err(e) = record_fixity(ports, &f, problem.is_none()).await
            {
                tracing::warn!(tenant = %f.tenant, file_id = %f.file_id, error = %e, "the fixity result could not be recorded");
                report.unrecorded += 1;
            }
            match problem {
                None => report.intact += 1,
                Some(problem) => report.findings.push(Finding {
                    key: f.object_key.to_string(),
                    tenant: f.tenant.to_string(),
                    file_id: Some(f.file_id.clone()),
                    problem,
                }),
            }
            if let Some(p) = progress {
                p(report.bytes, report.checked);
            }
        }
        let checked_before = report.checked;
        let found_before = report.findings.len();
        if opts.sample.is_none() {
            for source in Source::ALL {
                let prefix = format!("{tenant}/{source}/");
                let stored = ports.blobs.list(&prefix).await.map_err(VerifyError::List)?;
                for o in stored {
                    let key = o.key.to_string();
                    if known.contains(&key) || !key_day(&key).is_none_or(in_range) {
                        continue;
                    }
                    report.findings.push(Finding {
                        key,
                        tenant: tenant.to_string(),
                        file_id: None,
                        problem: Problem::Unknown { size: o.size },
                    });
                }
            }
        }
        crate::metrics::verified(
            tenant.as_str(),
            report.checked - checked_before,
            (report.findings.len() - found_before) as u64,
        );
    }
    report.findings.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(report)
}

/// Keeps a check's result in the file's record (compare-and-set, retried on conflict).
async fn record_fixity(ports: &Ports, f: &FileRecord, intact: bool) -> Result<(), MetaError> {
    let meta = ports.meta.as_ref();
    let at = ports.clock.now();
    retry_on_conflict(|| async move {
        let Some(mut cur) = meta.get_file(&f.tenant, f.source, &f.file_id).await? else {
            return Ok(());
        };
        cur.last_verified = Some(Fixity { at, intact });
        cur.updated_at = at;
        meta.update_file(&cur).await.map(drop)
    })
    .await
}

/// The conversation day a media key is dated with (`{tenant}/{source}/{yyyy}/{mm}/{dd}/…`).
fn key_day(key: &str) -> Option<NaiveDate> {
    let mut parts = key.split('/').skip(2);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Reads one archived file's object back: bytes read, and what is wrong if anything.
async fn check(ports: &Ports, f: &FileRecord, opts: &VerifyOptions) -> (u64, Option<Problem>) {
    let FileState::Archived { size, sha256, .. } = &f.state else {
        return (0, None);
    };
    let key: &ObjectKey = &f.object_key;
    let body = if *size >= opts.parallel_min_size {
        read_parallel(
            ports.blobs.clone(),
            key,
            *size,
            opts.parallel_part,
            opts.parallel_streams,
        )
        .await
    } else {
        ports.blobs.get(key).await
    };
    let mut body = match body {
        Ok(b) => b,
        Err(BlobError::NotFound(_)) => return (0, Some(Problem::Missing)),
        Err(e) => {
            return (
                0,
                Some(Problem::Unreadable {
                    error: e.to_string(),
                }),
            );
        }
    };
    let mut hash = ResumableSha256::new();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => hash.update(&c),
            Err(e) => {
                return (
                    hash.len(),
                    Some(Problem::Unreadable {
                        error: e.to_string(),
                    }),
                );
            }
        }
    }
    let read = hash.len();
    let actual = hex::encode(hash.finalize());
    if read == *size && actual.eq_ignore_ascii_case(sha256) {
        (read, None)
    } else {
        (
            read,
            Some(Problem::Altered {
                expected_size: *size,
                actual_size: read,
                expected_sha256: sha256.clone(),
                actual_sha256: actual,
            }),
        )
    }
}
