//! Reading the documents infraqa wrote (checked for kind and version), and writing result
//! files: complete or not at all (see `infraqa_report::store`).

use crate::exit::CliError;
use anyhow::Context;
use infraqa_core::document::DocumentError;
use serde::Serialize;
use std::path::Path;

/// Reads the `what` (e.g. "inventory") at `path` with `parse`; a missing file or a document of
/// another kind or version is bad input (exit 2) naming the file.
pub fn read_document<T>(
    path: &Path,
    what: &str,
    parse: fn(&[u8]) -> Result<T, DocumentError>,
) -> Result<T, CliError> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read {} (the {what})", path.display()))
        .map_err(CliError::InvalidInput)?;
    parse(&bytes).map_err(|e| {
        CliError::from(e).context(format!("{} is not a usable infraqa {what}", path.display()))
    })
}

/// Writes `value` as pretty JSON to `path` atomically; a failure is a storage failure (exit 3).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CliError> {
    Ok(infraqa_report::store::write_json_atomic(path, value)?)
}
