//! The report step, and the documents a run leaves behind (`inventory.json`, `findings.json`,
//! the four report files, the history entry), written and read back whole.

use crate::aws::Aws;
use crate::error::PipelineError;
use crate::store::Store;
use infraqa_core::check::CheckResult;
use infraqa_core::document::{self, DocumentError};
use infraqa_core::names;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, digest, history_entry};
use infraqa_core::{Inventory, Policy};

/// A document as JSON bytes: compact, with a final newline (the same bytes in every shell).
pub fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, PipelineError> {
    let mut bytes = Vec::new();
    infraqa_report::write_json(value, &mut bytes)
        .map_err(|e| PipelineError::storage(format!("encoding {what}"), e))?;
    Ok(bytes)
}

/// Writes `value` as `name` in `store` (as [`to_json`] encodes it, streamed into the file);
/// returns where it went.
pub async fn put_json<T: serde::Serialize>(
    store: &Store,
    name: &str,
    value: &T,
) -> Result<String, PipelineError> {
    store
        .put_with(name, "application/json", |w| {
            infraqa_report::write_json(value, w)
        })
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

/// The `inventory.json` of a run (or of one shard of a run) in `store`.
pub async fn read_inventory(store: &Store) -> Result<Inventory, PipelineError> {
    read_document(store, names::INVENTORY, "inventory", document::inventory).await
}

/// The `findings.json` of a run in `store`.
pub async fn read_findings(store: &Store) -> Result<CheckResult, PipelineError> {
    read_document(store, names::FINDINGS, "findings file", document::findings).await
}

/// The `report.json` of a run in `store`.
pub async fn read_report(store: &Store) -> Result<Report, PipelineError> {
    read_document(store, names::REPORT, "report", document::report).await
}

/// What checking a stored inventory wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Where `findings.json` went.
    pub at: String,
    /// Its findings.
    pub findings: usize,
    /// The scan errors it carries.
    pub errors: usize,
}

/// Checks the inventory in `store` as of `now` and writes its `findings.json` beside it: the
/// one "check a run" of the checker function and of a sharded run's shards.
pub async fn check_stored(
    store: &Store,
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Checked, PipelineError> {
    let inventory = read_inventory(store).await?;
    let result = infraqa_core::check::check(&inventory, policy, now);
    let _freeing = infraqa_core::free_aside(inventory);
    let at = put_json(store, names::FINDINGS, &result).await?;
    Ok(Checked {
        at,
        findings: result.findings.len(),
        errors: result.errors.len(),
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

/// Builds the report (with actual spend from Cost Explorer when the policy asks), writes every
/// format into `target.out`, then appends the run to the history: its entry, and its
/// inventory compressed (for `infraqa backtest`). `now` is the report's time. The inventory is
/// taken, not borrowed, and `findings` (the check's result over it) is awaited only once the
/// inventory has been digested and freed: at a million resources each is a gigabyte in
/// memory, and they are never in memory together.
pub async fn produce(
    inventory: Inventory,
    findings: impl Future<Output = Result<CheckResult, PipelineError>>,
    policy: &Policy,
    target: ReportTarget<'_>,
    aws: &Aws,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Report, Vec<String>), PipelineError> {
    let (mut past, problems) =
        crate::history::load_past_runs(target.history, &inventory, now, target.trend_runs).await?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    // The inventory kept for backtests is compressed on a second core while the report's
    // share of the same borrowed inventory is taken (each takes seconds at a million
    // resources).
    let (compressed, digested) = infraqa_core::side_by_side(
        || crate::history::compress(&inventory),
        || digest(&inventory, policy, &mut past, PriceTable::embedded(), now),
    );
    let entry = infraqa_core::names::entry_name_of(&inventory);
    let kept_as = infraqa_core::names::kept_inventory_of(&inventory);
    // Nothing below reads the inventory: it is freed before the findings are read, so that the
    // two are never in memory together.
    inventory.free();
    let check = findings.await?;
    digested.matches(&check, policy).map_err(|e| {
        PipelineError::input_because("the findings do not belong to this inventory and policy", e)
    })?;
    let mut report = build(ReportInput {
        inventory: digested,
        check,
        past,
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
    // Each format streamed into its file as it is rendered: at a million resources
    // report.json alone is hundreds of megabytes.
    let files = infraqa_report::FILES.map(|name| (name, content_type(name)));
    let mut set = target.out.file_set();
    set.add_all(&files, |name, w| {
        infraqa_report::render_to(&report, name, w).map_err(std::io::Error::other)
    })
    .await?;
    let written = set.finish()?;
    let at = put_json(target.history, &entry, &history_entry(&report)).await?;
    tracing::info!("history entry written to {at}");
    // Kept so that a new or changed rule can be backtested over past runs.
    let kept = crate::history::keep_inventory(target.history, &kept_as, compressed?).await?;
    tracing::info!("inventory kept at {kept}");
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
