//! Resource discovery: one inventory of every region in scope.
//!
//! The unit of work is (account, region, service): each collector reads one service in one
//! region (IAM and the account's S3 public access block once per account) and returns a
//! [`sink::Sink`] of resources and recorded errors. Units run concurrently, each (service,
//! region) paced by its own rate limiter, and each is timed (the longest is the scan's critical
//! path); a unit that fails records why and never stops the others. After all units finish,
//! the results are joined: tags from the tagging API fill in what list calls do not return,
//! other tagged resources become generic resources, and functions learn whether their log
//! group exists.

pub mod cloudtrail;
pub mod defaults;
pub mod ec2;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod rds;
pub mod s3;
pub mod select;
pub mod settings;
pub mod sink;
pub mod tagging;
pub mod usage;

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::stats::CallCounts;
use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, Shared};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use infraqa_core::Policy;
use infraqa_core::inventory::{INVENTORY_SCHEMA_VERSION, ScanStats, UnitTiming};
use infraqa_core::model::{GLOBAL_REGION, Generic, PublicAccessBlock, ResourceDetails};
use infraqa_core::observed::Observed;
use infraqa_core::policy::{LifecyclePolicy, RegionScope};
use infraqa_core::settings::{Reach, Setting};
use infraqa_core::{Inventory, Resource, ResourceType, ScanError};
use sink::Sink;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Instant;
use tagging::TagMap;

/// Scan units that run at once; the per-service rate limiters do the real pacing.
const UNIT_CONCURRENCY: usize = 24;

/// Where one collector works.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The clients.
    pub clients: &'a AwsClients,
    /// The account being scanned.
    pub account_id: &'a str,
    /// The region of this unit (the home region for global services).
    pub region: &'a str,
}

impl Ctx<'_> {
    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            partition(self.region),
            self.region,
            self.account_id
        )
    }

    /// An ARN without an account field, as EC2 writes snapshots and images.
    pub fn arn_without_account(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}::{resource}",
            partition(self.region),
            self.region
        )
    }
}

pub use infraqa_core::model::partition;

/// Resource ids by type: what a partial read names.
pub type IdSet = BTreeMap<ResourceType, Vec<String>>;

/// Which resources a collector reads: all of them (a scan), or only the named ones (the
/// re-read before a tag write, the resources a CloudTrail event names).
#[derive(Debug, Clone, Copy, Default)]
pub enum Only<'a> {
    /// Every resource.
    #[default]
    All,
    /// Only these ids; a type not named is not read at all.
    Ids(&'a IdSet),
}

impl<'a> Only<'a> {
    /// Whether any resource of `kind` is to be read.
    pub fn wants(&self, kind: &ResourceType) -> bool {
        match self {
            Self::All => true,
            Self::Ids(set) => set.get(kind).is_some_and(|ids| !ids.is_empty()),
        }
    }

    /// The ids of `kind` to read, or `None` when every resource is.
    pub fn ids(&self, kind: &ResourceType) -> Option<&'a [String]> {
        match self {
            Self::All => None,
            Self::Ids(set) => Some(set.get(kind).map_or(&[], Vec::as_slice)),
        }
    }

    /// Whether the resource `id` of `kind` is to be read.
    pub fn has(&self, kind: &ResourceType, id: &str) -> bool {
        self.ids(kind).is_none_or(|ids| ids.iter().any(|i| i == id))
    }
}

/// A smithy timestamp as UTC.
pub fn to_utc(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}

/// A timestamp written as text by an API (RFC 3339, or Lambda's `+0000` offset form).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Told as the scan progresses (a progress bar on a terminal, nothing in a Lambda).
pub trait ScanObserver: Send + Sync {
    /// The number of units the scan will run.
    fn planned(&self, _units: usize) {}
    /// A unit finished: `label` is `service region`.
    fn finished(&self, _label: &str, _resources: usize, _errors: usize) {}
}

/// Observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;
impl ScanObserver for Quiet {}

