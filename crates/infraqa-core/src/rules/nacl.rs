//! `nacl-admin-ports` (CIS 6.2): no network ACL in use lets traffic from the whole internet
//! (`0.0.0.0/0`, or `::/0`) reach port 22 (SSH) or 3389 (RDP) over TCP or UDP (as
//! `sg-admin-ports-ipv4` counts them).
//!
//! A network ACL's inbound entries are evaluated in increasing rule number and the first match
//! decides, so a port is open to the world over a protocol when the lowest-numbered inbound
//! entry from `0.0.0.0/0` (or `::/0`) that matches that protocol and port allows (an entry for
//! all protocols, `-1`, matches every port). A lower deny from the whole internet closes it;
//! entries for narrower sources neither open nor close it to the world. An ACL associated with
//! no subnet filters no traffic and is not judged.

use super::listed::{Listed, Source};
use super::network::{WORLD_V4, WORLD_V6};
use super::{Verdict, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::settings::{AclEntry, NetworkAcl, Setting};

/// The remote administration ports (CIS 6.2).
const ADMIN_PORTS: [i32; 2] = [22, 3389];

/// The protocols that reach a port: (name, number).
const PROTOCOLS: [(&str, &str); 2] = [("TCP", "6"), ("UDP", "17")];

/// Whether the entry matches traffic of `protocol` (its number) to `port`.
fn matches(e: &AclEntry, protocol: &str, port: i32) -> bool {
    e.protocol == "-1"
        || (e.protocol == protocol && e.ports.is_none_or(|(from, to)| from <= port && port <= to))
}

/// The inbound entry that decides traffic of `protocol` from `world` (its range as written) to
/// `port`.
fn deciding<'a>(
    acl: &'a NetworkAcl,
    world: &str,
    protocol: &str,
    port: i32,
) -> Option<&'a AclEntry> {
    acl.entries
        .iter()
        .filter(|e| {
            !e.egress
                && (e.cidr.as_deref() == Some(world) || e.ipv6_cidr.as_deref() == Some(world))
                && matches(e, protocol, port)
        })
        .min_by_key(|e| e.rule_number)
}

fn judge(acl: &NetworkAcl, _now: chrono::DateTime<chrono::Utc>) -> Option<Verdict> {
    if acl.subnets == 0 {
        return None;
    }
    // (port, world, allowing entry, protocols it opens), in port and world order.
    let mut open: Vec<(i32, &str, i32, Vec<&str>)> = Vec::new();
    for world in [WORLD_V4, WORLD_V6] {
        for port in ADMIN_PORTS {
            for (name, number) in PROTOCOLS {
                let Some(e) = deciding(acl, world, number, port).filter(|e| e.allow) else {
                    continue;
                };
                match open
                    .iter_mut()
                    .find(|(p, w, n, _)| (*p, *w, *n) == (port, world, e.rule_number))
                {
                    Some((_, _, _, names)) => names.push(name),
                    None => open.push((port, world, e.rule_number, vec![name])),
                }
            }
        }
    }
    if open.is_empty() {
        return Some(Verdict::Pass);
    }
    let first = open.iter().map(|(_, _, n, _)| *n).min().unwrap_or(1);
    Some(Verdict::Fail(Violation::new(
        Severity::High,
        open.iter()
            .map(|(port, world, n, names)| {
                format!(
                    "entry {n} allows {} port {port} from {world}",
                    names.join(" and ")
                )
            })
            .collect(),
        format!(
            "Deny before the allow: aws ec2 create-network-acl-entry --network-acl-id {} --ingress --rule-number {} --protocol -1 --cidr-block 0.0.0.0/0 --rule-action deny (every protocol from the world, and ::/0 with --ipv6-cidr-block), or narrow the allowing entry's source; then allow back what must stay reachable above it",
            acl.id,
            (first - 1).max(1)
        ),
        open.iter()
            .map(|(port, world, n, names)| {
                Evidence::setting(
                    format!("entry {n}"),
                    format!("allow {world} {} {port}", names.join("/")),
                    "deny, or a narrower source",
                )
            })
            .collect(),
    )))
}

