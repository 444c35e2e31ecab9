//! A soak run: the embedded pipeline over simulated days with random faults.
//!
//! A generated scenario of `days` days is served on a manual clock that starts at the
//! scenario's start and is advanced by the poll interval after every cycle (poll both
//! sources, drain). Before each cycle, each fault knob fires with probability `fault_rate`
//! (429 storms, 5xx, expired page tokens, corrupt listings, token revocation, object store,
//! metadata store and queue errors); per-file faults (cut bodies, HTML/JSON bodies with 200,
//! deletions at Zoom) are planned once per file with the same probability. Every injected
//! fault is transient except deletions, so at the end (faults cleared, one more day of
//! cycles) the archive must equal a fault-free run's, except that deleted files end `gone`.

use crate::invariants::{Expect, Snapshot, check_invariants};
use crate::{Backend, Harness, HarnessOptions, backend_ports, generated_tenant, zoom_client_with};
use archiver_core::{BlobStore, MetaStore, Ports, Source, TaskQueue};
use archiver_testkit::faults::{FaultPlan, FaultyBlobStore, FaultyMetaStore, FaultyQueue};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use zoom_sim::{RetryAfter, Scenario, SimClock, SimServer};

/// How a soak runs.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Simulated days.
    pub days: u32,
    /// Probability that each fault knob fires per cycle (and per file, for file faults).
    pub fault_rate: f64,
    /// Seed of the scenario and of the fault schedule.
    pub seed: u64,
    /// Meetings per day in the generated scenario.
    pub meetings_per_day: usize,
    /// Phone calls per day in the generated scenario.
    pub calls_per_day: usize,
    /// Simulated time between cycles.
    pub interval: Duration,
}

impl Default for SoakOptions {
    fn default() -> Self {
        Self {
            days: 1,
            fault_rate: 0.05,
            seed: 1,
            meetings_per_day: 4,
            calls_per_day: 6,
            interval: Duration::hours(1),
        }
    }
}

/// What a soak did.
#[derive(Clone, Debug, Default)]
pub struct SoakSummary {
    /// The options.
    pub days: u32,
    /// Fault rate.
    pub fault_rate: f64,
    /// Seed.
    pub seed: u64,
    /// Cycles run.
    pub cycles: u32,
    /// File records.
    pub files: usize,
    /// Files archived.
    pub archived: usize,
    /// Files gone at Zoom.
    pub gone: usize,
    /// Files failed.
    pub failed: usize,
    /// Bytes archived.
    pub bytes: u64,
    /// CDRs.
    pub cdrs: usize,
    /// Faults planned, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Faults the simulator reports as fired (`errors_injected`).
    pub sim_faults_fired: u64,
    /// Store/queue faults the wrappers injected.
    pub store_faults_fired: u64,
    /// Retries the drains scheduled.
    pub retries: u64,
    /// Polls that ended with an error (retried by the next cycle).
    pub poll_errors: u64,
    /// Drains stopped by a queue error (retried by the next cycle).
    pub drain_errors: u64,
    /// Zoom API calls by endpoint.
    pub api_calls: BTreeMap<String, u64>,
    /// Invariant violations (empty when the soak passed).
    pub violations: Vec<String>,
    /// Wall-clock time.
    pub elapsed: std::time::Duration,
}

impl SoakSummary {
    /// True when no invariant was violated.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for SoakSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row =
            |f: &mut fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "| {k:<48} | {v:>16} |");
        writeln!(f, "| {:<48} | {:>16} |", "soak", "value")?;
        writeln!(f, "|{:-<50}|{:->18}|", "", "")?;
        row(
            f,
            "days / fault rate / seed",
            format!("{} / {} / {}", self.days, self.fault_rate, self.seed),
        )?;
        row(f, "cycles", self.cycles.to_string())?;
        row(f, "files", self.files.to_string())?;
        row(f, "  archived", self.archived.to_string())?;
        row(f, "  gone (deleted at Zoom)", self.gone.to_string())?;
        row(f, "  failed", self.failed.to_string())?;
        row(f, "bytes archived", self.bytes.to_string())?;
        row(f, "CDRs", self.cdrs.to_string())?;
        for (k, v) in &self.faults {
            row(f, &format!("fault planned: {k}"), v.to_string())?;
        }
        row(
            f,
            "faults fired (simulator)",
            self.sim_faults_fired.to_string(),
        )?;
        row(
            f,
            "faults fired (stores/queue)",
            self.store_faults_fired.to_string(),
        )?;
        row(f, "retries scheduled", self.retries.to_string())?;
        row(
            f,
            "polls failed (redone next cycle)",
            self.poll_errors.to_string(),
        )?;
        row(f, "drains stopped (redone)", self.drain_errors.to_string())?;
        for (k, v) in &self.api_calls {
            row(f, &format!("API {k}"), v.to_string())?;
        }
        row(f, "violations", self.violations.len().to_string())?;
        row(f, "wall time", format!("{:.1?}", self.elapsed))?;
        for v in &self.violations {
            writeln!(f, "VIOLATION: {v}")?;
        }
        Ok(())
    }
}

