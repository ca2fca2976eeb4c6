//! History and trends: what each run leaves in the history store, and the comparison of the
//! current run with the previous one and the last N.

use crate::finding::{RuleId, Severity};
use crate::inventory::{Gaps, Inventory};
use crate::round2;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of the history entry layout.
pub const HISTORY_SCHEMA_VERSION: u32 = 2;

/// A finding's identity across runs: (rule, resource ARN). Account-level findings use the
/// account ARN with the region appended after `#`, so each region stays distinct.
pub type FindingKey = (RuleId, String);

/// What the inventory held, by type, region and age.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySnapshot {
    /// Resources inventoried.
    pub total_resources: usize,
    /// Count by `service:type`.
    pub by_type: BTreeMap<String, usize>,
    /// Count by region.
    pub by_region: BTreeMap<String, usize>,
    /// Count by age band when the inventory was taken (see [`age_band`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_age: BTreeMap<String, usize>,
}

/// The age bands, youngest first, as [`age_band`] names them.
pub const AGE_BANDS: [&str; 5] = [
    "0-30 days",
    "30-90 days",
    "90-365 days",
    "over 1 year",
    "unknown",
];

/// The age band of a resource created at `created` as of `at`: `0-30 days`, `30-90 days`,
/// `90-365 days`, `over 1 year`, or `unknown` when the API gives no creation time.
pub fn age_band(created: Option<DateTime<Utc>>, at: DateTime<Utc>) -> &'static str {
    match created.map(|c| (at - c).num_days()) {
        None => "unknown",
        Some(d) if d < 30 => "0-30 days",
        Some(d) if d < 90 => "30-90 days",
        Some(d) if d < 365 => "90-365 days",
        Some(_) => "over 1 year",
    }
}

/// One run's summary in the history store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Layout version ([`HISTORY_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the run's report was generated.
    pub generated_at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// When the inventory it judged was taken: reporting the same inventory again replaces
    /// this entry instead of adding a run.
    #[serde(default)]
    pub inventory_generated_at: Option<DateTime<Utc>>,
    /// Whether the run's scan was partial.
    pub partial: bool,
    /// The compliance score (0-100).
    pub compliance_score: f64,
    /// In-scope resources.
    pub in_scope_resources: usize,
    /// Compliant in-scope resources.
    pub compliant_resources: usize,
    /// In-scope resources no finding names that some rule could not judge.
    #[serde(default)]
    pub not_evaluated_resources: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per rule.
    pub by_rule: BTreeMap<RuleId, usize>,
    /// Every finding's key, sorted.
    pub findings: Vec<FindingKey>,
    /// The severity of each of `findings`, in the same order (empty in entries written before
    /// severities were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<Severity>,
    /// The keys of the findings the policy exempted, sorted: a finding that turns up here was
    /// exempted, not fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exempted: Vec<FindingKey>,
    /// The (rule, resource) pairs the run could not judge, sorted: a finding of an earlier
    /// run that turns up here is unknown now, not resolved.
    #[serde(default)]
    pub not_evaluated: Vec<FindingKey>,
    /// The inventory's shape.
    pub inventory: InventorySnapshot,
    /// The reads the run's scan could not make, grouped: what a partial run did not see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<UnreadRead>,
    /// What cleaning up the run's idle and oversized resources would save per month (absent
    /// in entries written before usage was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_monthly_saving_usd: Option<f64>,
}

impl HistoryEntry {
    /// The run's time: when its inventory was taken (what the estate was then), or, in an
    /// entry written before that was kept, when it was reported. A run is placed in a period,
    /// ordered, counted as a day with a run, and dates what it first saw or resolved by it, so
    /// a run reported late (or again) is still one run at one time.
    pub fn run_time(&self) -> DateTime<Utc> {
        self.inventory_generated_at.unwrap_or(self.generated_at)
    }
}

/// Failed reads of one kind in a run: a service's operation in a region, with the error code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnreadRead {
    /// The service, e.g. `s3`.
    pub service: String,
    /// The region (or `global`).
    pub region: String,
    /// The operation, e.g. `GetBucketEncryption`.
    pub operation: String,
    /// The error code, e.g. `AccessDenied`.
    pub code: String,
    /// How many reads failed so.
    pub count: usize,
}

impl UnreadRead {
    /// `errors` grouped by service, region, operation and code.
    pub fn group(errors: &[crate::ScanError]) -> Vec<Self> {
        let mut counts: BTreeMap<(&str, &str, &str, &str), usize> = BTreeMap::new();
        for e in errors {
            *counts
                .entry((&e.service, &e.region, &e.operation, &e.code))
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|((service, region, operation, code), count)| Self {
                service: service.to_owned(),
                region: region.to_owned(),
                operation: operation.to_owned(),
                code: code.to_owned(),
                count,
            })
            .collect()
    }
}

/// Which way the score moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The score went up.
    Improving,
    /// The score went down.
    Degrading,
    /// The score is the same to two decimals (or there is nothing to compare with).
    #[default]
    Stable,
}

