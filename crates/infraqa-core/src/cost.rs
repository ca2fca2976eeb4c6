//! Cost: per-resource monthly estimates from the embedded price table, allocation by tag, the
//! untagged share, and expensive misconfigurations with their estimated monthly waste.
//!
//! Every figure comes from [`PriceTable`]; a resource whose price the table does not know has
//! no estimate and is counted as unpriced, never guessed.

use crate::inventory::Inventory;
use crate::model::{InstanceState, Resource, ResourceDetails};
use crate::policy::Policy;
use crate::prices::{PriceTable, size_rank, split_type};
use crate::round2;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Where the figures come from (copied from the price table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceSource {
    /// The table's source.
    pub source: String,
    /// The date its prices were current.
    pub as_of: String,
    /// Their currency.
    pub currency: String,
}

/// One tag value's share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationRow {
    /// The tag value (`(untagged)` for resources without it).
    pub value: String,
    /// Resources carrying it.
    pub resources: usize,
    /// Their estimated monthly cost.
    pub estimated_monthly_cost_usd: f64,
    /// That cost as a share of the estimated total (0-100).
    pub share_percent: f64,
}

/// Allocation by one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagAllocation {
    /// Values, most expensive first (ties by name).
    pub by_value: Vec<AllocationRow>,
    /// Resources without the tag (or an alias of it).
    pub untagged: AllocationRow,
}

/// The cost visibility gap: resources missing at least one allocation tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UntaggedShare {
    /// How many resources.
    pub resources: usize,
    /// Their estimated monthly cost.
    pub estimated_monthly_cost_usd: f64,
    /// That cost as a share of the estimated total (0-100).
    pub share_percent: f64,
}

/// Kinds of expensive misconfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WasteKind {
    /// An EBS volume attached to nothing.
    UnattachedVolume,
    /// An elastic IP associated with nothing.
    UnassociatedEip,
    /// A gp2 volume that gp3 would make cheaper.
    Gp2Volume,
    /// A previous-generation instance type whose successor is cheaper.
    PreviousGeneration,
    /// A non-production instance larger than `cost.max_non_production_size`.
    OversizedNonProduction,
    /// A NAT gateway in a non-production environment.
    NatGatewayNonProduction,
    /// A snapshot older than `cost.snapshot_max_age_days`.
    OldSnapshot,
}

impl WasteKind {
    /// The published kind name, e.g. `gp2-volume`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnattachedVolume => "unattached-volume",
            Self::UnassociatedEip => "unassociated-eip",
            Self::Gp2Volume => "gp2-volume",
            Self::PreviousGeneration => "previous-generation",
            Self::OversizedNonProduction => "oversized-non-production",
            Self::NatGatewayNonProduction => "nat-gateway-non-production",
            Self::OldSnapshot => "old-snapshot",
        }
    }
}

/// One expensive misconfiguration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misconfiguration {
    /// What kind.
    pub kind: WasteKind,
    /// The resource.
    pub resource_arn: String,
    /// Its `service:type`.
    pub resource_type: String,
    /// Its region.
    pub region: String,
    /// What is wasteful about it.
    pub reason: String,
    /// What the fix saves per month.
    pub estimated_monthly_waste_usd: f64,
    /// What to do.
    pub action: String,
}

/// One tag value's actual spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendRow {
    /// The tag value (`(untagged)` for spend without the tag).
    pub value: String,
    /// Unblended cost in the period.
    pub amount: f64,
}

/// Actual spend from Cost Explorer (`[cost] cost_explorer = true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActualSpend {
    /// First day of the period.
    pub start: NaiveDate,
    /// The day after the period.
    pub end: NaiveDate,
    /// The currency Cost Explorer reported.
    pub currency: String,
    /// Unblended cost of the whole account in the period.
    pub total: f64,
    /// Per allocation tag, spend by value, largest first.
    pub by_tag: BTreeMap<String, Vec<SpendRow>>,
}

/// The report's `cost` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// Where the prices come from.
    pub price_table: PriceSource,
    /// Estimated monthly cost of every priced resource.
    pub estimated_monthly_total_usd: f64,
    /// Resources with an estimate (free resources count, at 0).
    pub priced_resources: usize,
    /// Resources the table cannot price (e.g. S3 storage, Lambda usage).
    pub unpriced_resources: usize,
    /// Allocation by each `cost.allocation_tags` key.
    pub allocation: BTreeMap<String, TagAllocation>,
    /// Resources missing at least one allocation tag.
    pub untagged: UntaggedShare,
    /// Expensive misconfigurations, most wasteful first.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Sum of their estimated monthly waste.
    pub estimated_monthly_waste_usd: f64,
    /// Actual spend from Cost Explorer, when the policy asks for it and it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_spend: Option<ActualSpend>,
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        round2(part / whole * 100.0)
    } else {
        0.0
    }
}

