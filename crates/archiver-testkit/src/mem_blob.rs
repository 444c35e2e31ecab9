use archiver_core::{
    BlobError, BlobStore, ByteStream, ObjectInfo, ObjectKey, ObjectMeta, Protection, VerifiedBody,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone)]
struct Stored {
    bytes: Bytes,
    sha256: String,
    meta: ObjectMeta,
    hold: bool,
}

/// An in-memory [`BlobStore`] (keeps whole objects in memory: for tests only).
/// Clones share the same objects.
#[derive(Clone, Default)]
pub struct MemBlobStore {
    objects: Arc<Mutex<BTreeMap<ObjectKey, Stored>>>,
}

impl MemBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<ObjectKey, Stored>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes stored at `key`, if any.
    pub fn bytes(&self, key: &ObjectKey) -> Option<Vec<u8>> {
        self.lock().get(key).map(|s| s.bytes.to_vec())
    }

    /// The metadata stored with the object at `key`, if any.
    pub fn meta(&self, key: &ObjectKey) -> Option<ObjectMeta> {
        self.lock().get(key).map(|s| s.meta.clone())
    }

    /// How many objects are stored.
    pub fn object_count(&self) -> usize {
        self.lock().len()
    }

    /// All stored keys, sorted.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.lock().keys().cloned().collect()
    }
}

impl std::fmt::Debug for MemBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemBlobStore")
            .field("objects", &self.object_count())
            .finish()
    }
}

#[async_trait]
impl BlobStore for MemBlobStore {
    async fn put_stream(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        mut body: VerifiedBody,
    ) -> Result<ObjectInfo, BlobError> {
        if self.lock().contains_key(key) {
            return Err(BlobError::AlreadyExists(key.clone()));
        }
        let mut buf = Vec::new();
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) => buf.extend_from_slice(&chunk),
                Err(source) => {
                    return Err(BlobError::Body {
                        key: key.clone(),
                        source,
                    });
                }
            }
        }
        let Some(summary) = body.summary().cloned() else {
            return Err(BlobError::Body {
                key: key.clone(),
                source: std::io::Error::other("body ended without a summary"),
            });
        };
        let mut objects = self.lock();
        if objects.contains_key(key) {
            return Err(BlobError::AlreadyExists(key.clone()));
        }
        objects.insert(
            key.clone(),
            Stored {
                bytes: Bytes::from(buf),
                sha256: summary.sha256.clone(),
                meta: meta.clone(),
                hold: false,
            },
        );
        Ok(ObjectInfo {
            key: key.clone(),
            size: summary.size,
            sha256: Some(summary.sha256),
        })
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, BlobError> {
        Ok(self.lock().get(key).map(|s| ObjectInfo {
            key: key.clone(),
            size: s.bytes.len() as u64,
            sha256: Some(s.sha256.clone()),
        }))
    }

    async fn get(&self, key: &ObjectKey) -> Result<ByteStream, BlobError> {
        self.get_from(key, 0).await
    }

    async fn get_from(&self, key: &ObjectKey, offset: u64) -> Result<ByteStream, BlobError> {
        let bytes = self
            .lock()
            .get(key)
            .map(|s| s.bytes.clone())
            .ok_or_else(|| BlobError::NotFound(key.clone()))?;
        let start = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
        let bytes = bytes.slice(start..);
        const CHUNK: usize = 64 * 1024;
        let chunks: Vec<Bytes> = (0..bytes.len())
            .step_by(CHUNK)
            .map(|i| bytes.slice(i..(i + CHUNK).min(bytes.len())))
            .collect();
        Ok(futures::stream::iter(chunks.into_iter().map(Ok)).boxed())
    }

    async fn protection(&self, key: &ObjectKey) -> Result<Protection, BlobError> {
        let g = self.lock();
        let s = g.get(key).ok_or_else(|| BlobError::NotFound(key.clone()))?;
        Ok(Protection {
            retain_until: s.meta.retain_until,
            legal_hold: s.hold,
        })
    }

    async fn set_legal_hold(&self, key: &ObjectKey, on: bool) -> Result<(), BlobError> {
        let mut g = self.lock();
        let s = g
            .get_mut(key)
            .ok_or_else(|| BlobError::NotFound(key.clone()))?;
        s.hold = on;
        Ok(())
    }

    /// As the filesystem store: an object without a recorded retention is never deleted.
    async fn delete(
        &self,
        key: &ObjectKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        let mut g = self.lock();
        let s = g.get(key).ok_or_else(|| BlobError::NotFound(key.clone()))?;
        let why = if s.hold {
            Some("under a legal hold".to_string())
        } else {
            match s.meta.retain_until {
                None => Some("no retention was recorded for it".into()),
                Some(t) if t > now => Some(format!("retained until {t}")),
                Some(_) => None,
            }
        };
        if let Some(why) = why {
            return Err(BlobError::Protected {
                key: key.clone(),
                why,
            });
        }
        g.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BlobError> {
        Ok(self
            .lock()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with(prefix))
            .map(|(k, s)| ObjectInfo {
                key: k.clone(),
                size: s.bytes.len() as u64,
                sha256: Some(s.sha256.clone()),
            })
            .collect())
    }
}
