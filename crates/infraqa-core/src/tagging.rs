//! Tag plans: which tags the tagger adds to which resource, and why.
//!
//! Pure functions of the inventory, the findings and the policy. `ComplianceStatus` is owned by
//! the tool; every other key is only ever added, never overwritten, and a value outside
//! `[tags.allowed_values]` is never planned. The adapters in `infraqa-aws` re-read each resource
//! just before writing and skip it when its tags changed since the plan.

use crate::finding::{Finding, RuleId};
use crate::inventory::Inventory;
use crate::model::{InstanceAgeSource, Resource, ResourceDetails, ResourceType};
use crate::policy::Policy;
use crate::rules::{NotEvaluated, Scope, aws_default};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The version of the tag plan layout.
pub const PLAN_SCHEMA_VERSION: u32 = 1;
/// The tag the tool owns.
pub const COMPLIANCE_STATUS: &str = "ComplianceStatus";
/// The creation time tag.
pub const CREATED_AT: &str = "CreatedAt";
/// The owner tag (set from a CloudTrail event's principal by the validator).
pub const OWNER: &str = "Owner";

/// A resource's compliance as the findings say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every rule that judges it passed (or its finding is exempted).
    Compliant,
    /// A rule found a violation that is not exempted.
    NonCompliant,
}

impl Status {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non-compliant",
        }
    }
}

/// Per resource ARN, its status: non-compliant with a finding; compliant when some rule judges
/// it and none found or failed to decide anything; a resource no rule judges, or one a rule
/// could not decide, has none (unknown is not a verdict).
pub fn statuses(
    findings: &[Finding],
    not_evaluated: &[NotEvaluated],
    scope: &Scope,
) -> BTreeMap<String, Status> {
    let failing: BTreeSet<&str> = findings.iter().map(|f| f.resource_arn.as_str()).collect();
    let undecided: BTreeSet<&str> = not_evaluated
        .iter()
        .map(|n| n.resource_arn.as_str())
        .collect();
    // Findings and not-evaluated verdicts are only ever made for in-scope units.
    let mut out = BTreeMap::new();
    for (arn, _) in &scope.units {
        if failing.contains(arn.as_ref()) {
            out.insert(arn.to_string(), Status::NonCompliant);
        } else if !undecided.contains(arn.as_ref()) {
            out.insert(arn.to_string(), Status::Compliant);
        }
    }
    out
}

/// Tags to add to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    /// The resource.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id.
    pub id: String,
    /// Its region (`global` for IAM).
    pub region: String,
    /// Its tags when planned: the write is skipped if they differ when it is about to happen.
    pub tags_before: crate::model::Tags,
    /// Key to value to write.
    pub add: BTreeMap<String, String>,
    /// Key to where the value comes from.
    pub sources: BTreeMap<String, String>,
    /// Keys a value was found for but not planned, with why (e.g. outside the allowed values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<String, String>,
}

/// A resource the plan leaves alone on purpose, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSkip {
    /// The resource.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: ResourceType,
    /// Its region.
    pub region: String,
    /// Why.
    pub reason: String,
}

/// What `infraqa tag` would write (and, with `--apply`, writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPlan {
    /// Layout version ([`PLAN_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the plan was made.
    pub generated_at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// The inventory the plan was made from.
    pub inventory_generated_at: DateTime<Utc>,
    /// The digest of the policy the plan was made under.
    pub policy_digest: String,
    /// Per resource, the tags to add, ordered by type, region, ARN.
    pub changes: Vec<TagChange>,
    /// Resources left alone on purpose (opt-out, exemption, unread tags, withheld values).
    pub skipped: Vec<TagSkip>,
}

impl TagPlan {
    /// How many tag values the plan writes.
    pub fn tag_count(&self) -> usize {
        self.changes.iter().map(|c| c.add.len()).sum()
    }
}

/// A value offered for a key, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Where it comes from, for the plan's readers.
    pub source: String,
}

/// What to do with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Add tags.
    Change(TagChange),
    /// Leave it alone, for a reason worth telling.
    Skip(TagSkip),
    /// Nothing to do.
    Nothing,
}

