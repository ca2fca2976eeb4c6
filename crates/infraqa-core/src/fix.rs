//! Guarded remediation (`infraqa fix`): which failing resources infraqa repairs, the exact
//! change, what the change depends on, and the guards that stop it. Pure: the AWS adapter reads
//! each resource's [`State`] and makes the calls; everything decided is decided here.
//!
//! A plan is made from a check's findings and the state of each resource read just before
//! planning: per action the change, the exact API calls, the state it depends on (its values
//! and their digest), whether and how it is undone; per failing resource it does not act on,
//! why ([`NoAction`]). Applying re-reads each resource and acts only when [`guard`] finds it as
//! planned: unchanged since, not exempted or allow-listed now, not opted out by its tag. What a
//! write left is judged by [`took`]: a write that did not take is a failure, never a success.
//!
//! The fixers and their guards:
//! - `s3-encryption`: default encryption SSE-S3, or SSE-KMS with `[remediation] kms_key` when
//!   `[s3] require_kms`; a bucket already encrypted with KMS is never changed (no weaker
//!   configuration replaces a KMS one); undone by restoring the previous configuration.
//! - `s3-public-access`: all four block settings on the bucket; never on an allow-listed
//!   bucket; refused for a bucket with a website configuration, or whose policy grants
//!   CloudFront, unless the plan is made with `include_website` (blocking breaks the site);
//!   undone by restoring the previous block (or removing it when there was none).
//! - `sg-open-ingress`: revokes exactly the world-open sources (`0.0.0.0/0`, `::/0`, each on
//!   its own) of the permissions that reach a port the policy does not allow, leaving every
//!   other permission; a world range that also holds an allowed port is left to a person
//!   (revoking it would close the allowed port too); undone by authorising the same sources
//!   again with their descriptions.
//! - orphans (`CheckResult::orphans`): an unused security group is deleted only when no
//!   network interface uses it and no other group of its VPC references it, both read now
//!   (not reversible: a new group has a new id; the plan keeps its rules); an unassociated
//!   elastic IP is released and an orphaned snapshot deleted only in a plan made with
//!   `allow_irreversible` (an address released may go to another account; a snapshot's data
//!   is gone); an unattached volume, a stopped instance and an orphaned log group are left to a
//!   person.
//! - Every other rule's findings: never changed; the plan lists them as needing a person, with
//!   the finding's recommendation.

use crate::check::CheckResult;
use crate::finding::{OrphanKind, RuleId};
use crate::iam::{PolicyDocument, Principal};
use crate::model::{BucketEncryption, IpPermission, PublicAccessBlock, ResourceType};
use crate::observed::Observed;
use crate::policy::Policy;
use crate::rules::network::open_to_world;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// The layout version of `fix-plan.json`.
pub const FIX_PLAN_SCHEMA_VERSION: u32 = 1;

/// The value of the opt-out tag (`[remediation] opt_out_tag`) that keeps a resource from every
/// fixer.
pub const NEVER: &str = "never";

/// The tag `infraqa fix --mark` writes: the first day (`YYYY-MM-DD`, UTC) `--apply --due` may
/// act on the resource.
pub const REMEDIATE_AFTER: &str = "infraqa:remediate-after";

/// The day a marking `days` from `now` names.
pub fn due_date(now: DateTime<Utc>, days: u32) -> chrono::NaiveDate {
    (now + chrono::Duration::days(i64::from(days))).date_naive()
}

/// Why `--due` keeps a resource with `tags` back on `today` (`None`: it is due): not marked,
/// a mark that is not a date, or a date still ahead.
pub fn not_due(tags: &BTreeMap<String, String>, today: chrono::NaiveDate) -> Option<String> {
    let Some(value) = tags.get(REMEDIATE_AFTER) else {
        return Some(format!(
            "not marked: --due acts only on resources tagged {REMEDIATE_AFTER} (infraqa fix --mark)"
        ));
    };
    match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Err(_) => Some(format!(
            "its {REMEDIATE_AFTER} tag {value:?} is not a date (YYYY-MM-DD)"
        )),
        Ok(day) if day > today => Some(format!("not due until {day}")),
        Ok(_) => None,
    }
}

