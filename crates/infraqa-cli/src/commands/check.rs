//! `infraqa check --policy FILE --inventory FILE --out DIR`: evaluate the rules, write
//! `DIR/findings.json`.

use crate::exit::CliError;
use infraqa_core::check::CheckResult;
use infraqa_core::{Finding, Inventory, Severity};
use infraqa_pipeline::Store;
use std::path::Path;

/// Reads an inventory file written by `infraqa scan`.
pub async fn load_inventory(path: &Path) -> Result<Inventory, CliError> {
    Ok(super::output::read_document(path, "inventory", infraqa_core::document::inventory).await?)
}

/// Writes `OUT/findings.json` and returns where it went.
pub async fn write(out: &Store, result: &CheckResult) -> Result<String, CliError> {
    Ok(infraqa_pipeline::report::put_json(out, infraqa_core::names::FINDINGS, result).await?)
}

/// One line a person reads after a check.
pub fn summary(result: &CheckResult) -> String {
    let by: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            format!(
                "{} {s}",
                result.findings.iter().filter(|f| f.severity == *s).count()
            )
        })
        .collect();
    let mut line = format!(
        "{} findings ({}), {} exempted, {} orphans, {} not evaluated",
        result.findings.len(),
        by.join(", "),
        result.exempted.len(),
        result.orphans.len(),
        result.not_evaluated.len()
    );
    if result.partial {
        line.push_str(&format!(
            "; PARTIAL: the inventory has {} error(s), some resources were not judged",
            result.errors.len()
        ));
    }
    line
}

/// Exit 4 when `--fail-on` is set and one of `findings` is at or above it.
pub fn enforce(findings: &[Finding], fail_on: Option<Severity>) -> Result<(), CliError> {
    let Some(threshold) = fail_on else {
        return Ok(());
    };
    match findings.iter().filter(|f| f.severity >= threshold).count() {
        0 => Ok(()),
        n => Err(CliError::FindingsAtThreshold(format!(
            "{n} finding(s) at or above {threshold}"
        ))),
    }
}
