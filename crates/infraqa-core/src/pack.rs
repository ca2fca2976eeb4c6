//! The audit pack: what an auditor reads about a period. The export (`AuditExport`: every run
//! of the period, the trend across it, the remediation actions of the log of writes) is what
//! the pack is derived from, alone (its runs, their finding keys and the remediation log). Pure: the renderers in
//! `infraqa-report` draw it as `audit.html` and `audit.md`.
//!
//! Completeness is stated, not assumed: the days of the period without a run and the partial
//! runs (with what they could not read) are part of the pack, beside the history's retention.

use crate::actions::RemediationAction;
use crate::finding::{RuleId, Severity};
use crate::frameworks::Status;
use crate::history::{FindingKey, HistoryEntry, InventorySnapshot, UnreadRead};
use crate::policy::{ExemptionTarget, Policy};
use crate::trend::{Trend, trend};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many open findings the pack lists as the oldest.
pub const OLDEST_OPEN: usize = 20;

/// Everything the audit pack shows, per account where it differs by account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPack {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Per account, what the pack says about it.
    pub accounts: Vec<AccountPack>,
    /// Every finding open at any time in the period, as stretches (the CSV's rows).
    pub spans: Vec<FindingSpan>,
    /// The policy's exemptions as they stood over the period, when the policy was given.
    pub exemptions: Option<Vec<PackExemption>>,
}

/// Days after the period in which an exemption in force counts as expiring.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

/// One exemption of the policy and what became of it in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackExemption {
    /// The rule it exempts from.
    pub rule_id: RuleId,
    /// What it covers: `resource <glob>` or `tag <key>=<value>`.
    pub covers: String,
    /// Why it was granted.
    pub reason: String,
    /// Its last day, if any.
    pub expires: Option<NaiveDate>,
    /// Expired in the period, in force at its end, or in force but expiring soon after.
    pub state: ExemptionState,
}

/// What became of an exemption by the period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExemptionState {
    /// Its last day fell in the period.
    Expired,
    /// In force at the period's end, its last day within [`EXPIRING_WITHIN_DAYS`] after it.
    Expiring,
    /// In force at the period's end and after.
    InForce,
}

impl ExemptionState {
    /// How the pages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired in the period",
            Self::Expiring => "expiring",
            Self::InForce => "in force",
        }
    }
}

/// The exemptions of `policy` that mattered in `from..=to`: those that expired in it and those
/// in force at its end (an exemption that expired before the period is left out).
pub fn exemptions(policy: &Policy, from: NaiveDate, to: NaiveDate) -> Vec<PackExemption> {
    let mut out: Vec<PackExemption> = policy
        .exemptions
        .iter()
        .filter_map(|e| {
            let state = match e.expires {
                Some(last) if last < from => return None,
                Some(last) if last < to => ExemptionState::Expired,
                Some(last) if (last - to).num_days() <= EXPIRING_WITHIN_DAYS => {
                    ExemptionState::Expiring
                }
                _ => ExemptionState::InForce,
            };
            Some(PackExemption {
                rule_id: e.rule,
                covers: match &e.target {
                    ExemptionTarget::Resource(glob) => format!("resource {}", glob.as_str()),
                    ExemptionTarget::Tag(t) => format!("tag {}={}", t.key, t.value),
                },
                reason: e.reason.clone(),
                expires: e.expires,
                state,
            })
        })
        .collect();
    out.sort_by_key(|e| (e.state, e.expires, e.rule_id));
    out
}

/// The pack's view of one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountPack {
    /// The account.
    pub account_id: String,
    /// Each run's score, oldest first.
    pub scores: Vec<(DateTime<Utc>, f64)>,
    /// The score at the first and last run of the period.
    pub first_score: f64,
    /// The score at the period's last run.
    pub last_score: f64,
    /// Findings opened and closed per week (weeks start on Monday).
    pub weeks: Vec<WeekFlow>,
    /// Per rule and severity: findings resolved in the period and the mean days to resolve
    /// them.
    pub mttr: Vec<RuleMttr>,
    /// The findings open at the period's last run that were first seen earliest, at most
    /// [`OLDEST_OPEN`].
    pub oldest_open: Vec<FindingSpan>,
    /// Rules whose finding count fell most from the first to the last run.
    pub improved: Vec<RuleChange>,
    /// Rules whose finding count rose most: the improvement areas.
    pub degraded: Vec<RuleChange>,
    /// Findings the policy began to exempt during the period (exempted at some run, not at the
    /// period's first), with the first run that exempted each: the exemptions that took effect.
    pub newly_exempted: Vec<(FindingKey, DateTime<Utc>)>,
    /// Days of the period on which the account had no run.
    pub days_without_run: Vec<NaiveDate>,
    /// Runs whose scan was partial, with what they could not read.
    pub partial_runs: Vec<PartialRun>,
    /// The inventory at the period's last run: by type and region.
    pub inventory_at_end: InventorySnapshot,
    /// Each framework the period's runs assessed: its requirements' statuses at the period's
    /// end, which changed in the period, and since when each holds.
    pub frameworks: Vec<FrameworkPack>,
}

