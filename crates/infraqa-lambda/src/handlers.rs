//! One handler per function. Each takes its event (an `aws_lambda_events` type, or the
//! scanner's documented payload), does its step through the pipeline, and says in its error
//! whether a retry can help.

use crate::config::{Config, TaggerMode};
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use infraqa_aws::metrics::{self, RunFigures};
use infraqa_aws::scan::{Deadline, Quiet, scan_until};
use infraqa_aws::validate::{Options, event};
use infraqa_core::policy::RegionScope;
use infraqa_core::report::Report;
use infraqa_core::tagging::TagPlan;
use infraqa_core::{Finding, Inventory, Policy, Severity};
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::report::{
    FINDINGS, INVENTORY, ReportTarget, put_json, read_document, to_json,
};
use infraqa_pipeline::{Aws, Location, PipelineError, Store};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// Where runs go in the bucket.
pub const RUNS: &str = "runs";
/// The history's folder in the bucket.
pub const HISTORY: &str = "history";
/// The prefix of the audit packs the reporter writes.
pub const AUDITS: &str = "audits";
/// The tag plan's file name in a run.
pub const TAG_PLAN: &str = "tag-plan.json";
/// The marker of a run's alert.
pub const ALERT: &str = "alert.json";
/// Time kept back from the Lambda deadline to write the inventory.
const WRITE_MARGIN: Duration = Duration::from_secs(10);
/// No scan unit starts closer than this to the scan's deadline.
const START_MARGIN: Duration = Duration::from_secs(20);

/// A handler that could not do its step. `retryable` says whether the same event may succeed
/// later (throttling, a timeout) or never will (a missing policy, a malformed event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (retryable: {retryable})")]
pub struct HandlerError {
    /// Whether trying again can help.
    pub retryable: bool,
    /// What went wrong, with its causes.
    pub message: String,
}

impl HandlerError {
    /// The error type Lambda records: `infraqa.Retryable` or `infraqa.NotRetryable`.
    pub fn error_type(&self) -> &'static str {
        if self.retryable {
            "infraqa.Retryable"
        } else {
            "infraqa.NotRetryable"
        }
    }

    fn input(message: String) -> Self {
        Self {
            retryable: false,
            message,
        }
    }
}

impl From<PipelineError> for HandlerError {
    fn from(e: PipelineError) -> Self {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        Self {
            retryable: e.is_retryable(),
            message,
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: e.message,
        }
    }
}

/// What every handler works with: the configuration, the clients (built once per cold start),
/// and the bucket.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The configuration.
    pub config: Config,
    /// The clients.
    pub aws: Aws,
    bucket: Store,
}

impl Suite {
    /// The suite of `config`, calling AWS through `aws`.
    pub fn new(config: Config, aws: Aws) -> Self {
        let bucket = Store::new(
            Location::S3 {
                bucket: config.bucket.clone(),
                prefix: String::new(),
            },
            &aws,
        );
        Self {
            config,
            aws,
            bucket,
        }
    }

    /// The folder of every run.
    pub fn runs(&self) -> Store {
        self.bucket.child(RUNS)
    }

    /// The run `run_id`'s folder.
    pub fn run(&self, run_id: &str) -> Store {
        self.bucket.child(RUNS).child(run_id)
    }

    /// The history.
    pub fn history(&self) -> Store {
        self.bucket.child(HISTORY)
    }

    /// The audit packs.
    pub fn audits(&self) -> Store {
        self.bucket.child(AUDITS)
    }

    /// The console's page of `name` in `store` (a folder of the suite's bucket), in the
    /// bucket's region (the functions' own).
    pub fn console_link(
        &self,
        store: &Store,
        name: &str,
        clients: &infraqa_aws::AwsClients,
    ) -> Result<String, HandlerError> {
        let region = clients
            .require_home_region()
            .map_err(|e| HandlerError::from(PipelineError::aws("naming the bucket's region", e)))?;
        Ok(infraqa_aws::alerts::console_object_url(
            &self.config.bucket,
            region,
            &infraqa_pipeline::latest::key(store, name),
        ))
    }

    /// The top of the suite's bucket.
    pub fn bucket(&self) -> &Store {
        &self.bucket
    }

    /// The audit log.
    pub fn audit_log(&self) -> AuditLog {
        AuditLog::new(&self.bucket, None)
    }

    /// The policy object, validated.
    pub async fn policy(&self) -> Result<Policy, HandlerError> {
        let key = &self.config.policy_key;
        let bytes = self.bucket.get(key).await?.ok_or_else(|| {
            HandlerError::input(format!(
                "the policy s3://{}/{key} does not exist: upload it (see docs/deployment.md)",
                self.config.bucket
            ))
        })?;
        let text = String::from_utf8_lossy(&bytes);
        Policy::from_toml(&text, &format!("s3://{}/{key}", self.config.bucket))
            .map_err(|e| HandlerError::input(e.to_string()))
    }
}

