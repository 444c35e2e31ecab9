//! Export bundles: a ZIP of conversations with their native media, each CDR as JSON, a
//! `manifest.json` (path, key, SHA-256 and size per file), a `MANIFEST.sha256`
//! (`sha256sum -c` format) and an `index.html` that plays them offline. Media is streamed
//! from the store into the ZIP (stored, not compressed) and its SHA-256 checked against
//! the archive's record on the way: an export never carries an altered file.

use crate::html::esc;
use archiver_core::{BlobStore, Cdr, MediaState, ObjectKey};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One file of a bundle.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BundleFile {
    /// Path inside the ZIP.
    pub path: String,
    /// The archive's object key (media only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// What a bundle holds.
#[derive(Clone, Debug, Serialize)]
pub struct BundleSummary {
    /// The conversations (CDR ids).
    pub cdrs: Vec<String>,
    /// Every file but `manifest.json` and `MANIFEST.sha256`.
    pub files: Vec<BundleFile>,
    /// Bytes of media.
    pub media_bytes: u64,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading a stored object failed.
    #[error("reading {key}: {message}")]
    Read {
        /// The object.
        key: String,
        /// What failed.
        message: String,
    },
    /// A stored object is not what the archive recorded.
    #[error("{key}: stored SHA-256 {got} differs from the recorded {want}: not exported")]
    Altered {
        /// The object.
        key: String,
        /// Recorded.
        want: String,
        /// Read.
        got: String,
    },
    /// Writing the ZIP failed.
    #[error("writing the bundle: {0}")]
    Write(String),
}

fn werr(e: impl std::fmt::Display) -> BundleError {
    BundleError::Write(e.to_string())
}

/// A file name from a CDR id (ids hold `:`, `/`, `+`, `=`).
fn file_stem(i: usize, id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:03}-{}", i + 1, s)
}

/// The total media bytes of `cdrs` (archived files only): the progress denominator.
pub fn media_total(cdrs: &[Cdr]) -> u64 {
    cdrs.iter()
        .flat_map(|c| &c.media)
        .filter(|m| m.state == MediaState::Archived)
        .filter_map(|m| m.size)
        .sum()
}

/// Writes the bundle of `cdrs` into `out`. `done` counts media bytes written (progress).
/// `created_by` and `reason` go into `manifest.json`. Runs the ZIP writing on a blocking
/// thread; the store is read from the calling runtime.
pub async fn write_bundle(
    blobs: Arc<dyn BlobStore>,
    cdrs: Vec<Cdr>,
    out: std::fs::File,
    created_by: String,
    reason: Option<String>,
    done: Arc<AtomicU64>,
) -> Result<BundleSummary, BundleError> {
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        write_blocking(&rt, blobs.as_ref(), &cdrs, out, &created_by, reason, &done)
    })
    .await
    .map_err(werr)?
}

