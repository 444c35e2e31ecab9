//! The JSON API under `/api/v1/` (the pages use the same functions).

use crate::bundle::{ExportJob, JobState};
use crate::search::{SearchError, SearchParams, search};
use crate::{ReasonPolicy, Review, Viewer};
use archiver_core::{AuditAction, Cdr, ReviewRole, TenantId};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub(crate) fn routes() -> Router<Arc<Review>> {
    Router::new()
        .route("/api/v1/cdrs", get(cdrs))
        .route("/api/v1/cdrs/{cdr_id}", get(cdr))
        .route("/api/v1/media/{*key}", get(crate::media::media))
        .route("/api/v1/peaks/{*key}", get(crate::peaks::peaks))
        .route("/api/v1/exports", get(exports).post(create_export))
        .route("/api/v1/exports/{id}", get(export))
        .route("/api/v1/exports/{id}/download", get(download))
}

/// 404, the same for what does not exist and what the caller may not see.
pub(crate) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"error": "not found"})),
    )
        .into_response()
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "review request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({"error": "internal error"})),
    )
        .into_response()
}

pub(crate) fn bad_request(m: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": m.to_string()})),
    )
        .into_response()
}

/// Runs a search and records it (`read`, the query as the reason, the ids shown).
pub(crate) async fn audited_search(
    s: &Review,
    v: &Viewer,
    p: &SearchParams,
) -> Result<crate::SearchPage, Response> {
    let page = search(s.ports.meta.as_ref(), v, &s.cfg.tenants, p)
        .await
        .map_err(|e| match e {
            SearchError::Invalid(m) => bad_request(m),
            SearchError::Store(e) => internal(e),
        })?;
    let mut tenants = v.tenants(&s.cfg.tenants);
    if let Some(t) = p.tenant.as_deref().filter(|t| !t.is_empty()) {
        tenants.retain(|x| x.as_str() == t);
    }
    let q = p.canonical();
    s.record(
        &tenants,
        &v.name,
        AuditAction::Read,
        page.cdrs.iter().map(|c| c.cdr_id.clone()).collect(),
        Some(format!("search: {q}")),
        &format!("ok: {} matches, page {}", page.total, page.page),
    )
    .await
    .map_err(internal)?;
    Ok(page)
}

