//! `zoom-archiver-bench api-budget`: the Zoom API calls one tenant's day really costs,
//! measured against the product spec's capacity table.
//!
//! One tenant's simulated UTC day runs in-process: the Zoom simulator (rate limits off, so
//! that a day runs in seconds) serves a generated account; the services are wired exactly
//! as the `run` command wires them ([`App::assemble`]: every call goes through
//! [`archiver_core::services::budget::BudgetedZoom`] around a real
//! [`archiver_zoom::ZoomClient`] speaking HTTP to the simulator, with pacing disabled) over
//! the in-memory adapters of `archiver-testkit` and an in-memory quota ledger. One manual
//! clock drives both the simulator and the archiver.
//!
//! The run:
//! 1. the day D ([`DAY`]) holds `meetings` meetings and `calls` calls spread over it, among
//!    `users` users of whom the first `recorded_users` are configured for recording
//!    (alternately voice and video);
//! 2. both sources are polled every `interval` from D 00:00 until D ends plus the tenant's
//!    `reconcile_grace` (6 h: the poller keeps running, and late archives of D's last
//!    meetings arrive after midnight), then
//!    [`archiver_core::services::reconcile::Reconciler::reconcile_day`] runs once for D,
//!    as the scheduled reconciler would. The download queue is **not** drained (downloads
//!    are not rate-limited API calls); the CDR drafts the poller writes are kept, so
//!    reconciliation sees what it would see in production (recordings still "pending");
//! 3. the simulator's request counters give the calls per rate-limit category, for the
//!    polls and (by difference) for reconciliation; the quota ledger's counters are the
//!    cross-check: every category, and each daily pool (`pool:meetings` = Heavy +
//!    Resource-intensive, `pool:phone` = Phone Heavy + Resource-intensive), must equal what
//!    the simulator served, or the bench fails;
//! 4. the per-meeting and per-call costs of the daily-limited calls give the capacity,
//!    printed beside the spec's table (seed document, "Zoom API rate limits").
//!
//! It runs at the given scale and again at `also_scale` times it (default ½; `2` for twice):
//! the per-unit costs must stay flat. The capacity uses the costs of the larger run (the
//! closest to real volumes: a listing's last, partial page weighs least there).
//!
//! ## Scenario assumptions (see [`zoom_archiver::estimate::Mix`])
//!
//! - **Recorded users**: 50 of 200 (25 %) by default. Compliance recording covers the
//!   regulated staff of an account (traders, advisers), a minority of its users. Meeting
//!   participants (1–4, the simulator's) are drawn from all users, so about half the
//!   meetings have a recorded user (printed per run).
//! - **Unarchived meetings: 10 %**. Archiving is on account-wide in a compliance account,
//!   but end-to-end-encrypted meetings cannot be archived, some groups may have it off,
//!   and archiving fails now and then. The dashboard lists them; reconciliation must ask
//!   Zoom who was there (one Heavy call each).
//! - **Archived meetings without individual files: 20 %**. Per-participant audio is an
//!   archiving option a compliance deployment turns on; the share models groups where it
//!   is off. The poller asks for the participants of each (Heavy, once). The worst case,
//!   the option off account-wide, is 1 Heavy call per archived meeting.
//! - **Calls: 85 % connected**; only the connected calls of recorded users are recorded
//!   (automatic call recording), so about 21 % of calls are recorded. Missed calls are no
//!   conversation (reconciliation skips them) and every connected call of a recorded user
//!   is recorded, so phone reconciliation finds nothing missing here: its cost is the
//!   call-history listing of every call of the account, recorded or not, which does not
//!   depend on what it finds (only a recorded call missing from the archive costs one more
//!   Phone Light call).
//! - The generator's own quirks stay: 5 % of meetings hosted outside the account (not in
//!   the dashboard), 10 % of participants rejoin, archives complete 5–40 min after the
//!   meeting ends (late archives of meetings ending near midnight arrive on D+1).

use crate::parts::{cpu_seconds, peak_rss_kib};
use anyhow::{Context, Result, bail};
use archiver_core::services::poller::PollOptions;
use archiver_core::services::reconcile::DayReport;
use archiver_core::{Clock, Ports, QuotaLedger, Source, ZoomApi, ZoomCredentials};
use archiver_testkit::{MemBlobStore, MemMetaStore, MemQuotaLedger, MemTaskQueue};
use archiver_zoom::{PacingConfig, ZoomClient, ZoomClientConfig};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zoom_archiver::app::App;
use zoom_archiver::config::FileConfig;
use zoom_archiver::estimate::{
    self, DAY_SECS, DEFAULT_QUOTA_SHARE, MEETINGS_DAILY, Mix, PAGE, PHONE_DAILY, thousands,
};
use zoom_sim::{GenSpec, Scenario, SimClock, SimServer, Stats};

/// The simulated day D.
pub const DAY: &str = "2026-11-24";

/// The ledger keys (rate-limit categories) in display order.
pub const KEYS: [&str; 8] = [
    "Light",
    "Medium",
    "Heavy",
    "Resource-intensive",
    "phone:Light",
    "phone:Medium",
    "phone:Heavy",
    "phone:Resource-intensive",
];

