//! Runs over several accounts: which accounts, and the clients that reach each one.

use crate::error::PipelineError;
use crate::report::{content_type, put_json};
use crate::store::Store;
use infraqa_aws::AwsClients;
use infraqa_aws::accounts::MemberRole;
use infraqa_core::ScanError;
use infraqa_core::organization::OrganizationSummary;
use infraqa_core::policy::{AccountScope, AccountsPolicy};
use std::time::Duration;

/// The accounts `scope` names (the command line's, else the policy's), less the policy's
/// `skip`, sorted: the listed ids, the organization's active accounts (under the policy's
/// organizational units, if it names any), or the credentials' own.
pub async fn resolve(
    clients: &AwsClients,
    policy: &AccountsPolicy,
    scope: &AccountScope,
) -> Result<Vec<String>, PipelineError> {
    let mut ids = match scope {
        AccountScope::Own => vec![
            clients
                .account_id()
                .await
                .map_err(|e| PipelineError::aws("reading the credentials' account", e))?,
        ],
        AccountScope::List(ids) => ids.clone(),
        AccountScope::Organization => clients
            .organization_accounts(&policy.organizational_units)
            .await
            .map_err(|e| PipelineError::aws("listing the organization's accounts", e))?,
    };
    ids.retain(|id| !policy.skip.contains(id));
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The role the policy assumes in each member account.
pub fn member_role(policy: &AccountsPolicy) -> MemberRole {
    MemberRole {
        role_name: policy.role_name.clone(),
        external_id: policy.external_id.clone(),
        session_name: policy.session_name.clone(),
        session_duration: Duration::from_secs(u64::from(policy.session_duration_seconds)),
    }
}

/// Clients acting in `account_id`, or why it cannot be reached, as an inventory would record
/// the failed call. The account `clients` act in (`own`) is read with their own credentials:
/// a service-managed StackSet never deploys the member role into the management account.
pub async fn reach(
    clients: &AwsClients,
    own: &str,
    account_id: &str,
    role: &MemberRole,
) -> Result<AwsClients, ScanError> {
    if account_id == own {
        return Ok(clients.clone());
    }
    clients
        .for_account(account_id, role)
        .await
        .map_err(|e| e.record(infraqa_core::model::GLOBAL_REGION))
}

/// The names of the summary of a run over several accounts.
pub const SUMMARY_FILES: [&str; 2] = ["organization.json", "organization.md"];

/// Writes `summary` into `out` as `organization.json` and `organization.md`; returns where
/// they went.
pub async fn write_summary(
    out: &Store,
    summary: &OrganizationSummary,
) -> Result<Vec<String>, PipelineError> {
    let [json, md] = SUMMARY_FILES;
    let page = infraqa_report::organization::render(summary)
        .map_err(|e| PipelineError::storage(format!("rendering {md}"), e))?;
    Ok(vec![
        put_json(out, json, summary).await?,
        out.put(md, page.into_bytes(), content_type(md)).await?,
    ])
}
