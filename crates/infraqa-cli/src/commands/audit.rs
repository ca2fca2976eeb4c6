//! `infraqa audit --from DATE --to DATE`: the quarterly audit export. Gathers the runs of the
//! period from the history store (compliance history and inventory snapshots), the trend
//! across them, and the remediation actions taken (`DIR/audit-log/*.jsonl`) into one JSON file.

use super::aws::LazyClients;
use super::history::HistoryLocation;
use crate::exit::CliError;
use anyhow::{Context, anyhow};
use infraqa_aws::history::S3History;
use infraqa_core::history::{AuditExport, RemediationAction, audit_export, parse_audit_lines};
use std::path::{Path, PathBuf};

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
        out.extend(
            parse_audit_lines(&text, &path.display().to_string())
                .map_err(|e| CliError::InvalidInput(anyhow!(e)))?,
        );
    }
    Ok(out)
}

/// The audit log: `DIR/audit-log/` always, and `audit-log/` under the history prefix when the
/// history is in S3. Each file (object) is written whole, once, and never replaced.
pub struct AuditLog<'a> {
    dir: PathBuf,
    s3: Option<(&'a str, String)>,
    aws: &'a LazyClients<'a>,
}

impl<'a> AuditLog<'a> {
    /// The log of runs into `dir`, with `history` as their history store.
    pub fn new(dir: &Path, history: Option<&'a HistoryLocation>, aws: &'a LazyClients<'a>) -> Self {
        Self {
            dir: dir.join("audit-log"),
            s3: match history {
                Some(HistoryLocation::S3 { bucket, prefix }) => Some((
                    bucket.as_str(),
                    format!("{}/audit-log", prefix.trim_end_matches('/')),
                )),
                _ => None,
            },
            aws,
        }
    }

    /// Writes `text` as the file `name` unless it exists; `Ok(false)` when it did (in S3 when
    /// the history is there, else locally): a duplicate, nothing replaced.
    pub async fn write(&self, name: &str, text: &str) -> Result<bool, CliError> {
        let local = infraqa_report::store::write_new(&self.dir.join(name), text.as_bytes())?;
        match &self.s3 {
            None => Ok(local.is_some()),
            Some((bucket, prefix)) => {
                let store = S3History::new(self.aws.get().await, bucket, prefix)?;
                let put = store
                    .put_new(name, text.as_bytes().to_vec(), "application/x-ndjson")
                    .await?;
                Ok(put.is_some())
            }
        }
    }

    /// Every action in the log (both places, each action once).
    pub async fn load(&self) -> Result<Vec<RemediationAction>, CliError> {
        let mut out = load_actions(&self.dir)?;
        if let Some((bucket, prefix)) = &self.s3 {
            let store = S3History::new(self.aws.get().await, bucket, prefix)?;
            for (key, bytes) in store.read_matching("", ".jsonl").await? {
                let text = String::from_utf8_lossy(&bytes);
                let origin = format!("s3://{bucket}/{key}");
                out.extend(
                    parse_audit_lines(&text, &origin)
                        .map_err(|e| CliError::InvalidInput(anyhow!(e)))?,
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| seen.insert(serde_json::to_string(a).unwrap_or_default()));
        Ok(out)
    }
}

/// Builds the export.
pub async fn export(
    aws: &LazyClients<'_>,
    history: &HistoryLocation,
    log: &AuditLog<'_>,
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
    let actions = log.load().await?;
    let mut x = audit_export(entries, actions, from, to, chrono::Utc::now());
    x.notes = problems;
    Ok(x)
}
