//! Guarded remediation as steps: plan from a check's findings (each resource read now), apply
//! a reviewed plan (each resource re-read before its change, the change read back), undo an
//! applied action. The `infraqa fix` command calls these; every write is audited in the log
//! the tagger uses.

use crate::audit::AuditLog;
use crate::aws::Aws;
use crate::error::PipelineError;
use crate::provenance::{acting_in, made_from, made_under};
use infraqa_aws::AwsClients;
use infraqa_core::actions::{RemediationAction, audit_lines};
use infraqa_core::check::CheckResult;
use infraqa_core::fix::{
    self, FIX_PLAN_SCHEMA_VERSION, FixAction, FixPlan, NoAction, PlanOptions, State, Why,
};
use infraqa_core::names::audit_file_for_fix;
use infraqa_core::observed::Observed;
use infraqa_core::tagging::TagChange;
use infraqa_core::{Inventory, Policy};

/// What became of one action of a plan (or of an undo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The action's id.
    pub action_id: String,
    /// The resource.
    pub resource_arn: String,
    /// `applied`, `skipped`, `gone`, `failed` or `not-applied` (the cap was reached).
    pub outcome: &'static str,
    /// Why it was skipped, failed or not applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The plan for `check`'s findings (of `inventory`, under `policy`), each fixable resource read
/// now.
pub async fn plan(
    aws: &Aws,
    check: &CheckResult,
    inventory: &Inventory,
    policy: &Policy,
    options: &PlanOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<FixPlan, PipelineError> {
    made_from(
        "findings file",
        &check.account_id,
        check.inventory_generated_at,
        inventory,
    )?;
    let digest = made_under(
        "findings file",
        &check.policy_digest,
        policy,
        "check again with this policy",
    )?;
    let (clients, _) = acting_in(aws, policy, &check.account_id, "findings file").await?;
    // One pass over the inventory, not one per finding (an inventory may hold a million).
    let by_arn: std::collections::HashMap<&str, &infraqa_core::Resource> = inventory
        .resources
        .iter()
        .map(|r| (r.arn.as_str(), r))
        .collect();
    let (targets, mut untouched) = fix::targets(check, options, |arn| {
        by_arn
            .get(arn)
            .map(|r| (r.resource_type.clone(), r.id.to_string()))
    });
    let mut actions = Vec::new();
    for t in &targets {
        let state = infraqa_aws::fix::read(
            &clients,
            t.subject,
            &t.resource_type,
            &t.resource_id,
            &t.region,
        )
        .await;
        let state = match state {
            Observed::Read(Some(s)) => Observed::Read(s),
            Observed::Read(None) => {
                untouched.push(NoAction {
                    subject: t.subject,
                    resource_arn: t.resource_arn.clone(),
                    region: t.region.clone(),
                    why: Why::AlreadyDone,
                    reason: "the resource no longer exists".to_owned(),
                });
                continue;
            }
            Observed::Unread(e) => Observed::Unread(e),
        };
        match fix::decide(t, &state, policy, options, now) {
            Ok(a) => actions.push(a),
            Err(n) => untouched.push(n),
        }
    }
    Ok(FixPlan {
        schema_version: FIX_PLAN_SCHEMA_VERSION,
        generated_at: now,
        account_id: check.account_id.clone(),
        inventory_generated_at: check.inventory_generated_at,
        policy_digest: digest,
        include_website: options.include_website,
        allow_irreversible: options.allow_irreversible,
        actions,
        untouched,
    })
}

/// How far an apply may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyLimits {
    /// At most this many changes.
    pub max_changes: usize,
    /// Only resources marked due (`--due`: tagged [`fix::REMEDIATE_AFTER`] with a day that has
    /// come).
    pub due: bool,
}

