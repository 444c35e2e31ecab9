//! The deployed stack, built once per cold start.

use archiver_aws::stack::{load_tenant_config, settings_from_env};
use archiver_aws::{AwsAdapters, AwsError, AwsSettings};
use archiver_core::services::budget::BudgetedZoom;
use archiver_core::services::credentials::zoom_credentials;
use archiver_core::{
    Clock, Ports, QuotaLedger, SecretError, SystemClock, TenantConfig, ZoomApi, ZoomError,
};
use archiver_zoom::{ZoomClient, ZoomClientConfig};
use std::sync::Arc;

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The environment, the tenant configuration or an AWS client.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The tenant's Zoom credentials.
    #[error("tenant {tenant}: reading the Zoom credentials: {source}")]
    Credentials {
        /// The tenant.
        tenant: String,
        /// What failed (names the secret, never its value).
        source: SecretError,
    },
    /// The Zoom client (e.g. an unusable proxy URL).
    #[error("tenant {tenant}: building the Zoom client: {source}")]
    Zoom {
        /// The tenant.
        tenant: String,
        /// What failed.
        source: ZoomError,
    },
}

/// Everything a function of one tenant's stack runs on (environment: see
/// [`archiver_aws::stack`]).
pub struct Stack {
    /// Where the stack's resources are.
    pub settings: AwsSettings,
    /// The AWS adapters (S3, DynamoDB, SQS, Secrets Manager, quota ledger).
    pub aws: AwsAdapters,
    /// The core's port bundle over them, with the system clock.
    pub ports: Ports,
    /// The quota ledger every Zoom call is counted in.
    pub quota: Arc<dyn QuotaLedger>,
    /// The stack's tenant.
    pub tenant: TenantConfig,
    /// The tenant's Zoom client, counted in the ledger and kept within the daily budget.
    pub zoom: Arc<dyn ZoomApi>,
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, else the given default).
    pub function: String,
    /// The CDRs' `location`: `aws-lambda:{function}:{region}`.
    pub location: String,
}

impl Stack {
    /// Reads the environment and the tenant configuration, connects the AWS clients once,
    /// reads the Zoom credentials (the one rule of
    /// [`archiver_core::services::credentials`]) and builds the budgeted Zoom client.
    /// `default_function` names the function when Lambda does not.
    pub async fn from_env(default_function: &str) -> Result<Stack, InitError> {
        let settings = settings_from_env()?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let aws = archiver_aws::connect(&settings, clock.clone()).await?;
        let tenant = load_tenant_config(&settings).await?;
        let creds = zoom_credentials(&tenant, aws.secrets.as_ref())
            .await
            .map_err(|source| InitError::Credentials {
                tenant: tenant.id.to_string(),
                source,
            })?;
        let zoom =
            ZoomClient::new(ZoomClientConfig::for_tenant(&tenant, creds)).map_err(|source| {
                InitError::Zoom {
                    tenant: tenant.id.to_string(),
                    source,
                }
            })?;
        let quota: Arc<dyn QuotaLedger> = aws.quota.clone();
        let zoom: Arc<dyn ZoomApi> = Arc::new(
            BudgetedZoom::new(
                Arc::new(zoom),
                quota.clone(),
                tenant.account_id.clone(),
                tenant.budget(),
                clock.clone(),
            )
            .for_tenant(&tenant.id),
        );
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| default_function.to_string());
        Ok(Stack {
            location: format!("aws-lambda:{function}:{}", settings.region),
            ports: aws.ports(clock),
            settings,
            aws,
            quota,
            tenant,
            zoom,
            function,
        })
    }

    /// An id of this execution environment (lease owner, worker id): the function name,
    /// the process id and the start time.
    pub fn instance_id(&self) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{}-{:x}-{:x}", self.function, std::process::id(), nanos)
    }
}
