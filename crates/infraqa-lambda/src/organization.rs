//! The steps of a run over several accounts, as the stack's state machine calls them (see
//! `template.yaml`, `OrganizationRun`): the scanner plans the shards and scans one shard per
//! map item, the checker checks it, the reporter joins each account's shards into its report
//! and writes the organization's summary, and the tagger tags each account.
//!
//! ```text
//! runs/<run-id>/shards.json                         scanner {"plan": {}}
//! runs/<run-id>/<account>/<region>/inventory.json   scanner {"shard": {...}}
//! runs/<run-id>/<account>/<region>/findings.json    checker {"shard": {...}}
//! runs/<run-id>/<account>/report.*                  reporter {"organization_run": "<run-id>"}
//! runs/<run-id>/organization.json, .md              reporter
//! runs/<run-id>/<account>/tag-plan.json             tagger {"organization_run": "<run-id>"}
//! ```
//!
//! Every step can be retried: a shard is scanned and checked again over its previous files,
//! an account with its history entry is not reported twice, nor tagged twice.

use crate::config::TaggerMode;
use crate::handlers::{HandlerError, RUNS, Suite, TAG_PLAN, quarter_pack, report_account};
use chrono::{DateTime, Utc};
use infraqa_aws::AwsClients;
use infraqa_aws::scan::Quiet;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::organization::{AccountLine, summarize};
use infraqa_core::policy::RegionScope;
use infraqa_core::{Policy, ScanError};
use infraqa_pipeline::report::{put_json, read_document};
use infraqa_pipeline::shards::{self, Joined, Shard, ShardOutcome};
use infraqa_pipeline::{Aws, PipelineError, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The scanner's request to plan a run: `{"plan": {}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Nothing yet: the policy's `[accounts]` and the configured regions decide.
    pub plan: PlanOptions,
}

/// Options of a plan (none: the object is there for the state machine to name the step).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOptions {}

/// A shard to scan or check: `{"shard": {"run_id": ..., "account": ..., "region": ...}}`, one
/// item of the plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardRequest {
    /// The shard.
    pub shard: Shard,
}

/// The reporter's and the tagger's request for a whole planned run:
/// `{"organization_run": "<run-id>"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The run.
    pub organization_run: String,
}

/// The plan written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    /// The run.
    pub run_id: String,
    /// The suite's bucket, where the plan is.
    pub bucket: String,
    /// The plan's key (a JSON array of shards: the map's items).
    pub shards_key: String,
    /// How many accounts.
    pub accounts: usize,
    /// How many shards.
    pub shards: usize,
}

/// Plans a run: the policy's accounts (`[accounts]`, less `skip`) times the global services
/// and the configured regions (`INFRAQA_REGIONS`, else the policy's `[scan] regions`; for
/// `all`, the regions enabled in the suite's own account), written as
/// `runs/<run-id>/shards.json`.
pub async fn plan(suite: &Suite, now: DateTime<Utc>) -> Result<Planned, HandlerError> {
    let policy = suite.policy().await?;
    let clients = suite.aws.for_policy(&policy).await;
    let accounts =
        infraqa_pipeline::accounts::resolve(&clients, &policy.accounts, &policy.accounts.ids)
            .await?;
    if accounts.is_empty() {
        return Err(HandlerError::from(PipelineError::input(
            "no account to run over: the accounts named are all in [accounts] skip",
        )));
    }
    let every_enabled = suite.config.regions.is_none() && policy.scan.regions == RegionScope::All;
    let regions = match (&suite.config.regions, &policy.scan.regions) {
        (Some(configured), _) => configured.clone(),
        (None, RegionScope::List(listed)) => listed.clone(),
        (None, RegionScope::All) => {
            let home = clients
                .require_home_region()
                .map_err(|e| PipelineError::aws("planning the run", e))?;
            infraqa_aws::scan::enabled_regions(&clients, home)
                .await
                .map_err(|e| PipelineError::aws("listing the enabled regions", e))?
        }
    };
    let run_id = infraqa_pipeline::report::run_id(now);
    let plan = shards::plan(&run_id, &accounts, &regions, every_enabled);
    shards::write_plan(&suite.run(&run_id), &plan).await?;
    tracing::info!(run_id = %run_id, accounts = accounts.len(), shards = plan.len(), "planned");
    Ok(Planned {
        shards_key: format!("{RUNS}/{run_id}/{}", shards::PLAN),
        bucket: suite.config.bucket.clone(),
        accounts: accounts.len(),
        shards: plan.len(),
        run_id,
    })
}

