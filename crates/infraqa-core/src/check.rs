//! The result of checking an inventory against a policy: `findings.json`.

use crate::finding::Finding;
use crate::inventory::{Inventory, ScanError};
use crate::orphans::{Orphan, find_orphans};
use crate::policy::Policy;
use crate::rules::{ExemptedFinding, evaluate};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of the `findings.json` layout.
pub const FINDINGS_SCHEMA_VERSION: u32 = 1;

/// Everything `infraqa check` concludes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Layout version ([`FINDINGS_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The evaluation time.
    pub generated_at: DateTime<Utc>,
    /// The account checked.
    pub account_id: String,
    /// Whether the inventory was partial (then some resources could not be judged).
    pub partial: bool,
    /// Compliance findings.
    pub findings: Vec<Finding>,
    /// Findings moved aside by allow-lists and exemptions, with reasons.
    pub exempted: Vec<ExemptedFinding>,
    /// Orphaned resources.
    pub orphans: Vec<Orphan>,
    /// What could not be judged, and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The inventory's errors, copied so a partial check never looks complete.
    #[serde(default)]
    pub errors: Vec<ScanError>,
}

/// Checks `inventory` against `policy` as of `now`.
pub fn check(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> CheckResult {
    let evaluation = evaluate(inventory, policy, now);
    let orphans = find_orphans(inventory, policy, now);
    let mut notes = inventory.notes.clone();
    notes.extend(orphans.notes);
    CheckResult {
        schema_version: FINDINGS_SCHEMA_VERSION,
        generated_at: now,
        account_id: inventory.account_id.clone(),
        partial: inventory.is_partial(),
        findings: evaluation.findings,
        exempted: evaluation.exempted,
        orphans: orphans.orphans,
        notes,
        errors: inventory.errors.clone(),
    }
}
