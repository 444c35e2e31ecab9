//! Local parts of `zoom-archiver-bench`: measured figures, printed as a table (see BENCHMARKS.md).

use anyhow::{Context, Result, bail};
use archiver_core::services::poller::PollOptions;
use archiver_core::{FileQuery, FileState};
use chrono::{Duration, Utc};
use std::time::Instant;
use zoom_archiver::app::App;
use zoom_archiver::config::FileConfig;
use zoom_sim::{Scenario, SimAccount, SimServer};

/// The environment variable naming the file [`record`] appends to (`bench/run` sets it).
pub const SUMMARY_ENV: &str = "ZA_BENCH_SUMMARY";

/// One figure of a benchmark, as [`record`] writes it and [`print_summary`] reads it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    /// The benchmark part (e.g. `stream fs 1024 MiB`).
    pub part: String,
    /// What was measured.
    pub figure: String,
    /// The measured value, formatted.
    pub value: String,
    /// The reference measured in the same run (or `-`).
    pub reference: String,
    /// The target (or `-`).
    pub target: String,
    /// Whether the target is met (`None`: no target).
    pub met: Option<bool>,
}

/// Appends `f` as a JSON line to the file named by [`SUMMARY_ENV`], if set. Failing to
/// write is reported on stderr, not fatal: the part's own table has the figures.
pub fn record(f: Figure) {
    let Some(path) = std::env::var_os(SUMMARY_ENV) else {
        return;
    };
    let line = serde_json::to_string(&f).unwrap_or_default();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "cannot append to {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

/// Shorthand for [`record`].
pub fn figure(
    part: impl Into<String>,
    figure: impl Into<String>,
    value: impl Into<String>,
    reference: impl Into<String>,
    target: impl Into<String>,
    met: Option<bool>,
) {
    record(Figure {
        part: part.into(),
        figure: figure.into(),
        value: value.into(),
        reference: reference.into(),
        target: target.into(),
        met,
    });
}

/// `bench summary FILE`: the figures [`record`] collected, as one table. Exit code 0 even
/// when a target is missed (the table says so).
pub fn print_summary(path: &std::path::Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    println!("| part | figure | measured | reference (same run) | target | met |");
    println!("|---|---|---|---|---|---|");
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f: Figure = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            f.part,
            f.figure,
            f.value,
            f.reference,
            f.target,
            match f.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            }
        );
    }
    Ok(())
}

/// Peak resident set size of this process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    peak_rss_at("/proc/self/status")
}

/// Peak RSS (`VmHWM`) of process `pid`, in KiB.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    peak_rss_at(&format!("/proc/{pid}/status"))
}

