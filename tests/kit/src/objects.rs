//! The suite's bucket in tests: created with its policy object; the keys under a prefix, an
//! object's bytes.

use crate::{KitError, Step};

/// The keys of `bucket` under `prefix` (one page: tests write fewer than 1,000).
pub async fn keys(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, KitError> {
    Ok(s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .step(format!("listing s3://{bucket}/{prefix}"))?
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

/// The bytes of `key` in `bucket`.
pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, KitError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .step(format!("reading s3://{bucket}/{key}"))?;
    Ok(out
        .body
        .collect()
        .await
        .step(format!("reading the body of s3://{bucket}/{key}"))?
        .to_vec())
}

/// Creates the suite's `bucket` (in the client's region) holding `policy` as `policy.toml`, as
/// a deployed stack's bucket is once its policy is uploaded.
pub async fn suite_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    policy: &str,
) -> Result<(), KitError> {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .step(format!("creating bucket {bucket}"))?;
    s3.put_object()
        .bucket(bucket)
        .key("policy.toml")
        .body(policy.as_bytes().to_vec().into())
        .send()
        .await
        .step(format!("writing s3://{bucket}/policy.toml"))?;
    Ok(())
}

/// Whether the keys of a history prefix are one run's: its entry and its kept inventory
/// (`<time>-<account>.json` and `<time>-<account>.inventory.json.gz`).
pub fn one_run(history: &[String]) -> bool {
    let [a, b] = history else { return false };
    let (entry, kept) = if a.ends_with(".inventory.json.gz") {
        (b, a)
    } else {
        (a, b)
    };
    entry
        .strip_suffix(".json")
        .is_some_and(|stem| kept.strip_suffix(".inventory.json.gz") == Some(stem))
}
