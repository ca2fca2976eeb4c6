//! Local files: atomic writes, and decoding history entries.
//!
//! Every write goes to a uniquely named temporary file in the target's directory, is flushed
//! to disk, renamed over the target, and the directory entry is flushed too: a crash or a
//! concurrent writer leaves the old file or a new one, never half of one. A report's files are
//! all staged before any is put in place, so a failure while writing them leaves the previous
//! report whole.

use infraqa_core::history::HistoryEntry;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that could not be read, written or parsed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The filesystem refused.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// A file written whole under a temporary name beside its target and flushed to disk, not yet
/// in place. Dropped without [`Staged::commit`], it is removed and the target is untouched.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

/// Writes a file under a unique temporary name in `path`'s directory (created if missing),
/// its content written by `write` as it is produced (buffered), so a file of hundreds of
/// megabytes is never held whole in memory.
pub fn stage(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Staged, StoreError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("creating directory", dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".infraqa-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("creating a temporary file in", dir))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(io("writing", tmp.path()))?;
    drop(out);
    tmp.as_file()
        .sync_all()
        .map_err(io("writing", tmp.path()))?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

impl Staged {
    /// The target.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the target can be replaced by a file (it is not a directory).
    fn replaceable(&self) -> Result<(), StoreError> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_dir() => Err(io("replacing", &self.path)(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "a directory is in the way",
            ))),
            _ => Ok(()),
        }
    }

    /// Renames the file over its target and flushes the directory entry.
    pub fn commit(self) -> Result<PathBuf, StoreError> {
        let Self { tmp, path } = self;
        tmp.persist(&path)
            .map_err(|e| io("replacing", &path)(e.error))?;
        // The rename is durable only once the directory is flushed (not possible on every
        // platform: a failure to open the directory is not a failed write).
        if let Some(dir) = path.parent()
            && let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            d.sync_all().map_err(io("flushing directory", dir))?;
        }
        Ok(path)
    }
}

/// Writes `bytes` to `path` atomically unless `path` exists: `Ok(None)` then, and the
/// existing file is untouched (an append-only log's entries are never replaced).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<Option<PathBuf>, StoreError> {
    let Staged { tmp, path } = stage(path, |w| w.write_all(bytes))?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(Some(path)),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(io("creating", &path)(e.error)),
    }
}

/// Puts every staged file in place, after checking that none of their targets is in the
/// way, so a set of files is replaced all together or (short of a failing rename) not at all.
pub fn commit_all(staged: Vec<Staged>) -> Result<Vec<PathBuf>, StoreError> {
    for s in &staged {
        s.replaceable()?;
    }
    staged.into_iter().map(Staged::commit).collect()
}

/// Writes `bytes` to `path` atomically, creating its directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    stage(path, |w| w.write_all(bytes))?.commit().map(drop)
}

/// Decodes the history entry `name`, or says why it is skipped.
pub fn decode_entry(name: &str, bytes: &[u8]) -> Result<HistoryEntry, String> {
    infraqa_core::document::history_entry(bytes)
        .map_err(|e| format!("history entry {name} skipped: {e}"))
}

/// Decodes the history entries in `files` (name, bytes). A file that does not parse is
/// skipped and named in the returned problems, so one damaged file never blocks a run.
pub fn decode_entries(files: Vec<(String, Vec<u8>)>) -> (Vec<HistoryEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (name, bytes) in files {
        match decode_entry(&name, &bytes) {
            Ok(e) => entries.push(e),
            Err(problem) => problems.push(problem),
        }
    }
    entries.sort_by_key(|e| e.generated_at);
    (entries, problems)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.json");
        write_atomic(&path, b"[1, 2, 3]").unwrap();
        write_atomic(&path, b"[4]").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(serde_json::from_str::<Vec<i32>>(&text).unwrap(), vec![4]);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    }

    #[test]
    fn an_unwritable_target_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = write_atomic(&blocker.join("out.json"), b"1").unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
    }

    #[test]
    fn a_set_is_replaced_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        commit_all(vec![
            stage(&a, |w| w.write_all(b"1")).unwrap(),
            stage(&b, |w| w.write_all(b"1")).unwrap(),
        ])
        .unwrap();
        // b's place is taken by a directory: neither file is replaced, no temporary is left.
        std::fs::remove_file(&b).unwrap();
        std::fs::create_dir(&b).unwrap();
        let err = commit_all(vec![
            stage(&a, |w| w.write_all(b"2")).unwrap(),
            stage(&b, |w| w.write_all(b"2")).unwrap(),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("b.json") && err.contains("directory"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
