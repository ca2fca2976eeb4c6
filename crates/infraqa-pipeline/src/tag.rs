//! Tagging as a step: plan from a report and its inventory, or apply a plan and audit each
//! write. The `infraqa tag` command and the tagger function both call these.

use crate::audit::AuditLog;
use crate::aws::Aws;
use crate::error::PipelineError;
use crate::provenance::{acting_in, made_from, made_under};
use infraqa_aws::tagger::{self, Written};
use infraqa_core::actions::{RemediationAction, audit_lines};
use infraqa_core::names::audit_file_for_run;
use infraqa_core::report::Report;
use infraqa_core::rules::scope;
use infraqa_core::tagging::{self, Outcome, TagPlan};
use infraqa_core::{Inventory, Policy};

/// The plan for a report and the inventory it was made from, as of `now`.
pub fn plan(
    report: &Report,
    inventory: &Inventory,
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<TagPlan, PipelineError> {
    made_from(
        "report",
        &report.account_id,
        report.inventory_generated_at,
        inventory,
    )?;
    let statuses = tagging::statuses(
        &report.findings,
        &report.not_evaluated,
        &scope(inventory, policy, report.generated_at),
    );
    Ok(tagging::plan(inventory, policy, &statuses, now))
}

/// The name an outcome is written with.
pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Written => "written",
        Outcome::Skipped => "skipped",
        Outcome::Gone => "gone",
        Outcome::Failed => "failed",
        Outcome::Refused => "refused",
    }
}

/// Applies `plan` (made under `policy` from `inventory`) in the account the clients act in, and
/// audits every resource's outcome in `log`. Refused, writing nothing, when the plan was made
/// under another policy, from another inventory, for another account, or touches more than
/// `max_changes` resources. Each entry is checked against what a fresh plan could hold before
/// anything is written ([`tagging::refusals`]): one that could not (an edited plan) is not
/// written and comes back `refused` with why, and the rest are applied.
pub async fn apply(
    aws: &Aws,
    plan: &TagPlan,
    policy: &Policy,
    inventory: &Inventory,
    max_changes: Option<usize>,
    log: &AuditLog,
) -> Result<(Vec<Written>, String), PipelineError> {
    made_from(
        "plan",
        &plan.account_id,
        plan.inventory_generated_at,
        inventory,
    )?;
    made_under("plan", &plan.policy_digest, policy, "plan again")?;
    if let Some(max) = max_changes
        && plan.changes.len() > max
    {
        return Err(PipelineError::input(format!(
            "the plan touches {} resources, more than --max-changes {max}: nothing was written",
            plan.changes.len()
        )));
    }
    let (clients, actor) = acting_in(aws, policy, &plan.account_id, "plan").await?;
    let clients = &clients;
    let mut refused = Vec::new();
    let mut allowed = Vec::new();
    for (change, why) in plan
        .changes
        .iter()
        .zip(tagging::refusals(plan, inventory, policy))
    {
        match why {
            Some(why) => refused.push(Written {
                change: change.clone(),
                outcome: Outcome::Refused,
                error: Some(why),
            }),
            None => allowed.push(change.clone()),
        }
    }
    let mut written = tagger::apply(clients, &allowed)
        .await
        .map_err(|e| PipelineError::aws("re-reading the planned resources", e))?;
    written.extend(refused);
    let at = chrono::Utc::now();
    let actions: Vec<RemediationAction> = written
        .iter()
        .map(|w| RemediationAction {
            at,
            account_id: plan.account_id.clone(),
            resource_arn: w.change.resource_arn.clone(),
            action: "tag-write".to_owned(),
            actor: Some(actor.clone()),
            tags_before: Some(w.change.tags_before.to_map()),
            tags_written: Some(w.change.add.clone()),
            outcome: Some(outcome_name(w.outcome).to_owned()),
            error: w.error.clone(),
            ..RemediationAction::default()
        })
        .collect();
    if !actions.is_empty() {
        log.write(&audit_file_for_run(at, &audit_lines(&actions)), &actions)
            .await?;
    }
    Ok((written, actor))
}
