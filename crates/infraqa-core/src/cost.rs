//! Cost: per-resource monthly estimates from the embedded price table, allocation by tag, the
//! untagged share, and expensive misconfigurations with their estimated monthly waste.
//!
//! Every figure comes from [`PriceTable`]; a resource whose price the table does not know has
//! no estimate and is counted as unpriced, never guessed.

use crate::inventory::Inventory;
use crate::model::{InstanceState, Resource, ResourceDetails};
use crate::policy::Policy;
use crate::prices::{PriceTable, size_rank, split_type};
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

/// Real spend from Cost Explorer, when the policy enables it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActualSpend {
    /// First day of the period.
    pub start: NaiveDate,
    /// Day after the period.
    pub end: NaiveDate,
    /// Unblended cost by allocation tag, then by tag value (`""` for untagged).
    pub by_tag: BTreeMap<String, BTreeMap<String, f64>>,
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
    /// Real spend from Cost Explorer, when enabled and read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_spend: Option<ActualSpend>,
}

/// Rounds to cents, so reports and golden files carry stable figures.
pub fn cents(x: f64) -> f64 {
    // `+ 0.0` turns -0.0 (an empty float sum) into 0.0.
    (x * 100.0).round() / 100.0 + 0.0
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        cents(part / whole * 100.0)
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

/// The value of allocation tag `key` on `r`, honouring the policy's tag aliases.
fn tag_value<'a>(r: &'a Resource, key: &str, policy: &Policy) -> Option<&'a str> {
    let present = |k: &str| r.tag(k).filter(|v| !v.trim().is_empty());
    present(key).or_else(|| {
        policy
            .tags
            .aliases
            .get(key)
            .and_then(|aliases| aliases.iter().find_map(|a| present(a)))
    })
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
            let slot = match tag_value(r, key, policy) {
                Some(v) => rows.entry(v).or_default(),
                None => &mut untagged,
            };
            slot.0 += 1;
            slot.1 += est.unwrap_or(0.0);
        }
        let row = |value: &str, (n, c): (usize, f64)| AllocationRow {
            value: value.to_owned(),
            resources: n,
            estimated_monthly_cost_usd: cents(c),
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
                .any(|k| tag_value(r, k, policy).is_none())
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
        estimated_monthly_total_usd: cents(total),
        priced_resources: priced,
        unpriced_resources: inventory.resources.len() - priced,
        allocation,
        untagged: UntaggedShare {
            resources: gap_n,
            estimated_monthly_cost_usd: cents(gap_cost),
            share_percent: percent(gap_cost, total),
        },
        misconfigurations,
        estimated_monthly_waste_usd: cents(waste),
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
                    estimated_monthly_waste_usd: cents(w),
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
            .map(cents),
        _ => monthly_cost(r, t).map(cents),
    }
}
