//! Reconciler Lambda entry point: builds the adapters once and serves schedule ticks with
//! [`reconciler::handle`].

use archiver_aws::stack::{load_tenant_config, settings_from_env};
use archiver_core::{Clock, SystemClock};
use lambda_runtime::{LambdaEvent, service_fn};
use reconciler::ReconcilerEnv;
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
    let env = ReconcilerEnv {
        ports: aws.ports(clock),
        tenant,
    };
    tracing::info!(tenant = %env.tenant.id, "reconciler ready");
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move { reconciler::handle(env, event).await })).await
}
