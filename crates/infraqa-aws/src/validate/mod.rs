//! Validating the resources one CloudTrail event names, the moment it arrives.
//!
//! The verdict comes from a fresh read of each resource (the collectors with a resource
//! filter, [`crate::scan::select`]), never from the event's own parameters: infrastructure as
//! code creates a resource and tags it seconds later, and events arrive late, out of order and
//! twice. A grace period is waited out (from the event's time) before reading, so a resource
//! tagged within it is approved; the same event read twice gives the same verdict.

pub mod event;

use crate::alerts::short;
use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::scan::select::{self, Found, Target};
use crate::tagger;
use chrono::{DateTime, Utc};
use event::ApiCall;
use infraqa_core::actions::RemediationAction;
use infraqa_core::check::check;
use infraqa_core::inventory::{INVENTORY_SCHEMA_VERSION, ScanStats};
use infraqa_core::rules::{ExemptedFinding, NotEvaluated, scope};
use infraqa_core::tagging::{self, Offer, Planned};
use infraqa_core::{Finding, Inventory, Policy, Resource, ResourceType, ScanError, Severity};
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

impl Validation {
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

/// How to validate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read no earlier than this long after the event's time.
    pub grace: Duration,
    /// Write missing `Owner`, `CreatedAt` and `ComplianceStatus`.
    pub apply_tags: bool,
}

/// Validates the resources `call` names. Fails only when the account cannot be read.
pub async fn validate(
    clients: &AwsClients,
    policy: &Policy,
    call: &ApiCall,
    options: Options,
) -> Result<Validation, AwsError> {
    let summary = EventSummary {
        name: call.name.clone(),
        time: call.time,
        principal: call.principal.clone(),
        region: call.region.clone(),
        id: call.id.clone(),
    };
    let named = match call.resources() {
        Ok(named) => named,
        Err(ignored) => {
            return Ok(Validation {
                verdict: Verdict::Ignored,
                reason: Some(ignored.0),
                event: summary,
                account_id: call.account_id.clone().unwrap_or_default(),
                resources: Vec::new(),
            });
        }
    };
    wait_out_grace(call.time, options.grace).await;
    let mut targets: Vec<Target> = named
        .iter()
        .map(|n| Target {
            arn: String::new(),
            resource_type: n.resource_type.clone(),
            id: n.id.clone(),
            region: n.region.clone(),
        })
        .collect();
    let (account_id, found) = select::read(clients, &targets).await?;
    for (t, f) in targets.iter_mut().zip(&found) {
        t.arn = match f {
            Found::Read(r) => r.arn.clone(),
            _ => arn_of(t, &account_id),
        };
    }
    let now = Utc::now();

    let read: Vec<Resource> = found
        .iter()
        .filter_map(|f| match f {
            Found::Read(r) => Some((**r).clone()),
            _ => None,
        })
        .collect();
    let unread: Vec<ScanError> = found
        .iter()
        .filter_map(|f| match f {
            Found::Unread(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    let inventory = Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        generated_at: now,
        account_id: account_id.clone(),
        regions: targets
            .iter()
            .map(|t| t.region.clone())
            .filter(|r| r != infraqa_core::model::GLOBAL_REGION)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        resources: read.clone(),
        errors: unread,
        notes: Vec::new(),
        stats: ScanStats::default(),
    };
    let result = check(&inventory, policy, now);
    let statuses = tagging::statuses(
        &result.findings,
        &result.not_evaluated,
        &scope(&inventory, policy, now),
    );

    let mut resources = Vec::new();
    let mut to_write = Vec::new();
    for (t, f) in targets.iter().zip(&found) {
        let mine = |arn: &str| arn == t.arn;
        let mut v = ResourceVerdict {
            resource_arn: t.arn.clone(),
            resource_type: t.resource_type.to_string(),
            // Account-level checks (CloudTrail coverage) are the daily scan's, not an event's.
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
                .filter(|n| mine(&n.resource_arn))
                .cloned()
                .collect(),
            gone: false,
            unread: None,
            tags_written: None,
            tag_error: None,
            tags_before: None,
        };
        match f {
            Found::Read(r) if options.apply_tags => {
                let offers = event_offers(call, policy);
                if let Planned::Change(c) =
                    tagging::plan_resource(r, policy, statuses.get(&r.arn).copied(), &offers, now)
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
    for w in tagger::write(clients, &to_write).await {
        if let Some(v) = resources
            .iter_mut()
            .find(|v| v.resource_arn == w.change.resource_arn)
        {
            v.tags_before = Some(w.change.tags_before.to_map());
            v.tags_written = Some(w.change.add.clone());
            v.tag_error = w.error;
        }
    }

    let (verdict, reason) = if resources.iter().any(|r| !r.findings.is_empty()) {
        (Verdict::Flagged, None)
    } else if resources.iter().all(|r| r.gone) {
        (
            Verdict::Ignored,
            Some("every resource the event names no longer exists".to_owned()),
        )
    } else if resources
        .iter()
        .any(|r| !r.not_evaluated.is_empty() || r.unread.is_some())
    {
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
        (
            Verdict::NotEvaluated,
            Some(format!(
                "reads the rules need failed: {}",
                failed.into_iter().collect::<Vec<_>>().join(", ")
            )),
        )
    } else {
        (Verdict::Approved, None)
    };
    Ok(Validation {
        verdict,
        reason,
        event: summary,
        account_id,
        resources,
    })
}

/// The ARN of a resource that was not read (gone, or unread), as a scan would write it.
fn arn_of(t: &Target, account: &str) -> String {
    let p = crate::scan::partition(&t.region);
    let (r, id) = (&t.region, &t.id);
    match &t.resource_type {
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

/// Sleeps until `grace` (at most [`MAX_GRACE_SECONDS`]) after `at` (not at all when that has
/// passed).
async fn wait_out_grace(at: DateTime<Utc>, grace: Duration) {
    let grace = grace.min(Duration::from_secs(MAX_GRACE_SECONDS));
    let due = chrono::Duration::from_std(grace)
        .ok()
        .and_then(|g| at.checked_add_signed(g))
        .unwrap_or(at);
    if let Ok(left) = (due - Utc::now()).to_std() {
        tokio::time::sleep(left).await;
    }
}

/// Publishes one alert for the event's critical findings to `topic`; returns the message id,
/// or `None` when there is no critical finding.
pub async fn alert(
    clients: &AwsClients,
    topic: &str,
    v: &Validation,
) -> Result<Option<String>, AwsError> {
    let critical: Vec<&Finding> = v
        .findings()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    let Some(first) = critical.first() else {
        return Ok(None);
    };
    let subject = format!(
        "infraqa: critical {} on {} by {}",
        first.rule_id,
        short(&first.resource_arn),
        short(&v.event.principal)
    );
    let mut body = format!(
        "{} by {} in {} at {} (event {}) made a resource critical:\n",
        v.event.name, v.event.principal, v.event.region, v.event.time, v.event.id
    );
    for f in &critical {
        body.push_str(&format!(
            "\n- resource: {}\n  rule: {} ({})\n  finding: {}\n  remediation: {}\n  principal: {}\n",
            f.resource_arn, f.rule_id, f.severity, f.message, f.remediation, v.event.principal
        ));
    }
    crate::alerts::publish(clients, topic, &subject, body).await
}

#[cfg(test)]
mod tests;
