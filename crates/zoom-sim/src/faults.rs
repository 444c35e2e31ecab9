//! Fault-injection knobs, usable while the server runs.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// `Retry-After` behaviour of an injected 429.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// No `Retry-After` header (per-second limit, type `QPS`).
    None,
    /// `Retry-After: <seconds>` (type `QPS`).
    Seconds(u64),
    /// `Retry-After: <date-time>` (type `QPS`).
    DateTime(DateTime<Utc>),
    /// Daily limit: type `Daily-limit`, `Retry-After` = next 00:00:00Z by the sim clock.
    DailyLimit,
    /// A bare 429: no `Retry-After` and no `X-RateLimit-*` header at all (Zoom's headers
    /// are not confirmed to be sent).
    Bare,
    /// A daily limit known only by its message ("…the daily rate limit…"): no headers.
    DailyByMessage,
}

/// A corrupt body served with status 200 for a listing (`/archive_files`, `/phone/recordings`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BadListing {
    /// Not JSON at all: the start of a page followed by garbage.
    Malformed,
    /// The real page cut in the middle (as if the connection closed cleanly too early).
    Truncated,
    /// The real page with an unknown field padded so that the body is at least this many bytes
    /// (still valid JSON).
    Oversized(usize),
    /// An HTML login page served as `text/html` with 200.
    Html,
    /// Valid JSON of the wrong shape (`meetings`/`recordings` not arrays).
    WrongShape,
}

#[derive(Default, Debug)]
struct State {
    fail: Vec<(String, u32, u16)>,
    listing: Vec<(String, u32, BadListing)>,
    page_expiry: Vec<(String, u32)>,
    rate: Vec<(String, u32, RetryAfter)>,
    cut: HashMap<String, (u64, u32)>,
    range_total: HashMap<String, (u64, u32)>,
    html: HashMap<String, u32>,
    json: HashMap<String, u32>,
    slow: HashMap<String, Duration>,
    deleted: HashSet<String>,
    listed_url: HashMap<String, String>,
    redirect: HashMap<String, String>,
    outages: Vec<(String, DateTime<Utc>, Result<RetryAfter, u16>)>,
    withheld_scopes: HashSet<String>,
    archiving_disabled: bool,
}

/// Fault knobs. All methods take `&self`, are thread-safe and take effect on the next request.
///
/// Path prefixes match the request path either as sent (`/v2/archive_files`) or without the
/// `/v2` API prefix (`/archive_files`).
#[derive(Default, Debug)]
pub struct Faults {
    state: Mutex<State>,
    token_epoch: AtomicU64,
    page_epoch: AtomicU64,
}

/// Body-level faults to apply to one download response.
#[derive(Clone, Debug, Default)]
pub(crate) struct BodyFaults {
    pub(crate) cut_after: Option<u64>,
    pub(crate) delay_per_chunk: Option<Duration>,
}

/// Replacement response for a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Swap {
    Html,
    Json,
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    path.starts_with(prefix)
        || path
            .strip_prefix("/v2")
            .is_some_and(|p| p.starts_with(prefix))
}

