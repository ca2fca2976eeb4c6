//! One module per subcommand; `dispatch` routes a parsed command line to it.

pub mod audit;
pub mod aws;
pub mod check;
pub mod history;
pub mod output;
pub mod policy;
pub mod report;
pub mod scan;
pub mod tag;
pub mod validate;

use crate::args::{Cli, Command, PolicyCommand};
use crate::exit::CliError;
use aws::LazyClients;
use infraqa_aws::AwsClients;

/// Runs the subcommand `cli` names.
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => {
            let printed = policy::check(&file)?;
            print!("{printed}");
            Ok(())
        }
        Command::Check(args) => {
            let policy = policy::load(&args.policy)?;
            let inventory = check::load_inventory(&args.inventory)?;
            let result = infraqa_core::check::check(&inventory, &policy, chrono::Utc::now());
            let path = check::write(&args.out, &result)?;
            eprintln!("{}", check::summary(&result));
            println!("{}", path.display());
            check::enforce(&result.findings, args.fail_on)
        }
        Command::Report(args) => {
            let policy = policy::load(&args.policy)?;
            let inventory = check::load_inventory(&args.inventory)?;
            let findings = report::load_findings(&args.findings)?;
            let aws = LazyClients::new(&cli.global);
            report_and_print(
                &inventory,
                &findings,
                &policy,
                &args.out,
                &args.options,
                &aws,
            )
            .await
        }
        Command::Run(args) => {
            let policy = policy::load(&args.policy)?;
            let aws = LazyClients::new(&cli.global);
            let inventory = scan::scan(aws.get().await, &policy, !cli.global.quiet).await?;
            println!("{}", scan::write(&args.out, &inventory)?.display());
            eprintln!("{}", scan::summary(&inventory));
            let findings = infraqa_core::check::check(&inventory, &policy, chrono::Utc::now());
            println!("{}", check::write(&args.out, &findings)?.display());
            report_and_print(
                &inventory,
                &findings,
                &policy,
                &args.out,
                &args.options,
                &aws,
            )
            .await
        }
        Command::Audit(args) => {
            let history = args
                .history
                .clone()
                .unwrap_or_else(|| history::HistoryLocation::Local(args.dir.join("history")));
            let aws = LazyClients::new(&cli.global);
            let log = audit::AuditLog::new(&args.dir, args.history.as_ref(), &aws);
            let x = audit::export(&aws, &history, &log, args.from, args.to).await?;
            let out = args.out.clone().unwrap_or_else(|| {
                args.dir
                    .join(format!("audit-{}-{}.json", args.from, args.to))
            });
            output::write_json(&out, &x)?;
            eprintln!(
                "{} run(s) of {} account(s) and {} remediation action(s) between {} and {}",
                x.runs.len(),
                x.accounts.len(),
                x.remediation_actions.len(),
                args.from,
                args.to
            );
            println!("{}", out.display());
            Ok(())
        }
        Command::Tag(args) => tag::run(&args, &LazyClients::new(&cli.global)).await,
        Command::Validate(args) => validate::run(&args, &LazyClients::new(&cli.global)).await,
        Command::Scan(args) => {
            let policy = policy::load(&args.policy)?;
            let clients = AwsClients::load(cli.global.aws_options()).await;
            let inventory = scan::scan(&clients, &policy, !cli.global.quiet).await?;
            let path = scan::write(&args.out, &inventory)?;
            eprintln!("{}", scan::summary(&inventory));
            println!("{}", path.display());
            Ok(())
        }
    }
}

/// The report half of `report` and `run`: build, write, append history, print, and exit 4
/// with `--fail-on` when a finding at or above it exists.
async fn report_and_print(
    inventory: &infraqa_core::Inventory,
    findings: &infraqa_core::check::CheckResult,
    policy: &infraqa_core::Policy,
    out: &std::path::Path,
    options: &crate::args::ReportOptions,
    aws: &LazyClients<'_>,
) -> Result<(), CliError> {
    let target = report::Target {
        out,
        history: report::location(out, options.history.as_ref()),
        trend_runs: usize::from(options.trend_runs),
        aws,
    };
    let (r, written) = report::produce(inventory, findings, policy, target).await?;
    eprintln!("{}", report::summary(&r));
    for p in written {
        println!("{}", p.display());
    }
    check::enforce(&r.findings, options.fail_on)
}