/// The one message a marking sends: its subject and body.
pub fn mark_summary(
    plan: &FixPlan,
    day: chrono::NaiveDate,
    marked: &[&FixAction],
    opt_out_tag: &str,
) -> (String, String) {
    let subject = format!(
        "infraqa: {} resource(s) of account {} to be fixed from {day}",
        marked.len(),
        plan.account_id
    );
    let mut body = format!(
        "infraqa fix marked {} resource(s) of account {} with {REMEDIATE_AFTER}={day}. From that day `infraqa fix --apply --due` makes these changes, to each resource that still fails the same way (tag one {}=never to keep it out):\n\n",
        marked.len(),
        plan.account_id,
        opt_out_tag
    );
    for a in marked {
        body.push_str(&format!(
            "- {} ({}): {}\n",
            a.resource_arn,
            a.subject,
            a.calls.join("; ")
        ));
    }
    (subject, body)
}

/// The rules infraqa repairs.
pub const FIXABLE: [RuleId; 3] = [
    RuleId::S3Encryption,
    RuleId::S3PublicAccess,
    RuleId::SgOpenIngress,
];

/// The orphans infraqa cleans up.
pub const FIXABLE_ORPHANS: [OrphanKind; 3] = [
    OrphanKind::SgUnused,
    OrphanKind::EipUnassociated,
    OrphanKind::SnapshotOrphaned,
];

/// What an action (or a resource left alone) is about: a rule's finding, or an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subject {
    /// A finding of this rule.
    #[serde(rename = "rule_id")]
    Rule(RuleId),
    /// An orphan of this kind.
    #[serde(rename = "orphan")]
    Orphan(OrphanKind),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rule(r) => write!(f, "{r}"),
            Self::Orphan(k) => write!(f, "{k}"),
        }
    }
}

impl std::str::FromStr for Subject {
    type Err = crate::finding::UnknownRule;

    /// An orphan kind (`sg-unused`), else a rule id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let orphans = [
            OrphanKind::EbsUnattached,
            OrphanKind::EipUnassociated,
            OrphanKind::SnapshotOrphaned,
            OrphanKind::InstanceStopped,
            OrphanKind::SgUnused,
            OrphanKind::LoggroupOrphaned,
        ];
        match orphans.into_iter().find(|k| k.as_str() == s) {
            Some(k) => Ok(Self::Orphan(k)),
            None => s.parse().map(Self::Rule),
        }
    }
}

/// What a resource's fix depends on, as read just before planning, and again before applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum State {
    /// An S3 bucket.
    Bucket(BucketState),
    /// A security group.
    Group(GroupState),
    /// An elastic IP.
    Address(AddressState),
    /// An EBS snapshot.
    Snapshot(SnapshotState),
}

