//! `ZoomClient` through a forward proxy (a tiny one in the test) to the simulator.

use archiver_core::{ArchiveDateType, Window, ZoomApi, ZoomCredentials};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use base64::Engine;
use chrono::{Duration as ChronoDuration, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zoom_sim::{Scenario, SimServer};

/// What the proxy saw: request line (target without query) and the `Proxy-Authorization` value.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A one-request-per-connection forward proxy: absolute-form requests are rewritten to
/// origin-form and forwarded with `Connection: close`; `CONNECT` is tunnelled.
async fn start_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen2.clone();
            tokio::spawn(async move {
                let _ = handle(sock, seen).await;
            });
        }
    });
    (addr, seen)
}

async fn handle(mut client: TcpStream, seen: Seen) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let rest = buf[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let proxy_auth = headers.iter().find_map(|h| {
        h.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, v)| v.trim().to_string())
    });
    if method == "CONNECT" {
        seen.lock()
            .unwrap()
            .push((format!("CONNECT {target}"), proxy_auth));
        let mut upstream = TcpStream::connect(&target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    let url = url::Url::parse(&target).map_err(std::io::Error::other)?;
    seen.lock().unwrap().push((
        format!(
            "{method} {}://{}{}",
            url.scheme(),
            url.authority(),
            url.path()
        ),
        proxy_auth,
    ));
    let mut upstream = TcpStream::connect(format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(80)
    ))
    .await?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers {
        let name = h.split(':').next().unwrap_or_default().to_ascii_lowercase();
        if ![
            "proxy-authorization",
            "proxy-connection",
            "connection",
            "keep-alive",
        ]
        .contains(&name.as_str())
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

#[tokio::test]
async fn every_request_goes_through_the_proxy_with_its_credentials() {
    let sim = SimServer::start(Scenario::demo(Utc::now())).await.unwrap();
    let (proxy_addr, seen) = start_proxy().await;
    let mut cfg = ZoomClientConfig::with_urls(
        sim.api_base_url(),
        sim.oauth_url(),
        ZoomCredentials {
            account_id: "demo-account".into(),
            client_id: "demo-client".into(),
            client_secret: SecretString::from("demo-secret"),
        },
    );
    cfg.proxy = Some(SecretString::from(format!(
        "http://puser:p%40ss@{proxy_addr}"
    )));
    let c = ZoomClient::new(cfg).unwrap();
    assert!(!format!("{c:?}").contains("p%40ss"));

    let now = Utc::now();
    let w = Window {
        from: now - ChronoDuration::days(4),
        to: now,
    };
    let meetings = c
        .list_archived_meetings(w, ArchiveDateType::MeetingStartTime, None)
        .await
        .unwrap();
    assert!(!meetings.items.is_empty());
    let recs = c.list_phone_recordings(w, None).await.unwrap();
    let url = recs.items[0].download_url.clone().unwrap();
    let d = c.download(&url).await.unwrap();
    let mut body = d.body;
    let mut n = 0;
    while let Some(chunk) = body.next().await {
        n += chunk.unwrap().len() as u64;
    }
    assert_eq!(sim.file_digest(&recs.items[0].id).map(|d| d.0), Some(n));

    let seen = seen.lock().unwrap().clone();
    let lines: Vec<&str> = seen.iter().map(|(l, _)| l.as_str()).collect();
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("puser:p@ss")
    );
    assert!(
        seen.iter()
            .all(|(_, a)| a.as_deref() == Some(expected_auth.as_str())),
        "{seen:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("POST ") && l.ends_with("/oauth/token")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with("/v2/archive_files")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with("/v2/phone/recordings")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.ends_with("/file")), "{lines:?}");
    let direct: u64 = sim.stats().by_endpoint.values().sum();
    assert_eq!(
        direct as usize,
        lines.len(),
        "requests bypassed the proxy: {lines:?} vs {:?}",
        sim.stats()
    );
}
