//! Identifiers: tenants and import sources.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A tenant: one Zoom account configured as an import source. `[a-z0-9-]+`, at most 63 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Why a tenant id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid tenant id {0:?}: use 1 to 63 characters of a-z, 0-9 and '-', not starting with '-'"
)]
pub struct InvalidTenantId(pub String);

impl TenantId {
    /// Validates and wraps a tenant id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidTenantId> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 63
            && !id.starts_with('-')
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(id))
        } else {
            Err(InvalidTenantId(id))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An import source of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Zoom Meetings, through the Meeting & Webinar Archiving API.
    Meetings,
    /// Zoom Phone call recordings.
    Phone,
}

impl Source {
    /// Both sources, in a stable order.
    pub const ALL: [Source; 2] = [Source::Meetings, Source::Phone];

    /// The lowercase name used in config, keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Meetings => "meetings",
            Source::Phone => "phone",
        }
    }

    /// The CDR `source_platform` value.
    pub fn platform(self) -> &'static str {
        match self {
            Source::Meetings => "Zoom Meeting",
            Source::Phone => "Zoom Phone",
        }
    }

    /// The largest listing window the Zoom endpoint accepts (7 days for `/archive_files`,
    /// one month for `/phone/recordings`; 28 days is used so that February is safe too).
    pub fn max_window(self) -> chrono::Duration {
        match self {
            Source::Meetings => chrono::Duration::days(7),
            Source::Phone => chrono::Duration::days(28),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "meetings" => Ok(Source::Meetings),
            "phone" => Ok(Source::Phone),
            other => Err(format!(
                "unknown source {other:?} (expected \"meetings\" or \"phone\")"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_validated() {
        assert!(TenantId::new("acme-1").is_ok());
        for bad in ["", "Acme", "a/b", "-x", "a b", "ä", &"x".repeat(64)] {
            assert!(TenantId::new(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
