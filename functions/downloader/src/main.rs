//! Downloader Lambda entry point: the stack once per cold start, then SQS batches served by
//! [`downloader::handle`], EMF metrics flushed after each ([`archiver_lambda::run`]).

use lambda_runtime::LambdaEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    archiver_lambda::init_tracing(archiver_media::QUIET_DECODERS);
    let stack = archiver_lambda::Stack::from_env("downloader").await?;
    let env = downloader::DownloaderEnv::from_stack(&stack)?;
    tracing::info!(tenant = %stack.tenant.id, "downloader ready");
    let env = &env;
    archiver_lambda::run(move |event: LambdaEvent<_>| async move {
        downloader::handle(env, event).await
    })
    .await
}