/// When a scan must be done by (a Lambda's deadline, less the time to write the result).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// Units still running then are cut off, and recorded as not read.
    pub at: Instant,
    /// No unit starts closer than this to `at` (a unit is at least a few calls).
    pub start_margin: std::time::Duration,
}

impl Deadline {
    /// A unit that was not read because of the deadline, as an error of the inventory.
    fn missed(&self, region: &str, service: &str, what: &str) -> Sink {
        let mut sink = Sink::default();
        sink.problem(
            region,
            service,
            infraqa_core::inventory::WHOLE_UNIT,
            "DeadlineExceeded",
            format!("{service} in {region}: {what}; nothing of it is in this inventory"),
        );
        sink
    }
}

/// Scans the account `clients` act in over `scope`. Fails only when the account or the
/// region list cannot be read; everything else is recorded in the inventory's `errors`.
pub async fn scan(
    clients: &AwsClients,
    scope: &RegionScope,
    policy: &Policy,
    observer: &dyn ScanObserver,
) -> Result<Inventory, AwsError> {
    scan_until(clients, scope, policy, observer, None).await
}

/// [`scan`] that is done by `deadline`: it starts no unit within the deadline's margin and cuts
/// off units still running at it; each unit not read is an entry of `errors` (code
/// `DeadlineExceeded`), so the partial inventory says exactly what is missing.
pub async fn scan_until(
    clients: &AwsClients,
    scope: &RegionScope,
    policy: &Policy,
    observer: &dyn ScanObserver,
    deadline: Option<Deadline>,
) -> Result<Inventory, AwsError> {
    let regions = match scope {
        RegionScope::List(regions) => regions.clone(),
        RegionScope::All => enabled_regions(clients, clients.require_home_region()?).await?,
    };
    let global = Some(regions.clone());
    scan_units(clients, regions, global, policy, observer, deadline).await
}

/// One shard of the account's scan, by `deadline`: the global services (`shard` is
/// [`GLOBAL_REGION`]: IAM, the account's S3 public access block and its buckets outside
/// `planned`, the regions of the account's other shards) or one region's. The shards of an
/// account, merged ([`Inventory::merge`]), read what one [`scan_until`] of their regions
/// reads; a multi-region trail homed in another shard's region is read by every region's
/// shard it covers, so each shard's checks see it (the merge keeps it once).
pub async fn scan_shard(
    clients: &AwsClients,
    shard: &str,
    planned: &[String],
    policy: &Policy,
    observer: &dyn ScanObserver,
    deadline: Option<Deadline>,
) -> Result<Inventory, AwsError> {
    if shard == GLOBAL_REGION {
        let global = Some(planned.to_vec());
        scan_units(clients, Vec::new(), global, policy, observer, deadline).await
    } else {
        let regions = vec![shard.to_owned()];
        scan_units(clients, regions, None, policy, observer, deadline).await
    }
}

/// One unit of a scan: its service, its region and its work (what it read and, for the tagging
/// unit, the tags it listed).
type Unit<'a> = (&'static str, String, BoxFuture<'a, (Sink, Option<TagMap>)>);
/// The account's public access block (read once, by whichever unit asks first) and the failure
/// to read it.
type AccountBlock<'a> = Shared<BoxFuture<'a, (PublicAccessBlock, Vec<ScanError>)>>;
/// A usage unit's timing, what failed, the usages it read and the ARNs it asked about.
type UsageRead = (UnitTiming, Sink, Option<usage::Usages>, Vec<String>);

