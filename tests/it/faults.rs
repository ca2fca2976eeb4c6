//! Verdicts under injected faults: reads that are denied, services denied in one region,
//! throttling and dropped connections everywhere, slow and truncated answers. Whatever fails,
//! no finding is made from data that was not read, and nothing that was read is lost.

use crate::fresh_account;
use crate::scan::scan_through;
use infraqa_core::check::{CheckResult, check};
use infraqa_core::{Inventory, Policy, RuleId};
use infraqa_tests::emulator::TestAccount;
use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_tests::seed::{Estate, PRIMARY_REGION, SECONDARY_REGION, seed_demo_estate};
use std::collections::BTreeSet;

type Key = (RuleId, String);

struct Seeded {
    emulator: infraqa_tests::emulator::Emulator,
    account: TestAccount,
    policy: Policy,
    clean: CheckResult,
    clean_inventory: Inventory,
}

/// A seeded account and the verdicts of a clean scan of it (through a proxy that injects
/// nothing, so both scans see the same endpoint).
async fn seeded() -> Seeded {
    let (emulator, account) = fresh_account().await;
    let estate: Estate = seed_demo_estate(&account.clients().await).await.unwrap();
    let policy = Policy::from_toml(&estate.policy_toml(), "demo-policy.toml").unwrap();
    let proxy = FaultProxy::start(emulator.url(), vec![]).await.unwrap();
    let clean_inventory = scan_through(&proxy, &account, 3).await;
    assert!(
        clean_inventory.errors.is_empty(),
        "{:#?}",
        clean_inventory.errors
    );
    let clean = check(&clean_inventory, &policy, chrono::Utc::now());
    assert!(clean.not_evaluated.is_empty(), "{:#?}", clean.not_evaluated);
    Seeded {
        emulator,
        account,
        policy,
        clean,
        clean_inventory,
    }
}

impl Seeded {
    async fn scan_with(&self, faults: Vec<Fault>, max_attempts: u32) -> (Inventory, CheckResult) {
        let proxy = FaultProxy::start(self.emulator.url(), faults)
            .await
            .unwrap();
        let inv = scan_through(&proxy, &self.account, max_attempts).await;
        let result = check(&inv, &self.policy, chrono::Utc::now());
        (inv, result)
    }
}

fn findings(r: &CheckResult) -> BTreeSet<Key> {
    r.findings
        .iter()
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect()
}

fn not_evaluated(r: &CheckResult) -> BTreeSet<Key> {
    r.not_evaluated
        .iter()
        .map(|n| (n.rule_id, n.resource_arn.clone()))
        .collect()
}

