//! The history store: each run's entry (named by when its inventory was taken,
//! `infraqa_core::names::entry_name`) and its inventory kept beside it for `infraqa backtest`;
//! the entries a report's trend compares with, and those of an audit's period, each read
//! without reading the rest.

use crate::error::PipelineError;
use crate::store::Store;
use infraqa_core::Inventory;
use infraqa_core::history::HistoryEntry;
use infraqa_core::names::{entry_name_of, entry_name_parts};
use infraqa_core::trend::PastRuns;
use infraqa_report::store::decode_entry;

/// The account's past runs that a report of `inventory` made at `now` compares with, over the
/// last `last_n` runs, and the entries that could not be used. Only those entries are read, and
/// one at a time: the daily report on day 400 reads what it read on day 2, and holds about one
/// run's findings however long its trend is ([`PastRuns`]).
///
/// Entries are named by when their inventory was taken ([`infraqa_core::names::entry_name`]): the inventory's own
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
        &entry_name_of(inventory),
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

/// The inventory as compact JSON, gzip-compressed at the fast level.
pub fn compress(inventory: &Inventory) -> Result<Vec<u8>, PipelineError> {
    let encoding = |e| PipelineError::storage("compressing the inventory", e);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // flate2 zero-fills its whole output buffer on every write it is given: serde_json's
    // many small writes straight into the encoder spent most of a million-resource report
    // in memset. Buffered, the encoder sees a few large writes.
    let mut json = std::io::BufWriter::with_capacity(1 << 20, gz);
    serde_json::to_writer(&mut json, inventory)
        .map_err(std::io::Error::from)
        .map_err(encoding)?;
    let gz = json.into_inner().map_err(|e| encoding(e.into_error()))?;
    gz.finish().map_err(encoding)
}

/// Keeps a run's inventory in the history store as `name` (its `infraqa_core::names::kept_inventory_name`), as
/// `compressed` (what [`compress`] made of it); returns where it went.
pub async fn keep_inventory(
    history: &Store,
    name: &str,
    compressed: Vec<u8>,
) -> Result<String, PipelineError> {
    history.put(name, compressed, "application/gzip").await
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
