//! Properties of the report's figures over random estates and policies: whatever the mix of
//! resources and switched-off rules, the score stays a percentage, counts add up, and every
//! finding falls inside the scope that the score and pass rates are computed over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use infraqa_core::check::check;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{ReportInput, build, digest};
use infraqa_core::rules::scope;
use infraqa_core::synthetic::{POLICY, resource};
use infraqa_core::{Policy, RuleId};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn figures_are_consistent_for_any_estate_and_rule_switches(
        picks in proptest::collection::vec(0usize..5_000, 0..120),
        disabled in proptest::collection::vec(0usize..RuleId::ALL.len(), 0..4),
    ) {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let mut inv = infraqa_core::synthetic::inventory(0, at);
        let mut seen = std::collections::BTreeSet::new();
        inv.resources = picks.into_iter().filter(|i| seen.insert(*i)).map(resource).collect();
        let mut text = POLICY.to_owned();
        for d in &disabled {
            let rule = RuleId::ALL[*d];
            if !text.contains(&format!("[rules.{rule}]")) {
                text.push_str(&format!("\n[rules.{rule}]\nenabled = false\n"));
            }
        }
        let policy = Policy::from_toml(&text, "prop.toml").unwrap();
        let checked = check(&inv, &policy, at);
        let mut past = infraqa_core::trend::PastRuns::for_inventory(&inv, at);
        let report = build(ReportInput {
            inventory: digest(&inv, &policy, &mut past, PriceTable::embedded(), at),
            check: checked.clone(),
            past,
            now: at,
        });
        let s = &report.summary;
        prop_assert!(s.compliant_resources <= s.in_scope_resources);
        prop_assert!((0.0..=100.0).contains(&s.compliance_score));
        prop_assert_eq!(s.total_resources, inv.resources.len());
        prop_assert_eq!(s.by_severity.values().sum::<usize>(), report.findings.len());
        prop_assert_eq!(
            s.by_rule.values().map(|r| r.findings).sum::<usize>(),
            report.findings.len(),
            "every finding belongs to an enabled rule"
        );
        for d in &disabled {
            prop_assert!(!s.by_rule.contains_key(&RuleId::ALL[*d]), "a disabled rule is not reported");
        }
        prop_assert!(s.compliant_resources + s.not_evaluated_resources <= s.in_scope_resources);
        let judged = s.in_scope_resources - s.not_evaluated_resources;
        if judged > 0 {
            let expect = (s.compliant_resources as f64 / judged as f64 * 10_000.0).round() / 100.0;
            prop_assert!((s.compliance_score - expect).abs() < 0.006, "score over judged units only");
        }
        prop_assert_eq!(
            s.by_rule.values().map(|r| r.not_evaluated).sum::<usize>(),
            report.not_evaluated.len(),
            "every not-evaluated record belongs to an enabled rule"
        );
        for n in &report.not_evaluated {
            prop_assert!(!n.missing.is_empty(), "{:?}", n);
            prop_assert!(
                !report.findings.iter().any(|f| f.rule_id == n.rule_id && f.resource_arn == n.resource_arn),
                "a rule never both judges and fails to judge a resource: {:?}", n
            );
        }
        for (rule, r) in &s.by_rule {
            prop_assert_eq!(r.evaluated + r.not_evaluated, sc_evaluated(&inv, &policy, at, *rule));
            prop_assert!(r.findings <= r.evaluated, "{:?}", r);
            prop_assert!((0.0..=100.0).contains(&r.pass_rate));
        }
        let sc = scope(&inv, &policy, at);
        for f in &report.findings {
            prop_assert!(sc.units.contains(&(f.resource_arn.as_str().into(), f.region.as_str().into())), "{:?}", f);
        }
        let owner = &report.cost.allocation["Owner"];
        let total: f64 = owner.by_value.iter()
            .chain(std::iter::once(&owner.untagged))
            .map(|r| r.estimated_monthly_cost_usd)
            .sum();
        prop_assert!(
            (total - report.cost.estimated_monthly_total_usd).abs() < 0.01 * (1.0 + inv.resources.len() as f64),
            "allocation rows add up to the total: {} vs {}", total, report.cost.estimated_monthly_total_usd
        );
    }
}

fn sc_evaluated(
    inv: &infraqa_core::Inventory,
    policy: &Policy,
    at: chrono::DateTime<Utc>,
    rule: RuleId,
) -> usize {
    scope(inv, policy, at).evaluated[&rule]
}
