//! S3: every bucket the account owns, with the configuration the rules read.
//!
//! Buckets are listed for the whole account, but each lives in a region and is read at that
//! region's endpoint. A scanned region's unit reads the buckets S3 lists under that region
//! (`BucketRegion`); the global unit reads every other bucket (a region outside the scan, or
//! the legacy `EU` location), so `region-approved` judges them all. One unfiltered
//! `ListBuckets` names each bucket's region and serves every unit of a scan; a service that
//! leaves the region out (emulators) costs the regions' filtered listings and, for a bucket none
//! of them lists, a `GetBucketLocation`.
//!
//! Per-bucket calls dominate a scan, so each bucket costs only what can change an answer:
//! encryption, public access block and logging; the policy status only when the effective block
//! does not already neutralise public policies, and the ACL only when it does not neutralise
//! public ACLs. Tags come in bulk from each scanned region's tagging API; only a bucket outside
//! the scanned regions costs a `GetBucketTagging`. Versioning is not read: no rule uses it, and
//! it would cost one more call per bucket.

use super::{Ctx, Only, to_utc};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_s3::types as t;
use futures_util::StreamExt;
use infraqa_core::iam::PolicyDocument;
use infraqa_core::model::{
    BucketEncryption, GLOBAL_REGION, PublicAccessBlock, PublicGrantee, ResourceDetails, S3Bucket,
    Tags,
};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType, ScanError};
use std::collections::{BTreeMap, BTreeSet};

const SVC: &str = "s3";
/// Buckets read at once; the S3 rate limiter paces the calls themselves.
const BUCKET_CONCURRENCY: usize = 16;

/// The account-level public access block (S3 Control). A missing configuration means all four
/// flags are false; an unreadable one too (the rule catalogue says so: the bucket's own block
/// then decides), and the failure is recorded.
pub async fn account_public_access_block(ctx: &Ctx<'_>, sink: &mut Sink) -> PublicAccessBlock {
    let client = match ctx.clients.s3control() {
        Ok(c) => c,
        Err(e) => {
            sink.error(ctx.region, &e);
            return PublicAccessBlock::default();
        }
    };
    match client
        .get_public_access_block()
        .account_id(ctx.account_id)
        .send()
        .await
    {
        Ok(out) => out
            .public_access_block_configuration()
            .map(|c| {
                flags(
                    c.block_public_acls(),
                    c.ignore_public_acls(),
                    c.block_public_policy(),
                    c.restrict_public_buckets(),
                )
            })
            .unwrap_or_default(),
        Err(e) => {
            let err = AwsError::call("s3control", "GetPublicAccessBlock", e);
            absent_or_unread(
                sink,
                ctx.region,
                err,
                "NoSuchPublicAccessBlockConfiguration",
                PublicAccessBlock::default(),
            )
            .read()
            .copied()
            .unwrap_or_default()
        }
    }
}

/// The four flags as S3 and S3 Control return them; an absent flag is false.
pub(crate) fn flags(
    block_acls: Option<bool>,
    ignore_acls: Option<bool>,
    block_policy: Option<bool>,
    restrict: Option<bool>,
) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: block_acls.unwrap_or(false),
        ignore_public_acls: ignore_acls.unwrap_or(false),
        block_public_policy: block_policy.unwrap_or(false),
        restrict_public_buckets: restrict.unwrap_or(false),
    }
}

