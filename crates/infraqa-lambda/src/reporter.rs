//! The reporter: a run's reports, history entry, metrics and alert (the S3 notification of its
//! findings), every account of a run over several accounts and the organization's summary (the
//! state machine), and the audit pack of a quarter (the first report of the next) or of any
//! period (a manual invoke).

use crate::events::{AuditPeriod, AuditRequest, ReporterEvent, RunReported, Step};
use crate::suite::{HandlerError, Suite, checked_run, planned_accounts, runs_of};
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, Utc};
use infraqa_aws::metrics::{self, HubFigures, RunFigures};
use infraqa_core::export::{Concluded, Scanned, Sent};
use infraqa_core::names::{ALERT, FINDINGS, REPORT, REPORT_PAGE};
use infraqa_core::organization::{AccountLine, summarize};
use infraqa_core::report::Report;
use infraqa_core::{Finding, Inventory, Policy, Severity};
use infraqa_pipeline::export;
use infraqa_pipeline::report::{
    ReportTarget, put_json, read_findings, read_inventory, read_report,
};
use infraqa_pipeline::shards::{self, Joined};
use infraqa_pipeline::{PipelineError, Store};
use std::future::Future;

/// The reporter's entry point for either event.
pub async fn handle(
    suite: &Suite,
    event: &ReporterEvent,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    match event {
        ReporterEvent::Run(r) => {
            let done = Box::pin(report_run(suite, &r.organization_run, now)).await?;
            Ok(vec![Step {
                run_id: done.run_id,
                outcome: format!(
                    "{} account(s): {} reported, {} not reached; {}",
                    done.accounts,
                    done.reported,
                    done.unreached,
                    done.summary.join(", ")
                ),
            }])
        }
        // Boxed: the two futures together are deeper than the compiler lays out inline.
        ReporterEvent::Findings(e) => Box::pin(report_runs(suite, e, now)).await,
        ReporterEvent::Audit(AuditRequest {
            audit: AuditPeriod { from, to },
        }) => {
            let written = Box::pin(audit_pack(suite, *from, *to, now, false))
                .await?
                .unwrap_or_default();
            Ok(vec![Step {
                run_id: infraqa_core::names::AUDITS.to_owned(),
                outcome: format!("audit pack {from} to {to}: {}", written.join(", ")),
            }])
        }
    }
}

/// On `runs/<run-id>/findings.json`: writes the reports and the history entry, publishes the
/// metrics, and alerts once on the critical findings new since the previous run. A second
/// delivery finds the run's history entry and does nothing.
pub async fn report_runs(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, FINDINGS) {
        let run = suite.run(&id);
        let history = suite.history();
        let inventory = read_inventory(&run).await?;
        let entry = infraqa_core::names::entry_name_of(&inventory);
        if history.exists(&entry).await? {
            out.push(Step::duplicate(id, &history.describe(&entry)));
            continue;
        }
        let policy = suite.policy().await?;
        // Read once the report has taken what it needs of the inventory.
        let findings = read_findings(&run);
        let (report, criticals) =
            report_account(suite, &run, &id, inventory, findings, &policy, now).await?;
        let latest = infraqa_pipeline::latest::Latest {
            run_id: id.clone(),
            inventory_generated_at: report.inventory_generated_at,
            report_generated_at: report.generated_at,
            compliance_score: report.summary.compliance_score,
            files: infraqa_pipeline::latest::REPORT_FILES
                .iter()
                .map(|f| ((*f).to_owned(), infraqa_pipeline::latest::key(&run, f)))
                .collect(),
        };
        let newest =
            infraqa_pipeline::latest::record(suite.bucket(), infraqa_core::names::LATEST, &latest)
                .await?;
        out.push(Step {
            run_id: id,
            outcome: format!(
                "score {:.2}%, {criticals} new critical{}",
                report.summary.compliance_score,
                if newest {
                    ""
                } else {
                    "; latest.json names a newer run"
                }
            ),
        });
    }
    if !out.is_empty()
        && let Some(step) = quarter_pack(suite, now).await?
    {
        out.push(step);
    }
    Ok(out)
}

