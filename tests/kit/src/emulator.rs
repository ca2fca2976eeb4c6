//! The emulator harness: one moto server per test run (started by `scripts/emulator`), one
//! fresh AWS account per test.
//!
//! moto keeps state per account, and credentials from STS `AssumeRole` into
//! `arn:aws:iam::<ACCOUNT>:role/any` act in that account, so tests running in parallel on one
//! server never see each other's resources and need no reset.

use crate::{KitError, Step};
use aws_credential_types::Credentials;
use infraqa_aws::{AwsClients, AwsOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable naming the emulator endpoint (set by `make test`).
pub const EMULATOR_URL_VAR: &str = "INFRAQA_EMULATOR_URL";

/// The home region tests use.
pub const TEST_REGION: &str = "us-east-1";

/// A running emulator.
#[derive(Debug, Clone)]
pub struct Emulator {
    url: String,
}

impl Emulator {
    /// The emulator named by `INFRAQA_EMULATOR_URL`.
    pub fn from_env() -> Result<Self, KitError> {
        let url = std::env::var(EMULATOR_URL_VAR).step(format!(
            "{EMULATOR_URL_VAR} is not set: start the emulator with `scripts/emulator start` \
             and export {EMULATOR_URL_VAR}=$(scripts/emulator url), or run `make test`"
        ))?;
        Ok(Self { url })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues Cost Explorer `GetCostAndUsage` responses (moto's `/moto-api/static/ce/
    /// cost-and-usage-results`): each distinct request takes the next one, in order. `results`
    /// is the JSON list of AWS-shaped responses; the queue belongs to `account_id`.
    pub async fn queue_cost_and_usage(
        &self,
        account_id: &str,
        results: &str,
    ) -> Result<(), KitError> {
        use http_body_util::{BodyExt, Full};
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;
        let client: Client<_, Full<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let body = format!("{{\"account_id\": \"{account_id}\", \"results\": {results}}}");
        let req = hyper::Request::post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            self.url
        ))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .step("building the moto-api request")?;
        let resp = client
            .request(req)
            .await
            .step("queueing Cost Explorer results")?;
        let status = resp.status();
        let text = resp
            .into_body()
            .collect()
            .await
            .step("reading the moto-api response")?
            .to_bytes();
        if status.is_success() {
            return Ok(());
        }
        let detail = format!("HTTP {status}: {}", String::from_utf8_lossy(&text));
        Err(KitError {
            step: "queueing Cost Explorer results".into(),
            cause: Box::new(std::io::Error::other(detail.clone())),
            detail,
        })
    }

    /// Client options for the emulator's default account (`123456789012`).
    pub fn default_account_options(&self) -> AwsOptions {
        AwsOptions {
            region: Some(TEST_REGION.into()),
            endpoint_url: Some(self.url.clone()),
            credentials: Some(Credentials::new(
                "emulator",
                "emulator",
                None,
                None,
                "infraqa-emulator",
            )),
            ..AwsOptions::default()
        }
    }

    /// A fresh, empty account of its own, for one test.
    pub async fn fresh_account(&self) -> Result<TestAccount, KitError> {
        self.account(unique_account_id()).await
    }

    /// The account `account_id` (one an organization created, for example).
    pub async fn account(&self, account_id: String) -> Result<TestAccount, KitError> {
        let admin = AwsClients::load(self.default_account_options()).await;
        let sts = admin.sts().step("building an STS client")?;
        let role_arn = format!("arn:aws:iam::{account_id}:role/any");
        let out = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("infraqa-test")
            .send()
            .await
            .step(format!("assuming {role_arn}"))?;
        let creds = out.credentials.ok_or_else(|| KitError {
            step: format!("assuming {role_arn}"),
            detail: "the response carried no credentials".into(),
            cause: "no credentials".into(),
        })?;
        Ok(TestAccount {
            account_id,
            credentials: Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "infraqa-test",
            ),
            endpoint_url: self.url.clone(),
        })
    }
}

/// One test's own account on the emulator.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// Its 12-digit id.
    pub account_id: String,
    /// Credentials that act in it.
    pub credentials: Credentials,
    /// The emulator endpoint.
    pub endpoint_url: String,
}

impl TestAccount {
    /// Client options acting in this account, home region [`TEST_REGION`].
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            region: Some(TEST_REGION.into()),
            endpoint_url: Some(self.endpoint_url.clone()),
            credentials: Some(self.credentials.clone()),
            ..AwsOptions::default()
        }
    }

    /// Clients acting in this account.
    pub async fn clients(&self) -> AwsClients {
        AwsClients::load(self.options()).await
    }

    /// Makes this account the management account of a new organization with `members` new
    /// member accounts, and returns their ids.
    pub async fn create_organization(&self, members: usize) -> Result<Vec<String>, KitError> {
        let clients = self.clients().await;
        let org = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(clients.sdk_config())
                .region(aws_sdk_organizations::config::Region::new("us-east-1"))
                .build(),
        );
        org.create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .step("creating an organization")?;
        let mut ids = Vec::new();
        for n in 0..members {
            let created = org
                .create_account()
                .account_name(format!("member-{n}"))
                .email(format!("member-{n}@example.com"))
                .send()
                .await
                .step("creating a member account")?;
            let id = created
                .create_account_status
                .and_then(|s| s.account_id)
                .ok_or_else(|| KitError {
                    step: "creating a member account".into(),
                    detail: "the answer named no account id".into(),
                    cause: "no account id".into(),
                })?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// The environment a process needs to act in this account from `region` (a function
    /// binary, as Lambda gives it its role's credentials).
    pub fn environment(&self, region: &str) -> Vec<(String, String)> {
        let c = &self.credentials;
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint_url.clone()),
            ("AWS_REGION".into(), region.to_owned()),
            ("AWS_ACCESS_KEY_ID".into(), c.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                c.secret_access_key().to_owned(),
            ),
            (
                "AWS_SESSION_TOKEN".into(),
                c.session_token().unwrap_or_default().to_owned(),
            ),
        ]
    }
}

/// A 12-digit account id no other test of any run on this server has used: `4` then the
/// process id and a per-process counter mixed with the clock.
fn unique_account_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let pid = u64::from(std::process::id());
    let mixed = (nanos / 1_000 % 1_000_000) * 100_000 + (pid % 1_000) * 100 + n % 100;
    format!("4{:011}", mixed % 100_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn account_ids_are_twelve_digits_and_unique_within_a_run() {
        let ids: Vec<String> = (0..100).map(|_| unique_account_id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()))
        );
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    }
}
