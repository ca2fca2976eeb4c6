//! The embedded, dated on-demand price table (`data/prices.toml`) and lookups over it.
//!
//! Prices are list prices for the common instance, volume and network types in the main
//! regions; anything the table does not name has no estimate (`None`), never a guess.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The price table's text, compiled into the binary.
pub const EMBEDDED: &str = include_str!("../data/prices.toml");

/// Instance sizes from smallest to largest.
pub const SIZES: [&str; 15] = [
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge",
    "8xlarge", "9xlarge", "12xlarge", "16xlarge", "24xlarge", "metal",
];

/// Where the prices come from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PriceMeta {
    /// Where the figures were taken from.
    pub source: String,
    /// The date the figures were current.
    pub as_of: String,
    /// Currency of every figure.
    pub currency: String,
    /// Hours per month used to turn hourly prices into monthly ones.
    pub hours_per_month: f64,
}

/// Prices in one region.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RegionPrices {
    /// EC2 on-demand, per instance-hour, by instance type.
    #[serde(default)]
    pub ec2_hour: BTreeMap<String, f64>,
    /// RDS on-demand (single-AZ), per instance-hour, by instance class.
    #[serde(default)]
    pub rds_hour: BTreeMap<String, f64>,
    /// EBS volume storage per GB-month, by volume type.
    #[serde(default)]
    pub ebs_gb_month: BTreeMap<String, f64>,
    /// EBS snapshot storage per GB-month.
    pub snapshot_gb_month: Option<f64>,
    /// A public IPv4 address (elastic IPs included), per hour.
    pub public_ipv4_hour: Option<f64>,
    /// A NAT gateway, per hour (data processing not included).
    pub nat_gateway_hour: Option<f64>,
    /// CloudWatch Logs storage per GB-month.
    pub logs_gb_month: Option<f64>,
}

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PriceTable {
    /// Source and date.
    pub meta: PriceMeta,
    /// Previous-generation instance families and their current replacement.
    #[serde(default)]
    pub previous_generation: BTreeMap<String, String>,
    /// Prices by region.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionPrices>,
}

static TABLE: LazyLock<PriceTable> = LazyLock::new(|| {
    // The embedded file is parsed by a unit test on every build; were it ever broken, no
    // estimate is better than a wrong one, so fall back to an empty table.
    PriceTable::parse(EMBEDDED).unwrap_or_default()
});

/// The position of an instance size in [`SIZES`], e.g. `large` -> 4.
pub fn size_rank(size: &str) -> Option<usize> {
    SIZES.iter().position(|s| *s == size)
}

/// Splits `m5.large` into (`m5`, `large`); RDS classes keep their `db.` prefix in the family.
pub fn split_type(instance_type: &str) -> Option<(&str, &str)> {
    instance_type.rsplit_once('.')
}

impl PriceTable {
    /// The table compiled into the binary.
    pub fn embedded() -> &'static PriceTable {
        &TABLE
    }

    /// Parses a table in the layout of `data/prices.toml`.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    fn region(&self, region: &str) -> Option<&RegionPrices> {
        self.regions.get(region)
    }

    fn monthly(&self, hourly: f64) -> f64 {
        hourly * self.meta.hours_per_month
    }

    /// A running EC2 instance per month.
    pub fn ec2_month(&self, region: &str, instance_type: &str) -> Option<f64> {
        let hourly = *self.region(region)?.ec2_hour.get(instance_type)?;
        Some(self.monthly(hourly))
    }

    /// A running RDS instance per month.
    pub fn rds_month(&self, region: &str, class: &str) -> Option<f64> {
        let hourly = *self.region(region)?.rds_hour.get(class)?;
        Some(self.monthly(hourly))
    }

    /// An EBS volume of `size_gib` per month.
    pub fn ebs_month(&self, region: &str, volume_type: &str, size_gib: i32) -> Option<f64> {
        let per_gb = *self.region(region)?.ebs_gb_month.get(volume_type)?;
        Some(per_gb * f64::from(size_gib.max(0)))
    }

    /// A snapshot of a `size_gib` volume per month: an upper bound, since snapshots are
    /// incremental and store only changed blocks.
    pub fn snapshot_month(&self, region: &str, size_gib: i32) -> Option<f64> {
        Some(self.region(region)?.snapshot_gb_month? * f64::from(size_gib.max(0)))
    }

    /// A public IPv4 address (an elastic IP) per month.
    pub fn public_ipv4_month(&self, region: &str) -> Option<f64> {
        Some(self.monthly(self.region(region)?.public_ipv4_hour?))
    }

    /// A NAT gateway's hourly charge per month (data processing extra).
    pub fn nat_gateway_month(&self, region: &str) -> Option<f64> {
        Some(self.monthly(self.region(region)?.nat_gateway_hour?))
    }

    /// CloudWatch Logs storage of `bytes` per month.
    pub fn logs_month(&self, region: &str, bytes: i64) -> Option<f64> {
        let gb = bytes.max(0) as f64 / 1_000_000_000.0;
        Some(self.region(region)?.logs_gb_month? * gb)
    }

    /// The current-generation type replacing a previous-generation one at the same size,
    /// e.g. `m4.large` -> `m5.large`.
    pub fn successor(&self, instance_type: &str) -> Option<String> {
        let (family, size) = split_type(instance_type)?;
        let next = self.previous_generation.get(family)?;
        Some(format!("{next}.{size}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_names_its_source_and_date() {
        let t = PriceTable::parse(EMBEDDED).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.meta.source.contains("AWS"));
        assert!(chrono::NaiveDate::parse_from_str(&t.meta.as_of, "%Y-%m-%d").is_ok());
        assert_eq!(t.meta.currency, "USD");
        assert_eq!(
            t,
            *PriceTable::embedded(),
            "the lazy copy is the same table"
        );
        for (name, r) in &t.regions {
            for (ty, p) in r.ec2_hour.iter().chain(&r.rds_hour).chain(&r.ebs_gb_month) {
                assert!(*p > 0.0, "{name} {ty}");
            }
            for ty in r.ec2_hour.keys() {
                let (_, size) = split_type(ty).unwrap_or_else(|| panic!("{ty}"));
                assert!(size_rank(size).is_some(), "{name} {ty}: unknown size");
            }
            // Every previous-generation type priced has its successor priced too.
            for ty in r.ec2_hour.keys() {
                if let Some(next) = t.successor(ty) {
                    assert!(r.ec2_hour.contains_key(&next), "{name}: {ty} -> {next}");
                }
            }
        }
    }

    #[test]
    fn monthly_figures_follow_the_table() {
        let t = PriceTable::embedded();
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(close(t.ec2_month("us-east-1", "t3.micro"), 0.0104 * 730.0));
        assert!(close(t.ebs_month("us-east-1", "gp2", 100), 10.0));
        assert!(close(t.ebs_month("eu-west-1", "gp3", 100), 8.8));
        assert!(close(t.public_ipv4_month("eu-west-1"), 3.65));
        assert!(close(t.nat_gateway_month("us-east-1"), 32.85));
        assert!(close(t.logs_month("us-east-1", 2_000_000_000), 0.06));
        assert_eq!(t.ec2_month("us-east-1", "x9.huge"), None);
        assert_eq!(t.ebs_month("mars-north-1", "gp2", 10), None);
        assert_eq!(t.successor("m4.large").as_deref(), Some("m5.large"));
        assert_eq!(t.successor("m5.large"), None);
        assert_eq!(size_rank("large"), Some(4));
        assert_eq!(size_rank("huge"), None);
    }
}