/// Scans `regions` of the account `clients` act in, and with `global` its global services;
/// `global` names the regions whose own units read the buckets S3 lists under them (the
/// global unit reads every other bucket).
async fn scan_units(
    clients: &AwsClients,
    regions: Vec<String>,
    global: Option<Vec<String>>,
    policy: &Policy,
    observer: &dyn ScanObserver,
    deadline: Option<Deadline>,
) -> Result<Inventory, AwsError> {
    let started = Instant::now();
    let needed = infraqa_core::settings::needed(policy);
    let calls_before = clients.call_counts();
    let home = clients.require_home_region()?.to_owned();
    let account_id = clients.account_id().await?;
    let home_ctx = Ctx {
        clients,
        account_id: &account_id,
        region: &home,
    };
    let units = plan_units(home_ctx, &regions, global.as_deref(), &needed);
    let read = run_units(home_ctx, units, &policy.lifecycle, observer, deadline).await;
    let settings = read.all.settings.clone();
    let (resources, errors, timings) = assemble(home_ctx, &regions, read).await;
    Ok(Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        generated_at: Utc::now(),
        account_id,
        regions,
        resources,
        errors,
        settings,
        notes: Vec::new(),
        stats: ScanStats {
            api_calls: subtract(clients.call_counts(), &calls_before),
            duration_ms: millis(started.elapsed()),
            units: timings,
        },
    })
}

/// The units of a scan: with `global` (the regions scanned beside them), the account's global
/// units; then every service of each of `regions`; and the account settings `needed`, in a
/// `settings` unit of their own per region (and one for the account's) when any is.
fn plan_units<'a>(
    home: Ctx<'a>,
    regions: &'a [String],
    global: Option<&'a [String]>,
    needed: &'a BTreeSet<Setting>,
) -> Vec<Unit<'a>> {
    let mut units: Vec<Unit<'a>> = Vec::new();
    // The account's public access block: read once, by whichever unit asks first; its own unit
    // records a failure once, and the bucket listings never wait for it.
    let account_block: AccountBlock<'a> = async move {
        let mut sink = Sink::default();
        let block = s3::account_public_access_block(&home, &mut sink).await;
        (block, sink.errors)
    }
    .boxed()
    .shared();
    // The account's buckets, listed once for every S3 unit of a scan with global units.
    let listing = global.map(|scanned| {
        async move { s3::list_account(&home, scanned).await }
            .boxed()
            .shared()
    });
    let of = |reach: Reach| -> BTreeSet<Setting> {
        needed
            .iter()
            .copied()
            .filter(|s| s.reach() == reach)
            .collect()
    };
    let (regional, account) = (of(Reach::Region), of(Reach::Account));
    let events = needed.contains(&Setting::TrailEventSelectors);
    let policies = needed.contains(&Setting::BucketPolicy);
    if let (Some(scanned), Some(listed)) = (global, listing.clone()) {
        if !account.is_empty() {
            units.push((
                "settings",
                GLOBAL_REGION.to_owned(),
                Box::pin(async move { (settings::global(&home, &account).await, None) }),
            ));
        }
        units.push((
            "iam",
            GLOBAL_REGION.to_owned(),
            Box::pin(async move { (iam::collect(&home, Only::All).await, None) }),
        ));
        let block = account_block.clone();
        units.push((
            "s3",
            GLOBAL_REGION.to_owned(),
            Box::pin(async move {
                let block = block.map(|(b, _)| b);
                (
                    s3::collect_elsewhere(&home, block, listed, scanned, policies).await,
                    None,
                )
            }),
        ));
        let block = account_block.clone();
        units.push((
            "s3control",
            GLOBAL_REGION.to_owned(),
            Box::pin(async move {
                let (_, errors) = block.await;
                (
                    Sink {
                        errors,
                        ..Sink::default()
                    },
                    None,
                )
            }),
        ));
    }
    for region in regions {
        let ctx = Ctx { region, ..home };
        let reads = ReadsWith { events, policies };
        region_units(
            ctx,
            regions,
            &account_block,
            listing.clone(),
            reads,
            &mut units,
        );
        if !regional.is_empty() {
            let regional = regional.clone();
            units.push((
                "settings",
                region.clone(),
                Box::pin(async move { (settings::regional(&ctx, &regional).await, None) }),
            ));
        }
    }
    units
}

/// What the collectors read besides what every scan does, because a rule in force needs it.
#[derive(Debug, Clone, Copy)]
struct ReadsWith {
    /// The trails' event selectors.
    events: bool,
    /// The buckets' policies.
    policies: bool,
}

