//! Edge cases against a scripted raw-HTTP server (things the simulator does not produce).

use archiver_core::{ArchiveDateType, Window, ZoomApi, ZoomCredentials, ZoomError};
use archiver_zoom::{RetryPolicy, ZoomClient, ZoomClientConfig};
use chrono::{Duration as ChronoDuration, Utc};
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Request lines seen, with the `Authorization` header value.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves one response per connection, chosen by `route(method, path_and_query, authorization)`.
async fn serve(route: fn(&str, &str, Option<&str>, &str) -> String) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let (log2, origin2) = (log.clone(), origin.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (log, origin) = (log2.clone(), origin2.clone());
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
                let mut rl = lines.next().unwrap_or_default().split(' ');
                let (method, target) = (
                    rl.next().unwrap_or_default().to_string(),
                    rl.next().unwrap_or_default().to_string(),
                );
                let auth = lines.find_map(|h| {
                    h.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v.trim().to_string())
                });
                log.lock()
                    .unwrap()
                    .push((format!("{method} {target}"), auth.clone()));
                let resp = route(&method, &target, auth.as_deref(), &origin);
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (origin, log)
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    s
}

fn token_ok() -> String {
    http(
        "200 OK",
        &[("Content-Type", "application/json")],
        r#"{"access_token":"tok-SENTINEL","token_type":"bearer","expires_in":3600}"#,
    )
}

fn client(origin: &str) -> ZoomClient {
    let mut cfg = ZoomClientConfig::with_urls(
        format!("{origin}/v2"),
        format!("{origin}/oauth/token"),
        ZoomCredentials {
            account_id: "a".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("s"),
        },
    );
    cfg.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    ZoomClient::new(cfg).unwrap()
}

fn window() -> Window {
    let now = Utc::now();
    Window {
        from: now - ChronoDuration::days(1),
        to: now,
    }
}

fn route(method: &str, target: &str, auth: Option<&str>, origin: &str) -> String {
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("POST", "/oauth/token") => token_ok(),
        (_, "/v2/archive_files") => http(
            "200 OK",
            &[("Content-Type", "text/html")],
            "<html><body>Sign in to Zoom</body></html>",
        ),
        (_, "/v2/phone/recordings") => http(
            "401 Unauthorized",
            &[],
            r#"{"code":124,"message":"Invalid access token."}"#,
        ),
        (_, "/loop") => http("302 Found", &[("Location", "/loop?again=1")], ""),
        (_, "/needs-auth-start") => {
            http("302 Found", &[("Location", "/needs-auth-file?sig=x")], "")
        }
        (_, "/needs-auth-file") if auth.is_none() => http(
            "401 Unauthorized",
            &[],
            r#"{"code":124,"message":"no token"}"#,
        ),
        (_, "/needs-auth-file") => http("200 OK", &[("Content-Type", "audio/mpeg")], "ID3data"),
        (_, "/daily") => http(
            "429 Too Many Requests",
            &[
                ("X-RateLimit-Category", "Medium"),
                ("X-RateLimit-Type", "Daily-limit"),
                ("Retry-After", "Wed, 21 Oct 2099 00:00:00 GMT"),
            ],
            r#"{"code":429,"message":"You have reached the maximum daily rate limit for this API."}"#,
        ),
        _ => {
            let _ = origin;
            http("404 Not Found", &[], r#"{"code":3001,"message":"nope"}"#)
        }
    }
}