/// `CreatedAt`'s value: ISO 8601 UTC to the second.
pub fn created_at_value(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Why the tagger must not touch `r` at all, if it must not: AWS-created defaults and
/// service-linked roles are not the user's; the opt-out tag and an active `tags-required`
/// exemption are the user's word; unread tags could be overwritten unseen.
fn hands_off(r: &Resource, policy: &Policy, now: DateTime<Utc>) -> Option<Option<String>> {
    if !matches!(aws_default(r), Ok(false)) {
        return Some(None);
    }
    if matches!(&r.details, ResourceDetails::IamRole(role) if role.is_service_linked()) {
        return Some(None);
    }
    if r.tags.contains_key(&policy.tagging.opt_out_tag) {
        return Some(Some(format!(
            "opted out: carries the tag {}",
            policy.tagging.opt_out_tag
        )));
    }
    if let Some(e) = crate::rules::active_exemption(policy, RuleId::TagsRequired, r, now) {
        return Some(Some(format!("exempted from tags-required: {}", e.reason)));
    }
    if let Some(e) = &r.tags_unread {
        return Some(Some(format!(
            "its tags could not be read ({} {}: {})",
            e.service, e.operation, e.code
        )));
    }
    None
}

/// Plans one resource: `offers` in priority order (the first offer of a key wins), then
/// `status` for `ComplianceStatus`.
pub fn plan_resource(
    r: &Resource,
    policy: &Policy,
    status: Option<Status>,
    offers: &[Offer],
    now: DateTime<Utc>,
) -> Planned {
    let skip = |reason: String| {
        Planned::Skip(TagSkip {
            resource_arn: r.arn.clone(),
            resource_type: r.resource_type.clone(),
            region: r.region.to_string(),
            reason,
        })
    };
    match hands_off(r, policy, now) {
        Some(Some(reason)) => return skip(reason),
        Some(None) => return Planned::Nothing,
        None => {}
    }
    let mut add = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut withheld = BTreeMap::new();
    for o in offers {
        // Present in any form (even empty), or satisfied by an alias: never overwritten.
        if r.tags.contains_key(&o.key)
            || policy.tags.value(r, &o.key).is_some()
            || add.contains_key(&o.key)
            || o.value.trim().is_empty()
        {
            continue;
        }
        if let Some(allowed) = policy.tags.allowed_values.get(&o.key)
            && !allowed.contains(&o.value)
        {
            withheld.entry(o.key.clone()).or_insert_with(|| {
                format!(
                    "\"{}\" ({}) is not among tags.allowed_values.{}",
                    o.value, o.source, o.key
                )
            });
            continue;
        }
        withheld.remove(&o.key);
        add.insert(o.key.clone(), o.value.clone());
        sources.insert(o.key.clone(), o.source.clone());
    }
    if policy.tagging.compliance_status
        && let Some(s) = status
        && r.tag(COMPLIANCE_STATUS) != Some(s.as_str())
    {
        add.insert(COMPLIANCE_STATUS.to_owned(), s.as_str().to_owned());
        sources.insert(COMPLIANCE_STATUS.to_owned(), "the findings".to_owned());
    }
    if add.is_empty() {
        return match withheld.into_iter().next() {
            Some((key, why)) => skip(format!("{key}: {why}")),
            None => Planned::Nothing,
        };
    }
    Planned::Change(TagChange {
        resource_arn: r.arn.clone(),
        resource_type: r.resource_type.clone(),
        id: r.id.to_string(),
        region: r.region.to_string(),
        tags_before: r.tags.clone(),
        add,
        sources,
        withheld,
    })
}

/// The offers the policy and the inventory make for `r`: inherited values from its instance,
/// then `[[tagging.defaults]]`, then `CreatedAt` from its creation time.
pub fn offers(
    r: &Resource,
    policy: &Policy,
    instances: &HashMap<(&str, &str), &Resource>,
    volumes: &HashMap<(&str, &str), &Resource>,
) -> Vec<Offer> {
    let mut out = Vec::new();
    if let Some(parent) = owning_instance(r, instances, volumes) {
        for key in &policy.tagging.inherit {
            if let Some(v) = parent.tag(key) {
                out.push(Offer {
                    key: key.clone(),
                    value: v.to_owned(),
                    source: format!("inherited from {}", parent.id),
                });
            }
        }
    }
    for (i, d) in policy.tagging.defaults.iter().enumerate() {
        if d.covers(r) {
            out.extend(d.tags.iter().map(|(k, v)| Offer {
                key: k.clone(),
                value: v.clone(),
                source: format!("tagging.defaults[{i}]"),
            }));
        }
    }
    if policy.tagging.created_at
        && let Some(t) = r.created_at
    {
        let source = match &r.details {
            ResourceDetails::Ec2Instance(i) => match i.created_at_source {
                Some(InstanceAgeSource::PrimaryInterfaceAttachTime) => {
                    "the instance's launch (its primary network interface's attachment time)"
                }
                Some(InstanceAgeSource::LaunchTime) | None => {
                    "the instance's LaunchTime (its last start: no primary interface attachment time)"
                }
            },
            _ => "the creation time AWS reports",
        };
        out.push(Offer {
            key: CREATED_AT.to_owned(),
            value: created_at_value(t),
            source: source.to_owned(),
        });
    }
    out
}

/// The instance a volume is attached to, a snapshot's volume is attached to, or an elastic IP
/// is associated with (same region).
fn owning_instance<'a>(
    r: &Resource,
    instances: &HashMap<(&str, &str), &'a Resource>,
    volumes: &HashMap<(&str, &str), &Resource>,
) -> Option<&'a Resource> {
    let region = r.region.as_str();
    let instance_of_volume = |v: &Resource| match &v.details {
        ResourceDetails::Ec2Volume(v) => v.attached_instance_ids.first().cloned(),
        _ => None,
    };
    let id = match &r.details {
        ResourceDetails::Ec2Volume(_) => instance_of_volume(r),
        ResourceDetails::Ec2Snapshot(s) => s
            .volume_id
            .as_deref()
            .and_then(|v| volumes.get(&(region, v)))
            .and_then(|v| instance_of_volume(v)),
        ResourceDetails::Ec2ElasticIp(e) => e.instance_id.clone(),
        _ => None,
    }?;
    instances.get(&(region, id.as_str())).copied()
}

