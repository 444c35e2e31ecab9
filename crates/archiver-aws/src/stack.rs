//! Configuration of a deployed stack, read by the Lambda functions at cold start.
//!
//! Environment (set by `infra/template.yaml`):
//!
//! | variable | meaning |
//! |---|---|
//! | `AWS_REGION` | region (set by Lambda) |
//! | `ARCHIVE_BUCKET`, `ARCHIVE_TABLE` | media bucket, metadata table |
//! | `TASK_QUEUE`, `TASK_DLQ` | task queue and dead-letter queue names (`TASK_DLQ` defaults to `{TASK_QUEUE}-dlq`) |
//! | `ARCHIVE_KMS_KEY_ID`, `ARCHIVE_KEY_PREFIX` | optional SSE-KMS key and key prefix |
//! | `AWS_ENDPOINT_URL` | optional endpoint override (emulators) |
//! | `TENANT_CONFIG_S3_URI` | `s3://bucket/key` of the tenant configuration, or |
//! | `TENANT_CONFIG_SSM_PARAM` | the SSM parameter holding it |
//! | `MANIFEST_KMS_KEY_ID` | the KMS key signing the daily manifests (reconciler) |
//! | `ZOOM_SECRET_ARN` | Secrets Manager id of the Zoom credentials when the tenant configuration has no `client_secret_ref` |
//!
//! The downloader's `[download]` settings (the CLI's configuration table of that name; read
//! by [`download_env_from_env`], each optional, defaults as in the CLI; durations in
//! humantime form such as `5s`, `15m`, `24h`):
//!
//! | variable | `[download]` key | default |
//! |---|---|---|
//! | `DOWNLOAD_MAX_ATTEMPTS` | `max_attempts` (at least 1) | `6` |
//! | `DOWNLOAD_RETRY_BASE` | `retry_base` | `5s` |
//! | `DOWNLOAD_RETRY_MAX` | `retry_max` | `15m` |
//! | `DOWNLOAD_TRANSIENT_HORIZON` | `transient_horizon` | `24h` |
//! | `DOWNLOAD_PARALLEL_STREAMS` | `parallel_streams` (1 to 16) | `1` |
//! | `DOWNLOAD_ANALYSE_MEDIA` | `analyse_media` (`true` / `false`) | `true` |
//!
//! The tenant configuration is one [`TenantConfig`] as TOML or JSON (a document starting
//! with `{` is JSON).

use crate::{AwsError, AwsSettings};
use archiver_core::TenantConfig;
use archiver_core::services::downloader::DownloadSettings;
use aws_config::SdkConfig;
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<String, AwsError> {
    env(name).ok_or_else(|| AwsError::Settings(format!("environment variable {name} is not set")))
}

/// [`AwsSettings`] from the function's environment (see the module docs).
pub fn settings_from_env() -> Result<AwsSettings, AwsError> {
    Ok(AwsSettings {
        region: env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                AwsError::Settings("environment variable AWS_REGION is not set".into())
            })?,
        endpoint_url: None,
        bucket: required("ARCHIVE_BUCKET")?,
        table: required("ARCHIVE_TABLE")?,
        queue_name: required("TASK_QUEUE")?,
        dlq_name: env("TASK_DLQ"),
        kms_key_id: env("ARCHIVE_KMS_KEY_ID"),
        key_prefix: env("ARCHIVE_KEY_PREFIX"),
        object_lock: env("ARCHIVE_OBJECT_LOCK_MODE"),
        manifest_key_id: env("MANIFEST_KMS_KEY_ID"),
    })
}

/// The downloader's `[download]` settings from the environment (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadEnv {
    /// `DOWNLOAD_MAX_ATTEMPTS`: download attempts before a file is declared failed.
    pub max_attempts: u32,
    /// `DOWNLOAD_RETRY_BASE`: first retry delay.
    pub retry_base: Duration,
    /// `DOWNLOAD_RETRY_MAX`: longest retry delay.
    pub retry_max: Duration,
    /// `DOWNLOAD_TRANSIENT_HORIZON`: how long transient trouble is retried.
    pub transient_horizon: Duration,
    /// `DOWNLOAD_PARALLEL_STREAMS`: ranges fetched at once for a large file.
    pub parallel_streams: usize,
    /// `DOWNLOAD_ANALYSE_MEDIA`: measure each archived audio/video file for its CDR.
    pub analyse_media: bool,
}

