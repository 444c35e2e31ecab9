//! AWS adapters of the archiver's ports: S3 ([`S3BlobStore`]), DynamoDB
//! ([`DynamoMetaStore`], and [`DynamoQuotaLedger`], [`DynamoAuditLog`] and the review UI's
//! accounts, [`DynamoReviewerStore`], in the same table), SQS with a
//! dead-letter queue ([`SqsTaskQueue`]) and Secrets Manager ([`SecretsManagerSource`]).
//!
//! [`connect`] builds the SDK clients once (a composition root calls it at cold start) and
//! wraps them in the adapters; [`init_resources`] creates the bucket, table and queues when
//! they are missing (what `zoom-archiver aws init` does for a workstation or an emulator;
//! a deployed stack gets them from `infra/template.yaml`). [`table_definition`] is the one
//! source of truth for the table's keys and indexes, and a test checks that the SAM
//! template declares exactly the same.
//!
//! Local emulators: when `endpoint_url` is set (or `AWS_ENDPOINT_URL` is in the
//! environment) S3 is addressed path-style; when the endpoint is a loopback address and
//! the environment has no `AWS_ACCESS_KEY_ID`, dummy credentials are used, so tests against
//! `moto_server` need no AWS profile.

mod dynamo;
mod dynamo_audit;
mod dynamo_quota;
mod dynamo_reviewers;
mod error;
mod init;
mod kms;
mod s3;
mod secrets;
mod sqs;
pub mod stack;

pub use dynamo::{DynamoMetaStore, GsiDefinition, TableDefinition, table_definition};
pub use dynamo_audit::DynamoAuditLog;
pub use dynamo_quota::DynamoQuotaLedger;
pub use dynamo_reviewers::DynamoReviewerStore;
pub use error::AwsError;
pub use init::{
    DOWNLOADER_TIMEOUT_SECS, InitReport, MAX_RECEIVE_COUNT, QUEUE_VISIBILITY_SECS, init_resources,
};
pub use kms::KmsSigner;
pub use s3::{MAX_PARTS_IN_FLIGHT, PART_SIZE, S3BlobStore};
pub use secrets::{SECRET_CACHE_TTL, SecretsManagerSource};
pub use sqs::SqsTaskQueue;

use archiver_core::{Clock, Ports};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::Deserialize;
use std::sync::Arc;

/// Where the archiver's AWS resources are (the `[aws]` table of the config file, or the
/// functions' environment).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// AWS region, e.g. `eu-central-1`.
    pub region: String,
    /// Endpoint override for every service (e.g. `http://127.0.0.1:5055` for moto).
    pub endpoint_url: Option<String>,
    /// The media bucket.
    pub bucket: String,
    /// The metadata table.
    pub table: String,
    /// The download task queue.
    pub queue_name: String,
    /// The dead-letter queue; `{queue_name}-dlq` when absent.
    #[serde(default)]
    pub dlq_name: Option<String>,
    /// KMS key for SSE-KMS; SSE-S3 (AES256) when absent.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Prefix put before every object key (e.g. `archive/`).
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// S3 Object Lock mode for objects written with a retain-until date (`GOVERNANCE` or
    /// `COMPLIANCE`); the bucket must have Object Lock enabled (`aws init` creates it so
    /// when this is set). Without it, retention is recorded in the object's metadata and
    /// enforced by the archive's own deletes only.
    #[serde(default)]
    pub object_lock: Option<String>,
    /// The KMS key that signs the daily manifests (`ECC_NIST_P256`, `SIGN_VERIFY`): key id,
    /// ARN or alias. Without it nothing is sealed on this backend.
    #[serde(default)]
    pub manifest_key_id: Option<String>,
}

impl AwsSettings {
    /// The dead-letter queue's name.
    pub fn dlq_name(&self) -> String {
        self.dlq_name
            .clone()
            .unwrap_or_else(|| format!("{}-dlq", self.queue_name))
    }

    fn validate(&self) -> Result<(), AwsError> {
        for (k, v) in [
            ("region", &self.region),
            ("bucket", &self.bucket),
            ("table", &self.table),
            ("queue_name", &self.queue_name),
        ] {
            if v.trim().is_empty() {
                return Err(AwsError::Settings(format!("{k} must not be empty")));
            }
        }
        if let Some(p) = &self.key_prefix
            && p.starts_with('/')
        {
            return Err(AwsError::Settings(format!(
                "key_prefix {p:?} must not start with '/'"
            )));
        }
        if let Some(m) = &self.object_lock
            && m != "GOVERNANCE"
            && m != "COMPLIANCE"
        {
            return Err(AwsError::Settings(format!(
                "object_lock {m:?} must be GOVERNANCE or COMPLIANCE"
            )));
        }
        Ok(())
    }
}

