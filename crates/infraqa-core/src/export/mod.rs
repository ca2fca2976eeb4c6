//! `infraqa export`: a run's findings as records other tools ingest (AWS Security Hub's ASFF,
//! OCSF Detection Findings), and their lifecycle across runs.
//!
//! A [`Record`] is one finding as sent. What was last sent to Security Hub is kept
//! ([`Sent`], in the history store), so the next run can close what it judged and did not find
//! again ([`Closed`]) and leave alone what it could not judge. [`plan`] decides, [`asff`] and
//! [`ocsf`] write.

pub mod asff;
pub mod ocsf;

use crate::check::CheckResult;
use crate::finding::{Finding, RuleId, Severity};
use crate::history::{FindingKey, HistoryEntry};
use crate::inventory::{Gaps, Inventory, ScanError, could_not_read};
use crate::model::{GLOBAL_REGION, ResourceType};
use crate::report::Report;
use crate::report::{finding_key, key};
use crate::rules::ExemptedFinding;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of the [`Sent`] layout.
pub const SENT_SCHEMA_VERSION: u32 = 1;

/// Why a record sent earlier is closed now: the run judged its (rule, resource) and did not
/// find it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "because", rename_all = "kebab-case")]
pub enum Closed {
    /// The resource was read and passes the rule now (or the rule no longer applies to it).
    Resolved,
    /// The resource is gone: its service and region were read and it was not there.
    Deleted,
    /// The policy exempts it now (an exemption or an allow-list), with the reason.
    Exempted {
        /// The exemption's reason, or `allow-listed`.
        reason: String,
    },
}

impl Closed {
    /// The word the records carry: `resolved`, `deleted` or `exempted`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::Deleted => "deleted",
            Self::Exempted { .. } => "exempted",
        }
    }
}

/// One finding as infraqa sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Deterministic from rule, account, region and resource ([`record_id`]).
    pub id: String,
    /// The finding's identity across runs.
    pub rule_id: RuleId,
    /// The rule's title.
    pub title: String,
    /// The finding's severity.
    pub severity: Severity,
    /// The account.
    pub account_id: String,
    /// The resource's region, or `global`.
    pub region: String,
    /// The resource (for account-level checks, the account).
    pub resource_arn: String,
    /// `service:type`, or `account`.
    pub resource_type: String,
    /// What is wrong, every reason.
    pub message: String,
    /// What a person does to fix it.
    pub remediation: String,
    /// The evidence, as findings.json writes it (compact JSON; empty when there is none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    /// When a run first found it (the history's first seen).
    pub first_seen: DateTime<Utc>,
    /// When the inventory that last judged it was taken.
    pub last_seen: DateTime<Utc>,
    /// When this record was made.
    pub updated_at: DateTime<Utc>,
    /// Open, or closed and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
}

impl Record {
    /// The finding's key across runs (as the history keeps it).
    pub fn key(&self) -> FindingKey {
        key(
            self.rule_id,
            &self.resource_arn,
            &self.resource_type,
            &self.region,
        )
    }

    /// The region whose Security Hub receives it: its own, or `home` for global resources.
    pub fn hub_region<'a>(&'a self, home: &'a str) -> &'a str {
        if self.region == GLOBAL_REGION {
            home
        } else {
            &self.region
        }
    }
}

/// The id of the record of `rule` on `arn` in `account` and `region`: `infraqa/` then those
/// four, the ARN as the first 32 hex digits of its SHA-256 (ids are at most 512 characters;
/// ARNs are up to 2,048).
pub fn record_id(rule: RuleId, account: &str, region: &str, arn: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(arn.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("infraqa/{account}/{region}/{rule}/{hex}")
}

/// The title of a rule's records: the catalogue's line, or the custom rule's id.
pub fn rule_title(rule: RuleId) -> String {
    match rule {
        RuleId::Custom(id) => format!("Custom rule {}", id.as_str()),
        rule => rule.title().to_owned(),
    }
}

/// What was last sent to Security Hub for an account: every record it holds active as infraqa
/// last sent it. Kept in the history store; written only after an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Layout version ([`SENT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The account.
    pub account_id: String,
    /// The records active in Security Hub, by id.
    pub records: Vec<Record>,
}

impl Sent {
    /// Nothing sent yet.
    pub fn empty(account_id: &str) -> Self {
        Self {
            schema_version: SENT_SCHEMA_VERSION,
            account_id: account_id.to_owned(),
            records: Vec::new(),
        }
    }
}

/// Why a record sent earlier is left as it is: the run could not judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unjudged {
    /// The policy no longer runs the rule (or this run did not).
    RuleNotRun,
    /// The run did not scan the region.
    RegionNotScanned,
    /// A read the rule needs failed, or the scan may have missed the resource.
    Unread,
}

