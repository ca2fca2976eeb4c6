//! The policy file's raw layout: unknown keys rejected, every value's position kept, so that
//! validation can name the key and line of each problem.

use super::TagMatch;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    #[serde(default)]
    pub(super) scan: RawScan,
    #[serde(default)]
    pub(super) tags: RawTags,
    #[serde(default)]
    pub(super) regions: RawRegions,
    #[serde(default)]
    pub(super) ec2: RawEc2,
    #[serde(default)]
    pub(super) s3: RawS3,
    #[serde(default)]
    pub(super) network: RawNetwork,
    #[serde(default)]
    pub(super) logging: RawLogging,
    #[serde(default)]
    pub(super) orphans: RawOrphans,
    #[serde(default)]
    pub(super) cost: RawCost,
    #[serde(default)]
    pub(super) lifecycle: RawLifecycle,
    #[serde(default)]
    pub(super) tagging: RawTagging,
    #[serde(default)]
    pub(super) alerts: RawAlerts,
    #[serde(default)]
    pub(super) accounts: RawAccounts,
    #[serde(default)]
    pub(super) frameworks: RawFrameworks,
    #[serde(default)]
    pub(super) remediation: RawRemediation,
    #[serde(default)]
    pub(super) rules: BTreeMap<String, Spanned<RawRuleControl>>,
    #[serde(default)]
    pub(super) exemptions: Vec<Spanned<RawExemption>>,
    #[serde(default)]
    pub(super) custom_rules: Vec<Spanned<RawCustomRule>>,
}

pub(super) type SpannedStrings = Vec<Spanned<String>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScan {
    pub(super) regions: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) rate_limits: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTags {
    #[serde(default)]
    pub(super) required: SpannedStrings,
    #[serde(default)]
    pub(super) applies_to: SpannedStrings,
    #[serde(default)]
    pub(super) allowed_values: BTreeMap<String, SpannedStrings>,
    #[serde(default)]
    pub(super) aliases: BTreeMap<String, SpannedStrings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTagging {
    pub(super) opt_out_tag: Option<Spanned<String>>,
    pub(super) inherit: Option<SpannedStrings>,
    pub(super) compliance_status: Option<bool>,
    pub(super) created_at: Option<bool>,
    #[serde(default)]
    pub(super) defaults: Vec<RawTagDefault>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTagDefault {
    #[serde(default)]
    pub(super) types: SpannedStrings,
    #[serde(default)]
    pub(super) regions: SpannedStrings,
    pub(super) tags: BTreeMap<Spanned<String>, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemediation {
    pub(super) opt_out_tag: Option<Spanned<String>>,
    pub(super) kms_key: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFrameworks {
    #[serde(default)]
    pub(super) enabled: SpannedStrings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub(super) topic: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccounts {
    pub(super) ids: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) organizational_units: SpannedStrings,
    #[serde(default)]
    pub(super) skip: SpannedStrings,
    pub(super) role_name: Option<Spanned<String>>,
    pub(super) external_id: Option<Spanned<String>>,
    pub(super) session_name: Option<Spanned<String>>,
    pub(super) session_duration_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegions {
    #[serde(default)]
    pub(super) approved: SpannedStrings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEc2 {
    #[serde(default)]
    pub(super) approved_amis: SpannedStrings,
    #[serde(default)]
    pub(super) approved_ami_owners: SpannedStrings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawS3 {
    #[serde(default)]
    pub(super) public_allowlist: SpannedStrings,
    pub(super) require_kms: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    #[serde(default)]
    pub(super) allowed_public_ports: Vec<Spanned<i64>>,
    pub(super) allow_public_icmp: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogging {
    pub(super) critical_tag: Option<Spanned<String>>,
    pub(super) critical_values: Option<SpannedStrings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrphans {
    pub(super) stopped_instance_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCost {
    pub(super) allocation_tags: Option<Vec<String>>,
    pub(super) environment_tag: Option<String>,
    pub(super) non_production_values: Option<Vec<String>>,
    pub(super) max_non_production_size: Option<Spanned<String>>,
    pub(super) snapshot_max_age_days: Option<Spanned<i64>>,
    pub(super) cost_explorer: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLifecycle {
    pub(super) usage_types: Option<SpannedStrings>,
    pub(super) lookback_days: Option<Spanned<i64>>,
    pub(super) min_days: Option<Spanned<i64>>,
    pub(super) idle_cpu_percent: Option<Spanned<i64>>,
    pub(super) idle_network_mb: Option<Spanned<i64>>,
    pub(super) oversized_cpu_percent: Option<Spanned<i64>>,
    pub(super) idle_connections: Option<Spanned<i64>>,
    pub(super) idle_nat_gateway_mb: Option<Spanned<i64>>,
    pub(super) idle_volume_ops: Option<Spanned<i64>>,
    pub(super) old_after_days: Option<Spanned<i64>>,
    pub(super) keep_tag: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleControl {
    pub(super) enabled: Option<bool>,
    pub(super) severity: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExemption {
    pub(super) rule: Spanned<String>,
    pub(super) resource: Option<Spanned<String>>,
    pub(super) tag: Option<TagMatch>,
    pub(super) reason: Option<Spanned<String>>,
    pub(super) expires: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCustomRule {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) applies_to: SpannedStrings,
    pub(super) condition: Spanned<String>,
    pub(super) severity: Option<Spanned<String>>,
    pub(super) message: Spanned<String>,
    pub(super) remediation: Spanned<String>,
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) frameworks: BTreeMap<Spanned<String>, SpannedStrings>,
}