/// The estimated monthly cost of one resource; `None` when the table cannot price it.
pub fn monthly_cost(r: &Resource, t: &PriceTable) -> Option<f64> {
    let region = r.region.as_str();
    match &r.details {
        ResourceDetails::Ec2Instance(i) => match i.state {
            // Stopped instances bill only for their volumes, priced on their own.
            InstanceState::Stopped | InstanceState::Stopping => Some(0.0),
            InstanceState::Running | InstanceState::Pending => {
                t.ec2_month(region, &i.instance_type)
            }
        },
        ResourceDetails::Ec2Volume(v) => t.ebs_month(region, &v.volume_type, v.size_gib),
        ResourceDetails::Ec2Snapshot(s) => t.snapshot_month(region, s.size_gib),
        ResourceDetails::Ec2ElasticIp(_) => t.public_ipv4_month(region),
        ResourceDetails::Ec2NatGateway(n) => match n.state.as_str() {
            "deleted" | "deleting" | "failed" => Some(0.0),
            _ => t.nat_gateway_month(region),
        },
        ResourceDetails::RdsDb(d) => t.rds_month(region, &d.instance_class),
        ResourceDetails::LogsLogGroup(g) => t.logs_month(region, g.stored_bytes),
        // Free: images bill through their snapshots; groups, VPCs and roles cost nothing.
        ResourceDetails::Ec2Image(_)
        | ResourceDetails::Ec2SecurityGroup(_)
        | ResourceDetails::Ec2Vpc(_)
        | ResourceDetails::IamRole(_) => Some(0.0),
        _ => None,
    }
}

fn is_non_production(r: &Resource, policy: &Policy) -> bool {
    let c = &policy.cost;
    r.tag(&c.environment_tag)
        .is_some_and(|env| c.non_production_values.iter().any(|v| v == env))
}

/// Computes the `cost` section.
pub fn cost_report(
    inventory: &Inventory,
    policy: &Policy,
    prices: &PriceTable,
    now: DateTime<Utc>,
) -> CostReport {
    let estimates: Vec<Option<f64>> = inventory
        .resources
        .iter()
        .map(|r| monthly_cost(r, prices))
        .collect();
    let total: f64 = estimates.iter().flatten().sum();
    let priced = estimates.iter().filter(|e| e.is_some()).count();

    let mut allocation = BTreeMap::new();
    for key in &policy.cost.allocation_tags {
        let mut rows: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
        let mut untagged = (0usize, 0.0f64);
        for (r, est) in inventory.resources.iter().zip(&estimates) {
            let slot = match policy.tags.value(r, key) {
                Some(v) => rows.entry(v).or_default(),
                None => &mut untagged,
            };
            slot.0 += 1;
            slot.1 += est.unwrap_or(0.0);
        }
        let row = |value: &str, (n, c): (usize, f64)| AllocationRow {
            value: value.to_owned(),
            resources: n,
            estimated_monthly_cost_usd: round2(c),
            share_percent: percent(c, total),
        };
        let mut by_value: Vec<AllocationRow> = rows.into_iter().map(|(v, s)| row(v, s)).collect();
        by_value.sort_by(|a, b| {
            b.estimated_monthly_cost_usd
                .total_cmp(&a.estimated_monthly_cost_usd)
                .then_with(|| a.value.cmp(&b.value))
        });
        allocation.insert(
            key.clone(),
            TagAllocation {
                by_value,
                untagged: row("(untagged)", untagged),
            },
        );
    }

    let (gap_n, gap_cost) = inventory
        .resources
        .iter()
        .zip(&estimates)
        .filter(|(r, _)| {
            policy
                .cost
                .allocation_tags
                .iter()
                .any(|k| policy.tags.value(r, k).is_none())
        })
        .fold((0, 0.0), |(n, c), (_, e)| (n + 1, c + e.unwrap_or(0.0)));

    let mut misconfigurations = misconfigurations(inventory, policy, prices, now);
    misconfigurations.sort_by(|a, b| {
        b.estimated_monthly_waste_usd
            .total_cmp(&a.estimated_monthly_waste_usd)
            .then_with(|| (a.kind, &a.resource_arn).cmp(&(b.kind, &b.resource_arn)))
    });
    let waste: f64 = misconfigurations
        .iter()
        .map(|m| m.estimated_monthly_waste_usd)
        .sum();

    CostReport {
        price_table: PriceSource {
            source: prices.meta.source.clone(),
            as_of: prices.meta.as_of.clone(),
            currency: prices.meta.currency.clone(),
        },
        estimated_monthly_total_usd: round2(total),
        priced_resources: priced,
        unpriced_resources: inventory.resources.len() - priced,
        allocation,
        untagged: UntaggedShare {
            resources: gap_n,
            estimated_monthly_cost_usd: round2(gap_cost),
            share_percent: percent(gap_cost, total),
        },
        misconfigurations,
        estimated_monthly_waste_usd: round2(waste),
        actual_spend: None,
    }
}

