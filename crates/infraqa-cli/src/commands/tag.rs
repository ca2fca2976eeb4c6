//! `infraqa tag`: plan the tags a report calls for; with `--apply`, write them.
//!
//! Plan is the default. `--apply` writes the plan just made, or a saved one (`--plan FILE`,
//! written earlier with `--json`), so what was reviewed is exactly what is written; the
//! pipeline re-reads each resource before its write, refuses a plan of another policy or
//! account or over `--max-changes`, and audits every write.

use super::aws::Aws;
use super::check::load_inventory;
use super::output::{beside, json, read_document};
use crate::args::TagArgs;
use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_core::tagging::{Outcome, TagPlan};
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::tag::outcome_name;
use infraqa_pipeline::{Location, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The plan `args` ask for (a saved one, or a new one from the report) and the inventory it
/// was made from (`--inventory`, or `inventory.json` beside the report or the plan).
async fn plan(
    args: &TagArgs,
    policy: &infraqa_core::Policy,
) -> Result<(TagPlan, infraqa_core::Inventory), CliError> {
    let inventory_beside = |file: &Path| {
        args.inventory
            .clone()
            .unwrap_or_else(|| beside(file, "inventory.json"))
    };
    if let Some(path) = &args.plan {
        let plan = read_document(path, "tag plan", infraqa_core::document::tag_plan).await?;
        let inventory = load_inventory(&inventory_beside(path)).await?;
        return Ok((plan, inventory));
    }
    let report_path = args
        .report
        .as_deref()
        .ok_or_else(|| CliError::InvalidInput(anyhow!("--report FILE or --plan FILE is needed")))?;
    let report = read_document(report_path, "report", infraqa_core::document::report).await?;
    let inventory = load_inventory(&inventory_beside(report_path)).await?;
    let plan = infraqa_pipeline::tag::plan(&report, &inventory, policy, chrono::Utc::now())?;
    Ok((plan, inventory))
}

/// The directory whose `audit-log/` records the writes: `--dir`, else the report's (or plan's)
/// directory.
fn audit_dir(args: &TagArgs) -> PathBuf {
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
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    let mut out: String = rows
        .iter()
        .map(|r| format!("{:w0$}  {:w1$}  {}\n", r[0], r[1], r[2]))
        .collect();
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

/// One resource's result, as printed.
#[derive(Debug, Serialize)]
struct Line {
    resource_arn: String,
    outcome: Outcome,
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `infraqa tag`.
pub async fn run(args: &TagArgs, aws: &Aws) -> Result<(), CliError> {
    let policy = super::policy::load(&args.policy)?;
    let (plan, inventory) = plan(args, &policy).await?;
    if !args.apply {
        if args.json {
            println!("{}", json(&plan)?);
        } else {
            print!("{}", plan_table(&plan));
        }
        return Ok(());
    }
    let dir = Store::new(Location::Local(audit_dir(args)), aws);
    let history = args.history.clone().map(|h| Store::new(h, aws));
    let log = AuditLog::new(&dir, history.as_ref());
    let max_changes = args
        .max_changes
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let (written, actor) =
        infraqa_pipeline::tag::apply(aws, &plan, &policy, &inventory, max_changes, &log).await?;
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
    let refused = count(Outcome::Refused);
    if args.json {
        println!("{}", json(&lines)?);
    } else {
        for l in &lines {
            let tags = l
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            match &l.error {
                None => println!("{:8} {}  {tags}", outcome_name(l.outcome), l.resource_arn),
                Some(e) => println!(
                    "{:8} {}  {tags}: {e}",
                    outcome_name(l.outcome),
                    l.resource_arn
                ),
            }
        }
    }
    eprintln!(
        "{} written, {} skipped, {} gone, {failed} failed, {refused} refused (audited as {actor})",
        count(Outcome::Written),
        count(Outcome::Skipped),
        count(Outcome::Gone)
    );
    if failed + refused > 0 {
        return Err(CliError::AwsOrStorage(anyhow!(
            "{failed} resource(s) could not be tagged and {refused} plan entr(ies) were refused: see the lines marked failed or refused"
        )));
    }
    Ok(())
}