#[tokio::test]
async fn undecodable_200_is_decode_with_an_excerpt() {
    let (origin, _) = serve(route).await;
    match client(&origin)
        .list_archived_meetings(window(), ArchiveDateType::MeetingStartTime, None)
        .await
    {
        Err(ZoomError::Decode(m)) => {
            assert!(m.contains("Sign in to Zoom"), "{m}");
            assert!(!m.contains("SENTINEL"), "{m}");
        }
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
}

#[tokio::test]
async fn persistent_401_is_unauthorized_after_one_refresh() {
    let (origin, log) = serve(route).await;
    let r = client(&origin).list_phone_recordings(window(), None).await;
    assert!(
        matches!(r, Err(ZoomError::Unauthorized(_))),
        "{:?}",
        r.map(|p| p.items.len())
    );
    let log = log.lock().unwrap();
    let tokens = log
        .iter()
        .filter(|(l, _)| l.starts_with("POST /oauth/token"))
        .count();
    let calls = log
        .iter()
        .filter(|(l, _)| l.starts_with("GET /v2/phone/recordings"))
        .count();
    assert_eq!((tokens, calls), (2, 2), "{log:?}");
    assert!(
        log.iter()
            .filter(|(l, _)| l.starts_with("GET"))
            .all(|(_, a)| a.as_deref() == Some("Bearer tok-SENTINEL"))
    );
}

#[tokio::test]
async fn redirect_loops_stop() {
    let (origin, log) = serve(route).await;
    match client(&origin).download(&format!("{origin}/loop")).await {
        Err(ZoomError::Transport(m)) => assert!(m.contains("redirects") && !m.contains('?'), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("followed a loop"),
    }
    // The first hop carries the token; the redirect hops do not.
    let log = log.lock().unwrap();
    let loops: Vec<_> = log
        .iter()
        .filter(|(l, _)| l.starts_with("GET /loop"))
        .collect();
    assert_eq!(loops.len(), 6, "{log:?}");
    assert!(
        loops[0].1.is_some() && loops[1..].iter().all(|(_, a)| a.is_none()),
        "{log:?}"
    );
}

#[tokio::test]
async fn same_origin_hop_gets_the_token_only_when_it_asks() {
    let (origin, log) = serve(route).await;
    let d = client(&origin)
        .download(&format!("{origin}/needs-auth-start"))
        .await
        .unwrap();
    assert_eq!(d.content_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(d.content_length, Some(7));
    let log = log.lock().unwrap();
    let hops: Vec<_> = log
        .iter()
        .filter(|(l, _)| l.starts_with("GET /needs-auth-file"))
        .collect();
    assert_eq!(hops.len(), 2, "{log:?}");
    assert!(hops[0].1.is_none() && hops[1].1.is_some());
}

#[tokio::test]
async fn cross_origin_redirect_never_gets_the_token() {
    let (file_host, file_log) = serve(route).await;
    let (api_host, _) = serve(|method, target, _, _| {
        if method == "POST" {
            return token_ok();
        }
        // The file host's origin travels in the query of the first request.
        let to = target.split("to=").nth(1).unwrap_or_default();
        http(
            "302 Found",
            &[("Location", &format!("{to}/needs-auth-file?sig=1"))],
            "",
        )
    })
    .await;
    let r = client(&api_host)
        .download(&format!("{api_host}/dl?to={file_host}"))
        .await;
    // The file host demands a token; it must not get ours: the download fails instead.
    assert!(
        matches!(r, Err(ZoomError::Unauthorized(_))),
        "{:?}",
        r.as_ref().err()
    );
    let file_log = file_log.lock().unwrap();
    assert!(
        !file_log.is_empty() && file_log.iter().all(|(_, a)| a.is_none()),
        "{file_log:?}"
    );
}

#[tokio::test]
async fn daily_limit_with_http_date_retry_after() {
    let (origin, log) = serve(route).await;
    match client(&origin).download(&format!("{origin}/daily")).await {
        Err(ZoomError::RateLimited {
            category,
            kind,
            retry_after: Some(archiver_core::RetryHint::At(t)),
        }) => {
            assert_eq!(
                (category.as_str(), kind.as_str()),
                ("Medium", "Daily-limit")
            );
            assert_eq!(t.to_rfc3339(), "2099-10-21T00:00:00+00:00");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("downloaded"),
    }
    assert_eq!(
        log.lock()
            .unwrap()
            .iter()
            .filter(|(l, _)| l.starts_with("GET /daily"))
            .count(),
        1
    );
}
