//! `infraqa policy check FILE`.

use crate::exit::CliError;
use anyhow::Context;
use infraqa_core::Policy;
use std::path::Path;

/// Reads and validates the policy at `path`.
pub fn load(path: &Path) -> Result<Policy, CliError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy file {}", path.display()))
        .map_err(CliError::InvalidInput)?;
    Ok(Policy::from_toml(&text, &path.display().to_string())?)
}

/// Validates the policy at `path`, prints its warnings on stderr, and returns the effective
/// policy as TOML.
pub fn check(path: &Path) -> Result<String, CliError> {
    let policy = load(path)?;
    for warning in policy.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(format!(
        "# effective policy from {} (defaults filled in)\n{}",
        path.display(),
        policy.to_toml()
    ))
}
