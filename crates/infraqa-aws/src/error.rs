//! Errors from AWS calls, keeping the cause and saying what was being done.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
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
    #[error("{service} {operation} failed ({code}): {message}")]
    Call {
        /// The service, e.g. `s3`.
        service: &'static str,
        /// The operation, e.g. `ListBuckets`.
        operation: &'static str,
        /// The AWS error code (e.g. `AccessDenied`); for errors without one, a class:
        /// `HttpStatusNNN`, `Timeout`, `Unreachable`, `InvalidResponse` or `Unknown`.
        code: String,
        /// What AWS (or the transport) said.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
        /// The SDK error; its causes are already summarised in `message`, so it is not
        /// chained as `source` (error reports would print them twice).
        cause: BoxError,
    },
    /// A paginated call answered with a page token it had already given: following it would
    /// loop for ever, so the listing stops there.
    #[error("{service} {operation} repeated the page token {token}: the listing stopped there")]
    RepeatedPageToken {
        /// The service.
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// The token seen twice.
        token: String,
    },
    /// No region was configured, and one is needed.
    #[error("no AWS region configured (none in AWS_REGION, the profile or the caller's options)")]
    NoRegion,
}

impl AwsError {
    /// This error as an inventory records a read that failed in `region`.
    pub fn record(&self, region: &str) -> infraqa_core::ScanError {
        let (service, operation) = match self {
            Self::Call {
                service, operation, ..
            }
            | Self::RepeatedPageToken {
                service, operation, ..
            } => (*service, *operation),
            Self::NoRegion => ("config", "LoadRegion"),
        };
        infraqa_core::ScanError {
            region: region.to_owned(),
            service: service.to_owned(),
            operation: operation.to_owned(),
            code: self.code().to_owned(),
            message: self.to_string(),
        }
    }

    /// The same error with `what` (e.g. `bucket logs`) in front of its message, for calls
    /// made once per resource.
    pub fn naming(mut self, what: &str) -> Self {
        if let Self::Call { message, .. } = &mut self {
            *message = format!("{what}: {message}");
        }
        self
    }

    /// Wraps an SDK error from `service`'s `operation`.
    pub fn call<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (code, message, retryable) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let code = e.code().map_or_else(
                    || {
                        http_status(se.raw())
                            .map_or("Unknown".to_owned(), |s| format!("HttpStatus{s}"))
                    },
                    str::to_owned,
                );
                let retryable = THROTTLING_CODES.contains(&code.as_str())
                    || matches!(code.as_str(), "InternalError" | "ServiceUnavailable")
                    || code.starts_with("HttpStatus5");
                let message = e
                    .message()
                    .map(str::to_owned)
                    .or_else(|| source_chain(&err))
                    .unwrap_or_else(|| e.to_string());
                (code, message, retryable)
            }
            SdkError::TimeoutError(_) => ("Timeout".to_owned(), "timed out".to_owned(), true),
            SdkError::DispatchFailure(d) => (
                "Unreachable".to_owned(),
                format!(
                    "could not reach the endpoint: {}",
                    source_chain(&err).unwrap_or_else(|| format!("{d:?}"))
                ),
                d.is_io() || d.is_timeout(),
            ),
            SdkError::ResponseError(_) => (
                "InvalidResponse".to_owned(),
                format!(
                    "unreadable response: {}",
                    source_chain(&err).unwrap_or_default()
                ),
                true,
            ),
            _ => (
                "Unknown".to_owned(),
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

    /// The error code or class (see [`AwsError::Call`]); `NoRegion` for a missing region.
    pub fn code(&self) -> &str {
        match self {
            Self::Call { code, .. } => code,
            Self::RepeatedPageToken { .. } => "RepeatedPageToken",
            Self::NoRegion => "NoRegion",
        }
    }

    /// The underlying SDK (or other) error.
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        match self {
            Self::Call { cause, .. } => Some(cause.as_ref()),
            Self::RepeatedPageToken { .. } | Self::NoRegion => None,
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

/// The HTTP status of a raw response, when the response type is the HTTP one.
fn http_status<R: std::fmt::Debug + 'static>(raw: &R) -> Option<u16> {
    (raw as &dyn std::any::Any)
        .downcast_ref::<Response>()
        .map(|r| r.status().as_u16())
}

/// The messages of an error's causes, joined, for one readable line.
fn source_chain(err: &dyn StdError) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}
