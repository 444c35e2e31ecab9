use archiver_core::{
    BlobError, BlobStore, BoxError, ByteStream, Caused, ObjectInfo, ObjectKey, ObjectMeta,
    Protection, VerifiedBody,
};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// The extended attribute that records an object's SHA-256 (lowercase hex).
pub const SHA256_XATTR: &str = "user.zoom_archiver.sha256";
/// The extended attribute that records an object's retain-until date (RFC 3339), or
/// `none`: written with every object, so a delete knows the object's retention.
pub const RETAIN_XATTR: &str = "user.zoom_archiver.retain_until";
/// The extended attribute present while an object is under a legal hold.
pub const HOLD_XATTR: &str = "user.zoom_archiver.legal_hold";

/// Directory under the root for files being written (same filesystem as the objects).
const TMP_DIR: &str = ".tmp";
/// Write buffer of the writer thread.
const WRITE_BUF: usize = 1 << 20;
/// Chunks in flight between the body stream and the writer thread.
const WRITE_QUEUE: usize = 32;
/// Chunk size of `get` and `get_from`.
const READ_CHUNK: usize = 1 << 20;
/// Temporary files older than this are removed when a store is opened.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

/// Objects as files: the object `a/b/c.mp3` is the file `root/a/b/c.mp3`.
///
/// `put_stream` streams the body to `root/.tmp/` through one blocking writer thread (1 MiB
/// buffer), fsyncs it, records the SHA-256 in the `user.zoom_archiver.sha256` extended
/// attribute, publishes it create-only with a hard link (falling back to
/// `renameat2(RENAME_NOREPLACE)`), and fsyncs the directory. A failed body, a refused body or
/// an existing object leaves no trace. Without extended attribute support `head` reports no
/// digest (callers then hash the object themselves).
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

fn backend(key: &str, source: impl Into<BoxError>, retryable: bool) -> BlobError {
    BlobError::Backend {
        key: key.to_string(),
        source: source.into(),
        retryable,
    }
}

fn io_err(key: &str, what: &str, e: io::Error) -> BlobError {
    let retryable = !matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput
    );
    backend(key, Caused::boxed(what, e), retryable)
}

fn join_err(key: &str, e: tokio::task::JoinError) -> BlobError {
    backend(key, Caused::boxed("worker thread failed", e), false)
}

impl FsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes temporary files left
    /// over for more than a day by interrupted writes.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp)?;
        let removed = clean_stale_tmp(&tmp, STALE_TMP);
        if removed > 0 {
            tracing::info!(removed, dir = %tmp.display(), "removed stale temporary files");
        }
        Ok(Self { root, tmp })
    }

    /// The (canonical) root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file path of the object at `key` (whether or not it exists).
    pub fn path_of(&self, key: &ObjectKey) -> Result<PathBuf, BlobError> {
        self.path_for(key.as_str())
    }

    fn path_for(&self, key: &str) -> Result<PathBuf, BlobError> {
        let mut p = self.root.clone();
        for (i, seg) in key.split('/').enumerate() {
            let bad = seg.is_empty()
                || seg == "."
                || seg == ".."
                || seg.contains(['\\', '\0'])
                || (i == 0 && seg == TMP_DIR);
            if bad {
                return Err(backend(
                    key,
                    "refused an object key that does not map inside the store",
                    false,
                ));
            }
            p.push(seg);
        }
        Ok(p)
    }
}

/// Removes files in `dir` last modified more than `age` ago; returns how many.
fn clean_stale_tmp(dir: &Path, age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let cutoff = SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut n = 0;
    for e in entries.flatten() {
        let Ok(md) = e.metadata() else { continue };
        if md.is_file()
            && md.modified().is_ok_and(|m| m < cutoff)
            && fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}

/// Fails unless the existing path `p` resolves inside `root` (no symlink escapes).
fn ensure_inside(root: &Path, p: &Path) -> io::Result<()> {
    let real = p.canonicalize()?;
    if real.starts_with(root) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "path resolves outside the store root",
        ))
    }
}

