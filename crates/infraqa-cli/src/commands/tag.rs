//! `infraqa tag`: plan the tags a report calls for; with `--apply`, write them.
//!
//! Plan is the default. `--apply` writes the plan just made, or a saved one (`--plan FILE`,
//! written earlier with `--json`), so what was reviewed is exactly what is written; each
//! resource is re-read before its write and skipped if its tags changed; `--max-changes N`
//! refuses a run that would touch more resources than expected. Every write is audited.

use super::audit::AuditLog;
use super::aws::LazyClients;
use super::check::load_inventory;
use super::output::read_document;
use crate::args::TagArgs;
use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_aws::tagger::{self, Written};
use infraqa_core::history::RemediationAction;
use infraqa_core::rules::scope;
use infraqa_core::tagging::{self, Outcome, TagPlan};
use infraqa_core::{Inventory, Policy};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads a `report.json`.
fn load_report(path: &Path) -> Result<infraqa_core::report::Report, CliError> {
    read_document(path, "report", infraqa_core::document::report)
}

/// Reads a saved plan.
fn load_plan(path: &Path) -> Result<TagPlan, CliError> {
    read_document(path, "tag plan", infraqa_core::document::tag_plan)
}

/// The plan `args` ask for: a saved one (made under this policy), or a new one from the report
/// and its inventory.
pub fn plan(args: &TagArgs, policy: &Policy) -> Result<TagPlan, CliError> {
    if let Some(path) = &args.plan {
        let plan = load_plan(path)?;
        let digest = policy.digest();
        if plan.policy_digest != digest {
            return Err(CliError::InvalidInput(anyhow!(
                "{} was planned under another policy (digest {}, this policy's is {digest}): plan again",
                path.display(),
                plan.policy_digest
            )));
        }
        return Ok(plan);
    }
    let report_path = args
        .report
        .as_deref()
        .ok_or_else(|| CliError::InvalidInput(anyhow!("--report FILE or --plan FILE is needed")))?;
    let report = load_report(report_path)?;
    let inventory_path = args
        .inventory
        .clone()
        .unwrap_or_else(|| beside(report_path, "inventory.json"));
    let inventory: Inventory = load_inventory(&inventory_path)?;
    if report.account_id != inventory.account_id
        || report.inventory_generated_at != inventory.generated_at
    {
        return Err(CliError::InvalidInput(anyhow!(
            "{} reports on the inventory of account {} taken at {}, but {} is of account {} taken at {}: pass the inventory the report was made from (--inventory FILE)",
            report_path.display(),
            report.account_id,
            report.inventory_generated_at,
            inventory_path.display(),
            inventory.account_id,
            inventory.generated_at
        )));
    }
    let statuses = tagging::statuses(
        &report.findings,
        &report.not_evaluated,
        &scope(&inventory, policy, report.generated_at),
    );
    Ok(tagging::plan(
        &inventory,
        policy,
        &statuses,
        chrono::Utc::now(),
    ))
}