impl Direction {
    /// From a score delta: stable when it rounds to 0.00.
    pub fn of(delta: f64) -> Self {
        if (delta * 100.0).round() > 0.0 {
            Self::Improving
        } else if (delta * 100.0).round() < 0.0 {
            Self::Degrading
        } else {
            Self::Stable
        }
    }
}

/// One past run in the trend line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// When it ran.
    pub generated_at: DateTime<Utc>,
    /// Its score.
    pub compliance_score: f64,
    /// Its findings.
    pub findings: usize,
    /// Whether its scan was partial.
    pub partial: bool,
    /// What cleaning up its idle and oversized resources would have saved per month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_monthly_saving_usd: Option<f64>,
}

/// Mean time to remediate one rule's findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mttr {
    /// Findings seen resolved within the window.
    pub resolved: usize,
    /// Mean days from first seen to the first run that no longer had it.
    pub mean_days: f64,
}

/// The comparison with past runs (the report's `trend`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// The previous run's score, if there was one.
    pub previous_score: Option<f64>,
    /// Current minus previous score.
    pub score_delta: Option<f64>,
    /// Which way it moved.
    pub direction: Direction,
    /// Findings now that the previous run did not have.
    pub new: Vec<FindingKey>,
    /// Findings the previous run had that are gone now, judged from data that was read.
    pub resolved: Vec<FindingKey>,
    /// Findings the previous run had that this run could not judge (a read failed): neither
    /// resolved nor standing.
    #[serde(default)]
    pub unknown: Vec<FindingKey>,
    /// Findings the previous run had that the policy exempts now: moved aside, not fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exempted: Vec<FindingKey>,
    /// Score per run over the last N runs, oldest first, this run last.
    pub history: Vec<HistoryPoint>,
    /// Score change over the whole window (this run minus the oldest in it).
    pub window_delta: Option<f64>,
    /// Mean time to remediate per rule, over the window.
    pub mttr_days: BTreeMap<RuleId, Mttr>,
    /// Whether this run or the previous one was partial: then some `resolved` findings may only
    /// be unread, and `new` ones may have existed unseen.
    pub partial: bool,
}

/// The account's past runs as a report compares itself with them, added one at a time, oldest
/// first, and kept only as far as the trend needs them: each run's scores, the findings still
/// open (with when each was first seen, and whether the previous run had it: every finding of
/// the previous run is still open), and, for a partial inventory's report, which must tell
/// what it may have missed, the past findings where its reads failed. A trend over N runs so holds about one
/// run's findings however large N is, and a caller can read the runs one at a time.
#[derive(Debug, Clone)]
pub struct PastRuns {
    account_id: String,
    inventory_taken: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    points: Vec<HistoryPoint>,
    remediation: Remediation,
    /// For a partial inventory: where its reads failed, and the past findings there.
    missable: Option<(Gaps, BTreeSet<FindingKey>)>,
}

impl PastRuns {
    /// None yet, for a report made at `now` of `inventory`.
    pub fn for_inventory(inventory: &Inventory, now: DateTime<Utc>) -> Self {
        let mut runs = Self::new(&inventory.account_id, Some(inventory.generated_at), now);
        if inventory.is_partial() {
            runs.missable = Some((inventory.gaps(), BTreeSet::new()));
        }
        runs
    }

    /// [`PastRuns::for_inventory`] with the `last_n` most recent of `entries` (any order, any
    /// account) that it admits.
    pub fn of(
        inventory: &Inventory,
        entries: &[HistoryEntry],
        now: DateTime<Utc>,
        last_n: usize,
    ) -> Self {
        let mut runs = Self::for_inventory(inventory, now);
        runs.add_recent(entries, last_n);
        runs
    }

    fn new(account_id: &str, inventory_taken: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        Self {
            account_id: account_id.to_owned(),
            inventory_taken,
            now,
            points: Vec::new(),
            remediation: Remediation::default(),
            missable: None,
        }
    }

    fn add_recent(&mut self, entries: &[HistoryEntry], last_n: usize) {
        let mut window: Vec<&HistoryEntry> = entries.iter().filter(|e| self.admits(e)).collect();
        // By when each run's inventory was taken (what the estate was then), as the pipeline
        // finds the last N by the entries' names.
        window.sort_by_key(|e| (e.run_time(), e.generated_at));
        let skip = window.len().saturating_sub(last_n);
        for entry in window.into_iter().skip(skip) {
            self.push(entry);
        }
    }

    /// Whether the trend compares with `entry`: a run of the same account reported before now,
    /// and not of the very inventory being reported (a report made again replaces that run).
    pub fn admits(&self, entry: &HistoryEntry) -> bool {
        entry.account_id == self.account_id
            && entry.run_time() < self.inventory_taken.unwrap_or(self.now)
            && entry.generated_at < self.now
            && !(entry.inventory_generated_at.is_some()
                && entry.inventory_generated_at == self.inventory_taken)
    }

    /// Adds the next run (each later than the one before); one [`PastRuns::admits`] refuses is
    /// ignored.
    pub fn push(&mut self, entry: &HistoryEntry) {
        if !self.admits(entry) {
            return;
        }
        self.remediation.step(entry, false);
        if let Some((gaps, keys)) = &mut self.missable {
            for key in &entry.findings {
                let arn = key.1.split('#').next().unwrap_or(&key.1);
                if gaps.may_have_missed(arn) && !keys.contains(key) {
                    keys.insert(key.clone());
                }
            }
        }
        self.points.push(HistoryPoint::of(entry));
    }

