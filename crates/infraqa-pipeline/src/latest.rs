//! The newest report, by a stable name: the suite's reporter records each run's report files in
//! `latest.json` (an organization run's in `latest-organization.json`) at the top of its bucket,
//! replaced only by a run of a newer inventory, so the alert, the dashboard and
//! `infraqa fetch` find today's report without listing `runs/`.

use crate::error::PipelineError;
use crate::report::put_json;
use crate::store::{Location, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `latest.json` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// The run.
    pub run_id: String,
    /// When its inventory was taken: a run replaces the record only when this is not older.
    pub inventory_generated_at: DateTime<Utc>,
    /// When its report was made.
    pub report_generated_at: DateTime<Utc>,
    /// The compliance score (0-100).
    pub compliance_score: f64,
    /// Each report file by name (`report.html`, ...) to its key in the bucket.
    pub files: BTreeMap<String, String>,
}

/// The report files of a run that a person opens or downloads, most useful first.
pub const REPORT_FILES: [&str; 4] = ["report.html", "report.md", "report.json", "findings.csv"];
/// An organization run's summary files.
pub const ORGANIZATION_FILES: [&str; 4] = [
    "organization.html",
    "organization.md",
    "organization.json",
    "organization.csv",
];

/// The key of `name` in `store`'s bucket (its prefix and the name).
pub fn key(store: &Store, name: &str) -> String {
    match store.location().join(name) {
        Location::S3 { prefix, .. } => prefix,
        Location::Local(_) => name.to_owned(),
    }
}

/// Records `latest` as `name` in `root` unless the record there is of a newer inventory (a late
/// report of an older inventory leaves it); returns whether it was written.
pub async fn record(root: &Store, name: &str, latest: &Latest) -> Result<bool, PipelineError> {
    if root.exists(name).await?
        && let Some(bytes) = root.get(name).await?
    {
        // A record that cannot be read is replaced: it names nothing a reader could use.
        if let Ok(current) = serde_json::from_slice::<Latest>(&bytes)
            && current.inventory_generated_at > latest.inventory_generated_at
        {
            return Ok(false);
        }
    }
    put_json(root, name, latest).await?;
    Ok(true)
}

/// The record `name` in `root`; a missing or unreadable one is bad input naming it.
pub async fn read(root: &Store, name: &str) -> Result<Latest, PipelineError> {
    let bytes = root.get(name).await?.ok_or_else(|| {
        PipelineError::input(format!(
            "{} does not exist: the suite has not reported a run yet",
            root.describe(name)
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        PipelineError::input(format!(
            "{} is not a latest-report record: {e}",
            root.describe(name)
        ))
    })
}

/// Downloads `files` (name to key in `bucket`) into `dir`, each written whole (staged, then
/// renamed into place); returns the paths written, in the order given. A file the bucket does
/// not have is an error naming it.
pub async fn download(
    bucket: &Store,
    files: &[(String, String)],
    dir: &Path,
) -> Result<Vec<PathBuf>, PipelineError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| PipelineError::storage(format!("creating {}", dir.display()), e))?;
    let mut out = Vec::new();
    for (name, key) in files {
        let bytes = bucket.get(key).await?.ok_or_else(|| {
            PipelineError::input(format!("{} does not exist", bucket.describe(key)))
        })?;
        let path = dir.join(name);
        infraqa_report::store::write_atomic(&path, &bytes)
            .map_err(|e| PipelineError::storage(format!("writing {}", path.display()), e))?;
        out.push(path);
    }
    Ok(out)
}

/// The stack output naming the suite's bucket.
pub const BUCKET_OUTPUT: &str = "ReportsBucketName";

/// What [`fetch`] brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The run whose reports they are.
    pub run_id: String,
    /// The bucket they came from.
    pub bucket: String,
    /// The files written, most useful first.
    pub files: Vec<PathBuf>,
}

/// Which run's reports [`fetch`] brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// The newest single-account run (`latest.json`).
    Latest,
    /// The newest organization run's summary (`latest-organization.json`).
    LatestOrganization,
    /// The run with this id.
    Run(String),
}

/// Downloads the reports of a run of the suite deployed as the stack `stack` (the bucket its
/// `ReportsBucketName` output names) into `dir` (default `reports/<run-id>`).
pub async fn fetch(
    aws: &crate::Aws,
    stack: &str,
    which: &Which,
    dir: Option<&Path>,
) -> Result<Fetched, PipelineError> {
    let outputs = infraqa_aws::stacks::outputs(aws.get().await, stack)
        .await
        .map_err(|e| PipelineError::aws(format!("describing the stack {stack}"), e))?;
    let bucket = outputs.get(BUCKET_OUTPUT).cloned().ok_or_else(|| {
        PipelineError::input(format!(
            "the stack {stack} has no output {BUCKET_OUTPUT}: is it infraqa's stack?"
        ))
    })?;
    let root = Store::new(
        Location::S3 {
            bucket: bucket.clone(),
            prefix: String::new(),
        },
        aws,
    );
    let (run_id, files): (String, Vec<(String, String)>) = match which {
        Which::Latest | Which::LatestOrganization => {
            let name = if *which == Which::Latest {
                infraqa_core::names::LATEST
            } else {
                infraqa_core::names::LATEST_ORGANIZATION
            };
            let latest = read(&root, name).await?;
            (latest.run_id, latest.files.into_iter().collect())
        }
        Which::Run(id) => {
            if id.is_empty() || id.contains('/') || id.starts_with('.') {
                return Err(PipelineError::input(format!("`{id}` is not a run id")));
            }
            let run = root.child(infraqa_core::names::RUNS).child(id);
            let files = REPORT_FILES
                .iter()
                .map(|f| ((*f).to_owned(), key(&run, f)))
                .collect();
            (id.clone(), files)
        }
    };
    // The record's own order is by name; a person opens report.html first.
    let mut files = files;
    files.sort_by_key(|(name, _)| !name.ends_with(".html"));
    let dir = dir.map_or_else(|| Path::new("reports").join(&run_id), Path::to_path_buf);
    let written = download(&root, &files, &dir).await?;
    Ok(Fetched {
        run_id,
        bucket,
        files: written,
    })
}
