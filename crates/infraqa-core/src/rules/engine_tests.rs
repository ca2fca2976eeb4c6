//! The engine: switches, severity overrides, allow-lists, exemptions and ordering.

use super::*;
use crate::iam::PolicyDocument;
use crate::model::{
    BucketEncryption, IamRole, PublicAccessBlock, ResourceType, S3Bucket, SecurityGroup,
};
use crate::model::{IpPermission, PolicySource, RolePolicy};
use crate::observed::Observed;
use crate::rules::testkit::*;

fn open_bucket(name: &str) -> Resource {
    resource(
        ResourceType::S3Bucket,
        name,
        "us-east-1",
        &[],
        ResourceDetails::S3Bucket(S3Bucket {
            encryption: Observed::Read(BucketEncryption::None),
            public_access_block: Observed::Read(PublicAccessBlock::default()),
            account_public_access_block: PublicAccessBlock::default(),
            policy_is_public: Some(Observed::Read(false)),
            acl_public_grants: Some(Observed::Read(vec![])),
            access_logging: Observed::Read(false),
            policy: None,
        }),
    )
}

fn ssh_group(tags: &[(&str, &str)]) -> Resource {
    resource(
        ResourceType::Ec2SecurityGroup,
        "sg-1",
        "us-east-1",
        tags,
        ResourceDetails::Ec2SecurityGroup(SecurityGroup {
            group_name: "bastion".into(),
            vpc_id: None,
            ingress: vec![IpPermission {
                protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                ipv4_ranges: vec!["0.0.0.0/0".into()],
                ipv6_ranges: vec![],
                prefix_list_ids: vec![],
                referenced_group_ids: vec![],
            }],
            egress: vec![],
            network_interface_ids: Observed::Read(vec!["eni-1".into()]),
        }),
    )
}

fn run(resources: Vec<Resource>, p: &str) -> Evaluation {
    evaluate(&inventory(resources), &policy(p), now())
}

fn keys(findings: &[Finding]) -> Vec<(RuleId, String)> {
    findings
        .iter()
        .map(|f| (f.rule_id, f.resource_arn.clone()))
        .collect()
}

#[test]
fn one_finding_per_rule_and_resource_in_a_stable_order() {
    let e = run(vec![open_bucket("b2"), open_bucket("b1")], "");
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    assert_eq!(
        keys(&e.findings),
        [
            (RuleId::S3Encryption, "arn:aws:s3:::b1".to_owned()),
            (RuleId::S3Encryption, "arn:aws:s3:::b2".to_owned()),
            (RuleId::S3PublicAccess, "arn:aws:s3:::b1".to_owned()),
            (RuleId::S3PublicAccess, "arn:aws:s3:::b2".to_owned()),
            (RuleId::CloudtrailEnabled, root.clone()),
            (RuleId::CloudtrailEnabled, root),
        ]
    );
    let cloudtrail: Vec<&str> = e
        .findings
        .iter()
        .filter(|f| f.rule_id == RuleId::CloudtrailEnabled)
        .map(|f| f.region.as_str())
        .collect();
    assert_eq!(cloudtrail, ["eu-west-1", "us-east-1"]);
    let f = &e.findings[0];
    assert_eq!(
        f.evidence,
        [crate::finding::Evidence::BucketEncryption {
            found: BucketEncryption::None,
            kms_required: false
        }]
    );
    assert_eq!(
        (f.resource_type.as_str(), f.region.as_str(), f.severity),
        ("s3:bucket", "us-east-1", Severity::High)
    );
    assert!(!f.remediation.is_empty());
}

#[test]
fn disabled_rules_do_not_run_and_overrides_replace_severity() {
    let e = run(
        vec![open_bucket("b")],
        "[rules.s3-public-access]\nenabled = false\n[rules.s3-encryption]\nseverity = \"low\"\n[rules.cloudtrail-enabled]\nenabled = false",
    );
    assert_eq!(
        keys(&e.findings),
        [(RuleId::S3Encryption, "arn:aws:s3:::b".to_owned())]
    );
    assert_eq!(e.findings[0].severity, Severity::Low);
}

