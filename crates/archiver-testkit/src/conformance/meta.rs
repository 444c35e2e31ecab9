use crate::fixtures::{self, at, cdr, cursor, file_record};
use archiver_core::{CdrQuery, FileCount, FileQuery, FileState, MetaError, MetaStore, Source};

fn is_conflict<T: std::fmt::Debug>(r: Result<T, MetaError>) -> bool {
    matches!(r, Err(MetaError::Conflict(_)))
}

/// Asserts the [`MetaStore`] contract: insert-if-absent, compare-and-set updates with
/// version increments, tenant partitioning, file listing filters and order, CDR queries,
/// cursors and leases.
pub async fn meta_store(store: &dyn MetaStore) {
    files(store).await;
    cdrs(store).await;
    cdr_deletes(store).await;
    scope(store).await;
    cursors(store).await;
    leases(store).await;
    memos(store).await;
    batches(store).await;
    counts(store).await;
}

/// `count_files` agrees with [`FileCount::tally`] of the records (bytes aside, which a
/// store may leave out), and `count_cdrs` with a query; other tenants never count.
async fn counts(store: &dyn MetaStore) {
    let t = fixtures::unique_tenant("count");
    let other = fixtures::unique_tenant("count-other");
    let mut recs = Vec::new();
    for (i, (source, state, oos, seen)) in [
        (Source::Meetings, FileState::Pending, false, 50),
        (Source::Meetings, FileState::Pending, false, 20),
        (Source::Phone, FileState::Pending, false, 70),
        (Source::Meetings, archived(100), false, 10),
        (Source::Meetings, archived(23), false, 30),
        (Source::Meetings, archived(5), true, 40),
        (
            Source::Phone,
            FileState::Failed {
                reason: "x".into(),
                at: at(1),
                transient: false,
            },
            false,
            5,
        ),
        (
            Source::Phone,
            FileState::Failed {
                reason: "y".into(),
                at: at(1),
                transient: true,
            },
            false,
            8,
        ),
        (
            Source::Meetings,
            FileState::Gone {
                reason: "z".into(),
                at: at(1),
            },
            false,
            9,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = file_record(&t, &format!("c{i}"));
        r.source = source;
        r.state = state;
        r.first_seen = at(seen);
        r.out_of_scope = oos.then(|| "earlier rule".to_string());
        assert!(store.insert_file(&r).await.unwrap());
        recs.push(r);
    }
    assert!(store.insert_file(&file_record(&other, "c0")).await.unwrap());
    let mut got = store.count_files(&t).await.unwrap();
    got.sort_by(|a, b| (a.source, &a.state).cmp(&(b.source, &b.state)));
    let want = FileCount::tally(&recs);
    let mut want_here = want.clone();
    for (g, w) in got.iter().zip(want_here.iter_mut()) {
        if g.bytes.is_none() {
            w.bytes = None;
        }
    }
    assert_eq!(got, want_here, "count_files per source and state");
    let pending = want
        .iter()
        .find(|c| c.source == Source::Meetings && c.state == "pending")
        .unwrap();
    assert_eq!(pending.files, 2);
    assert_eq!(pending.oldest_first_seen, Some(at(20)));
    let archived = want
        .iter()
        .find(|c| c.source == Source::Meetings && c.state == "archived")
        .unwrap();
    assert_eq!(archived.files, 2, "out-of-scope files are counted apart");
    assert_eq!(archived.bytes, Some(123));
    assert!(want.iter().any(|c| c.state == "parked" && c.files == 1));
    assert!(
        store
            .count_files(&fixtures::unique_tenant("count-none"))
            .await
            .unwrap()
            .is_empty()
    );

    for (i, oos) in [false, false, true].into_iter().enumerate() {
        let mut c = cdr(&t, &format!("cc{i}"), at(i as i64), "a@x.example");
        c.out_of_scope = oos.then(|| "earlier rule".to_string());
        assert!(store.insert_cdr(&c).await.unwrap());
    }
    assert!(
        store
            .insert_cdr(&cdr(&other, "cc0", at(0), "a@x.example"))
            .await
            .unwrap()
    );
    assert_eq!(store.count_cdrs(&t).await.unwrap(), 2, "count_cdrs");
}

fn archived(size: u64) -> FileState {
    FileState::Archived {
        size,
        sha256: "0".repeat(64),
        content_type: None,
        archived_at: at(2),
        fingerprint_match: None,
    }
}

async fn batches(store: &dyn MetaStore) {
    let t = fixtures::unique_tenant("batch");
    let a = file_record(&t, "b1");
    let b = file_record(&t, "b2");
    assert!(store.insert_file(&b).await.unwrap());
    let got = store
        .insert_files(&[a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![true, false, false],
        "insert_files: insert-if-absent per record, a repeat inserts once"
    );
    let stored = store
        .get_file(&t, Source::Meetings, "b1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);
    assert!(!stored.queued);

    store
        .mark_queued(
            &t,
            Source::Meetings,
            &["b1".to_string(), "missing".to_string(), "b2".to_string()],
        )
        .await
        .unwrap();
    for id in ["b1", "b2"] {
        let f = store
            .get_file(&t, Source::Meetings, id)
            .await
            .unwrap()
            .unwrap();
        assert!(f.queued, "mark_queued sets queued on {id}");
        assert_eq!(f.version, 2, "mark_queued is a versioned update of {id}");
    }
    assert!(
        store
            .get_file(&t, Source::Meetings, "missing")
            .await
            .unwrap()
            .is_none(),
        "mark_queued creates nothing"
    );
    store
        .mark_queued(&t, Source::Meetings, &["b1".to_string()])
        .await
        .unwrap();
    let f = store
        .get_file(&t, Source::Meetings, "b1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.version, 2, "an already queued file is left alone");

    let c1 = fixtures::cdr(&t, "c1", fixtures::at(0), "a@acme.example");
    let c2 = fixtures::cdr(&t, "c2", fixtures::at(1), "b@acme.example");
    assert!(store.insert_cdr(&c2).await.unwrap());
    assert_eq!(
        store
            .insert_cdrs(&[c1.clone(), c2.clone(), c1.clone()])
            .await
            .unwrap(),
        vec![true, false, false]
    );
    let q = archiver_core::CdrQuery {
        tenant: Some(t.clone()),
        user: Some("A@acme.example".into()),
        ..Default::default()
    };
    let found = store.query_cdrs(&q).await.unwrap();
    assert_eq!(
        found.iter().map(|c| c.cdr_id.as_str()).collect::<Vec<_>>(),
        vec!["c1"],
        "CDRs inserted in a batch are indexed like single inserts"
    );
}

/// Out-of-scope CDRs and files: stored and read back like any other, left out of CDR
/// queries unless asked for.
async fn scope(store: &dyn MetaStore) {
    let t = fixtures::unique_tenant("scope");
    let mut kept = cdr(&t, "in", at(0), "a@acme.example");
    kept.platform_call_id = "call-s".into();
    let mut out = cdr(&t, "out", at(1), "a@acme.example");
    out.platform_call_id = "call-s".into();
    out.out_of_scope = Some("archived by an earlier rule".into());
    assert_eq!(
        store.insert_cdrs(&[kept, out]).await.unwrap(),
        vec![true, true]
    );
    let ids = |v: Vec<archiver_core::Cdr>| v.into_iter().map(|c| c.cdr_id).collect::<Vec<_>>();
    for q in [
        CdrQuery {
            tenant: Some(t.clone()),
            ..Default::default()
        },
        CdrQuery {
            tenant: Some(t.clone()),
            user: Some("a@acme.example".into()),
            ..Default::default()
        },
        CdrQuery {
            tenant: Some(t.clone()),
            platform_call_id: Some("call-s".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(
            ids(store.query_cdrs(&q).await.unwrap()),
            ["in"],
            "out-of-scope CDRs are not listed: {q:?}"
        );
        let all = CdrQuery {
            include_out_of_scope: true,
            ..q
        };
        assert_eq!(ids(store.query_cdrs(&all).await.unwrap()), ["in", "out"]);
    }
    let got = store.get_cdr(&t, "out").await.unwrap().unwrap();
    assert_eq!(
        got.out_of_scope.as_deref(),
        Some("archived by an earlier rule")
    );

    let mut f = file_record(&t, "f-out");
    f.out_of_scope = Some("not a configured user's line".into());
    assert!(store.insert_file(&f).await.unwrap());
    let got = store
        .get_file(&t, Source::Meetings, "f-out")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.out_of_scope.as_deref(),
        Some("not a configured user's line")
    );
}

async fn memos(store: &dyn MetaStore) {
    let t = fixtures::unique_tenant("memo");
    let other = fixtures::unique_tenant("memo2");
    assert_eq!(
        store.get_memo(&t, "k", at(0)).await.unwrap(),
        None,
        "no memo yet"
    );
    store.put_memo(&t, "k", "v1", at(100)).await.unwrap();
    assert_eq!(
        store.get_memo(&t, "k", at(10)).await.unwrap().as_deref(),
        Some("v1"),
        "a stored memo is read back"
    );
    assert_eq!(
        store.get_memo(&other, "k", at(10)).await.unwrap(),
        None,
        "memos are per tenant"
    );
    store.put_memo(&t, "k", "v2", at(200)).await.unwrap();
    assert_eq!(
        store.get_memo(&t, "k", at(150)).await.unwrap().as_deref(),
        Some("v2"),
        "a memo is replaced, with its new expiry"
    );
    assert_eq!(
        store.get_memo(&t, "k", at(200)).await.unwrap(),
        None,
        "an expired memo is absent"
    );
    let big = "x".repeat(20_000);
    store
        .put_memo(&t, "big/key with spaces", &big, at(300))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_memo(&t, "big/key with spaces", at(0))
            .await
            .unwrap()
            .as_deref(),
        Some(big.as_str()),
        "memo values of some size and keys with any characters"
    );
}

async fn files(store: &dyn MetaStore) {
    let t1 = fixtures::unique_tenant("cm");
    let t2 = fixtures::unique_tenant("cm");

    assert!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .is_none()
    );

    // Insert-if-absent, stored as version 1 whatever the given version.
    let mut rec = file_record(&t1, "f1");
    rec.version = 7;
    assert!(
        store.insert_file(&rec).await.unwrap(),
        "first insert must insert"
    );
    let stored = store
        .get_file(&t1, Source::Meetings, "f1")
        .await
        .unwrap()
        .expect("inserted record");
    assert_eq!(
        stored.version, 1,
        "an inserted record is stored as version 1"
    );
    assert_eq!(
        stored,
        archiver_core::FileRecord {
            version: 1,
            ..rec.clone()
        },
        "the record must round-trip"
    );
    let mut again = rec.clone();
    again.attempts = 99;
    assert!(
        !store.insert_file(&again).await.unwrap(),
        "second insert must not insert"
    );
    assert_eq!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0,
        "second insert must change nothing"
    );

    // CAS updates.
    let mut upd = stored.clone();
    upd.attempts = 1;
    upd.queued = true;
    let v2 = store
        .update_file(&upd)
        .await
        .expect("update at the stored version");
    assert_eq!(v2.version, 2, "update must store version + 1");
    assert_eq!(v2.attempts, 1);
    assert_eq!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .unwrap(),
        v2,
        "update must return the stored record"
    );
    let mut stale = stored.clone();
    stale.attempts = 50;
    assert!(
        is_conflict(store.update_file(&stale).await),
        "update at a stale version must be Conflict"
    );
    let mut ahead = v2.clone();
    ahead.version = 5;
    assert!(
        is_conflict(store.update_file(&ahead).await),
        "update at a future version must be Conflict"
    );
    assert_eq!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .unwrap(),
        v2,
        "a failed update must change nothing"
    );
    let mut v2b = v2.clone();
    v2b.state = FileState::Archived {
        size: 10,
        sha256: "ab".repeat(32),
        content_type: Some("audio/mp4".into()),
        archived_at: at(100),
        fingerprint_match: Some(true),
    };
    let v3 = store.update_file(&v2b).await.unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .unwrap()
            .state,
        v2b.state
    );
    let mut missing = file_record(&t1, "nope");
    missing.version = 1;
    assert!(
        is_conflict(store.update_file(&missing).await),
        "update of a missing record must be Conflict"
    );
    assert!(
        store
            .get_file(&t1, Source::Meetings, "nope")
            .await
            .unwrap()
            .is_none(),
        "a failed update must not create"
    );

    // Partitioning: same file id in another tenant, and in another source.
    assert!(
        store
            .get_file(&t2, Source::Meetings, "f1")
            .await
            .unwrap()
            .is_none(),
        "lookups must not cross tenants"
    );
    assert!(
        store
            .get_file(&t1, Source::Phone, "f1")
            .await
            .unwrap()
            .is_none(),
        "lookups must not cross sources"
    );
    let other = file_record(&t2, "f1");
    assert!(
        store.insert_file(&other).await.unwrap(),
        "the same file id in another tenant is another record"
    );
    let mut phone = file_record(&t1, "f1");
    phone.source = Source::Phone;
    assert!(
        store.insert_file(&phone).await.unwrap(),
        "the same file id in another source is another record"
    );
    let o = store
        .get_file(&t2, Source::Meetings, "f1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.version, 1);
    assert_eq!(o.attempts, 0);
    let mut o2 = o.clone();
    o2.attempts = 5;
    store.update_file(&o2).await.unwrap();
    assert_eq!(
        store
            .get_file(&t1, Source::Meetings, "f1")
            .await
            .unwrap()
            .unwrap(),
        v3,
        "updates must not cross tenants"
    );

    // Listing: filters and a stable (first_seen, file_id) order.
    let t3 = fixtures::unique_tenant("cm");
    let mk = |id: &str, secs: i64, queued: bool, state: FileState| {
        let mut r = file_record(&t3, id);
        r.first_seen = at(secs);
        r.queued = queued;
        r.state = state;
        r
    };
    let failed = FileState::Failed {
        reason: "x".into(),
        at: at(1),
        transient: false,
    };
    for r in [
        mk("e", 30, false, FileState::Pending),
        mk("b", 10, true, FileState::Pending),
        mk("d", 20, false, failed.clone()),
        mk("c", 10, false, FileState::Pending),
        mk("a", 40, true, failed.clone()),
    ] {
        assert!(store.insert_file(&r).await.unwrap());
    }
    let ids =
        |v: Vec<archiver_core::FileRecord>| v.into_iter().map(|r| r.file_id).collect::<Vec<_>>();
    let q = |state: Option<&'static str>, unqueued_only: bool| FileQuery {
        tenant: Some(t3.clone()),
        state,
        unqueued_only,
    };
    assert_eq!(
        ids(store.list_files(&q(None, false)).await.unwrap()),
        ["b", "c", "d", "e", "a"],
        "list_files must order by (first_seen, file_id)"
    );
    assert_eq!(
        ids(store.list_files(&q(Some("pending"), false)).await.unwrap()),
        ["b", "c", "e"],
        "state filter"
    );
    assert_eq!(
        ids(store.list_files(&q(None, true)).await.unwrap()),
        ["c", "d", "e"],
        "unqueued_only filter"
    );
    assert_eq!(
        ids(store.list_files(&q(Some("pending"), true)).await.unwrap()),
        ["c", "e"],
        "combined filters"
    );
    assert_eq!(
        ids(store.list_files(&q(Some("archived"), false)).await.unwrap()),
        Vec::<String>::new()
    );
    let t1_all = store
        .list_files(&FileQuery {
            tenant: Some(t1.clone()),
            ..FileQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(t1_all.len(), 2, "tenant filter (meetings and phone f1)");
    assert!(t1_all.iter().all(|r| r.tenant == t1));
    let everyone = store
        .list_files(&FileQuery {
            state: Some("failed"),
            ..FileQuery::default()
        })
        .await
        .unwrap();
    let mine: Vec<_> = everyone
        .iter()
        .filter(|r| r.tenant == t3)
        .map(|r| r.file_id.clone())
        .collect();
    assert_eq!(
        mine,
        ["d", "a"],
        "no tenant filter must list every tenant, in order"
    );
    assert!(everyone.iter().all(|r| r.state.name() == "failed"));
}

async fn cdrs(store: &dyn MetaStore) {
    let t1 = fixtures::unique_tenant("cm");
    let t2 = fixtures::unique_tenant("cm");

    let c1 = cdr(&t1, "c1", at(100), "Alice@Example.com");
    assert!(store.insert_cdr(&c1).await.unwrap());
    assert!(
        !store
            .insert_cdr(&cdr(&t1, "c1", at(999), "x@example.com"))
            .await
            .unwrap(),
        "insert_cdr is insert-if-absent"
    );
    let s1 = store
        .get_cdr(&t1, "c1")
        .await
        .unwrap()
        .expect("inserted cdr");
    assert_eq!(s1.version, 1);
    assert_eq!(
        s1,
        archiver_core::Cdr {
            version: 1,
            ..c1.clone()
        },
        "a CDR must round-trip"
    );
    assert!(
        store.get_cdr(&t2, "c1").await.unwrap().is_none(),
        "CDR lookups must not cross tenants"
    );

    let mut u = s1.clone();
    u.recording_failed = true;
    u.failure_reason = Some("no recording".into());
    let s2 = store.update_cdr(&u).await.unwrap();
    assert_eq!(s2.version, 2);
    assert!(
        is_conflict(store.update_cdr(&s1).await),
        "a stale CDR update must be Conflict"
    );
    assert_eq!(store.get_cdr(&t1, "c1").await.unwrap().unwrap(), s2);
    let mut ghost = cdr(&t1, "ghost", at(0), "g@example.com");
    ghost.version = 1;
    assert!(
        is_conflict(store.update_cdr(&ghost).await),
        "updating a missing CDR must be Conflict"
    );

    // Same id in another tenant is independent.
    assert!(
        store
            .insert_cdr(&cdr(&t2, "c1", at(100), "alice@example.com"))
            .await
            .unwrap()
    );

    let mut c2 = cdr(&t1, "c2", at(50), "bob@example.com");
    c2.user_extension = Some("1001".into());
    let c3 = cdr(&t1, "c3", at(200), "alice@example.com");
    let c0 = cdr(&t1, "c0", at(100), "carol@example.com");
    let mut c4 = cdr(&t1, "c4", at(300), "dave@example.com");
    c4.platform_call_id = "shared-call".into();
    let mut c5 = cdr(&t1, "c5", at(300), "erin@example.com");
    c5.platform_call_id = "shared-call".into();
    c5.user_email = None;
    c5.user_extension = Some("2002".into());
    for c in [&c2, &c3, &c0, &c4, &c5] {
        assert!(store.insert_cdr(c).await.unwrap());
    }
    let ids = |v: Vec<archiver_core::Cdr>| v.into_iter().map(|c| c.cdr_id).collect::<Vec<_>>();
    let base = CdrQuery {
        tenant: Some(t1.clone()),
        ..CdrQuery::default()
    };
    assert_eq!(
        ids(store.query_cdrs(&base).await.unwrap()),
        ["c2", "c0", "c1", "c3", "c4", "c5"],
        "order by start_time then cdr_id"
    );
    let q = CdrQuery {
        from: Some(at(100)),
        to: Some(at(300)),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c0", "c1", "c3"],
        "time range is [from, to)"
    );
    let q = CdrQuery {
        user: Some("ALICE@example.COM".into()),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c1", "c3"],
        "user by email, case-insensitive"
    );
    let q = CdrQuery {
        user: Some("1001".into()),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c2"],
        "user by extension"
    );
    let q = CdrQuery {
        user: Some("2002".into()),
        from: Some(at(300)),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c5"],
        "user by extension with a time range"
    );
    let q = CdrQuery {
        platform_call_id: Some("shared-call".into()),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c4", "c5"],
        "platform_call_id filter"
    );
    let q = CdrQuery {
        platform_call_id: Some("shared-call".into()),
        user: Some("dave@EXAMPLE.com".into()),
        ..base.clone()
    };
    assert_eq!(
        ids(store.query_cdrs(&q).await.unwrap()),
        ["c4"],
        "filters combine with AND"
    );
    let q = CdrQuery {
        user: Some("nobody@example.com".into()),
        ..base.clone()
    };
    assert!(store.query_cdrs(&q).await.unwrap().is_empty());
    let q = CdrQuery {
        tenant: Some(t2.clone()),
        ..CdrQuery::default()
    };
    let t2_cdrs = store.query_cdrs(&q).await.unwrap();
    assert_eq!(ids(t2_cdrs.clone()), ["c1"], "tenant filter");
    assert_eq!(
        t2_cdrs[0].version, 1,
        "the other tenant's CDR was not updated"
    );
    let q = CdrQuery {
        user: Some("alice@example.com".into()),
        ..CdrQuery::default()
    };
    let all: Vec<_> = store
        .query_cdrs(&q)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.tenant == t1 || c.tenant == t2)
        .map(|c| (c.start_time, c.cdr_id, c.tenant))
        .collect();
    assert_eq!(
        all.len(),
        3,
        "no tenant filter queries every tenant: {all:?}"
    );
    assert!(
        all.windows(2)
            .all(|w| (w[0].0, &w[0].1) <= (w[1].0, &w[1].1)),
        "ordered by start_time then cdr_id: {all:?}"
    );
    assert_eq!(all[2], (at(200), "c3".to_string(), t1.clone()));
    // Every result honours CdrQuery::matches.
    let q = CdrQuery {
        user: Some("Alice@example.com".into()),
        from: Some(at(0)),
        ..CdrQuery::default()
    };
    assert!(
        store
            .query_cdrs(&q)
            .await
            .unwrap()
            .iter()
            .all(|c| q.matches(c))
    );
}

