//! `zoom-archiver bench`: measured figures, printed as a table (see BENCHMARKS.md).

use crate::app::App;
use crate::config::FileConfig;
use anyhow::{Context, Result, bail};
use archiver_core::services::poller::PollOptions;
use archiver_core::{FileQuery, FileState};
use chrono::{Duration, Utc};
use std::time::Instant;
use zoom_sim::{Scenario, SimAccount, SimServer};

/// Peak resident set size of this process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
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
    let started = Instant::now();
    app.poll_all(&PollOptions::default(), false).await;
    let d = app.drain(None).await?;
    let secs = started.elapsed().as_secs_f64();
    if !d.dead.is_empty() {
        bail!("benchmark download failed: {:?}", d.dead);
    }
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
    let peak = peak_rss_kib().unwrap_or(0);
    // The reference: curl downloading the same URL to a file on the same disk, in the same
    // run (the simulator serving it shares the machine the same way).
    let url = files[0].download_url.clone();
    let oauth = sim.oauth_url();
    let out = dir.join("curl.out");
    let curl = tokio::task::spawn_blocking(move || curl_reference(&oauth, &url, &out, size))
        .await
        .context("curl reference")?;
    let mbps = size as f64 / 1e6 / secs;
    println!(
        "| file size | ranges at once | throttle per connection | seconds | MB/s | curl MB/s | ratio to curl | peak RSS (MiB) | RSS before (MiB) | SHA-256 verified |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let (curl_mbps, ratio) = match &curl {
        Ok(c) => {
            let m = size as f64 / 1e6 / c;
            (format!("{m:.0}"), format!("{:.2}", mbps / m))
        }
        Err(e) => (format!("n/a ({e})"), "n/a".to_string()),
    };
    println!(
        "| {size_mib} MiB | {parallel} | {} | {secs:.2} | {mbps:.0} | {curl_mbps} | {ratio} | {:.1} | {:.1} | yes |",
        throttle_mib_s.map_or("none".to_string(), |m| format!("{m} MiB/s")),
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// Times `curl` fetching `url` (with a token from `oauth`, following the redirect without
/// the token as the archiver does) into `out`; returns seconds. The file is removed after.
fn curl_reference(
    oauth: &str,
    url: &str,
    out: &std::path::Path,
    size: u64,
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
    std::fs::remove_file(out).ok();
    if !status.success() || synced.is_err() || len != size {
        return Err(format!("curl failed ({status}, {len} bytes)"));
    }
    Ok(secs)
}

/// CPU time (user + system) of this process so far, in seconds.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn phone_scenario(calls: usize, size: u64) -> Scenario {
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
    sim: &SimServer,
    concurrency: usize,
    account: &SimAccount,
    analyse: bool,
) -> String {
    let mut users = String::new();
    for u in &account.users {
        if let Some(x) = u.extension {
            users.push_str(&format!(
                "[[tenants.users]]\nextension = \"{x}\"\nmode = \"voice\"\n"
            ));
        }
    }
    format!(
        r#"[storage]
data_dir = "{}"
[download]
concurrency = {concurrency}
analyse_media = {analyse}
[[tenants]]
id = "bench"
account_id = "{}"
client_id = "{}"
client_secret = "{}"
api_base_url = "{}"
oauth_url = "{}"
sources = ["phone"]
initial_lookback = "3d"
{users}"#,
        dir.display(),
        account.account_id,
        account.client_id,
        account.client_secret,
        sim.api_base_url(),
        sim.oauth_url()
    )
}

/// Many small phone recordings end to end: files/s and CPU per file.
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
    let sim = SimServer::start(phone_scenario(count, size_kb * 1000))
        .await
        .context("starting the simulator")?;
    let account = sim.scenario().accounts[0].clone();
    let cfg = FileConfig::parse(&phone_config(dir, &sim, concurrency, &account, analyse))
        .map_err(|e| anyhow::anyhow!(e))?;
    let app = App::local(&cfg, None).await?;
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let polls = app.poll_all(&PollOptions::default(), false).await;
    let (cpu_poll, t_poll) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let d = app.drain(None).await?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
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
        "| files | size | workers | media analysis | seconds (poll + download) | files/s | CPU ms per file (incl. simulator) | poll seconds | poll CPU s | peak RSS (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {count} | {size_kb} KB | {concurrency} | {} | {secs:.2} | {:.0} | {:.2} | {t_poll:.2} | {cpu_poll:.2} | {:.1} |",
        if analyse { "on" } else { "off" },
        count as f64 / secs,
        cpu * 1000.0 / count as f64,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// Listing and fan-out only: the poller lists `count` recordings, inserts and queues them.
pub async fn listing(count: usize, dir: &std::path::Path) -> Result<()> {
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    let sim = SimServer::start(phone_scenario(count, 1000))
        .await
        .context("starting the simulator")?;
    let account = sim.scenario().accounts[0].clone();
    let cfg = FileConfig::parse(&phone_config(dir, &sim, 1, &account, false))
        .map_err(|e| anyhow::anyhow!(e))?;
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
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}
