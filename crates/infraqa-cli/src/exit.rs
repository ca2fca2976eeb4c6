//! Exit codes (a public contract) and the error type that carries them to `main`.

use std::process::ExitCode;

/// The documented exit codes of `infraqa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Success = 0,
    /// 2: bad usage, or an invalid policy or input file.
    InvalidInput = 2,
    /// 3: an AWS or storage failure stopped the run.
    AwsOrStorage = 3,
    /// 4: `--fail-on SEVERITY` and a finding at or above it exists.
    FindingsAtThreshold = 4,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s as u8)
    }
}

/// Why a command failed; each kind maps to one exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or an invalid policy or input file (exit 2).
    #[error(transparent)]
    InvalidInput(anyhow::Error),
    /// An AWS or storage failure that stopped the run (exit 3).
    #[error(transparent)]
    AwsOrStorage(anyhow::Error),
    /// Findings at or above the `--fail-on` threshold exist (exit 4).
    #[error("{0}")]
    FindingsAtThreshold(String),
}

/// `impl From<$error> for CliError` mapping to the `$kind` variant.
macro_rules! exit_kind {
    ($($error:ty => $kind:ident),* $(,)?) => {$(
        impl From<$error> for CliError {
            fn from(e: $error) -> Self {
                Self::$kind(e.into())
            }
        }
    )*};
}

// Which exit code each library error leads to, decided here once per error type: bad input
// is the user's to fix (2); AWS and storage failures stopped the run (3).
exit_kind! {
    infraqa_core::PolicyError => InvalidInput,
    infraqa_core::document::DocumentError => InvalidInput,
    infraqa_core::check::Mismatch => InvalidInput,
    infraqa_report::store::StoreError => AwsOrStorage,
}

// A pipeline step's error: the input's fault (2), or AWS or storage (3).
impl From<infraqa_pipeline::PipelineError> for CliError {
    fn from(e: infraqa_pipeline::PipelineError) -> Self {
        if e.is_input() {
            Self::InvalidInput(e.into())
        } else {
            Self::AwsOrStorage(e.into())
        }
    }
}

// An AWS error stopped the run too; a missing region also gets the CLI's hint.

impl From<infraqa_aws::AwsError> for CliError {
    fn from(e: infraqa_aws::AwsError) -> Self {
        let hint = matches!(e, infraqa_aws::AwsError::NoRegion)
            .then_some("pass --region or set AWS_REGION");
        let err = anyhow::Error::new(e);
        Self::AwsOrStorage(match hint {
            Some(h) => err.context(h),
            None => err,
        })
    }
}

impl CliError {
    /// The same error (and exit code) with `what` was being done in front of it.
    pub fn context(self, what: impl std::fmt::Display + Send + Sync + 'static) -> Self {
        match self {
            Self::InvalidInput(e) => Self::InvalidInput(e.context(what)),
            Self::AwsOrStorage(e) => Self::AwsOrStorage(e.context(what)),
            other => other,
        }
    }

    /// The exit code for this error.
    pub fn status(&self) -> ExitStatus {
        match self {
            Self::InvalidInput(_) => ExitStatus::InvalidInput,
            Self::AwsOrStorage(_) => ExitStatus::AwsOrStorage,
            Self::FindingsAtThreshold(_) => ExitStatus::FindingsAtThreshold,
        }
    }

    /// The error with its chain of causes, one per line, for a person to read.
    pub fn render(&self) -> String {
        match self {
            Self::InvalidInput(e) | Self::AwsOrStorage(e) => format!("{e:#}"),
            Self::FindingsAtThreshold(msg) => msg.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_kind_has_its_documented_code() {
        let cases = [
            (CliError::InvalidInput(anyhow::anyhow!("bad policy")), 2),
            (CliError::AwsOrStorage(anyhow::anyhow!("AccessDenied")), 3),
            (CliError::FindingsAtThreshold("2 critical".into()), 4),
        ];
        for (err, code) in cases {
            assert_eq!(err.status() as u8, code, "{err}");
        }
        assert_eq!(ExitStatus::Success as u8, 0);
    }

    #[test]
    fn render_keeps_the_cause_chain() {
        let err = CliError::InvalidInput(
            anyhow::anyhow!("No such file").context("reading policy p.toml"),
        );
        assert_eq!(err.render(), "reading policy p.toml: No such file");
    }
}
