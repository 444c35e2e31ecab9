//! Composition root of the command-line process: adapters, Zoom clients, services.

use crate::config::FileConfig;
use anyhow::{Context, Result};
use archiver_core::services::budget::BudgetedZoom;
use archiver_core::services::credentials::zoom_credentials;
use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_core::services::poller::{PollOptions, PollReport, Poller};
use archiver_core::services::reconcile::Reconciler;
use archiver_core::services::runner::{DrainOptions, DrainReport, ZoomClients, drain};
use archiver_core::{
    AuditLog, Clock, ConfigError, Ports, QuotaLedger, SecretError, SecretSource, Source,
    SystemClock, TenantConfig, TenantId, ZoomApi, ZoomCredentials,
};
use archiver_local::{
    FsBlobStore, LocalSecretSource, SqliteAuditLog, SqliteMetaStore, SqliteQuotaLedger,
    SqliteTaskQueue,
};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use std::sync::Arc;

/// Everything one process needs: ports, services, Zoom clients.
pub struct App {
    /// The adapters.
    pub ports: Ports,
    /// The tenants.
    pub tenants: Vec<TenantConfig>,
    /// Zoom client per tenant.
    pub zooms: ZoomClients,
    /// The poller.
    pub poller: Poller,
    /// The downloader.
    pub downloader: Downloader,
    /// Drain settings.
    pub drain: DrainOptions,
    /// The reconciler.
    pub reconciler: Reconciler,
    /// Counts of Zoom calls per account, category and day.
    pub ledger: Arc<dyn QuotaLedger>,
    /// The audit trail (the downloader records a `create` entry per archived file in it).
    pub audit: Arc<dyn AuditLog>,
}

/// Who runs this process, for the audit trail and a file's history: `user@host` (`$USER`
/// or `$LOGNAME`, and the host name).
pub fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// The CDR `location` of this process: the configured one, else the host name.
pub fn location(cfg: &FileConfig) -> String {
    cfg.location.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into())
    })
}

/// Builds the Zoom client of every tenant, its credentials read from `secrets` by the one
/// rule ([`archiver_core::services::credentials`]). A secret that is missing or malformed
/// (an unset variable, an unreadable file, a secret without its fields) is a configuration
/// problem naming the file and the tenant's key.
pub async fn zoom_clients(cfg: &FileConfig, secrets: &dyn SecretSource) -> Result<ZoomClients> {
    let mut zooms = ZoomClients::new();
    for (i, t) in cfg.tenants.iter().enumerate() {
        let creds = match zoom_credentials(t, secrets).await {
            Ok(c) => c,
            // A local secret (a variable, a file) that cannot be read is the configuration's
            // problem; so is a missing or malformed one anywhere.
            Err(e)
                if matches!(e, SecretError::NotFound(_) | SecretError::Malformed { .. })
                    || t.client_secret_env.is_some()
                    || t.client_secret_ref
                        .as_deref()
                        .is_some_and(|r| r.starts_with("file:") || r.starts_with("env:")) =>
            {
                let key = if t.client_secret_env.is_some() {
                    "client_secret_env"
                } else {
                    "client_secret_ref"
                };
                return Err(cfg
                    .problem(ConfigError::new(
                        format!("tenants[{i}].{key}"),
                        format!("tenant {}: {e}", t.id),
                    ))
                    .into());
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("tenant {}: reading the Zoom credentials", t.id)));
            }
        };
        zooms.insert(t.id.clone(), zoom_client(t, creds)?);
    }
    Ok(zooms)
}

/// Builds one tenant's Zoom client.
pub fn zoom_client(t: &TenantConfig, creds: ZoomCredentials) -> Result<Arc<dyn ZoomApi>> {
    let client = ZoomClient::new(ZoomClientConfig::for_tenant(t, creds))
        .with_context(|| format!("tenant {}: building the Zoom client", t.id))?;
    Ok(Arc::new(client) as Arc<dyn ZoomApi>)
}

/// The stores of a backend without Zoom clients or services: what `status`, `retry` and
/// `verify` need. Opening them changes nothing (no recovery of an earlier run's tasks).
pub struct Stores {
    /// The adapters.
    pub ports: Ports,
    /// The quota ledger.
    pub ledger: Arc<dyn QuotaLedger>,
    /// The audit trail (SQLite in the same `archive.db` locally; the metadata table on AWS).
    pub audit: Arc<dyn AuditLog>,
    /// The concrete local queue (for the single-consumer recovery of `run`).
    local_queue: Option<Arc<SqliteTaskQueue>>,
    /// The AWS adapters (for the Zoom credentials in Secrets Manager).
    aws: Option<archiver_aws::AwsAdapters>,
}

