//! SDK error classification shared by the adapters.

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
    #[error("{what} failed: {message}")]
    Sdk {
        /// What was being done, naming the resource.
        what: String,
        /// The SDK's error chain.
        message: String,
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

    pub(crate) fn sdk<E>(what: impl Into<String>, e: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let f = Failure::of(e);
        AwsError::Sdk {
            what: what.into(),
            message: f.message,
            retryable: f.retryable,
        }
    }
}

/// A classified SDK failure.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The service's error code, when it sent one.
    pub code: Option<String>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The full error chain.
    pub message: String,
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
    pub fn of<E>(e: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = DisplayErrorContext(e).to_string();
        match e {
            SdkError::ConstructionFailure(_) => Failure {
                code: None,
                status: None,
                message,
                retryable: false,
            },
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Failure {
                code: None,
                status: None,
                message,
                retryable: true,
            },
            SdkError::ResponseError(r) => {
                let status = r.raw().status().as_u16();
                Failure {
                    code: None,
                    status: Some(status),
                    message,
                    retryable: true,
                }
            }
            SdkError::ServiceError(s) => {
                let status = s.raw().status().as_u16();
                let code = s.err().code().map(str::to_owned);
                let retryable = status >= 500
                    || status == 429
                    || code
                        .as_deref()
                        .is_some_and(|c| RETRYABLE_CODES.contains(&c));
                Failure {
                    code,
                    status: Some(status),
                    message,
                    retryable,
                }
            }
            _ => Failure {
                code: e.code().map(str::to_owned),
                status: None,
                message,
                retryable: true,
            },
        }
    }

    /// True when the service answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}