/// A framework over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkPack {
    /// The framework's id.
    pub id: String,
    /// Its name and version (the id when the framework is no longer shipped).
    pub name: String,
    /// Requirements per status at the period's last run that assessed it.
    pub counts_at_end: BTreeMap<Status, usize>,
    /// Every requirement, in the framework's order.
    pub requirements: Vec<RequirementPack>,
}

/// One requirement over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementPack {
    /// Its id.
    pub id: String,
    /// Its title (empty when the framework is no longer shipped).
    pub title: String,
    /// Its status at the period's last run that assessed the framework.
    pub status: Status,
    /// Its status at the period's first such run.
    pub first_status: Status,
    /// Whether its status changed at some run of the period.
    pub changed: bool,
    /// The first run of the period from which it has held its status without a break (the
    /// period's first run: it may hold since earlier).
    pub since: DateTime<Utc>,
}

/// The frameworks `runs` (one account's, oldest first) assessed, each over the runs that did.
fn framework_packs(runs: &[&HistoryEntry]) -> Vec<FrameworkPack> {
    let ids: BTreeSet<&String> = runs.iter().flat_map(|r| r.frameworks.keys()).collect();
    ids.into_iter()
        .filter_map(|id| {
            let assessed: Vec<(DateTime<Utc>, &BTreeMap<String, Status>)> = runs
                .iter()
                .filter_map(|r| Some((r.run_time(), r.frameworks.get(id)?)))
                .collect();
            let (_, last) = assessed.last()?;
            let (first_at, first) = assessed.first()?;
            let shipped = crate::frameworks::find(id).ok().flatten();
            let order: Vec<(String, String)> = match shipped {
                Some(f) => f
                    .requirements
                    .iter()
                    .filter(|q| last.contains_key(&q.id))
                    .map(|q| (q.id.clone(), q.title.clone()))
                    .collect(),
                None => last.keys().map(|k| (k.clone(), String::new())).collect(),
            };
            let mut counts_at_end: BTreeMap<Status, usize> = BTreeMap::new();
            let requirements = order
                .into_iter()
                .filter_map(|(rid, title)| {
                    let status = *last.get(&rid)?;
                    *counts_at_end.entry(status).or_default() += 1;
                    let history: Vec<(DateTime<Utc>, Option<Status>)> = assessed
                        .iter()
                        .map(|(at, statuses)| (*at, statuses.get(&rid).copied()))
                        .collect();
                    let since = history
                        .iter()
                        .rev()
                        .take_while(|(_, s)| *s == Some(status))
                        .last()
                        .map_or(*first_at, |(at, _)| *at);
                    Some(RequirementPack {
                        changed: history.iter().any(|(_, s)| *s != Some(status)),
                        first_status: first.get(&rid).copied().unwrap_or(status),
                        id: rid,
                        title,
                        status,
                        since,
                    })
                })
                .collect();
            Some(FrameworkPack {
                id: id.clone(),
                name: shipped.map_or_else(|| id.clone(), |f| format!("{} v{}", f.name, f.version)),
                counts_at_end,
                requirements,
            })
        })
        .collect()
}

/// Findings opened and closed in one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeekFlow {
    /// The week's Monday.
    pub week_of: NaiveDate,
    /// Findings first seen in the week (a re-opened finding counts again).
    pub opened: usize,
    /// Findings resolved in the week.
    pub closed: usize,
    /// Findings the policy exempted in the week (moved aside, not fixed).
    pub exempted: usize,
}

/// A rule's time to remediate at one severity over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleMttr {
    /// The rule.
    pub rule_id: RuleId,
    /// The findings' severity (absent for entries written before severities were kept).
    pub severity: Option<Severity>,
    /// Findings resolved in the period.
    pub resolved: usize,
    /// Mean days from first seen to resolved.
    pub mean_days: f64,
}

/// A rule's finding count at the first and the last run of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    /// The rule.
    pub rule_id: RuleId,
    /// Findings at the first run.
    pub first: usize,
    /// Findings at the last run.
    pub last: usize,
}

