//! The policy file: what the company's standards are, as TOML.
//!
//! Parsing happens in two steps. The file is first read into raw structs that reject unknown
//! keys and remember where every value sits, then validated into [`Policy`], whose values are
//! known good: regions look like regions, ports are in range, globs compile, rule ids exist and
//! exemption dates parse. Every problem names its key and line, and all of them are reported at
//! once. Defaults are documented on each field and in docs/policy.md.

use crate::finding::{RuleId, Severity};
use crate::limits::{RateLimit, Service};
use crate::model::{Resource, ResourceType};
use crate::rules::CustomRule;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A policy file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Syntax {
        /// The file (or other source) the text came from.
        origin: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Well-formed TOML whose values break the policy's rules.
    #[error("{origin}: invalid policy:{}", problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Invalid {
        /// The file (or other source) the text came from.
        origin: String,
        /// Every problem found, in file order.
        problems: Vec<PolicyProblem>,
    },
}

/// One invalid value in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The dotted key, e.g. `network.allowed_public_ports`.
    pub key: String,
    /// 1-based line of the value.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.key, self.message)
    }
}

/// The validated policy. Every section is optional in the file; see each field for its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Policy {
    /// What to scan.
    pub scan: ScanPolicy,
    /// Required tags and their allowed values.
    pub tags: TagPolicy,
    /// Where resources may live.
    pub regions: RegionPolicy,
    /// Approved machine images.
    pub ec2: Ec2Policy,
    /// S3 bucket standards.
    pub s3: S3Policy,
    /// What may be open to the internet.
    pub network: NetworkPolicy,
    /// Which resources must log.
    pub logging: LoggingPolicy,
    /// When an idle resource counts as orphaned.
    pub orphans: OrphanPolicy,
    /// Cost allocation and what counts as an expensive misconfiguration.
    pub cost: CostPolicy,
    /// Which usage the scan reads, and when a resource counts as idle, oversized or old.
    pub lifecycle: LifecyclePolicy,
    /// What the tagger writes, and where its values come from.
    pub tagging: TaggingPolicy,
    /// Where alerts go.
    pub alerts: AlertPolicy,
    /// Which accounts a run covers, and how each is reached.
    pub accounts: AccountsPolicy,
    /// The compliance frameworks reports assess (none by default).
    #[serde(skip_serializing_if = "FrameworkPolicy::is_empty")]
    pub frameworks: FrameworkPolicy,
    /// How `infraqa fix` repairs (the defaults when absent).
    #[serde(skip_serializing_if = "RemediationPolicy::is_default")]
    pub remediation: RemediationPolicy,
    /// Per-rule switches and severity overrides (only rules the file mentions).
    pub rules: BTreeMap<RuleId, RuleControl>,
    /// Findings to move aside, each with its reason.
    pub exemptions: Vec<Exemption>,
    /// Rules the policy declares (`[[custom_rules]]`), in file order.
    pub custom_rules: Vec<CustomRule>,
}

