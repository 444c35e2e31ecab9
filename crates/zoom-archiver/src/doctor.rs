//! `zoom-archiver doctor [--tenant T]`: can this deployment archive, and if not, what to fix.
//!
//! The rules are [`archiver_core::services::doctor`]'s; this module builds what they run
//! on, itself and check by check, so that one fault becomes one failed line instead of an
//! early error: the backend's ports (without [`crate::app::App`]'s start-up work: no
//! in-flight tasks recovered, no claims released, so a running `run` is not disturbed),
//! each tenant's credentials (an unreadable secret fails that tenant's token line) and
//! Zoom client (with one retry, so an unreachable network answers within seconds),
//! wrapped in its daily budget like every client ([`BudgetedZoom`]: the probes are
//! counted).
//!
//! No secret reaches the output: the core's lines are built from names, and every client
//! secret that was read is also scrubbed from the text before it is returned.

use crate::config::FileConfig;
use anyhow::{Result, bail};
use archiver_core::services::budget::BudgetedZoom;
use archiver_core::services::credentials::zoom_credentials;
use archiver_core::services::doctor::{
    Check, DoctorReport, ProxyEnv, ZoomSetup, check_queue, check_stores, check_zoom, config_check,
};
use archiver_core::{Clock, Ports, QuotaLedger, SecretSource, SystemClock, TenantConfig, ZoomApi};
use archiver_zoom::{RetryPolicy, ZoomClient, ZoomClientConfig};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The backend whose stores are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default (`[storage] data_dir`).
    Local,
    /// S3, DynamoDB, SQS and Secrets Manager (`[aws]`).
    Aws,
}

impl From<crate::cli::Backend> for Backend {
    fn from(b: crate::cli::Backend) -> Self {
        match b {
            crate::cli::Backend::Local => Backend::Local,
            crate::cli::Backend::Aws => Backend::Aws,
        }
    }
}

/// What the checks run on: the ports (or why they could not be opened), a description
/// of the backend, where secrets come from (`Err`: why the named ones cannot be read) and
/// the quota ledger.
struct Opened {
    ports: Result<Ports, String>,
    label: String,
    secrets: Result<Arc<dyn SecretSource>, String>,
    ledger: Option<Arc<dyn QuotaLedger>>,
}

async fn open(cfg: &FileConfig, backend: Backend, clock: Arc<dyn Clock>) -> Opened {
    match backend {
        Backend::Local => {
            let secrets: Result<Arc<dyn SecretSource>, String> =
                Ok(Arc::new(archiver_local::LocalSecretSource::new()));
            let data_dir = match cfg.data_dir() {
                Ok(d) => d,
                Err(e) => {
                    return Opened {
                        ports: Err(e.to_string()),
                        label: "embedded".into(),
                        secrets,
                        ledger: None,
                    };
                }
            };
            let label = format!("embedded ({})", data_dir.display());
            let ports =
                archiver_local::open_ports(data_dir, data_dir.join("objects"), clock.clone())
                    .map_err(|e| format!("cannot open {}: {e}", data_dir.display()));
            let ledger = archiver_local::open_quota(data_dir)
                .ok()
                .map(|l| Arc::new(l) as Arc<dyn QuotaLedger>);
            Opened {
                ports,
                label,
                secrets,
                ledger,
            }
        }
        Backend::Aws => {
            let settings = match cfg.aws() {
                Ok(s) => s,
                Err(e) => {
                    return Opened {
                        ports: Err(e.to_string()),
                        label: "AWS".into(),
                        secrets: Err(e.to_string()),
                        ledger: None,
                    };
                }
            };
            let label = format!(
                "AWS (bucket {}, table {}, queue {})",
                settings.bucket, settings.table, settings.queue_name
            );
            match archiver_aws::connect(settings, clock.clone()).await {
                Ok(a) => Opened {
                    ports: Ok(a.ports(clock)),
                    label,
                    secrets: Ok(a.secrets.clone()),
                    ledger: Some(a.quota.clone()),
                },
                Err(e) => Opened {
                    ports: Err(format!("cannot connect: {e}")),
                    label,
                    secrets: Err(format!("AWS did not connect: {e}")),
                    ledger: None,
                },
            }
        }
    }
}

