//! Named ports a security group must not open to the world, as CIS AWS Foundations words them:
//! - `sg-admin-ports-ipv4` (6.3): no ingress from `0.0.0.0/0` reaching port 22 or 3389;
//! - `sg-admin-ports-ipv6` (6.4): no ingress from `::/0` reaching port 22 or 3389;
//! - `sg-cifs-ingress` (6.1.2): no ingress from `0.0.0.0/0` or `::/0` reaching port 445.
//!
//! A permission reaches a port when its protocol is TCP, UDP or all (`-1`) and its range holds
//! the port (`0-65535`, `20-25` and "all traffic" reach 22). ICMP and other protocols reach no
//! port. Unlike `sg-open-ingress`, `[network] allowed_public_ports` changes nothing: the
//! control allows no exception. Only the exact world ranges count (a `/1` is not the world,
//! nor are prefix lists or referenced groups). Attachment sets the severity as it does for
//! `sg-open-ingress`: high when the group is (or may be) in use, low when nothing uses it.

use super::network::{Coverage, WORLD_V4, WORLD_V6, attachment, evidence};
use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{RuleId, Severity};
use crate::model::{IpPermission, Resource, ResourceDetails};

/// A rule that no permission opens `ports` to `worlds`.
pub struct SgPorts {
    id: RuleId,
    ports: &'static [u16],
    worlds: &'static [&'static str],
    what: &'static str,
}

impl SgPorts {
    /// CIS 6.3.
    pub const ADMIN_IPV4: Self = Self {
        id: RuleId::SgAdminPortsIpv4,
        ports: &[22, 3389],
        worlds: &[WORLD_V4],
        what: "remote administration",
    };
    /// CIS 6.4.
    pub const ADMIN_IPV6: Self = Self {
        id: RuleId::SgAdminPortsIpv6,
        ports: &[22, 3389],
        worlds: &[WORLD_V6],
        what: "remote administration",
    };
    /// CIS 6.1.2.
    pub const CIFS: Self = Self {
        id: RuleId::SgCifsIngress,
        ports: &[445],
        worlds: &[WORLD_V4, WORLD_V6],
        what: "CIFS",
    };

    /// The ports of `self.ports` that `p` reaches.
    fn reached(&self, p: &IpPermission) -> Vec<u16> {
        self.ports
            .iter()
            .copied()
            .filter(|port| match Coverage::of(p) {
                Coverage::All => true,
                Coverage::Ports { from, to, .. } => (from..=to).contains(port),
                Coverage::Icmp(_) | Coverage::Other(_) => false,
            })
            .collect()
    }
}