    /// How many runs were added.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Takes the keys of the past findings on resources the inventory may have missed, as
    /// far as its failed reads tell (see [`Gaps::may_have_missed`]); none for a complete
    /// inventory. Whether each resource is in the inventory is for the caller to see.
    pub fn take_missable(&mut self) -> BTreeSet<FindingKey> {
        self.missable
            .take()
            .map(|(_, keys)| keys)
            .unwrap_or_default()
    }

    /// Compares `current` (the run being reported) with the runs added.
    pub fn trend(self, current: &HistoryEntry) -> Trend {
        let Self {
            mut points,
            mut remediation,
            ..
        } = self;
        let previous = points.last().cloned();
        let Changes {
            new,
            resolved,
            unknown,
            exempted,
        } = match previous {
            Some(_) => remediation.changes(current),
            None => Changes::default(),
        };
        let delta = previous
            .as_ref()
            .map(|p| round2(current.compliance_score - p.compliance_score));
        let window_delta = points
            .first()
            .map(|first| round2(current.compliance_score - first.compliance_score));
        remediation.step(current, true);
        points.push(HistoryPoint::of(current));
        Trend {
            previous_score: previous.as_ref().map(|p| p.compliance_score),
            score_delta: delta,
            direction: delta.map_or(Direction::Stable, Direction::of),
            new,
            resolved,
            unknown,
            exempted,
            history: points,
            window_delta,
            mttr_days: remediation.mean_days(),
            partial: current.partial || previous.is_some_and(|p| p.partial),
        }
    }
}

impl HistoryPoint {
    fn of(e: &HistoryEntry) -> Self {
        Self {
            generated_at: e.run_time(),
            compliance_score: e.compliance_score,
            findings: e.findings.len(),
            partial: e.partial,
            idle_monthly_saving_usd: e.idle_monthly_saving_usd,
        }
    }
}

/// Compares `current` with `past` (any order): only the same account's runs before `current`,
/// the `last_n` most recent, and never a run of the same inventory.
pub fn trend(past: &[HistoryEntry], current: &HistoryEntry, last_n: usize) -> Trend {
    let mut runs = PastRuns::new(
        &current.account_id,
        current.inventory_generated_at,
        current.generated_at,
    );
    runs.add_recent(past, last_n);
    runs.trend(current)
}

/// Mean time to remediate per rule, folded over runs oldest first: a finding is resolved at
/// the first complete (non-partial) run that no longer has it; a run that is partial never
/// resolves anything, because its scan may simply not have read the resource, and no run
/// resolves a finding it could not judge. A finding a run no longer has because the policy
/// exempts it now was moved aside, not fixed: it leaves the open findings without counting.
#[derive(Debug, Clone, Default)]
struct Remediation {
    /// The findings not yet resolved.
    open: foldhash::HashMap<FindingKey, Open>,
    /// Per rule: findings resolved, and their days open summed.
    sums: BTreeMap<RuleId, (usize, f64)>,
}

/// How the run being reported differs from the previous one (see [`Trend`]).
#[derive(Debug, Default)]
struct Changes {
    new: Vec<FindingKey>,
    resolved: Vec<FindingKey>,
    unknown: Vec<FindingKey>,
    exempted: Vec<FindingKey>,
}

/// A finding not yet resolved.
#[derive(Debug, Clone, Copy)]
struct Open {
    first_seen: DateTime<Utc>,
    /// Whether the last run folded in had it.
    in_last: bool,
}

impl Remediation {
    /// Folds in the next run; `last` is the run being reported, which can only resolve: what
    /// it finds can only be resolved by a later run.
    fn step(&mut self, run: &HistoryEntry, last: bool) {
        // With nothing open the last run has nothing to resolve (a first report skips both sets).
        if last && self.open.is_empty() {
            return;
        }
        let present: foldhash::HashSet<&FindingKey> = run.findings.iter().collect();
        let (unjudged, exempted): (
            foldhash::HashSet<&FindingKey>,
            foldhash::HashSet<&FindingKey>,
        ) = if run.partial {
            Default::default()
        } else {
            (
                run.not_evaluated.iter().collect(),
                run.exempted.iter().collect(),
            )
        };
        let sums = &mut self.sums;
        self.open.retain(|key, open| {
            let here = present.contains(key);
            open.in_last = here;
            if here || run.partial || unjudged.contains(key) {
                return true;
            }
            if exempted.contains(key) {
                return false;
            }
            let days = (run.run_time() - open.first_seen).num_seconds() as f64 / 86_400.0;
            let s = sums.entry(key.0).or_default();
            s.0 += 1;
            s.1 += days;
            false
        });
        if !last {
            for key in present {
                if !self.open.contains_key(key) {
                    let open = Open {
                        first_seen: run.run_time(),
                        in_last: true,
                    };
                    self.open.insert(key.clone(), open);
                }
            }
        }
    }

