//! `zoom-archiver estimate`: the Zoom API calls and the storage a tenant needs per day,
//! computed from how the services work (no simulator, no configuration file).
//!
//! **API calls** (per rate-limit category, as [`archiver_core::services::budget`] counts
//! them), against Zoom's Business+ limits (reference §7: Meetings API Light 80/s, Medium
//! 60/s, Heavy 40/s, Resource-intensive 20/min, Heavy + Resource-intensive 60,000 a day;
//! Zoom Phone API Light 40/s, Medium 20/s, Heavy 10/s, Resource-intensive 10/min, Heavy +
//! Resource-intensive 30,000 a day):
//!
//! - **users**: each configured user's email is looked up once a day (`/users/{email}`,
//!   Light) for their Zoom user id and display name;
//! - **import**, every poll of each source lists `[watermark − overlap, now]` in windows of
//!   at most 7 days (meetings) or 28 days (phone), each window one call per 300 items and at
//!   least one: `pages = windows × max(1, ⌈items in the window / 300⌉)`. Meetings are listed
//!   by archive completion time with a 1 h overlap (`/archive_files`, Medium); phone
//!   recordings by call time with a 6 h overlap (`/phone/recordings`, Phone Medium). The
//!   only daily-limited import call is the participants lookup (Heavy) of an archived
//!   meeting without individual files, once per meeting (remembered);
//! - **reconciliation** (`--reconcile`), once per day: one dashboard page
//!   (`/metrics/meetings`, Resource-intensive) per 300 meetings, one call-history page
//!   (`/phone/call_history`, Phone Heavy) per 300 calls, a participants lookup (Heavy) per
//!   meeting Zoom did not archive, and the archive of an archived meeting no recorded user
//!   was archived from (`/past_meetings/{uuid}/archive_files`, Light, to learn whether a
//!   recorded user was there after all). Meetings without individual files were looked up
//!   by the poller already (the answer is remembered): no second Heavy call.
//!
//! **Storage** from the media bitrates of the product spec (seed document, "storage
//! sizing"): Zoom Phone MP3 40–75 kbps VBR (75 kbps assumed; note the simulator serves
//! 128 kbps MP3 so that its files decode, which is not Zoom's rate), meeting M4A AAC-LC 128
//! kbps (each individual file and the whole-meeting audio), MP4 audio 128 kbps plus video
//! that "entirely depends on the content" (1 Mbps in all assumed).
//!
//! The shares that decide the costs are options with documented defaults ([`Mix`]); the
//! same defaults shape the `bench api-budget` scenario, which measures what this module
//! predicts.

use std::fmt::Write as _;
use std::time::Duration;

/// Zoom's maximum page size.
pub const PAGE: f64 = 300.0;
/// Seconds in a day.
pub const DAY_SECS: f64 = 86_400.0;
/// Zoom's Business+ daily limit of Heavy + Resource-intensive Meetings-API calls.
pub const MEETINGS_DAILY: f64 = 60_000.0;
/// Zoom's Business+ daily limit of Heavy + Resource-intensive Zoom Phone API calls.
pub const PHONE_DAILY: f64 = 30_000.0;
/// The share of the daily limits this system spends by default (`quota_share`).
pub const DEFAULT_QUOTA_SHARE: f64 = 0.8;

/// The rate-limit categories, as the quota ledger names them, with Zoom's Business+
/// per-period limit: `(key, requests, per seconds, daily-limited, endpoints)`.
pub const CATEGORIES: [(&str, f64, f64, bool, &str); 8] = [
    (
        "Light",
        80.0,
        1.0,
        false,
        "/users/{userId}, /past_meetings/{uuid}/archive_files",
    ),
    ("Medium", 60.0, 1.0, false, "/archive_files"),
    (
        "Heavy",
        40.0,
        1.0,
        true,
        "/metrics/meetings/{id}/participants",
    ),
    ("Resource-intensive", 20.0, 60.0, true, "/metrics/meetings"),
    (
        "phone:Light",
        40.0,
        1.0,
        false,
        "/phone/call_history/{uuid}",
    ),
    ("phone:Medium", 20.0, 1.0, false, "/phone/recordings"),
    ("phone:Heavy", 10.0, 1.0, true, "/phone/call_history"),
    ("phone:Resource-intensive", 10.0, 60.0, true, "(none used)"),
];