/// Plans every resource of the inventory.
pub fn plan(
    inventory: &Inventory,
    policy: &Policy,
    statuses: &BTreeMap<String, Status>,
    now: DateTime<Utc>,
) -> TagPlan {
    let index = |t: ResourceType| -> HashMap<(&str, &str), &Resource> {
        inventory
            .resources
            .iter()
            .filter(|r| r.resource_type == t)
            .map(|r| ((r.region.as_str(), r.id.as_str()), r))
            .collect()
    };
    let (instances, volumes) = (
        index(ResourceType::Ec2Instance),
        index(ResourceType::Ec2Volume),
    );
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for r in &inventory.resources {
        let offers = offers(r, policy, &instances, &volumes);
        match plan_resource(r, policy, statuses.get(&r.arn).copied(), &offers, now) {
            Planned::Change(c) => changes.push(c),
            Planned::Skip(s) => skipped.push(s),
            Planned::Nothing => {}
        }
    }
    TagPlan {
        schema_version: PLAN_SCHEMA_VERSION,
        generated_at: now,
        account_id: inventory.account_id.clone(),
        inventory_generated_at: inventory.generated_at,
        policy_digest: policy.digest(),
        changes,
        skipped,
    }
}

/// For each change of `plan` (a saved plan, which may have been edited), why it is one that no
/// plan made from `inventory` under `policy` could hold, or `None` when a fresh plan could: it
/// must name a resource of the inventory once, as the inventory has it (type, id, region and
/// tags before), and write only what a fresh plan made at the plan's time writes: the same
/// value for each key it offers, never a key the policy does not manage, never a new value for
/// a key the resource has (only `ComplianceStatus`, which the findings decide and the plan
/// keeps current, may change, to `compliant` or `non-compliant`).
pub fn refusals(plan: &TagPlan, inventory: &Inventory, policy: &Policy) -> Vec<Option<String>> {
    let fresh = self::plan(inventory, policy, &BTreeMap::new(), plan.generated_at);
    let fresh: HashMap<&str, &TagChange> = fresh
        .changes
        .iter()
        .map(|c| (c.resource_arn.as_str(), c))
        .collect();
    let resources: HashMap<&str, &Resource> = inventory
        .resources
        .iter()
        .map(|r| (r.arn.as_str(), r))
        .collect();
    let mut seen = std::collections::HashSet::new();
    plan.changes
        .iter()
        .map(|c| {
            let arn = c.resource_arn.as_str();
            let Some(r) = resources.get(arn) else {
                return Some(format!(
                    "{arn} is not in the inventory the plan was made from (taken at {})",
                    inventory.generated_at
                ));
            };
            if !seen.insert(arn) {
                return Some(format!("{arn} is named twice in the plan"));
            }
            if c.resource_type != r.resource_type
                || c.id.as_str() != r.id.as_str()
                || c.region.as_str() != r.region.as_str()
            {
                return Some(format!(
                    "names {arn} as {} {} in {}, but the inventory has {} {} in {}",
                    c.resource_type, c.id, c.region, r.resource_type, r.id, r.region
                ));
            }
            if c.tags_before != r.tags {
                return Some(format!(
                    "its tags before the write are not the ones the inventory read for {arn}"
                ));
            }
            let offered = fresh.get(arn).map(|f| &f.add);
            c.add.iter().find_map(|(key, value)| {
                if key == COMPLIANCE_STATUS {
                    let known = [Status::Compliant, Status::NonCompliant]
                        .iter()
                        .any(|s| s.as_str() == value);
                    return (!(policy.tagging.compliance_status && known)).then(|| {
                        format!(
                            "writes {COMPLIANCE_STATUS}=\"{value}\", which the policy does not set or is neither compliant nor non-compliant"
                        )
                    });
                }
                if let Some(old) = r.tag(key) {
                    return Some(format!(
                        "would change {key} from \"{old}\" to \"{value}\": a plan only adds tags a resource lacks"
                    ));
                }
                match offered.and_then(|add| add.get(key)) {
                    Some(v) if v == value => None,
                    Some(v) => Some(format!(
                        "writes {key}=\"{value}\", but a plan made now writes {key}=\"{v}\""
                    )),
                    None => Some(format!(
                        "writes {key}, which no plan under this policy writes on this resource (the keys it manages: tagging.inherit, tagging.defaults, CreatedAt, ComplianceStatus)"
                    )),
                }
            })
        })
        .collect()
}

/// What became of one planned write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Written.
    Written,
    /// Not written on purpose (changed since the plan, opted out since, ...).
    Skipped,
    /// The resource no longer exists.
    Gone,
    /// The write failed.
    Failed,
    /// Not attempted: a saved plan's entry that no fresh plan could hold (see [`refusals`]).
    Refused,
}

#[cfg(test)]
mod tests;
