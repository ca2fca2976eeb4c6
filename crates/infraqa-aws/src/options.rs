//! How clients are built: credentials source, region, endpoint, retries, timeouts, rate limits.

use aws_credential_types::Credentials;
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

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
}

impl Service {
    /// Every service, in a stable order.
    pub const ALL: [Service; 13] = [
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
        }
    }

    /// The conservative default rate, below AWS's documented per-account limits so that a
    /// scan leaves headroom for everything else running in the account.
    pub fn default_rate_limit(self) -> RateLimit {
        let rps = match self {
            // EC2 Describe* calls: bucket of 100, refill 20/s.
            Self::Ec2 => 20,
            // S3 allows thousands per prefix; per-bucket config reads are cheap.
            Self::S3 => 50,
            // IAM, STS, RDS and Lambda control planes: low double digits per second.
            Self::Iam
            | Self::Sts
            | Self::Rds
            | Self::Lambda
            | Self::S3Control
            | Self::Sns
            | Self::CloudWatch => 10,
            // DescribeLogGroups, CloudTrail and GetResources are limited to about 5/s.
            Self::Logs | Self::CloudTrail | Self::Tagging => 5,
            // Each Cost Explorer request costs $0.01; a report makes a handful.
            Self::CostExplorer => 2,
        };
        RateLimit::per_second(rps)
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

/// A client-side request rate: a steady rate per second and a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second sustained.
    pub per_second: NonZeroU32,
    /// Requests that may go at once after a quiet period.
    pub burst: NonZeroU32,
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

/// How [`crate::AwsClients`] builds clients. `Default` reads everything from the standard
/// chain (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, SSO, instance roles).
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// A named profile, instead of `AWS_PROFILE`.
    pub profile: Option<String>,
    /// The home region, instead of `AWS_REGION` or the profile's.
    pub region: Option<String>,
    /// An endpoint for every service (an emulator), instead of `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Explicit credentials (tests, assumed roles); normally the standard chain.
    pub credentials: Option<Credentials>,
    /// Attempts per call, including the first (SDK standard retry mode). Default 8.
    pub max_attempts: u32,
    /// Ceiling of the first retry's delay; doubles per attempt with full jitter. Default 200 ms.
    pub initial_backoff: Duration,
    /// No retry waits longer than this. Default 20 s.
    pub max_backoff: Duration,
    /// Time to establish a connection. Default 5 s.
    pub connect_timeout: Duration,
    /// Time for one attempt of a call. Default 60 s.
    pub attempt_timeout: Duration,
    /// Time for a call including all retries. Default 5 min.
    pub operation_timeout: Duration,
    /// Per-service rate overrides; services not named use [`Service::default_rate_limit`].
    pub rate_limits: BTreeMap<Service, RateLimit>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            endpoint_url: None,
            credentials: None,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(300),
            rate_limits: BTreeMap::new(),
        }
    }
}

impl AwsOptions {
    /// The rate limit in force for `service`.
    pub fn rate_limit(&self, service: Service) -> RateLimit {
        self.rate_limits
            .get(&service)
            .copied()
            .unwrap_or_else(|| service.default_rate_limit())
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

    #[test]
    fn overrides_replace_defaults_per_service() {
        let mut opts = AwsOptions::default();
        opts.rate_limits
            .insert(Service::Ec2, RateLimit::per_second(3));
        let cases = [
            (Service::Ec2, 3),
            (Service::S3, 50),
            (Service::Iam, 10),
            (Service::Tagging, 5),
        ];
        for (svc, rps) in cases {
            assert_eq!(opts.rate_limit(svc).per_second.get(), rps, "{svc}");
        }
        assert_eq!(RateLimit::per_second(0).per_second.get(), 1);
    }
}
