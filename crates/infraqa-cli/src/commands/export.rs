//! `infraqa export`: a reported run's findings as ASFF or OCSF files, and imported into AWS
//! Security Hub with their lifecycle.

use crate::args::{ExportArgs, ExportFormat};
use crate::exit::CliError;
use infraqa_core::export::{Concluded, Scanned};
use infraqa_pipeline::export::{self, Imported};
use infraqa_pipeline::{Aws, Location, Store};
use std::path::{Path, PathBuf};

/// Runs `infraqa export`.
pub async fn run(args: &ExportArgs, aws: &Aws) -> Result<(), CliError> {
    let dir = args
        .findings
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let history = Store::new(
        args.history
            .clone()
            .unwrap_or_else(|| Location::Local(dir.join(infraqa_core::names::HISTORY))),
        aws,
    );
    let inventory = super::check::load_inventory(&args.inventory).await?;
    let account = inventory.account_id.clone();
    let sent = export::read_sent(&history, &account).await?;
    let scanned = Scanned::of(&inventory, &sent);
    drop(inventory);
    let check = super::report::load_findings(&args.findings).await?;
    check.made_from(&account, scanned.taken)?;
    let now = chrono::Utc::now();
    let plan = export::plan(&history, Concluded::of_check(&check), &scanned, &sent, now).await?;
    eprintln!(
        "{} open, {} to close (judged again and not found), {} untouched (not judged by this run)",
        plan.open.len(),
        plan.closed.len(),
        plan.untouched.len()
    );
    let clients = aws.get().await;
    // Where global findings go (ASFF only): the home region's hub.
    let home = || clients.require_home_region().map(str::to_owned);
    if let Some(format) = args.format {
        let (name, bytes) = match format {
            ExportFormat::Asff => (
                "findings.asff.json",
                infraqa_pipeline::report::to_json(
                    "ASFF findings",
                    &export::asff_findings(&plan, &home()?),
                )?,
            ),
            ExportFormat::Ocsf => ("findings.ocsf.jsonl", export::ocsf_lines(&plan)?),
        };
        let path: PathBuf = args.out.clone().unwrap_or_else(|| dir.join(name));
        infraqa_report::store::write_atomic(&path, &bytes)?;
        println!("{}", path.display());
    }
    if args.security_hub {
        // Security Hub takes an account's findings from that account alone.
        let acting = clients.account_id().await?;
        if acting != account {
            return Err(CliError::InvalidInput(anyhow::anyhow!(
                "the findings are of account {account} but the credentials act in account {acting}: each account imports its own findings, so export with credentials of {account} (e.g. --profile, or its member role)"
            )));
        }
        let done = export::import(clients, &history, &plan, &sent, &home()?).await?;
        eprintln!("{}", summary(&done));
        println!("{}", done.recorded_at);
        if !done.failed.is_empty() {
            let first = &done.failed[0];
            return Err(CliError::AwsOrStorage(anyhow::anyhow!(
                "Security Hub did not take {} finding(s); the first, {}: {} ({}). What it took is recorded; the next export sends the rest again",
                done.failed.len(),
                first.id,
                first.message,
                first.code
            )));
        }
    }
    Ok(())
}

/// One line a person reads after an import.
pub fn summary(d: &Imported) -> String {
    format!(
        "Security Hub: {} active, {} archived, {} untouched, {} refused, in {} BatchImportFindings call(s)",
        d.active,
        d.archived,
        d.untouched,
        d.failed.len(),
        d.calls
    )
}