#[test]
fn allow_listed_buckets_are_exempted_not_dropped() {
    let e = run(
        vec![open_bucket("public-website-1"), open_bucket("data")],
        "[s3]\npublic_allowlist = [\"public-website-*\"]\n[rules.cloudtrail-enabled]\nenabled = false",
    );
    let public: Vec<_> = e
        .findings
        .iter()
        .filter(|f| f.rule_id == RuleId::S3PublicAccess)
        .map(|f| f.resource_arn.as_str())
        .collect();
    assert_eq!(public, ["arn:aws:s3:::data"]);
    assert_eq!(e.exempted.len(), 1);
    assert_eq!(e.exempted[0].reason, "allow-listed");
    assert_eq!(
        e.exempted[0].finding.resource_arn,
        "arn:aws:s3:::public-website-1"
    );
}

#[test]
fn exemptions_by_arn_glob_and_tag_apply_through_their_expiry_day() {
    let p = r#"
[rules.cloudtrail-enabled]
enabled = false
[[exemptions]]
rule = "s3-public-access"
resource = "arn:aws:s3:::legacy-*"
reason = "OPS-112"
expires = "2026-11-27"
[[exemptions]]
rule = "s3-encryption"
resource = "arn:aws:s3:::legacy-*"
reason = "OPS-97"
expires = "2026-11-26"
[[exemptions]]
rule = "sg-open-ingress"
tag = { key = "infraqa:exempt", value = "sg-open-ingress" }
reason = "bastion"
"#;
    let e = run(
        vec![
            open_bucket("legacy-1"),
            ssh_group(&[("infraqa:exempt", "sg-open-ingress")]),
        ],
        p,
    );
    let exempted: Vec<(RuleId, &str)> = e
        .exempted
        .iter()
        .map(|x| (x.finding.rule_id, x.reason.as_str()))
        .collect();
    assert_eq!(
        exempted,
        [
            (RuleId::S3PublicAccess, "OPS-112"),
            (RuleId::SgOpenIngress, "bastion")
        ]
    );
    assert_eq!(e.exempted[0].expires, NaiveDate::from_ymd_opt(2026, 11, 27));
    assert_eq!(
        keys(&e.findings),
        [(RuleId::S3Encryption, "arn:aws:s3:::legacy-1".to_owned())]
    );
    assert!(
        e.findings[0]
            .message
            .ends_with("(exemption \"OPS-97\" expired on 2026-11-26)"),
        "{}",
        e.findings[0].message
    );

    // A tag exemption needs the exact tag; another rule is not exempted by it.
    let e = run(vec![ssh_group(&[("infraqa:exempt", "something-else")])], p);
    assert_eq!(e.findings.len(), 1);
    assert!(e.exempted.is_empty());
}

