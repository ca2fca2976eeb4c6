//! Client-side request rates per AWS service: which services infraqa calls, the default rate
//! for each and where it comes from, and how the policy and the command line override it.
//!
//! Pure data: the AWS adapters turn a [`RateLimit`] into a token bucket per (service, region).

use serde::{Serialize, Serializer};
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

/// The AWS services infraqa calls, each with its own rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Amazon EC2.
    Ec2,
    /// Amazon S3.
    S3,
    /// S3 Control (account-level public access block).
    S3Control,
    /// IAM.
    Iam,
    /// STS.
    Sts,
    /// Amazon RDS.
    Rds,
    /// AWS Lambda.
    Lambda,
    /// CloudWatch Logs.
    Logs,
    /// CloudTrail.
    CloudTrail,
    /// The Resource Groups Tagging API.
    Tagging,
    /// Cost Explorer (billed per request).
    CostExplorer,
    /// SNS (alerts).
    Sns,
    /// CloudWatch metrics.
    CloudWatch,
    /// AWS Organizations (the account list).
    Organizations,
    /// CloudFormation (the deployed suite's stack outputs, for `infraqa fetch`).
    CloudFormation,
    /// AWS Security Hub (`infraqa export --security-hub`, and whether it is enabled).
    SecurityHub,
    /// AWS KMS (key rotation, for CIS 4.6).
    Kms,
    /// Amazon EFS (file system encryption, for CIS 3.3.1).
    Efs,
    /// AWS Config (configuration recorders, for CIS 4.3).
    Config,
    /// IAM Access Analyzer (analyzers, for CIS 2.18).
    AccessAnalyzer,
}

impl Service {
    /// Every service, in a stable order.
    pub const ALL: [Service; 20] = [
        Self::Ec2,
        Self::S3,
        Self::S3Control,
        Self::Iam,
        Self::Sts,
        Self::Rds,
        Self::Lambda,
        Self::Logs,
        Self::CloudTrail,
        Self::Tagging,
        Self::CostExplorer,
        Self::Sns,
        Self::CloudWatch,
        Self::Organizations,
        Self::CloudFormation,
        Self::SecurityHub,
        Self::Kms,
        Self::Efs,
        Self::Config,
        Self::AccessAnalyzer,
    ];

    /// The short name used on the command line and in stats, e.g. `ec2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::S3 => "s3",
            Self::S3Control => "s3control",
            Self::Iam => "iam",
            Self::Sts => "sts",
            Self::Rds => "rds",
            Self::Lambda => "lambda",
            Self::Logs => "logs",
            Self::CloudTrail => "cloudtrail",
            Self::Tagging => "tagging",
            Self::CostExplorer => "ce",
            Self::Sns => "sns",
            Self::CloudWatch => "cloudwatch",
            Self::Organizations => "organizations",
            Self::CloudFormation => "cloudformation",
            Self::SecurityHub => "securityhub",
            Self::Kms => "kms",
            Self::Efs => "efs",
            Self::Config => "config",
            Self::AccessAnalyzer => "access-analyzer",
        }
    }

    /// The default rate per (service, region): at or below what AWS publishes for the calls
    /// infraqa makes, so that a scan leaves headroom for everything else in the account. The
    /// "Retries and rate limits" in docs/cli.md gives each figure's source.
    pub fn default_rate_limit(self) -> RateLimit {
        let rps = match self {
            // EC2 API reference, "Request throttling": non-mutating (Describe*) actions have a
            // bucket of 100 tokens refilled at 20 per second, per account and Region.
            Self::Ec2 => 20,
            // S3 serves at least 5,500 GET requests per second per prefix (performance
            // guidelines); bucket-configuration reads publish no rate of their own: under 2%.
            Self::S3 => 100,
            // Lambda quotas: 15 control-plane requests per second (GetFunction has 100).
            Self::Lambda => 15,
            // IAM, STS, RDS, S3 Control, SNS and CloudWatch publish no default rate for these
            // reads (Service Quotas shows some per account): a conservative ten.
            Self::Iam | Self::Sts | Self::Rds | Self::S3Control | Self::Sns | Self::CloudWatch => {
                10
            }
            // CloudWatch Logs' DescribeLogGroups, CloudTrail's reads and the tagging API's
            // GetResources are throttled in the single digits per second.
            Self::Logs | Self::CloudTrail | Self::Tagging => 5,
            // Each Cost Explorer request costs $0.01; a report makes a handful.
            Self::CostExplorer => 2,
            // Organizations throttles its API per account at a low rate it does not publish as
            // a number; a run lists the accounts once, 20 to a page.
            Self::Organizations => 2,
            // DescribeStacks is throttled in the single digits; `fetch` calls it once.
            Self::CloudFormation => 2,
            // Security Hub's BatchImportFindings: a steady 10 requests per second, bursts of 30
            // (Security Hub API reference, "Service quotas").
            Self::SecurityHub => 10,
            // KMS shares one quota across its read calls, hundreds per second per account
            // (KMS "Request quotas"): ListKeys, DescribeKey and GetKeyRotationStatus under 2%.
            Self::Kms => 10,
            // EFS, Config and Access Analyzer publish no rate for these reads, each made once
            // per region: a conservative five.
            Self::Efs | Self::Config | Self::AccessAnalyzer => 5,
        };
        RateLimit::per_second(rps)
    }
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service name that infraqa does not call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service `{0}`: expected one of {list}", list = Service::ALL.map(Service::as_str).join(", "))]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|svc| svc.as_str() == s)
            .ok_or_else(|| UnknownService(s.to_owned()))
    }
}

/// The fastest rate a policy or a flag may set, in requests per second per (service, region):
/// far above any AWS API's, so only a typo goes over it.
pub const MAX_RATE_LIMIT: u32 = 10_000;

/// A client-side request rate: a steady rate per second and a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second sustained.
    pub per_second: NonZeroU32,
    /// Requests that may go at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Serialize for RateLimit {
    /// As the policy writes it: requests per second.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.per_second.get())
    }
}

impl RateLimit {
    /// `rps` per second with a burst of the same size; 0 is treated as 1.
    pub fn per_second(rps: u32) -> Self {
        let rps = NonZeroU32::new(rps).unwrap_or(NonZeroU32::MIN);
        Self {
            per_second: rps,
            burst: rps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_round_trip() {
        for svc in Service::ALL {
            assert_eq!(svc.as_str().parse::<Service>(), Ok(svc));
            assert_eq!(svc.to_string(), svc.as_str());
        }
        let err = "dynamo".parse::<Service>().unwrap_err().to_string();
        assert!(err.contains("ec2") && err.contains("dynamo"), "{err}");
    }
}
