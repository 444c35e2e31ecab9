//! `zoom-archiver-bench cold-start`: cold start of the Lambda function binaries (`poller`,
//! `downloader`, `reconciler`), each run as Lambda runs a `provided.al2023` bootstrap, against
//! a local Lambda Runtime API emulator ([`RuntimeEmulator`]), moto for AWS and the Zoom
//! simulator in-process.
//!
//! Per run, [`measure_cold_start`] spawns the executable with a Lambda-like environment and
//! measures **init** (spawn → the first `GET /runtime/invocation/next`: process start, the
//! function's settings, tenant configuration and Zoom secret read from AWS, the SDK and Zoom
//! clients built) and the **first invocation** (the event handed out → its response or
//! error posted), reads the child's peak RSS (`VmHWM`) and kills it. Every run gets a
//! tenant of its own (its own configuration object, so its own watermarks and leases): each
//! first invocation does the same work. The tenant configuration names the Zoom secret with
//! `ZOOM_SECRET_ARN`, as `infra/template.yaml` does (the configuration names no secret).
//!
//! The emulator implements the endpoints `lambda_runtime` calls (header names as in its
//! `types.rs` and `requests.rs`): `GET /2018-06-01/runtime/invocation/next` hands out the
//! one invocation, then holds later polls open until the emulator is dropped;
//! `POST .../invocation/{id}/response`, `POST .../invocation/{id}/error` and
//! `POST .../init/error` are recorded and answered `202 Accepted` as Lambda does.

use anyhow::{Context, Result, bail};
use archiver_core::SystemClock;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use zoom_sim::{Scenario, SimServer};

/// Issue 7's target for a bootstrap binary.
pub const TARGET_SIZE_BYTES: u64 = 15 * 1024 * 1024;
/// Issue 7's target for init (spawn → first poll of the Runtime API).
pub const TARGET_INIT: Duration = Duration::from_millis(50);
/// How long a run may take to reach its first poll of the Runtime API.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the first invocation may take.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(300);

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One of the Lambda functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Function {
    /// The scheduled poller (EventBridge).
    Poller,
    /// The SQS-triggered downloader.
    Downloader,
    /// The scheduled reconciler (EventBridge).
    Reconciler,
}

impl Function {
    /// Every function, in the table's order.
    pub const ALL: [Function; 3] = [Function::Poller, Function::Downloader, Function::Reconciler];

    /// The executable's (and package's) name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Poller => "poller",
            Function::Downloader => "downloader",
            Function::Reconciler => "reconciler",
        }
    }

    /// The event its trigger delivers: an EventBridge scheduled event (poller, reconciler) or
    /// an SQS batch with no records (downloader: a real first invocation without a task).
    pub fn event(self) -> serde_json::Value {
        match self {
            Function::Downloader => serde_json::json!({ "Records": [] }),
            Function::Poller | Function::Reconciler => serde_json::json!({
                "version": "0",
                "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT,
                "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "region": REGION,
                "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/zoom-archiver-bench-{}", self.name())],
                "detail": {}
            }),
        }
    }
}

/// The invocation the emulator hands out on the first `GET .../invocation/next`.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`: milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// The event (JSON).
    pub payload: Vec<u8>,
}

impl Invocation {
    /// An invocation of `function` with `payload`, a fresh request id and a deadline 900 s
    /// from now (Lambda's maximum timeout).
    pub fn new(function: &str, payload: &serde_json::Value) -> Invocation {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let hex = uuid::Uuid::new_v4().simple().to_string();
        Invocation {
            request_id: uuid::Uuid::new_v4().to_string(),
            deadline_ms: (now + Duration::from_secs(900)).as_millis() as u64,
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                now.as_secs(),
                &hex[..24],
                &hex[16..32]
            ),
            payload: serde_json::to_vec(payload).unwrap_or_default(),
        }
    }
}

