//! Secrets never reach the logs (even at TRACE), and tenants stay apart.

use archiver_core::{DownloadTask, FileState, Source, TenantId};
use archiver_e2e::{Expect, Harness, HarnessOptions, assert_invariants, assert_invariants_with};
use base64::Engine as _;
use chrono::Utc;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use zoom_sim::{Scenario, SimClock, SimServer};

const CLIENT_SECRET: &str = "SEKRIT-cl13nt-s3cr3t-7f3a9c";
/// Prefix of every access token the simulator issues.
const TOKEN_PREFIX: &str = "eyJzaW0iOnRydWV9.";

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every event of this test binary, at TRACE, into one buffer.
fn captured() -> &'static Buf {
    static BUF: OnceLock<Buf> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buf::default();
        let w = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .init();
        buf
    })
}

#[tokio::test]
async fn no_secret_or_token_appears_in_trace_logs() {
    let buf = captured();
    let now = Utc::now();
    let mut sc = archiver_e2e::small_scenario(31, now, 2);
    sc.accounts[0].client_secret = CLIENT_SECRET.into();
    let sim = SimServer::start_with_clock(sc, SimClock::manual(now))
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim, 3, 3);
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    // Exercise token refreshes, phone redirects (signed `jwt=` URLs) and error paths.
    h.sim.faults().revoke_tokens();
    h.sim.faults().fail_next("/rec/archive/download", 2, 500);
    h.poll_all().await;
    h.sim.faults().revoke_tokens();
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_invariants(&h).await;
    assert!(h.sim.stats().tokens_issued >= 2);
    assert!(h.sim.stats().by_endpoint.contains_key("GET /file"));
    // Debug output of the configuration does not leak either.
    tracing::info!(tenant = ?h.tenant, "config");

    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("archived") && text.contains("DEBUG"),
        "the capture works: {} bytes",
        text.len()
    );
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{CLIENT_SECRET}", h.tenant.client_id));
    for (what, needle) in [
        ("client secret", CLIENT_SECRET),
        ("access token", TOKEN_PREFIX),
        ("basic auth", basic.as_str()),
        ("signed download URL", "jwt="),
        ("bearer header", "Bearer "),
    ] {
        let hits: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(needle))
            .take(3)
            .collect();
        assert!(hits.is_empty(), "{what} in the logs: {hits:#?}");
    }
}

/// Two accounts in one simulator: tenant `acme` (account A) and tenant `beta` (account B).
async fn two_tenants() -> (Harness, archiver_core::TenantConfig) {
    let now = Utc::now();
    let a = Scenario::demo(now);
    let b = archiver_e2e::small_scenario(41, now, 2);
    let sc = Scenario {
        accounts: vec![a.accounts[0].clone(), b.accounts[0].clone()],
        options: a.options.clone(),
    };
    let sim = SimServer::start_with_clock(sc, SimClock::manual(now))
        .await
        .unwrap();
    let acc_b = sim.scenario().accounts[1].clone();
    let mut beta = archiver_e2e::tenant_config(
        &sim,
        &acc_b.account_id,
        &acc_b.client_id,
        &acc_b.client_secret,
        &[(&acc_b.users[0].email, "", "voice")],
    );
    beta.id = TenantId::new("beta").unwrap();
    let tenant = archiver_e2e::demo_tenant(&sim);
    let h = Harness::with_tenant(sim, tenant, HarnessOptions::default()).await;
    (h, beta)
}

