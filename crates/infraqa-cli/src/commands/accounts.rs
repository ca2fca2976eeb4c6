//! `infraqa run --accounts`: each account's run (scan, check, report) into OUT/ACCOUNT_ID/,
//! a bounded number at once, and `OUT/organization.json` and `organization.md` over them. An
//! account that cannot be reached is named there with the reason and never stops the others;
//! the exit status says so.

use crate::args::RunArgs;
use crate::commands::{check, report, scan};
use crate::exit::CliError;
use futures_util::StreamExt;
use infraqa_aws::AwsClients;
use infraqa_aws::accounts::MemberRole;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::organization::{AccountLine, summarize};
use infraqa_core::policy::AccountScope;
use infraqa_core::{Policy, ScanError};
use infraqa_pipeline::report::ReportTarget;
use infraqa_pipeline::{Aws, PipelineError, Store};

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
            async move {
                let outcome = one((base, own), id, role, policy, args, aws, history).await;
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
        &infraqa_pipeline::report::run_id(started),
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

/// Reaches `id` through `role`, then scans, checks and reports it into OUT/ID/.
async fn one(
    (base, own): (&AwsClients, &str),
    id: &str,
    role: &MemberRole,
    policy: &Policy,
    args: &RunArgs,
    aws: &Aws,
    history: &Store,
) -> Result<Outcome, CliError> {
    let clients = match infraqa_pipeline::accounts::reach(base, own, id, role).await {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Unreachable(e)),
    };
    // A scan that cannot start (the account's identity unread) read nothing of the account:
    // it is named as not reached, like a role that cannot be assumed.
    let scanned = infraqa_aws::scan::scan(
        &clients,
        &policy.scan.regions,
        &policy.lifecycle,
        &infraqa_aws::scan::Quiet,
    )
    .await;
    let inventory = match scanned {
        Ok(inventory) => inventory,
        Err(e) => return Ok(Outcome::Unreachable(e.record(GLOBAL_REGION))),
    };
    let out = Store::new(args.out.join(id), aws);
    println!("{}", scan::write(&out, &inventory).await?);
    eprintln!("{id}: {}", scan::summary(&inventory));
    let findings = infraqa_core::check::check(&inventory, policy, chrono::Utc::now());
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
