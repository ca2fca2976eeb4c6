//! The `infraqa` command line: argument parsing, logging set-up, exit codes, and one module
//! per subcommand. Each subcommand is a thin shell over library calls in `infraqa-core` and
//! `infraqa-aws`; nothing here decides compliance.

pub mod args;
pub mod commands;
pub mod exit;
pub mod logging;

pub use args::Cli;
pub use exit::{CliError, ExitStatus};

/// Runs a parsed command line to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    commands::dispatch(cli).await
}
