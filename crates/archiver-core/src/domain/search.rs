//! Paged, sorted CDR search ([`CdrSearch`]): the reference semantics every metadata store's
//! [`MetaStore::search_cdrs`](crate::ports::MetaStore::search_cdrs) must agree with.
//!
//! A search is a [`CdrQuery`] (whose [`CdrQuery::matches`] stays the one home of those
//! filters) plus what the review UI adds: the viewer's scope (whole tenants, or one user of
//! a tenant: pushed into the query, so totals and pages only ever count what the viewer may
//! see), source, "recording failed" yes/no, a meeting topic substring, free text over the
//! conversation's transcripts and chat, a sort key and order, and offset/limit.
//!
//! Rules:
//! - **Topic**: meeting CDRs whose topic (`to_info`) contains the text, compared after
//!   [`str::to_lowercase`] on both sides (phone CDRs have no topic and never match).
//! - **Free text**: the text is split into words ([`text_words`]: runs of letters and
//!   digits, lowercased); a CDR matches when one document indexed for its conversation
//!   (tenant, source, conversation id; see [`TextDoc`]) contains every word as a whole word.
//!   Only the first [`TEXT_INDEX_LIMIT`] bytes of each document are indexed.
//! - **Order**: ascending is by the sort key, then start time, CDR id and tenant (a total
//!   order, so pages never overlap); descending is exactly its reverse.

use super::cdr::{Cdr, CdrQuery};
use super::ids::{Source, TenantId};
use std::cmp::Ordering;

/// How much of one transcript, caption or chat file is indexed for free-text search (the
/// first 1 MiB of the stored bytes; a word cut at the boundary is indexed as cut).
pub const TEXT_INDEX_LIMIT: u64 = 1024 * 1024;

/// What a viewer may see of one tenant: all of it, or one user's CDRs (email,
/// case-insensitive, or extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchScope {
    /// The tenant.
    pub tenant: TenantId,
    /// Only this user's CDRs; `None`: the whole tenant.
    pub user: Option<String>,
}

impl SearchScope {
    /// The whole of `tenant`.
    pub fn tenant(tenant: TenantId) -> Self {
        Self { tenant, user: None }
    }

    /// True when `cdr` is inside this scope.
    pub fn covers(&self, cdr: &Cdr) -> bool {
        self.tenant == cdr.tenant && self.user.as_deref().is_none_or(|u| user_is(cdr, u))
    }
}

/// The user rule of [`CdrQuery::user`]: the email (case-insensitive) or the extension.
pub fn user_is(cdr: &Cdr, user: &str) -> bool {
    cdr.user_email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(user))
        || cdr.user_extension.as_deref() == Some(user)
}

/// The sort key of a search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchSort {
    /// Start time.
    #[default]
    StartTime,
    /// The user's display name (`user`).
    User,
    /// `duration_seconds`.
    Duration,
    /// The direction's exported value (`Conference`, `External`, ...).
    Direction,
    /// The source (`meetings`, `phone`).
    Source,
}

impl SearchSort {
    /// Parses `start_time`, `user`, `duration`, `direction` or `source`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "start_time" => Self::StartTime,
            "user" => Self::User,
            "duration" => Self::Duration,
            "direction" => Self::Direction,
            "source" => Self::Source,
            _ => return None,
        })
    }
}

/// A paged, sorted CDR search. Every filter is combined with AND; `scope` with OR among
/// its entries (an empty scope sees nothing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CdrSearch {
    /// The filters of [`CdrQuery`] (its `tenant`, when set, narrows the scope further).
    pub query: CdrQuery,
    /// What the viewer may see.
    pub scope: Vec<SearchScope>,
    /// Only this source.
    pub source: Option<Source>,
    /// Only "recording failed" CDRs (`Some(true)`) or only recorded ones (`Some(false)`),
    /// by `recording_failed`.
    pub failed: Option<bool>,
    /// Meeting topic substring (case-insensitive).
    pub topic: Option<String>,
    /// Free text over the conversation's indexed documents.
    pub text: Option<String>,
    /// Sort key.
    pub sort: SearchSort,
    /// Descending (newest, longest, ... first).
    pub descending: bool,
    /// Matches skipped before the page.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