/// What a shard's step did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDone {
    /// The shard.
    pub shard: Shard,
    /// Whether its account was reached.
    pub reached: bool,
    /// Resources found (scan) or findings (check).
    pub count: usize,
    /// Reads that failed.
    pub errors: usize,
}

impl ShardDone {
    fn of(shard: &Shard, outcome: ShardOutcome) -> Self {
        let (reached, count, errors) = match outcome {
            ShardOutcome::Read { count, errors } => (true, count, errors),
            ShardOutcome::Unreached => (false, 0, 1),
        };
        Self {
            shard: shard.clone(),
            reached,
            count,
            errors,
        }
    }
}

/// The clients acting in `account`: the suite's own for its own account, else through the
/// policy's member role.
async fn reach(suite: &Suite, policy: &Policy, account: &str) -> Result<AwsClients, ScanError> {
    let base = suite.aws.for_policy(policy).await;
    let own = base
        .account_id()
        .await
        .map_err(|e| e.record(GLOBAL_REGION))?;
    let role = infraqa_pipeline::accounts::member_role(&policy.accounts);
    infraqa_pipeline::accounts::reach(&base, &own, account, &role).await
}

/// Scans one shard by `deadline` into `runs/<run-id>/<account>/<region>/inventory.json`; an
/// account that cannot be reached (or read at all) leaves `unreached.json` with why instead,
/// and the step succeeds: the report names it.
pub async fn scan_shard(
    suite: &Suite,
    shard: &Shard,
    deadline: Option<SystemTime>,
) -> Result<ShardDone, HandlerError> {
    shard.validate()?;
    let policy = suite.policy().await?;
    let reached = reach(suite, &policy, &shard.account).await;
    if let Err(e) = &reached {
        tracing::warn!(shard = %shard.label(), error = %e.message, "not reached");
    }
    let deadline = crate::handlers::scan_deadline(deadline, suite.config.scan_budget);
    let outcome = shards::scan_into(
        &shard.store(&suite.runs()),
        reached,
        shard,
        &policy,
        &Quiet,
        deadline,
    )
    .await?;
    Ok(ShardDone::of(shard, outcome))
}

/// Checks one scanned shard as of `now` into its `findings.json`; a shard whose account was
/// not reached has nothing to check.
pub async fn check_shard(
    suite: &Suite,
    shard: &Shard,
    now: DateTime<Utc>,
) -> Result<ShardDone, HandlerError> {
    shard.validate()?;
    let policy = suite.policy().await?;
    let outcome = shards::check_into(&shard.store(&suite.runs()), &policy, now).await?;
    Ok(ShardDone::of(shard, outcome))
}

/// What the reporter made of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReported {
    /// The run.
    pub run_id: String,
    /// Accounts in the run.
    pub accounts: usize,
    /// Accounts reported (complete or partial).
    pub reported: usize,
    /// Accounts no shard of which was read.
    pub unreached: usize,
    /// Where the organization's summary went.
    pub summary: Vec<String>,
}

