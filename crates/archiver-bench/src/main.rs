//! `zoom-archiver-bench`: the benchmarks of the archive (BENCHMARKS.md; `bench/run` runs
//! them all and prints a summary). Not part of the product: it measures the product.

use anyhow::Result;
use archiver_bench::{api_budget, aws, cold_start, custody, hang_hunt, parts, search};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "zoom-archiver-bench",
    about = "Benchmarks of the Zoom compliance archiver (figures in BENCHMARKS.md)"
)]
struct Cli {
    /// Log filter (e.g. `info`); logs go to stderr.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Many small phone recordings end to end on the embedded default: files/s, CPU per file.
    Small {
        /// Number of recordings.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Size of each, in KB.
        #[arg(long, default_value_t = 500)]
        size_kb: u64,
        /// Concurrent downloads.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Skip media analysis (decoding each MP3), to separate its cost.
        #[arg(long)]
        no_analysis: bool,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench")]
        dir: PathBuf,
    },
    /// The poller alone: list, insert and queue N recordings.
    Listing {
        /// Number of recordings.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench")]
        dir: PathBuf,
    },
    /// Zoom API calls of one tenant's simulated day (polls + reconciliation) per rate-limit
    /// category, cross-checked with the quota ledger, and the capacity beside the spec's
    /// table. Runs the given scale and `--also-scale` times it. Exit 1 when the ledger disagrees.
    ApiBudget {
        /// Meetings on the simulated day.
        #[arg(long, default_value_t = 2_000)]
        meetings: usize,
        /// Phone calls on the simulated day.
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        /// Users of the account.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Users configured for recording (voice and video alternately).
        #[arg(long, default_value_t = 50)]
        recorded_users: usize,
        /// Poll interval.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        interval: Duration,
        /// Scenario seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// A second run at this multiple of the scale, to show the per-unit costs are flat
        /// (0: none; 2: twice the scale, about 4 minutes at the defaults on 2 cores).
        #[arg(long, default_value_t = 0.5)]
        also_scale: f64,
    },
    /// Cold start of the Lambda function binaries against a local Lambda Runtime API
    /// emulator, moto (`MOTO`, else a `moto_server` it starts) and the Zoom simulator: init
    /// (spawn → first poll for an event), first invocation, binary size and peak RSS.
    /// Exit 1 when a function fails to start or its first invocation fails.
    ColdStart {
        /// Where the executables `poller`, `downloader`, `reconciler` are.
        #[arg(long, default_value = "target/release")]
        bin_dir: PathBuf,
        /// Cold starts per function.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Which functions (comma-separated).
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "poller,downloader,reconciler"
        )]
        functions: Vec<cold_start::Function>,
    },
    /// The embedded `run --once` `--runs` times in a row on a generated scenario while
    /// `--load` processes spin on the cores; a run still going after `--watchdog` is a hang
    /// (what it had left and its threads' states are written to `<dir>/hang-<n>.txt`).
    /// Prints runs, hangs, bad endings and run times; exit 1 on any hang or bad ending.
    HangHunt {
        /// The `zoom-archiver` executable.
        #[arg(long, default_value = "target/release/zoom-archiver")]
        bin: PathBuf,
        /// Runs in a row.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Concurrent downloads of each run.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// A run still going after this long is a hang.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        watchdog: Duration,
        /// CPU-burning processes beside the runs.
        #[arg(long, default_value_t = 2)]
        load: usize,
        /// Scenario seed.
        #[arg(long, default_value_t = 14)]
        seed: u64,
        /// Scratch directory (must not exist; kept when a run hung or ended badly).
        #[arg(long, default_value = "zoom-archiver-hang-hunt")]
        dir: PathBuf,
    },
    /// Spins one core until the parent exits (the load of `hang-hunt`; internal).
    #[command(hide = true)]
    Burn,
    /// Prints the figures the parts of a `bench/run` collected (`ZA_BENCH_SUMMARY`) as one
    /// table: each figure, its same-run reference, the target, met or not.
    Summary {
        /// The JSON-lines file the parts appended to.
        file: PathBuf,
    },
    /// The simulator of `bench small` and `bench listing` in its own process (internal).
    #[command(hide = true)]
    ServeSim {
        /// Phone recordings.
        #[arg(long)]
        calls: usize,
        /// Size of each, in bytes.
        #[arg(long)]
        size_bytes: u64,
    },
    /// AWS cost model: requests counted on the wire (S3, DynamoDB, SQS on the local AWS
    /// emulator) for phone recordings and one archived meeting hour, Lambda time modelled,
    /// per 1,000 recordings, per meeting hour and per tenant day.
    Cost {
        /// Phone recordings in the measured run.
        #[arg(long, default_value_t = 200)]
        phone_recordings: usize,
        /// Size of each phone recording, in KB.
        #[arg(long, default_value_t = 500)]
        phone_kb: u64,
        /// Length of the measured meeting in hours (files scale with it; figures are per hour).
        #[arg(long, default_value_t = 1.0)]
        meeting_hours: f64,
        /// Throughput from Zoom one downloader Lambda gets, MB/s (an assumption).
        #[arg(long, default_value_t = 30.0)]
        network_mb_s: f64,
        /// Skip media analysis.
        #[arg(long)]
        no_analysis: bool,
    },
    /// Custody: `seal` of a day of many recordings and `verify --day` of a day of large
    /// ones, on the embedded default (seconds, MiB/s, peak RSS).
    Seal {
        /// Recordings of the day sealed (and checked).
        #[arg(long, default_value_t = 10_000)]
        recordings: usize,
        /// Size of each of them, in KiB.
        #[arg(long, default_value_t = 16)]
        size_kib: u64,
        /// Size of the second day, in GiB of 64 MiB recordings, sealed and checked.
        #[arg(long, default_value_t = 5.0)]
        verify_gib: f64,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench-seal")]
        dir: PathBuf,
    },
    /// Review search (issue 17): N generated CDRs in a fresh SQLite store, then ~200 search
    /// pages of varied queries timed through the metadata port (p50/p95/max per kind).
    Search {
        /// CDRs generated.
        #[arg(long, default_value_t = 1_000_000)]
        cdrs: usize,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench-search")]
        dir: PathBuf,
    },
    /// Fixity: `verify` over stored objects (seconds per GiB, peak RSS).
    Verify {
        /// Objects.
        #[arg(long, default_value_t = 8)]
        files: usize,
        /// Size of each object in MiB.
        #[arg(long, default_value_t = 128)]
        size_mib: u64,
        /// Where the objects are stored.
        #[arg(long, value_enum, default_value = "fs")]
        store: VerifyStore,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench-verify")]
        dir: PathBuf,
    },
    /// Simulator → downloader → object store for one file (`--store s3`: S3 on the local
    /// AWS emulator, `MOTO` or one started from `.tools/venv`).
    Stream {
        /// File size in MiB.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
        /// Where the file is stored.
        #[arg(long, value_enum, default_value = "fs")]
        store: StreamStore,
        /// Ranges fetched at once (1: one stream; used for files of 64 MiB or more).
        #[arg(long, default_value_t = 1)]
        parallel: usize,
        /// Throttle each simulator connection to this many MiB/s (as a CDN does).
        #[arg(long)]
        throttle_mib_s: Option<u64>,
        /// Scratch directory (must not exist; removed afterwards).
        #[arg(long, default_value = "zoom-archiver-bench")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum VerifyStore {
    /// The embedded default's filesystem object store.
    Fs,
    /// S3 on the local AWS emulator.
    S3,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum StreamStore {
    /// The embedded default's filesystem object store.
    Fs,
    /// S3 on the local AWS emulator.
    S3,
}

/// Prints a bench's text; exit code 1 when it failed.
fn printed(text: &str, ok: bool) -> ExitCode {
    print!("{text}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    zoom_archiver::init_logs(&cli.log);
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    match &command {
        Command::Seal {
            recordings,
            size_kib,
            verify_gib,
            dir,
        } => {
            custody::seal_bench(*recordings, *size_kib, *verify_gib, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Search { cdrs, dir } => {
            search::search_bench(*cdrs, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            files,
            size_mib,
            store,
            dir,
        } => {
            aws::verify(*files, *size_mib, *store == VerifyStore::S3, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Small {
            count,
            size_kb,
            workers,
            no_analysis,
            dir,
        } => {
            parts::small_files(*count, *size_kb, *workers, !*no_analysis, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Listing { count, dir } => {
            parts::listing(*count, dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiBudget {
            meetings,
            calls,
            users,
            recorded_users,
            interval,
            seed,
            also_scale,
        } => {
            let outcome = api_budget::api_budget(&api_budget::ApiBudgetOptions {
                meetings: *meetings,
                calls: *calls,
                users: *users,
                recorded_users: *recorded_users,
                interval: *interval,
                seed: *seed,
                also_scale: *also_scale,
            })
            .await?;
            Ok(printed(&outcome.text, outcome.ok))
        }
        Command::ColdStart {
            bin_dir,
            runs,
            functions,
        } => {
            let outcome = cold_start::cold_start(&cold_start::ColdStartOptions {
                bin_dir: bin_dir.clone(),
                runs: *runs,
                functions: functions.clone(),
            })
            .await?;
            Ok(printed(&outcome.text, outcome.ok))
        }
        Command::Stream {
            size_mib,
            store,
            parallel,
            throttle_mib_s,
            dir,
        } => {
            if *store == StreamStore::S3 {
                if *parallel > 1 || throttle_mib_s.is_some() {
                    anyhow::bail!(
                        "--store s3 measures one stream: drop --parallel/--throttle-mib-s"
                    );
                }
                aws::stream_s3(*size_mib, dir).await?;
            } else {
                parts::stream(*size_mib, *parallel, *throttle_mib_s, dir).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::HangHunt {
            bin,
            runs,
            workers,
            watchdog,
            load,
            seed,
            dir,
        } => {
            let outcome = hang_hunt::hang_hunt(&hang_hunt::HangHuntOptions {
                bin: bin.clone(),
                runs: *runs,
                workers: *workers,
                watchdog: *watchdog,
                load: *load,
                seed: *seed,
                dir: dir.clone(),
            })
            .await?;
            Ok(printed(&outcome.text, outcome.ok))
        }
        Command::Burn => {
            hang_hunt::burn();
            Ok(ExitCode::SUCCESS)
        }
        Command::Summary { file } => {
            parts::print_summary(file)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ServeSim { calls, size_bytes } => {
            parts::serve_sim(*calls, *size_bytes).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cost {
            phone_recordings,
            phone_kb,
            meeting_hours,
            network_mb_s,
            no_analysis,
        } => {
            aws::cost(&aws::CostOptions {
                phone_recordings: *phone_recordings,
                phone_kb: *phone_kb,
                network_mb_s: *network_mb_s,
                downloader_mb: 1024,
                scheduled_mb: 512,
                meeting_hours: *meeting_hours,
                analyse: !*no_analysis,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