/// A run's id: its scan's time, to the millisecond.
pub fn run_id(inventory: &Inventory) -> String {
    infraqa_pipeline::report::run_id(inventory.generated_at)
}

/// The scanner's payload: `{}` (and the schedule's event) scans the configured regions
/// (`INFRAQA_REGIONS`, else the policy's), `{"regions": ["eu-west-1"]}` those regions.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScanRequest {
    /// Regions to scan instead of the policy's.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

/// What the scanner did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanDone {
    /// The run.
    pub run_id: String,
    /// Where the inventory went.
    pub inventory: String,
    /// Resources found.
    pub resources: usize,
    /// Reads that failed (units not read before the deadline among them).
    pub errors: usize,
    /// Whether the inventory is partial.
    pub partial: bool,
}

/// Scans the account by `deadline` (the Lambda's, less the time to write) and writes
/// `runs/<run-id>/inventory.json`: partial, with the units not read in `errors`, rather than
/// nothing at all.
pub async fn scanner(
    suite: &Suite,
    request: ScanRequest,
    deadline: Option<SystemTime>,
) -> Result<ScanDone, HandlerError> {
    let policy = suite.policy().await?;
    let scope = match (request.regions, &suite.config.regions) {
        (Some(regions), _) if regions.is_empty() => {
            return Err(HandlerError::input(
                "`regions` is empty: omit it to scan the configured regions".to_owned(),
            ));
        }
        (Some(regions), _) => RegionScope::List(regions),
        (None, Some(configured)) => RegionScope::List(configured.clone()),
        (None, None) => policy.scan.regions.clone(),
    };
    let deadline = scan_deadline(deadline, suite.config.scan_budget);
    let clients = &suite.aws.for_policy(&policy).await;
    let inventory = scan_until(clients, &scope, &policy.lifecycle, &Quiet, deadline)
        .await
        .map_err(|e| HandlerError::from(PipelineError::aws("scanning the account", e)))?;
    let id = run_id(&inventory);
    // Never over another run's inventory (two scans finishing in the same millisecond).
    let at = suite
        .run(&id)
        .put_new(
            INVENTORY,
            to_json(INVENTORY, &inventory)?,
            "application/json",
        )
        .await?
        .ok_or_else(|| HandlerError {
            retryable: true,
            message: format!(
                "runs/{id}/{INVENTORY} exists already: another scan finished in the same \
                 millisecond; nothing was replaced, and a retry scans again"
            ),
        })?;
    tracing::info!(run_id = %id, resources = inventory.resources.len(), errors = inventory.errors.len(), "scanned");
    Ok(ScanDone {
        run_id: id,
        inventory: at,
        resources: inventory.resources.len(),
        errors: inventory.errors.len(),
        partial: inventory.is_partial(),
    })
}

/// The scan's deadline: [`scan_time`] from now, no unit started within its margin.
pub(crate) fn scan_deadline(
    deadline: Option<SystemTime>,
    budget: Option<Duration>,
) -> Option<Deadline> {
    scan_time(deadline, budget).map(|left| Deadline {
        at: Instant::now() + left,
        start_margin: START_MARGIN,
    })
}

/// How long the scanner may scan: until the invocation's `deadline` less the time to write,
/// and at most `budget`. A deadline already past when the invocation starts is no deadline the
/// runtime can mean (Lambda never sends one; `cargo lambda watch` sends a fixed one in 1970):
/// it is logged and left out rather than cutting every unit.
fn scan_time(deadline: Option<SystemTime>, budget: Option<Duration>) -> Option<Duration> {
    let until_deadline = deadline.and_then(|d| match d.duration_since(SystemTime::now()) {
        Ok(left) => Some(left.saturating_sub(WRITE_MARGIN)),
        Err(_) => {
            tracing::warn!(
                deadline_unix_ms = d
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |t| t.as_millis()),
                "the invocation's deadline is already past at its start: scanning without it"
            );
            None
        }
    });
    match (until_deadline, budget) {
        (Some(left), Some(budget)) => Some(left.min(budget)),
        (left, budget) => left.or(budget),
    }
}

