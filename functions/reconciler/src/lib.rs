//! The reconciler Lambda: on its schedule, will find conversations of configured users that
//! have no archived media and record them as failed recordings. Only the wiring exists so
//! far: the handler logs that reconciliation is not implemented yet and succeeds.

use archiver_core::{Ports, TenantConfig};
use lambda_runtime::{Error, LambdaEvent};
use tracing::info;

/// What the handler needs, built once per cold start.
pub struct ReconcilerEnv {
    /// The adapters.
    pub ports: Ports,
    /// The stack's tenant.
    pub tenant: TenantConfig,
}

/// Handles a schedule tick (any JSON input).
pub async fn handle(
    env: &ReconcilerEnv,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let _ = &env.ports;
    info!(tenant = %env.tenant.id, request_id = %event.context.request_id, "reconciliation not implemented yet");
    Ok(serde_json::json!({"tenant": env.tenant.id.as_str(), "reconciled": false}))
}
