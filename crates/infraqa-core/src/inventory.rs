//! The inventory: every resource one scan found, what it could not read, and what it cost.
//!
//! An inventory with errors is partial, and says so: every consumer copies the errors forward
//! so a partial scan can never look complete.

use crate::model::Resource;
use crate::settings::AccountSettings;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of the `inventory.json` layout this crate writes and reads.
pub const INVENTORY_SCHEMA_VERSION: u32 = 2;

/// The result of one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Layout version ([`INVENTORY_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the scan finished.
    pub generated_at: DateTime<Utc>,
    /// The scanned account.
    pub account_id: String,
    /// The regions that were scanned.
    pub regions: Vec<String>,
    /// Every resource found, in a deterministic order.
    #[serde(deserialize_with = "read_resources")]
    pub resources: Vec<Resource>,
    /// What could not be read.
    #[serde(default)]
    pub errors: Vec<ScanError>,
    /// What was read about the account itself (only what a rule in force needed).
    #[serde(default, skip_serializing_if = "AccountSettings::is_empty")]
    pub settings: AccountSettings,
    /// Facts worth knowing that are not errors (e.g. a stop time that could not be parsed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// API calls made and time taken.
    #[serde(default)]
    pub stats: ScanStats,
}

/// Reads the resources on two cores ([`crate::read_on_two_cores`]): reading a million
/// resources is most of what loading an inventory costs, and the check and the report each
/// load one. An inventory is therefore read from its bytes, not from a reader.
fn read_resources<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Resource>, D::Error> {
    crate::read_on_two_cores(d, "resources")
}

impl Inventory {
    /// One account's inventory from the inventories of its shards (its global services and
    /// each of its regions, scanned apart), as one scan of the same regions would have it:
    /// every region; every resource once, in the scan's order (a multi-region trail read by
    /// each region's shard it covers is kept once); every error and note once; the calls
    /// summed; the slowest shard's time; every unit's timing. It is taken when its last shard
    /// was. `None` without parts.
    pub fn merge(parts: Vec<Inventory>) -> Option<Inventory> {
        let mut parts = parts.into_iter();
        let mut out = parts.next()?;
        for part in parts {
            out.generated_at = out.generated_at.max(part.generated_at);
            out.regions.extend(part.regions);
            out.resources.extend(part.resources);
            out.errors.extend(part.errors);
            out.notes.extend(part.notes);
            out.settings.absorb(part.settings);
            for (service, calls) in part.stats.api_calls {
                let into = out.stats.api_calls.entry(service).or_default();
                for (operation, n) in calls {
                    *into.entry(operation).or_default() += n;
                }
            }
            out.stats.duration_ms = out.stats.duration_ms.max(part.stats.duration_ms);
            out.stats.units.extend(part.stats.units);
        }
        out.regions.sort();
        out.regions.dedup();
        out.resources.sort_by(|a, b| {
            (a.resource_type.as_str(), &a.region, &a.arn).cmp(&(
                b.resource_type.as_str(),
                &b.region,
                &b.arn,
            ))
        });
        out.resources.dedup_by(|a, b| a.arn == b.arn);
        out.errors.sort_by(|a, b| {
            (&a.region, &a.service, &a.operation, &a.message).cmp(&(
                &b.region,
                &b.service,
                &b.operation,
                &b.message,
            ))
        });
        out.errors.dedup();
        out.notes.sort();
        out.notes.dedup();
        out.stats.units.sort_by(|a, b| {
            (b.duration_ms, &a.service, &a.region).cmp(&(a.duration_ms, &b.service, &b.region))
        });
        Some(out)
    }

    /// Frees the inventory on two cores and returns once it is gone: a million resources are
    /// millions of allocations. Each half of the resources was read on a thread of its own
    /// (see `read_on_two_cores`) and is freed on one, so the two seldom wait on each other.
    pub fn free(mut self) {
        let second = self.resources.split_off(self.resources.len() / 2);
        crate::side_by_side(|| drop(second), || drop(self));
    }

    /// Whether the scan read the account's global services (IAM): a shard of one region did
    /// not, and rules about the account as a whole leave such a shard to the global one.
    pub fn covers_global(&self) -> bool {
        self.settings.global.is_some()
            || self
                .stats
                .units
                .iter()
                .any(|u| u.region == crate::model::GLOBAL_REGION)
    }

    /// Whether some region, service or call could not be read.
    pub fn is_partial(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether the scan could not read `service` in `region` (or account-wide): anything that
    /// would judge from that missing data stays silent rather than report a false positive.
    pub fn could_not_read(&self, region: &str, service: &str) -> bool {
        could_not_read(&self.errors, region, service)
    }

    /// Where the scan's reads failed ([`Gaps::may_have_missed`]).
    pub fn gaps(&self) -> Gaps {
        Gaps::of(&self.errors)
    }
}

/// The services and regions where a scan's reads failed: what it may have missed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps {
    partial: bool,
    /// The regions (or `global`) of each service's failed reads.
    by_service: BTreeMap<String, BTreeSet<String>>,
}

impl Gaps {
    /// The gaps `errors` (an inventory's) leave.
    pub fn of(errors: &[ScanError]) -> Self {
        let mut by_service: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in errors {
            by_service
                .entry(e.service.clone())
                .or_default()
                .insert(e.region.clone());
        }
        Gaps {
            partial: !errors.is_empty(),
            by_service,
        }
    }

