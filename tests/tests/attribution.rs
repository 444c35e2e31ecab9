//! Right person, right record (issue 13), on a realistic generated account
//! (`zoom_sim::generate_account`: internal calls recorded on one, both or neither line,
//! call queues, common-area phones, a deactivated user, breakout rooms, meetings hosted
//! elsewhere), with 8 of its 13 users configured plus one email Zoom does not know:
//!
//! - no recording owned by an unconfigured user is stored (nor even known to the archive);
//! - each (call, recorded user) has exactly one CDR, linking its own recording;
//! - meeting CDRs carry the Zoom user id and display name without any `zoom_user_id` or
//!   `name` in the configuration;
//! - the deactivated user's recordings are archived; the unknown email is reported and does
//!   not stop the others; users are looked up once a day.
//!
//! On the embedded default and on the AWS adapters (moto).

use archiver_core::{Cdr, FileRecord, MediaState, Source, TenantConfig};
use archiver_e2e::{Backend, Harness, HarnessOptions, aws_harness};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use zoom_sim::{AccountSpec, Scenario, SimAccount, SimClock, SimServer};

const CONFIGURED: usize = 8;
const INACTIVE: usize = 2;
const GHOST: &str = "ghost@corp.example";

fn spec() -> AccountSpec {
    AccountSpec {
        inactive_users: vec![INACTIVE],
        ..AccountSpec::default()
    }
}

fn now() -> DateTime<Utc> {
    spec().start + chrono::Duration::days(i64::from(spec().days) + 1)
}

/// The first 8 users (voice and video alternately), by email and extension only, and an
/// email Zoom does not know.
fn tenant(sim: &SimServer) -> TenantConfig {
    let a = &sim.scenario().accounts[0];
    let mut users: Vec<serde_json::Value> = a.users[..CONFIGURED]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            serde_json::json!({
                "email": u.email,
                "extension": u.extension.map(|x| x.to_string()),
                "mode": if i % 2 == 0 { "voice" } else { "video" },
            })
        })
        .collect();
    users.push(serde_json::json!({"email": GHOST, "mode": "voice"}));
    serde_json::from_value(serde_json::json!({
        "id": "acme",
        "account_id": a.account_id,
        "client_id": a.client_id,
        "client_secret": a.client_secret,
        "api_base_url": sim.api_base_url(),
        "oauth_url": sim.oauth_url(),
        "initial_lookback": "10d",
        "users": users,
    }))
    .unwrap()
}

/// What the account says each recording is: (call id, owner type, owner user id, the
/// extensions named in accepted_by/outgoing_by).
fn recordings(a: &SimAccount) -> BTreeMap<String, (String, String, String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for c in &a.calls {
        for r in &c.recordings {
            let named = [&c.accepted_by, &c.outgoing_by]
                .into_iter()
                .flatten()
                .map(|p| p.extension_number.clone())
                .collect();
            out.insert(
                r.id.clone(),
                (
                    c.call_id.clone(),
                    c.owner.kind.clone(),
                    c.owner.id.clone(),
                    named,
                ),
            );
        }
    }
    out
}

