//! The policy file: what the company's standards are, as TOML.
//!
//! Parsing happens in two steps. The file is first read into raw structs that reject unknown
//! keys and remember where every value sits, then validated into [`Policy`], whose values are
//! known good: regions look like regions, ports are in range, globs compile, rule ids exist and
//! exemption dates parse. Every problem names its key and line, and all of them are reported at
//! once. Defaults are documented on each field and in the README.

use crate::finding::{RuleId, Severity};
use crate::model::{Resource, ResourceType};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

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
    /// Per-rule switches and severity overrides (only rules the file mentions).
    pub rules: BTreeMap<RuleId, RuleControl>,
    /// Findings to move aside, each with its reason.
    pub exemptions: Vec<Exemption>,
}

impl Policy {
    /// The SHA-256 of the effective policy (as `infraqa policy check` prints it), in hex: two
    /// files that mean the same policy have the same digest, whatever their layout.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        // Serialising plain data (strings, numbers, ordered maps) to JSON cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
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

/// A compiled glob (`*` matches any run of characters, `?` one character), kept with its text.
#[derive(Debug, Clone)]
pub struct GlobPattern {
    text: String,
    matcher: globset::GlobMatcher,
}

impl GlobPattern {
    /// Compiles `text`; a pattern without wildcards matches only itself.
    pub fn new(text: &str) -> Result<Self, globset::Error> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()?;
        Ok(Self {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether `candidate` matches.
    pub fn is_match(&self, candidate: &str) -> bool {
        self.matcher.is_match(candidate)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for GlobPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for GlobPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl Policy {
    /// Parses and validates a policy file's text. `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_and_column(text, span.start));
            PolicyError::Syntax {
                origin: origin.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut v = Validator {
            text,
            problems: Vec::new(),
        };
        let policy = v.policy(raw);
        if v.problems.is_empty() {
            Ok(policy)
        } else {
            v.problems.sort_by_key(|p| p.line);
            Err(PolicyError::Invalid {
                origin: origin.to_owned(),
                problems: v.problems,
            })
        }
    }

    /// The effective policy, defaults filled in, as TOML.
    pub fn to_toml(&self) -> String {
        // Every field is a string, number, bool, list or table of those: serialisation to
        // TOML cannot fail, and if it ever did the debug form still shows the policy.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# {e}\n{self:#?}"))
    }

    /// Whether `rule` runs (rules are on unless `[rules.<id>] enabled = false`).
    pub fn rule_enabled(&self, rule: RuleId) -> bool {
        self.rules.get(&rule).is_none_or(|c| c.enabled)
    }

    /// The severity override for `rule`, if the policy sets one.
    pub fn severity_override(&self, rule: RuleId) -> Option<Severity> {
        self.rules.get(&rule).and_then(|c| c.severity)
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

// ---- raw file layout: unknown keys rejected, positions kept ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    tags: RawTags,
    #[serde(default)]
    regions: RawRegions,
    #[serde(default)]
    ec2: RawEc2,
    #[serde(default)]
    s3: RawS3,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    logging: RawLogging,
    #[serde(default)]
    orphans: RawOrphans,
    #[serde(default)]
    cost: RawCost,
    #[serde(default)]
    rules: BTreeMap<String, Spanned<RawRuleControl>>,
    #[serde(default)]
    exemptions: Vec<Spanned<RawExemption>>,
}

type SpannedStrings = Vec<Spanned<String>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScan {
    regions: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTags {
    #[serde(default)]
    required: SpannedStrings,
    #[serde(default)]
    applies_to: SpannedStrings,
    #[serde(default)]
    allowed_values: BTreeMap<String, SpannedStrings>,
    #[serde(default)]
    aliases: BTreeMap<String, SpannedStrings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRegions {
    #[serde(default)]
    approved: SpannedStrings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEc2 {
    #[serde(default)]
    approved_amis: SpannedStrings,
    #[serde(default)]
    approved_ami_owners: SpannedStrings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    #[serde(default)]
    public_allowlist: SpannedStrings,
    require_kms: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default)]
    allowed_public_ports: Vec<Spanned<i64>>,
    allow_public_icmp: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLogging {
    critical_tag: Option<Spanned<String>>,
    critical_values: Option<SpannedStrings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOrphans {
    stopped_instance_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCost {
    allocation_tags: Option<Vec<String>>,
    environment_tag: Option<String>,
    non_production_values: Option<Vec<String>>,
    max_non_production_size: Option<Spanned<String>>,
    snapshot_max_age_days: Option<Spanned<i64>>,
    cost_explorer: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleControl {
    enabled: Option<bool>,
    severity: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemption {
    rule: Spanned<String>,
    resource: Option<Spanned<String>>,
    tag: Option<TagMatch>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
}

// ---- validation ----

struct Validator<'a> {
    text: &'a str,
    problems: Vec<PolicyProblem>,
}

impl Validator<'_> {
    fn problem(&mut self, key: impl Into<String>, span: Range<usize>, message: impl Into<String>) {
        let (line, _) = line_and_column(self.text, span.start);
        self.problems.push(PolicyProblem {
            key: key.into(),
            line,
            message: message.into(),
        });
    }

    fn policy(&mut self, raw: RawPolicy) -> Policy {
        Policy {
            scan: ScanPolicy {
                regions: self.region_scope(raw.scan.regions),
            },
            tags: self.tags(raw.tags),
            regions: RegionPolicy {
                approved: self.regions("regions.approved", raw.regions.approved),
            },
            ec2: Ec2Policy {
                approved_amis: self.checked_strings(
                    "ec2.approved_amis",
                    raw.ec2.approved_amis,
                    is_ami_id,
                    "is not an AMI id (ami- followed by hex digits)",
                ),
                approved_ami_owners: self.checked_strings(
                    "ec2.approved_ami_owners",
                    raw.ec2.approved_ami_owners,
                    is_account_id,
                    "is not a 12-digit AWS account id",
                ),
            },
            s3: S3Policy {
                public_allowlist: raw
                    .s3
                    .public_allowlist
                    .into_iter()
                    .filter_map(|g| self.glob("s3.public_allowlist", g))
                    .collect(),
                require_kms: raw.s3.require_kms.unwrap_or(false),
            },
            network: NetworkPolicy {
                allowed_public_ports: raw
                    .network
                    .allowed_public_ports
                    .into_iter()
                    .filter_map(|p| {
                        let (span, port) = (p.span(), *p.get_ref());
                        let ok = u16::try_from(port).ok();
                        if ok.is_none() {
                            self.problem(
                                "network.allowed_public_ports",
                                span,
                                format!("port {port} is outside 0-65535"),
                            );
                        }
                        ok
                    })
                    .collect(),
                allow_public_icmp: raw.network.allow_public_icmp.unwrap_or(true),
            },
            logging: self.logging(raw.logging),
            orphans: OrphanPolicy {
                stopped_instance_days: self.days(
                    "orphans.stopped_instance_days",
                    raw.orphans.stopped_instance_days,
                    OrphanPolicy::default().stopped_instance_days,
                ),
            },
            cost: self.cost(raw.cost),
            rules: raw
                .rules
                .into_iter()
                .filter_map(|(id, control)| self.rule_control(&id, control))
                .collect(),
            exemptions: raw
                .exemptions
                .into_iter()
                .enumerate()
                .filter_map(|(i, e)| self.exemption(i, e))
                .collect(),
        }
    }

    fn region_scope(&mut self, raw: Option<Spanned<toml::Value>>) -> RegionScope {
        let Some(raw) = raw else {
            return RegionScope::All;
        };
        let span = raw.span();
        match raw.into_inner() {
            toml::Value::String(s) if s == "all" => RegionScope::All,
            toml::Value::Array(items) => {
                let mut regions = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(r) if is_region(&r) => regions.push(r),
                        other => self.problem(
                            "scan.regions",
                            span.clone(),
                            format!("{other} is not a region name such as \"us-east-1\""),
                        ),
                    }
                }
                if regions.is_empty() {
                    self.problem(
                        "scan.regions",
                        span,
                        "an empty list scans nothing; write \"all\" or name regions",
                    );
                }
                RegionScope::List(regions)
            }
            other => {
                self.problem(
                    "scan.regions",
                    span,
                    format!("expected \"all\" or a list of regions, found {other}"),
                );
                RegionScope::All
            }
        }
    }

    fn regions(&mut self, key: &str, raw: SpannedStrings) -> Vec<String> {
        self.checked_strings(
            key,
            raw,
            is_region,
            "is not a region name such as \"us-east-1\"",
        )
    }

    fn checked_strings(
        &mut self,
        key: &str,
        raw: SpannedStrings,
        valid: fn(&str) -> bool,
        complaint: &str,
    ) -> Vec<String> {
        raw.into_iter()
            .filter_map(|s| {
                let span = s.span();
                let s = s.into_inner();
                if valid(&s) {
                    Some(s)
                } else {
                    self.problem(key, span, format!("\"{s}\" {complaint}"));
                    None
                }
            })
            .collect()
    }

    fn tag_keys(&mut self, key: &str, raw: SpannedStrings) -> Vec<String> {
        self.checked_strings(
            key,
            raw,
            is_tag_key,
            "is not a valid tag key (1-128 characters)",
        )
    }

    fn tags(&mut self, raw: RawTags) -> TagPolicy {
        TagPolicy {
            required: self.tag_keys("tags.required", raw.required),
            applies_to: raw
                .applies_to
                .into_iter()
                .filter_map(|t| {
                    let span = t.span();
                    let t = t.into_inner();
                    if ResourceType::is_well_formed(&t) {
                        Some(ResourceType::parse(&t))
                    } else {
                        self.problem(
                            "tags.applies_to",
                            span,
                            format!("\"{t}\" is not a resource type written service:type, such as \"ec2:instance\""),
                        );
                        None
                    }
                })
                .collect(),
            allowed_values: raw
                .allowed_values
                .into_iter()
                .map(|(k, values)| (k, values.into_iter().map(Spanned::into_inner).collect()))
                .collect(),
            aliases: raw
                .aliases
                .into_iter()
                .map(|(k, aliases)| {
                    let key = format!("tags.aliases.{k}");
                    let aliases = self.tag_keys(&key, aliases);
                    (k, aliases)
                })
                .collect(),
        }
    }

    fn days(&mut self, key: &str, raw: Option<Spanned<i64>>, default: u32) -> u32 {
        let Some(days) = raw else {
            return default;
        };
        let (span, n) = (days.span(), *days.get_ref());
        u32::try_from(n).unwrap_or_else(|_| {
            self.problem(
                key,
                span,
                format!("{n} is not a whole number of days (0 or more)"),
            );
            default
        })
    }

    fn cost(&mut self, raw: RawCost) -> CostPolicy {
        let d = CostPolicy::default();
        CostPolicy {
            allocation_tags: raw.allocation_tags.unwrap_or(d.allocation_tags),
            environment_tag: raw.environment_tag.unwrap_or(d.environment_tag),
            non_production_values: raw.non_production_values.unwrap_or(d.non_production_values),
            max_non_production_size: match raw.max_non_production_size {
                None => d.max_non_production_size,
                Some(size) => {
                    let (span, size) = (size.span(), size.into_inner());
                    if crate::prices::size_rank(&size).is_none() {
                        self.problem(
                            "cost.max_non_production_size",
                            span,
                            format!(
                                "unknown instance size `{size}`: expected one of {}",
                                crate::prices::SIZES.join(", ")
                            ),
                        );
                    }
                    size
                }
            },
            snapshot_max_age_days: self.days(
                "cost.snapshot_max_age_days",
                raw.snapshot_max_age_days,
                d.snapshot_max_age_days,
            ),
            cost_explorer: raw.cost_explorer.unwrap_or(d.cost_explorer),
        }
    }

    fn logging(&mut self, raw: RawLogging) -> LoggingPolicy {
        let defaults = LoggingPolicy::default();
        LoggingPolicy {
            critical_tag: match raw.critical_tag {
                None => defaults.critical_tag,
                Some(tag) => {
                    let span = tag.span();
                    let tag = tag.into_inner();
                    if !is_tag_key(&tag) {
                        self.problem(
                            "logging.critical_tag",
                            span,
                            format!("\"{tag}\" is not a valid tag key (1-128 characters)"),
                        );
                    }
                    tag
                }
            },
            critical_values: raw.critical_values.map_or(defaults.critical_values, |v| {
                v.into_iter().map(Spanned::into_inner).collect()
            }),
        }
    }

    fn glob(&mut self, key: &str, raw: Spanned<String>) -> Option<GlobPattern> {
        let span = raw.span();
        match GlobPattern::new(raw.get_ref()) {
            Ok(g) => Some(g),
            Err(e) => {
                self.problem(
                    key,
                    span,
                    format!("\"{}\" is not a valid glob: {}", raw.get_ref(), e.kind()),
                );
                None
            }
        }
    }

    fn rule_id(&mut self, key: &str, raw: &Spanned<String>) -> Option<RuleId> {
        match raw.get_ref().parse::<RuleId>() {
            Ok(rule) => Some(rule),
            Err(e) => {
                self.problem(key, raw.span(), e.to_string());
                None
            }
        }
    }

    fn rule_control(
        &mut self,
        id: &str,
        raw: Spanned<RawRuleControl>,
    ) -> Option<(RuleId, RuleControl)> {
        let span = raw.span();
        let key = format!("rules.{id}");
        let rule = self.rule_id(&key, &Spanned::new(span.clone(), id.to_owned()));
        let raw = raw.into_inner();
        let severity = raw
            .severity
            .and_then(|s| match s.get_ref().parse::<Severity>() {
                Ok(sev) => Some(sev),
                Err(e) => {
                    self.problem(format!("{key}.severity"), s.span(), e.to_string());
                    None
                }
            });
        Some((
            rule?,
            RuleControl {
                enabled: raw.enabled.unwrap_or(true),
                severity,
            },
        ))
    }

    fn exemption(&mut self, index: usize, raw: Spanned<RawExemption>) -> Option<Exemption> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = format!("exemptions[{index}]");
        let rule = self.rule_id(&format!("{key}.rule"), &raw.rule);
        let target = match (raw.resource, raw.tag) {
            (Some(resource), None) => self
                .glob(&format!("{key}.resource"), resource)
                .map(ExemptionTarget::Resource),
            (None, Some(tag)) => Some(ExemptionTarget::Tag(tag)),
            (Some(_), Some(_)) => {
                self.problem(
                    &key,
                    span.clone(),
                    "give either `resource` (an ARN glob) or `tag`, not both",
                );
                None
            }
            (None, None) => {
                self.problem(
                    &key,
                    span.clone(),
                    "says neither which resources (`resource`, an ARN glob) nor which tag (`tag`) it covers",
                );
                None
            }
        };
        let reason = match raw.reason {
            Some(r) if !r.get_ref().trim().is_empty() => Some(r.into_inner()),
            Some(r) => {
                self.problem(format!("{key}.reason"), r.span(), "must not be empty");
                None
            }
            None => {
                self.problem(
                    &key,
                    span,
                    "has no `reason`: every exemption says why, for the auditor",
                );
                None
            }
        };
        let expires = match raw.expires {
            None => Ok(None),
            Some(e) => {
                let e_span = e.span();
                let text = match e.into_inner() {
                    toml::Value::String(s) => s,
                    toml::Value::Datetime(d) => d.to_string(),
                    other => other.to_string(),
                };
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        self.problem(
                            format!("{key}.expires"),
                            e_span,
                            format!("{text} is not a date written YYYY-MM-DD"),
                        )
                    })
            }
        };
        Some(Exemption {
            rule: rule?,
            target: target?,
            reason: reason?,
            expires: expires.ok()?,
        })
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`, `cn-north-1`...
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    match parts.as_slice() {
        [geo, middle @ .., number] => {
            geo.len() == 2
                && lower(geo)
                && !middle.is_empty()
                && middle.iter().all(|p| lower(p))
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

fn is_ami_id(s: &str) -> bool {
    s.strip_prefix("ami-")
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

fn is_tag_key(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128
}

#[cfg(test)]
mod tests;
