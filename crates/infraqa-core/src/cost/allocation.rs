//! Cost allocation by tag (`Owner`, `Project`, `CostCenter`, honouring tag aliases) and the
//! cost visibility gap: resources missing an allocation tag. A resource whose tags could not
//! be read is neither: it has its own row, and is not counted as untagged.

use super::{AllocationRow, TagAllocation, UntaggedShare, percent};
use crate::inventory::Inventory;
use crate::policy::Policy;
use crate::round2;
use std::collections::BTreeMap;

/// The row of resources whose tags could not be read.
pub const TAGS_UNREAD: &str = "(tags unread)";

/// Allocation by each of the policy's allocation tags; `estimates` runs beside the resources.
pub fn by_tag(
    inventory: &Inventory,
    policy: &Policy,
    estimates: &[Option<f64>],
    total: f64,
) -> BTreeMap<String, TagAllocation> {
    let mut allocation = BTreeMap::new();
    for key in &policy.cost.allocation_tags {
        let mut rows: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
        let mut untagged = (0usize, 0.0f64);
        for (r, est) in inventory.resources.iter().zip(estimates) {
            let slot = match policy.tags.value(r, key) {
                Some(v) => rows.entry(v).or_default(),
                None if r.tags_unread.is_some() => rows.entry(TAGS_UNREAD).or_default(),
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

    allocation
}

/// Resources (with read tags) missing at least one allocation tag, and what they cost.
pub fn untagged(
    inventory: &Inventory,
    policy: &Policy,
    estimates: &[Option<f64>],
    total: f64,
) -> UntaggedShare {
    let (gap_n, gap_cost) = inventory
        .resources
        .iter()
        .zip(estimates)
        .filter(|(r, _)| {
            r.tags_unread.is_none()
                && policy
                    .cost
                    .allocation_tags
                    .iter()
                    .any(|k| policy.tags.value(r, k).is_none())
        })
        .fold((0, 0.0), |(n, c), (_, e)| (n + 1, c + e.unwrap_or(0.0)));
    UntaggedShare {
        resources: gap_n,
        estimated_monthly_cost_usd: round2(gap_cost),
        share_percent: percent(gap_cost, total),
    }
}