    /// The findings `current` has that the last run folded in did not (new), and those that
    /// run had which `current` has not: unknown where `current` could not judge them, exempted
    /// where its policy exempts them, resolved otherwise. Each sorted.
    fn changes(&self, current: &HistoryEntry) -> Changes {
        let mut new: Vec<FindingKey> = current
            .findings
            .iter()
            .filter(|k| !self.open.get(*k).is_some_and(|o| o.in_last))
            .cloned()
            .collect();
        new.sort();
        new.dedup();
        let now: foldhash::HashSet<&FindingKey> = current.findings.iter().collect();
        let unjudged: foldhash::HashSet<&FindingKey> = current.not_evaluated.iter().collect();
        let exempt: foldhash::HashSet<&FindingKey> = current.exempted.iter().collect();
        let mut changes = Changes {
            new,
            ..Changes::default()
        };
        for key in self
            .open
            .iter()
            .filter(|(k, o)| o.in_last && !now.contains(k))
            .map(|(k, _)| k)
        {
            let list = if unjudged.contains(key) {
                &mut changes.unknown
            } else if exempt.contains(key) {
                &mut changes.exempted
            } else {
                &mut changes.resolved
            };
            list.push(key.clone());
        }
        changes.unknown.sort();
        changes.exempted.sort();
        changes.resolved.sort();
        changes
    }

    fn mean_days(self) -> BTreeMap<RuleId, Mttr> {
        self.sums
            .into_iter()
            .map(|(rule, (n, total))| {
                (
                    rule,
                    Mttr {
                        resolved: n,
                        mean_days: round2(total / n as f64),
                    },
                )
            })
            .collect()
    }
}

/// One line of the audit log: a tag write (`tag-write`) or a validation verdict
/// (`validate`), with who did it and what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationAction {
    /// When it was done.
    pub at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// The resource changed or judged.
    pub resource_arn: String,
    /// What was done: `tag-write` or `validate`.
    pub action: String,
    /// Its particulars (for `validate`: the verdict and the rule ids that failed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Who did it: the caller's ARN (STS `GetCallerIdentity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The resource's tags before the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_before: Option<BTreeMap<String, String>>,
    /// The tags written (or that were to be written, when the write did not happen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_written: Option<BTreeMap<String, String>>,
    /// `written`, `skipped`, `gone` or `failed` for a tag write; the verdict for `validate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The CloudTrail event that led to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// A line of the audit log that is not an action.
#[derive(Debug, thiserror::Error)]
#[error("{origin} line {line} is not an audit log entry: {cause}")]
pub struct AuditLineError {
    /// The file or object.
    pub origin: String,
    /// The 1-based line.
    pub line: usize,
    /// The parser's complaint (in the message, not chained: it would repeat).
    pub cause: serde_json::Error,
}

/// The audit log's text for `actions`: one JSON object per line.
pub fn audit_lines(actions: &[RemediationAction]) -> String {
    actions
        .iter()
        // Plain data: serialisation cannot fail (a failure would still leave a valid log).
        .filter_map(|a| serde_json::to_string(a).ok())
        .map(|l| l + "\n")
        .collect()
}

/// Reads audit log text (blank lines are skipped); `origin` names it in errors.
pub fn parse_audit_lines(
    text: &str,
    origin: &str,
) -> Result<Vec<RemediationAction>, AuditLineError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|cause| AuditLineError {
                origin: origin.to_owned(),
                line: i + 1,
                cause,
            })
        })
        .collect()
}

/// The most days an action is logged after the time its audit log file is named by: a tag
/// run's file is named by when its tags were written, an event's by when the event happened,
/// and the validator's queue keeps an event at most 14 days (the longest SQS retention), with
/// the grace period and CloudTrail's delivery within the day added. A reader of a period so
/// needs only the files named from this many days before it to its end.
pub const AUDIT_LOG_LAG_DAYS: i64 = 15;

/// The time format of audit log file names (sortable).
const AUDIT_FILE_TIME: &str = "%Y%m%dT%H%M%S%.3fZ";

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
    format!("event-{}-{safe}.jsonl", named.format(AUDIT_FILE_TIME))
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
        .is_some_and(|t| chrono::NaiveDateTime::parse_from_str(t, AUDIT_FILE_TIME).is_ok());
    timed && rest.get(20..) == Some(&format!("-{safe}"))
}

/// The audit log file of one tagging run: sortable by time, unique by content.
pub fn audit_file_for_run(at: DateTime<Utc>, text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("tag-{}-{short}.jsonl", at.format(AUDIT_FILE_TIME))
}

/// Whether the audit log file `name` may hold actions taken in `from..=to`: a file named by
/// a time (see [`AUDIT_LOG_LAG_DAYS`]) only if that time is within the period or the lag days
/// before it; a file of another name (the event files written before they carried a time)
/// always.
pub fn audit_file_may_hold(name: &str, from: chrono::NaiveDate, to: chrono::NaiveDate) -> bool {
    let time = name
        .strip_prefix("event-")
        .or_else(|| name.strip_prefix("tag-"))
        .and_then(|rest| rest.get(..20))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, AUDIT_FILE_TIME).ok());
    match time {
        None => true,
        Some(t) => {
            let day = t.date();
            day <= to && day >= from - chrono::Days::new(AUDIT_LOG_LAG_DAYS.unsigned_abs())
        }
    }
}