/// `delete_cdr` is compare-and-delete: a stale version is Conflict and keeps the CDR; a
/// deleted CDR is gone from reads, queries (every index) and counts; deleting a missing
/// one is `false`; another tenant's CDR of the same id stays.
async fn cdr_deletes(store: &dyn MetaStore) {
    let t1 = fixtures::unique_tenant("cd");
    let t2 = fixtures::unique_tenant("cd");
    let mut c = cdr(&t1, "d1", at(100), "del@example.com");
    c.user_extension = Some("4004".into());
    c.platform_call_id = "del-call".into();
    assert!(store.insert_cdr(&c).await.unwrap());
    assert!(
        store
            .insert_cdr(&cdr(&t2, "d1", at(100), "del@example.com"))
            .await
            .unwrap()
    );
    let v1 = store.get_cdr(&t1, "d1").await.unwrap().expect("inserted");
    let v2 = store.update_cdr(&v1).await.unwrap();
    assert!(
        is_conflict(store.delete_cdr(&v1).await),
        "deleting a stale version must be Conflict"
    );
    assert!(
        store.get_cdr(&t1, "d1").await.unwrap().is_some(),
        "a refused delete keeps it"
    );
    assert!(store.delete_cdr(&v2).await.unwrap());
    assert_eq!(store.get_cdr(&t1, "d1").await.unwrap(), None);
    assert!(
        !store.delete_cdr(&v2).await.unwrap(),
        "deleting a missing CDR is false"
    );
    for q in [
        CdrQuery {
            tenant: Some(t1.clone()),
            ..CdrQuery::default()
        },
        CdrQuery {
            tenant: Some(t1.clone()),
            from: Some(at(0)),
            to: Some(at(1000)),
            ..CdrQuery::default()
        },
        CdrQuery {
            tenant: Some(t1.clone()),
            user: Some("del@example.com".into()),
            ..CdrQuery::default()
        },
        CdrQuery {
            tenant: Some(t1.clone()),
            user: Some("4004".into()),
            ..CdrQuery::default()
        },
        CdrQuery {
            tenant: Some(t1.clone()),
            platform_call_id: Some("del-call".into()),
            ..CdrQuery::default()
        },
    ] {
        assert!(
            store.query_cdrs(&q).await.unwrap().is_empty(),
            "deleted CDR still found by {q:?}"
        );
    }
    assert_eq!(store.count_cdrs(&t1).await.unwrap(), 0);
    assert!(
        store.get_cdr(&t2, "d1").await.unwrap().is_some(),
        "other tenants keep theirs"
    );
}

