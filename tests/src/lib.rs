//! End-to-end test harness: a Zoom simulator, the archiver's services, and a backend.
//!
//! [`Harness`] starts the simulator on a loopback port with a scenario, builds the real
//! Zoom client against it, and runs the core poller and downloader over the chosen
//! adapters (embedded default: filesystem + SQLite in a temporary directory; or memory).
//! The archiver's clock follows the simulator's, so a manual simulator clock drives both.

use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_core::services::poller::{PollOptions, PollReport, Poller};
use archiver_core::services::runner::{DrainOptions, DrainReport, ZoomClients, drain};
use archiver_core::{
    BlobStore, Cdr, CdrQuery, Clock, FileQuery, FileRecord, FileState, MetaStore, Ports, Source,
    TaskQueue, TenantConfig, ZoomApi, ZoomCredentials,
};
use archiver_zoom::{RetryPolicy, ZoomClient, ZoomClientConfig};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use zoom_sim::{Scenario, SimClock, SimServer};

pub mod invariants;
pub mod soak;

pub use archiver_testkit::moto_endpoint;

/// A harness on the AWS adapters (S3, DynamoDB, SQS) against moto, with fresh resources
/// named after `name`; `None` when moto is not configured (see [`moto_endpoint`]).
pub async fn aws_harness(
    name: &str,
    scenario: Scenario,
    clock: SimClock,
    tenant: impl FnOnce(&SimServer) -> TenantConfig,
) -> Option<Harness> {
    let endpoint = moto_endpoint()?;
    let unique = format!(
        "{name}-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            % 0xffff_ffff
    );
    let settings = archiver_aws::AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint),
        bucket: format!("za-{unique}"),
        table: format!("za-{unique}"),
        queue_name: format!("za-{unique}"),
        dlq_name: None,
        kms_key_id: None,
        key_prefix: None,
        object_lock: None,
        manifest_key_id: None,
    };
    archiver_aws::init_resources(&settings)
        .await
        .expect("init_resources");
    let sim = SimServer::start_with_clock(scenario, clock)
        .await
        .expect("simulator starts");
    let clock: Arc<dyn archiver_core::Clock> = Arc::new(SimTime(sim.clock().clone()));
    let adapters = archiver_aws::connect(&settings, clock.clone())
        .await
        .expect("connect");
    let tenant = tenant(&sim);
    let opts = HarnessOptions::default();
    let zoom = zoom_client(&tenant, opts.page_size, opts.retry);
    // One download at a time: moto's DynamoDB checks a condition and writes in two steps
    // without a lock, so concurrent compare-and-set writes to one CDR can both "win" there
    // (seen under CI load; real DynamoDB conditional writes are atomic, and the CAS contract
    // is covered by the conformance suite). Concurrency is exercised on the other backends.
    Some(Harness::assemble(
        sim,
        tenant,
        adapters.ports(clock),
        zoom,
        1,
        tempfile::tempdir().expect("tempdir"),
    ))
}

pub use invariants::{Expect, InvariantReport, assert_invariants, assert_invariants_with};

/// Runs each named fault test (an `async fn(Backend)` of the calling test file) twice: on
/// the embedded default's SQLite queue and on the SQS-faithful queue model (receive cap
/// with redrive, 12-hour visibility horizon), as `name::sqlite_queue` and `name::sqs_model`.
#[macro_export]
macro_rules! on_both_queues {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite_queue() {
                super::$name($crate::Backend::Local).await;
            }
            #[tokio::test]
            async fn sqs_model() {
                super::$name($crate::Backend::SqsModel).await;
            }
        }
    )*};
}

/// The archiver's clock, following the simulator's.
#[derive(Clone)]
pub struct SimTime(pub SimClock);

#[async_trait]
impl Clock for SimTime {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
    async fn sleep(&self, d: Duration) {
        if self.0.is_manual() {
            self.0
                .advance(chrono::Duration::from_std(d).unwrap_or_default());
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(d).await;
        }
    }
}

/// Which adapters a harness runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Filesystem objects + SQLite metadata and queue (the embedded default).
    Local,
    /// In-memory adapters.
    Memory,
    /// The embedded default's object and metadata stores with the SQS-faithful queue model
    /// (`archiver_testkit::MemTaskQueue`: receive cap and redrive, 12-hour visibility
    /// horizon): the queue semantics of the AWS deployment.
    SqsModel,
}

