//! Custody on the embedded default with a simulated clock: the reconciler seals each final
//! day into a signed manifest chained to the day before and to the audit trail; sealing
//! again changes nothing; `verify_day` passes, then names each tamper (an object's byte, a
//! manifest line, the previous day's manifest, the signature, an untrusted key, an audit
//! entry altered or deleted); a CDR changed after the seal is a finding until an addendum
//! lists it; an object's inclusion proof verifies; a signer that fails leaves the days to
//! the next run.

use archiver_core::domain::manifest::{Line, ManifestDoc, manifest_key};
use archiver_core::domain::merkle;
use archiver_core::services::manifest::{
    Check, Custody, DayCheck, ReadOptions, SealMode, SealStatus, inclusion_proof, seal, verify_day,
};
use archiver_core::services::reconcile::Reconciler;
use archiver_core::{AuditAction, TenantConfig};
use archiver_e2e::{Backend, Harness, HarnessOptions};
use archiver_testkit::{MemAuditLog, MemSigner};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use zoom_sim::{Scenario, SimClock, SimServer};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn tenant(sim: &SimServer) -> TenantConfig {
    serde_json::from_value(serde_json::json!({
        "id": "acme",
        "account_id": "golden-account",
        "client_id": "golden-client",
        "client_secret": "golden-secret",
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "initial_lookback": "3d",
        "reconcile_grace": "1h",
        "users": [
            {"email": "alice@acme.example", "extension": "1001", "mode": "voice"},
            {"email": "bob@acme.example", "extension": "1002", "mode": "video"},
            {"email": "carol@acme.example", "extension": "1003", "mode": "voice"},
        ],
    }))
    .unwrap()
}

struct World {
    h: Harness,
    audit: MemAuditLog,
    signer: MemSigner,
    custody: Custody,
}

impl World {
    async fn start() -> World {
        Self::start_with(|_| {}).await
    }

    /// A world whose tenant is changed by `f` before anything is archived.
    async fn start_with(f: impl FnOnce(&mut TenantConfig)) -> World {
        let now = t("2026-11-20T12:00:00Z");
        let sim = SimServer::start_with_clock(Scenario::golden(now), SimClock::manual(now))
            .await
            .unwrap();
        let mut tenant = tenant(&sim);
        f(&mut tenant);
        let h = Harness::with_tenant(
            sim,
            tenant,
            HarnessOptions {
                backend: Backend::Local,
                ..HarnessOptions::default()
            },
        )
        .await;
        h.cycle().await;
        h.cycle().await;
        let audit = MemAuditLog::new();
        let signer = MemSigner::ed25519(7);
        let custody = Custody {
            signer: Arc::new(signer.clone()),
            audit: Arc::new(audit.clone()),
            actor: "custody-test".into(),
        };
        World {
            h,
            audit,
            signer,
            custody,
        }
    }

    fn reconciler(&self) -> Reconciler {
        Reconciler::new(self.h.ports.clone(), "test-host").with_custody(self.custody.clone())
    }

    async fn verify(&self, day: &str) -> DayCheck {
        self.verify_with(day, &[self.signer.public()]).await
    }

    async fn verify_with(&self, day: &str, keys: &[archiver_core::PublicKey]) -> DayCheck {
        verify_day(
            &self.h.ports,
            &self.audit,
            keys,
            &self.h.tenant.id,
            d(day),
            &ReadOptions::default(),
        )
        .await
        .unwrap()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.h.dir.path().join("objects").join(key)
    }

    fn manifest_path(&self, day: &str, part: u32) -> PathBuf {
        self.path(manifest_key(&self.h.tenant.id, d(day), part).as_str())
    }

    fn doc(&self, day: &str, part: u32) -> ManifestDoc {
        serde_json::from_slice(&std::fs::read(self.manifest_path(day, part)).unwrap()).unwrap()
    }

    /// Rewrites a stored file as an intruder would (making it writable first).
    fn rewrite(&self, p: &PathBuf, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let before = std::fs::read(p).unwrap();
        let mut perm = std::fs::metadata(p).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(p, perm).unwrap();
        let mut b = before.clone();
        f(&mut b);
        std::fs::write(p, &b).unwrap();
        before
    }
}

