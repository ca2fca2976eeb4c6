//! CIS AWS Foundations against a seeded emulator: every control rule finds exactly the planted
//! violations, the compliant twins pass, the report's framework section says so, and a denied
//! read leaves its requirements not evaluated.

use crate::fresh_account;
use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::frameworks::{FrameworkStatus, Status};
use infraqa_core::{Inventory, Policy, RuleId};
use infraqa_pipeline::report::{ReportTarget, produce};
use infraqa_pipeline::{Aws, Location, Store};
use infraqa_tests::cis::{CisEstate, seed_cis_estate};
use infraqa_tests::emulator::TestAccount;
use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
use std::collections::{BTreeMap, BTreeSet};

const POLICY: &str = r#"
[scan]
regions = ["us-east-1", "eu-west-1"]

[frameworks]
enabled = ["cis-aws-7.0"]
"#;

/// Scans the primary region through `endpoint`, checks and reports into `dir`: the
/// inventory and the report's CIS section.
async fn cis_run(
    account: &TestAccount,
    endpoint: &str,
    dir: &std::path::Path,
) -> (Inventory, Vec<infraqa_core::Finding>, FrameworkStatus) {
    let mut options = account.options();
    options.endpoint_url = Some(endpoint.to_owned());
    options.initial_backoff = std::time::Duration::from_millis(5);
    let clients = AwsClients::load(options).await;
    let policy = Policy::from_toml(POLICY, "cis.toml").unwrap();
    let scope = policy.scan.regions.clone();
    let inventory = scan(&clients, &scope, &policy, &Quiet).await.unwrap();
    let now = chrono::Utc::now();
    let check = infraqa_core::check::check(&inventory, &policy, now);
    let findings = check.findings.clone();
    let aws = Aws::from_clients(clients.clone());
    let out = Store::new(Location::Local(dir.to_path_buf()), &aws);
    let history = out.child("history");
    let target = ReportTarget {
        out: &out,
        history: &history,
        trend_runs: 12,
    };
    produce(
        inventory.clone(),
        async { Ok(check) },
        &policy,
        target,
        &aws,
        now,
    )
    .await
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let cis: Vec<FrameworkStatus> = serde_json::from_value(report["frameworks"].clone()).unwrap();
    assert_eq!(cis.len(), 1);
    (inventory, findings, cis.into_iter().next().unwrap())
}

fn requirement(cis: &FrameworkStatus, id: &str) -> (Status, usize) {
    let r = cis.requirements.iter().find(|r| r.id == id).unwrap();
    (r.status, r.findings)
}

