//! Create-if-missing of the bucket, table and queues (for workstations and emulators; a
//! deployed stack gets them from `infra/template.yaml` with the same settings).

use crate::error::{AwsError, Failure};
use crate::{AwsSettings, clients, table_definition};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;

/// The downloader function's timeout (seconds), as in `infra/template.yaml`.
pub const DOWNLOADER_TIMEOUT_SECS: u64 = 600;
/// The queue's visibility timeout: six times the downloader's timeout, as AWS advises for
/// SQS event sources.
pub const QUEUE_VISIBILITY_SECS: u64 = 6 * DOWNLOADER_TIMEOUT_SECS;
/// Deliveries before SQS moves a task to the dead-letter queue (the core's
/// [`archiver_core::MAX_RECEIVE_COUNT`], one value). A backstop only: the downloader settles
/// a task on its second-to-last delivery (its file parked with the reason, the sweep sends
/// a fresh task); this redrive catches what the core cannot: a task whose handling crashes
/// the function every time.
pub use archiver_core::MAX_RECEIVE_COUNT;
const DLQ_RETENTION_SECS: u64 = 14 * 86_400;

/// What [`init_resources`] found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Resources created now (`s3://bucket`, `dynamodb:table`, `sqs:queue`).
    pub created: Vec<String>,
    /// Resources that already existed (left as they are).
    pub existing: Vec<String>,
}

/// Creates the bucket (versioning, default encryption, public access block, a rule
/// aborting incomplete multipart uploads after 7 days), the table (keys and indexes of
/// [`table_definition`], on-demand, TTL) and the queue with its DLQ (redrive after
/// [`MAX_RECEIVE_COUNT`] receives) when missing. Existing resources are left unchanged,
/// so it can run any number of times.
pub async fn init_resources(settings: &AwsSettings) -> Result<InitReport, AwsError> {
    let c = clients(settings).await?;
    let mut report = InitReport::default();
    init_bucket(&c.s3, settings, &mut report).await?;
    init_table(&c.ddb, &settings.table, &mut report).await?;
    init_queues(&c.sqs, settings, &mut report).await?;
    if let Some(key) = &settings.manifest_key_id {
        init_manifest_key(&c.kms, key, &mut report).await?;
    }
    Ok(report)
}

/// The manifest signing key: an alias (`alias/…`) that names no key gets a new
/// `ECC_NIST_P256` `SIGN_VERIFY` key; any other id must name an existing key.
async fn init_manifest_key(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
    report: &mut InitReport,
) -> Result<(), AwsError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let label = format!("kms:{key_id}");
    match kms.describe_key().key_id(key_id).send().await {
        Ok(_) => {
            report.existing.push(label);
            return Ok(());
        }
        Err(e) => {
            let f = Failure::of(e);
            if !f.is("NotFoundException") || !key_id.starts_with("alias/") {
                return Err(AwsError::Sdk {
                    what: format!(
                        "DescribeKey {key_id} (manifest_key_id; only an alias/… name is created)"
                    ),
                    retryable: f.retryable,
                    source: f.into_source(),
                });
            }
        }
    }
    let created = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description("zoom-archiver: signs the daily manifests (ECDSA_SHA_256)")
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("CreateKey for {key_id}"), e))?;
    let id = created
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .unwrap_or_default();
    kms.create_alias()
        .alias_name(key_id)
        .target_key_id(&id)
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("CreateAlias {key_id}"), e))?;
    report.created.push(label);
    Ok(())
}