/// The runs whose `file` the event announces (keys `runs/<run-id>/<file>`).
fn runs_of(event: &S3Event, file: &str) -> Vec<String> {
    let mut out: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| {
            r.s3.object
                .url_decoded_key
                .clone()
                .or_else(|| r.s3.object.key.clone())
        })
        .filter_map(|key| {
            let rest = key.strip_prefix(&format!("{RUNS}/"))?;
            let (run, name) = rest.split_once('/')?;
            (name == file).then(|| run.to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What an S3-triggered handler did per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The run.
    pub run_id: String,
    /// What was written, or why nothing was (a duplicate delivery).
    pub outcome: String,
}

/// On `runs/<run-id>/inventory.json`: checks it as of `now` and writes `findings.json` (once:
/// a second delivery finds it there).
pub async fn checker(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, INVENTORY) {
        let run = suite.run(&id);
        if run.exists(FINDINGS).await? {
            out.push(Step {
                run_id: id,
                outcome: "duplicate: findings.json exists".into(),
            });
            continue;
        }
        let policy = suite.policy().await?;
        let inventory = read_document(
            &run,
            INVENTORY,
            "inventory",
            infraqa_core::document::inventory,
        )
        .await?;
        let result = infraqa_core::check::check(&inventory, &policy, now);
        let _freeing = infraqa_core::free_aside(inventory);
        let at = put_json(&run, FINDINGS, &result).await?;
        out.push(Step {
            run_id: id,
            outcome: at,
        });
    }
    Ok(out)
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

/// On `runs/<run-id>/findings.json`: writes the reports and the history entry, publishes the
/// metrics, and alerts once on the critical findings new since the previous run. A second
/// delivery finds the run's history entry and does nothing.
pub async fn reporter(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, FINDINGS) {
        let run = suite.run(&id);
        let history = suite.history();
        let inventory = read_document(
            &run,
            INVENTORY,
            "inventory",
            infraqa_core::document::inventory,
        )
        .await?;
        let entry = infraqa_pipeline::report::entry_name(&inventory);
        if history.exists(&entry).await? {
            out.push(Step {
                run_id: id,
                outcome: format!("duplicate: {} exists", history.describe(&entry)),
            });
            continue;
        }
        let policy = suite.policy().await?;
        // Read once the report has taken what it needs of the inventory.
        let findings = read_document(
            &run,
            FINDINGS,
            "findings file",
            infraqa_core::document::findings,
        );
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
        let newest = infraqa_pipeline::latest::record(
            suite.bucket(),
            infraqa_pipeline::latest::LATEST,
            &latest,
        )
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

/// The first report of a quarter writes the previous quarter's audit pack.
pub(crate) async fn quarter_pack(
    suite: &Suite,
    now: DateTime<Utc>,
) -> Result<Option<Step>, HandlerError> {
    let (from, to) = infraqa_pipeline::audit::previous_quarter(now.date_naive());
    Ok(Box::pin(audit_pack(suite, from, to, now, true))
        .await?
        .map(|written| Step {
            run_id: AUDITS.to_owned(),
            outcome: format!("audit pack {from} to {to}: {}", written.join(", ")),
        }))
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
    let (report, _) =
        infraqa_pipeline::report::produce(inventory, findings, policy, target, &suite.aws, now)
            .await?;
    let criticals = new_criticals(&report);
    let clients = suite.aws.get().await;
    let figures = RunFigures::of(&report, criticals.len(), scan_ms);
    metrics::publish(clients, &figures, report.generated_at)
        .await
        .map_err(|e| HandlerError::from(PipelineError::aws("publishing the metrics", e)))?;
    if let Some(topic) = &suite.config.alert_topic
        && !criticals.is_empty()
        && !out.exists(ALERT).await?
    {
        let link = suite.console_link(out, "report.html", clients)?;
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

/// A period to write the audit pack of, on a manual invoke: `{"audit": {"from": "2026-07-01",
/// "to": "2026-09-30"}}`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    /// The period.
    pub audit: AuditPeriod,
}

/// First and last day (UTC, inclusive).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPeriod {
    /// First day.
    pub from: chrono::NaiveDate,
    /// Last day.
    pub to: chrono::NaiveDate,
}

/// What the reporter is invoked with: a period to write the audit pack of (a manual invoke),
/// a planned run over several accounts (the state machine), or the S3 notification of a
/// run's findings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ReporterEvent {
    /// A manual invoke with a period.
    Audit(AuditRequest),
    /// The state machine's request, once every shard is done.
    Run(crate::organization::RunRequest),
    /// A run's `findings.json` was written.
    Findings(S3Event),
}

/// The reporter's entry point for either event.
pub async fn reporter_event(
    suite: &Suite,
    event: &ReporterEvent,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    match event {
        ReporterEvent::Run(r) => {
            let done = Box::pin(crate::organization::report_run(
                suite,
                &r.organization_run,
                now,
            ))
            .await?;
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
        ReporterEvent::Findings(e) => Box::pin(reporter(suite, e, now)).await,
        ReporterEvent::Audit(AuditRequest {
            audit: AuditPeriod { from, to },
        }) => {
            let written = Box::pin(audit_pack(suite, *from, *to, now, false))
                .await?
                .unwrap_or_default();
            Ok(vec![Step {
                run_id: AUDITS.to_owned(),
                outcome: format!("audit pack {from} to {to}: {}", written.join(", ")),
            }])
        }
    }
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
    let export_name = format!("audit-{from}-{to}.json");
    if once
        && (audits.exists(&export_name).await?
            || !infraqa_pipeline::report::has_period_entries(&suite.history(), from, to).await?)
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

/// The outcome line of a tag plan made in `plan` mode.
pub(crate) fn planned(plan: &TagPlan) -> String {
    format!(
        "planned {} tag value(s) on {} resource(s)",
        plan.tag_count(),
        plan.changes.len()
    )
}

/// Writes `plan` through `aws` under the suite's change limit, recording each write in the
/// audit log; the outcome line says how many resources were written.
pub(crate) async fn apply_plan(
    suite: &Suite,
    aws: &Aws,
    plan: &TagPlan,
    policy: &Policy,
    inventory: &infraqa_core::Inventory,
) -> Result<String, HandlerError> {
    let (written, _) = infraqa_pipeline::tag::apply(
        aws,
        plan,
        policy,
        inventory,
        Some(suite.config.max_tag_changes),
        &suite.audit_log(),
    )
    .await?;
    let ok = written
        .iter()
        .filter(|w| w.outcome == infraqa_core::tagging::Outcome::Written)
        .count();
    Ok(format!(
        "wrote tags on {ok} of {} resource(s)",
        written.len()
    ))
}

/// On `runs/<run-id>/report.json`: writes the tag plan next to it, and in `apply` mode writes
/// the tags (audited). A second delivery finds the plan there and does nothing.
pub async fn tagger(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, "report.json") {
        let run = suite.run(&id);
        if run.exists(TAG_PLAN).await? {
            out.push(Step {
                run_id: id,
                outcome: format!("duplicate: {TAG_PLAN} exists"),
            });
            continue;
        }
        let policy = suite.policy().await?;
        let report = read_document(
            &run,
            "report.json",
            "report",
            infraqa_core::document::report,
        )
        .await?;
        let inventory = read_document(
            &run,
            INVENTORY,
            "inventory",
            infraqa_core::document::inventory,
        )
        .await?;
        let plan = infraqa_pipeline::tag::plan(&report, &inventory, &policy, now)?;
        let outcome = match suite.config.tagger_mode {
            TaggerMode::Plan => planned(&plan),
            TaggerMode::Apply => apply_plan(suite, &suite.aws, &plan, &policy, &inventory).await?,
        };
        put_json(&run, TAG_PLAN, &plan).await?;
        out.push(Step {
            run_id: id,
            outcome,
        });
    }
    Ok(out)
}

/// For each queued CloudTrail event: the verdict, audited once per event id, tags and alerts as
/// configured. A message that fails is returned as a batch item failure, so SQS retries it
/// and finally moves it to the dead-letter queue; it never blocks the others.
pub async fn validator(suite: &Suite, event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let policy = match suite.policy().await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, "no usable policy: every message is returned");
            None
        }
    };
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let result = match &policy {
            None => Err("no usable policy".to_owned()),
            Some(policy) => {
                validate_one(
                    suite,
                    policy,
                    message.body.as_deref().unwrap_or_default(),
                    &id,
                )
                .await
            }
        };
        if let Err(e) = result {
            tracing::error!(message_id = %id, error = %e, "event not validated");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn validate_one(suite: &Suite, policy: &Policy, body: &str, id: &str) -> Result<(), String> {
    let call = event::parse(body, &format!("SQS message {id}")).map_err(|e| e.to_string())?;
    let options = Options {
        grace: suite.config.grace,
        apply_tags: suite.config.tagger_mode == TaggerMode::Apply,
    };
    infraqa_pipeline::validation::run(
        &suite.aws,
        policy,
        &call,
        options,
        &suite.audit_log(),
        suite.config.alert_topic.as_deref(),
    )
    .await
    .map(drop)
    .map_err(|e| HandlerError::from(e).to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_time_is_the_deadline_less_the_write_margin_capped_by_the_budget() {
        let in_five_minutes = SystemTime::now() + Duration::from_secs(300);
        let left = scan_time(Some(in_five_minutes), None).unwrap();
        assert!(left <= Duration::from_secs(290) && left > Duration::from_secs(280));
        let budget = Some(Duration::from_secs(30));
        assert_eq!(scan_time(Some(in_five_minutes), budget), budget);
        assert_eq!(scan_time(None, budget), budget);
        assert_eq!(scan_time(None, None), None);
        // Closer than the write margin: nothing left to scan in.
        let soon = SystemTime::now() + Duration::from_secs(5);
        assert_eq!(scan_time(Some(soon), None), Some(Duration::ZERO));
        // A deadline in the past at the start is not one; the budget still applies.
        let fixed = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(scan_time(Some(fixed), None), None);
        assert_eq!(scan_time(Some(fixed), budget), budget);
    }
}