fn take_count(map: &mut HashMap<String, u32>, key: &str) -> bool {
    match map.get_mut(key) {
        Some(n) if *n > 0 => {
            *n -= 1;
            if *n == 0 {
                map.remove(key);
            }
            true
        }
        _ => false,
    }
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` requests whose path starts with `path_prefix` answer `status` with a Zoom error body.
    pub fn fail_next(&self, path_prefix: &str, n: u32, status: u16) {
        self.lock().fail.push((path_prefix.to_string(), n, status));
    }

    /// The next `n` requests whose path starts with `path_prefix` answer 429 with `X-RateLimit-*` headers.
    pub fn rate_limit_next(&self, path_prefix: &str, n: u32, retry_after: RetryAfter) {
        self.lock()
            .rate
            .push((path_prefix.to_string(), n, retry_after));
    }

    fn bad_listing(&self, path_prefix: &str, n: u32, kind: BadListing) {
        self.lock().listing.push((path_prefix.to_string(), n, kind));
    }

    /// The next `n` listings (`/archive_files`, `/phone/recordings`) whose path starts with
    /// `path_prefix` answer 200 with a body that is not JSON.
    pub fn malformed_listing(&self, path_prefix: &str, n: u32) {
        self.bad_listing(path_prefix, n, BadListing::Malformed);
    }

    /// The next `n` listings under `path_prefix` answer 200 with the real page cut in half.
    pub fn truncated_listing(&self, path_prefix: &str, n: u32) {
        self.bad_listing(path_prefix, n, BadListing::Truncated);
    }

    /// The next `n` listings under `path_prefix` answer the real page padded with an unknown
    /// field to at least `bytes` bytes (valid JSON).
    pub fn oversized_listing(&self, path_prefix: &str, n: u32, bytes: usize) {
        self.bad_listing(path_prefix, n, BadListing::Oversized(bytes));
    }

    /// The next `n` listings under `path_prefix` answer 200 `text/html` (a login page).
    pub fn html_listing(&self, path_prefix: &str, n: u32) {
        self.bad_listing(path_prefix, n, BadListing::Html);
    }

    /// The next `n` listings under `path_prefix` answer 200 with valid JSON of the wrong shape.
    pub fn wrong_shape_listing(&self, path_prefix: &str, n: u32) {
        self.bad_listing(path_prefix, n, BadListing::WrongShape);
    }

    /// The next `n` listing requests under `path_prefix` that carry a `next_page_token` find it
    /// expired (400 / code 300), as if it had outlived its lifetime between two pages.
    pub fn expire_page_tokens_next(&self, path_prefix: &str, n: u32) {
        self.lock().page_expiry.push((path_prefix.to_string(), n));
    }

    /// The next `times` downloads of `file_id` reset the connection after `after_bytes` body bytes.
    pub fn cut_body(&self, file_id: &str, after_bytes: u64, times: u32) {
        self.lock()
            .cut
            .insert(file_id.to_string(), (after_bytes, times));
    }

    /// The next `times` ranged (206) answers for `file_id` report `total` as the file size in
    /// `Content-Range: bytes a-b/{total}` (the range and its bytes stay the real ones), as a
    /// server confused about the file would. Off unless called.
    pub fn misreport_range_total(&self, file_id: &str, total: u64, times: u32) {
        if times > 0 {
            self.lock()
                .range_total
                .insert(file_id.to_string(), (total, times));
        }
    }

    /// The next `times` downloads of `file_id` answer 200 `text/html` with a login page.
    pub fn html_200(&self, file_id: &str, times: u32) {
        self.lock().html.insert(file_id.to_string(), times);
    }

    /// The next `times` downloads of `file_id` answer 200 `{"code":124,"message":"Invalid access token."}`.
    pub fn json_200(&self, file_id: &str, times: u32) {
        self.lock().json.insert(file_id.to_string(), times);
    }

    /// Downloads of `file_id` sleep `delay_per_chunk` before each 64 KiB chunk (until [`Faults::clear`]).
    pub fn slow_body(&self, file_id: &str, delay_per_chunk: Duration) {
        self.lock()
            .slow
            .insert(file_id.to_string(), delay_per_chunk);
    }

    /// Every access token issued so far answers 401 / code 124.
    pub fn revoke_tokens(&self) {
        self.token_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Every outstanding `next_page_token` becomes invalid.
    pub fn expire_page_tokens(&self) {
        self.page_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Downloads of `file_id` answer 404 from now on.
    pub fn delete_file(&self, file_id: &str) {
        self.lock().deleted.insert(file_id.to_string());
    }

    /// Removes every pending fault (revocations and expirations already done stay done).
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    /// Every request whose path starts with `path_prefix` answers `status` (with a Zoom
    /// error body) until the simulator's clock reaches `until`: an outage of a host.
    pub fn outage_until(&self, path_prefix: &str, until: DateTime<Utc>, status: u16) {
        self.lock()
            .outages
            .push((path_prefix.to_string(), until, Err(status)));
    }

    /// Every request whose path starts with `path_prefix` is rate-limited (429 as `retry`
    /// says) until the simulator's clock reaches `until`: a storm.
    pub fn rate_limit_until(&self, path_prefix: &str, until: DateTime<Utc>, retry: RetryAfter) {
        self.lock()
            .outages
            .push((path_prefix.to_string(), until, Ok(retry)));
    }

    /// Listings give `url` as the `download_url` of file `file_id` (a hostile listing:
    /// a metadata endpoint, an IP literal, another host), until [`Faults::clear`].
    pub fn list_download_url(&self, file_id: &str, url: &str) {
        self.lock()
            .listed_url
            .insert(file_id.to_string(), url.to_string());
    }

    /// Downloads of file `file_id` answer `302 Found` to `location`, until [`Faults::clear`].
    pub fn redirect_download(&self, file_id: &str, location: &str) {
        self.lock()
            .redirect
            .insert(file_id.to_string(), location.to_string());
    }

    /// The app lacks these OAuth scopes (granular `:admin` forms, e.g.
    /// `phone:read:list_call_recordings:admin`), until [`Faults::grant_all_scopes`] or
    /// [`Faults::clear`]: tokens issued from now on list the scopes without them, and every
    /// endpoint needing one answers 400 / code 4711 `"Invalid access token, does not
    /// contain scopes:[phone:read:list_call_recordings, phone:read:list_call_recordings:admin]."`
    /// (the scope's user and `:admin` forms, as Zoom names them).
    pub fn withhold_scopes<I, S>(&self, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock()
            .withheld_scopes
            .extend(scopes.into_iter().map(Into::into));
    }

    /// Every scope is granted again (see [`Faults::withhold_scopes`]).
    pub fn grant_all_scopes(&self) {
        self.lock().withheld_scopes.clear();
    }

    /// Meeting and webinar archiving is not enabled for the account, until
    /// [`Faults::clear`]: `GET /archive_files` and `GET /past_meetings/{uuid}/archive_files`
    /// answer 400 / code 200 `"Not available for this account."` (the answer Zoom's spec
    /// documents for the archive endpoints; what a real account without archiving gets is
    /// unconfirmed).
    pub fn disable_archiving(&self) {
        self.lock().archiving_disabled = true;
    }

    pub(crate) fn is_withheld(&self, scope: &str) -> bool {
        self.lock().withheld_scopes.contains(scope)
    }

    pub(crate) fn archiving_disabled(&self) -> bool {
        self.lock().archiving_disabled
    }

    pub(crate) fn listed_url(&self, file_id: &str) -> Option<String> {
        self.lock().listed_url.get(file_id).cloned()
    }

    pub(crate) fn redirect_of(&self, file_id: &str) -> Option<String> {
        self.lock().redirect.get(file_id).cloned()
    }

    pub(crate) fn token_epoch(&self) -> u64 {
        self.token_epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn page_epoch(&self) -> u64 {
        self.page_epoch.load(Ordering::SeqCst)
    }

    /// Consumes one injected failure for `path` at `now`, if any: `Err(status)` or
    /// `Ok(429 spec)`. An outage or storm in force answers every matching request.
    pub(crate) fn take_request_fault(
        &self,
        path: &str,
        now: DateTime<Utc>,
    ) -> Option<Result<RetryAfter, u16>> {
        let mut s = self.lock();
        s.outages.retain(|(_, until, _)| now < *until);
        if let Some((_, _, f)) = s.outages.iter().find(|(p, _, _)| prefix_matches(p, path)) {
            return Some(f.clone());
        }
        if let Some(i) = s
            .fail
            .iter()
            .position(|(p, n, _)| *n > 0 && prefix_matches(p, path))
        {
            let status = s.fail[i].2;
            s.fail[i].1 -= 1;
            if s.fail[i].1 == 0 {
                s.fail.remove(i);
            }
            return Some(Err(status));
        }
        if let Some(i) = s
            .rate
            .iter()
            .position(|(p, n, _)| *n > 0 && prefix_matches(p, path))
        {
            let ra = s.rate[i].2.clone();
            s.rate[i].1 -= 1;
            if s.rate[i].1 == 0 {
                s.rate.remove(i);
            }
            return Some(Ok(ra));
        }
        None
    }

    /// Consumes one corrupt-listing fault for `path`, if any.
    pub(crate) fn take_bad_listing(&self, path: &str) -> Option<BadListing> {
        let mut s = self.lock();
        let i = s
            .listing
            .iter()
            .position(|(p, n, _)| *n > 0 && prefix_matches(p, path))?;
        let kind = s.listing[i].2.clone();
        s.listing[i].1 -= 1;
        if s.listing[i].1 == 0 {
            s.listing.remove(i);
        }
        Some(kind)
    }

    /// Consumes one forced page-token expiry for `path`, if any.
    pub(crate) fn take_page_expiry(&self, path: &str) -> bool {
        let mut s = self.lock();
        let Some(i) = s
            .page_expiry
            .iter()
            .position(|(p, n)| *n > 0 && prefix_matches(p, path))
        else {
            return false;
        };
        s.page_expiry[i].1 -= 1;
        if s.page_expiry[i].1 == 0 {
            s.page_expiry.remove(i);
        }
        true
    }

    pub(crate) fn is_deleted(&self, file_id: &str) -> bool {
        self.lock().deleted.contains(file_id)
    }

    /// Consumes one HTML/JSON replacement for `file_id`, if any.
    pub(crate) fn take_swap(&self, file_id: &str) -> Option<Swap> {
        let mut s = self.lock();
        if take_count(&mut s.html, file_id) {
            Some(Swap::Html)
        } else if take_count(&mut s.json, file_id) {
            Some(Swap::Json)
        } else {
            None
        }
    }

    /// Consumes one misreported `Content-Range` total for a 206 of `file_id`, if any.
    pub(crate) fn take_range_total(&self, file_id: &str) -> Option<u64> {
        let mut s = self.lock();
        let (total, times) = s.range_total.get_mut(file_id)?;
        let total = *total;
        *times -= 1;
        if *times == 0 {
            s.range_total.remove(file_id);
        }
        Some(total)
    }

    /// Consumes the body faults for one download of `file_id`.
    pub(crate) fn take_body_faults(&self, file_id: &str) -> BodyFaults {
        let mut s = self.lock();
        let mut out = BodyFaults {
            delay_per_chunk: s.slow.get(file_id).copied(),
            ..BodyFaults::default()
        };
        if let Some((after, times)) = s.cut.get_mut(file_id) {
            out.cut_after = Some(*after);
            *times -= 1;
            if *times == 0 {
                s.cut.remove(file_id);
            }
        }
        out
    }
}