fn only(c: &DayCheck, check: Check) -> Vec<String> {
    assert!(
        c.findings.iter().all(|f| f.check == check),
        "only {check:?} findings expected: {:#?}",
        c.findings
    );
    assert!(!c.findings.is_empty(), "a {check:?} finding expected");
    c.findings.iter().map(|f| f.subject.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_final_day_is_sealed_chained_verified_and_every_tamper_is_named() {
    let w = World::start().await;
    let tenant = w.h.tenant.id.clone();
    // A signer that fails leaves the days unsealed, for the next run.
    w.signer.fail(true);
    let run = w
        .reconciler()
        .run(&w.h.tenant, w.h.zoom.as_ref(), None)
        .await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    assert_eq!(run.seal_failures.len(), 3, "{:?}", run.seal_failures);
    assert!(run.seals.is_empty());
    w.signer.fail(false);
    let run = w
        .reconciler()
        .run(&w.h.tenant, w.h.zoom.as_ref(), None)
        .await;
    assert!(run.seal_failures.is_empty(), "{:?}", run.seal_failures);
    let sealed: Vec<(NaiveDate, SealStatus)> =
        run.seals.iter().map(|o| (o.day, o.status)).collect();
    assert_eq!(
        sealed,
        vec![
            (d("2026-11-17"), SealStatus::Sealed),
            (d("2026-11-18"), SealStatus::Sealed),
            (d("2026-11-19"), SealStatus::Sealed)
        ]
    );
    let day19 = run.seals.iter().find(|o| o.day == d("2026-11-19")).unwrap();
    assert!(day19.objects >= 10 && day19.cdrs >= 8, "{day19:?}");
    // One seal entry per manifest, naming it.
    let seals: Vec<_> = w
        .audit
        .entries(&tenant)
        .into_iter()
        .filter(|e| e.draft.action == AuditAction::Seal)
        .collect();
    assert_eq!(seals.len(), 3);
    assert_eq!(
        seals[2].draft.objects,
        vec!["acme/manifests/2026-11-19.json"]
    );
    // The chain of days: 17 starts it, 18 and 19 name the day before by its bytes' hash.
    let prev = |day: &str| match Line::parse(&w.doc(day, 0).lines[1]).unwrap() {
        Line::Prev { key, hash, .. } => (key, hash),
        l => panic!("{l:?}"),
    };
    assert_eq!(prev("2026-11-17"), (None, "GENESIS".to_string()));
    let bytes18 = std::fs::read(w.manifest_path("2026-11-18", 0)).unwrap();
    assert_eq!(
        prev("2026-11-19"),
        (
            Some("acme/manifests/2026-11-18.json".to_string()),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes18))
        )
    );
    // The seal of 19 records the audit head of its time: the seal entry of 18.
    match Line::parse(&w.doc("2026-11-19", 0).lines[2]).unwrap() {
        Line::AuditHead { seq, hash } => {
            assert_eq!((seq, hash), (seals[1].seq, seals[1].hash.clone()))
        }
        l => panic!("{l:?}"),
    }
    for day in ["2026-11-17", "2026-11-18", "2026-11-19"] {
        let c = w.verify(day).await;
        assert!(c.intact(), "{day}: {:#?}", c.findings);
    }
    let c = w.verify("2026-11-19").await;
    assert_eq!(c.objects as usize, day19.objects);
    assert_eq!(c.cdrs as usize, day19.cdrs);
    assert!(c.bytes > 0);
    // Idempotent: sealing again reports it and writes nothing.
    let before = std::fs::read(w.manifest_path("2026-11-19", 0)).unwrap();
    let n = w.audit.entries(&tenant).len();
    let again = seal(
        &w.h.ports,
        &w.custody,
        &w.h.tenant,
        d("2026-11-19"),
        SealMode::Seal,
    )
    .await
    .unwrap();
    assert_eq!(again.status, SealStatus::AlreadySealed);
    assert_eq!(
        std::fs::read(w.manifest_path("2026-11-19", 0)).unwrap(),
        before
    );
    assert_eq!(w.audit.entries(&tenant).len(), n);
    let run = w
        .reconciler()
        .run(&w.h.tenant, w.h.zoom.as_ref(), None)
        .await;
    assert!(run.seals.is_empty() && run.seal_failures.is_empty());
    // A day not final yet is refused.
    let e = seal(
        &w.h.ports,
        &w.custody,
        &w.h.tenant,
        d("2026-11-20"),
        SealMode::Seal,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("not final"), "{e}");

    // The inclusion proof of one recording.
    let doc = w.doc("2026-11-19", 0);
    let object_key = doc
        .lines
        .iter()
        .find_map(|l| match Line::parse(l).unwrap() {
            Line::Object { key, .. } if key.ends_with(".mp3") => Some(key),
            _ => None,
        })
        .unwrap();
    let p = inclusion_proof(&w.h.ports, &[w.signer.public()], &tenant, &object_key)
        .await
        .unwrap();
    assert!(p.verifies(), "{p:#?}");
    assert_eq!(p.manifest, "acme/manifests/2026-11-19.json");
    assert_eq!(p.tree_size as usize, doc.lines.len());
    let h = |s: &str| -> merkle::Hash { hex::decode(s).unwrap().try_into().unwrap() };
    let path: Vec<merkle::Hash> = p.path.iter().map(|s| h(s)).collect();
    assert!(merkle::verify_inclusion(
        p.leaf_index,
        p.tree_size,
        &merkle::leaf_hash(p.line.as_bytes()),
        &path,
        &h(&p.root)
    ));

    // 1. One byte of a stored object flipped.
    let obj = w.path(&object_key);
    let original = w.rewrite(&obj, |b| {
        let i = b.len() / 2;
        b[i] ^= 1;
    });
    let c = w.verify("2026-11-19").await;
    assert_eq!(only(&c, Check::Object), vec![object_key.clone()]);
    let p = inclusion_proof(&w.h.ports, &[w.signer.public()], &tenant, &object_key)
        .await
        .unwrap();
    assert!(p.path_verifies && !p.verifies(), "{p:#?}");
    std::fs::write(&obj, &original).unwrap();
    assert!(w.verify("2026-11-19").await.intact());

    // 2. One manifest line edited (a CDR's digest): the root no longer holds.
    let m19 = w.manifest_path("2026-11-19", 0);
    let cdr_line = doc
        .lines
        .iter()
        .rposition(|l| l.contains(r#""t":"cdr""#))
        .unwrap();
    let original = w.rewrite(&m19, |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        let line = serde_json::to_string(&doc.lines[cdr_line]).unwrap();
        let at = text.find(&line).unwrap() + line.find("sha256").unwrap() + 13;
        b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    });
    let c = w.verify("2026-11-19").await;
    let checks: Vec<Check> = c.findings.iter().map(|f| f.check).collect();
    assert!(checks.contains(&Check::Root), "{:#?}", c.findings);
    assert!(
        c.findings
            .iter()
            .all(|f| matches!(f.check, Check::Root | Check::Cdr)),
        "{:#?}",
        c.findings
    );
    std::fs::write(&m19, &original).unwrap();
    assert!(w.verify("2026-11-19").await.intact());

    // The previous day's manifest edited: that day's root, and the next day's link.
    let m18 = w.manifest_path("2026-11-18", 0);
    let original = w.rewrite(&m18, |b| {
        let text = String::from_utf8(b.clone()).unwrap().replacen(
            r#"\"t\":\"day\""#,
            r#"\"t\":\"day\" "#,
            1,
        );
        *b = text.into_bytes();
    });
    assert_eq!(
        only(&w.verify("2026-11-19").await, Check::Prev),
        vec!["acme/manifests/2026-11-19.json"]
    );
    let c18 = w.verify("2026-11-18").await;
    assert!(
        c18.findings.iter().any(|f| f.check == Check::Root),
        "{:#?}",
        c18.findings
    );
    std::fs::write(&m18, &original).unwrap();

    // 3. The signature replaced: by another key's under the same name, then by an
    // untrusted key's.
    let other = MemSigner::ed25519(8);
    let forged =
        archiver_core::ManifestSigner::sign(&other, &archiver_core::signed_message(&doc.root))
            .await
            .unwrap();
    let original = w.rewrite(&m19, |b| {
        let text = String::from_utf8(b.clone())
            .unwrap()
            .replace(&doc.signature.value, &forged.value);
        *b = text.into_bytes();
    });
    let c = w.verify("2026-11-19").await;
    assert_eq!(
        only(&c, Check::Signature),
        vec!["acme/manifests/2026-11-19.json"]
    );
    assert!(
        c.findings[0].problem.contains("does not verify"),
        "{:#?}",
        c.findings
    );
    std::fs::write(&m19, &original).unwrap();
    let c = w.verify_with("2026-11-19", &[other.public()]).await;
    assert!(
        c.findings[0].problem.contains("not a trusted public key"),
        "{:#?}",
        c.findings
    );
    assert!(w.verify("2026-11-19").await.intact());

    // 4. A CDR changed after the seal: a finding until an addendum lists it.
    let cdr =
        w.h.cdrs()
            .await
            .into_iter()
            .find(|c| c.media.iter().any(|m| m.key.contains("/2026/11/19/")));
    let mut cdr = cdr.unwrap();
    cdr.user = format!("{} (renamed)", cdr.user);
    w.h.ports.meta.update_cdr(&cdr).await.unwrap();
    assert_eq!(
        only(&w.verify("2026-11-19").await, Check::Cdr),
        vec![cdr.cdr_id.clone()]
    );
    let add = seal(
        &w.h.ports,
        &w.custody,
        &w.h.tenant,
        d("2026-11-19"),
        SealMode::Seal,
    )
    .await
    .unwrap();
    assert_eq!(
        (add.status, add.part, add.cdrs, add.objects),
        (SealStatus::Addendum, Some(1), 1, 0)
    );
    assert_eq!(add.key.as_deref(), Some("acme/manifests/2026-11-19.1.json"));
    let c = w.verify("2026-11-19").await;
    assert!(c.intact(), "{:#?}", c.findings);
    assert_eq!(c.manifests.len(), 2);
    let again = seal(
        &w.h.ports,
        &w.custody,
        &w.h.tenant,
        d("2026-11-19"),
        SealMode::Seal,
    )
    .await
    .unwrap();
    assert_eq!(again.status, SealStatus::AlreadySealed);
    // The sealed manifest itself is unchanged.
    assert_eq!(std::fs::read(&m19).unwrap(), before);

    // A disposal past retention recorded in the audit trail: the object is gone, the day
    // says so, and it is not a problem.
    std::fs::remove_file(&obj).unwrap();
    assert_eq!(
        only(&w.verify("2026-11-19").await, Check::Object),
        vec![object_key.clone()]
    );
    archiver_core::services::audit::record(
        &w.audit,
        archiver_core::AuditDraft {
            tenant: tenant.clone(),
            at: t("2026-11-20T12:30:00Z"),
            actor: "custody-test".into(),
            action: AuditAction::Dispose,
            objects: vec![object_key.clone()],
            reason: Some("past retention".into()),
            result: "disposed".into(),
        },
    )
    .await
    .unwrap();
    let c = w.verify("2026-11-19").await;
    assert!(c.intact(), "{:#?}", c.findings);
    assert_eq!(c.disposed, 1);

    // 5. An audit entry altered, then one deleted.
    let first = w.audit.entries(&tenant)[0].clone();
    assert!(
        w.audit
            .tamper(&tenant, first.seq, |e| e.draft.actor = "mallory".into())
    );
    let c = w.verify("2026-11-19").await;
    assert_eq!(only(&c, Check::Audit), vec!["acme audit chain"]);
    assert!(
        c.findings[0].problem.contains("altered"),
        "{:#?}",
        c.findings
    );
    assert!(w.audit.tamper(&tenant, first.seq, |e| e.draft.actor =
        first.draft.actor.clone()));
    assert!(w.verify("2026-11-19").await.intact());
    assert!(w.audit.remove(&tenant, 2));
    let c = w.verify("2026-11-19").await;
    assert_eq!(only(&c, Check::Audit), vec!["acme audit chain"]);
    assert!(
        c.findings[0].problem.contains("missing"),
        "{:#?}",
        c.findings
    );
}

/// ECDSA P-256 (as KMS signs) through the same seal and check; an unsealed day is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_signatures_seal_and_verify_and_an_unsealed_day_is_a_finding() {
    let mut w = World::start().await;
    w.signer = MemSigner::ecdsa_p256(5);
    w.custody.signer = Arc::new(w.signer.clone());
    let c = w.verify("2026-11-19").await;
    assert_eq!(
        only(&c, Check::Manifest),
        vec!["acme/manifests/2026-11-19.json"]
    );
    let run = w
        .reconciler()
        .run(&w.h.tenant, w.h.zoom.as_ref(), Some(d("2026-11-19")))
        .await;
    assert!(run.seal_failures.is_empty(), "{:?}", run.seal_failures);
    assert!(
        run.seals
            .iter()
            .any(|o| o.day == d("2026-11-19") && o.status == SealStatus::Sealed)
    );
    assert_eq!(
        w.doc("2026-11-19", 0).signature.algorithm,
        archiver_core::SignatureAlgorithm::EcdsaP256Sha256
    );
    let c = w.verify("2026-11-19").await;
    assert!(c.intact(), "{:#?}", c.findings);
}