/// Reports every account of the planned run `run_id`, one at a time (one account's shards in
/// memory at once): each joined from its shards into `runs/<run-id>/<account>/` with its
/// history entry, metrics and alert as a single account's run has them, and the summary over
/// all of them as `runs/<run-id>/organization.json` and `.md`. An account already reported
/// (its history entry exists) is not reported again; its line is read from its report.
pub async fn report_run(
    suite: &Suite,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<RunReported, HandlerError> {
    let run = checked_run(suite, run_id)?;
    let accounts = planned_accounts(&run, run_id).await?;
    let policy = suite.policy().await?;
    let history = suite.history();
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    for (account, regions) in &accounts {
        let out = run.child(account);
        let link = format!("{account}/report.json");
        if let Some(line) = already_reported(&out, &history, account, link.clone()).await? {
            lines.push(line);
            continue;
        }
        match shards::join_account(&run, account, regions, &policy).await? {
            Joined::Unreached(error) => {
                lines.push(AccountLine::unreached(account, &error));
                errors.push(error);
            }
            Joined::Read { inventory, check } => {
                let (report, criticals) = report_account(
                    suite,
                    &out,
                    run_id,
                    inventory,
                    async { Ok(*check) },
                    &policy,
                    now,
                )
                .await?;
                tracing::info!(account = %account, score = report.summary.compliance_score, criticals, "reported");
                lines.push(AccountLine::reported(&report, link));
            }
        }
    }
    errors.sort_by(|a, b| a.message.cmp(&b.message));
    let mut summary = summarize(lines, errors, now);
    let written = infraqa_pipeline::accounts::write_summary(
        &run,
        &history,
        run_id,
        &mut summary,
        infraqa_core::report::DEFAULT_TREND_RUNS,
    )
    .await?;
    let latest = infraqa_pipeline::latest::Latest {
        run_id: run_id.to_owned(),
        // The run's plan time: its shards' inventories were taken from then on.
        inventory_generated_at: infraqa_core::names::run_time(run_id).unwrap_or(now),
        report_generated_at: now,
        compliance_score: summary.compliance_score.unwrap_or_default(),
        files: infraqa_pipeline::latest::ORGANIZATION_FILES
            .iter()
            .map(|f| ((*f).to_owned(), infraqa_pipeline::latest::key(&run, f)))
            .collect(),
    };
    infraqa_pipeline::latest::record(
        suite.bucket(),
        infraqa_core::names::LATEST_ORGANIZATION,
        &latest,
    )
    .await?;
    if let Some(step) = quarter_pack(suite, now).await? {
        tracing::info!(outcome = %step.outcome, "audit pack");
    }
    let unreached = summary.errors.len();
    Ok(RunReported {
        run_id: run_id.to_owned(),
        accounts: summary.accounts.len(),
        reported: summary.accounts.len() - unreached,
        unreached,
        summary: written,
    })
}

/// The summary line of an account whose report of this run is written already (its report
/// and its history entry), read from its report.
async fn already_reported(
    out: &Store,
    history: &Store,
    account: &str,
    link: String,
) -> Result<Option<AccountLine>, HandlerError> {
    if !out.exists(REPORT).await? {
        return Ok(None);
    }
    let report = read_report(out).await?;
    let entry = infraqa_core::names::entry_name(report.inventory_generated_at, account);
    if !history.exists(&entry).await? {
        return Ok(None);
    }
    Ok(Some(AccountLine::reported(&report, link)))
}

/// One account's report into `out` (its report files, its history entry), its metrics
/// published, and one alert on the critical findings new since its previous run (the alert's
/// marker in `out` keeps a retry from sending it twice); returns the report and how many
/// critical findings are new.
pub(crate) async fn report_account(
    suite: &Suite,
    out: &Store,
    run_id: &str,
    inventory: Inventory,
    findings: impl Future<Output = Result<infraqa_core::check::CheckResult, PipelineError>>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(Report, usize), HandlerError> {
    let history = suite.history();
    let target = ReportTarget {
        out,
        history: &history,
        trend_runs: infraqa_core::report::DEFAULT_TREND_RUNS,
    };
    let scan_ms = inventory.stats.duration_ms;
    // What was last sent is read while the inventory is here: only the resources it names are
    // looked up in it.
    let hub = if suite.config.security_hub {
        let sent = export::read_sent(&history, &inventory.account_id).await;
        Some(sent.map(|sent| (Scanned::of(&inventory, &sent), sent)))
    } else {
        None
    };
    let (report, _) =
        infraqa_pipeline::report::produce(inventory, findings, policy, target, &suite.aws, now)
            .await?;
    let criticals = new_criticals(&report);
    let clients = suite.aws.get().await;
    let mut figures = RunFigures::of(&report, criticals.len(), scan_ms);
    if let Some(hub) = hub {
        figures.security_hub = Some(import(suite, policy, &history, &report, hub, now).await);
    }
    metrics::publish(clients, &figures, report.generated_at)
        .await
        .map_err(|e| HandlerError::from(PipelineError::aws("publishing the metrics", e)))?;
    if let Some(topic) = &suite.config.alert_topic
        && !criticals.is_empty()
        && !out.exists(ALERT).await?
    {
        let link = suite.console_link(out, REPORT_PAGE, clients)?;
        let (subject, body) = alert_text(&report, &criticals, run_id, &link);
        let id = infraqa_aws::alerts::publish(clients, topic, &subject, body)
            .await
            .map_err(|e| {
                HandlerError::from(PipelineError::aws(format!("publishing to {topic}"), e))
            })?;
        put_json(
            out,
            ALERT,
            &serde_json::json!({"topic": topic, "message_id": id, "criticals": criticals.len()}),
        )
        .await?;
    }
    let n = criticals.len();
    Ok((report, n))
}

/// Imports the account's reported run into Security Hub (in the account itself: the suite's
/// own, or a member through the policy's member role) with its lifecycle. Never fails the
/// report: what Security Hub did not take is logged and counted as failed, and the next run
/// sends it again (what was last sent is recorded only as accepted).
async fn import(
    suite: &Suite,
    policy: &Policy,
    history: &Store,
    report: &Report,
    hub: Result<(Scanned, Sent), PipelineError>,
    now: DateTime<Utc>,
) -> HubFigures {
    let account = report.account_id.as_str();
    let planned = match hub {
        Ok((scanned, sent)) => {
            export::plan(history, Concluded::of_report(report), &scanned, &sent, now)
                .await
                .map(|plan| (plan, sent))
        }
        Err(e) => Err(e),
    };
    let (plan, sent) = match planned {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(
                account,
                "Security Hub: the export could not be planned: {e}"
            );
            return HubFigures {
                failed: report.findings.len(),
                ..HubFigures::default()
            };
        }
    };
    let done = async {
        let clients = crate::suite::reach(suite, policy, account)
            .await
            .map_err(|e| format!("the account could not be reached: {}", e.message))?;
        let home = clients.require_home_region().map_err(|e| e.to_string())?;
        export::import(&clients, history, &plan, &sent, home)
            .await
            .map_err(|e| format!("what was sent could not be recorded: {e}"))
    }
    .await;
    match done {
        Ok(done) => {
            for f in done.failed.iter().take(10) {
                tracing::warn!(account, id = %f.id, code = %f.code, "Security Hub refused a finding: {}", f.message);
            }
            tracing::info!(
                account,
                active = done.active,
                archived = done.archived,
                untouched = done.untouched,
                failed = done.failed.len(),
                calls = done.calls,
                "Security Hub import"
            );
            HubFigures {
                active: done.active,
                archived: done.archived,
                untouched: done.untouched,
                failed: done.failed.len(),
            }
        }
        Err(why) => {
            tracing::warn!(account, "Security Hub: {why}");
            HubFigures {
                failed: plan.open.len() + plan.closed.len(),
                untouched: plan.untouched.len(),
                ..HubFigures::default()
            }
        }
    }
}

/// The critical findings new since the previous run (all of them on the first run).
pub fn new_criticals(report: &Report) -> Vec<&Finding> {
    let first = report.trend.previous_score.is_none();
    report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .filter(|f| {
            first
                || report
                    .trend
                    .new
                    .contains(&infraqa_core::report::finding_key(f))
        })
        .collect()
}

/// The most new critical findings an alert lists, and the most bytes their lines take: an
/// e-mail a person reads, far under SNS's 256 KB; the rest are counted, and the link leads to
/// every one.
const ALERT_FINDINGS_MAX: usize = 50;
const ALERT_FINDINGS_BYTES: usize = 64 * 1024;

/// The run alert's subject and body: the run, the score and its change, the counts, the link
/// to the run's report, then the first of the critical findings new since the previous run.
pub fn alert_text(
    report: &Report,
    criticals: &[&Finding],
    run_id: &str,
    link: &str,
) -> (String, String) {
    let subject = format!(
        "infraqa: {} new critical finding(s) in account {} (score {:.1}%)",
        criticals.len(),
        report.account_id,
        report.summary.compliance_score
    );
    let change = match report.trend.score_delta {
        Some(d) => format!("{d:+.1} points since the previous run"),
        None => "the first run".to_owned(),
    };
    let count = |s: Severity| report.summary.by_severity.get(&s).copied().unwrap_or(0);
    let mut body = format!(
        "Run {run_id}, account {}, inventory taken at {}.\n\
         Score: {:.1}% ({change}).\n\
         Findings: {} ({} critical, {} high, {} medium, {} low); new since the previous run: {}; resolved: {}.\n\
         Report: {link}\n\n\
         {} critical finding(s) the previous run did not have:\n",
        report.account_id,
        report.inventory_generated_at,
        report.summary.compliance_score,
        report.findings.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        report.trend.new.len(),
        report.trend.resolved.len(),
        criticals.len()
    );
    let mut listed = 0;
    let mut bytes = 0;
    for f in criticals {
        let line = format!(
            "\n- resource: {} ({}, {})\n  rule: {}\n  finding: {}\n  remediation: {}\n",
            f.resource_arn, f.resource_type, f.region, f.rule_id, f.message, f.remediation
        );
        if listed == ALERT_FINDINGS_MAX || bytes + line.len() > ALERT_FINDINGS_BYTES {
            break;
        }
        bytes += line.len();
        listed += 1;
        body.push_str(&line);
    }
    if listed < criticals.len() {
        body.push_str(&format!(
            "\n...and {} more new critical finding(s): every one is in the report: {link}\n",
            criticals.len() - listed
        ));
    }
    (subject, body)
}

/// The first report of a quarter writes the previous quarter's audit pack.
pub(crate) async fn quarter_pack(
    suite: &Suite,
    now: DateTime<Utc>,
) -> Result<Option<Step>, HandlerError> {
    let (from, to) = infraqa_pipeline::audit::previous_quarter(now.date_naive());
    Ok(Box::pin(audit_pack(suite, from, to, now, true))
        .await?
        .map(|written| Step {
            run_id: infraqa_core::names::AUDITS.to_owned(),
            outcome: format!("audit pack {from} to {to}: {}", written.join(", ")),
        }))
}

/// Writes the audit pack of `from..=to` under `audits/` (the export, the findings CSV and the
/// pages) and returns where. With `once`, nothing more is read or written when the export
/// exists already, nor when no history entry is named in the period (a suite deployed since
/// has nothing to report; the audit log is not read for it on every report).
/// The export is written last, so a pack cut short is written again by the next report.
pub async fn audit_pack(
    suite: &Suite,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now: DateTime<Utc>,
    once: bool,
) -> Result<Option<Vec<String>>, HandlerError> {
    let audits = suite.audits();
    let export_name = infraqa_core::names::pack_export(from, to);
    if once
        && (audits.exists(&export_name).await?
            || !infraqa_pipeline::history::has_period_entries(&suite.history(), from, to).await?)
    {
        return Ok(None);
    }
    let x = infraqa_pipeline::audit::export(&suite.history(), &suite.audit_log(), from, to, now)
        .await?;
    let policy = suite.policy().await?;
    let mut files = infraqa_pipeline::audit::pack_files(&x, Some(&policy))?;
    files.sort_by_key(|(name, _)| *name == export_name);
    let mut written = Vec::new();
    for (name, bytes) in files {
        let content_type = match name.rsplit('.').next() {
            Some("json") => "application/json",
            Some("csv") => "text/csv",
            Some("html") => "text/html; charset=utf-8",
            _ => "text/markdown; charset=utf-8",
        };
        written.push(audits.put(&name, bytes, content_type).await?);
    }
    Ok(Some(written))
}
