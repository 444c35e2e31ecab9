//! Poller Lambda entry point: the stack once per cold start, then schedule ticks served by
//! [`poller::handle`], EMF metrics flushed after each ([`archiver_lambda::run`]).

use lambda_runtime::LambdaEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    archiver_lambda::init_tracing("");
    let stack = archiver_lambda::Stack::from_env("poller").await?;
    let env = poller::PollerEnv::from_stack(&stack);
    tracing::info!(tenant = %env.tenant.id, "poller ready");
    let env = &env;
    archiver_lambda::run(move |event: LambdaEvent<serde_json::Value>| async move {
        poller::handle(env, event).await
    })
    .await
}
