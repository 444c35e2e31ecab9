//! The safe download path: allowed hosts, checked redirects, the token only for the API and
//! OAuth hosts, checked `Content-Range` totals and capped JSON bodies, against the simulator
//! and small raw-HTTP servers that count what reaches them.

use archiver_core::{ArchiveDateType, Download, Window, ZoomApi, ZoomCredentials, ZoomError};
use archiver_zoom::{MAX_JSON_BODY_BYTES, RetryPolicy, ZoomClient, ZoomClientConfig};
use chrono::{Duration as ChronoDuration, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zoom_sim::{Scenario, SimServer};

/// The access token every test server hands out.
const TOKEN: &str = "tok-SENTINEL";

/// One request a test server received.
#[derive(Clone, Debug)]
struct Req {
    /// `METHOD /path?query`.
    line: String,
    /// The `Authorization` header, if any.
    auth: Option<String>,
    /// The `Range` header, if any.
    range: Option<String>,
}

impl Req {
    fn path(&self) -> &str {
        let target = self.line.split(' ').nth(1).unwrap_or_default();
        target.split('?').next().unwrap_or_default()
    }
}

/// What a test server answers.
enum Reply {
    /// A whole response, head and body.
    Full(String),
    /// `200` JSON with `Transfer-Encoding: chunked`: `total` bytes in 64 KiB chunks.
    Chunked { total: u64 },
}

/// What a test server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: Mutex<Vec<Req>>,
    /// Body bytes written by chunked replies.
    written: AtomicU64,
}