/// The quarterly audit export: every run in the period, the trend across it, and the
/// remediation actions taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditExport {
    /// Layout version.
    pub schema_version: u32,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
    /// First day of the period (UTC, inclusive).
    pub from: chrono::NaiveDate,
    /// Last day of the period (UTC, inclusive).
    pub to: chrono::NaiveDate,
    /// Accounts with runs in the period.
    pub accounts: Vec<String>,
    /// Every run of the period, oldest first: its compliance figures, the keys of its findings
    /// and its inventory snapshot (count by type and region).
    pub runs: Vec<HistoryEntry>,
    /// Per account: the last run compared with the period's runs (delta over the period in
    /// `window_delta`, MTTR per rule over the period).
    pub trend: BTreeMap<String, Trend>,
    /// Remediation actions taken in the period, oldest first.
    pub remediation_actions: Vec<RemediationAction>,
    /// What could not be used (e.g. a damaged history entry), and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What keeps the history and the audit log from being rewritten, as read from their store
    /// when the export was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_retention: Option<EvidenceRetention>,
}

/// What keeps evidence (history entries, audit log files) from being deleted or overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum EvidenceRetention {
    /// A local directory: only the file system's permissions.
    LocalDirectory,
    /// The bucket's S3 Object Lock default retention.
    ObjectLock {
        /// The bucket.
        bucket: String,
        /// `GOVERNANCE` or `COMPLIANCE`.
        mode: String,
        /// Retention in days, when given in days.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<i32>,
        /// Retention in years, when given in years.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        years: Option<i32>,
    },
    /// The bucket has no Object Lock default retention: objects can be deleted or replaced.
    NoObjectLock {
        /// The bucket.
        bucket: String,
    },
    /// The bucket's Object Lock configuration could not be read.
    NotRead {
        /// The bucket.
        bucket: String,
        /// Why.
        reason: String,
    },
}

/// One stretch of a finding across the runs of a period: from the first run that had it to
/// the first complete run that judged its resource and no longer had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingSpan {
    /// The account.
    pub account_id: String,
    /// The rule.
    pub rule_id: RuleId,
    /// The resource (or resource#detail) the finding names.
    pub resource_arn: String,
    /// Its severity at the last run that had it (absent for entries written before
    /// severities were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The first run that had it.
    pub first_seen: DateTime<Utc>,
    /// The last run that had it.
    pub last_seen: DateTime<Utc>,
    /// The run that found it resolved; none while it is open at the period's last run.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The run that no longer had it because the policy exempted it (then `resolved_at` is
    /// empty: moved aside is not fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted_at: Option<DateTime<Utc>>,
}

impl EvidenceRetention {
    /// One sentence for the audit pack: what keeps the evidence, or that nothing does.
    pub fn describe(&self) -> String {
        match self {
            Self::LocalDirectory => "The history is a local directory: only the file system's \
                permissions keep it from being changed."
                .to_owned(),
            Self::ObjectLock {
                bucket,
                mode,
                days,
                years,
            } => {
                let period = match (days, years) {
                    (Some(d), _) => format!("{d} days"),
                    (None, Some(y)) => format!("{y} years"),
                    (None, None) => "an unstated period".to_owned(),
                };
                format!(
                    "The history is under S3 Object Lock in bucket {bucket}: {mode} mode, \
                     {period} from each write; no entry can be deleted or replaced before then."
                )
            }
            Self::NoObjectLock { bucket } => format!(
                "Bucket {bucket} has no Object Lock default retention: history entries can be \
                 deleted or replaced."
            ),
            Self::NotRead { bucket, reason } => format!(
                "The Object Lock configuration of bucket {bucket} could not be read ({reason}): \
                 the history's protection is unknown."
            ),
        }
    }
}

