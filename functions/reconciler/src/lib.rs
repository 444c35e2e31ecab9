//! The reconciler Lambda: on its schedule, finds calls and meetings of the stack's
//! configured users that have no archived recording, writes "recording failed" CDRs
//! (`archiver_core::services::reconcile`), and stores each day's report as JSON in the
//! bucket (`{tenant}/reports/reconcile/{day}/{time}.json`). With the stack's manifest key
//! (`MANIFEST_KMS_KEY_ID`), each day that became final is then sealed: its manifest signed
//! by KMS and stored at `{tenant}/manifests/{day}.json`, a `seal` entry in the audit trail
//! (`archiver_core::services::manifest`); a day that could not be sealed makes the
//! invocation fail retryably (it is sealed by the next run).
//!
//! Input: any JSON (the EventBridge schedule event reconciles every due day); `{"day":
//! "YYYY-MM-DD"}` reconciles that UTC day only; `{"verify": {"sample": N}}` (the monthly
//! fixity schedule) reads back a random sample of N stored objects and checks their size
//! and SHA-256 (`archiver_core::services::verify`): each mismatch is logged with its key
//! and counted in the `verify_mismatches` metric, which the stack's alarm watches. A day deferred by the daily budget stays
//! open and is done by a later tick after 00:00 UTC; the handler still succeeds (nothing
//! is lost, and a Lambda retry would only spend more budget). The sample's results are
//! kept on each file checked (`last_verified`).
//!
//! A tenant with `delete_at_zoom` then has, after sealing, what the guards allow deleted at
//! Zoom (`archiver_core::services::zoom_delete`: sealed, listed in a manifest signed by
//! the stack's key, verified intact since, no legal hold), each deletion a `delete` entry
//! of the audit trail with Zoom's answer; the output's `zoom_deletes` counts them. Zoom's
//! errors are retried by the next run; an audit trail or metadata store that fails makes
//! the invocation fail retryably.

use archiver_core::services::manifest::Custody;
use archiver_core::services::reconcile::Reconciler;
use archiver_core::services::zoom_delete::{Status, ZoomDeleter};
use archiver_core::{TenantConfig, ZoomApi};
use archiver_lambda::{HandlerError, Stack};
use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use tracing::{info, warn};

/// What the handler needs, built once per cold start.
pub struct ReconcilerEnv {
    /// The reconciler (it stores each day's report in the stack's bucket).
    pub reconciler: Reconciler,
    /// The stack's tenant.
    pub tenant: TenantConfig,
    /// The tenant's (budgeted) Zoom client.
    pub zoom: Arc<dyn ZoomApi>,
}

impl ReconcilerEnv {
    /// The function's environment on a deployed stack.
    pub fn from_stack(stack: &Stack) -> Self {
        let mut reconciler = Reconciler::new(stack.ports.clone(), stack.location.clone())
            // Only for a tenant with delete_at_zoom; the signer's key is the trusted one.
            .with_zoom_delete(ZoomDeleter {
                audit: stack.aws.audit.clone(),
                actor: stack.location.clone(),
                keys: Vec::new(),
            });
        match &stack.aws.signer {
            Some(signer) => {
                reconciler = reconciler.with_custody(Custody {
                    signer: signer.clone(),
                    audit: stack.aws.audit.clone(),
                    actor: stack.location.clone(),
                })
            }
            None => warn!("MANIFEST_KMS_KEY_ID is not set: final days are not sealed"),
        }
        ReconcilerEnv {
            reconciler,
            tenant: stack.tenant.clone(),
            zoom: stack.zoom.clone(),
        }
    }
}

/// Handles a schedule tick (or `{"day": "YYYY-MM-DD"}`). A bad input is `NonRetryable`; a
/// report that could not be stored is `Retryable` (the days stay reconciled; a rerun
/// stores a new report).
pub async fn handle(
    env: &ReconcilerEnv,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
    if let Some(v) = event.payload.get("verify") {
        return verify(env, v, &event.context.request_id).await;
    }
    let day = match event.payload.get("day").and_then(|d| d.as_str()) {
        Some(d) => Some(d.parse::<chrono::NaiveDate>().map_err(|e| {
            HandlerError::permanent(format!("input field day {d:?} is not YYYY-MM-DD: {e}"))
        })?),
        None => None,
    };
    let t = &env.tenant;
    let run = env.reconciler.run(t, env.zoom.as_ref(), day).await;
    if let Some(e) = &run.stopped {
        warn!(tenant = %t.id, error = %e, "reconciliation stopped; the day stays open");
    }
    if !run.store_failures.is_empty()
        || !run.seal_failures.is_empty()
        || run.zoom_delete_failure.is_some()
        || run.disposal_failure.is_some()
    {
        let mut all = run.store_failures.clone();
        all.extend(run.seal_failures.iter().cloned());
        all.extend(run.zoom_delete_failure.iter().cloned());
        all.extend(run.disposal_failure.iter().cloned());
        return Err(HandlerError::retryable(all.join("; ")));
    }
    let zoom_deletes = run.zoom_deletes.as_ref().map(|r| {
        for o in &r.outcomes {
            if o.status == Status::Failed {
                warn!(tenant = %t.id, file_id = %o.file_id, detail = %o.detail, "delete at Zoom failed; tried again next run");
            }
        }
        serde_json::json!({
            "deleted": r.count(Status::Deleted),
            "gone": r.count(Status::Gone),
            "refused": r.count(Status::Refused),
            "failed": r.count(Status::Failed),
            "deferred": r.count(Status::Deferred),
            "stopped": r.stopped,
        })
    });
    info!(tenant = %t.id, request_id = %event.context.request_id, days = run.days.len(), "reconciled");
    Ok(serde_json::json!({
        "tenant": t.id.as_str(),
        "reports": run.report_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "days": run.days,
        "seals": run.seals,
        "zoom_deletes": zoom_deletes,
        "disposals": run.disposals,
        "stopped": run.stopped.map(|e| e.to_string()),
    }))
}

/// The monthly fixity sample (`{"verify": {"sample": N}}`; without `sample`, every object).
async fn verify(
    env: &ReconcilerEnv,
    input: &serde_json::Value,
    request_id: &str,
) -> Result<serde_json::Value, HandlerError> {
    use archiver_core::services::verify::{VerifyOptions, verify};
    let sample = match input.get("sample") {
        None | Some(serde_json::Value::Null) => None,
        Some(n) => Some(n.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            HandlerError::permanent(format!(
                "input field verify.sample {n} is not a positive whole number"
            ))
        })? as usize),
    };
    let t = &env.tenant;
    let opts = VerifyOptions {
        sample,
        record: true,
        ..VerifyOptions::default()
    };
    let report = verify(
        env.reconciler.ports(),
        std::slice::from_ref(&t.id),
        &opts,
        None,
    )
    .await
    .map_err(|e| HandlerError::retryable(format!("verify: {e}")))?;
    for f in &report.findings {
        tracing::error!(tenant = %t.id, key = %f.key, problem = ?f.problem, "fixity: object not intact");
    }
    info!(tenant = %t.id, request_id = %request_id, checked = report.checked, mismatches = report.findings.len(), "verified");
    Ok(serde_json::json!({
        "tenant": t.id.as_str(),
        "verify": report,
    }))
}
