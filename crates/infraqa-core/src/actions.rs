//! The log of writes (the audit log, `audit-log/`): each remediation action infraqa took or
//! refused (tags written, events validated), one JSON object per line, never replaced.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of the audit log: a tag write (`tag-write`), a validation verdict (`validate`), a
/// repair (`fix`) or its undoing (`fix-undo`), with who did it and what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationAction {
    /// When it was done.
    pub at: DateTime<Utc>,
    /// The account.
    pub account_id: String,
    /// The resource changed or judged.
    pub resource_arn: String,
    /// What was done: `tag-write`, `validate`, `fix` or `fix-undo`.
    pub action: String,
    /// Its particulars (for `validate`: the verdict and the rule ids that failed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Who did it: the caller's ARN (STS `GetCallerIdentity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The resource's tags before the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_before: Option<BTreeMap<String, String>>,
    /// The tags written (or that were to be written, when the write did not happen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_written: Option<BTreeMap<String, String>>,
    /// `written`, `skipped`, `gone` or `failed` for a tag write; the verdict for `validate`;
    /// `applied`, `skipped`, `gone`, `failed` or `not-applied` for a fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The CloudTrail event that led to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// For `fix` and `fix-undo`: the plan's action (what `--undo` restores from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Box<crate::fix::FixAction>>,
    /// For `fix` and `fix-undo`: the resource as re-read just before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<crate::fix::State>,
    /// For `fix` and `fix-undo`: the resource as read back after it (also after a failed
    /// write, so the log says whether anything changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<crate::fix::State>,
}

/// A line of the audit log that is not an action.
#[derive(Debug, thiserror::Error)]
#[error("{origin} line {line} is not an audit log entry: {cause}")]
pub struct AuditLineError {
    /// The file or object.
    pub origin: String,
    /// The 1-based line.
    pub line: usize,
    /// The parser's complaint (in the message, not chained: it would repeat).
    pub cause: serde_json::Error,
}

/// The audit log's text for `actions`: one JSON object per line.
pub fn audit_lines(actions: &[RemediationAction]) -> String {
    actions
        .iter()
        // Plain data: serialisation cannot fail (a failure would still leave a valid log).
        .filter_map(|a| serde_json::to_string(a).ok())
        .map(|l| l + "\n")
        .collect()
}

/// Reads audit log text (blank lines are skipped); `origin` names it in errors.
pub fn parse_audit_lines(
    text: &str,
    origin: &str,
) -> Result<Vec<RemediationAction>, AuditLineError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|cause| AuditLineError {
                origin: origin.to_owned(),
                line: i + 1,
                cause,
            })
        })
        .collect()
}
