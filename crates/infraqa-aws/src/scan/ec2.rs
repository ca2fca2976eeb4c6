//! EC2 in one region: instances, volumes, own snapshots and AMIs, elastic IPs, security groups
//! (with the network interfaces that use them), VPCs (with flow logs) and NAT gateways.

use super::{Ctx, Only, to_utc};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_ec2::types as t;
use infraqa_core::model::{
    Ec2Image, Ec2Instance, Ec2Snapshot, Ec2Volume, ElasticIp, InstanceAgeSource, InstanceMetadata,
    InstanceRole, InstanceState, IpPermission, NatGateway, ResourceDetails, SecurityGroup, Vpc,
};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType};
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

pub(crate) fn tags(tags: &[t::Tag]) -> infraqa_core::model::Tags {
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

/// What EC2 lists about the compute of a region: each list's items with what failed reading it.
struct Compute {
    instances: (Sink, Vec<t::Instance>),
    volumes: (Sink, Vec<t::Volume>),
    snapshots: (Sink, Vec<t::Snapshot>),
    images: (Sink, Vec<t::Image>),
}

/// What EC2 lists about the network of a region.
struct Network {
    addresses: (Sink, Vec<t::Address>),
    groups: (Sink, Vec<t::SecurityGroup>),
    interfaces: (Sink, Vec<t::NetworkInterface>),
    vpcs: (Sink, Vec<t::Vpc>),
    flow_logs: (Sink, Vec<t::FlowLog>),
    nats: (Sink, Vec<t::NatGateway>),
}

/// The compute lists, issued concurrently (the rate limiter paces them).
async fn read_compute(ctx: &Ctx<'_>, ec2: &aws_sdk_ec2::Client, only: Only<'_>) -> Compute {
    let r = ctx.region;
    let wants = |kind: ResourceType| only.wants(&kind);
    let by_id = |kind: ResourceType, name: &str| only_filter(only, &kind, name);
    let (instances, volumes, snapshots, images) = tokio::join!(
        Sink::list(
            r,
            SVC,
            "DescribeInstances",
            wants(ResourceType::Ec2Instance),
            || {
                let live = filter(
                    "instance-state-name",
                    &["pending", "running", "stopping", "stopped"],
                );
                ec2.describe_instances()
                    .set_filters(filters(
                        Some(live),
                        by_id(ResourceType::Ec2Instance, "instance-id"),
                    ))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p
                .reservations
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.instances.unwrap_or_default())
                .collect()
        ),
        Sink::list(
            r,
            SVC,
            "DescribeVolumes",
            wants(ResourceType::Ec2Volume),
            || {
                ec2.describe_volumes()
                    .set_filters(filters(None, by_id(ResourceType::Ec2Volume, "volume-id")))
                    .max_results(500)
                    .into_paginator()
                    .send()
            },
            |p| p.volumes.unwrap_or_default()
        ),
        // `OwnerIds=self` is ignored by some emulators; the owner-id filter works everywhere.
        Sink::list(
            r,
            SVC,
            "DescribeSnapshots",
            wants(ResourceType::Ec2Snapshot),
            || {
                let own = filter("owner-id", &[ctx.account_id]);
                ec2.describe_snapshots()
                    .set_filters(filters(
                        Some(own),
                        by_id(ResourceType::Ec2Snapshot, "snapshot-id"),
                    ))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.snapshots.unwrap_or_default()
        ),
        Sink::list(
            r,
            SVC,
            "DescribeImages",
            wants(ResourceType::Ec2Image),
            || {
                ec2.describe_images()
                    .owners("self")
                    .set_filters(filters(None, by_id(ResourceType::Ec2Image, "image-id")))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.images.unwrap_or_default()
        )
    );
    Compute {
        instances,
        volumes,
        snapshots,
        images,
    }
}

/// The network lists, issued concurrently.
async fn read_network(ctx: &Ctx<'_>, ec2: &aws_sdk_ec2::Client, only: Only<'_>) -> Network {
    let r = ctx.region;
    let wants = |kind: ResourceType| only.wants(&kind);
    let by_id = |kind: ResourceType, name: &str| only_filter(only, &kind, name);
    let (addresses, groups, interfaces, vpcs, flow_logs, nats) = tokio::join!(
        addresses_of(ctx, ec2, only),
        Sink::list(
            r,
            SVC,
            "DescribeSecurityGroups",
            wants(ResourceType::Ec2SecurityGroup),
            || {
                ec2.describe_security_groups()
                    .set_filters(filters(
                        None,
                        by_id(ResourceType::Ec2SecurityGroup, "group-id"),
                    ))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.security_groups.unwrap_or_default()
        ),
        // Only the attachments of the groups read.
        Sink::list(
            r,
            SVC,
            "DescribeNetworkInterfaces",
            wants(ResourceType::Ec2SecurityGroup),
            || {
                ec2.describe_network_interfaces()
                    .set_filters(filters(
                        None,
                        by_id(ResourceType::Ec2SecurityGroup, "group-id"),
                    ))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.network_interfaces.unwrap_or_default()
        ),
        Sink::list(
            r,
            SVC,
            "DescribeVpcs",
            wants(ResourceType::Ec2Vpc),
            || {
                ec2.describe_vpcs()
                    .set_filters(filters(None, by_id(ResourceType::Ec2Vpc, "vpc-id")))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.vpcs.unwrap_or_default()
        ),
        // Only the flow logs of the VPCs read.
        Sink::list(
            r,
            SVC,
            "DescribeFlowLogs",
            wants(ResourceType::Ec2Vpc),
            || {
                ec2.describe_flow_logs()
                    .set_filter(filters(None, by_id(ResourceType::Ec2Vpc, "resource-id")))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.flow_logs.unwrap_or_default()
        ),
        Sink::list(
            r,
            SVC,
            "DescribeNatGateways",
            wants(ResourceType::Ec2NatGateway),
            || {
                ec2.describe_nat_gateways()
                    .set_filter(filters(
                        None,
                        by_id(ResourceType::Ec2NatGateway, "nat-gateway-id"),
                    ))
                    .max_results(1000)
                    .into_paginator()
                    .send()
            },
            |p| p.nat_gateways.unwrap_or_default()
        )
    );
    Network {
        addresses,
        groups,
        interfaces,
        vpcs,
        flow_logs,
        nats,
    }
}

/// Collects the EC2 resources of one region: all of them, or those `only` names (then a type
/// it does not name costs no call, and a group's attachments and a VPC's flow logs are read for
/// the named ones alone).
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    let ec2 = ctx.clients.ec2(ctx.region);
    let (c, n) = tokio::join!(read_compute(ctx, &ec2, only), read_network(ctx, &ec2, only));
    let mut sink = Sink::default();
    // What the sub-reads tell is only as complete as they were.
    let attachments_read = n.interfaces.0.observed(());
    let flow_logs_read = n.flow_logs.0.observed(());
    for part in [
        &c.instances.0,
        &c.volumes.0,
        &c.snapshots.0,
        &c.images.0,
        &n.addresses.0,
        &n.groups.0,
        &n.interfaces.0,
        &n.vpcs.0,
        &n.flow_logs.0,
        &n.nats.0,
    ] {
        sink.errors.extend(part.errors.iter().cloned());
    }

    let (instances, volumes, snapshots, images) =
        (&c.instances.1, &c.volumes.1, &c.snapshots.1, &c.images.1);
    let owners = image_owners(ctx, &ec2, images, instances, &mut sink).await;
    let resources = &mut sink.resources;
    resources.extend(instances.iter().filter_map(|i| instance(ctx, i, &owners)));
    resources.extend(snapshot_resources(ctx, snapshots, volumes, images));
    resources.extend(volumes.iter().filter_map(|v| volume(ctx, v)));
    resources.extend(images.iter().filter_map(|i| image(ctx, i)));
    resources.extend(n.addresses.1.iter().filter_map(|a| address(ctx, a)));
    resources.extend(group_resources(
        ctx,
        &n.groups.1,
        &n.interfaces.1,
        attachments_read,
    ));
    resources.extend(vpc_resources(
        ctx,
        &n.vpcs.1,
        &n.flow_logs.1,
        flow_logs_read,
    ));
    resources.extend(n.nats.1.iter().filter_map(|x| nat_gateway(ctx, x)));
    sink
}

/// A resource of this region's EC2: no usage yet, its tags from its own description.
fn resource(
    ctx: &Ctx<'_>,
    (kind, id, arn): (ResourceType, &str, String),
    tags_of: &[t::Tag],
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    details: ResourceDetails,
) -> Resource {
    Resource {
        arn,
        id: id.into(),
        resource_type: kind,
        region: ctx.region.into(),
        account_id: ctx.account_id.into(),
        tags: tags(tags_of),
        tags_unread: None,
        usage: None,
        created_at,
        details,
    }
}

/// The elastic IPs (one call: `DescribeAddresses` does not page).
async fn addresses_of(
    ctx: &Ctx<'_>,
    ec2: &aws_sdk_ec2::Client,
    only: Only<'_>,
) -> (Sink, Vec<t::Address>) {
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
            s.error(ctx.region, &AwsError::call(SVC, "DescribeAddresses", e));
            Vec::new()
        }
    };
    (s, out)
}

/// Who owns each AMI the instances run: the account's own images, and the others looked up by
/// id, one filtered call per 200 ids (a filter, unlike ImageIds, does not fail on an AMI that
/// no longer exists). An AMI absent from a complete answer has no known owner (deregistered,
/// or no longer shared); one absent because the call failed is unread.
async fn image_owners(
    ctx: &Ctx<'_>,
    ec2: &aws_sdk_ec2::Client,
    images: &[t::Image],
    instances: &[t::Instance],
    sink: &mut Sink,
) -> HashMap<String, Observed<Option<String>>> {
    let mut owner: HashMap<String, Observed<Option<String>>> = images
        .iter()
        .filter_map(|i| {
            Some((
                i.image_id()?.to_owned(),
                Observed::Read(Some(i.owner_id()?.to_owned())),
            ))
        })
        .collect();
    let foreign: Vec<String> = instances
        .iter()
        .filter_map(|i| i.image_id())
        .filter(|id| !owner.contains_key(*id))
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in foreign.chunks(200) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let stream = ec2
            .describe_images()
            .filters(filter("image-id", &refs))
            .into_paginator()
            .send();
        let mut part = Sink::default();
        for page in part.pages(ctx.region, SVC, "DescribeImages", stream).await {
            for image in page.images() {
                if let (Some(id), Some(o)) = (image.image_id(), image.owner_id()) {
                    owner.insert(id.to_owned(), Observed::Read(Some(o.to_owned())));
                }
            }
        }
        // Every AMI not among the account's own is looked up by id: one that lookup did not
        // return is deregistered or no longer shared, unless the lookup failed.
        let absent = part.observed(None);
        for id in chunk {
            owner.entry(id.clone()).or_insert_with(|| absent.clone());
        }
        sink.absorb(part);
    }
    owner
}

/// An instance that is not terminated or shutting down.
fn instance(
    ctx: &Ctx<'_>,
    i: &t::Instance,
    owners: &HashMap<String, Observed<Option<String>>>,
) -> Option<Resource> {
    let id = i.instance_id()?;
    let state = instance_state(i.state().and_then(|s| s.name()))?;
    let image_id = i.image_id().unwrap_or_default().to_owned();
    let (created_at, created_at_source) = instance_created_at(i);
    let details = Ec2Instance {
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        state,
        image_owner_id: owners
            .get(&image_id)
            .cloned()
            .unwrap_or(Observed::Read(None)),
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
        // Without `HttpTokens` nothing is known; an absent `HttpEndpoint` is AWS's default.
        metadata: i.metadata_options().and_then(|m| {
            Some(InstanceMetadata {
                http_tokens: m.http_tokens()?.as_str().to_owned(),
                http_endpoint: m
                    .http_endpoint()
                    .map_or("enabled", |e| e.as_str())
                    .to_owned(),
            })
        }),
        role: Some(InstanceRole {
            instance_profile_arn: i
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_owned),
        }),
    };
    let arn = ctx.arn(SVC, &format!("instance/{id}"));
    Some(resource(
        ctx,
        (ResourceType::Ec2Instance, id, arn),
        i.tags(),
        created_at,
        ResourceDetails::Ec2Instance(Box::new(details)),
    ))
}

/// The account's snapshots, each with whether its source volume still exists and the images
/// that use it.
fn snapshot_resources(
    ctx: &Ctx<'_>,
    snapshots: &[t::Snapshot],
    volumes: &[t::Volume],
    images: &[t::Image],
) -> Vec<Resource> {
    let volume_ids: BTreeSet<&str> = volumes.iter().filter_map(|v| v.volume_id()).collect();
    let mut used_by: HashMap<&str, Vec<String>> = HashMap::new();
    for image in images {
        for mapping in image.block_device_mappings() {
            if let (Some(snap), Some(img)) = (
                mapping.ebs().and_then(|e| e.snapshot_id()),
                image.image_id(),
            ) {
                used_by.entry(snap).or_default().push(img.to_owned());
            }
        }
    }
    snapshots
        .iter()
        .filter_map(|s| {
            let id = s.snapshot_id()?;
            let volume_id = s
                .volume_id()
                .filter(|v| !v.is_empty() && *v != "vol-ffffffff")
                .map(str::to_owned);
            let details = Ec2Snapshot {
                source_volume_exists: volume_id.as_deref().is_some_and(|v| volume_ids.contains(v)),
                volume_id,
                size_gib: s.volume_size().unwrap_or_default(),
                used_by_image_ids: used_by.get(id).cloned().unwrap_or_default(),
            };
            let arn = ctx.arn_without_account(SVC, &format!("snapshot/{id}"));
            Some(resource(
                ctx,
                (ResourceType::Ec2Snapshot, id, arn),
                s.tags(),
                s.start_time().and_then(to_utc),
                ResourceDetails::Ec2Snapshot(details),
            ))
        })
        .collect()
}

fn volume(ctx: &Ctx<'_>, v: &t::Volume) -> Option<Resource> {
    let id = v.volume_id()?;
    let details = Ec2Volume {
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
    };
    let arn = ctx.arn(SVC, &format!("volume/{id}"));
    Some(resource(
        ctx,
        (ResourceType::Ec2Volume, id, arn),
        v.tags(),
        v.create_time().and_then(to_utc),
        ResourceDetails::Ec2Volume(details),
    ))
}

fn image(ctx: &Ctx<'_>, image: &t::Image) -> Option<Resource> {
    let id = image.image_id()?;
    let details = Ec2Image {
        owner_id: image.owner_id().unwrap_or_default().to_owned(),
        name: image.name().map(str::to_owned),
        snapshot_ids: image
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_owned))
            .collect(),
    };
    let arn = ctx.arn_without_account(SVC, &format!("image/{id}"));
    Some(resource(
        ctx,
        (ResourceType::Ec2Image, id, arn),
        image.tags(),
        image.creation_date().and_then(super::parse_time),
        ResourceDetails::Ec2Image(details),
    ))
}

