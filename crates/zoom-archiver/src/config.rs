//! The configuration file (TOML).

use archiver_core::{ConfigError, TenantConfig, de_duration};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The embedded default backend.
    #[serde(default)]
    pub storage: Option<StorageConfig>,
    /// Download behaviour.
    #[serde(default)]
    pub download: DownloadConfig,
    /// What CDRs record as `location` (default: this host's name).
    #[serde(default)]
    pub location: Option<String>,
    /// AWS backend settings (used with `--backend aws`).
    #[serde(default)]
    pub aws: Option<archiver_aws::AwsSettings>,
    /// Custody: the key that signs the daily manifests, and the public keys trusted when
    /// checking them.
    #[serde(default)]
    pub custody: CustodyConfig,
    /// The tenants.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// The file it was read from (for error messages).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[storage]`: where the embedded default keeps everything.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Media under `data_dir/objects/`, metadata and queue in `data_dir/archive.db`.
    pub data_dir: PathBuf,
}

/// `[custody]`: the manifest signing key of the embedded default (on AWS the stack's KMS
/// key, `[aws] manifest_key_id`) and the public keys trusted besides the signer's own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyConfig {
    /// The Ed25519 key file (PKCS#8 PEM) that signs the manifests; its public key is
    /// exported beside it as `{signing_key}.pub` by `zoom-archiver keys init`. Default:
    /// `{data_dir}/keys/manifest-ed25519.key`.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// Public key files (PEM, with a `key_id:` line for P-256 keys) also trusted when
    /// verifying: the keys retired by a rotation, which signed older manifests.
    #[serde(default)]
    pub public_keys: Vec<PathBuf>,
}

/// The default manifest key file under a data directory.
pub const DEFAULT_SIGNING_KEY: &str = "keys/manifest-ed25519.key";

/// `[download]`: how tasks are worked off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadConfig {
    /// Concurrent downloads.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Download attempts before a file is declared failed.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay.
    #[serde(default = "default_retry_base", deserialize_with = "de_duration")]
    pub retry_base: Duration,
    /// Longest retry delay.
    #[serde(default = "default_retry_max", deserialize_with = "de_duration")]
    pub retry_max: Duration,
    /// `run --once` stops waiting for retries due later than this (they stay queued).
    #[serde(default = "default_max_wait", deserialize_with = "de_duration")]
    pub max_wait: Duration,
    /// Measure each archived audio/video file (length, codecs, silence, voice quality,
    /// talk-over) for the CDRs, reading it back from the object store.
    #[serde(default = "default_analyse_media")]
    pub analyse_media: bool,
    /// Ranges fetched at once for files of at least 64 MiB (1: one stream).
    #[serde(default = "default_parallel_streams")]
    pub parallel_streams: usize,
    /// How long transient trouble (Zoom 5xx, network, timeouts, 429s, daily limits, our own
    /// stores) is retried before a file is failed for good, from its first such failure.
    #[serde(
        default = "default_transient_horizon",
        deserialize_with = "de_duration"
    )]
    pub transient_horizon: Duration,
}

fn default_transient_horizon() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_parallel_streams() -> usize {
    1
}

fn default_analyse_media() -> bool {
    true
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            max_attempts: default_attempts(),
            retry_base: default_retry_base(),
            retry_max: default_retry_max(),
            max_wait: default_max_wait(),
            transient_horizon: default_transient_horizon(),
            analyse_media: default_analyse_media(),
            parallel_streams: default_parallel_streams(),
        }
    }
}

fn default_concurrency() -> usize {
    4
}
fn default_attempts() -> u32 {
    6
}
fn default_retry_base() -> Duration {
    Duration::from_secs(5)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(900)
}
fn default_max_wait() -> Duration {
    Duration::from_secs(1800)
}

/// A configuration error naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigFileError {
    /// The file.
    pub file: String,
    /// What is wrong (starts with the key path).
    pub message: String,
}

impl FileConfig {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg = Self::parse(&text).map_err(|message| ConfigFileError { file, message })?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// A problem with this configuration's key, as an error naming the file.
    pub fn problem(&self, e: ConfigError) -> ConfigFileError {
        ConfigFileError {
            file: self.path.as_ref().map_or_else(
                || "the configuration".to_string(),
                |p| p.display().to_string(),
            ),
            message: e.to_string(),
        }
    }

