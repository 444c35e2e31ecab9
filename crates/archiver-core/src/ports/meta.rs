use crate::domain::{
    Cdr, CdrQuery, CdrSearch, ConversationRef, Cursor, FileRecord, SearchResult, Source, TenantId,
    TextDoc,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Errors of a [`MetaStore`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// A conditional write lost: the stored version is not the expected one (or the item is missing).
    #[error("conflicting update of {0}")]
    Conflict(String),
    /// The store failed.
    #[error("metadata store failed: {what}: {source}")]
    Backend {
        /// What was being done, naming the item or table.
        what: String,
        /// The backend's error.
        source: super::BoxError,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// The store cannot do what was asked (e.g. free-text search on DynamoDB), named.
    #[error("not supported by this metadata store: {0}")]
    Unsupported(String),
    /// A stored item could not be decoded.
    #[error("stored item {key} is corrupt: {message}")]
    Corrupt {
        /// The item's key.
        key: String,
        /// The decode error.
        message: String,
    },
}

impl MetaError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            MetaError::Conflict(_) => true,
            MetaError::Backend { retryable, .. } => *retryable,
            MetaError::Corrupt { .. } | MetaError::Unsupported(_) => false,
        }
    }
}

/// How many times [`retry_on_conflict`] runs an operation that keeps losing.
pub const CAS_ATTEMPTS: usize = 8;

/// Runs `op` again while it fails with [`MetaError::Conflict`] (another writer won a
/// compare-and-set), up to [`CAS_ATTEMPTS`] times; the last conflict is returned when they
/// are used up. `op` starts one attempt: it re-reads what it changes each time. Every
/// compare-and-set loop of the archive goes through it.
///
/// (`op` returns a future rather than being an async closure: the futures of async
/// closures that borrow are not `Send` for every lifetime, which the Lambda runtime and
/// `tokio::spawn` need; a test in `services` holds the services' futures to `Send`.)
pub async fn retry_on_conflict<T, F, Fut>(mut op: F) -> Result<T, MetaError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, MetaError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(MetaError::Conflict(what)) if attempt < CAS_ATTEMPTS => {
                tracing::debug!(%what, attempt, "conflicting update; trying again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Filter for [`MetaStore::list_files`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileQuery {
    /// Only this tenant.
    pub tenant: Option<TenantId>,
    /// Only files in this state (`FileState::name()`).
    pub state: Option<&'static str>,
    /// Only files not yet queued.
    pub unqueued_only: bool,
}

/// How many files of one tenant, source and state there are (see [`MetaStore::count_files`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileCount {
    /// The source.
    pub source: Source,
    /// The state's name ([`crate::domain::FileState::name`]), or `out_of_scope` for files
    /// kept from an earlier selection rule, whatever their state.
    pub state: String,
    /// Files.
    pub files: u64,
    /// Bytes stored, for `archived`, where the store can sum them without reading every
    /// record (`None` otherwise).
    pub bytes: Option<u64>,
    /// The earliest `first_seen` of these files, for the unfinished states (`pending`,
    /// `downloading`, `parked`); `None` for the others.
    pub oldest_first_seen: Option<DateTime<Utc>>,
}

impl FileCount {
    /// Folds per-record facts into counts: the reference every store's
    /// [`MetaStore::count_files`] must agree with (the default, the memory store and the
    /// conformance suite use it).
    pub fn tally<'a>(recs: impl IntoIterator<Item = &'a FileRecord>) -> Vec<FileCount> {
        let mut by: std::collections::BTreeMap<(Source, String), FileCount> = Default::default();
        for r in recs {
            let state = if r.out_of_scope.is_some() {
                "out_of_scope"
            } else {
                r.state.name()
            };
            let c = by
                .entry((r.source, state.to_string()))
                .or_insert_with(|| FileCount {
                    source: r.source,
                    state: state.to_string(),
                    files: 0,
                    bytes: None,
                    oldest_first_seen: None,
                });
            c.files += 1;
            if let crate::domain::FileState::Archived { size, .. } = &r.state
                && state == "archived"
            {
                c.bytes = Some(c.bytes.unwrap_or(0) + size);
            }
            if Self::tracks_age(state) {
                c.oldest_first_seen = Some(match c.oldest_first_seen {
                    Some(t) => t.min(r.first_seen),
                    None => r.first_seen,
                });
            }
        }
        by.into_values().collect()
    }

    /// Whether counts of `state` carry the oldest `first_seen`.
    pub fn tracks_age(state: &str) -> bool {
        matches!(state, "pending" | "downloading" | "parked")
    }
}