impl Stores {
    /// The embedded default (filesystem + SQLite) of a config.
    pub async fn local(cfg: &FileConfig, clock: Option<Arc<dyn Clock>>) -> Result<Stores> {
        let data_dir = cfg.data_dir().map_err(|e| cfg.problem(e))?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data_dir {}", data_dir.display()))?;
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let db = data_dir.join("archive.db");
        let blobs = FsBlobStore::new(data_dir.join("objects"))
            .with_context(|| format!("opening {}", data_dir.join("objects").display()))?;
        let meta =
            SqliteMetaStore::open(&db).with_context(|| format!("opening {}", db.display()))?;
        let queue = Arc::new(
            SqliteTaskQueue::open(&db, clock.clone())
                .with_context(|| format!("opening the queue in {}", db.display()))?,
        );
        let ledger = SqliteQuotaLedger::open(&db)
            .with_context(|| format!("opening the quota ledger in {}", db.display()))?;
        let audit = SqliteAuditLog::open(&db)
            .with_context(|| format!("opening the audit trail in {}", db.display()))?;
        Ok(Stores {
            ports: Ports {
                blobs: Arc::new(blobs),
                meta: Arc::new(meta),
                queue: queue.clone(),
                clock,
            },
            ledger: Arc::new(ledger),
            audit: Arc::new(audit),
            local_queue: Some(queue),
            aws: None,
        })
    }

    /// The AWS backend (S3, DynamoDB, SQS) of the `[aws]` table.
    pub async fn aws(cfg: &FileConfig) -> Result<Stores> {
        let settings = cfg.aws().map_err(|e| cfg.problem(e))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let adapters = archiver_aws::connect(settings, clock.clone())
            .await
            .context("connecting to AWS")?;
        Ok(Stores {
            ports: adapters.ports(clock),
            ledger: adapters.quota.clone(),
            audit: adapters.audit.clone(),
            local_queue: None,
            aws: Some(adapters),
        })
    }

    /// The review accounts on the AWS backend (items of the metadata table,
    /// [`archiver_aws::DynamoReviewerStore`]); `None` on the embedded default, whose accounts
    /// are opened from `archive.db` by [`crate::review::reviewer_store`].
    pub fn aws_reviewers(&self) -> Option<Arc<dyn archiver_core::ReviewerStore>> {
        self.aws
            .as_ref()
            .map(|a| a.reviewers.clone() as Arc<dyn archiver_core::ReviewerStore>)
    }

    /// The secret source of the backend (environment and files locally, Secrets Manager
    /// on AWS).
    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        match &self.aws {
            Some(a) => a.secrets.clone(),
            None => Arc::new(LocalSecretSource::new()),
        }
    }
}

impl App {
    /// Builds the embedded default (filesystem + SQLite) from a config.
    pub async fn local(cfg: &FileConfig, clock: Option<Arc<dyn Clock>>) -> Result<App> {
        let stores = Stores::local(cfg, clock).await?;
        // This process is the only consumer of the local queue: tasks a crashed run left
        // in flight are due again now, not after their visibility timeout.
        if let Some(q) = &stores.local_queue {
            q.recover_in_flight()
                .await
                .context("recovering in-flight tasks")?;
        }
        // …and so are the claims it left on files (killed, or stopped after its grace).
        let ports = stores.ports.clone();
        let released = archiver_core::services::sweep::release_claims(&ports)
            .await
            .context("releasing the claims of an earlier run")?;
        if released > 0 {
            tracing::info!(released, "claims of an earlier run released");
        }
        let zooms = zoom_clients(cfg, stores.secrets().as_ref()).await?;
        Ok(Self::assemble(
            cfg,
            ports,
            zooms,
            stores.ledger,
            stores.audit,
        ))
    }

    /// Builds the AWS backend (S3, DynamoDB, SQS, Secrets Manager) from the `[aws]` table.
    /// A tenant's `client_secret_ref` names a Secrets Manager secret holding
    /// `{"account_id", "client_id", "client_secret"}`.
    pub async fn aws(cfg: &FileConfig) -> Result<App> {
        let stores = Stores::aws(cfg).await?;
        let zooms = zoom_clients(cfg, stores.secrets().as_ref()).await?;
        Ok(Self::assemble(
            cfg,
            stores.ports,
            zooms,
            stores.ledger,
            stores.audit,
        ))
    }