#[test]
fn service_linked_roles_are_exempt_from_every_rule() {
    let admin =
        PolicyDocument::parse(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
            .unwrap();
    let role = |path: &str| {
        resource(
            ResourceType::IamRole,
            "r",
            "global",
            &[],
            ResourceDetails::IamRole(Box::new(IamRole {
                path: path.into(),
                trust_policy: Observed::default(),
                policies: vec![RolePolicy {
                    name: "AdministratorAccess".into(),
                    arn: None,
                    source: PolicySource::AwsManaged,
                    document: Observed::Read(admin.clone()),
                }],
            })),
        )
    };
    let p = "[tags]\nrequired = [\"Owner\"]\n[rules.cloudtrail-enabled]\nenabled = false";
    assert!(
        run(vec![role("/aws-service-role/x.amazonaws.com/")], p)
            .findings
            .is_empty()
    );
    let ordinary = run(vec![role("/")], p);
    assert_eq!(
        ordinary
            .findings
            .iter()
            .map(|f| f.rule_id)
            .collect::<Vec<_>>(),
        [RuleId::TagsRequired, RuleId::IamLeastPrivilege]
    );
}

#[test]
fn scope_counts_what_each_enabled_rule_judges() {
    let mut sl = resource(
        ResourceType::IamRole,
        "AWSServiceRoleForSupport",
        "global",
        &[],
        ResourceDetails::IamRole(Box::new(IamRole {
            path: "/aws-service-role/support.amazonaws.com/".into(),
            trust_policy: Observed::default(),
            policies: vec![],
        })),
    );
    sl.arn = "arn:aws:iam::123456789012:role/aws-service-role/AWSServiceRoleForSupport".into();
    let inv = inventory(vec![open_bucket("b1"), ssh_group(&[]), sl]);
    let p = policy("[tags]\nrequired = [\"Owner\"]\n[rules.s3-encryption]\nenabled = false\n");
    let s = scope(&inv, &p, now());
    assert_eq!(s.evaluated.get(&RuleId::S3Encryption), None, "disabled");
    assert_eq!(s.evaluated[&RuleId::S3PublicAccess], 1);
    assert_eq!(s.evaluated[&RuleId::SgOpenIngress], 1);
    assert_eq!(
        s.evaluated[&RuleId::TagsRequired],
        2,
        "service-linked role skipped"
    );
    assert_eq!(s.evaluated[&RuleId::IamLeastPrivilege], 0);
    assert_eq!(
        s.evaluated[&RuleId::CloudtrailEnabled],
        2,
        "one per scanned region"
    );
    assert_eq!(s.evaluated[&RuleId::RegionApproved], 0, "no approved list");
    // Two resources plus the account in each of the two regions.
    assert_eq!(s.units.len(), 4);
    assert!(
        !s.units
            .iter()
            .any(|(arn, _)| arn.contains("aws-service-role"))
    );
    // Every finding falls inside the scope.
    let e = evaluate(&inv, &p, now());
    for f in &e.findings {
        assert!(
            s.units
                .contains(&(f.resource_arn.as_str().into(), f.region.as_str().into())),
            "{f:?}"
        );
    }
}

#[test]
fn an_unread_field_is_not_evaluated_by_the_rules_that_need_it_and_only_those() {
    let mut b = open_bucket("half-read");
    if let ResourceDetails::S3Bucket(s) = &mut b.details {
        s.encryption = Observed::failed(denied("s3", "GetBucketEncryption"));
    }
    let arn = b.arn.clone();
    let out = run(vec![b], "[rules.cloudtrail-enabled]\nenabled = false");
    let not_evaluated: Vec<(RuleId, &str, &str)> = out
        .not_evaluated
        .iter()
        .flat_map(|n| {
            n.missing
                .iter()
                .map(move |m| (n.rule_id, n.resource_arn.as_str(), m.operation.as_str()))
        })
        .collect();
    assert_eq!(
        not_evaluated,
        [(RuleId::S3Encryption, arn.as_str(), "GetBucketEncryption")]
    );
    assert_eq!(
        keys(&out.findings),
        [(RuleId::S3PublicAccess, arn.clone())],
        "what was read is still judged"
    );
    assert!(out.exempted.is_empty());
}

#[test]
fn a_failed_list_is_unlisted_for_the_rules_that_judge_its_resources() {
    let mut inv = inventory(vec![]);
    let unit = |service: &str, operation: &str, code: &str| ScanError {
        code: code.into(),
        ..scan_error("eu-west-1", service, operation)
    };
    inv.errors = vec![
        unit("ec2", "DescribeSecurityGroups", "AccessDenied"),
        // A per-resource read, not a list: rules report its resource as not evaluated.
        unit("ec2", "DescribeFlowLogs", "AccessDenied"),
        unit("rds", crate::inventory::WHOLE_UNIT, "DeadlineExceeded"),
    ];
    let p = policy("[rules.sg-admin-ports-ipv4]\n[rules.rds-encryption]\n[rules.vpc-flow-logs]");
    let got = unlisted(&inv, &p);
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        [RuleId::RdsEncryption, RuleId::SgAdminPortsIpv4],
        "the flow logs are read per VPC, not listed"
    );
    assert_eq!(
        got[&RuleId::RdsEncryption],
        ["rds (scan unit) in eu-west-1 (DeadlineExceeded)"]
    );
    inv.errors = vec![unit(
        crate::inventory::EVERY_SERVICE,
        "DescribeRegions",
        "NotPlanned",
    )];
    assert!(
        unlisted(&inv, &p).contains_key(&RuleId::VpcFlowLogs),
        "a region never read hides everything"
    );
    assert!(
        !unlisted(&inv, &p).contains_key(&RuleId::TagsRequired),
        "a rule naming no list is never unlisted"
    );
    let global = policy("[rules.root-mfa]");
    assert_eq!(
        unlisted(&inventory(vec![]), &global)[&RuleId::RootMfa],
        ["iam GetAccountSummary (the inventory does not cover the account's global services)"],
        "an account rule that judged nothing did not see the account"
    );
}
