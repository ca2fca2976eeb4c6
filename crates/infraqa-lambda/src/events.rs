//! What each function is invoked with and answers: the schedule's and console's requests, the
//! state machine's requests of a run over several accounts, and the S3 notifications of the
//! single-account chain, each read as the one it is.

use aws_lambda_events::event::s3::S3Event;
use infraqa_pipeline::shards::{Shard, ShardOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// What an S3-triggered handler did per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The run.
    pub run_id: String,
    /// What was written, or why nothing was (a duplicate delivery).
    pub outcome: String,
}

impl Step {
    /// A second delivery for `run_id`: `what` exists already, so nothing is done.
    pub fn duplicate(run_id: String, what: &str) -> Self {
        Self {
            run_id,
            outcome: duplicate(what),
        }
    }
}

/// The outcome of a second delivery: `what` exists already.
pub fn duplicate(what: &str) -> String {
    format!("duplicate: {what} exists")
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
    Run(RunRequest),
    /// A run's `findings.json` was written.
    Findings(S3Event),
}

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
    pub(crate) fn of(shard: &Shard, outcome: ShardOutcome) -> Self {
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

/// What the tagger did over a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTagged {
    /// The run.
    pub run_id: String,
    /// Per account: what was planned or written, or why nothing was.
    pub accounts: BTreeMap<String, String>,
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
    Scan(ScanRequest),
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
    Scan(ScanDone),
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
    Object(Vec<Step>),
}