impl Default for DownloadEnv {
    /// The defaults of the CLI's `[download]` table.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            transient_horizon: Duration::from_secs(24 * 3600),
            parallel_streams: 1,
            analyse_media: true,
        }
    }
}

/// Most ranges of one file fetched at once (`DOWNLOAD_PARALLEL_STREAMS`).
pub const MAX_PARALLEL_STREAMS: usize = 16;

impl DownloadEnv {
    /// `settings` with these values (the worker id, lease and part sizes are kept).
    pub fn apply(&self, settings: DownloadSettings) -> DownloadSettings {
        DownloadSettings {
            max_attempts: self.max_attempts,
            retry_base: self.retry_base,
            retry_max: self.retry_max,
            transient_horizon: self.transient_horizon,
            parallel_streams: self.parallel_streams,
            ..settings
        }
    }
}

fn bad(name: &str, value: &str, why: impl std::fmt::Display) -> AwsError {
    AwsError::Settings(format!("environment variable {name}={value:?}: {why}"))
}

fn duration_var(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
) -> Result<Duration, AwsError> {
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => match humantime::parse_duration(v.trim()) {
            Ok(d) if d.is_zero() => Err(bad(name, &v, "must be longer than 0s")),
            Ok(d) => Ok(d),
            Err(e) => Err(bad(
                name,
                &v,
                format_args!("not a duration such as 5s, 15m or 24h ({e})"),
            )),
        },
    }
}

fn number_var<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    (min, max): (T, T),
) -> Result<T, AwsError> {
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(bad(
                name,
                &v,
                format_args!("must be a whole number from {min} to {max}"),
            )),
        },
    }
}

/// [`DownloadEnv`] from variables read through `lookup` (a variable unset or blank takes
/// its default); an unusable value is an error naming the variable and the value.
pub fn download_env_from(lookup: &dyn Fn(&str) -> Option<String>) -> Result<DownloadEnv, AwsError> {
    let d = DownloadEnv::default();
    let analyse_media = match lookup("DOWNLOAD_ANALYSE_MEDIA").filter(|v| !v.trim().is_empty()) {
        None => d.analyse_media,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(bad("DOWNLOAD_ANALYSE_MEDIA", &v, "must be true or false")),
        },
    };
    let env = DownloadEnv {
        max_attempts: number_var(lookup, "DOWNLOAD_MAX_ATTEMPTS", d.max_attempts, (1, 1000))?,
        retry_base: duration_var(lookup, "DOWNLOAD_RETRY_BASE", d.retry_base)?,
        retry_max: duration_var(lookup, "DOWNLOAD_RETRY_MAX", d.retry_max)?,
        transient_horizon: duration_var(lookup, "DOWNLOAD_TRANSIENT_HORIZON", d.transient_horizon)?,
        parallel_streams: number_var(
            lookup,
            "DOWNLOAD_PARALLEL_STREAMS",
            d.parallel_streams,
            (1, MAX_PARALLEL_STREAMS),
        )?,
        analyse_media,
    };
    if env.retry_max < env.retry_base {
        return Err(AwsError::Settings(format!(
            "environment variable DOWNLOAD_RETRY_MAX ({}) is shorter than DOWNLOAD_RETRY_BASE ({})",
            humantime::format_duration(env.retry_max),
            humantime::format_duration(env.retry_base)
        )));
    }
    Ok(env)
}

/// [`DownloadEnv`] from the process environment (see [`download_env_from`]).
pub fn download_env_from_env() -> Result<DownloadEnv, AwsError> {
    download_env_from(&|name| std::env::var(name).ok())
}