fn write_blocking(
    rt: &tokio::runtime::Handle,
    blobs: &dyn BlobStore,
    cdrs: &[Cdr],
    out: std::fs::File,
    created_by: &str,
    reason: Option<String>,
    done: &AtomicU64,
) -> Result<BundleSummary, BundleError> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(out);
    let mut files = Vec::new();
    let mut media_bytes = 0;
    let stored = |large: bool| {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(large)
    };
    let add_small = |zip: &mut zip::ZipWriter<std::fs::File>,
                     files: &mut Vec<BundleFile>,
                     path: String,
                     bytes: &[u8]|
     -> Result<(), BundleError> {
        zip.start_file(path.as_str(), stored(false)).map_err(werr)?;
        zip.write_all(bytes).map_err(werr)?;
        files.push(BundleFile {
            path,
            key: None,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        });
        Ok(())
    };
    let mut index = String::new();
    for (i, c) in cdrs.iter().enumerate() {
        let json = serde_json::to_vec_pretty(c).map_err(werr)?;
        let cdr_path = format!("cdrs/{}.json", file_stem(i, &c.cdr_id));
        add_small(&mut zip, &mut files, cdr_path.clone(), &json)?;
        index.push_str(&format!(
            "<section><h2>{} · {} · {}</h2><p>{} → {} ({} s) <a href=\"{}\">CDR</a></p>\n",
            esc(&c.start_time.to_rfc3339()),
            esc(&c.user),
            esc(&c.source_platform),
            esc(&c.from_info),
            esc(&c.to_info),
            c.duration_seconds,
            esc(&crate::html::key_path(&cdr_path)),
        ));
        for m in c.media.iter().filter(|m| m.state == MediaState::Archived) {
            let key = ObjectKey::parse(m.key.clone()).map_err(werr)?;
            let path = format!("media/{}", m.key);
            let large = m.size.unwrap_or(u64::MAX) >= u32::MAX as u64;
            zip.start_file(path.as_str(), stored(large)).map_err(werr)?;
            let mut h = Sha256::new();
            let mut size = 0u64;
            let mut body = rt
                .block_on(blobs.get(&key))
                .map_err(|e| BundleError::Read {
                    key: m.key.clone(),
                    message: e.to_string(),
                })?;
            while let Some(chunk) = rt.block_on(body.next()) {
                let chunk = chunk.map_err(|e| BundleError::Read {
                    key: m.key.clone(),
                    message: e.to_string(),
                })?;
                h.update(&chunk);
                zip.write_all(&chunk).map_err(werr)?;
                size += chunk.len() as u64;
                done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            let sha = hex::encode(h.finalize());
            if let Some(want) = &m.sha256
                && want != &sha
            {
                return Err(BundleError::Altered {
                    key: m.key.clone(),
                    want: want.clone(),
                    got: sha,
                });
            }
            media_bytes += size;
            let href = esc(&crate::html::key_path(&path));
            let ft = m.file_type.to_ascii_uppercase();
            let player = match crate::media::content_type(&m.key) {
                t if t.starts_with("audio/") => {
                    format!("<audio controls preload=\"metadata\" src=\"{href}\"></audio>")
                }
                t if t.starts_with("video/") => format!(
                    "<video controls preload=\"metadata\" width=\"480\" src=\"{href}\"></video>"
                ),
                _ => String::new(),
            };
            index.push_str(&format!(
                "<div class=\"file\"><a href=\"{href}\">{}</a> {} bytes, SHA-256 <code>{sha}</code><br>{player}</div>\n",
                esc(&ft),
                size
            ));
            files.push(BundleFile {
                path,
                key: Some(m.key.clone()),
                sha256: sha,
                size,
            });
        }
        index.push_str("</section>\n");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Zoom archive export</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto}}code{{font-size:.8em}}section{{border-top:1px solid #ccc}}</style></head>\
<body><h1>Zoom archive export</h1><p>{} conversations, exported by {}. Check the files with <code>sha256sum -c MANIFEST.sha256</code>.</p>\n{index}</body></html>\n",
        cdrs.len(),
        esc(created_by)
    );
    add_small(&mut zip, &mut files, "index.html".into(), html.as_bytes())?;
    let summary = BundleSummary {
        cdrs: cdrs.iter().map(|c| c.cdr_id.clone()).collect(),
        files,
        media_bytes,
    };
    let manifest = serde_json::json!({
        "created_by": created_by,
        "reason": reason,
        "cdrs": summary.cdrs,
        "files": summary.files,
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(werr)?;
    let mut all = summary.files.clone();
    add_small(&mut zip, &mut all, "manifest.json".into(), &manifest)?;
    let sums: String = all
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.path))
        .collect();
    zip.start_file("MANIFEST.sha256", stored(false))
        .map_err(werr)?;
    zip.write_all(sums.as_bytes()).map_err(werr)?;
    zip.finish().map_err(werr)?;
    Ok(summary)
}

/// Where an export job stands.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JobState {
    /// Being written.
    Running,
    /// Written.
    Done {
        /// Size of the ZIP.
        size: u64,
        /// Files in it.
        files: usize,
    },
    /// Failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// A background export.
#[derive(Clone, Debug, Serialize)]
pub struct ExportJob {
    /// Its id.
    pub id: String,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: Option<String>,
    /// `tenant/cdr_id` of each conversation.
    pub cdrs: Vec<String>,
    /// Media bytes to write.
    pub total_bytes: u64,
    /// Media bytes written.
    #[serde(skip)]
    pub done: Arc<AtomicU64>,
    /// State.
    #[serde(flatten)]
    pub state: JobState,
}

impl ExportJob {
    /// Media bytes written so far.
    pub fn done_bytes(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Percent done.
    pub fn percent(&self) -> u64 {
        match self.state {
            JobState::Done { .. } => 100,
            _ if self.total_bytes == 0 => 0,
            _ => (self.done_bytes() * 100 / self.total_bytes).min(99),
        }
    }

    /// The job as JSON (with its progress).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["done_bytes"] = self.done_bytes().into();
        v["percent"] = self.percent().into();
        v
    }
}
