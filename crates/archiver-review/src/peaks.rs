//! `GET /api/v1/peaks/{key}`: the waveform peaks of a stored recording (the core's
//! sidecar format, `archiver_core::domain::peaks`), which the player page draws above each
//! audio and video player.
//!
//! The same access rule as `/api/v1/media/{key}` (401 without credentials, 404 for what
//! the viewer may not see, through `?cdr=` or by key for whole-tenant viewers). Peaks are
//! derived data, not the recording: reading them is no play and no download, so it is not
//! audited and does not count as the session's first request of the file (the play that
//! follows is audited as usual). A recording archived before peaks existed has them
//! computed on demand (one decode of the stored object, with the analyser the server was
//! given: [`crate::Review::with_analyser`]) and stored beside it for next time; without an
//! analyser, or for a file that cannot be decoded, the answer is 404.

use crate::media::{Access, MediaQuery, authorise};
use crate::{Review, Viewer};
use archiver_core::services::peaks;
use archiver_core::{ContentKind, ObjectKey, ObjectMeta, PEAKS_CONTENT_TYPE, Source};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use std::sync::Arc;

/// The media kind of a stored object, by its extension.
fn kind_of(key: &ObjectKey) -> ContentKind {
    match key.as_str().rsplit('.').next().unwrap_or_default() {
        "mp3" => ContentKind::Mp3,
        "m4a" => ContentKind::M4a,
        "mp4" => ContentKind::Mp4,
        _ => ContentKind::Document,
    }
}

/// Descriptive metadata for a sidecar computed on demand, from the recording's key
/// (`{tenant}/{source}/{yyyy}/{mm}/{dd}/{conversation}/{file}.{ext}`) and its retention.
fn meta_of(a: &Access, retain_until: Option<chrono::DateTime<chrono::Utc>>) -> Option<ObjectMeta> {
    let parts: Vec<&str> = a.key.as_str().split('/').collect();
    let [_, source, _, _, _, conversation, file] = parts.as_slice() else {
        return None;
    };
    let unescape = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some(ObjectMeta {
        tenant: a.tenant.clone(),
        source: source.parse::<Source>().ok()?,
        conversation_id: unescape(conversation),
        file_id: unescape(file.rsplit_once('.').map_or(file, |(stem, _)| stem)),
        content_type: None,
        retain_until,
    })
}

pub(crate) async fn peaks(
    State(s): State<Arc<Review>>,
    v: Viewer,
    Path(key): Path<String>,
    Query(q): Query<MediaQuery>,
) -> Response {
    let nf = || {
        (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "no waveform for this file"})),
        )
            .into_response()
    };
    let a = match authorise(&s, &v, key, q.cdr.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let kind = kind_of(&a.key);
    if !kind.is_media() {
        return nf();
    }
    let blobs = s.ports.blobs.clone();
    let found = match s.analyser.get() {
        None => peaks::load(blobs.as_ref(), &a.key).await,
        Some(analyser) => {
            let info = match blobs.head(&a.key).await {
                Ok(Some(i)) => i,
                Ok(None) => return crate::api::not_found(),
                Err(e) => return crate::api::internal(e),
            };
            let retain_until = blobs
                .protection(&a.key)
                .await
                .ok()
                .and_then(|p| p.retain_until);
            let Some(meta) = meta_of(&a, retain_until) else {
                return nf();
            };
            peaks::load_or_compute(
                blobs.clone(),
                analyser.as_ref(),
                &a.key,
                kind,
                info.size,
                &meta,
            )
            .await
        }
    };
    match found {
        Ok(Some(p)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, PEAKS_CONTENT_TYPE),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            p.to_bytes(),
        )
            .into_response(),
        Ok(None) => nf(),
        Err(e) => crate::api::internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_meta_from_the_key() {
        let a = Access {
            key: ObjectKey::parse("acme/phone/2026/12/07/c%2F1/f%3D1.mp3").unwrap(),
            tenant: archiver_core::TenantId::new("acme").unwrap(),
            cdr_id: None,
            known: None,
        };
        let m = meta_of(&a, None).unwrap();
        assert_eq!(m.source, Source::Phone);
        assert_eq!(m.conversation_id, "c/1");
        assert_eq!(m.file_id, "f=1");
        assert_eq!(kind_of(&a.key), ContentKind::Mp3);
        let short = Access {
            key: ObjectKey::parse("acme/x.mp3").unwrap(),
            ..a
        };
        assert!(meta_of(&short, None).is_none());
    }
}