fn misconfigurations(
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
                    region: r.region.clone(),
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

/// The monthly cost an orphan wastes: its own price, and for a stopped instance the price of
/// the volumes still attached to it (`attached`).
pub fn orphan_cost(r: &Resource, attached: &[&Resource], t: &PriceTable) -> Option<f64> {
    match &r.details {
        ResourceDetails::Ec2Instance(_) => attached
            .iter()
            .map(|v| monthly_cost(v, t))
            .sum::<Option<f64>>()
            .map(round2),
        _ => monthly_cost(r, t).map(round2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{INVENTORY_SCHEMA_VERSION, ScanStats};
    use crate::model::{Ec2Instance, Ec2Snapshot, Ec2Volume, ElasticIp, NatGateway, Vpc};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn res(id: &str, region: &str, tags: &[(&str, &str)], details: ResourceDetails) -> Resource {
        let rt = match &details {
            ResourceDetails::Ec2Instance(_) => crate::ResourceType::Ec2Instance,
            ResourceDetails::Ec2Volume(_) => crate::ResourceType::Ec2Volume,
            ResourceDetails::Ec2Snapshot(_) => crate::ResourceType::Ec2Snapshot,
            ResourceDetails::Ec2ElasticIp(_) => crate::ResourceType::Ec2ElasticIp,
            ResourceDetails::Ec2NatGateway(_) => crate::ResourceType::Ec2NatGateway,
            ResourceDetails::Ec2Vpc(_) => crate::ResourceType::Ec2Vpc,
            _ => crate::ResourceType::S3Bucket,
        };
        Resource {
            arn: format!("arn:aws:ec2:{region}:123456789012:{id}"),
            id: id.into(),
            resource_type: rt,
            region: region.into(),
            account_id: "123456789012".into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            created_at: None,
            tags_unread: None,
            details,
        }
    }

    fn instance(ty: &str, state: InstanceState) -> ResourceDetails {
        ResourceDetails::Ec2Instance(Ec2Instance {
            instance_type: ty.into(),
            state,
            image_id: "ami-1".into(),
            image_owner_id: crate::observed::Observed::Read(None),
            state_transition_reason: None,
            vpc_id: None,
            security_group_ids: vec![],
            network_interface_ids: vec![],
        })
    }

    fn volume(ty: &str, gib: i32, state: &str) -> ResourceDetails {
        ResourceDetails::Ec2Volume(Ec2Volume {
            volume_type: ty.into(),
            size_gib: gib,
            state: state.into(),
            encrypted: true,
            attached_instance_ids: vec![],
        })
    }

    fn inv(resources: Vec<Resource>) -> Inventory {
        Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            generated_at: now(),
            account_id: "123456789012".into(),
            regions: vec!["us-east-1".into()],
            resources,
            errors: vec![],
            notes: vec![],
            stats: ScanStats::default(),
        }
    }

    fn kinds(c: &CostReport) -> Vec<(WasteKind, &str, f64)> {
        c.misconfigurations
            .iter()
            .map(|m| {
                (
                    m.kind,
                    m.resource_arn.rsplit(':').next().unwrap_or(""),
                    m.estimated_monthly_waste_usd,
                )
            })
            .collect()
    }

    #[test]
    fn each_misconfiguration_is_priced_from_the_table_and_look_alikes_are_not_flagged() {
        let mut old = res(
            "snap-old",
            "us-east-1",
            &[],
            ResourceDetails::Ec2Snapshot(Ec2Snapshot {
                volume_id: Some("vol-x".into()),
                source_volume_exists: true,
                size_gib: 100,
                used_by_image_ids: vec![],
            }),
        );
        old.created_at = Some(now() - chrono::Duration::days(91));
        let mut young = old.clone();
        young.id = "snap-young".into();
        young.arn = "arn:aws:ec2:us-east-1:123456789012:snap-young".into();
        young.created_at = Some(now() - chrono::Duration::days(89));
        let dev = [("Environment", "dev")];
        let prod = [("Environment", "prod")];
        let resources = vec![
            res(
                "vol-free",
                "us-east-1",
                &[],
                volume("gp3", 100, "available"),
            ),
            res("vol-gp2", "us-east-1", &[], volume("gp2", 100, "in-use")),
            res("vol-gp3", "us-east-1", &[], volume("gp3", 100, "in-use")),
            res(
                "i-m4",
                "us-east-1",
                &prod,
                instance("m4.large", InstanceState::Running),
            ),
            res(
                "i-m4-stopped",
                "us-east-1",
                &prod,
                instance("m4.large", InstanceState::Stopped),
            ),
            res(
                "i-big-dev",
                "us-east-1",
                &dev,
                instance("m5.2xlarge", InstanceState::Running),
            ),
            res(
                "i-big-prod",
                "us-east-1",
                &prod,
                instance("m5.2xlarge", InstanceState::Running),
            ),
            res(
                "i-unpriced",
                "us-east-1",
                &dev,
                instance("x9.48xlarge", InstanceState::Running),
            ),
            res(
                "eip-free",
                "us-east-1",
                &[],
                ResourceDetails::Ec2ElasticIp(ElasticIp {
                    public_ip: "1.2.3.4".into(),
                    association_id: None,
                    instance_id: None,
                }),
            ),
            res(
                "vpc-dev",
                "us-east-1",
                &dev,
                ResourceDetails::Ec2Vpc(Vpc {
                    is_default: false,
                    cidr_block: None,
                    flow_log_ids: crate::observed::Observed::Read(vec![]),
                }),
            ),
            res(
                "nat-dev",
                "us-east-1",
                &[],
                ResourceDetails::Ec2NatGateway(NatGateway {
                    state: "available".into(),
                    vpc_id: Some("vpc-dev".into()),
                }),
            ),
            old,
            young,
        ];
        let c = cost_report(
            &inv(resources),
            &Policy::default(),
            PriceTable::embedded(),
            now(),
        );
        assert_eq!(
            kinds(&c),
            vec![
                (WasteKind::OversizedNonProduction, "i-big-dev", 210.24),
                (WasteKind::NatGatewayNonProduction, "nat-dev", 32.85),
                (WasteKind::UnattachedVolume, "vol-free", 8.0),
                (WasteKind::OldSnapshot, "snap-old", 5.0),
                (WasteKind::UnassociatedEip, "eip-free", 3.65),
                (WasteKind::PreviousGeneration, "i-m4", 2.92),
                (WasteKind::Gp2Volume, "vol-gp2", 2.0),
            ]
        );
        assert_eq!(c.estimated_monthly_waste_usd, 264.66);
        // x9.48xlarge, unknown to the table, is unpriced rather than guessed.
        assert_eq!(c.unpriced_resources, 1);
        assert_eq!(c.price_table.currency, "USD");
    }

    #[test]
    fn allocation_follows_tags_and_aliases_and_reports_the_untagged_share() {
        let resources = vec![
            res(
                "vol-a",
                "us-east-1",
                &[("Owner", "a")],
                volume("gp3", 100, "in-use"),
            ),
            res(
                "vol-b",
                "us-east-1",
                &[("Team", "b")],
                volume("gp3", 50, "in-use"),
            ),
            res("vol-c", "us-east-1", &[], volume("gp3", 50, "in-use")),
        ];
        let mut policy = Policy::default();
        policy
            .tags
            .aliases
            .insert("Owner".into(), vec!["Team".into()]);
        let c = cost_report(&inv(resources), &policy, PriceTable::embedded(), now());
        assert_eq!(c.estimated_monthly_total_usd, 16.0);
        let owner = &c.allocation["Owner"];
        let rows: Vec<(&str, usize, f64, f64)> = owner
            .by_value
            .iter()
            .map(|r| {
                (
                    r.value.as_str(),
                    r.resources,
                    r.estimated_monthly_cost_usd,
                    r.share_percent,
                )
            })
            .collect();
        assert_eq!(rows, vec![("a", 1, 8.0, 50.0), ("b", 1, 4.0, 25.0)]);
        assert_eq!(owner.untagged.resources, 1);
        assert_eq!(owner.untagged.share_percent, 25.0);
        // Every resource misses Project and CostCenter: the whole estate is a visibility gap.
        assert_eq!(c.untagged.resources, 3);
        assert_eq!(c.untagged.share_percent, 100.0);
    }
}
