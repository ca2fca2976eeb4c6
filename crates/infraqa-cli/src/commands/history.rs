//! Where run history lives: a local directory or `s3://bucket/prefix`.

use super::aws::LazyClients;
use crate::exit::CliError;
use anyhow::anyhow;
use infraqa_aws::history::S3History;
use infraqa_core::history::HistoryEntry;
use infraqa_report::store::{LocalHistory, decode_entries, entry_name};
use std::path::PathBuf;

/// A history store location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryLocation {
    /// A local directory.
    Local(PathBuf),
    /// An S3 bucket and key prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix (may be empty).
        prefix: String,
    },
}

impl std::str::FromStr for HistoryLocation {
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
                    prefix: prefix.to_owned(),
                })
            }
            None if s.is_empty() => Err("the history location is empty".to_owned()),
            None => Ok(Self::Local(PathBuf::from(s))),
        }
    }
}

impl std::fmt::Display for HistoryLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

fn storage(context: String) -> impl FnOnce(anyhow::Error) -> CliError {
    move |e| CliError::AwsOrStorage(e.context(context))
}

async fn s3_store(
    aws: &LazyClients<'_>,
    bucket: &str,
    prefix: &str,
) -> Result<S3History, CliError> {
    S3History::new(aws.get().await, bucket, prefix).map_err(|e| CliError::InvalidInput(anyhow!(e)))
}

impl HistoryLocation {
    /// Every entry (oldest first) and the entries that could not be used (named, skipped).
    pub async fn load(
        &self,
        aws: &LazyClients<'_>,
    ) -> Result<(Vec<HistoryEntry>, Vec<String>), CliError> {
        let ctx = format!("reading history from {self}");
        match self {
            Self::Local(dir) => LocalHistory::new(dir)
                .load()
                .map_err(|e| storage(ctx)(anyhow!(e))),
            Self::S3 { bucket, prefix } => {
                let files = s3_store(aws, bucket, prefix)
                    .await?
                    .read_all()
                    .await
                    .map_err(|e| storage(ctx)(anyhow!(e)))?;
                Ok(decode_entries(files))
            }
        }
    }

    /// Appends one entry; returns where it went.
    pub async fn append(
        &self,
        aws: &LazyClients<'_>,
        entry: &HistoryEntry,
    ) -> Result<String, CliError> {
        let ctx = format!("appending to history {self}");
        match self {
            Self::Local(dir) => LocalHistory::new(dir)
                .append(entry)
                .map(|p| p.display().to_string())
                .map_err(|e| storage(ctx)(anyhow!(e))),
            Self::S3 { bucket, prefix } => {
                let bytes = serde_json::to_vec_pretty(entry)
                    .map_err(|e| storage(ctx.clone())(anyhow!(e)))?;
                s3_store(aws, bucket, prefix)
                    .await?
                    .put(&entry_name(entry), bytes, "application/json")
                    .await
                    .map_err(|e| storage(ctx)(anyhow!(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            "s3://reports/acme/history".parse(),
            Ok(HistoryLocation::S3 {
                bucket: "reports".into(),
                prefix: "acme/history".into()
            })
        );
        assert_eq!(
            "s3://reports".parse(),
            Ok(HistoryLocation::S3 {
                bucket: "reports".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            "out/history".parse(),
            Ok(HistoryLocation::Local("out/history".into()))
        );
        assert!("s3:///x".parse::<HistoryLocation>().is_err());
        assert!("".parse::<HistoryLocation>().is_err());
    }
}