/// A tenant configuration for the simulator's demo account: Alice (voice, 1001), Bob (video, 1002), Carol (voice, 1003).
pub fn demo_tenant(sim: &SimServer) -> TenantConfig {
    tenant_config(
        sim,
        "demo-account",
        "demo-client",
        "demo-secret",
        &[
            ("alice@acme.example", "1001", "voice"),
            ("bob@acme.example", "1002", "video"),
            ("carol@acme.example", "1003", "voice"),
        ],
    )
}

/// A tenant configuration pointing at the simulator.
pub fn tenant_config(
    sim: &SimServer,
    account: &str,
    client: &str,
    secret: &str,
    users: &[(&str, &str, &str)],
) -> TenantConfig {
    let users: Vec<_> = users
        .iter()
        .map(|(e, x, m)| serde_json::json!({"email": e, "extension": x, "mode": m}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "acme",
        "account_id": account,
        "client_id": client,
        "client_secret": secret,
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "initial_lookback": "7d",
        "users": users,
    }))
    .expect("valid tenant config")
}

/// Simulator + archiver services over one backend.
pub struct Harness {
    /// The simulator.
    pub sim: SimServer,
    /// The tenant.
    pub tenant: TenantConfig,
    /// The adapters.
    pub ports: Ports,
    /// The tenant's Zoom client.
    pub zoom: Arc<dyn ZoomApi>,
    /// The poller.
    pub poller: Poller,
    /// The downloader.
    pub downloader: Downloader,
    /// Drain settings.
    pub drain_opts: DrainOptions,
    /// The temporary directory of the local backend.
    pub dir: tempfile::TempDir,
}

/// Options of a harness.
#[derive(Clone, Debug)]
pub struct HarnessOptions {
    /// Backend.
    pub backend: Backend,
    /// Listing page size.
    pub page_size: u32,
    /// Client retry policy.
    pub retry: RetryPolicy,
    /// Concurrency of the drain.
    pub concurrency: usize,
    /// The Zoom client's read timeout (a stalled body fails after this long).
    pub read_timeout: Duration,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Local,
            page_size: 300,
            retry: RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(100),
                max_honoured_retry_after: Duration::from_secs(2),
            },
            concurrency: 3,
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// Builds the Zoom client of a tenant against the simulator.
pub fn zoom_client(t: &TenantConfig, page_size: u32, retry: RetryPolicy) -> Arc<dyn ZoomApi> {
    zoom_client_with(
        t,
        &HarnessOptions {
            page_size,
            retry,
            ..HarnessOptions::default()
        },
    )
}

/// Builds the Zoom client of a tenant against the simulator with every client option of `opts`.
pub fn zoom_client_with(t: &TenantConfig, opts: &HarnessOptions) -> Arc<dyn ZoomApi> {
    use secrecy::ExposeSecret;
    let secret = t
        .client_secret
        .as_ref()
        .expect("inline secret")
        .expose_secret()
        .to_string();
    let mut cfg = ZoomClientConfig::with_urls(
        t.api_base_url.clone(),
        t.oauth_url.clone(),
        ZoomCredentials {
            account_id: t.account_id.clone(),
            client_id: t.client_id.clone(),
            client_secret: secret.into(),
        },
    );
    cfg.page_size = opts.page_size;
    cfg.retry = opts.retry;
    cfg.read_timeout = opts.read_timeout;
    Arc::new(ZoomClient::new(cfg).expect("zoom client"))
}

/// The adapters of `backend` (local ones under `dir`), on the simulator's clock.
pub fn backend_ports(backend: Backend, sim: &SimServer, dir: &std::path::Path) -> Ports {
    let clock: Arc<dyn Clock> = Arc::new(SimTime(sim.clock().clone()));
    match backend {
        Backend::Local => {
            let db = dir.join("archive.db");
            Ports {
                blobs: Arc::new(
                    archiver_local::FsBlobStore::new(dir.join("objects")).expect("fs store"),
                ),
                meta: Arc::new(archiver_local::SqliteMetaStore::open(&db).expect("sqlite meta")),
                queue: Arc::new(
                    archiver_local::SqliteTaskQueue::open(&db, clock.clone())
                        .expect("sqlite queue"),
                ),
                clock,
            }
        }
        Backend::SqsModel => {
            let db = dir.join("archive.db");
            Ports {
                blobs: Arc::new(
                    archiver_local::FsBlobStore::new(dir.join("objects")).expect("fs store"),
                ),
                meta: Arc::new(archiver_local::SqliteMetaStore::open(&db).expect("sqlite meta")),
                queue: Arc::new(archiver_testkit::MemTaskQueue::new(clock.clone())),
                clock,
            }
        }
        Backend::Memory => Ports {
            blobs: Arc::new(archiver_testkit::MemBlobStore::new()),
            meta: Arc::new(archiver_testkit::MemMetaStore::new()),
            queue: Arc::new(archiver_testkit::MemTaskQueue::new(clock.clone())),
            clock,
        },
    }
}

