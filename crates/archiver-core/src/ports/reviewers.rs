//! The review UI's accounts: who may log in, with which role, and which tenants and users
//! each reviewer may see. Hashing passwords and tokens is the review crate's job; stores
//! keep only the hashes they are given.

use super::meta::MetaError;
use crate::domain::TenantId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a review account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewRole {
    /// Sees only the tenants and users granted to it.
    Reviewer,
    /// Sees every tenant; manages users and exports.
    Admin,
}

/// One account of the review UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    /// Login name (unique).
    pub name: String,
    /// Its role.
    pub role: ReviewRole,
    /// PHC string of the password hash (argon2id).
    pub password_hash: String,
    /// True while the password is the one-time password `users add` printed: the first
    /// login must set a new one.
    pub must_change_password: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// What a reviewer may see: a whole tenant, or one user (email or extension) of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReviewGrant {
    /// The tenant.
    pub tenant: TenantId,
    /// Only this user's conversations (email, case-insensitive, or extension); the whole
    /// tenant when absent.
    pub user: Option<String>,
}

/// Accounts, API tokens (by hash) and grants of the review UI.
///
/// Contract: `insert` is insert-if-absent on the name; `set_password` changes an existing
/// account only; a token hash names at most one account; grants are a set per account.
#[async_trait]
pub trait ReviewerStore: Send + Sync {
    /// Stores `r` unless an account of that name exists (then `false`).
    async fn insert(&self, r: &Reviewer) -> Result<bool, MetaError>;
    /// The account called `name`.
    async fn get(&self, name: &str) -> Result<Option<Reviewer>, MetaError>;
    /// Every account, by name.
    async fn list(&self) -> Result<Vec<Reviewer>, MetaError>;
    /// Replaces the password hash of `name` (`false` when there is no such account).
    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<bool, MetaError>;
    /// Records an API token of `name` by its hash (SHA-256, lowercase hex).
    async fn add_token(&self, name: &str, token_sha256: &str) -> Result<(), MetaError>;
    /// The account an API token hash belongs to.
    async fn by_token(&self, token_sha256: &str) -> Result<Option<Reviewer>, MetaError>;
    /// Adds a grant to `name` (a grant it already has changes nothing).
    async fn grant(&self, name: &str, grant: &ReviewGrant) -> Result<(), MetaError>;
    /// The grants of `name`.
    async fn grants(&self, name: &str) -> Result<Vec<ReviewGrant>, MetaError>;
}
