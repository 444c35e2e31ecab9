use archiver_core::{SecretError, SecretSource};
use async_trait::async_trait;
use secrecy::SecretString;

/// Secrets from the local machine.
///
/// `env:NAME` reads the environment variable `NAME`; `file:PATH` reads the file at `PATH`
/// (surrounding whitespace trimmed). Any other name is `NotFound`. Errors never contain the
/// value, and the source holds no value (its `Debug` shows nothing secret).
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalSecretSource;

impl LocalSecretSource {
    /// The source.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl SecretSource for LocalSecretSource {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
        if name.starts_with("env:") {
            return archiver_core::secret_from_env(name);
        }
        if let Some(path) = name.strip_prefix("file:") {
            let path = path.to_string();
            let read = tokio::task::spawn_blocking(move || std::fs::read(path))
                .await
                .map_err(|e| SecretError::Backend {
                    name: name.into(),
                    source: Box::new(e),
                })?;
            return match read {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) if !s.trim().is_empty() => Ok(SecretString::from(s.trim().to_string())),
                    Ok(_) => Err(SecretError::Malformed {
                        name: name.into(),
                        message: "the file is empty".into(),
                    }),
                    Err(_) => Err(SecretError::Malformed {
                        name: name.into(),
                        message: "the file is not valid UTF-8".into(),
                    }),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(SecretError::NotFound(name.into()))
                }
                // The message of an I/O error never contains the file's content.
                Err(e) => Err(SecretError::Backend {
                    name: name.into(),
                    source: Box::new(e),
                }),
            };
        }
        Err(SecretError::NotFound(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn reads_files_and_refuses_unknown_schemes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.txt");
        std::fs::write(&p, "  s3cr3t-value\n").unwrap();
        let s = LocalSecretSource::new();
        let v = s.get(&format!("file:{}", p.display())).await.unwrap();
        assert_eq!(v.expose_secret(), "s3cr3t-value");
        assert!(!format!("{v:?}").contains("s3cr3t"));
        let missing = s
            .get(&format!("file:{}", dir.path().join("nope").display()))
            .await
            .unwrap_err();
        assert!(matches!(missing, SecretError::NotFound(_)));
        std::fs::write(&p, " \n").unwrap();
        let e = s.get(&format!("file:{}", p.display())).await.unwrap_err();
        assert!(matches!(e, SecretError::Malformed { .. }));
        assert!(matches!(
            s.get("plain-name").await,
            Err(SecretError::NotFound(_))
        ));
        assert!(matches!(
            s.get("env:ARCHIVER_LOCAL_TEST_SURELY_UNSET_VAR").await,
            Err(SecretError::NotFound(_))
        ));
        // PATH is set in any test environment; its value must not leak into Debug.
        let path = s.get("env:PATH").await.unwrap();
        assert!(!format!("{path:?}").contains('/'));
    }
}
