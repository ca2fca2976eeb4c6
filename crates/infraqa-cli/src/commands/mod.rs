//! One module per subcommand; `dispatch` routes a parsed command line to it.

pub mod check;
pub mod output;
pub mod policy;
pub mod scan;

use crate::args::{Cli, Command, PolicyCommand};
use crate::exit::CliError;
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
            check::enforce(&result, args.fail_on)
        }
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