async fn cursors(store: &dyn MetaStore) {
    let t = fixtures::unique_tenant("cm");
    assert!(
        store
            .get_cursor(&t, Source::Meetings)
            .await
            .unwrap()
            .is_none()
    );
    let c = cursor(&t, Source::Meetings, at(0));
    let s1 = store
        .put_cursor(&c)
        .await
        .expect("version 0 inserts a new cursor");
    assert_eq!(s1.version, 1);
    assert_eq!(
        store.get_cursor(&t, Source::Meetings).await.unwrap(),
        Some(s1.clone())
    );
    assert!(
        is_conflict(store.put_cursor(&cursor(&t, Source::Meetings, at(5))).await),
        "version 0 on an existing cursor must be Conflict"
    );
    let mut next = s1.clone();
    next.high = at(3600);
    next.last_success_at = Some(at(3700));
    let s2 = store
        .put_cursor(&next)
        .await
        .expect("CAS at the stored version");
    assert_eq!(s2.version, 2);
    assert_eq!(s2.high, at(3600));
    assert!(
        is_conflict(store.put_cursor(&next).await),
        "a stale cursor must be Conflict"
    );
    assert_eq!(
        store.get_cursor(&t, Source::Meetings).await.unwrap(),
        Some(s2)
    );
    assert!(
        store.get_cursor(&t, Source::Phone).await.unwrap().is_none(),
        "cursors are per source"
    );
    let mut ghost = cursor(&t, Source::Phone, at(0));
    ghost.version = 3;
    assert!(
        is_conflict(store.put_cursor(&ghost).await),
        "CAS on a missing cursor must be Conflict"
    );
    let other = fixtures::unique_tenant("cm");
    assert!(
        store
            .get_cursor(&other, Source::Meetings)
            .await
            .unwrap()
            .is_none(),
        "cursors are per tenant"
    );
}

