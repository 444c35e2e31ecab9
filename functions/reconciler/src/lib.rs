//! The reconciler Lambda: on its schedule, finds calls and meetings of the stack's
//! configured users that have no archived recording, writes "recording failed" CDRs
//! (`archiver_core::services::reconcile`), and stores each day's report as JSON in the
//! bucket (`{tenant}/reports/reconcile/{day}/{time}.json`).
//!
//! Input: any JSON (the EventBridge schedule event reconciles every due day); `{"day":
//! "YYYY-MM-DD"}` reconciles that UTC day only. A day deferred by the daily budget stays
//! open and is done by a later tick after 00:00 UTC; the handler still succeeds (nothing
//! is lost, and a Lambda retry would only spend more budget).

use archiver_core::services::reconcile::{DayReport, Reconciler, store_report};
use archiver_core::{BlobStore, TenantConfig, ZoomApi};
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use tracing::{info, warn};

/// What the handler needs, built once per cold start.
pub struct ReconcilerEnv {
    /// The reconciler.
    pub reconciler: Reconciler,
    /// Where reports go.
    pub blobs: Arc<dyn BlobStore>,
    /// The stack's tenant.
    pub tenant: TenantConfig,
    /// The tenant's (budgeted) Zoom client.
    pub zoom: Arc<dyn ZoomApi>,
}

/// Handles a schedule tick (or `{"day": "YYYY-MM-DD"}`).
pub async fn handle(
    env: &ReconcilerEnv,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let day =
        match event.payload.get("day").and_then(|d| d.as_str()) {
            Some(d) => Some(d.parse::<chrono::NaiveDate>().map_err(|e| {
                Error::from(format!("input field day {d:?} is not YYYY-MM-DD: {e}"))
            })?),
            None => None,
        };
    let t = &env.tenant;
    let result = match day {
        Some(d) => env
            .reconciler
            .reconcile_day(t, env.zoom.as_ref(), d)
            .await
            .map(|r| vec![r])
            .map_err(|e| (Vec::new(), e)),
        None => env.reconciler.reconcile_due(t, env.zoom.as_ref()).await,
    };
    let (done, deferred): (Vec<DayReport>, Option<String>) = match result {
        Ok(v) => (v, None),
        Err((v, e)) => {
            warn!(tenant = %t.id, error = %e, "reconciliation stopped; the day stays open");
            (v, Some(e.to_string()))
        }
    };
    let mut keys = Vec::new();
    for r in &done {
        let key = store_report(env.blobs.as_ref(), &t.id, r)
            .await
            .map_err(|e| Error::from(format!("storing the report of {}: {e}", r.day)))?;
        keys.push(key.to_string());
    }
    info!(tenant = %t.id, request_id = %event.context.request_id, days = done.len(), "reconciled");
    Ok(serde_json::json!({
        "tenant": t.id.as_str(),
        "reports": keys,
        "days": done,
        "stopped": deferred,
    }))
}