/// Disposal after the seal: a CDR past retention goes once its files are gone, with a
/// disposition record, and the sealed days still verify (the audit trail excuses exactly
/// those); a CDR a hold's scope covers stays, also a "recording failed" CDR made after
/// the hold was placed (it has no file for the hold to mark).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_past_retention_are_disposed_after_the_seal_and_held_ones_stay() {
    use archiver_core::services::custody::{HoldScope, hold_add};
    use archiver_core::{CdrQuery, MetaStore};
    let w = World::start_with(|t| {
        t.retention = vec![
            serde_json::from_value(serde_json::json!(
                {"name": "short", "period": "1d"}
            ))
            .unwrap(),
        ]
    })
    .await;
    let tenant = w.h.tenant.id.clone();
    let now = t("2026-11-20T12:00:00Z");
    let window = HoldScope::Range {
        from: t("2026-11-18T00:00:00Z"),
        to: t("2026-11-18T23:59:59Z"),
    };
    let alice = HoldScope::User {
        user: "alice@acme.example".into(),
    };
    for (matter, scope) in [("M-7", window.clone()), ("M-8", alice.clone())] {
        hold_add(
            &w.h.ports,
            &w.audit,
            &tenant,
            matter,
            scope,
            "litigation",
            "ops1",
        )
        .await
        .unwrap();
    }
    let all = |meta: std::sync::Arc<dyn MetaStore>, tenant| async move {
        meta.query_cdrs(&CdrQuery {
            tenant: Some(tenant),
            ..CdrQuery::default()
        })
        .await
        .unwrap()
    };
    let before = all(w.h.ports.meta.clone(), tenant.clone()).await;
    // Reconciling seals the final days, then disposes of what is past retention.
    let run = w
        .reconciler()
        .run(&w.h.tenant, w.h.zoom.as_ref(), None)
        .await;
    assert!(run.disposal_failure.is_none(), "{:?}", run.disposal_failure);
    assert_eq!(run.seals.len(), 3, "{:?}", run.seal_failures);
    let after = all(w.h.ports.meta.clone(), tenant.clone()).await;
    // Made by this run: "recording failed" CDRs of the reconciled days.
    let made: Vec<_> = after
        .iter()
        .filter(|c| !before.iter().any(|b| b.cdr_id == c.cdr_id))
        .collect();
    let gone: Vec<String> = run
        .disposals
        .iter()
        .filter(|d| d.kind == "cdr")
        .map(|d| d.key.clone())
        .collect();
    assert!(!gone.is_empty(), "{:#?}", run.disposals);
    let held = |c: &archiver_core::Cdr| window.covers(c) || alice.covers(c);
    for c in before.iter().chain(made.iter().copied()) {
        let expired = c.start_time + chrono::Duration::days(1) <= now;
        let is_gone = gone.contains(&c.cdr_id);
        // A file still stored (held through another participant's CDR) keeps it too.
        let mut stored = false;
        for m in &c.media {
            let f =
                w.h.ports
                    .meta
                    .get_file(&tenant, c.source, &m.file_id)
                    .await
                    .unwrap();
            stored |= f.is_some_and(|f| {
                matches!(f.state, archiver_core::FileState::Archived { .. }) && f.disposed.is_none()
            });
        }
        assert_eq!(
            is_gone,
            expired && !held(c) && !stored,
            "{} ({} {:?}): held {}, file stored {stored}, expired {expired}",
            c.cdr_id,
            c.start_time,
            c.user_email,
            held(c)
        );
        assert_eq!(
            w.h.ports
                .meta
                .get_cdr(&tenant, &c.cdr_id)
                .await
                .unwrap()
                .is_none(),
            is_gone
        );
    }
    assert!(
        before
            .iter()
            .any(|c| held(c) && c.start_time + chrono::Duration::days(1) <= now),
        "the holds cover some expired CDRs"
    );
    // Each disposed CDR has its record: id, digest, rule.
    let entries = w.audit.entries(&tenant);
    for d in run.disposals.iter().filter(|d| d.kind == "cdr") {
        assert!(
            entries
                .iter()
                .any(|e| e.draft.action == AuditAction::Dispose
                    && e.draft.objects == vec![d.key.clone()]
                    && e.draft.result == "disposed"
                    && e.draft
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.contains(&d.sha256) && r.contains("short"))),
            "{d:?}"
        );
    }
    // The sealed days still verify: every missing object and CDR is a recorded disposal.
    let mut excused = 0;
    for day in ["2026-11-17", "2026-11-18", "2026-11-19"] {
        let c = w.verify(day).await;
        assert!(c.intact(), "{day}: {:#?}", c.findings);
        excused += c.disposed;
    }
    assert!(excused as usize >= gone.len(), "{excused} < {}", gone.len());
    // A CDR deleted without a disposition record is a finding.
    let held_one = after
        .iter()
        .find(|c| held(c) && c.start_time < t("2026-11-20T00:00:00Z"))
        .expect("a held CDR of a sealed day");
    assert!(w.h.ports.meta.delete_cdr(held_one).await.unwrap());
    let day = held_one.start_time.date_naive().to_string();
    let c = w.verify(&day).await;
    assert_eq!(only(&c, Check::Cdr), vec![held_one.cdr_id.clone()]);
}