/// Calls a day one category allows by its per-second (per-minute) limit alone.
pub fn per_period_daily_max(key: &str) -> f64 {
    CATEGORIES
        .iter()
        .find(|c| c.0 == key)
        .map_or(0.0, |c| c.1 / c.2 * DAY_SECS)
}

/// The shares that decide the costs (defaults: [`Mix::default`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    /// Share of the account's meetings Zoom does not archive (archiving off for the host's
    /// group, end-to-end-encrypted meetings, archiving failures). Default 0.10.
    pub unarchived: f64,
    /// Share of the archived meetings without individual (per-participant) files: the
    /// per-participant audio option off for some groups. Default 0.20; 1.0 is the worst
    /// case (the option off account-wide).
    pub no_individual: f64,
    /// Share of calls connected (the rest missed or sent to voicemail; Zoom records only
    /// connected calls). Default 0.85.
    pub connected_calls: f64,
    /// Average participants per meeting. Default 2.5 (the simulator's 1–4).
    pub participants: f64,
    /// Share of recorded users in video mode (their meetings also archive the MP4).
    /// Default 0.5.
    pub video_users: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            unarchived: 0.10,
            no_individual: 0.20,
            connected_calls: 0.85,
            participants: 2.5,
            video_users: 0.5,
        }
    }
}

/// Media assumptions for storage (defaults: [`Media::default`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Media {
    /// Average call length in minutes. Default 5.
    pub call_minutes: f64,
    /// Average meeting length in minutes. Default 32.5 (the simulator's 5–60).
    pub meeting_minutes: f64,
    /// Zoom Phone MP3 bitrate (spec: 40–75 kbps VBR). Default 75.
    pub phone_kbps: f64,
    /// Meeting M4A bitrate (spec: AAC-LC 128 kbps CBR). Default 128.
    pub m4a_kbps: f64,
    /// Whole-meeting MP4 bitrate, audio + video (spec: audio 128 kbps, video depends).
    /// Default 1000.
    pub mp4_kbps: f64,
}

impl Default for Media {
    fn default() -> Self {
        Media {
            call_minutes: 5.0,
            meeting_minutes: 32.5,
            phone_kbps: 75.0,
            m4a_kbps: 128.0,
            mp4_kbps: 1000.0,
        }
    }
}

/// What to estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// Meetings held in the account per day (all of them, as the dashboard lists them).
    pub meetings_per_day: f64,
    /// Zoom Phone calls of the account per day (all of them, as the call history lists them).
    pub calls_per_day: f64,
    /// Poll interval.
    pub interval: Duration,
    /// Whether CDR reconciliation runs (once a day).
    pub reconcile: bool,
    /// Recorded (configured) users; `None`: every user.
    pub recorded_users: Option<u64>,
    /// All users of the account (with `recorded_users`).
    pub users: Option<u64>,
    /// Meetings listing overlap (`meetings_overlap`, default 1 h).
    pub meetings_overlap: Duration,
    /// Phone listing overlap (`phone_overlap`, default 6 h).
    pub phone_overlap: Duration,
    /// The shares.
    pub mix: Mix,
    /// The media assumptions.
    pub media: Media,
}

impl Inputs {
    /// Inputs with the tenant defaults (5 min interval, 1 h / 6 h overlaps) and [`Mix`] /
    /// [`Media`] defaults.
    pub fn new(meetings_per_day: f64, calls_per_day: f64) -> Self {
        Inputs {
            meetings_per_day,
            calls_per_day,
            interval: Duration::from_secs(300),
            reconcile: false,
            recorded_users: None,
            users: None,
            meetings_overlap: Duration::from_secs(3_600),
            phone_overlap: Duration::from_secs(6 * 3_600),
            mix: Mix::default(),
            media: Media::default(),
        }
    }

    /// Configured users (each looked up at Zoom once a day): `recorded_users`, else every
    /// user (`users`), else 0 when neither is given.
    pub fn configured_users(&self) -> u64 {
        self.recorded_users.or(self.users).unwrap_or(0)
    }

    /// Share of the account's users that are recorded (1 when not given).
    pub fn recorded_share(&self) -> f64 {
        match (self.recorded_users, self.users) {
            (Some(r), Some(u)) if u > 0 => (r as f64 / u as f64).clamp(0.0, 1.0),
            (Some(0), _) => 0.0,
            _ => 1.0,
        }
    }
}

