//! `report.json`: the summary, findings, exempted findings, orphans, recommendations, cost and
//! trend of one run, computed from the inventory and the check result, never assumed.

use crate::check::{CheckResult, Mismatch};
use crate::cost::{CostReport, cost_report};
use crate::finding::{Finding, RuleId, Severity};
use crate::frameworks::{Framework, FrameworkStatus, Judged};
use crate::history::{
    Carried, FindingKey, HISTORY_SCHEMA_VERSION, HistoryEntry, InventorySnapshot, UnreadRead,
};
use crate::inventory::{Inventory, ScanError, ScanStats, UnitTiming};
use crate::lifecycle::{Lifecycle, assess};
use crate::orphans::Orphan;
use crate::policy::Policy;
use crate::prices::PriceTable;
use crate::recommend::{Recommendation, recommendations};
use crate::round2;
use crate::rules::{ExemptedFinding, NotEvaluated, Scope, scope};
use crate::trend::{PastRuns, Trend};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of the `report.json` layout.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// How many past runs the trend looks back over by default.
pub const DEFAULT_TREND_RUNS: usize = 12;

/// One rule's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSummary {
    /// Resources (or account-regions) the rule judged from data that was read.
    pub evaluated: usize,
    /// Findings it reported.
    pub findings: usize,
    /// Findings moved aside by allow-lists and exemptions.
    pub exempted: usize,
    /// Resources it applies to but could not judge because a read failed (not in
    /// `evaluated`).
    pub not_evaluated: usize,
    /// `(evaluated - findings) / evaluated x 100`; 100 when it judged nothing.
    pub pass_rate: f64,
}

/// The report's `summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources inventoried.
    pub total_resources: usize,
    /// Count by `service:type`.
    pub by_type: BTreeMap<String, usize>,
    /// Count by region.
    pub by_region: BTreeMap<String, usize>,
    /// Resources by age band when the inventory was taken (`0-30 days` ... `over 1 year`,
    /// `unknown` where the API gives no creation time).
    #[serde(default)]
    pub by_age: BTreeMap<String, usize>,
    /// Units some enabled rule judges: inventoried resources, plus the account in each
    /// region for account-level rules.
    pub in_scope_resources: usize,
    /// In-scope units without any finding that every rule applying to them could judge
    /// (exempted findings do not count against them).
    pub compliant_resources: usize,
    /// In-scope units without any finding that some rule could not judge because a read
    /// failed: neither compliant nor non-compliant.
    pub not_evaluated_resources: usize,
    /// `compliant_resources / (in_scope_resources - not_evaluated_resources) x 100`, two
    /// decimals: the share of judged units that comply; 100 when nothing was judged.
    pub compliance_score: f64,
    /// Findings per severity (every severity present, zero included).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Per enabled rule: judged, failed, exempted, pass rate.
    pub by_rule: BTreeMap<RuleId, RuleSummary>,
    /// Findings in total.
    pub findings: usize,
    /// Exempted findings in total.
    pub exempted: usize,
    /// Orphans in total.
    pub orphans: usize,
    /// What the orphans waste per month, where priced.
    pub orphans_monthly_cost_usd: f64,
}

/// Everything `infraqa report` writes to `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Layout version ([`REPORT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the report was generated.
    pub generated_at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// When the inventory was taken.
    pub inventory_generated_at: DateTime<Utc>,
    /// Whether the scan was partial: then `errors` says what could not be read.
    pub partial: bool,
    /// The figures.
    pub summary: Summary,
    /// What the scan cost and which unit took longest.
    #[serde(default)]
    pub scan: ScanSummary,
    /// Compliance findings, ordered by rule, region, resource.
    pub findings: Vec<Finding>,
    /// Findings moved aside, each with its reason.
    pub exempted: Vec<ExemptedFinding>,
    /// What rules could not judge because a read failed, per rule and resource.
    pub not_evaluated: Vec<NotEvaluated>,
    /// Orphaned resources.
    pub orphans: Vec<Orphan>,
    /// Remediations grouped by action, most valuable first.
    pub recommendations: Vec<Recommendation>,
    /// Cost allocation, untagged share and expensive misconfigurations.
    pub cost: CostReport,
    /// Idle and oversized resources by their usage, ranked by saving, and ages per type.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// The comparison with past runs.
    pub trend: Trend,
    /// What could not be judged, and why.
    pub notes: Vec<String>,
    /// The inventory's errors, copied so a partial report can never look complete.
    pub errors: Vec<ScanError>,
    /// What the trend carried forward for this run's history entry (not part of report.json;
    /// `None` in a report read back).
    #[serde(skip)]
    pub carried: Option<Carried>,
    /// Each framework the policy enables: its requirements' status (absent when none is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<FrameworkStatus>,
}