fn beside(file: &Path, name: &str) -> PathBuf {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

/// The directory whose `audit-log/` records the writes: `--dir`, else the report's (or plan's)
/// directory.
pub fn audit_dir(args: &TagArgs) -> PathBuf {
    args.dir.clone().unwrap_or_else(|| {
        let file = args.report.as_deref().or(args.plan.as_deref());
        file.map_or_else(|| PathBuf::from("."), |f| beside(f, ""))
    })
}

/// The plan as a table, for a terminal.
pub fn plan_table(plan: &TagPlan) -> String {
    let mut rows: Vec<[String; 3]> = vec![[
        "RESOURCE".into(),
        "REGION".into(),
        "TAGS TO ADD (source)".into(),
    ]];
    for c in &plan.changes {
        let tags = c
            .add
            .iter()
            .map(|(k, v)| format!("{k}={v} ({})", c.sources.get(k).map_or("?", String::as_str)))
            .collect::<Vec<_>>()
            .join(", ");
        let withheld = c
            .withheld
            .iter()
            .map(|(k, why)| format!("; not {k}: {why}"))
            .collect::<String>();
        rows.push([
            format!("{} {}", c.resource_type, c.id),
            c.region.clone(),
            tags + &withheld,
        ]);
    }
    let mut out = table(&rows);
    out.push_str(&format!(
        "\n{} tag value(s) on {} resource(s); {} resource(s) left alone",
        plan.tag_count(),
        plan.changes.len(),
        plan.skipped.len()
    ));
    for s in &plan.skipped {
        out.push_str(&format!(
            "\n  skip {} {}: {}",
            s.resource_type, s.resource_arn, s.reason
        ));
    }
    out.push('\n');
    out
}

fn table(rows: &[[String; 3]]) -> String {
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    rows.iter()
        .map(|r| format!("{:w0$}  {:w1$}  {}\n", r[0], r[1], r[2]))
        .collect()
}

/// One resource's result, as printed.
#[derive(Debug, Serialize)]
pub struct Line {
    /// The resource.
    pub resource_arn: String,
    /// `written`, `skipped`, `gone` or `failed`.
    pub outcome: Outcome,
    /// The tags written (or that were to be).
    pub tags: BTreeMap<String, String>,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The audit lines of an apply.
fn audit_actions(
    written: &[Written],
    account: &str,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<RemediationAction> {
    written
        .iter()
        .map(|w| RemediationAction {
            at,
            account_id: account.to_owned(),
            resource_arn: w.change.resource_arn.clone(),
            action: "tag-write".to_owned(),
            actor: Some(actor.to_owned()),
            tags_before: Some(w.change.tags_before.clone()),
            tags_written: Some(w.change.add.clone()),
            outcome: Some(outcome_str(w.outcome).to_owned()),
            error: w.error.clone(),
            ..RemediationAction::default()
        })
        .collect()
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Written => "written",
        Outcome::Skipped => "skipped",
        Outcome::Gone => "gone",
        Outcome::Failed => "failed",
    }
}

/// Runs `infraqa tag`.
pub async fn run(args: &TagArgs, aws: &LazyClients<'_>) -> Result<(), CliError> {
    let policy = super::policy::load(&args.policy)?;
    let plan = plan(args, &policy)?;
    if !args.apply {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&plan)
                    .map_err(|e| CliError::AwsOrStorage(anyhow!(e)))?
            );
        } else {
            print!("{}", plan_table(&plan));
        }
        return Ok(());
    }
    if let Some(max) = args.max_changes
        && plan.changes.len() > max
    {
        return Err(CliError::InvalidInput(anyhow!(
            "the plan touches {} resources, more than --max-changes {max}: nothing was written",
            plan.changes.len()
        )));
    }
    let clients = aws.get().await;
    let (account, actor) = clients.caller().await?;
    if account != plan.account_id {
        return Err(CliError::InvalidInput(anyhow!(
            "the plan is for account {} but the credentials act in account {account}: nothing was written",
            plan.account_id
        )));
    }
    let written = tagger::apply(clients, &plan.changes).await?;
    let at = chrono::Utc::now();
    let log = AuditLog::new(&audit_dir(args), args.history.as_ref(), aws);
    let actions = audit_actions(&written, &account, &actor, at);
    if !actions.is_empty() {
        let text = infraqa_core::history::audit_lines(&actions);
        log.write(&infraqa_core::history::audit_file_for_run(at, &text), &text)
            .await?;
    }
    let lines: Vec<Line> = written
        .into_iter()
        .map(|w| Line {
            resource_arn: w.change.resource_arn,
            outcome: w.outcome,
            tags: w.change.add,
            error: w.error,
        })
        .collect();
    let count = |o: Outcome| lines.iter().filter(|l| l.outcome == o).count();
    let failed = count(Outcome::Failed);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&lines).map_err(|e| CliError::AwsOrStorage(anyhow!(e)))?
        );
    } else {
        for l in &lines {
            let tags = l
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            match &l.error {
                None => println!("{:8} {}  {tags}", outcome_str(l.outcome), l.resource_arn),
                Some(e) => println!(
                    "{:8} {}  {tags}: {e}",
                    outcome_str(l.outcome),
                    l.resource_arn
                ),
            }
        }
    }
    eprintln!(
        "{} written, {} skipped, {} gone, {failed} failed (audited as {actor})",
        count(Outcome::Written),
        count(Outcome::Skipped),
        count(Outcome::Gone)
    );
    if failed > 0 {
        return Err(CliError::AwsOrStorage(anyhow!(
            "{failed} resource(s) could not be tagged: see the lines marked failed"
        )));
    }
    Ok(())
}
