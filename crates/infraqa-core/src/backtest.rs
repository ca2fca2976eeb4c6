//! Backtesting: a policy (typically a new or changed rule) re-evaluated over the inventories
//! of past runs, so that a team sees what it would have found before switching it on.
//!
//! Each run is judged as the checker would have judged it on its day (the evaluation time is
//! the time the inventory was taken, so exemptions expire as they did). Per run: the findings
//! of the rules under test, those new and resolved since the previous run of the same account
//! under the same policy, how that differs from what the run recorded, and the compliance
//! score the whole policy would have given.

use crate::check::check;
use crate::finding::RuleId;
use crate::history::{FindingKey, HistoryEntry};
use crate::inventory::Inventory;
use crate::policy::Policy;
use crate::report::{finding_key, summarize};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One past run under the backtested policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRun {
    /// The account.
    pub account_id: String,
    /// When the run's inventory was taken (and the time it is judged at).
    pub inventory_generated_at: DateTime<Utc>,
    /// Whether that scan was partial.
    pub partial: bool,
    /// Resources (or account-regions) the rules under test judged.
    pub evaluated: usize,
    /// Findings of the rules under test.
    pub findings: usize,
    /// Resources the rules under test could not judge (a read failed, or a custom rule's
    /// expression failed on them).
    pub not_evaluated: usize,
    /// Findings not in the previous run of the account (under this policy); `None` for the
    /// account's first run.
    pub new: Option<usize>,
    /// Findings of the previous run of the account that are gone; `None` for its first run.
    pub resolved: Option<usize>,
    /// Findings the run did not record for these rules (`None` without its history entry).
    pub added_to_recorded: Option<usize>,
    /// Findings the run recorded for these rules that the policy no longer raises.
    pub removed_from_recorded: Option<usize>,
    /// The compliance score the whole policy would have given.
    pub compliance_score: f64,
    /// The score the run recorded.
    pub recorded_score: Option<f64>,
}

/// What the policy would have found in one run: the run's figures and the finding keys of the
/// rules under test (for the next run's new and resolved).
pub fn rerun(
    inventory: &Inventory,
    policy: &Policy,
    rules: &BTreeSet<RuleId>,
    recorded: Option<&HistoryEntry>,
    previous: Option<&BTreeSet<FindingKey>>,
) -> (BacktestRun, BTreeSet<FindingKey>) {
    let at = inventory.generated_at;
    let checked = check(inventory, policy, at);
    let summary = summarize(inventory, &checked, policy, at);
    let keys: BTreeSet<FindingKey> = checked
        .findings
        .iter()
        .filter(|f| rules.contains(&f.rule_id))
        .map(finding_key)
        .collect();
    let evaluated = rules
        .iter()
        .filter_map(|r| summary.by_rule.get(r))
        .map(|s| s.evaluated)
        .sum();
    let not_evaluated = checked
        .not_evaluated
        .iter()
        .filter(|n| rules.contains(&n.rule_id))
        .count();
    let recorded_keys: Option<BTreeSet<&FindingKey>> = recorded.map(|e| {
        e.findings
            .iter()
            .filter(|(rule, _)| rules.contains(rule))
            .collect()
    });
    let run = BacktestRun {
        account_id: inventory.account_id.clone(),
        inventory_generated_at: at,
        partial: inventory.is_partial(),
        evaluated,
        findings: keys.len(),
        not_evaluated,
        new: previous.map(|p| keys.difference(p).count()),
        resolved: previous.map(|p| p.difference(&keys).count()),
        added_to_recorded: recorded_keys
            .as_ref()
            .map(|r| keys.iter().filter(|k| !r.contains(k)).count()),
        removed_from_recorded: recorded_keys
            .as_ref()
            .map(|r| r.iter().filter(|k| !keys.contains(**k)).count()),
        compliance_score: summary.compliance_score,
        recorded_score: recorded.map(|e| e.compliance_score),
    };
    (run, keys)
}