/// Expected calls of one category per day.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryCalls {
    /// Ledger key (`Heavy`, `phone:Medium`, ...).
    pub key: &'static str,
    /// Calls made by the polls.
    pub import: f64,
    /// Calls made by reconciliation.
    pub reconcile: f64,
}

impl CategoryCalls {
    /// Import + reconciliation.
    pub fn total(&self) -> f64 {
        self.import + self.reconcile
    }
}

/// Storage per day.
#[derive(Clone, Debug, PartialEq)]
pub struct Storage {
    /// Recorded calls a day.
    pub recorded_calls: f64,
    /// Phone MP3 bytes a day.
    pub phone_bytes: f64,
    /// Archived meetings a day.
    pub archived_meetings: f64,
    /// Meetings with at least one recorded user a day.
    pub meetings_with_recorded_users: f64,
    /// Individual M4A bytes a day.
    pub individual_m4a_bytes: f64,
    /// Whole-meeting M4A bytes a day (voice users of meetings without individual files).
    pub whole_m4a_bytes: f64,
    /// Whole-meeting MP4 bytes a day (meetings with a video-mode recorded user).
    pub mp4_bytes: f64,
}

impl Storage {
    /// All bytes a day.
    pub fn total(&self) -> f64 {
        self.phone_bytes + self.individual_m4a_bytes + self.whole_m4a_bytes + self.mp4_bytes
    }
}

/// The whole estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Polls a day per source.
    pub polls_per_day: f64,
    /// `/archive_files` pages per poll.
    pub meeting_pages_per_poll: f64,
    /// `/phone/recordings` pages per poll.
    pub phone_pages_per_poll: f64,
    /// Per category, in [`CATEGORIES`] order.
    pub calls: Vec<CategoryCalls>,
    /// Storage.
    pub storage: Storage,
}

impl Estimate {
    /// The calls of `key`.
    pub fn get(&self, key: &str) -> Option<&CategoryCalls> {
        self.calls.iter().find(|c| c.key == key)
    }

    /// Heavy + Resource-intensive Meetings-API calls a day (the 60,000 pool).
    pub fn meetings_pool(&self) -> f64 {
        ["Heavy", "Resource-intensive"]
            .iter()
            .filter_map(|k| self.get(k))
            .map(CategoryCalls::total)
            .sum()
    }

    /// Heavy + Resource-intensive Zoom Phone API calls a day (the 30,000 pool).
    pub fn phone_pool(&self) -> f64 {
        ["phone:Heavy", "phone:Resource-intensive"]
            .iter()
            .filter_map(|k| self.get(k))
            .map(CategoryCalls::total)
            .sum()
    }
}

/// Polls a day of one source at `interval`.
pub fn polls_per_day(interval: Duration) -> f64 {
    DAY_SECS / interval.as_secs_f64().max(1.0)
}

/// Listing calls of one poll: the span `interval + overlap` split into windows of at most
/// `max_window`, each `max(1, ⌈items / 300⌉)` pages, for `items_per_day` arriving evenly.
pub fn pages_per_poll(
    items_per_day: f64,
    interval: Duration,
    overlap: Duration,
    max_window: Duration,
) -> f64 {
    let span = interval.as_secs_f64() + overlap.as_secs_f64();
    let windows = (span / max_window.as_secs_f64().max(1.0)).ceil().max(1.0);
    let per_window = items_per_day.max(0.0) * span / DAY_SECS / windows;
    windows * (per_window / PAGE).ceil().max(1.0)
}

/// Pages of a once-a-day listing of `items` (at least one call).
fn daily_pages(items: f64) -> f64 {
    (items.max(0.0) / PAGE).ceil().max(1.0)
}