impl Rule for SgPorts {
    fn id(&self) -> RuleId {
        self.id
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("ec2", "DescribeSecurityGroups")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::Ec2SecurityGroup(_))
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::Ec2SecurityGroup(g) = &r.details else {
            return Verdict::Pass;
        };
        let (severity, attached, interfaces) = attachment(g, Severity::High, Severity::Low);
        let mut open = Vec::new();
        let mut facts = Vec::new();
        for p in &g.ingress {
            let sources: Vec<&str> = p
                .ipv4_ranges
                .iter()
                .chain(&p.ipv6_ranges)
                .map(String::as_str)
                .filter(|c| self.worlds.contains(c))
                .collect();
            let ports = self.reached(p);
            if sources.is_empty() || ports.is_empty() {
                continue;
            }
            let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
            open.push(format!(
                "port {} from {}",
                ports.join(", "),
                sources.join(", ")
            ));
            facts.push(evidence(p, &sources, interfaces));
        }
        if open.is_empty() {
            return Verdict::Pass;
        }
        Verdict::Fail(Violation::new(
            severity,
            vec![
                format!("{} open to the world: {}", self.what, open.join("; ")),
                attached,
            ],
            format!(
                "aws ec2 revoke-security-group-ingress --group-id {} --ip-permissions ... for those ranges; reach the servers through Session Manager, a VPN or a known CIDR instead",
                r.id
            ),
            facts,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceType, SecurityGroup};
    use crate::observed::Observed;
    use crate::rules::testkit::*;

    fn group(ingress: Vec<IpPermission>, interfaces: Observed<Vec<String>>) -> crate::Inventory {
        inventory(vec![resource(
            ResourceType::Ec2SecurityGroup,
            "sg-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                group_name: "web".into(),
                vpc_id: Some("vpc-1".into()),
                ingress,
                egress: vec![],
                network_interface_ids: interfaces,
            }),
        )])
    }

    fn perm(protocol: &str, ports: Option<(i32, i32)>, v4: &[&str], v6: &[&str]) -> IpPermission {
        IpPermission {
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            ipv4_ranges: v4.iter().map(|s| (*s).to_owned()).collect(),
            ipv6_ranges: v6.iter().map(|s| (*s).to_owned()).collect(),
            prefix_list_ids: vec![],
            referenced_group_ids: vec![],
        }
    }

    /// Which of the three rules fail a group holding `p`, unattached.
    fn failing(p: IpPermission) -> Vec<&'static str> {
        let pol = policy("[network]\nallowed_public_ports = [22, 445, 3389]");
        let inv = group(vec![p], Observed::Read(vec![]));
        [SgPorts::ADMIN_IPV4, SgPorts::ADMIN_IPV6, SgPorts::CIFS]
            .iter()
            .filter(|rule| check(*rule, &pol, &inv).is_some())
            .map(|rule| rule.id.as_str())
            .collect()
    }

    #[test]
    fn each_rule_reaches_its_ports_from_its_world_only() {
        let (v4, v6) = (&["0.0.0.0/0"][..], &["::/0"][..]);
        let cases: Vec<(&str, IpPermission, Vec<&str>)> = vec![
            (
                "ssh from v4",
                perm("tcp", Some((22, 22)), v4, &[]),
                vec!["sg-admin-ports-ipv4"],
            ),
            (
                "rdp from v6",
                perm("6", Some((3389, 3389)), &[], v6),
                vec!["sg-admin-ports-ipv6"],
            ),
            (
                "udp rdp counts",
                perm("udp", Some((3389, 3389)), v4, &[]),
                vec!["sg-admin-ports-ipv4"],
            ),
            (
                "range holding 22",
                perm("tcp", Some((20, 25)), v4, &[]),
                vec!["sg-admin-ports-ipv4"],
            ),
            (
                "range 23-444 holds none",
                perm("tcp", Some((23, 444)), v4, v6),
                vec![],
            ),
            (
                "range to 445",
                perm("tcp", Some((0, 445)), &[], v6),
                vec!["sg-admin-ports-ipv6", "sg-cifs-ingress"],
            ),
            (
                "all traffic, both worlds",
                perm("-1", None, v4, v6),
                vec![
                    "sg-admin-ports-ipv4",
                    "sg-admin-ports-ipv6",
                    "sg-cifs-ingress",
                ],
            ),
            (
                "cifs from v4",
                perm("tcp", Some((445, 445)), v4, &[]),
                vec!["sg-cifs-ingress"],
            ),
            (
                "icmp reaches no port",
                perm("icmp", Some((-1, -1)), v4, v6),
                vec![],
            ),
            (
                "a /1 is not the world",
                perm("tcp", Some((22, 22)), &["0.0.0.0/1"], &[]),
                vec![],
            ),
            (
                "a known CIDR",
                perm("-1", None, &["10.0.0.0/8"], &["2001:db8::/32"]),
                vec![],
            ),
        ];
        for (name, p, want) in cases {
            assert_eq!(failing(p), want, "{name}");
        }
    }

    #[test]
    fn severity_follows_attachment_and_evidence_names_the_family() {
        let pol = policy("");
        let open = || vec![perm("tcp", Some((22, 22)), &["0.0.0.0/0"], &["::/0"])];
        let unused = check(
            &SgPorts::ADMIN_IPV4,
            &pol,
            &group(open(), Observed::Read(vec![])),
        )
        .unwrap();
        assert_eq!(unused.severity, Severity::Low);
        assert_eq!(
            unused.reasons,
            [
                "remote administration open to the world: port 22 from 0.0.0.0/0",
                "not attached to anything"
            ]
        );
        let crate::finding::Evidence::OpenIngress(e) = &unused.evidence[0] else {
            panic!("open ingress evidence")
        };
        assert_eq!(e.sources, ["0.0.0.0/0"]);
        let used = check(
            &SgPorts::ADMIN_IPV6,
            &pol,
            &group(open(), Observed::Read(vec!["eni-1".into()])),
        )
        .unwrap();
        assert_eq!(used.severity, Severity::High);
        let unknown = check(
            &SgPorts::CIFS,
            &pol,
            &group(
                vec![perm("tcp", Some((445, 445)), &["0.0.0.0/0"], &[])],
                Observed::failed(denied("ec2", "DescribeNetworkInterfaces")),
            ),
        )
        .unwrap();
        assert_eq!(unknown.severity, Severity::High);
        assert!(unknown.reasons[1].contains("DescribeNetworkInterfaces"));
    }
}