/// The rules a backtest looks at: `only`, or every rule the policy runs; `None` when the
/// policy does not run `only` (not declared, or switched off).
pub fn rules_under_test(policy: &Policy, only: Option<RuleId>) -> Option<BTreeSet<RuleId>> {
    let in_force: BTreeSet<RuleId> = crate::rules::in_force(policy)
        .iter()
        .map(|r| r.id())
        .collect();
    match only {
        None => Some(in_force),
        Some(rule) => in_force.contains(&rule).then(|| BTreeSet::from([rule])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReportInput, build, digest, history_entry};
    use crate::synthetic;
    use chrono::TimeZone;

    const RULE: &str = r#"
[[custom_rules]]
id = "no-stopped-instances"
applies_to = ["ec2:instance"]
condition = "resource.details.state != 'stopped'"
message = "is stopped"
remediation = "Start or terminate it"
"#;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 6, 0, 0).unwrap()
    }

    #[test]
    fn a_new_rule_is_judged_over_past_runs_with_new_resolved_and_the_score() {
        let old = Policy::from_toml(synthetic::POLICY, "old.toml").unwrap();
        let new = Policy::from_toml(&format!("{}{RULE}", synthetic::POLICY), "new.toml").unwrap();
        let id: RuleId = "no-stopped-instances".parse().unwrap();
        // Two runs: the second has more resources (more instances, some stopped).
        let first = synthetic::inventory(60, day(1));
        let second = synthetic::inventory(120, day(2));
        let recorded = |inv: &Inventory| {
            let checked = check(inv, &old, inv.generated_at);
            let mut past = crate::trend::PastRuns::for_inventory(inv, inv.generated_at);
            history_entry(&build(ReportInput {
                inventory: digest(
                    inv,
                    &old,
                    &mut past,
                    crate::prices::PriceTable::embedded(),
                    inv.generated_at,
                ),
                check: checked,
                past,
                now: inv.generated_at,
            }))
        };
        let rules = rules_under_test(&new, Some(id)).unwrap();
        let (one, keys) = rerun(&first, &new, &rules, Some(&recorded(&first)), None);
        let stopped = |inv: &Inventory| {
            inv.resources
                .iter()
                .filter(|r| {
                    matches!(&r.details, crate::model::ResourceDetails::Ec2Instance(i)
                    if i.state == crate::model::InstanceState::Stopped)
                })
                .count()
        };
        assert_eq!(one.findings, stopped(&first));
        assert!(one.findings > 0);
        assert_eq!(
            one.evaluated,
            first
                .resources
                .iter()
                .filter(|r| r.resource_type == crate::model::ResourceType::Ec2Instance)
                .count()
        );
        assert_eq!(
            (one.new, one.resolved),
            (None, None),
            "the first run has nothing to compare with"
        );
        assert_eq!(
            one.added_to_recorded,
            Some(one.findings),
            "the old policy had no such rule"
        );
        assert_eq!(one.removed_from_recorded, Some(0));
        assert!(
            one.compliance_score < one.recorded_score.unwrap(),
            "a new rule that finds something lowers the score"
        );

        let (two, _) = rerun(&second, &new, &rules, None, Some(&keys));
        assert_eq!(two.findings, stopped(&second));
        assert_eq!(two.new, Some(stopped(&second) - stopped(&first)));
        assert_eq!(two.resolved, Some(0));
        assert_eq!((two.added_to_recorded, two.recorded_score), (None, None));

        // Every rule of the policy, when no rule is named.
        let all = rules_under_test(&new, None).unwrap();
        let off: RuleId = "not-declared".parse().unwrap();
        assert_eq!(rules_under_test(&new, Some(off)), None);
        assert!(all.contains(&id) && all.contains(&RuleId::TagsRequired));
        let (every, _) = rerun(&first, &new, &all, Some(&recorded(&first)), None);
        assert_eq!(every.removed_from_recorded, Some(0));
        assert_eq!(every.added_to_recorded, Some(one.findings));
    }
}