impl Policy {
    /// What is valid but probably not meant: a custom rule whose `applies_to` names a type no
    /// collector reads with details (a typo such as `ec2:instnace` is one), which only the
    /// tagging API's listing of tagged resources can produce. Each names the rule, the type
    /// and the types collected with details.
    pub fn warnings(&self) -> Vec<String> {
        let known: Vec<&str> = ResourceType::KNOWN
            .iter()
            .map(ResourceType::as_str)
            .collect();
        self.custom_rules
            .iter()
            .flat_map(|rule| {
                rule.applies_to
                    .iter()
                    .filter(|t| !ResourceType::KNOWN.contains(t))
                    .map(|t| {
                        format!(
                            "custom rule {}: applies_to \"{t}\" is not a type infraqa collects with details, so only tagged resources of that type (as the tagging API lists them) are judged; the types collected with details: {}",
                            rule.id,
                            known.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The effective policy, defaults filled in, as TOML.
    pub fn to_toml(&self) -> String {
        // Every field is a string, number, bool, list or table of those: serialisation to
        // TOML cannot fail, and if it ever did the debug form still shows the policy.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# {e}\n{self:#?}"))
    }

    /// Whether `rule` runs: as `[rules.<id>] enabled` says when the policy names it; else the
    /// catalogue's default rules and custom rules do, and an opt-in rule does when an enabled
    /// framework maps one of its requirements to it.
    pub fn rule_enabled(&self, rule: RuleId) -> bool {
        let on = match self.rules.get(&rule) {
            Some(control) => control.enabled,
            None => rule.on_by_default() || self.framework_needs(rule),
        };
        on && self.custom_rule(rule).is_none_or(|c| c.enabled)
    }

    /// Whether an enabled framework decides one of its requirements with `rule`.
    fn framework_needs(&self, rule: RuleId) -> bool {
        self.frameworks.enabled.iter().any(|id| {
            // Validation admitted only shipped frameworks, which parse (a test proves it).
            crate::frameworks::find(id)
                .ok()
                .flatten()
                .is_some_and(|f| f.requirements.iter().any(|r| r.rules.contains(&rule)))
        })
    }

    /// The custom rule with this id, if the policy declares it.
    pub fn custom_rule(&self, rule: RuleId) -> Option<&CustomRule> {
        self.custom_rules.iter().find(|c| c.id == rule)
    }

    /// The severity override for `rule`, if the policy sets one.
    pub fn severity_override(&self, rule: RuleId) -> Option<Severity> {
        self.rules.get(&rule).and_then(|c| c.severity)
    }

    /// The SHA-256 of the effective policy (as `infraqa policy check` prints it), in hex: two
    /// files that mean the same policy have the same digest, whatever their layout. Rate limits
    /// are left out: pacing changes no verdict, so it voids no tag plan.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut judged = self.clone();
        judged.scan.rate_limits.clear();
        // Serialising plain data (strings, numbers, ordered maps) to JSON cannot fail.
        let json = serde_json::to_vec(&judged).unwrap_or_default();
        sha2::Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `[scan]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanPolicy {
    /// Regions to scan. Default: every enabled region.
    pub regions: RegionScope,
    /// Requests per second per (service, region), replacing the defaults for the services
    /// named (`[scan.rate_limits]`, e.g. `ec2 = 10`); `--rate-limit` on the command line wins.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_limits: BTreeMap<Service, RateLimit>,
}

/// Which regions a scan covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RegionScope {
    /// Every region `DescribeRegions` reports as enabled (written `"all"`).
    #[default]
    All,
    /// Exactly these regions.
    List(Vec<String>),
}

impl Serialize for RegionScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => s.serialize_str("all"),
            Self::List(regions) => regions.serialize(s),
        }
    }
}

/// `[tags]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagPolicy {
    /// Keys every in-scope resource must carry with a non-empty value. Default: none (the
    /// `tags-required` rule has nothing to check).
    pub required: Vec<String>,
    /// Types the rule applies to. Default (empty): every inventoried taggable type.
    pub applies_to: Vec<ResourceType>,
    /// Allowed values per key (compared exactly, case-sensitive). Default: any value.
    pub allowed_values: BTreeMap<String, Vec<String>>,
    /// Other keys that satisfy a required key, e.g. `Owner = ["Team"]`. Default: none.
    pub aliases: BTreeMap<String, Vec<String>>,
}

impl TagPolicy {
    /// The non-empty value of tag `key` on `r`, or else of the first of its aliases that has
    /// one (`tags.aliases`).
    pub fn value<'r>(&self, r: &'r Resource, key: &str) -> Option<&'r str> {
        let present = |k: &str| r.tag(k).filter(|v| !v.trim().is_empty());
        present(key).or_else(|| {
            self.aliases
                .get(key)
                .and_then(|aliases| aliases.iter().find_map(|a| present(a)))
        })
    }
}

/// `[tagging]`: the values `infraqa tag` and `infraqa validate --apply-tags` write. An existing
/// value is never overwritten (except the managed `ComplianceStatus`), and a value outside
/// `[tags.allowed_values]` is never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaggingPolicy {
    /// A resource carrying this tag key (any value) is never tagged. Default
    /// `infraqa:skip-tagging`.
    pub opt_out_tag: String,
    /// Keys a volume, snapshot or elastic IP takes from the instance it belongs to. Default
    /// `Owner`, `Project`, `CostCenter`, `Environment`.
    pub inherit: Vec<String>,
    /// Whether to set `ComplianceStatus` from the findings. Default true.
    pub compliance_status: bool,
    /// Whether to set a missing `CreatedAt` from the creation time AWS reports. Default true.
    pub created_at: bool,
    /// Fixed values per type and region, first matching entry first.
    pub defaults: Vec<TagDefault>,
}

impl Default for TaggingPolicy {
    fn default() -> Self {
        Self {
            opt_out_tag: "infraqa:skip-tagging".to_owned(),
            inherit: ["Owner", "Project", "CostCenter", "Environment"]
                .map(str::to_owned)
                .to_vec(),
            compliance_status: true,
            created_at: true,
            defaults: Vec::new(),
        }
    }
}

/// `[[tagging.defaults]]`: values for resources of some types in some regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagDefault {
    /// The types it covers. Default (empty): every type.
    pub types: Vec<ResourceType>,
    /// The regions it covers (`global` for IAM). Default (empty): every region.
    pub regions: Vec<String>,
    /// Key to value.
    pub tags: BTreeMap<String, String>,
}

impl TagDefault {
    /// Whether it covers `r`.
    pub fn covers(&self, r: &Resource) -> bool {
        (self.types.is_empty() || self.types.contains(&r.resource_type))
            && (self.regions.is_empty() || self.regions.iter().any(|x| x.as_str() == r.region))
    }
}

/// `[frameworks]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrameworkPolicy {
    /// The shipped frameworks reports assess, by id (e.g. `cis-aws-7.0`).
    pub enabled: Vec<String>,
}

impl FrameworkPolicy {
    /// Whether no framework is enabled.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty()
    }
}

/// `[remediation]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemediationPolicy {
    /// The tag key that keeps a resource from every fixer when its value is `never`.
    /// Default: `infraqa:remediate`.
    pub opt_out_tag: String,
    /// The KMS key (ARN) `s3-encryption`'s fix encrypts with when `[s3] require_kms`; without
    /// it, such buckets are left to a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// The default opt-out tag key.
pub const DEFAULT_OPT_OUT_TAG: &str = "infraqa:remediate";

impl Default for RemediationPolicy {
    fn default() -> Self {
        Self {
            opt_out_tag: DEFAULT_OPT_OUT_TAG.to_owned(),
            kms_key: None,
        }
    }
}

impl RemediationPolicy {
    /// Whether nothing is set (a policy without `[remediation]` keeps its digest).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[alerts]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertPolicy {
    /// The SNS topic ARN critical findings of new resources are published to. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// `[accounts]`: the accounts a run covers beyond the one its credentials belong to, and the
/// role it assumes in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountsPolicy {
    /// Which accounts. Default: only the credentials' own.
    pub ids: AccountScope,
    /// With `ids = "organization"`, only the accounts directly under these organizational units
    /// (or roots). Default: every account of the organization.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organizational_units: Vec<String>,
    /// Accounts left out, whatever `ids` says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
    /// The role assumed in each member account (`arn:PARTITION:iam::ID:role/NAME`).
    pub role_name: String,
    /// The external id the role's trust policy asks for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The role session's name: what CloudTrail records as the caller in each account.
    pub session_name: String,
    /// How long each session's credentials last (900-43200 s, within the role's maximum);
    /// they are renewed before they expire.
    pub session_duration_seconds: u32,
}

impl Default for AccountsPolicy {
    fn default() -> Self {
        Self {
            ids: AccountScope::Own,
            organizational_units: Vec::new(),
            skip: Vec::new(),
            role_name: "infraqa-member".into(),
            external_id: None,
            session_name: "infraqa".into(),
            session_duration_seconds: 3600,
        }
    }
}

/// Which accounts a run covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AccountScope {
    /// The credentials' own account, reached without assuming a role (written `"own"`).
    #[default]
    Own,
    /// These accounts, each through the member role.
    List(Vec<String>),
    /// Every active account of the organization (`ListAccounts` from the management or a
    /// delegated administrator account), each through the member role (written
    /// `"organization"`).
    Organization,
}

