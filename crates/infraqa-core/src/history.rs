//! The history store's entries: what each run leaves behind for the trend, the audit pack
//! and `infraqa backtest`, and the age bands of the resources they count.

use crate::finding::{RuleId, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the history entry layout: 3 carries what a trend needs of the runs before
/// it (each open finding's first-seen time, the findings still open it could not judge, and
/// the findings it resolved per rule); 1 and 2 are still read.
pub const HISTORY_SCHEMA_VERSION: u32 = 3;

/// The findings of one rule a run resolved, and their days open from when each was first
/// seen, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// Findings resolved.
    pub count: usize,
    /// Their days open, summed.
    pub days: f64,
}

/// What a run's entry carries forward from the runs before it (schema 3), as the trend
/// computed it: see [`HistoryEntry::first_seen`], [`HistoryEntry::still_open`] and
/// [`HistoryEntry::resolved`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Carried {
    /// When each of the run's findings was first seen, in the entry's `findings` order.
    pub first_seen: Vec<DateTime<Utc>>,
    /// The findings still open that the run could not judge, with when each was first seen.
    pub still_open: Vec<(FindingKey, DateTime<Utc>)>,
    /// Per rule, the findings the run resolved.
    pub resolved: BTreeMap<RuleId, Resolved>,
}

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
    /// When each of `findings` was first seen, in the same order (schema 3; a finding first
    /// seen by this run has this run's time). Empty in earlier entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_seen: Vec<DateTime<Utc>>,
    /// The findings still open that this run could not judge (its scan was partial, or a read
    /// a rule needed failed), with when each was first seen, sorted (schema 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub still_open: Vec<(FindingKey, DateTime<Utc>)>,
    /// Per rule, the findings this run resolved (the previous run had them, this one judged
    /// them and did not find them) and their days open from first seen (schema 3).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved: BTreeMap<RuleId, Resolved>,
    /// Per framework the policy enabled, each requirement's status (absent in entries written
    /// before frameworks were kept, and when none was enabled).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub frameworks: BTreeMap<String, BTreeMap<String, crate::frameworks::Status>>,
}

impl HistoryEntry {
    /// Whether the entry carries the open findings a trend needs (schema 3), so no earlier
    /// entry must be read to know them.
    pub fn carries_open(&self) -> bool {
        self.schema_version >= 3 && self.first_seen.len() == self.findings.len()
    }

    /// What the trend carried forward, set into the entry (schema 3).
    pub fn carry(&mut self, carried: Carried) {
        self.schema_version = HISTORY_SCHEMA_VERSION;
        self.first_seen = carried.first_seen;
        self.still_open = carried.still_open;
        self.resolved = carried.resolved;
    }

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

/// Entries for the tests of the history's readers (trend, pack).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fixtures {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0)
            .single()
            .unwrap_or_else(|| panic!("bad day {day}"))
    }

    pub(crate) fn entry(
        day: u32,
        score: f64,
        keys: &[(RuleId, &str)],
        partial: bool,
    ) -> HistoryEntry {
        HistoryEntry {
            // Entries that carry nothing forward, as schema 2 wrote them.
            schema_version: 2,
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
            first_seen: Vec::new(),
            still_open: Vec::new(),
            resolved: BTreeMap::new(),
            frameworks: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