fn scenario(o: &SoakOptions, start: DateTime<Utc>) -> Scenario {
    Scenario::generate(&zoom_sim::GenSpec {
        seed: o.seed,
        start,
        days: o.days,
        users: 6,
        meetings_per_day: o.meetings_per_day,
        calls_per_day: o.calls_per_day,
        recorded_call_ratio: 0.8,
        min_size: 2_000,
        max_size: 40_000,
    })
}

fn all_file_ids(s: &Scenario) -> Vec<String> {
    let a = &s.accounts[0];
    a.meetings
        .iter()
        .flat_map(|m| m.files.iter().map(|f| f.id.clone()))
        .chain(
            a.calls
                .iter()
                .flat_map(|c| c.recordings.iter().map(|r| r.id.clone())),
        )
        .collect()
}

struct Run {
    h: Harness,
    plan: FaultPlan,
    cycles: u32,
    retries: u64,
    poll_errors: u64,
    drain_errors: u64,
    drain_stalls: u64,
}

async fn start(o: &SoakOptions, begin: DateTime<Utc>, faulty: bool) -> Run {
    let sim = SimServer::start_with_clock(scenario(o, begin), SimClock::manual(begin))
        .await
        .expect("simulator starts");
    let tenant = generated_tenant(&sim, 4, 1);
    let opts = HarnessOptions::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = backend_ports(Backend::Local, &sim, dir.path());
    let plan = FaultPlan::new();
    let ports = if faulty {
        Ports {
            blobs: Arc::new(FaultyBlobStore::new(local.blobs.clone(), plan.clone()))
                as Arc<dyn BlobStore>,
            meta: Arc::new(FaultyMetaStore::new(local.meta.clone(), plan.clone()))
                as Arc<dyn MetaStore>,
            queue: Arc::new(FaultyQueue::new(local.queue.clone(), plan.clone()))
                as Arc<dyn TaskQueue>,
            clock: local.clock.clone(),
        }
    } else {
        local
    };
    let zoom = zoom_client_with(&tenant, &opts);
    let mut h = Harness::assemble(sim, tenant, ports, zoom, opts.concurrency, dir);
    h.drain_opts.max_wait = std::time::Duration::from_secs(2 * 3600);
    h.drain_opts.visibility = std::time::Duration::from_secs(120);
    Run {
        h,
        plan,
        cycles: 0,
        retries: 0,
        poll_errors: 0,
        drain_errors: 0,
        drain_stalls: 0,
    }
}

impl Run {
    async fn cycle(&mut self, interval: Duration) {
        for s in [Source::Meetings, Source::Phone] {
            if self.h.try_poll(s).await.is_err() {
                self.poll_errors += 1;
            }
        }
        // Simulated time passes while the drain waits, so that a task orphaned in flight by a
        // failed ack becomes visible again (see the ignored test
        // `a_failed_ack_does_not_stall_the_drain`: without this the drain would wait forever).
        let clock = self.h.sim.clock().clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                clock.advance(Duration::seconds(10));
            }
        });
        let drained =
            tokio::time::timeout(std::time::Duration::from_secs(60), self.h.try_drain()).await;
        ticker.abort();
        match drained {
            Ok(Ok(d)) => self.retries += d.retries,
            Ok(Err(_)) => self.drain_errors += 1,
            Err(_) => self.drain_stalls += 1,
        }
        self.cycles += 1;
        self.h.sim.clock().advance(interval);
    }
}

const STORE_OPS: [&str; 8] = [
    "put_stream",
    "head",
    "update_file",
    "get_cdr",
    "update_cdr",
    "insert_file",
    "ack",
    "retry_later",
];