/// Every finding open at any time in `runs` (any order), as spans per account, by account and
/// first seen: a finding resolved and found again is two spans. As for the time to remediate,
/// a partial run resolves nothing and no run resolves a finding it could not judge.
pub fn finding_spans(runs: &[HistoryEntry]) -> Vec<FindingSpan> {
    let mut runs: Vec<&HistoryEntry> = runs.iter().collect();
    runs.sort_by(|a, b| {
        (&a.account_id, a.run_time(), a.generated_at).cmp(&(
            &b.account_id,
            b.run_time(),
            b.generated_at,
        ))
    });
    let mut out = Vec::new();
    // (account, finding) -> the stretch still open.
    let mut open: BTreeMap<(&str, &FindingKey), Seen> = BTreeMap::new();
    for run in runs {
        let account = run.account_id.as_str();
        let present: foldhash::HashSet<&FindingKey> = run.findings.iter().collect();
        let unjudged: foldhash::HashSet<&FindingKey> = run.not_evaluated.iter().collect();
        if !run.partial {
            let gone: Vec<(&str, &FindingKey)> = open
                .keys()
                .filter(|(a, k)| *a == account && !present.contains(k) && !unjudged.contains(k))
                .copied()
                .collect();
            for key in gone {
                if let Some(seen) = open.remove(&key) {
                    let mut s = span(key, seen, Some(run.run_time()));
                    if run.exempted.binary_search(key.1).is_ok() {
                        // Moved aside by the policy, not fixed.
                        s.exempted_at = s.resolved_at.take();
                    }
                    out.push(s);
                }
            }
        }
        for (i, key) in run.findings.iter().enumerate() {
            let severity = run.severities.get(i).copied();
            open.entry((account, key))
                .and_modify(|s| {
                    s.last = run.run_time();
                    s.severity = severity.or(s.severity);
                })
                .or_insert(Seen {
                    first: run.run_time(),
                    last: run.run_time(),
                    severity,
                });
        }
    }
    out.extend(open.into_iter().map(|(key, seen)| span(key, seen, None)));
    out.sort_by(|a, b| {
        (&a.account_id, a.first_seen, a.rule_id, &a.resource_arn).cmp(&(
            &b.account_id,
            b.first_seen,
            b.rule_id,
            &b.resource_arn,
        ))
    });
    out
}

fn span(
    (account, (rule, arn)): (&str, &FindingKey),
    seen: Seen,
    resolved_at: Option<DateTime<Utc>>,
) -> FindingSpan {
    FindingSpan {
        account_id: account.to_owned(),
        rule_id: *rule,
        resource_arn: arn.clone(),
        severity: seen.severity,
        first_seen: seen.first,
        last_seen: seen.last,
        resolved_at,
        exempted_at: None,
    }
}

/// A stretch of a finding still open: when first and last seen, and its severity then.
#[derive(Debug, Clone, Copy)]
struct Seen {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    severity: Option<Severity>,
}

