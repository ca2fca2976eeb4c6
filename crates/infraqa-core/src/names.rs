//! Every name infraqa stores something under, in one place: the folders of a store, the files
//! of a run, run ids, history entries and the inventories kept beside them, the audit log's
//! files and the audit pack's. Every name that carries a time carries it in one format
//! ([`TIME_FORMAT`]), so names sort by time.

use crate::Inventory;
use chrono::{DateTime, Utc};

/// The time format of every name that carries a time (`20261202T013000.000Z`): sortable.
pub const TIME_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// The deployed suite's runs, each in `runs/<run-id>/`.
pub const RUNS: &str = "runs";
/// The history store's folder (beside the reports, or in the suite's bucket).
pub const HISTORY: &str = "history";
/// The audit log's folder: one file per write run or validated event, never replaced.
pub const AUDIT_LOG: &str = "audit-log";
/// The folder of the audit packs the deployed reporter writes.
pub const AUDITS: &str = "audits";

/// A run's inventory.
pub const INVENTORY: &str = "inventory.json";
/// A run's findings (the check of its inventory).
pub const FINDINGS: &str = "findings.json";
/// A run's report, as JSON (beside `report.html`, `report.md` and `findings.csv`).
pub const REPORT: &str = "report.json";
/// A run's report page.
pub const REPORT_PAGE: &str = "report.html";
/// A run's tag plan.
pub const TAG_PLAN: &str = "tag-plan.json";
/// The marker of a run's alert: it was sent, and is never sent again.
pub const ALERT: &str = "alert.json";
/// The plan of a run over several accounts: every shard.
pub const PLAN: &str = "shards.json";
/// What a shard whose account could not be read leaves instead of an inventory.
pub const UNREACHED: &str = "unreached.json";
/// The newest run's report files, at the top of the suite's bucket.
pub const LATEST: &str = "latest.json";
/// The newest organization run's summary files, at the top of the suite's bucket.
pub const LATEST_ORGANIZATION: &str = "latest-organization.json";

/// The history store's folder of what was last sent to Security Hub, one file per account
/// ([`sent_name`]); a folder of its own, so the history's listing of entries never meets it.
pub const SECURITY_HUB: &str = "security-hub";

/// What was last sent to Security Hub for `account`, in [`SECURITY_HUB`].
pub fn sent_name(account: &str) -> String {
    format!("{account}.json")
}

/// The id of a run started at `at`, to the millisecond (`20261202T013000.000Z`): the
/// deployed suite's run folders and the organization's history entries are named by it.
pub fn run_id(at: DateTime<Utc>) -> String {
    at.format(TIME_FORMAT).to_string()
}

