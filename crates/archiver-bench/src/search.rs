//! `bench search`: review search at scale (issue 17). Generates N CDRs into a fresh SQLite
//! metadata store (batched inserts, one transaction per batch; ~500 users over 90 days,
//! both sources, ~3% "recording failed", transcripts for one meeting in ten), then times
//! ~200 search pages of varied queries through [`MetaStore::search_cdrs`] (what the review
//! UI and `GET /api/v1/cdrs` call) and prints p50/p95/max per kind of query.

use anyhow::{Context, Result, bail};
use archiver_core::{
    Cdr, CdrQuery, CdrSearch, ConversationType, Direction, DirectionUser, MetaStore, RecordType,
    SearchScope, SearchSort, Source, TenantId, TextDoc,
};
use archiver_local::SqliteMetaStore;
use chrono::{DateTime, Duration, Utc};
use std::path::Path;
use std::time::Instant;

/// Recorded users of the generated tenant.
const USERS: usize = 500;
/// Days the generated CDRs span.
const DAYS: i64 = 90;
/// Rows per page, as the UI's default.
const PAGE: usize = 50;

/// A small deterministic generator (the data must be the same from run to run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOPICS: [&str; 12] = [
    "Weekly sync",
    "Quarterly budget review",
    "Client onboarding",
    "Trade desk stand-up",
    "Compliance training",
    "Board meeting",
    "Product roadmap",
    "Risk committee",
    "Sales pipeline",
    "Hiring panel",
    "Incident review",
    "All hands",
];

/// A vocabulary of pronounceable pseudo-words for transcripts.
fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    const C: &[u8] = b"bcdfghklmnprstvz";
    const V: &[u8] = b"aeiou";
    (0..n)
        .map(|_| {
            let syllables = 2 + rng.below(2);
            (0..syllables)
                .map(|_| {
                    format!(
                        "{}{}",
                        C[rng.below(C.len())] as char,
                        V[rng.below(V.len())] as char
                    )
                })
                .collect::<String>()
        })
        .collect()
}

fn user(i: usize) -> (String, String, String) {
    (
        format!("user{i:03}@acme.example"),
        format!("{}", 1000 + i),
        format!("User {i:03}"),
    )
}

fn external(i: usize) -> String {
    format!("+1415{:07}", 5_550_000 + i)
}

struct Generated {
    tenant: TenantId,
    start: DateTime<Utc>,
    words: Vec<String>,
}

