//! `organization.json`: a run over several accounts, one line per account, worst first. Each
//! reached account has its own full report; an account that could not be reached is named
//! with the reason, never counted as compliant.

use crate::finding::{RuleId, Severity};
use crate::inventory::ScanError;
use crate::report::Report;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the `organization.json` layout.
pub const ORGANIZATION_SCHEMA_VERSION: u32 = 2;

/// A run over several accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationSummary {
    /// Layout version ([`ORGANIZATION_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the run ended.
    pub generated_at: DateTime<Utc>,
    /// Whether some account was not reached or not read whole.
    pub partial: bool,
    /// The organization's score: the share of the units judged in every reached account that
    /// comply, as each account's own score is of its units; none when no account was reached.
    #[serde(default)]
    pub compliance_score: Option<f64>,
    /// How the organization moved since its previous runs.
    #[serde(default)]
    pub trend: OrganizationTrend,
    /// One line per account: unreached first, then by score, lowest first.
    pub accounts: Vec<AccountLine>,
    /// Findings per rule over every reached account.
    pub by_rule: BTreeMap<RuleId, usize>,
    /// Why each account that could not be reached was not.
    pub errors: Vec<ScanError>,
}

/// How one account's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Scanned, checked and reported from complete reads.
    Complete,
    /// Reported, but some reads failed: see its report.
    Partial,
    /// Not reached (the role could not be assumed, or the scan could not even read which
    /// account it was in): nothing of it was judged.
    Unreachable,
}

/// One account's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountLine {
    /// The account.
    pub account_id: String,
    /// How its run ended.
    pub status: AccountStatus,
    /// Its compliance score; none when it was not reached.
    pub compliance_score: Option<f64>,
    /// Units its rules judged (in scope, less those not evaluated).
    #[serde(default)]
    pub judged: usize,
    /// Of those, the units that comply.
    #[serde(default)]
    pub compliant: usize,
    /// Its previous run's score, if it had one.
    #[serde(default)]
    pub previous_score: Option<f64>,
    /// Its score minus the previous one.
    #[serde(default)]
    pub score_delta: Option<f64>,
    /// Findings its previous run did not have.
    #[serde(default)]
    pub new_findings: usize,
    /// Findings of its previous run that are fixed now (judged from data that was read).
    #[serde(default)]
    pub resolved_findings: usize,
    /// Its findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Its findings per rule.
    pub by_rule: BTreeMap<RuleId, usize>,
    /// Its findings in total.
    pub findings: usize,
    /// Its report, relative to the run's output.
    pub report: Option<String>,
    /// Why it was not reached.
    pub error: Option<String>,
}

impl AccountLine {
    /// The line of an account reported in `report`, written at `at` (relative to the run's
    /// output).
    pub fn reported(report: &Report, at: String) -> Self {
        let s = &report.summary;
        Self {
            account_id: report.account_id.clone(),
            status: if report.partial {
                AccountStatus::Partial
            } else {
                AccountStatus::Complete
            },
            compliance_score: Some(s.compliance_score),
            judged: s
                .in_scope_resources
                .saturating_sub(s.not_evaluated_resources),
            compliant: s.compliant_resources,
            previous_score: report.trend.previous_score,
            score_delta: report.trend.score_delta,
            new_findings: report.trend.new.len(),
            resolved_findings: report.trend.resolved.len(),
            by_severity: s.by_severity.clone(),
            by_rule: s
                .by_rule
                .iter()
                .filter(|(_, r)| r.findings > 0)
                .map(|(id, r)| (*id, r.findings))
                .collect(),
            findings: s.findings,
            report: Some(at),
            error: None,
        }
    }

    /// The line of an account not reached, and why.
    pub fn unreached(account_id: &str, error: &ScanError) -> Self {
        Self {
            account_id: account_id.to_owned(),
            status: AccountStatus::Unreachable,
            compliance_score: None,
            judged: 0,
            compliant: 0,
            previous_score: None,
            score_delta: None,
            new_findings: 0,
            resolved_findings: 0,
            by_severity: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            findings: 0,
            report: None,
            error: Some(error.message.clone()),
        }
    }
}

