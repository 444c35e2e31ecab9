//! Search: the query parameters of the search page and `GET /api/v1/cdrs`, turned into one
//! core [`CdrSearch`] with the viewer's grants as its scope (so totals and pages count only
//! what the viewer may see), run by the metadata store ([`MetaStore::search_cdrs`]: SQL
//! with indexes on the embedded default, an in-memory filter of the indexed query on
//! DynamoDB). Free text (`q`) needs a store with a text index: elsewhere it is a 400 that
//! names `q`.

use crate::Viewer;
use archiver_core::{
    Cdr, CdrQuery, CdrSearch, Direction, MetaError, MetaStore, ReviewRole, SearchScope, SearchSort,
    Source, TenantId, text_words,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// Rows per page unless `per_page` says otherwise (at most [`MAX_PER_PAGE`]).
pub const PER_PAGE: usize = 50;
/// The largest page.
pub const MAX_PER_PAGE: usize = 500;

/// Search parameters (every field optional; empty strings, as forms send them, are unset).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SearchParams {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// The recorded user: email or extension.
    pub user: Option<String>,
    /// A phone number (caller, callee or participant).
    pub number: Option<String>,
    /// Start at or after: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` (UTC) or RFC 3339.
    pub from: Option<String>,
    /// Start before (a day: up to the end of that day).
    pub to: Option<String>,
    /// `meetings` or `phone`.
    pub source: Option<String>,
    /// `internal`, `inbound`, `outbound`, `external` or `conference`.
    pub direction: Option<String>,
    /// `yes`: only "recording failed"; `no`: only recorded.
    pub failed: Option<String>,
    /// Meeting UUID or phone call id.
    pub platform_call_id: Option<String>,
    /// Meeting topic: a substring, case-insensitive.
    pub topic: Option<String>,
    /// Free text: every word must occur in one of the conversation's transcripts,
    /// captions or chat (whole words, case-insensitive).
    pub q: Option<String>,
    /// Sort column: `start_time` (default), `user`, `duration`, `direction`, `source`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    pub order: Option<String>,
    /// Page number from 1.
    pub page: Option<usize>,
    /// Rows per page.
    pub per_page: Option<usize>,
}

/// One page of results.
#[derive(Clone, Debug, Serialize)]
pub struct SearchPage {
    /// Matches in all.
    pub total: usize,
    /// This page (from 1).
    pub page: usize,
    /// Rows per page.
    pub per_page: usize,
    /// The rows.
    pub cdrs: Vec<Cdr>,
}

/// A parameter that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A bad parameter, named.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] MetaError),
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn time(name: &str, s: &str, end_of_day: bool) -> Result<DateTime<Utc>, SearchError> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
        return Ok(t.and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            SearchError::Invalid(format!(
                "{name}={s:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339"
            ))
        })
}

impl SearchParams {
    /// Parses an `a=1&b=2` query string (the API's, and `export --query`).
    pub fn from_query_string(q: &str) -> Result<Self, String> {
        serde_urlencoded_like(q)
    }

    /// The parameters that are set, as `k=v&…` (the audit entry's reason, and links).
    pub fn canonical(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        let mut out = Vec::new();
        if let Some(m) = v.as_object() {
            for (k, v) in m {
                let s = match v {
                    serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                if k == "page" || k == "per_page" {
                    continue;
                }
                out.push(format!("{k}={}", crate::html::qv(&s)));
            }
        }
        out.join("&")
    }

    fn core_query(&self) -> Result<CdrQuery, SearchError> {
        let direction = match set(&self.direction).map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("internal") => Some(Direction::Internal),
            Some("inbound") => Some(Direction::Inbound),
            Some("outbound") => Some(Direction::Outbound),
            Some("external") => Some(Direction::External),
            Some("conference") => Some(Direction::Conference),
            Some(d) => return Err(SearchError::Invalid(format!("direction={d:?}"))),
        };
        Ok(CdrQuery {
            from: set(&self.from)
                .map(|s| time("from", s, false))
                .transpose()?,
            to: set(&self.to).map(|s| time("to", s, true)).transpose()?,
            user: set(&self.user).map(str::to_string),
            platform_call_id: set(&self.platform_call_id).map(str::to_string),
            direction,
            number: set(&self.number).map(str::to_string),
            failed_only: self.failed_filter()? == Some(true),
            ..CdrQuery::default()
        })
    }

    fn failed_filter(&self) -> Result<Option<bool>, SearchError> {
        match set(&self.failed).map(str::to_ascii_lowercase).as_deref() {
            None | Some("any") => Ok(None),
            Some("yes" | "true" | "1") => Ok(Some(true)),
            Some("no" | "false" | "0") => Ok(Some(false)),
            Some(f) => Err(SearchError::Invalid(format!("failed={f:?}: yes or no"))),
        }
    }

