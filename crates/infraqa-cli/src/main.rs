//! `infraqa`: keeps an AWS estate honest. See `infraqa --help`.

use clap::Parser;
use infraqa_cli::{Cli, ExitStatus, logging};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.verbose, cli.global.quiet);
    match infraqa_cli::run(cli).await {
        Ok(()) => ExitStatus::Success.into(),
        Err(err) => {
            eprintln!("infraqa: {}", err.render());
            err.status().into()
        }
    }
}