/// The summary of the accounts' `lines` (any order) at `now`, with `errors`: the failed call
/// of each account not reached.
pub fn summarize(
    mut lines: Vec<AccountLine>,
    errors: Vec<ScanError>,
    now: DateTime<Utc>,
) -> OrganizationSummary {
    let mut by_rule: BTreeMap<RuleId, usize> = BTreeMap::new();
    for (id, n) in lines.iter().flat_map(|a| &a.by_rule) {
        *by_rule.entry(*id).or_default() += n;
    }
    // Unreached first (None sorts first), then the lowest scores: the accounts to look at.
    lines.sort_by(|a, b| {
        a.compliance_score
            .partial_cmp(&b.compliance_score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
    let reached: Vec<&AccountLine> = lines
        .iter()
        .filter(|a| a.status != AccountStatus::Unreachable)
        .collect();
    let compliance_score = (!reached.is_empty()).then(|| {
        crate::report::pct(
            reached.iter().map(|a| a.compliant).sum(),
            reached.iter().map(|a| a.judged).sum(),
        )
    });
    OrganizationSummary {
        schema_version: ORGANIZATION_SCHEMA_VERSION,
        generated_at: now,
        partial: lines.iter().any(|a| a.status != AccountStatus::Complete),
        compliance_score,
        trend: OrganizationTrend::default(),
        accounts: lines,
        by_rule,
        errors,
    }
}

/// How the organization moved: against its previous run, and over the last runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganizationTrend {
    /// The previous run's organization score, if there was a previous run with one.
    pub previous_score: Option<f64>,
    /// This run's score minus the previous one.
    pub score_delta: Option<f64>,
    /// The score per run, oldest first, this run last.
    pub history: Vec<OrganizationPoint>,
    /// Accounts the previous run reported that this run could not reach.
    pub newly_unreached: Vec<String>,
    /// Accounts this run covers that the previous one did not.
    pub added: Vec<String>,
    /// Accounts the previous run covered that this one does not.
    pub removed: Vec<String>,
}

/// One run of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationPoint {
    /// When the run ended.
    pub at: DateTime<Utc>,
    /// Its organization score.
    pub compliance_score: Option<f64>,
    /// Accounts it covered.
    pub accounts: usize,
    /// Of those, accounts it could not reach.
    pub unreached: usize,
}

impl OrganizationPoint {
    fn of(s: &OrganizationSummary) -> Self {
        Self {
            at: s.generated_at,
            compliance_score: s.compliance_score,
            accounts: s.accounts.len(),
            unreached: s.errors.len(),
        }
    }
}

/// The trend of `current` over `past` (the organization's earlier summaries, oldest first;
/// the last is the previous run).
pub fn trend(current: &OrganizationSummary, past: &[OrganizationSummary]) -> OrganizationTrend {
    let mut history: Vec<OrganizationPoint> = past.iter().map(OrganizationPoint::of).collect();
    history.push(OrganizationPoint::of(current));
    let Some(previous) = past.last() else {
        return OrganizationTrend {
            history,
            ..OrganizationTrend::default()
        };
    };
    let ids = |s: &OrganizationSummary| -> std::collections::BTreeSet<String> {
        s.accounts.iter().map(|a| a.account_id.clone()).collect()
    };
    let (now, before) = (ids(current), ids(previous));
    let reported_before: std::collections::BTreeSet<&str> = previous
        .accounts
        .iter()
        .filter(|a| a.status != AccountStatus::Unreachable)
        .map(|a| a.account_id.as_str())
        .collect();
    OrganizationTrend {
        previous_score: previous.compliance_score,
        score_delta: current
            .compliance_score
            .zip(previous.compliance_score)
            .map(|(c, p)| crate::round2(c - p)),
        history,
        newly_unreached: current
            .accounts
            .iter()
            .filter(|a| {
                a.status == AccountStatus::Unreachable
                    && reported_before.contains(a.account_id.as_str())
            })
            .map(|a| a.account_id.clone())
            .collect(),
        added: now.difference(&before).cloned().collect(),
        removed: before.difference(&now).cloned().collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 6, 0, 0).unwrap()
    }

    fn line(id: &str, judged: usize, compliant: usize) -> AccountLine {
        AccountLine {
            account_id: id.into(),
            status: AccountStatus::Complete,
            compliance_score: Some(crate::report::pct(compliant, judged)),
            judged,
            compliant,
            previous_score: None,
            score_delta: None,
            new_findings: 0,
            resolved_findings: 0,
            by_severity: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            findings: judged - compliant,
            report: Some(format!("{id}/report.json")),
            error: None,
        }
    }

    fn denied(id: &str) -> ScanError {
        ScanError {
            region: "global".into(),
            service: "sts".into(),
            operation: "AssumeRole".into(),
            code: "AccessDenied".into(),
            message: format!("arn:aws:iam::{id}:role/infraqa-member: not authorized"),
        }
    }

    #[test]
    fn the_organization_score_weighs_each_account_by_its_judged_units_and_skips_the_unreached() {
        let e = denied("333333333333");
        let s = summarize(
            vec![
                line("111111111111", 100, 90),
                line("222222222222", 300, 150),
                AccountLine::unreached("333333333333", &e),
            ],
            vec![e],
            at(1),
        );
        // 240 of 400 judged units comply: 60%, not the mean of 90% and 50%.
        assert_eq!(s.compliance_score, Some(60.0));
        assert!(s.partial);
        let none = summarize(vec![], vec![], at(1));
        assert_eq!(none.compliance_score, None);
    }

    #[test]
    fn the_trend_names_the_move_since_the_previous_run_and_the_accounts_that_changed() {
        let first = summarize(
            vec![line("111111111111", 100, 50), line("222222222222", 100, 50)],
            vec![],
            at(1),
        );
        let e = denied("222222222222");
        let second = summarize(
            vec![
                line("111111111111", 100, 80),
                AccountLine::unreached("222222222222", &e),
                line("444444444444", 100, 80),
            ],
            vec![e],
            at(2),
        );
        let t = trend(&second, std::slice::from_ref(&first));
        assert_eq!(t.previous_score, Some(50.0));
        assert_eq!(t.score_delta, Some(30.0));
        assert_eq!(t.newly_unreached, ["222222222222"]);
        assert_eq!(t.added, ["444444444444"]);
        assert!(t.removed.is_empty());
        assert_eq!(t.history.len(), 2);
        assert_eq!(t.history[1].unreached, 1);
        // The first run has no previous one: a history of itself, nothing moved.
        let alone = trend(&first, &[]);
        assert_eq!(alone.previous_score, None);
        assert_eq!(alone.history.len(), 1);
        assert!(
            alone.added.is_empty(),
            "nothing is new without a previous run"
        );
    }
}