/// A small generated scenario: `days` days of meetings and calls ending at `now`, files of
/// 2–30 KB (fast to archive in debug builds).
pub fn small_scenario(seed: u64, now: DateTime<Utc>, days: u32) -> Scenario {
    Scenario::generate(&zoom_sim::GenSpec {
        seed,
        start: now - chrono::Duration::days(i64::from(days)),
        days,
        users: 5,
        meetings_per_day: 2,
        calls_per_day: 3,
        recorded_call_ratio: 0.8,
        min_size: 2_000,
        max_size: 30_000,
    })
}

/// The tenant of the first account of a scenario: its first `n_users` users, all `video`
/// (so whole-meeting MP4s are archived too), looking back `lookback_days`.
pub fn generated_tenant(sim: &SimServer, n_users: usize, lookback_days: u32) -> TenantConfig {
    let account = &sim.scenario().accounts[0];
    let users: Vec<(String, String)> = account
        .users
        .iter()
        .take(n_users)
        .map(|u| {
            (
                u.email.clone(),
                u.extension.map(|e| e.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let users_ref: Vec<(&str, &str, &str)> = users
        .iter()
        .map(|(e, x)| (e.as_str(), x.as_str(), "video"))
        .collect();
    let mut t = tenant_config(
        sim,
        &account.account_id,
        &account.client_id,
        &account.client_secret,
        &users_ref,
    );
    t.initial_lookback = Duration::from_secs(u64::from(lookback_days) * 86400);
    t
}

impl Harness {
    /// A harness over a small generated scenario ([`small_scenario`], 2 days) on a manual
    /// clock, archiving its first 3 users.
    pub async fn small(seed: u64, opts: HarnessOptions) -> Harness {
        let now = Utc::now();
        let sim = SimServer::start_with_clock(small_scenario(seed, now, 2), SimClock::manual(now))
            .await
            .expect("simulator starts");
        let tenant = generated_tenant(&sim, 3, 3);
        Self::with_tenant(sim, tenant, opts).await
    }

    /// What a fault-free run archives of the same small scenario (see [`Harness::small`]).
    pub async fn small_baseline(seed: u64) -> invariants::Snapshot {
        let h = Self::small(seed, HarnessOptions::default()).await;
        h.cycle().await;
        invariants::assert_invariants(&h).await.snapshot
    }

    /// Starts a simulator with `scenario` on `clock` and the archiver over the chosen backend.
    pub async fn start(scenario: Scenario, clock: SimClock, opts: HarnessOptions) -> Harness {
        let sim = SimServer::start_with_clock(scenario, clock.clone())
            .await
            .expect("simulator starts");
        let tenant = demo_tenant(&sim);
        Self::with_tenant(sim, tenant, opts).await
    }

    /// The archiver over a running simulator with a given tenant.
    pub async fn with_tenant(
        sim: SimServer,
        tenant: TenantConfig,
        opts: HarnessOptions,
    ) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = backend_ports(opts.backend, &sim, dir.path());
        let zoom = zoom_client_with(&tenant, &opts);
        Self::assemble(sim, tenant, ports, zoom, opts.concurrency, dir)
    }

    /// Wires services over explicit ports (fault-injecting wrappers, other backends).
    pub fn assemble(
        sim: SimServer,
        tenant: TenantConfig,
        ports: Ports,
        zoom: Arc<dyn ZoomApi>,
        concurrency: usize,
        dir: tempfile::TempDir,
    ) -> Harness {
        let settings = DownloadSettings {
            retry_base: Duration::from_millis(50),
            retry_max: Duration::from_secs(5),
            ..DownloadSettings::default()
        };
        Harness {
            poller: Poller::new(ports.clone(), "test-host"),
            downloader: Downloader::new(ports.clone(), settings)
                .with_analyser(Arc::new(archiver_media::BlobAnalyser::new())),
            drain_opts: DrainOptions {
                concurrency,
                max_wait: Duration::from_secs(3600),
                idle_poll: Duration::from_millis(50),
                ..DrainOptions::default()
            },
            sim,
            tenant,
            ports,
            zoom,
            dir,
        }
    }

    /// Polls one source.
    pub async fn poll(&self, source: Source) -> PollReport {
        self.poller
            .poll(
                &self.tenant,
                source,
                self.zoom.as_ref(),
                &PollOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("poll {source}: {e}"))
    }

    /// Polls one source, returning the poller's error instead of panicking.
    pub async fn try_poll(
        &self,
        source: Source,
    ) -> Result<PollReport, archiver_core::services::poller::PollError> {
        self.poller
            .poll(
                &self.tenant,
                source,
                self.zoom.as_ref(),
                &PollOptions::default(),
            )
            .await
    }

    /// Polls both sources.
    pub async fn poll_all(&self) -> (PollReport, PollReport) {
        (
            self.poll(Source::Meetings).await,
            self.poll(Source::Phone).await,
        )
    }

    /// Works off the queue.
    pub async fn drain(&self) -> DrainReport {
        let mut zooms = ZoomClients::new();
        zooms.insert(self.tenant.id.clone(), self.zoom.clone());
        drain(
            self.ports.queue.as_ref(),
            self.ports.clock.as_ref(),
            &self.downloader,
            &zooms,
            &self.drain_opts,
            None,
        )
        .await
        .expect("drain")
    }

    /// Works off the queue, returning the queue's error instead of panicking.
    pub async fn try_drain(&self) -> Result<DrainReport, archiver_core::QueueError> {
        let mut zooms = ZoomClients::new();
        zooms.insert(self.tenant.id.clone(), self.zoom.clone());
        drain(
            self.ports.queue.as_ref(),
            self.ports.clock.as_ref(),
            &self.downloader,
            &zooms,
            &self.drain_opts,
            None,
        )
        .await
    }

    /// Poll both sources, then drain.
    pub async fn cycle(&self) -> ((PollReport, PollReport), DrainReport) {
        let p = self.poll_all().await;
        let d = self.drain().await;
        (p, d)
    }

    /// Every file record.
    pub async fn files(&self) -> Vec<FileRecord> {
        self.ports
            .meta
            .list_files(&FileQuery::default())
            .await
            .expect("list files")
    }

    /// Every CDR.
    pub async fn cdrs(&self) -> Vec<Cdr> {
        self.ports
            .meta
            .query_cdrs(&CdrQuery::default())
            .await
            .expect("query cdrs")
    }

    /// SHA-256 and size of what the object store holds at `key`.
    pub async fn stored_digest(&self, key: &archiver_core::ObjectKey) -> (u64, String) {
        let mut s = self.ports.blobs.get(key).await.expect("object exists");
        let mut h = Sha256::new();
        let mut n = 0u64;
        while let Some(c) = s.next().await {
            let c = c.expect("read");
            n += c.len() as u64;
            h.update(&c);
        }
        (n, hex::encode(h.finalize()))
    }

    /// Asserts that every archived file's stored bytes are exactly what the simulator served,
    /// and that the object store holds nothing else. Returns the number of archived files.
    pub async fn assert_archive_faithful(&self) -> usize {
        let files = self.files().await;
        let mut archived = 0;
        for f in &files {
            if let FileState::Archived { size, sha256, .. } = &f.state {
                let expected = self
                    .sim
                    .file_digest(&f.file_id)
                    .unwrap_or_else(|| panic!("simulator knows {}", f.file_id));
                assert_eq!(
                    (*size, sha256.clone()),
                    expected,
                    "recorded digest of {}",
                    f.file_id
                );
                assert_eq!(
                    self.stored_digest(&f.object_key).await,
                    expected,
                    "stored bytes of {}",
                    f.file_id
                );
                archived += 1;
            }
        }
        let mut objects = self.ports.blobs.list("").await.expect("list objects");
        // Waveform peaks sidecars (derived data) lie beside archived recordings only.
        let recordings: std::collections::HashSet<String> =
            objects.iter().map(|o| o.key.to_string()).collect();
        objects.retain(|o| match archiver_core::recording_of_peaks(&o.key) {
            Some(rec) => {
                assert!(
                    recordings.contains(rec.as_str()),
                    "peaks sidecar {} lies beside its recording",
                    o.key
                );
                false
            }
            None => true,
        });
        assert_eq!(
            objects.len(),
            archived,
            "the store holds exactly the archived files: {objects:?}"
        );
        archived
    }

    /// The queue's counts.
    pub async fn queue_counts(&self) -> archiver_core::QueueCounts {
        self.ports.queue.counts().await.expect("counts")
    }
}

/// Keeps `BlobStore`/`TaskQueue` imports meaningful for tests that name them.
pub type DynBlobStore = Arc<dyn BlobStore>;
/// See [`DynBlobStore`].
pub type DynQueue = Arc<dyn TaskQueue>;
/// See [`DynBlobStore`].
pub type DynMeta = Arc<dyn MetaStore>;
