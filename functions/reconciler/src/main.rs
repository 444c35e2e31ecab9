//! Reconciler Lambda entry point: the stack once per cold start, then schedule ticks served
//! by [`reconciler::handle`].

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    archiver_lambda::init_tracing("");
    let stack = archiver_lambda::Stack::from_env("reconciler").await?;
    let env = reconciler::ReconcilerEnv::from_stack(&stack);
    tracing::info!(tenant = %env.tenant.id, "reconciler ready");
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        reconciler::handle(env, event).await
    }))
    .await
}