fn address(ctx: &Ctx<'_>, a: &t::Address) -> Option<Resource> {
    let id = a.allocation_id().or(a.public_ip())?;
    let details = ElasticIp {
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
    };
    let arn = ctx.arn(SVC, &format!("elastic-ip/{id}"));
    Some(resource(
        ctx,
        (ResourceType::Ec2ElasticIp, id, arn),
        a.tags(),
        None,
        ResourceDetails::Ec2ElasticIp(details),
    ))
}

/// The security groups, each with the network interfaces that use it (unknown when they could
/// not be read).
fn group_resources(
    ctx: &Ctx<'_>,
    groups: &[t::SecurityGroup],
    interfaces: &[t::NetworkInterface],
    attachments_read: Observed<()>,
) -> Vec<Resource> {
    let mut by_group: HashMap<&str, Vec<String>> = HashMap::new();
    for eni in interfaces {
        let Some(eni_id) = eni.network_interface_id() else {
            continue;
        };
        for gid in eni.groups().iter().filter_map(|g| g.group_id()) {
            by_group.entry(gid).or_default().push(eni_id.to_owned());
        }
    }
    groups
        .iter()
        .filter_map(|g| {
            let id = g.group_id()?;
            let details = SecurityGroup {
                group_name: g.group_name().unwrap_or_default().to_owned(),
                vpc_id: g.vpc_id().map(str::to_owned),
                ingress: g.ip_permissions().iter().map(permission).collect(),
                egress: g.ip_permissions_egress().iter().map(permission).collect(),
                network_interface_ids: attachments_read
                    .clone()
                    .map(|()| by_group.remove(id).unwrap_or_default()),
            };
            let arn = ctx.arn(SVC, &format!("security-group/{id}"));
            Some(resource(
                ctx,
                (ResourceType::Ec2SecurityGroup, id, arn),
                g.tags(),
                None,
                ResourceDetails::Ec2SecurityGroup(details),
            ))
        })
        .collect()
}

