//! The fixed inputs of the report tests: the demo estate's inventory and policy.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use infraqa_core::check::{CheckResult, check};
use infraqa_core::history::HistoryEntry;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, digest};
use infraqa_core::trend::PastRuns;
use infraqa_core::{Inventory, Policy};
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .unwrap()
}

pub fn inventory() -> Inventory {
    serde_json::from_str(&std::fs::read_to_string(fixture("fixtures/inventory.json")).unwrap())
        .unwrap()
}

pub fn policy() -> Policy {
    let path = fixture("fixtures/policy.toml");
    Policy::from_toml(&std::fs::read_to_string(&path).unwrap(), "policy.toml").unwrap()
}

pub fn report(
    inv: &Inventory,
    history: &[HistoryEntry],
    now: DateTime<Utc>,
) -> (CheckResult, Report) {
    report_under(&policy(), inv, history, now)
}

/// [`report`] under `policy`.
pub fn report_under(
    policy: &Policy,
    inv: &Inventory,
    history: &[HistoryEntry],
    now: DateTime<Utc>,
) -> (CheckResult, Report) {
    let checked = check(inv, policy, now);
    let mut past = PastRuns::of(inv, history, now, 12);
    let report = build(ReportInput {
        inventory: digest(inv, policy, &mut past, PriceTable::embedded(), now),
        check: checked.clone(),
        past,
        now,
    });
    (checked, report)
}

/// Two weeks of one account's runs (from Monday 2 November 2026): a finding resolved and found
/// again, one exempted, a partial run, days without a run, a tag write, and a history under
/// Object Lock.
pub fn audit_export() -> infraqa_core::pack::AuditExport {
    use infraqa_core::RuleId::{S3Encryption as Enc, TagsRequired as Tags};
    use infraqa_core::actions::RemediationAction;
    use infraqa_core::history::{InventorySnapshot, UnreadRead};
    use infraqa_core::pack::{EvidenceRetention, audit_export};
    use std::collections::BTreeMap;
    let account = "111111111111";
    let when = |day: u32| {
        Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0)
            .single()
            .unwrap()
    };
    let entry = |day: u32, keys: &[(infraqa_core::RuleId, &str)], unread: Vec<UnreadRead>| {
        let mut by_rule = BTreeMap::new();
        for (rule, _) in keys {
            *by_rule.entry(*rule).or_insert(0) += 1;
        }
        HistoryEntry {
            schema_version: 2,
            generated_at: when(day),
            account_id: account.to_owned(),
            inventory_generated_at: Some(when(day)),
            partial: !unread.is_empty(),
            compliance_score: 100.0 - 10.0 * keys.len() as f64,
            in_scope_resources: 10,
            compliant_resources: 10 - keys.len(),
            not_evaluated_resources: 0,
            by_severity: BTreeMap::new(),
            by_rule,
            findings: keys
                .iter()
                .map(|(r, a)| (*r, format!("arn:aws:s3:::{a}")))
                .collect(),
            exempted: Vec::new(),
            severities: keys
                .iter()
                .map(|(r, _)| {
                    if *r == Tags {
                        infraqa_core::Severity::Medium
                    } else {
                        infraqa_core::Severity::High
                    }
                })
                .collect(),
            not_evaluated: Vec::new(),
            inventory: InventorySnapshot {
                total_resources: 12,
                by_type: BTreeMap::from([("s3:bucket".to_owned(), 12)]),
                by_region: BTreeMap::from([("eu-west-1".to_owned(), 12)]),
                by_age: BTreeMap::from([
                    ("0-30 days".to_owned(), 2),
                    ("over 1 year".to_owned(), 10),
                ]),
            },
            unread,
            idle_monthly_saving_usd: None,
            first_seen: Vec::new(),
            still_open: Vec::new(),
            resolved: BTreeMap::new(),
            frameworks: BTreeMap::new(),
        }
    };
    let denied = UnreadRead {
        service: "s3".into(),
        region: "eu-west-1".into(),
        operation: "GetBucketEncryption".into(),
        code: "AccessDenied".into(),
        count: 2,
    };
    let runs = vec![
        entry(2, &[(Tags, "logs"), (Enc, "data")], vec![]),
        entry(3, &[(Tags, "logs"), (Enc, "data")], vec![denied]),
        entry(5, &[(Tags, "logs")], vec![]),
        entry(9, &[(Tags, "logs"), (Enc, "data")], vec![]),
        {
            // The policy moves the untagged bucket aside: exempted, not fixed.
            let mut last = entry(10, &[(Enc, "data")], vec![]);
            last.exempted = vec![(Tags, "arn:aws:s3:::logs".to_owned())];
            last
        },
    ];
    let tag_write = RemediationAction {
        at: when(9) + chrono::Duration::hours(3),
        account_id: account.to_owned(),
        resource_arn: "arn:aws:s3:::logs".to_owned(),
        action: "tag-write".to_owned(),
        details: BTreeMap::new(),
        actor: Some("arn:aws:sts::111111111111:assumed-role/infraqa-tagger/run".to_owned()),
        tags_before: Some(BTreeMap::new()),
        tags_written: Some(BTreeMap::from([(
            "Owner".to_owned(),
            "platform".to_owned(),
        )])),
        outcome: Some("written".to_owned()),
        error: None,
        event_id: None,
        ..RemediationAction::default()
    };
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let mut x = audit_export(runs, vec![tag_write], day(2), day(15), when(16));
    x.evidence_retention = Some(EvidenceRetention::ObjectLock {
        bucket: "infraqa-evidence".to_owned(),
        mode: "COMPLIANCE".to_owned(),
        days: Some(400),
        years: None,
    });
    x
}
