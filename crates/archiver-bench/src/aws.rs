//! `zoom-archiver-bench` parts that run on the AWS adapters against the local AWS emulator
//! (`moto_server`): streaming into S3 (`bench stream --store s3`) and the cost model
//! (`bench cost`).
//!
//! The emulator is the one `.ci/run` starts (env `MOTO`), else one started here from
//! `.tools/venv/bin/moto_server` or `PATH` on a free loopback port and stopped afterwards.
//!
//! The cost model counts AWS requests on the wire: the archive's SDK clients talk to a
//! counting reverse proxy ([`CountingProxy`]) in front of the emulator, which classifies
//! every request by service and operation (the `X-Amz-Target` header for DynamoDB, SQS and
//! Secrets Manager; method, path and query for S3), forwards it unchanged and streams the
//! answer back. Nothing in the adapters is instrumented, so retries and every request the
//! SDK makes are counted. Lambda time is modelled from measured wall time (see [`cost`]).

use crate::cold_start::{Moto, moto};
use crate::parts::peak_rss_kib;
use anyhow::{Context, Result, bail};
use archiver_core::services::poller::PollOptions;
use archiver_core::{FileQuery, FileState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use zoom_archiver::app::App;
use zoom_archiver::config::FileConfig;
use zoom_sim::{Scenario, SimArchiveFile, SimParticipant, SimServer, SimUser};

// ---------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------

/// The emulator: `MOTO`, else a `moto_server` started for this run (its log in the temp
/// directory).
async fn emulator() -> Result<Moto> {
    let dir = std::env::temp_dir().join(format!("zoom-archiver-moto-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    moto(&dir).await
}

/// A unique resource-name stem for one bench run (bucket, table and queue names).
fn run_name(what: &str) -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("zb-{what}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn aws_table(endpoint: &str, name: &str) -> String {
    format!(
        "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nbucket = \"{name}\"\n\
         table = \"{name}\"\nqueue_name = \"{name}\"\n"
    )
}

async fn aws_app(config: &str) -> Result<App> {
    let cfg = FileConfig::parse(config).map_err(|e| anyhow::anyhow!(e))?;
    archiver_aws::init_resources(cfg.aws().map_err(|e| anyhow::anyhow!("{e}"))?)
        .await
        .context("creating the bucket, table and queues in the emulator")?;
    App::aws(&cfg).await
}

// ---------------------------------------------------------------------------------------------
// Streaming into S3
// ---------------------------------------------------------------------------------------------

/// Archives one file of `size_mib` MiB from the simulator into S3 on the emulator (multipart:
/// 8 MiB parts, 4 in flight, per-part SHA-256) and prints throughput and peak RSS beside two
/// references taken in the same run: `curl` downloading the same URL to a file, and `curl`
/// uploading those bytes to the emulator in one PUT (what the emulator itself can take).
pub async fn stream_s3(size_mib: u64, dir: &std::path::Path) -> Result<()> {
    let size = size_mib * 1024 * 1024;
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    let moto = emulator().await?;
    let rss_before = peak_rss_kib().unwrap_or(0);
    let sim = SimServer::start(Scenario::single_file(Utc::now(), size))
        .await
        .context("starting the simulator")?;
    let name = run_name("s3");
    let config = format!(
        "{}[download]\nanalyse_media = false\n{}",
        aws_table(&moto.endpoint, &name),
        crate::parts::tenant_of_sim(&sim, &["alice@acme.example"], &[])
    );
    let app = aws_app(&config).await?;
    let (poll_secs, secs) = crate::parts::poll_then_download(&app).await?;
    let peak = peak_rss_kib().unwrap_or(0);
    let files = crate::parts::verify_single_file(&app, &sim).await?;
    // References: the same URL with curl to a file, then that file PUT to the emulator.
    let url = files[0].download_url.clone();
    let oauth = sim.oauth_url();
    let out = dir.join("curl.out");
    let put_url = format!("{}/{name}/curl-reference", moto.endpoint);
    let refs = tokio::task::spawn_blocking(move || {
        let down = crate::parts::curl_reference(&oauth, &url, &out, size, true);
        let up = curl_put(&out, &put_url);
        std::fs::remove_file(&out).ok();
        (down, up)
    })
    .await
    .context("curl references")?;
    let mbps = size as f64 / 1e6 / secs;
    let fmt_ref = |r: &std::result::Result<f64, String>| match r {
        Ok(s) => {
            let m = size as f64 / 1e6 / s;
            (format!("{m:.0}"), format!("{:.2}", mbps / m))
        }
        Err(e) => (format!("n/a ({e})"), "n/a".into()),
    };
    let (down, down_ratio) = fmt_ref(&refs.0);
    let (up, up_ratio) = fmt_ref(&refs.1);
    println!(
        "| file size | store | poll s | download s | MB/s | curl download MB/s | ratio | curl PUT to the emulator MB/s | ratio | peak RSS (MiB) | RSS before (MiB) | SHA-256 verified |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {size_mib} MiB | S3 (moto, multipart 8 MiB × 4 in flight) | {poll_secs:.3} | {secs:.2} | {mbps:.0} | {down} | {down_ratio} | {up} | {up_ratio} | {:.1} | {:.1} | yes |",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    let part = format!("stream → S3 (emulator), {size_mib} MiB");
    let put_rate = refs.1.as_ref().ok().map(|s| size as f64 / 1e6 / s);
    crate::parts::figure(
        &part,
        "throughput",
        format!("{mbps:.0} MB/s = {up_ratio}× the emulator's own PUT rate"),
        format!("curl PUT to the emulator {up} MB/s; curl download {down} MB/s"),
        "≥ 0.9× what the store takes (curl PUT)",
        put_rate.map(|m| mbps / m >= 0.9),
    );
    crate::parts::figure(
        &part,
        "peak RSS",
        format!("{:.1} MiB", peak as f64 / 1024.0),
        format!("{:.1} MiB before the run", rss_before as f64 / 1024.0),
        "≤ 64 MiB + 32 MiB of parts in flight (4 × 8 MiB)",
        Some(peak as f64 / 1024.0 <= 96.0),
    );
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// Times one `curl -T file` PUT to `url`; returns seconds.
fn curl_put(file: &std::path::Path, url: &str) -> std::result::Result<f64, String> {
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "-o", "/dev/null", "-T"])
        .arg(file)
        .arg(url)
        .status()
        .map_err(|e| format!("curl: {e}"))?;
    if !status.success() {
        return Err(format!("curl PUT failed ({status})"));
    }
    Ok(started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// Counting proxy
// ---------------------------------------------------------------------------------------------

/// Requests of one (service, operation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpCount {
    /// Requests.
    pub requests: u64,
    /// Items written (DynamoDB batch and transaction writes count each item).
    pub items: u64,
    /// DynamoDB write request units, estimated from the request size (1 per started KiB of
    /// each item, doubled in transactions): an upper bound, as the request also carries
    /// expressions and names.
    pub wru: u64,
}

/// What the proxy saw, by (service, operation).
pub type Counts = BTreeMap<(String, String), OpCount>;

/// A reverse proxy in front of the emulator that counts requests by service and operation.
pub struct CountingProxy {
    /// `http://127.0.0.1:PORT`: give it to the SDK as the endpoint.
    pub endpoint: String,
    counts: Arc<Mutex<Counts>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<Mutex<Counts>>,
}

impl CountingProxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: &str) -> Result<CountingProxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(Mutex::new(Counts::new()));
        let state = ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            counts: counts.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingProxy {
            endpoint,
            counts,
            task,
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts.lock().expect("counts").clone()
    }

    /// Forgets the counts so far (e.g. the setup's requests).
    pub fn reset(&self) {
        self.counts.lock().expect("counts").clear();
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// (service, operation) of an AWS request.
pub fn classify(method: &str, path: &str, query: &str, target: Option<&str>) -> (String, String) {
    if let Some(t) = target {
        let (svc, op) = t.split_once('.').unwrap_or((t, ""));
        let svc = match svc {
            s if s.starts_with("DynamoDB") => "DynamoDB",
            s if s.starts_with("AmazonSQS") => "SQS",
            s if s.eq_ignore_ascii_case("secretsmanager") => "SecretsManager",
            s if s.starts_with("AmazonSSM") => "SSM",
            s => s,
        };
        return (svc.into(), op.into());
    }
    let has = |k: &str| {
        query
            .split('&')
            .any(|p| p == k || p.starts_with(&format!("{k}=")))
    };
    let key = path.trim_start_matches('/').split_once('/').is_some();
    let op = match method {
        "HEAD" if key => "HeadObject",
        "HEAD" => "HeadBucket",
        "GET" if has("uploadId") => "ListParts",
        "GET" if has("tagging") => "GetObjectTagging",
        "GET" if key => "GetObject",
        "GET" => "ListObjects",
        "PUT" if has("partNumber") => "UploadPart",
        "PUT" if has("tagging") => "PutObjectTagging",
        "PUT" if key => "PutObject",
        "PUT" => "PutBucket",
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "POST" if has("delete") => "DeleteObjects",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" => "DeleteObject",
        other => other,
    };
    ("S3".into(), op.into())
}

/// Items and estimated write units of a DynamoDB write request body.
fn dynamo_write_units(op: &str, body: &[u8]) -> (u64, u64) {
    let kib = |n: usize| (n as u64).div_ceil(1024).max(1);
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match op {
        "PutItem" | "UpdateItem" | "DeleteItem" => (1, kib(body.len())),
        "BatchWriteItem" => {
            let items: u64 = v["RequestItems"]
                .as_object()
                .map(|m| {
                    m.values()
                        .map(|l| l.as_array().map_or(0, |a| a.len() as u64))
                        .sum()
                })
                .unwrap_or(0);
            let per = kib(body.len() / items.max(1) as usize);
            (items, items * per)
        }
        "TransactWriteItems" => {
            let items = v["TransactItems"].as_array().map_or(0, |a| a.len() as u64);
            let per = kib(body.len() / items.max(1) as usize);
            (items, 2 * items * per)
        }
        _ => (0, 0),
    }
}

async fn forward(State(st): State<ProxyState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (svc, op) = classify(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        target.as_deref(),
    );
    let url = format!(
        "{}{}",
        st.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = parts.headers.clone();
    headers.remove(axum::http::header::HOST);
    let mut out = st.http.request(parts.method.clone(), url).headers(headers);
    let (items, wru) = if svc == "S3" {
        // Media: streamed through, never buffered.
        out = out.body(reqwest::Body::wrap_stream(body.into_data_stream()));
        (0, 0)
    } else {
        // JSON API requests are small: buffered to count the items written.
        let bytes = match axum::body::to_bytes(body, 16 << 20).await {
            Ok(b) => b,
            Err(e) => return error_response(format!("proxy: reading the request: {e}")),
        };
        let units = if svc == "DynamoDB" {
            dynamo_write_units(&op, &bytes)
        } else {
            (0, 0)
        };
        out = out.body(bytes);
        units
    };
    {
        let mut c = st.counts.lock().expect("counts");
        let e = c.entry((svc, op)).or_default();
        e.requests += 1;
        e.items += items;
        e.wru += wru;
    }
    match out.send().await {
        Ok(resp) => {
            let mut b = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                b = b.header(k, v);
            }
            b.body(Body::from_stream(resp.bytes_stream()))
                .unwrap_or_else(|e| error_response(format!("proxy: {e}")))
        }
        Err(e) => error_response(format!("proxy: forwarding: {e}")),
    }
}

fn error_response(msg: String) -> Response {
    Response::builder()
        .status(502)
        .body(Body::from(msg))
        .expect("static response")
}

// ---------------------------------------------------------------------------------------------
// Cost model
// ---------------------------------------------------------------------------------------------

/// Published list prices the model multiplies by (USD, us-east-1, arm64 Lambda, S3
/// Standard, DynamoDB on-demand, SQS standard). Printed with the model; change them here.
pub mod prices {
    /// Lambda (arm64), per GB-second.
    pub const LAMBDA_GB_S: f64 = 0.000_013_333_4;
    /// Lambda, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// S3 PUT, COPY, POST, LIST requests.
    pub const S3_PUT_CLASS: f64 = 0.005 / 1e3;
    /// S3 GET, HEAD and other requests.
    pub const S3_GET_CLASS: f64 = 0.0004 / 1e3;
    /// DynamoDB on-demand write request unit.
    pub const DDB_WRU: f64 = 0.625 / 1e6;
    /// DynamoDB on-demand read request unit.
    pub const DDB_RRU: f64 = 0.125 / 1e6;
    /// SQS standard request.
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// S3 Standard storage, per GB-month.
    pub const S3_GB_MONTH: f64 = 0.023;
}

/// Inputs of [`cost`].
#[derive(Clone, Debug)]
pub struct CostOptions {
    /// Phone recordings in the measured phone run.
    pub phone_recordings: usize,
    /// Size of each, in KB.
    pub phone_kb: u64,
    /// Network throughput one downloader Lambda gets from Zoom, MB/s (an assumption: the
    /// local emulators have no network).
    pub network_mb_s: f64,
    /// Memory of the downloader function (MB), as in `infra/template.yaml`.
    pub downloader_mb: u64,
    /// Memory of the poller and reconciler functions (MB).
    pub scheduled_mb: u64,
    /// Size of the meeting hour: a `1.0` hour meeting; smaller values scale every file
    /// (and the result back up) to keep a smoke run short.
    pub meeting_hours: f64,
    /// Media analysis on (the default) or off.
    pub analyse: bool,
}

/// The AWS usage of one measured unit of work.
#[derive(Clone, Debug, Default)]
struct Usage {
    label: String,
    files: u64,
    bytes: u64,
    counts: Counts,
    /// Wall seconds of the downloads, one at a time (a Lambda handles its batch in turn).
    download_secs: f64,
    /// Wall seconds of the polls that listed the work.
    poll_secs: f64,
    /// Wall seconds of the reconciliation of the work's days.
    reconcile_secs: f64,
    /// A scheduled invocation that finds nothing to do (a poll after everything is
    /// listed, then a reconciliation with no day due): wall seconds and requests.
    idle_secs: f64,
    idle: Counts,
}

impl Usage {
    fn sum(&self, pred: impl Fn(&str, &str) -> bool) -> OpCount {
        let mut out = OpCount::default();
        for ((s, o), c) in &self.counts {
            if pred(s, o) {
                out.requests += c.requests;
                out.items += c.items;
                out.wru += c.wru;
            }
        }
        out
    }
    fn s3_put_class(&self) -> u64 {
        self.sum(|s, o| {
            s == "S3"
                && matches!(
                    o,
                    "PutObject"
                        | "UploadPart"
                        | "CreateMultipartUpload"
                        | "CompleteMultipartUpload"
                        | "PutObjectTagging"
                        | "ListObjects"
                        | "ListParts"
                        | "PutBucket"
                )
        })
        .requests
    }
    fn s3_get_class(&self) -> u64 {
        self.sum(|s, o| s == "S3" && matches!(o, "GetObject" | "HeadObject" | "GetObjectTagging"))
            .requests
    }
    fn ddb_writes(&self) -> OpCount {
        self.sum(|s, o| {
            s == "DynamoDB"
                && matches!(
                    o,
                    "PutItem"
                        | "UpdateItem"
                        | "DeleteItem"
                        | "BatchWriteItem"
                        | "TransactWriteItems"
                )
        })
    }
    fn ddb_reads(&self) -> u64 {
        self.sum(|s, o| {
            s == "DynamoDB"
                && matches!(
                    o,
                    "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems"
                )
        })
        .requests
    }
    fn sqs(&self) -> u64 {
        self.sum(|s, _| s == "SQS").requests
    }
}

/// Modelled cost of one unit: the figures, and the dollars.
struct Modelled {
    lambda_gb_s: f64,
    lambda_requests: f64,
    s3_put: f64,
    s3_get: f64,
    ddb_write_requests: f64,
    ddb_wru: f64,
    ddb_reads: f64,
    sqs: f64,
    stored_gb: f64,
}

impl Modelled {
    fn usd(&self) -> f64 {
        self.lambda_gb_s * prices::LAMBDA_GB_S
            + self.lambda_requests * prices::LAMBDA_REQUEST
            + self.s3_put * prices::S3_PUT_CLASS
            + self.s3_get * prices::S3_GET_CLASS
            + self.ddb_wru * prices::DDB_WRU
            + self.ddb_reads * prices::DDB_RRU
            + self.sqs * prices::SQS_REQUEST
    }
    fn scaled(&self, k: f64) -> Modelled {
        Modelled {
            lambda_gb_s: self.lambda_gb_s * k,
            lambda_requests: self.lambda_requests * k,
            s3_put: self.s3_put * k,
            s3_get: self.s3_get * k,
            ddb_write_requests: self.ddb_write_requests * k,
            ddb_wru: self.ddb_wru * k,
            ddb_reads: self.ddb_reads * k,
            sqs: self.sqs * k,
            stored_gb: self.stored_gb * k,
        }
    }
    fn plus(&self, o: &Modelled) -> Modelled {
        Modelled {
            lambda_gb_s: self.lambda_gb_s + o.lambda_gb_s,
            lambda_requests: self.lambda_requests + o.lambda_requests,
            s3_put: self.s3_put + o.s3_put,
            s3_get: self.s3_get + o.s3_get,
            ddb_write_requests: self.ddb_write_requests + o.ddb_write_requests,
            ddb_wru: self.ddb_wru + o.ddb_wru,
            ddb_reads: self.ddb_reads + o.ddb_reads,
            sqs: self.sqs + o.sqs,
            stored_gb: self.stored_gb + o.stored_gb,
        }
    }
}

/// Downloader Lambda batch size (SQS event source `BatchSize` in `infra/template.yaml`).
const DOWNLOADER_BATCH: f64 = 5.0;

/// Models one measured unit scaled to `per` units: Lambda GB-seconds are the measured
/// download wall time (one file after another, local emulators) plus the bytes at the
/// assumed network rate, at the downloader's memory; one Lambda request per
/// [`DOWNLOADER_BATCH`] files. Requests are what the proxy counted.
fn model(u: &Usage, per: f64, o: &CostOptions) -> Modelled {
    let k = per / u.files.max(1) as f64;
    let net = u.bytes as f64 / 1e6 / o.network_mb_s;
    let w = u.ddb_writes();
    Modelled {
        lambda_gb_s: ((u.download_secs + net) * o.downloader_mb as f64
            + u.reconcile_secs * o.scheduled_mb as f64)
            / 1024.0
            * k,
        lambda_requests: (u.files as f64 / DOWNLOADER_BATCH + 1.0) * k,
        s3_put: u.s3_put_class() as f64 * k,
        s3_get: u.s3_get_class() as f64 * k,
        ddb_write_requests: w.requests as f64 * k,
        ddb_wru: w.wru as f64 * k,
        ddb_reads: u.ddb_reads() as f64 * k,
        sqs: u.sqs() as f64 * k,
        stored_gb: u.bytes as f64 / 1e9 * k,
    }
}

/// Runs poll + downloads of `sim` on the AWS adapters through a counting proxy.
async fn measure(label: &str, moto: &Moto, tenant: String, analyse: bool) -> Result<Usage> {
    let proxy = CountingProxy::start(&moto.endpoint).await?;
    let name = run_name("cost");
    let config = format!(
        "{}[download]\nconcurrency = 1\nanalyse_media = {analyse}\n{tenant}",
        aws_table(&proxy.endpoint, &name)
    );
    let app = aws_app(&config).await?;
    proxy.reset();
    let (poll_secs, download_secs) = crate::parts::poll_then_download(&app)
        .await
        .with_context(|| format!("{label} run"))?;
    // Each day's reconciliation (a final day: the scenarios are two days old).
    let t2 = Instant::now();
    reconcile_all(&app).await?;
    let reconcile_secs = t2.elapsed().as_secs_f64();
    let counts = proxy.counts();
    // An idle tick of the scheduled functions.
    proxy.reset();
    let t3 = Instant::now();
    for (_, _, r) in app.poll_all(&PollOptions::default(), false).await {
        r.map_err(|e| anyhow::anyhow!("poll failed: {e}"))?;
    }
    reconcile_all(&app).await?;
    let idle_secs = t3.elapsed().as_secs_f64() / 2.0;
    let idle = proxy.counts();
    let files = app.ports.meta.list_files(&FileQuery::default()).await?;
    let archived: Vec<u64> = files
        .iter()
        .filter_map(|f| match &f.state {
            FileState::Archived { size, .. } => Some(*size),
            _ => None,
        })
        .collect();
    Ok(Usage {
        label: label.into(),
        files: archived.len() as u64,
        bytes: archived.iter().sum(),
        counts,
        download_secs,
        poll_secs,
        reconcile_secs,
        idle_secs,
        idle,
    })
}

/// Reconciles every tenant's due days and stores the reports, as `zoom-archiver reconcile`
/// and the reconciler function do.
async fn reconcile_all(app: &App) -> Result<()> {
    for t in &app.tenants {
        let zoom = app.zooms.get(&t.id).context("a client per tenant")?;
        let run = app.reconciler.run(t, zoom.as_ref(), None).await;
        if let Some(e) = run.stopped {
            bail!("reconciliation failed: {e}");
        }
        if let Some(p) = run.store_failures.first() {
            bail!("{p}");
        }
    }
    Ok(())
}

/// One archived meeting of `hours` with two recorded users (one in voice mode, one in
/// video mode): each user's individual M4A (128 kbps), the whole-meeting MP4 (1 Mbps,
/// assumed as in `estimate`), the chat and the transcript.
fn meeting_hour_scenario(hours: f64) -> Scenario {
    let mut s = Scenario::single_file(Utc::now(), 1);
    let a = &mut s.accounts[0];
    let m = &mut a.meetings[0];
    let secs = (3600.0 * hours).round().max(1.0) as i64;
    let end = m.start_time + Duration::seconds(secs);
    m.duration_secs = secs as u32;
    m.complete_time = end + Duration::minutes(5);
    a.users.push(SimUser {
        id: "u-bob".into(),
        email: "bob@acme.example".into(),
        name: "Bob".into(),
        extension: Some(1002),
        phone_number: None,
        ..SimUser::default()
    });
    m.participants = ["alice", "bob"]
        .iter()
        .map(|n| SimParticipant {
            user_id: format!("u-{n}"),
            name: n.to_string(),
            email: format!("{n}@acme.example"),
            segments: vec![(m.start_time, end)],
        })
        .collect();
    let file = |id: &str, ft: &str, rt: &str, who: Option<&str>, bytes: f64| SimArchiveFile {
        id: id.into(),
        file_type: ft.into(),
        recording_type: rt.into(),
        individual: who.is_some(),
        participant_email: who.map(|w| format!("{w}@acme.example")),
        join: m.start_time,
        leave: end,
        size: bytes.round().max(1.0) as u64,
        available_at: None,
        failed: false,
        deleted: false,
    };
    let audio = 128_000.0 / 8.0 * secs as f64;
    m.files = vec![
        file("alice-m4a", "M4A", "audio_only", Some("alice"), audio),
        file("bob-m4a", "M4A", "audio_only", Some("bob"), audio),
        file(
            "meeting-mp4",
            "MP4",
            "shared_screen_with_speaker_view",
            None,
            1_000_000.0 / 8.0 * secs as f64,
        ),
        file("chat", "CHAT", "chat_file", None, 20_000.0 * hours),
        file(
            "transcript",
            "TRANSCRIPT",
            "audio_transcript",
            None,
            60_000.0 * hours,
        ),
    ];
    s
}

/// The cost model: measures the AWS requests of archiving phone recordings and one meeting
/// hour on the emulator, models Lambda time, and prints per 1,000 phone recordings, per
/// archived meeting hour and per tenant day of the `bench api-budget` scenario.
pub async fn cost(o: &CostOptions) -> Result<()> {
    let moto = emulator().await?;
    // Phone.
    let sim = SimServer::start(crate::parts::phone_scenario(
        o.phone_recordings,
        o.phone_kb * 1000,
    ))
    .await?;
    let exts: Vec<u32> = sim.scenario().accounts[0]
        .users
        .iter()
        .filter_map(|u| u.extension)
        .collect();
    let phone = measure(
        "phone",
        &moto,
        crate::parts::tenant_of_sim(&sim, &[], &exts),
        o.analyse,
    )
    .await?;
    drop(sim);
    if phone.files != o.phone_recordings as u64 {
        bail!(
            "phone run archived {} of {} recordings",
            phone.files,
            o.phone_recordings
        );
    }
    // A meeting hour (scaled by `meeting_hours`).
    let sim = SimServer::start(meeting_hour_scenario(o.meeting_hours)).await?;
    let meeting = measure(
        "meeting",
        &moto,
        crate::parts::tenant_of_sim(&sim, &["alice@acme.example", "bob@acme.example"], &[]),
        o.analyse,
    )
    .await?;
    drop(sim);

    println!(
        "Measured on the AWS adapters against moto through a counting proxy (poll + downloads, one download at a time; media analysis {}).",
        if o.analyse { "on" } else { "off" }
    );
    println!();
    println!(
        "| run | files | MB | poll s | downloads s | reconcile s | S3 PUT-class | S3 GET-class | DynamoDB writes (items, WRU est.) | DynamoDB reads | SQS requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for u in [&phone, &meeting] {
        let w = u.ddb_writes();
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} ({}, {}) | {} | {} |",
            u.label,
            u.files,
            u.bytes as f64 / 1e6,
            u.poll_secs,
            u.download_secs,
            u.reconcile_secs,
            u.s3_put_class(),
            u.s3_get_class(),
            w.requests,
            w.items,
            w.wru,
            u.ddb_reads(),
            u.sqs()
        );
    }
    println!();
    println!("Requests by operation (both runs):");
    println!();
    println!("| service | operation | phone | meeting |");
    println!("|---|---|---|---|");
    let mut ops: Vec<&(String, String)> =
        phone.counts.keys().chain(meeting.counts.keys()).collect();
    ops.sort();
    ops.dedup();
    for k in ops {
        let n = |u: &Usage| u.counts.get(k).map_or(0, |c| c.requests);
        println!("| {} | {} | {} | {} |", k.0, k.1, n(&phone), n(&meeting));
    }

    // Per unit.
    let per_phone = model(&phone, 1000.0, o);
    let per_meeting = model(&meeting, meeting.files as f64, o).scaled(1.0 / o.meeting_hours);
    // The api-budget scenario's day (its defaults): recorded calls and meeting hours from
    // the generated day, polls every 5 minutes of both sources, one reconciliation.
    let day = crate::api_budget::default_day_volume();
    // Scheduled ticks that find nothing new: 288 polls of each source and 24 hourly
    // reconciler runs a day, each as the measured idle tick of the phone run (its poll of
    // one source plus its reconciliation, halved).
    let ticks = 288.0 * 2.0 + 24.0;
    let idle = Usage {
        files: 1,
        counts: phone.idle.clone(),
        ..Usage::default()
    };
    let idle_per_tick = model(&idle, 1.0, o);
    let scheduled = Modelled {
        lambda_gb_s: ticks * phone.idle_secs * o.scheduled_mb as f64 / 1024.0,
        lambda_requests: ticks,
        ..idle_per_tick.scaled(ticks / 2.0)
    };
    let tenant_day = per_phone
        .scaled(day.phone_recordings / 1000.0)
        .plus(&per_meeting.scaled(day.meeting_hours))
        .plus(&scheduled);
    println!();
    println!(
        "Model: downloader {} MB, {:.0} MB/s from Zoom per Lambda (assumed), {} files per invocation; poller/reconciler {} MB. Prices (USD, us-east-1 list): Lambda arm64 {}/GB-s + {:.2}/M requests, S3 PUT-class {}/1k, GET-class {}/1k, DynamoDB {}/M WRU, {}/M RRU, SQS {}/M.",
        o.downloader_mb,
        o.network_mb_s,
        DOWNLOADER_BATCH,
        o.scheduled_mb,
        prices::LAMBDA_GB_S,
        prices::LAMBDA_REQUEST * 1e6,
        prices::S3_PUT_CLASS * 1e3,
        prices::S3_GET_CLASS * 1e3,
        prices::DDB_WRU * 1e6,
        prices::DDB_RRU * 1e6,
        prices::SQS_REQUEST * 1e6
    );
    println!();
    println!(
        "| unit | Lambda GB-s | Lambda requests | S3 PUT-class | S3 GET-class | DynamoDB write requests | DynamoDB WRU (est.) | DynamoDB reads | SQS requests | GB stored | USD (requests + compute) | USD storage / month |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let row = |label: String, m: &Modelled| {
        println!(
            "| {label} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.4} | {:.4} |",
            m.lambda_gb_s,
            m.lambda_requests,
            m.s3_put,
            m.s3_get,
            m.ddb_write_requests,
            m.ddb_wru,
            m.ddb_reads,
            m.sqs,
            m.stored_gb,
            m.usd(),
            m.stored_gb * prices::S3_GB_MONTH
        );
    };
    row(
        format!("1,000 phone recordings of {} KB", o.phone_kb),
        &per_phone,
    );
    let usd = |m: &Modelled| {
        format!(
            "{:.0} GB-s, {:.0} S3 requests, {:.0} DynamoDB writes: ${:.4}",
            m.lambda_gb_s,
            m.s3_put + m.s3_get,
            m.ddb_write_requests,
            m.usd()
        )
    };
    crate::parts::figure(
        "cost model",
        format!("per 1,000 phone recordings of {} KB", o.phone_kb),
        usd(&per_phone),
        format!("{} MB/s from Zoom assumed", o.network_mb_s),
        "-",
        None,
    );
    crate::parts::figure(
        "cost model",
        "per archived meeting hour",
        usd(&per_meeting),
        format!("{} MB/s from Zoom assumed", o.network_mb_s),
        "-",
        None,
    );
    crate::parts::figure(
        "cost model",
        "per tenant day (api-budget scenario)",
        usd(&tenant_day),
        format!("{:.2} GB stored a day", tenant_day.stored_gb),
        "-",
        None,
    );
    row(
        "1 archived meeting hour (2 recorded users)".into(),
        &per_meeting,
    );
    row(
        format!(
            "1 tenant day ({:.0} phone recordings, {:.0} archived meeting hours)",
            day.phone_recordings, day.meeting_hours
        ),
        &tenant_day,
    );
    println!();
    println!(
        "Tenant day: the `bench api-budget` default scenario ({}); its phone recordings at the size above, its archived meetings with a recorded user at the meeting-hour cost per hour; {ticks:.0} scheduled ticks (polls every 5 minutes of both sources, hourly reconciler) at the measured idle tick: {:.3} s, {} DynamoDB writes, {} reads.",
        day.description,
        phone.idle_secs,
        idle.ddb_writes().requests as f64 / 2.0,
        idle.ddb_reads() as f64 / 2.0,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Fixity
// ---------------------------------------------------------------------------------------------

/// `bench verify`: stores `files` objects of `size_mib` MiB (generated bytes, streamed) with
/// their archived records, then times `zoom-archiver verify`'s service over them: seconds
/// per GiB and peak RSS, on the filesystem store or on S3 in the emulator (large objects as
/// parallel ranged reads).
pub async fn verify(files: usize, size_mib: u64, s3: bool, dir: &std::path::Path) -> Result<()> {
    use archiver_core::services::verify::{VerifyOptions, verify};
    use archiver_core::{BodyExpectations, ContentKind, ObjectMeta, Ports, VerifiedBody};
    if dir.exists() {
        bail!("{} exists; give an empty path", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    let size = size_mib * 1024 * 1024;
    let _moto;
    let ports: Ports = if s3 {
        let m = emulator().await?;
        let name = run_name("verify");
        let cfg = FileConfig::parse(&format!(
            "{}{}",
            aws_table(&m.endpoint, &name),
            "[[tenants]]\nid = \"acme\"\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"
        ))
        .map_err(|e| anyhow::anyhow!(e))?;
        _moto = Some(m);
        let settings = cfg.aws().map_err(|e| anyhow::anyhow!("{e}"))?;
        archiver_aws::init_resources(settings).await?;
        zoom_archiver::app::Stores::aws(&cfg).await?.ports
    } else {
        _moto = None;
        let cfg = FileConfig::parse(&format!(
            "[storage]\ndata_dir = \"{}\"\n[[tenants]]\nid = \"acme\"\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            dir.join("data").display()
        ))
        .map_err(|e| anyhow::anyhow!(e))?;
        zoom_archiver::app::Stores::local(&cfg, None).await?.ports
    };
    let tenant = archiver_core::TenantId::new("acme").map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let stored_at = Instant::now();
    for i in 0..files {
        let file_id = format!("bench-{i}");
        let key = archiver_core::ObjectKey::derive(
            &tenant,
            archiver_core::Source::Phone,
            now,
            "bench-call",
            &file_id,
            "bin",
        );
        // Generated bytes, streamed in 1 MiB chunks (never held whole).
        let seed = i as u64;
        let chunks = (0..size_mib).map(move |c| {
            let mut b = vec![0u8; 1024 * 1024];
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ c;
            for byte in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *byte = x as u8;
            }
            Ok::<_, std::io::Error>(b)
        });
        let body = VerifiedBody::new(
            Box::pin(futures::stream::iter(
                chunks.map(|r| r.map(bytes::Bytes::from)),
            )),
            BodyExpectations {
                kind: ContentKind::Document,
                size: Some(size),
            },
        );
        let info = ports
            .blobs
            .put_stream(
                &key,
                &ObjectMeta {
                    tenant: tenant.clone(),
                    source: archiver_core::Source::Phone,
                    conversation_id: "bench-call".into(),
                    file_id: file_id.clone(),
                    content_type: None,
                    retain_until: None,
                },
                body,
            )
            .await?;
        let mut rec = archiver_testkit::fixtures::file_record(&tenant, &file_id);
        rec.source = archiver_core::Source::Phone;
        rec.object_key = key;
        rec.conversation_start = now;
        rec.state = FileState::Archived {
            size: info.size,
            sha256: info.sha256.clone().unwrap_or_default(),
            content_type: None,
            archived_at: now,
            fingerprint_match: None,
        };
        ports.meta.insert_file(&rec).await?;
    }
    let store_secs = stored_at.elapsed().as_secs_f64();
    let rss_before = peak_rss_kib().unwrap_or(0);
    let started = Instant::now();
    // As the CLI does: ranged parallel reads on S3 only (a local file streams as fast).
    let opts = VerifyOptions {
        parallel_streams: if s3 { 4 } else { 1 },
        ..VerifyOptions::default()
    };
    let report = verify(&ports, std::slice::from_ref(&tenant), &opts, None).await?;
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_rss_kib().unwrap_or(0);
    let gib = report.bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    println!(
        "| store | files × size | bytes read | verify s | s per GiB | MiB/s | intact | peak RSS (MiB) | RSS before (MiB) | store s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {files} × {size_mib} MiB | {} | {secs:.2} | {:.2} | {:.0} | {}/{} | {:.1} | {:.1} | {store_secs:.1} |",
        if s3 {
            "S3 (moto; ≥ 64 MiB as 8 MiB ranges × 4)"
        } else {
            "filesystem"
        },
        report.bytes,
        secs / gib.max(1e-9),
        report.bytes as f64 / 1_048_576.0 / secs.max(1e-9),
        report.intact,
        report.checked,
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0,
    );
    crate::parts::figure(
        format!(
            "verify ({})",
            if s3 { "S3, emulator" } else { "filesystem" }
        ),
        "seconds per GiB",
        format!("{:.2}", secs / gib.max(1e-9)),
        "-",
        "-",
        None,
    );
    std::fs::remove_dir_all(dir).ok();
    if !report.all_intact() {
        bail!("verify found {} objects not intact", report.findings.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_service_and_operation() {
        let c = |m, p, q, t| classify(m, p, q, t);
        let op = |svc: &str, op: &str| (svc.to_string(), op.to_string());
        assert_eq!(
            c(
                "POST",
                "/",
                "",
                Some("DynamoDB_20120810.TransactWriteItems")
            ),
            op("DynamoDB", "TransactWriteItems")
        );
        assert_eq!(
            c("POST", "/", "", Some("AmazonSQS.SendMessageBatch")),
            op("SQS", "SendMessageBatch")
        );
        assert_eq!(
            c("POST", "/", "", Some("secretsmanager.GetSecretValue")),
            op("SecretsManager", "GetSecretValue")
        );
        assert_eq!(
            c("PUT", "/b/k", "partNumber=2&uploadId=x", None),
            op("S3", "UploadPart")
        );
        assert_eq!(
            c("POST", "/b/k", "uploads", None),
            op("S3", "CreateMultipartUpload")
        );
        assert_eq!(
            c("POST", "/b/k", "uploadId=x", None),
            op("S3", "CompleteMultipartUpload")
        );
        assert_eq!(
            c("DELETE", "/b/k", "uploadId=x", None),
            op("S3", "AbortMultipartUpload")
        );
        assert_eq!(c("PUT", "/b/a/b.mp3", "", None), op("S3", "PutObject"));
        assert_eq!(
            c("PUT", "/b/k", "tagging", None),
            op("S3", "PutObjectTagging")
        );
        assert_eq!(c("PUT", "/b", "", None), op("S3", "PutBucket"));
        assert_eq!(c("GET", "/b/k", "", None), op("S3", "GetObject"));
        assert_eq!(c("GET", "/b", "list-type=2", None), op("S3", "ListObjects"));
        assert_eq!(c("HEAD", "/b/k", "", None), op("S3", "HeadObject"));
    }

    #[test]
    fn dynamodb_write_units_count_items_and_double_transactions() {
        assert_eq!(dynamo_write_units("PutItem", &[b' '; 100]), (1, 1));
        assert_eq!(dynamo_write_units("PutItem", &[b' '; 2049]), (1, 3));
        let batch = serde_json::json!({"RequestItems": {"t": [
            {"PutRequest": {}}, {"PutRequest": {}}, {"DeleteRequest": {}}
        ]}});
        let body = serde_json::to_vec(&batch).unwrap();
        assert_eq!(dynamo_write_units("BatchWriteItem", &body), (3, 3));
        let tx = serde_json::json!({"TransactItems": [{"Put": {}}, {"Update": {}}]});
        let body = serde_json::to_vec(&tx).unwrap();
        assert_eq!(dynamo_write_units("TransactWriteItems", &body), (2, 4));
        assert_eq!(dynamo_write_units("GetItem", b"{}"), (0, 0));
    }
}