impl RuleChange {
    /// Last minus first: negative is better.
    pub fn delta(&self) -> i64 {
        i64::try_from(self.last).unwrap_or(i64::MAX) - i64::try_from(self.first).unwrap_or(0)
    }
}

/// A partial run and what it could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialRun {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// The reads that failed, grouped (empty for an entry written before they were kept).
    pub unread: Vec<UnreadRead>,
}

/// The pack of `export`, with the exemptions of `policy` when given.
pub fn pack(export: &AuditExport, policy: Option<&Policy>) -> AuditPack {
    let spans = finding_spans(&export.runs);
    let accounts = export
        .accounts
        .iter()
        .filter_map(|account| {
            let runs: Vec<&HistoryEntry> = export
                .runs
                .iter()
                .filter(|r| &r.account_id == account)
                .collect();
            let mine: Vec<&FindingSpan> =
                spans.iter().filter(|s| &s.account_id == account).collect();
            account_pack(account, &runs, &mine, export.from, export.to)
        })
        .collect();
    AuditPack {
        from: export.from,
        to: export.to,
        accounts,
        spans,
        exemptions: policy.map(|p| exemptions(p, export.from, export.to)),
    }
}

fn account_pack(
    account: &str,
    runs: &[&HistoryEntry],
    spans: &[&FindingSpan],
    from: NaiveDate,
    to: NaiveDate,
) -> Option<AccountPack> {
    let (first, last) = (runs.first()?, runs.last()?);
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let mut weeks: BTreeMap<NaiveDate, WeekFlow> = BTreeMap::new();
    let mut week = monday(from);
    while week <= to {
        weeks.insert(
            week,
            WeekFlow {
                week_of: week,
                opened: 0,
                closed: 0,
                exempted: 0,
            },
        );
        week += Duration::days(7);
    }
    // (rule, severity, most severe first) -> (resolved, total days).
    type Key = (RuleId, std::cmp::Reverse<Option<Severity>>);
    let mut resolved: BTreeMap<Key, (usize, f64)> = BTreeMap::new();
    for s in spans {
        if let Some(w) = weeks.get_mut(&monday(s.first_seen.date_naive())) {
            w.opened += 1;
        }
        if let Some(w) = s
            .exempted_at
            .and_then(|at| weeks.get_mut(&monday(at.date_naive())))
        {
            w.exempted += 1;
        }
        if let Some(at) = s.resolved_at {
            if let Some(w) = weeks.get_mut(&monday(at.date_naive())) {
                w.closed += 1;
            }
            let days = (at - s.first_seen).num_seconds() as f64 / 86_400.0;
            let e = resolved
                .entry((s.rule_id, std::cmp::Reverse(s.severity)))
                .or_default();
            e.0 += 1;
            e.1 += days;
        }
    }
    let mut oldest_open: Vec<FindingSpan> = spans
        .iter()
        .filter(|s| s.resolved_at.is_none() && s.last_seen == last.run_time())
        .map(|s| (*s).clone())
        .collect();
    oldest_open
        .sort_by(|a, b| (a.first_seen, &a.resource_arn).cmp(&(b.first_seen, &b.resource_arn)));
    oldest_open.truncate(OLDEST_OPEN);

    let rules: BTreeSet<RuleId> = first
        .by_rule
        .keys()
        .chain(last.by_rule.keys())
        .copied()
        .collect();
    let changes: Vec<RuleChange> = rules
        .into_iter()
        .map(|rule_id| RuleChange {
            rule_id,
            first: first.by_rule.get(&rule_id).copied().unwrap_or(0),
            last: last.by_rule.get(&rule_id).copied().unwrap_or(0),
        })
        .collect();
    let mut improved: Vec<RuleChange> = changes.iter().filter(|c| c.delta() < 0).copied().collect();
    improved.sort_by_key(|c| (c.delta(), c.rule_id));
    let mut degraded: Vec<RuleChange> = changes.iter().filter(|c| c.delta() > 0).copied().collect();
    degraded.sort_by_key(|c| (-c.delta(), c.rule_id));

    let mut newly_exempted: BTreeMap<&FindingKey, DateTime<Utc>> = BTreeMap::new();
    for run in runs.iter().skip(1) {
        for key in &run.exempted {
            if first.exempted.binary_search(key).is_err() {
                newly_exempted.entry(key).or_insert(run.run_time());
            }
        }
    }
    let mut newly_exempted: Vec<(FindingKey, DateTime<Utc>)> = newly_exempted
        .into_iter()
        .map(|(k, at)| (k.clone(), at))
        .collect();
    newly_exempted.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));

    let run_days: BTreeSet<NaiveDate> = runs.iter().map(|r| r.run_time().date_naive()).collect();
    let days_without_run = from
        .iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| !run_days.contains(d))
        .collect();

    Some(AccountPack {
        account_id: account.to_owned(),
        scores: runs
            .iter()
            .map(|r| (r.run_time(), r.compliance_score))
            .collect(),
        first_score: first.compliance_score,
        last_score: last.compliance_score,
        weeks: weeks.into_values().collect(),
        mttr: resolved
            .into_iter()
            .map(|((rule_id, severity), (n, total))| RuleMttr {
                rule_id,
                severity: severity.0,
                resolved: n,
                mean_days: crate::round2(total / n as f64),
            })
            .collect(),
        oldest_open,
        improved,
        degraded,
        newly_exempted,
        days_without_run,
        partial_runs: runs
            .iter()
            .filter(|r| r.partial)
            .map(|r| PartialRun {
                at: r.run_time(),
                unread: r.unread.clone(),
            })
            .collect(),
        inventory_at_end: last.inventory.clone(),
        frameworks: framework_packs(runs),
    })
}