/// The run's accounts and each one's shards (regions), from its plan.
async fn planned_accounts(
    run: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, Vec<String>>, HandlerError> {
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for shard in shards::read_plan(run).await? {
        if shard.run_id != run_id {
            return Err(HandlerError::from(PipelineError::input(format!(
                "{} names shard {} of run {}, not of run {run_id}",
                run.describe(shards::PLAN),
                shard.label(),
                shard.run_id
            ))));
        }
        by_account
            .entry(shard.account)
            .or_default()
            .push(shard.region);
    }
    Ok(by_account)
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
        inventory_generated_at: infraqa_pipeline::report::run_time(run_id).unwrap_or(now),
        report_generated_at: now,
        compliance_score: summary.compliance_score.unwrap_or_default(),
        files: infraqa_pipeline::latest::ORGANIZATION_FILES
            .iter()
            .map(|f| ((*f).to_owned(), infraqa_pipeline::latest::key(&run, f)))
            .collect(),
    };
    infraqa_pipeline::latest::record(
        suite.bucket(),
        infraqa_pipeline::latest::LATEST_ORGANIZATION,
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

/// The run's folder, once its id is known to be one.
fn checked_run(suite: &Suite, run_id: &str) -> Result<Store, HandlerError> {
    Shard {
        run_id: run_id.to_owned(),
        account: "000000000000".to_owned(),
        region: GLOBAL_REGION.to_owned(),
        planned_regions: None,
        every_enabled: false,
    }
    .validate()?;
    Ok(suite.run(run_id))
}

/// The summary line of an account whose report of this run is written already (its report
/// and its history entry), read from its report.
async fn already_reported(
    out: &Store,
    history: &Store,
    account: &str,
    link: String,
) -> Result<Option<AccountLine>, HandlerError> {
    if !out.exists("report.json").await? {
        return Ok(None);
    }
    let report =
        read_document(out, "report.json", "report", infraqa_core::document::report).await?;
    let entry = infraqa_pipeline::report::entry_name_at(report.inventory_generated_at, account);
    if !history.exists(&entry).await? {
        return Ok(None);
    }
    Ok(Some(AccountLine::reported(&report, link)))
}

/// What the tagger did over a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTagged {
    /// The run.
    pub run_id: String,
    /// Per account: what was planned or written, or why nothing was.
    pub accounts: BTreeMap<String, String>,
}

/// Plans the tags of every reported account of the run `run_id`, into
/// `runs/<run-id>/<account>/tag-plan.json`, and in `apply` mode writes them in the account
/// (through the member role; audited). An account without a report (not reached) is skipped;
/// one with its plan written already is not tagged again.
pub async fn tag_run(
    suite: &Suite,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<RunTagged, HandlerError> {
    let run = checked_run(suite, run_id)?;
    let accounts = planned_accounts(&run, run_id).await?;
    let policy = suite.policy().await?;
    let mut out = BTreeMap::new();
    for (account, regions) in &accounts {
        let store = run.child(account);
        let outcome = if store.exists(TAG_PLAN).await? {
            format!("duplicate: {TAG_PLAN} exists")
        } else if !store.exists("report.json").await? {
            "not reported: nothing to tag".to_owned()
        } else {
            tag_account(suite, &policy, &run, (account, regions), now).await?
        };
        out.insert(account.clone(), outcome);
    }
    Ok(RunTagged {
        run_id: run_id.to_owned(),
        accounts: out,
    })
}

/// Plans (and in `apply` mode writes) the tags of the reported `account`, whose shards are
/// `regions`, from its report and its shards' inventories joined again.
async fn tag_account(
    suite: &Suite,
    policy: &Policy,
    run: &Store,
    (account, regions): (&str, &[String]),
    now: DateTime<Utc>,
) -> Result<String, HandlerError> {
    let store = &run.child(account);
    let report = read_document(
        store,
        "report.json",
        "report",
        infraqa_core::document::report,
    )
    .await?;
    let inventory = match shards::join_account(run, account, regions, policy).await? {
        Joined::Read { inventory, .. } => inventory,
        Joined::Unreached(e) => {
            return Err(HandlerError::from(PipelineError::input(format!(
                "account {account} has a report but no shard to tag from: {}",
                e.message
            ))));
        }
    };
    let plan = infraqa_pipeline::tag::plan(&report, &inventory, policy, now)?;
    let outcome = match suite.config.tagger_mode {
        TaggerMode::Plan => crate::handlers::planned(&plan),
        TaggerMode::Apply => match reach(suite, policy, account).await {
            Err(e) => format!("not reached: {}", e.message),
            Ok(clients) => {
                crate::handlers::apply_plan(
                    suite,
                    &Aws::from_clients(clients),
                    &plan,
                    policy,
                    &inventory,
                )
                .await?
            }
        },
    };
    put_json(store, TAG_PLAN, &plan).await?;
    Ok(outcome)
}

/// `value` as a `T`, its error naming the request it was read as.
fn read_as<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, E> {
    serde_json::from_value(value).map_err(|e| E::custom(format!("{what}: {e}")))
}

/// What the scanner is invoked with: a plan request, a shard, or (the schedule's event, a
/// console invoke) a scan of the account.
#[derive(Debug, Clone)]
pub enum ScannerEvent {
    /// `{"plan": {}}`.
    Plan(PlanRequest),
    /// `{"shard": {...}}`.
    Shard(ShardRequest),
    /// Anything else: the single-account scan.
    Scan(crate::handlers::ScanRequest),
}

impl<'de> Deserialize<'de> for ScannerEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if v.get("plan").is_some() {
            read_as(v, "a plan request").map(Self::Plan)
        } else if v.get("shard").is_some() {
            read_as(v, "a shard request").map(Self::Shard)
        } else {
            read_as(v, "a scan request").map(Self::Scan)
        }
    }
}