/// No false positive: every finding made under faults is one the clean scan made too.
fn assert_no_finding_from_missing_data(clean: &CheckResult, faulty: &CheckResult) {
    let (faulty, clean) = (findings(faulty), findings(clean));
    let extra: Vec<&Key> = faulty.difference(&clean).collect();
    assert!(
        extra.is_empty(),
        "findings the clean scan did not make: {extra:#?}"
    );
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn denied_bucket_and_iam_reads_leave_resources_not_evaluated_never_judged() {
    let s = seeded().await;
    let denied = |op: &str| Fault {
        service: Some("s3".into()),
        ..Fault::on(op, FaultAction::AccessDenied)
    };
    let faults = vec![
        denied("GetBucketEncryption"),
        denied("GetPublicAccessBlock"),
        denied("GetBucketLogging"),
        denied("GetBucketPolicyStatus"),
        denied("GetBucketAcl"),
        Fault::on("GetPolicyVersion", FaultAction::AccessDenied),
    ];
    let (inv, result) = s.scan_with(faults, 2).await;

    assert!(inv.is_partial());
    let codes: BTreeSet<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.operation.as_str(), e.code.as_str()))
        .collect();
    for op in [
        "GetBucketEncryption",
        "GetPublicAccessBlock",
        "GetBucketLogging",
    ] {
        assert!(codes.contains(&(op, "AccessDenied")), "{op}: {codes:?}");
    }
    assert!(
        codes.contains(&("GetPolicyVersion", "AccessDenied")),
        "{codes:?}"
    );

    assert_no_finding_from_missing_data(&s.clean, &result);
    // Every clean finding is still made (what was read decides) or is not evaluated, with the
    // failed read: nothing was silently passed.
    let unjudged = not_evaluated(&result);
    let made = findings(&result);
    let lost: Vec<Key> = findings(&s.clean)
        .into_iter()
        .filter(|k| !made.contains(k) && !unjudged.contains(k))
        .collect();
    assert!(
        lost.is_empty(),
        "clean findings that silently passed: {lost:#?}"
    );

    let buckets = inv
        .resources
        .iter()
        .filter(|r| r.resource_type == infraqa_core::ResourceType::S3Bucket)
        .count();
    let rule_count = |rule: RuleId| unjudged.iter().filter(|(r, _)| *r == rule).count();
    assert_eq!(
        rule_count(RuleId::S3Encryption),
        buckets,
        "no bucket's encryption was read"
    );
    assert_eq!(rule_count(RuleId::S3PublicAccess), buckets);
    assert!(
        !result
            .findings
            .iter()
            .any(|f| matches!(f.rule_id, RuleId::S3Encryption | RuleId::S3PublicAccess)),
        "no bucket finding without its configuration"
    );
    for n in &result.not_evaluated {
        assert!(n.missing.iter().all(|e| e.code == "AccessDenied"), "{n:#?}");
    }
    // A role whose only policy is AWS-managed cannot be judged; one with a readable inline
    // grant still is.
    let role_arn = |name: &str| {
        inv.resources
            .iter()
            .find(|r| r.id == name)
            .map(|r| r.arn.clone())
            .unwrap()
    };
    assert!(unjudged.contains(&(RuleId::IamLeastPrivilege, role_arn("break-glass-admin"))));
    assert!(findings(&result).contains(&(RuleId::IamLeastPrivilege, role_arn("legacy-notaction"))));
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn one_service_denied_in_one_region_leaves_every_other_unit_complete() {
    let s = seeded().await;
    let faults =
        vec![Fault::on_service("rds", FaultAction::AccessDenied).in_region(SECONDARY_REGION)];
    let (inv, result) = s.scan_with(faults, 2).await;

    let units: BTreeSet<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.region.as_str(), e.service.as_str()))
        .collect();
    assert_eq!(units, BTreeSet::from([(SECONDARY_REGION, "rds")]));
    let lost: Vec<&str> = s
        .clean_inventory
        .resources
        .iter()
        .filter(|c| !inv.resources.iter().any(|r| r.arn == c.arn))
        .map(|c| c.arn.as_str())
        .collect();
    assert!(
        !lost.is_empty()
            && lost
                .iter()
                .all(|arn| arn.starts_with(&format!("arn:aws:rds:{SECONDARY_REGION}:"))),
        "only that region's databases are missing: {lost:#?}"
    );
    let others = |r: &CheckResult| -> BTreeSet<Key> {
        findings(r)
            .into_iter()
            .filter(|(_, arn)| !lost.contains(&arn.as_str()))
            .collect()
    };
    assert_eq!(
        others(&result),
        others(&s.clean),
        "every other verdict is unchanged"
    );
    assert_no_finding_from_missing_data(&s.clean, &result);
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn throttling_and_dropped_connections_everywhere_change_no_verdict() {
    let s = seeded().await;
    let faults = vec![
        Fault::everywhere(FaultAction::Throttle).rate(3, 10),
        Fault::everywhere(FaultAction::Drop).rate(1, 20),
    ];
    let (inv, result) = s.scan_with(faults, 8).await;
    assert!(inv.errors.is_empty(), "{:#?}", inv.errors);
    assert_eq!(findings(&result), findings(&s.clean));
    assert!(result.not_evaluated.is_empty());
    let orphans = |r: &CheckResult| -> BTreeSet<String> {
        r.orphans.iter().map(|o| o.resource_arn.clone()).collect()
    };
    assert_eq!(orphans(&result), orphans(&s.clean));
    assert!(
        inv.stats.total_calls() > s.clean_inventory.stats.total_calls(),
        "the retries are counted"
    );
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn slow_and_truncated_answers_are_retried_or_recorded_never_judged() {
    let s = seeded().await;
    let faults = vec![
        // Past the attempt timeout once: the retry succeeds.
        Fault::on(
            "DescribeVpcs",
            FaultAction::Delay(std::time::Duration::from_secs(3)),
        )
        .times(1),
        // A body cut short on every answer: the call fails and is recorded.
        Fault::on("DescribeSecurityGroups", FaultAction::Truncate).in_region(SECONDARY_REGION),
    ];
    let proxy = FaultProxy::start(s.emulator.url(), faults).await.unwrap();
    let mut options = s.account.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    options.max_attempts = 3;
    options.initial_backoff = std::time::Duration::from_millis(5);
    options.attempt_timeout = std::time::Duration::from_secs(1);
    let scope = infraqa_core::policy::RegionScope::List(s.clean_inventory.regions.clone());
    let clients = infraqa_aws::AwsClients::load(options).await;
    let inv = infraqa_aws::scan::scan(&clients, &scope, &s.policy, &infraqa_aws::scan::Quiet)
        .await
        .unwrap();
    let result = check(&inv, &s.policy, chrono::Utc::now());

    let sgs = |i: &Inventory, region: &str| {
        i.resources
            .iter()
            .filter(|r| {
                r.resource_type == infraqa_core::ResourceType::Ec2SecurityGroup
                    && r.region == region
            })
            .count()
    };
    assert_eq!(sgs(&inv, SECONDARY_REGION), 0, "no half-read list");
    assert_eq!(
        sgs(&inv, PRIMARY_REGION),
        sgs(&s.clean_inventory, PRIMARY_REGION)
    );
    let failed: Vec<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.region.as_str(), e.operation.as_str()))
        .collect();
    assert_eq!(
        failed,
        [(SECONDARY_REGION, "DescribeSecurityGroups")],
        "{:#?}",
        inv.errors
    );
    assert_eq!(
        inv.stats.api_calls["ec2"]["DescribeVpcs"],
        2 + 1,
        "one timed-out attempt retried"
    );
    assert_no_finding_from_missing_data(&s.clean, &result);
    let vpcs = |i: &Inventory| {
        i.resources
            .iter()
            .filter(|r| r.resource_type == infraqa_core::ResourceType::Ec2Vpc)
            .count()
    };
    assert_eq!(vpcs(&inv), vpcs(&s.clean_inventory));
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn with_a_round_trip_per_call_the_scan_reads_the_same_and_times_every_unit() {
    use infraqa_tests::fault_proxy::Latency;
    let s = seeded().await;
    let round_trip = std::time::Duration::from_millis(150);
    let proxy = FaultProxy::with_latency(s.emulator.url(), vec![], Latency::fixed(round_trip))
        .await
        .unwrap();
    let slow = scan_through(&proxy, &s.account, 3).await;
    assert!(slow.errors.is_empty(), "{:#?}", slow.errors);
    let arns = |inv: &Inventory| -> BTreeSet<String> {
        inv.resources.iter().map(|r| r.arn.clone()).collect()
    };
    assert_eq!(arns(&slow), arns(&s.clean_inventory));

    // Every unit: the account-wide ones (the buckets outside the scanned regions among them)
    // and eight per region (usage among them: both regions have metered resources), each at
    // least one round trip.
    let units: BTreeSet<(String, String)> = slow
        .stats
        .units
        .iter()
        .map(|u| (u.service.clone(), u.region.clone()))
        .collect();
    let mut expected: BTreeSet<(String, String)> =
        [("iam", "global"), ("s3", "global"), ("s3control", "global")]
            .map(|(s, r)| (s.to_owned(), r.to_owned()))
            .into();
    for region in [PRIMARY_REGION, SECONDARY_REGION] {
        for service in [
            "cloudtrail",
            "cloudwatch",
            "ec2",
            "lambda",
            "logs",
            "rds",
            "s3",
            "tagging",
        ] {
            expected.insert((service.to_owned(), region.to_owned()));
        }
    }
    assert_eq!(units, expected);
    let floor = u64::try_from(round_trip.as_millis()).unwrap();
    assert!(
        slow.stats.units.iter().all(|u| u.duration_ms >= floor),
        "{:?}",
        slow.stats.units
    );
    let longest = slow.stats.longest_unit().unwrap();
    assert_eq!(
        longest, &slow.stats.units[0],
        "units are listed longest first"
    );
    assert!(slow.stats.duration_ms >= longest.duration_ms);
    assert!(
        infraqa_core::report::ScanSummary::of(&slow.stats)
            .describe()
            .contains(&format!(
                "longest unit: {} in {}",
                longest.service, longest.region
            ))
    );
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_recorded_scan_replays_whole_without_the_emulator() {
    use infraqa_tests::fault_proxy::{Latency, Recording, Replay};
    let s = seeded().await;
    let recording = Recording::new();
    let recorder = FaultProxy::with_replay(
        s.emulator.url(),
        vec![],
        Latency::default(),
        Replay::Record(recording.clone()),
    )
    .await
    .unwrap();
    let recorded = scan_through(&recorder, &s.account, 3).await;
    assert!(recorded.errors.is_empty(), "{:#?}", recorded.errors);
    assert!(!recording.is_empty());

    // Nothing listens upstream: an answer not in the recording would fail the read.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let replayer = FaultProxy::with_replay(
        &upstream,
        vec![],
        Latency::fixed(std::time::Duration::from_millis(20)),
        Replay::Serve(recording),
    )
    .await
    .unwrap();
    let replayed = scan_through(&replayer, &s.account, 1).await;
    assert!(replayed.errors.is_empty(), "{:#?}", replayed.errors);
    assert_eq!(replayer.replayed(), replayer.requests());
    assert_eq!(replayer.forwarded(), 0);
    let by_arn = |inv: &Inventory| {
        inv.resources
            .iter()
            .map(|r| (r.arn.clone(), serde_json::to_value(r).unwrap()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(by_arn(&replayed), by_arn(&recorded));
    assert_eq!(
        findings(&check(&replayed, &s.policy, chrono::Utc::now())),
        findings(&s.clean)
    );
}
