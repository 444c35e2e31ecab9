//! The realistic account generator (`generate_account`): determinism, the attribution
//! cases of internal, queue and common-area calls, deactivated users, and the counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use common::{get_json, token_for, z};
use serde_json::Value;
use zoom_sim::{
    AccountSpec, Scenario, SimAccount, SimCall, SimClock, SimServer, UserStatus, generate_account,
};

/// Lines of the internal calls (both numbers are user extensions), by call id.
fn internal_calls(a: &SimAccount) -> BTreeMap<&str, Vec<&SimCall>> {
    let exts: BTreeSet<String> = a
        .users
        .iter()
        .filter_map(|u| u.extension.map(|e| e.to_string()))
        .collect();
    let mut by_id: BTreeMap<&str, Vec<&SimCall>> = BTreeMap::new();
    for c in &a.calls {
        if exts.contains(&c.caller_number) && exts.contains(&c.callee_number) {
            by_id.entry(c.call_id.as_str()).or_default().push(c);
        }
    }
    by_id
}

/// Distinct calls (call ids) whose owner is of `kind`.
fn distinct_of(a: &SimAccount, kind: &str) -> usize {
    a.calls
        .iter()
        .filter(|c| c.owner.kind == kind)
        .map(|c| c.call_id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

fn user_by_ext<'a>(a: &'a SimAccount, ext: &str) -> &'a zoom_sim::SimUser {
    a.users
        .iter()
        .find(|u| u.extension.map(|e| e.to_string()).as_deref() == Some(ext))
        .expect("user of the extension")
}

#[test]
fn same_spec_same_scenario() {
    let spec = AccountSpec::default();
    let a = serde_json::to_string(&generate_account(&spec)).unwrap();
    let b = serde_json::to_string(&Scenario::generate_account(&spec.clone())).unwrap();
    assert_eq!(a, b);
    let other = serde_json::to_string(&generate_account(&AccountSpec {
        seed: 8,
        ..AccountSpec::default()
    }))
    .unwrap();
    assert_ne!(a, other);
    // The spec round-trips through JSON and still gives the same scenario.
    let spec2: AccountSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(a, serde_json::to_string(&generate_account(&spec2)).unwrap());
}

#[test]
fn recording_policy_and_status_change_nothing_else() {
    let all = generate_account(&AccountSpec::default());
    let some = generate_account(&AccountSpec {
        recording_users: vec![0, 3, 4],
        inactive_users: vec![1, 5],
        ..AccountSpec::default()
    });
    let (a, b) = (&all.accounts[0], &some.accounts[0]);
    // Same calls (a line per recorded side aside), same meetings, same user ids.
    let key = |a: &SimAccount| -> BTreeSet<(String, String, String, String, String)> {
        a.calls
            .iter()
            .map(|c| {
                (
                    c.call_id.clone(),
                    c.start.to_rfc3339(),
                    c.caller_number.clone(),
                    c.callee_number.clone(),
                    c.result.clone(),
                )
            })
            .collect()
    };
    assert_eq!(key(a), key(b));
    assert_eq!(
        serde_json::to_string(&a.meetings).unwrap(),
        serde_json::to_string(&b.meetings).unwrap()
    );
    let ids = |a: &SimAccount| a.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(a), ids(b));
    let recs = |a: &SimAccount| a.calls.iter().map(|c| c.recordings.len()).sum::<usize>();
    assert!(recs(b) < recs(a));
}