/// Notify first: tags each action's resource with [`fix::REMEDIATE_AFTER`] `days` from `now`
/// (the tag writer's bulk writes; tags are not what an action depends on, so the plan stays
/// good), audits each mark (`fix-mark`), and sends one summary to `topic` when given (its
/// message id). A later `apply` with `due` acts only on the resources whose day has come.
pub async fn mark(
    aws: &Aws,
    plan: &FixPlan,
    policy: &Policy,
    days: u32,
    topic: Option<&str>,
    log: &AuditLog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<Applied>, Option<String>, String), PipelineError> {
    let (clients, actor) = acting_in(aws, policy, &plan.account_id, "plan").await?;
    let day = fix::due_date(now, days);
    let changes: Vec<TagChange> = plan
        .actions
        .iter()
        .map(|a| TagChange {
            resource_arn: a.resource_arn.clone(),
            resource_type: infraqa_core::ResourceType::parse(&a.resource_type),
            id: a.resource_id.clone(),
            region: a.region.clone(),
            tags_before: a.depends_on.tags().iter().collect(),
            add: [(fix::REMEDIATE_AFTER.to_owned(), day.to_string())].into(),
            sources: [(
                fix::REMEDIATE_AFTER.to_owned(),
                "infraqa fix --mark".to_owned(),
            )]
            .into(),
            withheld: Default::default(),
        })
        .collect();
    let written = infraqa_aws::tagger::write(&clients, &changes).await;
    let mut results = Vec::new();
    let mut lines = Vec::new();
    let mut marked = Vec::new();
    for (action, w) in plan.actions.iter().zip(&written) {
        let ok = w.outcome == infraqa_core::tagging::Outcome::Written;
        if ok {
            marked.push(action);
        }
        let r = Applied {
            action_id: action.id.clone(),
            resource_arn: action.resource_arn.clone(),
            outcome: if ok { "marked" } else { "failed" },
            reason: w.error.clone(),
        };
        let mut line = audited(&plan.account_id, &actor, action, "fix-mark", &r, None, None);
        line.tags_written = Some(w.change.add.clone());
        lines.push(line);
        results.push(r);
    }
    write_log(log, &lines).await?;
    let message = match topic {
        Some(topic) if !marked.is_empty() => {
            let (subject, body) =
                fix::mark_summary(plan, day, &marked, &policy.remediation.opt_out_tag);
            infraqa_aws::alerts::publish(&clients, topic, &subject, body)
                .await
                .map_err(|e| PipelineError::aws("sending the marking's summary", e))?
        }
        _ => None,
    };
    Ok((results, message, actor))
}

/// The audit line of one action's outcome.
fn audited(
    account: &str,
    actor: &str,
    action: &FixAction,
    kind: &str,
    outcome: &Applied,
    before: Option<State>,
    after: Option<State>,
) -> RemediationAction {
    RemediationAction {
        at: chrono::Utc::now(),
        account_id: account.to_owned(),
        resource_arn: action.resource_arn.clone(),
        action: kind.to_owned(),
        details: [
            ("action_id".to_owned(), action.id.clone()),
            ("subject".to_owned(), action.subject.to_string()),
        ]
        .into(),
        actor: Some(actor.to_owned()),
        outcome: Some(outcome.outcome.to_owned()),
        error: outcome.reason.clone(),
        fix: Some(Box::new(action.clone())),
        before,
        after,
        ..RemediationAction::default()
    }
}

/// Re-reads, guards, changes and reads back one action; the outcome and the states before and
/// after.
async fn one(
    clients: &AwsClients,
    action: &FixAction,
    change: &fix::Change,
    guard: impl FnOnce(&State) -> Option<String>,
) -> (Applied, Option<State>, Option<State>) {
    let outcome = |outcome, reason: Option<String>| Applied {
        action_id: action.id.clone(),
        resource_arn: action.resource_arn.clone(),
        outcome,
        reason,
    };
    let kind = infraqa_core::ResourceType::parse(&action.resource_type);
    let read = || {
        infraqa_aws::fix::read(
            clients,
            action.subject,
            &kind,
            &action.resource_id,
            &action.region,
        )
    };
    let before = match read().await {
        Observed::Read(Some(s)) => s,
        Observed::Read(None) => {
            return (
                outcome("gone", Some("no longer exists".to_owned())),
                None,
                None,
            );
        }
        Observed::Unread(e) => {
            return (
                outcome(
                    "failed",
                    Some(format!(
                        "could not be re-read before the change: {}",
                        e.message
                    )),
                ),
                None,
                None,
            );
        }
    };
    if let Some(why) = guard(&before) {
        return (outcome("skipped", Some(why)), Some(before), None);
    }
    if let Err(e) =
        infraqa_aws::fix::write(clients, change, &action.resource_id, &action.region).await
    {
        // Read what the failed write left, so the audit says whether anything changed.
        let after = match read().await {
            Observed::Read(s) => s,
            Observed::Unread(_) => None,
        };
        return (outcome("failed", Some(e.to_string())), Some(before), after);
    }
    match read().await {
        Observed::Read(after) if fix::took(change, after.as_ref()) => {
            (outcome("applied", None), Some(before), after)
        }
        Observed::Read(after) => (
            outcome(
                "failed",
                Some("the write was accepted but reading the resource back does not show it: it did not take".to_owned()),
            ),
            Some(before),
            after,
        ),
        Observed::Unread(e) => (
            outcome(
                "failed",
                Some(format!("the change could not be read back, so it is not known to have taken: {}", e.message)),
            ),
            Some(before),
            None,
        ),
    }
}