/// One page of a search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchResult {
    /// Matches in all.
    pub total: usize,
    /// The page.
    pub cdrs: Vec<Cdr>,
}

/// A document (transcript, captions, chat) of a conversation, as indexed for free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextDoc {
    /// The tenant.
    pub tenant: TenantId,
    /// The source.
    pub source: Source,
    /// The conversation (the meeting UUID for meetings): every CDR of it finds the text.
    pub conversation_id: String,
    /// Zoom's file id (indexing the same file again replaces its text).
    pub file_id: String,
    /// The text.
    pub text: String,
}

/// A conversation, as free-text hits name them.
pub type ConversationRef = (TenantId, Source, String);

/// The words of `s` for free-text search: maximal runs of alphanumeric characters,
/// lowercased (what SQLite's `unicode61` tokenizer without diacritic removal produces).
pub fn text_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// True when every word of `query` is a word of `text` (the reference of free text).
pub fn text_contains_words(text: &str, query: &str) -> bool {
    let have: std::collections::HashSet<String> = text_words(text).into_iter().collect();
    let want = text_words(query);
    !want.is_empty() && want.iter().all(|w| have.contains(w))
}

impl CdrSearch {
    /// The tenants the search may touch: those of the scope, narrowed by `query.tenant`,
    /// deduplicated, in order.
    pub fn tenants(&self) -> Vec<TenantId> {
        let mut out: Vec<TenantId> = Vec::new();
        for s in &self.scope {
            if self.query.tenant.as_ref().is_none_or(|t| t == &s.tenant) && !out.contains(&s.tenant)
            {
                out.push(s.tenant.clone());
            }
        }
        out
    }

    /// The topic, lowercased, when set and not empty.
    pub fn topic_needle(&self) -> Option<String> {
        self.topic
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
    }

    /// True when `cdr` passes every filter but the free text (the reference for stores
    /// that filter in memory).
    pub fn matches(&self, cdr: &Cdr) -> bool {
        self.query.matches(cdr)
            && self.scope.iter().any(|s| s.covers(cdr))
            && self.source.is_none_or(|s| cdr.source == s)
            && self.failed.is_none_or(|f| cdr.recording_failed == f)
            && self.topic_needle().is_none_or(|t| {
                cdr.source == Source::Meetings && cdr.to_info.to_lowercase().contains(&t)
            })
    }

    /// The ascending order of this search's sort key (ties: start time, id, tenant).
    pub fn compare(&self, a: &Cdr, b: &Cdr) -> Ordering {
        let key = match self.sort {
            SearchSort::StartTime => Ordering::Equal,
            SearchSort::User => a.user.cmp(&b.user),
            SearchSort::Duration => a.duration_seconds.cmp(&b.duration_seconds),
            SearchSort::Direction => a.direction.as_str().cmp(b.direction.as_str()),
            SearchSort::Source => a.source.as_str().cmp(b.source.as_str()),
        };
        key.then(a.start_time.cmp(&b.start_time))
            .then_with(|| a.cdr_id.cmp(&b.cdr_id))
            .then_with(|| a.tenant.cmp(&b.tenant))
    }

    /// Sorts `matches` (all of them) and cuts this search's page out of them.
    pub fn page(&self, mut matches: Vec<Cdr>) -> SearchResult {
        matches.sort_by(|a, b| {
            let o = self.compare(a, b);
            if self.descending { o.reverse() } else { o }
        });
        let total = matches.len();
        let cdrs = matches
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        SearchResult { total, cdrs }
    }
}

