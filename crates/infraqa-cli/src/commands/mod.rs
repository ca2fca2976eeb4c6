//! One module per subcommand; `dispatch` routes a parsed command line to it.

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod backtest;
pub mod check;
pub mod export;
pub mod fetch;
pub mod fix;
pub mod frameworks;
pub mod output;
pub mod policy;
pub mod report;
pub mod scan;
pub mod tag;
pub mod validate;

use crate::args::{Cli, Command, FrameworksCommand, PolicyCommand};
use crate::exit::CliError;
use aws::Aws;
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::report::ReportTarget;
use infraqa_pipeline::{Location, PipelineError, Store};

/// Runs the subcommand `cli` names.
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let aws = aws::aws(&cli.global);
    match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => {
            let printed = policy::check(&file)?;
            print!("{printed}");
            Ok(())
        }
        Command::Frameworks(FrameworksCommand::List) => {
            print!("{}", frameworks::list()?);
            Ok(())
        }
        Command::Frameworks(FrameworksCommand::Show { id, json }) => {
            print!("{}", frameworks::show(&id, json)?);
            Ok(())
        }
        Command::Check(args) => {
            let policy = policy::load(&args.policy)?;
            let inventory = check::load_inventory(&args.inventory).await?;
            let result = infraqa_core::check::check(&inventory, &policy, chrono::Utc::now());
            let _freeing = infraqa_core::free_aside(inventory);
            let at = check::write(&Store::new(args.out.clone(), &aws), &result).await?;
            eprintln!("{}", check::summary(&result));
            println!("{at}");
            check::enforce(&result.findings, args.fail_on)
        }
        Command::Report(args) => {
            let policy = policy::load(&args.policy)?;
            let inventory = check::load_inventory(&args.inventory).await?;
            // The findings are read once the report has taken what it needs of the inventory.
            let findings = report::load_findings(&args.findings);
            report_and_print(inventory, findings, &policy, &args.out, &args.options, &aws).await
        }
        Command::Run(args) => {
            let policy = policy::load(&args.policy)?;
            let scope = args.accounts.as_ref().unwrap_or(&policy.accounts.ids);
            if *scope != infraqa_core::policy::AccountScope::Own {
                return accounts::run(&args, &policy, &scope.clone(), &aws).await;
            }
            let out = Store::new(args.out.clone(), &aws);
            let inventory =
                scan::scan(&aws.for_policy(&policy).await, &policy, !cli.global.quiet).await?;
            println!("{}", scan::write(&out, &inventory).await?);
            eprintln!("{}", scan::summary(&inventory));
            let findings = infraqa_core::check::check(&inventory, &policy, chrono::Utc::now());
            println!("{}", check::write(&out, &findings).await?);
            let findings = async { Ok(findings) };
            report_and_print(inventory, findings, &policy, &args.out, &args.options, &aws).await
        }
        Command::Backtest(args) => {
            let policy = policy::load(&args.policy)?;
            let rule = args.rule.as_deref().map(backtest::rule).transpose()?;
            let history = Store::new(args.history.clone(), &aws);
            let b = infraqa_pipeline::backtest::backtest(&history, &policy, rule).await?;
            print!(
                "{}",
                backtest::render(&b, &history.describe(""), args.json)?
            );
            Ok(())
        }
        Command::Audit(args) => {
            let dir = Location::Local(args.dir.clone());
            let history = Store::new(report::location(&dir, args.history.as_ref()), &aws);
            let log = AuditLog::new(&Store::new(dir, &aws), Some(&history));
            let x = audit::export(&history, &log, args.from, args.to).await?;
            let policy = args.policy.as_deref().map(policy::load).transpose()?;
            let files = infraqa_pipeline::audit::pack_files(&x, policy.as_ref())?;
            let json_name = infraqa_core::names::pack_export(args.from, args.to);
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| args.dir.join(&json_name));
            let mut written = Vec::new();
            // The export where --out says, the rest of the pack beside it.
            for (name, bytes) in &files {
                let path = if *name == json_name {
                    out.clone()
                } else {
                    out.with_file_name(name)
                };
                infraqa_report::store::write_atomic(&path, bytes)?;
                written.push(path);
            }
            eprintln!(
                "{} run(s) of {} account(s) and {} remediation action(s) between {} and {}",
                x.runs.len(),
                x.accounts.len(),
                x.remediation_actions.len(),
                args.from,
                args.to
            );
            for path in &written {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Tag(args) => tag::run(&args, &aws).await,
        Command::Fix(args) => fix::run(&args, &aws).await,
        Command::Fetch(args) => fetch::run(&args, &aws).await,
        Command::Export(args) => export::run(&args, &aws).await,
        Command::Validate(args) => validate::run(&args, &aws).await,
        Command::Scan(args) => {
            let policy = policy::load(&args.policy)?;
            let inventory =
                scan::scan(&aws.for_policy(&policy).await, &policy, !cli.global.quiet).await?;
            let at = scan::write(&Store::new(args.out.clone(), &aws), &inventory).await?;
            eprintln!("{}", scan::summary(&inventory));
            println!("{at}");
            Ok(())
        }
    }
}

/// The report half of `report` and `run`: build, write, append history, print, and exit 4
/// with `--fail-on` when a finding at or above it exists.
async fn report_and_print(
    inventory: infraqa_core::Inventory,
    findings: impl Future<Output = Result<infraqa_core::check::CheckResult, PipelineError>>,
    policy: &infraqa_core::Policy,
    out: &Location,
    options: &crate::args::ReportOptions,
    aws: &Aws,
) -> Result<(), CliError> {
    let out_store = Store::new(out.clone(), aws);
    let history = Store::new(report::location(out, options.history.as_ref()), aws);
    let target = ReportTarget {
        out: &out_store,
        history: &history,
        trend_runs: usize::from(options.trend_runs),
    };
    let r = produce_and_print(inventory, findings, policy, target, aws, "").await?;
    check::enforce(&r.findings, options.fail_on)
}

/// Builds the report and writes every format and the history into `target`, then prints where
/// each went and the summary line (after `label`).
async fn produce_and_print(
    inventory: infraqa_core::Inventory,
    findings: impl Future<Output = Result<infraqa_core::check::CheckResult, PipelineError>>,
    policy: &infraqa_core::Policy,
    target: ReportTarget<'_>,
    aws: &Aws,
    label: &str,
) -> Result<infraqa_core::report::Report, CliError> {
    let (r, written) = infraqa_pipeline::report::produce(
        inventory,
        findings,
        policy,
        target,
        aws,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| CliError::from(e).context("making the reports"))?;
    eprintln!("{label}{}", report::summary(&r));
    for p in written {
        println!("{p}");
    }
    Ok(r)
}
