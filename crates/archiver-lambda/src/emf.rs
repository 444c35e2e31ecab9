//! Metrics of a function: CloudWatch embedded metric format (EMF) on stdout.
//!
//! [`run`] installs the process-wide `metrics` recorder of `metrics_cloudwatch_embedded`
//! (namespace [`NAMESPACE`]) and flushes it after every invocation, so that a
//! `metrics::counter!("files_archived", "tenant" => t, "source" => s)` made anywhere in the
//! process (the core's services) comes out as one EMF JSON line per label set, which
//! CloudWatch Logs turns into metrics: the labels are the dimensions (`tenant`, or
//! `tenant` and `source`), exactly as the template's alarms and dashboard ask for them.
//! Counters are deltas since the last flush, histograms every value recorded since (at
//! most 100 a flush), gauges the last value set.
//!
//! Each document also carries the properties `function` (`AWS_LAMBDA_FUNCTION_NAME`) and
//! `requestId` (the invocation's): searchable in the logs, not dimensions.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use metrics_cloudwatch_embedded::{Builder, Collector};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;

/// The CloudWatch namespace of every metric (the template's alarms and dashboard use it).
pub const NAMESPACE: &str = "ZoomArchiver";

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the EMF recorder as the process's `metrics` recorder, once; later calls return
/// the same collector. `None` (with a warning) when another recorder was installed first:
/// metrics then go to that one.
pub fn init_metrics() -> Option<&'static Collector> {
    *COLLECTOR.get_or_init(|| {
        // Counters that stayed at 0 are left out of a flush (`emit_zeros(false)`): absent
        // data is what the alarms expect, and every flush would carry every series.
        match Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .emit_zeros(false)
            .init()
        {
            Ok(c) => {
                if let Ok(f) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
                    c.set_property("function", f);
                }
                Some(c)
            }
            Err(e) => {
                tracing::warn!(error = %e, "EMF metrics are off: a metrics recorder is already installed");
                None
            }
        }
    })
}

/// Writes what was recorded since the last flush to `out` as EMF JSON lines (nothing when
/// nothing was recorded, or when the recorder is not ours).
pub fn flush_metrics_to(out: &mut dyn Write) -> std::io::Result<()> {
    match COLLECTOR.get().copied().flatten() {
        Some(c) => {
            let mut buf = Vec::new();
            c.flush(&mut buf)?;
            if !buf.is_empty() {
                out.write_all(&buf)?;
                out.flush()?;
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// [`flush_metrics_to`] stdout, in one write so the lines never interleave with logs. A
/// failed write is logged and otherwise ignored: metrics never fail an invocation.
pub fn flush_metrics() {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if let Err(e) = flush_metrics_to(&mut lock) {
        drop(lock);
        tracing::warn!(error = %e, "writing the EMF metrics failed");
    }
}

/// Serves invocations with `handler` like `lambda_runtime::run`, with the EMF recorder
/// installed ([`init_metrics`]) and flushed to stdout after every invocation, whether the
/// handler succeeded or failed (before the runtime sends the response, so before Lambda
/// freezes the environment).
pub async fn run<A, R, E, F, Fut>(mut handler: F) -> Result<(), lambda_runtime::Error>
where
    A: for<'de> Deserialize<'de>,
    R: Serialize,
    E: Into<Diagnostic> + Debug,
    F: FnMut(LambdaEvent<A>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let collector = init_metrics();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<A>| {
        if let Some(c) = collector {
            c.set_property("requestId", event.context.request_id.clone());
        }
        let invocation = handler(event);
        async move {
            let out = invocation.await;
            flush_metrics();
            out
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The contract with the core's services and the template: a counter recorded anywhere
    /// comes out, on the next flush, as an EMF document in namespace `ZoomArchiver` with its
    /// labels as the one dimension set; a second flush without new data writes nothing.
    /// The strings of a JSON array (or of field `field` of its objects), sorted.
    fn sorted<'v>(v: &'v Value, field: Option<&str>) -> Vec<&'v str> {
        let mut out: Vec<&str> = v
            .as_array()
            .unwrap_or_else(|| panic!("an array: {v}"))
            .iter()
            .map(|x| match field {
                Some(f) => x[f].as_str().unwrap(),
                None => x.as_str().unwrap(),
            })
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn a_recorded_counter_is_flushed_as_an_emf_document() {
        let c = init_metrics().expect("the EMF recorder is the process's recorder");
        assert!(
            std::ptr::eq(c, init_metrics().unwrap()),
            "installed once, the same collector after"
        );
        // A tenant no other test uses: other tests' metrics may be flushed alongside.
        let tenant = "emf-unit-test";
        metrics::counter!("files_archived", "tenant" => tenant, "source" => "phone").increment(2);
        metrics::counter!("files_archived", "tenant" => tenant, "source" => "phone").increment(1);
        metrics::histogram!("download_seconds", "tenant" => tenant, "source" => "phone")
            .record(1.5);
        metrics::counter!("poll_succeeded", "tenant" => tenant).increment(1);

        let mut out = Vec::new();
        flush_metrics_to(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let docs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .filter(|d: &Value| d["tenant"] == tenant)
            .collect();
        assert_eq!(docs.len(), 2, "one document per label set: {text}");

        let by_source = docs
            .iter()
            .find(|d| d["source"] == "phone")
            .expect("the tenant+source document");
        let spec = &by_source["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], NAMESPACE);
        // One dimension set: the labels (CloudWatch ignores their order).
        assert_eq!(spec["Dimensions"].as_array().unwrap().len(), 1, "{spec}");
        assert_eq!(sorted(&spec["Dimensions"][0], None), ["source", "tenant"]);
        assert_eq!(
            sorted(&spec["Metrics"], Some("Name")),
            ["download_seconds", "files_archived"]
        );
        assert_eq!(by_source["files_archived"], 3);
        assert_eq!(by_source["download_seconds"], serde_json::json!([1.5]));
        assert!(by_source["_aws"]["Timestamp"].as_u64().unwrap() > 0);

        let tenant_only = docs
            .iter()
            .find(|d| d.get("source").is_none())
            .expect("the tenant-only document");
        let spec = &tenant_only["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], NAMESPACE);
        assert_eq!(spec["Dimensions"], serde_json::json!([["tenant"]]));
        assert_eq!(spec["Metrics"][0]["Name"], "poll_succeeded");
        assert_eq!(tenant_only["poll_succeeded"], 1);

        // Counters are deltas: nothing new, nothing of this tenant written.
        let mut again = Vec::new();
        flush_metrics_to(&mut again).unwrap();
        let again = String::from_utf8(again).unwrap();
        assert!(!again.contains(tenant), "{again}");
    }
}