/// The units of one region, one per service (with what `reads` asks besides).
fn region_units<'a>(
    ctx: Ctx<'a>,
    regions: &'a [String],
    account_block: &AccountBlock<'a>,
    listing: Option<Shared<BoxFuture<'a, s3::Listing>>>,
    reads: ReadsWith,
    units: &mut Vec<Unit<'a>>,
) {
    let ReadsWith { events, policies } = reads;
    let r = ctx.region.to_owned();
    units.push((
        "ec2",
        r.clone(),
        Box::pin(async move { (ec2::collect(&ctx, Only::All).await, None) }),
    ));
    let block = account_block.clone();
    units.push((
        "s3",
        r.clone(),
        Box::pin(async move {
            let block = block.map(|(b, _)| b);
            let listed = async move {
                match listing {
                    Some(listing) => Some(listing.await),
                    None => None,
                }
            };
            (
                s3::collect(&ctx, block, listed, Only::All, policies).await,
                None,
            )
        }),
    ));
    units.push((
        "rds",
        r.clone(),
        Box::pin(async move { (rds::collect(&ctx, Only::All).await, None) }),
    ));
    units.push((
        "lambda",
        r.clone(),
        Box::pin(async move { (lambda::collect(&ctx, Only::All).await, None) }),
    ));
    units.push((
        "logs",
        r.clone(),
        Box::pin(async move { (logs::collect(&ctx, Only::All).await, None) }),
    ));
    units.push((
        "cloudtrail",
        r.clone(),
        Box::pin(async move {
            (
                cloudtrail::collect(&ctx, regions, Only::All, events).await,
                None,
            )
        }),
    ));
    units.push((
        "tagging",
        r,
        Box::pin(async move {
            let mut sink = Sink::default();
            let tags = tagging::collect(&ctx, &mut sink).await;
            (sink, Some(tags))
        }),
    ));
}

/// What the units of a scan read: their resources and failures, the tags the tagging API
/// listed, each unit's timing and the usage units' reads.
struct Read {
    all: Sink,
    tags: TagMap,
    timings: Vec<UnitTiming>,
    usages: Vec<UsageRead>,
}

/// Runs `units` concurrently, each guarded by the deadline, and each region's usage reads as
/// soon as the units they need have finished.
async fn run_units<'a>(
    home: Ctx<'a>,
    units: Vec<Unit<'a>>,
    lifecycle: &'a LifecyclePolicy,
    observer: &dyn ScanObserver,
    deadline: Option<Deadline>,
) -> Read {
    let reads_usage = !lifecycle.usage_types.is_empty();
    let planned = units.len();
    observer.planned(planned);

    let mut read = Read {
        all: Sink::default(),
        tags: TagMap::new(),
        timings: Vec::new(),
        usages: Vec::new(),
    };
    // A region's usage reads wait only for the units that list its metered resources and its
    // tags (a kept resource is not read), never for the slower S3 or IAM units.
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    if reads_usage {
        for (service, region, _) in &units {
            if USAGE_NEEDS.contains(service) {
                *waiting.entry(region.clone()).or_default() += 1;
            }
        }
    }
    let guarded: Vec<BoxFuture<'_, (UnitTiming, Sink, Option<TagMap>)>> = units
        .into_iter()
        .map(|(service, region, work)| -> BoxFuture<'_, _> {
            Box::pin(guard(service, region, work, deadline))
        })
        .collect();
    let mut results = futures_util::stream::iter(guarded).buffer_unordered(UNIT_CONCURRENCY);
    let mut usage_units = FuturesUnordered::new();
    let mut planned_now = planned;
    loop {
        tokio::select! {
            Some((timing, sink, unit_tags)) = results.next() => {
                let label = format!("{} {}", timing.service, timing.region);
                observer.finished(&label, sink.resources.len(), sink.errors.len());
                read.all.absorb(sink);
                if let Some(t) = unit_tags {
                    read.tags.extend(t);
                }
                let ready = USAGE_NEEDS.contains(&timing.service.as_str())
                    && waiting.get_mut(&timing.region).is_some_and(|n| {
                        *n -= 1;
                        *n == 0
                    });
                if ready {
                    let targets = usage_targets(&read.all, &read.tags, &timing.region, lifecycle);
                    if !targets.0.is_empty() {
                        planned_now += 1;
                        observer.planned(planned_now);
                        usage_units.push(usage_unit(
                            home.clients,
                            home.account_id,
                            timing.region.clone(),
                            targets,
                            lifecycle,
                            deadline,
                        ));
                    }
                }
                read.timings.push(timing);
            }
            Some((timing, sink, usages, arns)) = usage_units.next(), if !usage_units.is_empty() => {
                observer.finished(
                    &format!("cloudwatch {}", timing.region),
                    arns.len(),
                    sink.errors.len(),
                );
                read.usages.push((timing, sink, usages, arns));
            }
            else => break,
        }
    }
    read
}