impl Serialize for AccountScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Own => s.serialize_str("own"),
            Self::List(ids) => ids.serialize(s),
            Self::Organization => s.serialize_str("organization"),
        }
    }
}

/// `[regions]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegionPolicy {
    /// Regions resources may live in. Default: none, and `region-approved` is off.
    pub approved: Vec<String>,
}

/// `[ec2]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ec2Policy {
    /// Approved AMI ids. Default: none.
    pub approved_amis: Vec<String>,
    /// Accounts whose AMIs are approved. Default: none. With both lists empty the
    /// `ec2-approved-ami` rule is off.
    pub approved_ami_owners: Vec<String>,
}

/// `[s3]`
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct S3Policy {
    /// Bucket names (exact or globs) that may be public. Default: none.
    pub public_allowlist: Vec<GlobPattern>,
    /// Require SSE-KMS: SSE-S3 (`AES256`) then fails `s3-encryption`. Default: false.
    pub require_kms: bool,
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkPolicy {
    /// TCP/UDP ports that may be open to `0.0.0.0/0` or `::/0`. Default: none.
    pub allowed_public_ports: BTreeSet<u16>,
    /// Whether ICMP and ICMPv6 from the world are acceptable. Default: true.
    pub allow_public_icmp: bool,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        Self {
            allowed_public_ports: BTreeSet::new(),
            allow_public_icmp: true,
        }
    }
}