    /// Whether the scan may have missed the resource `arn` names: some read of its service in
    /// its region (any region for ARNs without one, such as buckets) failed. A resource absent
    /// from such an inventory is unknown, not deleted or fixed.
    pub fn may_have_missed(&self, arn: &str) -> bool {
        let mut parts = arn.split(':');
        let (Some(service), Some(region)) = (parts.nth(2), parts.next()) else {
            return self.partial;
        };
        let missed = |regions: &BTreeSet<String>| {
            region.is_empty()
                || regions.contains(region)
                || regions.contains(crate::model::GLOBAL_REGION)
        };
        self.by_service.get(service).is_some_and(missed)
            || self.by_service.get(EVERY_SERVICE).is_some_and(missed)
    }
}

/// Whether `errors` (an inventory's) hold a failed read of `service` in `region` (or
/// account-wide, or of every service there).
pub fn could_not_read(errors: &[ScanError], region: &str, service: &str) -> bool {
    errors.iter().any(|e| {
        (e.service == service || e.service == EVERY_SERVICE)
            && (e.region == region || e.region == crate::model::GLOBAL_REGION)
    })
}

/// The service of an error that stands for every service of its region (or of the account,
/// in `global`): a shard of a sharded scan that was never read.
pub const EVERY_SERVICE: &str = "*";

/// The operation of an error that stands for a whole scan unit (a service in a region) that
/// was not read, such as one the scan's deadline cut off.
pub const WHOLE_UNIT: &str = "(scan unit)";

/// One thing a scan could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    /// The region (or `global`).
    pub region: String,
    /// The service, e.g. `s3`.
    pub service: String,
    /// The API operation, e.g. `GetBucketEncryption`.
    pub operation: String,
    /// The error code AWS returned (e.g. `AccessDenied`), or a transport class.
    pub code: String,
    /// The message, naming the resource where there is one.
    pub message: String,
}

/// What a scan cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanStats {
    /// API calls (including retries) by service, then by operation.
    pub api_calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Wall time of the scan in milliseconds.
    pub duration_ms: u64,
    /// Each scan unit's wall time, longest first: the first is the scan's critical path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitTiming>,
}

/// How long one scan unit (a service in a region) took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitTiming {
    /// The service, e.g. `ec2`.
    pub service: String,
    /// The region (or `global`).
    pub region: String,
    /// Wall time from the unit's start to its end, in milliseconds.
    pub duration_ms: u64,
}

impl std::fmt::Display for UnitTiming {
    /// `ec2 in us-east-1, 12.1 s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in {}, {:.1} s",
            self.service,
            self.region,
            self.duration_ms as f64 / 1000.0
        )
    }
}

impl ScanStats {
    /// Total API calls over every service and operation.
    pub fn total_calls(&self) -> u64 {
        self.api_calls.values().flat_map(BTreeMap::values).sum()
    }

    /// The unit that took longest, if the scan recorded its units.
    pub fn longest_unit(&self) -> Option<&UnitTiming> {
        self.units.iter().max_by_key(|u| u.duration_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_read_on_two_threads_keep_their_order_and_a_bad_one_is_named_by_index() {
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        for n in [0, 1, 2, 7, 1_001] {
            let inv = crate::synthetic::inventory(n, now);
            let json = serde_json::to_vec(&inv).unwrap();
            let back = crate::document::inventory(&json).unwrap();
            assert_eq!(back, inv, "{n} resources");
        }
        let mut doc = serde_json::to_value(crate::synthetic::inventory(7, now)).unwrap();
        doc["resources"][5]["arn"] = serde_json::json!(42);
        let e = crate::document::inventory(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
        let message = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(
            message.contains("resources[5]: invalid type: integer `42`"),
            "{message}"
        );
    }

    #[test]
    fn an_inventory_with_errors_is_partial_and_stats_add_up() {
        let mut inv = Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            generated_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            account_id: "123456789012".into(),
            regions: vec!["us-east-1".into()],
            resources: vec![],
            errors: vec![],
            notes: vec![],
            settings: Default::default(),
            stats: ScanStats::default(),
        };
        assert!(!inv.is_partial());
        inv.errors.push(ScanError {
            region: "eu-west-1".into(),
            service: "cloudtrail".into(),
            operation: "LookupEvents".into(),
            code: "InternalError".into(),
            message: "HTTP 500".into(),
        });
        assert!(inv.is_partial());
        let cases = [
            ("eu-west-1", "cloudtrail", true),
            ("us-east-1", "cloudtrail", false),
            ("eu-west-1", "ec2", false),
        ];
        for (region, service, unread) in cases {
            assert_eq!(
                inv.could_not_read(region, service),
                unread,
                "{region} {service}"
            );
        }
        inv.errors[0].region = crate::model::GLOBAL_REGION.into();
        assert!(
            inv.could_not_read("us-east-1", "cloudtrail"),
            "an account-wide failure covers every region"
        );
        inv.stats
            .api_calls
            .entry("ec2".into())
            .or_default()
            .insert("DescribeInstances".into(), 3);
        inv.stats
            .api_calls
            .entry("s3".into())
            .or_default()
            .insert("ListBuckets".into(), 1);
        assert_eq!(inv.stats.total_calls(), 4);
        let json = serde_json::to_string(&inv).unwrap();
        let back: Inventory = serde_json::from_str(&json).unwrap();
        assert_eq!(back, inv);
    }
}
