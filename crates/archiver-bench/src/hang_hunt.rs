//! `zoom-archiver-bench hang-hunt`: the embedded `run --once` many times in a row on a
//! generated scenario, under CPU load, each run watched by a watchdog (issue 14, item 8).
//!
//! Every run is the shipped binary (`zoom-archiver --config … run --once`) on a data
//! directory of its own, against one Zoom simulator in this process (a generated account
//! with meetings and phone calls; Zoom's per-second limits on, so the runs meet 429s).
//! While the runs go, `--load` child processes (`zoom-archiver-bench burn`) spin on the
//! cores. A run that has not exited after `--watchdog` is a hang: the watchdog writes what
//! the run had left (files not archived with their state, the queue's counts) and the state
//! of each of its threads (`/proc/<pid>/task/*/stat`, `wchan`) to `hang-<n>.txt` in the
//! scratch directory, kills the run and goes on.
//!
//! Each run must also end well: exit 0 and every selected file archived (the totals table
//! `run --once` prints). The table printed at the end gives runs, hangs, bad endings and
//! run times; the command exits 1 when any run hung or ended badly.

use anyhow::{Context, Result, bail};
use archiver_core::{FileQuery, MetaStore, SystemClock, TaskQueue};
use archiver_local::{DB_FILE, SqliteMetaStore, SqliteTaskQueue};
use chrono::{Duration as Days, Utc};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zoom_sim::{GenSpec, Scenario, SimServer};

/// What `hang-hunt` is asked to do.
pub struct HangHuntOptions {
    /// The `zoom-archiver` executable to run.
    pub bin: PathBuf,
    /// Runs in a row.
    pub runs: usize,
    /// `[download] concurrency` of each run.
    pub workers: usize,
    /// A run still going after this long is a hang.
    pub watchdog: Duration,
    /// CPU-burning child processes beside the runs.
    pub load: usize,
    /// Scenario seed.
    pub seed: u64,
    /// Scratch directory (must not exist; kept when a run hung or ended badly).
    pub dir: PathBuf,
}

/// The table, and whether every run ended, well.
pub struct HangHuntOutcome {
    /// The printed table.
    pub text: String,
    /// No hang and no bad ending.
    pub ok: bool,
}

/// The generated account of the hunt: about 150 files (meetings with individual and
/// whole-meeting files, recorded phone calls), small so that a run takes seconds.
pub fn scenario(seed: u64) -> Scenario {
    let spec = GenSpec {
        seed,
        start: Utc::now() - Days::days(2),
        days: 2,
        users: 8,
        meetings_per_day: 10,
        calls_per_day: 30,
        recorded_call_ratio: 0.8,
        min_size: 20_000,
        max_size: 400_000,
    };
    let mut s = Scenario::generate(&spec);
    s.options.fingerprints = false;
    s
}

/// Child processes spinning on the cores until dropped.
struct Load(Vec<Child>);

