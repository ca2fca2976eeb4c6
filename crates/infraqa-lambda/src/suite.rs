//! What every function works with: the configuration, the clients and the suite's bucket
//! ([`Suite`]), the error a handler returns ([`HandlerError`]), and the steps several functions
//! share (a run's id, the runs an S3 notification announces, reaching a member account, a
//! planned run's accounts).

use crate::config::Config;
use aws_lambda_events::event::s3::S3Event;
use infraqa_aws::AwsClients;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::names::{AUDITS, HISTORY, RUNS};
use infraqa_core::{Inventory, Policy, ScanError};
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::shards::{self, Shard};
use infraqa_pipeline::{Aws, Location, PipelineError, Store};
use std::collections::BTreeMap;

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

    pub(crate) fn input(message: String) -> Self {
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
    infraqa_core::names::run_id(inventory.generated_at)
}

/// The runs whose `file` the event announces (keys `runs/<run-id>/<file>`).
pub(crate) fn runs_of(event: &S3Event, file: &str) -> Vec<String> {
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

/// The clients acting in `account`: the suite's own for its own account, else through the
/// policy's member role.
pub(crate) async fn reach(
    suite: &Suite,
    policy: &Policy,
    account: &str,
) -> Result<AwsClients, ScanError> {
    let base = suite.aws.for_policy(policy).await;
    let own = base
        .account_id()
        .await
        .map_err(|e| e.record(GLOBAL_REGION))?;
    let role = infraqa_pipeline::accounts::member_role(&policy.accounts);
    infraqa_pipeline::accounts::reach(&base, &own, account, &role).await
}

/// The run's accounts and each one's shards (regions), from its plan.
pub(crate) async fn planned_accounts(
    run: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, Vec<String>>, HandlerError> {
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for shard in shards::read_plan(run).await? {
        if shard.run_id != run_id {
            return Err(HandlerError::from(PipelineError::input(format!(
                "{} names shard {} of run {}, not of run {run_id}",
                run.describe(infraqa_core::names::PLAN),
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

/// The run's folder, once its id is known to be one.
pub(crate) fn checked_run(suite: &Suite, run_id: &str) -> Result<Store, HandlerError> {
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
