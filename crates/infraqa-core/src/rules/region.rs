//! `region-approved`: regional resources live in approved regions.

use super::{EvalContext, Rule, Verdict, Violation, aws_default};
use crate::finding::{Evidence, EvidenceRegion, RuleId, Severity};
use crate::model::Resource;

/// See the module documentation.
pub struct RegionApproved;

impl Rule for RegionApproved {
    fn id(&self) -> RuleId {
        RuleId::RegionApproved
    }

    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        !cx.policy.regions.approved.is_empty() && !r.is_global() && aws_default(r) != Ok(true)
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let approved = &cx.policy.regions.approved;
        if approved.iter().any(|a| a.as_str() == r.region) {
            return Verdict::Pass;
        }
        if let Err(unread) = aws_default(r) {
            return Verdict::unread(unread);
        }
        Verdict::Fail(Violation::new(
            Severity::High,
            vec![format!(
                "lives in {}, which is not an approved region ({})",
                r.region,
                approved.join(", ")
            )],
            format!(
                "Move or recreate {} in an approved region and delete it from {}",
                r.id, r.region
            ),
            vec![Evidence::Region(Box::new(EvidenceRegion {
                region: r.region.to_string(),
                approved: approved.clone(),
            }))],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceDetails, ResourceType, SecurityGroup, Vpc};
    use crate::rules::testkit::*;

    #[test]
    fn cases() {
        let p = policy("[regions]\napproved = [\"us-east-1\"]");
        let vpc = |default| {
            ResourceDetails::Ec2Vpc(Vpc {
                is_default: default,
                cidr_block: None,
                flow_log_ids: Default::default(),
            })
        };
        let sg = |name: &str| {
            ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                group_name: name.into(),
                vpc_id: None,
                ingress: vec![],
                egress: vec![],
                network_interface_ids: Default::default(),
            })
        };
        let cases = [
            (
                "approved region",
                resource(ResourceType::Ec2Vpc, "v", "us-east-1", &[], vpc(false)),
                false,
            ),
            (
                "unapproved region",
                resource(ResourceType::Ec2Vpc, "v", "eu-west-1", &[], vpc(false)),
                true,
            ),
            (
                "bucket located elsewhere",
                resource(
                    ResourceType::S3Bucket,
                    "b",
                    "eu-west-1",
                    &[],
                    ResourceDetails::Generic(Default::default()),
                ),
                true,
            ),
            (
                "global IAM out of scope",
                resource(
                    ResourceType::IamRole,
                    "r",
                    "global",
                    &[],
                    ResourceDetails::Generic(Default::default()),
                ),
                false,
            ),
            (
                "default VPC exempt",
                resource(ResourceType::Ec2Vpc, "v", "eu-west-1", &[], vpc(true)),
                false,
            ),
            (
                "default SG exempt",
                resource(
                    ResourceType::Ec2SecurityGroup,
                    "sg",
                    "eu-west-1",
                    &[],
                    sg("default"),
                ),
                false,
            ),
            (
                "own SG checked",
                resource(
                    ResourceType::Ec2SecurityGroup,
                    "sg",
                    "eu-west-1",
                    &[],
                    sg("web"),
                ),
                true,
            ),
        ];
        for (name, r, fails) in cases {
            assert_eq!(
                check(&RegionApproved, &p, &inventory(vec![r])).is_some(),
                fails,
                "{name}"
            );
        }
        let off = policy("");
        assert!(
            check(
                &RegionApproved,
                &off,
                &inventory(vec![resource(
                    ResourceType::Ec2Vpc,
                    "v",
                    "eu-west-1",
                    &[],
                    vpc(false)
                )])
            )
            .is_none()
        );
    }
}
