//! Downloader Lambda entry point: the stack once per cold start, then SQS batches served by
//! [`downloader::handle`].

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    archiver_lambda::init_tracing(archiver_media::QUIET_DECODERS);
    let stack = archiver_lambda::Stack::from_env("downloader").await?;
    let env = downloader::DownloaderEnv::from_stack(&stack)?;
    tracing::info!(tenant = %stack.tenant.id, "downloader ready");
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        downloader::handle(env, event).await
    }))
    .await
}
