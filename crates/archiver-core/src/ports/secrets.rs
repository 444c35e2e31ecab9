use async_trait::async_trait;
use secrecy::SecretString;

/// Why a secret could not be read. Never contains the secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No secret with that name.
    #[error("secret {0:?} not found")]
    NotFound(String),
    /// The secret exists but is malformed (the message names the field, not the value).
    #[error("secret {name:?} is malformed: {message}")]
    Malformed {
        /// Secret name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The backend failed.
    #[error("reading secret {name:?} failed: {source}")]
    Backend {
        /// Secret name.
        name: String,
        /// The backend's error (never the value).
        source: super::BoxError,
    },
}

/// Server-to-Server OAuth credentials of one Zoom account.
#[derive(Clone, Debug)]
pub struct ZoomCredentials {
    /// Zoom account id.
    pub account_id: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
}

/// Where secrets come from (environment, file, Secrets Manager). Values are `SecretString`s.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// Reads the secret called `name`.
    async fn get(&self, name: &str) -> Result<SecretString, SecretError>;
}

/// Reads the secret `env:VAR` from the process environment (what every [`SecretSource`]
/// answers for a name starting with `env:`). `NotFound` when unset; the value is trimmed.
pub fn secret_from_env(name: &str) -> Result<SecretString, SecretError> {
    let var = name.strip_prefix("env:").unwrap_or(name);
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
        Ok(_) => Err(SecretError::Malformed {
            name: name.into(),
            message: "the variable is empty".into(),
        }),
        Err(std::env::VarError::NotPresent) => Err(SecretError::NotFound(name.into())),
        Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::Malformed {
            name: name.into(),
            message: "the variable is not valid UTF-8".into(),
        }),
    }
}