/// The time a run id names (see [`run_id`]), or `None` when it names none.
pub fn run_time(run_id: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(run_id, TIME_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// The history entry of the inventory `account` took at `taken`: one per account and
/// inventory, so a report made again from the same inventory (or a duplicate delivery of the
/// event that made it) replaces its own entry, never adds one.
pub fn entry_name(taken: DateTime<Utc>, account: &str) -> String {
    format!("{}-{account}.json", run_id(taken))
}

/// The time and account a history entry's name carries (`<time>-<account id>.json`), or
/// `None` for a name of another form.
pub fn entry_name_parts(name: &str) -> Option<(chrono::NaiveDateTime, &str)> {
    let (time, id) = name.strip_suffix(".json")?.rsplit_once('-')?;
    let time = chrono::NaiveDateTime::parse_from_str(time, TIME_FORMAT).ok()?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some((time, id))
}

/// The history entry of `inventory`'s run ([`entry_name`]).
pub fn entry_name_of(inventory: &Inventory) -> String {
    entry_name(inventory.generated_at, &inventory.account_id)
}

/// How the kept inventory of a run is named: its history entry's name, with this ending
/// instead of `.json`.
pub const KEPT_INVENTORY_SUFFIX: &str = ".inventory.json.gz";

/// The kept inventory (for `infraqa backtest`) of the inventory `account` took at `taken`,
/// beside its history entry.
pub fn kept_inventory_name(taken: DateTime<Utc>, account: &str) -> String {
    format!("{}-{account}{KEPT_INVENTORY_SUFFIX}", run_id(taken))
}

/// The kept inventory of `inventory`'s run ([`kept_inventory_name`]).
pub fn kept_inventory_of(inventory: &Inventory) -> String {
    kept_inventory_name(inventory.generated_at, &inventory.account_id)
}

/// The stem of the audit pack of `from..=to`: the export is `<stem>.json`, the pages
/// `<stem>.html` and `<stem>.md`.
pub fn pack_stem(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("audit-{from}-{to}")
}

/// The audit pack's export of `from..=to`, written last (a pack with its export is whole).
pub fn pack_export(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("{}.json", pack_stem(from, to))
}

/// The audit pack's findings of `from..=to`, as CSV.
pub fn pack_findings(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("audit-findings-{from}-{to}.csv")
}

/// The most days an action is logged after the time its audit log file is named by: a tag
/// run's file is named by when its tags were written, an event's by when the event happened,
/// and the validator's queue keeps an event at most 14 days (the longest SQS retention), with
/// the grace period and CloudTrail's delivery within the day added. A reader of a period so
/// needs only the files named from this many days before it to its end.
pub const AUDIT_LOG_LAG_DAYS: i64 = 15;

/// The audit log file of one event validated at `now`: one per event, so a duplicate delivery
/// finds it already written. It is named by the event's time, or, for an event more than
/// [`AUDIT_LOG_LAG_DAYS`] old (only a local `validate` of an old event file), by `now`: its
/// file is then found by the period it was validated in.
pub fn audit_file_for_event(
    event_id: &str,
    event_time: DateTime<Utc>,
    now: DateTime<Utc>,
) -> String {
    let safe = safe_event_id(event_id);
    let oldest = now - chrono::Duration::days(AUDIT_LOG_LAG_DAYS);
    let named = event_time.clamp(oldest, now);
    format!("event-{}-{safe}.jsonl", named.format(TIME_FORMAT))
}

/// Whether [`audit_file_for_event`] names the file of an event of `event_time` validated at
/// `now` by the event's own time, so that every validation of it names the same file (an event
/// of the last [`AUDIT_LOG_LAG_DAYS`]); otherwise the name depends on when it was validated.
pub fn audit_file_named_by_event(event_time: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    event_time >= now - chrono::Duration::days(AUDIT_LOG_LAG_DAYS) && event_time <= now
}

/// An event id as it appears in file names: letters, digits and `-` kept, the rest `_`.
fn safe_event_id(event_id: &str) -> String {
    event_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `name` is the audit log file of the event `event_id`, whenever it was validated:
/// `event-<time>-<id>.jsonl` with any time, or `event-<id>.jsonl` as written before files
/// carried a time. A second delivery is recognised by such a file already in the log.
pub fn audit_file_is_event(name: &str, event_id: &str) -> bool {
    let safe = safe_event_id(event_id);
    let Some(rest) = name
        .strip_prefix("event-")
        .and_then(|r| r.strip_suffix(".jsonl"))
    else {
        return false;
    };
    if rest == safe {
        return true;
    }
    let timed = rest
        .get(..20)
        .is_some_and(|t| chrono::NaiveDateTime::parse_from_str(t, TIME_FORMAT).is_ok());
    timed && rest.get(20..) == Some(&format!("-{safe}"))
}

/// The audit log file of one tagging run: sortable by time, unique by content.
pub fn audit_file_for_run(at: DateTime<Utc>, text: &str) -> String {
    timed_audit_file("tag", at, text)
}

/// The audit log file of one `infraqa fix` apply or undo: sortable by time, unique by content.
pub fn audit_file_for_fix(at: DateTime<Utc>, text: &str) -> String {
    timed_audit_file("fix", at, text)
}

/// Whether `name` is an audit log file of `infraqa fix` ([`audit_file_for_fix`]).
pub fn audit_file_is_fix(name: &str) -> bool {
    name.starts_with("fix-") && name.ends_with(".jsonl")
}

/// `<kind>-<time>-<8 hex of the content's digest>.jsonl`.
fn timed_audit_file(kind: &str, at: DateTime<Utc>, text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{}-{short}.jsonl", at.format(TIME_FORMAT))
}

/// Whether the audit log file `name` may hold actions taken in `from..=to`: a file named by
/// a time (see [`AUDIT_LOG_LAG_DAYS`]) only if that time is within the period or the lag days
/// before it; a file of another name (the event files written before they carried a time)
/// always.
pub fn audit_file_may_hold(name: &str, from: chrono::NaiveDate, to: chrono::NaiveDate) -> bool {
    let time = name
        .strip_prefix("event-")
        .or_else(|| name.strip_prefix("tag-"))
        .or_else(|| name.strip_prefix("fix-"))
        .and_then(|rest| rest.get(..20))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, TIME_FORMAT).ok());
    match time {
        None => true,
        Some(t) => {
            let day = t.date();
            day <= to && day >= from - chrono::Days::new(AUDIT_LOG_LAG_DAYS.unsigned_abs())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::history::fixtures::at;

    #[test]
    fn an_audit_log_file_is_read_for_the_periods_its_actions_can_fall_in() {
        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let (from, to) = (d(10, 1), d(12, 31));
        // An event is named by its time; its redelivery gets the same name.
        // The file of an event is recognised whenever (and however) it was named.
        for validated in [at(3), at(9), at(3) + chrono::Duration::days(400)] {
            let name = audit_file_for_event("ev/1", at(3), validated);
            assert!(audit_file_is_event(&name, "ev/1"), "{name}");
            assert!(!audit_file_is_event(&name, "ev/10"), "{name}");
            assert!(!audit_file_is_event(&name, "v/1"), "{name}");
        }
        assert!(audit_file_is_event("event-ev_1.jsonl", "ev/1"));
        let fix = audit_file_for_fix(at(3), "x");
        assert!(
            audit_file_is_fix(&fix)
                && audit_file_may_hold(&fix, at(3).date_naive(), at(3).date_naive())
        );
        assert!(!audit_file_is_fix(
            "tag-20261103T060000.000Z-0a1b2c3d.jsonl"
        ));
        assert!(!audit_file_is_event(
            "tag-20261103T060000.000Z-ev_1.jsonl",
            "ev/1"
        ));
        assert!(!audit_file_is_event(
            "event-notatimeatallxxxx-ev_1.jsonl",
            "ev/1"
        ));
        assert!(audit_file_named_by_event(at(3), at(5)));
        assert!(!audit_file_named_by_event(
            at(3) - chrono::Duration::days(200),
            at(3)
        ));
        assert!(
            !audit_file_named_by_event(at(5), at(3)),
            "an event after its validation"
        );
        let event = audit_file_for_event("ev/1", at(3), at(5));
        assert_eq!(event, "event-20261103T060000.000Z-ev_1.jsonl");
        assert_eq!(event, audit_file_for_event("ev/1", at(3), at(9)));
        assert!(audit_file_may_hold(&event, from, to));
        assert!(!audit_file_may_hold(&event, d(7, 1), d(9, 30)));
        assert!(!audit_file_may_hold(&event, d(11, 19), d(11, 30)));
        // A file named up to the lag days before the period may hold an action in it.
        assert!(audit_file_may_hold(&event, d(11, 18), d(11, 30)));
        // An event validated long after it happened is named by the validation.
        let late = audit_file_for_event("ev-2", at(3) - chrono::Duration::days(200), at(3));
        assert_eq!(late, "event-20261019T060000.000Z-ev-2.jsonl");
        assert!(audit_file_may_hold(&late, d(11, 1), d(11, 30)));
        // A tag run's file by its run; event files named before times were kept: always read.
        let run = audit_file_for_run(at(3), "text");
        assert!(audit_file_may_hold(&run, from, to));
        assert!(!audit_file_may_hold(&run, d(12, 1), d(12, 31)));
        assert!(audit_file_may_hold(
            "event-4b3c2a10-9f8e-4d7c-8b6a-5e4d3c2b1a00.jsonl",
            d(1, 1),
            d(1, 31)
        ));
    }

    #[test]
    fn names_that_carry_a_time_carry_the_same_one() {
        let taken = at(3);
        let id = run_id(taken);
        assert_eq!(run_time(&id), Some(taken));
        let entry = entry_name(taken, "123456789012");
        assert_eq!(
            entry_name_parts(&entry),
            Some((taken.naive_utc(), "123456789012"))
        );
        assert_eq!(
            kept_inventory_name(taken, "123456789012"),
            format!("{}{KEPT_INVENTORY_SUFFIX}", entry.trim_end_matches(".json"))
        );
        assert_eq!(entry_name_parts("notes.json"), None);
        assert_eq!(entry_name_parts(&format!("{id}-12345.json")), None);
    }
}
