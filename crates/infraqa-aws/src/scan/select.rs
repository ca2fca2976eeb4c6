//! Reading named resources, not a whole account: the re-read before a tag write, and the
//! resources a CloudTrail event names.
//!
//! The same collectors as a scan run with [`Only::Ids`], so a resource read here is exactly
//! what a scan would have inventoried; what their rules need comes along (a bucket's account
//! public access block, a group's network interfaces, a role's policies, a function's log
//! group). Tags the collectors do not return come from the tagging API, asked for these ARNs
//! only.

use super::{Ctx, IdSet, Only, Sink, TagMap, apply_bulk_tags, first_errors};
use crate::clients::AwsClients;
use crate::error::AwsError;
use infraqa_core::model::{GLOBAL_REGION, Generic, ResourceDetails};
use infraqa_core::observed::Found;
use infraqa_core::{Resource, ResourceType, ScanError};
use std::collections::{BTreeMap, BTreeSet};

/// Ids per filter value list: EC2 and RDS accept 200 values per filter.
const IDS_PER_CALL: usize = 200;
/// ARNs per `GetResources` call (the API's limit).
const ARNS_PER_TAG_READ: usize = 100;

/// A resource to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// Its ARN, as the inventory writes it: needed only for types infraqa has no collector
    /// for (empty for the others is fine).
    pub arn: String,
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id (name for buckets, roles, functions, log groups and trails).
    pub id: String,
    /// Its region (`global` for IAM).
    pub region: String,
}

impl Target {
    /// The target an inventoried resource is.
    pub fn of(r: &Resource) -> Self {
        Self {
            arn: r.arn.clone(),
            resource_type: r.resource_type.clone(),
            id: r.id.to_string(),
            region: r.region.to_string(),
        }
    }
}

/// Reads `targets` in the account `clients` act in. Per target, in order: the resource as a
/// scan would record it, gone, or unread with why. Fails only when the account cannot be read.
pub async fn read(
    clients: &AwsClients,
    targets: &[Target],
) -> Result<(String, Vec<Found>), AwsError> {
    let home = clients.require_home_region()?.to_owned();
    let account_id = clients.account_id().await?;
    let mut by_region: BTreeMap<&str, IdSet> = BTreeMap::new();
    for t in targets {
        by_region
            .entry(t.region.as_str())
            .or_default()
            .entry(t.resource_type.clone())
            .or_default()
            .push(t.id.clone());
    }
    let home_ctx = Ctx {
        clients,
        account_id: &account_id,
        region: &home,
    };
    let mut all = Sink::default();
    if let Some(global) = by_region.get(GLOBAL_REGION) {
        for part in chunks(global) {
            all.absorb(super::iam::collect(&home_ctx, Only::Ids(&part)).await);
        }
    }
    read_buckets(home_ctx, targets, &by_region, &mut all).await;
    let mut tags = TagMap::new();
    for (region, set) in &by_region {
        if *region == GLOBAL_REGION {
            continue;
        }
        let ctx = Ctx { region, ..home_ctx };
        let sink = read_region(ctx, set, targets, &all, &mut tags).await;
        all.absorb(sink);
    }

    let mut resources = all.resources;
    apply_bulk_tags(&mut resources, &tags, &first_errors(&all.errors, "tagging"));
    // Other types exist for this read only as the tagging API lists them.
    let mut generic: Vec<Resource> = targets
        .iter()
        .filter(|t| matches!(t.resource_type, ResourceType::Other(_)))
        .filter_map(|t| {
            Some(Resource {
                arn: t.arn.clone(),
                id: t.id.as_str().into(),
                resource_type: t.resource_type.clone(),
                region: t.region.as_str().into(),
                account_id: account_id.as_str().into(),
                tags: tags.get(&t.arn)?.clone(),
                tags_unread: None,
                usage: None,
                created_at: None,
                details: ResourceDetails::Generic(Generic::default()),
            })
        })
        .collect();
    all.errors
        .extend(super::defaults::mark_aws_defaults(clients, &resources, &mut generic).await);
    resources.extend(generic);
    super::link_lambda_log_groups(&mut resources, &first_errors(&all.errors, "logs"));
    let found = match_targets(targets, resources, &all.errors);
    Ok((account_id, found))
}

/// The buckets among `by_region`'s targets, each read in every region a target places one
/// (a bucket is matched wherever it is located), with the account's public access block.
async fn read_buckets(
    home: Ctx<'_>,
    targets: &[Target],
    by_region: &BTreeMap<&str, IdSet>,
    all: &mut Sink,
) {
    let buckets: IdSet = by_region
        .values()
        .filter_map(|set| set.get(&ResourceType::S3Bucket))
        .flatten()
        .fold(IdSet::new(), |mut acc, name| {
            acc.entry(ResourceType::S3Bucket)
                .or_default()
                .push(name.clone());
            acc
        });
    if buckets.is_empty() {
        return;
    }
    let bucket_regions: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.resource_type == ResourceType::S3Bucket)
        .map(|t| t.region.as_str())
        .collect();
    let block = super::s3::account_public_access_block(&home, all).await;
    for region in bucket_regions {
        let ctx = Ctx { region, ..home };
        let only = Only::Ids(&buckets);
        let listing = std::future::ready(None);
        all.absorb(super::s3::collect(&ctx, std::future::ready(block), listing, only, false).await);
    }
}