/// Joins what the units read into the inventory's resources (bulk tags applied, other tagged
/// resources made generic, AWS defaults marked, log groups linked, usage applied), its errors
/// and its unit timings, each in a stable order.
async fn assemble(
    home: Ctx<'_>,
    regions: &[String],
    read: Read,
) -> (Vec<Resource>, Vec<ScanError>, Vec<UnitTiming>) {
    let Read {
        mut all,
        tags,
        mut timings,
        usages,
    } = read;
    let mut resources = all.resources;
    let tagging_failed = first_errors(&all.errors, "tagging");
    apply_bulk_tags(&mut resources, &tags, &tagging_failed);
    let mut generic = generic_resources(&resources, &tags, home.account_id, regions);
    all.errors
        .extend(defaults::mark_aws_defaults(home.clients, &resources, &mut generic).await);
    resources.extend(generic);
    link_lambda_log_groups(&mut resources, &first_errors(&all.errors, "logs"));
    for (timing, sink) in apply_usage(&mut resources, usages) {
        all.errors.extend(sink.errors);
        timings.push(timing);
    }
    timings.sort_by(|a, b| {
        (b.duration_ms, &a.service, &a.region).cmp(&(a.duration_ms, &b.service, &b.region))
    });
    resources.sort_by(|a, b| {
        (a.resource_type.as_str(), &a.region, &a.arn).cmp(&(
            b.resource_type.as_str(),
            &b.region,
            &b.arn,
        ))
    });
    resources.dedup_by(|a, b| a.arn == b.arn);
    let mut errors = all.errors;
    errors.sort_by(|a, b| {
        (&a.region, &a.service, &a.operation, &a.message).cmp(&(
            &b.region,
            &b.service,
            &b.operation,
            &b.message,
        ))
    });
    (resources, errors, timings)
}

/// The units a region's usage reads wait for: those that list its metered resources, and its
/// tags.
const USAGE_NEEDS: [&str; 4] = ["ec2", "rds", "lambda", "tagging"];

/// The usage reads of `region`'s metered resources read so far (`lifecycle.usage_types`, in a
/// state where usage means something, not kept by their tag): the targets, and each target's
/// ARN by its index.
fn usage_targets(
    read: &Sink,
    tags: &TagMap,
    region: &str,
    lifecycle: &LifecyclePolicy,
) -> (Vec<usage::Target>, Vec<String>) {
    let mut metered: Vec<Resource> = read
        .resources
        .iter()
        .filter(|r| {
            r.region == region
                && lifecycle.reads_usage(&r.resource_type)
                && infraqa_core::usage::is_metered(r)
        })
        .cloned()
        .collect();
    // The units finish in any order: sorted, the same estate makes the same queries.
    metered.sort_unstable_by(|a, b| a.arn.cmp(&b.arn));
    // The tags as the inventory will carry them, for the keep tag.
    apply_bulk_tags(&mut metered, tags, &first_errors(&read.errors, "tagging"));
    metered
        .into_iter()
        .filter(|r| !lifecycle.keeps(r))
        .enumerate()
        .map(|(index, r)| {
            let target = usage::Target {
                index,
                resource_type: r.resource_type.clone(),
                id: r.id.to_string(),
            };
            (target, r.arn)
        })
        .unzip()
}

