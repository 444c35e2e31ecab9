//! Server-rendered pages: search, conversation, exports.

use crate::api::{ExportRef, audited_search, find_cdr, start_export, visible_jobs};
use crate::auth::check_csrf;
use crate::bundle::JobState;
use crate::html::{Frame, esc, key_path, page, qv};
use crate::search::SearchParams;
use crate::{ReasonPolicy, Review, Viewer};
use archiver_core::{AuditAction, Cdr, MediaState, ObjectKey};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use futures::TryStreamExt;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Review>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/search") }))
        .route("/search", get(search_page))
        .route("/conversation", get(conversation_page))
        .route("/exports", get(exports_page).post(exports_form))
}

fn frame(v: &Viewer) -> Frame<'_> {
    Frame {
        user: Some(&v.name),
        csrf: v.csrf.as_deref(),
    }
}

fn error_page(v: &Viewer, r: Response) -> Response {
    let status = r.status();
    let body = format!(
        r#"<p class="error" role="alert">{}</p><p><a href="/search">Back to search</a></p>"#,
        esc(status.canonical_reason().unwrap_or("error"))
    );
    (status, Html(page("Error", &frame(v), &body))).into_response()
}

fn conversation_href(c: &Cdr) -> String {
    format!(
        "/conversation?tenant={}&cdr={}",
        qv(c.tenant.as_str()),
        qv(&c.cdr_id)
    )
}

fn opt(v: &Option<String>) -> String {
    esc(v.as_deref().unwrap_or_default())
}

