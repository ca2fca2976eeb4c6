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
pub const ORGANIZATION_SCHEMA_VERSION: u32 = 1;

/// A run over several accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationSummary {
    /// Layout version ([`ORGANIZATION_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the run ended.
    pub generated_at: DateTime<Utc>,
    /// Whether some account was not reached or not read whole.
    pub partial: bool,
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
    OrganizationSummary {
        schema_version: ORGANIZATION_SCHEMA_VERSION,
        generated_at: now,
        partial: lines.iter().any(|a| a.status != AccountStatus::Complete),
        accounts: lines,
        by_rule,
        errors,
    }
}