/// What the emulator saw, with the instant it arrived.
#[derive(Clone, Debug)]
pub enum RuntimeEvent {
    /// A `GET .../invocation/next` arrived (`poll`: 1 for the first).
    NextPolled {
        /// Arrival.
        at: Instant,
        /// 1-based count of polls.
        poll: usize,
    },
    /// The invocation was handed out in reply to the first poll.
    Delivered {
        /// When the reply was returned to the HTTP server.
        at: Instant,
        /// Its request id.
        request_id: String,
    },
    /// `POST .../invocation/{id}/response`.
    Response {
        /// Arrival (body read).
        at: Instant,
        /// The `{id}` of the path.
        request_id: String,
        /// The body (lossy UTF-8).
        body: String,
    },
    /// `POST .../invocation/{id}/error`.
    InvocationError {
        /// Arrival (body read).
        at: Instant,
        /// The `{id}` of the path.
        request_id: String,
        /// `Lambda-Runtime-Function-Error-Type`, when sent.
        error_type: Option<String>,
        /// The body (a `Diagnostic`: `errorType`, `errorMessage`).
        body: String,
    },
    /// `POST .../init/error`.
    InitError {
        /// Arrival (body read).
        at: Instant,
        /// `Lambda-Runtime-Function-Error-Type`, when sent.
        error_type: Option<String>,
        /// The body.
        body: String,
    },
}

struct EmulatorState {
    invocation: Mutex<Option<Invocation>>,
    polls: Mutex<usize>,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    shutdown: watch::Receiver<bool>,
}

/// A Lambda Runtime API on `127.0.0.1:<free port>` serving one invocation. Dropping it
/// releases the polls it holds open and stops the server.
pub struct RuntimeEmulator {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<RuntimeEvent>,
    shutdown: watch::Sender<bool>,
}

