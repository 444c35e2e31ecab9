//! Object keys: derived, sanitised and stable.
//!
//! `{tenant}/{source}/{yyyy}/{mm}/{dd}/{conversation}/{file}.{ext}` where the date is the
//! conversation's start (UTC) and every component that comes from Zoom is escaped: only
//! `[A-Za-z0-9_-]` pass through, every other byte becomes `%XX` (so `/`, `.`, `..`, NUL,
//! control characters and unicode can never form a path segment of their own), and a
//! component longer than 120 bytes is cut and suffixed with a hash of the whole. The same
//! input always gives the same key, on every backend.

use super::ids::{Source, TenantId};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A validated relative object key (`/`-separated, no empty, `.` or `..` segment).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

/// Why a string is not a valid object key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid object key {0:?}")]
pub struct InvalidObjectKey(pub String);

const MAX_COMPONENT: usize = 120;

impl ObjectKey {
    /// Validates a key: relative, `/`-separated segments of `[A-Za-z0-9_.%-]`, none empty, `.` or `..`.
    pub fn parse(s: impl Into<String>) -> Result<Self, InvalidObjectKey> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 1024
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
                    })
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(InvalidObjectKey(s))
        }
    }

    /// Derives the key of one Zoom file.
    pub fn derive(
        tenant: &TenantId,
        source: Source,
        conversation_start: DateTime<Utc>,
        conversation_id: &str,
        file_id: &str,
        extension: &str,
    ) -> Self {
        let key = format!(
            "{}/{}/{:04}/{:02}/{:02}/{}/{}.{}",
            tenant,
            source,
            conversation_start.year(),
            conversation_start.month(),
            conversation_start.day(),
            escape_component(conversation_id),
            escape_component(file_id),
            sanitize_extension(extension),
        );
        Self::parse(key).expect("derived keys are valid by construction")
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this key lies under the tenant's prefix.
    pub fn belongs_to(&self, tenant: &TenantId) -> bool {
        self.0
            .strip_prefix(tenant.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = InvalidObjectKey;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ObjectKey> for String {
    fn from(value: ObjectKey) -> Self {
        value.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes one key component (see the module docs). Injective up to the length cap.
pub fn escape_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        // `%` alone is never produced for a non-empty input (escapes are always `%XX`).
        out.push('%');
    }
    if out.len() > MAX_COMPONENT {
        let digest = hex::encode(&Sha256::digest(s.as_bytes())[..8]);
        out.truncate(MAX_COMPONENT - 17);
        // Never cut inside a %XX escape.
        if let Some(pos) = out[out.len().saturating_sub(2)..].find('%') {
            out.truncate(out.len().saturating_sub(2) + pos);
        }
        // `.` never appears in escaped output, so a shortened component cannot equal a plain one.
        out.push('.');
        out.push_str(&digest);
    }
    out
}

/// Lowercase alphanumeric extension of at most 8 characters; `bin` when nothing usable is left.
pub fn sanitize_extension(ext: &str) -> String {
    let e: String = ext
        .trim()
        .trim_start_matches('.')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    if e.is_empty() { "bin".into() } else { e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t() -> TenantId {
        TenantId::new("acme").unwrap()
    }

    #[test]
    fn meeting_uuids_with_slashes_make_one_segment() {
        let start = "2026-11-20T10:00:00Z".parse().unwrap();
        let k = ObjectKey::derive(
            &t(),
            Source::Meetings,
            start,
            "/ajXp//12+QmuoK==",
            "f1",
            "M4A",
        );
        assert_eq!(
            k.as_str(),
            "acme/meetings/2026/11/20/%2FajXp%2F%2F12%2BQmuoK%3D%3D/f1.m4a"
        );
        assert!(k.belongs_to(&t()));
        assert!(!k.belongs_to(&TenantId::new("acm").unwrap()));
    }

    #[test]
    fn hostile_components_are_neutralised() {
        let start = "2026-11-20T10:00:00Z".parse().unwrap();
        for evil in [
            "..",
            ".",
            "",
            "a/../../etc/passwd",
            "nul\0byte",
            "ctl\x07\n",
            "ünï🎉",
        ] {
            let k = ObjectKey::derive(&t(), Source::Phone, start, evil, evil, "../mp3");
            assert_eq!(k.as_str().split('/').count(), 7, "{k}");
            assert!(ObjectKey::parse(k.as_str().to_string()).is_ok());
        }
        assert!(ObjectKey::parse("a/../b").is_err());
        assert!(ObjectKey::parse("/abs").is_err());
    }

    proptest! {
        #[test]
        fn escaping_is_safe_and_injective(a in any::<String>(), b in any::<String>()) {
            let ea = escape_component(&a);
            prop_assert!(!ea.is_empty() && ea.len() <= MAX_COMPONENT);
            prop_assert!(ea.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'%' | b'.')));
            if a != b {
                prop_assert_ne!(ea, escape_component(&b));
            }
        }

        #[test]
        fn derived_keys_always_parse(conv in any::<String>(), file in any::<String>(), ext in any::<String>()) {
            let start = "2026-01-02T03:04:05Z".parse().unwrap();
            let k = ObjectKey::derive(&t(), Source::Meetings, start, &conv, &file, &ext);
            prop_assert!(k.belongs_to(&t()));
            prop_assert_eq!(k.as_str().split('/').count(), 7);
        }
    }
}
