//! The deployed roles can do exactly what the code calls: every operation a scan makes (as the
//! scan counts them in `stats.api_calls`) maps to an IAM action that `template.yaml` grants
//! the scanner, every read and write of a tag run (the tagger's, and the validator's with
//! `--apply-tags`) to an action of the shared read and tag-write policies, and the template
//! grants nothing else, so the two can never drift apart; `member-role.yaml`, the role a run
//! over several accounts assumes in each, grants the same.

use crate::fresh_account;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::policy::RegionScope;
use infraqa_tests::seed::{PRIMARY_REGION, SECONDARY_REGION, seed_demo_estate, tag_aws_defaults};
use std::collections::BTreeSet;
use std::path::Path;

/// Operations the code calls only on paths a seeded scan of the emulator does not take, each
/// with the reason.
const CONDITIONAL: [(&str, &str, &str); 7] = [
    (
        "s3",
        "GetBucketLocation",
        "only for a bucket that no listing places in a region (the emulator's unfiltered listing \
         leaves regions out, and its filtered ones place every seeded bucket)",
    ),
    (
        "s3",
        "GetBucketTagging",
        "only for a bucket outside the scanned regions, which the seeded estate does not have",
    ),
    (
        "ec2",
        "DescribeRegions",
        "only when the policy scans every enabled region",
    ),
    (
        "config",
        "DescribeConfigurationRecorderStatus",
        "only when a region has a recorder, which the demo estate does not (the CIS test has one)",
    ),
    (
        "kms",
        "DescribeKey",
        "only for the keys ListKeys returns, which the demo estate has none of (the CIS test has)",
    ),
    (
        "kms",
        "GetKeyRotationStatus",
        "only for a customer-managed symmetric key (the CIS test has two)",
    ),
    (
        "ec2",
        "DescribeInternetGateways",
        "only for tagged internet gateways, which the emulator's tagging API does not list",
    ),
];

/// Operations a tag run's re-reads call only for what the emulator cannot list: the lookups of
/// which tagged resources are AWS's defaults.
const TAG_RUN_CONDITIONAL: [(&str, &str, &str); 2] = [
    (
        "ec2",
        "DescribeNetworkAcls",
        "only for tagged network ACLs, which the emulator's tagging API does not list",
    ),
    (
        "ec2",
        "DescribeInternetGateways",
        "only for tagged internet gateways, which the emulator's tagging API does not list",
    ),
];

/// The IAM action that authorises `operation` of `service` (as the scan names them).
fn iam_action(service: &str, operation: &str) -> String {
    let renamed = match (service, operation) {
        ("s3", "ListBuckets") => Some("s3:ListAllMyBuckets"),
        ("s3", "GetBucketEncryption") => Some("s3:GetEncryptionConfiguration"),
        ("s3", "GetPublicAccessBlock") => Some("s3:GetBucketPublicAccessBlock"),
        ("s3control", "GetPublicAccessBlock") => Some("s3:GetAccountPublicAccessBlock"),
        _ => None,
    };
    let prefix = match service {
        "tagging" => "tag",
        "efs" => "elasticfilesystem",
        other => other,
    };
    renamed.map_or_else(|| format!("{prefix}:{operation}"), str::to_owned)
}

/// The actions listed in `template.yaml` from `start` to the next line starting with `end`.
fn granted(start: &str, end: &str) -> BTreeSet<String> {
    granted_in("template.yaml", start, end)
}

/// The actions listed in the template `file` from `start` to the next line starting with `end`.
fn granted_in(file: &str, start: &str, end: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{file} has {start}"));
    let rest = &text[from..];
    let to = rest[1..]
        .find(&format!("\n{end}"))
        .map_or(rest.len(), |i| i + 1);
    rest[..to]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|a| {
            a.split_once(':').is_some_and(|(svc, op)| {
                !svc.is_empty()
                    && svc
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            })
        })
        .map(str::to_owned)
        .collect()
}

/// The actions of the scanner's `discover-read-only` policy.
fn granted_discovery_actions() -> BTreeSet<String> {
    granted("PolicyName: discover-read-only", "        - PolicyName:")
}

