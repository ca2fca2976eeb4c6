//! Deterministic synthetic estates of any size, for the benchmarks (`make bench`): the same
//! resource mix feeds the rule-engine and the report benchmarks.

use crate::iam::PolicyDocument;
use crate::inventory::{INVENTORY_SCHEMA_VERSION, Inventory, ScanError, ScanStats};
use crate::model::*;
use crate::observed::Observed;
use chrono::{DateTime, Utc};

/// The policy the synthetic estate is checked against.
pub const POLICY: &str = r#"
[tags]
required = ["Environment", "Owner", "CostCenter", "CreatedAt", "Project"]
[tags.allowed_values]
Environment = ["dev", "staging", "prod"]
[tags.aliases]
Owner = ["Team"]
[regions]
approved = ["us-east-1", "eu-west-1"]
[ec2]
approved_amis = ["ami-0aaa"]
approved_ami_owners = ["123456789012"]
[s3]
public_allowlist = ["public-*"]
[network]
allowed_public_ports = [80, 443]
[[exemptions]]
rule = "sg-open-ingress"
tag = { key = "infraqa:exempt", value = "sg-open-ingress" }
reason = "bench"
"#;

fn denied(region: &str, operation: &str) -> ScanError {
    ScanError {
        region: region.to_owned(),
        service: "s3".into(),
        operation: operation.to_owned(),
        code: "AccessDenied".into(),
        message: "denied by a bucket policy".into(),
    }
}

/// Synthetic resource number `i`: six types in rotation over three regions, with a
/// deterministic mix of compliant and failing ones.
#[rustfmt::skip]
pub fn resource(i: usize) -> Resource {
    let region = ["us-east-1", "eu-west-1", "ap-south-1"][i % 3].to_owned();
    let mut tags = crate::model::Tags::new();
    if !i.is_multiple_of(4) {
        for (k, v) in [
            (
                "Environment",
                if i.is_multiple_of(5) { "prod" } else { "dev" },
            ),
            ("Owner", "team"),
            ("CostCenter", "CC-1"),
            ("CreatedAt", "2026-01-01"),
            ("Project", "p"),
        ] {
            tags.insert(k.to_owned(), v.to_owned());
        }
    }
    let (resource_type, details) = match i % 6 {
        0 => (ResourceType::Ec2Instance, ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
            instance_type: "t3.micro".into(),
            state: if i.is_multiple_of(7) { InstanceState::Stopped } else { InstanceState::Running },
            image_id: if i.is_multiple_of(2) { "ami-0aaa".into() } else { format!("ami-{i:x}") },
            image_owner_id: Observed::Read((i.is_multiple_of(3)).then(|| "999999999999".into())),
            state_transition_reason: Some("User initiated (2026-09-01 10:00:00 GMT)".into()),
            vpc_id: None,
            security_group_ids: vec![],
            network_interface_ids: vec![format!("eni-{i}")],
            created_at_source: None,
            metadata: None,
            role: None,
        }))),
        1 => (ResourceType::S3Bucket, ResourceDetails::S3Bucket(S3Bucket {
            // Some reads fail, as in real accounts: those buckets are not evaluated by the rule.
            encryption: if i % 11 == 1 { Observed::failed(denied(&region, "GetBucketEncryption")) } else if i.is_multiple_of(2) { Observed::Read(BucketEncryption::SseS3) } else { Observed::Read(BucketEncryption::None) },
            public_access_block: Observed::Read(PublicAccessBlock { block_public_acls: !i.is_multiple_of(3), ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true }),
            account_public_access_block: PublicAccessBlock::default(),
            policy_is_public: Some(Observed::Read(false)),
            acl_public_grants: Some(Observed::Read(vec![])),
            access_logging: Observed::Read(i.is_multiple_of(2)),
            policy: None,
        })),
        2 => (ResourceType::Ec2SecurityGroup, ResourceDetails::Ec2SecurityGroup(SecurityGroup {
            group_name: format!("sg-{i}"),
            vpc_id: None,
            ingress: vec![IpPermission {
                protocol: "tcp".into(),
                from_port: Some(if i.is_multiple_of(2) { 443 } else { 22 }),
                to_port: Some(if i.is_multiple_of(2) { 443 } else { 22 }),
                ipv4_ranges: vec!["0.0.0.0/0".into()],
                ipv6_ranges: vec![],
                prefix_list_ids: vec![],
                referenced_group_ids: vec![],
            }],
            egress: vec![],
            network_interface_ids: Observed::Read(if i.is_multiple_of(3) { vec![] } else { vec![format!("eni-{i}")] }),
        })),
        3 => (ResourceType::IamRole, ResourceDetails::IamRole(Box::new(IamRole {
            path: "/".into(),
            trust_policy: Observed::Read(PolicyDocument::parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#).unwrap_or_default()),
            policies: vec![RolePolicy {
                name: "p".into(),
                arn: None,
                source: PolicySource::Inline,
                document: Observed::Read(PolicyDocument::parse(if i.is_multiple_of(2) {
                    r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","iam:PassRole"],"Resource":"*"}]}"#
                } else {
                    r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#
                })
                .unwrap_or_default()),
            }],
        }))),
        4 => (ResourceType::Ec2Volume, ResourceDetails::Ec2Volume(Ec2Volume {
            volume_type: "gp2".into(),
            size_gib: 100,
            state: if i.is_multiple_of(2) { "available".into() } else { "in-use".into() },
            encrypted: false,
            attached_instance_ids: vec![],
        })),
        _ => (ResourceType::Ec2Vpc, ResourceDetails::Ec2Vpc(Vpc { is_default: false, cidr_block: None, flow_log_ids: Observed::Read(vec![]) })),
    };
    let region = if resource_type == ResourceType::IamRole {
        GLOBAL_REGION.to_owned()
    } else {
        region
    };
    Resource {
        arn: format!(
            "arn:aws:{}:{region}:123456789012:{i}",
            resource_type.as_str().replace(':', "-")
        ),
        id: format!("r-{i}").into(),
        resource_type,
        region: region.into(),
        account_id: "123456789012".into(),
        tags,
        created_at: None,
        tags_unread: None,
        usage: None,
        details,
    }
}