/// Computes the estimate.
pub fn estimate(i: &Inputs) -> Estimate {
    let m = &i.mix;
    let share = i.recorded_share();
    let recorded_configured = share > 0.0;
    let polls = polls_per_day(i.interval);
    let archived = i.meetings_per_day * (1.0 - m.unarchived);
    let recorded_calls = i.calls_per_day * m.connected_calls * share;
    let meeting_pages = pages_per_poll(
        archived,
        i.interval,
        i.meetings_overlap,
        Duration::from_secs(7 * 86_400),
    );
    let phone_pages = pages_per_poll(
        recorded_calls,
        i.interval,
        i.phone_overlap,
        Duration::from_secs(28 * 86_400),
    );
    // No recorded user in a meeting of `participants` people.
    let none_recorded = (1.0 - share).powf(m.participants.max(0.0));
    let r = |x: f64| if i.reconcile { x } else { 0.0 };
    let calls = vec![
        CategoryCalls {
            key: "Light",
            // `GET /users/{email}` of each configured user, once a day.
            import: i.configured_users() as f64,
            reconcile: r(archived * (1.0 - m.no_individual) * none_recorded),
        },
        CategoryCalls {
            key: "Medium",
            import: polls * meeting_pages,
            reconcile: 0.0,
        },
        CategoryCalls {
            key: "Heavy",
            import: if recorded_configured {
                archived * m.no_individual
            } else {
                0.0
            },
            reconcile: r(i.meetings_per_day * m.unarchived),
        },
        CategoryCalls {
            key: "Resource-intensive",
            import: 0.0,
            reconcile: r(daily_pages(i.meetings_per_day)),
        },
        CategoryCalls {
            key: "phone:Light",
            import: 0.0,
            reconcile: 0.0,
        },
        CategoryCalls {
            key: "phone:Medium",
            import: polls * phone_pages,
            reconcile: 0.0,
        },
        CategoryCalls {
            key: "phone:Heavy",
            import: 0.0,
            reconcile: r(daily_pages(i.calls_per_day)),
        },
        CategoryCalls {
            key: "phone:Resource-intensive",
            import: 0.0,
            reconcile: 0.0,
        },
    ];
    let md = &i.media;
    let bytes_per_sec = |kbps: f64| kbps * 1000.0 / 8.0;
    let meeting_secs = md.meeting_minutes * 60.0;
    let with_recorded = archived * (1.0 - none_recorded);
    let recorded_participants = m.participants * share;
    let no_video = (1.0 - share * m.video_users).powf(m.participants.max(0.0));
    let storage = Storage {
        recorded_calls,
        phone_bytes: recorded_calls * md.call_minutes * 60.0 * bytes_per_sec(md.phone_kbps),
        archived_meetings: archived,
        meetings_with_recorded_users: with_recorded,
        individual_m4a_bytes: archived
            * (1.0 - m.no_individual)
            * recorded_participants
            * meeting_secs
            * bytes_per_sec(md.m4a_kbps),
        whole_m4a_bytes: archived
            * m.no_individual
            * (1.0 - none_recorded)
            * meeting_secs
            * bytes_per_sec(md.m4a_kbps),
        mp4_bytes: archived * (1.0 - no_video) * meeting_secs * bytes_per_sec(md.mp4_kbps),
    };
    Estimate {
        polls_per_day: polls,
        meeting_pages_per_poll: meeting_pages,
        phone_pages_per_poll: phone_pages,
        calls,
        storage,
    }
}

/// `12,345` (rounded up to a whole number).
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    let n = x.max(0.0).ceil() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn gb(bytes: f64) -> String {
    format!("{:.1}", bytes / 1e9)
}