impl Seen {
    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

type Route = Arc<dyn Fn(&Req, &str) -> Reply + Send + Sync>;

/// A one-request-per-connection HTTP/1.1 server on `bind` (port 0), answering by `route`
/// (given the request and the server's own origin).
async fn serve_on(bind: &str, route: Route) -> (String, u16, Arc<Seen>) {
    let listener = TcpListener::bind(bind).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    let seen: Arc<Seen> = Arc::default();
    let (seen2, origin2) = (seen.clone(), origin.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            let (seen, origin, route) = (seen2.clone(), origin2.clone(), route.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let mut lines = head.split("\r\n");
                let line = lines.next().unwrap_or_default().to_string();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|h| h.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                };
                let req = Req {
                    line,
                    auth: header("authorization"),
                    range: header("range"),
                };
                seen.requests.lock().unwrap().push(req.clone());
                match route(&req, &origin) {
                    Reply::Full(resp) => {
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    Reply::Chunked { total } => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let piece = vec![b'x'; 64 * 1024];
                        let mut sent = 0u64;
                        while sent < total {
                            let n = piece.len().min((total - sent) as usize);
                            let mut frame = format!("{n:x}\r\n").into_bytes();
                            frame.extend_from_slice(&piece[..n]);
                            frame.extend_from_slice(b"\r\n");
                            if sock.write_all(&frame).await.is_err() {
                                return;
                            }
                            sent += n as u64;
                            seen.written.store(sent, Ordering::SeqCst);
                        }
                        let _ = sock.write_all(b"0\r\n\r\n").await;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    (origin, port, seen)
}

async fn serve(route: impl Fn(&Req, &str) -> Reply + Send + Sync + 'static) -> (String, Arc<Seen>) {
    let (origin, _, seen) = serve_on("127.0.0.1:0", Arc::new(route)).await;
    (origin, seen)
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    Reply::Full(s)
}

fn token_ok() -> Reply {
    http(
        "200 OK",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":3600}}"#),
    )
}

fn file_ok() -> Reply {
    http("200 OK", &[("Content-Type", "audio/mpeg")], "ID3data")
}

fn config(api_base_url: &str, oauth_url: &str) -> ZoomClientConfig {
    let mut cfg = ZoomClientConfig::with_urls(
        api_base_url,
        oauth_url,
        ZoomCredentials {
            account_id: "a".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("s"),
        },
    );
    cfg.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    cfg.connect_timeout = Duration::from_secs(3);
    cfg
}

fn client(api_base_url: &str, oauth_url: &str) -> ZoomClient {
    ZoomClient::new(config(api_base_url, oauth_url)).unwrap()
}

/// The message of a refusal: `Refused`, not retryable.
fn refusal(r: Result<Download, ZoomError>) -> String {
    match r {
        Err(e @ ZoomError::Refused(_)) => {
            assert!(!e.is_retryable(), "{e}");
            e.to_string()
        }
        Err(e) => panic!("not a refusal: {e:?}"),
        Ok(_) => panic!("the download was opened"),
    }
}

async fn collect(d: Download) -> Result<Vec<u8>, std::io::Error> {
    let mut body = d.body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

#[tokio::test]
async fn listing_urls_off_the_allowed_hosts_are_refused_before_any_request() {
    // The token endpoint counts what reaches it: a refusal must come before the token.
    let (_, oauth_port, oauth_seen) =
        serve_on("127.0.0.1:0", Arc::new(|_: &Req, _: &str| token_ok())).await;
    // Listeners the refused URLs point at: nothing may connect to them.
    let (_, target_port, target_seen) =
        serve_on("127.0.0.1:0", Arc::new(|_: &Req, _: &str| file_ok())).await;
    let (_, any_port, any_seen) =
        serve_on("0.0.0.0:0", Arc::new(|_: &Req, _: &str| file_ok())).await;
    // Production API host; the token endpoint on `localhost` (a configured host).
    let c = client(
        "https://api.zoom.us/v2",
        &format!("http://localhost:{oauth_port}/oauth/token"),
    );
    let cases = [
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
            "169.254.169.254",
            "not a Zoom host over https",
        ),
        (
            "https://10.0.0.5/x".into(),
            "10.0.0.5",
            "not a Zoom host over https",
        ),
        (
            "http://files.example.com/rec/x".into(),
            "files.example.com",
            "not a Zoom host over https",
        ),
        (
            "http://zoom.us/rec/archive/download/x".into(),
            "zoom.us",
            "plain http is allowed only to a loopback host",
        ),
        (
            "https://evilzoom.us/x?access_token=SECRET-QUERY".into(),
            "evilzoom.us",
            "not a Zoom host over https",
        ),
        (
            format!("http://127.0.0.1:{target_port}/rec/x?jwt=SECRET-QUERY"),
            "127.0.0.1",
            "not a Zoom host over https",
        ),
        (
            format!("http://0.0.0.0:{any_port}/rec/x"),
            "0.0.0.0",
            "not a Zoom host over https",
        ),
        (
            "ftp://zoom.us/x".into(),
            "zoom.us",
            "unsupported scheme ftp",
        ),
    ];
    for (url, host, rule) in &cases {
        let started = Instant::now();
        for m in [
            refusal(c.download(url).await),
            refusal(c.download_from(url, 10).await),
            refusal(c.download_parallel(url, 1000, 100, 4).await),
        ] {
            assert!(
                m.contains(&format!("refused download host {host}")) && m.contains(rule),
                "{url}: {m}"
            );
            assert!(
                !m.contains("SECRET-QUERY") && !m.contains("/rec") && !m.contains("meta-data"),
                "{m}"
            );
        }
        // No connect was even tried (169.254.169.254 and 10.0.0.5 would take seconds).
        assert!(started.elapsed() < Duration::from_secs(1), "{url}");
    }
    assert_eq!(oauth_seen.connections(), 0, "a token was fetched");
    assert_eq!(target_seen.connections(), 0);
    assert_eq!(any_seen.connections(), 0);
}

/// An API host whose `/dl?to=URL` redirects to `URL` (the rest of the query).
async fn redirecting_api() -> (String, Arc<Seen>) {
    serve(|req: &Req, _: &str| {
        if req.line.starts_with("POST /oauth/token") {
            return token_ok();
        }
        let to = req.line.split_once("to=").map_or("", |(_, t)| t);
        let to = to.split(' ').next().unwrap_or_default();
        http("302 Found", &[("Location", to)], "")
    })
    .await
}

#[tokio::test]
async fn redirects_to_ip_literals_private_or_foreign_hosts_are_refused_after_the_first_hop() {
    let (api, api_seen) = redirecting_api().await;
    let api_host = api.trim_start_matches("http://").to_string();
    // `0.0.0.0` reaches this machine on Linux: a listener there proves nothing connects.
    let (_, any_port, any_seen) =
        serve_on("0.0.0.0:0", Arc::new(|_: &Req, _: &str| file_ok())).await;
    let any_host = format!("0.0.0.0:{any_port}");
    let c = client(&format!("{api}/v2"), &format!("{api}/oauth/token"));
    let cases = [
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "169.254.169.254",
            "an IP address literal (link-local)",
        ),
        (
            "https://10.0.0.5/x".into(),
            "10.0.0.5",
            "an IP address literal (private)",
        ),
        (
            "https://192.168.1.10/x".into(),
            "192.168.1.10",
            "an IP address literal (private)",
        ),
        (
            "https://[fe80::1]/x".into(),
            "[fe80::1]",
            "an IP address literal (link-local)",
        ),
        (
            "https://[fd12::1]/x".into(),
            "[fd12::1]",
            "an IP address literal (private (unique local))",
        ),
        (
            format!("http://0.0.0.0:{any_port}/steal"),
            any_host.as_str(),
            "an IP address literal (unspecified)",
        ),
        (
            "https://8.8.8.8/x".into(),
            "8.8.8.8",
            "an IP address literal (public)",
        ),
        (
            "https://evilzoom.us/x?sig=SECRET-QUERY".into(),
            "evilzoom.us",
            "not a Zoom host over https",
        ),
        (
            "https://attacker.example/x".into(),
            "attacker.example",
            "not a Zoom host over https",
        ),
        (
            "http://file.zoom.us/x".into(),
            "file.zoom.us",
            "plain http is allowed only to a loopback host",
        ),
    ];
    for (to, host, rule) in &cases {
        let before = api_seen.requests().len();
        let started = Instant::now();
        let m = refusal(c.download(&format!("{api}/dl?to={to}")).await);
        assert!(
            m.contains(&format!(
                "refused download redirect to host {host} (from {api_host})"
            )) && m.contains(rule),
            "{to}: {m}"
        );
        assert!(!m.contains("SECRET-QUERY") && !m.contains("/x"), "{m}");
        assert!(started.elapsed() < Duration::from_secs(1), "{to}");
        // Exactly the first hop reached the API host (with the token: it is the API host).
        let hops: Vec<Req> = api_seen.requests()[before..]
            .iter()
            .filter(|r| r.line.starts_with("GET"))
            .cloned()
            .collect();
        assert_eq!(hops.len(), 1, "{hops:?}");
        assert_eq!(hops[0].path(), "/dl");
        assert_eq!(hops[0].auth.as_deref(), Some("Bearer tok-SENTINEL"));
    }
    assert_eq!(any_seen.connections(), 0);
}

#[tokio::test]
async fn the_token_goes_to_the_api_and_oauth_hosts_and_no_other() {
    let (api, api_seen) = serve(|_: &Req, _: &str| file_ok()).await;
    let (web, web_seen) = serve(|req: &Req, _: &str| {
        if req.line.starts_with("POST /oauth/token") {
            token_ok()
        } else {
            file_ok()
        }
    })
    .await;
    let (files, files_seen) = serve(|req: &Req, _: &str| match req.path() {
        "/needs-token" => http(
            "401 Unauthorized",
            &[],
            r#"{"code":124,"message":"Invalid access token."}"#,
        ),
        _ => file_ok(),
    })
    .await;
    let files_port = files.rsplit(':').next().unwrap().to_string();
    let c = client(&format!("{api}/v2"), &format!("{web}/oauth/token"));

    // The API host and the OAuth (web) host get the token.
    let d = c
        .download(&format!("{api}/v2/phone/recording/download/1"))
        .await
        .unwrap();
    assert_eq!(collect(d).await.unwrap(), b"ID3data");
    let d = c
        .download(&format!("{web}/rec/archive/download/2"))
        .await
        .unwrap();
    assert_eq!(collect(d).await.unwrap(), b"ID3data");
    assert!(
        api_seen
            .requests()
            .iter()
            .all(|r| r.auth.as_deref() == Some("Bearer tok-SENTINEL")),
        "{:?}",
        api_seen.requests()
    );
    let web_gets: Vec<Req> = web_seen
        .requests()
        .into_iter()
        .filter(|r| r.line.starts_with("GET"))
        .collect();
    assert_eq!(web_gets.len(), 1);
    assert_eq!(web_gets[0].auth.as_deref(), Some("Bearer tok-SENTINEL"));

    // Another allowed host (a loopback one, under another name and on another port) does not.
    for url in [
        format!("http://localhost:{files_port}/file?jwt=x"),
        format!("{files}/file?jwt=y"),
    ] {
        let d = c.download(&url).await.unwrap();
        assert_eq!(collect(d).await.unwrap(), b"ID3data");
    }
    // Nor when it asks for one: the download fails (no refresh, which could not help).
    let tokens_before = web_seen
        .requests()
        .iter()
        .filter(|r| r.line.starts_with("POST"))
        .count();
    match c.download(&format!("{files}/needs-token")).await {
        Err(ZoomError::Unauthorized(m)) => {
            assert!(m.contains("127.0.0.1 asked for credentials"), "{m}");
            assert!(m.contains("only to the API and OAuth hosts"), "{m}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("downloaded without the token"),
    }
    let tokens_after = web_seen
        .requests()
        .iter()
        .filter(|r| r.line.starts_with("POST"))
        .count();
    assert_eq!((tokens_before, tokens_after), (1, 1));
    let file_reqs = files_seen.requests();
    assert_eq!(file_reqs.len(), 3, "{file_reqs:?}");
    assert!(file_reqs.iter().all(|r| r.auth.is_none()), "{file_reqs:?}");
}

async fn sim() -> SimServer {
    SimServer::start(Scenario::demo(Utc::now()))
        .await
        .expect("simulator starts")
}

fn sim_client(sim: &SimServer) -> ZoomClient {
    let mut cfg = ZoomClientConfig::with_urls(
        sim.api_base_url(),
        sim.oauth_url(),
        ZoomCredentials {
            account_id: "demo-account".into(),
            client_id: "demo-client".into(),
            client_secret: SecretString::from("demo-secret"),
        },
    );
    cfg.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    ZoomClient::new(cfg).unwrap()
}

fn window() -> Window {
    let now = Utc::now();
    Window {
        from: now - ChronoDuration::days(4),
        to: now,
    }
}

/// A completed archive file of the demo: `(id, download URL, size)`.
async fn big_archive_file(c: &ZoomClient) -> (String, String, u64) {
    let mut token = None;
    loop {
        let page = c
            .list_archived_meetings(
                window(),
                ArchiveDateType::ArchiveCompleteTime,
                token.as_deref(),
            )
            .await
            .unwrap();
        if let Some(f) = page
            .items
            .iter()
            .flat_map(|m| m.archive_files.iter())
            .find(|f| {
                f.is_completed() && f.download_url.is_some() && f.file_size.unwrap_or(0) > 100_000
            })
        {
            return (
                f.id.clone(),
                f.download_url.clone().unwrap(),
                f.file_size.unwrap(),
            );
        }
        token = Some(page.next_page_token.expect("a completed archive file"));
    }
}

#[tokio::test]
async fn ranged_downloads_with_a_wrong_content_range_total_fail() {
    let sim = sim().await;
    let c = sim_client(&sim);
    let (id, url, size) = big_archive_file(&c).await;
    let part = size / 4 + 1;

    // Honest ranges: the parallel download is the file.
    let d = c.download_parallel(&url, size, part, 2).await.unwrap();
    let bytes = collect(d).await.unwrap();
    assert_eq!(
        sim.file_digest(&id),
        Some((size, hex::encode(Sha256::digest(&bytes))))
    );

    // The first ranged answer reports another total.
    sim.faults().misreport_range_total(&id, size + 1, 1);
    match c.download_parallel(&url, size, part, 2).await {
        Err(ZoomError::Decode(m)) => {
            assert!(m.contains("206 from 127.0.0.1"), "{m}");
            assert!(
                m.contains(&format!("Content-Range total {}", size + 1))
                    && m.contains(&format!("expected {size} (the file size)")),
                "{m}"
            );
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted a wrong total"),
    }

    // A resumed download: the range must run to the total it reports.
    sim.faults().misreport_range_total(&id, 2 * size, 1);
    match c.download_from(&url, 1000).await {
        Err(ZoomError::Decode(m)) => assert!(
            m.contains("206 from 127.0.0.1 for bytes=1000-")
                && m.contains(&format!("served bytes 1000-{} of {}", size - 1, 2 * size)),
            "{m}"
        ),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted an inconsistent range"),
    }
    // Honest again.
    let d = c.download_from(&url, 1000).await.unwrap();
    assert_eq!(d.offset, 1000);
    assert_eq!(collect(d).await.unwrap(), bytes[1000..]);
}

#[tokio::test]
async fn a_later_range_with_a_wrong_total_fails_the_body() {
    const SIZE: u64 = 1000;
    let (origin, seen) = serve(|req: &Req, _: &str| {
        if req.line.starts_with("POST") {
            return token_ok();
        }
        let (a, b) = req
            .range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .map(|(a, b)| (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()))
            .expect("a bounded range");
        // The third range onwards claims one byte more.
        let total = if a >= 500 { SIZE + 1 } else { SIZE };
        let body = "x".repeat((b - a + 1) as usize);
        http(
            "206 Partial Content",
            &[("Content-Range", &format!("bytes {a}-{b}/{total}"))],
            &body,
        )
    })
    .await;
    let c = client(&format!("{origin}/v2"), &format!("{origin}/oauth/token"));
    let d = c
        .download_parallel(&format!("{origin}/rec/archive/download/f"), SIZE, 250, 2)
        .await
        .unwrap();
    let e = collect(d).await.unwrap_err().to_string();
    assert!(
        e.contains("206 from 127.0.0.1 for bytes=500-749")
            && e.contains("Content-Range total 1001, expected 1000"),
        "{e}"
    );
    assert!(
        seen.requests()
            .iter()
            .any(|r| r.range.as_deref() == Some("bytes=500-749"))
    );
}

#[tokio::test]
async fn an_oversized_listing_fails_naming_the_endpoint() {
    let limit = MAX_JSON_BODY_BYTES;
    assert_eq!(limit, 32 << 20);

    // The simulator pads a listing to 33 MiB (with a Content-Length): refused unread.
    let sim = sim().await;
    let c = sim_client(&sim);
    sim.faults()
        .oversized_listing("/archive_files", 1, 33 << 20);
    let started = Instant::now();
    match c
        .list_archived_meetings(window(), ArchiveDateType::ArchiveCompleteTime, None)
        .await
    {
        Err(ZoomError::Decode(m)) => {
            assert!(
                m.contains("the body of GET /v2/archive_files is")
                    && m.contains(&format!("over the limit of {limit} bytes")),
                "{m}"
            );
            assert!(!m.contains('?') && !m.contains("xxxx"), "{m}");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // The next page is fine again.
    c.list_archived_meetings(window(), ArchiveDateType::ArchiveCompleteTime, None)
        .await
        .unwrap();

    // Without a Content-Length (chunked), reading stops at the limit.
    let total = 64u64 << 20;
    let (origin, seen) = serve(move |req: &Req, _: &str| {
        if req.line.starts_with("POST") {
            token_ok()
        } else {
            Reply::Chunked { total }
        }
    })
    .await;
    let c = client(&format!("{origin}/v2"), &format!("{origin}/oauth/token"));
    let started = Instant::now();
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::Decode(m)) => assert!(
            m.contains(&format!(
                "the body of GET /v2/phone/recordings is more than {limit} bytes"
            )),
            "{m}"
        ),
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // The client hung up well before the end (socket buffers hold a few MiB at most).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = seen.written.load(Ordering::SeqCst);
    assert!(written < total - (8 << 20), "{written}");
}

#[tokio::test]
async fn an_oversized_token_response_fails_naming_the_endpoint() {
    let (origin, _) = serve(|req: &Req, _: &str| {
        if req.line.starts_with("POST") {
            // Announces 33 MiB; the client must not wait for (or hold) them.
            Reply::Full(format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{{\"access_token\":\"{TOKEN}\"",
                33u64 << 20
            ))
        } else {
            http("200 OK", &[], "{}")
        }
    })
    .await;
    let c = client(&format!("{origin}/v2"), &format!("{origin}/oauth/token"));
    match c.list_phone_recordings(window(), None).await {
        Err(ZoomError::Decode(m)) => {
            assert!(
                m.contains("the body of POST /oauth/token is 34603008 bytes, over the limit"),
                "{m}"
            );
            assert!(!m.contains("SENTINEL"), "{m}");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
}
