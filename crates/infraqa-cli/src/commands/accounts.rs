//! `infraqa run --accounts`: each account's run (its shards scanned and checked, a bounded
//! number at once over every account, then joined and reported) into OUT/ACCOUNT_ID/, and the
//! organization's summary (`OUT/organization.*`) over them. An account that cannot be reached
//! is named there with the reason and never stops the others; the exit status says so.

use crate::args::RunArgs;
use crate::commands::{check, report, scan};
use crate::exit::CliError;
use futures_util::StreamExt;
use infraqa_aws::AwsClients;
use infraqa_aws::accounts::MemberRole;
use infraqa_aws::scan::Quiet;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::organization::{AccountLine, summarize};
use infraqa_core::policy::AccountScope;
use infraqa_core::policy::RegionScope;
use infraqa_core::{Policy, ScanError};
use infraqa_pipeline::report::ReportTarget;
use infraqa_pipeline::shards::{self, Joined, ShardOutcome};
use infraqa_pipeline::{Aws, PipelineError, Store};
use tokio::sync::Semaphore;

/// One account's run: its line in the summary, with how many of its findings are at or above
/// `--fail-on`; or why it was not reached. Its report is not kept: every account's is written.
enum Outcome {
    Reported {
        line: AccountLine,
        at_threshold: usize,
    },
    Unreachable(ScanError),
}

/// Runs every account `scope` names under `policy`, `args.parallel` at once.
pub async fn run(
    args: &RunArgs,
    policy: &Policy,
    scope: &AccountScope,
    aws: &Aws,
) -> Result<(), CliError> {
    let started = chrono::Utc::now();
    let in_flight = Semaphore::new(usize::from(args.parallel));
    let base = aws.for_policy(policy).await;
    let ids = infraqa_pipeline::accounts::resolve(&base, &policy.accounts, scope).await?;
    if ids.is_empty() {
        return Err(CliError::InvalidInput(anyhow::anyhow!(
            "no account to run over: the accounts named are all in [accounts] skip"
        )));
    }
    let role = infraqa_pipeline::accounts::member_role(&policy.accounts);
    let own = base
        .account_id()
        .await
        .map_err(|e| PipelineError::aws("reading the credentials' account", e))?;
    let history = Store::new(
        report::location(&args.out, args.options.history.as_ref()),
        aws,
    );
    let results: Vec<(String, Result<Outcome, CliError>)> = futures_util::stream::iter(&ids)
        .map(|id| {
            let (base, role, history, own) = (&base, &role, &history, own.as_str());
            let in_flight = &in_flight;
            async move {
                let outcome = one(
                    (base, own),
                    id,
                    role,
                    policy,
                    (args, in_flight),
                    aws,
                    history,
                )
                .await;
                (id.clone(), outcome)
            }
        })
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    let (mut lines, mut errors, mut at_threshold) = (Vec::new(), Vec::new(), 0);
    for (id, result) in results {
        match result {
            Ok(Outcome::Reported {
                line,
                at_threshold: n,
            }) => {
                lines.push(line);
                at_threshold += n;
            }
            Ok(Outcome::Unreachable(error)) => {
                lines.push(AccountLine::unreached(&id, &error));
                errors.push(error);
            }
            Err(e) => return Err(e.context(format!("running account {id}"))),
        }
    }
    errors.sort_by(|a, b| a.message.cmp(&b.message));
    let mut summary = summarize(lines, errors, chrono::Utc::now());
    let out = Store::new(args.out.clone(), aws);
    let written = infraqa_pipeline::accounts::write_summary(
        &out,
        &history,
        &infraqa_core::names::run_id(started),
        &mut summary,
        usize::from(args.options.trend_runs),
    )
    .await?;
    for at in written {
        println!("{at}");
    }
    let unreached = summary.errors.len();
    eprintln!(
        "{} account(s): {} reported, {unreached} not reached",
        summary.accounts.len(),
        summary.accounts.len() - unreached,
    );
    for e in &summary.errors {
        eprintln!("  not reached: {}", e.message);
    }
    if unreached > 0 {
        return Err(CliError::AwsOrStorage(anyhow::anyhow!(
            "{unreached} of {} account(s) could not be reached (the others are complete): see organization.json",
            summary.accounts.len()
        )));
    }
    match (args.options.fail_on, at_threshold) {
        (Some(threshold), n) if n > 0 => Err(CliError::FindingsAtThreshold(format!(
            "{n} finding(s) at or above {threshold} across the accounts"
        ))),
        _ => Ok(()),
    }
}

