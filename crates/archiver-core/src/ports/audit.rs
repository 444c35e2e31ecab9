use super::meta::MetaError;
use crate::domain::TenantId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an audit entry records (the archive's custody events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A configuration was loaded by a process.
    ConfigLoad,
    /// An object or CDR was created.
    Create,
    /// An object or CDR was read (a `cdrs show`, a play in the review UI, a fixity read).
    Read,
    /// CDRs or media were exported.
    Export,
    /// A legal hold was placed.
    Hold,
    /// A legal hold release was requested or confirmed.
    Release,
    /// An item past retention was disposed of.
    Dispose,
    /// Something was deleted (at Zoom, or in the archive).
    Delete,
    /// A day was sealed (its manifest signed).
    Seal,
    /// A failed file was queued again by an operator.
    Retry,
    /// A fixity or manifest verification ran.
    Verify,
}

/// An entry before it is chained: what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// The tenant whose chain it joins.
    pub tenant: TenantId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the process or function (`aws-lambda:downloader:eu-west-1`), or the CLI user
    /// (`alice@host`), or a review UI user.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The object keys or CDR ids concerned (may be empty, e.g. a configuration load).
    pub objects: Vec<String>,
    /// Why (an operator's reason, a rule's name).
    pub reason: Option<String>,
    /// `ok`, or what went wrong.
    pub result: String,
}

/// One link of a tenant's audit chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the tenant's chain, from 1, without gaps.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub draft: AuditDraft,
    /// The previous entry's `hash` (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 (lowercase hex) of [`AuditEntry::canonical`].
    pub hash: String,
}

/// The `prev_hash` of a chain's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// Chains `draft` after `prev` (or starts the chain).
    pub fn chain(draft: AuditDraft, prev: Option<&AuditEntry>) -> AuditEntry {
        let mut e = AuditEntry {
            seq: prev.map_or(1, |p| p.seq + 1),
            draft,
            prev_hash: prev.map_or_else(|| GENESIS_HASH.to_string(), |p| p.hash.clone()),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// The canonical bytes hashed: JSON of every field but `hash`, keys sorted, no spaces
    /// (`serde_json` without `preserve_order` sorts map keys).
    pub fn canonical(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("hash");
        }
        serde_json::to_vec(&v).unwrap_or_default()
    }

    /// SHA-256 of [`AuditEntry::canonical`] (which includes `prev_hash`), lowercase hex.
    pub fn compute_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.canonical()))
    }
}

/// The append-only, hash-chained audit trail: one chain per tenant.
///
/// Contract (checked by `archiver_testkit::conformance::audit_log`):
/// - `try_append` is insert-if-absent on `(tenant, seq)`: it stores the entry and returns
///   `true` when no entry of that tenant has that `seq`, else changes nothing and returns
///   `false` (another writer appended first: the caller re-reads the head and chains again).
///   This conditional write is what keeps one writer at a time per tenant.
/// - Stores never change or delete an entry.
/// - `head` is the entry with the highest `seq` of the tenant.
/// - `list` returns the tenant's entries with `seq >= from_seq`, in `seq` order, at most
///   `limit`; other tenants' entries never.
///
/// The chaining rule (hashes, `prev_hash`, `seq + 1`) is [`AuditEntry::chain`], applied by
/// `services::audit`, not by the stores.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Stores `entry` unless its tenant already has an entry at `entry.seq`.
    async fn try_append(&self, entry: &AuditEntry) -> Result<bool, MetaError>;
    /// The tenant's last entry.
    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditEntry>, MetaError>;
    /// The tenant's entries from `from_seq`, in order, at most `limit`.
    async fn list(
        &self,
        tenant: &TenantId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, MetaError>;
}
