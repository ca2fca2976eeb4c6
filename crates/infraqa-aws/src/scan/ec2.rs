//! EC2 in one region: instances, volumes, own snapshots and AMIs, elastic IPs, security groups
//! (with the network interfaces that use them), VPCs (with flow logs) and NAT gateways.

use super::{Ctx, Only, to_utc};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_ec2::types as t;
use infraqa_core::model::{
    Ec2Image, Ec2Instance, Ec2Snapshot, Ec2Volume, ElasticIp, InstanceAgeSource, InstanceState,
    IpPermission, NatGateway, ResourceDetails, SecurityGroup, Vpc,
};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType, ScanError};
use std::collections::{BTreeSet, HashMap};

const SVC: &str = "ec2";

fn filter<S: AsRef<str>>(name: &str, values: &[S]) -> t::Filter {
    t::Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.as_ref().to_owned()).collect()))
        .build()
}

/// The filters given, or none at all.
fn filters(a: Option<t::Filter>, b: Option<t::Filter>) -> Option<Vec<t::Filter>> {
    let all: Vec<t::Filter> = a.into_iter().chain(b).collect();
    (!all.is_empty()).then_some(all)
}

/// The id filter of `kind` when only some resources are read (`None`: read them all).
fn only_filter(only: Only<'_>, kind: &ResourceType, name: &str) -> Option<t::Filter> {
    only.ids(kind).map(|ids| filter(name, ids))
}

fn tags(tags: &[t::Tag]) -> infraqa_core::model::Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
        .collect()
}

fn permission(p: &t::IpPermission) -> IpPermission {
    IpPermission {
        protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        ipv4_ranges: p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_owned))
            .collect(),
        ipv6_ranges: p
            .ipv6_ranges()
            .iter()
            .filter_map(|r| r.cidr_ipv6().map(str::to_owned))
            .collect(),
        prefix_list_ids: p
            .prefix_list_ids()
            .iter()
            .filter_map(|r| r.prefix_list_id().map(str::to_owned))
            .collect(),
        referenced_group_ids: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|r| r.group_id().map(str::to_owned))
            .collect(),
    }
}

fn instance_state(state: Option<&t::InstanceStateName>) -> Option<InstanceState> {
    match state? {
        t::InstanceStateName::Pending => Some(InstanceState::Pending),
        t::InstanceStateName::Running => Some(InstanceState::Running),
        t::InstanceStateName::Stopping => Some(InstanceState::Stopping),
        t::InstanceStateName::Stopped => Some(InstanceState::Stopped),
        // Terminated and shutting-down instances are not inventoried.
        _ => None,
    }
}

/// When instance `i` was launched, and from which field: `LaunchTime` is reset by every start,
/// so the primary network interface's attachment time (set at launch, kept across stop and
/// start) is taken, and `LaunchTime` only when it is absent.
fn instance_created_at(
    i: &aws_sdk_ec2::types::Instance,
) -> (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<InstanceAgeSource>,
) {
    let attached = i
        .network_interfaces()
        .iter()
        .filter_map(|n| n.attachment())
        .find(|a| a.device_index() == Some(0))
        .and_then(|a| a.attach_time())
        .and_then(to_utc);
    match attached {
        Some(t) => (Some(t), Some(InstanceAgeSource::PrimaryInterfaceAttachTime)),
        None => match i.launch_time().and_then(to_utc) {
            Some(t) => (Some(t), Some(InstanceAgeSource::LaunchTime)),
            None => (None, None),
        },
    }
}