#[tokio::test]
async fn a_task_of_tenant_b_naming_a_file_of_tenant_a_touches_nothing() {
    let (h, beta) = two_tenants().await;
    h.cycle().await;
    assert_invariants(&h).await;
    let a_files = h.files().await;
    let objects_before = h.ports.blobs.list("").await.unwrap();
    let victim = a_files
        .iter()
        .find(|f| f.source == Source::Meetings)
        .unwrap()
        .clone();
    // Crafted tasks: tenant B naming A's file (meetings and phone), a file id that exists
    // only at A's Zoom account, and a path-traversal file id.
    let phone_victim = a_files.iter().find(|f| f.source == Source::Phone).unwrap();
    let crafted = [
        DownloadTask::new(beta.id.clone(), Source::Meetings, &victim.file_id),
        DownloadTask::new(beta.id.clone(), Source::Phone, &phone_victim.file_id),
        DownloadTask::new(beta.id.clone(), Source::Meetings, "../acme/meetings"),
        DownloadTask::new(
            beta.id.clone(),
            Source::Meetings,
            &h.sim.scenario().accounts[0].meetings[0].files[0].id,
        ),
    ];
    h.ports.queue.send_batch(&crafted).await.unwrap();
    // Tenant B's client (account B's credentials) serves B's tasks.
    let zoom_b = archiver_e2e::zoom_client_with(&beta, &HarnessOptions::default());
    let mut zooms = archiver_core::services::runner::ZoomClients::new();
    zooms.insert(h.tenant.id.clone(), h.zoom.clone());
    zooms.insert(beta.id.clone(), zoom_b);
    let downloads_before = h.sim.stats().downloads_started;
    let d = archiver_core::services::runner::drain(
        h.ports.queue.as_ref(),
        h.ports.clock.as_ref(),
        &h.downloader,
        &zooms,
        &h.drain_opts,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        d.dead.len(),
        crafted.len(),
        "every crafted task refused: {d:?}"
    );
    assert!(d.done.is_empty());
    assert_eq!(
        h.sim.stats().downloads_started,
        downloads_before,
        "no download"
    );
    // A's records and objects are untouched; nothing was written under B's prefix or elsewhere.
    assert_eq!(h.files().await, a_files);
    let objects_after = h.ports.blobs.list("").await.unwrap();
    assert_eq!(objects_after, objects_before);
    assert!(h.ports.blobs.list("beta/").await.unwrap().is_empty());
    assert_invariants_with(
        &h,
        &Expect {
            foreign_dead_letters: crafted.len(),
            ..Expect::default()
        },
    )
    .await;
}

#[tokio::test]
async fn a_record_of_tenant_b_pointing_at_tenant_a_is_refused() {
    let (h, beta) = two_tenants().await;
    h.poll_all().await;
    let victim = h
        .files()
        .await
        .into_iter()
        .find(|f| f.source == Source::Meetings)
        .unwrap();
    // A corrupted (or forged) record: tenant B, but A's object key and A's download URL.
    let mut forged = victim.clone();
    forged.tenant = beta.id.clone();
    forged.file_id = format!("{}-forged", victim.file_id);
    forged.cdr_ids.clear();
    assert!(h.ports.meta.insert_file(&forged).await.unwrap());
    // And a B record with B's key but A's download URL: B's token cannot fetch A's file.
    let mut cross = forged.clone();
    cross.file_id = format!("{}-cross", victim.file_id);
    cross.object_key =
        archiver_core::ObjectKey::parse(victim.object_key.as_str().replacen("acme/", "beta/", 1))
            .unwrap();
    assert!(h.ports.meta.insert_file(&cross).await.unwrap());
    h.ports
        .queue
        .send_batch(&[
            DownloadTask::new(beta.id.clone(), Source::Meetings, &forged.file_id),
            DownloadTask::new(beta.id.clone(), Source::Meetings, &cross.file_id),
        ])
        .await
        .unwrap();
    let zoom_b = archiver_e2e::zoom_client_with(&beta, &HarnessOptions::default());
    let mut zooms = archiver_core::services::runner::ZoomClients::new();
    zooms.insert(h.tenant.id.clone(), h.zoom.clone());
    zooms.insert(beta.id.clone(), zoom_b);
    let d = archiver_core::services::runner::drain(
        h.ports.queue.as_ref(),
        h.ports.clock.as_ref(),
        &h.downloader,
        &zooms,
        &h.drain_opts,
        None,
    )
    .await
    .unwrap();
    let refused: Vec<_> = d.dead.iter().filter(|r| r.task.tenant == beta.id).collect();
    assert_eq!(
        refused.len(),
        1,
        "the forged record is dead-lettered: {d:?}"
    );
    assert!(
        refused[0].detail.contains("does not belong"),
        "{}",
        refused[0].detail
    );
    // The cross-account download is refused by Zoom (404 for B's token): gone, never stored.
    let cross_rec = h
        .ports
        .meta
        .get_file(&beta.id, Source::Meetings, &cross.file_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            cross_rec.state,
            FileState::Gone { .. } | FileState::Failed { .. }
        ),
        "{:?}",
        cross_rec.state
    );
    assert!(h.ports.blobs.list("beta/").await.unwrap().is_empty());
    for o in h.ports.blobs.list("").await.unwrap() {
        assert!(o.key.as_str().starts_with("acme/"), "{}", o.key);
    }
}