/// Applies a reviewed `plan` under `policy`: each action re-read, guarded
/// ([`fix::guard`]), changed, read back and audited in `log`; at most `max_changes` changes
/// (the rest `not-applied`). Refused, changing nothing, when the plan was made under another
/// policy or for another account.
pub async fn apply(
    aws: &Aws,
    plan: &FixPlan,
    policy: &Policy,
    limits: ApplyLimits,
    log: &AuditLog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<Applied>, String), PipelineError> {
    let ApplyLimits { max_changes, due } = limits;
    if plan.schema_version != FIX_PLAN_SCHEMA_VERSION {
        return Err(PipelineError::input(format!(
            "the plan's layout is version {}, this infraqa reads {FIX_PLAN_SCHEMA_VERSION}: plan again",
            plan.schema_version
        )));
    }
    made_under("plan", &plan.policy_digest, policy, "plan again")?;
    let (clients, actor) = acting_in(aws, policy, &plan.account_id, "plan").await?;
    let mut results = Vec::new();
    let mut lines = Vec::new();
    let mut changed = 0;
    for action in &plan.actions {
        if changed >= max_changes {
            let r = Applied {
                action_id: action.id.clone(),
                resource_arn: action.resource_arn.clone(),
                outcome: "not-applied",
                reason: Some(format!(
                    "--max-changes {max_changes} was reached: apply the plan again to go on"
                )),
            };
            lines.push(audited(
                &plan.account_id,
                &actor,
                action,
                "fix",
                &r,
                None,
                None,
            ));
            results.push(r);
            continue;
        }
        let (r, before, after) = one(&clients, action, &action.change, |now_state| {
            fix::guard(action, now_state, policy, now, due)
        })
        .await;
        if matches!(r.outcome, "applied" | "failed") && after.as_ref() != before.as_ref() {
            changed += 1;
        }
        lines.push(audited(
            &plan.account_id,
            &actor,
            action,
            "fix",
            &r,
            before,
            after,
        ));
        results.push(r);
    }
    write_log(log, &lines).await?;
    Ok((results, actor))
}

async fn write_log(log: &AuditLog, lines: &[RemediationAction]) -> Result<(), PipelineError> {
    if let Some(first) = lines.first() {
        log.write(&audit_file_for_fix(first.at, &audit_lines(lines)), lines)
            .await?;
    }
    Ok(())
}

/// Undoes the applied action `action_id` (found in `log`): refused unless the resource is
/// exactly as the action left it; the restore is read back and audited.
pub async fn undo(
    aws: &Aws,
    action_id: &str,
    policy: &Policy,
    log: &AuditLog,
) -> Result<(Applied, String), PipelineError> {
    let entries = log.load_fixes().await?;
    let Some(done) = entries
        .iter()
        .filter(|e| {
            e.action == "fix"
                && e.outcome.as_deref() == Some("applied")
                && e.details.get("action_id").map(String::as_str) == Some(action_id)
        })
        .max_by_key(|e| e.at)
    else {
        return Err(PipelineError::input(format!(
            "no applied fix {action_id} in the audit log: `infraqa fix --apply` prints the ids it applied"
        )));
    };
    if entries.iter().any(|e| {
        e.action == "fix-undo"
            && e.outcome.as_deref() == Some("applied")
            && e.details.get("action_id").map(String::as_str) == Some(action_id)
            && e.at > done.at
    }) {
        return Err(PipelineError::input(format!(
            "{action_id} was undone already"
        )));
    }
    let Some(action) = done.fix.as_deref() else {
        return Err(PipelineError::input(format!(
            "the audit entry of {action_id} holds no action to undo"
        )));
    };
    let Some(undo) = &action.undo else {
        return Err(PipelineError::input(format!(
            "{action_id} cannot be undone: {}",
            action.reversible
        )));
    };
    let Some(after) = done.after.as_ref() else {
        return Err(PipelineError::input(format!(
            "the audit entry of {action_id} holds no state to undo from"
        )));
    };
    let (clients, actor) = acting_in(aws, policy, &done.account_id, "fix").await?;
    let (r, before, now_after) = one(&clients, action, undo, |now_state| {
        fix::guard_undo(action, after, now_state)
    })
    .await;
    let line = audited(
        &done.account_id,
        &actor,
        action,
        "fix-undo",
        &r,
        before,
        now_after,
    );
    write_log(log, std::slice::from_ref(&line)).await?;
    Ok((r, actor))
}