/// The (rule, ARN) pairs of `pairs`, by resource id in `inventory`.
fn by_arn(inventory: &Inventory, pairs: &[(RuleId, String)]) -> BTreeSet<(RuleId, String)> {
    pairs
        .iter()
        .map(|(rule, id)| {
            let arn = inventory
                .resources
                .iter()
                .find(|r| r.id == *id)
                .unwrap_or_else(|| panic!("{id} not inventoried"))
                .arn
                .clone();
            (*rule, arn)
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn cis_controls_report_exactly_the_planted_failures() {
    let (emulator, account) = fresh_account().await;
    let estate: CisEstate = seed_cis_estate(&account.clients().await).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (inventory, findings, cis) = cis_run(&account, emulator.url(), dir.path()).await;
    // The emulator has no IAM Access Analyzer: its list fails in both regions, and nothing
    // else does.
    assert!(
        inventory
            .errors
            .iter()
            .all(|e| (e.service.as_str(), e.operation.as_str())
                == ("access-analyzer", "ListAnalyzers")),
        "{:#?}",
        inventory.errors
    );
    assert_eq!(inventory.errors.len(), 2, "{:#?}", inventory.errors);

    let controls: BTreeSet<RuleId> = estate
        .failing
        .iter()
        .chain(&estate.passing)
        .map(|(rule, _)| *rule)
        .filter(|r| !r.on_by_default())
        .collect();
    assert_eq!(
        controls.len(),
        13,
        "every resource control is planted: {controls:?}"
    );
    let got: BTreeSet<(RuleId, String)> = findings
        .iter()
        .filter(|f| controls.contains(&f.rule_id))
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect();
    let want = by_arn(&inventory, &estate.failing);
    assert_eq!(got, want, "exactly the planted failures");
    let twins = by_arn(&inventory, &estate.passing);
    let all_findings: BTreeSet<(RuleId, String)> = findings
        .iter()
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect();
    assert!(
        twins.is_disjoint(&all_findings),
        "a twin failed: {:?}",
        twins.intersection(&all_findings).collect::<Vec<_>>()
    );

    // The account-level controls: the account, per region or as a whole.
    let account_level = |f: &infraqa_core::Finding| f.resource_type == "account";
    let got: BTreeSet<(RuleId, String)> = findings
        .iter()
        .filter(|f| account_level(f) && !f.rule_id.on_by_default())
        .map(|f| (f.rule_id, f.region.to_string()))
        .collect();
    let want: BTreeSet<(RuleId, String)> = estate.account_failing.iter().cloned().collect();
    assert_eq!(got, want, "exactly the planted account-level failures");
    assert!(
        estate.account_passing.iter().all(|p| !got.contains(p)),
        "an account-level twin failed"
    );
    let account_rules: BTreeSet<RuleId> = estate
        .account_failing
        .iter()
        .chain(&estate.account_passing)
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(account_rules.len(), 10, "every account control is planted");

    // What the account's lists hold: attached policies, file systems, keys, network ACLs.
    let listed: BTreeSet<RuleId> = estate
        .listed_failing
        .iter()
        .chain(&estate.listed_passing)
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(
        listed.len(),
        4,
        "every listed control is planted: {listed:?}"
    );
    let got: BTreeSet<(RuleId, String)> = findings
        .iter()
        .filter(|f| listed.contains(&f.rule_id))
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect();
    let want: BTreeSet<(RuleId, String)> = estate.listed_failing.iter().cloned().collect();
    assert_eq!(got, want, "exactly the planted listed failures");
    assert!(
        estate.listed_passing.iter().all(|p| !got.contains(p)),
        "a listed twin failed"
    );

    // The controls on users, each user judged from the credential report.
    let got: BTreeSet<(RuleId, String)> = findings
        .iter()
        .filter(|f| f.resource_type == "iam:user")
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect();
    let want: BTreeSet<(RuleId, String)> = estate.user_failing.iter().cloned().collect();
    assert_eq!(got, want, "exactly the planted user failures");
    assert!(estate.user_passing.iter().all(|p| !got.contains(p)));

    let certificates: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule_id == RuleId::IamExpiredCertificates)
        .map(|f| f.resource_arn.as_str())
        .collect();
    assert_eq!(certificates, estate.certificate_failing);

    // The framework section: each control's requirement fails with its planted count.
    let planted: BTreeMap<RuleId, usize> = estate
        .failing
        .iter()
        .chain(&estate.account_failing)
        .chain(&estate.user_failing)
        .chain(&estate.listed_failing)
        .fold(BTreeMap::new(), |mut m, (r, _)| {
            *m.entry(*r).or_default() += 1;
            m
        });
    for (id, rule) in [
        ("3.2.1", RuleId::RdsEncryption),
        ("3.2.2", RuleId::RdsAutoMinorUpgrade),
        ("3.2.3", RuleId::RdsPublicAccess),
        ("4.2", RuleId::CloudtrailLogValidation),
        ("4.5", RuleId::CloudtrailKms),
        ("4.7", RuleId::VpcFlowLogs),
        ("6.1.2", RuleId::SgCifsIngress),
        ("6.3", RuleId::SgAdminPortsIpv4),
        ("6.4", RuleId::SgAdminPortsIpv6),
        ("6.5", RuleId::SgDefaultClosed),
        ("6.7", RuleId::Ec2Imdsv2),
        ("2.16", RuleId::Ec2InstanceRole),
        ("6.1.1", RuleId::EbsDefaultEncryption),
        ("5.16", RuleId::SecurityhubEnabled),
        ("2.5", RuleId::RootMfa),
        ("2.8", RuleId::IamPasswordLength),
        ("2.9", RuleId::IamPasswordReuse),
        ("4.8", RuleId::S3DataEventsWrite),
        ("3.1.1", RuleId::S3SecureTransport),
        ("2.10", RuleId::IamUserMfa),
        ("2.15", RuleId::IamSupportRole),
        ("2.13", RuleId::IamUserPolicies),
        ("2.14", RuleId::IamFullAdminPolicies),
        ("3.3.1", RuleId::EfsEncryption),
        ("4.3", RuleId::ConfigRecorderEnabled),
        ("4.6", RuleId::KmsKeyRotation),
        ("6.2", RuleId::NaclAdminPorts),
    ] {
        assert_eq!(
            requirement(&cis, id),
            (Status::Fail, planted[&rule]),
            "requirement {id}"
        );
    }
    assert_eq!(requirement(&cis, "3.1.4"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "2.4"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "2.1.1").0, Status::Manual);
    assert_eq!(cis.counts[&Status::Manual], 36);
    assert_eq!(cis.counts[&Status::Fail], 28);
    assert_eq!(requirement(&cis, "2.18"), (Status::NotEvaluated, 0));
    assert!(
        !cis.counts.contains_key(&Status::NotCovered),
        "every automated requirement is decided"
    );
    assert_eq!(requirement(&cis, "2.17"), (Status::Fail, 1));
    assert_eq!(requirement(&cis, "2.11"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "2.12"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "4.9"), (Status::Pass, 0));

    // The password policy fixed: its two requirements pass on the next run.
    account
        .clients()
        .await
        .iam()
        .unwrap()
        .update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(24)
        .send()
        .await
        .unwrap();
    // A support role: 2.15 passes too.
    account
        .clients()
        .await
        .iam()
        .unwrap()
        .attach_role_policy()
        .role_name("cis-instance-role")
        .policy_arn(infraqa_core::settings::SUPPORT_ACCESS_POLICY)
        .send()
        .await
        .unwrap();

    // A denied list and a denied per-VPC read: their requirements are not evaluated, the
    // others unchanged.
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![
            Fault::on("DescribeDBInstances", FaultAction::AccessDenied),
            Fault::on("DescribeFlowLogs", FaultAction::AccessDenied),
            Fault::on("ListKeys", FaultAction::AccessDenied),
        ],
    )
    .await
    .unwrap();
    let denied_dir = tempfile::tempdir().unwrap();
    let (inventory, _, cis) = cis_run(&account, proxy.url(), denied_dir.path()).await;
    assert!(proxy.injected() >= 2);
    assert!(inventory.is_partial());
    for id in ["3.2.1", "3.2.2", "3.2.3", "4.7", "4.6"] {
        assert_eq!(requirement(&cis, id), (Status::NotEvaluated, 0), "{id}");
    }
    let rds = cis.requirements.iter().find(|r| r.id == "3.2.1").unwrap();
    assert!(
        rds.note
            .contains("(not read: rds DescribeDBInstances in eu-west-1 (AccessDenied); rds DescribeDBInstances in us-east-1 (AccessDenied))"),
        "{}",
        rds.note
    );
    assert_eq!(requirement(&cis, "6.3"), (Status::Fail, 1));
    assert_eq!(requirement(&cis, "2.8"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "2.9"), (Status::Pass, 0));
    assert_eq!(requirement(&cis, "2.15"), (Status::Pass, 0));
}
