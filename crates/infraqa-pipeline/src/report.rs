//! The report step, and the documents a run leaves behind: `inventory.json`, `findings.json`,
//! the four report files, and the history entry.

use crate::aws::Aws;
use crate::error::PipelineError;
use crate::store::Store;
use infraqa_core::check::CheckResult;
use infraqa_core::document::DocumentError;
use infraqa_core::history::HistoryEntry;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, history_entry};
use infraqa_core::{Inventory, Policy};

/// The inventory's file name.
pub const INVENTORY: &str = "inventory.json";
/// The findings' file name.
pub const FINDINGS: &str = "findings.json";

/// A document as JSON bytes: pretty, with a final newline (the same bytes in every shell).
pub fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, PipelineError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| PipelineError::storage(format!("encoding {what}"), e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `value` as `name` in `store`; returns where it went.
pub async fn put_json<T: serde::Serialize>(
    store: &Store,
    name: &str,
    value: &T,
) -> Result<String, PipelineError> {
    store
        .put(name, to_json(name, value)?, "application/json")
        .await
}

/// Reads the document `name` of `store` with `parse`; a missing one or one of another kind or
/// version is bad input naming it.
pub async fn read_document<T>(
    store: &Store,
    name: &str,
    what: &str,
    parse: fn(&[u8]) -> Result<T, DocumentError>,
) -> Result<T, PipelineError> {
    let bytes = store.get(name).await?.ok_or_else(|| {
        PipelineError::input(format!(
            "{} does not exist (the {what})",
            store.describe(name)
        ))
    })?;
    parse(&bytes).map_err(|e| {
        PipelineError::input_because(
            format!("{} is not a usable infraqa {what}", store.describe(name)),
            e,
        )
    })
}

/// Where a report goes.
#[derive(Debug, Clone)]
pub struct ReportTarget<'a> {
    /// The report files' store.
    pub out: &'a Store,
    /// The history store.
    pub history: &'a Store,
    /// How many past runs the trend covers.
    pub trend_runs: usize,
}

/// Every history entry in `history` (oldest first) and the entries that could not be used.
pub async fn load_history(
    history: &Store,
) -> Result<(Vec<HistoryEntry>, Vec<String>), PipelineError> {
    Ok(infraqa_report::store::decode_entries(
        history.list(".json").await?,
    ))
}

/// The name of the history entry a report of `inventory` leaves: one per account and
/// inventory, so a report made again from the same inventory (or a duplicate delivery of the
/// event that made it) replaces its own entry, never adds one.
pub fn entry_name(inventory: &Inventory) -> String {
    format!(
        "{}-{}.json",
        inventory.generated_at.format("%Y%m%dT%H%M%S%.3fZ"),
        inventory.account_id
    )
}

/// Builds the report (with actual spend from Cost Explorer when the policy asks), writes every
/// format into `target.out`, then appends the run to the history. `now` is the report's time.
pub async fn produce(
    inventory: &Inventory,
    check: &CheckResult,
    policy: &Policy,
    target: ReportTarget<'_>,
    aws: &Aws,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Report, Vec<String>), PipelineError> {
    check.belongs_to(inventory, policy).map_err(|e| {
        PipelineError::input_because("the findings do not belong to this inventory and policy", e)
    })?;
    let (past, problems) = load_history(target.history).await?;
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
        now,
    });
    report.notes.extend(problems);
    if policy.cost.cost_explorer {
        let clients = aws.get().await;
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
    let mut files = Vec::new();
    for name in infraqa_report::FILES {
        let bytes = infraqa_report::render(&report, name)
            .map_err(|e| PipelineError::storage(format!("rendering {name}"), e))?;
        files.push((name, bytes, content_type(name)));
    }
    let written = target.out.put_all(files).await?;
    let at = put_json(
        target.history,
        &entry_name(inventory),
        &history_entry(&report),
    )
    .await?;
    tracing::info!("history entry written to {at}");
    Ok((report, written))
}

/// The content type of a report file.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        _ => "application/json",
    }
}
