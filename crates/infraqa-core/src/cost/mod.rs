//! Cost: per-resource monthly estimates from the embedded price table, allocation by tag, the
//! untagged share, and expensive misconfigurations with their estimated monthly waste.
//!
//! Every figure comes from [`PriceTable`]; a resource whose price the table does not know has
//! no estimate and is counted as unpriced, never guessed.

mod allocation;
mod estimate;
mod waste;

pub use allocation::TAGS_UNREAD;
pub use estimate::{monthly_cost, orphan_cost};

use crate::inventory::Inventory;
use crate::policy::Policy;
use crate::prices::PriceTable;
use crate::round2;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        .map(|r| estimate::monthly_cost(r, prices))
        .collect();
    let total: f64 = estimates.iter().flatten().sum();
    let priced = estimates.iter().filter(|e| e.is_some()).count();

    let allocation = allocation::by_tag(inventory, policy, &estimates, total);
    let untagged = allocation::untagged(inventory, policy, &estimates, total);

    let mut misconfigurations = waste::misconfigurations(inventory, policy, prices, now);
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
        untagged,
        misconfigurations,
        estimated_monthly_waste_usd: round2(waste),
        actual_spend: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{INVENTORY_SCHEMA_VERSION, ScanStats};
    use crate::model::{
        Ec2Instance, Ec2Snapshot, Ec2Volume, ElasticIp, InstanceState, NatGateway, Resource,
        ResourceDetails, Vpc,
    };
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
            usage: None,
            details,
        }
    }

    fn instance(ty: &str, state: InstanceState) -> ResourceDetails {
        ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
            instance_type: ty.into(),
            state,
            image_id: "ami-1".into(),
            image_owner_id: crate::observed::Observed::Read(None),
            state_transition_reason: None,
            vpc_id: None,
            security_group_ids: vec![],
            network_interface_ids: vec![],
            created_at_source: None,
            metadata: None,
            role: None,
        }))
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
            settings: Default::default(),
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

    #[test]
    fn resources_whose_tags_were_not_read_are_neither_allocated_nor_untagged() {
        let policy = Policy::default();
        let mut unread = res("v-2", "us-east-1", &[], volume("gp3", 100, "in-use"));
        unread.tags_unread = Some(Box::new(crate::inventory::ScanError {
            region: "us-east-1".into(),
            service: "tagging".into(),
            operation: "GetResources".into(),
            code: "AccessDenied".into(),
            message: "denied".into(),
        }));
        let resources = vec![
            res("v-1", "us-east-1", &[], volume("gp3", 100, "in-use")),
            unread,
        ];
        let c = cost_report(&inv(resources), &policy, PriceTable::embedded(), now());
        let owner = &c.allocation["Owner"];
        assert_eq!(owner.untagged.resources, 1);
        let rows: Vec<(&str, usize)> = owner
            .by_value
            .iter()
            .map(|r| (r.value.as_str(), r.resources))
            .collect();
        assert_eq!(rows, [(TAGS_UNREAD, 1)]);
        assert_eq!(
            c.untagged.resources, 1,
            "the unread one is not a visibility gap"
        );
        assert_eq!(c.untagged.share_percent, 50.0);
    }
}
