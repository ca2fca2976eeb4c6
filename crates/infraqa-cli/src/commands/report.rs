//! `infraqa report` (and the report half of `infraqa run`): build the report from an inventory
//! and its check, write every format into `DIR`, append the run to the history store.

use super::aws::LazyClients;
use super::history::HistoryLocation;
use crate::exit::CliError;
use infraqa_core::check::CheckResult;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, history_entry};
use infraqa_core::{Inventory, Policy};
use std::path::{Path, PathBuf};

/// Reads a `findings.json` written by `infraqa check`.
pub fn load_findings(path: &Path) -> Result<CheckResult, CliError> {
    super::output::read_document(path, "findings file", infraqa_core::document::findings)
}

/// Where a run's history goes: `--history`, else `OUT/history`.
pub fn location(out: &Path, history: Option<&HistoryLocation>) -> HistoryLocation {
    history
        .cloned()
        .unwrap_or_else(|| HistoryLocation::Local(out.join("history")))
}

/// What `produce` needs besides the data.
pub struct Target<'a> {
    /// The output directory.
    pub out: &'a Path,
    /// The history store.
    pub history: HistoryLocation,
    /// How many past runs the trend covers.
    pub trend_runs: usize,
    /// AWS clients (for an S3 history store and Cost Explorer), loaded when first needed.
    pub aws: &'a LazyClients<'a>,
}

/// Builds the report, writes every format into `out`, then appends the run to the history.
pub async fn produce(
    inventory: &Inventory,
    check: &CheckResult,
    policy: &Policy,
    target: Target<'_>,
) -> Result<(Report, Vec<PathBuf>), CliError> {
    check.belongs_to(inventory, policy)?;
    let (past, problems) = target.history.load(target.aws).await?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    let mut report = build(ReportInput {
        inventory,
        check,
        policy,
        history: &past,
        trend_runs: target.trend_runs,
        prices: PriceTable::embedded(),
        now: chrono::Utc::now(),
    });
    report.notes.extend(problems);
    if policy.cost.cost_explorer {
        let clients = target.aws.get().await;
        let (start, end) = infraqa_aws::cost::last_full_month(report.generated_at.date_naive());
        match infraqa_aws::cost::actual_spend(clients, &policy.cost.allocation_tags, start, end)
            .await
        {
            Ok(spend) => report.cost.actual_spend = Some(spend),
            Err(e) => {
                tracing::warn!("Cost Explorer: {e}");
                report.notes.push(format!(
                    "actual spend from Cost Explorer could not be read ({e}); the cost section holds list-price estimates only"
                ));
            }
        }
    }
    let written = infraqa_report::write_all(&report, target.out)
        .map_err(|e| CliError::from(e).context("writing the reports"))?;
    let at = target
        .history
        .append(target.aws, &history_entry(&report))
        .await?;
    tracing::info!("history entry written to {at}");
    Ok((report, written))
}

/// One line a person reads after a report.
pub fn summary(r: &Report) -> String {
    let s = &r.summary;
    let trend = match r.trend.score_delta {
        Some(d) => format!(
            "{d:+.2} since the previous run, {} new, {} resolved",
            r.trend.new.len(),
            r.trend.resolved.len()
        ),
        None => "first run".to_owned(),
    };
    let mut line = format!(
        "compliance score {:.2}% ({} of {} in-scope resources compliant, {} not evaluated; {trend}); {} findings, {} exempted, {} orphans; estimated ${:.2}/month, ${:.2}/month flagged as waste",
        s.compliance_score,
        s.compliant_resources,
        s.in_scope_resources,
        s.not_evaluated_resources,
        s.findings,
        s.exempted,
        s.orphans,
        r.cost.estimated_monthly_total_usd,
        r.cost.estimated_monthly_waste_usd
    );
    if r.partial {
        line.push_str(&format!(
            "; PARTIAL: {} read(s) failed, some resources were not judged",
            r.errors.len()
        ));
    }
    line
}