/// CIS 6.2.
pub const ADMIN_PORTS_OPEN: Listed<NetworkAcl> = Listed {
    id: RuleId::NaclAdminPorts,
    setting: Setting::NetworkAcls,
    unit_type: "ec2:network-acl",
    list: Source::Region(|s| s.network_acls.as_ref()),
    arn: |a| &a.arn,
    judge,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        n: i32,
        allow: bool,
        protocol: &str,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> AclEntry {
        AclEntry {
            rule_number: n,
            egress: false,
            allow,
            protocol: protocol.into(),
            cidr: (!cidr.contains(':')).then(|| cidr.to_owned()),
            ipv6_cidr: cidr.contains(':').then(|| cidr.to_owned()),
            ports,
        }
    }

    fn acl(subnets: usize, entries: Vec<AclEntry>) -> NetworkAcl {
        NetworkAcl {
            arn: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-1".into(),
            id: "acl-1".into(),
            vpc_id: "vpc-1".into(),
            subnets,
            entries,
        }
    }

    fn reasons(a: &NetworkAcl) -> Option<Vec<String>> {
        match judge(a, crate::rules::testkit::now())? {
            Verdict::Fail(v) => Some(v.reasons),
            Verdict::Pass => Some(vec![]),
            Verdict::NotEvaluated(_) => panic!("a read ACL is always judged"),
        }
    }

    #[test]
    fn the_first_matching_entry_decides() {
        let deny_all = entry(32767, false, "-1", "0.0.0.0/0", None);
        let cases: Vec<(&str, Vec<AclEntry>, Vec<&str>)> = vec![
            ("the default deny only", vec![deny_all.clone()], vec![]),
            (
                "allow everything (a default ACL)",
                vec![entry(100, true, "-1", "0.0.0.0/0", None), deny_all.clone()],
                vec![
                    "entry 100 allows TCP and UDP port 22 from 0.0.0.0/0",
                    "entry 100 allows TCP and UDP port 3389 from 0.0.0.0/0",
                ],
            ),
            (
                "a range holding 22 only",
                vec![
                    entry(100, true, "6", "0.0.0.0/0", Some((20, 25))),
                    deny_all.clone(),
                ],
                vec!["entry 100 allows TCP port 22 from 0.0.0.0/0"],
            ),
            (
                "a lower deny closes it",
                vec![
                    entry(90, false, "6", "0.0.0.0/0", Some((22, 22))),
                    entry(100, true, "6", "0.0.0.0/0", Some((0, 65535))),
                ],
                vec!["entry 100 allows TCP port 3389 from 0.0.0.0/0"],
            ),
            (
                "a deny of one protocol leaves the other",
                vec![
                    entry(90, false, "6", "0.0.0.0/0", Some((0, 65535))),
                    entry(100, true, "-1", "0.0.0.0/0", None),
                ],
                vec![
                    "entry 100 allows UDP port 22 from 0.0.0.0/0",
                    "entry 100 allows UDP port 3389 from 0.0.0.0/0",
                ],
            ),
            (
                "a higher deny does not",
                vec![
                    entry(200, false, "-1", "0.0.0.0/0", None),
                    entry(100, true, "6", "0.0.0.0/0", Some((3389, 3389))),
                ],
                vec!["entry 100 allows TCP port 3389 from 0.0.0.0/0"],
            ),
            (
                "a narrower source is not the world, allowed or denied",
                vec![
                    entry(50, false, "-1", "10.0.0.0/8", None),
                    entry(60, true, "6", "203.0.113.0/24", Some((22, 22))),
                    entry(100, true, "6", "0.0.0.0/0", Some((443, 443))),
                ],
                vec![],
            ),
            (
                "UDP counts on its own, ICMP reaches no port",
                vec![
                    entry(100, true, "17", "0.0.0.0/0", Some((3389, 3389))),
                    entry(110, true, "1", "0.0.0.0/0", None),
                ],
                vec!["entry 100 allows UDP port 3389 from 0.0.0.0/0"],
            ),
            (
                "IPv6 on its own",
                vec![
                    entry(100, true, "6", "::/0", Some((22, 22))),
                    deny_all.clone(),
                ],
                vec!["entry 100 allows TCP port 22 from ::/0"],
            ),
        ];
        for (name, entries, want) in cases {
            assert_eq!(
                reasons(&acl(1, entries)),
                Some(want.iter().map(|s| (*s).to_owned()).collect()),
                "{name}"
            );
        }
    }

    #[test]
    fn outbound_entries_and_unused_acls_are_not_judged() {
        let mut out = entry(100, true, "-1", "0.0.0.0/0", None);
        out.egress = true;
        assert_eq!(reasons(&acl(2, vec![out.clone()])), Some(vec![]));
        let open = entry(100, true, "-1", "0.0.0.0/0", None);
        assert_eq!(
            reasons(&acl(0, vec![open])),
            None,
            "no subnet: filters nothing"
        );
    }
}