/// What to run.
#[derive(Clone, Debug)]
pub struct ApiBudgetOptions {
    /// Meetings on day D.
    pub meetings: usize,
    /// Phone calls on day D.
    pub calls: usize,
    /// Users of the account.
    pub users: usize,
    /// Users configured for recording (the first ones).
    pub recorded_users: usize,
    /// Poll interval.
    pub interval: Duration,
    /// Scenario seed.
    pub seed: u64,
    /// A second run at this multiple of the scale (meetings, calls, users, recorded users)
    /// to show that the per-unit costs are flat; 0 for none.
    pub also_scale: f64,
}

impl Default for ApiBudgetOptions {
    fn default() -> Self {
        ApiBudgetOptions {
            meetings: 2_000,
            calls: 20_000,
            users: 200,
            recorded_users: 50,
            interval: Duration::from_secs(300),
            seed: 42,
            also_scale: 0.5,
        }
    }
}

/// Calls per ledger key.
pub type Calls = BTreeMap<String, u64>;

/// The archiver's clock, following the simulator's manual clock.
struct SimTime(SimClock);

#[async_trait]
impl Clock for SimTime {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
    async fn sleep(&self, d: Duration) {
        self.0
            .advance(chrono::Duration::from_std(d).unwrap_or_default());
        tokio::task::yield_now().await;
    }
}

/// The ledger key of a simulator endpoint; `None` for what is not a rate-limited API call
/// the ledger counts (token requests, downloads).
pub fn ledger_key(endpoint: &str) -> Result<Option<&'static str>> {
    Ok(Some(match endpoint {
        "GET /archive_files" => "Medium",
        "GET /past_meetings/{meetingUUID}/archive_files" | "GET /users/{userId}" => "Light",
        "GET /metrics/meetings" => "Resource-intensive",
        "GET /metrics/meetings/{meetingId}/participants" => "Heavy",
        "GET /phone/recordings" => "phone:Medium",
        "GET /phone/call_history" | "GET /phone/call_logs" => "phone:Heavy",
        "GET /phone/call_history/{callHistoryUuid}" => "phone:Light",
        // Downloads (Zoom limits the phone one as Medium, but the budget does not count
        // downloads, and this bench makes none) and tokens.
        "POST /oauth/token"
        | "GET /rec/archive/download"
        | "GET /phone/recording/download"
        | "GET /file"
        | "GET /file (with Authorization)" => return Ok(None),
        other => bail!("the simulator served {other:?}, which this bench cannot classify"),
    }))
}

/// The calls per ledger key the simulator served between two snapshots.
pub fn calls_between(before: &Stats, after: &Stats) -> Result<Calls> {
    let mut out = Calls::new();
    for (endpoint, n) in &after.by_endpoint {
        let d = n - before.by_endpoint.get(endpoint).copied().unwrap_or(0);
        if d == 0 {
            continue;
        }
        if let Some(key) = ledger_key(endpoint)? {
            *out.entry(key.to_string()).or_default() += d;
        }
    }
    Ok(out)
}

/// Checks the endpoint → category map against the simulator's own classification (which
/// does not tell the Meetings and Phone tables apart).
fn check_classification(stats: &Stats) -> Result<()> {
    let calls = calls_between(&Stats::default(), stats)?;
    for (cat, n) in &stats.by_category {
        if cat == "Download" {
            continue;
        }
        let mine: u64 = calls
            .iter()
            .filter(|(k, _)| k.trim_start_matches("phone:") == cat)
            .map(|(_, v)| v)
            .sum();
        if mine != *n {
            bail!("the simulator counted {n} {cat} calls, its endpoints say {mine}");
        }
    }
    Ok(())
}

fn get(c: &Calls, key: &str) -> u64 {
    c.get(key).copied().unwrap_or(0)
}

fn add(a: &Calls, b: &Calls) -> Calls {
    let mut out = a.clone();
    for (k, v) in b {
        *out.entry(k.clone()).or_default() += v;
    }
    out
}

