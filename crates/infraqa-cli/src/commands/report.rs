//! `infraqa report` (and the report half of `infraqa run`): build the report from an inventory
//! and its check, write every format into `DIR`, append the run to the history store.

use infraqa_core::check::CheckResult;
use infraqa_core::report::Report;
use infraqa_pipeline::{Location, PipelineError};
use std::path::Path;

/// Reads a `findings.json` written by `infraqa check`.
pub async fn load_findings(path: &Path) -> Result<CheckResult, PipelineError> {
    super::output::read_document(path, "findings file", infraqa_core::document::findings).await
}

/// Where a run's history goes: `--history`, else `OUT/history`.
pub fn location(out: &Location, history: Option<&Location>) -> Location {
    history
        .cloned()
        .unwrap_or_else(|| out.join(infraqa_core::names::HISTORY))
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
    if !r.lifecycle.cleanup.is_empty() {
        line.push_str(&format!(
            "; {} idle or oversized (${:.2}/month to save)",
            r.lifecycle.cleanup.len(),
            r.lifecycle.estimated_monthly_saving_usd
        ));
    }
    if r.partial {
        line.push_str(&format!(
            "; PARTIAL: {} read(s) failed, some resources were not judged",
            r.errors.len()
        ));
    }
    line
}
