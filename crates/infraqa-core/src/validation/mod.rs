//! The verdict on a CloudTrail event: from what a fresh read found of each resource the event
//! names, as of a time the caller gives (the read and the clock are the adapters'; the
//! decision is here).
//!
//! Infrastructure as code creates a resource and tags it seconds later, and events arrive
//! late, out of order and twice: a grace period is waited out from the event's time before
//! reading ([`grace_left`]), and the verdict comes from the read, never from the event's own
//! parameters, so the same event judged twice gets the same verdict.

pub mod event;

use crate::actions::RemediationAction;
use crate::check::check;
use crate::inventory::{INVENTORY_SCHEMA_VERSION, ScanStats};
use crate::model::{GLOBAL_REGION, partition};
use crate::observed::Found;
use crate::rules::{ExemptedFinding, NotEvaluated, scope};
use crate::tagging::{self, Offer, Planned, TagChange};
use crate::{Finding, Inventory, Policy, Resource, ResourceType, ScanError, Severity};
use chrono::{DateTime, Utc};
use event::ApiCall;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The verdict on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every resource read complies (or its findings are exempted).
    Approved,
    /// A resource has a finding.
    Flagged,
    /// The event names nothing to validate (see `reason`).
    Ignored,
    /// No finding, but a read a rule needed failed: neither approved nor flagged.
    NotEvaluated,
}

impl Verdict {
    /// The verdict as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Flagged => "flagged",
            Self::Ignored => "ignored",
            Self::NotEvaluated => "not-evaluated",
        }
    }
}

/// The event, as the verdict names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    /// `eventName`.
    pub name: String,
    /// `eventTime`.
    pub time: DateTime<Utc>,
    /// Who made the call.
    pub principal: String,
    /// `awsRegion`.
    pub region: String,
    /// `eventID`.
    pub id: String,
}

impl EventSummary {
    /// The summary of `call`.
    pub fn of(call: &ApiCall) -> Self {
        Self {
            name: call.name.clone(),
            time: call.time,
            principal: call.principal.clone(),
            region: call.region.clone(),
            id: call.id.clone(),
        }
    }
}

/// One resource's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceVerdict {
    /// The resource.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: String,
    /// Findings, in the report's finding shape.
    pub findings: Vec<Finding>,
    /// Findings moved aside by the policy, with their reasons.
    pub exempted: Vec<ExemptedFinding>,
    /// What rules could not decide, with the failed reads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<NotEvaluated>,
    /// The resource itself could not be read (so no rule judged it): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<ScanError>,
    /// The resource no longer exists.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// With `--apply-tags`: what was written (or was to be, when `tag_error` says why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_written: Option<BTreeMap<String, String>>,
    /// Why the tag write failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_error: Option<String>,
    /// The tags before the write.
    #[serde(skip)]
    pub tags_before: Option<BTreeMap<String, String>>,
}

/// What `infraqa validate` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// `approved`, `flagged`, `ignored` or `not-evaluated`.
    pub verdict: Verdict,
    /// Why the event was ignored or not evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event.
    pub event: EventSummary,
    /// The account.
    pub account_id: String,
    /// Per resource the event names.
    pub resources: Vec<ResourceVerdict>,
}

/// A resource the event names, as the read found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id (name for buckets, roles and functions).
    pub id: String,
    /// Its region (`global` for IAM).
    pub region: String,
    /// What the read found.
    pub found: Found,
}

/// An event judged: the validation, and with `apply_tags` the tag changes to write (the
/// writer records what came of them with [`Validation::record_write`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The verdict, per resource and on the whole.
    pub validation: Validation,
    /// The missing `Owner`, `CreatedAt` and `ComplianceStatus` tags to write.
    pub to_write: Vec<TagChange>,
}

impl Validation {
    /// An event that names nothing to validate, and why.
    pub fn ignored(call: &ApiCall, reason: String) -> Self {
        Self {
            verdict: Verdict::Ignored,
            reason: Some(reason),
            event: EventSummary::of(call),
            account_id: call.account_id.clone().unwrap_or_default(),
            resources: Vec::new(),
        }
    }