/// `[logging]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggingPolicy {
    /// The tag that marks a resource critical. Default: `Environment`.
    pub critical_tag: String,
    /// Values of that tag that make a resource critical. Default: `["prod"]`.
    pub critical_values: Vec<String>,
}

impl Default for LoggingPolicy {
    fn default() -> Self {
        Self {
            critical_tag: "Environment".into(),
            critical_values: vec!["prod".into()],
        }
    }
}

/// `[orphans]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanPolicy {
    /// Days an instance must have been stopped to count as orphaned. Default: 30.
    pub stopped_instance_days: u32,
}

/// `[cost]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostPolicy {
    /// Tags cost is allocated by. Default: `Owner`, `Project`, `CostCenter`.
    pub allocation_tags: Vec<String>,
    /// The tag naming a resource's environment. Default: `Environment`.
    pub environment_tag: String,
    /// Environment values that are not production (oversized instances and NAT gateways there
    /// are flagged). Default: `dev`, `development`, `test`, `qa`, `sandbox`, `staging`.
    pub non_production_values: Vec<String>,
    /// The largest instance size a non-production instance may have before it counts as
    /// oversized. Default: `large`.
    pub max_non_production_size: String,
    /// Snapshots older than this many days are flagged. Default: 90.
    pub snapshot_max_age_days: u32,
    /// Read last month's actual spend by allocation tag from Cost Explorer
    /// (`GetCostAndUsage`, $0.01 per request, one request per tag and page). Default: false.
    pub cost_explorer: bool,
}

impl Default for CostPolicy {
    fn default() -> Self {
        Self {
            allocation_tags: ["Owner", "Project", "CostCenter"]
                .map(String::from)
                .to_vec(),
            environment_tag: "Environment".into(),
            non_production_values: ["dev", "development", "test", "qa", "sandbox", "staging"]
                .map(String::from)
                .to_vec(),
            max_non_production_size: "large".into(),
            snapshot_max_age_days: 90,
            cost_explorer: false,
        }
    }
}

impl Default for OrphanPolicy {
    fn default() -> Self {
        Self {
            stopped_instance_days: 30,
        }
    }
}