    /// The tenants named by `--tenant` (all without one); an unknown id is a problem of
    /// the command line, naming the tenants there are.
    pub fn select_tenants(&self, only: Option<&str>) -> Result<Vec<TenantConfig>, String> {
        match only {
            None => Ok(self.tenants.clone()),
            Some(id) => match self.tenants.iter().find(|t| t.id.as_str() == id) {
                Some(t) => Ok(vec![t.clone()]),
                None => Err(format!(
                    "--tenant {id:?}: no such tenant in the configuration (tenants: {})",
                    self.tenants
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
        }
    }

    /// Parses and validates configuration text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cfg: FileConfig = toml::from_str(text).map_err(|e| {
            // toml names the key and the line; keep it on one line.
            e.to_string()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.tenants.is_empty() {
            return Err(ConfigError::new(
                "tenants",
                "configure at least one [[tenants]] table",
            ));
        }
        let mut seen = HashSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            let prefix = format!("tenants[{i}]");
            t.validate(&prefix)?;
            if !seen.insert(t.id.clone()) {
                return Err(ConfigError::new(
                    format!("{prefix}.id"),
                    format!("tenant id {:?} is used twice", t.id.as_str()),
                ));
            }
            if let Some(env) = &t.client_secret_env
                && std::env::var_os(env).is_none()
            {
                return Err(ConfigError::new(
                    format!("{prefix}.client_secret_env"),
                    format!("environment variable {env} is not set"),
                ));
            }
        }
        if self.download.concurrency == 0 || self.download.concurrency > 64 {
            return Err(ConfigError::new(
                "download.concurrency",
                "must be between 1 and 64",
            ));
        }
        if self.download.max_attempts == 0 {
            return Err(ConfigError::new(
                "download.max_attempts",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The `[aws]` settings.
    pub fn aws(&self) -> Result<&archiver_aws::AwsSettings, ConfigError> {
        self.aws
            .as_ref()
            .ok_or_else(|| ConfigError::new("aws", "an [aws] table is required with --backend aws"))
    }

    /// The manifest signing key file of the embedded default: `[custody] signing_key`, else
    /// [`DEFAULT_SIGNING_KEY`] under the data directory.
    pub fn signing_key_path(&self) -> Result<PathBuf, ConfigError> {
        match &self.custody.signing_key {
            Some(p) => Ok(p.clone()),
            None => Ok(self.data_dir()?.join(DEFAULT_SIGNING_KEY)),
        }
    }

    /// The data directory of the embedded default.
    pub fn data_dir(&self) -> Result<&Path, ConfigError> {
        self.storage
            .as_ref()
            .map(|s| s.data_dir.as_path())
            .ok_or_else(|| {
                ConfigError::new(
                    "storage.data_dir",
                    "required for the embedded (local) backend",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
[storage]
data_dir = "/tmp/x"

[[tenants]]
id = "acme"
account_id = "a"
client_id = "c"
client_secret = "s"

[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"
"#;

    #[test]
    fn parses_the_documented_example() {
        let c = FileConfig::parse(OK).unwrap();
        assert_eq!(c.tenants[0].users.len(), 1);
        assert_eq!(c.download.concurrency, 4);
    }

    #[test]
    fn the_signing_key_defaults_under_the_data_dir() {
        let c = FileConfig::parse(OK).unwrap();
        assert_eq!(
            c.signing_key_path().unwrap(),
            PathBuf::from("/tmp/x/keys/manifest-ed25519.key")
        );
        let c = FileConfig::parse(&format!(
            "[custody]\nsigning_key = \"/k/m.key\"\npublic_keys = [\"/k/old.pub\"]\n{OK}"
        ))
        .unwrap();
        assert_eq!(c.signing_key_path().unwrap(), PathBuf::from("/k/m.key"));
        assert_eq!(c.custody.public_keys, [PathBuf::from("/k/old.pub")]);
        let e = FileConfig::parse(&format!("[custody]\nsigning_kye = \"x\"\n{OK}")).unwrap_err();
        assert!(e.contains("signing_kye"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let e = FileConfig::parse(&OK.replace("mode = \"voice\"", "mode = \"loud\"")).unwrap_err();
        assert!(e.contains("loud") && e.contains("mode"), "{e}");
        let e = FileConfig::parse(&OK.replace("id = \"acme\"", "id = \"Acme Corp\"")).unwrap_err();
        assert!(e.contains("invalid tenant id"), "{e}");
        let e =
            FileConfig::parse(&OK.replace("email = \"alice@acme.example\"", "email = \"alice\""))
                .unwrap_err();
        assert!(e.starts_with("tenants[0].users[0].email"), "{e}");
        let e = FileConfig::parse(&format!("{OK}\nsurprise = 1\n")).unwrap_err();
        assert!(e.contains("surprise"), "{e}");
        let e = FileConfig::parse(&OK.replace(
            "client_secret = \"s\"",
            "client_secret_env = \"ZA_TEST_UNSET_VAR\"",
        ))
        .unwrap_err();
        assert!(e.starts_with("tenants[0].client_secret_env"), "{e}");
    }
}