/// Durable metadata: file states, CDRs, cursors and leases.
///
/// Contract (checked by the conformance suite): `insert_*` are insert-if-absent and return
/// whether they inserted; `update_*` succeed only when the stored `version` equals the given
/// record's `version`, store the record with `version + 1` and return it; otherwise they fail
/// with [`MetaError::Conflict`] and change nothing. Records are partitioned by tenant: a
/// lookup never returns another tenant's record.
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Inserts a file record (its `version` is ignored and stored as 1) unless one exists.
    async fn insert_file(&self, rec: &FileRecord) -> Result<bool, MetaError>;
    /// Reads a file record.
    async fn get_file(
        &self,
        tenant: &TenantId,
        source: Source,
        file_id: &str,
    ) -> Result<Option<FileRecord>, MetaError>;
    /// Compare-and-set update of a file record.
    async fn update_file(&self, rec: &FileRecord) -> Result<FileRecord, MetaError>;
    /// File records matching `q`, in a stable order.
    async fn list_files(&self, q: &FileQuery) -> Result<Vec<FileRecord>, MetaError>;

    /// Counts of `tenant`'s files per source and state (ordered by source, then state),
    /// from the store's indexes where it has them: an operator's status must not read every
    /// record. The default lists the files; stores override it.
    async fn count_files(&self, tenant: &TenantId) -> Result<Vec<FileCount>, MetaError> {
        let files = self
            .list_files(&FileQuery {
                tenant: Some(tenant.clone()),
                ..FileQuery::default()
            })
            .await?;
        Ok(FileCount::tally(&files))
    }

    /// How many CDRs `tenant` has (those marked out of scope not counted). The default
    /// queries them; stores override it with a count.
    async fn count_cdrs(&self, tenant: &TenantId) -> Result<u64, MetaError> {
        Ok(self
            .query_cdrs(&CdrQuery {
                tenant: Some(tenant.clone()),
                ..CdrQuery::default()
            })
            .await?
            .len() as u64)
    }

    /// Inserts a CDR (stored as version 1) unless one with the same tenant and id exists.
    async fn insert_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError>;
    /// Reads a CDR.
    async fn get_cdr(&self, tenant: &TenantId, cdr_id: &str) -> Result<Option<Cdr>, MetaError>;
    /// Compare-and-set update of a CDR.
    async fn update_cdr(&self, cdr: &Cdr) -> Result<Cdr, MetaError>;
    /// Compare-and-delete of a CDR (disposal past retention): removes it only while its
    /// stored version is `cdr.version` (else [`MetaError::Conflict`]); `false` when there
    /// is no such CDR.
    async fn delete_cdr(&self, cdr: &Cdr) -> Result<bool, MetaError>;
    /// CDRs matching `q`, ordered by start time then id.
    async fn query_cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, MetaError>;

    /// One page of a [`CdrSearch`] and the number of matches in all, by the reference
    /// semantics of [`crate::domain::search`]. The default queries each tenant of the
    /// search's scope with [`MetaStore::query_cdrs`], filters, sorts and pages in memory
    /// (free text through [`MetaStore::text_conversations`]): right for small stores and
    /// for DynamoDB, whose indexes bound the query by tenant, user, call id or start time
    /// only. Stores with a query language override it (SQLite: indexes, FTS5).
    async fn search_cdrs(&self, s: &CdrSearch) -> Result<SearchResult, MetaError> {
        let tenants = s.tenants();
        let hits = match s.text.as_deref() {
            Some(text) => Some(self.text_conversations(&tenants, text).await?),
            None => None,
        };
        let mut all = Vec::new();
        for t in tenants {
            let q = CdrQuery {
                tenant: Some(t),
                ..s.query.clone()
            };
            all.extend(self.query_cdrs(&q).await?.into_iter().filter(|c| {
                s.matches(c)
                    && hits.as_ref().is_none_or(|h| {
                        h.contains(&(c.tenant.clone(), c.source, c.conversation_id.clone()))
                    })
            }));
        }
        Ok(s.page(all))
    }

    /// Whether [`MetaStore::index_text`] keeps text for free-text search (callers skip
    /// reading documents back for a store that does not). Default: no.
    fn indexes_text(&self) -> bool {
        false
    }

    /// Indexes the text of a conversation's document (transcript, captions, chat) for
    /// free-text search, replacing an earlier text of the same file. Default: ignored
    /// (stores without free text).
    async fn index_text(&self, doc: &TextDoc) -> Result<(), MetaError> {
        let _ = doc;
        Ok(())
    }

    /// The conversations of `tenants` with an indexed document containing every word of
    /// `text` ([`crate::domain::text_contains_words`]). Default:
    /// [`MetaError::Unsupported`].
    async fn text_conversations(
        &self,
        tenants: &[TenantId],
        text: &str,
    ) -> Result<std::collections::HashSet<ConversationRef>, MetaError> {
        let _ = (tenants, text);
        Err(MetaError::Unsupported(
            "free-text search over transcripts (q)".into(),
        ))
    }

    /// The cursor of a tenant source, if stored.
    async fn get_cursor(
        &self,
        tenant: &TenantId,
        source: Source,
    ) -> Result<Option<Cursor>, MetaError>;
    /// Stores a cursor: insert when `cursor.version == 0` and none exists, else compare-and-set.
    async fn put_cursor(&self, cursor: &Cursor) -> Result<Cursor, MetaError>;

    /// Takes or extends the lease `name` for `owner` until `until`: succeeds when the lease is
    /// free, expired at `now`, or already held by `owner`.
    async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, MetaError>;
    /// Releases the lease if `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), MetaError>;

    /// Inserts many file records, each insert-if-absent as [`MetaStore::insert_file`]
    /// (a record repeated in `recs` is inserted once); returns, per record, whether it was
    /// inserted. Stores that can do it in one transaction override the default loop.
    async fn insert_files(&self, recs: &[FileRecord]) -> Result<Vec<bool>, MetaError> {
        let mut out = Vec::with_capacity(recs.len());
        for r in recs {
            out.push(self.insert_file(r).await?);
        }
        Ok(out)
    }

    /// Inserts many CDRs, each insert-if-absent as [`MetaStore::insert_cdr`]; returns, per
    /// CDR, whether it was inserted. Stores may override the default loop with one
    /// transaction.
    async fn insert_cdrs(&self, cdrs: &[Cdr]) -> Result<Vec<bool>, MetaError> {
        let mut out = Vec::with_capacity(cdrs.len());
        for c in cdrs {
            out.push(self.insert_cdr(c).await?);
        }
        Ok(out)
    }

    /// Marks files as queued (their download task was sent): each a compare-and-set that
    /// sets `queued` and bumps `version`; files missing or already queued are left alone.
    /// The default loops over read + update; stores may do it in one transaction.
    async fn mark_queued(
        &self,
        tenant: &TenantId,
        source: Source,
        file_ids: &[String],
    ) -> Result<(), MetaError> {
        for id in file_ids {
            for attempt in 1..=CAS_ATTEMPTS {
                let Some(mut cur) = self.get_file(tenant, source, id).await? else {
                    break;
                };
                if cur.queued {
                    break;
                }
                cur.queued = true;
                match self.update_file(&cur).await {
                    Ok(_) => break,
                    Err(MetaError::Conflict(_)) if attempt < CAS_ATTEMPTS => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// A memo of `tenant`: a small remembered fact (e.g. that a meeting's participants were
    /// looked up, and what they were), so that a costly Zoom call is made once. `None` when
    /// absent or expired at `now`.
    async fn get_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MetaError>;
    /// Stores a memo (replacing any previous value) until `expires`.
    async fn put_memo(
        &self,
        tenant: &TenantId,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), MetaError>;
}