pub(crate) fn encryption(
    config: Option<&t::ServerSideEncryptionConfiguration>,
) -> BucketEncryption {
    let Some(config) = config else {
        return BucketEncryption::None;
    };
    for rule in config.rules() {
        if let Some(d) = rule.apply_server_side_encryption_by_default() {
            let key_id = d.kms_master_key_id().map(str::to_owned);
            return match d.sse_algorithm() {
                t::ServerSideEncryption::Aes256 => BucketEncryption::SseS3,
                t::ServerSideEncryption::AwsKms => BucketEncryption::SseKms { key_id },
                t::ServerSideEncryption::AwsKmsDsse => BucketEncryption::SseKmsDsse { key_id },
                // An algorithm this SDK does not know is still encryption by default.
                _ => BucketEncryption::SseKms { key_id },
            };
        }
    }
    BucketEncryption::None
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn public_grantees(grants: &[t::Grant]) -> Vec<PublicGrantee> {
    let mut out = Vec::new();
    for g in grants {
        let grantee = match g.grantee().and_then(|g| g.uri()) {
            Some(ALL_USERS) => PublicGrantee::AllUsers,
            Some(AUTHENTICATED_USERS) => PublicGrantee::AuthenticatedUsers,
            _ => continue,
        };
        if !out.contains(&grantee) {
            out.push(grantee);
        }
    }
    out
}

/// The account's buckets ([`list_account`]), or the failed listing (recorded by the global
/// unit, for the region `global`).
pub type Listing = Result<AccountBuckets, ScanError>;

/// The account's buckets, each with the region S3 lists it under where known.
#[derive(Debug, Clone, Default)]
pub struct AccountBuckets {
    /// Every bucket.
    pub buckets: Vec<t::Bucket>,
    /// The scanned regions whose filtered listing, asked to place a bucket listed without its
    /// region, failed: their units list their region again (and record a failure).
    pub unplaced: BTreeSet<String>,
}

/// Lists every bucket of the account at the home region's endpoint. A bucket listed without
/// its region (emulators leave `BucketRegion` out) is placed by the `scanned` regions'
/// filtered listings; one none of them lists stays without a region.
pub async fn list_account(ctx: &Ctx<'_>, scanned: &[String]) -> Listing {
    let mut sink = Sink::default();
    // No MaxBuckets: some emulators truncate without a continuation token when it is set.
    let stream = ctx
        .clients
        .s3(ctx.region)
        .list_buckets()
        .into_paginator()
        .send();
    let pages = sink.pages(GLOBAL_REGION, SVC, "ListBuckets", stream).await;
    if let Some(e) = sink.errors.into_iter().next() {
        return Err(e);
    }
    let mut all: Vec<t::Bucket> = pages
        .into_iter()
        .flat_map(|p| p.buckets.unwrap_or_default())
        .collect();
    let mut unplaced = BTreeSet::new();
    if all.iter().any(|b| b.bucket_region.is_none()) {
        for region in scanned {
            let mut part = Sink::default();
            let listed: BTreeSet<String> = list_region(&ctx.clients.s3(region), region, &mut part)
                .await
                .into_iter()
                .filter_map(|b| b.name)
                .collect();
            if !part.errors.is_empty() {
                unplaced.insert(region.clone());
                continue;
            }
            for b in all.iter_mut().filter(|b| b.bucket_region.is_none()) {
                if b.name.as_ref().is_some_and(|n| listed.contains(n)) {
                    b.bucket_region = Some(region.clone());
                }
            }
        }
    }
    Ok(AccountBuckets {
        buckets: all,
        unplaced,
    })
}

/// The region a bucket location names: `EU` is the legacy name of eu-west-1, and no location
/// (or an empty one) is us-east-1.
pub fn location_region(location: Option<&str>) -> String {
    match location {
        None | Some("") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(region) => region.to_owned(),
    }
}

/// Collects the buckets S3 lists under `ctx.region` (or those of them `only` names).
///
/// `listing` is the account's listing when the scan made one ([`list_account`]): it serves
/// this unit without a call unless it failed or could not place this region's buckets. Otherwise
/// `ListBuckets` is asked at the region's own endpoint for that region's buckets
/// (`BucketRegion`). Each region is its own
/// scan unit under its own S3 limiter, so regions read in parallel. The listing runs alongside
/// `account_block` (the account's public access block, needed only once a bucket's own block
/// is known), never after it.
pub async fn collect(
    ctx: &Ctx<'_>,
    account_block: impl Future<Output = PublicAccessBlock>,
    listing: impl Future<Output = Option<Listing>>,
    only: Only<'_>,
    policy: bool,
) -> Sink {
    collect_from(
        ctx,
        account_block,
        listing,
        only,
        &ctx.clients.s3(ctx.region),
        policy,
    )
    .await
}

/// [`collect`] with a given client (tests pass a mocked one).
pub async fn collect_from(
    ctx: &Ctx<'_>,
    account_block: impl Future<Output = PublicAccessBlock>,
    listing: impl Future<Output = Option<Listing>>,
    only: Only<'_>,
    s3: &aws_sdk_s3::Client,
    policy: bool,
) -> Sink {
    let mut sink = Sink::default();
    let (listing, account_block) = tokio::join!(listing, account_block);
    let buckets: Vec<t::Bucket> = match listing {
        Some(Ok(account)) if !account.unplaced.contains(ctx.region) => account
            .buckets
            .into_iter()
            .filter(|b| b.bucket_region() == Some(ctx.region))
            .collect(),
        _ => list_region(s3, ctx.region, &mut sink)
            .await
            .into_iter()
            // A service that ignored the filter still names the region where it knows it.
            .filter(|b| {
                b.bucket_region()
                    .is_none_or(|r| r.is_empty() || r == ctx.region)
            })
            .collect(),
    };
    let wanted = buckets.into_iter().filter(|b| {
        b.name()
            .is_some_and(|n| only.has(&ResourceType::S3Bucket, n))
    });
    let results: Vec<(Option<Resource>, Sink)> = futures_util::stream::iter(wanted)
        .map(|b| {
            let reads = Reads {
                tags: false,
                policy,
            };
            bucket(ctx, ctx.region, b, account_block, s3, reads)
        })
        .buffer_unordered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    for (resource, part) in results {
        sink.absorb(part);
        sink.resources.extend(resource);
    }
    sink
}

/// The buckets S3 lists under `region`, asked at the region's endpoint; a failed page is
/// recorded.
async fn list_region(s3: &aws_sdk_s3::Client, region: &str, sink: &mut Sink) -> Vec<t::Bucket> {
    // No MaxBuckets: some emulators truncate without a continuation token when it is set.
    let stream = s3
        .list_buckets()
        .bucket_region(region)
        .into_paginator()
        .send();
    sink.pages(region, SVC, "ListBuckets", stream)
        .await
        .into_iter()
        .flat_map(|p| p.buckets.unwrap_or_default())
        .collect()
}

/// Collects the buckets that no scanned region's unit reads (the global unit): those located
/// in a region outside `scanned`, and those whose location S3 does not list under a region's
/// name (the legacy `EU`). Each is read at its own region's endpoint, its tags included.
///
/// `listing` is the account's ([`list_account`]). A bucket it could not place is located with
/// `GetBucketLocation`; one of a scanned region is left to that region's unit (which lists
/// that region itself when the account's listing did not place every bucket).
pub async fn collect_elsewhere(
    ctx: &Ctx<'_>,
    account_block: impl Future<Output = PublicAccessBlock>,
    listing: impl Future<Output = Listing>,
    scanned: &[String],
    policy: bool,
) -> Sink {
    let mut sink = Sink::default();
    let (listing, account_block) = tokio::join!(listing, account_block);
    let all = match listing {
        Ok(account) => account.buckets,
        Err(e) => {
            sink.errors.push(e);
            return sink;
        }
    };
    let mut elsewhere: Vec<(String, t::Bucket)> = Vec::new();
    let mut unplaced = Vec::new();
    for b in all {
        match b.bucket_region().filter(|r| !r.is_empty()) {
            Some(r) if scanned.iter().any(|s| s == r) => {}
            Some(r) => elsewhere.push((location_region(Some(r)), b)),
            None => unplaced.push(b),
        }
    }
    let located: Vec<(Option<String>, t::Bucket, Sink)> = futures_util::stream::iter(unplaced)
        .map(|b| locate(ctx, b))
        .buffer_unordered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    for (location, b, part) in located {
        sink.absorb(part);
        let Some(location) = location else { continue };
        let region = location_region(Some(&location));
        // The legacy `EU` is listed under no region's name: ours, wherever it is.
        if location == "EU" || !scanned.contains(&region) {
            elsewhere.push((region, b));
        }
    }
    let mut clients: BTreeMap<String, aws_sdk_s3::Client> = BTreeMap::new();
    for (region, _) in &elsewhere {
        clients
            .entry(region.clone())
            .or_insert_with(|| ctx.clients.s3(region));
    }
    let results: Vec<(Option<Resource>, Sink)> = futures_util::stream::iter(elsewhere)
        .map(|(region, b)| {
            let s3 = clients.get(&region).cloned();
            async move {
                let s3 = s3.unwrap_or_else(|| ctx.clients.s3(&region));
                let reads = Reads { tags: true, policy };
                bucket(ctx, &region, b, account_block, &s3, reads).await
            }
        })
        .buffer_unordered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    for (resource, part) in results {
        sink.absorb(part);
        sink.resources.extend(resource);
    }
    sink
}

/// The location of bucket `b` as `GetBucketLocation` names it (empty for us-east-1), or the
/// recorded failure.
async fn locate(ctx: &Ctx<'_>, b: t::Bucket) -> (Option<String>, t::Bucket, Sink) {
    let mut sink = Sink::default();
    let Some(name) = b.name() else {
        return (None, b, sink);
    };
    let answer = ctx
        .clients
        .s3(ctx.region)
        .get_bucket_location()
        .bucket(name)
        .send()
        .await;
    let location = match answer {
        Ok(out) => Some(
            out.location_constraint()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default(),
        ),
        Err(e) => {
            let err = with_bucket(AwsError::call(SVC, "GetBucketLocation", e), name);
            sink.error(GLOBAL_REGION, &err);
            None
        }
    };
    (location, b, sink)
}

/// Reads bucket `b` of `region` through `s3` (that region's client); its tags too with
/// `read_tags` (a bucket outside the scanned regions, whose tagging API is not read).
/// What a bucket's read asks besides what every scan does.
#[derive(Debug, Clone, Copy)]
struct Reads {
    /// Its tags (a bucket outside the scanned regions, whose tagging API is not read).
    tags: bool,
    /// Its bucket policy (`GetBucketPolicy`), when a rule in force needs it.
    policy: bool,
}

async fn bucket(
    ctx: &Ctx<'_>,
    region: &str,
    b: t::Bucket,
    account_block: PublicAccessBlock,
    s3: &aws_sdk_s3::Client,
    reads: Reads,
) -> (Option<Resource>, Sink) {
    let mut sink = Sink::default();
    let Some(name) = b.name().map(str::to_owned) else {
        return (None, sink);
    };
    let region = region.to_owned();

    let tagging = async {
        if reads.tags {
            Some(s3.get_bucket_tagging().bucket(&name).send().await)
        } else {
            None
        }
    };
    let bucket_policy = async {
        if reads.policy {
            Some(s3.get_bucket_policy().bucket(&name).send().await)
        } else {
            None
        }
    };
    let (enc, pab, logging, tagging, bucket_policy) = tokio::join!(
        s3.get_bucket_encryption().bucket(&name).send(),
        s3.get_public_access_block().bucket(&name).send(),
        s3.get_bucket_logging().bucket(&name).send(),
        tagging,
        bucket_policy,
    );
    let policy = bucket_policy.map(|answer| match answer {
        Ok(out) => match PolicyDocument::parse(out.policy().unwrap_or_default()) {
            Ok(doc) => Observed::Read(Some(Box::new(doc))),
            Err(e) => Observed::failed(sink.problem(
                &region,
                SVC,
                "GetBucketPolicy",
                "MalformedPolicy",
                format!("bucket {name}: its policy does not parse: {e}"),
            )),
        },
        // No bucket policy at all is an answer.
        Err(e) => absent_or_unread(
            &mut sink,
            &region,
            with_bucket(AwsError::call(SVC, "GetBucketPolicy", e), &name),
            "NoSuchBucketPolicy",
            None,
        ),
    });
    let (tags, tags_unread) = match tagging {
        None => (Tags::new(), None),
        Some(Ok(out)) => (
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            None,
        ),
        Some(Err(e)) => {
            let err = with_bucket(AwsError::call(SVC, "GetBucketTagging", e), &name);
            if err.code() == "NoSuchTagSet" {
                (Tags::new(), None)
            } else {
                (Tags::new(), Some(Box::new(sink.error(&region, &err))))
            }
        }
    };
    let encryption = match enc {
        Ok(out) => Observed::Read(encryption(out.server_side_encryption_configuration())),
        Err(e) => absent_or_unread(
            &mut sink,
            &region,
            with_bucket(AwsError::call(SVC, "GetBucketEncryption", e), &name),
            "ServerSideEncryptionConfigurationNotFoundError",
            BucketEncryption::None,
        ),
    };
    let bucket_block = match pab {
        Ok(out) => Observed::Read(
            out.public_access_block_configuration()
                .map(|c| {
                    flags(
                        c.block_public_acls(),
                        c.ignore_public_acls(),
                        c.block_public_policy(),
                        c.restrict_public_buckets(),
                    )
                })
                .unwrap_or_default(),
        ),
        Err(e) => absent_or_unread(
            &mut sink,
            &region,
            with_bucket(AwsError::call(SVC, "GetPublicAccessBlock", e), &name),
            "NoSuchPublicAccessBlockConfiguration",
            PublicAccessBlock::default(),
        ),
    };
    let access_logging = match logging {
        Ok(out) => Observed::Read(out.logging_enabled().is_some()),
        Err(e) => Observed::failed(sink.error(
            &region,
            &with_bucket(AwsError::call(SVC, "GetBucketLogging", e), &name),
        )),
    };

    // Whether the bucket is public now matters only where the effective block leaves it
    // possible; with the bucket's own block unread, nothing is known to neutralise it.
    let effective = PublicAccessBlock::effective(
        bucket_block.read().copied().unwrap_or_default(),
        account_block,
    );
    // The two reads that remain, where the block leaves them relevant, run together.
    let policy_status = async {
        if effective.restrict_public_buckets {
            None
        } else {
            Some(s3.get_bucket_policy_status().bucket(&name).send().await)
        }
    };
    let acl = async {
        if effective.ignore_public_acls {
            None
        } else {
            Some(s3.get_bucket_acl().bucket(&name).send().await)
        }
    };
    let (policy_status, acl) = tokio::join!(policy_status, acl);
    let policy_is_public = policy_status.map(|answer| match answer {
        Ok(out) => Observed::Read(
            out.policy_status()
                .and_then(|s| s.is_public())
                .unwrap_or(false),
        ),
        // No policy at all is not public; an unreadable status is unknown.
        Err(e) => absent_or_unread(
            &mut sink,
            &region,
            with_bucket(AwsError::call(SVC, "GetBucketPolicyStatus", e), &name),
            "NoSuchBucketPolicy",
            false,
        ),
    });
    let acl_public_grants = acl.map(|answer| match answer {
        Ok(out) => Observed::Read(public_grantees(out.grants())),
        Err(e) => Observed::failed(sink.error(
            &region,
            &with_bucket(AwsError::call(SVC, "GetBucketAcl", e), &name),
        )),
    });

    let resource = Resource {
        arn: format!("arn:{}:s3:::{name}", super::partition(&region)),
        id: name.into(),
        resource_type: ResourceType::S3Bucket,
        region: region.into(),
        account_id: ctx.account_id.into(),
        tags,
        created_at: b.creation_date().and_then(to_utc),
        tags_unread,
        usage: None,
        details: ResourceDetails::S3Bucket(S3Bucket {
            encryption,
            public_access_block: bucket_block,
            account_public_access_block: account_block,
            policy_is_public,
            acl_public_grants,
            access_logging,
            policy,
        }),
    };
    (Some(resource), sink)
}

/// `absent` when `err` only says the configuration does not exist (`absent_code`); any other
/// error is recorded and leaves the value unread.
fn absent_or_unread<T>(
    sink: &mut Sink,
    region: &str,
    err: AwsError,
    absent_code: &str,
    absent: T,
) -> Observed<T> {
    if err.code() == absent_code {
        Observed::Read(absent)
    } else {
        Observed::failed(sink.error(region, &err))
    }
}

/// Names the bucket in a per-bucket error's message.
fn with_bucket(err: AwsError, bucket: &str) -> AwsError {
    err.naming(&format!("bucket {bucket}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
    use aws_sdk_s3::operation::get_bucket_encryption::{
        GetBucketEncryptionError, GetBucketEncryptionOutput,
    };
    use aws_sdk_s3::operation::get_bucket_logging::GetBucketLoggingOutput;
    use aws_sdk_s3::operation::get_bucket_policy_status::GetBucketPolicyStatusOutput;
    use aws_sdk_s3::operation::get_public_access_block::{
        GetPublicAccessBlockError, GetPublicAccessBlockOutput,
    };
    use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    fn not_found(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("not found")
            .build()
    }

    /// Mocks for the us-east-1 listing: `locked` (fully blocked, SSE-S3, listed with its region),
    /// `open` (no block, no encryption configuration, listed without a region) and `elsewhere`
    /// (a bucket of another region that a service ignoring the filter still returned).
    fn rules() -> Vec<Rule> {
        vec![
            mock!(aws_sdk_s3::Client::list_buckets)
                .match_requests(|r| r.bucket_region() == Some("us-east-1"))
                .then_output(|| {
                    ListBucketsOutput::builder()
                        .buckets(
                            t::Bucket::builder()
                                .name("locked")
                                .bucket_region("us-east-1")
                                .build(),
                        )
                        .buckets(t::Bucket::builder().name("open").build())
                        .buckets(
                            t::Bucket::builder()
                                .name("elsewhere")
                                .bucket_region("ap-south-1")
                                .build(),
                        )
                        .build()
                }),
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .match_requests(|r| r.bucket() == Some("locked"))
                .then_output(|| {
                    GetBucketEncryptionOutput::builder()
                        .server_side_encryption_configuration(
                            t::ServerSideEncryptionConfiguration::builder()
                                .rules(
                                    t::ServerSideEncryptionRule::builder()
                                        .apply_server_side_encryption_by_default(
                                            t::ServerSideEncryptionByDefault::builder()
                                                .sse_algorithm(t::ServerSideEncryption::Aes256)
                                                .build()
                                                .unwrap(),
                                        )
                                        .build(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                }),
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .match_requests(|r| r.bucket() == Some("open"))
                .then_error(|| {
                    GetBucketEncryptionError::generic(not_found(
                        "ServerSideEncryptionConfigurationNotFoundError",
                    ))
                }),
            mock!(aws_sdk_s3::Client::get_public_access_block)
                .match_requests(|r| r.bucket() == Some("locked"))
                .then_output(|| {
                    GetPublicAccessBlockOutput::builder()
                        .public_access_block_configuration(
                            t::PublicAccessBlockConfiguration::builder()
                                .block_public_acls(true)
                                .ignore_public_acls(true)
                                .block_public_policy(true)
                                .restrict_public_buckets(true)
                                .build(),
                        )
                        .build()
                }),
            mock!(aws_sdk_s3::Client::get_public_access_block)
                .match_requests(|r| r.bucket() == Some("open"))
                .then_error(|| {
                    GetPublicAccessBlockError::generic(not_found(
                        "NoSuchPublicAccessBlockConfiguration",
                    ))
                }),
            mock!(aws_sdk_s3::Client::get_bucket_logging)
                .then_output(|| GetBucketLoggingOutput::builder().build()),
            mock!(aws_sdk_s3::Client::get_bucket_policy_status)
                .match_requests(|r| r.bucket() == Some("open"))
                .then_output(|| {
                    GetBucketPolicyStatusOutput::builder()
                        .policy_status(t::PolicyStatus::builder().is_public(true).build())
                        .build()
                }),
            mock!(aws_sdk_s3::Client::get_bucket_acl)
                .match_requests(|r| r.bucket() == Some("open"))
                .then_output(|| {
                    GetBucketAclOutput::builder()
                        .grants(
                            t::Grant::builder()
                                .grantee(
                                    t::Grantee::builder()
                                        .r#type(t::Type::Group)
                                        .uri(ALL_USERS)
                                        .build()
                                        .unwrap(),
                                )
                                .permission(t::Permission::Read)
                                .build(),
                        )
                        .build()
                }),
        ]
    }

    #[tokio::test]
    async fn reads_only_what_can_change_an_answer_and_maps_not_found_to_absent() {
        let rules = rules();
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules);
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let mut sink = collect_from(
            &ctx,
            std::future::ready(PublicAccessBlock::default()),
            std::future::ready(None),
            Only::All,
            &client,
            false,
        )
        .await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        sink.resources.sort_by(|a, b| a.id.cmp(&b.id));
        let ids: Vec<(&str, &str)> = sink
            .resources
            .iter()
            .map(|r| (r.id.as_str(), r.region.as_str()))
            .collect();
        assert_eq!(
            ids,
            [("locked", "us-east-1"), ("open", "us-east-1")],
            "a bucket the listing places in another region is that region's"
        );
        let details = |i: usize| match &sink.resources[i].details {
            ResourceDetails::S3Bucket(b) => b.clone(),
            other => panic!("{other:?}"),
        };
        let locked = details(0);
        assert_eq!(locked.encryption, Observed::Read(BucketEncryption::SseS3));
        assert!(
            locked
                .public_access_block
                .read()
                .is_some_and(|b| b.all_blocked())
        );
        assert_eq!(
            (locked.policy_is_public, locked.acl_public_grants),
            (None, None)
        );
        let open = details(1);
        assert_eq!(open.encryption, Observed::Read(BucketEncryption::None));
        assert_eq!(
            open.public_access_block,
            Observed::Read(PublicAccessBlock::default())
        );
        assert_eq!(open.policy_is_public, Some(Observed::Read(true)));
        assert_eq!(
            open.acl_public_grants,
            Some(Observed::Read(vec![PublicGrantee::AllUsers]))
        );

        // One filtered listing; the locked bucket never cost a policy-status or ACL read, and
        // no bucket a location read (there is no mock for one: it would fail the call).
        let calls: Vec<usize> = rules.iter().map(Rule::num_calls).collect();
        assert_eq!(calls, [1, 1, 1, 1, 1, 2, 1, 1]);
    }

    #[tokio::test]
    async fn the_accounts_listing_serves_a_region_without_a_call_unless_it_could_not_place_it() {
        let rules = rules();
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules);
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let placed = |name: &str, region: &str| {
            t::Bucket::builder()
                .name(name)
                .bucket_region(region)
                .build()
        };
        let listing = AccountBuckets {
            buckets: vec![placed("locked", "us-east-1"), placed("far", "ap-south-1")],
            unplaced: BTreeSet::new(),
        };
        let sink = collect_from(
            &ctx,
            std::future::ready(PublicAccessBlock::default()),
            std::future::ready(Some(Ok(listing.clone()))),
            Only::All,
            &client,
            false,
        )
        .await;
        let ids: Vec<&str> = sink.resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["locked"],
            "only the buckets listed under the unit's region"
        );
        assert_eq!(rules[0].num_calls(), 0, "no listing of its own");

        // A region whose buckets the account's listing could not place lists them itself.
        let mut unplaced = listing;
        unplaced
            .buckets
            .push(t::Bucket::builder().name("open").build());
        unplaced.unplaced.insert("us-east-1".to_owned());
        let sink = collect_from(
            &ctx,
            std::future::ready(PublicAccessBlock::default()),
            std::future::ready(Some(Ok(unplaced))),
            Only::All,
            &client,
            false,
        )
        .await;
        let mut ids: Vec<&str> = sink.resources.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["locked", "open"]);
        assert_eq!(rules[0].num_calls(), 1);
    }

    #[test]
    fn a_buckets_location_names_its_region() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("ap-south-1")), "ap-south-1");
    }

    #[tokio::test]
    async fn access_denied_leaves_each_value_unread_and_is_recorded() {
        let denied = || {
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("Access Denied")
                .build()
        };
        let rules = vec![
            mock!(aws_sdk_s3::Client::list_buckets).then_output(|| {
                ListBucketsOutput::builder()
                    .buckets(t::Bucket::builder().name("d").bucket_region("us-east-1").build())
                    .build()
            }),
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .then_error(move || GetBucketEncryptionError::generic(denied())),
            mock!(aws_sdk_s3::Client::get_public_access_block)
                .then_error(move || GetPublicAccessBlockError::generic(denied())),
            mock!(aws_sdk_s3::Client::get_bucket_logging).then_error(move || {
                aws_sdk_s3::operation::get_bucket_logging::GetBucketLoggingError::generic(denied())
            }),
            mock!(aws_sdk_s3::Client::get_bucket_policy_status).then_error(move || {
                aws_sdk_s3::operation::get_bucket_policy_status::GetBucketPolicyStatusError::generic(
                    denied(),
                )
            }),
            mock!(aws_sdk_s3::Client::get_bucket_acl)
                .then_output(|| GetBucketAclOutput::builder().build()),
        ];
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules);
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let sink = collect_from(
            &ctx,
            std::future::ready(PublicAccessBlock::default()),
            std::future::ready(None),
            Only::All,
            &client,
            false,
        )
        .await;
        let ResourceDetails::S3Bucket(b) = &sink.resources[0].details else {
            panic!("{:?}", sink.resources);
        };
        let unread = [
            b.encryption.unread(),
            b.public_access_block.unread(),
            b.access_logging.unread(),
            b.policy_is_public.as_ref().and_then(Observed::unread),
        ];
        let ops: Vec<&str> = unread
            .iter()
            .map(|e| e.map_or("read", |e| e.operation.as_str()))
            .collect();
        assert_eq!(
            ops,
            [
                "GetBucketEncryption",
                "GetPublicAccessBlock",
                "GetBucketLogging",
                "GetBucketPolicyStatus"
            ]
        );
        assert!(
            unread
                .iter()
                .flatten()
                .all(|e| e.code == "AccessDenied" && e.message.contains("bucket d"))
        );
        assert_eq!(sink.errors.len(), 4, "each failed read is in the errors");
        assert_eq!(b.acl_public_grants, Some(Observed::Read(vec![])));
    }

    #[test]
    fn only_all_users_and_authenticated_users_grants_are_public() {
        let grant = |uri: Option<&str>, id: Option<&str>| {
            t::Grant::builder()
                .grantee(
                    t::Grantee::builder()
                        .r#type(if uri.is_some() {
                            t::Type::Group
                        } else {
                            t::Type::CanonicalUser
                        })
                        .set_uri(uri.map(str::to_owned))
                        .set_id(id.map(str::to_owned))
                        .build()
                        .unwrap(),
                )
                .permission(t::Permission::Read)
                .build()
        };
        let grants = [
            grant(Some(ALL_USERS), None),
            grant(Some(ALL_USERS), None),
            grant(Some(AUTHENTICATED_USERS), None),
            grant(Some("http://acs.amazonaws.com/groups/s3/LogDelivery"), None),
            grant(None, Some("owner-canonical-id")),
        ];
        assert_eq!(
            public_grantees(&grants),
            vec![PublicGrantee::AllUsers, PublicGrantee::AuthenticatedUsers]
        );
        assert!(public_grantees(&grants[3..]).is_empty());
    }
}