/// What the scanner did, per request.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ScannerDone {
    /// The plan.
    Planned(Planned),
    /// A shard's scan.
    Shard(ShardDone),
    /// The account's scan.
    Scan(crate::handlers::ScanDone),
}

/// The scanner's entry point for any of its events.
pub async fn scanner_event(
    suite: &Suite,
    event: ScannerEvent,
    deadline: Option<SystemTime>,
    now: DateTime<Utc>,
) -> Result<ScannerDone, HandlerError> {
    // Boxed: the futures together are deeper than the compiler lays out inline.
    match event {
        ScannerEvent::Plan(_) => Box::pin(plan(suite, now)).await.map(ScannerDone::Planned),
        ScannerEvent::Shard(r) => Box::pin(scan_shard(suite, &r.shard, deadline))
            .await
            .map(ScannerDone::Shard),
        ScannerEvent::Scan(r) => Box::pin(crate::handlers::scanner(suite, r, deadline))
            .await
            .map(ScannerDone::Scan),
    }
}

/// What the checker or the tagger is invoked with: a shard or run of the state machine, or
/// the S3 notification of the single-account chain.
#[derive(Debug, Clone)]
pub enum ChainEvent<T> {
    /// The state machine's request.
    Direct(T),
    /// An object was written.
    Object(aws_lambda_events::event::s3::S3Event),
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for ChainEvent<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if v.get("Records").is_some() {
            read_as(v, "an S3 notification").map(Self::Object)
        } else {
            read_as(v, "a state machine request").map(Self::Direct)
        }
    }
}

/// What the checker or the tagger did, per request.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ChainDone<T> {
    /// The state machine's request.
    Direct(T),
    /// Per run of the notification.
    Object(Vec<crate::handlers::Step>),
}

/// The checker's entry point for either event.
pub async fn checker_event(
    suite: &Suite,
    event: &ChainEvent<ShardRequest>,
    now: DateTime<Utc>,
) -> Result<ChainDone<ShardDone>, HandlerError> {
    match event {
        ChainEvent::Direct(r) => Box::pin(check_shard(suite, &r.shard, now))
            .await
            .map(ChainDone::Direct),
        ChainEvent::Object(e) => Box::pin(crate::handlers::checker(suite, e, now))
            .await
            .map(ChainDone::Object),
    }
}

/// The tagger's entry point for either event.
pub async fn tagger_event(
    suite: &Suite,
    event: &ChainEvent<RunRequest>,
    now: DateTime<Utc>,
) -> Result<ChainDone<RunTagged>, HandlerError> {
    // Boxed: the two futures together are deeper than the compiler lays out inline.
    match event {
        ChainEvent::Direct(r) => Box::pin(tag_run(suite, &r.organization_run, now))
            .await
            .map(ChainDone::Direct),
        ChainEvent::Object(e) => Box::pin(crate::handlers::tagger(suite, e, now))
            .await
            .map(ChainDone::Object),
    }
}
