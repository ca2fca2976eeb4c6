//! The deployed role can do exactly what the code calls: every operation a scan makes (as the
//! scan counts them in `stats.api_calls`) maps to an IAM action that `template.yaml` grants
//! the service role, and the template grants nothing else, so the two can never drift apart.

use crate::fresh_account;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::policy::RegionScope;
use infraqa_tests::seed::{PRIMARY_REGION, SECONDARY_REGION, seed_demo_estate, tag_aws_defaults};
use std::collections::BTreeSet;
use std::path::Path;

/// Operations the code calls only on paths a seeded scan of the emulator does not take, each
/// with the reason.
const CONDITIONAL: [(&str, &str, &str); 3] = [
    (
        "ec2",
        "DescribeRegions",
        "only when the policy scans every enabled region",
    ),
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
        other => other,
    };
    renamed.map_or_else(|| format!("{prefix}:{operation}"), str::to_owned)
}

/// The actions of the `discover-read-only` policy in `template.yaml`.
fn granted_discovery_actions() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find("PolicyName: discover-read-only")
        .expect("template.yaml has the discover-read-only policy");
    let rest = &text[start..];
    let end = rest[1..].find("PolicyName:").map_or(rest.len(), |i| i + 1);
    rest[..end]
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

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_service_role_grants_exactly_what_a_scan_calls() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    seed_demo_estate(&clients).await.unwrap();
    // Tagged defaults make the scan look up which are AWS's.
    tag_aws_defaults(&clients, PRIMARY_REGION).await.unwrap();

    let scope = RegionScope::List(vec![PRIMARY_REGION.into(), SECONDARY_REGION.into()]);
    let inv = scan(&clients, &scope, &Quiet).await.unwrap();
    assert!(inv.errors.is_empty(), "{:#?}", inv.errors);

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
