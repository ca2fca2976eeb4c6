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
//! - Every other rule's findings: never changed; the plan lists them as needing a person, with
//!   the finding's recommendation.

use crate::check::CheckResult;
use crate::finding::{Finding, RuleId};
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

/// The rules infraqa repairs.
pub const FIXABLE: [RuleId; 3] = [
    RuleId::S3Encryption,
    RuleId::S3PublicAccess,
    RuleId::SgOpenIngress,
];

/// What a resource's fix depends on, as read just before planning, and again before applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum State {
    /// An S3 bucket.
    Bucket(BucketState),
    /// A security group.
    Group(GroupState),
}

impl State {
    /// The resource's tags.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Bucket(b) => &b.tags,
            Self::Group(g) => &g.tags,
        }
    }

    /// What a fix of `rule`'s finding depends on: the part of the state its change reads
    /// or writes (tags aside: the opt-out tag and exemptions are asked of them directly). Two
    /// fixes of one bucket do not void each other.
    fn depended_on(&self, rule: RuleId) -> serde_json::Value {
        match (rule, self) {
            (RuleId::S3Encryption, Self::Bucket(b)) => {
                serde_json::json!({ "encryption": b.encryption })
            }
            (RuleId::S3PublicAccess, Self::Bucket(b)) => serde_json::json!({
                "block": b.block,
                "website": b.website,
                "cloudfront": b.cloudfront,
            }),
            (RuleId::SgOpenIngress, Self::Group(g)) => serde_json::json!({ "ingress": g.ingress }),
            // Any other pairing has no fixer; the whole state stands for it.
            _ => serde_json::to_value(self).unwrap_or_default(),
        }
    }

    /// The SHA-256, in hex, of what a fix of `rule`'s finding depends on
    /// ([`State::depended_on`]): equal digests, the same configuration.
    pub fn digest(&self, rule: RuleId) -> String {
        use sha2::Digest;
        // Plain data (strings, booleans, ordered maps): serialising cannot fail.
        let json = serde_json::to_vec(&self.depended_on(rule)).unwrap_or_default();
        sha2::Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
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

/// What the security group fixer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Every source of every inbound permission (`DescribeSecurityGroupRules`).
    pub ingress: Vec<IngressRule>,
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
        }
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

    /// Whether `now` shows the change made.
    pub fn took(&self, now: &State) -> bool {
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
    /// The rule whose finding it repairs.
    pub rule_id: RuleId,
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
    /// The change that undoes it, restoring `depends_on` (every fixer here is reversible).
    pub undo: Change,
    /// The calls that undo it.
    pub undo_calls: Vec<String>,
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
    /// The rule.
    pub rule_id: RuleId,
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
    /// The repairs, in the findings' order.
    pub actions: Vec<FixAction>,
    /// The failing resources it does not act on, and why.
    pub untouched: Vec<NoAction>,
}

/// What a plan is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Only these rules' findings (empty: every rule's).
    pub rules: Vec<RuleId>,
    /// Let the public access block onto website and CloudFront buckets.
    pub include_website: bool,
}

/// A finding the plan must read the resource of, before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The finding.
    pub finding: Finding,
    /// Its resource's type.
    pub resource_type: ResourceType,
    /// Its resource's id.
    pub resource_id: String,
}

