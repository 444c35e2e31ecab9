//! Secrets Manager source with a short in-process cache. Values are never logged.

use crate::error::Failure;
use archiver_core::services::credentials::parse_zoom_credentials;
use archiver_core::{SecretError, SecretSource, ZoomCredentials};
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a secret read from Secrets Manager is reused.
pub const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

/// [`SecretSource`] on AWS Secrets Manager (`GetSecretValue`, `SecretString`).
pub struct SecretsManagerSource {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl std::fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerSource")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerSource {
    /// The SDK client (for operations outside the port).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Wraps a client; secrets are cached for [`SECRET_CACHE_TTL`].
    pub fn new(client: Client) -> Self {
        Self::with_ttl(client, SECRET_CACHE_TTL)
    }

    /// Wraps a client with a cache lifetime of `ttl` (zero disables the cache).
    pub fn with_ttl(client: Client, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Reads and parses the Zoom credentials stored under `name` (secret id or ARN).
    pub async fn zoom_credentials(&self, name: &str) -> Result<ZoomCredentials, SecretError> {
        let v = self.get(name).await?;
        parse_zoom_credentials(name, &v)
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
        // `client_secret_env` of a tenant configuration: the function's environment.
        if name.starts_with("env:") {
            return archiver_core::secret_from_env(name);
        }
        if let Some((at, v)) = self.cache.lock().await.get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(v.clone());
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    SecretError::NotFound(name.to_string())
                } else {
                    SecretError::Backend {
                        name: name.to_string(),
                        source: Failure::of(e).into_source(),
                    }
                }
            })?;
        let value = out.secret_string.ok_or_else(|| SecretError::Malformed {
            name: name.to_string(),
            message: "the secret has no SecretString (binary secrets are not supported)".into(),
        })?;
        let value = SecretString::from(value);
        if !self.ttl.is_zero() {
            self.cache
                .lock()
                .await
                .insert(name.to_string(), (Instant::now(), value.clone()));
        }
        Ok(value)
    }
}