/// The adapters over one set of SDK clients.
#[derive(Clone)]
pub struct AwsAdapters {
    /// S3 media store.
    pub blobs: Arc<S3BlobStore>,
    /// DynamoDB metadata store.
    pub meta: Arc<DynamoMetaStore>,
    /// SQS task queue.
    pub queue: Arc<SqsTaskQueue>,
    /// Secrets Manager source.
    pub secrets: Arc<SecretsManagerSource>,
    /// DynamoDB quota ledger (in the metadata table).
    pub quota: Arc<DynamoQuotaLedger>,
    /// DynamoDB audit trail (in the metadata table).
    pub audit: Arc<DynamoAuditLog>,
    /// DynamoDB review accounts, token hashes and grants (in the metadata table).
    pub reviewers: Arc<DynamoReviewerStore>,
    /// The KMS manifest signer, when `manifest_key_id` is set.
    pub signer: Option<Arc<KmsSigner>>,
}

impl AwsAdapters {
    /// The core's port bundle over these adapters.
    pub fn ports(&self, clock: Arc<dyn Clock>) -> Ports {
        Ports {
            blobs: self.blobs.clone(),
            meta: self.meta.clone(),
            queue: self.queue.clone(),
            clock,
        }
    }
}

pub(crate) struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub kms: aws_sdk_kms::Client,
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]")
}

/// The SDK configuration for `settings` (region, endpoint override, loopback credentials).
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()));
    let env_endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if let Some(ep) = &settings.endpoint_url {
        loader = loader.endpoint_url(ep);
    }
    let endpoint = settings.endpoint_url.clone().or(env_endpoint);
    if endpoint.as_deref().is_some_and(is_loopback)
        && std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
    {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "archiver-aws-loopback",
        ));
    }
    loader.load().await
}

pub(crate) async fn clients(settings: &AwsSettings) -> Result<Clients, AwsError> {
    settings.validate()?;
    let cfg = sdk_config(settings).await;
    let path_style = settings.endpoint_url.is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let mut s3_conf = aws_sdk_s3::config::Builder::from(&cfg).force_path_style(path_style);
    if path_style {
        // Emulators (moto) report a multipart object's composite SHA-256 without its `-N`
        // suffix, which the SDK would validate as a full-object checksum and refuse. Against
        // an endpoint override, responses are validated only when a request asks for it.
        s3_conf = s3_conf.response_checksum_validation(
            aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
        );
    }
    let s3 = aws_sdk_s3::Client::from_conf(s3_conf.build());
    Ok(Clients {
        s3,
        ddb: aws_sdk_dynamodb::Client::new(&cfg),
        sqs: aws_sdk_sqs::Client::new(&cfg),
        secrets: aws_sdk_secretsmanager::Client::new(&cfg),
        kms: aws_sdk_kms::Client::new(&cfg),
    })
}

/// Builds the SDK clients once and the adapters over them. Makes no AWS call: queue URLs
/// are resolved on first use.
pub async fn connect(
    settings: &AwsSettings,
    clock: Arc<dyn Clock>,
) -> Result<AwsAdapters, AwsError> {
    let c = clients(settings).await?;
    Ok(AwsAdapters {
        quota: Arc::new(DynamoQuotaLedger::new(c.ddb.clone(), &settings.table)),
        audit: Arc::new(DynamoAuditLog::new(c.ddb.clone(), &settings.table)),
        reviewers: Arc::new(DynamoReviewerStore::new(c.ddb.clone(), &settings.table)),
        signer: settings
            .manifest_key_id
            .as_ref()
            .map(|k| Arc::new(KmsSigner::new(c.kms.clone(), k))),
        blobs: Arc::new(S3BlobStore::new(c.s3, settings)),
        meta: Arc::new(DynamoMetaStore::new(c.ddb, &settings.table, clock.clone())),
        queue: Arc::new(SqsTaskQueue::new(
            c.sqs,
            &settings.queue_name,
            &settings.dlq_name(),
            clock,
        )),
        secrets: Arc::new(SecretsManagerSource::new(c.secrets)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_strictly_and_default_the_dlq() {
        let s: AwsSettings = serde_json::from_str(r#"{"region":"us-east-1","bucket":"b","table":"t","queue_name":"q","endpoint_url":null}"#).unwrap();
        assert_eq!(s.dlq_name(), "q-dlq");
        assert!(
            serde_json::from_str::<AwsSettings>(
                r#"{"region":"r","bucket":"b","table":"t","queue_name":"q","nope":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("http://127.0.0.1:5055"));
        assert!(is_loopback("http://localhost:4566/"));
        assert!(is_loopback("http://[::1]:5055"));
        assert!(!is_loopback("https://s3.eu-central-1.amazonaws.com"));
    }
}