/// `[lifecycle]`: usage read from CloudWatch and the thresholds of the idle, oversized and
/// unused verdicts. Every "idle" threshold must hold on every day of the window that has data,
/// so a resource busy one day a week is never called idle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecyclePolicy {
    /// Types whose usage the scan reads (`GetMetricData`, billed per metric): an empty list
    /// switches usage off. Default: every type infraqa reads usage for
    /// ([`crate::usage::METERED`]).
    pub usage_types: Vec<ResourceType>,
    /// Days of usage read, whole UTC days before the scan. Default: 14 (Trusted Advisor's).
    pub lookback_days: u32,
    /// Days with data a resource needs before any verdict; fewer is "not enough data".
    /// Default: 7.
    pub min_days: u32,
    /// An instance is idle when its daily average CPU stays at or below this. Default: 10.
    pub idle_cpu_percent: u32,
    /// ... and its daily network in plus out stays at or below this many MB. Default: 5.
    pub idle_network_mb: u32,
    /// A running instance or database whose daily peak CPU stays at or below this is
    /// oversized: one size smaller at most doubles the peak. Default: 40.
    pub oversized_cpu_percent: u32,
    /// A database is idle when its daily peak connections stay at or below this. Default: 0.
    pub idle_connections: u32,
    /// A NAT gateway is idle when the bytes it sends out stay at or below this many MB a day.
    /// Default: 1.
    pub idle_nat_gateway_mb: u32,
    /// An attached volume is idle when its daily read plus write operations stay below this.
    /// Default: 1 (no I/O at all).
    pub idle_volume_ops: u32,
    /// A resource created at least this many days ago is old. Default: 90.
    pub old_after_days: u32,
    /// A resource carrying this tag key (any value) is idle on purpose: its usage is not read
    /// and it is never a cleanup candidate, only counted as kept. Default: `infraqa:keep`.
    pub keep_tag: String,
}

impl Default for LifecyclePolicy {
    fn default() -> Self {
        Self {
            usage_types: crate::usage::METERED.to_vec(),
            lookback_days: 14,
            min_days: 7,
            idle_cpu_percent: 10,
            idle_network_mb: 5,
            oversized_cpu_percent: 40,
            idle_connections: 0,
            idle_nat_gateway_mb: 1,
            idle_volume_ops: 1,
            old_after_days: 90,
            keep_tag: "infraqa:keep".into(),
        }
    }
}

impl LifecyclePolicy {
    /// Whether the scan reads usage for resources of type `t`.
    pub fn reads_usage(&self, t: &ResourceType) -> bool {
        self.usage_types.contains(t)
    }

    /// Whether `r` is kept on purpose (it carries `keep_tag`).
    pub fn keeps(&self, r: &Resource) -> bool {
        r.tags.contains_key(&self.keep_tag)
    }
}

/// `[rules.<rule-id>]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleControl {
    /// Whether the rule runs. Default: true.
    pub enabled: bool,
    /// A severity that replaces the catalogue's. Default: the catalogue's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// `[[exemptions]]`: a finding the policy moves aside, never hides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exemption {
    /// The rule it exempts from.
    pub rule: RuleId,
    /// Which resources it covers.
    #[serde(flatten)]
    pub target: ExemptionTarget,
    /// Why, for the auditor.
    pub reason: String,
    /// The last day (UTC) it applies; it stops from the next day. Default: never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
}

impl Exemption {
    /// Whether the exemption still applies on `today` (UTC): through its `expires` date.
    pub fn is_active_on(&self, today: NaiveDate) -> bool {
        self.expires.is_none_or(|last| today <= last)
    }
}

/// The resources an exemption covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionTarget {
    /// Resources whose ARN matches a glob.
    Resource(GlobPattern),
    /// Resources carrying a tag with exactly this key and value.
    Tag(TagMatch),
}

/// A tag key and value that must match exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagMatch {
    /// The tag key.
    pub key: String,
    /// The tag value.
    pub value: String,
}

mod glob;
mod raw;
mod validate;

pub use glob::GlobPattern;

#[cfg(test)]
mod tests;
