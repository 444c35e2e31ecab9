//! Downloader Lambda entry point: builds the adapters and the Zoom client once, then serves
//! SQS batches with [`downloader::handle`].

use anyhow::Context as _;
use archiver_aws::stack::{load_tenant_config, settings_from_env, zoom_credentials};
use archiver_core::services::downloader::{DownloadSettings, Downloader};
use archiver_core::{Clock, SystemClock};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use downloader::DownloaderEnv;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(format!(
                "{},{}",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
                archiver_media::QUIET_DECODERS
            ))
            .unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .with_span_list(false)
        .init();
    let settings = settings_from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let aws = archiver_aws::connect(&settings, clock.clone()).await?;
    let tenant = load_tenant_config(&settings).await?;
    let creds = zoom_credentials(&tenant, &aws.secrets)
        .await
        .context("reading the Zoom credentials")?;
    let mut zoom_cfg =
        ZoomClientConfig::with_urls(tenant.api_base_url.clone(), tenant.oauth_url.clone(), creds);
    zoom_cfg.proxy = tenant.proxy.clone();
    let zoom = ZoomClient::new(zoom_cfg).context("building the Zoom client")?;
    // Every call counted in the shared ledger and kept within the daily budget.
    let zoom = archiver_core::services::budget::BudgetedZoom::new(
        Arc::new(zoom),
        aws.quota.clone(),
        tenant.account_id.clone(),
        tenant.budget(),
        clock.clone(),
    );
    let function =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "downloader".into());
    let settings = DownloadSettings {
        worker_id: format!("{function}-{}", uuid_like()),
        ..DownloadSettings::default()
    };
    let env = DownloaderEnv {
        downloader: Downloader::new(aws.ports(clock), settings)
            .with_analyser(Arc::new(archiver_media::BlobAnalyser::new())),
        queue: aws.queue.clone(),
        raw_dead_letters: aws.queue.clone(),
        zoom: Arc::new(zoom),
        deadline_margin: downloader::deadline_margin_from_env().map_err(anyhow::Error::msg)?,
    };
    tracing::info!(tenant = %tenant.id, "downloader ready");
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        downloader::handle(env, event).await
    }))
    .await
}

/// A per-container id from the clock and the process id (no extra dependency).
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{:x}", std::process::id(), nanos)
}