/// The version of the audit export's layout.
pub const AUDIT_EXPORT_SCHEMA_VERSION: u32 = 2;

/// The quarterly audit export: every run in the period, the trend across it, and the
/// remediation actions taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditExport {
    /// Layout version.
    pub schema_version: u32,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
    /// First day of the period (UTC, inclusive).
    pub from: chrono::NaiveDate,
    /// Last day of the period (UTC, inclusive).
    pub to: chrono::NaiveDate,
    /// Accounts with runs in the period.
    pub accounts: Vec<String>,
    /// Every run of the period, oldest first: its compliance figures, the keys of its findings
    /// and its inventory snapshot (count by type and region).
    pub runs: Vec<HistoryEntry>,
    /// Per account: the last run compared with the period's runs (delta over the period in
    /// `window_delta`, MTTR per rule over the period).
    pub trend: BTreeMap<String, Trend>,
    /// Remediation actions taken in the period, oldest first.
    pub remediation_actions: Vec<RemediationAction>,
    /// What could not be used (e.g. a damaged history entry), and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What keeps the history and the audit log from being rewritten, as read from their store
    /// when the export was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_retention: Option<EvidenceRetention>,
}

/// What keeps evidence (history entries, audit log files) from being deleted or overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum EvidenceRetention {
    /// A local directory: only the file system's permissions.
    LocalDirectory,
    /// The bucket's S3 Object Lock default retention.
    ObjectLock {
        /// The bucket.
        bucket: String,
        /// `GOVERNANCE` or `COMPLIANCE`.
        mode: String,
        /// Retention in days, when given in days.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<i32>,
        /// Retention in years, when given in years.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        years: Option<i32>,
    },
    /// The bucket has no Object Lock default retention: objects can be deleted or replaced.
    NoObjectLock {
        /// The bucket.
        bucket: String,
    },
    /// The bucket's Object Lock configuration could not be read.
    NotRead {
        /// The bucket.
        bucket: String,
        /// Why.
        reason: String,
    },
}

/// One stretch of a finding across the runs of a period: from the first run that had it to
/// the first complete run that judged its resource and no longer had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingSpan {
    /// The account.
    pub account_id: String,
    /// The rule.
    pub rule_id: RuleId,
    /// The resource (or resource#detail) the finding names.
    pub resource_arn: String,
    /// Its severity at the last run that had it (absent for entries written before
    /// severities were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The first run that had it.
    pub first_seen: DateTime<Utc>,
    /// The last run that had it.
    pub last_seen: DateTime<Utc>,
    /// The run that found it resolved; none while it is open at the period's last run.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The run that no longer had it because the policy exempted it (then `resolved_at` is
    /// empty: moved aside is not fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted_at: Option<DateTime<Utc>>,
}

impl EvidenceRetention {
    /// One sentence for the audit pack: what keeps the evidence, or that nothing does.
    pub fn describe(&self) -> String {
        match self {
            Self::LocalDirectory => "The history is a local directory: only the file system's \
                permissions keep it from being changed."
                .to_owned(),
            Self::ObjectLock {
                bucket,
                mode,
                days,
                years,
            } => {
                let period = match (days, years) {
                    (Some(d), _) => format!("{d} days"),
                    (None, Some(y)) => format!("{y} years"),
                    (None, None) => "an unstated period".to_owned(),
                };
                format!(
                    "The history is under S3 Object Lock in bucket {bucket}: {mode} mode, \
                     {period} from each write; no entry can be deleted or replaced before then."
                )
            }
            Self::NoObjectLock { bucket } => format!(
                "Bucket {bucket} has no Object Lock default retention: history entries can be \
                 deleted or replaced."
            ),
            Self::NotRead { bucket, reason } => format!(
                "The Object Lock configuration of bucket {bucket} could not be read ({reason}): \
                 the history's protection is unknown."
            ),
        }
    }
}