/// The findings of `check` the plan covers: the fixable ones (their resources to read now,
/// named by `id_of`: the resource id for an ARN, from the inventory), and the others as
/// needing a person.
pub fn targets(
    check: &CheckResult,
    options: &PlanOptions,
    id_of: impl Fn(&str) -> Option<(ResourceType, String)>,
) -> (Vec<Target>, Vec<NoAction>) {
    let mut read = Vec::new();
    let mut person = Vec::new();
    for f in check
        .findings
        .iter()
        .filter(|f| options.rules.is_empty() || options.rules.contains(&f.rule_id))
    {
        let untouched = |why, reason: String| NoAction {
            rule_id: f.rule_id,
            resource_arn: f.resource_arn.clone(),
            region: f.region.to_string(),
            why,
            reason,
        };
        if !FIXABLE.contains(&f.rule_id) {
            person.push(untouched(Why::NeedsAPerson, f.remediation.clone()));
            continue;
        }
        match id_of(&f.resource_arn) {
            Some((resource_type, resource_id)) => read.push(Target {
                finding: f.clone(),
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
    rule: RuleId,
    arn: &str,
    id: &str,
    tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Option<String> {
    let key = &policy.remediation.opt_out_tag;
    if tags.get(key).is_some_and(|v| v == NEVER) {
        return Some(format!("it carries the opt-out tag {key} = {NEVER}"));
    }
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
    let refused = |s: String| Err((Why::Refused, s));
    match (target.finding.rule_id, state) {
        (RuleId::S3Encryption, State::Bucket(b)) => {
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
        (RuleId::S3PublicAccess, State::Bucket(b)) => {
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
        (RuleId::SgOpenIngress, State::Group(g)) => {
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
        (rule, state) => refused(format!(
            "{rule} has no fixer for a {}",
            match state {
                State::Bucket(_) => "bucket",
                State::Group(_) => "security group",
            }
        )),
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
    let f = &target.finding;
    let untouched = |why, reason| NoAction {
        rule_id: f.rule_id,
        resource_arn: f.resource_arn.clone(),
        region: f.region.to_string(),
        why,
        reason,
    };
    let state = match state {
        Observed::Read(s) => s,
        Observed::Unread(e) => {
            return Err(untouched(
                Why::NotRead,
                format!("{} {} failed: {}", e.service, e.operation, e.message),
            ));
        }
    };
    if let Some(why) = hands_off(
        policy,
        f.rule_id,
        &f.resource_arn,
        &target.resource_id,
        state.tags(),
        now,
    ) {
        return Err(untouched(Why::Refused, why));
    }
    let change = change_for(target, state, policy, options)
        .map_err(|(why, reason)| untouched(why, reason))?;
    let region = f.region.to_string();
    let digest = state.digest(f.rule_id);
    let Some(undo) = change.inverse(state) else {
        return Err(untouched(
            Why::Refused,
            "the change cannot be undone from what was read".to_owned(),
        ));
    };
    let id = {
        use sha2::Digest;
        let seed = format!("{}|{}|{digest}", f.rule_id, f.resource_arn);
        let hex: String = sha2::Sha256::digest(seed.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("fix-{hex}")
    };
    Ok(FixAction {
        id,
        rule_id: f.rule_id,
        resource_arn: f.resource_arn.clone(),
        resource_type: target.resource_type.to_string(),
        resource_id: target.resource_id.clone(),
        calls: change.calls(&target.resource_id, &region),
        undo_calls: undo.calls(&target.resource_id, &region),
        region,
        change,
        depends_on: state.clone(),
        state_digest: digest,
        undo,
    })
}

/// Why an action of a reviewed plan must not be applied to the resource as re-read now
/// (`None`: apply it).
pub fn guard(
    action: &FixAction,
    now_state: &State,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<String> {
    if let Some(why) = hands_off(
        policy,
        action.rule_id,
        &action.resource_arn,
        &action.resource_id,
        now_state.tags(),
        now,
    ) {
        return Some(why);
    }
    if now_state.digest(action.rule_id) == action.state_digest {
        return None;
    }
    Some(if action.change.took(now_state) {
        "already done: the resource is as the action would leave it".to_owned()
    } else {
        "the resource changed since the plan: plan again".to_owned()
    })
}

/// Why an applied action must not be undone with the resource as re-read now (`None`: undo
/// it): only what the action left, exactly as it left it, is restored.
pub fn guard_undo(action: &FixAction, after: &State, now_state: &State) -> Option<String> {
    (now_state.digest(action.rule_id) != after.digest(action.rule_id)).then(|| {
        "the resource changed since the fix: undoing it would overwrite a later change".to_owned()
    })
}

/// Whether `after`, read back after the write, shows the change made.
pub fn took(change: &Change, after: &State) -> bool {
    change.took(after)
}