impl State {
    /// The resource's tags.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Bucket(b) => &b.tags,
            Self::Group(g) => &g.tags,
            Self::Address(a) => &a.tags,
            Self::Snapshot(s) => &s.tags,
        }
    }

    /// What a fix of `subject` depends on: the part of the state its change reads or writes
    /// (tags aside: the opt-out tag and exemptions are asked of them directly). Two fixes of
    /// one bucket do not void each other.
    fn depended_on(&self, subject: Subject) -> DependsOn<'_> {
        use Subject::{Orphan, Rule};
        match (subject, self) {
            (Rule(RuleId::S3Encryption), Self::Bucket(b)) => DependsOn::Encryption {
                encryption: &b.encryption,
            },
            (Rule(RuleId::S3PublicAccess), Self::Bucket(b)) => DependsOn::Block {
                block: &b.block,
                website: b.website,
                cloudfront: &b.cloudfront,
            },
            (Rule(RuleId::SgOpenIngress), Self::Group(g)) => DependsOn::Ingress {
                ingress: &g.ingress,
            },
            (Orphan(OrphanKind::SgUnused), Self::Group(g)) => DependsOn::Usage {
                interfaces: &g.interfaces,
                referenced_by: &g.referenced_by,
            },
            (Orphan(OrphanKind::EipUnassociated), Self::Address(a)) => DependsOn::Association {
                association: &a.association_id,
            },
            (Orphan(OrphanKind::SnapshotOrphaned), Self::Snapshot(s)) => DependsOn::Use {
                images: &s.images,
                volume_exists: s.volume_exists,
            },
            // Any other pairing has no fixer; the whole state stands for it.
            _ => DependsOn::Whole(self),
        }
    }

    /// The SHA-256, in hex, of what a fix of `subject` depends on
    /// ([`State::depended_on`]): equal digests, the same configuration.
    pub fn digest(&self, subject: Subject) -> String {
        use sha2::Digest;
        // Plain data (strings, booleans, ordered maps): serialising cannot fail.
        let json = serde_json::to_vec(&self.depended_on(subject)).unwrap_or_default();
        sha2::Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The part of a [`State`] one fix depends on, as its digest is taken.
#[derive(Serialize)]
#[serde(untagged)]
enum DependsOn<'a> {
    Encryption {
        encryption: &'a BucketEncryption,
    },
    Block {
        block: &'a Option<PublicAccessBlock>,
        website: bool,
        cloudfront: &'a [String],
    },
    Ingress {
        ingress: &'a [IngressRule],
    },
    Usage {
        interfaces: &'a Option<Vec<String>>,
        referenced_by: &'a Option<Vec<String>>,
    },
    Association {
        association: &'a Option<String>,
    },
    Use {
        images: &'a [String],
        volume_exists: bool,
    },
    Whole(&'a State),
}

/// What the S3 fixers depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketState {
    /// Default encryption (`GetBucketEncryption`).
    pub encryption: BucketEncryption,
    /// The bucket's public access block (`GetPublicAccessBlock`); `None` when it has none.
    pub block: Option<PublicAccessBlock>,
    /// Whether it serves a website (`GetBucketWebsite`).
    pub website: bool,
    /// The CloudFront principals its policy allows (`GetBucketPolicy`, see
    /// [`cloudfront_grants`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloudfront: Vec<String>,
    /// Its tags (`GetBucketTagging`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// What the security group fixers depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Its name (`default` for a VPC's default group, which is never deleted).
    #[serde(default)]
    pub name: String,
    /// Every source of every inbound permission (`DescribeSecurityGroups`).
    pub ingress: Vec<IngressRule>,
    /// The network interfaces that use it (`DescribeNetworkInterfaces`); read only to delete
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<String>>,
    /// The groups of its VPC whose inbound or outbound permissions name it
    /// (`DescribeSecurityGroups` of the VPC); read only to delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_by: Option<Vec<String>>,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// What releasing an elastic IP depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressState {
    /// Its allocation id (`eipalloc-...`).
    pub allocation_id: String,
    /// Its public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// Its association, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// What deleting a snapshot depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// The volume it was taken of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    /// Whether that volume still exists (`DescribeVolumes`).
    pub volume_exists: bool,
    /// The account's own AMIs that use it (`DescribeImages`).
    pub images: Vec<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One source of one inbound permission of a security group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IngressRule {
    /// The protocol as AWS writes it (`tcp`, `6`, `-1`...).
    pub protocol: String,
    /// First port (or ICMP type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// Last port (or ICMP code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// An IPv4 or IPv6 range, a prefix list id or a security group id.
    pub source: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IngressRule {
    /// The rule as the permission shape the rules judge.
    fn permission(&self) -> IpPermission {
        let (v4, v6) = if self.source.contains(':') {
            (vec![], vec![self.source.clone()])
        } else if self.source.contains('/') {
            (vec![self.source.clone()], vec![])
        } else {
            (vec![], vec![])
        };
        IpPermission {
            protocol: self.protocol.clone(),
            from_port: self.from_port,
            to_port: self.to_port,
            ipv4_ranges: v4,
            ipv6_ranges: v6,
            prefix_list_ids: Vec::new(),
            referenced_group_ids: Vec::new(),
        }
    }

    /// `tcp 22 from 0.0.0.0/0`.
    fn describe(&self) -> String {
        let ports = match (self.from_port, self.to_port) {
            (Some(f), Some(t)) if f == t => format!(" {f}"),
            (Some(f), Some(t)) if f >= 0 => format!(" {f}-{t}"),
            _ => String::new(),
        };
        let protocol = if self.protocol == "-1" {
            "all traffic"
        } else {
            &self.protocol
        };
        format!("{protocol}{ports} from {}", self.source)
    }
}

/// The principals of `policy`'s `Allow` statements that are CloudFront: the service
/// (`cloudfront.amazonaws.com`, origin access control) or an origin access identity.
pub fn cloudfront_grants(policy: &PolicyDocument) -> Vec<String> {
    let mut out: Vec<String> = policy
        .statements()
        .iter()
        .filter(|s| s.effect == crate::iam::Effect::Allow)
        .filter_map(|s| s.principal.as_ref())
        .flat_map(|p| match p {
            Principal::Map(m) => m
                .values()
                .flat_map(|v| v.as_slice().iter().cloned())
                .collect::<Vec<_>>(),
            Principal::Wildcard(_) => Vec::new(),
        })
        .filter(|p| {
            p == "cloudfront.amazonaws.com"
                || p.contains(":user/CloudFront Origin Access Identity ")
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A change a fixer makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Set the bucket's default encryption (`PutBucketEncryption`); `None` removes it
    /// (`DeleteBucketEncryption`, an undo only).
    Encryption {
        /// The configuration written.
        to: BucketEncryption,
    },
    /// Set the bucket's public access block (`PutPublicAccessBlock`); `None` removes it
    /// (`DeletePublicAccessBlock`, an undo only).
    PublicAccessBlock {
        /// The flags written.
        to: Option<PublicAccessBlock>,
    },
    /// Revoke exactly these inbound sources (`RevokeSecurityGroupIngress`).
    RevokeIngress {
        /// The sources revoked.
        rules: Vec<IngressRule>,
    },
    /// Authorise these inbound sources again (`AuthorizeSecurityGroupIngress`, an undo only).
    AuthorizeIngress {
        /// The sources authorised, with their descriptions.
        rules: Vec<IngressRule>,
    },
    /// Delete the security group (`DeleteSecurityGroup`).
    DeleteGroup,
    /// Release the elastic IP (`ReleaseAddress`).
    ReleaseAddress,
    /// Delete the snapshot (`DeleteSnapshot`).
    DeleteSnapshot,
}

impl Change {
    /// The exact API calls that make the change on `id` (in `region`).
    pub fn calls(&self, id: &str, region: &str) -> Vec<String> {
        match self {
            Self::Encryption {
                to: BucketEncryption::None,
            } => vec![format!("s3:DeleteBucketEncryption Bucket={id}")],
            Self::Encryption { to } => vec![format!(
                "s3:PutBucketEncryption Bucket={id} SSEAlgorithm={}{}",
                match to {
                    BucketEncryption::SseS3 => "AES256",
                    BucketEncryption::SseKmsDsse { .. } => "aws:kms:dsse",
                    _ => "aws:kms",
                },
                match to {
                    BucketEncryption::SseKms { key_id: Some(k) }
                    | BucketEncryption::SseKmsDsse { key_id: Some(k) } => {
                        format!(" KMSMasterKeyID={k}")
                    }
                    _ => String::new(),
                }
            )],
            Self::PublicAccessBlock { to: None } => {
                vec![format!("s3:DeletePublicAccessBlock Bucket={id}")]
            }
            Self::PublicAccessBlock { to: Some(b) } => vec![format!(
                "s3:PutPublicAccessBlock Bucket={id} BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
                b.block_public_acls,
                b.ignore_public_acls,
                b.block_public_policy,
                b.restrict_public_buckets
            )],
            Self::RevokeIngress { rules } => rules
                .iter()
                .map(|r| {
                    format!(
                        "ec2:RevokeSecurityGroupIngress GroupId={id} Region={region} {}",
                        r.describe()
                    )
                })
                .collect(),
            Self::AuthorizeIngress { rules } => rules
                .iter()
                .map(|r| {
                    format!(
                        "ec2:AuthorizeSecurityGroupIngress GroupId={id} Region={region} {}{}",
                        r.describe(),
                        r.description
                            .as_deref()
                            .map(|d| format!(" Description={d:?}"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
            Self::DeleteGroup => vec![format!(
                "ec2:DeleteSecurityGroup GroupId={id} Region={region}"
            )],
            Self::ReleaseAddress => vec![format!(
                "ec2:ReleaseAddress AllocationId={id} Region={region}"
            )],
            Self::DeleteSnapshot => vec![format!(
                "ec2:DeleteSnapshot SnapshotId={id} Region={region}"
            )],
        }
    }

    /// Whether it deletes the resource.
    fn deletes(&self) -> bool {
        matches!(
            self,
            Self::DeleteGroup | Self::ReleaseAddress | Self::DeleteSnapshot
        )
    }

    /// The change that restores `before` after this one.
    fn inverse(&self, before: &State) -> Option<Change> {
        match (self, before) {
            (Self::Encryption { .. }, State::Bucket(b)) => Some(Self::Encryption {
                to: b.encryption.clone(),
            }),
            (Self::PublicAccessBlock { .. }, State::Bucket(b)) => {
                Some(Self::PublicAccessBlock { to: b.block })
            }
            (Self::RevokeIngress { rules }, State::Group(_)) => Some(Self::AuthorizeIngress {
                rules: rules.clone(),
            }),
            _ => None,
        }
    }

    /// Whether `now` (the resource as read back, `None` when it is gone) shows the change made.
    pub fn took(&self, now: Option<&State>) -> bool {
        let Some(now) = now else {
            return self.deletes();
        };
        match (self, now) {
            (Self::Encryption { to }, State::Bucket(b)) => &b.encryption == to,
            (Self::PublicAccessBlock { to }, State::Bucket(b)) => &b.block == to,
            (Self::RevokeIngress { rules }, State::Group(g)) => rules
                .iter()
                .all(|r| !g.ingress.iter().any(|i| same_source(i, r))),
            (Self::AuthorizeIngress { rules }, State::Group(g)) => rules
                .iter()
                .all(|r| g.ingress.iter().any(|i| same_source(i, r))),
            _ => false,
        }
    }
}

/// Whether two inbound sources are the same permission (descriptions aside).
fn same_source(a: &IngressRule, b: &IngressRule) -> bool {
    (&a.protocol, a.from_port, a.to_port, &a.source)
        == (&b.protocol, b.from_port, b.to_port, &b.source)
}

/// One repair in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixAction {
    /// Its id, `fix-` and twelve hex digits: what `--undo` names.
    pub id: String,
    /// The rule whose finding it repairs (`rule_id`), or the orphan it cleans up (`orphan`).
    #[serde(flatten)]
    pub subject: Subject,
    /// The resource.
    pub resource_arn: String,
    /// Its type (`s3:bucket`, `ec2:security-group`).
    pub resource_type: String,
    /// Its id (bucket name, group id).
    pub resource_id: String,
    /// Its region.
    pub region: String,
    /// The change.
    pub change: Change,
    /// The exact API calls.
    pub calls: Vec<String>,
    /// The state it depends on, as read when planned.
    pub depends_on: State,
    /// The digest of what it depends on ([`State::digest`]): applying re-reads the state and
    /// acts only on the same digest.
    pub state_digest: String,
    /// The change that undoes it, restoring `depends_on`; `None` when it cannot be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Change>,
    /// The calls that undo it (none when it cannot be undone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undo_calls: Vec<String>,
    /// Whether it can be undone, and how, or why not.
    pub reversible: String,
}

/// Why a failing resource gets no action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// No fixer changes this rule's findings: a person carries out the recommendation.
    NeedsAPerson,
    /// A guard refused it.
    Refused,
    /// Its state could not be read now, so nothing is planned on it.
    NotRead,
    /// Read now, it no longer fails (fixed since the check).
    AlreadyDone,
}

/// A failing resource the plan does not act on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoAction {
    /// The rule (`rule_id`) or the orphan kind (`orphan`).
    #[serde(flatten)]
    pub subject: Subject,
    /// The resource.
    pub resource_arn: String,
    /// Its region.
    pub region: String,
    /// Which kind of reason.
    pub why: Why,
    /// The reason, or for `needs-a-person` the finding's recommendation.
    pub reason: String,
}

/// `fix-plan.json`: what `infraqa fix` would change, for review before `--apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixPlan {
    /// Layout version ([`FIX_PLAN_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// When the inventory the findings judged was taken.
    pub inventory_generated_at: DateTime<Utc>,
    /// The digest of the policy it was made under: applying under another refuses.
    pub policy_digest: String,
    /// Whether website buckets were let in (`--include-website`).
    #[serde(default)]
    pub include_website: bool,
    /// Whether irreversible deletions were let in (`--allow-irreversible`).
    #[serde(default)]
    pub allow_irreversible: bool,
    /// The repairs, in the findings' order.
    pub actions: Vec<FixAction>,
    /// The failing resources it does not act on, and why.
    pub untouched: Vec<NoAction>,
}

/// What a plan is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Only these rules' findings and orphan kinds (empty: all).
    pub only: Vec<Subject>,
    /// Let the public access block onto website and CloudFront buckets.
    pub include_website: bool,
    /// Let irreversible deletions in (releasing elastic IPs, deleting snapshots).
    pub allow_irreversible: bool,
}

/// A failing resource the plan must read, before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The rule or orphan kind.
    pub subject: Subject,
    /// The resource.
    pub resource_arn: String,
    /// Its region.
    pub region: String,
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id.
    pub resource_id: String,
}

impl Target {
    fn untouched(&self, why: Why, reason: String) -> NoAction {
        NoAction {
            subject: self.subject,
            resource_arn: self.resource_arn.clone(),
            region: self.region.clone(),
            why,
            reason,
        }
    }
}

/// What `check` asks to fix: the fixable findings and orphans (their resources to read now,
/// named by `id_of`: the resource id for an ARN, from the inventory), and the others as
/// needing a person, with the finding's recommendation or the orphan's reason.
pub fn targets(
    check: &CheckResult,
    options: &PlanOptions,
    id_of: impl Fn(&str) -> Option<(ResourceType, String)>,
) -> (Vec<Target>, Vec<NoAction>) {
    let failing = check
        .findings
        .iter()
        .map(|f| {
            let fixable = FIXABLE.contains(&f.rule_id);
            (
                Subject::Rule(f.rule_id),
                &f.resource_arn,
                f.region.as_str(),
                fixable,
                &f.remediation,
            )
        })
        .chain(check.orphans.iter().map(|o| {
            let fixable = FIXABLE_ORPHANS.contains(&o.kind);
            (
                Subject::Orphan(o.kind),
                &o.resource_arn,
                o.region.as_str(),
                fixable,
                &o.reason,
            )
        }));
    let mut read = Vec::new();
    let mut person = Vec::new();
    for (subject, arn, region, fixable, why_not) in
        failing.filter(|(s, ..)| options.only.is_empty() || options.only.contains(s))
    {
        let untouched = |why, reason: String| NoAction {
            subject,
            resource_arn: arn.clone(),
            region: region.to_owned(),
            why,
            reason,
        };
        if !fixable {
            person.push(untouched(Why::NeedsAPerson, why_not.clone()));
            continue;
        }
        match id_of(arn) {
            Some((resource_type, resource_id)) => read.push(Target {
                subject,
                resource_arn: arn.clone(),
                region: region.to_owned(),
                resource_type,
                resource_id,
            }),
            None => person.push(untouched(
                Why::NotRead,
                "the inventory does not hold the resource: pass the inventory the findings were made from".to_owned(),
            )),
        }
    }
    (read, person)
}

/// Why `policy` keeps its hands off a resource with `tags` (of `arn`) for `rule` now: the
/// opt-out tag, an exemption in force, the S3 allow-list.
fn hands_off(
    policy: &Policy,
    subject: Subject,
    arn: &str,
    id: &str,
    tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Option<String> {
    let key = &policy.remediation.opt_out_tag;
    if tags.get(key).is_some_and(|v| v == NEVER) {
        return Some(format!("it carries the opt-out tag {key} = {NEVER}"));
    }
    let Subject::Rule(rule) = subject else {
        return None;
    };
    if let Some(e) =
        crate::rules::exemption_for(policy, rule, arn, |k| tags.get(k).map(String::as_str), now)
    {
        return Some(format!("it is exempted from {rule}: {}", e.reason));
    }
    if rule == RuleId::S3PublicAccess && policy.s3.public_allowlist.iter().any(|g| g.is_match(id)) {
        return Some("the bucket is in [s3] public_allowlist".to_owned());
    }
    None
}

/// The change that repairs `target` from `state`, or why there is none.
fn change_for(
    target: &Target,
    state: &State,
    policy: &Policy,
    options: &PlanOptions,
) -> Result<Change, (Why, String)> {
    use Subject::{Orphan, Rule};
    let refused = |s: String| Err((Why::Refused, s));
    let irreversible = |what: &str| {
        Err((
            Why::Refused,
            format!("{what} cannot be undone: plan with --allow-irreversible to let it in"),
        ))
    };
    match (target.subject, state) {
        (Rule(RuleId::S3Encryption), State::Bucket(b)) => {
            let kms = matches!(
                b.encryption,
                BucketEncryption::SseKms { .. } | BucketEncryption::SseKmsDsse { .. }
            );
            if kms || (b.encryption == BucketEncryption::SseS3 && !policy.s3.require_kms) {
                return Err((
                    Why::AlreadyDone,
                    "the bucket is encrypted by default now".to_owned(),
                ));
            }
            if !policy.s3.require_kms {
                return Ok(Change::Encryption {
                    to: BucketEncryption::SseS3,
                });
            }
            match &policy.remediation.kms_key {
                // S3 encrypts with a key of the bucket's own region only.
                Some(key) if key.split(':').nth(3) != Some(target.region.as_str()) => refused(format!(
                    "[remediation] kms_key {key} is not in {}, the bucket's region: S3 encrypts with a key of its own region",
                    target.region
                )),
                Some(key) => Ok(Change::Encryption {
                    to: BucketEncryption::SseKms {
                        key_id: Some(key.clone()),
                    },
                }),
                None => refused(
                    "[s3] require_kms asks for SSE-KMS and the policy names no key: set [remediation] kms_key".to_owned(),
                ),
            }
        }
        (Rule(RuleId::S3PublicAccess), State::Bucket(b)) => {
            let all = PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            };
            if b.block == Some(all) {
                return Err((
                    Why::AlreadyDone,
                    "the bucket blocks public access now".to_owned(),
                ));
            }
            if !options.include_website && (b.website || !b.cloudfront.is_empty()) {
                let what = if b.website {
                    "serves a website".to_owned()
                } else {
                    format!("grants CloudFront ({})", b.cloudfront.join(", "))
                };
                return refused(format!(
                    "the bucket {what}: blocking public access may break it (plan with --include-website to act anyway)"
                ));
            }
            Ok(Change::PublicAccessBlock { to: Some(all) })
        }
        (Rule(RuleId::SgOpenIngress), State::Group(g)) => {
            let mut revoke = Vec::new();
            for r in g
                .ingress
                .iter()
                .filter(|r| r.source == "0.0.0.0/0" || r.source == "::/0")
            {
                let p = r.permission();
                if open_to_world(&p, &policy.network).is_none() {
                    continue;
                }
                let all_ports = IpPermission {
                    ipv4_ranges: p.ipv4_ranges.clone(),
                    ipv6_ranges: p.ipv6_ranges.clone(),
                    ..p.clone()
                };
                if holds_allowed_port(&all_ports, policy) {
                    return refused(format!(
                        "{} also reaches a port [network] allowed_public_ports allows: revoking it would close that port too",
                        r.describe()
                    ));
                }
                revoke.push(r.clone());
            }
            if revoke.is_empty() {
                return Err((
                    Why::AlreadyDone,
                    "no world-open permission on a disallowed port now".to_owned(),
                ));
            }
            Ok(Change::RevokeIngress { rules: revoke })
        }
        (Orphan(OrphanKind::SgUnused), State::Group(g)) => {
            if g.name == "default" {
                return refused("a VPC's default group is never deleted".to_owned());
            }
            match (&g.interfaces, &g.referenced_by) {
                (Some(i), _) if !i.is_empty() => Err((
                    Why::AlreadyDone,
                    format!("in use now: network interface(s) {}", i.join(", ")),
                )),
                (_, Some(r)) if !r.is_empty() => refused(format!(
                    "other groups reference it: {} (deleting it would break their permissions)",
                    r.join(", ")
                )),
                (Some(_), Some(_)) => Ok(Change::DeleteGroup),
                _ => refused("its use was not read".to_owned()),
            }
        }
        (Orphan(OrphanKind::EipUnassociated), State::Address(a)) => match &a.association_id {
            Some(assoc) => Err((Why::AlreadyDone, format!("associated now ({assoc})"))),
            None if !options.allow_irreversible => irreversible("releasing an address"),
            None => Ok(Change::ReleaseAddress),
        },
        (Orphan(OrphanKind::SnapshotOrphaned), State::Snapshot(sn)) => {
            if sn.volume_exists || !sn.images.is_empty() {
                return Err((
                    Why::AlreadyDone,
                    format!(
                        "in use now: {}",
                        sn.images
                            .iter()
                            .map(|i| format!("AMI {i}"))
                            .chain(
                                sn.volume_exists
                                    .then(|| "its source volume exists".to_owned())
                            )
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if !options.allow_irreversible {
                return irreversible("deleting a snapshot");
            }
            Ok(Change::DeleteSnapshot)
        }
        (subject, _) => refused(format!("{subject} has no fixer for this resource")),
    }
}

/// Whether the permission's port range holds a port the policy allows from the world.
fn holds_allowed_port(p: &IpPermission, policy: &Policy) -> bool {
    use crate::rules::network::Coverage;
    match Coverage::of(p) {
        Coverage::Ports { from, to, .. } => policy
            .network
            .allowed_public_ports
            .range(from..=to)
            .next()
            .is_some(),
        Coverage::All => !policy.network.allowed_public_ports.is_empty(),
        _ => false,
    }
}

/// The plan's decision on one target, from its state as read now.
pub fn decide(
    target: &Target,
    state: &Observed<State>,
    policy: &Policy,
    options: &PlanOptions,
    now: DateTime<Utc>,
) -> Result<FixAction, NoAction> {
    let state = match state {
        Observed::Read(s) => s,
        Observed::Unread(e) => {
            return Err(target.untouched(
                Why::NotRead,
                format!("{} {} failed: {}", e.service, e.operation, e.message),
            ));
        }
    };
    if let Some(why) = hands_off(
        policy,
        target.subject,
        &target.resource_arn,
        &target.resource_id,
        state.tags(),
        now,
    ) {
        return Err(target.untouched(Why::Refused, why));
    }
    let change = change_for(target, state, policy, options)
        .map_err(|(why, reason)| target.untouched(why, reason))?;
    let region = &target.region;
    let digest = state.digest(target.subject);
    let undo = change.inverse(state);
    let reversible = match (&undo, &change) {
        (Some(_), _) => "yes: the undo restores depends_on".to_owned(),
        (None, Change::DeleteGroup) => {
            "no: a group made again has a new id; depends_on keeps its rules".to_owned()
        }
        (None, Change::ReleaseAddress) => {
            "no: a released address may go to another account".to_owned()
        }
        (None, Change::DeleteSnapshot) => "no: the snapshot's data is gone".to_owned(),
        (None, _) => "no".to_owned(),
    };
    let id = {
        use sha2::Digest;
        let seed = format!("{}|{}|{digest}", target.subject, target.resource_arn);
        let hex: String = sha2::Sha256::digest(seed.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("fix-{hex}")
    };
    Ok(FixAction {
        id,
        subject: target.subject,
        resource_arn: target.resource_arn.clone(),
        resource_type: target.resource_type.to_string(),
        resource_id: target.resource_id.clone(),
        calls: change.calls(&target.resource_id, region),
        undo_calls: undo
            .as_ref()
            .map(|u| u.calls(&target.resource_id, region))
            .unwrap_or_default(),
        region: region.clone(),
        change,
        depends_on: state.clone(),
        state_digest: digest,
        undo,
        reversible,
    })
}

/// Why an action of a reviewed plan must not be applied to the resource as re-read now
/// (`None`: apply it).
pub fn guard(
    action: &FixAction,
    now_state: &State,
    policy: &Policy,
    now: DateTime<Utc>,
    due: bool,
) -> Option<String> {
    if let Some(why) = hands_off(
        policy,
        action.subject,
        &action.resource_arn,
        &action.resource_id,
        now_state.tags(),
        now,
    ) {
        return Some(why);
    }
    if due && let Some(why) = not_due(now_state.tags(), now.date_naive()) {
        return Some(why);
    }
    if now_state.digest(action.subject) == action.state_digest {
        return None;
    }
    Some(if action.change.took(Some(now_state)) {
        "already done: the resource is as the action would leave it".to_owned()
    } else {
        "the resource changed since the plan: plan again".to_owned()
    })
}

/// Why an applied action must not be undone with the resource as re-read now (`None`: undo
/// it): only what the action left, exactly as it left it, is restored.
pub fn guard_undo(action: &FixAction, after: &State, now_state: &State) -> Option<String> {
    (now_state.digest(action.subject) != after.digest(action.subject)).then(|| {
        "the resource changed since the fix: undoing it would overwrite a later change".to_owned()
    })
}

/// Whether `after`, read back after the write (`None`: the resource is gone), shows the
/// change made.
pub fn took(change: &Change, after: Option<&State>) -> bool {
    change.took(after)
}
