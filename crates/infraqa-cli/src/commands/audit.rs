//! `infraqa audit --from DATE --to DATE`: the quarterly audit export. Gathers the runs of the
//! period from the history store (compliance history and inventory snapshots), the trend
//! across them, and the remediation actions of the audit log into one JSON file, with the
//! retention that protects the history where it is kept (S3 Object Lock, as read now).

use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_core::pack::AuditExport;
use infraqa_pipeline::Store;
use infraqa_pipeline::audit::AuditLog;

/// Builds the export (the pipeline's, with the CLI's error for a reversed period).
pub async fn export(
    history: &Store,
    log: &AuditLog,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<AuditExport, CliError> {
    if from > to {
        return Err(CliError::InvalidInput(anyhow!(
            "--from {from} is after --to {to}"
        )));
    }
    Ok(infraqa_pipeline::audit::export(history, log, from, to, chrono::Utc::now()).await?)
}
