//! Poller Lambda entry point: builds the adapters and the Zoom client once, then serves
//! schedule ticks with [`poller::handle`].

use anyhow::Context as _;
use archiver_aws::stack::{load_tenant_config, settings_from_env, zoom_credentials};
use archiver_core::services::poller::{PollOptions, Poller};
use archiver_core::{Clock, SystemClock};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use poller::PollerEnv;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
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
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "poller".into());
    let location = format!("aws-lambda:{function}:{}", settings.region);
    let options = PollOptions {
        owner: format!("{function}-{}", std::process::id()),
        ..PollOptions::default()
    };
    let env = PollerEnv {
        poller: Poller::new(aws.ports(clock), location),
        tenant,
        zoom: Arc::new(zoom),
        options,
    };
    tracing::info!(tenant = %env.tenant.id, "poller ready");
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move { poller::handle(env, event).await })).await
}