/// The two tables (API calls, storage) with the assumptions, as Markdown.
pub fn render(i: &Inputs, e: &Estimate) -> String {
    let mut o = String::new();
    let share = i.recorded_share();
    let _ = writeln!(
        o,
        "Estimate for {} meetings and {} calls a day, polling every {}{}; recorded users: {}.",
        thousands(i.meetings_per_day),
        thousands(i.calls_per_day),
        humantime::format_duration(i.interval),
        if i.reconcile {
            ", with CDR reconciliation once a day"
        } else {
            ", without reconciliation"
        },
        match (i.recorded_users, i.users) {
            (Some(r), Some(u)) => format!("{r} of {u} ({:.0} %)", share * 100.0),
            _ => "all".into(),
        }
    );
    let m = &i.mix;
    let _ = writeln!(
        o,
        "Assumptions: {:.0} % of meetings not archived, {:.0} % of archived meetings without individual files, \
         {:.0} % of calls connected (only recorded users' connected calls are recorded), {} participants a meeting; \
         listing overlaps {} (meetings) / {} (phone).",
        m.unarchived * 100.0,
        m.no_individual * 100.0,
        m.connected_calls * 100.0,
        m.participants,
        humantime::format_duration(i.meetings_overlap),
        humantime::format_duration(i.phone_overlap),
    );
    let _ = writeln!(
        o,
        "Polls: {} a day per source; /archive_files {} page(s) a poll, /phone/recordings {} page(s) a poll \
         (at Zoom's per-second limits at least {:.1} s and {:.1} s of a {} interval).",
        thousands(e.polls_per_day),
        e.meeting_pages_per_poll,
        e.phone_pages_per_poll,
        e.meeting_pages_per_poll / 60.0,
        e.phone_pages_per_poll / 20.0,
        humantime::format_duration(i.interval),
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| category | endpoint | import / day | reconciliation / day | total / day | Business+ limit | per-second bound / day | use of that bound |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for c in &e.calls {
        let Some(&(_, n, per, daily, endpoint)) = CATEGORIES.iter().find(|x| x.0 == c.key) else {
            continue;
        };
        let bound = per_period_daily_max(c.key);
        let limit = if per >= 60.0 {
            format!("{n}/min")
        } else {
            format!("{n}/s")
        };
        let limit = if daily {
            if c.key.starts_with("phone:") {
                format!("{limit} + 30,000/day pool")
            } else {
                format!("{limit} + 60,000/day pool")
            }
        } else {
            limit
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} % |",
            c.key,
            endpoint,
            thousands(c.import),
            thousands(c.reconcile),
            thousands(c.total()),
            limit,
            thousands(bound),
            c.total() / bound * 100.0
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| daily pool | calls / day | Zoom's limit | use | this system's share ({:.0} %) | use of the share |",
        DEFAULT_QUOTA_SHARE * 100.0
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|");
    for (name, used, limit) in [
        (
            "Meetings Heavy + Resource-intensive",
            e.meetings_pool(),
            MEETINGS_DAILY,
        ),
        (
            "Phone Heavy + Resource-intensive",
            e.phone_pool(),
            PHONE_DAILY,
        ),
    ] {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {:.1} % | {} | {:.1} % |",
            thousands(used),
            thousands(limit),
            used / limit * 100.0,
            thousands(limit * DEFAULT_QUOTA_SHARE),
            used / (limit * DEFAULT_QUOTA_SHARE) * 100.0
        );
    }
    let s = &e.storage;
    let md = &i.media;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Storage (spec bitrates: phone MP3 {} kbps, M4A {} kbps, MP4 {} kbps assumed; calls {} min, meetings {} min; {:.0} % of recorded users in video mode):",
        md.phone_kbps,
        md.m4a_kbps,
        md.mp4_kbps,
        md.call_minutes,
        md.meeting_minutes,
        m.video_users * 100.0
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "| media | items / day | GB / day | TB / year |");
    let _ = writeln!(o, "|---|---|---|---|");
    let rows = [
        (
            "Phone recordings (MP3)",
            thousands(s.recorded_calls),
            s.phone_bytes,
        ),
        (
            "Individual meeting audio (M4A)",
            format!(
                "{} meetings with recorded users",
                thousands(s.meetings_with_recorded_users)
            ),
            s.individual_m4a_bytes,
        ),
        (
            "Whole-meeting audio (M4A, no individual files)",
            String::from("-"),
            s.whole_m4a_bytes,
        ),
        (
            "Whole-meeting video (MP4, video-mode users)",
            String::from("-"),
            s.mp4_bytes,
        ),
        ("Total", String::from("-"), s.total()),
    ];
    for (name, items, bytes) in rows {
        let _ = writeln!(
            o,
            "| {name} | {items} | {} | {:.2} |",
            gb(bytes),
            bytes * 365.0 / 1e12
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(e: &Estimate, key: &str) -> CategoryCalls {
        e.get(key).cloned().expect("category")
    }

    #[test]
    fn nothing_to_list_costs_only_the_fixed_listing_calls() {
        let mut i = Inputs::new(0.0, 0.0);
        i.reconcile = false;
        let e = estimate(&i);
        assert_eq!(e.polls_per_day, 288.0);
        assert_eq!(e.meeting_pages_per_poll, 1.0);
        assert_eq!(e.phone_pages_per_poll, 1.0);
        assert_eq!(pick(&e, "Medium").import, 288.0);
        assert_eq!(pick(&e, "phone:Medium").import, 288.0);
        for c in &e.calls {
            if !matches!(c.key, "Medium" | "phone:Medium") {
                assert_eq!(c.total(), 0.0, "{}", c.key);
            }
        }
        assert_eq!(e.meetings_pool(), 0.0);
        assert_eq!(e.storage.total(), 0.0);
    }

    #[test]
    fn an_empty_day_reconciled_costs_one_page_of_each_feed() {
        let mut i = Inputs::new(0.0, 0.0);
        i.reconcile = true;
        let e = estimate(&i);
        assert_eq!(pick(&e, "Resource-intensive").reconcile, 1.0);
        assert_eq!(pick(&e, "phone:Heavy").reconcile, 1.0);
        assert_eq!(pick(&e, "Heavy").total(), 0.0);
    }

    #[test]
    fn per_item_terms_double_with_the_traffic() {
        let mut a = Inputs::new(30_000.0, 1_000_000.0);
        a.reconcile = true;
        let mut b = a.clone();
        b.meetings_per_day *= 2.0;
        b.calls_per_day *= 2.0;
        let (ea, eb) = (estimate(&a), estimate(&b));
        for key in ["Heavy", "Light"] {
            let (x, y) = (pick(&ea, key).total(), pick(&eb, key).total());
            assert!((y - 2.0 * x).abs() < 1e-6, "{key}: {x} -> {y}");
        }
        // Paged terms double up to the rounding of the last page.
        for key in ["Resource-intensive", "phone:Heavy"] {
            let (x, y) = (pick(&ea, key).total(), pick(&eb, key).total());
            assert!((y - 2.0 * x).abs() <= 1.0, "{key}: {x} -> {y}");
        }
        assert!((eb.storage.total() - 2.0 * ea.storage.total()).abs() < 1.0);
    }

    #[test]
    fn pages_follow_the_overlap_and_the_page_size() {
        let five = Duration::from_secs(300);
        let hour = Duration::from_secs(3_600);
        let week = Duration::from_secs(7 * 86_400);
        // 28,800 a day: 1,300 in 65 minutes: 5 pages.
        assert_eq!(pages_per_poll(28_800.0, five, hour, week), 5.0);
        // A span longer than the largest window: one call per window at least.
        assert_eq!(
            pages_per_poll(0.0, five, Duration::from_secs(8 * 86_400), week),
            2.0
        );
    }

    #[test]
    fn the_spec_scale_fits_the_daily_pools() {
        // The spec's combined row at twice its volume.
        let mut i = Inputs::new(29_000.0, 4_400_000.0);
        i.reconcile = true;
        let e = estimate(&i);
        // 29,000 × (0.9 × 0.2 + 0.1) + ⌈29,000/300⌉ = 8,120 + 97.
        assert!(
            (e.meetings_pool() - 8_217.0).abs() < 1.0,
            "{}",
            e.meetings_pool()
        );
        assert_eq!(e.phone_pool(), (4_400_000.0f64 / 300.0).ceil());
        assert!(e.phone_pool() < PHONE_DAILY);
    }

    #[test]
    fn recorded_users_scale_recordings_and_storage() {
        let mut all = Inputs::new(1_000.0, 10_000.0);
        let mut quarter = all.clone();
        quarter.recorded_users = Some(50);
        quarter.users = Some(200);
        all.reconcile = true;
        quarter.reconcile = true;
        let (ea, eq) = (estimate(&all), estimate(&quarter));
        assert!((eq.storage.recorded_calls * 4.0 - ea.storage.recorded_calls).abs() < 1e-6);
        assert!(eq.storage.total() < ea.storage.total());
        // Who is recorded does not change what reconciliation lists.
        assert_eq!(
            pick(&ea, "phone:Heavy").reconcile,
            pick(&eq, "phone:Heavy").reconcile
        );
        let text = render(&quarter, &eq);
        assert!(text.contains("50 of 200 (25 %)"));
        assert!(text.contains("| Heavy |"));
        assert!(text.contains("| Total |"));
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.2), "1,000");
        assert_eq!(thousands(4_500_000.0), "4,500,000");
        assert_eq!(thousands(f64::INFINITY), "∞");
    }

    #[test]
    fn each_configured_user_is_looked_up_once_a_day() {
        let mut i = Inputs::new(100.0, 100.0);
        assert_eq!(
            estimate(&i).get("Light").unwrap().import,
            0.0,
            "no users given"
        );
        i.recorded_users = Some(50);
        i.users = Some(200);
        let e = estimate(&i);
        assert_eq!(e.get("Light").unwrap().import, 50.0);
        i.recorded_users = None;
        assert_eq!(
            estimate(&i).get("Light").unwrap().import,
            200.0,
            "every user"
        );
        // Light calls are not daily-limited: the pools do not move.
        assert_eq!(
            e.meetings_pool(),
            estimate(&Inputs::new(100.0, 100.0)).meetings_pool()
        );
    }
}
