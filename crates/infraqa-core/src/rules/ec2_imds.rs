//! `ec2-imdsv2` (CIS AWS Foundations 6.7): every instance (running or stopped) answers
//! instance metadata requests over IMDSv2 only: `MetadataOptions.HttpTokens` is `required`,
//! or `HttpEndpoint` is `disabled` (no metadata service at all). An instance whose options the
//! inventory does not hold is not evaluated.

use super::{EvalContext, Rule, Verdict, Violation, not_recorded};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{Resource, ResourceDetails};

/// See the module documentation.
pub struct Ec2Imdsv2;

impl Rule for Ec2Imdsv2 {
    fn id(&self) -> RuleId {
        RuleId::Ec2Imdsv2
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("ec2", "DescribeInstances")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::Ec2Instance(_))
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::Ec2Instance(i) = &r.details else {
            return Verdict::Pass;
        };
        match &i.metadata {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ec2Instance, InstanceMetadata, InstanceState, ResourceType};
    use crate::observed::Observed;
    use crate::rules::testkit::*;

    fn instance(metadata: Option<(&str, &str)>) -> crate::Inventory {
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
            })),
        )])
    }

    #[test]
    fn only_required_tokens_or_no_service_pass() {
        let p = policy("");
        assert_eq!(
            check(&Ec2Imdsv2, &p, &instance(Some(("enabled", "required")))),
            None
        );
        assert_eq!(
            check(&Ec2Imdsv2, &p, &instance(Some(("disabled", "optional")))),
            None
        );
        let v = check(&Ec2Imdsv2, &p, &instance(Some(("enabled", "optional")))).unwrap();
        assert_eq!(
            v.evidence,
            [Evidence::setting("HttpTokens", "optional", "required")]
        );
        assert_eq!(
            unread_operations(&Ec2Imdsv2, &p, &instance(None)),
            ["DescribeInstances"]
        );
    }
}