/// An inventory of `n` synthetic resources taken at `at`.
pub fn inventory(n: usize, at: DateTime<Utc>) -> Inventory {
    let resources: Vec<Resource> = (0..n).map(resource).collect();
    let errors = resources
        .iter()
        .filter_map(|r| match &r.details {
            ResourceDetails::S3Bucket(b) => b.encryption.unread().cloned(),
            _ => None,
        })
        .collect();
    Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        generated_at: at,
        account_id: "123456789012".into(),
        regions: vec!["us-east-1".into(), "eu-west-1".into(), "ap-south-1".into()],
        resources,
        errors,
        notes: vec![],
        settings: Default::default(),
        stats: ScanStats::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_estate_parses_and_fails_some_rules() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 27, 0, 0, 0).unwrap();
        let inv = inventory(600, at);
        let policy = crate::Policy::from_toml(POLICY, "bench.toml").unwrap();
        let role = inv.resources.iter().find_map(|r| match &r.details {
            ResourceDetails::IamRole(role) => Some(role),
            _ => None,
        });
        assert!(role.is_some_and(|r| {
            r.trust_policy
                .read()
                .is_some_and(|t| !t.statements().is_empty())
        }));
        let result = crate::check::check(&inv, &policy, at);
        assert!(result.findings.len() > 100 && result.findings.len() < 600);
        assert!(
            result
                .not_evaluated
                .iter()
                .any(|n| n.rule_id == crate::RuleId::S3Encryption),
            "unread encryption is not evaluated"
        );
    }
}