async fn generate(store: &SqliteMetaStore, n: usize) -> Result<Generated> {
    let tenant = TenantId::new("acme").expect("valid tenant id");
    let start: DateTime<Utc> = "2026-09-01T00:00:00Z".parse().expect("time");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let words = vocabulary(&mut rng, 5_000);
    let span = DAYS * 86_400;
    let mut batch = Vec::with_capacity(10_000);
    let mut docs = Vec::new();
    for i in 0..n {
        let (email, ext, name) = user(rng.below(USERS));
        let at = start + Duration::seconds((i as i64 * span) / n.max(1) as i64);
        let meeting = rng.below(10) < 4;
        let dur = 30 + rng.below(3_600) as i64;
        let source = if meeting {
            Source::Meetings
        } else {
            Source::Phone
        };
        let conv = format!("{}-{i:07}", if meeting { "m" } else { "r" });
        let (from, to, to_info, direction, participants) = if meeting {
            let topic = format!("{} {}", TOPICS[rng.below(TOPICS.len())], rng.below(100));
            (
                email.clone(),
                "Conference".to_string(),
                topic,
                Direction::Conference,
                vec![name.clone(), user(rng.below(USERS)).2],
            )
        } else {
            let ext_no = external(rng.below(20_000));
            let (from, to, d) = match rng.below(3) {
                0 => (ext_no.clone(), ext.clone(), Direction::Inbound),
                1 => (ext.clone(), ext_no.clone(), Direction::Outbound),
                _ => (ext.clone(), user(rng.below(USERS)).1, Direction::Internal),
            };
            (
                from.clone(),
                to.clone(),
                "Caller".to_string(),
                d,
                vec![from, to],
            )
        };
        let failed = rng.below(100) < 3;
        let cdr = Cdr {
            tenant: tenant.clone(),
            cdr_id: format!("{source}:{conv}:{email}"),
            source,
            source_platform: source.platform().into(),
            platform_call_id: conv.clone(),
            conversation_id: conv.clone(),
            user: name.clone(),
            user_id: if meeting { email.clone() } else { ext.clone() },
            user_email: Some(email.clone()),
            user_extension: Some(ext.clone()),
            start_time: at,
            end_time: at + Duration::seconds(dur),
            duration_seconds: dur,
            from,
            from_info: name.clone(),
            to,
            to_info,
            participants,
            direction,
            direction_user: DirectionUser::Outgoing,
            conversation_type: ConversationType::Voice,
            record_type: RecordType::Standard,
            location: "bench".into(),
            recording_failed: failed,
            failure_reason: failed.then(|| "not_archived: generated".to_string()),
            parent_meeting_id: None,
            segments: vec![],
            media_length: None,
            media_error: None,
            voice_quality: None,
            audio_codec: None,
            video_codec: None,
            silence_ratio: None,
            longest_silence_seconds: None,
            talkover_ratio: None,
            media: vec![],
            out_of_scope: None,
            created_at: at,
            updated_at: at,
            version: 0,
        };
        if meeting && rng.below(10) == 0 {
            let text: Vec<&str> = (0..120)
                .map(|_| words[rng.below(words.len())].as_str())
                .collect();
            docs.push(TextDoc {
                tenant: tenant.clone(),
                source,
                conversation_id: conv,
                file_id: format!("t-{i}"),
                text: text.join(" "),
            });
        }
        batch.push(cdr);
        if batch.len() == batch.capacity() {
            store.insert_cdrs(&batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.insert_cdrs(&batch).await?;
    }
    for d in &docs {
        store.index_text(d).await?;
    }
    Ok(Generated {
        tenant,
        start,
        words,
    })
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Generates `cdrs` CDRs under `dir` (which must not exist; removed afterwards) and times
/// the search pages. Prints the table.
pub async fn search_bench(cdrs: usize, dir: &Path) -> Result<()> {
    if dir.exists() {
        bail!("{} exists: give a fresh --dir", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("archive.db");
    let store = SqliteMetaStore::open(&db)?;
    let t0 = Instant::now();
    let g = generate(&store, cdrs).await?;
    let gen_s = t0.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    // Reopen: the timings start from a store as `serve` opens it (the page cache is warm,
    // as it is on a server that has been answering searches).
    drop(store);
    let store = SqliteMetaStore::open(&db)?;
    let scope = vec![SearchScope::tenant(g.tenant.clone())];
    let base = CdrSearch {
        scope: scope.clone(),
        descending: true,
        limit: PAGE,
        ..CdrSearch::default()
    };
    let mut rng = Rng(42);
    let deep = (cdrs / 2 / PAGE).max(1) * PAGE;
    let mut kinds: Vec<(String, Vec<CdrSearch>)> = Vec::new();
    let mut add = |kind: &str, n: usize, f: &mut dyn FnMut(&mut Rng) -> CdrSearch| {
        let v = (0..n).map(|_| f(&mut rng)).collect();
        kinds.push((kind.to_string(), v));
    };
    let day = |r: &mut Rng| g.start + Duration::days(r.below(DAYS as usize) as i64);
    add("no filter, page 1", 15, &mut |_| base.clone());
    add(
        &format!("no filter, deep page (offset {deep})"),
        10,
        &mut |_| CdrSearch {
            offset: deep,
            ..base.clone()
        },
    );
    add("user (email)", 20, &mut |r| CdrSearch {
        query: CdrQuery {
            user: Some(user(r.below(USERS)).0),
            ..CdrQuery::default()
        },
        ..base.clone()
    });
    add("number", 20, &mut |r| CdrSearch {
        query: CdrQuery {
            number: Some(external(r.below(20_000))),
            ..CdrQuery::default()
        },
        ..base.clone()
    });
    add("date range (one day)", 20, &mut |r| {
        let d = day(r);
        CdrSearch {
            query: CdrQuery {
                from: Some(d),
                to: Some(d + Duration::days(1)),
                ..CdrQuery::default()
            },
            ..base.clone()
        }
    });
    add("failed = yes", 15, &mut |_| CdrSearch {
        failed: Some(true),
        ..base.clone()
    });
    add("direction = inbound", 15, &mut |_| CdrSearch {
        query: CdrQuery {
            direction: Some(Direction::Inbound),
            ..CdrQuery::default()
        },
        ..base.clone()
    });
    add("source = meetings, failed = no", 10, &mut |_| CdrSearch {
        source: Some(Source::Meetings),
        failed: Some(false),
        ..base.clone()
    });
    add("topic (substring)", 20, &mut |r| CdrSearch {
        topic: Some(
            ["budget", "ONBOARD", "risk comm", "stand-up", "hiring"][r.below(5)].to_string(),
        ),
        ..base.clone()
    });
    add("free text (one word)", 20, &mut |r| CdrSearch {
        text: Some(g.words[r.below(g.words.len())].clone()),
        ..base.clone()
    });
    add("free text (two words)", 10, &mut |r| CdrSearch {
        text: Some(format!(
            "{} {}",
            g.words[r.below(g.words.len())],
            g.words[r.below(g.words.len())]
        )),
        ..base.clone()
    });
    add("sort by duration", 15, &mut |_| CdrSearch {
        sort: SearchSort::Duration,
        ..base.clone()
    });
    add("user + 30 days, by duration", 15, &mut |r| {
        let d = day(r);
        CdrSearch {
            query: CdrQuery {
                user: Some(user(r.below(USERS)).0),
                from: Some(d - Duration::days(30)),
                to: Some(d),
                ..CdrQuery::default()
            },
            sort: SearchSort::Duration,
            ..base.clone()
        }
    });
    add("reviewer granted 5 users", 15, &mut |r| CdrSearch {
        scope: (0..5)
            .map(|_| SearchScope {
                tenant: g.tenant.clone(),
                user: Some(user(r.below(USERS)).0),
            })
            .collect(),
        ..base.clone()
    });
    println!(
        "{cdrs} CDRs ({USERS} users, {DAYS} days) generated and indexed in {gen_s:.1} s; database {:.0} MiB\n",
        size as f64 / 1048576.0
    );
    println!("| query | pages | matches (first) | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    let mut all = Vec::new();
    for (kind, searches) in &kinds {
        let mut ms = Vec::with_capacity(searches.len());
        let mut first = None;
        for s in searches {
            let t = Instant::now();
            let r = store.search_cdrs(s).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            first.get_or_insert(r.total);
            if r.cdrs.len() > PAGE {
                bail!("{kind}: a page of {} rows", r.cdrs.len());
            }
        }
        all.extend_from_slice(&ms);
        ms.sort_by(f64::total_cmp);
        println!(
            "| {kind} | {} | {} | {:.1} | {:.1} | {:.1} |",
            ms.len(),
            first.unwrap_or(0),
            pct(&ms, 0.5),
            pct(&ms, 0.95),
            ms.last().copied().unwrap_or(0.0)
        );
    }
    all.sort_by(f64::total_cmp);
    println!(
        "| **all** | {} | | {:.1} | {:.1} | {:.1} |",
        all.len(),
        pct(&all, 0.5),
        pct(&all, 0.95),
        all.last().copied().unwrap_or(0.0)
    );
    let p95 = pct(&all, 0.95);
    crate::parts::figure(
        format!("search {cdrs} CDRs"),
        "p95 ms per search page",
        format!("{p95:.1}"),
        "-",
        "< 200 ms at 1,000,000",
        (cdrs >= 1_000_000).then_some(p95 < 200.0),
    );
    drop(store);
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok(())
}
