//! Rule identifiers, severities and the finding a rule emits.
//!
//! Rule ids are a public contract: reports, exemptions, dashboards and alert filters use them,
//! so their spelling never changes.

use crate::model::{BucketEncryption, PolicySource, PublicAccessBlock, PublicGrantee};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How urgent a finding is, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing when convenient.
    Low,
    /// Fix in the normal course of work.
    Medium,
    /// Fix soon: a real exposure or a broken control.
    High,
    /// Fix now: the resource is exposed or grants everything.
    Critical,
}

impl Severity {
    /// Every severity, from least to most severe.
    pub const ALL: [Severity; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The lowercase name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of `critical`, `high`, `medium`, `low`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`: expected one of critical, high, medium, low")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|sev| sev.as_str() == s)
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

pub use crate::rules::RuleId;

impl RuleId {
    /// The catalogue rule with this id, if there is one.
    pub fn catalogue(s: &str) -> Option<RuleId> {
        Self::ALL.into_iter().find(|rule| rule.as_str() == s)
    }

    /// Whether this is a rule the policy declares rather than one of the catalogue's.
    pub fn is_custom(self) -> bool {
        matches!(self, Self::Custom(_))
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of a custom rule: kebab-case, never one of the catalogue's.
///
/// Interned, so that a [`RuleId`] stays `Copy` like the catalogue's ids it sits beside in
/// every finding: each distinct id is stored once for the life of the process (a policy
/// declares a handful; a findings document read back names the same ones).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomRuleId(&'static str);

impl CustomRuleId {
    /// The id, if `s` is kebab-case (lowercase letters and digits in words joined by single
    /// hyphens, starting with a letter) and not a catalogue rule's.
    pub fn new(s: &str) -> Result<Self, UnknownRule> {
        if RuleId::catalogue(s).is_some() || !is_kebab_case(s) {
            return Err(UnknownRule(s.to_owned()));
        }
        static INTERNED: std::sync::OnceLock<
            std::sync::Mutex<std::collections::BTreeSet<&'static str>>,
        > = std::sync::OnceLock::new();
        let mut set = INTERNED
            .get_or_init(Default::default)
            .lock()
            // A panic elsewhere while holding the lock leaves the set intact (inserts are
            // single calls): keep using it.
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(id) = set.get(s) {
            return Ok(Self(id));
        }
        let id: &'static str = Box::leak(s.to_owned().into_boxed_str());
        set.insert(id);
        Ok(Self(id))
    }

    /// The id.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for CustomRuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Whether `s` is kebab-case: `[a-z][a-z0-9]*(-[a-z0-9]+)*`.
pub fn is_kebab_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A rule id that is neither in the catalogue nor a valid custom rule id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule `{0}`: expected one of {list}, or the id of a custom rule (kebab-case)", list = RuleId::ALL.map(RuleId::as_str).join(", "))]
pub struct UnknownRule(pub String);

/// A catalogue id, or any other kebab-case id as a custom rule's (documents name the custom
/// rules of the policy they were checked against).
impl FromStr for RuleId {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::catalogue(s) {
            Some(rule) => Ok(rule),
            None => CustomRuleId::new(s).map(Self::Custom),
        }
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = RuleId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rule id")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RuleId, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Id)
    }
}

/// Kinds of orphaned (idle, probably unneeded) resources: a report section of their own, not
/// compliance findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrphanKind {
    /// An EBS volume in state `available` (attached to nothing).
    EbsUnattached,
    /// An elastic IP with no association.
    EipUnassociated,
    /// An own snapshot whose source volume is gone and that no own AMI uses.
    SnapshotOrphaned,
    /// An instance stopped for at least `orphans.stopped_instance_days`.
    InstanceStopped,
    /// A non-default security group attached to no network interface.
    SgUnused,
    /// A `/aws/lambda/NAME` log group with no function `NAME`.
    LoggroupOrphaned,
}

impl OrphanKind {
    /// The published kind name, e.g. `ebs-unattached`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EbsUnattached => "ebs-unattached",
            Self::EipUnassociated => "eip-unassociated",
            Self::SnapshotOrphaned => "snapshot-orphaned",
            Self::InstanceStopped => "instance-stopped",
            Self::SgUnused => "sg-unused",
            Self::LoggroupOrphaned => "loggroup-orphaned",
        }
    }
}

impl fmt::Display for OrphanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule's verdict on one resource: at most one per (rule, resource), listing every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that failed.
    pub rule_id: RuleId,
    /// How urgent it is.
    pub severity: Severity,
    /// The resource it is about (for account-level checks, the account in the region).
    pub resource_arn: String,
    /// The resource's `service:type` (short: kept inline, no allocation of its own).
    pub resource_type: CompactString,
    /// The region the resource lives in, or `global` (inline likewise).
    pub region: CompactString,
    /// What exactly is wrong, naming every reason.
    pub message: String,
    /// What a person does to fix it: the console step or the CLI command.
    pub remediation: String,
    /// The structured facts behind the message, for dashboards and auditors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// What an IAM statement grants that a rule objects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// `Action: *` on `Resource: *`.
    FullAdmin,
    /// `NotAction` on `Resource: *`.
    NotAction,
    /// An action matching `iam:PassRole` on `Resource: *`.
    PassRole,
    /// `svc:*` on `Resource: *`.
    ServiceWildcard,
    /// A trust policy anyone may use.
    OpenTrust,
}

/// A missing logging control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoggingControl {
    /// S3 server access logging.
    S3AccessLogging,
    /// RDS log exports to CloudWatch Logs.
    RdsLogExports,
    /// The Lambda function's log group.
    LambdaLogGroup {
        /// The log group that does not exist.
        log_group: String,
    },
    /// A VPC flow log.
    VpcFlowLog,
}

/// One structured fact behind a finding, tagged by `kind` in JSON. The larger facts are boxed,
/// so the common one (a missing tag) stays small: a finding carries one per reason, and at a
/// million resources there are millions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A required tag (and all its aliases) is absent or empty.
    MissingTag {
        /// The required key (inline when short, as tag keys mostly are).
        key: CompactString,
    },
    /// A tag value that is not allowed, or not a date.
    InvalidTagValue(Box<EvidenceTagValue>),
    /// A bucket's default encryption as found.
    BucketEncryption {
        /// The configuration found.
        found: BucketEncryption,
        /// Whether the policy requires SSE-KMS.
        kms_required: bool,
    },
    /// A bucket's effective public access block and what makes it public now.
    PublicAccess {
        /// Bucket OR account, per flag.
        effective: PublicAccessBlock,
        /// The policy status says public, and nothing neutralises it.
        public_policy: bool,
        /// Public ACL grantees that nothing neutralises.
        public_grants: Vec<PublicGrantee>,
    },
    /// The AMI an instance runs.
    Ami(Box<EvidenceAmi>),
    /// An ingress permission open to the world.
    OpenIngress(Box<EvidenceIngress>),
    /// An IAM statement that grants too much.
    PolicyStatement(Box<EvidenceStatement>),
    /// A resource's region outside the approved list.
    Region(Box<EvidenceRegion>),
    /// A critical resource without a logging control.
    Logging {
        /// The missing control.
        control: LoggingControl,
    },
    /// A region no logging trail covers.
    TrailCoverage {
        /// The region.
        region: String,
        /// Trails that cover it but are stopped.
        stopped_trails: usize,
    },
    /// A setting that is not what the control requires.
    Setting(Box<EvidenceSetting>),
}

/// A setting as found and as required (the facts of [`Evidence::Setting`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSetting {
    /// The setting as AWS names it, e.g. `StorageEncrypted`.
    pub setting: String,
    /// Its value as found.
    pub found: String,
    /// What the control requires.
    pub expected: String,
}

impl Evidence {
    /// The fact that `setting` is `found` where the control requires `expected`.
    pub fn setting(
        setting: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self::Setting(Box::new(EvidenceSetting {
            setting: setting.into(),
            found: found.into(),
            expected: expected.into(),
        }))
    }
}

/// A tag value that is not allowed, or not a date (the facts of [`Evidence::InvalidTagValue`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceTagValue {
    /// The key.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What was expected.
    pub expected: String,
}

/// The AMI an instance runs (the facts of [`Evidence::Ami`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAmi {
    /// The AMI id.
    pub image_id: String,
    /// Its owner, when known.
    pub owner_id: Option<String>,
}

/// An ingress permission open to the world (the facts of [`Evidence::OpenIngress`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceIngress {
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `all` or another protocol.
    pub protocol: String,
    /// First port, for tcp and udp.
    pub from_port: Option<u16>,
    /// Last port, for tcp and udp.
    pub to_port: Option<u16>,
    /// The world sources (`0.0.0.0/0`, `::/0`).
    pub sources: Vec<String>,
    /// Network interfaces using the group.
    pub attached_interfaces: usize,
}

/// An IAM statement that grants too much (the facts of [`Evidence::PolicyStatement`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceStatement {
    /// The policy's name, or `trust policy`.
    pub policy: String,
    /// Where the policy comes from (absent for the trust policy).
    pub source: Option<PolicySource>,
    /// The 1-based statement index.
    pub statement: usize,
    /// What it grants.
    pub grant: Grant,
    /// The action pattern, where one is to blame.
    pub pattern: Option<String>,
    /// Condition operators on the statement (shown, never clearing).
    pub conditions: Vec<String>,
}

/// A resource's region outside the approved list (the facts of [`Evidence::Region`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRegion {
    /// Where it lives.
    pub region: String,
    /// The approved regions.
    pub approved: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_through_their_published_names() {
        for rule in RuleId::ALL {
            assert_eq!(rule.as_str().parse::<RuleId>(), Ok(rule));
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.as_str()));
        }
        // Any other kebab-case id is a custom rule's, the same value however often it is read.
        let custom = "no-previous-generation".parse::<RuleId>().unwrap();
        assert!(custom.is_custom());
        assert_eq!(
            custom,
            serde_json::from_str("\"no-previous-generation\"").unwrap()
        );
        assert_eq!(
            serde_json::to_string(&custom).unwrap(),
            "\"no-previous-generation\""
        );
        assert!(
            custom > RuleId::CloudtrailEnabled,
            "custom rules sort after the catalogue"
        );
        for bad in [
            "Sg-Open", "sg--open", "-sg", "sg-", "9-lives", "sg_open", "",
        ] {
            let err = bad.parse::<RuleId>().unwrap_err();
            assert!(err.to_string().contains("tags-required"), "{err}");
            assert!(serde_json::from_str::<RuleId>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn orphan_kinds_serialise_as_their_published_names() {
        let cases = [
            (OrphanKind::EbsUnattached, "ebs-unattached"),
            (OrphanKind::EipUnassociated, "eip-unassociated"),
            (OrphanKind::SnapshotOrphaned, "snapshot-orphaned"),
            (OrphanKind::InstanceStopped, "instance-stopped"),
            (OrphanKind::SgUnused, "sg-unused"),
            (OrphanKind::LoggroupOrphaned, "loggroup-orphaned"),
        ];
        for (kind, name) in cases {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn severities_order_from_low_to_critical_and_parse() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
        for sev in Severity::ALL {
            assert_eq!(sev.as_str().parse::<Severity>(), Ok(sev));
            assert_eq!(sev.to_string(), sev.as_str());
        }
        assert!("urgent".parse::<Severity>().is_err());
    }
}