/// Creates the missing directories from `root` down to `dir`, fsyncing each new entry's parent.
fn create_dirs_synced(root: &Path, dir: &Path) -> io::Result<()> {
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "outside root"))?;
    let mut cur = root.to_path_buf();
    for comp in rel.components() {
        let parent = cur.clone();
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => sync_dir(&parent)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !fs::symlink_metadata(&cur)?.is_dir() {
                    ensure_inside(root, &cur)?;
                    if !cur.is_dir() {
                        return Err(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            "a file is in the way of the object's directory",
                        ));
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    ensure_inside(root, dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The writer thread: drains the channel into the temporary file until the end marker
/// (`None`). If the channel closes without it (body error, cancelled put) or a write fails,
/// the writer removes the temporary file itself, so no path leaves it behind.
fn write_tmp(path: &Path, mut rx: mpsc::Receiver<Option<Bytes>>) -> io::Result<Option<File>> {
    let f = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut w = BufWriter::with_capacity(WRITE_BUF, f);
    let result = loop {
        match rx.blocking_recv() {
            Some(Some(chunk)) => {
                if let Err(e) = w.write_all(&chunk) {
                    break Err(e);
                }
            }
            Some(None) => break w.into_inner().map(Some).map_err(|e| e.into_error()),
            None => break Ok(None),
        }
    };
    if !matches!(result, Ok(Some(_))) {
        let _ = fs::remove_file(path);
    }
    result
}

enum Publish {
    Done,
    Exists,
}

/// Records the digest, fsyncs, and links the temporary file to `dest` without replacing anything.
fn publish(
    root: &Path,
    file: File,
    tmp: &Path,
    dest: &Path,
    sha256: &str,
    retain_until: &str,
) -> io::Result<Publish> {
    if let Err(e) = xattr::set(&file, SHA256_XATTR, sha256) {
        tracing::debug!(error = %e, "extended attributes unavailable; the digest is not recorded");
    }
    // Without it the object can never be deleted by the archive (fail safe).
    if let Err(e) = xattr::set(&file, RETAIN_XATTR, retain_until) {
        tracing::debug!(error = %e, "extended attributes unavailable; the retention is not recorded");
    }
    file.sync_all()?;
    drop(file);
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "object without a directory"))?;
    create_dirs_synced(root, parent)?;
    let linked = match fs::hard_link(tmp, dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(e) => rename_noreplace(tmp, dest).map_err(|_| e),
    };
    let _ = fs::remove_file(tmp);
    match linked {
        Ok(()) => {
            sync_dir(parent)?;
            Ok(Publish::Done)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Publish::Exists),
        Err(e) => Err(e),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rename_noreplace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no create-only rename on this platform",
    ))
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
mod xattr {
    use super::SHA256_XATTR;
    use std::fs::File;
    use std::io;
    use std::path::Path;

    pub fn set(file: &File, name: &str, value: &str) -> io::Result<()> {
        rustix::fs::fsetxattr(
            file,
            name,
            value.as_bytes(),
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(io::Error::from)
    }

    pub fn set_path(path: &Path, name: &str, value: Option<&str>) -> io::Result<()> {
        match value {
            Some(v) => {
                rustix::fs::setxattr(path, name, v.as_bytes(), rustix::fs::XattrFlags::empty())
                    .map_err(io::Error::from)
            }
            None => match rustix::fs::removexattr(path, name) {
                Ok(()) => Ok(()),
                Err(rustix::io::Errno::NODATA) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            },
        }
    }

    /// The attribute's value; `Ok(None)` when the file has none.
    pub fn read(path: &Path, name: &str) -> io::Result<Option<String>> {
        let mut buf = [0u8; 128];
        match rustix::fs::getxattr(path, name, &mut buf[..]) {
            Ok(n) => Ok(Some(String::from_utf8_lossy(&buf[..n]).into_owned())),
            Err(rustix::io::Errno::NODATA) => Ok(None),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    pub fn get(path: &Path) -> Option<String> {
        let mut buf = [0u8; 64];
        let n = rustix::fs::getxattr(path, SHA256_XATTR, &mut buf[..]).ok()?;
        let v = &buf[..n];
        (n == 64
            && v.iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
        .then(|| String::from_utf8_lossy(v).into_owned())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod xattr {
    use std::fs::File;
    use std::io;
    use std::path::Path;

    pub fn set(_file: &File, _name: &str, _value: &str) -> io::Result<()> {
        Err(unsupported())
    }

    pub fn set_path(_path: &Path, _name: &str, _value: Option<&str>) -> io::Result<()> {
        Err(unsupported())
    }

    pub fn read(_path: &Path, _name: &str) -> io::Result<Option<String>> {
        Err(unsupported())
    }

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "no extended attributes on this platform",
        )
    }

    pub fn get(_path: &Path) -> Option<String> {
        None
    }
}

fn info_of(root: &Path, key: &ObjectKey, path: &Path) -> io::Result<Option<ObjectInfo>> {
    match fs::symlink_metadata(path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    // Any symlink on the way (in the object's directories or the object itself) must stay inside.
    ensure_inside(root, path)?;
    let md = fs::metadata(path)?;
    if !md.is_file() {
        return Ok(None);
    }
    Ok(Some(ObjectInfo {
        key: key.clone(),
        size: md.len(),
        sha256: xattr::get(path),
    }))
}

/// Collects the objects under `dir` (relative key `rel`) whose key starts with `prefix`.
fn walk(dir: &Path, rel: &str, prefix: &str, out: &mut Vec<ObjectInfo>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if rel.is_empty() && name == TMP_DIR {
            continue;
        }
        let key = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        // Symlinks are not followed: everything listed lies inside the root.
        let ft = entry.file_type()?;
        if ft.is_dir() {
            let as_dir = format!("{key}/");
            if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                walk(&entry.path(), &key, prefix, out)?;
            }
        } else if ft.is_file() && key.starts_with(prefix) {
            let Ok(k) = ObjectKey::parse(key) else {
                continue;
            };
            let md = entry.metadata()?;
            out.push(ObjectInfo {
                key: k,
                size: md.len(),
                sha256: xattr::get(&entry.path()),
            });
        }
    }
    Ok(())
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl FsBlobStore {
    /// Streams the object at `key` from byte `offset` (an offset at or past the end gives
    /// an empty stream) in [`READ_CHUNK`] chunks read by a blocking thread.
    async fn read_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        let path = self.path_for(key.as_str())?;
        let root = self.root.clone();
        let opened = tokio::task::spawn_blocking(move || -> io::Result<Option<File>> {
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            ensure_inside(&root, &path)?;
            if !fs::metadata(&path)?.is_file() {
                return Ok(None);
            }
            let mut file = File::open(&path)?;
            if offset > 0 {
                // Seeking past the end is allowed: reads there return nothing.
                file.seek(SeekFrom::Start(offset))?;
            }
            Ok(Some(file))
        })
        .await
        .map_err(|e| join_err(key.as_str(), e))?
        .map_err(|e| io_err(key.as_str(), "opening the object", e))?;
        let Some(mut file) = opened else {
            return Err(BlobError::NotFound(key.clone()));
        };
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(2);
        tokio::task::spawn_blocking(move || {
            loop {
                let mut buf = BytesMut::zeroed(READ_CHUNK);
                let item = match read_full(&mut file, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(buf.freeze())
                    }
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    break; // The reader went away, or the error was delivered.
                }
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed())
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        mut body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError> {
        let k = key.as_str();
        let dest = self.path_for(k)?;
        // Refuse early, before downloading anything (the publish step checks again, atomically).
        if tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(BlobError::AlreadyExists(key.clone()));
        }
        let tmp = self
            .tmp
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let (tx, rx) = mpsc::channel::<Option<Bytes>>(WRITE_QUEUE);
        let writer = {
            let tmp = tmp.clone();
            tokio::task::spawn_blocking(move || write_tmp(&tmp, rx))
        };
        let mut body_error = None;
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) if chunk.is_empty() => {}
                Ok(chunk) => {
                    if tx.send(Some(chunk)).await.is_err() {
                        break; // The writer failed; its error is reported below.
                    }
                }
                Err(e) => {
                    body_error = Some(e);
                    break;
                }
            }
        }
        let summary = body.summary().cloned();
        let complete = body_error.is_none() && summary.is_some() && tx.send(None).await.is_ok();
        drop(tx);
        // Waiting for the writer means that, on failure, the temporary file is gone on return.
        let written = writer.await;
        if let Some(source) = body_error {
            return Err(BlobError::Body {
                key: key.clone(),
                source,
            });
        }
        let (file, summary) = match (written, summary) {
            (Ok(Ok(Some(f))), Some(summary)) if complete => (f, summary),
            (Ok(Err(e)), _) => return Err(io_err(k, "writing the temporary file", e)),
            (Err(e), _) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(join_err(k, e));
            }
            (Ok(Ok(_)), _) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                let source = io::Error::other("the body ended without a summary");
                return Err(BlobError::Body {
                    key: key.clone(),
                    source,
                });
            }
        };
        let root = self.root.clone();
        let sha = summary.sha256.clone();
        let retain = meta
            .retain_until
            .map_or_else(|| "none".to_string(), |t| t.to_rfc3339());
        let published =
            tokio::task::spawn_blocking(move || publish(&root, file, &tmp, &dest, &sha, &retain))
                .await
                // `publish` removes the temporary file in every outcome but a panic.
                .map_err(|e| join_err(k, e))?;
        match published {
            Ok(Publish::Done) => Ok(ObjectInfo {
                key: key.clone(),
                size: summary.size,
                sha256: Some(summary.sha256),
            }),
            Ok(Publish::Exists) => Err(BlobError::AlreadyExists(key.clone())),
            Err(e) => Err(io_err(k, "publishing the object", e)),
        }
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError> {
        let path = self.path_for(key.as_str())?;
        let root = self.root.clone();
        let key2 = key.clone();
        tokio::task::spawn_blocking(move || info_of(&root, &key2, &path))
            .await
            .map_err(|e| join_err(key.as_str(), e))?
            .map_err(|e| io_err(key.as_str(), "reading object metadata", e))
    }

    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError> {
        self.read_from(key, 0).await
    }

    async fn get_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        self.read_from(key, offset).await
    }

    /// From the object's extended attributes (see [`RETAIN_XATTR`], [`HOLD_XATTR`]).
    async fn protection(&self, key: &ObjectKey) -> Result<Protection, BlobError> {
        let k = key.as_str().to_string();
        let path = self.path_for(&k)?;
        tokio::task::spawn_blocking(move || {
            if fs::symlink_metadata(&path).is_err() {
                return Err(BlobError::NotFound(
                    ObjectKey::parse(k.clone()).map_err(|e| backend(&k, e.to_string(), false))?,
                ));
            }
            let retain = xattr::read(&path, RETAIN_XATTR)
                .map_err(|e| io_err(&k, "reading the retention", e))?;
            let hold = xattr::read(&path, HOLD_XATTR)
                .map_err(|e| io_err(&k, "reading the legal hold", e))?;
            Ok(Protection {
                retain_until: retain
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
                legal_hold: hold.is_some(),
            })
        })
        .await
        .map_err(|e| join_err(key.as_str(), e))?
    }

    async fn set_legal_hold(&self, key: &ObjectKey, on: bool) -> Result<(), BlobError> {
        let k = key.as_str().to_string();
        let path = self.path_for(&k)?;
        let key = key.clone();
        let label = k.clone();
        tokio::task::spawn_blocking(move || {
            if fs::symlink_metadata(&path).is_err() {
                return Err(BlobError::NotFound(key));
            }
            xattr::set_path(&path, HOLD_XATTR, on.then_some("1"))
                .map_err(|e| io_err(&k, "setting the legal hold", e))
        })
        .await
        .map_err(|e| join_err(&label, e))?
    }

    /// Refused unless the object's recorded retention has passed and it holds no legal
    /// hold; an object whose retention is not recorded (older objects, a filesystem
    /// without extended attributes) is never deleted.
    async fn delete(
        &self,
        key: &ObjectKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        let k = key.as_str().to_string();
        let path = self.path_for(&k)?;
        let key = key.clone();
        let label = k.clone();
        tokio::task::spawn_blocking(move || {
            if fs::symlink_metadata(&path).is_err() {
                return Err(BlobError::NotFound(key));
            }
            let protected = |why: String| BlobError::Protected {
                key: key.clone(),
                why,
            };
            match xattr::read(&path, HOLD_XATTR) {
                Ok(None) => {}
                Ok(Some(_)) => return Err(protected("under a legal hold".into())),
                Err(e) => return Err(protected(format!("its legal hold cannot be read: {e}"))),
            }
            match xattr::read(&path, RETAIN_XATTR) {
                Ok(Some(t)) if t == "none" => {
                    return Err(protected("no retention was recorded for it".into()));
                }
                Ok(Some(t)) => match chrono::DateTime::parse_from_rfc3339(&t) {
                    Ok(until) if until <= now => {}
                    Ok(until) => return Err(protected(format!("retained until {until}"))),
                    Err(_) => return Err(protected(format!("unreadable retention {t:?}"))),
                },
                Ok(None) => return Err(protected("no retention was recorded for it".into())),
                Err(e) => return Err(protected(format!("its retention cannot be read: {e}"))),
            }
            fs::remove_file(&path).map_err(|e| io_err(&k, "deleting", e))?;
            if let Some(parent) = path.parent() {
                let _ = sync_dir(parent);
            }
            Ok(())
        })
        .await
        .map_err(|e| join_err(&label, e))?
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        // Start at the deepest directory the prefix names, when that is a safe path.
        let (start, rel) = match prefix.rsplit_once('/') {
            Some((dir, _)) if self.path_for(dir).is_ok() => (self.root.join(dir), dir.to_string()),
            _ => (self.root.clone(), String::new()),
        };
        let p2 = prefix.clone();
        let mut out = tokio::task::spawn_blocking(move || -> io::Result<Vec<ObjectInfo>> {
            let mut out = Vec::new();
            if rel.is_empty() {
                walk(&root, "", &p2, &mut out)?;
            } else if fs::symlink_metadata(&start).is_ok_and(|m| m.is_dir()) {
                ensure_inside(&root, &start)?;
                walk(&start, &rel, &p2, &mut out)?;
            }
            Ok(out)
        })
        .await
        .map_err(|e| join_err(&prefix, e))?
        .map_err(|e| io_err(&prefix, "listing objects", e))?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