/// Every finding open at any time in `runs` (any order), as spans per account, by account and
/// first seen: a finding resolved and found again is two spans. As for the time to remediate,
/// a partial run resolves nothing and no run resolves a finding it could not judge.
pub fn finding_spans(runs: &[HistoryEntry]) -> Vec<FindingSpan> {
    let mut runs: Vec<&HistoryEntry> = runs.iter().collect();
    runs.sort_by(|a, b| {
        (&a.account_id, a.run_time(), a.generated_at).cmp(&(
            &b.account_id,
            b.run_time(),
            b.generated_at,
        ))
    });
    let mut out = Vec::new();
    // (account, finding) -> the stretch still open.
    let mut open: BTreeMap<(&str, &FindingKey), Seen> = BTreeMap::new();
    for run in runs {
        let account = run.account_id.as_str();
        let present: foldhash::HashSet<&FindingKey> = run.findings.iter().collect();
        let unjudged: foldhash::HashSet<&FindingKey> = run.not_evaluated.iter().collect();
        if !run.partial {
            let gone: Vec<(&str, &FindingKey)> = open
                .keys()
                .filter(|(a, k)| *a == account && !present.contains(k) && !unjudged.contains(k))
                .copied()
                .collect();
            for key in gone {
                if let Some(seen) = open.remove(&key) {
                    let mut s = span(key, seen, Some(run.run_time()));
                    if run.exempted.binary_search(key.1).is_ok() {
                        // Moved aside by the policy, not fixed.
                        s.exempted_at = s.resolved_at.take();
                    }
                    out.push(s);
                }
            }
        }
        for (i, key) in run.findings.iter().enumerate() {
            let severity = run.severities.get(i).copied();
            open.entry((account, key))
                .and_modify(|s| {
                    s.last = run.run_time();
                    s.severity = severity.or(s.severity);
                })
                .or_insert(Seen {
                    first: run.run_time(),
                    last: run.run_time(),
                    severity,
                });
        }
    }
    out.extend(open.into_iter().map(|(key, seen)| span(key, seen, None)));
    out.sort_by(|a, b| {
        (&a.account_id, a.first_seen, a.rule_id, &a.resource_arn).cmp(&(
            &b.account_id,
            b.first_seen,
            b.rule_id,
            &b.resource_arn,
        ))
    });
    out
}

fn span(
    (account, (rule, arn)): (&str, &FindingKey),
    seen: Seen,
    resolved_at: Option<DateTime<Utc>>,
) -> FindingSpan {
    FindingSpan {
        account_id: account.to_owned(),
        rule_id: *rule,
        resource_arn: arn.clone(),
        severity: seen.severity,
        first_seen: seen.first,
        last_seen: seen.last,
        resolved_at,
        exempted_at: None,
    }
}

/// A stretch of a finding still open: when first and last seen, and its severity then.
#[derive(Debug, Clone, Copy)]
struct Seen {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    severity: Option<Severity>,
}

