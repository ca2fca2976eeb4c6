//! The audit log: every tag write and every validation, one JSON object per line, in files
//! (objects) that are created whole, once, and never replaced, so the log only grows and a
//! duplicate event is recognised by its file already being there.

use crate::error::PipelineError;
use crate::store::{Location, Store};
use infraqa_core::actions::{RemediationAction, audit_lines, parse_audit_lines};
use infraqa_core::names::AUDIT_LOG;
use infraqa_core::names::{
    audit_file_for_event, audit_file_is_event, audit_file_is_fix, audit_file_may_hold,
    audit_file_named_by_event,
};
use infraqa_core::pack::{AuditExport, audit_export};

/// Where the log is kept: one or more stores; the last one decides whether an entry is new.
#[derive(Debug, Clone)]
pub struct AuditLog {
    stores: Vec<Store>,
}

impl AuditLog {
    /// The log in `dir/audit-log/`, and also under the history's `audit-log/` when the history
    /// is in S3 (where the deployed functions and auditors read it).
    pub fn new(dir: &Store, history: Option<&Store>) -> Self {
        let mut stores = vec![dir.child(AUDIT_LOG)];
        if let Some(h) = history.filter(|h| matches!(h.location(), Location::S3 { .. })) {
            stores.push(h.child(AUDIT_LOG));
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

    /// Whether the event `event_id` (of `event_time`) was validated before, as the last store
    /// (the one that decides what is new) has it. Asked before anything is written for the
    /// event, so a second delivery writes nothing. A recent event has one possible file name,
    /// whose existence alone is asked (the validator's every event); an older one's file is
    /// named by when it was validated, so the log's names are listed and searched for its id.
    pub async fn has_event(
        &self,
        event_id: &str,
        event_time: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, PipelineError> {
        let Some(store) = self.stores.last() else {
            return Ok(false);
        };
        if audit_file_named_by_event(event_time, now) {
            return store
                .exists(&audit_file_for_event(event_id, event_time, now))
                .await;
        }
        Ok(store
            .names(".jsonl")
            .await?
            .iter()
            .any(|n| audit_file_is_event(n, event_id)))
    }

    /// The actions of the files in the log that may hold actions taken in `from..=to` (each
    /// place read, each action once): only those files are read, so the cost of a period does
    /// not grow with the log's age (see [`audit_file_may_hold`]). Actions of the files read
    /// that fall outside the period are the caller's to leave out.
    pub async fn load(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<RemediationAction>, PipelineError> {
        self.load_where(|n| audit_file_may_hold(n, from, to)).await
    }

    /// Every action of `infraqa fix` (its applies, undos and marks), whenever taken: only the
    /// log's fix files are read.
    pub async fn load_fixes(&self) -> Result<Vec<RemediationAction>, PipelineError> {
        self.load_where(audit_file_is_fix).await
    }

    /// The actions of the files whose names `keep` keeps, each action once.
    async fn load_where(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<RemediationAction>, PipelineError> {
        let mut out = Vec::new();
        for store in &self.stores {
            let names: Vec<String> = store
                .names(".jsonl")
                .await?
                .into_iter()
                .filter(|n| keep(n))
                .collect();
            for (name, bytes) in store.read_named(names).await? {
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

/// The audit export of `from..=to`: the period's history entries (only those: see
/// [`crate::history::load_period_history`]), the remediation actions of `log`, and the
/// retention protecting the history as read now. Entries that could not be used are named in
/// its `notes`.
pub async fn export(
    history: &Store,
    log: &AuditLog,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AuditExport, PipelineError> {
    if from > to {
        return Err(PipelineError::input(format!(
            "the period starts ({from}) after it ends ({to})"
        )));
    }
    let (entries, problems) = crate::history::load_period_history(history, from, to).await?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    let actions = log.load(from, to).await?;
    let mut x = audit_export(entries, actions, from, to, now);
    x.notes = problems;
    x.evidence_retention = Some(history.retention().await);
    Ok(x)
}

/// The audit pack of `x` as files, by name: the export (`audit-FROM-TO.json`), every finding
/// open in the period (`audit-findings-FROM-TO.csv`), and the pages an auditor reads
/// (`audit-FROM-TO.html`, `audit-FROM-TO.md`), with the exemptions of `policy` when given.
pub fn pack_files(
    x: &AuditExport,
    policy: Option<&infraqa_core::Policy>,
) -> Result<Vec<(String, Vec<u8>)>, PipelineError> {
    let pack = infraqa_core::pack::pack(x, policy);
    let stem = infraqa_core::names::pack_stem(x.from, x.to);
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        PipelineError::input(format!("rendering {what}: {e}"))
    };
    let json = crate::report::to_json("the audit export", x)?;
    let csv = infraqa_report::table::render_audit_findings(&pack.spans)
        .map_err(|e| failed("the audit findings", &e))?;
    let html = infraqa_report::audit::html(x, &pack).map_err(|e| failed("audit.html", &e))?;
    let md = infraqa_report::audit::markdown(x, &pack).map_err(|e| failed("audit.md", &e))?;
    Ok(vec![
        (infraqa_core::names::pack_export(x.from, x.to), json),
        (infraqa_report::audit::csv_name(x), csv),
        (format!("{stem}.html"), html.into_bytes()),
        (format!("{stem}.md"), md.into_bytes()),
    ])
}

/// The calendar quarter before the one `day` falls in, as (first day, last day).
pub fn previous_quarter(day: chrono::NaiveDate) -> (chrono::NaiveDate, chrono::NaiveDate) {
    use chrono::Datelike;
    let this_start_month = (day.month0() / 3) * 3 + 1;
    let this_start =
        chrono::NaiveDate::from_ymd_opt(day.year(), this_start_month, 1).unwrap_or(day);
    let last = this_start.pred_opt().unwrap_or(this_start);
    let first_month = (last.month0() / 3) * 3 + 1;
    let first = chrono::NaiveDate::from_ymd_opt(last.year(), first_month, 1).unwrap_or(last);
    (first, last)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_quarter_of_any_day() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let cases = [
            (d(2026, 10, 1), (d(2026, 7, 1), d(2026, 9, 30))),
            (d(2026, 12, 31), (d(2026, 7, 1), d(2026, 9, 30))),
            (d(2027, 1, 1), (d(2026, 10, 1), d(2026, 12, 31))),
            (d(2026, 3, 31), (d(2025, 10, 1), d(2025, 12, 31))),
            (d(2026, 4, 1), (d(2026, 1, 1), d(2026, 3, 31))),
            (d(2026, 8, 15), (d(2026, 4, 1), d(2026, 6, 30))),
        ];
        for (day, want) in cases {
            assert_eq!(previous_quarter(day), want, "{day}");
        }
    }

    #[tokio::test]
    async fn a_period_reads_only_the_log_files_that_may_hold_its_actions() {
        use chrono::TimeZone;
        use infraqa_core::names::{audit_file_for_event, audit_file_for_run};
        let dir = tempfile::tempdir().unwrap();
        let aws = crate::Aws::new(infraqa_aws::AwsOptions::default());
        let log = AuditLog::new(&Store::new(Location::Local(dir.path().into()), &aws), None);
        let at = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 6, 0, 0).unwrap();
        let action = |when, arn: &str| RemediationAction {
            at: when,
            account_id: "123456789012".into(),
            resource_arn: arn.into(),
            action: "validate".into(),
            ..RemediationAction::default()
        };
        // A year-old tag run: its file is damaged, so reading it would fail the export.
        let old = audit_file_for_run(at(2025, 11, 3), "x");
        std::fs::create_dir_all(dir.path().join(AUDIT_LOG)).unwrap();
        std::fs::write(dir.path().join(AUDIT_LOG).join(&old), "not json\n").unwrap();
        // An event of November, and one logged before event files carried a time.
        let november = action(at(2026, 11, 4), "arn:nov");
        let name = audit_file_for_event("ev-1", at(2026, 11, 3), at(2026, 11, 4));
        assert!(
            log.write(&name, std::slice::from_ref(&november))
                .await
                .unwrap()
        );
        let legacy = action(at(2026, 11, 20), "arn:legacy");
        let legacy_name = "event-4b3c2a10-9f8e-4d7c-8b6a-5e4d3c2b1a00.jsonl";
        assert!(
            log.write(legacy_name, std::slice::from_ref(&legacy))
                .await
                .unwrap()
        );

        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let mut read = log.load(d(10, 1), d(12, 31)).await.unwrap();
        read.sort_by_key(|a| a.at);
        assert_eq!(read, vec![november, legacy]);
        // The year-old file is read, and named, only by a period it may fall in.
        let err = log
            .load(d(1, 1) - chrono::Days::new(365), d(12, 31))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&old), "{err}");
    }
}