async fn check(h: &Harness, label: &str) {
    // Two cycles: users are looked up by the first only.
    let ((meetings, phone), _) = h.cycle().await;
    let ((meetings2, phone2), drained) = h.cycle().await;
    assert!(drained.dead.is_empty(), "{label}: {:?}", drained.dead);
    for r in [&meetings, &phone] {
        assert_eq!(
            r.unknown_users,
            vec![GHOST.to_string()],
            "{label}: reported"
        );
    }
    assert_eq!(
        meetings2.unknown_users,
        vec![GHOST.to_string()],
        "{label}: reported by every poll"
    );
    assert_eq!(
        meetings.user_lookups + phone.user_lookups + meetings2.user_lookups + phone2.user_lookups,
        CONFIGURED as u64 + 1,
        "{label}: one lookup per configured email and day"
    );
    assert_eq!(
        h.sim
            .stats()
            .by_endpoint
            .get("GET /users/{userId}")
            .copied(),
        Some(CONFIGURED as u64 + 1),
        "{label}: what Zoom served"
    );

    let a = h.sim.scenario().accounts[0].clone();
    let configured: BTreeMap<String, &zoom_sim::SimUser> = a.users[..CONFIGURED]
        .iter()
        .map(|u| (u.email.clone(), u))
        .collect();
    let configured_ids: BTreeSet<&str> = configured.values().map(|u| u.id.as_str()).collect();
    let configured_exts: BTreeSet<String> = configured
        .values()
        .filter_map(|u| u.extension.map(|x| x.to_string()))
        .collect();
    let truth = recordings(&a);
    let files: Vec<FileRecord> = h.files().await;
    let phone_files: Vec<&FileRecord> =
        files.iter().filter(|f| f.source == Source::Phone).collect();

    // Which recordings belong to a configured user, by the rule.
    let mut expected: BTreeSet<&str> = BTreeSet::new();
    for (id, (_, kind, owner, named)) in &truth {
        let theirs = match kind.as_str() {
            "user" => configured_ids.contains(owner.as_str()),
            _ => named.iter().any(|x| configured_exts.contains(x)),
        };
        if theirs {
            expected.insert(id.as_str());
        }
    }
    let stored: BTreeSet<&str> = phone_files.iter().map(|f| f.file_id.as_str()).collect();
    assert_eq!(
        stored, expected,
        "{label}: exactly the configured users' recordings"
    );
    let foreign = truth
        .iter()
        .filter(|(_, (_, k, o, _))| k == "user" && !configured_ids.contains(o.as_str()))
        .count();
    assert!(
        foreign > 0,
        "the scenario has recordings of unconfigured users"
    );
    for f in &phone_files {
        assert!(
            matches!(f.state, archiver_core::FileState::Archived { .. }),
            "{label}: {} {:?}",
            f.file_id,
            f.state
        );
    }

    // One CDR per (call, recorded user), linking its own recording.
    let cdrs: Vec<Cdr> = h.cdrs().await;
    let mut per_call_user: BTreeMap<(String, String), Vec<&Cdr>> = BTreeMap::new();
    for c in cdrs.iter().filter(|c| c.source == Source::Phone) {
        per_call_user
            .entry((
                c.platform_call_id.clone(),
                c.user_email.clone().unwrap_or_default(),
            ))
            .or_default()
            .push(c);
        assert_eq!(c.media.len(), 1, "{label}: {}", c.cdr_id);
        assert_eq!(
            c.media[0].file_id, c.conversation_id,
            "{label}: its own MP3"
        );
        assert_eq!(c.media[0].state, MediaState::Archived);
        assert!(!c.recording_failed);
        let (call, ..) = &truth[&c.conversation_id];
        assert_eq!(&c.platform_call_id, call);
        let user = &configured[c.user_email.as_deref().unwrap()];
        assert_eq!(
            c.user_id,
            user.extension.unwrap().to_string(),
            "{label}: phone CDRs keep the extension"
        );
    }
    for ((call, user), list) in &per_call_user {
        assert_eq!(list.len(), 1, "{label}: call {call} of {user}: {list:?}");
    }
    let both_lines = per_call_user
        .keys()
        .map(|(call, _)| call)
        .fold(BTreeMap::<&String, u32>::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        })
        .values()
        .filter(|n| **n == 2)
        .count();
    assert!(
        both_lines > 0,
        "{label}: calls recorded on two configured lines give one CDR per line"
    );

    // Meeting CDRs: the Zoom user id and display name, resolved, not configured.
    let mut meeting_cdrs = 0;
    for c in cdrs.iter().filter(|c| c.source == Source::Meetings) {
        let user = &configured[c.user_email.as_deref().unwrap()];
        assert_eq!(c.user_id, user.id, "{label}: {}", c.cdr_id);
        assert_eq!(c.from, user.id, "{label}: {}", c.cdr_id);
        assert_eq!(c.user, user.name, "{label}: {}", c.cdr_id);
        assert_eq!(c.from_info, user.name, "{label}: {}", c.cdr_id);
        meeting_cdrs += 1;
    }
    assert!(meeting_cdrs > 0);

    // The deactivated user's recordings are archived.
    let inactive = &a.users[INACTIVE];
    assert!(
        phone_files
            .iter()
            .any(|f| truth[&f.file_id].2 == inactive.id),
        "{label}: the deactivated user's recordings are kept"
    );
    assert!(meetings.deactivated_users.contains(&inactive.email));
    println!(
        "{label}: {} phone recordings in the account, {} of unconfigured users; archived {} phone files, {} phone CDRs, {} meeting CDRs",
        truth.len(),
        foreign,
        phone_files.len(),
        per_call_user.len(),
        meeting_cdrs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_account_is_filed_under_the_right_people_embedded() {
    let sim =
        SimServer::start_with_clock(Scenario::generate_account(&spec()), SimClock::manual(now()))
            .await
            .unwrap();
    let t = tenant(&sim);
    let h = Harness::with_tenant(
        sim,
        t,
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    check(&h, "embedded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_account_is_filed_under_the_right_people_on_aws() {
    // Two days of the account: the same cases, fewer requests to the emulator.
    let small = AccountSpec { days: 2, ..spec() };
    let Some(h) = aws_harness(
        "attribution",
        Scenario::generate_account(&small),
        SimClock::manual(now()),
        tenant,
    )
    .await
    else {
        return;
    };
    check(&h, "aws").await;
}

/// The attribution rule before issue 13: a user-owned line also belonged to every
/// configured user named in its `accepted_by`/`outgoing_by` (what made the other party's
/// audio archived, and a second CDR for the call).
fn legacy_phone_plan(
    t: &TenantConfig,
    r: &archiver_core::PhoneRecording,
    now: DateTime<Utc>,
) -> archiver_core::services::select::Plan {
    use archiver_core::services::select::plan_phone_recording;
    let mut plan = plan_phone_recording(t, r, now, "test-host");
    let mut shared = r.clone();
    if let Some(o) = &mut shared.owner {
        o.kind = Some("callQueue".into());
    }
    let extra = plan_phone_recording(t, &shared, now, "test-host");
    if plan.files.is_empty() {
        return extra;
    }
    for c in extra.cdrs {
        if !plan.cdrs.iter().any(|x| x.cdr_id == c.cdr_id) {
            plan.files[0].cdr_ids.push(c.cdr_id.clone());
            plan.cdrs.push(c);
        }
    }
    plan
}

/// An archive made by the earlier rules (phone lines of unconfigured users archived for the
/// configured user named on them; meeting CDRs filed under the email) meets the current
/// rules at the next poll: the same CDRs re-filed under the Zoom user id (no duplicate),
/// the other people's recordings kept where they are but marked out of scope with the
/// reason, and `cdrs` no longer lists what the rules do not make.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_of_the_earlier_rules_is_refiled_and_scoped_at_the_next_poll() {
    use archiver_core::services::poller::split_windows;
    use archiver_core::services::select::plan_meeting;
    use archiver_core::{ArchiveDateType, CdrQuery, Cursor, DownloadTask, Window};

    let sim =
        SimServer::start_with_clock(Scenario::generate_account(&spec()), SimClock::manual(now()))
            .await
            .unwrap();
    let t = tenant(&sim);
    let h = Harness::with_tenant(
        sim,
        t.clone(),
        HarnessOptions {
            backend: Backend::Local,
            ..HarnessOptions::default()
        },
    )
    .await;
    let meta = h.ports.meta.clone();
    let at = now();
    let from = at - chrono::Duration::days(10);

    // The earlier archive: every listing planned by the earlier rules, stored, downloaded.
    let mut files = Vec::new();
    let mut drafts = Vec::new();
    for w in split_windows(from, at, Source::Phone.max_window()) {
        let mut token: Option<String> = None;
        loop {
            let p = h
                .zoom
                .list_phone_recordings(
                    Window {
                        from: w.from,
                        to: w.to,
                    },
                    token.as_deref(),
                )
                .await
                .unwrap();
            for r in &p.items {
                let plan = legacy_phone_plan(&t, r, at);
                files.extend(plan.files);
                drafts.extend(plan.cdrs);
            }
            match p.next_page_token {
                Some(x) if !x.is_empty() => token = Some(x),
                _ => break,
            }
        }
    }
    for w in split_windows(from, at, Source::Meetings.max_window()) {
        let mut token: Option<String> = None;
        loop {
            let p = h
                .zoom
                .list_archived_meetings(
                    Window {
                        from: w.from,
                        to: w.to,
                    },
                    ArchiveDateType::ArchiveCompleteTime,
                    token.as_deref(),
                )
                .await
                .unwrap();
            for m in &p.items {
                // The configuration as written: no Zoom user ids, so CDRs under the email.
                let plan = plan_meeting(&t, m, None, at, "test-host");
                files.extend(plan.files);
                drafts.extend(plan.cdrs);
            }
            match p.next_page_token {
                Some(x) if !x.is_empty() => token = Some(x),
                _ => break,
            }
        }
    }
    let mut seen = BTreeSet::new();
    files.retain(|f| seen.insert(f.file_id.clone()));
    meta.insert_files(&files).await.unwrap();
    meta.insert_cdrs(&drafts).await.unwrap();
    let tasks: Vec<DownloadTask> = files
        .iter()
        .map(|f| DownloadTask::new(f.tenant.clone(), f.source, &f.file_id))
        .collect();
    h.ports.queue.send_batch(&tasks).await.unwrap();
    let d = h.drain().await;
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    for source in [Source::Meetings, Source::Phone] {
        meta.put_cursor(&Cursor {
            tenant: t.id.clone(),
            source,
            high: at,
            last_success_at: Some(at),
            version: 0,
        })
        .await
        .unwrap();
    }
    let before_files = h.files().await;
    let before_cdrs = h.cdrs().await;
    let before_phone_files = before_files
        .iter()
        .filter(|f| f.source == Source::Phone)
        .count();
    let before_phone_cdrs = before_cdrs
        .iter()
        .filter(|c| c.source == Source::Phone)
        .count();
    let by_email = before_cdrs
        .iter()
        .filter(|c| c.source == Source::Meetings && c.user_id.contains('@'))
        .count();
    assert!(by_email > 0);

    // What the current rules make of the same account.
    let a = h.sim.scenario().accounts[0].clone();
    let truth = recordings(&a);
    let configured_ids: BTreeSet<&str> = a.users[..CONFIGURED]
        .iter()
        .map(|u| u.id.as_str())
        .collect();
    let foreign: BTreeSet<&str> = before_files
        .iter()
        .filter(|f| f.source == Source::Phone)
        .map(|f| f.file_id.as_str())
        .filter(|id| {
            let (_, kind, owner, _) = &truth[*id];
            kind == "user" && !configured_ids.contains(owner.as_str())
        })
        .collect();
    assert!(
        !foreign.is_empty(),
        "the earlier rules archived other people's lines"
    );

    // The next poll.
    let ((meetings, phone), _) = h.cycle().await;
    assert!(meetings.refiled_cdrs + phone.refiled_cdrs > 0);
    let scope = phone
        .scope
        .clone()
        .expect("the phone poll judged the archive");
    assert_eq!(scope.files_out_of_scope, foreign.len() as u64, "{scope:?}");
    assert_eq!(scope.not_listed, 0);

    let after_files = h.files().await;
    assert_eq!(
        after_files.len(),
        before_files.len(),
        "nothing deleted, nothing added twice"
    );
    for f in after_files.iter().filter(|f| f.source == Source::Phone) {
        let out = f.out_of_scope.is_some();
        assert_eq!(out, foreign.contains(f.file_id.as_str()), "{}", f.file_id);
        if out {
            // Kept where it is, with its reason.
            assert!(h.ports.blobs.head(&f.object_key).await.unwrap().is_some());
            assert!(
                f.out_of_scope
                    .as_deref()
                    .unwrap()
                    .contains("not to a configured user")
            );
        }
    }
    let listed = h.cdrs().await;
    let all = meta
        .query_cdrs(&CdrQuery {
            include_out_of_scope: true,
            ..CdrQuery::default()
        })
        .await
        .unwrap();
    let out_of_scope: Vec<&Cdr> = all.iter().filter(|c| c.out_of_scope.is_some()).collect();
    assert_eq!(out_of_scope.len() as u64, scope.cdrs_out_of_scope);
    assert_eq!(listed.len() + out_of_scope.len(), all.len());
    // The CDRs listed now are exactly one per (call, recorded user), each its own line.
    let mut per_call_user = BTreeSet::new();
    for c in listed.iter().filter(|c| c.source == Source::Phone) {
        assert!(per_call_user.insert((c.platform_call_id.clone(), c.user_email.clone())));
        assert_eq!(c.media[0].file_id, c.conversation_id);
        assert!(!foreign.contains(c.conversation_id.as_str()));
    }
    // Meeting CDRs: the same ones, re-filed under the Zoom user id.
    let users: BTreeMap<&str, &zoom_sim::SimUser> =
        a.users.iter().map(|u| (u.email.as_str(), u)).collect();
    let before_meeting_ids: BTreeSet<&str> = before_cdrs
        .iter()
        .filter(|c| c.source == Source::Meetings)
        .map(|c| c.cdr_id.as_str())
        .collect();
    for c in listed.iter().filter(|c| c.source == Source::Meetings) {
        let u = users[c.user_email.as_deref().unwrap()];
        assert_eq!(
            (c.user_id.as_str(), c.from.as_str()),
            (u.id.as_str(), u.id.as_str())
        );
        assert_eq!(c.user, u.name);
    }
    let after_meeting_ids: BTreeSet<&str> = listed
        .iter()
        .filter(|c| c.source == Source::Meetings)
        .map(|c| c.cdr_id.as_str())
        .collect();
    assert!(
        before_meeting_ids.is_subset(&after_meeting_ids),
        "the same CDRs"
    );

    // A later poll has nothing left to do.
    let ((m2, p2), _) = h.cycle().await;
    assert!(p2.scope.is_none());
    assert_eq!(m2.refiled_cdrs + p2.refiled_cdrs, 0);
    let phone_cdrs_after = listed.iter().filter(|c| c.source == Source::Phone).count();
    println!(
        "earlier rules: {before_phone_files} phone files archived, {before_phone_cdrs} phone CDRs, {by_email} meeting CDRs under an email; \
         current rules: {} phone files in scope ({} out of scope, kept), {phone_cdrs_after} phone CDRs listed ({} out of scope), {} meeting CDRs re-filed",
        before_phone_files - foreign.len(),
        foreign.len(),
        scope.cdrs_out_of_scope,
        meetings.refiled_cdrs + phone.refiled_cdrs
    );
}
