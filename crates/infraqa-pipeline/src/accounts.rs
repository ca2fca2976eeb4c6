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
pub const SUMMARY_FILES: [&str; 4] = [
    "organization.json",
    "organization.md",
    "organization.html",
    "organization.csv",
];

/// The folder of the organization's own entries in a history store (one summary per run,
/// beside the accounts' entries, which are listed without it).
pub const ORGANIZATION_HISTORY: &str = "organization";

/// Gives `summary` its trend over the organization's last `trend_runs` runs (this one among
/// them) in `history`, writes it into `out` in every format, and keeps it in `history` as
/// `organization/<run>.json` (a retried run replaces its own); returns where each file went.
/// `run` is the run's id (`infraqa_core::names::run_id`): entries sort by it. An earlier entry that
/// cannot be read is left out of the trend with a warning, never a failure.
pub async fn write_summary(
    out: &Store,
    history: &Store,
    run: &str,
    summary: &mut OrganizationSummary,
    trend_runs: usize,
) -> Result<Vec<String>, PipelineError> {
    let entries = history.child(ORGANIZATION_HISTORY);
    let own = format!("{run}.json");
    let mut names: Vec<String> = entries
        .names(".json")
        .await?
        .into_iter()
        .filter(|n| *n < own)
        .collect();
    names.sort();
    let names = names.split_off(names.len().saturating_sub(trend_runs.saturating_sub(1)));
    let mut past = Vec::new();
    for (name, bytes) in entries.read_named(names).await? {
        match serde_json::from_slice::<OrganizationSummary>(&bytes) {
            Ok(s) => past.push(s),
            Err(e) => tracing::warn!(
                "{} is not an organization summary, left out of the trend: {e}",
                entries.describe(&name)
            ),
        }
    }
    summary.trend = infraqa_core::organization::trend(summary, &past);
    let [json, md, html, csv] = SUMMARY_FILES;
    let render = |name: &str, e: &dyn std::fmt::Display| {
        PipelineError::input(format!("rendering {name}: {e}"))
    };
    let page = infraqa_report::organization::render(summary).map_err(|e| render(md, &e))?;
    let web = infraqa_report::organization::html(summary).map_err(|e| render(html, &e))?;
    let mut table = Vec::new();
    infraqa_report::organization::csv(summary, &mut table).map_err(|e| render(csv, &e))?;
    let written = vec![
        put_json(out, json, summary).await?,
        out.put(md, page.into_bytes(), content_type(md)).await?,
        out.put(html, web.into_bytes(), content_type(html)).await?,
        out.put(csv, table, content_type(csv)).await?,
    ];
    put_json(&entries, &own, summary).await?;
    Ok(written)
}
