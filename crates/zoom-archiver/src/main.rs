//! `zoom-archiver` command line.

use anyhow::{Context, Result};
use archiver_core::CdrQuery;
use archiver_core::services::poller::PollOptions;
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use zoom_archiver::app::{App, Stores};
use zoom_archiver::cli::{
    AwsCommand, Backend, CdrsCommand, Cli, Command, Format, HoldCommand, StatusFormat,
};
use zoom_archiver::config::{ConfigFileError, FileConfig};
use zoom_archiver::{custody, demo, export, report};

fn load_config(cli: &Cli) -> Result<FileConfig, ExitCode> {
    let Some(path) = &cli.config else {
        eprintln!("error: --config FILE is required for this command");
        return Err(ExitCode::from(2));
    };
    FileConfig::load(path).map_err(|e| {
        eprintln!("error: invalid configuration: {e}");
        ExitCode::from(2)
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    zoom_archiver::init_logs(&cli.log);
    match real_main(cli).await {
        Ok(code) => code,
        // A configuration problem (a missing table, an unreadable secret file, an unknown
        // tenant) exits 2 like a parse error: the operator fixes the file or the command.
        Err(e) if e.downcast_ref::<ConfigFileError>().is_some() => {
            eprintln!("error: invalid configuration: {e:#}");
            ExitCode::from(2)
        }
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A command-line problem found after parsing (an unknown tenant): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// The configured tenants `--tenant` names (all without it).
fn tenants(cfg: &FileConfig, only: Option<&str>) -> Result<Vec<archiver_core::TenantConfig>> {
    cfg.select_tenants(only)
        .map_err(|e| anyhow::Error::new(UsageError(e)))
}

/// The one tenant a command acts on: `--tenant`, or the only one configured.
fn one_tenant(cfg: &FileConfig, only: Option<&str>) -> Result<archiver_core::TenantConfig> {
    let mut ts = tenants(cfg, only)?;
    if ts.len() != 1 {
        return Err(UsageError("several tenants are configured: give --tenant".into()).into());
    }
    Ok(ts.remove(0))
}

/// Who runs this command, for a file's history: `user@host`.
fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

async fn stores(cli: &Cli, cfg: &FileConfig) -> Result<Stores> {
    match cli.backend {
        Backend::Local => Stores::local(cfg, None).await,
        Backend::Aws => Stores::aws(cfg).await,
    }
}

async fn real_main(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Demo { dir } => {
            demo::run(dir).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Estimate {
            meetings_per_day,
            calls_per_day,
            interval,
            reconcile,
            recorded_users,
            users,
            unarchived_share,
            no_individual_share,
            connected_share,
            phone_kbps,
            mp4_kbps,
        } => {
            use zoom_archiver::estimate;
            let mut i = estimate::Inputs::new(*meetings_per_day as f64, *calls_per_day as f64);
            i.interval = *interval;
            i.reconcile = *reconcile;
            i.recorded_users = *recorded_users;
            i.users = *users;
            i.mix.unarchived = unarchived_share.clamp(0.0, 1.0);
            i.mix.no_individual = no_individual_share.clamp(0.0, 1.0);
            i.mix.connected_calls = connected_share.clamp(0.0, 1.0);
            i.media.phone_kbps = *phone_kbps;
            i.media.mp4_kbps = *mp4_kbps;
            print!("{}", estimate::render(&i, &estimate::estimate(&i)));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            once,
            grace,
            listen,
        } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            if let Some(addr) = listen {
                zoom_archiver::serve::metrics(*addr).await?;
            }
            let mut app = match cli.backend {
                Backend::Local => App::local(&cfg, None).await?,
                Backend::Aws => App::aws(&cfg).await?,
            };
            let ids: Vec<_> = app.tenants.iter().map(|t| t.id.clone()).collect();
            config_loaded(&cli, app.audit.as_ref(), &ids, "run").await;
            let stop = stop_on_signals(*grace);
            app.drain.stop = Some(stop.clone());
            if *once {
                run_once(&app).await
            } else {
                run_forever(&app, &stop).await
            }
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "zoom-archiver", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { tenant, format } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let tenants = tenants(&cfg, tenant.as_deref())?;
            let s = stores(&cli, &cfg).await?;
            let ids: Vec<_> = tenants.iter().map(|t| t.id.clone()).collect();
            config_loaded(&cli, s.audit.as_ref(), &ids, "status").await;
            let mut all = Vec::new();
            for t in &tenants {
                all.push(
                    archiver_core::services::status::tenant_status(&s.ports, s.ledger.as_ref(), t)
                        .await
                        .with_context(|| format!("tenant {}: reading the status", t.id))?,
                );
            }
            match format {
                StatusFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "tenants": all }))?
                ),
                StatusFormat::Table => print!("{}", report::status_table(&all)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Retry {
            tenant,
            file,
            failed,
            dead_letters,
            dry_run,
        } => {
            use archiver_core::services::retry::{RetryWhat, retry};
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ids: Vec<_> = tenants(&cfg, tenant.as_deref())?
                .into_iter()
                .map(|t| t.id)
                .collect();
            let what = match (file, failed, dead_letters) {
                (Some(f), _, _) => RetryWhat::File(f.clone()),
                (None, true, _) => RetryWhat::Failed,
                _ => RetryWhat::DeadLetters,
            };
            let s = stores(&cli, &cfg).await?;
            config_loaded(&cli, s.audit.as_ref(), &ids, "retry").await;
            let r = retry(&s.ports, &ids, &what, &operator(), *dry_run).await?;
            print!("{}", report::retry_lines(&r, *dry_run));
            if !*dry_run && let Err(e) = audit_retry(s.audit.as_ref(), &r, &what).await {
                eprintln!("error: the retry was done but not recorded in the audit trail: {e:#}");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            tenant,
            from,
            to,
            sample,
            day,
            object,
            format,
        } => {
            use archiver_core::services::verify::{VerifyOptions, verify};
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ids: Vec<_> = tenants(&cfg, tenant.as_deref())?
                .into_iter()
                .map(|t| t.id)
                .collect();
            let s = stores(&cli, &cfg).await?;
            config_loaded(&cli, s.audit.as_ref(), &ids, "verify").await;
            if let Some(day) = day {
                return custody::verify_days(&cfg, cli.backend, &s, &ids, *day, *format).await;
            }
            if let Some(key) = object {
                return custody::verify_object(&cfg, cli.backend, &s, &ids, key, *format).await;
            }
            let opts = VerifyOptions {
                from: *from,
                to: *to,
                sample: *sample,
                // Kept on each file: deleting at Zoom needs a recent intact result.
                record: true,
                // Ranged parallel reads pay off on S3; a local file streams as fast alone.
                parallel_streams: match cli.backend {
                    Backend::Aws => VerifyOptions::default().parallel_streams,
                    Backend::Local => 1,
                },
                ..VerifyOptions::default()
            };
            let started = std::time::Instant::now();
            let pb = progress_bar("{spinner} verified {msg} {elapsed}");
            let on = |bytes: u64, files: u64| {
                if let Some(pb) = &pb {
                    pb.set_message(format!("{files} files, {} MiB", bytes / (1024 * 1024)));
                }
            };
            let r = verify(&s.ports, &ids, &opts, Some(&on)).await?;
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            let audited = audit_verify(s.audit.as_ref(), &ids, &r, &opts).await;
            match format {
                StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                StatusFormat::Table => {
                    print!("{}", report::verify_lines(&r, started.elapsed()))
                }
            }
            if let Err(e) = audited {
                eprintln!("error: the check was done but not recorded in the audit trail: {e:#}");
                return Ok(ExitCode::from(1));
            }
            Ok(if r.all_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Doctor { tenant } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            tenants(&cfg, tenant.as_deref())?;
            let path = cli.config.clone().unwrap_or_default();
            let (text, ok) =
                zoom_archiver::doctor::run(&cfg, &path, cli.backend.into(), tenant.as_deref())
                    .await?;
            print!("{text}");
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Hold { what } => {
            use archiver_core::services::custody::{HoldScope, hold_add, hold_release};
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let only = match what {
                HoldCommand::Add { tenant, .. } | HoldCommand::Release { tenant, .. } => tenant,
            };
            let t = one_tenant(&cfg, only.as_deref())?;
            let s = stores(&cli, &cfg).await?;
            let r = match what {
                HoldCommand::Add {
                    matter,
                    user,
                    cdr,
                    from,
                    to,
                    reason,
                    ..
                } => {
                    let scope = match (user, cdr, from, to) {
                        (Some(u), _, _, _) => HoldScope::User { user: u.clone() },
                        (_, Some(c), _, _) => HoldScope::Cdr { cdr_id: c.clone() },
                        (_, _, Some(from), Some(to)) => HoldScope::Range {
                            from: *from,
                            to: *to,
                        },
                        _ => {
                            return Err(
                                UsageError("give --user, --cdr or --from and --to".into()).into()
                            );
                        }
                    };
                    hold_add(
                        &s.ports,
                        s.audit.as_ref(),
                        &t.id,
                        matter,
                        scope,
                        reason,
                        &operator(),
                    )
                    .await?
                }
                HoldCommand::Release {
                    matter, confirm_by, ..
                } => {
                    hold_release(
                        &s.ports,
                        s.audit.as_ref(),
                        &t.id,
                        matter,
                        &operator(),
                        confirm_by.as_deref(),
                    )
                    .await?
                }
            };
            match &r.note {
                Some(n) => println!("{n}"),
                None => println!(
                    "{} files, {} stored objects {}",
                    r.files,
                    r.objects,
                    if matches!(what, HoldCommand::Add { .. }) {
                        "held"
                    } else {
                        "released"
                    }
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dispose { tenant, dry_run } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let s = stores(&cli, &cfg).await?;
            let mut refused = 0;
            for t in tenants(&cfg, tenant.as_deref())? {
                let ds = archiver_core::services::custody::dispose(
                    &s.ports,
                    s.audit.as_ref(),
                    &t.id,
                    &t.retention,
                    &operator(),
                    *dry_run,
                )
                .await?;
                for d in &ds {
                    if d.result.starts_with("refused") {
                        refused += 1;
                    }
                    println!("{d}");
                }
                let files = ds.iter().filter(|d| d.kind == "object").count();
                println!(
                    "{}: {files} files and {} CDRs past retention",
                    t.id,
                    ds.len() - files
                );
            }
            Ok(if refused == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Serve { .. } | Command::Users { .. } | Command::Export { .. } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            zoom_archiver::review::run(&cli, &cfg, stores(&cli, &cfg).await?).await
        }
        Command::Reconcile { day, tenant } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ids: Vec<_> = tenants(&cfg, tenant.as_deref())?
                .into_iter()
                .map(|t| t.id)
                .collect();
            let mut app = match cli.backend {
                Backend::Local => App::local(&cfg, None).await?,
                Backend::Aws => App::aws(&cfg).await?,
            };
            config_loaded(&cli, app.audit.as_ref(), &ids, "reconcile").await;
            let audit = app.audit.clone();
            let r = app.reconciler.clone();
            app.reconciler = custody::attach(r, &cfg, cli.backend, audit).await?;
            reconcile(&app, *day, tenant.as_deref(), &cfg, cli.backend).await
        }
        Command::Seal { day, tenant } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ts = tenants(&cfg, tenant.as_deref())?;
            let s = stores(&cli, &cfg).await?;
            custody::seal_days(&cfg, cli.backend, &s, &ts, *day).await
        }
        Command::Keys { what } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            custody::keys(&cfg, cli.backend, what).await
        }
        Command::ZoomDelete { tenant, dry_run } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ts = tenants(&cfg, tenant.as_deref())?;
            let keys = custody::trusted_keys(&cfg, cli.backend).await?;
            let app = match cli.backend {
                Backend::Local => App::local(&cfg, None).await?,
                Backend::Aws => App::aws(&cfg).await?,
            };
            let ids: Vec<_> = ts.iter().map(|t| t.id.clone()).collect();
            config_loaded(&cli, app.audit.as_ref(), &ids, "zoom-delete").await;
            zoom_archiver::zoom_delete::zoom_delete(&app, &ts, keys, *dry_run).await
        }
        Command::Aws {
            what: AwsCommand::Init,
        } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            aws_init(&cfg).await
        }
        Command::Cdrs {
            format,
            tenant,
            from,
            to,
            user,
            direction,
            number,
            failed,
            show,
        } => {
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let selected = tenants(&cfg, tenant.as_deref())?;
            let s = stores(&cli, &cfg).await?;
            let ids: Vec<_> = selected.iter().map(|t| t.id.clone()).collect();
            config_loaded(&cli, s.audit.as_ref(), &ids, "cdrs").await;
            let meta = s.ports.meta.clone();
            let base = CdrQuery {
                from: *from,
                to: *to,
                user: user.clone(),
                direction: direction.map(Into::into),
                number: number.clone(),
                failed_only: *failed,
                ..CdrQuery::default()
            };
            let mut cdrs = Vec::new();
            if let Some(CdrsCommand::Show { platform_call_id }) = show {
                // One indexed lookup per tenant (the call-id index is keyed by tenant).
                for t in &selected {
                    let q = CdrQuery {
                        tenant: Some(t.id.clone()),
                        platform_call_id: Some(platform_call_id.clone()),
                        ..base.clone()
                    };
                    cdrs.extend(meta.query_cdrs(&q).await?);
                }
                if cdrs.is_empty() {
                    eprintln!("no conversation with platform call id {platform_call_id:?}");
                    return Ok(ExitCode::from(1));
                }
                let q = CdrQuery {
                    platform_call_id: Some(platform_call_id.clone()),
                    ..base.clone()
                };
                let why = format!("cdrs show: {}", zoom_archiver::audit::cdr_filters(&q));
                let read = archiver_core::AuditAction::Read;
                zoom_archiver::audit::cdrs_accessed(s.audit.as_ref(), read, &ids, &cdrs, why)
                    .await?;
                if format.is_none() {
                    let doc = serde_json::json!({
                        "platform_call_id": platform_call_id,
                        "cdrs": cdrs.iter().map(export::cdr_json).collect::<Vec<_>>(),
                    });
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                    return Ok(ExitCode::SUCCESS);
                }
            } else {
                let q = CdrQuery {
                    tenant: tenant.is_some().then(|| selected[0].id.clone()),
                    ..base
                };
                cdrs = meta.query_cdrs(&q).await?;
                let why = format!("cdrs: {}", zoom_archiver::audit::cdr_filters(&q));
                let export = archiver_core::AuditAction::Export;
                zoom_archiver::audit::cdrs_accessed(s.audit.as_ref(), export, &ids, &cdrs, why)
                    .await?;
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let written = match format.unwrap_or(Format::Jsonl) {
                Format::Jsonl => export::write_jsonl(&mut out, &cdrs),
                Format::Csv => export::write_csv(&mut out, &cdrs),
            }
            .and_then(|()| out.flush());
            match written {
                // `cdrs | head` closes the pipe early: not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e.into()),
                Ok(()) => Ok(ExitCode::SUCCESS),
            }
        }
        Command::Audit {
            tenant,
            from,
            to,
            format,
            what,
        } => {
            use zoom_archiver::audit;
            let cfg = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let ids: Vec<_> = tenants(&cfg, tenant.as_deref())?
                .into_iter()
                .map(|t| t.id)
                .collect();
            let s = stores(&cli, &cfg).await?;
            config_loaded(&cli, s.audit.as_ref(), &ids, "audit").await;
            if let Some(zoom_archiver::cli::AuditCommand::Verify) = what {
                let (lines, intact) = audit::verify(s.audit.as_ref(), &ids).await?;
                print!("{lines}");
                return Ok(if intact {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            let entries = audit::list(s.audit.as_ref(), &ids, *from, *to).await?;
            match format {
                zoom_archiver::cli::AuditFormat::Jsonl => print!("{}", audit::jsonl(&entries)?),
                zoom_archiver::cli::AuditFormat::Table => print!("{}", audit::table(&entries)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn reconcile(
    app: &App,
    day: Option<chrono::NaiveDate>,
    only: Option<&str>,
    cfg: &FileConfig,
    backend: Backend,
) -> Result<ExitCode> {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    let mut seals = Vec::new();
    for t in &app.tenants {
        if only.is_some_and(|o| o != t.id.as_str()) {
            continue;
        }
        let Some(zoom) = app.zooms.get(&t.id) else {
            continue;
        };
        let run = app.reconciler.run(t, zoom.as_ref(), day).await;
        if let Some(z) = &run.zoom_deletes {
            println!("{}", zoom_archiver::zoom_delete::summary(z));
            problems.extend(z.stopped.iter().map(|p| format!("tenant {}: {p}", t.id)));
        }
        if let Some(p) = &run.zoom_delete_failure {
            problems.push(format!("tenant {}: {p}", t.id));
        }
        for d in &run.disposals {
            println!("{d}");
        }
        if let Some(p) = &run.disposal_failure {
            problems.push(format!("tenant {}: {p}", t.id));
        }
        problems.extend(
            run.store_failures
                .iter()
                .map(|p| format!("tenant {}: {p}", t.id)),
        );
        if let Some(e) = run.stopped {
            problems.push(format!("tenant {}: {e}", t.id));
        }
        let sealing = run.seal_failures.iter();
        problems.extend(sealing.map(|p| format!("tenant {}: {p}", t.id)));
        custody::protect(cfg, backend, &run.seals);
        seals.extend(run.seals);
        reports.extend(run.days);
    }
    println!(
        "{:<16} {:<10} {:<9} {:>9} {:>13} {:>13} {:>8}  final",
        "tenant", "day", "source", "archived", "not_archived", "not_recorded", "pending"
    );
    for r in &reports {
        for (source, c) in [("phone", &r.phone), ("meetings", &r.meetings)] {
            println!(
                "{:<16} {:<10} {:<9} {:>9} {:>13} {:>13} {:>8}  {}",
                r.tenant,
                r.day,
                source,
                c.archived,
                c.not_archived,
                c.not_recorded,
                c.pending,
                if r.complete { "yes" } else { "no" }
            );
        }
    }
    let written: u64 = reports.iter().map(|r| r.failed_cdrs_written).sum();
    println!("\"recording failed\" CDRs written: {written}");
    for o in &seals {
        println!("{}", custody::seal_line(o));
    }
    for p in &problems {
        eprintln!("{p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn aws_init(cfg: &FileConfig) -> Result<ExitCode> {
    let settings = cfg.aws().map_err(|e| cfg.problem(e))?;
    let report = archiver_aws::init_resources(settings)
        .await
        .context("creating AWS resources")?;
    for r in &report.created {
        println!("created  {r}");
    }
    for r in &report.existing {
        println!("exists   {r}");
    }
    // Zoom secrets named by `client_secret_ref`: created from the environment when missing.
    let adapters =
        archiver_aws::connect(settings, std::sync::Arc::new(archiver_core::SystemClock)).await?;
    for t in &cfg.tenants {
        let Some(name) = &t.client_secret_ref else {
            continue;
        };
        match adapters.secrets.zoom_credentials(name).await {
            Ok(_) => println!("exists   secret {name}"),
            Err(archiver_core::SecretError::NotFound(_)) => {
                let var = format!(
                    "ZOOM_CLIENT_SECRET_{}",
                    t.id.as_str().to_ascii_uppercase().replace('-', "_")
                );
                let Ok(value) = std::env::var(&var) else {
                    eprintln!(
                        "missing  secret {name}: set {var} and run `aws init` again, or create it with {{\"account_id\",\"client_id\",\"client_secret\"}}"
                    );
                    continue;
                };
                let body = serde_json::json!({"account_id": t.account_id, "client_id": t.client_id, "client_secret": value}).to_string();
                adapters
                    .secrets
                    .client()
                    .create_secret()
                    .name(name)
                    .secret_string(body)
                    .send()
                    .await
                    .with_context(|| format!("creating secret {name}"))?;
                println!("created  secret {name}");
            }
            Err(e) => return Err(e).with_context(|| format!("reading secret {name}")),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_once(app: &App) -> Result<ExitCode> {
    let listing = progress_bar("{spinner} listing Zoom recordings {elapsed}");
    let polls = app.poll_all(&PollOptions::default(), false).await;
    if let Some(pb) = listing {
        pb.finish_and_clear();
    }
    eprint!("{}", report::poll_lines(&polls));
    let progress = progress_bar("{spinner} {pos} files done {elapsed}");
    let on_outcome = |_: &archiver_core::Delivery,
                      o: &archiver_core::services::downloader::TaskOutcome| {
        if let Some(pb) = &progress
            && !matches!(
                o,
                archiver_core::services::downloader::TaskOutcome::Retry { .. }
            )
        {
            pb.inc(1);
        }
    };
    let drained = app.drain(Some(&on_outcome)).await?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if app
        .drain
        .stop
        .as_ref()
        .is_some_and(|s| s.load(Ordering::SeqCst))
    {
        eprintln!(
            "stopped by a signal: the downloads in hand finished; the next run takes up the rest"
        );
        return Ok(ExitCode::from(130));
    }
    let tenants: Vec<_> = app.tenants.iter().map(|t| t.id.clone()).collect();
    let totals = report::totals(app.ports.meta.as_ref(), &tenants).await?;
    print!("{}", report::totals_table(&totals));
    let failures = report::failure_lines(&drained);
    eprint!("{failures}");
    if drained.deferred > 0 {
        eprintln!(
            "DEFERRED: {} tasks are due later than download.max_wait; they stay queued for the next run",
            drained.deferred
        );
    }
    let poll_failed = polls.iter().any(|(_, _, r)| r.is_err());
    Ok(
        if failures.is_empty() && !poll_failed && drained.deferred == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// A spinner on stderr when it is a terminal; plain log lines otherwise.
fn progress_bar(template: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(indicatif::ProgressStyle::with_template(template).ok()?);
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

async fn run_forever(app: &App, stop: &AtomicBool) -> Result<ExitCode> {
    let interval = app
        .tenants
        .iter()
        .map(|t| t.interval)
        .min()
        .unwrap_or(Duration::from_secs(300));
    let opts = PollOptions::default();
    loop {
        let polls = app.poll_all(&opts, true).await;
        eprint!("{}", report::poll_lines(&polls));
        let drained = app.drain(None).await?;
        eprint!("{}", report::failure_lines(&drained));
        // Wait for the next poll, in steps, unless asked to stop.
        let started = std::time::Instant::now();
        while started.elapsed() < interval {
            if stop.load(Ordering::SeqCst) {
                eprintln!(
                    "stopped: the downloads in hand finished; the next run takes up the rest"
                );
                return Ok(ExitCode::SUCCESS);
            }
            tokio::time::sleep(Duration::from_millis(200).min(interval)).await;
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// SIGTERM (systemd, `docker stop`) or Ctrl-C: the returned flag is set (take no new task;
/// the downloads in hand finish), and after `grace` the process exits. A second signal
/// exits at once. A run that exits early leaves its claims and tasks to the next run,
/// which takes them up at once (the embedded default releases them at start).
fn stop_on_signals(grace: Duration) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch SIGTERM");
                    return;
                }
            };
        async fn signal(term: &mut tokio::signal::unix::Signal) -> &'static str {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "interrupt",
            }
        }
        let first = signal(&mut term).await;
        flag.store(true, Ordering::SeqCst);
        eprintln!(
            "{first}: stopping; no new downloads, the ones in hand have {} to finish (signal again to exit now)",
            humantime::format_duration(grace)
        );
        tokio::select! {
            second = signal(&mut term) => {
                eprintln!("{second}: exiting now; the next run takes up what is left");
            }
            _ = tokio::time::sleep(grace) => {
                eprintln!("grace period over: exiting; the next run takes up what is left");
            }
        }
        std::process::exit(130);
    });
    stop
}

/// Records that `command` loaded the configuration (`--config`) in each of `tenants`'
/// audit chains (a failure is said on stderr: see [`zoom_archiver::audit::config_loaded`]).
async fn config_loaded(
    cli: &Cli,
    audit: &dyn archiver_core::AuditLog,
    tenants: &[archiver_core::TenantId],
    command: &str,
) {
    let path = cli.config.clone().unwrap_or_default();
    zoom_archiver::audit::config_loaded(audit, &path, tenants, command).await;
}

/// One `retry` entry per tenant with files queued again (their file ids as objects).
async fn audit_retry(
    audit: &dyn archiver_core::AuditLog,
    r: &archiver_core::services::retry::RetryReport,
    what: &archiver_core::services::retry::RetryWhat,
) -> Result<()> {
    use archiver_core::services::retry::RetryWhat;
    let mut by_tenant = std::collections::BTreeMap::<String, Vec<String>>::new();
    for l in r.lines.iter().filter(|l| l.action == "retried") {
        by_tenant
            .entry(l.tenant.clone())
            .or_default()
            .push(l.file_id.clone());
    }
    let why = match what {
        RetryWhat::File(f) => format!("retry --file {f}"),
        RetryWhat::Failed => "retry --failed".into(),
        RetryWhat::DeadLetters => "retry --dead-letters".into(),
    };
    for (tenant, files) in by_tenant {
        let tenant = archiver_core::TenantId::new(tenant)?;
        let action = archiver_core::AuditAction::Retry;
        zoom_archiver::audit::record(audit, &tenant, action, files, Some(why.clone()), "ok")
            .await?;
    }
    Ok(())
}

/// One `verify` entry per tenant checked: `ok`, or how many findings (their keys as
/// objects).
async fn audit_verify(
    audit: &dyn archiver_core::AuditLog,
    tenants: &[archiver_core::TenantId],
    r: &archiver_core::services::verify::VerifyReport,
    opts: &archiver_core::services::verify::VerifyOptions,
) -> Result<()> {
    let mut why = "verify (fixity)".to_string();
    if let Some(f) = opts.from {
        why.push_str(&format!(" --from {f}"));
    }
    if let Some(t) = opts.to {
        why.push_str(&format!(" --to {t}"));
    }
    if let Some(n) = opts.sample {
        why.push_str(&format!(" --sample {n}"));
    }
    for t in tenants {
        let keys: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.tenant == t.as_str())
            .map(|f| f.key.clone())
            .collect();
        let result = match keys.len() {
            0 => "ok".to_string(),
            1 => "1 finding".to_string(),
            n => format!("{n} findings"),
        };
        let action = archiver_core::AuditAction::Verify;
        zoom_archiver::audit::record(audit, t, action, keys, Some(why.clone()), &result).await?;
    }
    Ok(())
}
