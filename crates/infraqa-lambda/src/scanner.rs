//! The scanner: the account's scan by the invocation's deadline (the schedule, a console
//! invoke), and for the state machine of a run over several accounts the run's plan and one
//! shard's scan.

use crate::events::{Planned, ScanDone, ScanRequest, ScannerDone, ScannerEvent, ShardDone};
use crate::suite::{HandlerError, Suite, reach, run_id};
use chrono::{DateTime, Utc};
use infraqa_aws::scan::{Deadline, Quiet, scan_until};
use infraqa_core::names::{INVENTORY, RUNS};
use infraqa_core::policy::RegionScope;
use infraqa_pipeline::PipelineError;
use infraqa_pipeline::report::to_json;
use infraqa_pipeline::shards::{self, Shard};
use std::time::{Duration, Instant, SystemTime};

/// Time kept back from the Lambda deadline to write the inventory.
const WRITE_MARGIN: Duration = Duration::from_secs(10);
/// No scan unit starts closer than this to the scan's deadline.
const START_MARGIN: Duration = Duration::from_secs(20);

/// The scanner's entry point for any of its events.
pub async fn handle(
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
        ScannerEvent::Scan(r) => Box::pin(scan(suite, r, deadline))
            .await
            .map(ScannerDone::Scan),
    }
}

/// Scans the account by `deadline` (the Lambda's, less the time to write) and writes
/// `runs/<run-id>/inventory.json`: partial, with the units not read in `errors`, rather than
/// nothing at all.
pub async fn scan(
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
    let inventory = scan_until(clients, &scope, &policy, &Quiet, deadline)
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
fn scan_deadline(deadline: Option<SystemTime>, budget: Option<Duration>) -> Option<Deadline> {
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
    let run_id = infraqa_core::names::run_id(now);
    let plan = shards::plan(&run_id, &accounts, &regions, every_enabled);
    shards::write_plan(&suite.run(&run_id), &plan).await?;
    tracing::info!(run_id = %run_id, accounts = accounts.len(), shards = plan.len(), "planned");
    Ok(Planned {
        shards_key: format!("{RUNS}/{run_id}/{}", infraqa_core::names::PLAN),
        bucket: suite.config.bucket.clone(),
        accounts: accounts.len(),
        shards: plan.len(),
        run_id,
    })
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
    let deadline = scan_deadline(deadline, suite.config.scan_budget);
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
