//! Where a run's files live: a local directory or an S3 prefix, behind one interface.
//!
//! Locally every file is written whole (a temporary file renamed into place; a set of files all
//! staged before any is put in place); in S3 every object is one complete PUT. Append-only logs
//! use [`Store::put_new`], which never replaces what is there.

use crate::aws::Aws;
use crate::error::PipelineError;
use infraqa_aws::objects::S3Prefix;
use infraqa_core::pack::EvidenceRetention;
use std::io::Write;
use std::path::PathBuf;

/// A directory or `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// An S3 bucket and key prefix (may be empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing slashes.
        prefix: String,
    },
}

impl std::str::FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!(
                        "`{s}` names no bucket: expected s3://BUCKET/PREFIX"
                    ));
                }
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                })
            }
            None if s.is_empty() => Err("the location is empty".to_owned()),
            None => Ok(Self::Local(PathBuf::from(s))),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Location {
    /// The location `sub` below this one.
    pub fn join(&self, sub: &str) -> Self {
        match self {
            Self::Local(p) => Self::Local(p.join(sub)),
            Self::S3 { bucket, prefix } => Self::S3 {
                bucket: bucket.clone(),
                prefix: if prefix.is_empty() {
                    sub.trim_matches('/').to_owned()
                } else {
                    format!("{prefix}/{}", sub.trim_matches('/'))
                },
            },
        }
    }
}

/// Files under a [`Location`], read and written through `aws` when it is in S3.
#[derive(Debug, Clone)]
pub struct Store {
    location: Location,
    aws: Aws,
}

