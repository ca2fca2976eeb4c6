//! The example custom rules (`examples/custom-rules.toml`) over the demo estate's inventory:
//! exactly what each finds, as a person reading the inventory would conclude.

use infraqa_core::{Policy, RuleId};

fn read(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_example_rules_find_exactly_what_the_demo_estate_plants() {
    let policy = format!(
        "{}\n{}",
        read("../infraqa-report/tests/fixtures/policy.toml"),
        read("../../examples/custom-rules.toml")
    );
    let policy = Policy::from_toml(&policy, "demo + examples").unwrap_or_else(|e| panic!("{e}"));
    let inventory = infraqa_core::document::inventory(
        read("../infraqa-report/tests/fixtures/inventory.json").as_bytes(),
    )
    .unwrap();
    let now = inventory.generated_at;
    let checked = infraqa_core::check::check(&inventory, &policy, now);
    let found = |id: &str| {
        let rule: RuleId = id.parse().unwrap();
        let mut ids: Vec<&str> = checked
            .findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .map(|f| f.resource_arn.rsplit([':', '/']).next().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let table: [(&str, &[&str]); 5] = [
        (
            "no-previous-generation",
            &["i-0124681d25ddff653", "i-0b1b42136ba19ba8d"],
        ),
        (
            "ebs-encrypted",
            &[
                "vol-aec9069e23efa44f9",
                "vol-d3d7e0719ebd124ba",
                "vol-d8a194e2e4c52f2af",
                "vol-f4c38a9ae607821a6",
                "vol-f87442e5c7d5a4d0d",
            ],
        ),
        ("cost-center-format", &["i-0124681d25ddff653"]),
        ("prod-databases-export-logs", &["reports-db"]),
        ("trail-multi-region", &["org-trail"]),
    ];
    for (rule, expected) in table {
        assert_eq!(found(rule), expected, "{rule}");
    }
    assert!(
        checked.not_evaluated.iter().all(|n| !n.rule_id.is_custom()),
        "every example rule judges every resource it applies to: {:?}",
        checked.not_evaluated
    );
    // Their findings count in the score and the per-rule pass rates like any rule's.
    let summary = infraqa_core::report::summarize(&inventory, &checked, &policy, now);
    let cost_center = summary.by_rule[&"cost-center-format".parse::<RuleId>().unwrap()].clone();
    assert_eq!(cost_center.findings, 1);
    assert_eq!(
        cost_center.evaluated,
        inventory
            .resources
            .iter()
            .filter(|r| !r.id.starts_with("AWSServiceRole"))
            .count()
    );
}
