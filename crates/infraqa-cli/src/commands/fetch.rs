//! `infraqa fetch`: the deployed suite's reports, downloaded.

use super::aws::Aws;
use crate::args::FetchArgs;
use crate::exit::CliError;
use infraqa_pipeline::latest::{Which, fetch};
use std::path::Path;

/// Runs `infraqa fetch`.
pub async fn run(args: &FetchArgs, aws: &Aws) -> Result<(), CliError> {
    let which = match (&args.run, args.organization) {
        (Some(id), _) => Which::Run(id.clone()),
        (None, true) => Which::LatestOrganization,
        (None, false) => Which::Latest,
    };
    let fetched = fetch(aws, &args.stack, &which, args.out.as_deref()).await?;
    eprintln!(
        "run {} from s3://{}/ ({} file(s))",
        fetched.run_id,
        fetched.bucket,
        fetched.files.len()
    );
    for path in &fetched.files {
        println!("{}", path.display());
    }
    if args.open
        && let Some(html) = fetched
            .files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "html"))
    {
        open(html);
    }
    Ok(())
}

/// Opens `file` with the system's opener, when one is on the PATH; says so when none is.
fn open(file: &Path) {
    for opener in ["xdg-open", "open"] {
        match std::process::Command::new(opener)
            .arg(file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(_) => {
                eprintln!("opened {} with {opener}", file.display());
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!("could not open {} with {opener}: {e}", file.display());
                return;
            }
        }
    }
    eprintln!(
        "no opener (xdg-open or open) here: open {} yourself",
        file.display()
    );
}
