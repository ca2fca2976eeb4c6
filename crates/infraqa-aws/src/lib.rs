//! The AWS adapters of infraqa.
//!
//! This is the one place that builds AWS clients: it loads `aws-config` once, applies the
//! endpoint override (with the S3 path-style and S3 Control fixes an emulator needs), the SDK's
//! standard retry mode, timeouts and a client-side rate limit per (service, region). Everything
//! else receives clients from [`AwsClients`]; nothing else reads AWS configuration.

pub mod accounts;
pub mod alerts;
pub mod clients;
pub mod cost;
pub mod error;
pub mod fix;
pub mod metrics;
pub mod objects;
pub mod options;
pub mod rate_limit;
pub mod scan;
pub mod securityhub;
pub mod stacks;
pub mod stats;
pub mod tagger;
pub mod validate;

pub use clients::AwsClients;
pub use error::AwsError;
pub use options::{AwsOptions, RateLimit, Service};
