//! `ec2-approved-ami`: instances run approved AMIs (by id or by owner).

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, EvidenceAmi, RuleId, Severity};
use crate::model::{Resource, ResourceDetails};
use crate::observed::Observed;

/// See the module documentation.
pub struct Ec2ApprovedAmi;

impl Rule for Ec2ApprovedAmi {
    fn id(&self) -> RuleId {
        RuleId::Ec2ApprovedAmi
    }

    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        let p = &cx.policy.ec2;
        matches!(r.details, ResourceDetails::Ec2Instance(_))
            && !(p.approved_amis.is_empty() && p.approved_ami_owners.is_empty())
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::Ec2Instance(i) = &r.details else {
            return Verdict::Pass;
        };
        let p = &cx.policy.ec2;
        if p.approved_amis.contains(&i.image_id) {
            return Verdict::Pass;
        }
        let owner = match &i.image_owner_id {
            Observed::Read(owner) => owner,
            // Without owners to approve by, the owner cannot change the answer.
            Observed::Unread(_) if p.approved_ami_owners.is_empty() => &None,
            Observed::Unread(e) => return Verdict::unread(e),
        };
        let reason = match owner {
            Some(owner) if p.approved_ami_owners.contains(owner) => return Verdict::Pass,
            Some(owner) => format!(
                "runs AMI {} owned by {owner}: neither the AMI nor its owner is approved",
                i.image_id
            ),
            None => format!(
                "runs AMI {}, which is not approved and whose owner is unknown (DescribeImages does not return it: deregistered or no longer shared)",
                i.image_id
            ),
        };
        Verdict::Fail(Violation::new(
            Severity::Medium,
            vec![reason],
            format!(
                "Rebuild instance {} from an approved AMI (or add the AMI to [ec2] approved_amis after review)",
                r.id
            ),
            vec![Evidence::Ami(Box::new(EvidenceAmi {
                image_id: i.image_id.clone(),
                owner_id: owner.clone(),
            }))],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ec2Instance, InstanceState, ResourceType};
    use crate::rules::testkit::*;

    fn instance(image: &str, owner: Option<&str>) -> Resource {
        resource(
            ResourceType::Ec2Instance,
            "i-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
                instance_type: "t3.micro".into(),
                state: InstanceState::Running,
                image_id: image.into(),
                image_owner_id: Observed::Read(owner.map(str::to_owned)),
                state_transition_reason: None,
                vpc_id: None,
                security_group_ids: vec![],
                network_interface_ids: vec![],
                created_at_source: None,
                metadata: None,
                role: None,
            })),
        )
    }

    #[test]
    fn cases() {
        let p = "[ec2]\napproved_amis = [\"ami-0aaa\"]\napproved_ami_owners = [\"111111111111\"]";
        let cases = [
            (
                "approved by id",
                p,
                instance("ami-0aaa", Some("999999999999")),
                false,
            ),
            (
                "approved by id, AMI gone",
                p,
                instance("ami-0aaa", None),
                false,
            ),
            (
                "approved by owner",
                p,
                instance("ami-0bbb", Some("111111111111")),
                false,
            ),
            (
                "neither",
                p,
                instance("ami-0bbb", Some("999999999999")),
                true,
            ),
            (
                "owner unknown, not approved by id",
                p,
                instance("ami-0ccc", None),
                true,
            ),
            (
                "both lists empty: rule off",
                "",
                instance("ami-0ccc", None),
                false,
            ),
            (
                "only owners listed",
                "[ec2]\napproved_ami_owners = [\"111111111111\"]",
                instance("ami-0ccc", Some("222222222222")),
                true,
            ),
        ];
        for (name, p, r, fails) in cases {
            let got = check(&Ec2ApprovedAmi, &policy(p), &inventory(vec![r]));
            assert_eq!(got.is_some(), fails, "{name}: {got:?}");
        }
    }

    #[test]
    fn an_unread_owner_decides_only_where_it_cannot_matter() {
        let mut r = instance("ami-0ccc", None);
        if let ResourceDetails::Ec2Instance(i) = &mut r.details {
            i.image_owner_id = Observed::failed(denied("ec2", "DescribeImages"));
        }
        let with_owners =
            "[ec2]\napproved_amis = [\"ami-0aaa\"]\napproved_ami_owners = [\"111111111111\"]";
        assert_eq!(
            unread_operations(
                &Ec2ApprovedAmi,
                &policy(with_owners),
                &inventory(vec![r.clone()])
            ),
            ["DescribeImages"]
        );
        assert!(
            check(
                &Ec2ApprovedAmi,
                &policy("[ec2]\napproved_amis = [\"ami-0aaa\"]"),
                &inventory(vec![r.clone()])
            )
            .is_some(),
            "with no owners to approve by, the id alone decides"
        );
        if let ResourceDetails::Ec2Instance(i) = &mut r.details {
            i.image_id = "ami-0aaa".into();
        }
        assert_eq!(
            check(&Ec2ApprovedAmi, &policy(with_owners), &inventory(vec![r])),
            None
        );
    }
}