    /// Judges `call` in `account_id` as of `now`: each `named` resource checked against
    /// `policy` (account-level checks are the daily scan's, not an event's), and the verdict:
    /// flagged on any finding, ignored when every resource is gone, not evaluated when a read
    /// a rule needed failed, else approved.
    pub fn judge(
        call: &ApiCall,
        policy: &Policy,
        account_id: String,
        named: &[Named],
        apply_tags: bool,
        now: DateTime<Utc>,
    ) -> Judged {
        let arns: Vec<String> = named
            .iter()
            .map(|n| match &n.found {
                Found::Read(r) => r.arn.clone(),
                _ => arn_of(n, &account_id),
            })
            .collect();
        let read: Vec<Resource> = named
            .iter()
            .filter_map(|n| match &n.found {
                Found::Read(r) => Some((**r).clone()),
                _ => None,
            })
            .collect();
        let unread: Vec<ScanError> = named
            .iter()
            .filter_map(|n| match &n.found {
                Found::Unread(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        let inventory = Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            generated_at: now,
            account_id: account_id.clone(),
            regions: named
                .iter()
                .map(|n| n.region.clone())
                .filter(|r| r != GLOBAL_REGION)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            resources: read,
            errors: unread,
            notes: Vec::new(),
            settings: Default::default(),
            stats: ScanStats::default(),
        };
        let result = check(&inventory, policy, now);
        let statuses = tagging::statuses(
            &result.findings,
            &result.not_evaluated,
            &scope(&inventory, policy, now),
        );
        let offers = event_offers(call, policy);
        let mut resources = Vec::new();
        let mut to_write = Vec::new();
        for (n, arn) in named.iter().zip(arns) {
            let mine = |a: &str| a == arn;
            let mut v = ResourceVerdict {
                findings: result
                    .findings
                    .iter()
                    .filter(|f| mine(&f.resource_arn))
                    .cloned()
                    .collect(),
                exempted: result
                    .exempted
                    .iter()
                    .filter(|e| mine(&e.finding.resource_arn))
                    .cloned()
                    .collect(),
                not_evaluated: result
                    .not_evaluated
                    .iter()
                    .filter(|x| mine(&x.resource_arn))
                    .cloned()
                    .collect(),
                resource_arn: arn,
                resource_type: n.resource_type.to_string(),
                gone: false,
                unread: None,
                tags_written: None,
                tag_error: None,
                tags_before: None,
            };
            match &n.found {
                Found::Read(r) if apply_tags => {
                    let status = statuses.get(&r.arn).copied();
                    if let Planned::Change(c) =
                        tagging::plan_resource(r, policy, status, &offers, now)
                    {
                        to_write.push(c);
                    }
                }
                Found::Read(_) => {}
                Found::Unread(e) => v.unread = Some(e.clone()),
                Found::Gone => v.gone = true,
            }
            resources.push(v);
        }
        let (verdict, reason) = verdict(&resources);
        Judged {
            validation: Validation {
                verdict,
                reason,
                event: EventSummary::of(call),
                account_id,
                resources,
            },
            to_write,
        }
    }

    /// Records what came of writing `change`: the tags before it, those written (or to be),
    /// and the error when the write failed or was skipped.
    pub fn record_write(&mut self, change: &TagChange, error: Option<String>) {
        if let Some(v) = self
            .resources
            .iter_mut()
            .find(|v| v.resource_arn == change.resource_arn)
        {
            v.tags_before = Some(change.tags_before.to_map());
            v.tags_written = Some(change.add.clone());
            v.tag_error = error;
        }
    }

    /// The worst severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings().map(|f| f.severity).max()
    }

    /// Every finding.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.resources.iter().flat_map(|r| r.findings.iter())
    }

