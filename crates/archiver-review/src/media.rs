//! `GET /api/v1/media/{key}`: a stored object with HTTP Range (206), its SHA-256 as the
//! `ETag`, the content type by file type; the first request of each file per session is
//! audited (a play when ranged, else a download) with the reason the UI asked for.

use crate::{ReasonPolicy, Review, Viewer};
use archiver_core::{AuditAction, ObjectKey, TenantId};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Deserialize;
use std::sync::Arc;

/// The content type of a stored file, by its extension.
pub fn content_type(key: &str) -> &'static str {
    let ext = key
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "mp4" => "video/mp4",
        "vtt" => "text/vtt; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A single byte range of an object of `size` bytes: `Ok(None)` for no (or an ignored
/// multi-part) range, `Err(())` for an unsatisfiable one.
pub fn parse_range(h: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = h.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.checked_sub(1).ok_or(())?)
    } else {
        let s: u64 = a.parse().map_err(|_| ())?;
        let e = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        (s, e)
    };
    if start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

#[derive(Deserialize)]
pub(crate) struct MediaQuery {
    pub(crate) cdr: Option<String>,
    reason: Option<String>,
}

/// What [`authorise`] found: the object's key and tenant, and the CDR it was reached
/// through (with what that CDR records of it).
pub(crate) struct Access {
    pub(crate) key: ObjectKey,
    pub(crate) tenant: TenantId,
    pub(crate) cdr_id: Option<String>,
    /// Size and SHA-256 as the CDR lists them.
    pub(crate) known: Option<(Option<u64>, Option<String>)>,
}

/// The access rule of a stored object (media and its waveform peaks alike): through the
/// CDR it belongs to (what a user-level grant needs), or by key for whoever sees the whole
/// tenant. Anything else is 404, exactly like what does not exist.
pub(crate) async fn authorise(
    s: &Review,
    v: &Viewer,
    key: String,
    cdr: Option<&str>,
) -> Result<Access, Response> {
    let nf = crate::api::not_found;
    let Ok(key) = ObjectKey::parse(key) else {
        return Err(nf());
    };
    let Some(tenant) = key
        .as_str()
        .split('/')
        .next()
        .and_then(|t| TenantId::new(t).ok())
    else {
        return Err(nf());
    };
    if !v.sees_tenant(&tenant) || archiver_core::is_derived(&key) {
        return Err(nf());
    }
    let mut cdr_id = None;
    let mut known = None;
    if let Some(id) = cdr.filter(|c| !c.is_empty()) {
        match s.ports.meta.get_cdr(&tenant, id).await {
            Ok(Some(c)) if v.sees(&c) => {
                known = c
                    .media
                    .iter()
                    .find(|m| m.key == key.as_str())
                    .map(|m| (m.size, m.sha256.clone()));
                cdr_id = Some(c.cdr_id.clone());
            }
            Ok(_) => return Err(nf()),
            Err(e) => return Err(crate::api::internal(e)),
        }
        if known.is_none() {
            return Err(nf());
        }
    } else if !v.sees_whole_tenant(&tenant) {
        return Err(nf());
    }
    Ok(Access {
        key,
        tenant,
        cdr_id,
        known,
    })
}

pub(crate) async fn media(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Path(key): Path<String>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> Response {
    let nf = crate::api::not_found;
    let Access {
        key,
        tenant,
        cdr_id,
        known,
    } = match authorise(&s, &v, key, q.cdr.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let info = match s.ports.blobs.head(&key).await {
        Ok(Some(i)) => i,
        Ok(None) => return nf(),
        Err(e) => return crate::api::internal(e),
    };
    let size = info.size;
    let sha = known
        .and_then(|(_, sha)| sha)
        .or(info.sha256)
        .unwrap_or_default();
    let range = headers.get(header::RANGE).and_then(|h| h.to_str().ok());
    let reason = q.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    // The first request of this file in this session is recorded before any byte leaves.
    let first = s
        .played
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(v.session.clone())
        .or_default()
        .insert(key.to_string());
    if first {
        if s.cfg.play_reason == ReasonPolicy::Required && reason.is_none() {
            forget(&s, &v, &key);
            return (
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({"error": "a reason is required to play or download this file"})),
            )
                .into_response();
        }
        let what = if range.is_some() { "play" } else { "download" };
        let mut objects = vec![key.to_string()];
        objects.extend(cdr_id.clone());
        let reason = match s.cfg.play_reason {
            ReasonPolicy::Off => None,
            _ => reason.map(str::to_string),
        };
        if let Err(e) = s
            .record(
                std::slice::from_ref(&tenant),
                &v.name,
                AuditAction::Read,
                objects,
                reason,
                &format!("ok: {what}"),
            )
            .await
        {
            forget(&s, &v, &key);
            return crate::api::internal(e);
        }
    }
    let etag = format!("\"{sha}\"");
    if !sha.is_empty()
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let ctype = content_type(key.as_str());
    match parse_range(range, size) {
        Err(()) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{size}"))],
        )
            .into_response(),
        Ok(None) => match s.ports.blobs.get(&key).await {
            Ok(body) => (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, ctype.to_string()),
                    (header::CONTENT_LENGTH, size.to_string()),
                    (header::ACCEPT_RANGES, "bytes".into()),
                    (header::ETAG, etag),
                    (header::CACHE_CONTROL, "private, no-transform".into()),
                ],
                Body::from_stream(body.map_err(axum::Error::new)),
            )
                .into_response(),
            Err(e) => crate::api::internal(e),
        },
        Ok(Some((start, end))) => {
            let len = end - start + 1;
            match s.ports.blobs.get_slice(&key, start, len).await {
                Ok(body) => (
                    StatusCode::PARTIAL_CONTENT,
                    [
                        (header::CONTENT_TYPE, ctype.to_string()),
                        (header::CONTENT_LENGTH, len.to_string()),
                        (header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
                        (header::ACCEPT_RANGES, "bytes".into()),
                        (header::ETAG, etag),
                        (header::CACHE_CONTROL, "private, no-transform".into()),
                    ],
                    Body::from_stream(body.map_err(axum::Error::new)),
                )
                    .into_response(),
                Err(e) => crate::api::internal(e),
            }
        }
    }
}

fn forget(s: &Review, v: &Viewer, key: &ObjectKey) {
    if let Some(set) = s
        .played
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&v.session)
    {
        set.remove(key.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-"), 10), Ok(Some((0, 9))));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Ok(Some((2, 4))));
        assert_eq!(parse_range(Some("bytes=2-40"), 10), Ok(Some((2, 9))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-"), 0), Err(()));
    }
}