/// The words worth indexing of a stored transcript, caption or chat file (`bytes`, at
/// most [`TEXT_INDEX_LIMIT`] of them): Zoom's transcript JSON (`items[].speaker/text`, or
/// any `text`/`message`/`content`/`speaker`/`sender` strings), WebVTT cues without their
/// timings and numbers, chat text lines without their leading time. `None` for files
/// that carry no text (media).
pub fn indexable_text(file_type: &str, key: &str, bytes: &[u8]) -> Option<String> {
    let ext = key
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ft = file_type.to_ascii_uppercase();
    let text = String::from_utf8_lossy(bytes);
    if ext == "json" || ft == "CHAT_MESSAGE" {
        let mut out = String::new();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            collect_json_text(&v, None, &mut out);
            return Some(out);
        }
        // Cut at the limit, or not JSON after all: every word.
        return Some(text.into_owned());
    }
    if ext == "vtt" || ft == "CC" || text.starts_with("WEBVTT") {
        let mut out = String::new();
        for l in text.lines() {
            let t = l.trim();
            if t.is_empty()
                || t.starts_with("WEBVTT")
                || t.contains("-->")
                || t.chars().all(|c| c.is_ascii_digit())
            {
                continue;
            }
            out.push_str(t);
            out.push('\n');
        }
        return Some(out);
    }
    if ext == "txt" || ft == "CHAT" || ft == "TRANSCRIPT" {
        let mut out = String::new();
        for l in text.lines() {
            let t = l.trim_start();
            // `HH:MM:SS\t From A to B:\ttext`: the time is no word anyone searches for.
            let rest = match t.split_once(|c: char| c.is_whitespace()) {
                Some((head, rest))
                    if head.contains(':')
                        && head.chars().all(|c| c.is_ascii_digit() || c == ':') =>
                {
                    rest
                }
                _ => t,
            };
            out.push_str(rest);
            out.push('\n');
        }
        return Some(out);
    }
    None
}

fn collect_json_text(v: &serde_json::Value, key: Option<&str>, out: &mut String) {
    match v {
        serde_json::Value::String(s)
            if key.is_some_and(|k| {
                matches!(
                    k,
                    "text" | "message" | "content" | "speaker" | "sender" | "sender_name"
                )
            }) =>
        {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_json_text(x, key, out)),
        serde_json::Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| collect_json_text(x, Some(k), out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_alphanumeric_runs_lowercased() {
        assert_eq!(
            text_words("Hello, WORLD! it's 42-fold Æble"),
            ["hello", "world", "it", "s", "42", "fold", "æble"]
        );
        assert!(text_contains_words(
            "We discussed the Merger.",
            "merger discussed"
        ));
        assert!(!text_contains_words("We discussed the Merger.", "merge"));
        assert!(!text_contains_words("anything", "!!"), "no words: no match");
    }

    #[test]
    fn documents_give_their_words_not_their_timings() {
        let vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nAlice: the quarterly numbers\n\n2\n00:00:05.000 --> 00:00:06.000\nBob: agreed\n";
        let t = indexable_text("CC", "a/b/cc.vtt", vtt).unwrap();
        assert_eq!(t, "Alice: the quarterly numbers\nBob: agreed\n");
        let json = br#"{"items":[{"ts":"00:00:01","speaker":"Alice","text":"pelican brief"}],"type":"zoom_transcript"}"#;
        let t = indexable_text("TRANSCRIPT", "a/t.json", json).unwrap();
        assert!(text_contains_words(&t, "pelican alice"));
        assert!(
            !text_contains_words(&t, "zoom_transcript"),
            "keys and types are not words of the talk"
        );
        let chat = b"00:01:02\t From Alice to Everyone:\tsee the spreadsheet\n";
        let t = indexable_text("CHAT", "a/c.txt", chat).unwrap();
        assert!(text_contains_words(&t, "spreadsheet"));
        assert!(!text_contains_words(&t, "02"));
        assert_eq!(indexable_text("M4A", "a/x.m4a", b"\0\0"), None);
    }
}