impl Load {
    fn start(n: usize) -> Result<Load> {
        let exe = std::env::current_exe().context("locating this executable")?;
        let mut children = Vec::new();
        for _ in 0..n {
            children.push(
                Command::new(&exe)
                    .arg("burn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .context("starting a CPU burner")?,
            );
        }
        Ok(Load(children))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `zoom-archiver-bench burn`: spins one core until its parent goes away.
pub fn burn() {
    let parent = std::os::unix::process::parent_id();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        for _ in 0..10_000_000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

/// How one run ended.
#[derive(Debug)]
enum Ending {
    /// Exit 0 with every selected file archived.
    Clean { took: Duration, archived: u64 },
    /// Exited, but not as it should (the reason).
    Bad { took: Duration, why: String },
    /// Killed by the watchdog (the dump's path).
    Hung { dump: PathBuf },
}

fn config(data_dir: &Path, sim: &SimServer, workers: usize) -> String {
    let account = &sim.scenario().accounts[0];
    let mut users = String::new();
    for (i, u) in account.users.iter().enumerate() {
        let mode = if i % 2 == 0 { "voice" } else { "video" };
        users.push_str(&format!(
            "[[tenants.users]]\nemail = \"{}\"\nmode = \"{mode}\"\n",
            u.email
        ));
        if let Some(x) = u.extension {
            users.push_str(&format!(
                "[[tenants.users]]\nextension = \"{x}\"\nmode = \"voice\"\n"
            ));
        }
    }
    format!(
        "[storage]\ndata_dir = \"{}\"\n[download]\nconcurrency = {workers}\nretry_base = \"50ms\"\n\
         [[tenants]]\nid = \"hunt\"\naccount_id = \"{}\"\nclient_id = \"{}\"\n\
         client_secret = \"{}\"\napi_base_url = \"{}\"\noauth_url = \"{}\"\n\
         initial_lookback = \"3d\"\n{users}",
        data_dir.display(),
        account.account_id,
        account.client_id,
        account.client_secret,
        sim.api_base_url(),
        sim.oauth_url(),
    )
}

/// Sums the `archived` and `pending` columns of the totals table `run --once` prints.
fn totals(stdout: &str) -> Option<(u64, u64)> {
    let mut found = None;
    for line in stdout.lines().filter(|l| l.starts_with("hunt ")) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let archived: u64 = cols.get(2)?.parse().ok()?;
        let pending: u64 = cols.get(3)?.parse().ok()?;
        let (a, p) = found.unwrap_or((0, 0));
        found = Some((a + archived, p + pending));
    }
    found
}

/// What a hung run had left and where its threads were, read while it still runs.
async fn dump(pid: u32, data_dir: &Path) -> String {
    let mut s = String::new();
    let db = data_dir.join(DB_FILE);
    match SqliteMetaStore::open(&db) {
        Ok(meta) => match meta.list_files(&FileQuery::default()).await {
            Ok(files) => {
                let left: Vec<_> = files
                    .iter()
                    .filter(|f| f.state.name() != "archived" && f.out_of_scope.is_none())
                    .collect();
                let _ = writeln!(
                    s,
                    "files: {} in all, {} not archived",
                    files.len(),
                    left.len()
                );
                for f in left {
                    let _ = writeln!(
                        s,
                        "  {} {} state={:?} queued={} attempts={} next_due={:?}",
                        f.source, f.file_id, f.state, f.queued, f.attempts, f.next_due
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(s, "files: unreadable: {e}");
            }
        },
        Err(e) => {
            let _ = writeln!(s, "metadata: unreadable: {e}");
        }
    }
    match SqliteTaskQueue::open(&db, Arc::new(SystemClock)) {
        Ok(q) => {
            let _ = writeln!(s, "queue: {:?}", q.counts().await);
        }
        Err(e) => {
            let _ = writeln!(s, "queue: unreadable: {e}");
        }
    }
    let _ = writeln!(s, "threads of {pid}:");
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let p = t.path();
            let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            let wchan = std::fs::read_to_string(p.join("wchan")).unwrap_or_default();
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .unwrap_or("?");
            let _ = writeln!(
                s,
                "  {} {} state={state} wchan={wchan}",
                t.file_name().to_string_lossy(),
                comm.trim()
            );
        }
    }
    s
}

/// One run; `expected` is the number of files every run must archive (`None` for the first
/// run, whose count, with nothing pending, becomes it).
async fn one_run(
    opts: &HangHuntOptions,
    sim: &SimServer,
    n: usize,
    expected: &mut Option<u64>,
) -> Result<Ending> {
    let dir = opts.dir.join(format!("run-{n}"));
    std::fs::create_dir_all(&dir)?;
    let data = dir.join("data");
    let cfg = dir.join("archiver.toml");
    std::fs::write(&cfg, config(&data, sim, opts.workers))?;
    let t0 = Instant::now();
    let mut child = Command::new(&opts.bin)
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once"])
        .env_remove("RUST_LOG")
        .stdout(std::fs::File::create(dir.join("stdout"))?)
        .stderr(std::fs::File::create(dir.join("stderr"))?)
        .spawn()
        .with_context(|| format!("starting {}", opts.bin.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if t0.elapsed() > opts.watchdog {
            let text = dump(child.id(), &data).await;
            let path = opts.dir.join(format!("hang-{n}.txt"));
            std::fs::write(&path, &text)?;
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Ending::Hung { dump: path });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = t0.elapsed();
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap_or_default();
    let ending = match totals(&stdout) {
        _ if !status.success() => Ending::Bad {
            took,
            why: format!("{status}; see {}", dir.join("stderr").display()),
        },
        Some((archived, 0)) if archived > 0 && *expected.get_or_insert(archived) == archived => {
            Ending::Clean { took, archived }
        }
        Some((archived, pending)) => Ending::Bad {
            took,
            why: format!("{archived} archived (expected {expected:?}), {pending} pending"),
        },
        None => Ending::Bad {
            took,
            why: "no totals table".into(),
        },
    };
    if matches!(ending, Ending::Clean { .. }) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ending)
}

/// Runs the hunt (module docs) and prints its table.
pub async fn hang_hunt(opts: &HangHuntOptions) -> Result<HangHuntOutcome> {
    if opts.dir.exists() {
        bail!(
            "{} exists: give a scratch directory that does not",
            opts.dir.display()
        );
    }
    if !opts.bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p zoom-archiver)",
            opts.bin.display()
        );
    }
    std::fs::create_dir_all(&opts.dir)?;
    let sim = SimServer::start(scenario(opts.seed))
        .await
        .context("starting the simulator")?;
    let _load = Load::start(opts.load)?;
    let mut expected = None;
    let mut endings = Vec::new();
    for n in 1..=opts.runs {
        let ending = one_run(opts, &sim, n, &mut expected).await?;
        match &ending {
            Ending::Hung { dump } => eprintln!("run {n}: HUNG (dump: {})", dump.display()),
            Ending::Bad { why, .. } => eprintln!("run {n}: ended badly: {why}"),
            Ending::Clean { took, archived } if n % 20 == 0 || n == 1 => {
                eprintln!("run {n}: {archived} archived in {took:.1?}")
            }
            Ending::Clean { .. } => {}
        }
        endings.push(ending);
    }
    let hung = endings
        .iter()
        .filter(|e| matches!(e, Ending::Hung { .. }))
        .count();
    let bad = endings
        .iter()
        .filter(|e| matches!(e, Ending::Bad { .. }))
        .count();
    let mut times: Vec<f64> = endings
        .iter()
        .filter_map(|e| match e {
            Ending::Clean { took, .. } | Ending::Bad { took, .. } => Some(took.as_secs_f64()),
            Ending::Hung { .. } => None,
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "hang hunt: {} runs of `run --once`, {} workers, {} CPU burners, watchdog {:?}, {} files a run",
        opts.runs,
        opts.workers,
        opts.load,
        opts.watchdog,
        expected.map_or("?".into(), |e| e.to_string())
    );
    let _ = writeln!(text, "| figure | value |\n|---|---|");
    let _ = writeln!(text, "| runs | {} |", endings.len());
    let _ = writeln!(text, "| hangs (watchdog fired) | {hung} |");
    let _ = writeln!(text, "| ended badly | {bad} |");
    let _ = writeln!(text, "| run time p50 | {:.1} s |", pct(0.5));
    let _ = writeln!(text, "| run time p95 | {:.1} s |", pct(0.95));
    let _ = writeln!(text, "| run time max | {:.1} s |", pct(1.0));
    let ok = hung == 0 && bad == 0;
    if ok {
        let _ = std::fs::remove_dir_all(&opts.dir);
    } else {
        let _ = writeln!(
            text,
            "(runs that hung or ended badly are kept in {})",
            opts.dir.display()
        );
    }
    Ok(HangHuntOutcome { text, ok })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_the_tenant_rows() {
        let out = "tenant source archived pending gone failed bytes\n\
                   hunt   meetings      90       1    0      0   100\n\
                   hunt   phone         40       0    0      0   100\n\
                   CDRs stored: 12\n";
        assert_eq!(totals(out), Some((130, 1)));
        assert_eq!(totals("CDRs stored: 0\n"), None);
    }
}