async fn cdrs(State(s): State<Arc<Review>>, v: Viewer, Query(p): Query<SearchParams>) -> Response {
    match audited_search(&s, &v, &p).await {
        Ok(page) => Json(page).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub(crate) struct CdrRef {
    pub(crate) tenant: Option<String>,
}

/// The CDR `id` the viewer may see (of `tenant`, or of any tenant they see).
pub(crate) async fn find_cdr(
    s: &Review,
    v: &Viewer,
    tenant: Option<&str>,
    id: &str,
) -> Result<Option<Cdr>, Response> {
    for t in v.tenants(&s.cfg.tenants) {
        if tenant.is_some_and(|x| !x.is_empty() && x != t.as_str()) {
            continue;
        }
        if let Some(c) = s.ports.meta.get_cdr(&t, id).await.map_err(internal)?
            && v.sees(&c)
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

async fn cdr(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<CdrRef>,
) -> Response {
    match find_cdr(&s, &v, q.tenant.as_deref(), &id).await {
        Ok(Some(c)) => {
            if let Err(e) = s
                .record(
                    std::slice::from_ref(&c.tenant),
                    &v.name,
                    AuditAction::Read,
                    vec![c.cdr_id.clone()],
                    None,
                    "ok: cdr",
                )
                .await
            {
                return internal(e);
            }
            Json(c).into_response()
        }
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

/// `POST /api/v1/exports`.
#[derive(Deserialize)]
pub(crate) struct ExportRequest {
    /// `{"tenant": T, "cdr_id": ID}` per conversation.
    pub(crate) cdrs: Vec<ExportRef>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ExportRef {
    pub(crate) tenant: String,
    pub(crate) cdr_id: String,
}

/// Starts an export job of CDRs the viewer may see; any other is 404.
pub(crate) async fn start_export(
    s: &Arc<Review>,
    v: &Viewer,
    refs: Vec<ExportRef>,
    reason: Option<String>,
) -> Result<String, Response> {
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if s.cfg.export_reason == ReasonPolicy::Required && reason.is_none() {
        return Err(bad_request("a reason is required for an export"));
    }
    if refs.is_empty() {
        return Err(bad_request("select at least one conversation"));
    }
    let mut cdrs = Vec::new();
    for r in &refs {
        match find_cdr(s, v, Some(&r.tenant), &r.cdr_id).await? {
            Some(c) => cdrs.push(c),
            None => return Err(not_found()),
        }
    }
    std::fs::create_dir_all(&s.cfg.exports_dir).map_err(internal)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let path = s.cfg.exports_dir.join(format!("{id}.zip"));
    let file = std::fs::File::create(&path).map_err(internal)?;
    let done = Arc::new(AtomicU64::new(0));
    let job = ExportJob {
        id: id.clone(),
        started_by: v.name.clone(),
        started_at: s.ports.clock.now(),
        reason: reason.clone(),
        cdrs: cdrs
            .iter()
            .map(|c| format!("{}/{}", c.tenant, c.cdr_id))
            .collect(),
        total_bytes: crate::bundle::media_total(&cdrs),
        done: done.clone(),
        state: JobState::Running,
    };
    s.jobs.lock().unwrap_or_else(|e| e.into_inner()).push(job);
    let (s2, name, id2) = (s.clone(), v.name.clone(), id.clone());
    tokio::spawn(async move {
        let mut tenants: Vec<TenantId> = cdrs.iter().map(|c| c.tenant.clone()).collect();
        tenants.sort();
        tenants.dedup();
        let mut objects: Vec<String> = cdrs.iter().map(|c| c.cdr_id.clone()).collect();
        let r = crate::bundle::write_bundle(
            s2.ports.blobs.clone(),
            cdrs,
            file,
            format!("review:{name}"),
            reason.clone(),
            done,
        )
        .await;
        let state = match &r {
            Ok(sum) => {
                objects.extend(sum.files.iter().filter_map(|f| f.key.clone()));
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                JobState::Done {
                    size,
                    files: sum.files.len(),
                }
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                JobState::Failed {
                    error: e.to_string(),
                }
            }
        };
        let result = match &state {
            JobState::Done { files, .. } => format!("ok: bundle {id2}, {files} files"),
            JobState::Failed { error } => format!("failed: bundle {id2}: {error}"),
            JobState::Running => String::new(),
        };
        // The job is shown done only once its export is in the audit trail.
        let audited = s2
            .record(
                &tenants,
                &name,
                AuditAction::Export,
                objects,
                reason,
                &result,
            )
            .await;
        let state = match audited {
            Ok(()) => state,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                JobState::Failed {
                    error: format!("not recorded in the audit trail: {e}"),
                }
            }
        };
        if let Some(j) = s2
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .find(|j| j.id == id2)
        {
            j.state = state;
        }
    });
    Ok(id)
}

async fn create_export(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Json(req): Json<ExportRequest>,
) -> Response {
    match start_export(&s, &v, req.cdrs, req.reason).await {
        Ok(id) => (
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/api/v1/exports/{id}"))],
            Json(serde_json::json!({"id": id})),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// The jobs the viewer may see: their own; an admin's, all.
pub(crate) fn visible_jobs(s: &Review, v: &Viewer) -> Vec<ExportJob> {
    s.jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|j| v.role == ReviewRole::Admin || j.started_by == v.name)
        .cloned()
        .collect()
}

async fn exports(State(s): State<Arc<Review>>, v: Viewer) -> Response {
    let jobs: Vec<_> = visible_jobs(&s, &v)
        .iter()
        .map(ExportJob::to_json)
        .collect();
    Json(serde_json::json!({ "exports": jobs })).into_response()
}

async fn export(State(s): State<Arc<Review>>, v: Viewer, Path(id): Path<String>) -> Response {
    match visible_jobs(&s, &v).into_iter().find(|j| j.id == id) {
        Some(j) => Json(j.to_json()).into_response(),
        None => not_found(),
    }
}

async fn download(State(s): State<Arc<Review>>, v: Viewer, Path(id): Path<String>) -> Response {
    let Some(job) = visible_jobs(&s, &v).into_iter().find(|j| j.id == id) else {
        return not_found();
    };
    if !matches!(job.state, JobState::Done { .. }) {
        return (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": "the export is not ready"})),
        )
            .into_response();
    }
    let path = s.cfg.exports_dir.join(format!("{}.zip", job.id));
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let mut tenants: Vec<TenantId> = job
        .cdrs
        .iter()
        .filter_map(|c| c.split('/').next())
        .filter_map(|t| TenantId::new(t).ok())
        .collect();
    tenants.sort();
    tenants.dedup();
    if let Err(e) = s
        .record(
            &tenants,
            &v.name,
            AuditAction::Read,
            vec![format!("export:{}", job.id)],
            job.reason.clone(),
            "ok: bundle downloaded",
        )
        .await
    {
        return internal(e);
    }
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"zoom-export-{}.zip\"", job.id),
            ),
        ],
        axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response()
}
