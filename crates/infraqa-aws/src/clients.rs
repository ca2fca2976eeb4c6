//! [`AwsClients`]: the single place service clients are built.

use crate::error::AwsError;
use crate::options::{AwsOptions, RateLimit, Service};
use crate::rate_limit::{Limiter, RateLimitedHttpClient, quota};
use crate::stats::{CallCounts, CallTally};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::endpoint::EndpointFuture;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::endpoint::Endpoint;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

/// A `$krate` config builder from the shared config, for `region`, behind that (service,
/// region)'s rate limiter and with API calls counted.
macro_rules! service_config {
    ($self:ident, $krate:ident, $service:expr, $region:expr) => {
        $krate::config::Builder::from(&$self.config)
            .region(Region::new($region.to_owned()))
            .http_client($self.http_client($service, $region))
            .interceptor($self.calls.interceptor($service))
    };
}

/// Defines a method returning `$krate::Client` for a region.
macro_rules! regional_client {
    ($(#[$doc:meta])* $name:ident, $krate:ident, $service:expr) => {
        $(#[$doc])*
        pub fn $name(&self, region: &str) -> $krate::Client {
            $krate::Client::from_conf(service_config!(self, $krate, $service, region).build())
        }
    };
}

/// One rate limiter per (service, region), created on first use.
type LimiterMap = HashMap<(Service, String), Arc<Limiter>>;

/// Loaded AWS configuration plus the shared HTTP client and rate limiters; hands out
/// per-service, per-region clients. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AwsClients {
    config: SdkConfig,
    options: Arc<AwsOptions>,
    http: SharedHttpClient,
    limiters: Arc<Mutex<LimiterMap>>,
    calls: CallTally,
}

impl AwsClients {
    /// Loads the standard AWS configuration chain once, with `options` on top.
    pub async fn load(options: AwsOptions) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(options.max_attempts.max(1))
                    .with_initial_backoff(options.initial_backoff)
                    .with_max_backoff(options.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.connect_timeout)
                    .operation_attempt_timeout(options.attempt_timeout)
                    .operation_timeout(options.operation_timeout)
                    .build(),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(creds) = &options.credentials {
            loader = loader.credentials_provider(creds.clone());
        }
        let config = loader.load().await;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        Self {
            config,
            options: Arc::new(options),
            http,
            limiters: Arc::default(),
            calls: CallTally::default(),
        }
    }

    /// These clients with `limits` for the services the options leave at their default (a
    /// rate given on the command line wins over the policy's), behind fresh limiters; the
    /// configuration, HTTP client and call counts stay shared.
    pub fn with_rate_limits(&self, limits: &BTreeMap<Service, RateLimit>) -> Self {
        if limits.is_empty() {
            return self.clone();
        }
        let mut options = (*self.options).clone();
        for (service, limit) in limits {
            options.rate_limits.entry(*service).or_insert(*limit);
        }
        Self {
            options: Arc::new(options),
            limiters: Arc::default(),
            ..self.clone()
        }
    }

    /// The rate limit in force for `service`.
    pub fn rate_limit(&self, service: Service) -> RateLimit {
        self.options.rate_limit(service)
    }

    /// The configured home region, if any.
    pub fn home_region(&self) -> Option<&str> {
        self.config.region().map(Region::as_ref)
    }

    /// The home region, or an error saying how to set one.
    pub fn require_home_region(&self) -> Result<&str, AwsError> {
        self.home_region().ok_or(AwsError::NoRegion)
    }

    /// The endpoint override (option or `AWS_ENDPOINT_URL`), when one is in force.
    pub fn endpoint_override(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    /// The loaded shared configuration.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// API calls made through these clients so far, by service and operation.
    pub fn call_counts(&self) -> CallCounts {
        self.calls.snapshot()
    }

    /// The HTTP client for `service` in `region`, behind that pair's rate limiter.
    fn http_client(&self, service: Service, region: &str) -> RateLimitedHttpClient {
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                limiters
                    .entry((service, region.to_owned()))
                    .or_insert_with(|| {
                        Arc::new(Limiter::direct(quota(self.options.rate_limit(service))))
                    }),
            )
        };
        RateLimitedHttpClient::new(self.http.clone(), limiter)
    }

    fn region_or_home(&self, region: Option<&str>) -> Result<String, AwsError> {
        match region {
            Some(r) => Ok(r.to_owned()),
            None => self.require_home_region().map(str::to_owned),
        }
    }

    regional_client!(
        /// An EC2 client for `region`.
        ec2, aws_sdk_ec2, Service::Ec2
    );
    regional_client!(
        /// An RDS client for `region`.
        rds, aws_sdk_rds, Service::Rds
    );
    regional_client!(
        /// A Lambda client for `region`.
        lambda, aws_sdk_lambda, Service::Lambda
    );
    regional_client!(
        /// A CloudWatch Logs client for `region`.
        logs, aws_sdk_cloudwatchlogs, Service::Logs
    );
    regional_client!(
        /// A CloudTrail client for `region`.
        cloudtrail, aws_sdk_cloudtrail, Service::CloudTrail
    );
    regional_client!(
        /// A CloudWatch (metrics) client for `region`.
        cloudwatch, aws_sdk_cloudwatch, Service::CloudWatch
    );
    regional_client!(
        /// An SNS client for `region` (a topic's own region).
        sns, aws_sdk_sns, Service::Sns
    );
    regional_client!(
        /// A Security Hub client for `region` (findings are imported where they belong).
        securityhub, aws_sdk_securityhub, Service::SecurityHub
    );
    regional_client!(
        /// A KMS client for `region`.
        kms, aws_sdk_kms, Service::Kms
    );
    regional_client!(
        /// An EFS client for `region`.
        efs, aws_sdk_efs, Service::Efs
    );
    regional_client!(
        /// An AWS Config client for `region`.
        config, aws_sdk_config, Service::Config
    );
    regional_client!(
        /// An IAM Access Analyzer client for `region`.
        accessanalyzer, aws_sdk_accessanalyzer, Service::AccessAnalyzer
    );
    regional_client!(
        /// A Resource Groups Tagging API client for `region`.
        tagging, aws_sdk_resourcegroupstagging, Service::Tagging
    );

    /// An S3 client for `region`; path-style addressing whenever an endpoint override is set
    /// (an emulator cannot resolve `bucket.127.0.0.1`).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = service_config!(self, aws_sdk_s3, Service::S3, region)
            .force_path_style(self.endpoint_override().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// An S3 Control client in the home region. With an endpoint override, the endpoint is
    /// used as given: the standard resolver would prefix the host with the account id.
    pub fn s3control(&self) -> Result<aws_sdk_s3control::Client, AwsError> {
        let region = self.region_or_home(None)?;
        let mut conf = service_config!(self, aws_sdk_s3control, Service::S3Control, &region);
        if let Some(url) = self.endpoint_override() {
            conf = conf.endpoint_resolver(FixedEndpoint(url.to_owned()));
        }
        Ok(aws_sdk_s3control::Client::from_conf(conf.build()))
    }

    /// An IAM client (IAM is global; calls go to the partition's IAM endpoint).
    pub fn iam(&self) -> Result<aws_sdk_iam::Client, AwsError> {
        let region = self.region_or_home(None)?;
        let conf = service_config!(self, aws_sdk_iam, Service::Iam, &region).build();
        Ok(aws_sdk_iam::Client::from_conf(conf))
    }

    /// A Cost Explorer client. Cost Explorer has one endpoint, in us-east-1 (cn-northwest-1
    /// in China); its figures cover the whole account.
    pub fn ce(&self) -> Result<aws_sdk_costexplorer::Client, AwsError> {
        let home = self.region_or_home(None)?;
        let region = if home.starts_with("cn-") {
            "cn-northwest-1"
        } else {
            "us-east-1"
        };
        let conf =
            service_config!(self, aws_sdk_costexplorer, Service::CostExplorer, region).build();
        Ok(aws_sdk_costexplorer::Client::from_conf(conf))
    }

    /// A CloudFormation client in the home region (where the suite's stack is).
    pub fn cloudformation(&self) -> Result<aws_sdk_cloudformation::Client, AwsError> {
        let region = self.region_or_home(None)?;
        let conf = service_config!(
            self,
            aws_sdk_cloudformation,
            Service::CloudFormation,
            &region
        )
        .build();
        Ok(aws_sdk_cloudformation::Client::from_conf(conf))
    }

    /// An Organizations client in `region` (the partition's one endpoint).
    pub(crate) fn organizations(&self, region: &str) -> aws_sdk_organizations::Client {
        let conf =
            service_config!(self, aws_sdk_organizations, Service::Organizations, region).build();
        aws_sdk_organizations::Client::from_conf(conf)
    }

    /// These clients acting with `credentials`: the configuration (but for the credentials),
    /// options and HTTP client are shared; the rate limiters and call counts are fresh.
    pub(crate) fn with_credentials(
        &self,
        credentials: aws_credential_types::provider::SharedCredentialsProvider,
    ) -> Self {
        Self {
            config: self
                .config
                .to_builder()
                .credentials_provider(credentials)
                .build(),
            options: Arc::clone(&self.options),
            http: self.http.clone(),
            limiters: Arc::default(),
            calls: CallTally::default(),
        }
    }

    /// An STS client in the home region.
    pub fn sts(&self) -> Result<aws_sdk_sts::Client, AwsError> {
        let region = self.region_or_home(None)?;
        let conf = service_config!(self, aws_sdk_sts, Service::Sts, &region).build();
        Ok(aws_sdk_sts::Client::from_conf(conf))
    }

    /// The id of the account the credentials act in (STS `GetCallerIdentity`).
    pub async fn account_id(&self) -> Result<String, AwsError> {
        Ok(self.caller().await?.0)
    }

    /// The account the credentials act in and the caller's ARN (STS `GetCallerIdentity`):
    /// who a write is audited as.
    pub async fn caller(&self) -> Result<(String, String), AwsError> {
        let out = self
            .sts()?
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::call("sts", "GetCallerIdentity", e))?;
        let missing = |what: &str| AwsError::Call {
            service: "sts",
            operation: "GetCallerIdentity",
            code: "InvalidResponse".into(),
            message: format!("the response named no {what}"),
            retryable: false,
            cause: format!("missing {what}").into(),
        };
        let account = out.account.ok_or_else(|| missing("account"))?;
        let arn = out.arn.ok_or_else(|| missing("caller ARN"))?;
        Ok((account, arn))
    }
}