/// Parses a tenant configuration (JSON when it starts with `{`, TOML otherwise) and
/// validates it; the error names the offending key. A configuration that names no client
/// secret (`client_secret`, `client_secret_env`, `client_secret_ref`) takes
/// `default_secret_ref` (the stack's `ZOOM_SECRET_ARN`) as its `client_secret_ref`.
pub fn parse_tenant_config(
    text: &str,
    origin: &str,
    default_secret_ref: Option<&str>,
) -> Result<TenantConfig, AwsError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut cfg: TenantConfig = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed)
            .map_err(|e| AwsError::Settings(format!("tenant configuration {origin}: {e}")))?
    } else {
        toml::from_str(trimmed)
            .map_err(|e| AwsError::Settings(format!("tenant configuration {origin}: {e}")))?
    };
    if cfg.client_secret.is_none()
        && cfg.client_secret_env.is_none()
        && cfg.client_secret_ref.is_none()
    {
        cfg.client_secret_ref = default_secret_ref.map(str::to_string);
    }
    cfg.validate("tenant")
        .map_err(|e| AwsError::Settings(format!("tenant configuration {origin}: {e}")))?;
    Ok(cfg)
}

fn split_s3_uri(uri: &str) -> Result<(&str, &str), AwsError> {
    uri.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            AwsError::Settings(format!(
                "TENANT_CONFIG_S3_URI {uri:?} is not s3://bucket/key"
            ))
        })
}