/// The demo estate seeded, its defaults tagged (so a scan looks up which are AWS's), scanned.
async fn scanned_demo_estate(clients: &infraqa_aws::AwsClients) -> infraqa_core::Inventory {
    seed_demo_estate(clients).await.unwrap();
    tag_aws_defaults(clients, PRIMARY_REGION).await.unwrap();
    let scope = RegionScope::List(vec![PRIMARY_REGION.into(), SECONDARY_REGION.into()]);
    scan(clients, &scope, &every_rule(), &Quiet).await.unwrap()
}

/// A policy that runs every rule of the catalogue, the opt-in ones included: the scan then
/// makes every read a rule can need.
fn every_rule() -> infraqa_core::Policy {
    let on: String = infraqa_core::RuleId::ALL
        .iter()
        .map(|r| format!("[rules.{r}]\nenabled = true\n"))
        .collect();
    infraqa_core::Policy::from_toml(&on, "every-rule.toml").unwrap()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_service_role_grants_exactly_what_a_scan_calls() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let inv = scanned_demo_estate(&clients).await;
    // The emulator has no IAM Access Analyzer: its call is made, and fails.
    assert!(
        inv.errors
            .iter()
            .all(|e| e.service == "access-analyzer" && e.operation == "ListAnalyzers"),
        "{:#?}",
        inv.errors
    );

    let mut called: BTreeSet<String> = inv
        .stats
        .api_calls
        .iter()
        .flat_map(|(svc, ops)| ops.keys().map(move |op| iam_action(svc, op)))
        .collect();
    for (svc, op, _why) in CONDITIONAL {
        assert!(
            called.insert(iam_action(svc, op)),
            "{svc} {op} was called after all: drop it from CONDITIONAL"
        );
    }
    let granted = granted_discovery_actions();
    let missing: Vec<&String> = called.difference(&granted).collect();
    let unused: Vec<&String> = granted.difference(&called).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "template.yaml's discover-read-only drifted from the code:\n called but not granted: {missing:?}\n granted but never called: {unused:?}"
    );
}

/// The permissions `TagResources` needs besides `tag:TagResources`, for resources of `service`.
fn tagging_permissions(service: &str) -> &'static [&'static str] {
    match service {
        "ec2" => &["ec2:CreateTags"],
        "s3" => &["s3:GetBucketTagging", "s3:PutBucketTagging"],
        "rds" => &["rds:AddTagsToResource"],
        "lambda" => &["lambda:TagResource"],
        "logs" => &["logs:TagResource"],
        _ => &[],
    }
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_tagger_and_validator_policies_grant_exactly_what_a_tag_run_calls() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let inv = scanned_demo_estate(&clients).await;

    // A tag on every inventoried resource: the re-read of each, then the writes.
    let changes: Vec<infraqa_core::tagging::TagChange> = inv
        .resources
        .iter()
        .map(|r| infraqa_core::tagging::TagChange {
            resource_arn: r.arn.clone(),
            resource_type: r.resource_type.clone(),
            id: r.id.to_string(),
            region: r.region.to_string(),
            tags_before: r.tags.clone(),
            add: [("infraqa:grants".to_owned(), "checked".to_owned())].into(),
            sources: Default::default(),
            withheld: Default::default(),
        })
        .collect();
    let before = clients.call_counts();
    let written = infraqa_aws::tagger::apply(&clients, &changes)
        .await
        .unwrap();
    assert_eq!(written.len(), changes.len());
    let after = clients.call_counts();
    let mut called: BTreeSet<String> = after
        .iter()
        .flat_map(|(svc, ops)| {
            let before = before.get(svc);
            ops.iter()
                .filter(move |(op, n)| before.and_then(|b| b.get(*op)) != Some(*n))
                .map(move |(op, _)| iam_action(svc, op))
        })
        .collect();
    // What TagResources needs of each service whose resources it tagged.
    for c in &changes {
        let service = c
            .resource_type
            .as_str()
            .split(':')
            .next()
            .unwrap_or_default();
        called.extend(tagging_permissions(service).iter().map(|a| (*a).to_owned()));
    }
    // A re-read looks up which tagged resources are AWS's defaults as a scan does.
    for (svc, op, _why) in TAG_RUN_CONDITIONAL {
        assert!(
            called.insert(iam_action(svc, op)),
            "{svc} {op} was called after all: drop it from CONDITIONAL"
        );
    }
    let mut granted_now = granted("  SelectedReadPolicy:", "  TagWritePolicy:");
    granted_now.extend(granted("  TagWritePolicy:", "  ScannerRole:"));
    let missing: Vec<&String> = called.difference(&granted_now).collect();
    let unused: Vec<&String> = granted_now.difference(&called).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "template.yaml's SelectedReadPolicy and TagWritePolicy drifted from the code:\n called but not granted: {missing:?}\n granted but never called: {unused:?}"
    );
}

