//! Expensive misconfigurations, each with the monthly waste it causes (only positive, priced
//! savings).

use super::{Misconfiguration, WasteKind};
use crate::inventory::Inventory;
use crate::model::{InstanceState, Resource, ResourceDetails};
use crate::policy::Policy;
use crate::prices::{PriceTable, size_rank, split_type};
use crate::round2;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

fn is_non_production(r: &Resource, policy: &Policy) -> bool {
    let c = &policy.cost;
    r.tag(&c.environment_tag)
        .is_some_and(|env| c.non_production_values.iter().any(|v| v == env))
}

pub fn misconfigurations(
    inventory: &Inventory,
    policy: &Policy,
    t: &PriceTable,
    now: DateTime<Utc>,
) -> Vec<Misconfiguration> {
    let vpcs: HashMap<(&str, &str), &Resource> = inventory
        .resources
        .iter()
        .filter(|r| matches!(r.details, ResourceDetails::Ec2Vpc(_)))
        .map(|r| ((r.region.as_str(), r.id.as_str()), r))
        .collect();
    let max_rank = size_rank(&policy.cost.max_non_production_size);
    let mut out = Vec::new();
    for r in &inventory.resources {
        let region = r.region.as_str();
        let mut flag = |kind: WasteKind, reason: String, waste: Option<f64>, action: String| {
            if let Some(w) = waste.filter(|w| *w > 0.0) {
                out.push(Misconfiguration {
                    kind,
                    resource_arn: r.arn.clone(),
                    resource_type: r.resource_type.to_string(),
                    region: r.region.to_string(),
                    reason,
                    estimated_monthly_waste_usd: round2(w),
                    action,
                });
            }
        };
        match &r.details {
            ResourceDetails::Ec2Volume(v) if v.state == "available" => flag(
                WasteKind::UnattachedVolume,
                format!(
                    "{} GiB {} volume attached to nothing",
                    v.size_gib, v.volume_type
                ),
                t.ebs_month(region, &v.volume_type, v.size_gib),
                format!(
                    "aws ec2 create-snapshot --volume-id {id} (if the data matters), then aws ec2 delete-volume --volume-id {id}",
                    id = r.id
                ),
            ),
            ResourceDetails::Ec2Volume(v) if v.volume_type == "gp2" => flag(
                WasteKind::Gp2Volume,
                format!(
                    "{} GiB gp2 volume: gp3 costs less for the same baseline",
                    v.size_gib
                ),
                t.ebs_month(region, "gp2", v.size_gib)
                    .zip(t.ebs_month(region, "gp3", v.size_gib))
                    .map(|(a, b)| a - b),
                format!(
                    "aws ec2 modify-volume --volume-id {} --volume-type gp3 (online, no downtime)",
                    r.id
                ),
            ),
            ResourceDetails::Ec2ElasticIp(e)
                if e.association_id.is_none() && e.instance_id.is_none() =>
            {
                flag(
                    WasteKind::UnassociatedEip,
                    format!("elastic IP {} is associated with nothing", e.public_ip),
                    t.public_ipv4_month(region),
                    format!("aws ec2 release-address --allocation-id {}", r.id),
                )
            }
            ResourceDetails::Ec2Instance(i) if i.state == InstanceState::Running => {
                let current = t.ec2_month(region, &i.instance_type);
                if let Some(next) = t.successor(&i.instance_type) {
                    flag(
                        WasteKind::PreviousGeneration,
                        format!(
                            "{} is a previous-generation type; {next} is current and cheaper",
                            i.instance_type
                        ),
                        current.zip(t.ec2_month(region, &next)).map(|(a, b)| a - b),
                        format!(
                            "Stop {id}, aws ec2 modify-instance-attribute --instance-id {id} --instance-type {next}, start it",
                            id = r.id
                        ),
                    );
                }
                if is_non_production(r, policy)
                    && let Some((family, size)) = split_type(&i.instance_type)
                    && let (Some(rank), Some(max)) = (size_rank(size), max_rank)
                    && rank > max
                {
                    let smaller = format!("{family}.{}", policy.cost.max_non_production_size);
                    flag(
                        WasteKind::OversizedNonProduction,
                        format!(
                            "{} in a non-production environment ({}={}); {smaller} is the largest size the policy expects there",
                            i.instance_type,
                            policy.cost.environment_tag,
                            r.tag(&policy.cost.environment_tag).unwrap_or_default()
                        ),
                        current
                            .zip(t.ec2_month(region, &smaller))
                            .map(|(a, b)| a - b),
                        format!(
                            "Right-size {id} to {smaller}: stop, aws ec2 modify-instance-attribute --instance-id {id} --instance-type {smaller}, start",
                            id = r.id
                        ),
                    );
                }
            }
            ResourceDetails::Ec2NatGateway(n) if n.state == "available" || n.state == "pending" => {
                let vpc = n.vpc_id.as_deref().and_then(|v| vpcs.get(&(region, v)));
                if is_non_production(r, policy) || vpc.is_some_and(|v| is_non_production(v, policy))
                {
                    flag(
                        WasteKind::NatGatewayNonProduction,
                        "NAT gateway in a non-production environment: billed every hour, plus data processing".to_owned(),
                        t.nat_gateway_month(region),
                        format!(
                            "Use VPC endpoints or a shared egress VPC for non-production, then aws ec2 delete-nat-gateway --nat-gateway-id {}",
                            r.id
                        ),
                    );
                }
            }
            ResourceDetails::Ec2Snapshot(s) => {
                if let Some(created) = r.created_at {
                    let days = (now - created).num_days();
                    if days > i64::from(policy.cost.snapshot_max_age_days) {
                        flag(
                            WasteKind::OldSnapshot,
                            format!(
                                "snapshot is {days} days old (policy: {}); its {} GiB are billed at most at the full size",
                                policy.cost.snapshot_max_age_days, s.size_gib
                            ),
                            t.snapshot_month(region, s.size_gib),
                            format!(
                                "Check nothing restores from it, then aws ec2 delete-snapshot --snapshot-id {} (or archive it: aws ec2 modify-snapshot-tier --storage-tier archive)",
                                r.id
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    out
}
