//! `infraqa backtest --policy FILE --history LOC [--rule ID]`: what a new or changed rule
//! would have found in every past run the history store kept an inventory of.

use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_core::RuleId;
use infraqa_pipeline::backtest::Backtest;
use std::fmt::Write;

/// The rule `--rule` names.
pub fn rule(id: &str) -> Result<RuleId, CliError> {
    id.parse()
        .map_err(|e| CliError::InvalidInput(anyhow!("--rule: {e}")))
}

/// The backtest as a table (or JSON).
pub fn render(b: &Backtest, history: &str, json: bool) -> Result<String, CliError> {
    if json {
        let mut text =
            serde_json::to_string_pretty(b).map_err(|e| CliError::AwsOrStorage(anyhow!(e)))?;
        text.push('\n');
        return Ok(text);
    }
    let rules = match b.rules.as_slice() {
        [one] => format!("rule {one}"),
        all => format!("all {} rules of the policy", all.len()),
    };
    let mut out = format!(
        "backtest of {rules} over {} run(s) kept in {history}\n",
        b.runs.len()
    );
    let dash = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let _ = writeln!(
        out,
        "{:<22} {:<12} {:>9} {:>8} {:>5} {:>8} {:>13} {:>17} {:>16}",
        "inventory taken",
        "account",
        "judged",
        "findings",
        "new",
        "resolved",
        "not evaluated",
        "vs recorded (+/-)",
        "score (recorded)"
    );
    for r in &b.runs {
        let recorded = match (r.added_to_recorded, r.removed_from_recorded) {
            (Some(a), Some(d)) => format!("+{a}/-{d}"),
            _ => "-".to_owned(),
        };
        let score = match r.recorded_score {
            Some(was) => format!("{:.2} ({was:.2})", r.compliance_score),
            None => format!("{:.2} (-)", r.compliance_score),
        };
        let _ = writeln!(
            out,
            "{:<22} {:<12} {:>9} {:>8} {:>5} {:>8} {:>13} {:>17} {:>16}{}",
            r.inventory_generated_at.format("%Y-%m-%dT%H:%M:%SZ"),
            r.account_id,
            r.evaluated,
            r.findings,
            dash(r.new),
            dash(r.resolved),
            r.not_evaluated,
            recorded,
            score,
            if r.partial { "  PARTIAL scan" } else { "" },
        );
    }
    if b.runs_without_inventory > 0 {
        let _ = writeln!(
            out,
            "{} run(s) have no kept inventory (recorded before inventories were kept) and are left out",
            b.runs_without_inventory
        );
    }
    for p in &b.problems {
        let _ = writeln!(out, "left out: {p}");
    }
    Ok(out)
}
