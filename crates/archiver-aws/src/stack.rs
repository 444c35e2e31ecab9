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
//! | `ZOOM_SECRET_ARN` | Secrets Manager id of the Zoom credentials when the tenant configuration has no `client_secret_ref` |
//!
//! The tenant configuration is one [`TenantConfig`] as TOML or JSON (a document starting
//! with `{` is JSON).

use crate::{AwsError, AwsSettings};
use archiver_core::TenantConfig;
use aws_config::SdkConfig;

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
    })
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

    #[test]
    fn s3_uris_are_split() {
        assert_eq!(split_s3_uri("s3://b/k/x.toml").unwrap(), ("b", "k/x.toml"));
        assert!(split_s3_uri("s3://b").is_err());
        assert!(split_s3_uri("https://b/k").is_err());
    }
}
