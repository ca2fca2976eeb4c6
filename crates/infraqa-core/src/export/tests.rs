use super::*;
use crate::check::check;
use crate::model::{Resource, ResourceDetails, ResourceType};
use crate::prices::PriceTable;
use crate::report::{ReportInput, build, digest, history_entry};
use crate::rules::testkit::{self, ACCOUNT, scan_error};
use crate::trend::PastRuns;
use chrono::Duration;

/// Only `tags-required` runs.
const POLICY: &str = r#"
[tags]
required = ["Owner"]
[rules.s3-encryption]
enabled = false
[rules.s3-public-access]
enabled = false
[rules.ec2-approved-ami]
enabled = false
[rules.sg-open-ingress]
enabled = false
[rules.iam-least-privilege]
enabled = false
[rules.region-approved]
enabled = false
[rules.logging-enabled]
enabled = false
[rules.cloudtrail-enabled]
enabled = false
"#;

fn volume(id: &str, region: &str, tags: &[(&str, &str)]) -> Resource {
    testkit::resource(
        ResourceType::Ec2Volume,
        id,
        region,
        tags,
        ResourceDetails::Generic(Default::default()),
    )
}

fn bucket(id: &str) -> Resource {
    testkit::resource(
        ResourceType::Other("sqs:queue".into()),
        id,
        "us-east-1",
        &[],
        ResourceDetails::Generic(Default::default()),
    )
}

struct Done {
    check: CheckResult,
    inventory: Inventory,
    entry: HistoryEntry,
}

/// A run of `policy` over `resources` `day` days after the first, with the past runs' entries.
fn run(
    policy: &str,
    resources: Vec<Resource>,
    day: i64,
    past: &[HistoryEntry],
    errors: Vec<crate::ScanError>,
) -> Done {
    let policy = testkit::policy(policy);
    let mut inventory = testkit::inventory(resources);
    inventory.generated_at += Duration::days(day);
    inventory.errors = errors;
    let now = inventory.generated_at;
    let check = check(&inventory, &policy, now);
    let mut runs = PastRuns::of(&inventory, past, now, 12);
    let digested = digest(&inventory, &policy, &mut runs, PriceTable::embedded(), now);
    let report = build(ReportInput {
        inventory: digested,
        check: check.clone(),
        past: runs,
        now,
    });
    Done {
        check,
        inventory,
        entry: history_entry(&report),
    }
}

impl Done {
    /// What this run sends, given what was sent `before`.
    fn plan(&self, before: &Sent) -> Plan {
        let scanned = Scanned::of(&self.inventory, before);
        let run = Run {
            concluded: Concluded::of_check(&self.check),
            entry: &self.entry,
            scanned: &scanned,
        };
        plan(run, before, self.inventory.generated_at)
    }

    /// Everything sent, all accepted.
    fn sent(&self, before: &Sent) -> (Plan, Sent) {
        let plan = self.plan(before);
        let outcome = Outcome {
            accepted: plan
                .open
                .iter()
                .chain(&plan.closed)
                .map(|r| r.id.clone())
                .collect(),
            failed: Vec::new(),
        };
        let after = after_import(&plan, before, &outcome);
        (plan, after)
    }
}

fn closed(plan: &Plan) -> Vec<(String, &'static str)> {
    plan.closed
        .iter()
        .map(|r| {
            let id = r
                .resource_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            (id, r.closed.as_ref().map_or("open", Closed::as_str))
        })
        .collect()
}