    fn source_filter(&self) -> Result<Option<Source>, SearchError> {
        match set(&self.source).map(str::to_ascii_lowercase).as_deref() {
            None | Some("any") => Ok(None),
            Some("meeting" | "meetings") => Ok(Some(Source::Meetings)),
            Some("phone") => Ok(Some(Source::Phone)),
            Some(s) => Err(SearchError::Invalid(format!(
                "source={s:?}: meetings or phone"
            ))),
        }
    }

    /// The page asked for (from 1) and its size.
    pub fn paging(&self) -> (usize, usize) {
        (
            self.page.unwrap_or(1).max(1),
            self.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
        )
    }
}

/// `k=v&k=v` into [`SearchParams`] without another dependency: through a JSON object.
fn serde_urlencoded_like(q: &str) -> Result<SearchParams, String> {
    let mut m = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (k, v) = (dec(k), dec(v));
        let v = if k == "page" || k == "per_page" {
            serde_json::Value::from(
                v.parse::<u64>()
                    .map_err(|_| format!("{k}={v:?}: a number"))?,
            )
        } else {
            serde_json::Value::from(v)
        };
        m.insert(k, v);
    }
    serde_json::from_value(serde_json::Value::Object(m)).map_err(|e| e.to_string())
}

/// The viewer's scope among `tenants`: whole tenants, or the users granted of one.
fn scope(viewer: &Viewer, tenants: &[TenantId]) -> Vec<SearchScope> {
    let mut out = Vec::new();
    for t in viewer.tenants(tenants) {
        if viewer.role == ReviewRole::Admin || viewer.sees_whole_tenant(&t) {
            out.push(SearchScope::tenant(t));
            continue;
        }
        for g in viewer.grants.iter().filter(|g| g.tenant == t) {
            if let Some(u) = &g.user {
                out.push(SearchScope {
                    tenant: t.clone(),
                    user: Some(u.clone()),
                });
            }
        }
    }
    out
}

/// The core search of `p` for `viewer`, from `offset`, at most `limit` rows.
fn core_search(
    viewer: &Viewer,
    tenants: &[TenantId],
    p: &SearchParams,
    offset: usize,
    limit: usize,
) -> Result<CdrSearch, SearchError> {
    let mut scope = scope(viewer, tenants);
    if let Some(t) = set(&p.tenant) {
        scope.retain(|x| x.tenant.as_str() == t);
    }
    let sort = set(&p.sort).unwrap_or("start_time");
    let sort =
        SearchSort::parse(sort).ok_or_else(|| SearchError::Invalid(format!("sort={sort:?}")))?;
    let text = set(&p.q).map(str::to_string);
    if let Some(q) = &text
        && text_words(q).is_empty()
    {
        return Err(SearchError::Invalid(format!(
            "q={q:?}: no word to search for (letters or digits)"
        )));
    }
    Ok(CdrSearch {
        query: p.core_query()?,
        scope,
        source: p.source_filter()?,
        failed: p.failed_filter()?,
        topic: set(&p.topic).map(str::to_string),
        text,
        sort,
        descending: set(&p.order) != Some("asc"),
        offset,
        limit,
    })
}

/// Runs `s`; a store that cannot search free text answers a 400 naming `q`.
async fn run(
    meta: &dyn MetaStore,
    s: &CdrSearch,
) -> Result<archiver_core::SearchResult, SearchError> {
    meta.search_cdrs(s).await.map_err(|e| match e {
        MetaError::Unsupported(what) if s.text.is_some() => SearchError::Invalid(format!(
            "q={:?}: {what} is not available on this backend (the AWS metadata store has no \
             text index); search by user, number, date, topic or call id instead",
            s.text.as_deref().unwrap_or_default()
        )),
        e => SearchError::Store(e),
    })
}

/// Every CDR the viewer may see that matches `p`, sorted (no paging).
pub async fn search_all(
    meta: &dyn MetaStore,
    viewer: &Viewer,
    tenants: &[TenantId],
    p: &SearchParams,
) -> Result<Vec<Cdr>, SearchError> {
    let s = core_search(viewer, tenants, p, 0, usize::MAX)?;
    Ok(run(meta, &s).await?.cdrs)
}

/// One page of matches, counted and cut by the store.
pub async fn search(
    meta: &dyn MetaStore,
    viewer: &Viewer,
    tenants: &[TenantId],
    p: &SearchParams,
) -> Result<SearchPage, SearchError> {
    let (page, per_page) = p.paging();
    let s = core_search(
        viewer,
        tenants,
        p,
        (page - 1).saturating_mul(per_page),
        per_page,
    )?;
    let r = run(meta, &s).await?;
    Ok(SearchPage {
        total: r.total,
        page,
        per_page,
        cdrs: r.cdrs,
    })
}