fn select(name: &str, current: &Option<String>, options: &[(&str, &str)]) -> String {
    let mut s = format!(r#"<select name="{name}" id="f-{name}">"#);
    for (val, label) in options {
        let sel = if current.as_deref().unwrap_or_default() == *val {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, r#"<option value="{val}"{sel}>{label}</option>"#);
    }
    s.push_str("</select>");
    s
}

async fn search_page(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Query(p): Query<SearchParams>,
) -> Response {
    let form = format!(
        r#"<form method="get" action="/search" class="search" id="search-form">
<label>User (email or extension) <input name="user" id="f-user" value="{user}"></label>
<label>Number <input name="number" id="f-number" value="{number}"></label>
<label>From <input name="from" id="f-from" value="{from}" placeholder="YYYY-MM-DD"></label>
<label>To <input name="to" id="f-to" value="{to}" placeholder="YYYY-MM-DD"></label>
<label>Source {source}</label>
<label>Direction {direction}</label>
<label>Recording failed {failed}</label>
<label>Call id <input name="platform_call_id" value="{pcid}"></label>
<label>Meeting topic <input name="topic" id="f-topic" value="{topic}"></label>
<label>Words in transcripts and chat <input name="q" id="f-q" value="{q}"></label>
<button id="search">Search</button></form>"#,
        user = opt(&p.user),
        number = opt(&p.number),
        from = opt(&p.from),
        to = opt(&p.to),
        pcid = opt(&p.platform_call_id),
        topic = opt(&p.topic),
        q = opt(&p.q),
        source = select(
            "source",
            &p.source,
            &[("", "any"), ("meetings", "meetings"), ("phone", "phone")]
        ),
        direction = select(
            "direction",
            &p.direction,
            &[
                ("", "any"),
                ("inbound", "inbound"),
                ("outbound", "outbound"),
                ("internal", "internal"),
                ("external", "external"),
                ("conference", "conference")
            ]
        ),
        failed = select(
            "failed",
            &p.failed,
            &[("", "any"), ("yes", "yes"), ("no", "no")]
        ),
    );
    let page_data = match audited_search(&s, &v, &p).await {
        Ok(x) => x,
        Err(r) => return error_page(&v, r),
    };
    let base = p.canonical();
    let sort_link = |col: &str, label: &str| {
        let cur = p.sort.as_deref().unwrap_or("start_time") == col;
        let desc = p.order.as_deref() != Some("asc");
        let order = if cur && desc { "asc" } else { "desc" };
        let mut q: Vec<String> = base
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("sort=") && !kv.starts_with("order="))
            .map(str::to_string)
            .collect();
        q.push(format!("sort={col}&order={order}"));
        let arrow = if cur {
            if desc { " ▼" } else { " ▲" }
        } else {
            ""
        };
        format!(
            r#"<a href="/search?{}">{label}{arrow}</a>"#,
            esc(&q.join("&"))
        )
    };
    let mut rows = String::new();
    for c in &page_data.cdrs {
        let media: Vec<String> = c.media.iter().map(|m| m.file_type.clone()).collect();
        let _ = write!(
            rows,
            r#"<tr><td><input type="checkbox" name="sel" value="{sel}" class="sel"></td>
<td><a href="{href}" class="open">{start}</a></td><td>{user}</td><td>{src}</td><td>{from}<br><small>{from_info}</small></td><td>{to}<br><small>{to_info}</small></td>
<td>{dir:?}</td><td>{dur}</td><td>{failed}</td><td>{media}</td><td><small>{pcid}</small></td></tr>"#,
            sel = esc(&format!("{}|{}", c.tenant, c.cdr_id)),
            href = esc(&conversation_href(c)),
            start = esc(&c.start_time.format("%Y-%m-%d %H:%M:%S").to_string()),
            user = esc(&c.user),
            src = esc(&c.source_platform),
            from = esc(&c.from),
            from_info = esc(&c.from_info),
            to = esc(&c.to),
            to_info = esc(&c.to_info),
            dir = c.direction,
            dur = c.duration_seconds,
            failed = if c.recording_failed {
                format!(
                    "<span class=\"failed\">yes</span> {}",
                    esc(c.failure_reason.as_deref().unwrap_or_default())
                )
            } else {
                "no".into()
            },
            media = esc(&media.join(", ")),
            pcid = esc(&c.platform_call_id),
        );
    }
    let pages = page_data.total.div_ceil(page_data.per_page).max(1);
    let mut nav = format!(
        "<p class=\"paging\">{} matches · page {} of {pages} ",
        page_data.total, page_data.page
    );
    let link = |n: usize, label: &str| {
        format!(r#"<a href="/search?{}&page={n}">{label}</a> "#, esc(&base))
    };
    if page_data.page > 1 {
        nav.push_str(&link(page_data.page - 1, "← previous"));
    }
    if page_data.page < pages {
        nav.push_str(&link(page_data.page + 1, "next →"));
    }
    nav.push_str("</p>");
    let reason_field = if s.cfg.export_reason == ReasonPolicy::Off {
        String::new()
    } else {
        format!(
            r#"<label>Reason for the export <input name="reason" id="export-reason"{}></label>"#,
            if s.cfg.export_reason == ReasonPolicy::Required {
                " required"
            } else {
                ""
            }
        )
    };
    let body = format!(
        r#"{form}{nav}
<form method="post" action="/exports" id="export-form">
<input type="hidden" name="csrf" value="{csrf}">
<table class="results" id="results"><thead><tr><th><input type="checkbox" id="sel-all" title="select all"></th>
<th>{c_start}</th><th>{c_user}</th><th>{c_src}</th><th>From</th><th>To</th><th>{c_dir}</th><th>{c_dur}</th><th>Failed</th><th>Media</th><th>Call id</th></tr></thead>
<tbody>{rows}</tbody></table>
<p>{reason_field} <button id="export">Export selected</button></p></form>"#,
        csrf = esc(v.csrf.as_deref().unwrap_or_default()),
        c_start = sort_link("start_time", "Start (UTC)"),
        c_user = sort_link("user", "User"),
        c_src = sort_link("source", "Source"),
        c_dir = sort_link("direction", "Direction"),
        c_dur = sort_link("duration", "Seconds"),
    );
    Html(page("Search", &frame(&v), &body)).into_response()
}

#[derive(Deserialize)]
struct ConvQuery {
    tenant: Option<String>,
    cdr: String,
}

/// Reads a small stored text (chat, transcript), at most 2 MiB.
async fn read_small(s: &Review, key: &str) -> Option<Vec<u8>> {
    let key = ObjectKey::parse(key.to_string()).ok()?;
    let body = s.ports.blobs.get_slice(&key, 0, 2 << 20).await.ok()?;
    let chunks: Vec<bytes::Bytes> = body.try_collect().await.ok()?;
    Some(chunks.concat())
}

fn fmt_t(t: f64) -> String {
    let t = t as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

async fn conversation_page(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Query(q): Query<ConvQuery>,
) -> Response {
    let c = match find_cdr(&s, &v, q.tenant.as_deref(), &q.cdr).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(&v, crate::api::not_found()),
        Err(r) => return error_page(&v, r),
    };
    let json = serde_json::to_value(&c).unwrap_or_default();
    let mut fields = String::new();
    if let Some(m) = json.as_object() {
        for (k, val) in m {
            if k == "media" {
                continue;
            }
            let shown = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            let _ = write!(
                fields,
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(k),
                esc(&shown)
            );
        }
    }
    let policy = s.cfg.play_reason;
    let mut players = String::new();
    let mut texts = String::new();
    let mut text_keys = Vec::new();
    for m in &c.media {
        let ctype = crate::media::content_type(&m.key);
        let url = format!("/api/v1/media/{}?cdr={}", key_path(&m.key), qv(&c.cdr_id));
        let archived = m.state == MediaState::Archived;
        let sha = m.sha256.as_deref().unwrap_or("—");
        let size = m.size.map(|x| x.to_string()).unwrap_or_default();
        let tag = if ctype.starts_with("audio/") {
            Some("audio")
        } else if ctype.starts_with("video/") {
            Some("video")
        } else {
            None
        };
        let player = match (tag, archived) {
            (Some(tag), true) => {
                // With a reason asked for, the source is set by the script once given.
                let src = if policy == ReasonPolicy::Off {
                    format!(r#" src="{}""#, esc(&url))
                } else {
                    String::new()
                };
                format!(
                    r#"<{tag} controls preload="none" class="player" data-src="{}"{src}></{tag}>"#,
                    esc(&url)
                )
            }
            _ => String::new(),
        };
        let _ = write!(
            players,
            r#"<div class="file"><strong>{ft}</strong> <small>{state:?}, {size} bytes</small><br>SHA-256 <code class="sha">{sha}</code><br>{player}</div>"#,
            ft = esc(&m.file_type),
            state = m.state,
            size = esc(&size),
            sha = esc(sha),
        );
        if tag.is_none() && archived {
            text_keys.push(m.key.clone());
            let Some(bytes) = read_small(&s, &m.key).await else {
                continue;
            };
            let lines = crate::transcript::parse(&m.file_type, &m.key, &bytes);
            let _ = write!(
                texts,
                r#"<details class="transcript" open><summary>{} ({} lines)</summary><ol>"#,
                esc(&m.file_type),
                lines.len()
            );
            for l in lines {
                let t =
                    l.at.map(|t| {
                        format!(
                            r#"<button type="button" class="seek" data-t="{t}">{}</button> "#,
                            fmt_t(t)
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(texts, "<li>{t}<b>{}</b> {}</li>", esc(&l.who), esc(&l.text));
            }
            texts.push_str("</ol></details>");
        }
    }
    let mut objects = vec![c.cdr_id.clone()];
    objects.extend(text_keys);
    if let Err(e) = s
        .record(
            std::slice::from_ref(&c.tenant),
            &v.name,
            AuditAction::Read,
            objects,
            None,
            "ok: conversation page",
        )
        .await
    {
        return error_page(&v, crate::api::internal(e));
    }
    let reason = match policy {
        ReasonPolicy::Off => String::new(),
        p => format!(
            r#"<form id="play-form" class="inline" data-required="{}"><label>Reason for listening <input id="play-reason" name="reason"></label> <button id="start-playback">Enable playback</button></form>"#,
            p == ReasonPolicy::Required
        ),
    };
    let body = format!(
        r#"<p><a href="/search">← search</a></p>
<div class="conversation"><div class="media">{reason}{players}</div><div class="texts">{texts}</div></div>
<h2>CDR</h2><table class="fields" id="cdr-fields">{fields}</table>"#
    );
    Html(page(
        &format!("{} · {}", c.user, c.start_time.format("%Y-%m-%d %H:%M")),
        &frame(&v),
        &body,
    ))
    .into_response()
}

async fn exports_page(State(s): State<Arc<Review>>, v: Viewer) -> Response {
    let mut rows = String::new();
    let mut running = false;
    for j in visible_jobs(&s, &v).iter().rev() {
        let (state, link) = match &j.state {
            JobState::Running => {
                running = true;
                (format!("running {} %", j.percent()), String::new())
            }
            JobState::Done { size, files } => (
                format!("done: {files} files, {size} bytes"),
                format!(
                    r#"<a class="download" href="/api/v1/exports/{}/download">download</a>"#,
                    esc(&j.id)
                ),
            ),
            JobState::Failed { error } => (format!("failed: {error}"), String::new()),
        };
        let _ = write!(
            rows,
            r#"<tr class="job" data-id="{id}" data-state="{st}"><td><code>{id}</code></td><td>{by}</td><td>{at}</td><td>{n}</td><td>{reason}</td><td>{state}</td><td>{link}</td></tr>"#,
            id = esc(&j.id),
            st = match j.state {
                JobState::Running => "running",
                JobState::Done { .. } => "done",
                JobState::Failed { .. } => "failed",
            },
            by = esc(&j.started_by),
            at = esc(&j.started_at.format("%Y-%m-%d %H:%M:%S").to_string()),
            n = j.cdrs.len(),
            reason = esc(j.reason.as_deref().unwrap_or_default()),
            state = esc(&state),
        );
    }
    let body = format!(
        r#"<table class="results" id="exports"{}><thead><tr><th>Id</th><th>Started by</th><th>At (UTC)</th><th>Conversations</th><th>Reason</th><th>State</th><th></th></tr></thead><tbody>{rows}</tbody></table>"#,
        if running { " data-running" } else { "" }
    );
    Html(page("Exports", &frame(&v), &body)).into_response()
}

async fn exports_form(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, x)| x.clone());
    if let Err(r) = check_csrf(&v, &get("csrf").unwrap_or_default()) {
        return r;
    }
    let refs: Vec<ExportRef> = pairs
        .iter()
        .filter(|(k, _)| k == "sel")
        .filter_map(|(_, x)| x.split_once('|'))
        .map(|(t, id)| ExportRef {
            tenant: t.to_string(),
            cdr_id: id.to_string(),
        })
        .collect();
    match start_export(&s, &v, refs, get("reason")).await {
        Ok(_) => Redirect::to("/exports").into_response(),
        Err(r) => error_page(&v, r),
    }
}
