//! `zoom-archiver demo`: a Zoom simulator in-process, archived end to end on the embedded default.

use crate::app::App;
use crate::config::FileConfig;
use crate::report;
use anyhow::{Context, Result, bail};
use archiver_core::services::poller::PollOptions;
use archiver_core::{FileQuery, FileState};
use std::path::Path;
use std::time::Instant;

const MARKER: &str = ".zoom-archiver-demo";

/// The demo's configuration, pointing at the simulator.
pub fn demo_config(data_dir: &Path, api_base_url: &str, oauth_url: &str) -> String {
    format!(
        r#"# Written by `zoom-archiver demo`: the simulated Zoom account "demo-account".
location = "demo-host"

[storage]
data_dir = "{data_dir}"

[download]
concurrency = 4
retry_base = "200ms"
max_wait = "2m"

[[tenants]]
id = "demo"
account_id = "demo-account"
client_id = "demo-client"
client_secret = "demo-secret"
api_base_url = "{api_base_url}"
oauth_url = "{oauth_url}"
sources = ["meetings", "phone"]
interval = "5m"
initial_lookback = "7d"

# Alice is recorded for voice, Bob for video (he also gets the whole-meeting MP4),
# Carol for voice. Dave, Erin and Frank are not configured: their files are never downloaded.
[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"

[[tenants.users]]
email = "carol@acme.example"
extension = "1003"
mode = "voice"
"#,
        data_dir = data_dir.display()
    )
}

/// Runs the demo into `dir` and prints a summary.
pub async fn run(dir: &Path) -> Result<()> {
    if dir.exists() {
        if dir.join(MARKER).exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("removing the previous demo in {}", dir.display()))?;
        } else if std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
        {
            bail!(
                "{} exists and was not made by the demo; choose another --dir",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "made by zoom-archiver demo\n")?;
    let dir = dir.canonicalize()?;

    let now = chrono::Utc::now();
    let sim = zoom_sim::SimServer::start(zoom_sim::Scenario::demo(now))
        .await
        .context("starting the Zoom simulator")?;
    println!(
        "Zoom simulator: API {}  OAuth {}",
        sim.api_base_url(),
        sim.oauth_url()
    );
    let config_text = demo_config(&dir, &sim.api_base_url(), &sim.oauth_url());
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, &config_text)?;
    let cfg = FileConfig::parse(&config_text).map_err(|e| anyhow::anyhow!("demo config: {e}"))?;

    let started = Instant::now();
    let app = App::local(&cfg, None).await?;
    let polls = app.poll_all(&PollOptions::default(), false).await;
    print!("{}", report::poll_lines(&polls));
    let drained = app.drain(None).await?;
    let elapsed = started.elapsed();

    // Check every archived file against what the simulator served.
    let files = app.ports.meta.list_files(&FileQuery::default()).await?;
    let mut verified = 0;
    let mut mismatched = Vec::new();
    for f in &files {
        if let FileState::Archived { sha256, size, .. } = &f.state {
            match sim.file_digest(&f.file_id) {
                Some((s, d)) if s == *size && d == *sha256 => verified += 1,
                other => mismatched.push(format!(
                    "{}: stored {size} {sha256}, simulator {other:?}",
                    f.file_id
                )),
            }
        }
    }
    let tenants: Vec<_> = app.tenants.iter().map(|t| t.id.clone()).collect();
    let totals = report::totals(app.ports.meta.as_ref(), &tenants).await?;
    println!();
    print!("{}", report::totals_table(&totals));
    print!("{}", report::failure_lines(&drained));
    let stats = sim.stats();
    println!("\nZoom API calls by rate-limit category:");
    for (cat, n) in &stats.by_category {
        println!("  {cat:<20} {n:>6}");
    }
    println!("  {:<20} {:>6}", "OAuth tokens", stats.tokens_issued);
    println!(
        "Downloads: {} files, {} bytes served by the simulator",
        stats.downloads_completed, stats.bytes_served
    );
    println!(
        "Verified against the simulator's SHA-256: {verified} archived files, {} mismatches",
        mismatched.len()
    );
    for m in &mismatched {
        println!("  MISMATCH {m}");
    }
    println!("Elapsed: {:.2} s", elapsed.as_secs_f64());
    println!(
        "\nArchive: {}/objects   Metadata: {}/archive.db",
        dir.display(),
        dir.display()
    );
    println!(
        "Next: zoom-archiver --config {} cdrs --format jsonl",
        config_path.display()
    );
    if !mismatched.is_empty() {
        bail!(
            "{} archived files differ from what Zoom served",
            mismatched.len()
        );
    }
    Ok(())
}
