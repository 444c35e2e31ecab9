//! SDK error classification shared by the adapters.

use archiver_core::BoxError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Errors of the AWS composition helpers ([`crate::connect`], [`crate::init_resources`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// The settings are unusable (the message names the setting).
    #[error("invalid AWS settings: {0}")]
    Settings(String),
    /// An AWS call failed.
    #[error("{what} failed: {source}")]
    Sdk {
        /// What was being done, naming the resource.
        what: String,
        /// The SDK's error.
        source: BoxError,
        /// Whether trying again may succeed.
        retryable: bool,
    },
}

impl AwsError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AwsError::Sdk {
                retryable: true,
                ..
            }
        )
    }

    pub(crate) fn sdk<E>(what: impl Into<String>, e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let f = Failure::of(e);
        AwsError::Sdk {
            what: what.into(),
            retryable: f.retryable,
            source: f.into_source(),
        }
    }
}

/// An SDK error kept as the cause of an adapter's error. The SDK's own `Display` is terse
/// ("service error"); this one shows the whole chain (service code, message, request id)
/// and `source()` is the SDK error itself.
#[derive(Debug)]
pub(crate) struct SdkCause {
    rendered: String,
    inner: BoxError,
}

impl std::fmt::Display for SdkCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for SdkCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.inner.as_ref())
    }
}

/// A classified SDK failure.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The service's error code, when it sent one.
    pub code: Option<String>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The whole error chain, rendered (for matching and logs).
    pub message: String,
    /// The SDK error, as a cause.
    pub source: SdkCause,
    /// Whether trying again may succeed.
    pub retryable: bool,
}

const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionConflictException",
    "KMS.ThrottlingException",
];

impl Failure {
    /// Classifies an SDK error: throttling, 5xx, timeouts and transport failures are retryable.
    pub fn of<E>(e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let rendered = DisplayErrorContext(&e).to_string();
        let (code, status, retryable) = Self::classify(&e);
        Failure {
            code,
            status,
            message: rendered.clone(),
            source: SdkCause {
                rendered,
                inner: Box::new(e),
            },
            retryable,
        }
    }

    fn classify<E>(e: &SdkError<E, HttpResponse>) -> (Option<String>, Option<u16>, bool)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match e {
            SdkError::ConstructionFailure(_) => (None, None, false),
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (None, None, true),
            SdkError::ResponseError(r) => (None, Some(r.raw().status().as_u16()), true),
            SdkError::ServiceError(s) => {
                let status = s.raw().status().as_u16();
                let code = s.err().code().map(str::to_owned);
                let retryable = status >= 500
                    || status == 429
                    || code
                        .as_deref()
                        .is_some_and(|c| RETRYABLE_CODES.contains(&c));
                (code, Some(status), retryable)
            }
            _ => (e.code().map(str::to_owned), None, true),
        }
    }

    /// True when the service answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl Failure {
    /// The SDK error as a cause.
    pub fn into_source(self) -> BoxError {
        Box::new(self.source)
    }

    /// The metadata-store error of `what` failing on DynamoDB table `table` (the one
    /// shape every DynamoDB adapter reports).
    pub fn on_table(self, what: &str, table: &str) -> archiver_core::MetaError {
        archiver_core::MetaError::Backend {
            what: format!("{what} on table {table}"),
            retryable: self.retryable,
            source: self.into_source(),
        }
    }
}
