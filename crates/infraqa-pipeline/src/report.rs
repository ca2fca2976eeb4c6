//! The report step, and the documents a run leaves behind: `inventory.json`, `findings.json`,
//! the four report files, and the history entry.

use crate::aws::Aws;
use crate::error::PipelineError;
use crate::store::Store;
use infraqa_core::check::CheckResult;
use infraqa_core::document::DocumentError;
use infraqa_core::history::HistoryEntry;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, digest, history_entry};
use infraqa_core::trend::PastRuns;
use infraqa_core::{Inventory, Policy};
use infraqa_report::store::decode_entry;

/// The inventory's file name.
pub const INVENTORY: &str = "inventory.json";
/// The findings' file name.
pub const FINDINGS: &str = "findings.json";

/// A document as JSON bytes: pretty, with a final newline (the same bytes in every shell).
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

/// The account's past runs that a report of `inventory` made at `now` compares with, over the
/// last `last_n` runs, and the entries that could not be used. Only those entries are read, and
/// one at a time: the daily report on day 400 reads what it read on day 2, and holds about one
/// run's findings however long its trend is ([`PastRuns`]).
///
/// Entries are named by when their inventory was taken ([`entry_name`]): the inventory's own
/// entry, which this report replaces, is left out, and of the account's others the last
/// `last_n` are read, oldest first. A name of another form is read whatever its age and placed
/// by the times it holds, so nothing of unknown age is dropped.
pub async fn load_past_runs(
    history: &Store,
    inventory: &Inventory,
    now: chrono::DateTime<chrono::Utc>,
    last_n: usize,
) -> Result<(PastRuns, Vec<String>), PipelineError> {
    let mut past = PastRuns::for_inventory(inventory, now);
    let mut problems = Vec::new();
    let names = recent_entry_names(
        history.names(".json").await?,
        &inventory.account_id,
        &entry_name(inventory),
        last_n,
    );
    // Each run by when its inventory was taken: a named one still to read, another read now.
    let mut runs: Vec<(chrono::NaiveDateTime, Result<String, HistoryEntry>)> = Vec::new();
    let (named, odd): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| entry_name_parts(n).is_some());
    for (name, bytes) in history.read_named(odd).await? {
        match decode_entry(&name, &bytes) {
            Ok(e) if past.admits(&e) => {
                let taken = e.inventory_generated_at.unwrap_or(e.generated_at);
                runs.push((taken.naive_utc(), Err(e)));
            }
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
    }
    runs.extend(
        named
            .into_iter()
            .filter_map(|n| Some((entry_name_parts(&n)?.0, Ok(n)))),
    );
    runs.sort_by_key(|(taken, _)| *taken);
    let skip = runs.len().saturating_sub(last_n);
    // Each entry is decoded on a second core while the one before is folded in: at a million
    // resources each takes a fraction of a second, and at most two are in memory.
    let mut decoded: Option<HistoryEntry> = None;
    for (_, run) in runs.into_iter().skip(skip) {
        let before = decoded.take();
        let next = match run {
            Err(entry) => {
                fold_in(&mut past, before);
                Ok(entry)
            }
            Ok(name) => match history.get(&name).await? {
                None => {
                    decoded = before;
                    problems.push(format!("history entry {name} skipped: it was deleted"));
                    continue;
                }
                Some(bytes) => {
                    infraqa_core::side_by_side(
                        || decode_entry(&name, &bytes),
                        || fold_in(&mut past, before),
                    )
                    .0
                }
            },
        };
        match next {
            Ok(entry) => decoded = Some(entry),
            Err(problem) => problems.push(problem),
        }
    }
    fold_in(&mut past, decoded);
    Ok((past, problems))
}

/// Adds `entry`, if any, to `past`, and frees it.
fn fold_in(past: &mut PastRuns, entry: Option<HistoryEntry>) {
    if let Some(entry) = entry {
        past.push(&entry);
    }
}

/// The time and account a history entry's name carries (`<time>-<account id>.json`), or
/// `None` for a name of another form.
fn entry_name_parts(name: &str) -> Option<(chrono::NaiveDateTime, &str)> {
    let (time, id) = name.strip_suffix(".json")?.rsplit_once('-')?;
    let time = chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%S%.3fZ").ok()?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some((time, id))
}

/// Of history entry `names`, `account`'s last `last_n` other than `own` (the entry of the
/// inventory being reported), and every name that is not `<time>-<account id>.json`.
fn recent_entry_names(
    mut names: Vec<String>,
    account: &str,
    own: &str,
    last_n: usize,
) -> Vec<String> {
    names.sort();
    let mine: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.as_str() != own && entry_name_parts(n).is_some_and(|(_, id)| id == account)
        })
        .map(|(i, _)| i)
        .collect();
    let keep_from = mine.len().saturating_sub(last_n);
    let kept: std::collections::HashSet<usize> = mine[keep_from..].iter().copied().collect();
    names
        .into_iter()
        .enumerate()
        .filter(|(i, n)| kept.contains(i) || entry_name_parts(n).is_none())
        .map(|(_, n)| n)
        .collect()
}