/// Sets each resource's usage from the usage units' reads (`arns` names each unit's targets by
/// index); a target a unit could not read (a failed call, the deadline) carries that unit's
/// first error. Returns each unit's timing and problems.
fn apply_usage(resources: &mut [Resource], units: Vec<UsageRead>) -> Vec<(UnitTiming, Sink)> {
    let mut by_arn = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (timing, sink, read, arns) in units {
        let mut unread: Vec<Option<String>> = arns.into_iter().map(Some).collect();
        for (index, usage) in read.unwrap_or_default() {
            if let Some(arn) = unread.get_mut(index).and_then(Option::take) {
                by_arn.insert(arn, usage);
            }
        }
        if let Some(e) = sink.errors.first() {
            for arn in unread.into_iter().flatten() {
                by_arn.insert(arn, Observed::failed(e.clone()));
            }
        }
        out.push((timing, sink));
    }
    for r in resources.iter_mut() {
        if let Some(usage) = by_arn.get(&r.arn) {
            r.usage = Some(Box::new(usage.clone()));
        }
    }
    out
}

/// One region's usage reads, as a unit (`cloudwatch` in `region`) done by `deadline`; each
/// target's ARN rides along by its index.
fn usage_unit<'a>(
    clients: &'a AwsClients,
    account_id: &'a str,
    region: String,
    (targets, arns): (Vec<usage::Target>, Vec<String>),
    lifecycle: &'a LifecyclePolicy,
    deadline: Option<Deadline>,
) -> BoxFuture<'a, UsageRead> {
    let work: BoxFuture<'_, (Sink, Option<usage::Usages>)> = Box::pin({
        let region = region.clone();
        async move {
            let ctx = Ctx {
                clients,
                account_id,
                region: &region,
            };
            let (start, end) = infraqa_core::usage::window(Utc::now(), lifecycle.lookback_days);
            let (sink, usages) = usage::collect(&ctx, targets, start, end).await;
            (sink, Some(usages))
        }
    });
    Box::pin(guard("cloudwatch", region, work, deadline).map(move |(t, s, u)| (t, s, u, arns)))
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs one unit's `work` within `deadline`: not at all when it is too close, cut off when it
/// runs past it; either way the unit's absence is recorded. Returns how long it ran.
async fn guard<T>(
    service: &'static str,
    region: String,
    work: BoxFuture<'_, (Sink, Option<T>)>,
    deadline: Option<Deadline>,
) -> (UnitTiming, Sink, Option<T>) {
    let started = Instant::now();
    let (sink, tags) = match deadline {
        None => work.await,
        Some(d) if Instant::now() + d.start_margin >= d.at => (
            d.missed(&region, service, "not started: too close to the deadline"),
            None,
        ),
        Some(d) => match tokio::time::timeout_at(d.at.into(), work).await {
            Ok(out) => out,
            Err(_) => (
                d.missed(
                    &region,
                    service,
                    "cut off at the deadline before it finished",
                ),
                None,
            ),
        },
    };
    let timing = UnitTiming {
        service: service.to_owned(),
        region,
        duration_ms: millis(started.elapsed()),
    };
    (timing, sink, tags)
}

/// Regions `DescribeRegions` reports as enabled (opt-in status other than `not-opted-in`).
pub async fn enabled_regions(clients: &AwsClients, home: &str) -> Result<Vec<String>, AwsError> {
    let out = clients
        .ec2(home)
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| AwsError::call("ec2", "DescribeRegions", e))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Types whose list calls do not return tags: theirs come from the tagging API.
fn tags_from_tagging(t: &ResourceType) -> bool {
    matches!(
        t,
        ResourceType::S3Bucket | ResourceType::LambdaFunction | ResourceType::LogsLogGroup
    )
}

/// The first recorded failure of `service` per region.
fn first_errors(errors: &[ScanError], service: &str) -> BTreeMap<String, ScanError> {
    let mut out = BTreeMap::new();
    for e in errors.iter().filter(|e| e.service == service) {
        out.entry(e.region.clone()).or_insert_with(|| e.clone());
    }
    out
}