#[test]
fn internal_calls_are_recorded_per_line() {
    // Users 0..6 record; 6..13 do not.
    let spec = AccountSpec {
        recording_users: (0..6).collect(),
        ..AccountSpec::default()
    };
    let s = generate_account(&spec);
    let a = &s.accounts[0];
    let records = |ext: &str| {
        let i = a
            .users
            .iter()
            .position(|u| u.extension.map(|e| e.to_string()).as_deref() == Some(ext))
            .unwrap();
        i < 6
    };
    let (mut one_a, mut one_b, mut both, mut none) = (0, 0, 0, 0);
    for (id, lines) in internal_calls(a) {
        let first = lines[0];
        let ua = user_by_ext(a, &first.caller_number);
        let ub = user_by_ext(a, &first.callee_number);
        assert_ne!(ua.id, ub.id, "internal call {id} to oneself");
        for l in &lines {
            // Every line names the call's parties, whoever owns it.
            assert_eq!(l.caller_number, first.caller_number);
            assert_eq!(l.callee_number, first.callee_number);
            assert_eq!((l.start, l.end), (first.start, first.end));
            assert_eq!(l.caller_number_type, 1);
            assert_eq!(l.callee_number_type, 1);
            assert_eq!(l.outgoing_by.as_ref().unwrap().name, ua.name);
            if l.result == "Call connected" {
                let acc = l.accepted_by.as_ref().unwrap();
                assert_eq!(acc.name, ub.name);
                assert_eq!(acc.extension_number, first.callee_number);
            }
        }
        let connected = first.result == "Call connected";
        match (
            connected && records(&first.caller_number),
            connected && records(&first.callee_number),
        ) {
            (true, false) => {
                one_a += 1;
                assert_eq!(lines.len(), 1);
                let l = lines[0];
                assert_eq!(
                    (l.owner.kind.as_str(), l.owner.id.as_str()),
                    ("user", ua.id.as_str())
                );
                assert_eq!(l.direction, "outbound");
                assert_eq!(l.recordings.len(), 1);
                assert_eq!(l.accepted_by.as_ref().unwrap().name, ub.name);
                // B's recordings do not include A's line, though it names B.
                let rid = &l.recordings[0].id;
                assert!(a.recordings_owned_by(&ua.id).iter().any(|r| &r.id == rid));
                assert!(!a.recordings_owned_by(&ub.id).iter().any(|r| &r.id == rid));
            }
            (false, true) => {
                one_b += 1;
                assert_eq!(lines.len(), 1);
                let l = lines[0];
                assert_eq!(l.owner.id, ub.id);
                assert_eq!(l.direction, "inbound");
                assert_eq!(l.recordings.len(), 1);
            }
            (true, true) => {
                both += 1;
                assert_eq!(lines.len(), 2);
                let owners: BTreeSet<&str> = lines.iter().map(|l| l.owner.id.as_str()).collect();
                assert_eq!(owners, BTreeSet::from([ua.id.as_str(), ub.id.as_str()]));
                let dirs: BTreeSet<&str> = lines.iter().map(|l| l.direction.as_str()).collect();
                assert_eq!(dirs, BTreeSet::from(["inbound", "outbound"]));
                assert!(lines.iter().all(|l| l.recordings.len() == 1));
                assert_ne!(lines[0].recordings[0].id, lines[1].recordings[0].id);
                assert_eq!(
                    a.recordings_owned_by(&ua.id)
                        .iter()
                        .filter(|r| lines.iter().any(|l| l.recordings[0].id == r.id))
                        .count(),
                    1
                );
            }
            (false, false) => {
                none += 1;
                assert_eq!(lines.len(), 1);
                assert_eq!(lines[0].owner.id, ua.id);
                assert!(lines[0].recordings.is_empty());
            }
        }
    }
    println!("internal calls: A only {one_a}, B only {one_b}, both {both}, none {none}");
    assert!(one_a > 0 && one_b > 0 && both > 0 && none > 0);
}