/// The member-account role grants what the suite's roles grant in their own account: the
/// scanner's reads, and the tagger's and validator's reads and tag writes. The tests above tie
/// those to the code, so the member role cannot drift from it either.
#[test]
fn the_member_role_grants_what_the_suites_roles_grant_in_their_own_account() {
    let member_reads = granted_in(
        "member-role.yaml",
        "PolicyName: discover-read-only",
        "        - PolicyName:",
    );
    assert_eq!(member_reads, granted_discovery_actions());
    let member_tagging = granted_in(
        "member-role.yaml",
        "PolicyName: tag-read-and-write",
        "        - PolicyName:",
    );
    let mut tag_run = granted("  SelectedReadPolicy:", "  TagWritePolicy:");
    tag_run.extend(granted("  TagWritePolicy:", "  ScannerRole:"));
    // What a tag run reads that a scan reads too is granted once, with the scan's reads.
    let expected: BTreeSet<String> = tag_run.difference(&member_reads).cloned().collect();
    assert_eq!(member_tagging, expected);
    assert!(member_tagging.contains("tag:TagResources"));
}

/// Security Hub gets exactly the import of each account's own findings: the reporter's role
/// (and, in an organization, the assumption of the member role) and the member role, each on
/// the account's own default product, and only with the stack's SecurityHub parameter.
#[test]
fn the_security_hub_import_is_granted_alone_on_each_accounts_own_product() {
    let import = BTreeSet::from(["securityhub:BatchImportFindings".to_owned()]);
    let member = granted_in(
        "member-role.yaml",
        "PolicyName: security-hub-import",
        "Outputs:",
    );
    assert_eq!(member, import);
    let end = "          - !Ref AWS::NoValue";
    assert_eq!(granted("PolicyName: security-hub-import\n", end), import);
    assert_eq!(
        granted("PolicyName: security-hub-import-members", end),
        BTreeSet::from(["sts:AssumeRole".to_owned()])
    );
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .unwrap();
    let product = "Resource: !Sub arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default";
    assert_eq!(template.matches(product).count(), 1);
    assert!(template.contains(
        "          - ImportsToSecurityHub\n          - PolicyName: security-hub-import\n"
    ));
    assert!(template.contains("INFRAQA_SECURITY_HUB: !Ref SecurityHub"));
}

#[test]
fn operations_map_to_their_iam_actions() {
    let cases = [
        ("ec2", "DescribeInstances", "ec2:DescribeInstances"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        (
            "s3control",
            "GetPublicAccessBlock",
            "s3:GetAccountPublicAccessBlock",
        ),
        ("tagging", "GetResources", "tag:GetResources"),
        ("iam", "GetPolicyVersion", "iam:GetPolicyVersion"),
        (
            "efs",
            "DescribeFileSystems",
            "elasticfilesystem:DescribeFileSystems",
        ),
        (
            "access-analyzer",
            "ListAnalyzers",
            "access-analyzer:ListAnalyzers",
        ),
    ];
    for (svc, op, action) in cases {
        assert_eq!(iam_action(svc, op), action);
    }
    let granted = granted_discovery_actions();
    assert!(granted.contains("ec2:DescribeInstances") && !granted.contains("ce:GetCostAndUsage"));
    assert!(
        !granted.iter().any(|a| a.starts_with("s3:PutObject")),
        "only discovery"
    );
}
