//! `infraqa audit --from DATE --to DATE`: the quarterly audit export. Gathers the runs of the
//! period from the history store (compliance history and inventory snapshots), the trend
//! across them, and the remediation actions taken (`DIR/audit-log/*.jsonl`) into one JSON file.

use super::aws::LazyClients;
use super::history::HistoryLocation;
use crate::exit::CliError;
use anyhow::{Context, anyhow};
use infraqa_core::history::{AuditExport, RemediationAction, audit_export};
use std::path::Path;

/// Reads every remediation action in `dir/*.jsonl` (one JSON object per line). A missing
/// directory means no action was taken; a line that does not parse is an error naming it.
pub fn load_actions(dir: &Path) -> Result<Vec<RemediationAction>, CliError> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::AwsOrStorage(
                anyhow!(e).context(format!("listing {}", dir.display())),
            ));
        }
    };
    let mut paths: Vec<_> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))
            .map_err(CliError::AwsOrStorage)?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            out.push(
                serde_json::from_str(line)
                    .with_context(|| {
                        format!(
                            "{} line {} is not a remediation action",
                            path.display(),
                            i + 1
                        )
                    })
                    .map_err(CliError::InvalidInput)?,
            );
        }
    }
    Ok(out)
}

/// Builds the export.
pub async fn export(
    aws: &LazyClients<'_>,
    history: &HistoryLocation,
    audit_log: &Path,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<AuditExport, CliError> {
    if from > to {
        return Err(CliError::InvalidInput(anyhow!(
            "--from {from} is after --to {to}"
        )));
    }
    let (entries, problems) = history.load(aws).await?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    let actions = load_actions(audit_log)?;
    let mut x = audit_export(entries, actions, from, to, chrono::Utc::now());
    x.notes = problems;
    Ok(x)
}
