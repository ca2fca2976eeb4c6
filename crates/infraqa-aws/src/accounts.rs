//! Other accounts: the member role assumed in each, and the organization's account list.

use crate::clients::AwsClients;
use crate::error::AwsError;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use std::time::{Duration, SystemTime};

/// How a member account is reached: the role assumed in it, with these clients' credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    /// The role's name (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
    pub role_name: String,
    /// The external id its trust policy asks for, if any.
    pub external_id: Option<String>,
    /// The session's name: the caller CloudTrail records in the member account.
    pub session_name: String,
    /// How long each session's credentials last.
    pub session_duration: Duration,
}

/// The partition of a region (`aws` where none is known).
fn partition(region: Option<&str>) -> &'static str {
    region.map_or("aws", infraqa_core::model::partition)
}

/// The region of the partition's one Organizations endpoint: us-east-1 (cn-northwest-1 in
/// China, us-gov-west-1 in GovCloud).
fn organizations_region(home: Option<&str>) -> &'static str {
    match partition(home) {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

impl MemberRole {
    /// The role's ARN in `account_id`, in the partition of `region`.
    pub fn arn(&self, account_id: &str, region: Option<&str>) -> String {
        format!(
            "arn:{}:iam::{account_id}:role/{}",
            partition(region),
            self.role_name
        )
    }
}

/// The credentials the first `AssumeRole` returned, handed out while they have more than
/// [`RENEW_BEFORE`] left, then those of the role's own provider (which assumes it again and
/// renews them before they expire).
#[derive(Debug)]
struct Primed {
    first: Option<Credentials>,
    renew: AssumeRoleProvider,
}

/// How long before their expiry the first credentials are no longer handed out.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

impl ProvideCredentials for Primed {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let fresh = self.first.as_ref().filter(|c| {
            c.expiry()
                .is_some_and(|at| at > SystemTime::now() + RENEW_BEFORE)
        });
        match fresh {
            Some(c) => future::ProvideCredentials::ready(Ok(c.clone())),
            None => self.renew.provide_credentials(),
        }
    }
}

impl AwsClients {
    /// Clients acting in `account_id` through `role`, assumed with these clients' credentials
    /// (STS `AssumeRole`). The role is assumed here, so an account that cannot be reached is
    /// known, with the call's own error code, before anything else is asked of it; the clients
    /// use the credentials it returned until they near their expiry, then the role's provider
    /// assumes it again, however long a run takes. The configuration and HTTP client are
    /// shared; the rate limiters and call counts are the account's own, as its quotas are.
    pub async fn for_account(&self, account_id: &str, role: &MemberRole) -> Result<Self, AwsError> {
        let arn = role.arn(account_id, self.home_region());
        let duration = i32::try_from(role.session_duration.as_secs()).unwrap_or(i32::MAX);
        let assumed = self
            .sts()?
            .assume_role()
            .role_arn(&arn)
            .role_session_name(&role.session_name)
            .set_external_id(role.external_id.clone())
            .duration_seconds(duration)
            .send()
            .await
            .map_err(|e| AwsError::call("sts", "AssumeRole", e).naming(&arn))?;
        let first = assumed.credentials.map(|c| {
            Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                Some(c.session_token),
                SystemTime::try_from(c.expiration).ok(),
                "infraqa-assume-role",
            )
        });
        let mut provider = AssumeRoleProvider::builder(arn)
            .session_name(&role.session_name)
            .session_length(role.session_duration)
            .configure(self.sdk_config());
        if let Some(id) = &role.external_id {
            provider = provider.external_id(id);
        }
        let provider = SharedCredentialsProvider::new(Primed {
            first,
            renew: provider.build().await,
        });
        Ok(self.with_credentials(provider))
    }

    /// The ids of the organization's active accounts, or of those directly under `parents`
    /// (organizational unit or root ids), sorted: Organizations `ListAccounts` or
    /// `ListAccountsForParent`, from the management account or a delegated administrator.
    pub async fn organization_accounts(&self, parents: &[String]) -> Result<Vec<String>, AwsError> {
        let org = self.organizations(organizations_region(self.home_region()));
        let mut accounts = Vec::new();
        if parents.is_empty() {
            let mut pages = org.list_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| AwsError::call("organizations", "ListAccounts", e))?;
                accounts.extend(page.accounts.unwrap_or_default());
            }
        }
        for parent in parents {
            let mut pages = org
                .list_accounts_for_parent()
                .parent_id(parent)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    AwsError::call("organizations", "ListAccountsForParent", e).naming(parent)
                })?;
                accounts.extend(page.accounts.unwrap_or_default());
            }
        }
        let mut ids: Vec<String> = accounts
            .into_iter()
            .filter(|a| {
                a.state.as_ref().map_or_else(
                    // Older answers carry only the status.
                    || a.status == Some(aws_sdk_organizations::types::AccountStatus::Active),
                    |s| *s == aws_sdk_organizations::types::AccountState::Active,
                )
            })
            .filter_map(|a| a.id)
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_arn_is_in_the_partition_of_the_home_region() {
        let role = MemberRole {
            role_name: "infraqa-member".into(),
            external_id: None,
            session_name: "infraqa".into(),
            session_duration: Duration::from_secs(3600),
        };
        assert_eq!(
            role.arn("111111111111", Some("eu-west-1")),
            "arn:aws:iam::111111111111:role/infraqa-member"
        );
        assert_eq!(
            role.arn("111111111111", Some("cn-north-1")),
            "arn:aws-cn:iam::111111111111:role/infraqa-member"
        );
        assert_eq!(
            role.arn("111111111111", Some("us-gov-west-1")),
            "arn:aws-us-gov:iam::111111111111:role/infraqa-member"
        );
        assert_eq!(
            role.arn("111111111111", None),
            "arn:aws:iam::111111111111:role/infraqa-member"
        );
    }
}
