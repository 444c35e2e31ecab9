//! Logs of `ZoomClient` (its own test binary: tracing caches callsite interest per process,
//! so a scoped subscriber must not race other tests).

use archiver_core::{Window, ZoomApi, ZoomCredentials};
use archiver_zoom::{RetryPolicy, ZoomClient, ZoomClientConfig};
use chrono::{Duration as ChronoDuration, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use std::time::Duration;
use zoom_sim::{RetryAfter, Scenario, SimServer};

fn window() -> Window {
    let now = Utc::now();
    Window {
        from: now - ChronoDuration::days(4),
        to: now,
    }
}

/// A `MakeWriter` collecting log output.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_secrets_tokens_or_signed_queries() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = SimServer::start(Scenario::demo(Utc::now())).await.unwrap();
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
        base_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let c = ZoomClient::new(cfg).unwrap();
    sim.faults().revoke_tokens();
    let page = c.list_phone_recordings(window(), None).await.unwrap();
    sim.faults().revoke_tokens();
    let d = c
        .download(page.items[0].download_url.as_deref().unwrap())
        .await
        .unwrap();
    let mut body = d.body;
    while let Some(chunk) = body.next().await {
        chunk.unwrap();
    }
    sim.faults()
        .rate_limit_next("/phone/recordings", 1, RetryAfter::None);
    c.list_phone_recordings(window(), None).await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("zoom response") && logs.contains("/phone/recordings"),
        "{logs}"
    );
    for forbidden in [
        "demo-secret",
        "eyJ",
        "Bearer",
        "Basic ",
        "jwt=",
        "next_page_token=",
        "from=",
    ] {
        assert!(
            !logs.contains(forbidden),
            "logs contain {forbidden:?}:\n{logs}"
        );
    }
}
