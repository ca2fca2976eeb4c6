//! How instances reach AWS credentials, as CIS AWS Foundations asks:
//! - `ec2-imdsv2` (6.7): every instance (running or stopped) answers instance metadata
//!   requests over IMDSv2 only: `MetadataOptions.HttpTokens` is `required`, or `HttpEndpoint`
//!   is `disabled` (no metadata service at all).
//! - `ec2-instance-role` (2.16): every instance has an IAM instance profile
//!   (`IamInstanceProfile`), so what runs on it can use the role's temporary credentials rather
//!   than access keys. Whether access keys are stored on the instance (in its user data, files
//!   or environment) cannot be read through any API and is not judged.
//!
//! An instance whose fields the inventory does not hold is not evaluated.

use super::{Control, Verdict, Violation, not_recorded};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{Ec2Instance, ResourceDetails};

/// The instance in `d`, if it is one.
fn instance(d: &ResourceDetails) -> Option<&Ec2Instance> {
    match d {
        ResourceDetails::Ec2Instance(i) => Some(i),
        _ => None,
    }
}

/// The list call that finds instances.
const LISTED: &[(&str, &str)] = &[("ec2", "DescribeInstances")];

/// CIS 6.7.
pub const IMDSV2: Control<Ec2Instance> = Control {
    id: RuleId::Ec2Imdsv2,
    listed_by: LISTED,
    details: instance,
    judge: |r, i| match &i.metadata {
        None => not_recorded(r, "ec2", "DescribeInstances", "MetadataOptions"),
        Some(m) if m.v2_only() => Verdict::Pass,
        Some(m) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec![format!(
                "the metadata service answers IMDSv1 (HttpTokens {}): a server-side request forgery can read the instance role's credentials",
                m.http_tokens
            )],
            format!(
                "aws ec2 modify-instance-metadata-options --instance-id {} --http-tokens required --http-endpoint enabled (after checking its software uses IMDSv2: the MetadataNoToken metric counts IMDSv1 calls)",
                r.id
            ),
            vec![Evidence::setting(
                "HttpTokens",
                m.http_tokens.clone(),
                "required",
            )],
        )),
    },
};

/// CIS 2.16.
pub const INSTANCE_ROLE: Control<Ec2Instance> = Control {
    id: RuleId::Ec2InstanceRole,
    listed_by: LISTED,
    details: instance,
    judge: |r, i| match &i.role {
        None => not_recorded(r, "ec2", "DescribeInstances", "IamInstanceProfile"),
        Some(role) if role.instance_profile_arn.is_some() => Verdict::Pass,
        Some(_) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec!["no IAM role: software on it that calls AWS needs stored access keys".to_owned()],
            format!(
                "aws ec2 associate-iam-instance-profile --instance-id {} --iam-instance-profile Name=PROFILE (a role with what the software needs), then delete any access keys stored on it",
                r.id
            ),
            vec![Evidence::setting(
                "IamInstanceProfile",
                "(none)",
                "an instance profile",
            )],
        )),
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ec2Instance, InstanceMetadata, InstanceRole, InstanceState, ResourceType};
    use crate::observed::Observed;
    use crate::rules::testkit::*;

    fn instance(metadata: Option<(&str, &str)>) -> crate::Inventory {
        with_role(metadata, None)
    }

    fn with_role(metadata: Option<(&str, &str)>, role: Option<InstanceRole>) -> crate::Inventory {
        inventory(vec![resource(
            ResourceType::Ec2Instance,
            "i-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
                instance_type: "t3.micro".into(),
                state: InstanceState::Stopped,
                image_id: "ami-1".into(),
                image_owner_id: Observed::Read(None),
                state_transition_reason: None,
                vpc_id: None,
                security_group_ids: vec![],
                network_interface_ids: vec![],
                created_at_source: None,
                metadata: metadata.map(|(endpoint, tokens)| InstanceMetadata {
                    http_endpoint: endpoint.into(),
                    http_tokens: tokens.into(),
                }),
                role,
            })),
        )])
    }

    #[test]
    fn only_required_tokens_or_no_service_pass() {
        let p = policy("");
        assert_eq!(
            check(&IMDSV2, &p, &instance(Some(("enabled", "required")))),
            None
        );
        assert_eq!(
            check(&IMDSV2, &p, &instance(Some(("disabled", "optional")))),
            None
        );
        let v = check(&IMDSV2, &p, &instance(Some(("enabled", "optional")))).unwrap();
        assert_eq!(
            v.evidence,
            [Evidence::setting("HttpTokens", "optional", "required")]
        );
        assert_eq!(
            unread_operations(&IMDSV2, &p, &instance(None)),
            ["DescribeInstances"]
        );
    }

    #[test]
    fn an_instance_needs_a_profile_and_unrecorded_ones_are_unknown() {
        let p = policy("");
        let role = |arn: Option<&str>| {
            Some(InstanceRole {
                instance_profile_arn: arn.map(str::to_owned),
            })
        };
        let with = with_role(
            None,
            role(Some("arn:aws:iam::123456789012:instance-profile/web")),
        );
        assert_eq!(check(&INSTANCE_ROLE, &p, &with), None);
        let v = check(&INSTANCE_ROLE, &p, &with_role(None, role(None))).unwrap();
        assert!(v.remediation.contains("associate-iam-instance-profile"));
        assert_eq!(
            unread_operations(&INSTANCE_ROLE, &p, &instance(Some(("enabled", "required")))),
            ["DescribeInstances"]
        );
    }
}