/// Collects the EC2 resources of one region: all of them, or those `only` names (then a type
/// it does not name costs no call, and a group's attachments and a VPC's flow logs are read for
/// the named ones alone).
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    let mut sink = Sink::default();
    let ec2 = ctx.clients.ec2(ctx.region);
    let r = ctx.region;

    // Independent list calls, issued concurrently (the rate limiter paces them).
    let (
        instances,
        volumes,
        snapshots,
        images,
        addresses,
        groups,
        interfaces,
        vpcs,
        flow_logs,
        nats,
    ) = tokio::join!(
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Instance) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_instances()
                .set_filters(filters(
                    Some(filter(
                        "instance-state-name",
                        &["pending", "running", "stopping", "stopped"],
                    )),
                    only_filter(only, &ResourceType::Ec2Instance, "instance-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeInstances", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.reservations.unwrap_or_default())
                    .flat_map(|r| r.instances.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Volume) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_volumes()
                .set_filters(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2Volume, "volume-id"),
                ))
                .max_results(500)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeVolumes", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.volumes.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Snapshot) {
                return (s, Vec::new());
            }
            // `OwnerIds=self` is ignored by some emulators; the owner-id filter works everywhere.
            let stream = ec2
                .describe_snapshots()
                .set_filters(filters(
                    Some(filter("owner-id", &[ctx.account_id])),
                    only_filter(only, &ResourceType::Ec2Snapshot, "snapshot-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeSnapshots", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.snapshots.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Image) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_images()
                .owners("self")
                .set_filters(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2Image, "image-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeImages", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.images.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2ElasticIp) {
                return (s, Vec::new());
            }
            let request = ec2.describe_addresses().set_filters(filters(
                None,
                only_filter(only, &ResourceType::Ec2ElasticIp, "allocation-id"),
            ));
            let out = match request.send().await {
                Ok(out) => out.addresses.unwrap_or_default(),
                Err(e) => {
                    s.error(r, &AwsError::call(SVC, "DescribeAddresses", e));
                    Vec::new()
                }
            };
            (s, out)
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2SecurityGroup) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_security_groups()
                .set_filters(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2SecurityGroup, "group-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeSecurityGroups", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.security_groups.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2SecurityGroup) {
                return (s, Vec::new());
            }
            // Only the attachments of the groups read.
            let stream = ec2
                .describe_network_interfaces()
                .set_filters(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2SecurityGroup, "group-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeNetworkInterfaces", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.network_interfaces.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Vpc) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_vpcs()
                .set_filters(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2Vpc, "vpc-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeVpcs", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.vpcs.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2Vpc) {
                return (s, Vec::new());
            }
            // Only the flow logs of the VPCs read.
            let stream = ec2
                .describe_flow_logs()
                .set_filter(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2Vpc, "resource-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeFlowLogs", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.flow_logs.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let mut s = Sink::default();
            if !only.wants(&ResourceType::Ec2NatGateway) {
                return (s, Vec::new());
            }
            let stream = ec2
                .describe_nat_gateways()
                .set_filter(filters(
                    None,
                    only_filter(only, &ResourceType::Ec2NatGateway, "nat-gateway-id"),
                ))
                .max_results(1000)
                .into_paginator()
                .send();
            let pages = s.pages(r, SVC, "DescribeNatGateways", stream).await;
            (
                s,
                pages
                    .into_iter()
                    .flat_map(|p| p.nat_gateways.unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        },
    );
    for part in [
        &instances.0,
        &volumes.0,
        &snapshots.0,
        &images.0,
        &addresses.0,
        &groups.0,
        &interfaces.0,
        &vpcs.0,
        &flow_logs.0,
        &nats.0,
    ] {
        sink.errors.extend(part.errors.iter().cloned());
    }
    // What the sub-reads tell is only as complete as they were.
    let attachments_read = interfaces.0.observed(());
    let flow_logs_read = flow_logs.0.observed(());

    // Owners of the AMIs instances run but the account does not own: one filtered call per
    // 200 ids (a filter, unlike ImageIds, does not fail on an AMI that no longer exists).
    let mut image_owner: HashMap<String, String> = images
        .1
        .iter()
        .filter_map(|i| Some((i.image_id()?.to_owned(), i.owner_id()?.to_owned())))
        .collect();
    let foreign: Vec<String> = instances
        .1
        .iter()
        .filter_map(|i| i.image_id())
        .filter(|id| !image_owner.contains_key(*id))
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // An AMI absent from a complete answer has no known owner (deregistered, or no longer
    // shared); one absent because the call failed is unread.
    let mut owner_unread: HashMap<String, ScanError> = HashMap::new();
    for chunk in foreign.chunks(200) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let stream = ec2
            .describe_images()
            .filters(filter("image-id", &refs))
            .into_paginator()
            .send();
        let mut part = Sink::default();
        for page in part.pages(r, SVC, "DescribeImages", stream).await {
            for image in page.images() {
                if let (Some(id), Some(owner)) = (image.image_id(), image.owner_id()) {
                    image_owner.insert(id.to_owned(), owner.to_owned());
                }
            }
        }
        if let Observed::Unread(e) = part.observed(()) {
            owner_unread.extend(chunk.iter().map(|id| (id.clone(), (*e).clone())));
        }
        sink.absorb(part);
    }

    for i in instances.1 {
        let (Some(id), Some(state)) = (
            i.instance_id(),
            instance_state(i.state().and_then(|s| s.name())),
        ) else {
            continue;
        };
        let image_id = i.image_id().unwrap_or_default().to_owned();
        let (created_at, created_at_source) = instance_created_at(&i);
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("instance/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2Instance,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(i.tags()),
            tags_unread: None,
            usage: None,
            created_at,
            details: ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
                instance_type: i
                    .instance_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                state,
                image_owner_id: match (image_owner.get(&image_id), owner_unread.get(&image_id)) {
                    (Some(owner), _) => Observed::Read(Some(owner.clone())),
                    (None, Some(e)) => Observed::failed(e.clone()),
                    // Every AMI not among the account's own is looked up by id: one that
                    // lookup did not return is deregistered or no longer shared.
                    (None, None) => Observed::Read(None),
                },
                image_id,
                state_transition_reason: i
                    .state_transition_reason()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                vpc_id: i.vpc_id().map(str::to_owned),
                security_group_ids: i
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                network_interface_ids: i
                    .network_interfaces()
                    .iter()
                    .filter_map(|n| n.network_interface_id().map(str::to_owned))
                    .collect(),
                created_at_source,
            })),
        });
    }

    let volume_ids: BTreeSet<&str> = volumes.1.iter().filter_map(|v| v.volume_id()).collect();
    let mut snapshots_used_by: HashMap<&str, Vec<String>> = HashMap::new();
    for image in &images.1 {
        for mapping in image.block_device_mappings() {
            if let (Some(snap), Some(img)) = (
                mapping.ebs().and_then(|e| e.snapshot_id()),
                image.image_id(),
            ) {
                snapshots_used_by
                    .entry(snap)
                    .or_default()
                    .push(img.to_owned());
            }
        }
    }
    for s in &snapshots.1 {
        let Some(id) = s.snapshot_id() else { continue };
        let volume_id = s
            .volume_id()
            .filter(|v| !v.is_empty() && *v != "vol-ffffffff")
            .map(str::to_owned);
        sink.resources.push(Resource {
            arn: ctx.arn_without_account(SVC, &format!("snapshot/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2Snapshot,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(s.tags()),
            tags_unread: None,
            usage: None,
            created_at: s.start_time().and_then(to_utc),
            details: ResourceDetails::Ec2Snapshot(Ec2Snapshot {
                source_volume_exists: volume_id.as_deref().is_some_and(|v| volume_ids.contains(v)),
                volume_id,
                size_gib: s.volume_size().unwrap_or_default(),
                used_by_image_ids: snapshots_used_by.get(id).cloned().unwrap_or_default(),
            }),
        });
    }
    for v in &volumes.1 {
        let Some(id) = v.volume_id() else { continue };
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("volume/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2Volume,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(v.tags()),
            tags_unread: None,
            usage: None,
            created_at: v.create_time().and_then(to_utc),
            details: ResourceDetails::Ec2Volume(Ec2Volume {
                volume_type: v
                    .volume_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                size_gib: v.size().unwrap_or_default(),
                state: v.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                encrypted: v.encrypted().unwrap_or(false),
                attached_instance_ids: v
                    .attachments()
                    .iter()
                    .filter_map(|a| a.instance_id().map(str::to_owned))
                    .collect(),
            }),
        });
    }
    for image in &images.1 {
        let Some(id) = image.image_id() else { continue };
        sink.resources.push(Resource {
            arn: ctx.arn_without_account(SVC, &format!("image/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2Image,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(image.tags()),
            tags_unread: None,
            usage: None,
            created_at: image.creation_date().and_then(super::parse_time),
            details: ResourceDetails::Ec2Image(Ec2Image {
                owner_id: image.owner_id().unwrap_or_default().to_owned(),
                name: image.name().map(str::to_owned),
                snapshot_ids: image
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_owned))
                    .collect(),
            }),
        });
    }
    for a in &addresses.1 {
        let Some(id) = a.allocation_id().or(a.public_ip()) else {
            continue;
        };
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("elastic-ip/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2ElasticIp,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(a.tags()),
            tags_unread: None,
            usage: None,
            created_at: None,
            details: ResourceDetails::Ec2ElasticIp(ElasticIp {
                public_ip: a.public_ip().unwrap_or_default().to_owned(),
                association_id: a
                    .association_id()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .or_else(|| {
                        a.network_interface_id()
                            .filter(|s| !s.is_empty())
                            .map(|eni| format!("eni:{eni}"))
                    }),
                instance_id: a.instance_id().filter(|i| !i.is_empty()).map(str::to_owned),
            }),
        });
    }

    let mut interfaces_by_group: HashMap<&str, Vec<String>> = HashMap::new();
    for eni in &interfaces.1 {
        let Some(eni_id) = eni.network_interface_id() else {
            continue;
        };
        for g in eni.groups() {
            if let Some(gid) = g.group_id() {
                interfaces_by_group
                    .entry(gid)
                    .or_default()
                    .push(eni_id.to_owned());
            }
        }
    }
    for g in &groups.1 {
        let Some(id) = g.group_id() else { continue };
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("security-group/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2SecurityGroup,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(g.tags()),
            tags_unread: None,
            usage: None,
            created_at: None,
            details: ResourceDetails::Ec2SecurityGroup(SecurityGroup {
                group_name: g.group_name().unwrap_or_default().to_owned(),
                vpc_id: g.vpc_id().map(str::to_owned),
                ingress: g.ip_permissions().iter().map(permission).collect(),
                egress: g.ip_permissions_egress().iter().map(permission).collect(),
                network_interface_ids: attachments_read
                    .clone()
                    .map(|()| interfaces_by_group.remove(id).unwrap_or_default()),
            }),
        });
    }

    let mut flow_logs_by_resource: HashMap<&str, Vec<String>> = HashMap::new();
    for f in &flow_logs.1 {
        if let (Some(res), Some(id)) = (f.resource_id(), f.flow_log_id()) {
            flow_logs_by_resource
                .entry(res)
                .or_default()
                .push(id.to_owned());
        }
    }
    for v in &vpcs.1 {
        let Some(id) = v.vpc_id() else { continue };
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("vpc/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2Vpc,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(v.tags()),
            tags_unread: None,
            usage: None,
            created_at: None,
            details: ResourceDetails::Ec2Vpc(Vpc {
                is_default: v.is_default().unwrap_or(false),
                cidr_block: v.cidr_block().map(str::to_owned),
                flow_log_ids: flow_logs_read
                    .clone()
                    .map(|()| flow_logs_by_resource.remove(id).unwrap_or_default()),
            }),
        });
    }
    for n in &nats.1 {
        let Some(id) = n.nat_gateway_id() else {
            continue;
        };
        let state = n.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
        if state == "deleted" || state == "deleting" {
            continue;
        }
        sink.resources.push(Resource {
            arn: ctx.arn(SVC, &format!("natgateway/{id}")),
            id: id.into(),
            resource_type: ResourceType::Ec2NatGateway,
            region: r.into(),
            account_id: ctx.account_id.into(),
            tags: tags(n.tags()),
            tags_unread: None,
            usage: None,
            created_at: n.create_time().and_then(to_utc),
            details: ResourceDetails::Ec2NatGateway(NatGateway {
                state,
                vpc_id: n.vpc_id().map(str::to_owned),
            }),
        });
    }
    sink
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        Instance, InstanceNetworkInterface, InstanceNetworkInterfaceAttachment,
    };
    use aws_smithy_types::DateTime;

    fn interface(device: i32, attached: i64) -> InstanceNetworkInterface {
        InstanceNetworkInterface::builder()
            .attachment(
                InstanceNetworkInterfaceAttachment::builder()
                    .device_index(device)
                    .attach_time(DateTime::from_secs(attached))
                    .build(),
            )
            .build()
    }

    #[test]
    fn an_instances_age_survives_stop_and_start() {
        let launched = 1_700_000_000;
        let restarted = launched + 400 * 86_400;
        // Started again 400 days after its launch: the primary interface still says when.
        let i = Instance::builder()
            .launch_time(DateTime::from_secs(restarted))
            .network_interfaces(interface(1, restarted))
            .network_interfaces(interface(0, launched))
            .build();
        let (at, source) = instance_created_at(&i);
        assert_eq!(at.map(|t| t.timestamp()), Some(launched));
        assert_eq!(source, Some(InstanceAgeSource::PrimaryInterfaceAttachTime));
        // Without a primary interface attachment time: LaunchTime, and it says so.
        let i = Instance::builder()
            .launch_time(DateTime::from_secs(restarted))
            .network_interfaces(interface(1, launched))
            .build();
        let (at, source) = instance_created_at(&i);
        assert_eq!(at.map(|t| t.timestamp()), Some(restarted));
        assert_eq!(source, Some(InstanceAgeSource::LaunchTime));
        assert_eq!(
            instance_created_at(&Instance::builder().build()),
            (None, None)
        );
    }
}
