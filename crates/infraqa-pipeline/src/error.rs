//! Why a step failed, and whether trying again can help.

use infraqa_aws::AwsError;
use std::error::Error as StdError;

/// A step that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The input cannot be used as it is (a document of another kind or version, findings of
    /// another inventory, a plan of another policy, a malformed event): retrying cannot help.
    #[error("{what}")]
    Input {
        /// What is wrong, naming the input.
        what: String,
        /// The underlying complaint, if any.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// An AWS call failed (reading the account, or a store in S3).
    #[error("{what}")]
    Aws {
        /// What was being done.
        what: String,
        /// The failed call.
        #[source]
        source: Box<AwsError>,
    },
    /// A local file could not be read or written.
    #[error("{what}")]
    Storage {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl PipelineError {
    /// Bad input, described in full by `what`.
    pub fn input(what: impl Into<String>) -> Self {
        Self::Input {
            what: what.into(),
            source: None,
        }
    }

    /// Bad input with its cause.
    pub fn input_because(
        what: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Input {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A failed AWS call while doing `what`.
    pub fn aws(what: impl Into<String>, source: AwsError) -> Self {
        Self::Aws {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// A local storage failure while doing `what`.
    pub fn storage(what: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Storage {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// Whether the input itself is at fault (exit 2; a Lambda must not retry).
    pub fn is_input(&self) -> bool {
        matches!(self, Self::Input { .. })
    }

    /// Whether the same step may succeed if tried again later (throttling, a timeout, a 5xx,
    /// a full disk): what a Lambda handler tells its caller.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Input { .. } => false,
            Self::Aws { source, .. } => source.is_retryable(),
            Self::Storage { .. } => true,
        }
    }
}
