//! How clients are built: credentials source, region, endpoint, retries, timeouts, rate limits.

use aws_credential_types::Credentials;
pub use infraqa_core::limits::{RateLimit, Service, UnknownService};
use std::collections::BTreeMap;
use std::time::Duration;

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
    fn overrides_replace_defaults_per_service() {
        let mut opts = AwsOptions::default();
        opts.rate_limits
            .insert(Service::Ec2, RateLimit::per_second(3));
        let cases = [
            (Service::Ec2, 3),
            (Service::S3, 100),
            (Service::Iam, 10),
            (Service::Tagging, 5),
        ];
        for (svc, rps) in cases {
            assert_eq!(opts.rate_limit(svc).per_second.get(), rps, "{svc}");
        }
        assert_eq!(RateLimit::per_second(0).per_second.get(), 1);
    }
}
