//! `infraqa export` and the reporter's Security Hub import: a reported run's findings as ASFF
//! or OCSF, and imported into Security Hub with their lifecycle (what was last sent is kept in
//! the history store's `security-hub/`).

use crate::error::PipelineError;
use crate::report::put_json;
use crate::store::Store;
use infraqa_aws::AwsClients;
use infraqa_core::export::asff::{self, AsffFinding};
use infraqa_core::export::{self as core, Concluded, Failed, Outcome, Plan, Run, Scanned, Sent};
use infraqa_core::history::HistoryEntry;
use infraqa_core::names;
use std::collections::BTreeMap;

/// The run's history entry: export reads each finding's first-seen time, the rules in force
/// and what the run could not judge from it, so the run must have been reported first.
async fn run_entry(
    history: &Store,
    account_id: &str,
    taken: chrono::DateTime<chrono::Utc>,
) -> Result<HistoryEntry, PipelineError> {
    let name = names::entry_name(taken, account_id);
    let bytes = history.get(&name).await?.ok_or_else(|| {
        PipelineError::input(format!(
            "{} does not exist: report the run first (infraqa report or run); export reads each finding's first-seen time and the rules in force from its history entry",
            history.describe(&name)
        ))
    })?;
    infraqa_core::document::history_entry(&bytes).map_err(|e| {
        PipelineError::input_because(
            format!(
                "{} is not a usable infraqa history entry",
                history.describe(&name)
            ),
            e,
        )
    })
}

/// Plans the export of a reported run at `now`, given what was last `sent` to Security Hub for
/// its account ([`read_sent`]): reads the run's history entry from `history`, and decides what
/// is open, what closes and what stays untouched ([`infraqa_core::export::plan`]).
pub async fn plan(
    history: &Store,
    concluded: Concluded<'_>,
    scanned: &Scanned,
    sent: &Sent,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Plan, PipelineError> {
    let entry = run_entry(history, concluded.account_id, scanned.taken).await?;
    let run = Run {
        concluded,
        entry: &entry,
        scanned,
    };
    Ok(core::plan(run, sent, now))
}

/// What was last sent to Security Hub for `account` (nothing, before a first import).
pub async fn read_sent(history: &Store, account: &str) -> Result<Sent, PipelineError> {
    let store = history.child(names::SECURITY_HUB);
    let name = names::sent_name(account);
    let Some(bytes) = store.get(&name).await? else {
        return Ok(Sent::empty(account));
    };
    let sent: Sent = serde_json::from_slice(&bytes).map_err(|e| {
        PipelineError::input_because(
            format!(
                "{} is not what infraqa last sent to Security Hub",
                store.describe(&name)
            ),
            e,
        )
    })?;
    if sent.schema_version != core::SENT_SCHEMA_VERSION || sent.account_id != account {
        return Err(PipelineError::input(format!(
            "{} holds schema {} of account {}; this infraqa reads schema {} of account {account}",
            store.describe(&name),
            sent.schema_version,
            sent.account_id,
            core::SENT_SCHEMA_VERSION
        )));
    }
    Ok(sent)
}

/// The plan's records (open, then closed) as ASFF findings, global ones for `home`'s hub.
pub fn asff_findings(plan: &Plan, home: &str) -> Vec<AsffFinding> {
    plan.open
        .iter()
        .chain(&plan.closed)
        .map(|r| asff::finding(r, home))
        .collect()
}

/// The plan's records (open, then closed) as OCSF Detection Findings, one JSON line each.
pub fn ocsf_lines(plan: &Plan) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::new();
    for r in plan.open.iter().chain(&plan.closed) {
        serde_json::to_writer(&mut out, &core::ocsf::finding(r))
            .map_err(|e| PipelineError::storage("encoding an OCSF finding", e))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// What an import did, in numbers a person and a dashboard read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Open findings Security Hub accepted.
    pub active: usize,
    /// Closed findings it accepted (archived).
    pub archived: usize,
    /// Findings sent before that this run could not judge, left as they are.
    pub untouched: usize,
    /// Findings it refused after one retry, or that a failed call did not carry.
    pub failed: Vec<Failed>,
    /// `BatchImportFindings` calls.
    pub calls: usize,
    /// Where what Security Hub now holds was recorded.
    pub recorded_at: String,
}

/// Imports `plan` into Security Hub (each record into its region's hub; global ones into
/// `home`'s) and records what Security Hub holds now in the history store, for the next run's
/// lifecycle. A region whose calls fail is reported as failed (its records keep what Security
/// Hub held before) and the other regions go on; what was accepted is recorded either way.
pub async fn import(
    clients: &AwsClients,
    history: &Store,
    plan: &Plan,
    sent: &Sent,
    home: &str,
) -> Result<Imported, PipelineError> {
    let mut by_region: BTreeMap<String, Vec<AsffFinding>> = BTreeMap::new();
    for f in asff_findings(plan, home) {
        by_region.entry(f.region.clone()).or_default().push(f);
    }
    let mut outcome = Outcome::default();
    let mut calls = 0;
    for (region, findings) in &by_region {
        match infraqa_aws::securityhub::import(clients, region, findings).await {
            Ok(done) => {
                calls += done.calls;
                outcome.accepted.extend(done.outcome.accepted);
                outcome.failed.extend(done.outcome.failed);
            }
            Err(e) => {
                tracing::warn!(region = %region, "Security Hub import failed: {e}");
                outcome.failed.extend(findings.iter().map(|f| Failed {
                    id: f.id.clone(),
                    code: e.code().to_owned(),
                    message: e.to_string(),
                }));
            }
        }
    }
    let after = core::after_import(plan, sent, &outcome);
    let store = history.child(names::SECURITY_HUB);
    let recorded_at = put_json(&store, &names::sent_name(&sent.account_id), &after).await?;
    let accepted = |records: &[core::Record]| {
        records
            .iter()
            .filter(|r| outcome.accepted.contains(&r.id))
            .count()
    };
    Ok(Imported {
        active: accepted(&plan.open),
        archived: accepted(&plan.closed),
        untouched: plan.untouched.len(),
        failed: outcome.failed,
        calls,
        recorded_at,
    })
}