#[test]
fn queue_and_common_area_calls() {
    let s = generate_account(&AccountSpec::default());
    let a = &s.accounts[0];
    let names: BTreeSet<&str> = a.users.iter().map(|u| u.name.as_str()).collect();
    let queue: Vec<&SimCall> = a
        .calls
        .iter()
        .filter(|c| c.owner.kind == "callQueue")
        .collect();
    assert!(!queue.is_empty());
    for c in &queue {
        assert_eq!(c.direction, "inbound");
        assert_eq!(c.caller_number_type, 2);
        assert_eq!(c.callee_number_type, 1);
        assert_eq!(c.callee_number, c.owner.extension_number.to_string());
        assert_eq!(c.callee_name, c.owner.name);
        assert!(c.outgoing_by.is_none());
        if c.result == "Call connected" {
            assert_eq!(c.recordings.len(), 1);
            assert!(names.contains(c.accepted_by.as_ref().unwrap().name.as_str()));
        } else {
            assert!(c.recordings.is_empty());
        }
    }
    assert!(
        queue
            .iter()
            .any(|c| c.owner.name == "Support Queue" && c.owner.extension_number == 5000)
    );
    let ca: Vec<&SimCall> = a
        .calls
        .iter()
        .filter(|c| c.owner.kind == "commonArea")
        .collect();
    assert!(!ca.is_empty());
    let mut named = 0;
    for c in &ca {
        let ext = c.owner.extension_number.to_string();
        if c.direction == "inbound" {
            assert_eq!(c.callee_number, ext);
            assert!(c.outgoing_by.is_none());
            named += usize::from(c.accepted_by.is_some());
        } else {
            assert_eq!(c.caller_number, ext);
            assert!(c.accepted_by.is_none());
            named += usize::from(c.outgoing_by.is_some());
        }
        assert_eq!(
            c.recordings.len(),
            usize::from(c.result == "Call connected")
        );
    }
    println!("common-area calls {}, naming a user {named}", ca.len());
    // Every missed call is unrecorded; every recording lasts as long as its MP3 bytes play.
    for c in &a.calls {
        if c.result == "Missed" {
            assert!(c.recordings.is_empty());
        }
        for r in &c.recordings {
            let ms = (r.size * 1000 / 16_000).max(1000) as i64;
            assert_eq!((r.end - r.start).num_milliseconds(), ms);
            assert!(r.start >= c.start && r.end <= c.end && r.available_at > c.end);
        }
    }
}

#[test]
fn meetings_have_breakouts_and_external_hosts() {
    let s = generate_account(&AccountSpec::default());
    let a = &s.accounts[0];
    let ids: BTreeSet<&str> = a.users.iter().map(|u| u.id.as_str()).collect();
    for m in &a.meetings {
        if let Some(p) = &m.parent_uuid {
            let main = a
                .meetings
                .iter()
                .find(|x| &x.uuid == p)
                .expect("parent meeting");
            assert!(main.parent_uuid.is_none() && !main.external);
            assert_eq!(m.id, main.id);
            assert!(m.participants.len() < main.participants.len());
            for part in &m.participants {
                assert!(main.participants.iter().any(|q| q.email == part.email));
            }
            assert!(m.start_time >= main.start_time);
            assert!(
                m.start_time + Duration::seconds(i64::from(m.duration_secs))
                    <= main.start_time + Duration::seconds(i64::from(main.duration_secs))
            );
            assert!(!m.files.is_empty());
        }
        if m.external {
            assert!(!ids.contains(m.host_id.as_str()));
            assert!(
                m.participants
                    .iter()
                    .all(|p| ids.contains(p.user_id.as_str()))
            );
            assert!(!m.participants.is_empty());
            for f in m.files.iter().filter(|f| f.individual) {
                let email = f.participant_email.as_deref().unwrap();
                assert!(m.participants.iter().any(|p| p.email == email));
            }
        } else {
            assert!(ids.contains(m.host_id.as_str()));
        }
    }
    assert!(a.meetings.iter().any(|m| m.parent_uuid.is_some()));
    assert!(a.meetings.iter().any(|m| m.external));
    assert!(
        a.meetings
            .iter()
            .any(|m| !m.files.is_empty() && m.files.iter().all(|f| !f.individual))
    );
}