/// What an export sends: this run's findings (open) and the records it closes, and the records
/// sent earlier that it leaves alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// This run's findings, open.
    pub open: Vec<Record>,
    /// Records sent earlier that this run judged and did not find again, closed.
    pub closed: Vec<Record>,
    /// Records sent earlier that this run could not judge, untouched, and why.
    pub untouched: Vec<(Record, Unjudged)>,
}

/// What export needs of a run's inventory, kept small so the inventory itself can be freed:
/// when it was taken, the regions scanned, which resources sent before are still there, and
/// the reads that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// When the inventory was taken.
    pub taken: DateTime<Utc>,
    /// The regions scanned.
    pub regions: BTreeSet<String>,
    /// The ARNs of the resources `sent` names that the inventory holds.
    pub present: BTreeSet<String>,
    /// The reads that failed.
    pub errors: Vec<ScanError>,
    /// Whether the credential report was read (then a user it does not list is gone).
    pub users_read: bool,
}

impl Scanned {
    /// What export needs of `inventory`, given what was `sent` before (only the resources it
    /// names are looked up: a million ARNs are never copied).
    pub fn of(inventory: &Inventory, sent: &Sent) -> Self {
        let named: BTreeSet<&str> = sent
            .records
            .iter()
            .map(|r| r.resource_arn.as_str())
            .collect();
        Self {
            taken: inventory.generated_at,
            regions: inventory.regions.iter().cloned().collect(),
            // The resources, and the users the credential report lists.
            present: inventory
                .resources
                .iter()
                .map(|r| r.arn.as_str())
                .chain(
                    inventory
                        .settings
                        .global
                        .iter()
                        .filter_map(|g| g.credential_report.as_ref()?.read())
                        .flatten()
                        .map(|u| u.arn.as_str()),
                )
                .filter(|arn| named.contains(arn))
                .map(str::to_owned)
                .collect(),
            errors: inventory.errors.clone(),
            users_read: inventory
                .settings
                .global
                .as_ref()
                .and_then(|g| g.credential_report.as_ref())
                .is_some_and(|r| r.read().is_some()),
        }
    }
}

/// What a run concluded: its findings and those the policy moved aside.
#[derive(Debug, Clone, Copy)]
pub struct Concluded<'a> {
    /// The account.
    pub account_id: &'a str,
    /// The findings.
    pub findings: &'a [Finding],
    /// The findings the policy moved aside.
    pub exempted: &'a [ExemptedFinding],
}

impl<'a> Concluded<'a> {
    /// What `check` concluded.
    pub fn of_check(check: &'a CheckResult) -> Self {
        Self {
            account_id: &check.account_id,
            findings: &check.findings,
            exempted: &check.exempted,
        }
    }

    /// What `report` reported.
    pub fn of_report(report: &'a Report) -> Self {
        Self {
            account_id: &report.account_id,
            findings: &report.findings,
            exempted: &report.exempted,
        }
    }
}

/// A run as export reads it: what it concluded, its history entry (first-seen times, the rules
/// in force, the (rule, resource) pairs it could not judge) and what its scan read.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// What it concluded.
    pub concluded: Concluded<'a>,
    /// Its history entry.
    pub entry: &'a HistoryEntry,
    /// What its scan read.
    pub scanned: &'a Scanned,
}

impl<'a> Run<'a> {
    /// This run's findings as open records, made at `now`.
    fn records(&self, now: DateTime<Utc>) -> Vec<Record> {
        let first_seen: BTreeMap<&FindingKey, DateTime<Utc>> = self
            .entry
            .findings
            .iter()
            .zip(&self.entry.first_seen)
            .map(|(k, t)| (k, *t))
            .collect();
        let taken = self.scanned.taken;
        let c = self.concluded;
        c.findings
            .iter()
            .map(|f| {
                let key = finding_key(f);
                let first = first_seen.get(&key).copied().unwrap_or(taken);
                record(f, c.account_id, first, taken, now)
            })
            .collect()
    }

    /// Whether the run judged `r`'s (rule, resource), and if not, why.
    fn unjudged(&self, r: &Record, cx: &Context) -> Option<Unjudged> {
        if !self.entry.by_rule.contains_key(&r.rule_id) {
            return Some(Unjudged::RuleNotRun);
        }
        if r.region != GLOBAL_REGION && !self.scanned.regions.contains(&r.region) {
            return Some(Unjudged::RegionNotScanned);
        }
        // A user is known only from the credential report.
        if r.resource_type == crate::settings::IAM_USER && !self.scanned.users_read {
            return Some(Unjudged::Unread);
        }
        let discovered_by_tags = r.resource_type != "account"
            && r.resource_type != crate::settings::IAM_USER
            && matches!(
                ResourceType::parse(&r.resource_type),
                ResourceType::Other(_)
            );
        if self.entry.not_evaluated.binary_search(&r.key()).is_ok()
            || cx.gaps.may_have_missed(&r.resource_arn)
            || (discovered_by_tags && could_not_read(&self.scanned.errors, &r.region, "tagging"))
        {
            return Some(Unjudged::Unread);
        }
        None
    }
}