/// Builds the audit export from the history entries and actions of `[from, to]` (whole days,
/// UTC; entries and actions outside are ignored).
pub fn audit_export(
    entries: Vec<HistoryEntry>,
    actions: Vec<RemediationAction>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> AuditExport {
    let in_period = |t: &DateTime<Utc>| {
        let d = t.date_naive();
        d >= from && d <= to
    };
    // A run belongs to the period in which its inventory was taken (what the estate was then),
    // even when it was reported later; an entry without that time, when it was reported.
    let mut entries: Vec<HistoryEntry> = entries
        .into_iter()
        .filter(|e| in_period(&e.run_time()))
        .collect();
    entries.sort_by(|a, b| {
        (a.run_time(), &a.account_id, a.generated_at).cmp(&(
            b.run_time(),
            &b.account_id,
            b.generated_at,
        ))
    });
    let accounts: Vec<String> = entries
        .iter()
        .map(|e| e.account_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let trend = accounts
        .iter()
        .filter_map(|a| {
            // The account's last run against all its earlier ones (`trend` keeps only those).
            let last = entries.iter().rfind(|e| e.account_id == *a)?;
            Some((a.clone(), trend(&entries, last, entries.len())))
        })
        .collect();
    let mut remediation_actions: Vec<RemediationAction> =
        actions.into_iter().filter(|a| in_period(&a.at)).collect();
    remediation_actions.sort_by(|a, b| (a.at, &a.resource_arn).cmp(&(b.at, &b.resource_arn)));
    AuditExport {
        schema_version: AUDIT_EXPORT_SCHEMA_VERSION,
        generated_at: now,
        from,
        to,
        accounts,
        runs: entries,
        trend,
        remediation_actions,
        notes: Vec::new(),
        evidence_retention: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use RuleId::{S3Encryption as Enc, TagsRequired as Tags};
    use Severity::{High, Medium};
    use chrono::TimeZone;

    const A: &str = "111111111111";

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0)
            .single()
            .unwrap()
    }

    fn entry(day: u32, keys: &[(RuleId, &str)], unread: Vec<UnreadRead>) -> HistoryEntry {
        let mut by_rule = BTreeMap::new();
        for (rule, _) in keys {
            *by_rule.entry(*rule).or_insert(0) += 1;
        }
        HistoryEntry {
            schema_version: 2,
            generated_at: at(day),
            account_id: A.to_owned(),
            inventory_generated_at: Some(at(day)),
            partial: !unread.is_empty(),
            compliance_score: 100.0 - 10.0 * keys.len() as f64,
            in_scope_resources: 10,
            compliant_resources: 10 - keys.len(),
            not_evaluated_resources: 0,
            by_severity: BTreeMap::new(),
            by_rule,
            findings: keys.iter().map(|(r, a)| (*r, (*a).to_owned())).collect(),
            severities: keys
                .iter()
                .map(|(r, _)| if *r == Tags { Medium } else { High })
                .collect(),
            exempted: Vec::new(),
            not_evaluated: Vec::new(),
            inventory: InventorySnapshot {
                total_resources: 10 + day as usize,
                ..InventorySnapshot::default()
            },
            unread,
            idle_monthly_saving_usd: None,
            first_seen: Vec::new(),
            still_open: Vec::new(),
            resolved: BTreeMap::new(),
            frameworks: BTreeMap::new(),
        }
    }

    /// Two weeks from Monday 2 November: a finding resolved and found again, one resolved for
    /// good, a partial run, and days without a run.
    fn export() -> AuditExport {
        let denied = UnreadRead {
            service: "s3".into(),
            region: "eu-west-1".into(),
            operation: "GetBucketEncryption".into(),
            code: "AccessDenied".into(),
            count: 2,
        };
        let runs = vec![
            entry(2, &[(Tags, "a"), (Enc, "b")], vec![]),
            entry(3, &[(Tags, "a"), (Enc, "b")], vec![denied]),
            entry(5, &[(Tags, "a")], vec![]),
            entry(9, &[(Tags, "a"), (Enc, "b")], vec![]),
            entry(10, &[(Enc, "b")], vec![]),
        ];
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        audit_export(runs, Vec::new(), day(2), day(15), at(16))
    }

    #[test]
    fn the_pack_counts_weeks_remediation_and_what_is_missing() {
        let p = pack(&export(), None);
        assert_eq!(p.accounts.len(), 1);
        let a = &p.accounts[0];
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let flow: Vec<(NaiveDate, usize, usize)> = a
            .weeks
            .iter()
            .map(|w| (w.week_of, w.opened, w.closed))
            .collect();
        assert_eq!(flow, [(day(2), 2, 1), (day(9), 1, 1)]);
        let mttr: Vec<(RuleId, Option<Severity>, usize, f64)> = a
            .mttr
            .iter()
            .map(|m| (m.rule_id, m.severity, m.resolved, m.mean_days))
            .collect();
        assert_eq!(
            mttr,
            [(Tags, Some(Medium), 1, 8.0), (Enc, Some(High), 1, 3.0)]
        );
        let open: Vec<(RuleId, &str, DateTime<Utc>)> = a
            .oldest_open
            .iter()
            .map(|s| (s.rule_id, s.resource_arn.as_str(), s.first_seen))
            .collect();
        assert_eq!(
            open,
            [(Enc, "b", at(9))],
            "the re-opened finding, from its re-opening"
        );
        assert_eq!(
            a.improved,
            [RuleChange {
                rule_id: Tags,
                first: 1,
                last: 0
            }]
        );
        assert!(a.degraded.is_empty());
        assert_eq!(
            a.days_without_run,
            [4, 6, 7, 8, 11, 12, 13, 14, 15].map(day),
            "every day of the period without a run"
        );
        assert_eq!(a.partial_runs.len(), 1);
        assert_eq!(a.partial_runs[0].at, at(3));
        assert_eq!(a.partial_runs[0].unread[0].operation, "GetBucketEncryption");
        assert_eq!((a.first_score, a.last_score), (80.0, 90.0));
        assert_eq!(a.inventory_at_end.total_resources, 20);
        assert_eq!(p.spans.len(), 3, "Tags a, Enc b twice");
    }

    #[test]
    fn a_run_is_at_its_inventorys_time_however_late_it_was_reported() {
        // The same runs, each reported late by a different lag (the run of the 3rd after the
        // run of the 5th; the run of the 10th on the 16th, after the period): the pack says
        // what the on-time pack says, and never both "5 runs" and a day of a run without one.
        let on_time = pack(&export(), None);
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let mut late = export();
        for (run, lag_days) in late.runs.iter_mut().zip([1, 4, 0, 2, 6]) {
            run.generated_at += chrono::Duration::days(lag_days);
        }
        let x = audit_export(late.runs, Vec::new(), day(2), day(15), at(17));
        let p = pack(&x, None);
        let (a, b) = (&on_time.accounts[0], &p.accounts[0]);
        assert_eq!(x.runs.len(), 5);
        assert_eq!(a.days_without_run, b.days_without_run);
        assert_eq!(a.scores, b.scores);
        assert_eq!((a.first_score, a.last_score), (b.first_score, b.last_score));
        assert_eq!(a.weeks, b.weeks);
        assert_eq!(a.mttr, b.mttr);
        assert_eq!(a.oldest_open, b.oldest_open);
        assert_eq!(a.partial_runs, b.partial_runs);
        assert_eq!(on_time.spans, p.spans);
    }

    #[test]
    fn exemptions_are_sorted_by_what_became_of_them_in_the_period() {
        let policy = Policy::from_toml(
            r#"
[[exemptions]]
rule = "s3-encryption"
resource = "arn:aws:s3:::legacy-*"
reason = "migrating"
expires = 2026-11-10
[[exemptions]]
rule = "tags-required"
tag = { key = "Team", value = "research" }
reason = "sandbox"
[[exemptions]]
rule = "sg-open-ingress"
resource = "*"
reason = "load test"
expires = 2026-12-01
[[exemptions]]
rule = "s3-public-access"
resource = "*"
reason = "old"
expires = 2026-10-01
"#,
            "p.toml",
        )
        .unwrap();
        let p = pack(&export(), Some(&policy));
        let got: Vec<(RuleId, &str, ExemptionState)> = p
            .exemptions
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| (e.rule_id, e.covers.as_str(), e.state))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Enc,
                    "resource arn:aws:s3:::legacy-*",
                    ExemptionState::Expired
                ),
                (
                    RuleId::SgOpenIngress,
                    "resource *",
                    ExemptionState::Expiring
                ),
                (Tags, "tag Team=research", ExemptionState::InForce),
            ],
            "one expired before the period is left out"
        );
        assert!(pack(&export(), None).exemptions.is_none());
    }

    #[test]
    fn a_finding_the_policy_exempts_is_moved_aside_not_fixed() {
        let mut exempting = entry(4, &[], vec![]);
        exempting.exempted = vec![(Tags, "a".to_owned())];
        let runs = vec![entry(2, &[(Tags, "a")], vec![]), exempting];
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let p = pack(&audit_export(runs, Vec::new(), day(2), day(8), at(9)), None);
        let s = &p.spans[0];
        assert_eq!((s.resolved_at, s.exempted_at), (None, Some(at(4))));
        let a = &p.accounts[0];
        assert!(a.mttr.is_empty(), "an exemption is no remediation");
        let w = a.weeks[0];
        assert_eq!((w.opened, w.closed, w.exempted), (1, 0, 1));
        assert_eq!(a.newly_exempted, [((Tags, "a".to_owned()), at(4))]);
    }

    #[test]
    fn a_period_with_no_run_has_no_account_pages() {
        let mut x = export();
        x.runs.clear();
        x.accounts.clear();
        let p = pack(&x, None);
        assert!(p.accounts.is_empty() && p.spans.is_empty());
    }

    /// The export's own tests, over the history's test entries.
    mod export {
        use super::*;
        use crate::history::fixtures::{at, entry};
        use RuleId::{S3Encryption as Enc, TagsRequired as Tags};

        #[test]
        fn spans_open_resolve_reopen_and_survive_partial_and_unjudged_runs() {
            let mut unjudged = entry(4, 50.0, &[], false);
            unjudged.not_evaluated = vec![(Tags, "arn:b".into())];
            let runs = vec![
                entry(1, 50.0, &[(Tags, "arn:a"), (Tags, "arn:b")], false),
                entry(2, 60.0, &[(Tags, "arn:b")], true), // partial: resolves nothing
                entry(3, 70.0, &[(Tags, "arn:b")], false), // arn:a resolved here
                unjudged,                                 // arn:b unknown, still open
                entry(5, 80.0, &[(Enc, "arn:a")], false), // arn:b resolved here
                entry(6, 80.0, &[(Tags, "arn:a")], false), // arn:a tags again; Enc resolved
            ];
            let spans = finding_spans(&runs);
            let got: Vec<(RuleId, &str, u32, u32, Option<u32>)> = spans
                .iter()
                .map(|s| {
                    (
                        s.rule_id,
                        s.resource_arn.as_str(),
                        chrono::Datelike::day(&s.first_seen),
                        chrono::Datelike::day(&s.last_seen),
                        s.resolved_at.map(|t| chrono::Datelike::day(&t)),
                    )
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (Tags, "arn:a", 1, 1, Some(3)),
                    (Tags, "arn:b", 1, 3, Some(5)),
                    (Enc, "arn:a", 5, 5, Some(6)),
                    (Tags, "arn:a", 6, 6, None),
                ]
            );
        }

        #[test]
        fn the_audit_export_keeps_the_period_and_compares_across_it() {
            let entries = vec![
                entry(1, 60.0, &[(Tags, "a"), (Enc, "b")], false),
                entry(3, 70.0, &[(Tags, "a")], false),
                entry(5, 90.0, &[], false),
                entry(9, 10.0, &[(Tags, "z")], false),
            ];
            let action = |day: u32, arn: &str| RemediationAction {
                at: at(day),
                account_id: "123456789012".into(),
                resource_arn: arn.into(),
                action: "tag-write".into(),
                details: BTreeMap::from([("Owner".into(), "team-a".into())]),
                ..RemediationAction::default()
            };
            let from = at(2).date_naive();
            let to = at(5).date_naive();
            let x = audit_export(
                entries,
                vec![action(4, "a"), action(8, "q")],
                from,
                to,
                at(27),
            );
            let scores: Vec<f64> = x.runs.iter().map(|r| r.compliance_score).collect();
            assert_eq!(scores, vec![70.0, 90.0], "day 1 and day 9 are outside");
            assert_eq!(x.accounts, vec!["123456789012".to_owned()]);
            let t = &x.trend["123456789012"];
            assert_eq!(t.score_delta, Some(20.0));
            assert_eq!(t.resolved, vec![(Tags, "a".to_owned())]);
            assert_eq!(x.remediation_actions.len(), 1);
            assert_eq!(x.remediation_actions[0].resource_arn, "a");
        }
    }

    #[test]
    fn a_framework_says_each_requirements_status_at_the_end_what_changed_and_since_when() {
        let with = |day, statuses: &[(&str, Status)]| {
            let mut e = entry(day, &[], vec![]);
            e.frameworks.insert(
                "cis-aws-7.0".into(),
                statuses
                    .iter()
                    .map(|(id, s)| ((*id).to_owned(), *s))
                    .collect(),
            );
            e
        };
        let runs = vec![
            with(2, &[("3.1.4", Status::Fail), ("2.4", Status::Pass)]),
            entry(3, &[], vec![]),
            with(4, &[("3.1.4", Status::NotEvaluated), ("2.4", Status::Pass)]),
            with(6, &[("3.1.4", Status::Pass), ("2.4", Status::Pass)]),
            with(8, &[("3.1.4", Status::Pass), ("2.4", Status::Pass)]),
        ];
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let p = pack(
            &audit_export(runs, Vec::new(), day(1), day(10), at(11)),
            None,
        );
        let f = &p.accounts[0].frameworks[0];
        assert_eq!(
            f.name,
            "CIS Amazon Web Services Foundations Benchmark v7.0.0"
        );
        assert_eq!(f.counts_at_end[&Status::Pass], 2);
        let ids: Vec<&str> = f.requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["2.4", "3.1.4"], "in the benchmark's order");
        let (stable, fixed) = (&f.requirements[0], &f.requirements[1]);
        assert!(!stable.changed);
        assert_eq!(
            stable.since,
            at(2),
            "held since the period's first assessing run"
        );
        assert!(fixed.changed);
        assert_eq!(
            (fixed.first_status, fixed.status, fixed.since),
            (Status::Fail, Status::Pass, at(6))
        );
        assert_eq!(
            fixed.title,
            "Ensure that S3 is configured with 'Block Public Access' enabled"
        );
    }
}
