//! Objects under an S3 prefix: where `--out s3://...`, `--history s3://...` and the Lambda
//! functions keep inventories, findings, reports, history entries and the audit log. Each PUT
//! carries a complete object, so a crash never leaves half of one.

use crate::{AwsClients, AwsError};
use aws_sdk_s3::primitives::ByteStream;

/// Objects are read this many at a time.
const READ_CONCURRENCY: usize = 16;

/// A bucket and key prefix.
#[derive(Debug, Clone)]
pub struct S3Prefix {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Prefix {
    /// The objects under `s3://bucket/prefix`, through the configured (home) region.
    pub fn new(clients: &AwsClients, bucket: &str, prefix: &str) -> Result<Self, AwsError> {
        let region = clients.require_home_region()?;
        let prefix = prefix.trim_matches('/');
        Ok(Self {
            client: clients.s3(region),
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    /// The object key for `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The keys directly under `prefix/sub` (not in deeper "folders") that end with `suffix`,
    /// listed without reading the objects.
    pub async fn keys_matching(&self, sub: &str, suffix: &str) -> Result<Vec<String>, AwsError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.key(sub))
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::call("s3", "ListObjectsV2", e))?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key)
                    .filter(|k| k.ends_with(suffix)),
            );
        }
        Ok(keys)
    }

    /// The objects `keys` (whole keys, as listed), as (key, bytes), a few at a time.
    pub async fn read_keys(&self, keys: Vec<String>) -> Result<Vec<(String, Vec<u8>)>, AwsError> {
        use futures_util::{StreamExt, TryStreamExt};
        futures_util::stream::iter(keys)
            .map(|key| async move {
                let out = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| AwsError::call("s3", "GetObject", e))?;
                let bytes = self.body(&key, out.body).await?;
                Ok((key, bytes))
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Writes `name` under the prefix unless it exists: `Ok(None)` then (an append-only log's
    /// objects are never replaced). Checked with `HeadObject` first; two writers racing on the
    /// same name within that window both write the same content.
    pub async fn put_new(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<Option<String>, AwsError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .send()
            .await
        {
            Ok(_) => return Ok(None),
            Err(e) => {
                let err = AwsError::call("s3", "HeadObject", e);
                if !matches!(err.code(), "NotFound" | "NoSuchKey" | "HttpStatus404") {
                    return Err(err);
                }
            }
        }
        self.put(name, bytes, content_type).await.map(Some)
    }

    /// The object `name` under the prefix, or `None` when there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let key = self.key(name);
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::call("s3", "GetObject", e);
                return if matches!(err.code(), "NoSuchKey" | "NotFound" | "HttpStatus404") {
                    Ok(None)
                } else {
                    Err(err.naming(&format!("s3://{}/{key}", self.bucket)))
                };
            }
        };
        Ok(Some(self.body(&key, out.body).await?))
    }

    /// A `GetObject` body, read whole (a connection cut halfway is a retryable error).
    async fn body(&self, key: &str, body: ByteStream) -> Result<Vec<u8>, AwsError> {
        let bytes = body.collect().await.map_err(|e| AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: "InvalidResponse".into(),
            message: format!("reading s3://{}/{key}: {e}", self.bucket),
            retryable: true,
            cause: Box::new(e),
        })?;
        Ok(bytes.to_vec())
    }

    /// The bucket's Object Lock default retention: `(mode, days, years)`, or `None` when the
    /// bucket has no Object Lock or no default retention.
    pub async fn default_retention(
        &self,
    ) -> Result<Option<(String, Option<i32>, Option<i32>)>, AwsError> {
        let out = match self
            .client
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::call("s3", "GetObjectLockConfiguration", e);
                return if err.code() == "ObjectLockConfigurationNotFoundError" {
                    Ok(None)
                } else {
                    Err(err.naming(&format!("s3://{}", self.bucket)))
                };
            }
        };
        let Some(retention) = out
            .object_lock_configuration()
            .and_then(|c| c.rule())
            .and_then(|r| r.default_retention())
        else {
            return Ok(None);
        };
        // S3 gives days or years; a zero in the other field (as some implementations send) is
        // no period.
        let positive = |n: Option<i32>| n.filter(|n| *n > 0);
        Ok(retention.mode().map(|m| {
            (
                m.as_str().to_owned(),
                positive(retention.days()),
                positive(retention.years()),
            )
        }))
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Writes one complete object `name` under the prefix.
    pub async fn put(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<String, AwsError> {
        let key = self.key(name);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| AwsError::call("s3", "PutObject", e))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