/// Runs a soak and checks the invariants at the end (see the module docs).
pub async fn run(o: &SoakOptions) -> SoakSummary {
    let t0 = std::time::Instant::now();
    let begin = Utc::now() - Duration::days(i64::from(o.days) + 1);
    let mut rng = fastrand::Rng::with_seed(o.seed);
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    let mut count = |k: &str| *faults.entry(k.to_string()).or_default() += 1;
    let rate = o.fault_rate.clamp(0.0, 1.0);

    let mut run = start(o, begin, true).await;
    let mut clean = start(o, begin, false).await;
    // Per-file faults, planned once.
    let mut deleted = BTreeSet::new();
    for id in all_file_ids(run.h.sim.scenario()) {
        if rng.f64() >= rate {
            continue;
        }
        let f = run.h.sim.faults();
        match rng.u8(0..4) {
            0 => {
                f.cut_body(&id, rng.u64(100..1_500), rng.u32(1..3));
                count("download: connection cut mid-body");
            }
            1 => {
                f.html_200(&id, 1);
                count("download: HTML with 200");
            }
            2 => {
                f.json_200(&id, 2);
                count("download: JSON error with 200");
            }
            _ => {
                f.delete_file(&id);
                deleted.insert(id.clone());
                count("download: deleted at Zoom (404)");
            }
        }
    }
    let end = begin + Duration::days(i64::from(o.days)) + Duration::hours(6);
    while run.h.sim.clock().now() < end {
        let f = run.h.sim.faults();
        let roll = |rng: &mut fastrand::Rng| rng.f64() < rate;
        if roll(&mut rng) {
            f.rate_limit_next("/v2/archive_files", rng.u32(1..6), RetryAfter::None);
            count("listing: 429 storm (no Retry-After)");
        }
        if roll(&mut rng) {
            f.rate_limit_next(
                "/v2/phone/recordings",
                rng.u32(1..6),
                RetryAfter::Seconds(0),
            );
            count("listing: 429 storm (Retry-After)");
        }
        if roll(&mut rng) {
            f.rate_limit_next(
                "/rec/archive/download",
                rng.u32(1..10),
                RetryAfter::Seconds(30),
            );
            count("download: 429 storm (Retry-After 30s)");
        }
        if roll(&mut rng) {
            f.fail_next("/v2/archive_files", rng.u32(1..6), 503);
            count("listing: 5xx burst");
        }
        if roll(&mut rng) {
            f.fail_next("/rec/archive/download", rng.u32(1..8), 502);
            count("download: 5xx burst");
        }
        if roll(&mut rng) {
            f.expire_page_tokens_next("/v2/archive_files", 1);
            count("listing: page token expired");
        }
        if roll(&mut rng) {
            f.malformed_listing("/v2/phone/recordings", 1);
            count("listing: malformed JSON");
        }
        if roll(&mut rng) {
            f.truncated_listing("/v2/archive_files", 1);
            count("listing: truncated JSON");
        }
        if roll(&mut rng) {
            f.revoke_tokens();
            count("oauth: tokens revoked");
        }
        for op in STORE_OPS {
            if roll(&mut rng) {
                run.plan.fail_next(op, 1);
                count(&format!("store: {op} error"));
            }
        }
        run.cycle(o.interval).await;
        clean.cycle(o.interval).await;
    }
    // Faults stop; give the pipeline a day (in cycles) to settle.
    run.h.sim.faults().clear();
    run.plan.clear();
    for id in &deleted {
        run.h.sim.faults().delete_file(id);
    }
    for _ in 0..4 {
        run.cycle(Duration::hours(6)).await;
        clean.cycle(Duration::hours(6)).await;
    }

    let report = check_invariants(&run.h, &Expect::default()).await;
    let base = check_invariants(&clean.h, &Expect::default()).await;
    let mut violations = report.violations.clone();
    if run.drain_stalls > 0 {
        violations.push(format!("{} drains stalled for 60 s", run.drain_stalls));
    }
    violations.extend(
        base.violations
            .iter()
            .map(|v| format!("fault-free run: {v}")),
    );
    violations.extend(compare(&base.snapshot, &report.snapshot, &deleted));
    for f in run.h.files().await {
        if let archiver_core::FileState::Failed { reason, .. } = &f.state {
            violations.push(format!("file {} failed: {reason}", f.file_id));
        }
    }

    let stats = run.h.sim.stats();
    SoakSummary {
        days: o.days,
        fault_rate: o.fault_rate,
        seed: o.seed,
        cycles: run.cycles,
        files: report.snapshot.files.len(),
        archived: report.archived,
        gone: report.gone,
        failed: report.failed,
        bytes: report.bytes,
        cdrs: report.cdrs,
        faults,
        sim_faults_fired: stats.errors_injected,
        store_faults_fired: run.plan.injected(),
        retries: run.retries,
        poll_errors: run.poll_errors,
        drain_errors: run.drain_errors,
        api_calls: stats.by_endpoint,
        violations,
        elapsed: t0.elapsed(),
    }
}

/// Differences between a fault-free run and a faulty one: the same files and CDRs, each file
/// archived in both, except files deleted at Zoom (gone, or archived before the deletion).
fn compare(base: &Snapshot, got: &Snapshot, deleted: &BTreeSet<String>) -> Vec<String> {
    let mut v = Vec::new();
    if base.cdrs != got.cdrs {
        let lost: Vec<_> = base.cdrs.difference(&got.cdrs).collect();
        let extra: Vec<_> = got.cdrs.difference(&base.cdrs).collect();
        v.push(format!("CDRs differ: lost {lost:?}, extra {extra:?}"));
    }
    for (id, want) in &base.files {
        match got.files.get(id) {
            None => v.push(format!(
                "file {id} ({want} without faults) was never recorded"
            )),
            Some(s) if s == want => {}
            Some(s) if deleted.contains(id) && s == "gone" => {}
            Some(s) => v.push(format!("file {id} ended {s}, {want} without faults")),
        }
    }
    for id in got.files.keys().filter(|k| !base.files.contains_key(*k)) {
        v.push(format!("file {id} recorded only under faults"));
    }
    v
}