/// Reads the tenant configuration named by `TENANT_CONFIG_S3_URI` or `TENANT_CONFIG_SSM_PARAM`.
pub async fn load_tenant_config(settings: &AwsSettings) -> Result<TenantConfig, AwsError> {
    let cfg: SdkConfig = crate::sdk_config(settings).await;
    if let Some(uri) = env("TENANT_CONFIG_S3_URI") {
        let (bucket, key) = split_s3_uri(&uri)?;
        let c = crate::clients(settings).await?;
        let out =
            c.s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| AwsError::sdk(format!("GetObject {uri}"), e))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| AwsError::Sdk {
                what: format!("reading {uri}"),
                source: Box::new(e),
                retryable: true,
            })?
            .into_bytes();
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| AwsError::Settings(format!("tenant configuration {uri} is not UTF-8")))?;
        return parse_tenant_config(&text, &uri, env("ZOOM_SECRET_ARN").as_deref());
    }
    if let Some(param) = env("TENANT_CONFIG_SSM_PARAM") {
        let ssm = aws_sdk_ssm::Client::new(&cfg);
        let out = ssm
            .get_parameter()
            .name(&param)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk(format!("GetParameter {param}"), e))?;
        let text = out
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| AwsError::Settings(format!("SSM parameter {param} has no value")))?;
        return parse_tenant_config(
            &text,
            &format!("ssm:{param}"),
            env("ZOOM_SECRET_ARN").as_deref(),
        );
    }
    Err(AwsError::Settings(
        "set TENANT_CONFIG_S3_URI or TENANT_CONFIG_SSM_PARAM".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_config_parses_as_toml_or_json_and_is_validated() {
        let toml = "id = \"acme\"\naccount_id = \"acc\"\nclient_id = \"cid\"\nclient_secret_ref = \"acme/zoom\"\nsources = [\"phone\"]\n\n[[users]]\nemail = \"a@acme.example\"\nmode = \"voice\"\n";
        let c = parse_tenant_config(toml, "test", None).unwrap();
        assert_eq!(c.id.as_str(), "acme");
        let json = r#"{"id":"acme","account_id":"acc","client_id":"cid","client_secret_ref":"acme/zoom","users":[]}"#;
        assert_eq!(
            parse_tenant_config(json, "test", None)
                .unwrap()
                .client_secret_ref
                .as_deref(),
            Some("acme/zoom")
        );
        let e = parse_tenant_config(
            r#"{"id":"acme","account_id":"","client_id":"cid","client_secret_ref":"x"}"#,
            "test",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("account_id"), "{e}");
        assert!(parse_tenant_config("id = \"acme\"\nbogus = 1\n", "test", None).is_err());
        // No secret named: the stack's ZOOM_SECRET_ARN is the reference; none at all is an
        // error naming the key.
        let bare = r#"{"id":"acme","account_id":"acc","client_id":"cid"}"#;
        let c = parse_tenant_config(bare, "test", Some("arn:aws:secretsmanager:x")).unwrap();
        assert_eq!(
            c.client_secret_ref.as_deref(),
            Some("arn:aws:secretsmanager:x")
        );
        let e = parse_tenant_config(bare, "test", None).unwrap_err();
        assert!(e.to_string().contains("client_secret"), "{e}");
        // An explicit reference wins over the stack's default.
        let own = r#"{"id":"acme","account_id":"acc","client_id":"cid","client_secret_ref":"own"}"#;
        let c = parse_tenant_config(own, "test", Some("arn:default")).unwrap();
        assert_eq!(c.client_secret_ref.as_deref(), Some("own"));
    }

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn download_settings_come_from_the_environment_with_the_cli_defaults() {
        let none = download_env_from(&lookup(&[])).unwrap();
        assert_eq!(none, DownloadEnv::default());
        // The defaults are the core's too (and the CLI's `[download]` table's).
        let core = DownloadSettings::default();
        let applied = none.apply(core.clone());
        assert_eq!(applied.max_attempts, core.max_attempts);
        assert_eq!(applied.retry_base, core.retry_base);
        assert_eq!(applied.retry_max, core.retry_max);
        assert_eq!(applied.transient_horizon, core.transient_horizon);
        assert_eq!(applied.parallel_streams, core.parallel_streams);
        // Blank is unset (a template parameter left empty).
        assert_eq!(
            download_env_from(&lookup(&[("DOWNLOAD_RETRY_BASE", " ")])).unwrap(),
            DownloadEnv::default()
        );

        let all = download_env_from(&lookup(&[
            ("DOWNLOAD_MAX_ATTEMPTS", "9"),
            ("DOWNLOAD_RETRY_BASE", "10s"),
            ("DOWNLOAD_RETRY_MAX", "1h 30m"),
            ("DOWNLOAD_TRANSIENT_HORIZON", "3d"),
            ("DOWNLOAD_PARALLEL_STREAMS", "4"),
            ("DOWNLOAD_ANALYSE_MEDIA", "false"),
        ]))
        .unwrap();
        assert_eq!(
            all,
            DownloadEnv {
                max_attempts: 9,
                retry_base: Duration::from_secs(10),
                retry_max: Duration::from_secs(5400),
                transient_horizon: Duration::from_secs(3 * 86400),
                parallel_streams: 4,
                analyse_media: false,
            }
        );
        let s = all.apply(DownloadSettings {
            worker_id: "w1".into(),
            ..DownloadSettings::default()
        });
        assert_eq!(s.worker_id, "w1", "the worker id is kept");
        assert_eq!(s.max_attempts, 9);
        assert_eq!(s.parallel_streams, 4);
        assert_eq!(s.transient_horizon, Duration::from_secs(3 * 86400));
    }

    #[test]
    fn bad_download_settings_name_the_variable() {
        for (name, value) in [
            ("DOWNLOAD_MAX_ATTEMPTS", "0"),
            ("DOWNLOAD_MAX_ATTEMPTS", "six"),
            ("DOWNLOAD_RETRY_BASE", "5 parsecs"),
            ("DOWNLOAD_RETRY_BASE", "0s"),
            ("DOWNLOAD_RETRY_MAX", "15"),
            ("DOWNLOAD_TRANSIENT_HORIZON", "-1h"),
            ("DOWNLOAD_PARALLEL_STREAMS", "0"),
            ("DOWNLOAD_PARALLEL_STREAMS", "17"),
            ("DOWNLOAD_ANALYSE_MEDIA", "maybe"),
        ] {
            let e = download_env_from(&lookup(&[(name, value)])).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(name), "{name}={value}: {msg}");
            assert!(msg.contains(value), "{name}={value}: {msg}");
        }
        let e = download_env_from(&lookup(&[
            ("DOWNLOAD_RETRY_BASE", "1h"),
            ("DOWNLOAD_RETRY_MAX", "5m"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("DOWNLOAD_RETRY_MAX"), "{e}");
    }

    #[test]
    fn s3_uris_are_split() {
        assert_eq!(split_s3_uri("s3://b/k/x.toml").unwrap(), ("b", "k/x.toml"));
        assert!(split_s3_uri("s3://b").is_err());
        assert!(split_s3_uri("https://b/k").is_err());
    }
}