/// Builds `t`'s Zoom client from `creds` (one retry: the doctor answers within seconds),
/// counted in `ledger` when there is one.
fn client(
    t: &TenantConfig,
    creds: archiver_core::ZoomCredentials,
    ledger: Option<&Arc<dyn QuotaLedger>>,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<dyn ZoomApi>, String> {
    let mut zc = ZoomClientConfig::for_tenant(t, creds);
    zc.retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::default()
    };
    zc.connect_timeout = Duration::from_secs(10);
    zc.read_timeout = Duration::from_secs(30);
    let raw: Arc<dyn ZoomApi> = Arc::new(ZoomClient::new(zc).map_err(|e| e.to_string())?);
    Ok(match ledger {
        Some(l) => Arc::new(BudgetedZoom::new(
            raw,
            l.clone(),
            t.account_id.clone(),
            t.budget(),
            clock.clone(),
        )),
        None => raw,
    })
}

/// Runs every check of the tenants of `cfg` (only `tenant` when given) on `backend`, and
/// returns the report's text (one line per check, `ok` or what to fix) and whether every
/// check passed (exit 0, else 1).
///
/// `cfg` was read from `config_path` and validated by the caller. The proxy variables are
/// read from this process's environment.
///
/// # Errors
///
/// Only when `tenant` names no configured tenant (a configuration error: exit 2).
pub async fn run(
    cfg: &FileConfig,
    config_path: &Path,
    backend: Backend,
    tenant: Option<&str>,
) -> Result<(String, bool)> {
    let env = ProxyEnv::read(|name| std::env::var(name).ok());
    check(
        cfg,
        config_path,
        backend,
        tenant,
        Arc::new(SystemClock),
        &env,
    )
    .await
}

/// [`run`] with a given clock and proxy environment (tests).
pub async fn check(
    cfg: &FileConfig,
    config_path: &Path,
    backend: Backend,
    tenant: Option<&str>,
    clock: Arc<dyn Clock>,
    env: &ProxyEnv,
) -> Result<(String, bool)> {
    let tenants: Vec<&TenantConfig> = match tenant {
        None => cfg.tenants.iter().collect(),
        Some(id) => match cfg.tenants.iter().find(|t| t.id.as_str() == id) {
            Some(t) => vec![t],
            None => {
                let known: Vec<&str> = cfg.tenants.iter().map(|t| t.id.as_str()).collect();
                bail!(
                    "{}: unknown tenant {:?} (configured: {})",
                    config_path.display(),
                    id,
                    known.join(", ")
                );
            }
        },
    };
    let mut report = DoctorReport::default();
    report.checks.push(config_check(
        &config_path.display().to_string(),
        cfg.tenants.len(),
    ));
    let opened = open(cfg, backend, clock.clone()).await;
    let mut secrets: Vec<SecretString> = Vec::new();
    for t in tenants {
        // Inline and environment secrets need no secret store; named ones do.
        let source: Result<Arc<dyn SecretSource>, String> =
            match (&opened.secrets, &t.client_secret_ref) {
                (Ok(s), _) => Ok(s.clone()),
                (Err(_), None) => Ok(Arc::new(archiver_local::LocalSecretSource::new())),
                (Err(e), Some(name)) => Err(format!("secret {name:?} not read: {e}")),
            };
        let creds = match source {
            Ok(source) => zoom_credentials(t, source.as_ref())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let built: Arc<dyn ZoomApi>;
        let setup = match creds {
            Err(e) => ZoomSetup::NoSecret(e),
            Ok(creds) => {
                secrets.push(creds.client_secret.clone());
                match client(t, creds, opened.ledger.as_ref(), &clock) {
                    Ok(z) => {
                        built = z;
                        ZoomSetup::Ready(built.as_ref())
                    }
                    Err(e) => ZoomSetup::NoClient(e),
                }
            }
        };
        report
            .checks
            .extend(check_zoom(t, setup, env, clock.now()).await);
        match &opened.ports {
            Ok(ports) => report
                .checks
                .extend(check_stores(ports, &t.id, &opened.label).await),
            Err(e) => {
                for name in ["objects", "metadata"] {
                    report.checks.push(Check::fail(
                        Some(&t.id),
                        name,
                        format!("{}: {e}", opened.label),
                    ));
                }
            }
        }
    }
    report.checks.push(match &opened.ports {
        Ok(ports) => check_queue(ports, &opened.label).await,
        Err(e) => Check::fail(None, "queue", format!("{}: {e}", opened.label)),
    });
    Ok((scrub(report.render(), &secrets), report.all_ok()))
}

/// `text` with every secret value (of four characters or more) replaced by `[REDACTED]`.
fn scrub(mut text: String, secrets: &[SecretString]) -> String {
    for s in secrets {
        let s = s.expose_secret();
        if s.len() >= 4 {
            text = text.replace(s, "[REDACTED]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed() {
        let s = [SecretString::from("hunter22"), SecretString::from("ab")];
        assert_eq!(scrub("a hunter22 b ab".into(), &s), "a [REDACTED] b ab");
    }
}