/// What the scan behind a report cost, and where its time went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// API calls the scan made, retries included.
    pub api_calls: u64,
    /// The scan's wall time in milliseconds.
    pub duration_ms: u64,
    /// The unit (a service in a region) that took longest: the scan's critical path. Absent
    /// for an inventory that did not record its units.
    pub longest_unit: Option<UnitTiming>,
}

impl ScanSummary {
    /// The summary of `stats`.
    pub fn of(stats: &ScanStats) -> Self {
        Self {
            api_calls: stats.total_calls(),
            duration_ms: stats.duration_ms,
            longest_unit: stats.longest_unit().cloned(),
        }
    }

    /// One sentence for a person: the scan's time, calls and longest unit; empty when the
    /// inventory recorded none of them.
    pub fn describe(&self) -> String {
        if self.api_calls == 0 && self.duration_ms == 0 {
            return String::new();
        }
        let secs = |ms: u64| ms as f64 / 1000.0;
        let mut line = format!(
            "Scanned in {:.1} s with {} API calls",
            secs(self.duration_ms),
            self.api_calls
        );
        if let Some(u) = &self.longest_unit {
            line.push_str(&format!("; longest unit: {u}"));
        }
        line.push('.');
        line
    }
}

/// A finding's identity across runs (see [`FindingKey`]).
pub fn finding_key(f: &Finding) -> FindingKey {
    key(f.rule_id, &f.resource_arn, &f.resource_type, &f.region)
}

/// The identity a (rule, resource) verdict has across runs: account-level units carry their
/// region.
pub(crate) fn key(rule: RuleId, arn: &str, resource_type: &str, region: &str) -> FindingKey {
    if resource_type == "account" {
        (rule, format!("{arn}#{region}"))
    } else {
        (rule, arn.to_owned())
    }
}

pub(crate) fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        round2(part as f64 / whole as f64 * 100.0)
    }
}

/// The inventory's shape.
pub fn snapshot(inventory: &Inventory) -> InventorySnapshot {
    let mut s = InventorySnapshot {
        total_resources: inventory.resources.len(),
        ..InventorySnapshot::default()
    };
    for r in &inventory.resources {
        *s.by_type.entry(r.resource_type.to_string()).or_default() += 1;
        *s.by_region.entry(r.region.to_string()).or_default() += 1;
        let band = crate::history::age_band(r.created_at, inventory.generated_at);
        *s.by_age.entry(band.to_owned()).or_default() += 1;
    }
    s
}

