//! `run --listen`: `/metrics` (Prometheus text) and `/healthz` for the long-running
//! process.
//!
//! The services record their metrics through the `metrics` facade (names and labels in
//! `archiver_core::metrics`); here a Prometheus recorder is installed and rendered on
//! request. `/healthz` answers `ok` while the process runs.

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use std::net::SocketAddr;

/// Installs the Prometheus recorder and serves `/metrics` and `/healthz` on `addr` in the
/// background. Fails when the address cannot be bound or a recorder is already installed.
pub async fn metrics(addr: SocketAddr) -> Result<SocketAddr> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let h = handle.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], h.render()) }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--listen {addr}: cannot bind"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
    eprintln!("serving /metrics and /healthz on http://{bound}");
    Ok(bound)
}