/// The VPCs, each with its flow logs (unknown when they could not be read).
fn vpc_resources(
    ctx: &Ctx<'_>,
    vpcs: &[t::Vpc],
    flow_logs: &[t::FlowLog],
    flow_logs_read: Observed<()>,
) -> Vec<Resource> {
    let mut by_resource: HashMap<&str, Vec<String>> = HashMap::new();
    for f in flow_logs {
        if let (Some(res), Some(id)) = (f.resource_id(), f.flow_log_id()) {
            by_resource.entry(res).or_default().push(id.to_owned());
        }
    }
    vpcs.iter()
        .filter_map(|v| {
            let id = v.vpc_id()?;
            let details = Vpc {
                is_default: v.is_default().unwrap_or(false),
                cidr_block: v.cidr_block().map(str::to_owned),
                flow_log_ids: flow_logs_read
                    .clone()
                    .map(|()| by_resource.remove(id).unwrap_or_default()),
            };
            let arn = ctx.arn(SVC, &format!("vpc/{id}"));
            Some(resource(
                ctx,
                (ResourceType::Ec2Vpc, id, arn),
                v.tags(),
                None,
                ResourceDetails::Ec2Vpc(details),
            ))
        })
        .collect()
}

/// A NAT gateway that is not deleted or being deleted.
fn nat_gateway(ctx: &Ctx<'_>, n: &t::NatGateway) -> Option<Resource> {
    let id = n.nat_gateway_id()?;
    let state = n.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
    if state == "deleted" || state == "deleting" {
        return None;
    }
    let details = NatGateway {
        state,
        vpc_id: n.vpc_id().map(str::to_owned),
    };
    let arn = ctx.arn(SVC, &format!("natgateway/{id}"));
    Some(resource(
        ctx,
        (ResourceType::Ec2NatGateway, id, arn),
        n.tags(),
        n.create_time().and_then(to_utc),
        ResourceDetails::Ec2NatGateway(details),
    ))
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
