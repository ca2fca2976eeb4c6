//! `infraqa fix`: plan the repairs a check's findings call for (`fix-plan.json` and a summary);
//! `--apply --plan FILE` applies a reviewed plan; `--undo ACTION_ID` restores what an applied
//! action changed. Every decision is `infraqa_core::fix`'s and every step the pipeline's.

use super::aws::Aws;
use super::check::load_inventory;
use super::output::{beside, json, read_document};
use crate::args::FixArgs;
use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_core::fix::{FixPlan, PlanOptions, Subject, Why};
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::fix::Applied;
use infraqa_pipeline::{Location, Store};

/// The plan file's name in `--out`.
pub const PLAN_FILE: &str = "fix-plan.json";

/// The plan for a terminal: each action with its calls, then each failing resource left
/// alone with why.
pub fn summary(plan: &FixPlan) -> String {
    let mut out = String::new();
    for a in &plan.actions {
        out.push_str(&format!(
            "{}  {}  {} {} ({})\n",
            a.id, a.subject, a.resource_type, a.resource_id, a.region
        ));
        for call in &a.calls {
            out.push_str(&format!("    {call}\n"));
        }
        match a.undo_calls.is_empty() {
            true => out.push_str(&format!("    reversible: {}\n", a.reversible)),
            false => out.push_str(&format!("    undo: {}\n", a.undo_calls.join("; "))),
        }
    }
    let count = |w: Why| plan.untouched.iter().filter(|n| n.why == w).count();
    out.push_str(&format!(
        "\n{} action(s); left alone: {} needing a person, {} refused, {} not read, {} already done\n",
        plan.actions.len(),
        count(Why::NeedsAPerson),
        count(Why::Refused),
        count(Why::NotRead),
        count(Why::AlreadyDone),
    ));
    for n in plan.untouched.iter().filter(|n| n.why != Why::NeedsAPerson) {
        out.push_str(&format!(
            "  {} {} {}: {}\n",
            serde_json::to_value(n.why)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            n.subject,
            n.resource_arn,
            n.reason
        ));
    }
    out
}

fn print_results(results: &[Applied], as_json: bool) -> Result<(), CliError> {
    if as_json {
        println!("{}", json(&results)?);
        return Ok(());
    }
    for r in results {
        match &r.reason {
            None => println!("{:11} {} {}", r.outcome, r.action_id, r.resource_arn),
            Some(why) => println!("{:11} {} {}: {why}", r.outcome, r.action_id, r.resource_arn),
        }
    }
    Ok(())
}

/// Runs `infraqa fix`.
pub async fn run(args: &FixArgs, aws: &Aws) -> Result<(), CliError> {
    let policy = super::policy::load(&args.policy)?;
    let out = Store::new(Location::Local(args.out.clone()), aws);
    let history = args.history.clone().map(|h| Store::new(h, aws));
    let log = AuditLog::new(&out, history.as_ref());
    let now = chrono::Utc::now();
    if let Some(id) = &args.undo {
        let (r, actor) = infraqa_pipeline::fix::undo(aws, id, &policy, &log).await?;
        print_results(std::slice::from_ref(&r), args.json)?;
        eprintln!("undo of {id}: {} (audited as {actor})", r.outcome);
        return match r.outcome {
            "applied" => Ok(()),
            _ => Err(CliError::AwsOrStorage(anyhow!(
                "{id} was not undone: {}",
                r.reason.unwrap_or_default()
            ))),
        };
    }
    if args.apply {
        let path = args
            .plan
            .as_deref()
            .ok_or_else(|| CliError::InvalidInput(anyhow!("--apply needs --plan FILE")))?;
        let plan = read_document(path, "fix plan", infraqa_core::document::fix_plan).await?;
        let max = usize::try_from(args.max_changes).unwrap_or(usize::MAX);
        let limits = infraqa_pipeline::fix::ApplyLimits {
            max_changes: max,
            due: args.due,
        };
        let (results, actor) =
            infraqa_pipeline::fix::apply(aws, &plan, &policy, limits, &log, now).await?;
        print_results(&results, args.json)?;
        let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
        let failed = count("failed");
        eprintln!(
            "{} applied, {} skipped, {} gone, {failed} failed, {} not applied (--max-changes {}) (audited as {actor})",
            count("applied"),
            count("skipped"),
            count("gone"),
            count("not-applied"),
            args.max_changes
        );
        if failed > 0 {
            return Err(CliError::AwsOrStorage(anyhow!(
                "{failed} change(s) failed or did not take: see the lines marked failed"
            )));
        }
        return Ok(());
    }
    let findings_path = args.findings.as_deref().ok_or_else(|| {
        CliError::InvalidInput(anyhow!(
            "--findings FILE, --apply --plan FILE or --undo ID is needed"
        ))
    })?;
    let check = read_document(
        findings_path,
        "findings file",
        infraqa_core::document::findings,
    )
    .await?;
    let inventory = load_inventory(
        &args
            .inventory
            .clone()
            .unwrap_or_else(|| beside(findings_path, "inventory.json")),
    )
    .await?;
    let only = args
        .rules
        .iter()
        .map(|r| r.parse::<Subject>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::InvalidInput(anyhow!("--rule: {e} (or an orphan kind)")))?;
    let options = PlanOptions {
        only,
        include_website: args.include_website,
        allow_irreversible: args.allow_irreversible,
    };
    let plan = infraqa_pipeline::fix::plan(aws, &check, &inventory, &policy, &options, now).await?;
    let text = json(&plan)?;
    out.put(
        PLAN_FILE,
        format!("{text}\n").into_bytes(),
        "application/json",
    )
    .await?;
    eprintln!("{}", args.out.join(PLAN_FILE).display());
    let Some(days) = args.mark else {
        if args.json {
            println!("{text}");
        } else {
            print!("{}", summary(&plan));
        }
        return Ok(());
    };
    let topic = args
        .alert_topic
        .as_deref()
        .or(policy.alerts.topic.as_deref());
    let (results, message, actor) =
        infraqa_pipeline::fix::mark(aws, &plan, &policy, days, topic, &log, now).await?;
    print_results(&results, args.json)?;
    let marked = results.iter().filter(|r| r.outcome == "marked").count();
    let sent = match (topic, message) {
        (Some(t), Some(id)) => format!("; the summary went to {t} (message {id})"),
        (Some(t), None) => format!("; nothing to tell {t}"),
        (None, _) => {
            "; no alert topic ([alerts] topic or --alert-topic): no summary sent".to_owned()
        }
    };
    eprintln!(
        "{marked} resource(s) marked {}={}{sent} (audited as {actor})",
        infraqa_core::fix::REMEDIATE_AFTER,
        infraqa_core::fix::due_date(now, days)
    );
    let failed = results.len() - marked;
    if failed > 0 {
        return Err(CliError::AwsOrStorage(anyhow!(
            "{failed} resource(s) could not be marked: see the lines marked failed"
        )));
    }
    Ok(())
}
