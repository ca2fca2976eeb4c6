//! One module per subcommand; `dispatch` routes a parsed command line to it.

pub mod policy;

use crate::args::{Cli, Command, PolicyCommand};
use crate::exit::CliError;

/// Runs the subcommand `cli` names.
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => {
            let printed = policy::check(&file)?;
            print!("{printed}");
            Ok(())
        }
    }
}