    /// Wires services over given ports and clients. Every tenant's Zoom client is wrapped
    /// in its daily budget ([`BudgetedZoom`], counted in `ledger`); the downloader records
    /// each archived file in `audit`, naming this process's [`actor`].
    pub fn assemble(
        cfg: &FileConfig,
        ports: Ports,
        zooms: ZoomClients,
        ledger: Arc<dyn QuotaLedger>,
        audit: Arc<dyn AuditLog>,
    ) -> App {
        let zooms: ZoomClients = zooms
            .into_iter()
            .map(|(id, z)| {
                let budget = cfg
                    .tenants
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| (t.account_id.clone(), t.budget()))
                    .unwrap_or_else(|| (id.to_string(), Default::default()));
                let z: Arc<dyn ZoomApi> = Arc::new(
                    BudgetedZoom::new(z, ledger.clone(), budget.0, budget.1, ports.clock.clone())
                        .for_tenant(&id),
                );
                (id, z)
            })
            .collect();
        let d = &cfg.download;
        let settings = DownloadSettings {
            max_attempts: d.max_attempts,
            retry_base: d.retry_base,
            retry_max: d.retry_max,
            parallel_streams: d.parallel_streams.max(1),
            transient_horizon: d.transient_horizon,
            ..DownloadSettings::default()
        };
        App {
            poller: Poller::new(ports.clone(), location(cfg)),
            downloader: {
                let dl =
                    Downloader::new(ports.clone(), settings).with_audit(audit.clone(), actor());
                if d.analyse_media {
                    dl.with_analyser(std::sync::Arc::new(archiver_media::BlobAnalyser::new()))
                } else {
                    dl
                }
            },
            drain: DrainOptions {
                concurrency: d.concurrency,
                max_wait: d.max_wait,
                ..DrainOptions::default()
            },
            tenants: cfg.tenants.clone(),
            zooms,
            // Deletes at Zoom only for tenants with delete_at_zoom, and only with the
            // sealing key attached (`custody::attach`): its public key is the trusted one.
            reconciler: Reconciler::new(ports.clone(), location(cfg)).with_zoom_delete(
                archiver_core::services::zoom_delete::ZoomDeleter {
                    audit: audit.clone(),
                    actor: actor(),
                    keys: Vec::new(),
                },
            ),
            ledger,
            audit,
            ports,
        }
    }

    /// Polls every source of every tenant once. Errors are reported per source, not fatal.
    /// With `respect_intervals`, a source polled successfully within 90 % of its tenant's
    /// interval (by this or a redundant deployment) is skipped.
    pub async fn poll_all(
        &self,
        opts: &PollOptions,
        respect_intervals: bool,
    ) -> Vec<(TenantId, Source, Result<PollReport, String>)> {
        let mut out = Vec::new();
        for t in &self.tenants {
            let opts = &PollOptions {
                min_gap: if respect_intervals {
                    t.interval.mul_f64(0.9)
                } else {
                    opts.min_gap
                },
                // The sweep fails parked files at the downloader's horizon.
                sweep: archiver_core::services::sweep::SweepOptions {
                    transient_horizon: self.downloader.settings().transient_horizon,
                    ..opts.sweep.clone()
                },
                ..opts.clone()
            };
            let zoom = self.zooms.get(&t.id).expect("a client per tenant");
            for &source in &t.sources {
                let r = self
                    .poller
                    .poll(t, source, zoom.as_ref(), opts)
                    .await
                    .map_err(|e| e.to_string());
                if let Err(e) = &r {
                    tracing::error!(tenant = %t.id, %source, error = %e, "poll failed");
                }
                out.push((t.id.clone(), source, r));
            }
        }
        out
    }

    /// Works off the queue until nothing is left to do now.
    pub async fn drain(
        &self,
        on_outcome: Option<archiver_core::services::runner::OnOutcome<'_>>,
    ) -> Result<DrainReport> {
        Ok(drain(
            self.ports.queue.as_ref(),
            self.ports.clock.as_ref(),
            &self.downloader,
            &self.zooms,
            &self.drain,
            on_outcome,
        )
        .await?)
    }
}
