//! Orphans: idle resources that are probably no longer needed. A report section of their own,
//! not compliance findings.

use crate::cost::orphan_cost;
use crate::finding::OrphanKind;
use crate::inventory::Inventory;
use crate::model::Resource;
use crate::model::{InstanceState, ResourceDetails, ResourceType};
use crate::policy::Policy;
use crate::prices::PriceTable;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// One orphaned resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    /// What kind of orphan.
    pub kind: OrphanKind,
    /// The resource.
    pub resource_arn: String,
    /// Its region.
    pub region: String,
    /// Why it is considered orphaned.
    pub reason: String,
    /// What it wastes per month, where the embedded price table knows it (for a stopped
    /// instance: its attached volumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_monthly_cost_usd: Option<f64>,
}

/// Orphans and the notes about what could not be judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrphanScan {
    /// Orphans, ordered by kind, region, ARN.
    pub orphans: Vec<Orphan>,
    /// Why some resources were not judged (e.g. a stop time that does not parse).
    pub notes: Vec<String>,
}

/// The stop time in a `StateTransitionReason` such as
/// `User initiated (2026-11-01 10:00:00 GMT)` (emulators write `UTC`).
pub fn stop_time(reason: &str) -> Option<DateTime<Utc>> {
    let inside = reason.rsplit_once('(')?.1.strip_suffix(')')?;
    let stamp = inside
        .strip_suffix(" GMT")
        .or_else(|| inside.strip_suffix(" UTC"))?;
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// Finds the orphans of an inventory.
pub fn find_orphans(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> OrphanScan {
    let functions: BTreeSet<(&str, &str)> = inventory
        .resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::LambdaFunction)
        .map(|r| (r.region.as_str(), r.id.as_str()))
        .collect();
    let mut volumes_of: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for r in &inventory.resources {
        if let ResourceDetails::Ec2Volume(v) = &r.details {
            for i in &v.attached_instance_ids {
                volumes_of.entry(i.as_str()).or_default().push(r);
            }
        }
    }
    let prices = PriceTable::embedded();
    let mut out = OrphanScan::default();
    for r in &inventory.resources {
        let found = match &r.details {
            ResourceDetails::Ec2Volume(v) if v.state == "available" => Some((
                OrphanKind::EbsUnattached,
                format!(
                    "{} GiB {} volume attached to nothing",
                    v.size_gib, v.volume_type
                ),
            )),
            ResourceDetails::Ec2ElasticIp(e)
                if e.association_id.is_none() && e.instance_id.is_none() =>
            {
                Some((
                    OrphanKind::EipUnassociated,
                    format!("elastic IP {} is not associated", e.public_ip),
                ))
            }
            ResourceDetails::Ec2Snapshot(s)
                if !s.source_volume_exists && s.used_by_image_ids.is_empty() =>
            {
                Some((
                    OrphanKind::SnapshotOrphaned,
                    format!(
                        "source volume {} no longer exists and no own AMI uses the snapshot",
                        s.volume_id.as_deref().unwrap_or("(unknown)")
                    ),
                ))
            }
            ResourceDetails::Ec2Instance(i) if i.state == InstanceState::Stopped => {
                let reason = i.state_transition_reason.as_deref().unwrap_or_default();
                match stop_time(reason) {
                    Some(stopped) => {
                        let days = (now - stopped).num_days();
                        (days >= i64::from(policy.orphans.stopped_instance_days)).then(|| {
                            (
                                OrphanKind::InstanceStopped,
                                format!(
                                    "stopped since {} ({days} days)",
                                    stopped.format("%Y-%m-%d %H:%M UTC")
                                ),
                            )
                        })
                    }
                    None => {
                        out.notes.push(format!(
                            "instance {} is stopped but its stop time could not be read from \"{reason}\"; not judged as orphaned",
                            r.id
                        ));
                        None
                    }
                }
            }
            ResourceDetails::Ec2SecurityGroup(g)
                if !g.is_default() && g.network_interface_ids.read().is_some_and(Vec::is_empty) =>
            {
                Some((
                    OrphanKind::SgUnused,
                    "attached to no network interface".to_owned(),
                ))
            }
            ResourceDetails::LogsLogGroup(_) => {
                r.id.strip_prefix("/aws/lambda/")
                    .filter(|name| {
                        !functions.contains(&(r.region.as_str(), *name))
                            && !inventory.could_not_read(&r.region, "lambda")
                    })
                    .map(|name| {
                        (
                            OrphanKind::LoggroupOrphaned,
                            format!("no Lambda function {name} exists in {}", r.region),
                        )
                    })
            }
            _ => None,
        };
        if let Some((kind, reason)) = found {
            out.orphans.push(Orphan {
                kind,
                resource_arn: r.arn.clone(),
                region: r.region.to_string(),
                reason,
                estimated_monthly_cost_usd: orphan_cost(
                    r,
                    volumes_of.get(r.id.as_str()).map_or(&[], Vec::as_slice),
                    prices,
                ),
            });
        }
    }
    out.orphans.sort_by(|a, b| {
        (a.kind, &a.region, &a.resource_arn).cmp(&(b.kind, &b.region, &b.resource_arn))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Ec2Instance, Ec2Snapshot, Ec2Volume, ElasticIp, LambdaFunction, LogGroup, Resource,
        SecurityGroup,
    };
    use crate::rules::testkit::*;

    #[test]
    fn stop_times_parse_with_gmt_or_utc() {
        let cases = [
            (
                "User initiated (2026-11-01 10:00:00 GMT)",
                Some("2026-11-01T10:00:00+00:00"),
            ),
            (
                "User initiated (2026-11-01 10:00:00 UTC)",
                Some("2026-11-01T10:00:00+00:00"),
            ),
            (
                "Server.ScheduledStop (2026-10-01 00:00:00 GMT)",
                Some("2026-10-01T00:00:00+00:00"),
            ),
            ("User initiated", None),
            ("", None),
            ("User initiated (yesterday GMT)", None),
        ];
        for (reason, want) in cases {
            assert_eq!(
                stop_time(reason).map(|t| t.to_rfc3339()),
                want.map(str::to_owned),
                "{reason}"
            );
        }
    }

    fn instance(state: InstanceState, reason: &str) -> Resource {
        resource(
            ResourceType::Ec2Instance,
            "i-1",
            "us-east-1",
            &[],
            ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
                instance_type: "t3.micro".into(),
                state,
                image_id: "ami-1".into(),
                image_owner_id: crate::observed::Observed::Read(None),
                state_transition_reason: Some(reason.into()),
                vpc_id: None,
                security_group_ids: vec![],
                network_interface_ids: vec![],
                created_at_source: None,
                metadata: None,
                role: None,
            })),
        )
    }

    fn kinds(resources: Vec<Resource>, policy_toml: &str) -> (Vec<OrphanKind>, usize) {
        let scan = find_orphans(&inventory(resources), &policy(policy_toml), now());
        (
            scan.orphans.iter().map(|o| o.kind).collect(),
            scan.notes.len(),
        )
    }

    #[test]
    fn cases() {
        let vol = |state: &str| {
            resource(
                ResourceType::Ec2Volume,
                "vol-1",
                "us-east-1",
                &[],
                ResourceDetails::Ec2Volume(Ec2Volume {
                    volume_type: "gp2".into(),
                    size_gib: 100,
                    state: state.into(),
                    encrypted: false,
                    attached_instance_ids: vec![],
                }),
            )
        };
        let eip = |assoc: Option<&str>| {
            resource(
                ResourceType::Ec2ElasticIp,
                "eipalloc-1",
                "us-east-1",
                &[],
                ResourceDetails::Ec2ElasticIp(ElasticIp {
                    public_ip: "1.2.3.4".into(),
                    association_id: assoc.map(str::to_owned),
                    instance_id: None,
                }),
            )
        };
        let snap = |exists: bool, used: &[&str]| {
            resource(
                ResourceType::Ec2Snapshot,
                "snap-1",
                "us-east-1",
                &[],
                ResourceDetails::Ec2Snapshot(Ec2Snapshot {
                    volume_id: Some("vol-9".into()),
                    source_volume_exists: exists,
                    size_gib: 8,
                    used_by_image_ids: used.iter().map(|s| (*s).to_owned()).collect(),
                }),
            )
        };
        let sg = |name: &str, enis: &[&str]| {
            resource(
                ResourceType::Ec2SecurityGroup,
                "sg-1",
                "us-east-1",
                &[],
                ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                    group_name: name.into(),
                    vpc_id: None,
                    ingress: vec![],
                    egress: vec![],
                    network_interface_ids: crate::observed::Observed::Read(
                        enis.iter().map(|s| (*s).to_owned()).collect(),
                    ),
                }),
            )
        };
        let group = |name: &str| {
            resource(
                ResourceType::LogsLogGroup,
                name,
                "us-east-1",
                &[],
                ResourceDetails::LogsLogGroup(LogGroup {
                    retention_days: None,
                    stored_bytes: 0,
                }),
            )
        };
        let function = |name: &str| {
            resource(
                ResourceType::LambdaFunction,
                name,
                "us-east-1",
                &[],
                ResourceDetails::LambdaFunction(LambdaFunction {
                    runtime: None,
                    role: "r".into(),
                    last_modified: None,
                    log_group: format!("/aws/lambda/{name}"),
                    log_group_exists: crate::observed::Observed::Read(true),
                }),
            )
        };
        let cases: Vec<(&str, Vec<Resource>, &str, Vec<OrphanKind>, usize)> = vec![
            (
                "available volume",
                vec![vol("available")],
                "",
                vec![OrphanKind::EbsUnattached],
                0,
            ),
            ("in-use volume", vec![vol("in-use")], "", vec![], 0),
            (
                "idle EIP",
                vec![eip(None)],
                "",
                vec![OrphanKind::EipUnassociated],
                0,
            ),
            (
                "associated EIP",
                vec![eip(Some("eipassoc-1"))],
                "",
                vec![],
                0,
            ),
            (
                "snapshot of a deleted volume",
                vec![snap(false, &[])],
                "",
                vec![OrphanKind::SnapshotOrphaned],
                0,
            ),
            (
                "snapshot an AMI uses",
                vec![snap(false, &["ami-1"])],
                "",
                vec![],
                0,
            ),
            (
                "snapshot whose volume exists",
                vec![snap(true, &[])],
                "",
                vec![],
                0,
            ),
            (
                "stopped 57 days",
                vec![instance(
                    InstanceState::Stopped,
                    "User initiated (2026-10-01 10:00:00 GMT)",
                )],
                "",
                vec![OrphanKind::InstanceStopped],
                0,
            ),
            (
                "stopped 26 days",
                vec![instance(
                    InstanceState::Stopped,
                    "User initiated (2026-11-01 10:00:00 GMT)",
                )],
                "",
                vec![],
                0,
            ),
            (
                "stopped 26 days, threshold 7",
                vec![instance(
                    InstanceState::Stopped,
                    "User initiated (2026-11-01 10:00:00 UTC)",
                )],
                "[orphans]\nstopped_instance_days = 7",
                vec![OrphanKind::InstanceStopped],
                0,
            ),
            (
                "stop time unreadable: noted",
                vec![instance(InstanceState::Stopped, "User initiated")],
                "",
                vec![],
                1,
            ),
            (
                "running instance",
                vec![instance(InstanceState::Running, "")],
                "",
                vec![],
                0,
            ),
            (
                "unused group",
                vec![sg("web", &[])],
                "",
                vec![OrphanKind::SgUnused],
                0,
            ),
            (
                "unused default group",
                vec![sg("default", &[])],
                "",
                vec![],
                0,
            ),
            ("used group", vec![sg("web", &["eni-1"])], "", vec![], 0),
            (
                "log group of a deleted function",
                vec![group("/aws/lambda/gone")],
                "",
                vec![OrphanKind::LoggroupOrphaned],
                0,
            ),
            (
                "log group of a live function",
                vec![group("/aws/lambda/live"), function("live")],
                "",
                vec![],
                0,
            ),
            ("other log groups", vec![group("/app/logs")], "", vec![], 0),
        ];
        for (name, resources, p, want, notes) in cases {
            assert_eq!(kinds(resources, p), (want, notes), "{name}");
        }
    }
}