#[test]
fn fixed_deleted_and_exempted_close_and_unread_stays_untouched() {
    let first = run(
        POLICY,
        vec![
            volume("vol-fixed", "us-east-1", &[]),
            volume("vol-gone", "us-east-1", &[]),
            volume("vol-exempt", "us-east-1", &[]),
            volume("vol-unread", "eu-west-1", &[]),
            volume("vol-open", "us-east-1", &[]),
        ],
        0,
        &[],
        Vec::new(),
    );
    let (plan1, sent1) = first.sent(&Sent::empty(ACCOUNT));
    assert_eq!(plan1.open.len(), 5);
    assert!(plan1.closed.is_empty() && plan1.untouched.is_empty());
    assert_eq!(sent1.records.len(), 5);

    let exempt = format!(
        "{POLICY}\n[[exemptions]]\nrule = \"tags-required\"\nresource = \"arn:aws:ec2:us-east-1:{ACCOUNT}:vol-exempt\"\nreason = \"legacy volume, ticket OPS-1\"\n"
    );
    let second = run(
        &exempt,
        vec![
            volume("vol-fixed", "us-east-1", &[("Owner", "team-a")]),
            volume("vol-exempt", "us-east-1", &[]),
            volume("vol-open", "us-east-1", &[]),
        ],
        1,
        std::slice::from_ref(&first.entry),
        vec![scan_error("eu-west-1", "ec2", "DescribeVolumes")],
    );
    let (plan2, sent2) = second.sent(&sent1);
    let mut got = closed(&plan2);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("vol-exempt".to_owned(), "exempted"),
            ("vol-fixed".to_owned(), "resolved"),
            ("vol-gone".to_owned(), "deleted"),
        ]
    );
    assert_eq!(plan2.untouched.len(), 1, "{:?}", plan2.untouched);
    assert_eq!(plan2.untouched[0].1, Unjudged::Unread);
    assert!(plan2.untouched[0].0.resource_arn.ends_with("vol-unread"));
    assert_eq!(
        plan2.untouched[0].0,
        sent1
            .records
            .iter()
            .find(|r| r.resource_arn.ends_with("vol-unread"))
            .cloned()
            .unwrap()
    );
    // The open one keeps its first-seen time; Security Hub holds it and the untouched one.
    let open = plan2
        .open
        .iter()
        .find(|r| r.resource_arn.ends_with("vol-open"))
        .unwrap();
    assert_eq!(open.first_seen, first.inventory.generated_at);
    assert_eq!(open.last_seen, second.inventory.generated_at);
    assert_eq!(sent2.records.len(), 2);

    // A third, complete run judges the unread volume again: gone, so closed once.
    let third = run(
        &exempt,
        vec![volume("vol-open", "us-east-1", &[])],
        2,
        &[first.entry.clone(), second.entry.clone()],
        Vec::new(),
    );
    let (plan3, sent3) = third.sent(&sent2);
    assert_eq!(closed(&plan3), vec![("vol-unread".to_owned(), "deleted")]);
    assert_eq!(sent3.records.len(), 1);
    // Nothing closed is closed twice.
    let (plan4, _) = third.sent(&sent3);
    assert!(plan4.closed.is_empty());
}

#[test]
fn a_rule_the_run_did_not_run_and_a_region_it_did_not_scan_are_left_alone() {
    let first = run(
        POLICY,
        vec![
            volume("vol-a", "us-east-1", &[]),
            volume("vol-b", "eu-west-1", &[]),
        ],
        0,
        &[],
        Vec::new(),
    );
    let (_, sent1) = first.sent(&Sent::empty(ACCOUNT));
    let off = format!("{POLICY}\n[rules.tags-required]\nenabled = false\n");
    let second = run(
        &off,
        vec![],
        1,
        std::slice::from_ref(&first.entry),
        Vec::new(),
    );
    let (plan, after) = second.sent(&sent1);
    assert!(plan.closed.is_empty());
    assert!(
        plan.untouched
            .iter()
            .all(|(_, why)| *why == Unjudged::RuleNotRun)
    );
    assert_eq!(after.records, sent1.records);

    let mut third = run(
        POLICY,
        vec![volume("vol-a", "us-east-1", &[])],
        1,
        std::slice::from_ref(&first.entry),
        Vec::new(),
    );
    third.inventory.regions = vec!["us-east-1".to_owned()];
    let (plan, _) = third.sent(&sent1);
    assert_eq!(plan.untouched.len(), 1);
    assert_eq!(plan.untouched[0].1, Unjudged::RegionNotScanned);
}

#[test]
fn resources_only_the_tagging_api_finds_are_unknown_when_it_could_not_be_read() {
    let first = run(POLICY, vec![bucket("queue-a")], 0, &[], Vec::new());
    let (_, sent1) = first.sent(&Sent::empty(ACCOUNT));
    assert_eq!(sent1.records.len(), 1);
    let second = run(
        POLICY,
        vec![],
        1,
        std::slice::from_ref(&first.entry),
        vec![scan_error("us-east-1", "tagging", "GetResources")],
    );
    let (plan, _) = second.sent(&sent1);
    assert!(plan.closed.is_empty(), "{:?}", plan.closed);
    assert_eq!(plan.untouched.len(), 1);
}

#[test]
fn a_refused_record_keeps_what_security_hub_still_holds() {
    let first = run(
        POLICY,
        vec![
            volume("vol-a", "us-east-1", &[]),
            volume("vol-b", "us-east-1", &[]),
        ],
        0,
        &[],
        Vec::new(),
    );
    let (_, sent1) = first.sent(&Sent::empty(ACCOUNT));
    let second = run(
        POLICY,
        vec![
            volume("vol-a", "us-east-1", &[]),
            volume("vol-b", "us-east-1", &[("Owner", "x")]),
            volume("vol-c", "us-east-1", &[]),
        ],
        1,
        std::slice::from_ref(&first.entry),
        Vec::new(),
    );
    let plan = second.plan(&sent1);
    let b = plan.closed[0].id.clone();
    let c = plan
        .open
        .iter()
        .find(|r| r.resource_arn.ends_with("vol-c"))
        .unwrap()
        .id
        .clone();
    let outcome = Outcome {
        accepted: plan
            .open
            .iter()
            .map(|r| r.id.clone())
            .filter(|id| *id != c)
            .collect(),
        failed: vec![],
    };
    let after = after_import(&plan, &sent1, &outcome);
    let ids: Vec<&str> = after.records.iter().map(|r| r.id.as_str()).collect();
    // The close of b was refused: b is still active there; c never got there.
    assert!(ids.contains(&b.as_str()));
    assert!(!ids.contains(&c.as_str()));
    assert_eq!(
        after.records.iter().find(|r| r.id == b).unwrap().closed,
        None
    );
}

