//! The audit log: every tag write and every validation, one JSON object per line, in files
//! (objects) that are created whole, once, and never replaced, so the log only grows and a
//! duplicate event is recognised by its file already being there.

use crate::error::PipelineError;
use crate::store::{Location, Store};
use infraqa_core::history::{RemediationAction, audit_lines, parse_audit_lines};

/// The log's folder below a run's directory or a history prefix.
pub const FOLDER: &str = "audit-log";

/// Where the log is kept: one or more stores; the last one decides whether an entry is new.
#[derive(Debug, Clone)]
pub struct AuditLog {
    stores: Vec<Store>,
}

impl AuditLog {
    /// The log in `dir/audit-log/`, and also under the history's `audit-log/` when the history
    /// is in S3 (where the deployed functions and auditors read it).
    pub fn new(dir: &Store, history: Option<&Store>) -> Self {
        let mut stores = vec![dir.child(FOLDER)];
        if let Some(h) = history.filter(|h| matches!(h.location(), Location::S3 { .. })) {
            stores.push(h.child(FOLDER));
        }
        Self { stores }
    }

    /// Writes `actions` as the file `name` unless it exists; `Ok(false)` when it did (a
    /// duplicate: nothing replaced).
    pub async fn write(
        &self,
        name: &str,
        actions: &[RemediationAction],
    ) -> Result<bool, PipelineError> {
        let text = audit_lines(actions).into_bytes();
        let mut new = false;
        for store in &self.stores {
            new = store
                .put_new(name, text.clone(), "application/x-ndjson")
                .await?
                .is_some();
        }
        Ok(new)
    }

    /// Every action in the log (each place read, each action once).
    pub async fn load(&self) -> Result<Vec<RemediationAction>, PipelineError> {
        let mut out = Vec::new();
        for store in &self.stores {
            for (name, bytes) in store.list(".jsonl").await? {
                let origin = store.describe(&name);
                out.extend(
                    parse_audit_lines(&String::from_utf8_lossy(&bytes), &origin)
                        .map_err(|e| PipelineError::input(e.to_string()))?,
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| seen.insert(serde_json::to_string(a).unwrap_or_default()));
        Ok(out)
    }
}