/// An endpoint resolver that always answers the override URL, unchanged.
#[derive(Debug, Clone)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policy_rates_fill_in_where_the_command_line_set_none() {
        let mut options = AwsOptions {
            region: Some("us-east-1".into()),
            credentials: Some(aws_credential_types::Credentials::new(
                "k", "s", None, None, "test",
            )),
            ..AwsOptions::default()
        };
        options
            .rate_limits
            .insert(Service::Ec2, RateLimit::per_second(3));
        let clients = AwsClients::load(options).await;
        let policy = BTreeMap::from([
            (Service::Ec2, RateLimit::per_second(7)),
            (Service::S3, RateLimit::per_second(9)),
        ]);
        let paced = clients.with_rate_limits(&policy);
        let rps = |c: &AwsClients, s| c.rate_limit(s).per_second.get();
        assert_eq!(rps(&paced, Service::Ec2), 3, "the command line wins");
        assert_eq!(
            rps(&paced, Service::S3),
            9,
            "the policy replaces the default"
        );
        assert_eq!(
            rps(&paced, Service::Iam),
            10,
            "unnamed services keep theirs"
        );
        assert_eq!(rps(&clients, Service::S3), 100, "the original is untouched");
        // A policy that sets no rate changes nothing.
        assert!(Arc::ptr_eq(
            &clients.options,
            &clients.with_rate_limits(&BTreeMap::new()).options
        ));
    }
}
