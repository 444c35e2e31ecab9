//! The downloader's `create` entries in the audit trail: one per archived file, naming the
//! object key and its SHA-256, in one chain that verifies; when the audit log fails, the
//! files are archived all the same and the failures counted.

use archiver_core::services::audit::verify_chain;
use archiver_core::{AuditAction, AuditEntry, AuditLog, FileState, MetaError, TenantId};
use archiver_e2e::{Harness, HarnessOptions};
use archiver_testkit::MemAuditLog;
use async_trait::async_trait;
use chrono::Utc;
use std::sync::Arc;
use zoom_sim::{Scenario, SimClock};

async fn demo() -> Harness {
    let now = Utc::now();
    Harness::start(
        Scenario::demo(now),
        SimClock::manual(now),
        HarnessOptions::default(),
    )
    .await
}

#[tokio::test]
async fn every_archived_file_is_a_create_entry_of_its_tenants_chain() {
    let mut h = demo().await;
    let log = MemAuditLog::new();
    h.downloader = h
        .downloader
        .clone()
        .with_audit(Arc::new(log.clone()), "test-host:downloader");
    h.cycle().await;
    let archived: Vec<_> = h
        .files()
        .await
        .into_iter()
        .filter_map(|f| match &f.state {
            FileState::Archived { sha256, .. } => Some((f.object_key.to_string(), sha256.clone())),
            _ => None,
        })
        .collect();
    assert!(archived.len() > 5, "{archived:?}");
    let entries = log.entries(&h.tenant.id);
    assert_eq!(entries.len(), archived.len(), "one entry per archived file");
    for (key, sha) in &archived {
        let e = entries
            .iter()
            .find(|e| e.draft.objects == [key.clone()])
            .unwrap_or_else(|| panic!("no entry for {key}"));
        assert_eq!(e.draft.action, AuditAction::Create);
        assert_eq!(e.draft.actor, "test-host:downloader");
        assert_eq!(e.draft.result, "ok");
        let reason = e.draft.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(&format!("sha256={sha}")), "{reason}");
    }
    let c = verify_chain(&log, &h.tenant.id, None).await.unwrap();
    assert!(c.intact() && c.checked == archived.len() as u64, "{c:?}");
    // A second cycle archives nothing new and records nothing.
    h.cycle().await;
    assert_eq!(log.entries(&h.tenant.id).len(), archived.len());
}

/// An audit log whose every call fails.
struct Broken;

#[async_trait]
impl AuditLog for Broken {
    async fn try_append(&self, _: &AuditEntry) -> Result<bool, MetaError> {
        Err(MetaError::Backend {
            what: "PutItem audit".into(),
            source: "throttled".into(),
            retryable: true,
        })
    }
    async fn head(&self, _: &TenantId) -> Result<Option<AuditEntry>, MetaError> {
        Ok(None)
    }
    async fn list(&self, _: &TenantId, _: u64, _: usize) -> Result<Vec<AuditEntry>, MetaError> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_failing_audit_log_archives_all_the_same_and_counts_the_failures() {
    let mut h = demo().await;
    h.downloader = h
        .downloader
        .clone()
        .with_audit(Arc::new(Broken), "test-host:downloader");
    let (_, drained) = h.cycle().await;
    assert!(drained.dead.is_empty(), "{:?}", drained.dead);
    let archived = h
        .files()
        .await
        .iter()
        .filter(|f| matches!(f.state, FileState::Archived { .. }))
        .count();
    assert!(archived > 5);
    assert_eq!(h.downloader.audit_failures(), archived as u64);
    h.assert_archive_faithful().await;
}
