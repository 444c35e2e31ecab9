//! The poller Lambda: on each schedule tick, lists new Zoom recordings of the stack's tenant
//! and enqueues their downloads.
//!
//! Input is either the EventBridge scheduled-event envelope (all of the tenant's sources) or
//! a custom EventBridge Scheduler input `{"source":"phone"}` / `{}` (one source, or all).

use archiver_core::services::poller::{PollOptions, PollReport, Poller};
use archiver_core::{Source, TenantConfig, ZoomApi};
use archiver_lambda::{HandlerError, Stack};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::{Instrument, error, info};

/// What a schedule delivers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PollerInput {
    /// An EventBridge rule's scheduled event.
    Envelope(Box<EventBridgeEvent<serde_json::Value>>),
    /// A scheduler's custom input.
    Custom(CustomInput),
}

/// The custom input of an EventBridge Scheduler target.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomInput {
    /// Only this source (all of the tenant's sources when absent).
    #[serde(default)]
    pub source: Option<Source>,
}

impl PollerInput {
    /// The sources to poll for `tenant`.
    pub fn sources(&self, tenant: &TenantConfig) -> Vec<Source> {
        match self {
            PollerInput::Custom(CustomInput { source: Some(s) }) => vec![*s],
            _ => tenant.sources.clone(),
        }
    }
}

/// What the handler needs, built once per cold start.
pub struct PollerEnv {
    /// The core service.
    pub poller: Poller,
    /// The stack's tenant.
    pub tenant: TenantConfig,
    /// The tenant's Zoom API.
    pub zoom: Arc<dyn ZoomApi>,
    /// Poll options (lease owner, minimum gap).
    pub options: PollOptions,
}

impl PollerEnv {
    /// The function's environment on a deployed stack: the poller over the stack's ports,
    /// its tenant and budgeted Zoom client, this execution environment as lease owner.
    pub fn from_stack(stack: &Stack) -> Self {
        PollerEnv {
            poller: Poller::new(stack.ports.clone(), stack.location.clone()),
            tenant: stack.tenant.clone(),
            zoom: stack.zoom.clone(),
            options: PollOptions {
                owner: stack.instance_id(),
                ..PollOptions::default()
            },
        }
    }
}

/// One source's result, as returned to the invoker.
#[derive(Debug, Serialize)]
pub struct SourceResult {
    /// The source.
    pub source: Source,
    /// The report, when the poll completed.
    pub report: Option<PollReport>,
    /// The error, when it did not.
    pub error: Option<String>,
}

/// Polls the requested sources; fails (so the invocation is counted as an error and
/// alarmed) when any source failed, after trying them all: `Retryable` when every failure
/// may pass, `NonRetryable` for a bad input or a failure that will not.
pub async fn handle(
    env: &PollerEnv,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Vec<SourceResult>, HandlerError> {
    let input: PollerInput = serde_json::from_value(event.payload).map_err(|e| {
        HandlerError::permanent(format!(
            "the poller input is neither a scheduled event nor {{\"source\": ...}}: {e}"
        ))
    })?;
    let sources = input.sources(&env.tenant);
    if let Some(s) = sources.iter().find(|s| !env.tenant.sources.contains(s)) {
        return Err(HandlerError::permanent(format!(
            "source {s} is not configured for tenant {}",
            env.tenant.id
        )));
    }
    let mut all_retryable = true;
    let mut results = Vec::new();
    for source in sources {
        let span = tracing::info_span!("poll", tenant = %env.tenant.id, source = %source, request_id = %event.context.request_id);
        let r = env
            .poller
            .poll(&env.tenant, source, &*env.zoom, &env.options)
            .instrument(span.clone())
            .await;
        let _g = span.enter();
        match r {
            Ok(report) => {
                info!(
                    listed = report.listed,
                    new_files = report.new_files,
                    enqueued = report.enqueued,
                    skipped = report.skipped.as_deref().unwrap_or(""),
                    "poll finished"
                );
                results.push(SourceResult {
                    source,
                    report: Some(report),
                    error: None,
                });
            }
            Err(e) => {
                error!(error = %e, retryable = e.is_retryable(), "poll failed");
                all_retryable &= e.is_retryable();
                results.push(SourceResult {
                    source,
                    report: None,
                    error: Some(e.to_string()),
                });
            }
        }
    }
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.source)))
        .collect();
    if failed.is_empty() {
        Ok(results)
    } else {
        Err(HandlerError {
            message: failed.join("; "),
            retryable: all_retryable,
        })
    }
}
