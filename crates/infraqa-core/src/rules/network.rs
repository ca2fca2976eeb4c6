//! `sg-open-ingress`: no port outside `network.allowed_public_ports` open to the world.
//!
//! Port coverage is exact: a range covers every port in it, protocol `-1` covers everything,
//! protocols arrive as names or numbers, and only `0.0.0.0/0` and `::/0` are "the world"
//! (prefix lists and group references are not). Egress is never evaluated.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, EvidenceIngress, RuleId, Severity};
use crate::model::{IpPermission, Resource, ResourceDetails, SecurityGroup};
use crate::policy::NetworkPolicy;

/// See the module documentation.
pub struct SgOpenIngress;

/// The protocol of a permission, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// `-1`: every protocol and port.
    All,
    /// TCP or UDP ports `from..=to`.
    Ports {
        /// `tcp` or `udp`.
        protocol: &'static str,
        /// First port.
        from: u16,
        /// Last port.
        to: u16,
    },
    /// ICMP or ICMPv6.
    Icmp(&'static str),
    /// Any other IP protocol (ESP, GRE...), by name or number.
    Other(String),
}

impl Coverage {
    /// Normalises a permission's protocol and ports.
    pub fn of(p: &IpPermission) -> Self {
        let ports = |protocol| {
            let (from, to) = match (p.from_port, p.to_port) {
                (Some(f), Some(t)) if f >= 0 && t >= 0 => (f, t),
                _ => (0, 65_535),
            };
            let clamp = |v: i32| u16::try_from(v.clamp(0, 65_535)).unwrap_or(u16::MAX);
            Coverage::Ports {
                protocol,
                from: clamp(from.min(to)),
                to: clamp(from.max(to)),
            }
        };
        match p.protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" => Self::All,
            "tcp" | "6" => ports("tcp"),
            "udp" | "17" => ports("udp"),
            "icmp" | "1" => Self::Icmp("icmp"),
            "icmpv6" | "58" => Self::Icmp("icmpv6"),
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The IPv4 world.
pub(super) const WORLD_V4: &str = "0.0.0.0/0";
/// The IPv6 world.
pub(super) const WORLD_V6: &str = "::/0";
const WORLD: [&str; 2] = [WORLD_V4, WORLD_V6];

/// The world sources (`0.0.0.0/0`, `::/0`) of a permission.
fn world_sources(p: &IpPermission) -> Vec<&str> {
    p.ipv4_ranges
        .iter()
        .chain(&p.ipv6_ranges)
        .map(String::as_str)
        .filter(|c| WORLD.contains(c))
        .collect()
}

/// The structured form of a permission open to `sources`.
pub(super) fn evidence(p: &IpPermission, sources: &[&str], attached_interfaces: usize) -> Evidence {
    let (protocol, from_port, to_port) = match Coverage::of(p) {
        Coverage::All => ("all".to_owned(), None, None),
        Coverage::Ports { protocol, from, to } => (protocol.to_owned(), Some(from), Some(to)),
        Coverage::Icmp(name) => (name.to_owned(), None, None),
        Coverage::Other(proto) => (proto, None, None),
    };
    Evidence::OpenIngress(Box::new(EvidenceIngress {
        protocol,
        from_port,
        to_port,
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        attached_interfaces,
    }))
}

/// Whether a group is in use, as its findings say it: the severity when it is (or may be)
/// attached and when it is not, the sentence that says which, and how many interfaces use it.
pub(super) fn attachment(
    g: &SecurityGroup,
    in_use: Severity,
    unused: Severity,
) -> (Severity, String, usize) {
    let interfaces = g.network_interface_ids.read();
    let attached_interfaces = interfaces.map_or(0, Vec::len);
    // When the network interfaces could not be read, the group may be in use, and said so.
    match g.network_interface_ids.unread() {
        Some(e) => (
            in_use,
            format!(
                "whether it is attached is unknown ({} failed: {})",
                e.operation, e.code
            ),
            attached_interfaces,
        ),
        None if attached_interfaces > 0 => (
            in_use,
            format!("attached to {attached_interfaces} network interface(s)"),
            attached_interfaces,
        ),
        None => (unused, "not attached to anything".to_owned(), 0),
    }
}

/// Why `p` is open to the world beyond what `policy` allows, or `None`.
pub fn open_to_world(p: &IpPermission, policy: &NetworkPolicy) -> Option<String> {
    let sources = world_sources(p);
    if sources.is_empty() {
        return None;
    }
    let what = match Coverage::of(p) {
        Coverage::All => "all traffic".to_owned(),
        Coverage::Ports { protocol, from, to } => {
            let allowed_inside = policy.allowed_public_ports.range(from..=to).count();
            if usize::from(to - from) < allowed_inside {
                return None;
            }
            if from == to {
                format!("{protocol} {from}")
            } else {
                format!("{protocol} {from}-{to}")
            }
        }
        Coverage::Icmp(name) => {
            if policy.allow_public_icmp {
                return None;
            }
            name.to_owned()
        }
        Coverage::Other(proto) => format!("protocol {proto}"),
    };
    Some(format!("{what} from {}", sources.join(", ")))
}

impl Rule for SgOpenIngress {
    fn id(&self) -> RuleId {
        RuleId::SgOpenIngress
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::Ec2SecurityGroup(_))
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::Ec2SecurityGroup(g) = &r.details else {
            return Verdict::Pass;
        };
        // The rules alone decide the finding; attachment only sets its severity.
        let (severity, attached, interfaces) = attachment(g, Severity::High, Severity::Low);
        let (open, evidence): (Vec<String>, Vec<Evidence>) = g
            .ingress
            .iter()
            .filter_map(|p| {
                open_to_world(p, &cx.policy.network)
                    .map(|why| (why, evidence(p, &world_sources(p), interfaces)))
            })
            .unzip();
        if open.is_empty() {
            return Verdict::Pass;
        }
        let reasons = vec![
            format!("ingress open to the world: {}", open.join("; ")),
            attached,
        ];
        Verdict::Fail(Violation::new(
            severity,
            reasons,
            format!(
                "Restrict the sources: aws ec2 revoke-security-group-ingress --group-id {} --ip-permissions ... then allow only known CIDRs, a prefix list or a security group",
                r.id
            ),
            evidence,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceType, SecurityGroup};
    use crate::observed::Observed;
    use crate::rules::testkit::*;

    fn perm(
        protocol: &str,
        from: Option<i32>,
        to: Option<i32>,
        v4: &[&str],
        v6: &[&str],
    ) -> IpPermission {
        IpPermission {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            ipv4_ranges: v4.iter().map(|s| (*s).to_owned()).collect(),
            ipv6_ranges: v6.iter().map(|s| (*s).to_owned()).collect(),
            prefix_list_ids: vec![],
            referenced_group_ids: vec![],
        }
    }

    #[test]
    fn port_coverage_is_exact() {
        let allowed = policy("[network]\nallowed_public_ports = [80, 443]").network;
        let no_icmp =
            policy("[network]\nallowed_public_ports = [80, 443]\nallow_public_icmp = false")
                .network;
        let cases: Vec<(&str, IpPermission, &NetworkPolicy, Option<&str>)> = vec![
            (
                "allowed port",
                perm("tcp", Some(443), Some(443), &["0.0.0.0/0"], &[]),
                &allowed,
                None,
            ),
            (
                "ssh to the world",
                perm("tcp", Some(22), Some(22), &["0.0.0.0/0"], &[]),
                &allowed,
                Some("tcp 22 from 0.0.0.0/0"),
            ),
            (
                "ipv6 world",
                perm("tcp", Some(22), Some(22), &[], &["::/0"]),
                &allowed,
                Some("tcp 22 from ::/0"),
            ),
            (
                "range straddling allowed ports",
                perm("tcp", Some(80), Some(443), &["0.0.0.0/0"], &[]),
                &allowed,
                Some("tcp 80-443 from 0.0.0.0/0"),
            ),
            (
                "range of only allowed port",
                perm("tcp", Some(80), Some(80), &["0.0.0.0/0"], &[]),
                &allowed,
                None,
            ),
            (
                "protocol number 6",
                perm("6", Some(3389), Some(3389), &["0.0.0.0/0"], &[]),
                &allowed,
                Some("tcp 3389 from 0.0.0.0/0"),
            ),
            (
                "udp 17",
                perm("17", Some(53), Some(53), &["0.0.0.0/0"], &[]),
                &allowed,
                Some("udp 53 from 0.0.0.0/0"),
            ),
            (
                "all traffic",
                perm("-1", None, None, &[], &["::/0"]),
                &allowed,
                Some("all traffic from ::/0"),
            ),
            (
                "tcp without ports covers all",
                perm("tcp", None, None, &["0.0.0.0/0"], &[]),
                &allowed,
                Some("tcp 0-65535 from 0.0.0.0/0"),
            ),
            (
                "icmp allowed by default",
                perm("icmp", Some(-1), Some(-1), &["0.0.0.0/0"], &[]),
                &allowed,
                None,
            ),
            (
                "icmpv6 58 allowed",
                perm("58", Some(-1), Some(-1), &[], &["::/0"]),
                &allowed,
                None,
            ),
            (
                "icmp refused by policy",
                perm("1", Some(8), Some(0), &["0.0.0.0/0"], &[]),
                &no_icmp,
                Some("icmp from 0.0.0.0/0"),
            ),
            (
                "ESP open",
                perm("50", None, None, &["0.0.0.0/0"], &[]),
                &allowed,
                Some("protocol 50 from 0.0.0.0/0"),
            ),
            (
                "private CIDR",
                perm("tcp", Some(22), Some(22), &["10.0.0.0/8"], &[]),
                &allowed,
                None,
            ),
            (
                "both world ranges named",
                perm("tcp", Some(22), Some(22), &["0.0.0.0/0"], &["::/0"]),
                &allowed,
                Some("tcp 22 from 0.0.0.0/0, ::/0"),
            ),
        ];
        for (name, p, net, want) in cases {
            assert_eq!(open_to_world(&p, net).as_deref(), want, "{name}");
        }
        let mut prefix = perm("tcp", Some(22), Some(22), &[], &[]);
        prefix.prefix_list_ids.push("pl-1".into());
        prefix.referenced_group_ids.push("sg-2".into());
        assert_eq!(
            open_to_world(&prefix, &allowed),
            None,
            "prefix lists and group references are not the world"
        );
    }

    #[test]
    fn severity_depends_on_attachment_and_egress_is_ignored() {
        let group = |enis: Vec<String>, ingress: Vec<IpPermission>, egress: Vec<IpPermission>| {
            resource(
                ResourceType::Ec2SecurityGroup,
                "sg-1",
                "us-east-1",
                &[],
                ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                    group_name: "default".into(),
                    vpc_id: None,
                    ingress,
                    egress,
                    network_interface_ids: Observed::Read(enis),
                }),
            )
        };
        let ssh = || vec![perm("tcp", Some(22), Some(22), &["0.0.0.0/0"], &[])];
        let p = policy("");
        let attached = check(
            &SgOpenIngress,
            &p,
            &inventory(vec![group(vec!["eni-1".into()], ssh(), vec![])]),
        )
        .unwrap();
        assert_eq!(attached.severity, Severity::High);
        assert_eq!(
            attached.evidence,
            [Evidence::OpenIngress(Box::new(EvidenceIngress {
                protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                sources: vec!["0.0.0.0/0".into()],
                attached_interfaces: 1,
            }))]
        );
        assert_eq!(
            attached.reasons[0],
            "ingress open to the world: tcp 22 from 0.0.0.0/0"
        );
        let unused = check(
            &SgOpenIngress,
            &p,
            &inventory(vec![group(vec![], ssh(), vec![])]),
        )
        .unwrap();
        assert_eq!(unused.severity, Severity::Low);
        assert!(
            check(
                &SgOpenIngress,
                &p,
                &inventory(vec![group(vec![], vec![], ssh())])
            )
            .is_none()
        );
    }

    #[test]
    fn unread_attachments_keep_the_finding_at_high_and_say_so() {
        let mut r = resource(
            ResourceType::Ec2SecurityGroup,
            "sg-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                group_name: "web".into(),
                vpc_id: None,
                ingress: vec![perm("tcp", Some(22), Some(22), &["0.0.0.0/0"], &[])],
                egress: vec![],
                network_interface_ids: Observed::Read(vec![]),
            }),
        );
        assert_eq!(
            check(&SgOpenIngress, &policy(""), &inventory(vec![r.clone()])).map(|v| v.severity),
            Some(Severity::Low)
        );
        if let ResourceDetails::Ec2SecurityGroup(g) = &mut r.details {
            g.network_interface_ids = Observed::failed(denied("ec2", "DescribeNetworkInterfaces"));
        }
        let v = check(&SgOpenIngress, &policy(""), &inventory(vec![r])).unwrap();
        assert_eq!(v.severity, Severity::High, "it may be in use");
        assert!(
            v.reasons[1].contains("whether it is attached is unknown"),
            "{:?}",
            v.reasons
        );
    }
}
