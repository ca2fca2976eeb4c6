//! Writing result files: complete or not at all (see `infraqa_report::store`).

use crate::exit::CliError;
use serde::Serialize;
use std::path::Path;

/// Writes `value` as pretty JSON to `path` atomically; a failure is a storage failure (exit 3).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CliError> {
    Ok(infraqa_report::store::write_json_atomic(path, value)?)
}