    /// The audit lines: one `validate` entry per resource (one for the event when it names
    /// none), and a `tag-write` entry per resource tagged.
    pub fn audit(&self, actor: &str, at: DateTime<Utc>) -> Vec<RemediationAction> {
        let base = |arn: &str, action: &str| RemediationAction {
            at,
            account_id: self.account_id.clone(),
            resource_arn: arn.to_owned(),
            action: action.to_owned(),
            actor: Some(actor.to_owned()),
            event_id: Some(self.event.id.clone()),
            ..RemediationAction::default()
        };
        if self.resources.is_empty() {
            let mut a = base("", "validate");
            a.outcome = Some(self.verdict.as_str().to_owned());
            a.error = self.reason.clone();
            return vec![a];
        }
        let mut out = Vec::new();
        for r in &self.resources {
            let mut a = base(&r.resource_arn, "validate");
            a.outcome = Some(
                if r.gone {
                    "gone"
                } else if !r.findings.is_empty() {
                    "flagged"
                } else if !r.not_evaluated.is_empty() || r.unread.is_some() {
                    "not-evaluated"
                } else {
                    "approved"
                }
                .to_owned(),
            );
            let rules: BTreeSet<&str> = r.findings.iter().map(|f| f.rule_id.as_str()).collect();
            if !rules.is_empty() {
                a.details.insert(
                    "rules".to_owned(),
                    rules.into_iter().collect::<Vec<_>>().join(","),
                );
            }
            a.details
                .insert("event".to_owned(), self.event.name.clone());
            out.push(a);
            if let Some(written) = &r.tags_written {
                let mut t = base(&r.resource_arn, "tag-write");
                t.tags_before = r.tags_before.clone();
                t.tags_written = Some(written.clone());
                t.outcome = Some(
                    if r.tag_error.is_some() {
                        "failed"
                    } else {
                        "written"
                    }
                    .to_owned(),
                );
                t.error = r.tag_error.clone();
                out.push(t);
            }
        }
        out
    }
}

/// The verdict on the whole event from its resources' verdicts, and why when it is neither
/// flagged nor approved.
fn verdict(resources: &[ResourceVerdict]) -> (Verdict, Option<String>) {
    if resources.iter().any(|r| !r.findings.is_empty()) {
        return (Verdict::Flagged, None);
    }
    if resources.iter().all(|r| r.gone) {
        return (
            Verdict::Ignored,
            Some("every resource the event names no longer exists".to_owned()),
        );
    }
    let failed: BTreeSet<String> = resources
        .iter()
        .flat_map(|r| {
            r.not_evaluated
                .iter()
                .flat_map(|n| &n.missing)
                .chain(&r.unread)
        })
        .map(|e| format!("{} {} ({})", e.service, e.operation, e.code))
        .collect();
    if resources
        .iter()
        .any(|r| !r.not_evaluated.is_empty() || r.unread.is_some())
    {
        return (
            Verdict::NotEvaluated,
            Some(format!(
                "reads the rules need failed: {}",
                failed.into_iter().collect::<Vec<_>>().join(", ")
            )),
        );
    }
    (Verdict::Approved, None)
}

/// The ARN of a resource that was not read (gone, or unread), as a scan would write it.
fn arn_of(n: &Named, account: &str) -> String {
    let p = partition(&n.region);
    let (r, id) = (&n.region, &n.id);
    match &n.resource_type {
        ResourceType::S3Bucket => format!("arn:{p}:s3:::{id}"),
        ResourceType::IamRole => format!("arn:{p}:iam::{account}:role/{id}"),
        ResourceType::RdsDb => format!("arn:{p}:rds:{r}:{account}:db:{id}"),
        ResourceType::LambdaFunction => format!("arn:{p}:lambda:{r}:{account}:function:{id}"),
        other => {
            let (service, kind) = other
                .as_str()
                .split_once(':')
                .unwrap_or(("ec2", "resource"));
            format!("arn:{p}:{service}:{r}:{account}:{kind}/{id}")
        }
    }
}

/// Values an event offers: `Owner` from the principal, `CreatedAt` from the event time.
fn event_offers(call: &ApiCall, policy: &Policy) -> Vec<Offer> {
    let mut out = Vec::new();
    if let Some(owner) = &call.owner {
        out.push(Offer {
            key: tagging::OWNER.to_owned(),
            value: owner.clone(),
            source: format!("the event's principal {}", call.principal),
        });
    }
    if policy.tagging.created_at {
        out.push(Offer {
            key: tagging::CREATED_AT.to_owned(),
            value: tagging::created_at_value(call.time),
            source: "the event time".to_owned(),
        });
    }
    out
}

/// The longest grace a caller may ask for (a day): the edges (flags, the functions'
/// configuration) refuse more.
pub const MAX_GRACE_SECONDS: u64 = 86_400;

/// How long is left, at `now`, of `grace` (at most [`MAX_GRACE_SECONDS`]) after the event's
/// time `at`: `None` when it has passed.
pub fn grace_left(at: DateTime<Utc>, grace: Duration, now: DateTime<Utc>) -> Option<Duration> {
    let grace = grace.min(Duration::from_secs(MAX_GRACE_SECONDS));
    let due = chrono::Duration::from_std(grace)
        .ok()
        .and_then(|g| at.checked_add_signed(g))
        .unwrap_or(at);
    (due - now).to_std().ok().filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests;