#[tokio::test]
async fn deactivated_users_keep_their_history_and_are_served_inactive() {
    let spec = AccountSpec {
        inactive_users: vec![2],
        ..AccountSpec::default()
    };
    let s = generate_account(&spec);
    let a = &s.accounts[0];
    let gone = a.users[2].clone();
    assert_eq!(gone.status, UserStatus::Inactive);
    assert!(
        a.users
            .iter()
            .enumerate()
            .all(|(i, u)| (i == 2) == (u.status == UserStatus::Inactive))
    );
    assert!(!a.recordings_owned_by(&gone.id).is_empty());
    let total: usize = a.calls.iter().map(|c| c.recordings.len()).sum();
    let now = spec.start + Duration::days(i64::from(spec.days) + 1);
    let sim = SimServer::start_with_clock(s, SimClock::manual(now))
        .await
        .unwrap();
    let tok = token_for(
        &sim,
        "realistic-account-7",
        "realistic-client",
        "realistic-secret",
    )
    .await;
    let base = sim.api_base_url();
    let (st, v) = get_json(&format!("{base}/users/{}", gone.email), &tok).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "inactive");
    assert_eq!(v["id"], gone.id.as_str());
    let (_, v) = get_json(
        &format!("{base}/users/{}", sim.scenario().accounts[0].users[0].id),
        &tok,
    )
    .await;
    assert_eq!(v["status"], "active");

    // Every recording is listed, with the three owner types.
    let url = format!(
        "{base}/phone/recordings?page_size=300&from={}&to={}",
        z(spec.start),
        z(now)
    );
    let (st, v) = get_json(&url, &tok).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["total_records"].as_u64().unwrap() as usize, total);
    let mut types = BTreeSet::new();
    let mut listed = Vec::new();
    let mut page = v;
    loop {
        for r in page["recordings"].as_array().unwrap() {
            types.insert(r["owner"]["type"].as_str().unwrap().to_string());
            listed.push(r.clone());
        }
        let next = page["next_page_token"].as_str().unwrap().to_string();
        if next.is_empty() {
            break;
        }
        page = get_json(&format!("{url}&next_page_token={next}"), &tok)
            .await
            .1;
    }
    assert_eq!(listed.len(), total);
    assert_eq!(
        types,
        BTreeSet::from(["callQueue".into(), "commonArea".into(), "user".into()])
    );
    assert!(
        listed
            .iter()
            .any(|r: &Value| r["owner"]["id"] == gone.id.as_str())
    );
}

#[test]
fn default_spec_counts() {
    for (label, spec) in [
        ("default", AccountSpec::default()),
        (
            "half recording",
            AccountSpec {
                recording_users: (0..7).collect(),
                ..AccountSpec::default()
            },
        ),
    ] {
        let s = generate_account(&spec);
        let a = &s.accounts[0];
        let mut by_owner: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &a.calls {
            *by_owner.entry(c.owner.kind.as_str()).or_default() += c.recordings.len();
        }
        let internal = internal_calls(a);
        let mut lines = [0usize; 3];
        for ls in internal.values() {
            lines[ls.iter().filter(|l| !l.recordings.is_empty()).count()] += 1;
        }
        let distinct: BTreeSet<&str> = a.calls.iter().map(|c| c.call_id.as_str()).collect();
        let missed = a.calls.iter().filter(|c| c.result == "Missed").count();
        let breakouts = a
            .meetings
            .iter()
            .filter(|m| m.parent_uuid.is_some())
            .count();
        let external = a.meetings.iter().filter(|m| m.external).count();
        let whole_only = a
            .meetings
            .iter()
            .filter(|m| !m.files.is_empty() && m.files.iter().all(|f| !f.individual))
            .count();
        let recordings: usize = by_owner.values().sum();
        println!(
            "{label}: users {}, calls {} ({} SimCalls), missed {missed}, \
             phone recordings {recordings} by owner {by_owner:?}, \
             internal calls {} with 0/1/2 recorded lines {lines:?}, \
             meetings {} (main {}, breakouts {breakouts}, external {external}, \
             whole-files only {whole_only})",
            a.users.len(),
            distinct.len(),
            a.calls.len(),
            internal.len(),
            a.meetings.len(),
            a.meetings.len() - breakouts,
        );
        // The shares are exact quotas: round(share × 200 calls, × 35 meetings).
        let kind = |k: &str| distinct_of(a, k);
        assert_eq!(a.users.len(), 13);
        assert_eq!(distinct.len(), 200);
        assert_eq!(internal.len(), 60);
        assert_eq!(kind("callQueue"), 30);
        assert_eq!(kind("commonArea"), 10);
        assert_eq!(missed, 20);
        assert_eq!(a.meetings.len() - breakouts, 35);
        assert_eq!(breakouts, 5);
        assert_eq!(external, 4);
        if spec.recording_users.is_empty() {
            // Everyone records: a connected internal call has both lines.
            assert_eq!(lines[1], 0);
            assert!(lines[2] > 0);
        } else {
            assert!(lines.iter().all(|&n| n > 0));
        }
    }
}