#[test]
fn ids_are_deterministic_and_bounded_and_texts_are_cut_with_a_marker() {
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{}", "x".repeat(2000));
    let a = record_id(RuleId::IamLeastPrivilege, ACCOUNT, "global", &arn);
    assert_eq!(
        a,
        record_id(RuleId::IamLeastPrivilege, ACCOUNT, "global", &arn)
    );
    assert_ne!(a, record_id(RuleId::TagsRequired, ACCOUNT, "global", &arn));
    assert!(a.len() < 512, "{a}");
    let long = "policy ".repeat(1000);
    let cut = clip(&long, asff::DESCRIPTION_MAX);
    assert_eq!(cut.chars().count(), asff::DESCRIPTION_MAX);
    assert!(cut.ends_with("[truncated by infraqa]"));
    assert_eq!(clip("short", 10), "short");
}

#[test]
fn asff_and_ocsf_say_open_and_each_way_of_closing() {
    let first = run(
        POLICY,
        vec![volume("vol-a", "us-east-1", &[])],
        0,
        &[],
        Vec::new(),
    );
    let rec = &first.plan(&Sent::empty(ACCOUNT)).open[0];
    let open = asff::finding(rec, "us-east-1");
    assert_eq!(
        (open.record_state.as_str(), open.compliance.status.as_str()),
        ("ACTIVE", "FAILED")
    );
    assert_eq!(
        open.product_arn,
        format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default")
    );
    assert_eq!(open.generator_id, "tags-required");
    assert_eq!(open.resources[0].kind, "AwsEc2Volume");
    assert_eq!(
        open.title,
        "Required tags are present, non-empty and have allowed values."
    );
    let o = ocsf::finding(rec);
    assert_eq!((o.class_uid, o.type_uid, o.status), (2004, 200401, "New"));
    for (why, state, status, ocsf_status) in [
        (Closed::Resolved, "ARCHIVED", "PASSED", "Resolved"),
        (Closed::Deleted, "ARCHIVED", "NOT_AVAILABLE", "Resolved"),
        (
            Closed::Exempted {
                reason: "ok".into(),
            },
            "ARCHIVED",
            "FAILED",
            "Suppressed",
        ),
    ] {
        let mut r = rec.clone();
        r.closed = Some(why);
        let a = asff::finding(&r, "us-east-1");
        assert_eq!(
            (a.record_state.as_str(), a.compliance.status.as_str()),
            (state, status)
        );
        let o = ocsf::finding(&r);
        assert_eq!((o.status, o.activity_id), (ocsf_status, 3));
    }
}

#[test]
fn a_long_policy_in_a_message_is_cut_with_a_marker_and_the_finding_stays_small() {
    let first = run(
        POLICY,
        vec![volume("vol-a", "us-east-1", &[])],
        0,
        &[],
        Vec::new(),
    );
    let mut rec = first.plan(&Sent::empty(ACCOUNT)).open[0].clone();
    rec.message = format!(
        "policy document: {}",
        "{\"Effect\":\"Allow\"}".repeat(20_000)
    );
    rec.remediation = "r".repeat(5_000);
    rec.evidence = "e".repeat(300_000);
    let a = asff::finding(&rec, "us-east-1");
    assert_eq!(a.description.chars().count(), asff::DESCRIPTION_MAX);
    assert!(a.description.ends_with("[truncated by infraqa]"));
    assert_eq!(
        a.remediation.recommendation.text.chars().count(),
        asff::RECOMMENDATION_MAX
    );
    let size = serde_json::to_vec(&a).unwrap().len();
    assert!(
        size < 16 * 1024,
        "{size} bytes, far under Security Hub's 240 KB"
    );
}

#[test]
fn asff_names_the_listed_controls_resources_by_its_own_types() {
    for (ours, theirs) in [
        ("iam:user", "AwsIamUser"),
        ("iam:policy", "AwsIamPolicy"),
        ("kms:key", "AwsKmsKey"),
        ("ec2:network-acl", "AwsEc2NetworkAcl"),
        // The ASFF has a type for EFS access points, none for file systems.
        ("efs:file-system", "Other"),
        ("account", "AwsAccount"),
    ] {
        assert_eq!(super::asff::resource_type(ours), theirs, "{ours}");
    }
}