/// Builds the audit export from the history entries and actions of `[from, to]` (whole days,
/// UTC; entries and actions outside are ignored).
pub fn audit_export(
    entries: Vec<HistoryEntry>,
    actions: Vec<RemediationAction>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> AuditExport {
    let in_period = |t: &DateTime<Utc>| {
        let d = t.date_naive();
        d >= from && d <= to
    };
    // A run belongs to the period in which its inventory was taken (what the estate was then),
    // even when it was reported later; an entry without that time, when it was reported.
    let mut entries: Vec<HistoryEntry> = entries
        .into_iter()
        .filter(|e| in_period(&e.run_time()))
        .collect();
    entries.sort_by(|a, b| {
        (a.run_time(), &a.account_id, a.generated_at).cmp(&(
            b.run_time(),
            &b.account_id,
            b.generated_at,
        ))
    });
    let accounts: Vec<String> = entries
        .iter()
        .map(|e| e.account_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let trend = accounts
        .iter()
        .filter_map(|a| {
            // The account's last run against all its earlier ones (`trend` keeps only those).
            let last = entries.iter().rfind(|e| e.account_id == *a)?;
            Some((a.clone(), trend(&entries, last, entries.len())))
        })
        .collect();
    let mut remediation_actions: Vec<RemediationAction> =
        actions.into_iter().filter(|a| in_period(&a.at)).collect();
    remediation_actions.sort_by(|a, b| (a.at, &a.resource_arn).cmp(&(b.at, &b.resource_arn)));
    AuditExport {
        schema_version: HISTORY_SCHEMA_VERSION,
        generated_at: now,
        from,
        to,
        accounts,
        runs: entries,
        trend,
        remediation_actions,
        notes: Vec::new(),
        evidence_retention: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0)
            .single()
            .unwrap_or_else(|| panic!("bad day {day}"))
    }

    fn entry(day: u32, score: f64, keys: &[(RuleId, &str)], partial: bool) -> HistoryEntry {
        HistoryEntry {
            schema_version: HISTORY_SCHEMA_VERSION,
            generated_at: at(day),
            account_id: "123456789012".into(),
            inventory_generated_at: Some(at(day)),
            partial,
            compliance_score: score,
            in_scope_resources: 10,
            compliant_resources: 10 - keys.len(),
            not_evaluated_resources: 0,
            by_severity: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            findings: keys.iter().map(|(r, a)| (*r, (*a).to_owned())).collect(),
            severities: Vec::new(),
            exempted: Vec::new(),
            not_evaluated: Vec::new(),
            inventory: InventorySnapshot::default(),
            unread: Vec::new(),
            idle_monthly_saving_usd: None,
        }
    }

    use RuleId::{S3Encryption as Enc, TagsRequired as Tags};

    #[test]
    fn spans_open_resolve_reopen_and_survive_partial_and_unjudged_runs() {
        let mut unjudged = entry(4, 50.0, &[], false);
        unjudged.not_evaluated = vec![(Tags, "arn:b".into())];
        let runs = vec![
            entry(1, 50.0, &[(Tags, "arn:a"), (Tags, "arn:b")], false),
            entry(2, 60.0, &[(Tags, "arn:b")], true), // partial: resolves nothing
            entry(3, 70.0, &[(Tags, "arn:b")], false), // arn:a resolved here
            unjudged,                                 // arn:b unknown, still open
            entry(5, 80.0, &[(Enc, "arn:a")], false), // arn:b resolved here
            entry(6, 80.0, &[(Tags, "arn:a")], false), // arn:a tags again; Enc resolved
        ];
        let spans = finding_spans(&runs);
        let got: Vec<(RuleId, &str, u32, u32, Option<u32>)> = spans
            .iter()
            .map(|s| {
                (
                    s.rule_id,
                    s.resource_arn.as_str(),
                    chrono::Datelike::day(&s.first_seen),
                    chrono::Datelike::day(&s.last_seen),
                    s.resolved_at.map(|t| chrono::Datelike::day(&t)),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Tags, "arn:a", 1, 1, Some(3)),
                (Tags, "arn:b", 1, 3, Some(5)),
                (Enc, "arn:a", 5, 5, Some(6)),
                (Tags, "arn:a", 6, 6, None),
            ]
        );
    }

    #[test]
    fn direction_is_stable_only_when_the_delta_rounds_to_zero() {
        assert_eq!(Direction::of(0.004), Direction::Stable);
        assert_eq!(Direction::of(-0.004), Direction::Stable);
        assert_eq!(Direction::of(0.01), Direction::Improving);
        assert_eq!(Direction::of(-2.5), Direction::Degrading);
    }

    #[test]
    fn the_first_run_has_nothing_to_compare_with() {
        let t = trend(&[], &entry(3, 80.0, &[(Tags, "a")], false), 10);
        assert_eq!(t.previous_score, None);
        assert_eq!(t.direction, Direction::Stable);
        assert!(t.new.is_empty() && t.resolved.is_empty());
        assert_eq!(t.history.len(), 1);
        assert!(t.mttr_days.is_empty());
    }

    #[test]
    fn new_resolved_window_and_mttr() {
        let past = vec![
            entry(1, 70.0, &[(Tags, "a"), (Enc, "b")], false),
            entry(2, 80.0, &[(Tags, "a"), (Tags, "c")], false),
            // Another account's history is never mixed in.
            HistoryEntry {
                account_id: "999999999999".into(),
                ..entry(2, 1.0, &[], false)
            },
        ];
        let current = entry(5, 90.0, &[(Tags, "c"), (Enc, "d")], false);
        let t = trend(&past, &current, 10);
        assert_eq!(t.previous_score, Some(80.0));
        assert_eq!(t.score_delta, Some(10.0));
        assert_eq!(t.direction, Direction::Improving);
        assert_eq!(t.new, vec![(Enc, "d".to_owned())]);
        assert_eq!(t.resolved, vec![(Tags, "a".to_owned())]);
        assert_eq!(t.window_delta, Some(20.0));
        let scores: Vec<f64> = t.history.iter().map(|p| p.compliance_score).collect();
        assert_eq!(scores, vec![70.0, 80.0, 90.0]);
        // b: seen day 1, gone day 2 -> 1 day. a: seen day 1, gone day 5 -> 4 days.
        assert_eq!(
            t.mttr_days[&Enc],
            Mttr {
                resolved: 1,
                mean_days: 1.0
            }
        );
        assert_eq!(
            t.mttr_days[&Tags],
            Mttr {
                resolved: 1,
                mean_days: 4.0
            }
        );
        assert!(!t.partial);

        // last_n = 1 keeps only the previous run.
        let t1 = trend(&past, &current, 1);
        assert_eq!(t1.history.len(), 2);
        assert_eq!(t1.window_delta, Some(10.0));
    }

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
    fn a_finding_the_policy_exempts_later_is_moved_aside_not_resolved() {
        let exempting =
            |day, score, keys: &[(RuleId, &str)], exempt: &[(RuleId, &str)]| HistoryEntry {
                exempted: exempt.iter().map(|(r, a)| (*r, (*a).to_owned())).collect(),
                ..entry(day, score, keys, false)
            };
        // a and b open on day 1; a exempted on day 3, b fixed on day 3.
        let past = vec![entry(1, 50.0, &[(Tags, "a"), (Tags, "b")], false)];
        let current = exempting(3, 90.0, &[], &[(Tags, "a")]);
        let t = trend(&past, &current, 10);
        assert_eq!(t.resolved, vec![(Tags, "b".to_owned())]);
        assert_eq!(t.exempted, vec![(Tags, "a".to_owned())]);
        assert_eq!(
            t.mttr_days[&Tags],
            Mttr {
                resolved: 1,
                mean_days: 2.0
            },
            "the exempted finding is no remediation"
        );
        // Exempted in an earlier run of the window: it never counts, nor as resolved later.
        let past = vec![
            entry(1, 50.0, &[(Tags, "a")], false),
            exempting(2, 60.0, &[], &[(Tags, "a")]),
        ];
        let t = trend(&past, &exempting(4, 60.0, &[], &[(Tags, "a")]), 10);
        assert!(t.mttr_days.is_empty(), "{:?}", t.mttr_days);
        assert!(t.resolved.is_empty() && t.exempted.is_empty(), "{t:?}");
    }

    #[test]
    fn past_runs_are_ordered_by_when_their_inventory_was_taken() {
        // The inventory of day 1 was reported after that of day 2 (a late report).
        let late = HistoryEntry {
            inventory_generated_at: Some(at(1)),
            ..entry(4, 40.0, &[(Tags, "a")], false)
        };
        let newer = HistoryEntry {
            inventory_generated_at: Some(at(2)),
            ..entry(3, 60.0, &[(Tags, "b")], false)
        };
        let t = trend(&[newer, late], &entry(5, 70.0, &[(Tags, "b")], false), 10);
        assert_eq!(
            t.previous_score,
            Some(60.0),
            "the newest estate is the previous run"
        );
        let scores: Vec<f64> = t.history.iter().map(|p| p.compliance_score).collect();
        assert_eq!(scores, vec![40.0, 60.0, 70.0]);
        assert!(t.resolved.is_empty() && t.new.is_empty(), "{t:?}");
    }

    #[test]
    fn a_report_of_the_same_inventory_is_not_compared_with_itself() {
        let first = entry(1, 50.0, &[(Tags, "a")], false);
        let again = HistoryEntry {
            generated_at: at(1) + chrono::Duration::hours(2),
            ..entry(1, 50.0, &[(Tags, "a")], false)
        };
        let current = HistoryEntry {
            generated_at: at(1) + chrono::Duration::hours(3),
            ..entry(1, 50.0, &[(Tags, "a")], false)
        };
        let t = trend(&[first, again], &current, 10);
        assert_eq!(
            t.previous_score, None,
            "both past entries judged this inventory"
        );
        assert_eq!(t.history.len(), 1);
    }

    #[test]
    fn a_partial_run_never_resolves_a_finding() {
        let past = vec![
            entry(1, 70.0, &[(Tags, "a")], false),
            entry(2, 100.0, &[], true),
        ];
        let current = entry(4, 70.0, &[(Tags, "a")], false);
        let t = trend(&past, &current, 10);
        assert!(t.partial, "the previous run was partial");
        assert!(t.mttr_days.is_empty(), "{:?}", t.mttr_days);
        assert_eq!(t.new, vec![(Tags, "a".to_owned())]);
    }

    #[test]
    fn a_finding_that_turned_unknown_is_not_resolved() {
        let past = vec![entry(1, 50.0, &[(Tags, "a"), (Enc, "b")], false)];
        let current = HistoryEntry {
            not_evaluated: vec![(Enc, "b".to_owned())],
            ..entry(2, 100.0, &[], true)
        };
        let t = trend(&past, &current, 10);
        assert_eq!(t.resolved, vec![(Tags, "a".to_owned())]);
        assert_eq!(t.unknown, vec![(Enc, "b".to_owned())]);
        let later = entry(3, 100.0, &[], false);
        let runs = [past[0].clone(), current];
        assert_eq!(
            trend(&runs, &later, 10)
                .mttr_days
                .get(&Enc)
                .map(|m| m.resolved),
            Some(1),
            "resolved only by the complete run that judged it"
        );
    }

    #[test]
    fn the_audit_export_keeps_the_period_and_compares_across_it() {
        let entries = vec![
            entry(1, 60.0, &[(Tags, "a"), (Enc, "b")], false),
            entry(3, 70.0, &[(Tags, "a")], false),
            entry(5, 90.0, &[], false),
            entry(9, 10.0, &[(Tags, "z")], false),
        ];
        let action = |day: u32, arn: &str| RemediationAction {
            at: at(day),
            account_id: "123456789012".into(),
            resource_arn: arn.into(),
            action: "tag-write".into(),
            details: BTreeMap::from([("Owner".into(), "team-a".into())]),
            ..RemediationAction::default()
        };
        let from = at(2).date_naive();
        let to = at(5).date_naive();
        let x = audit_export(
            entries,
            vec![action(4, "a"), action(8, "q")],
            from,
            to,
            at(27),
        );
        let scores: Vec<f64> = x.runs.iter().map(|r| r.compliance_score).collect();
        assert_eq!(scores, vec![70.0, 90.0], "day 1 and day 9 are outside");
        assert_eq!(x.accounts, vec!["123456789012".to_owned()]);
        let t = &x.trend["123456789012"];
        assert_eq!(t.score_delta, Some(20.0));
        assert_eq!(t.resolved, vec![(Tags, "a".to_owned())]);
        assert_eq!(x.remediation_actions.len(), 1);
        assert_eq!(x.remediation_actions[0].resource_arn, "a");
    }

    #[test]
    fn age_bands_split_at_30_90_and_365_days() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap();
        let ago = |days: i64| Some(at - chrono::Duration::days(days));
        let cases = [
            (None, "unknown"),
            (ago(0), "0-30 days"),
            (ago(29), "0-30 days"),
            (ago(30), "30-90 days"),
            (ago(89), "30-90 days"),
            (ago(90), "90-365 days"),
            (ago(364), "90-365 days"),
            (ago(365), "over 1 year"),
            (ago(3000), "over 1 year"),
        ];
        for (created, band) in cases {
            assert_eq!(age_band(created, at), band, "{created:?}");
        }
    }
}