/// Computes the summary: counts from the inventory, the score from the rules' scope.
pub fn summarize(
    inventory: &Inventory,
    check: &CheckResult,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Summary {
    summary_of(&scope(inventory, policy, now), snapshot(inventory), check)
}

/// The summary of `check` over an inventory of `shape` whose rules judge `scope`.
fn summary_of(scope: &Scope<'_>, shape: InventorySnapshot, check: &CheckResult) -> Summary {
    let failing: foldhash::HashSet<(&str, &str)> = check
        .findings
        .iter()
        .map(|f| (f.resource_arn.as_str(), f.region.as_str()))
        .collect();
    let unjudged: foldhash::HashSet<(&str, &str)> = check
        .not_evaluated
        .iter()
        .map(|n| (n.resource_arn.as_str(), n.region.as_str()))
        .collect();
    let (mut failing_in_scope, mut not_evaluated) = (0, 0);
    for (arn, region) in &scope.units {
        let unit = (arn.as_ref(), region.as_ref());
        if failing.contains(&unit) {
            failing_in_scope += 1;
        } else if unjudged.contains(&unit) {
            not_evaluated += 1;
        }
    }
    let in_scope = scope.units.len();
    let compliant = in_scope - failing_in_scope - not_evaluated;
    let mut unjudged_by_rule: BTreeMap<RuleId, usize> = BTreeMap::new();
    for n in &check.not_evaluated {
        *unjudged_by_rule.entry(n.rule_id).or_default() += 1;
    }

    let mut by_severity: BTreeMap<Severity, usize> =
        Severity::ALL.into_iter().map(|s| (s, 0)).collect();
    let mut failed: BTreeMap<RuleId, usize> = BTreeMap::new();
    for f in &check.findings {
        *by_severity.entry(f.severity).or_default() += 1;
        *failed.entry(f.rule_id).or_default() += 1;
    }
    let mut exempted: BTreeMap<RuleId, usize> = BTreeMap::new();
    for e in &check.exempted {
        *exempted.entry(e.finding.rule_id).or_default() += 1;
    }
    let by_rule = scope
        .evaluated
        .iter()
        .map(|(rule, &applies)| {
            let n = failed.get(rule).copied().unwrap_or(0);
            let unjudged = unjudged_by_rule.get(rule).copied().unwrap_or(0);
            let evaluated = applies.saturating_sub(unjudged);
            (
                *rule,
                RuleSummary {
                    evaluated,
                    findings: n,
                    exempted: exempted.get(rule).copied().unwrap_or(0),
                    not_evaluated: unjudged,
                    pass_rate: pct(evaluated.saturating_sub(n), evaluated),
                },
            )
        })
        .collect();
    Summary {
        total_resources: shape.total_resources,
        by_type: shape.by_type,
        by_region: shape.by_region,
        by_age: shape.by_age,
        in_scope_resources: in_scope,
        compliant_resources: compliant,
        not_evaluated_resources: not_evaluated,
        compliance_score: pct(compliant, in_scope - not_evaluated),
        by_severity,
        by_rule,
        findings: check.findings.len(),
        exempted: check.exempted.len(),
        orphans: check.orphans.len(),
        orphans_monthly_cost_usd: round2(
            check
                .orphans
                .iter()
                .filter_map(|o| o.estimated_monthly_cost_usd)
                .sum(),
        ),
    }
}

/// The history entry this report leaves behind.
pub fn history_entry(report: &Report) -> HistoryEntry {
    let mut keyed: Vec<(FindingKey, Severity)> = report
        .findings
        .iter()
        .map(|f| (finding_key(f), f.severity))
        .collect();
    keyed.sort();
    let (findings, severities): (Vec<FindingKey>, Vec<Severity>) = keyed.into_iter().unzip();
    let mut not_evaluated: Vec<FindingKey> = report
        .not_evaluated
        .iter()
        .map(|n| key(n.rule_id, &n.resource_arn, &n.resource_type, &n.region))
        .chain(report.trend.unknown.iter().cloned())
        .collect();
    not_evaluated.sort();
    not_evaluated.dedup();
    let mut entry = HistoryEntry {
        schema_version: HISTORY_SCHEMA_VERSION,
        generated_at: report.generated_at,
        account_id: report.account_id.clone(),
        inventory_generated_at: Some(report.inventory_generated_at),
        partial: report.partial,
        compliance_score: report.summary.compliance_score,
        in_scope_resources: report.summary.in_scope_resources,
        compliant_resources: report.summary.compliant_resources,
        not_evaluated_resources: report.summary.not_evaluated_resources,
        by_severity: report.summary.by_severity.clone(),
        by_rule: report
            .summary
            .by_rule
            .iter()
            .map(|(r, s)| (*r, s.findings))
            .collect(),
        findings,
        severities,
        exempted: {
            let mut keys: Vec<FindingKey> = report
                .exempted
                .iter()
                .map(|e| finding_key(&e.finding))
                .collect();
            keys.sort();
            keys.dedup();
            keys
        },
        not_evaluated,
        inventory: InventorySnapshot {
            total_resources: report.summary.total_resources,
            by_type: report.summary.by_type.clone(),
            by_region: report.summary.by_region.clone(),
            by_age: report.summary.by_age.clone(),
        },
        unread: UnreadRead::group(&report.errors),
        idle_monthly_saving_usd: Some(report.lifecycle.estimated_monthly_saving_usd),
        first_seen: Vec::new(),
        still_open: Vec::new(),
        resolved: BTreeMap::new(),
        frameworks: report
            .frameworks
            .iter()
            .map(|f| {
                (
                    f.id.clone(),
                    f.requirements
                        .iter()
                        .map(|r| (r.id.clone(), r.status))
                        .collect(),
                )
            })
            .collect(),
    };
    // A report just built carries what its trend knew of the open findings (schema 3); one
    // read back does not, and its entry is written as schema 2 wrote it.
    match &report.carried {
        Some(c) if c.first_seen.len() == entry.findings.len() => entry.carry(c.clone()),
        _ => entry.schema_version = 2,
    }
    entry
}

/// Everything a report reads of an inventory, taken before the findings are read: the
/// inventory itself (at a million resources a gigabyte in memory) is freed first, so it is
/// never in memory beside the findings.
#[derive(Debug, Clone)]
pub struct InventoryDigest {
    /// The account.
    account_id: String,
    /// When the inventory was taken.
    generated_at: DateTime<Utc>,
    /// Whether the scan was partial.
    partial: bool,
    /// What the scan cost and which unit took longest.
    scan: ScanSummary,
    /// What the scan could not read.
    errors: Vec<ScanError>,
    /// The inventory's shape.
    shape: InventorySnapshot,
    /// What the rules judge, each unit's ARN and region copied out of the inventory.
    scope: Scope<'static>,
    /// The cost section.
    cost: CostReport,
    /// The lifecycle section.
    lifecycle: Lifecycle,
    /// The account's past findings on resources this scan did not see and may have missed (a
    /// read of their service and region failed): unknown now, not resolved.
    missed: BTreeSet<FindingKey>,
    /// The frameworks the policy enables, each with the requirements its custom rules declare.
    frameworks: Vec<(&'static Framework, BTreeMap<RuleId, Vec<String>>)>,
    /// Per rule in force, the failed list calls that may have hidden resources from it.
    unlisted: BTreeMap<RuleId, Vec<String>>,
}

impl InventoryDigest {
    /// Whether `check` was made from this inventory under `policy`.
    pub fn matches(&self, check: &CheckResult, policy: &Policy) -> Result<(), Mismatch> {
        check.belongs_to(&self.account_id, self.generated_at, policy)
    }
}

/// Digests `inventory` for a report under `policy` as of `now`, with the account's past runs
/// `past` ([`PastRuns::for_inventory`]), from which it takes the past findings on resources the
/// scan may have missed (those it did not see where its reads failed).
pub fn digest(
    inventory: &Inventory,
    policy: &Policy,
    past: &mut PastRuns,
    prices: &PriceTable,
    now: DateTime<Utc>,
) -> InventoryDigest {
    // The score's scope and the cost are independent passes over a whole inventory: one on
    // each core.
    let ((cost, lifecycle), (scope, shape, missed)) = crate::side_by_side(
        || {
            (
                cost_report(inventory, policy, prices, now),
                assess(inventory, &policy.lifecycle, prices),
            )
        },
        || {
            (
                scope(inventory, policy, now).into_owned(),
                snapshot(inventory),
                missed(inventory, past),
            )
        },
    );
    InventoryDigest {
        account_id: inventory.account_id.clone(),
        generated_at: inventory.generated_at,
        partial: inventory.is_partial(),
        scan: ScanSummary::of(&inventory.stats),
        errors: inventory.errors.clone(),
        shape,
        scope,
        cost,
        lifecycle,
        missed,
        frameworks: enabled_frameworks(policy),
        unlisted: crate::rules::unlisted(inventory, policy),
    }
}

/// The frameworks `policy` enables, each with the requirements its custom rules declare.
fn enabled_frameworks(policy: &Policy) -> Vec<(&'static Framework, BTreeMap<RuleId, Vec<String>>)> {
    policy
        .frameworks
        .enabled
        .iter()
        // The policy's validation admitted only shipped frameworks.
        .filter_map(|id| crate::frameworks::find(id).ok().flatten())
        .map(|fw| {
            let custom = policy
                .custom_rules
                .iter()
                .filter_map(|r| r.frameworks.get(&fw.id).map(|ids| (r.id, ids.clone())))
                .collect();
            (fw, custom)
        })
        .collect()
}

/// The account's past findings on resources `inventory` does not hold and may have missed.
fn missed(inventory: &Inventory, past: &mut PastRuns) -> BTreeSet<FindingKey> {
    let mut keys = past.take_missable();
    // Only a report with such past findings needs the set of what this scan saw.
    if keys.is_empty() {
        return keys;
    }
    let seen: foldhash::HashSet<&str> =
        inventory.resources.iter().map(|r| r.arn.as_str()).collect();
    keys.retain(|(_, arn)| !seen.contains(arn.split('#').next().unwrap_or(arn)));
    keys
}

/// What a report is built from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// What the report reads of the scanned inventory ([`digest`]).
    pub inventory: InventoryDigest,
    /// The check's result over it, moved into the report (at a million resources its findings
    /// are hundreds of megabytes: never copied).
    pub check: CheckResult,
    /// The account's past runs the trend compares with (the same the digest was given).
    pub past: PastRuns,
    /// The report time.
    pub now: DateTime<Utc>,
}

/// Builds the report.
pub fn build(input: ReportInput) -> Report {
    let ReportInput {
        inventory,
        check,
        past,
        now,
    } = input;
    let InventoryDigest {
        account_id,
        generated_at,
        partial,
        scan,
        errors,
        shape,
        scope,
        cost,
        lifecycle,
        missed,
        frameworks,
        unlisted,
    } = inventory;
    let in_force: BTreeSet<RuleId> = scope.evaluated.keys().copied().collect();
    let (summary, recommendations) = crate::side_by_side(
        || summary_of(&scope, shape, &check),
        || recommendations(&check.findings),
    );
    // Nothing below reads the scope (a million units at a million resources).
    let _freeing = crate::free_aside(scope);
    let mut report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        generated_at: now,
        account_id,
        inventory_generated_at: generated_at,
        partial: partial || check.partial,
        summary,
        scan,
        findings: check.findings,
        exempted: check.exempted,
        not_evaluated: check.not_evaluated,
        orphans: check.orphans,
        recommendations,
        cost,
        lifecycle,
        trend: Trend::default(),
        notes: check.notes,
        errors,
        carried: None,
        frameworks: Vec::new(),
    };
    report.frameworks = frameworks
        .iter()
        .map(|(fw, custom)| {
            let judged = Judged {
                in_force: &in_force,
                findings: &report.findings,
                not_evaluated: &report.not_evaluated,
                unlisted: &unlisted,
            };
            crate::frameworks::assess(fw, custom, judged)
        })
        .collect();
    let mut current = history_entry(&report);
    current.not_evaluated.extend(
        missed
            .into_iter()
            .filter(|k| current.findings.binary_search(k).is_err()),
    );
    current.not_evaluated.sort();
    current.not_evaluated.dedup();
    let (trend, carried) = past.trend_and_carry(&current);
    report.trend = trend;
    report.carried = Some(carried);
    report
}
