//! Handler errors and their Lambda diagnostics.

use lambda_runtime::Diagnostic;

/// An error a handler returns to the Lambda runtime. Its `Diagnostic` has `errorType`
/// `Retryable` (trying the same event again may succeed: Lambda's async retries and the
/// alarms treat it as transient) or `NonRetryable` (the event or the configuration is
/// wrong: retrying it would fail the same way), and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// What failed, naming the tenant, source or day concerned.
    pub message: String,
    /// Whether trying again may succeed.
    pub retryable: bool,
}

impl HandlerError {
    /// A transient failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that the same event would meet again.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }

    /// The diagnostic's `errorType`.
    pub fn error_type(&self) -> &'static str {
        if self.retryable {
            "Retryable"
        } else {
            "NonRetryable"
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().into(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_say_whether_a_retry_can_help() {
        let d: Diagnostic = HandlerError::retryable("poll of acme/phone failed: 503").into();
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(d.error_message, "poll of acme/phone failed: 503");
        let d: Diagnostic = HandlerError::permanent("input field day \"x\"").into();
        assert_eq!(d.error_type, "NonRetryable");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["errorType"], "NonRetryable");
    }
}
