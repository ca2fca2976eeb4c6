//! Reading the documents infraqa wrote back from local files (checked for kind and version by
//! the pipeline's reader).

use crate::exit::CliError;
use infraqa_core::document::DocumentError;
use infraqa_pipeline::{Aws, Location, PipelineError, Store};
use std::path::{Path, PathBuf};

/// `name` in the directory of `file` (the current one for a bare file name).
pub fn beside(file: &Path, name: &str) -> PathBuf {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

/// `value` as pretty JSON, for stdout.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::AwsOrStorage(anyhow::anyhow!(e)))
}

/// Reads the `what` (e.g. "inventory") at `path` with `parse`; a missing file or a document of
/// another kind or version is bad input (exit 2) naming the file.
pub async fn read_document<T>(
    path: &Path,
    what: &str,
    parse: fn(&[u8]) -> Result<T, DocumentError>,
) -> Result<T, PipelineError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A local store never loads AWS configuration.
    let store = Store::new(
        Location::Local(dir.to_path_buf()),
        &Aws::new(Default::default()),
    );
    infraqa_pipeline::report::read_document(&store, &name, what, parse).await
}
