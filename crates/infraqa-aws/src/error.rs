//! Errors from AWS calls, keeping the cause and saying what was being done.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Error codes AWS uses for throttling; the SDK retries these with backoff.
pub const THROTTLING_CODES: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// A failed AWS call or a client that could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// An AWS API call failed (after the SDK's retries).
    #[error("{service} {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Call {
        /// The service, e.g. `s3`.
        service: &'static str,
        /// The operation, e.g. `ListBuckets`.
        operation: &'static str,
        /// The AWS error code, when the service sent one.
        code: Option<String>,
        /// What AWS (or the transport) said.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
        /// The SDK error; its causes are already summarised in `message`, so it is not
        /// chained as `source` (error reports would print them twice).
        cause: BoxError,
    },
    /// No region was configured, and one is needed.
    #[error("no AWS region configured: pass --region or set AWS_REGION")]
    NoRegion,
}

impl AwsError {
    /// Wraps an SDK error from `service`'s `operation`.
    pub fn call<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (code, message, retryable) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let code = e.code().map(str::to_owned);
                let retryable = code.as_deref().is_some_and(|c| {
                    THROTTLING_CODES.contains(&c)
                        || c == "InternalError"
                        || c == "ServiceUnavailable"
                });
                (
                    code,
                    e.message().map_or_else(|| e.to_string(), str::to_owned),
                    retryable,
                )
            }
            SdkError::TimeoutError(_) => (None, "timed out".to_owned(), true),
            SdkError::DispatchFailure(d) => (
                None,
                format!(
                    "could not reach the endpoint: {}",
                    source_chain(&err).unwrap_or_else(|| format!("{d:?}"))
                ),
                d.is_io() || d.is_timeout(),
            ),
            SdkError::ResponseError(_) => (
                None,
                format!(
                    "unreadable response: {}",
                    source_chain(&err).unwrap_or_default()
                ),
                true,
            ),
            _ => (
                None,
                source_chain(&err).unwrap_or_else(|| err.to_string()),
                false,
            ),
        };
        Self::Call {
            service,
            operation,
            code,
            message,
            retryable,
            cause: Box::new(err),
        }
    }

    /// The AWS error code, if any (e.g. `AccessDenied`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Call { code, .. } => code.as_deref(),
            Self::NoRegion => None,
        }
    }

    /// The underlying SDK (or other) error.
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        match self {
            Self::Call { cause, .. } => Some(cause.as_ref()),
            Self::NoRegion => None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Call {
                retryable: true,
                ..
            }
        )
    }
}

/// The messages of an error's causes, joined, for one readable line.
fn source_chain(err: &dyn StdError) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}
