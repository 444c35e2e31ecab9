use crate::MemMetaStore;
use crate::fixtures::{self, at, cdr};
use archiver_core::{
    Cdr, CdrQuery, CdrSearch, Direction, MetaError, MetaStore, SearchScope, SearchSort, Source,
    TenantId, TextDoc,
};

/// The CDRs of the search suite: two tenants, four users (one known by extension only),
/// both sources, ties in start time, duration and name, failed ones, topics in mixed case,
/// numbers written in several ways, one CDR out of scope.
fn dataset(t1: &TenantId, t2: &TenantId) -> Vec<Cdr> {
    let users = [
        ("ann@example.com", Some("1001"), "Ann"),
        ("bob@example.com", None, "Bob"),
        ("", Some("1003"), "Cyd"),
        ("dee@example.com", Some("1004"), "ann"),
    ];
    let topics = [
        "Weekly Sync",
        "Board MEETING",
        "weekly review",
        "Ünïcode Straße",
    ];
    let mut out = Vec::new();
    let mut x: u64 = 7;
    for i in 0..64usize {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (x >> 33) as usize;
        let tenant = if i % 5 == 4 { t2 } else { t1 };
        let (email, ext, name) = users[r % users.len()];
        // Ties: every start time appears about twice.
        let mut c = cdr(
            tenant,
            &format!("c{i:02}"),
            at((i as i64 / 2) * 600),
            "x@example.com",
        );
        c.user_email = (!email.is_empty()).then(|| email.to_string());
        c.user_extension = ext.map(str::to_string);
        c.user = name.to_string();
        c.duration_seconds = [60, 600, 600, 3600][(r >> 3) % 4];
        if (r >> 5).is_multiple_of(3) {
            c.source = Source::Phone;
            c.source_platform = Source::Phone.platform().into();
            c.direction =
                [Direction::Inbound, Direction::Outbound, Direction::Internal][(r >> 7) % 3];
            c.from = ["+1 (415) 555-0100", "+14155550199", "1001"][(r >> 9) % 3].into();
            c.to = ["+44 20 7946 0000", "1003", "+1.415.555.0100"][(r >> 11) % 3].into();
            c.to_info = "Switchboard".into();
            c.participants = vec![c.from.clone(), c.to.clone()];
        } else {
            c.to_info = topics[(r >> 7) % topics.len()].into();
            c.conversation_id = format!("meeting-{}", i / 4);
            c.platform_call_id = c.conversation_id.clone();
        }
        if (r >> 13).is_multiple_of(6) {
            c.recording_failed = true;
            c.failure_reason = Some("not_archived: test".into());
        }
        if i == 17 {
            c.out_of_scope = Some("an earlier rule".into());
        }
        out.push(c);
    }
    out
}

fn ids(v: &[Cdr]) -> Vec<String> {
    v.iter()
        .map(|c| format!("{}/{}", c.tenant, c.cdr_id))
        .collect()
}