/// The targets `set` of one region: the collectors asked for them, the log groups of the
/// functions read, and into `tags` the tags the collectors do not return (of what was read
/// here, of the buckets `all` located here, and of the named resources only the tagging API
/// knows).
async fn read_region(
    ctx: Ctx<'_>,
    set: &IdSet,
    targets: &[Target],
    all: &Sink,
    tags: &mut TagMap,
) -> Sink {
    let region = ctx.region;
    let mut sink = Sink::default();
    for part in chunks(set) {
        let only = Only::Ids(&part);
        sink.absorb(super::ec2::collect(&ctx, only).await);
        sink.absorb(super::rds::collect(&ctx, only).await);
        sink.absorb(super::lambda::collect(&ctx, only).await);
        if only.wants(&ResourceType::CloudtrailTrail) {
            let scanned = [region.to_owned()];
            sink.absorb(super::cloudtrail::collect(&ctx, &scanned, only, false).await);
        }
    }
    // Log groups asked for, and those of the functions read (for `logging-enabled`).
    let mut groups: BTreeSet<String> = set
        .get(&ResourceType::LogsLogGroup)
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    groups.extend(sink.resources.iter().filter_map(|r| match &r.details {
        ResourceDetails::LambdaFunction(f) => Some(f.log_group.clone()),
        _ => None,
    }));
    if !groups.is_empty() {
        let wanted = IdSet::from([(ResourceType::LogsLogGroup, groups.into_iter().collect())]);
        sink.absorb(super::logs::collect(&ctx, Only::Ids(&wanted)).await);
    }
    let arns: Vec<String> = all
        .resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::S3Bucket && r.region == region)
        .chain(sink.resources.iter())
        .filter(|r| super::tags_from_tagging(&r.resource_type))
        .map(|r| r.arn.clone())
        .chain(
            targets
                .iter()
                .filter(|t| t.region == region && matches!(t.resource_type, ResourceType::Other(_)))
                .map(|t| t.arn.clone()),
        )
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for part in arns.chunks(ARNS_PER_TAG_READ) {
        let stream = ctx
            .clients
            .tagging(region)
            .get_resources()
            .set_resource_arn_list(Some(part.to_vec()))
            .into_paginator()
            .send();
        for page in sink.pages(region, "tagging", "GetResources", stream).await {
            for m in page.resource_tag_mapping_list.unwrap_or_default() {
                if let Some(arn) = m.resource_arn() {
                    let t = m
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect();
                    tags.insert(super::logs::bare_arn(arn).to_owned(), t);
                }
            }
        }
    }
    sink
}

/// What became of each target, given the `resources` read and the `errors` recorded: read,
/// unread (a failure that could explain its absence) or gone.
fn match_targets(targets: &[Target], resources: Vec<Resource>, errors: &[ScanError]) -> Vec<Found> {
    // A bucket is matched wherever it is located; everything else in its region.
    let key = |t: &ResourceType, id: &str, region: &str| {
        let region = if *t == ResourceType::S3Bucket {
            ""
        } else {
            region
        };
        (t.clone(), id.to_owned(), region.to_owned())
    };
    let mut read: BTreeMap<(ResourceType, String, String), Resource> = resources
        .into_iter()
        .map(|r| (key(&r.resource_type, &r.id, &r.region), r))
        .collect();
    targets
        .iter()
        .map(
            |t| match read.remove(&key(&t.resource_type, &t.id, &t.region)) {
                Some(r) => Found::Read(Box::new(r)),
                None => match failure_for(t, errors) {
                    Some(e) => Found::Unread(e.clone()),
                    None => Found::Gone,
                },
            },
        )
        .collect()
}

/// The recorded failure that could explain why `t` was not returned: one of its service in its
/// region (for buckets, any S3 failure; for types known only to the tagging API, a tagging
/// failure or simply not being listed, which an untagged resource also is not).
fn failure_for<'e>(t: &Target, errors: &'e [ScanError]) -> Option<&'e ScanError> {
    let service = match &t.resource_type {
        ResourceType::S3Bucket => "s3",
        ResourceType::Other(_) => "tagging",
        other => other.as_str().split(':').next().unwrap_or_default(),
    };
    errors.iter().find(|e| {
        e.service == service
            && (t.resource_type == ResourceType::S3Bucket || e.region == t.region)
            && (e.message.contains(&t.id) || !per_resource(e))
    })
}

/// Whether the error names one resource (a per-resource read), not a whole listing.
fn per_resource(e: &ScanError) -> bool {
    matches!(
        e.operation.as_str(),
        "GetRole" | "GetFunction" | "GetRolePolicy"
    )
}

/// `set` split so that no type names more than [`IDS_PER_CALL`] ids.
fn chunks(set: &IdSet) -> Vec<IdSet> {
    let mut out: Vec<IdSet> = Vec::new();
    for (kind, ids) in set {
        let mut ids: Vec<String> = ids
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut i = 0;
        while !ids.is_empty() {
            let rest = ids.split_off(ids.len().min(IDS_PER_CALL));
            if out.len() <= i {
                out.push(IdSet::new());
            }
            out[i].insert(kind.clone(), ids);
            ids = rest;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_every_id_once_and_at_most_the_limit_per_type() {
        let many: Vec<String> = (0..450).map(|i| format!("i-{i:05}")).collect();
        let set = IdSet::from([
            (ResourceType::Ec2Instance, many.clone()),
            (
                ResourceType::Ec2Volume,
                vec!["vol-1".into(), "vol-1".into()],
            ),
        ]);
        let parts = chunks(&set);
        assert_eq!(parts.len(), 3);
        let instances: Vec<&String> = parts
            .iter()
            .flat_map(|p| p.get(&ResourceType::Ec2Instance).into_iter().flatten())
            .collect();
        assert_eq!(instances.len(), 450);
        assert!(
            parts
                .iter()
                .all(|p| p.values().all(|ids| ids.len() <= IDS_PER_CALL))
        );
        assert_eq!(parts[0][&ResourceType::Ec2Volume], vec!["vol-1".to_owned()]);
        assert!(!parts[1].contains_key(&ResourceType::Ec2Volume));
    }
}
