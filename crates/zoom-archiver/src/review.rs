//! `serve`, `users` and `export`: the review UI ([`archiver_review`]) over the stores of
//! the configured backend, its accounts, and export bundles from the command line.
//!
//! Review accounts live in the embedded default's `archive.db` (tables `review_*`), and on
//! `--backend aws` in the metadata table (items keyed `R#…`,
//! [`archiver_aws::DynamoReviewerStore`]); `serve` reads the CDRs, media and audit trail
//! of the same backend, so `serve`, `users` and `export` work on both.

use crate::app::{Stores, actor};
use crate::cli::{Backend, Cli, Command, ReasonArg, RoleArg, UsersCommand};
use crate::config::FileConfig;
use anyhow::{Context, Result};
use archiver_core::{
    AuditAction, AuditDraft, Clock, ReviewRole, ReviewerStore, SystemClock, TenantId,
};
use archiver_review::{ReasonPolicy, Review, ReviewConfig, SearchParams, Viewer};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The review accounts of the backend (`stores` are the backend's, from [`Stores::local`]
/// or [`Stores::aws`]).
pub fn reviewer_store(
    cli: &Cli,
    cfg: &FileConfig,
    stores: &Stores,
) -> Result<Arc<dyn ReviewerStore>> {
    match cli.backend {
        Backend::Local => {
            let dir = cfg.data_dir().map_err(|e| cfg.problem(e))?;
            let db = dir.join(archiver_local::DB_FILE);
            Ok(Arc::new(
                archiver_local::SqliteReviewerStore::open(&db)
                    .with_context(|| format!("opening the review accounts in {}", db.display()))?,
            ))
        }
        Backend::Aws => stores
            .aws_reviewers()
            .context("--backend aws: the stores were not opened on AWS"),
    }
}

fn policy(r: ReasonArg) -> ReasonPolicy {
    match r {
        ReasonArg::Required => ReasonPolicy::Required,
        ReasonArg::Optional => ReasonPolicy::Optional,
        ReasonArg::Off => ReasonPolicy::Off,
    }
}

fn tenant_ids(cfg: &FileConfig) -> Vec<TenantId> {
    cfg.tenants.iter().map(|t| t.id.clone()).collect()
}

/// Runs `serve`, `users` or `export`.
pub async fn run(cli: &Cli, cfg: &FileConfig, stores: Stores) -> Result<ExitCode> {
    match &cli.command {
        Command::Serve {
            listen,
            secure_cookies,
            play_reason,
            export_reason,
            exports_dir,
        } => {
            let users = reviewer_store(cli, cfg, &stores)?;
            let exports_dir = match exports_dir {
                Some(d) => d.clone(),
                None => cfg
                    .data_dir()
                    .map(|d| d.join("exports"))
                    .unwrap_or_else(|_| std::env::temp_dir().join("zoom-archiver-exports")),
            };
            let mut rc = ReviewConfig::new(tenant_ids(cfg), exports_dir);
            rc.secure_cookies = *secure_cookies;
            rc.play_reason = policy(*play_reason);
            rc.export_reason = policy(*export_reason);
            // Waveform peaks of recordings archived before they existed are computed on
            // demand (and stored beside them) with the archiver's media analyser.
            let state = Review::new(stores.ports, stores.audit, users, rc)
                .with_analyser(Arc::new(archiver_media::BlobAnalyser::new()));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("--listen {listen}: cannot bind"))?;
            eprintln!(
                "review UI on http://{} (accounts: zoom-archiver users add NAME --role admin)",
                listener.local_addr()?
            );
            tokio::select! {
                r = archiver_review::serve(listener, archiver_review::router(state)) => r?,
                _ = tokio::signal::ctrl_c() => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Users { what } => users(cli, cfg, &stores, what).await,
        Command::Export { query, out, reason } => {
            export(cfg, &stores, query, out, reason.clone()).await
        }
        _ => unreachable!("review::run is given serve, users and export only"),
    }
}

async fn users(
    cli: &Cli,
    cfg: &FileConfig,
    stores: &Stores,
    what: &UsersCommand,
) -> Result<ExitCode> {
    let store = reviewer_store(cli, cfg, stores)?;
    match what {
        UsersCommand::Add { name, role } => {
            let role = match role {
                RoleArg::Reviewer => ReviewRole::Reviewer,
                RoleArg::Admin => ReviewRole::Admin,
            };
            let pw =
                archiver_review::add_user(store.as_ref(), name, role, SystemClock.now()).await?;
            println!("{pw}");
            eprintln!("one-time password of {name}: it must be changed at the first login");
        }
        UsersCommand::Token { name } => {
            println!(
                "{}",
                archiver_review::issue_token(store.as_ref(), name).await?
            );
        }
        UsersCommand::Grant { name, tenant, user } => {
            let t = cfg
                .select_tenants(Some(tenant))
                .map_err(anyhow::Error::msg)?
                .remove(0)
                .id;
            archiver_review::grant(store.as_ref(), name, t, user.clone()).await?;
            println!(
                "{name} may see {}",
                user.as_deref().map_or_else(
                    || format!("tenant {tenant}"),
                    |u| format!("{u} of tenant {tenant}")
                )
            );
        }
        UsersCommand::List => {
            for u in store.list().await? {
                let grants: Vec<String> = store
                    .grants(&u.name)
                    .await?
                    .into_iter()
                    .map(|g| match g.user {
                        Some(x) => format!("{}:{x}", g.tenant),
                        None => g.tenant.to_string(),
                    })
                    .collect();
                println!("{}\t{:?}\t{}", u.name, u.role, grants.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    cfg: &FileConfig,
    stores: &Stores,
    query: &str,
    out: &PathBuf,
    reason: Option<String>,
) -> Result<ExitCode> {
    let params = SearchParams::from_query_string(query)
        .map_err(|e| anyhow::anyhow!("--query {query:?}: {e}"))?;
    let tenants = tenant_ids(cfg);
    let who = actor();
    let operator = Viewer {
        name: who.clone(),
        role: ReviewRole::Admin,
        grants: vec![],
        session: "cli".into(),
        csrf: None,
        must_change_password: false,
    };
    let cdrs = archiver_review::search::search_all(
        stores.ports.meta.as_ref(),
        &operator,
        &tenants,
        &params,
    )
    .await
    .map_err(|e| anyhow::anyhow!("--query {query:?}: {e}"))?;
    if cdrs.is_empty() {
        eprintln!("no conversation matches --query {query:?}: nothing written");
        return Ok(ExitCode::from(1));
    }
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut touched: Vec<TenantId> = cdrs.iter().map(|c| c.tenant.clone()).collect();
    touched.sort();
    touched.dedup();
    let n = cdrs.len();
    let r = archiver_review::write_bundle(
        stores.ports.blobs.clone(),
        cdrs.clone(),
        file,
        who.clone(),
        reason.clone(),
        Arc::new(AtomicU64::new(0)),
    )
    .await;
    let result = match &r {
        Ok(s) => format!("ok: {} files into {}", s.files.len(), out.display()),
        Err(e) => format!("failed: {e}"),
    };
    let mut objects: Vec<String> = cdrs.iter().map(|c| c.cdr_id.clone()).collect();
    if let Ok(s) = &r {
        objects.extend(s.files.iter().filter_map(|f| f.key.clone()));
    }
    for t in touched {
        archiver_core::services::audit::record(
            stores.audit.as_ref(),
            AuditDraft {
                tenant: t,
                at: stores.ports.clock.now(),
                actor: who.clone(),
                action: AuditAction::Export,
                objects: objects.clone(),
                reason: reason.clone(),
                result: result.clone(),
            },
        )
        .await
        .context("the bundle was written but not recorded in the audit trail")?;
    }
    let s = r.with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{n} conversations, {} files ({} bytes of media) into {}",
        s.files.len(),
        s.media_bytes,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