impl Store {
    /// The store at `location`.
    pub fn new(location: Location, aws: &Aws) -> Self {
        Self {
            location,
            aws: aws.clone(),
        }
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The store `sub` below this one.
    pub fn child(&self, sub: &str) -> Self {
        Self::new(self.location.join(sub), &self.aws)
    }

    /// Where `name` is, as a person reads it.
    pub fn describe(&self, name: &str) -> String {
        self.location.join(name).to_string()
    }

    async fn s3(&self) -> Result<Option<S3Prefix>, PipelineError> {
        match &self.location {
            Location::Local(_) => Ok(None),
            Location::S3 { bucket, prefix } => S3Prefix::new(self.aws.get().await, bucket, prefix)
                .map(Some)
                .map_err(|e| PipelineError::aws(format!("opening {}", self.location), e)),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        match &self.location {
            Location::Local(dir) => dir.join(name),
            // Only called for local stores.
            Location::S3 { .. } => PathBuf::from(name),
        }
    }

    /// Writes `name` whole, replacing it; returns where it went.
    pub async fn put(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<String, PipelineError> {
        let what = || format!("writing {}", self.describe(name));
        match self.s3().await? {
            None => infraqa_report::store::write_atomic(&self.path(name), &bytes)
                .map(|()| self.describe(name))
                .map_err(|e| PipelineError::storage(what(), e)),
            Some(s3) => s3
                .put(name, bytes, content_type)
                .await
                .map_err(|e| PipelineError::aws(what(), e)),
        }
    }

    /// Writes `name` whole, replacing it, with its content produced by `write`: locally
    /// streamed into the staged file (a document of hundreds of megabytes is never held
    /// whole), in S3 collected for one PUT. Returns where it went.
    pub async fn put_with(
        &self,
        name: &str,
        content_type: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<String, PipelineError> {
        match self.produce(name, write)? {
            Produced::Staged(staged) => staged
                .commit()
                .map(|_| self.describe(name))
                .map_err(|e| PipelineError::storage(format!("writing {}", self.describe(name)), e)),
            Produced::Bytes(bytes) => self.put(name, bytes, content_type).await,
        }
    }

    /// Runs `write` for `name`: into a file staged beside it locally, into bytes for S3.
    fn produce(
        &self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<Produced, PipelineError> {
        let what = || format!("writing {}", self.describe(name));
        match &self.location {
            Location::Local(_) => infraqa_report::store::stage(&self.path(name), write)
                .map(Produced::Staged)
                .map_err(|e| PipelineError::storage(what(), e)),
            Location::S3 { .. } => {
                let mut bytes = Vec::new();
                write(&mut bytes).map_err(|e| PipelineError::storage(what(), e))?;
                Ok(Produced::Bytes(bytes))
            }
        }
    }

    /// Starts writing a set of files, one at a time (only one file's bytes need be in memory):
    /// locally each is staged as it is added and all are put in place by
    /// [`FileSet::finish`], so a failure leaves the previous set whole; in S3 one PUT each.
    pub fn file_set(&self) -> FileSet<'_> {
        FileSet {
            store: self,
            staged: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Writes `name` unless it exists: `None` then, and nothing is replaced.
    pub async fn put_new(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<Option<String>, PipelineError> {
        let what = || format!("writing {}", self.describe(name));
        match self.s3().await? {
            None => infraqa_report::store::write_new(&self.path(name), &bytes)
                .map(|p| p.map(|p| p.display().to_string()))
                .map_err(|e| PipelineError::storage(what(), e)),
            Some(s3) => s3
                .put_new(name, bytes, content_type)
                .await
                .map_err(|e| PipelineError::aws(what(), e)),
        }
    }

    /// What keeps what is written here from being deleted or replaced: for S3, the bucket's
    /// Object Lock default retention as read now (a failed read says so, it is not "none").
    pub async fn retention(&self) -> EvidenceRetention {
        let Location::S3 { bucket, .. } = &self.location else {
            return EvidenceRetention::LocalDirectory;
        };
        let read = match self.s3().await {
            Ok(Some(s3)) => s3.default_retention().await.map_err(|e| e.to_string()),
            Ok(None) => return EvidenceRetention::LocalDirectory,
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(Some((mode, days, years))) => EvidenceRetention::ObjectLock {
                bucket: bucket.clone(),
                mode,
                days,
                years,
            },
            Ok(None) => EvidenceRetention::NoObjectLock {
                bucket: bucket.clone(),
            },
            Err(reason) => EvidenceRetention::NotRead {
                bucket: bucket.clone(),
                reason,
            },
        }
    }

    /// The bytes of `name`, or `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, PipelineError> {
        let what = || format!("reading {}", self.describe(name));
        match self.s3().await? {
            None => match std::fs::read(self.path(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(PipelineError::storage(what(), e)),
            },
            Some(s3) => s3
                .get(name)
                .await
                .map_err(|e| PipelineError::aws(what(), e)),
        }
    }

    /// Whether `name` exists, asked by listing it (in S3, `ListObjectsV2` with the key as the
    /// prefix) rather than by reading it: a role granted `s3:ListBucket` only under a prefix
    /// may be answered 403, not 404, for a missing key it reads.
    pub async fn exists(&self, name: &str) -> Result<bool, PipelineError> {
        match self.s3().await? {
            None => Ok(self.path(name).is_file()),
            Some(s3) => {
                let key = s3.key(name);
                Ok(s3
                    .keys_matching(name, "")
                    .await
                    .map_err(|e| PipelineError::aws(format!("listing {}", self.describe(name)), e))?
                    .contains(&key))
            }
        }
    }

    /// The names of the files directly in the store that end with `suffix`, sorted, without
    /// reading them. A store that does not exist yet has none.
    pub async fn names(&self, suffix: &str) -> Result<Vec<String>, PipelineError> {
        let what = || format!("listing {}", self.location);
        let mut names = match self.s3().await? {
            None => {
                let dir = self.path("");
                let read = match std::fs::read_dir(&dir) {
                    Ok(r) => r,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(PipelineError::storage(what(), e)),
                };
                let mut names = Vec::new();
                for item in read {
                    let item = item.map_err(|e| PipelineError::storage(what(), e))?;
                    let name = item.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && name.ends_with(suffix) && item.path().is_file() {
                        names.push(name);
                    }
                }
                names
            }
            Some(s3) => s3
                .keys_matching("", suffix)
                .await
                .map_err(|e| PipelineError::aws(what(), e))?
                .into_iter()
                .map(|key| key.rsplit('/').next().unwrap_or(&key).to_owned())
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// The files `names` of the store, as (name, bytes), in the order given.
    pub async fn read_named(
        &self,
        names: Vec<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, PipelineError> {
        match self.s3().await? {
            None => names
                .into_iter()
                .map(|name| {
                    let path = self.path(&name);
                    std::fs::read(&path)
                        .map(|bytes| (name, bytes))
                        .map_err(|e| {
                            PipelineError::storage(format!("reading {}", path.display()), e)
                        })
                })
                .collect(),
            Some(s3) => {
                let keys = names.iter().map(|n| s3.key(n)).collect();
                let read = s3
                    .read_keys(keys)
                    .await
                    .map_err(|e| PipelineError::aws(format!("reading {}", self.location), e))?;
                Ok(names
                    .into_iter()
                    .zip(read.into_iter().map(|(_, b)| b))
                    .collect())
            }
        }
    }
}

/// What a write for a store produced: a staged local file, or an S3 object's bytes.
enum Produced {
    Staged(infraqa_report::store::Staged),
    Bytes(Vec<u8>),
}

/// A set of files being written (see [`Store::file_set`]).
#[derive(Debug)]
pub struct FileSet<'a> {
    store: &'a Store,
    staged: Vec<infraqa_report::store::Staged>,
    written: Vec<String>,
}

impl FileSet<'_> {
    /// Adds `files` (each a name and its content type) to the set, each one's content written
    /// by `render`. Locally each is streamed into a file staged beside its target, the first
    /// on a thread of its own while the others are staged here (give the largest first: at a
    /// million resources report.json alone takes seconds to encode); in S3 they are
    /// collected and PUT one at a time, so only one file's bytes are in memory.
    pub async fn add_all(
        &mut self,
        files: &[(&str, &str)],
        render: impl Fn(&str, &mut dyn Write) -> std::io::Result<()> + Sync,
    ) -> Result<(), PipelineError> {
        let store = self.store;
        let produce = |name: &str| store.produce(name, |w| render(name, w));
        match (&store.location, files.split_first()) {
            (Location::Local(_), Some(((first, _), rest))) => {
                let (first, rest) = infraqa_core::side_by_side(
                    || produce(first),
                    || {
                        rest.iter()
                            .map(|(name, _)| produce(name))
                            .collect::<Vec<_>>()
                    },
                );
                for (produced, (name, content_type)) in
                    std::iter::once(first).chain(rest).zip(files)
                {
                    self.keep(name, content_type, produced?).await?;
                }
            }
            _ => {
                for (name, content_type) in files {
                    self.keep(name, content_type, produce(name)?).await?;
                }
            }
        }
        Ok(())
    }

    /// Keeps a staged file for [`FileSet::finish`], or PUTs an object's bytes.
    async fn keep(
        &mut self,
        name: &str,
        content_type: &str,
        produced: Produced,
    ) -> Result<(), PipelineError> {
        match produced {
            Produced::Staged(staged) => self.staged.push(staged),
            Produced::Bytes(bytes) => self
                .written
                .push(self.store.put(name, bytes, content_type).await?),
        }
        Ok(())
    }

    /// Puts the staged files in place together; returns where every file went.
    pub fn finish(self) -> Result<Vec<String>, PipelineError> {
        let Self {
            store,
            staged,
            mut written,
        } = self;
        let paths = infraqa_report::store::commit_all(staged)
            .map_err(|e| PipelineError::storage(format!("writing into {}", store.location), e))?;
        written.extend(paths.iter().map(|p| p.display().to_string()));
        Ok(written)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_join() {
        assert_eq!(
            "s3://reports/acme/history/".parse(),
            Ok(Location::S3 {
                bucket: "reports".into(),
                prefix: "acme/history".into()
            })
        );
        let root: Location = "s3://reports".parse().unwrap();
        assert_eq!(root.join("history").to_string(), "s3://reports/history");
        assert_eq!(
            "out".parse::<Location>().unwrap().join("history"),
            Location::Local(PathBuf::from("out/history"))
        );
        assert!("s3:///x".parse::<Location>().is_err());
        assert!("".parse::<Location>().is_err());
    }

    #[tokio::test]
    async fn a_local_store_writes_whole_files_lists_and_never_replaces_with_put_new() {
        let dir = tempfile::tempdir().unwrap();
        let aws = Aws::new(infraqa_aws::AwsOptions::default());
        let store = Store::new(Location::Local(dir.path().join("run")), &aws);
        assert!(
            store.names(".json").await.unwrap().is_empty(),
            "missing is empty"
        );
        store
            .put("a.json", b"1".to_vec(), "application/json")
            .await
            .unwrap();
        let mut set = store.file_set();
        set.add_all(
            &[("b.json", "application/json"), ("c.txt", "text/plain")],
            |name, w| w.write_all(if name == "b.json" { b"2" } else { b"3" }),
        )
        .await
        .unwrap();
        assert!(
            store.get("b.json").await.unwrap().is_none(),
            "nothing is in place before the set is finished"
        );
        assert_eq!(set.finish().unwrap().len(), 2);
        assert!(
            store
                .put_new("a.json", b"9".to_vec(), "application/json")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.get("a.json").await.unwrap().unwrap(), b"1");
        assert_eq!(store.get("nope.json").await.unwrap(), None);
        let names = store.names(".json").await.unwrap();
        assert_eq!(names, ["a.json", "b.json"]);
        let read = store.read_named(names).await.unwrap();
        assert_eq!(read[1], ("b.json".to_owned(), b"2".to_vec()));
    }
}