fn sub(a: &Calls, b: &Calls) -> Calls {
    a.iter()
        .map(|(k, v)| (k.clone(), v.saturating_sub(get(b, k))))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Heavy + Resource-intensive calls of the Meetings API (Zoom's 60,000 a day).
pub fn meetings_pool(c: &Calls) -> u64 {
    get(c, "Heavy") + get(c, "Resource-intensive")
}

/// Heavy + Resource-intensive calls of the Zoom Phone API (Zoom's 30,000 a day).
pub fn phone_pool(c: &Calls) -> u64 {
    get(c, "phone:Heavy") + get(c, "phone:Resource-intensive")
}

/// What the generated day holds.
#[derive(Clone, Debug, Default)]
pub struct ScenarioFacts {
    /// Meetings.
    pub meetings: u64,
    /// Hosted outside the account (not in the dashboard).
    pub external: u64,
    /// Not archived by Zoom.
    pub unarchived: u64,
    /// Archived without individual files.
    pub whole_only: u64,
    /// With at least one recorded user among the participants.
    pub with_recorded_users: u64,
    /// Participants of all meetings (a rejoin counts once).
    pub participants: u64,
    /// Calls.
    pub calls: u64,
    /// Connected calls.
    pub connected: u64,
    /// Calls of recorded users.
    pub of_recorded_users: u64,
    /// Recorded calls (phone recordings).
    pub recorded: u64,
}

/// One run at one scale.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The options of this run.
    pub opts: ApiBudgetOptions,
    /// The generated day.
    pub facts: ScenarioFacts,
    /// Polls per source (during D and after, until reconciliation).
    pub polls: u64,
    /// Polls per source during D.
    pub polls_in_day: u64,
    /// Calls of the polls during D.
    pub import_day: Calls,
    /// Calls of the polls after D, until reconciliation.
    pub import_after: Calls,
    /// Calls of reconciliation.
    pub reconcile: Calls,
    /// The ledger's counters, summed over the days of the run.
    pub ledger: Calls,
    /// The ledger's counters added by reconciliation.
    pub ledger_reconcile: Calls,
    /// Meetings listed by all polls (a meeting is listed by several).
    pub listed_meetings: u64,
    /// Recordings listed by all polls.
    pub listed_recordings: u64,
    /// Participants lookups the poller reported.
    pub participant_calls: u64,
    /// Reconciliation's report.
    pub report: DayReport,
    /// Wall seconds.
    pub wall_secs: f64,
    /// CPU seconds (archiver + simulator, one process).
    pub cpu_secs: f64,
    /// Ledger counters that disagree with the simulator.
    pub mismatches: Vec<String>,
}

/// Daily-limited (Heavy + Resource-intensive) calls per unit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Costs {
    /// Meetings API, polls, per meeting of the account.
    pub meeting_import: f64,
    /// Meetings API, reconciliation, per meeting.
    pub meeting_reconcile: f64,
    /// Phone API, polls, per call.
    pub phone_import: f64,
    /// Phone API, reconciliation, per call.
    pub phone_reconcile: f64,
}

impl Costs {
    /// Per meeting, import + reconciliation.
    pub fn meeting(&self) -> f64 {
        self.meeting_import + self.meeting_reconcile
    }
    /// Per call, import + reconciliation.
    pub fn phone(&self) -> f64 {
        self.phone_import + self.phone_reconcile
    }
}

impl RunResult {
    /// Calls of all polls.
    pub fn import(&self) -> Calls {
        add(&self.import_day, &self.import_after)
    }

    /// Calls of polls and reconciliation.
    pub fn total(&self) -> Calls {
        add(&self.import(), &self.reconcile)
    }

    /// The per-unit daily-limited costs.
    pub fn costs(&self) -> Costs {
        let n = self.facts.meetings.max(1) as f64;
        let m = self.facts.calls.max(1) as f64;
        let imp = self.import();
        Costs {
            meeting_import: meetings_pool(&imp) as f64 / n,
            meeting_reconcile: meetings_pool(&self.reconcile) as f64 / n,
            phone_import: phone_pool(&imp) as f64 / m,
            phone_reconcile: phone_pool(&self.reconcile) as f64 / m,
        }
    }