/// Fills in tags the list calls do not return. The tagging API lists only tagged resources,
/// so a resource it did not return is untagged, unless its region's listing failed: then
/// its tags are unread.
fn apply_bulk_tags(
    resources: &mut [Resource],
    tags: &TagMap,
    tagging_failed: &BTreeMap<String, ScanError>,
) {
    for r in resources
        .iter_mut()
        .filter(|r| tags_from_tagging(&r.resource_type))
    {
        match tags.get(&r.arn) {
            Some(t) => r.tags.extend(t.iter()),
            None => r.tags_unread = tagging_failed.get(r.region.as_str()).cloned().map(Box::new),
        }
    }
}

/// Tagged resources no collector covers, as generic resources. Known types are never added
/// here: their own collector is the authority (the tagging API can still list a terminated
/// instance or a bucket of an unscanned region).
fn generic_resources(
    known: &[Resource],
    tags: &TagMap,
    account_id: &str,
    regions: &[String],
) -> Vec<Resource> {
    let seen: HashSet<&str> = known.iter().map(|r| r.arn.as_str()).collect();
    let mut out = Vec::new();
    for (arn, t) in tags {
        if seen.contains(arn.as_str()) {
            continue;
        }
        let Some((resource_type, id)) = tagging::type_and_id(arn) else {
            continue;
        };
        if ResourceType::KNOWN.contains(&resource_type) {
            continue;
        }
        let region = arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or(GLOBAL_REGION);
        if region != GLOBAL_REGION && !regions.iter().any(|r| r == region) {
            continue;
        }
        out.push(Resource {
            arn: arn.clone(),
            id: id.into(),
            resource_type,
            region: region.into(),
            account_id: account_id.into(),
            tags: t.clone(),
            tags_unread: None,
            usage: None,
            created_at: None,
            details: ResourceDetails::Generic(Generic::default()),
        });
    }
    out
}

fn link_lambda_log_groups(resources: &mut [Resource], logs_failed: &BTreeMap<String, ScanError>) {
    let groups: BTreeSet<(String, String)> = resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::LogsLogGroup)
        .map(|r| (r.region.to_string(), r.id.to_string()))
        .collect();
    for r in resources.iter_mut() {
        let region = r.region.to_string();
        if let ResourceDetails::LambdaFunction(f) = &mut r.details {
            // A group that was listed exists even if a later page failed; one not listed is
            // missing only if the listing was complete.
            let listed = groups.contains(&(region.clone(), f.log_group.clone()));
            f.log_group_exists = match logs_failed.get(&region) {
                Some(e) if !listed => Observed::failed(e.clone()),
                _ => Observed::Read(listed),
            };
        }
    }
}

fn subtract(after: CallCounts, before: &CallCounts) -> BTreeMap<String, BTreeMap<String, u64>> {
    after
        .into_iter()
        .map(|(svc, ops)| {
            let ops = ops
                .into_iter()
                .map(|(op, n)| {
                    let prior = before
                        .get(&svc)
                        .and_then(|o| o.get(&op))
                        .copied()
                        .unwrap_or(0);
                    (op, n.saturating_sub(prior))
                })
                .filter(|(_, n)| *n > 0)
                .collect::<BTreeMap<_, _>>();
            (svc, ops)
        })
        .filter(|(_, ops)| !ops.is_empty())
        .collect()
}

/// Clients for unit tests that pass mocked service clients to `collect_from`: static
/// credentials and a region, so loading touches no network.
#[cfg(test)]
pub(crate) async fn test_clients() -> AwsClients {
    AwsClients::load(crate::AwsOptions {
        region: Some("us-east-1".into()),
        credentials: Some(aws_credential_types::Credentials::new(
            "k", "s", None, None, "test",
        )),
        ..crate::AwsOptions::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_both_api_forms() {
        let cases = [
            ("2026-11-27T17:36:31.000+0000", true),
            ("2026-11-27T17:36:31Z", true),
            ("2026-11-27T17:36:31.123+00:00", true),
            ("yesterday", false),
        ];
        for (text, ok) in cases {
            assert_eq!(parse_time(text).is_some(), ok, "{text}");
        }
    }
}