async fn leases(store: &dyn MetaStore) {
    let name = format!("lease-{}", fixtures::unique_tenant("cm"));
    let now = at(0);
    assert!(
        store.try_lease(&name, "a", at(60), now).await.unwrap(),
        "a free lease can be taken"
    );
    assert!(
        !store.try_lease(&name, "b", at(60), at(10)).await.unwrap(),
        "a held lease is exclusive"
    );
    assert!(
        store.try_lease(&name, "a", at(120), at(30)).await.unwrap(),
        "the owner can extend"
    );
    assert!(
        !store.try_lease(&name, "b", at(200), at(100)).await.unwrap(),
        "an extended lease is still held"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        !store.try_lease(&name, "b", at(200), at(110)).await.unwrap(),
        "release by a non-owner is ignored"
    );
    assert!(
        store.try_lease(&name, "b", at(300), at(120)).await.unwrap(),
        "an expired lease can be taken"
    );
    assert!(
        !store.try_lease(&name, "a", at(300), at(130)).await.unwrap(),
        "the previous owner lost it"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        store.try_lease(&name, "a", at(400), at(140)).await.unwrap(),
        "a released lease is free"
    );
    let other = format!("{name}-2");
    assert!(
        store
            .try_lease(&other, "b", at(400), at(140))
            .await
            .unwrap(),
        "leases are independent by name"
    );
    store
        .release_lease("never-taken-lease", "a")
        .await
        .expect("releasing an unknown lease is fine");
}