/// Of history entry `names`, those named within a day of the period `from..=to` (a name
/// carries the time its inventory was taken, which places a run in a period; the entries'
/// own times decide), and every name that is not `<time>-<account id>.json`.
pub fn period_entry_names(
    names: Vec<String>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Vec<String> {
    let (first, last) = (from.pred_opt().unwrap_or(from), to.succ_opt().unwrap_or(to));
    names
        .into_iter()
        .filter(|n| entry_name_parts(n).is_none_or(|(t, _)| (first..=last).contains(&t.date())))
        .collect()
}

/// Whether `history` has an entry named within a day of the period `from..=to`: one listing,
/// no entry read.
pub async fn has_period_entries(
    history: &Store,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<bool, PipelineError> {
    Ok(period_entry_names(history.names(".json").await?, from, to)
        .iter()
        .any(|n| entry_name_parts(n).is_some()))
}

/// The history entries of the period `from..=to` (see [`period_entry_names`]) and the entries
/// that could not be used: an audit reads its period, not the whole history.
pub async fn load_period_history(
    history: &Store,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<(Vec<HistoryEntry>, Vec<String>), PipelineError> {
    let names = period_entry_names(history.names(".json").await?, from, to);
    Ok(infraqa_report::store::decode_entries(
        history.read_named(names).await?,
    ))
}

/// The name of the history entry a report of `inventory` leaves: one per account and
/// inventory, so a report made again from the same inventory (or a duplicate delivery of the
/// event that made it) replaces its own entry, never adds one.
pub fn entry_name(inventory: &Inventory) -> String {
    entry_name_at(inventory.generated_at, &inventory.account_id)
}

/// The id of a run started at `at`, to the millisecond (`20261202T013000.000Z`): the
/// deployed suite's run folders and the organization's history entries are named by it.
pub fn run_id(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format(RUN_ID_TIME).to_string()
}

/// The time format of run ids.
const RUN_ID_TIME: &str = "%Y%m%dT%H%M%S%.3fZ";

/// The time a run id names (see [`run_id`]), or `None` when it names none.
pub fn run_time(run_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(run_id, RUN_ID_TIME)
        .ok()
        .map(|t| t.and_utc())
}

/// The name of the history entry of the inventory `account` took at `taken`.
pub fn entry_name_at(taken: chrono::DateTime<chrono::Utc>, account: &str) -> String {
    format!("{}-{account}.json", run_id(taken))
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
        load_past_runs(target.history, &inventory, now, target.trend_runs).await?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    // The inventory kept for backtests is compressed on a second core while the report's
    // share of the same borrowed inventory is taken (each takes seconds at a million
    // resources).
    let (compressed, digested) = infraqa_core::side_by_side(
        || crate::backtest::compress(&inventory),
        || digest(&inventory, policy, &mut past, PriceTable::embedded(), now),
    );
    let entry = entry_name(&inventory);
    let kept_as = crate::backtest::inventory_name(&inventory);
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
    let kept = crate::backtest::keep_inventory(target.history, &kept_as, compressed?).await?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_only_its_accounts_last_runs_and_every_name_of_unknown_form() {
        let a = "111111111111";
        let b = "222222222222";
        let mut names: Vec<String> = (1..=30)
            .map(|day| format!("202611{day:02}T060000.000Z-{a}.json"))
            .collect();
        names.push(format!("20261130T070000.000Z-{b}.json"));
        names.push("legacy-entry.json".to_owned());
        let own = "20261130T060000.000Z-111111111111.json";
        let kept = recent_entry_names(names.clone(), a, own, 3);
        assert_eq!(
            kept,
            [
                "20261127T060000.000Z-111111111111.json",
                "20261128T060000.000Z-111111111111.json",
                "20261129T060000.000Z-111111111111.json",
                "legacy-entry.json",
            ],
            "the last three but the inventory's own"
        );
        assert_eq!(recent_entry_names(names.clone(), a, "", 3).len(), 4);
        // Fewer runs than the window: all of them.
        assert_eq!(recent_entry_names(names.clone(), b, "", 3).len(), 2);
        assert!(recent_entry_names(Vec::new(), a, own, 3).is_empty());

        // An audit of 10-12 November reads the entries named 9-13 November, and the rest.
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let period = period_entry_names(names, day(10), day(12));
        assert_eq!(
            period.first().unwrap(),
            "20261109T060000.000Z-111111111111.json"
        );
        assert_eq!(period.len(), 6, "{period:?}");
        assert!(period.contains(&"legacy-entry.json".to_owned()));
    }
}