async fn init_bucket(
    s3: &aws_sdk_s3::Client,
    settings: &AwsSettings,
    report: &mut InitReport,
) -> Result<(), AwsError> {
    let bucket = &settings.bucket;
    let label = format!("s3://{bucket}");
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {
            report.existing.push(label);
            return Ok(());
        }
        Err(e) => {
            let f = Failure::of(e);
            if f.status != Some(404) && !f.is("NotFound") && !f.is("NoSuchBucket") {
                return Err(AwsError::Sdk {
                    what: format!("HeadBucket {bucket}"),
                    retryable: f.retryable,
                    source: f.into_source(),
                });
            }
        }
    }
    let mut req = s3
        .create_bucket()
        .bucket(bucket)
        // Object Lock can only be turned on when a bucket is created.
        .set_object_lock_enabled_for_bucket(settings.object_lock.is_some().then_some(true));
    if settings.region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(settings.region.as_str()))
                .build(),
        );
    }
    if let Err(e) = req.send().await {
        let f = Failure::of(e);
        if !f.is("BucketAlreadyOwnedByYou") {
            return Err(AwsError::Sdk {
                what: format!("CreateBucket {bucket}"),
                retryable: f.retryable,
                source: f.into_source(),
            });
        }
    }
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("PutBucketVersioning {bucket}"), e))?;
    let default = match &settings.kms_key_id {
        Some(k) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(k),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    }
    .build()
    .map_err(|e| AwsError::Settings(e.to_string()))?;
    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::Settings(e.to_string()))?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("PutBucketEncryption {bucket}"), e))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("PutPublicAccessBlock {bucket}"), e))?;
    let rule = LifecycleRule::builder()
        .id("abort-incomplete-multipart-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(7)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::Settings(e.to_string()))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| AwsError::Settings(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("PutBucketLifecycleConfiguration {bucket}"), e))?;
    report.created.push(label);
    Ok(())
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| AwsError::Settings(e.to_string()))
}

async fn init_table(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    report: &mut InitReport,
) -> Result<(), AwsError> {
    let label = format!("dynamodb:{table}");
    match ddb.describe_table().table_name(table).send().await {
        Ok(_) => {
            report.existing.push(label);
            return Ok(());
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(AwsError::sdk(format!("DescribeTable {table}"), e)),
    }
    let def = table_definition();
    let mut req = ddb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(&def.partition_key, KeyType::Hash)?)
        .key_schema(key(&def.sort_key, KeyType::Range)?);
    for a in def.attributes() {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| AwsError::Settings(e.to_string()))?,
        );
    }
    for g in &def.gsis {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&g.name)
                .key_schema(key(&g.partition_key, KeyType::Hash)?)
                .key_schema(key(&g.sort_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| AwsError::Settings(e.to_string()))?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            report.existing.push(label);
            return Ok(());
        }
        Err(e) => return Err(AwsError::sdk(format!("CreateTable {table}"), e)),
    }
    ddb.wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| AwsError::Sdk {
            what: format!("waiting for table {table}"),
            source: Box::new(e),
            retryable: true,
        })?;
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(&def.ttl_attribute)
                .build()
                .map_err(|e| AwsError::Settings(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("UpdateTimeToLive {table}"), e))?;
    report.created.push(label);
    Ok(())
}

async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<Option<String>, AwsError> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(o) => Ok(o.queue_url),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(e) => {
            let f = Failure::of(e);
            if f.is("AWS.SimpleQueueService.NonExistentQueue") || f.is("QueueDoesNotExist") {
                Ok(None)
            } else {
                Err(AwsError::Sdk {
                    what: format!("GetQueueUrl {name}"),
                    retryable: f.retryable,
                    source: f.into_source(),
                })
            }
        }
    }
}

async fn init_queues(
    sqs: &aws_sdk_sqs::Client,
    settings: &AwsSettings,
    report: &mut InitReport,
) -> Result<(), AwsError> {
    let dlq = settings.dlq_name();
    let dlq_url = match queue_url(sqs, &dlq).await? {
        Some(u) => {
            report.existing.push(format!("sqs:{dlq}"));
            u
        }
        None => {
            let out = sqs
                .create_queue()
                .queue_name(&dlq)
                .attributes(
                    QueueAttributeName::MessageRetentionPeriod,
                    DLQ_RETENTION_SECS.to_string(),
                )
                .send()
                .await
                .map_err(|e| AwsError::sdk(format!("CreateQueue {dlq}"), e))?;
            report.created.push(format!("sqs:{dlq}"));
            out.queue_url.unwrap_or_default()
        }
    };
    let name = &settings.queue_name;
    if queue_url(sqs, name).await?.is_some() {
        report.existing.push(format!("sqs:{name}"));
        return Ok(());
    }
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("GetQueueAttributes {dlq}"), e))?;
    let dlq_arn = attrs
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| AwsError::Sdk {
            what: format!("GetQueueAttributes {dlq}"),
            source: "no QueueArn".into(),
            retryable: false,
        })?;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
            .to_string();
    sqs.create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            QUEUE_VISIBILITY_SECS.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .map_err(|e| AwsError::sdk(format!("CreateQueue {name}"), e))?;
    report.created.push(format!("sqs:{name}"));
    Ok(())
}
