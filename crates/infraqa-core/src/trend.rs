//! The trend: the current run compared with the previous one and the last N (new, resolved,
//! mean time to remediate), from the history's entries.

use crate::finding::RuleId;
use crate::history::{Carried, FindingKey, HistoryEntry, Resolved};
use crate::inventory::{Gaps, Inventory};
use crate::round2;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
        if entry.carries_open() {
            // It says what is open and since when: nothing before it need be folded.
            self.remediation.carry_from(entry);
        } else {
            self.remediation.step(entry, false);
        }
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
        self.trend_and_carry(current).0
    }

    /// [`PastRuns::trend`], and what `current`'s history entry carries forward (schema 3):
    /// when each of its findings was first seen, the open findings it could not judge, and
    /// what it resolved.
    pub fn trend_and_carry(self, current: &HistoryEntry) -> (Trend, Carried) {
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
        let before = remediation.sums.clone();
        remediation.step(current, true);
        let carried = remediation.carried(current, &before);
        points.push(HistoryPoint::of(current));
        let trend = Trend {
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
        };
        (trend, carried)
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

    /// Takes the open findings and their first-seen times from a run whose entry carries them
    /// (schema 3), and adds what it resolved.
    fn carry_from(&mut self, run: &HistoryEntry) {
        self.open.clear();
        for (key, first_seen) in run.findings.iter().zip(&run.first_seen) {
            let open = Open {
                first_seen: *first_seen,
                in_last: true,
            };
            self.open.insert(key.clone(), open);
        }
        for (key, first_seen) in &run.still_open {
            let open = Open {
                first_seen: *first_seen,
                in_last: false,
            };
            self.open.entry(key.clone()).or_insert(open);
        }
        for (rule, r) in &run.resolved {
            let s = self.sums.entry(*rule).or_default();
            s.0 += r.count;
            s.1 += r.days;
        }
    }

    /// What `current`, just folded in as the last run, carries forward: its findings'
    /// first-seen times (its own time for a new one), the open findings it could not judge,
    /// and what it resolved (the sums now less those `before` it).
    fn carried(&self, current: &HistoryEntry, before: &BTreeMap<RuleId, (usize, f64)>) -> Carried {
        let first_seen = current
            .findings
            .iter()
            .map(|k| {
                self.open
                    .get(k)
                    .map_or(current.run_time(), |o| o.first_seen)
            })
            .collect();
        // Folded in last, `current` left `in_last` set on exactly the open findings it has.
        let mut still_open: Vec<(FindingKey, DateTime<Utc>)> = self
            .open
            .iter()
            .filter(|(_, o)| !o.in_last)
            .map(|(k, o)| (k.clone(), o.first_seen))
            .collect();
        still_open.sort();
        let resolved = self
            .sums
            .iter()
            .filter_map(|(rule, (n, days))| {
                let (n0, days0) = before.get(rule).copied().unwrap_or_default();
                (*n > n0).then(|| {
                    let r = Resolved {
                        count: n - n0,
                        days: days - days0,
                    };
                    (*rule, r)
                })
            })
            .collect();
        Carried {
            first_seen,
            still_open,
            resolved,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::history::fixtures::{at, entry};
    use RuleId::{S3Encryption as Enc, TagsRequired as Tags};

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

    /// `entry` as a schema 3 run writes it: carrying what the trend over `before` knew.
    fn carrying(before: &[HistoryEntry], mut entry: HistoryEntry) -> HistoryEntry {
        let mut runs = PastRuns::new(&entry.account_id, entry.inventory_generated_at, at(28));
        runs.add_recent(before, before.len());
        let (_, carried) = runs.trend_and_carry(&entry);
        entry.carry(carried);
        entry
    }

    #[test]
    fn the_latest_schema_3_entry_alone_gives_the_trend_the_whole_history_gives() {
        let e1 = entry(1, 70.0, &[(Tags, "a"), (Enc, "b")], false);
        let e2 = entry(2, 80.0, &[(Tags, "a"), (Tags, "c")], false);
        let v3 = carrying(std::slice::from_ref(&e1), e2.clone());
        assert!(v3.carries_open());
        assert_eq!(v3.first_seen, vec![at(1), at(2)], "a since day 1, c new");
        assert_eq!(
            v3.resolved[&Enc],
            Resolved {
                count: 1,
                days: 1.0
            }
        );
        let current = entry(5, 90.0, &[(Tags, "c"), (Enc, "d")], false);
        let folded = trend(&[e1, e2], &current, 10);
        // The entries before the schema 3 one are not read at all.
        let carried = trend(std::slice::from_ref(&v3), &current, 10);
        assert_eq!(carried.new, folded.new);
        assert_eq!(carried.resolved, folded.resolved);
        assert_eq!(carried.mttr_days, folded.mttr_days);
    }

    #[test]
    fn mttr_counts_from_first_seen_even_before_the_window() {
        let e1 = entry(1, 70.0, &[(Tags, "a")], false);
        let e2 = carrying(
            std::slice::from_ref(&e1),
            entry(2, 70.0, &[(Tags, "a")], false),
        );
        let current = entry(5, 90.0, &[], false);
        // A window of the previous run only: a was first seen on day 1, before it.
        let t = trend(&[e1.clone(), e2], &current, 1);
        assert_eq!(t.mttr_days[&Tags].mean_days, 4.0);
        // Schema 2 entries know only the window: a counts from day 2.
        let e2_old = entry(2, 70.0, &[(Tags, "a")], false);
        let t = trend(&[e1, e2_old], &current, 1);
        assert_eq!(t.mttr_days[&Tags].mean_days, 3.0);
    }

    #[test]
    fn an_open_finding_a_run_could_not_judge_is_carried_with_its_first_seen() {
        let e1 = entry(1, 70.0, &[(Tags, "a")], false);
        // Day 2 is partial: a is not among its findings, and stays open.
        let e2 = carrying(std::slice::from_ref(&e1), entry(2, 60.0, &[], true));
        assert_eq!(e2.still_open, vec![((Tags, "a".to_owned()), at(1))]);
        assert!(e2.resolved.is_empty(), "a partial run resolves nothing");
        let t = trend(std::slice::from_ref(&e2), &entry(4, 90.0, &[], false), 10);
        assert!(t.resolved.is_empty(), "the previous run did not have it");
        assert_eq!(
            t.mttr_days[&Tags],
            Mttr {
                resolved: 1,
                mean_days: 3.0
            },
            "resolved by the complete run, from day 1"
        );
    }

    #[test]
    fn a_schema_3_entry_reads_back_whole() {
        let e1 = entry(1, 70.0, &[(Tags, "a")], false);
        let e2 = carrying(std::slice::from_ref(&e1), entry(2, 60.0, &[], true));
        let bytes = serde_json::to_vec(&e2).unwrap();
        let back = crate::document::history_entry(&bytes).unwrap();
        assert_eq!(back, e2);
        assert_eq!(back.schema_version, 3);
    }
}