struct Context<'a> {
    gaps: Gaps,
    exempted: BTreeMap<FindingKey, &'a str>,
}

/// One finding as a record.
pub fn record(
    f: &Finding,
    account_id: &str,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Record {
    Record {
        id: record_id(f.rule_id, account_id, &f.region, &f.resource_arn),
        rule_id: f.rule_id,
        title: rule_title(f.rule_id),
        severity: f.severity,
        account_id: account_id.to_owned(),
        region: f.region.to_string(),
        resource_arn: f.resource_arn.clone(),
        resource_type: f.resource_type.to_string(),
        message: f.message.clone(),
        remediation: f.remediation.clone(),
        evidence: if f.evidence.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&f.evidence).unwrap_or_default()
        },
        first_seen: first_seen.min(last_seen),
        last_seen,
        updated_at: now,
        closed: None,
    }
}

/// What to send for `run` given what was `sent` before: every finding of the run open; every
/// record sent before that the run judged and did not find again closed (resolved, deleted or
/// exempted); every record sent before that the run could not judge (its rule did not run, its
/// region was not scanned, a read it needs failed, or the scan may have missed its resource)
/// untouched: never closed from data that was not read.
pub fn plan(run: Run<'_>, sent: &Sent, now: DateTime<Utc>) -> Plan {
    let open = run.records(now);
    let current: BTreeSet<String> = open.iter().map(|r| r.id.clone()).collect();
    let cx = Context {
        gaps: Gaps::of(&run.scanned.errors),
        exempted: run
            .concluded
            .exempted
            .iter()
            .map(|e| (finding_key(&e.finding), e.reason.as_str()))
            .collect(),
    };
    let mut plan = Plan {
        open,
        ..Plan::default()
    };
    for before in sent.records.iter().filter(|r| !current.contains(&r.id)) {
        if let Some(why) = run.unjudged(before, &cx) {
            plan.untouched.push((before.clone(), why));
            continue;
        }
        let why = if let Some(reason) = cx.exempted.get(&before.key()) {
            Closed::Exempted {
                reason: (*reason).to_owned(),
            }
        } else if before.resource_type != "account"
            && !run.scanned.present.contains(&before.resource_arn)
        {
            Closed::Deleted
        } else {
            Closed::Resolved
        };
        let mut closed = before.clone();
        closed.closed = Some(why);
        closed.updated_at = now;
        plan.closed.push(closed);
    }
    plan
}

/// How an import of a plan went, record by record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The ids Security Hub accepted.
    pub accepted: BTreeSet<String>,
    /// The ids it refused (after one retry), with its code and message.
    pub failed: Vec<Failed>,
}

/// A record Security Hub refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The record's id.
    pub id: String,
    /// Security Hub's error code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// What Security Hub holds active after importing `plan` with `outcome`, to keep for the next
/// run: the open records it accepted; for an open or closed record it refused, the version it
/// still holds (the one sent before, if any); and the untouched records.
pub fn after_import(plan: &Plan, sent: &Sent, outcome: &Outcome) -> Sent {
    let before: BTreeMap<&str, &Record> = sent.records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut records: Vec<Record> = Vec::new();
    for r in &plan.open {
        if outcome.accepted.contains(&r.id) {
            records.push(r.clone());
        } else if let Some(old) = before.get(r.id.as_str()) {
            records.push((*old).clone());
        }
    }
    for r in &plan.closed {
        if !outcome.accepted.contains(&r.id)
            && let Some(old) = before.get(r.id.as_str())
        {
            records.push((*old).clone());
        }
    }
    records.extend(plan.untouched.iter().map(|(r, _)| r.clone()));
    records.sort_by(|a, b| a.id.cmp(&b.id));
    Sent {
        schema_version: SENT_SCHEMA_VERSION,
        account_id: sent.account_id.clone(),
        records,
    }
}

/// The partition an ARN names (`aws` when it names none).
pub fn partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// Cuts `s` to at most `max` characters, ending with a marker when it was cut.
pub fn clip(s: &str, max: usize) -> String {
    const MARKER: &str = " [truncated by infraqa]";
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(MARKER.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(MARKER);
    out
}

#[cfg(test)]
mod tests;