    /// Whether the ledger agreed with the simulator on every counter.
    pub fn ledger_agrees(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Everything the bench measured, and its printout.
#[derive(Debug)]
pub struct Outcome {
    /// One run per scale.
    pub runs: Vec<RunResult>,
    /// The printed report (Markdown).
    pub text: String,
    /// Whether every cross-check held.
    pub ok: bool,
}

fn day() -> NaiveDate {
    DAY.parse().expect("valid day")
}

fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

fn scenario(o: &ApiBudgetOptions) -> Scenario {
    let mix = Mix::default();
    let spec = GenSpec {
        seed: o.seed,
        start: start_of(day()),
        days: 1,
        users: o.users,
        meetings_per_day: o.meetings,
        calls_per_day: o.calls,
        recorded_call_ratio: mix.connected_calls,
        // Sizes do not change API counts: keep the files tiny.
        min_size: 2_000,
        max_size: 4_000,
    };
    let mut s = Scenario::generate_mixed(
        &spec,
        mix.unarchived,
        mix.no_individual,
        Some(o.recorded_users),
    );
    // A day runs in seconds: Zoom's per-second limits would only slow it down (the
    // daily budget is what is measured, and the bench fails if a call is refused).
    s.options.rate_limits = false;
    s.options.fingerprints = false;
    // The client caches its token by real time; the simulated clock jumps 30 hours in a
    // few seconds. A token that expired in simulated time would cost a 401 and a retry
    // the ledger does not see (a real client refreshes on real time, before expiry).
    s.options.token_ttl_secs = 30 * 86_400;
    s
}

/// The work of the default scenario's day, for the cost model (`bench cost`).
#[derive(Clone, Debug)]
pub struct DayVolume {
    /// Phone recordings made on the day.
    pub phone_recordings: f64,
    /// Hours of archived meetings with at least one recorded user.
    pub meeting_hours: f64,
    /// One line describing the scenario.
    pub description: String,
}

/// [`DayVolume`] of the scenario `bench api-budget` runs by default.
pub fn default_day_volume() -> DayVolume {
    let o = ApiBudgetOptions::default();
    let s = scenario(&o);
    let f = facts(&s, o.recorded_users);
    let a = &s.accounts[0];
    let emails: BTreeSet<&str> = a
        .users
        .iter()
        .take(o.recorded_users)
        .map(|u| u.email.as_str())
        .collect();
    let meeting_hours: f64 = a
        .meetings
        .iter()
        .filter(|m| {
            !m.files.is_empty()
                && m.participants
                    .iter()
                    .any(|p| emails.contains(p.email.as_str()))
        })
        .map(|m| f64::from(m.duration_secs) / 3600.0)
        .sum();
    DayVolume {
        phone_recordings: f.recorded as f64,
        meeting_hours,
        description: format!(
            "{} meetings, {} calls, {} users of which {} recorded",
            o.meetings, o.calls, o.users, o.recorded_users
        ),
    }
}

fn facts(s: &Scenario, recorded: usize) -> ScenarioFacts {
    let a = &s.accounts[0];
    let emails: BTreeSet<&str> = a
        .users
        .iter()
        .take(recorded)
        .map(|u| u.email.as_str())
        .collect();
    let exts: BTreeSet<u32> = a
        .users
        .iter()
        .take(recorded)
        .filter_map(|u| u.extension)
        .collect();
    let mut f = ScenarioFacts {
        meetings: a.meetings.len() as u64,
        calls: a.calls.len() as u64,
        ..ScenarioFacts::default()
    };
    for m in &a.meetings {
        f.participants += m.participants.len() as u64;
        f.external += u64::from(m.external);
        f.unarchived += u64::from(m.files.is_empty());
        f.whole_only += u64::from(!m.files.is_empty() && !m.files.iter().any(|x| x.individual));
        f.with_recorded_users += u64::from(
            m.participants
                .iter()
                .any(|p| emails.contains(p.email.as_str())),
        );
    }
    for c in &a.calls {
        f.connected += u64::from(c.result == "Call connected");
        f.of_recorded_users += u64::from(exts.contains(&c.owner.extension_number));
        f.recorded += u64::from(!c.recordings.is_empty());
    }
    f
}

fn config_text(o: &ApiBudgetOptions, sim: &SimServer) -> String {
    let a = &sim.scenario().accounts[0];
    let mut users = String::new();
    for (i, u) in a.users.iter().take(o.recorded_users).enumerate() {
        let _ = write!(
            users,
            "[[tenants.users]]\nemail = \"{}\"\nextension = \"{}\"\nmode = \"{}\"\n",
            u.email,
            u.extension.map(|e| e.to_string()).unwrap_or_default(),
            if i % 2 == 0 { "voice" } else { "video" }
        );
    }
    format!(
        r#"location = "bench-api-budget"
[[tenants]]
id = "bench"
account_id = "{}"
client_id = "{}"
client_secret = "{}"
api_base_url = "{}"
oauth_url = "{}"
sources = ["meetings", "phone"]
interval = "{}"
initial_lookback = "1h"
{users}"#,
        a.account_id,
        a.client_id,
        a.client_secret,
        sim.api_base_url(),
        sim.oauth_url(),
        humantime::format_duration(o.interval),
    )
}

async fn ledger_sum(
    ledger: &dyn QuotaLedger,
    account: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Calls> {
    let mut out = Calls::new();
    let mut d = from;
    while d <= to {
        for (k, v) in ledger.list(account, d).await? {
            *out.entry(k).or_default() += v;
        }
        d += chrono::Duration::days(1);
    }
    Ok(out)
}

/// Runs one scale.
pub async fn run_once(o: &ApiBudgetOptions) -> Result<RunResult> {
    if o.recorded_users > o.users {
        bail!(
            "--recorded-users ({}) cannot exceed --users ({})",
            o.recorded_users,
            o.users
        );
    }
    if o.interval.is_zero() {
        bail!("--interval must be positive");
    }
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    let d = day();
    let t0 = start_of(d);
    let scenario = scenario(o);
    let facts = facts(&scenario, o.recorded_users);
    let sim = SimServer::start_with_clock(scenario, SimClock::manual(t0))
        .await
        .context("starting the simulator")?;
    let cfg = FileConfig::parse(&config_text(o, &sim)).map_err(|e| anyhow::anyhow!(e))?;
    let tenant = cfg.tenants[0].clone();
    let clock: Arc<dyn Clock> = Arc::new(SimTime(sim.clock().clone()));
    let ports = Ports {
        blobs: Arc::new(MemBlobStore::new()),
        meta: Arc::new(MemMetaStore::new()),
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    let ledger: Arc<dyn QuotaLedger> = Arc::new(MemQuotaLedger::new());
    let secret = secrecy::ExposeSecret::expose_secret(
        tenant
            .client_secret
            .as_ref()
            .context("inline client secret")?,
    )
    .to_string();
    let client = ZoomClient::with_pacing(
        ZoomClientConfig::with_urls(
            tenant.api_base_url.clone(),
            tenant.oauth_url.clone(),
            ZoomCredentials {
                account_id: tenant.account_id.clone(),
                client_id: tenant.client_id.clone(),
                client_secret: secret.into(),
            },
        ),
        PacingConfig::disabled(),
    )
    .context("building the Zoom client")?;
    let mut zooms = archiver_core::services::runner::ZoomClients::new();
    zooms.insert(tenant.id.clone(), Arc::new(client) as Arc<dyn ZoomApi>);
    let app = App::assemble(
        &cfg,
        ports,
        zooms,
        ledger.clone(),
        Arc::new(archiver_testkit::MemAuditLog::new()),
    );
    let zoom = app.zooms.get(&tenant.id).context("the tenant's client")?;

    let interval = chrono::Duration::from_std(o.interval)?;
    let end_of_day = t0 + chrono::Duration::days(1);
    let grace = chrono::Duration::from_std(tenant.reconcile_grace)?;
    let reconcile_at = end_of_day + grace;
    let popts = PollOptions::default();
    let s_start = sim.stats();
    let mut s_day_end = s_start.clone();
    let (mut polls, mut polls_in_day) = (0u64, 0u64);
    let (mut listed_meetings, mut listed_recordings, mut participant_calls) = (0, 0, 0);
    let mut t = t0 + interval;
    while t <= reconcile_at {
        sim.clock().set(t);
        for source in Source::ALL {
            let r = app
                .poller
                .poll(&tenant, source, zoom.as_ref(), &popts)
                .await
                .with_context(|| format!("poll of {source} at {t}"))?;
            if let Some(why) = r.skipped {
                bail!("poll of {source} at {t} skipped: {why}");
            }
            if r.participants_deferred > 0 {
                bail!("the daily budget refused participants lookups at {t}");
            }
            match source {
                Source::Meetings => listed_meetings += r.listed,
                Source::Phone => listed_recordings += r.listed,
            }
            participant_calls += r.participant_calls;
        }
        polls += 1;
        if t <= end_of_day {
            polls_in_day += 1;
            s_day_end = sim.stats();
        }
        t += interval;
    }
    sim.clock().set(reconcile_at);
    let s_before = sim.stats();
    let account = tenant.account_id.as_str();
    let last = reconcile_at.date_naive();
    let l_before = ledger_sum(ledger.as_ref(), account, d, last).await?;
    let report = app
        .reconciler
        .reconcile_day(&tenant, zoom.as_ref(), d)
        .await
        .context("reconciliation")?;
    let s_after = sim.stats();
    let l_after = ledger_sum(ledger.as_ref(), account, d, last).await?;
    check_classification(&s_after)?;
    if s_after.rate_limited > 0 || s_after.errors_injected > 0 {
        bail!(
            "the simulator answered {} rate-limit and {} injected errors: counts would not be clean",
            s_after.rate_limited,
            s_after.errors_injected
        );
    }
    let import_day = calls_between(&s_start, &s_day_end)?;
    let import_after = calls_between(&s_day_end, &s_before)?;
    let reconcile = calls_between(&s_before, &s_after)?;
    let total = calls_between(&s_start, &s_after)?;
    let mut mismatches = Vec::new();
    for key in KEYS {
        let (sim_n, led) = (get(&total, key), get(&l_after, key));
        if sim_n != led {
            mismatches.push(format!("{key}: simulator {sim_n}, ledger {led}"));
        }
    }
    for (pool, sim_n) in [
        ("pool:meetings", meetings_pool(&total)),
        ("pool:phone", phone_pool(&total)),
    ] {
        let led = get(&l_after, pool);
        if sim_n != led {
            mismatches.push(format!(
                "{pool}: simulator Heavy + Resource-intensive {sim_n}, ledger {led}"
            ));
        }
    }
    Ok(RunResult {
        opts: o.clone(),
        facts,
        polls,
        polls_in_day,
        import_day,
        import_after,
        reconcile,
        ledger_reconcile: sub(&l_after, &l_before),
        ledger: l_after,
        listed_meetings,
        listed_recordings,
        participant_calls,
        report,
        wall_secs: wall0.elapsed().as_secs_f64(),
        cpu_secs: cpu_seconds() - cpu0,
        mismatches,
    })
}

fn pct(part: u64, whole: u64) -> String {
    format!("{:.1} %", part as f64 * 100.0 / whole.max(1) as f64)
}

fn endpoint_of(key: &str) -> &'static str {
    estimate::CATEGORIES
        .iter()
        .find(|c| c.0 == key)
        .map_or("", |c| c.4)
}

/// The report of one run (Markdown).
pub fn render_run(r: &RunResult) -> String {
    let mut o = String::new();
    let f = &r.facts;
    let opts = &r.opts;
    let _ = writeln!(
        o,
        "### {} meetings, {} calls, {} users ({} recorded), polls every {}",
        thousands(f.meetings as f64),
        thousands(f.calls as f64),
        opts.users,
        opts.recorded_users,
        humantime::format_duration(opts.interval)
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Scenario (day {DAY}, seed {}): meetings: {} not archived, {} archived without individual files ({} of the archived), \
         {} with a recorded user, {} hosted outside the account; calls: {} connected, {} of recorded users, {} recorded.",
        opts.seed,
        pct(f.unarchived, f.meetings),
        pct(f.whole_only, f.meetings),
        pct(f.whole_only, f.meetings - f.unarchived),
        pct(f.with_recorded_users, f.meetings),
        pct(f.external, f.meetings),
        pct(f.connected, f.calls),
        pct(f.of_recorded_users, f.calls),
        pct(f.recorded, f.calls),
    );
    let _ = writeln!(
        o,
        "Run: {} polls per source ({} during D, {} after it until reconciliation at D+1 + 6 h grace), then one reconciliation of D; \
         downloads not run (not API calls; CDR drafts kept). Wall {:.1} s, CPU {:.1} s (archiver + simulator), process peak RSS so far {:.0} MiB.",
        r.polls,
        r.polls_in_day,
        r.polls - r.polls_in_day,
        r.wall_secs,
        r.cpu_secs,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| category | endpoint | import: polls during D | import: polls after D | reconciliation | total (simulator) | ledger |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    let total = r.total();
    for key in KEYS {
        let _ = writeln!(
            o,
            "| {key} | {} | {} | {} | {} | {} | {} |",
            endpoint_of(key),
            get(&r.import_day, key),
            get(&r.import_after, key),
            get(&r.reconcile, key),
            get(&total, key),
            get(&r.ledger, key)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| daily pool | simulator: import | simulator: reconciliation | simulator: total | ledger: total | ledger: reconciliation | agree |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    let imp = r.import();
    for (pool, f) in [
        ("pool:meetings", meetings_pool as fn(&Calls) -> u64),
        ("pool:phone", phone_pool),
    ] {
        let (sim_t, led) = (f(&total), get(&r.ledger, pool));
        let _ = writeln!(
            o,
            "| {pool} | {} | {} | {sim_t} | {led} | {} | {} |",
            f(&imp),
            f(&r.reconcile),
            get(&r.ledger_reconcile, pool),
            if sim_t == led { "yes" } else { "**NO**" }
        );
    }
    let e = estimate_of(r);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "`zoom-archiver estimate` for this scenario (its generated shares and sizes): {}.",
        ["Light", "Heavy", "Resource-intensive", "phone:Heavy"]
            .iter()
            .map(|k| {
                let est = e.get(k).map_or(0.0, |c| c.total());
                format!(
                    "{k} {} estimated / {} measured",
                    thousands(est),
                    get(&total, k)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    for m in &r.mismatches {
        let _ = writeln!(o, "\nMISMATCH {m}");
    }
    let rep = &r.report;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Reconciliation of {}: phone archived {} / pending {} / not archived {} / not recorded {}; meetings archived {} / pending {} / not archived {} / not recorded {}; \
         {} \"recording failed\" CDRs written (recordings stay \"pending\": nothing was downloaded). Its own call count: {}.",
        rep.day,
        rep.phone.archived,
        rep.phone.pending,
        rep.phone.not_archived,
        rep.phone.not_recorded,
        rep.meetings.archived,
        rep.meetings.pending,
        rep.meetings.not_archived,
        rep.meetings.not_recorded,
        rep.failed_cdrs_written,
        rep.zoom_calls
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    o
}

/// What [`estimate::estimate`] predicts for the generated day of a run.
pub fn estimate_of(r: &RunResult) -> estimate::Estimate {
    let f = &r.facts;
    let mut i = estimate::Inputs::new(f.meetings as f64, f.calls as f64);
    i.interval = r.opts.interval;
    i.reconcile = true;
    i.recorded_users = Some(r.opts.recorded_users as u64);
    i.users = Some(r.opts.users as u64);
    let archived = f.meetings.saturating_sub(f.unarchived).max(1) as f64;
    i.mix.unarchived = f.unarchived as f64 / f.meetings.max(1) as f64;
    i.mix.no_individual = f.whole_only as f64 / archived;
    i.mix.connected_calls = f.connected as f64 / f.calls.max(1) as f64;
    i.mix.participants = f.participants as f64 / f.meetings.max(1) as f64;
    estimate::estimate(&i)
}

fn ratio_cell(capacity: f64, spec: f64) -> (String, bool) {
    let x = capacity / spec;
    let meets = x >= 2.0;
    (
        if x.is_finite() {
            format!("{x:.2}×")
        } else {
            "∞".into()
        },
        meets,
    )
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "**NO**" }
}

/// Capacity for a daily `limit` at `cost` per unit, or `None` when nothing is daily-limited.
fn capacity(limit: f64, cost: f64) -> Option<f64> {
    (cost > 0.0).then(|| limit / cost)
}

/// The per-unit costs of the runs and the capacity table beside the spec (Markdown).
pub fn render_summary(runs: &[RunResult]) -> String {
    let mut o = String::new();
    let Some(first) = runs.first() else {
        return o;
    };
    let interval = humantime::format_duration(first.opts.interval).to_string();
    let costs: Vec<Costs> = runs.iter().map(RunResult::costs).collect();
    // The largest run: the closest to real volumes (a listing's last page weighs least).
    let (first, c) = (
        runs.last().unwrap_or(first),
        *costs.last().unwrap_or(&costs[0]),
    );
    let _ = writeln!(
        o,
        "### Daily-limited calls per unit (Heavy + Resource-intensive)"
    );
    let _ = writeln!(o);
    let mut head = String::from("| cost |");
    let mut rule = String::from("|---|");
    for r in runs {
        let _ = write!(
            head,
            " {} meetings / {} calls |",
            thousands(r.facts.meetings as f64),
            thousands(r.facts.calls as f64)
        );
        rule.push_str("---|");
    }
    if runs.len() > 1 {
        head.push_str(" change |");
        rule.push_str("---|");
    }
    let _ = writeln!(o, "{head}\n{rule}");
    type Pick = fn(&Costs) -> f64;
    let rows: [(&str, Pick); 6] = [
        ("Meetings API, polls, per meeting", |c| c.meeting_import),
        ("Meetings API, reconciliation, per meeting", |c| {
            c.meeting_reconcile
        }),
        ("Meetings API, both, per meeting", Costs::meeting),
        ("Phone API, polls, per call", |c| c.phone_import),
        ("Phone API, reconciliation, per call", |c| c.phone_reconcile),
        ("Phone API, both, per call", Costs::phone),
    ];
    for (name, pick) in rows {
        let _ = write!(o, "| {name} |");
        for x in &costs {
            let _ = write!(o, " {:.5} |", pick(x));
        }
        if let (Some(a), Some(b)) = (costs.first(), costs.last())
            && runs.len() > 1
        {
            let (a, b) = (pick(a), pick(b));
            let _ = write!(
                o,
                " {} |",
                if a == 0.0 && b == 0.0 {
                    "flat (0)".to_string()
                } else {
                    format!("{:+.1} %", (b - a) / a.max(f64::MIN_POSITIVE) * 100.0)
                }
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "### Capacity beside the spec (Business+, polls every {interval}; costs of the largest run)"
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Capacity = Zoom's daily limit / measured daily-limited calls per unit. The spec counts every call against the \
         60,000-a-day Heavy + Resource-intensive limit; Zoom's reference lists the Phone API with its own 30,000-a-day \
         limit (second column). This system spends {:.0} % of each limit by default (`quota_share`, last column).",
        DEFAULT_QUOTA_SHARE * 100.0
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| spec row | spec | measured daily-limited calls | capacity at 60,000/day | × spec | meets 2× | Phone table (30,000/day) | within the {:.0} % share |",
        DEFAULT_QUOTA_SHARE * 100.0
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    let share = DEFAULT_QUOTA_SHARE;
    // Meetings, import.
    for (name, spec, cost) in [
        ("Meetings, import", 30_000.0, c.meeting_import),
        ("Meetings, import + reconciliation", 29_000.0, c.meeting()),
    ] {
        match capacity(MEETINGS_DAILY, cost) {
            Some(cap) => {
                let (x, meets) = ratio_cell(cap, spec);
                let (xs, _) = ratio_cell(cap * share, spec);
                let _ = writeln!(
                    o,
                    "| {name} | {} meetings | {cost:.5} / meeting | {} meetings | {x} | {} | n/a | {} meetings ({xs}) |",
                    thousands(spec),
                    thousands(cap),
                    yes(meets),
                    thousands(cap * share)
                );
            }
            None => {
                // Only the listing: bounded by Medium's 60/s.
                let per_item = first.listed_meetings as f64
                    / (first.facts.meetings - first.facts.unarchived).max(1) as f64;
                let bound = 60.0 * DAY_SECS * PAGE / per_item.max(1.0);
                let (x, meets) = ratio_cell(bound, spec);
                let _ = writeln!(
                    o,
                    "| {name} | {} meetings | no daily-limited calls | per-second bound: 60/s × 86,400 × 300 / {per_item:.1} listings per meeting = {} meetings | {x} | {} | n/a | same |",
                    thousands(spec),
                    thousands(bound),
                    yes(meets)
                );
            }
        }
    }
    // Phone, import only (the spec's "no limit").
    {
        let per_item = first.listed_recordings as f64 / first.facts.recorded.max(1) as f64;
        let recorded_share = first.facts.recorded as f64 / first.facts.calls.max(1) as f64;
        let bound = 20.0 * DAY_SECS * PAGE / per_item.max(1.0);
        match capacity(PHONE_DAILY, c.phone_import) {
            None => {
                let _ = writeln!(
                    o,
                    "| Phone, import (info) | no limit | no daily-limited calls | per-second bound: Phone Medium 20/s × 86,400 × 300 / {per_item:.1} listings per recording = {} recordings ({} calls at {:.0} % recorded) | - | - | - | - |",
                    thousands(bound),
                    thousands(bound / recorded_share.max(f64::MIN_POSITIVE)),
                    recorded_share * 100.0
                );
            }
            Some(cap) => {
                let _ = writeln!(
                    o,
                    "| Phone, import (info) | no limit | {:.5} / call | {} calls | - | - | {} calls | - |",
                    c.phone_import,
                    thousands(MEETINGS_DAILY / c.phone_import),
                    thousands(cap)
                );
            }
        }
    }
    // Phone, import + reconciliation.
    {
        let spec = 4_500_000.0;
        let cost = c.phone();
        match (capacity(MEETINGS_DAILY, cost), capacity(PHONE_DAILY, cost)) {
            (Some(cap), Some(cap_p)) => {
                let (x, meets) = ratio_cell(cap, spec);
                let (xp, meets_p) = ratio_cell(cap_p, spec);
                let (xs, _) = ratio_cell(cap_p * share, spec);
                let _ = writeln!(
                    o,
                    "| Phone, import + reconciliation | {} calls | {cost:.5} / call | {} calls | {x} | {} | {} calls, {xp}, meets 2×: {} | {} calls ({xs}) of the Phone table |",
                    thousands(spec),
                    thousands(cap),
                    yes(meets),
                    thousands(cap_p),
                    yes(meets_p),
                    thousands(cap_p * share)
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "| Phone, import + reconciliation | {} calls | no daily-limited calls | ∞ | ∞ | yes | ∞ | ∞ |",
                    thousands(spec)
                );
            }
        }
    }
    // Combined, at twice the spec's mix.
    {
        let (calls, meetings) = (2_200_000.0, 14_500.0);
        let used_p = 2.0 * calls * c.phone();
        let used_m = 2.0 * meetings * c.meeting();
        let used = used_p + used_m;
        let fits_shared = used <= MEETINGS_DAILY;
        let fits_tables = used_m <= MEETINGS_DAILY && used_p <= PHONE_DAILY;
        let scale = if used > 0.0 {
            MEETINGS_DAILY / (used / 2.0)
        } else {
            f64::INFINITY
        };
        let _ = writeln!(
            o,
            "| Combined with reconciliation | {} calls + {} meetings | at 2× (4,400,000 calls + 29,000 meetings): {} + {} = {} calls | {} of 60,000 ({:.1} %) | {} | {} | meetings {} of 60,000, phone {} of 30,000 ({:.1} %): meets 2×: {} | {} of {} meetings, {} of {} phone |",
            thousands(calls),
            thousands(meetings),
            thousands(used_p),
            thousands(used_m),
            thousands(used),
            thousands(used),
            used / MEETINGS_DAILY * 100.0,
            if scale.is_finite() {
                format!("{scale:.2}×")
            } else {
                "∞".into()
            },
            yes(fits_shared),
            thousands(used_m),
            thousands(used_p),
            used_p / PHONE_DAILY * 100.0,
            yes(fits_tables),
            thousands(used_m),
            thousands(MEETINGS_DAILY * share),
            thousands(used_p),
            thousands(PHONE_DAILY * share),
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Assumptions: see `zoom-archiver estimate --help` and the module docs of `archiver_bench::api_budget`: {:.0} % of meetings not archived, \
         {:.0} % of archived meetings without individual files, {:.0} % of calls connected, only recorded users' calls recorded.",
        Mix::default().unarchived * 100.0,
        Mix::default().no_individual * 100.0,
        Mix::default().connected_calls * 100.0
    );
    o
}

/// The options scaled by `f` (meetings, calls, users and recorded users; at least 1 each).
pub fn scaled(o: &ApiBudgetOptions, f: f64) -> ApiBudgetOptions {
    let s = |x: usize| ((x as f64 * f).round() as usize).max(1);
    ApiBudgetOptions {
        meetings: s(o.meetings),
        calls: s(o.calls),
        users: s(o.users).max(2),
        recorded_users: s(o.recorded_users),
        ..o.clone()
    }
}

/// Runs the bench (the given scale, then `also_scale` times it) and renders it.
pub async fn api_budget(opts: &ApiBudgetOptions) -> Result<Outcome> {
    let mut scales = vec![opts.clone()];
    if opts.also_scale > 0.0 && opts.also_scale != 1.0 {
        scales.push(scaled(opts, opts.also_scale));
    }
    let mut runs = Vec::new();
    let mut text = String::from("## API economy (`bench api-budget`)\n\n");
    for s in &scales {
        eprintln!(
            "bench api-budget: {} meetings, {} calls, {} users ({} recorded)...",
            s.meetings, s.calls, s.users, s.recorded_users
        );
        let r = run_once(s).await?;
        text.push_str(&render_run(&r));
        text.push('\n');
        runs.push(r);
    }
    runs.sort_by_key(|r| (r.facts.meetings, r.facts.calls));
    text.push_str(&render_summary(&runs));
    let ok = runs.iter().all(RunResult::ledger_agrees);
    if !ok {
        text.push_str(
            "\nFAILED: the quota ledger disagrees with the simulator (see MISMATCH lines).\n",
        );
    }
    Ok(Outcome { runs, text, ok })
}
