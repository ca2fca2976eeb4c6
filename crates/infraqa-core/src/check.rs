//! The result of checking an inventory against a policy: `findings.json`.

use crate::finding::Finding;
use crate::inventory::{Inventory, ScanError};
use crate::orphans::{Orphan, find_orphans};
use crate::policy::Policy;
use crate::rules::{ExemptedFinding, NotEvaluated, evaluate_share, join_shares};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of the `findings.json` layout.
pub const FINDINGS_SCHEMA_VERSION: u32 = 2;

/// Everything `infraqa check` concludes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Layout version ([`FINDINGS_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The evaluation time.
    pub generated_at: DateTime<Utc>,
    /// The account checked.
    pub account_id: String,
    /// When the inventory checked was taken: findings belong to that inventory only.
    pub inventory_generated_at: DateTime<Utc>,
    /// The digest of the effective policy the check applied ([`Policy::digest`]).
    pub policy_digest: String,
    /// Whether the inventory was partial (then some resources could not be judged).
    pub partial: bool,
    /// Compliance findings.
    pub findings: Vec<Finding>,
    /// Findings moved aside by allow-lists and exemptions, with reasons.
    pub exempted: Vec<ExemptedFinding>,
    /// Per rule and resource, what could not be decided because a read failed, with the
    /// failed reads: neither a finding nor a pass.
    pub not_evaluated: Vec<NotEvaluated>,
    /// Orphaned resources.
    pub orphans: Vec<Orphan>,
    /// What could not be judged, and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The inventory's errors, copied so a partial check never looks complete.
    #[serde(default)]
    pub errors: Vec<ScanError>,
}

/// Findings reported with an inventory, or a policy, they were not made from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// Another account's findings.
    #[error("the findings are for account {findings} but the inventory is of account {inventory}")]
    Account {
        /// The findings' account.
        findings: String,
        /// The inventory's account.
        inventory: String,
    },
    /// Findings of another scan of the account.
    #[error(
        "the findings were made from the inventory taken at {findings} but this inventory was taken at {inventory}: check this inventory first"
    )]
    Inventory {
        /// The findings' inventory time.
        findings: DateTime<Utc>,
        /// This inventory's time.
        inventory: DateTime<Utc>,
    },
    /// Findings made under another policy.
    #[error(
        "the findings were made under another policy (digest {findings}, this policy's is {policy}): check again with this policy"
    )]
    Policy {
        /// The findings' policy digest.
        findings: String,
        /// This policy's digest.
        policy: String,
    },
}

impl CheckResult {
    /// Whether these findings were made from the inventory `account_id` took at
    /// `generated_at` (whatever the policy).
    pub fn made_from(&self, account_id: &str, generated_at: DateTime<Utc>) -> Result<(), Mismatch> {
        if self.account_id != account_id {
            return Err(Mismatch::Account {
                findings: self.account_id.clone(),
                inventory: account_id.to_owned(),
            });
        }
        if self.inventory_generated_at != generated_at {
            return Err(Mismatch::Inventory {
                findings: self.inventory_generated_at,
                inventory: generated_at,
            });
        }
        Ok(())
    }

    /// Whether these findings were made from the inventory `account_id` took at
    /// `generated_at`, under `policy`.
    pub fn belongs_to(
        &self,
        account_id: &str,
        generated_at: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<(), Mismatch> {
        self.made_from(account_id, generated_at)?;
        let digest = policy.digest();
        if self.policy_digest != digest {
            return Err(Mismatch::Policy {
                findings: self.policy_digest.clone(),
                policy: digest,
            });
        }
        Ok(())
    }
}

/// The checks of an account's shards, joined as [`check`] of the account's merged inventory
/// ([`Inventory::merge`] of the same shards) would have them: every finding, exemption,
/// undecided unit and orphan once, in the check's order (a trail read by several shards is
/// judged by each, and kept once), for the merged inventory's time.
pub fn merge(
    parts: Vec<CheckResult>,
    inventory: &Inventory,
    policy: &Policy,
) -> Result<CheckResult, Mismatch> {
    let mut out = CheckResult {
        schema_version: FINDINGS_SCHEMA_VERSION,
        generated_at: inventory.generated_at,
        account_id: inventory.account_id.clone(),
        inventory_generated_at: inventory.generated_at,
        policy_digest: policy.digest(),
        partial: inventory.is_partial(),
        findings: Vec::new(),
        exempted: Vec::new(),
        not_evaluated: Vec::new(),
        orphans: Vec::new(),
        notes: Vec::new(),
        errors: inventory.errors.clone(),
    };
    for part in parts {
        if part.account_id != out.account_id {
            return Err(Mismatch::Account {
                findings: part.account_id,
                inventory: out.account_id,
            });
        }
        if part.policy_digest != out.policy_digest {
            return Err(Mismatch::Policy {
                findings: part.policy_digest,
                policy: out.policy_digest,
            });
        }
        out.generated_at = out.generated_at.max(part.generated_at);
        out.findings.extend(part.findings);
        out.exempted.extend(part.exempted);
        out.not_evaluated.extend(part.not_evaluated);
        out.orphans.extend(part.orphans);
        out.notes.extend(part.notes);
    }
    let same = |a: &Finding, b: &Finding| {
        (a.rule_id, &a.region, &a.resource_arn) == (b.rule_id, &b.region, &b.resource_arn)
    };
    out.findings.sort_by(crate::rules::finding_order);
    out.findings.dedup_by(|a, b| same(a, b));
    out.exempted
        .sort_by(|a, b| crate::rules::finding_order(&a.finding, &b.finding));
    out.exempted.dedup_by(|a, b| same(&a.finding, &b.finding));
    let key = |n: &NotEvaluated| (n.rule_id, n.region.clone(), n.resource_arn.clone());
    out.not_evaluated.sort_by_key(key);
    out.not_evaluated.dedup_by(|a, b| key(a) == key(b));
    out.orphans.sort_by(|a, b| {
        (a.kind, &a.region, &a.resource_arn).cmp(&(b.kind, &b.region, &b.resource_arn))
    });
    out.orphans
        .dedup_by(|a, b| (a.kind, &a.resource_arn) == (b.kind, &b.resource_arn));
    out.notes.sort();
    out.notes.dedup();
    Ok(out)
}

/// Checks `inventory` against `policy` as of `now`.
pub fn check(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> CheckResult {
    // The rules and the orphan pass read the same inventory and nothing else: on two cores,
    // the orphan pass and half the rules on one, the other half on the other.
    let ((orphans, odd), even) = crate::side_by_side(
        || {
            (
                find_orphans(inventory, policy, now),
                evaluate_share(inventory, policy, now, 1, 2),
            )
        },
        || evaluate_share(inventory, policy, now, 0, 2),
    );
    let evaluation = join_shares([even, odd]);
    let mut notes = inventory.notes.clone();
    notes.extend(orphans.notes);
    CheckResult {
        schema_version: FINDINGS_SCHEMA_VERSION,
        generated_at: now,
        account_id: inventory.account_id.clone(),
        inventory_generated_at: inventory.generated_at,
        policy_digest: policy.digest(),
        partial: inventory.is_partial(),
        findings: evaluation.findings,
        exempted: evaluation.exempted,
        not_evaluated: evaluation.not_evaluated,
        orphans: orphans.orphans,
        notes,
        errors: inventory.errors.clone(),
    }
}
