//! The tagger: the tag plan of a run's report (the S3 notification), or of every account of a
//! run over several accounts (the state machine), and in `apply` mode the tags themselves,
//! audited.

use crate::config::TaggerMode;
use crate::events::{ChainDone, ChainEvent, RunRequest, RunTagged, Step, duplicate};
use crate::suite::{HandlerError, Suite, checked_run, planned_accounts, reach, runs_of};
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, Utc};
use infraqa_core::Policy;
use infraqa_core::names::{REPORT, TAG_PLAN};
use infraqa_core::tagging::TagPlan;
use infraqa_pipeline::report::{put_json, read_inventory, read_report};
use infraqa_pipeline::shards::{self, Joined};
use infraqa_pipeline::{Aws, PipelineError, Store};
use std::collections::BTreeMap;

/// The tagger's entry point for either event.
pub async fn handle(
    suite: &Suite,
    event: &ChainEvent<RunRequest>,
    now: DateTime<Utc>,
) -> Result<ChainDone<RunTagged>, HandlerError> {
    // Boxed: the two futures together are deeper than the compiler lays out inline.
    match event {
        ChainEvent::Direct(r) => Box::pin(tag_run(suite, &r.organization_run, now))
            .await
            .map(ChainDone::Direct),
        ChainEvent::Object(e) => Box::pin(tag_runs(suite, e, now))
            .await
            .map(ChainDone::Object),
    }
}

/// On `runs/<run-id>/report.json`: writes the tag plan next to it, and in `apply` mode writes
/// the tags (audited). A second delivery finds the plan there and does nothing.
pub async fn tag_runs(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, REPORT) {
        let run = suite.run(&id);
        if run.exists(TAG_PLAN).await? {
            out.push(Step::duplicate(id, TAG_PLAN));
            continue;
        }
        let policy = suite.policy().await?;
        let report = read_report(&run).await?;
        let inventory = read_inventory(&run).await?;
        let plan = infraqa_pipeline::tag::plan(&report, &inventory, &policy, now)?;
        let outcome = match suite.config.tagger_mode {
            TaggerMode::Plan => planned(&plan),
            TaggerMode::Apply => apply_plan(suite, &suite.aws, &plan, &policy, &inventory).await?,
        };
        put_json(&run, TAG_PLAN, &plan).await?;
        out.push(Step {
            run_id: id,
            outcome,
        });
    }
    Ok(out)
}

/// Plans the tags of every reported account of the run `run_id`, into
/// `runs/<run-id>/<account>/tag-plan.json`, and in `apply` mode writes them in the account
/// (through the member role; audited). An account without a report (not reached) is skipped;
/// one with its plan written already is not tagged again.
pub async fn tag_run(
    suite: &Suite,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<RunTagged, HandlerError> {
    let run = checked_run(suite, run_id)?;
    let accounts = planned_accounts(&run, run_id).await?;
    let policy = suite.policy().await?;
    let mut out = BTreeMap::new();
    for (account, regions) in &accounts {
        let store = run.child(account);
        let outcome = if store.exists(TAG_PLAN).await? {
            duplicate(TAG_PLAN)
        } else if !store.exists(REPORT).await? {
            "not reported: nothing to tag".to_owned()
        } else {
            tag_account(suite, &policy, &run, (account, regions), now).await?
        };
        out.insert(account.clone(), outcome);
    }
    Ok(RunTagged {
        run_id: run_id.to_owned(),
        accounts: out,
    })
}

/// Plans (and in `apply` mode writes) the tags of the reported `account`, whose shards are
/// `regions`, from its report and its shards' inventories joined again.
async fn tag_account(
    suite: &Suite,
    policy: &Policy,
    run: &Store,
    (account, regions): (&str, &[String]),
    now: DateTime<Utc>,
) -> Result<String, HandlerError> {
    let store = &run.child(account);
    let report = read_report(store).await?;
    let inventory = match shards::join_account(run, account, regions, policy).await? {
        Joined::Read { inventory, .. } => inventory,
        Joined::Unreached(e) => {
            return Err(HandlerError::from(PipelineError::input(format!(
                "account {account} has a report but no shard to tag from: {}",
                e.message
            ))));
        }
    };
    let plan = infraqa_pipeline::tag::plan(&report, &inventory, policy, now)?;
    let outcome = match suite.config.tagger_mode {
        TaggerMode::Plan => planned(&plan),
        TaggerMode::Apply => match reach(suite, policy, account).await {
            Err(e) => format!("not reached: {}", e.message),
            Ok(clients) => {
                apply_plan(
                    suite,
                    &Aws::from_clients(clients),
                    &plan,
                    policy,
                    &inventory,
                )
                .await?
            }
        },
    };
    put_json(store, TAG_PLAN, &plan).await?;
    Ok(outcome)
}

/// The outcome line of a tag plan made in `plan` mode.
pub(crate) fn planned(plan: &TagPlan) -> String {
    format!(
        "planned {} tag value(s) on {} resource(s)",
        plan.tag_count(),
        plan.changes.len()
    )
}

/// Writes `plan` through `aws` under the suite's change limit, recording each write in the
/// audit log; the outcome line says how many resources were written.
pub(crate) async fn apply_plan(
    suite: &Suite,
    aws: &Aws,
    plan: &TagPlan,
    policy: &Policy,
    inventory: &infraqa_core::Inventory,
) -> Result<String, HandlerError> {
    let (written, _) = infraqa_pipeline::tag::apply(
        aws,
        plan,
        policy,
        inventory,
        Some(suite.config.max_tag_changes),
        &suite.audit_log(),
    )
    .await?;
    let ok = written
        .iter()
        .filter(|w| w.outcome == infraqa_core::tagging::Outcome::Written)
        .count();
    Ok(format!(
        "wrote tags on {ok} of {} resource(s)",
        written.len()
    ))
}