/// A hostile listing: download URLs at a cloud metadata endpoint, at an IP literal, on
/// plain http to a foreign host, and a download that redirects to a private address. Each
/// file is failed for good with a reason naming the host and the rule (never retried, never
/// requested, no token sent), and the rest of the account is archived.
#[tokio::test]
async fn hostile_download_urls_and_redirects_are_refused_with_their_reason() {
    // Which files the account's listing gives (a first archive of the same scenario).
    let h = Harness::small(7, HarnessOptions::default()).await;
    h.poll(Source::Meetings).await;
    let files: Vec<_> = h
        .files()
        .await
        .into_iter()
        .filter(|f| f.source == Source::Meetings)
        .collect();
    assert!(files.len() >= 4);
    let hostile = [
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "169.254.169.254",
        ),
        ("https://10.0.0.5/rec/x", "10.0.0.5"),
        ("http://files.example.com/rec/x", "files.example.com"),
    ];
    let redirected = &files[3];
    // A fresh archive of the same account, whose listings are hostile for those files.
    let sim2 = SimServer::start_with_clock(h.sim.scenario().clone(), h.sim.clock().clone())
        .await
        .unwrap();
    let tenant = archiver_e2e::generated_tenant(&sim2, 3, 3);
    let h2 = Harness::with_tenant(sim2, tenant, HarnessOptions::default()).await;
    for (f, (url, _)) in files.iter().zip(hostile) {
        h2.sim.faults().list_download_url(&f.file_id, url);
    }
    h2.sim
        .faults()
        .redirect_download(&redirected.file_id, "http://192.168.1.10/steal");
    let (_, d) = h2.cycle().await;
    let failed: Vec<_> = h2
        .files()
        .await
        .into_iter()
        .filter(|f| matches!(f.state, FileState::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 4, "{failed:#?}");
    for (f, (_, host)) in files.iter().zip(hostile) {
        let got = failed.iter().find(|x| x.file_id == f.file_id).unwrap();
        let FileState::Failed {
            reason, transient, ..
        } = &got.state
        else {
            unreachable!()
        };
        assert!(!transient, "final, not parked");
        assert!(
            reason.contains(&format!("refused download host {host}")),
            "{reason}"
        );
        assert!(
            !reason.contains("security-credentials"),
            "no URL path: {reason}"
        );
        assert_eq!(got.attempts, 1, "refused at once, never retried");
    }
    let r = failed
        .iter()
        .find(|x| x.file_id == redirected.file_id)
        .unwrap();
    let FileState::Failed { reason, .. } = &r.state else {
        unreachable!()
    };
    assert!(reason.contains("redirect to host 192.168.1.10"), "{reason}");
    assert_eq!(
        d.dead.len(),
        4,
        "each dead letter names its file and reason"
    );
    assert!(
        h2.files()
            .await
            .iter()
            .filter(|f| !failed.iter().any(|x| x.file_id == f.file_id))
            .all(|f| matches!(f.state, FileState::Archived { .. })),
        "the rest is archived"
    );
}
