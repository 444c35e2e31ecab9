//! `zoom-archiver zoom-delete`: delete at Zoom what each tenant with `delete_at_zoom` has
//! sealed, verified and not held (`archiver_core::services::zoom_delete`), with the public
//! keys custody trusts (`custody::trusted_keys`). The `reconcile` command does the same
//! after sealing.

use crate::app::{App, actor};
use anyhow::Result;
use archiver_core::PublicKey;
use archiver_core::TenantConfig;
use archiver_core::services::zoom_delete::{Outcome, Status, ZoomDeleteReport, ZoomDeleter, run};
use std::process::ExitCode;

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Deleted => "deleted",
        Status::Gone => "gone",
        Status::WouldDelete => "would delete",
        Status::Refused => "refused",
        Status::Failed => "FAILED",
        Status::Deferred => "deferred",
    }
}

/// One line of a file: tenant, outcome, source, file id, and why (or Zoom's answer).
pub fn outcome_line(tenant: &str, o: &Outcome) -> String {
    format!(
        "{tenant}  {:<12}  {:<8}  {}  {}",
        status_name(o.status),
        o.source.to_string(),
        o.file_id,
        o.detail
    )
}

/// The summary line of a tenant's run.
pub fn summary(r: &ZoomDeleteReport) -> String {
    let mut line = format!(
        "{}: deleted at Zoom {}, gone already {}, refused {}, failed {}, deferred {}",
        r.tenant,
        r.count(Status::Deleted),
        r.count(Status::Gone),
        r.count(Status::Refused),
        r.count(Status::Failed),
        r.count(Status::Deferred),
    );
    let would = r.count(Status::WouldDelete);
    if would > 0 {
        line.push_str(&format!(", would delete {would}"));
    }
    if r.already_deleted > 0 {
        line.push_str(&format!(" ({} deleted by earlier runs)", r.already_deleted));
    }
    line
}

/// Runs the deletes of `tenants` (one line per file, a summary per tenant). Exit 1 when a
/// delete failed or a run stopped.
pub async fn zoom_delete(
    app: &App,
    tenants: &[TenantConfig],
    keys: Vec<PublicKey>,
    dry_run: bool,
) -> Result<ExitCode> {
    let deleter = ZoomDeleter {
        audit: app.audit.clone(),
        actor: actor(),
        keys,
    };
    let mut bad = false;
    for t in tenants {
        if t.delete_at_zoom.is_off() {
            println!(
                "{}: delete_at_zoom is off: nothing is deleted at Zoom",
                t.id
            );
            continue;
        }
        let Some(zoom) = app.zooms.get(&t.id) else {
            continue;
        };
        let r = run(&app.ports, &deleter, t, zoom.as_ref(), dry_run).await?;
        for o in &r.outcomes {
            println!("{}", outcome_line(t.id.as_str(), o));
        }
        println!("{}", summary(&r));
        if let Some(why) = &r.stopped {
            eprintln!("{}: stopped: {why}", t.id);
            bad = true;
        }
        bad |= r.count(Status::Failed) > 0;
    }
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