/// Asserts that `store`'s [`MetaStore::search_cdrs`] agrees with the reference semantics
/// ([`CdrSearch::matches`], [`CdrSearch::page`], free text by whole words) on the same
/// data: totals, order and pages of every filter, scope, sort key and order, and the free
/// text of indexed transcripts. The reference is a [`MemMetaStore`] given the same CDRs
/// and texts. A store without a text index ([`MetaStore::indexes_text`] false, as
/// DynamoDB) must refuse free text with [`MetaError::Unsupported`] and agree on everything
/// else.
pub async fn cdr_search(store: &dyn MetaStore) {
    let text = store.indexes_text();
    let reference = MemMetaStore::new();
    let t1 = fixtures::unique_tenant("search");
    let t2 = fixtures::unique_tenant("search-b");
    let data = dataset(&t1, &t2);
    assert!(store.insert_cdrs(&data).await.unwrap().iter().all(|x| *x));
    reference.insert_cdrs(&data).await.unwrap();
    // An update after the insert must reach the index: c03 becomes a failed phone call.
    let mut changed = store.get_cdr(&t1, "c03").await.unwrap().unwrap();
    changed.recording_failed = true;
    changed.failure_reason = Some("not_recorded: test".into());
    changed.to_info = "Renamed Topic".into();
    changed.participants.push("+1 212 555 0000".into());
    store.update_cdr(&changed).await.unwrap();
    let mut r = reference.get_cdr(&t1, "c03").await.unwrap().unwrap();
    (
        r.recording_failed,
        r.failure_reason,
        r.to_info,
        r.participants,
    ) = (
        true,
        changed.failure_reason.clone(),
        changed.to_info.clone(),
        changed.participants.clone(),
    );
    reference.update_cdr(&r).await.unwrap();
    // Transcripts: "pelican" only in meeting-1 of t1 (and in t2's meeting-1, which a t1
    // viewer must not find); re-indexing a file replaces its words.
    let docs = [
        (
            &t1,
            "meeting-1",
            "f1",
            "Alice: the Pelican brief\nBob: agreed",
        ),
        (&t1, "meeting-2", "f2", "quarterly numbers and the merger"),
        (&t1, "meeting-2", "f3", "chat: see the spreadsheet"),
        (&t2, "meeting-1", "f1", "pelican elsewhere"),
        (&t1, "meeting-3", "f4", "first words"),
        (&t1, "meeting-3", "f4", "replaced words"),
    ];
    for (t, conv, file, text) in docs {
        let doc = TextDoc {
            tenant: (*t).clone(),
            source: Source::Meetings,
            conversation_id: conv.into(),
            file_id: file.into(),
            text: text.into(),
        };
        store.index_text(&doc).await.unwrap();
        reference.index_text(&doc).await.unwrap();
    }

    let whole = vec![
        SearchScope::tenant(t1.clone()),
        SearchScope::tenant(t2.clone()),
    ];
    let base = CdrSearch {
        scope: whole.clone(),
        limit: 1000,
        ..CdrSearch::default()
    };
    let q = |query: CdrQuery| CdrSearch {
        query,
        ..base.clone()
    };
    let mut searches = vec![
        base.clone(),
        q(CdrQuery {
            tenant: Some(t1.clone()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            user: Some("ANN@example.com".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            user: Some("1003".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            number: Some("+14155550100".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            number: Some("(212) 555-0000".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            number: Some(" - ".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            from: Some(at(3000)),
            to: Some(at(12000)),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            direction: Some(Direction::Inbound),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            failed_only: true,
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            platform_call_id: Some("meeting-2".into()),
            ..CdrQuery::default()
        }),
        q(CdrQuery {
            include_out_of_scope: true,
            ..CdrQuery::default()
        }),
        CdrSearch {
            scope: vec![
                SearchScope::tenant(t2.clone()),
                SearchScope {
                    tenant: t1.clone(),
                    user: Some("BOB@example.com".into()),
                },
                SearchScope {
                    tenant: t1.clone(),
                    user: Some("1003".into()),
                },
            ],
            ..base.clone()
        },
        CdrSearch {
            scope: vec![],
            ..base.clone()
        },
        CdrSearch {
            source: Some(Source::Phone),
            ..base.clone()
        },
        CdrSearch {
            source: Some(Source::Meetings),
            failed: Some(false),
            ..base.clone()
        },
        CdrSearch {
            failed: Some(true),
            ..base.clone()
        },
    ];
    for topic in [
        "weekly",
        "WEEK",
        "ly",
        "straße",
        "ÜNÏ",
        "board meeting",
        "x\"y",
        "  ",
    ] {
        searches.push(CdrSearch {
            topic: Some(topic.into()),
            ..base.clone()
        });
    }
    for text in [
        "pelican",
        "PELICAN brief",
        "merger spreadsheet",
        "numbers",
        "words",
        "first",
        "peli",
        "!!",
    ] {
        searches.push(CdrSearch {
            text: Some(text.into()),
            ..base.clone()
        });
    }
    searches.push(CdrSearch {
        text: Some("pelican".into()),
        scope: vec![SearchScope::tenant(t1.clone())],
        ..base.clone()
    });
    let mut checked = 0;
    for s in &searches {
        if s.text.is_some() && !text {
            let r = store.search_cdrs(s).await;
            assert!(
                matches!(r, Err(MetaError::Unsupported(_))),
                "free text on a store without a text index must be Unsupported: {r:?}"
            );
            continue;
        }
        for sort in [
            SearchSort::StartTime,
            SearchSort::User,
            SearchSort::Duration,
            SearchSort::Direction,
            SearchSort::Source,
        ] {
            // The port's default sorts with the reference's own code: one key is enough
            // there (and keeps the suite quick on the AWS emulator).
            if !text && sort != SearchSort::StartTime {
                continue;
            }
            for descending in [false, true] {
                let full = CdrSearch {
                    sort,
                    descending,
                    ..s.clone()
                };
                let want = reference.search_cdrs(&full).await.unwrap();
                let got = store.search_cdrs(&full).await.unwrap();
                assert_eq!(got.total, want.total, "total of {full:?}");
                assert_eq!(ids(&got.cdrs), ids(&want.cdrs), "order of {full:?}");
                assert_eq!(got.cdrs, want.cdrs, "bodies of {full:?}");
                // Pages of 7 cut the same list, without overlap or gap (where the store
                // pages by itself: the default pages with the reference's code).
                if !text {
                    checked += 1;
                    continue;
                }
                let mut paged = Vec::new();
                for offset in (0..=want.total).step_by(7) {
                    let page = store
                        .search_cdrs(&CdrSearch {
                            offset,
                            limit: 7,
                            ..full.clone()
                        })
                        .await
                        .unwrap();
                    assert_eq!(page.total, want.total, "a page's total of {full:?}");
                    paged.extend(page.cdrs);
                }
                assert_eq!(ids(&paged), ids(&want.cdrs), "pages of {full:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= if text { 300 } else { 40 });

    // What the reference itself must say, stated independently of any store.
    let only_t1 = CdrSearch {
        scope: vec![SearchScope::tenant(t1.clone())],
        ..base.clone()
    };
    if text {
        let found = store
            .search_cdrs(&CdrSearch {
                text: Some("Pelican".into()),
                ..only_t1.clone()
            })
            .await
            .unwrap();
        let expected: Vec<String> = data
            .iter()
            .filter(|c| {
                c.tenant == t1 && c.conversation_id == "meeting-1" && c.out_of_scope.is_none()
            })
            .map(|c| format!("{}/{}", c.tenant, c.cdr_id))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            ids(&found.cdrs),
            expected,
            "a word only in a transcript finds every CDR of that conversation, of the viewer's tenant only"
        );
        for gone in ["first", "peli"] {
            let r = store
                .search_cdrs(&CdrSearch {
                    text: Some(gone.into()),
                    ..only_t1.clone()
                })
                .await
                .unwrap();
            assert_eq!(
                r.total, 0,
                "{gone:?}: replaced text, or part of a word, finds nothing"
            );
        }
    }
    let bob = store
        .search_cdrs(&CdrSearch {
            scope: vec![SearchScope {
                tenant: t1.clone(),
                user: Some("bob@example.com".into()),
            }],
            limit: 3,
            ..base.clone()
        })
        .await
        .unwrap();
    let bobs = data
        .iter()
        .filter(|c| {
            c.tenant == t1
                && c.user_email.as_deref() == Some("bob@example.com")
                && c.out_of_scope.is_none()
        })
        .count();
    assert_eq!(bob.total, bobs, "a user grant counts only that user's CDRs");
    assert!(bob.cdrs.len() <= 3 && bob.cdrs.iter().all(|c| c.user == "Bob"));
    let weekly = store
        .search_cdrs(&CdrSearch {
            topic: Some("WEEKLY".into()),
            ..base.clone()
        })
        .await
        .unwrap();
    assert!(weekly.total > 0);
    assert!(
        weekly
            .cdrs
            .iter()
            .all(|c| c.source == Source::Meetings && c.to_info.to_lowercase().contains("weekly"))
    );
}