fn peak_rss_at(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Archives one file of `size_mib` MiB from the simulator into a fresh embedded archive and
/// prints throughput and peak RSS. Run it in its own process: peak RSS is per process.
///
/// `parallel` ranges at once (1: one stream); `throttle_mib_s` limits each connection of the
/// simulator, as a CDN does.
pub async fn stream(
    size_mib: u64,
    parallel: usize,
    throttle_mib_s: Option<u64>,
    dir: &std::path::Path,
) -> Result<()> {
    let size = size_mib * 1024 * 1024;
    let rss_before = peak_rss_kib().unwrap_or(0);
    let mut scenario = Scenario::single_file(Utc::now(), size);
    scenario.options.throttle_bytes_per_sec_per_conn = throttle_mib_s.map(|m| m * 1024 * 1024);
    let sim = SimServer::start(scenario)
        .await
        .context("starting the simulator")?;
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    let config = format!(
        r#"[storage]
data_dir = "{}"
[download]
parallel_streams = {parallel}
[[tenants]]
id = "bench"
account_id = "single-account"
client_id = "single-client"
client_secret = "single-secret"
api_base_url = "{}"
oauth_url = "{}"
sources = ["meetings"]
initial_lookback = "1d"
[[tenants.users]]
email = "alice@acme.example"
mode = "voice"
"#,
        dir.display(),
        sim.api_base_url(),
        sim.oauth_url()
    );
    let cfg = FileConfig::parse(&config).map_err(|e| anyhow::anyhow!(e))?;
    let app = App::local(&cfg, None).await?;
    let (poll_secs, secs) = poll_then_download(&app).await?;
    let files = verify_single_file(&app, &sim).await?;
    let peak = peak_rss_kib().unwrap_or(0);
    // The reference: curl downloading the same URL to a file on the same disk, in the same
    // run (the simulator serving it shares the machine the same way).
    let url = files[0].download_url.clone();
    let oauth = sim.oauth_url();
    let out = dir.join("curl.out");
    let curl = tokio::task::spawn_blocking(move || curl_reference(&oauth, &url, &out, size, false))
        .await
        .context("curl reference")?;
    let mbps = size as f64 / 1e6 / secs;
    println!(
        "| file size | ranges at once | throttle per connection | poll s | download s | MB/s | curl MB/s | ratio to curl | peak RSS (MiB) | RSS before (MiB) | SHA-256 verified |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (curl_mbps, ratio) = match &curl {
        Ok(c) => {
            let m = size as f64 / 1e6 / c;
            (format!("{m:.0}"), format!("{:.2}", mbps / m))
        }
        Err(e) => (format!("n/a ({e})"), "n/a".to_string()),
    };
    println!(
        "| {size_mib} MiB | {parallel} | {} | {poll_secs:.3} | {secs:.3} | {mbps:.0} | {curl_mbps} | {ratio} | {:.1} | {:.1} | yes |",
        throttle_mib_s.map_or("none".to_string(), |m| format!("{m} MiB/s")),
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    let curl_rate = curl.as_ref().ok().map(|c| size as f64 / 1e6 / c);
    let ratio_v = curl_rate.map(|m| mbps / m);
    let part = match (parallel, throttle_mib_s) {
        (1, None) => format!("stream → filesystem, {size_mib} MiB"),
        (n, None) => format!("{n} ranges → filesystem, {size_mib} MiB"),
        (n, Some(t)) => {
            format!("{n} range(s), {size_mib} MiB, host throttled to {t} MiB/s per connection")
        }
    };
    let reference = curl_rate.map_or("curl: n/a".into(), |m| format!("curl {m:.0} MB/s"));
    let value = format!("{mbps:.0} MB/s = {ratio}× curl");
    match (parallel, throttle_mib_s) {
        (1, None) => figure(
            &part,
            "throughput",
            value,
            reference,
            "≥ 0.9× curl",
            ratio_v.map(|r| r >= 0.9),
        ),
        (_, Some(_)) if parallel > 1 => figure(
            &part,
            "throughput against one connection (curl)",
            value,
            reference,
            "> 1× (ranges pay off against a throttling host)",
            ratio_v.map(|r| r > 1.0),
        ),
        _ => figure(&part, "throughput", value, reference, "-", None),
    }
    let in_flight = if parallel > 1 {
        parallel as f64 * 8.0
    } else {
        0.0
    };
    figure(
        &part,
        "peak RSS",
        format!("{:.1} MiB", peak as f64 / 1024.0),
        format!("{:.1} MiB before the run", rss_before as f64 / 1024.0),
        format!("≤ 64 MiB + {in_flight:.0} MiB of parts in flight"),
        Some(peak as f64 / 1024.0 <= 64.0 + in_flight),
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// Polls, then downloads what the poll queued: (poll seconds, download seconds). The
/// download stage (task received → verified, stored, recorded) is what `curl` is compared
/// with; the poll (OAuth token, listing, SQLite) is timed apart.
pub(crate) async fn poll_then_download(app: &App) -> Result<(f64, f64)> {
    let t0 = Instant::now();
    for (_, _, r) in app.poll_all(&PollOptions::default(), false).await {
        r.map_err(|e| anyhow::anyhow!("poll failed: {e}"))?;
    }
    let poll = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let d = app.drain(None).await?;
    let download = t1.elapsed().as_secs_f64();
    if !d.dead.is_empty() {
        bail!("benchmark download failed: {:?}", d.dead);
    }
    Ok((poll, download))
}

/// The archive's files after a run of [`Scenario::single_file`], once the one file is
/// checked to be archived with the size and SHA-256 the simulator served.
pub(crate) async fn verify_single_file(
    app: &App,
    sim: &SimServer,
) -> Result<Vec<archiver_core::FileRecord>> {
    let files = app.ports.meta.list_files(&FileQuery::default()).await?;
    let Some(FileState::Archived {
        size: stored,
        sha256,
        ..
    }) = files.first().map(|f| &f.state)
    else {
        bail!("file not archived")
    };
    let expected = sim.file_digest("big-file").context("simulator digest")?;
    if (*stored, sha256.clone()) != expected {
        bail!("stored {stored} {sha256} but the simulator served {expected:?}");
    }
    Ok(files)
}

/// Times `curl` fetching `url` (with a token from `oauth`, following the redirect without
/// the token as the archiver does) into `out`; returns seconds. The file is removed after
/// unless `keep`.
pub(crate) fn curl_reference(
    oauth: &str,
    url: &str,
    out: &std::path::Path,
    size: u64,
    keep: bool,
) -> std::result::Result<f64, String> {
    use std::process::Command;
    let token = Command::new("curl")
        .args([
            "-sS",
            "-u",
            "single-client:single-secret",
            "-d",
            "grant_type=account_credentials&account_id=single-account",
            oauth,
        ])
        .output()
        .map_err(|e| format!("curl not runnable: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&token.stdout).map_err(|e| format!("token: {e}"))?;
    let token = v["access_token"].as_str().ok_or("no access_token")?;
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "-L", "--fail", "-o"])
        .arg(out)
        .args(["-H", &format!("Authorization: Bearer {token}"), url])
        .status()
        .map_err(|e| format!("curl: {e}"))?;
    // The archiver's store syncs the file to disk before publishing it: so does this.
    let synced = std::fs::File::open(out).and_then(|f| f.sync_all());
    let secs = started.elapsed().as_secs_f64();
    let len = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if !keep {
        std::fs::remove_file(out).ok();
    }
    if !status.success() || synced.is_err() || len != size {
        return Err(format!("curl failed ({status}, {len} bytes)"));
    }
    Ok(secs)
}

/// CPU time (user + system) of this process so far, in seconds.
pub fn cpu_seconds() -> f64 {
    proc_cpu_seconds("/proc/self/stat")
}

/// CPU time (user + system) of the process whose `/proc/PID/stat` is `path`, in seconds.
fn proc_cpu_seconds(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

pub(crate) fn phone_scenario(calls: usize, size: u64) -> Scenario {
    let now = Utc::now();
    let spec = zoom_sim::GenSpec {
        seed: 42,
        start: now - Duration::days(2),
        days: 1,
        users: 20,
        meetings_per_day: 0,
        calls_per_day: calls,
        recorded_call_ratio: 1.0,
        min_size: size,
        max_size: size,
    };
    let mut s = Scenario::generate(&spec);
    // The bench measures the archiver, not Zoom's per-second limits (20/s for phone downloads
    // on Business+ accounts, which bound a real account far below these figures).
    s.options.rate_limits = false;
    s.options.fingerprints = false;
    s
}

fn phone_config(
    dir: &std::path::Path,
    sim: &SimProcess,
    concurrency: usize,
    analyse: bool,
) -> String {
    let exts: Vec<u32> = sim
        .account
        .users
        .iter()
        .filter_map(|u| u.extension)
        .collect();
    format!(
        "[storage]\ndata_dir = \"{}\"\n[download]\nconcurrency = {concurrency}\n\
         analyse_media = {analyse}\n{}",
        dir.display(),
        tenant_table(&sim.account, &sim.api_base_url, &sim.oauth_url, &[], &exts)
    )
}

/// One tenant `bench` on `sim`'s first account ([`tenant_table`]).
pub(crate) fn tenant_of_sim(sim: &SimServer, emails: &[&str], extensions: &[u32]) -> String {
    tenant_table(
        &sim.scenario().accounts[0],
        &sim.api_base_url(),
        &sim.oauth_url(),
        emails,
        extensions,
    )
}

/// The `[[tenants]]` table of one tenant `bench` on `account`: the given users by email
/// (meetings; voice and video alternately) and by extension (phone, voice), the sources
/// they need, three days back.
pub(crate) fn tenant_table(
    account: &SimAccount,
    api_base_url: &str,
    oauth_url: &str,
    emails: &[&str],
    extensions: &[u32],
) -> String {
    let mut sources = Vec::new();
    let mut users = String::new();
    for (i, e) in emails.iter().enumerate() {
        let mode = if i % 2 == 0 { "voice" } else { "video" };
        users.push_str(&format!(
            "[[tenants.users]]\nemail = \"{e}\"\nmode = \"{mode}\"\n"
        ));
    }
    for x in extensions {
        users.push_str(&format!(
            "[[tenants.users]]\nextension = \"{x}\"\nmode = \"voice\"\n"
        ));
    }
    if !emails.is_empty() {
        sources.push("\"meetings\"");
    }
    if !extensions.is_empty() {
        sources.push("\"phone\"");
    }
    format!(
        "[[tenants]]\nid = \"bench\"\naccount_id = \"{}\"\nclient_id = \"{}\"\n\
         client_secret = \"{}\"\napi_base_url = \"{api_base_url}\"\noauth_url = \"{oauth_url}\"\n\
         sources = [{}]\ninitial_lookback = \"3d\"\n{users}",
        account.account_id,
        account.client_id,
        account.client_secret,
        sources.join(", ")
    )
}

/// The simulator in a child process (`zoom-archiver-bench serve-sim`), so that this
/// process's memory and CPU are the archive's alone; the child's CPU is read from `/proc`.
pub struct SimProcess {
    child: std::process::Child,
    /// The API base URL.
    pub api_base_url: String,
    /// The OAuth token URL.
    pub oauth_url: String,
    /// The scenario's account (users with their extensions, credentials).
    pub account: SimAccount,
}

impl SimProcess {
    /// Starts `zoom-archiver-bench serve-sim` with `calls` phone recordings of `size` bytes.
    pub fn start_phone(calls: usize, size: u64) -> Result<SimProcess> {
        use std::io::BufRead;
        let exe = std::env::current_exe().context("locating this executable")?;
        let mut child = std::process::Command::new(exe)
            .args([
                "serve-sim",
                "--calls",
                &calls.to_string(),
                "--size-bytes",
                &size.to_string(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting the simulator process")?;
        let out = child.stdout.take().context("simulator stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .context("reading the simulator's address")?;
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("simulator said {line:?}"))?;
        Ok(SimProcess {
            api_base_url: v["api"].as_str().unwrap_or_default().to_string(),
            oauth_url: v["oauth"].as_str().unwrap_or_default().to_string(),
            account: serde_json::from_value(v["account"].clone()).context("simulator account")?,
            child,
        })
    }

    /// CPU seconds (user + system) the simulator process has used.
    pub fn cpu_seconds(&self) -> f64 {
        proc_cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zoom-archiver-bench serve-sim`: serves [`phone_scenario`] and prints one JSON line
/// `{"api","oauth","account"}`; runs until stdin closes.
pub async fn serve_sim(calls: usize, size: u64) -> Result<()> {
    let sim = SimServer::start(phone_scenario(calls, size))
        .await
        .context("starting the simulator")?;
    // The account's credentials and users, not its calls: the parent must not hold the
    // scenario (its memory is what the benches measure).
    let account = SimAccount {
        meetings: Vec::new(),
        calls: Vec::new(),
        ..sim.scenario().accounts[0].clone()
    };
    let line = serde_json::json!({
        "api": sim.api_base_url(),
        "oauth": sim.oauth_url(),
        "account": account,
    });
    println!("{line}");
    // Until the parent goes away (its end of stdin closes).
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    })
    .await;
    Ok(())
}

/// Many small phone recordings end to end: files/s and CPU per file (the simulator runs in
/// its own process; its CPU is reported apart).
pub async fn small_files(
    count: usize,
    size_kb: u64,
    concurrency: usize,
    analyse: bool,
    dir: &std::path::Path,
) -> Result<()> {
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    let sim = SimProcess::start_phone(count, size_kb * 1000)?;
    let cfg = FileConfig::parse(&phone_config(dir, &sim, concurrency, analyse))
        .map_err(|e| anyhow::anyhow!(e))?;
    let app = App::local(&cfg, None).await?;
    let sim_cpu0 = sim.cpu_seconds();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let polls = app.poll_all(&PollOptions::default(), false).await;
    let (cpu_poll, t_poll) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let d = app.drain(None).await?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let sim_cpu = sim.cpu_seconds() - sim_cpu0;
    if let Some((_, _, Err(e))) = polls.first() {
        bail!("poll failed: {e}");
    }
    let archived = d.done.len();
    if archived != count || !d.dead.is_empty() {
        bail!(
            "archived {archived} of {count}; failures: {:?}",
            d.dead.first()
        );
    }
    println!(
        "| files | size | workers | media analysis | seconds (poll + download) | files/s | archive CPU ms per file | simulator CPU ms per file | poll seconds | poll CPU s | peak RSS (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {count} | {size_kb} KB | {concurrency} | {} | {secs:.2} | {:.0} | {:.2} | {:.2} | {t_poll:.2} | {cpu_poll:.2} | {:.1} |",
        if analyse { "on" } else { "off" },
        count as f64 / secs,
        cpu * 1000.0 / count as f64,
        sim_cpu * 1000.0 / count as f64,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    let part = format!(
        "{count} phone recordings of {size_kb} KB, {concurrency} workers, media analysis {}",
        if analyse { "on" } else { "off" }
    );
    let rate = count as f64 / secs;
    if analyse {
        // The floor under the analysis: the decoder alone on one archived file, in this run.
        let sample = first_file_with_ext(&dir.join("objects"), "mp3")
            .context("no archived MP3 to time the decoder on")?;
        let (analysis_ms, decoder_ms) = decode_cost(&sample, 20)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        println!();
        println!(
            "| one archived file, 20 runs, one core | ms per file | files/s ceiling on {cores:.0} cores (CPU for this alone) |"
        );
        println!("|---|---|---|");
        println!(
            "| media analysis (decode + measure) | {analysis_ms:.2} | {:.0} |",
            cores * 1000.0 / analysis_ms
        );
        println!(
            "| decoder alone (symphonia, no measurement) | {decoder_ms:.2} | {:.0} |",
            cores * 1000.0 / decoder_ms
        );
        figure(
            &part,
            "media analysis per file, one core",
            format!("{analysis_ms:.2} ms"),
            format!(
                "decoder alone {decoder_ms:.2} ms: at most {:.0} files/s on {cores:.0} cores",
                cores * 1000.0 / decoder_ms
            ),
            "-",
            None,
        );
    }
    figure(
        &part,
        "files/s (poll + downloads, embedded default)",
        format!("{rate:.0} files/s"),
        format!(
            "archive CPU {:.2} ms/file, simulator {:.2} ms/file",
            cpu * 1000.0 / count as f64,
            sim_cpu * 1000.0 / count as f64
        ),
        "≥ 200 files/s",
        Some(rate >= 200.0),
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// The first file named `*.{ext}` under `root` (depth first).
fn first_file_with_ext(root: &std::path::Path, ext: &str) -> Option<std::path::PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)) {
                return Some(p);
            }
        }
    }
    None
}

/// Milliseconds per run of the media analysis and of the decoder alone on `path`, read
/// into memory once (so neither includes I/O), over `runs` runs each.
fn decode_cost(path: &std::path::Path, runs: u32) -> Result<(f64, f64)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let t = Instant::now();
    for _ in 0..runs {
        archiver_media::analyse(std::io::Cursor::new(bytes.clone()), ext)
            .map_err(|e| anyhow::anyhow!("analysing {}: {e}", path.display()))?;
    }
    let analysis = t.elapsed().as_secs_f64() * 1e3 / f64::from(runs);
    let t = Instant::now();
    for _ in 0..runs {
        archiver_media::decode_only(std::io::Cursor::new(bytes.clone()), ext)
            .map_err(|e| anyhow::anyhow!("decoding {}: {e}", path.display()))?;
    }
    Ok((analysis, t.elapsed().as_secs_f64() * 1e3 / f64::from(runs)))
}

/// Listing and fan-out only: the poller lists `count` recordings, inserts and queues them.
/// The simulator runs in its own process: the peak RSS is the poller's and SQLite's.
pub async fn listing(count: usize, dir: &std::path::Path) -> Result<()> {
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    let sim = SimProcess::start_phone(count, 1000)?;
    let cfg =
        FileConfig::parse(&phone_config(dir, &sim, 1, false)).map_err(|e| anyhow::anyhow!(e))?;
    let app = App::local(&cfg, None).await?;
    let rss0 = peak_rss_kib().unwrap_or(0);
    let t0 = Instant::now();
    let polls = app.poll_all(&PollOptions::default(), false).await;
    let secs = t0.elapsed().as_secs_f64();
    let report = match polls.into_iter().next() {
        Some((_, _, Ok(r))) => r,
        Some((_, _, Err(e))) => bail!("poll failed: {e}"),
        None => bail!("nothing polled"),
    };
    let queued = app.ports.queue.counts().await?.ready;
    println!(
        "| recordings | pages | seconds | recordings/s | queued | peak RSS before poll (MiB) | peak RSS after (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {secs:.2} | {:.0} | {queued} | {:.1} | {:.1} |",
        report.listed,
        report.pages,
        report.listed as f64 / secs,
        rss0 as f64 / 1024.0,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    let growth = peak_rss_kib().unwrap_or(0).saturating_sub(rss0) as f64 / 1024.0;
    let part = format!("listing {} recordings", report.listed);
    figure(
        &part,
        "recordings/s (list, insert, enqueue)",
        format!("{:.0}/s", report.listed as f64 / secs),
        format!("{} pages in {secs:.1} s", report.pages),
        "-",
        None,
    );
    figure(
        &part,
        "peak RSS growth during the poll",
        format!("{growth:.1} MiB"),
        format!("{:.1} MiB before the poll", rss0 as f64 / 1024.0),
        "flat in N (compare the sizes)",
        None,
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}
