//! One pipeline, two shells: every step infraqa runs (load the policy, scan, check, build and
//! render the report, store the outputs and the history, plan and write tags, validate an
//! event, keep the audit log) as library calls over a [`store::Store`] that is a local
//! directory or an S3 prefix. The `infraqa` CLI and the Lambda functions are thin shells over
//! these calls, so both produce the same bytes for the same inputs.

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod backtest;
pub mod error;
pub mod export;
pub mod fix;
pub mod history;
pub mod latest;
mod provenance;
pub mod report;
pub mod shards;
pub mod store;
pub mod tag;
pub mod validation;

pub use aws::Aws;
pub use error::PipelineError;
pub use store::{Location, Store};