impl RuntimeEmulator {
    /// Binds a free loopback port and serves `invocation` to the first poll.
    pub async fn start(invocation: Invocation) -> std::io::Result<RuntimeEmulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, events) = mpsc::unbounded_channel();
        let (shutdown, rx) = watch::channel(false);
        let state = Arc::new(EmulatorState {
            invocation: Mutex::new(Some(invocation)),
            polls: Mutex::new(0),
            events: tx,
            shutdown: rx.clone(),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let mut stop = rx;
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::warn!(error = %e, "runtime API emulator stopped");
            }
        });
        Ok(RuntimeEmulator {
            addr,
            events,
            shutdown,
        })
    }

    /// The address to give as `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next thing the emulator saw, in arrival order; `None` once stopped.
    pub async fn recv(&mut self) -> Option<RuntimeEvent> {
        self.events.recv().await
    }

    /// Like [`RuntimeEmulator::recv`] without waiting.
    pub fn try_recv(&mut self) -> Option<RuntimeEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for RuntimeEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn next(State(s): State<Arc<EmulatorState>>) -> Response {
    let at = Instant::now();
    let poll = {
        let mut n = s.polls.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        *n
    };
    let _ = s.events.send(RuntimeEvent::NextPolled { at, poll });
    let invocation = s
        .invocation
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let Some(inv) = invocation else {
        // One invocation per process: later polls wait, as Lambda's do between invocations,
        // until the bench has killed the process and drops the emulator.
        let mut stop = s.shutdown.clone();
        let _ = stop.wait_for(|v| *v).await;
        return (StatusCode::GONE, "emulator stopped").into_response();
    };
    let headers = [
        ("lambda-runtime-aws-request-id", inv.request_id.clone()),
        ("lambda-runtime-deadline-ms", inv.deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", inv.function_arn),
        ("lambda-runtime-trace-id", inv.trace_id),
        ("content-type", "application/json".to_string()),
    ];
    let _ = s.events.send(RuntimeEvent::Delivered {
        at: Instant::now(),
        request_id: inv.request_id,
    });
    (StatusCode::OK, headers, inv.payload).into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn response(
    State(s): State<Arc<EmulatorState>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let _ = s.events.send(RuntimeEvent::Response {
        at: Instant::now(),
        request_id: id,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    accepted()
}

async fn error(
    State(s): State<Arc<EmulatorState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _ = s.events.send(RuntimeEvent::InvocationError {
        at: Instant::now(),
        request_id: id,
        error_type: error_type(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    accepted()
}

async fn init_error(
    State(s): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _ = s.events.send(RuntimeEvent::InitError {
        at: Instant::now(),
        error_type: error_type(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    accepted()
}

/// How the first invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `POST .../response` with this body.
    Response(String),
    /// `POST .../error` with this error type header and body.
    Error {
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: Option<String>,
        /// The diagnostic.
        body: String,
    },
}

/// One cold start, as [`measure_cold_start`] saw it.
#[derive(Clone, Debug, Default)]
pub struct ColdStart {
    /// Spawn → first `GET .../invocation/next`; `None` when the process never polled.
    pub init: Option<Duration>,
    /// Invocation handed out → response or error posted; `None` when neither came.
    pub first_invocation: Option<Duration>,
    /// How the first invocation ended.
    pub outcome: Option<Outcome>,
    /// A `POST .../init/error` body, when one came.
    pub init_error: Option<String>,
    /// The exit status, when the process ended by itself (before it was killed).
    pub exited: Option<String>,
    /// What was still awaited when the run gave up.
    pub timed_out: Option<&'static str>,
    /// Peak RSS (`VmHWM`) of the process just before it was killed, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// The process's stdout and stderr.
    pub log: PathBuf,
}

impl ColdStart {
    /// Init completed and the first invocation got a response.
    pub fn ok(&self) -> bool {
        self.init.is_some() && matches!(self.outcome, Some(Outcome::Response(_)))
    }

    /// What went wrong, in one line; `None` when [`ColdStart::ok`].
    pub fn problem(&self) -> Option<String> {
        if self.ok() {
            return None;
        }
        let mut p = Vec::new();
        if let Some(e) = &self.init_error {
            p.push(format!("init error posted: {e}"));
        }
        if let Some(Outcome::Error { error_type, body }) = &self.outcome {
            p.push(format!(
                "invocation error ({}): {body}",
                error_type.as_deref().unwrap_or("no type")
            ));
        }
        if let Some(s) = &self.exited {
            p.push(format!("process exited by itself: {s}"));
        }
        if let Some(w) = self.timed_out {
            p.push(format!("timed out waiting for {w}"));
        }
        if p.is_empty() {
            p.push("no response".into());
        }
        Some(p.join("; "))
    }
}

/// Kills and reaps the child when dropped (error paths included).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `exe` with exactly `env` (plus `AWS_LAMBDA_RUNTIME_API` pointing at a fresh
/// [`RuntimeEmulator`]; nothing is inherited), stdout and stderr written to `log`, hands it
/// `invocation` on its first poll and measures init and the first invocation, then reads its
/// peak RSS and kills it. Failures of the function (exit, init or invocation error, timeout)
/// are recorded in the result, not returned as errors.
pub async fn measure_cold_start(
    exe: &Path,
    env: &[(String, String)],
    invocation: Invocation,
    log: &Path,
    init_timeout: Duration,
    invocation_timeout: Duration,
) -> Result<ColdStart> {
    let mut emu = RuntimeEmulator::start(invocation)
        .await
        .context("starting the Runtime API emulator")?;
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", emu.addr().to_string())
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let mut run = ColdStart {
        log: log.to_path_buf(),
        ..ColdStart::default()
    };
    let spawned = Instant::now();
    let mut child = ChildGuard(
        cmd.spawn()
            .with_context(|| format!("running {}", exe.display()))?,
    );
    let mut delivered: Option<Instant> = None;
    let mut done = false;
    let apply = |ev: RuntimeEvent,
                 run: &mut ColdStart,
                 delivered: &mut Option<Instant>,
                 done: &mut bool| match ev {
        RuntimeEvent::NextPolled { at, .. } => {
            if run.init.is_none() {
                run.init = Some(at.duration_since(spawned));
            }
        }
        RuntimeEvent::Delivered { at, .. } => *delivered = Some(at),
        RuntimeEvent::Response { at, body, .. } => {
            run.first_invocation = delivered.map(|d| at.duration_since(d));
            run.outcome = Some(Outcome::Response(body));
            *done = true;
        }
        RuntimeEvent::InvocationError {
            at,
            error_type,
            body,
            ..
        } => {
            run.first_invocation = delivered.map(|d| at.duration_since(d));
            run.outcome = Some(Outcome::Error { error_type, body });
            *done = true;
        }
        RuntimeEvent::InitError {
            error_type, body, ..
        } => {
            run.init_error = Some(match error_type {
                Some(t) => format!("{t}: {body}"),
                None => body,
            });
        }
    };
    while !done {
        // The emulator timestamps what it sees; the tick only bounds how late an exit or a
        // timeout is noticed.
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(5), emu.recv()).await {
            apply(ev, &mut run, &mut delivered, &mut done);
            continue;
        }
        if let Some(status) = child.0.try_wait()? {
            while let Some(ev) = emu.try_recv() {
                apply(ev, &mut run, &mut delivered, &mut done);
            }
            run.exited = Some(status.to_string());
            break;
        }
        let elapsed = spawned.elapsed();
        match (run.init, delivered) {
            (None, _) if elapsed > init_timeout => {
                run.timed_out = Some("the first poll of invocation/next");
                break;
            }
            (_, Some(d)) if d.elapsed() > invocation_timeout => {
                run.timed_out = Some("the first invocation's response");
                break;
            }
            _ => {}
        }
    }
    if run.exited.is_none() {
        run.peak_rss_kib = crate::parts::peak_rss_of(child.0.id());
    }
    drop(child);
    drop(emu);
    Ok(run)
}

/// Options of [`cold_start`].
#[derive(Clone, Debug)]
pub struct ColdStartOptions {
    /// Where the executables are (`target/release`).
    pub bin_dir: PathBuf,
    /// Cold starts per function.
    pub runs: usize,
    /// Which functions.
    pub functions: Vec<Function>,
}

/// The printed result of [`cold_start`]; `ok` is false when any run failed to start or its
/// first invocation did not succeed.
pub struct ColdStartOutcome {
    /// The line saying what was measured, the markdown table and the findings.
    pub text: String,
    /// Every run initialised and answered its invocation.
    pub ok: bool,
}

/// The AWS emulator of a bench: `MOTO`, or a `moto_server` the bench started (killed when
/// dropped). Also used by `bench stream --store s3` and `bench cost`.
pub(crate) struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    _child: Option<ChildGuard>,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn find_moto_server() -> Option<PathBuf> {
    let local = PathBuf::from(".tools/venv/bin/moto_server");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .find(|c| c.is_file())
    })
}

/// Moto at `MOTO`, else a `moto_server` started on a free port (logging into `dir`).
pub(crate) async fn moto(dir: &Path) -> Result<Moto> {
    if let Ok(m) = std::env::var("MOTO")
        && !m.trim().is_empty()
    {
        return Ok(Moto {
            endpoint: m.trim().trim_end_matches('/').to_string(),
            _child: None,
        });
    }
    let Some(exe) = find_moto_server() else {
        bail!(
            "no AWS emulator: set MOTO=http://127.0.0.1:PORT to a running moto_server, or install moto (`pip install 'moto[server]'`) so that .tools/venv/bin/moto_server or moto_server on PATH exists"
        );
    };
    let port = free_port()?;
    let log = dir.join("moto_server.log");
    let out = std::fs::File::create(&log)?;
    let child = Command::new(&exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let mut guard = ChildGuard(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{endpoint}/moto-api/")).send().await
            && r.status().is_success()
        {
            break;
        }
        if let Some(status) = guard.0.try_wait()? {
            bail!(
                "{} exited ({status}) before answering; see {}",
                exe.display(),
                log.display()
            );
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "{} did not answer GET /moto-api/ within 30 s; see {}",
                exe.display(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Moto {
        endpoint,
        _child: Some(guard),
    })
}

/// The executable of `function` in `dir`: `DIR/NAME/bootstrap` as `cargo lambda build
/// --lambda-dir DIR` lays it out, else `DIR/NAME` (`target/release`).
fn executable(dir: &Path, function: Function) -> PathBuf {
    let bootstrap = dir.join(function.name()).join("bootstrap");
    if bootstrap.is_file() {
        bootstrap
    } else {
        dir.join(function.name())
    }
}

/// The ELF machine of `exe` (`x86_64`, `aarch64`, ...), read from its header.
fn elf_machine(exe: &Path) -> String {
    use std::io::Read;
    let mut head = [0u8; 20];
    let read = std::fs::File::open(exe).and_then(|mut f| f.read_exact(&mut head));
    if read.is_err() || &head[..4] != b"\x7fELF" {
        return "not an ELF file".into();
    }
    let machine = if head[5] == 2 {
        u16::from_be_bytes([head[18], head[19]])
    } else {
        u16::from_le_bytes([head[18], head[19]])
    };
    match machine {
        0x3e => "x86_64".into(),
        0xb7 => "aarch64".into(),
        0x03 => "x86".into(),
        m => format!("ELF machine {m:#x}"),
    }
}

fn median(v: &[Duration]) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("n/a".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0))
}

/// The last `n` lines of `path` (the function's log), indented for the findings.
fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| format!("    {l}\n")).collect()
}

/// Runs the benchmark: checks the executables, starts (or uses) moto and the Zoom simulator,
/// creates the stack's resources as `zoom-archiver aws init` does, then measures `runs` cold
/// starts of each function and renders the table.
pub async fn cold_start(opts: &ColdStartOptions) -> Result<ColdStartOutcome> {
    if opts.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let functions: Vec<Function> = Function::ALL
        .into_iter()
        .filter(|f| opts.functions.contains(f))
        .collect();
    let missing: Vec<String> = functions
        .iter()
        .map(|f| executable(&opts.bin_dir, *f))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let packages: Vec<String> = functions
            .iter()
            .map(|f| format!("-p {}", f.name()))
            .collect();
        bail!(
            "missing {}: build the functions with `cargo build --release {}` (or give --bin-dir)",
            missing.join(", "),
            packages.join(" ")
        );
    }

    let unique = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            % 0xffff_ffff_ffff
    );
    let dir = std::env::temp_dir().join(format!("zoom-archiver-cold-start-{unique}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let moto = moto(&dir).await?;
    let started_moto = moto._child.is_some();

    let sim = SimServer::start(Scenario::demo(Utc::now()))
        .await
        .context("starting the Zoom simulator")?;
    let account = sim
        .scenario()
        .accounts
        .first()
        .context("the demo scenario has no account")?
        .clone();

    // The stack's resources, as `zoom-archiver aws init` creates them.
    let name = format!("za-cold-{unique}");
    let settings = archiver_aws::AwsSettings {
        region: REGION.into(),
        endpoint_url: Some(moto.endpoint.clone()),
        bucket: name.clone(),
        table: name.clone(),
        queue_name: name.clone(),
        dlq_name: None,
        kms_key_id: None,
        key_prefix: None,
        object_lock: None,
        manifest_key_id: None,
    };
    archiver_aws::init_resources(&settings)
        .await
        .with_context(|| {
            format!(
                "creating the bucket, table and queues in moto at {}",
                moto.endpoint
            )
        })?;
    let aws = archiver_aws::connect(&settings, Arc::new(SystemClock))
        .await
        .context("connecting to moto")?;
    let secret = format!("zoom/{name}");
    let credentials = serde_json::json!({
        "account_id": account.account_id,
        "client_id": account.client_id,
        "client_secret": account.client_secret,
    });
    aws.secrets
        .client()
        .create_secret()
        .name(&secret)
        .secret_string(credentials.to_string())
        .send()
        .await
        .with_context(|| format!("creating secret {secret}"))?;

    let mut users = String::new();
    for u in &account.users {
        users.push_str(&format!("\n[[users]]\nemail = \"{}\"\n", u.email));
        if let Some(x) = u.extension {
            users.push_str(&format!("extension = \"{x}\"\n"));
        }
        users.push_str("mode = \"video\"\n");
    }

    let mut rows = Vec::new();
    let mut findings = String::new();
    let mut ok = true;
    for f in &functions {
        let exe = executable(&opts.bin_dir, *f);
        let size = std::fs::metadata(&exe)?.len();
        let mut runs = Vec::new();
        // Another architecture's build (the arm64 Lambda artefact on an x86_64 host) is
        // measured for size only.
        let runnable = elf_machine(&exe) == std::env::consts::ARCH;
        if !runnable {
            findings.push_str(&format!(
                "- {}: {} is an {} binary; this host runs {}: size only, init not measured.\n",
                f.name(),
                exe.display(),
                elf_machine(&exe),
                std::env::consts::ARCH
            ));
        }
        for i in (1..=opts.runs).filter(|_| runnable) {
            // A tenant per run: its own watermarks, leases and reconciliation days, so every
            // first invocation does the same work.
            let tenant = format!("bench-{}-{i}", f.name());
            let config = format!(
                "id = \"{tenant}\"\naccount_id = \"{}\"\nclient_id = \"{}\"\napi_base_url = \"{}\"\noauth_url = \"{}\"\nsources = [\"meetings\", \"phone\"]\ninitial_lookback = \"3d\"\n{users}",
                account.account_id,
                account.client_id,
                sim.api_base_url(),
                sim.oauth_url(),
            );
            let key = format!("config/{tenant}.toml");
            aws.blobs
                .client()
                .put_object()
                .bucket(&settings.bucket)
                .key(&key)
                .body(config.into_bytes().into())
                .send()
                .await
                .with_context(|| format!("uploading s3://{}/{key}", settings.bucket))?;
            let env = function_env(f.name(), &settings, &moto.endpoint, &key, &secret);
            let log = dir.join(format!("{}-{i}.log", f.name()));
            let run = measure_cold_start(
                &exe,
                &env,
                Invocation::new(f.name(), &f.event()),
                &log,
                INIT_TIMEOUT,
                INVOCATION_TIMEOUT,
            )
            .await?;
            if let Some(p) = run.problem() {
                ok = false;
                findings.push_str(&format!(
                    "- {} run {i}: {p}\n  log {}, last lines:\n{}",
                    f.name(),
                    run.log.display(),
                    log_tail(&run.log, 15)
                ));
            }
            runs.push(run);
        }
        rows.push((*f, exe, size, runs));
    }

    let mut text = String::new();
    let bins: Vec<String> = rows
        .iter()
        .map(|(_, exe, _, _)| {
            let machine = elf_machine(exe);
            let whose = if machine == std::env::consts::ARCH {
                ": this host's build"
            } else {
                ""
            };
            format!("{} ({machine}{whose})", exe.display())
        })
        .collect();
    text.push_str(&format!(
        "Cold start of {}, {} run{} each, spawned against a local Lambda Runtime API emulator; AWS: moto at {}{}; Zoom: in-process simulator (demo scenario); logs in {}.\n\n",
        bins.join(", "),
        opts.runs,
        if opts.runs == 1 { "" } else { "s" },
        moto.endpoint,
        if started_moto { " (started by the bench)" } else { " (MOTO)" },
        dir.display()
    ));
    text.push_str("| function | binary size | init median (ms) | init max (ms) | first invocation median (ms) | first invocation | peak RSS (MiB) | target < 15 MiB / < 50 ms init |\n");
    text.push_str("|---|---|---|---|---|---|---|---|\n");
    for (f, exe, size, runs) in &rows {
        let inits: Vec<Duration> = runs.iter().filter_map(|r| r.init).collect();
        let firsts: Vec<Duration> = runs.iter().filter_map(|r| r.first_invocation).collect();
        let responses = runs
            .iter()
            .filter(|r| matches!(r.outcome, Some(Outcome::Response(_))))
            .count();
        let errors = runs
            .iter()
            .filter(|r| matches!(r.outcome, Some(Outcome::Error { .. })))
            .count();
        let mut outcome = format!("{responses}/{} response", runs.len());
        if errors > 0 {
            outcome.push_str(&format!(", {errors} error"));
        }
        let failed = runs.len() - inits.len();
        if failed > 0 {
            outcome.push_str(&format!(", {failed} init failed"));
        }
        let peak = runs.iter().filter_map(|r| r.peak_rss_kib).max();
        let init_max = inits.iter().max().copied();
        let size_met = *size < TARGET_SIZE_BYTES;
        let init_median = median(&inits);
        let init_met = failed == 0 && init_median.is_some_and(|m| m < TARGET_INIT);
        let verdict = |met: bool| if met { "met" } else { "not met" };
        text.push_str(&format!(
            "| {} | {} B ({:.1} MiB) | {} | {} | {} | {outcome} | {} | size {} / init {} |\n",
            f.name(),
            zoom_archiver::estimate::thousands(*size as f64),
            *size as f64 / 1024.0 / 1024.0,
            ms(median(&inits)),
            ms(init_max),
            ms(median(&firsts)),
            peak.map_or("n/a".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
            verdict(size_met),
            if runs.is_empty() {
                "not measured"
            } else {
                verdict(init_met)
            },
        ));
        let part = format!("cold start: {} ({})", f.name(), elf_machine(exe));
        // The Lambda artefact is the arm64 build: the target applies to it; a host build's
        // size is shown for what it is.
        let artefact = elf_machine(exe) == "aarch64";
        crate::parts::figure(
            &part,
            "bootstrap size",
            format!("{:.1} MiB", *size as f64 / 1024.0 / 1024.0),
            "-",
            if artefact {
                "< 15 MiB"
            } else {
                "- (the target is the arm64 artefact's: bench/run --full)"
            },
            artefact.then_some(size_met),
        );
        if runs.is_empty() {
            continue;
        }
        crate::parts::figure(
            &part,
            "init (spawn → first poll of the Runtime API), median",
            format!("{} ms", ms(init_median)),
            format!(
                "max {} ms over {} runs; first invocation {} ms",
                ms(init_max),
                runs.len(),
                ms(median(&firsts))
            ),
            "< 50 ms",
            Some(init_met),
        );
    }
    text.push_str(
        "\nThe init target is judged on the median over the runs (the maximum is shown).\n",
    );
    // What the first invocation did, so a fast one is seen to have done its work.
    let mut answers = String::new();
    for (f, _, _, runs) in &rows {
        if let Some(Outcome::Response(body)) = runs.iter().find_map(|r| r.outcome.as_ref()) {
            let short: String = body.chars().take(300).collect();
            let more = if short.len() < body.len() { " …" } else { "" };
            answers.push_str(&format!("- {}: `{short}{more}`\n", f.name()));
        }
    }
    if !answers.is_empty() {
        text.push_str("\nFirst responses (first run, up to 300 characters):\n");
        text.push_str(&answers);
    }
    if !findings.is_empty() {
        text.push_str("\nNotes and findings (failures are the functions', not the bench's):\n");
        text.push_str(&findings);
    }
    Ok(ColdStartOutcome { text, ok })
}

/// The environment Lambda gives a `provided.al2023` function, plus the stack's settings as
/// `infra/template.yaml` sets them (pointed at moto) and dummy credentials.
fn function_env(
    function: &str,
    settings: &archiver_aws::AwsSettings,
    endpoint: &str,
    config_key: &str,
    secret: &str,
) -> Vec<(String, String)> {
    let pairs = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("LANG", "en_US.UTF-8".to_string()),
        ("TZ", ":UTC".to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "{}/[$LATEST]{}",
                Utc::now().format("%Y/%m/%d"),
                uuid::Uuid::new_v4().simple()
            ),
        ),
        ("AWS_REGION", settings.region.clone()),
        ("AWS_DEFAULT_REGION", settings.region.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("ARCHIVE_BUCKET", settings.bucket.clone()),
        ("ARCHIVE_TABLE", settings.table.clone()),
        ("TASK_QUEUE", settings.queue_name.clone()),
        ("TASK_DLQ", settings.dlq_name()),
        (
            "TENANT_CONFIG_S3_URI",
            format!("s3://{}/{config_key}", settings.bucket),
        ),
        ("ZOOM_SECRET_ARN", secret.to_string()),
        ("RUST_LOG", "warn".to_string()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_formatting() {
        let d = |m| Duration::from_millis(m);
        assert_eq!(median(&[d(3), d(1), d(2)]), Some(d(2)));
        assert_eq!(
            median(&[d(4), d(1), d(2), d(3)]),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(median(&[]), None);
    }
}
