//! The checker: a run's inventory checked into its `findings.json` (the S3 notification), or
//! one shard of a run over several accounts (the state machine).

use crate::events::{ChainDone, ChainEvent, ShardDone, ShardRequest, Step};
use crate::suite::{HandlerError, Suite, runs_of};
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, Utc};
use infraqa_core::names::{FINDINGS, INVENTORY};
use infraqa_pipeline::report::check_stored;
use infraqa_pipeline::shards::{self, Shard};

/// The checker's entry point for either event.
pub async fn handle(
    suite: &Suite,
    event: &ChainEvent<ShardRequest>,
    now: DateTime<Utc>,
) -> Result<ChainDone<ShardDone>, HandlerError> {
    match event {
        ChainEvent::Direct(r) => Box::pin(check_shard(suite, &r.shard, now))
            .await
            .map(ChainDone::Direct),
        ChainEvent::Object(e) => Box::pin(check_runs(suite, e, now))
            .await
            .map(ChainDone::Object),
    }
}

/// On `runs/<run-id>/inventory.json`: checks it as of `now` and writes `findings.json` (once:
/// a second delivery finds it there).
pub async fn check_runs(
    suite: &Suite,
    event: &S3Event,
    now: DateTime<Utc>,
) -> Result<Vec<Step>, HandlerError> {
    let mut out = Vec::new();
    for id in runs_of(event, INVENTORY) {
        let run = suite.run(&id);
        if run.exists(FINDINGS).await? {
            out.push(Step::duplicate(id, FINDINGS));
            continue;
        }
        let policy = suite.policy().await?;
        let at = check_stored(&run, &policy, now).await?.at;
        out.push(Step {
            run_id: id,
            outcome: at,
        });
    }
    Ok(out)
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
