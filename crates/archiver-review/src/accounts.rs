//! Accounts: argon2id password hashes, one-time passwords, API tokens (only their SHA-256
//! is stored) and grants.

use archiver_core::{MetaError, ReviewGrant, ReviewRole, Reviewer, ReviewerStore, TenantId};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] MetaError),
    /// An account of that name exists.
    #[error("review user {0} already exists")]
    Exists(String),
    /// No account of that name.
    #[error("no review user {0}")]
    Unknown(String),
    /// A name or password that is not accepted.
    #[error("{0}")]
    Invalid(String),
}

/// A random secret: 32 bytes from the OS generator (two v4 UUIDs), lowercase hex.
pub(crate) fn random_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

/// The argon2id PHC string of `password` (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = uuid::Uuid::new_v4().into_bytes();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Only an invalid salt length or parameter set can fail, and both are fixed here.
        .unwrap_or_default()
}

/// True when `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// SHA-256 (hex) of an API token: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "review user name {name:?}: 1-64 characters of letters, digits, '.', '_', '-', '@'"
        )))
    }
}

/// Creates an account and returns its one-time password (it must be changed at the first
/// login).
pub async fn add_user(
    store: &dyn ReviewerStore,
    name: &str,
    role: ReviewRole,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, AccountError> {
    check_name(name)?;
    let password = random_secret()[..20].to_string();
    let r = Reviewer {
        name: name.to_string(),
        role,
        password_hash: hash_password(&password),
        must_change_password: true,
        created_at: now,
    };
    if !store.insert(&r).await? {
        return Err(AccountError::Exists(name.to_string()));
    }
    Ok(password)
}

/// Issues an API token for `name` (`Authorization: Bearer TOKEN`); only its hash is kept.
pub async fn issue_token(store: &dyn ReviewerStore, name: &str) -> Result<String, AccountError> {
    if store.get(name).await?.is_none() {
        return Err(AccountError::Unknown(name.to_string()));
    }
    let token = format!("za_{}", random_secret());
    store.add_token(name, &token_hash(&token)).await?;
    Ok(token)
}

/// Grants `name` a tenant, or one user (email or extension) of it.
pub async fn grant(
    store: &dyn ReviewerStore,
    name: &str,
    tenant: TenantId,
    user: Option<String>,
) -> Result<(), AccountError> {
    if store.get(name).await?.is_none() {
        return Err(AccountError::Unknown(name.to_string()));
    }
    store.grant(name, &ReviewGrant { tenant, user }).await?;
    Ok(())
}

/// Sets a new password chosen by the user (at least 12 characters).
pub async fn change_password(
    store: &dyn ReviewerStore,
    name: &str,
    password: &str,
) -> Result<(), AccountError> {
    if password.chars().count() < 12 {
        return Err(AccountError::Invalid(
            "a password has at least 12 characters".into(),
        ));
    }
    let hash = hash_password(password);
    if !store.set_password(name, &hash, false).await? {
        return Err(AccountError::Unknown(name.to_string()));
    }
    Ok(())
}

/// A hash to verify against when the user does not exist, so that a login for an unknown
/// name costs the same time as one for a known name.
pub(crate) fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not a password of anyone"))
}
