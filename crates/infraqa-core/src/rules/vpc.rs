//! The VPC controls of CIS AWS Foundations:
//! - `vpc-flow-logs` (4.7): every VPC, default ones included, has at least one flow log
//!   (`DescribeFlowLogs`); a VPC whose flow logs could not be read is not evaluated.
//! - `sg-default-closed` (6.5): every VPC's default security group has no inbound and no
//!   outbound permission. Attachment sets the severity: medium when something uses the group
//!   (or that could not be read), low when nothing does.

use super::network::attachment;
use super::{Control, Verdict, Violation};
use crate::finding::{Evidence, LoggingControl, RuleId, Severity};
use crate::model::{ResourceDetails, SecurityGroup, Vpc};
use crate::observed::Observed;

/// The VPC in `d`, if it is one.
fn vpc(d: &ResourceDetails) -> Option<&Vpc> {
    match d {
        ResourceDetails::Ec2Vpc(v) => Some(v),
        _ => None,
    }
}

/// The default security group in `d`, if it is one.
fn default_group(d: &ResourceDetails) -> Option<&SecurityGroup> {
    match d {
        ResourceDetails::Ec2SecurityGroup(g) if g.is_default() => Some(g),
        _ => None,
    }
}

/// CIS 4.7.
pub const FLOW_LOGS: Control<Vpc> = Control {
    id: RuleId::VpcFlowLogs,
    listed_by: &[("ec2", "DescribeVpcs")],
    details: vpc,
    judge: |r, v| match &v.flow_log_ids {
        Observed::Unread(e) => Verdict::unread(e),
        Observed::Read(ids) if !ids.is_empty() => Verdict::Pass,
        Observed::Read(_) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec![format!(
                "no flow log{}",
                if v.is_default {
                    " (the region's default VPC)"
                } else {
                    ""
                }
            )],
            format!(
                "aws ec2 create-flow-logs --resource-type VPC --resource-ids {} --traffic-type REJECT --log-destination-type cloud-watch-logs --log-group-name GROUP --deliver-logs-permission-arn ROLE",
                r.id
            ),
            vec![Evidence::Logging {
                control: LoggingControl::VpcFlowLog,
            }],
        )),
    },
};

/// CIS 6.5.
pub const DEFAULT_GROUP_CLOSED: Control<SecurityGroup> = Control {
    id: RuleId::SgDefaultClosed,
    listed_by: &[("ec2", "DescribeSecurityGroups")],
    details: default_group,
    judge: |r, g| {
        let (inbound, outbound) = (g.ingress.len(), g.egress.len());
        if inbound == 0 && outbound == 0 {
            return Verdict::Pass;
        }
        let (severity, attached, _) = attachment(g, Severity::Medium, Severity::Low);
        Verdict::Fail(Violation::new(
            severity,
            vec![
                format!(
                    "the default security group allows traffic: {inbound} inbound and {outbound} outbound permission(s)"
                ),
                attached,
            ],
            format!(
                "Move what uses it to groups of their own, then remove every rule: aws ec2 revoke-security-group-ingress --group-id {id} --ip-permissions ... and aws ec2 revoke-security-group-egress --group-id {id} --ip-permissions ...",
                id = r.id
            ),
            vec![
                Evidence::setting("IpPermissions", inbound.to_string(), "0"),
                Evidence::setting("IpPermissionsEgress", outbound.to_string(), "0"),
            ],
        ))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IpPermission, ResourceType, SecurityGroup, Vpc};
    use crate::rules::testkit::*;

    fn vpc(flow_logs: Observed<Vec<String>>, is_default: bool) -> crate::Inventory {
        inventory(vec![resource(
            ResourceType::Ec2Vpc,
            "vpc-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2Vpc(Vpc {
                is_default,
                cidr_block: None,
                flow_log_ids: flow_logs,
            }),
        )])
    }

    #[test]
    fn every_vpc_needs_a_flow_log_and_unread_ones_are_unknown() {
        let p = policy("");
        assert_eq!(
            check(
                &FLOW_LOGS,
                &p,
                &vpc(Observed::Read(vec!["fl-1".into()]), false)
            ),
            None
        );
        let v = check(&FLOW_LOGS, &p, &vpc(Observed::Read(vec![]), true)).unwrap();
        assert_eq!(v.reasons, ["no flow log (the region's default VPC)"]);
        assert_eq!(
            unread_operations(
                &FLOW_LOGS,
                &p,
                &vpc(Observed::failed(denied("ec2", "DescribeFlowLogs")), false)
            ),
            ["DescribeFlowLogs"]
        );
    }

    fn group(name: &str, ingress: usize, egress: usize, used: &[&str]) -> crate::Inventory {
        let all = || IpPermission {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            ipv4_ranges: vec![],
            ipv6_ranges: vec![],
            prefix_list_ids: vec![],
            referenced_group_ids: vec!["sg-1".into()],
        };
        inventory(vec![resource(
            ResourceType::Ec2SecurityGroup,
            "sg-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                group_name: name.into(),
                vpc_id: Some("vpc-1".into()),
                ingress: (0..ingress).map(|_| all()).collect(),
                egress: (0..egress).map(|_| all()).collect(),
                network_interface_ids: Observed::Read(
                    used.iter().map(|s| (*s).to_owned()).collect(),
                ),
            }),
        )])
    }

    #[test]
    fn default_groups_must_allow_nothing_either_way() {
        let p = policy("");
        assert_eq!(
            check(
                &DEFAULT_GROUP_CLOSED,
                &p,
                &group("default", 0, 0, &["eni-1"])
            ),
            None
        );
        assert_eq!(
            check(&DEFAULT_GROUP_CLOSED, &p, &group("web", 3, 1, &[])),
            None,
            "other groups are not the control's"
        );
        let egress_only = check(&DEFAULT_GROUP_CLOSED, &p, &group("default", 0, 1, &[])).unwrap();
        assert_eq!(egress_only.severity, Severity::Low);
        assert_eq!(
            egress_only.reasons[0],
            "the default security group allows traffic: 0 inbound and 1 outbound permission(s)"
        );
        let used = check(
            &DEFAULT_GROUP_CLOSED,
            &p,
            &group("default", 1, 1, &["eni-1"]),
        )
        .unwrap();
        assert_eq!(used.severity, Severity::Medium);
    }
}