/// The run id of a local run's shard plan (a local run's shards are folders of OUT, not of a
/// run).
const LOCAL_RUN: &str = "local";

/// Reaches `id` through `role`, then scans and checks each of its shards (its global
/// services, each region) into OUT/ID/REGION/, at most `in_flight` shards at once over every
/// account; joins them as one scan and one check of the account (OUT/ID/inventory.json and
/// findings.json) and reports it into OUT/ID/. The regions are the policy's, or for `all`
/// those enabled in the account itself.
async fn one(
    (base, own): (&AwsClients, &str),
    id: &str,
    role: &MemberRole,
    policy: &Policy,
    (args, in_flight): (&RunArgs, &Semaphore),
    aws: &Aws,
    history: &Store,
) -> Result<Outcome, CliError> {
    let clients = match infraqa_pipeline::accounts::reach(base, own, id, role).await {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Unreachable(e)),
    };
    let regions = match &policy.scan.regions {
        RegionScope::List(regions) => regions.clone(),
        RegionScope::All => {
            let home = clients
                .require_home_region()
                .map_err(|e| PipelineError::aws("scanning every region", e))?;
            match infraqa_aws::scan::enabled_regions(&clients, home).await {
                Ok(regions) => regions,
                Err(e) => return Ok(Outcome::Unreachable(e.record(GLOBAL_REGION))),
            }
        }
    };
    // The plan's run id names no folder here: each shard is OUT/ID/REGION/.
    let plan = shards::plan(LOCAL_RUN, &[id.to_owned()], &regions, false);
    let run = Store::new(args.out.clone(), aws);
    let out = run.child(id);
    let now = chrono::Utc::now();
    let done: Vec<Result<ShardOutcome, PipelineError>> = futures_util::stream::iter(&plan)
        .map(|shard| {
            let (store, clients) = (out.child(&shard.region), clients.clone());
            async move {
                // Held until the shard is checked (the semaphore is never closed, so acquiring
                // cannot fail).
                let _permit = in_flight.acquire().await;
                shards::scan_into(&store, Ok(clients), shard, policy, &Quiet, None).await?;
                shards::check_into(&store, policy, now).await
            }
        })
        .buffer_unordered(plan.len())
        .collect()
        .await;
    let shards: Vec<String> = plan.into_iter().map(|s| s.region).collect();
    for outcome in done {
        outcome?;
    }
    let (inventory, findings) = match shards::join_account(&run, id, &shards, policy).await? {
        Joined::Unreached(e) => return Ok(Outcome::Unreachable(e)),
        Joined::Read { inventory, check } => (inventory, *check),
    };
    println!("{}", scan::write(&out, &inventory).await?);
    eprintln!("{id}: {}", scan::summary(&inventory));
    println!("{}", check::write(&out, &findings).await?);
    let target = ReportTarget {
        out: &out,
        history,
        trend_runs: usize::from(args.options.trend_runs),
    };
    let r = super::produce_and_print(
        inventory,
        async { Ok(findings) },
        policy,
        target,
        &Aws::from_clients(clients),
        &format!("{id}: "),
    )
    .await?;
    let at_threshold = args
        .options
        .fail_on
        .map_or(0, |t| r.findings.iter().filter(|f| f.severity >= t).count());
    Ok(Outcome::Reported {
        line: AccountLine::reported(&r, format!("{id}/report.json")),
        at_threshold,
    })
}
