//! Reconciler Lambda entry point: the stack once per cold start, then schedule ticks served
//! by [`reconciler::handle`].

use lambda_runtime::LambdaEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    archiver_lambda::init_tracing("");
    let stack = archiver_lambda::Stack::from_env("reconciler").await?;
    let env = reconciler::ReconcilerEnv::from_stack(&stack);
    tracing::info!(tenant = %env.tenant.id, "reconciler ready");
    let env = &env;
    // Through the shared edge: the EMF metrics (`verify_mismatches` for the fixity alarm)
    // are flushed after every invocation.
    archiver_lambda::run(move |event: LambdaEvent<serde_json::Value>| async move {
        reconciler::handle(env, event).await
    })
    .await
}
