//! Lifecycle: which resources are idle or oversized by what CloudWatch says they did, what
//! cleaning them up saves, and how old everything is.
//!
//! Verdicts are drawn only from usage that was read ([`crate::usage`]): a resource whose
//! metrics could not be read is "not evaluated", one with fewer days of data than
//! `lifecycle.min_days` is "not enough data", never idle. Every idle threshold must hold on
//! every day of the window that had data (Trusted Advisor asks for 4 of 14 days; infraqa asks
//! for all of them, so a weekly batch host is never called idle).

use crate::history::age_band;
use crate::inventory::Inventory;
use crate::model::{
    Ec2Instance, Ec2Volume, LambdaFunction, RdsDb, Resource, ResourceDetails, ResourceType,
};
use crate::observed::Observed;
use crate::policy::LifecyclePolicy;
use crate::prices::{PriceTable, SIZES, size_rank, split_type};
use crate::round2;
use crate::usage::{Statistic, Usage, metrics_for};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bytes in the MB the thresholds are written in (10^6, as CloudWatch's console shows them).
const MB: f64 = 1_000_000.0;

/// How many of the oldest resources of each type the age section lists.
pub const OLDEST_PER_TYPE: usize = 3;

/// What a cleanup recommendation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupKind {
    /// A running instance with next to no CPU and network.
    IdleInstance,
    /// A running instance whose peak CPU a size smaller would carry.
    OversizedInstance,
    /// A database nobody connects to.
    IdleDatabase,
    /// A database whose peak CPU a class smaller would carry.
    OversizedDatabase,
    /// A function nobody invoked in the window.
    UnusedFunction,
    /// A NAT gateway that sends (next to) nothing.
    IdleNatGateway,
    /// An attached volume without reads or writes.
    IdleVolume,
}

impl CleanupKind {
    /// Whether it names a smaller size rather than an idle resource.
    pub fn is_oversized(self) -> bool {
        matches!(self, Self::OversizedInstance | Self::OversizedDatabase)
    }

    /// The published kind name, e.g. `idle-instance`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdleInstance => "idle-instance",
            Self::OversizedInstance => "oversized-instance",
            Self::IdleDatabase => "idle-database",
            Self::OversizedDatabase => "oversized-database",
            Self::UnusedFunction => "unused-function",
            Self::IdleNatGateway => "idle-nat-gateway",
            Self::IdleVolume => "idle-volume",
        }
    }
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupAction {
    /// Stop it (its volumes stay, and stay billed).
    Stop,
    /// Keep a snapshot, then delete it.
    SnapshotThenDelete,
    /// Move it to the named smaller size.
    Resize,
    /// Delete it.
    Delete,
}

impl CleanupAction {
    /// How a person names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::SnapshotThenDelete => "snapshot, then delete",
            Self::Resize => "resize",
            Self::Delete => "delete",
        }
    }
}

/// One cleanup recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cleanup {
    /// What kind.
    pub kind: CleanupKind,
    /// The resource.
    pub resource_arn: String,
    /// Its `service:type`.
    pub resource_type: String,
    /// Its region.
    pub region: String,
    /// The usage behind the verdict, in words.
    pub reason: String,
    /// What to do.
    pub action: CleanupAction,
    /// The size to move to, for a resize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_to: Option<String>,
    /// The command (or console step) that does it.
    pub command: String,
    /// What it saves per month, where the price table prices it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_monthly_saving_usd: Option<f64>,
    /// Days since AWS says it was created, where AWS says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Whether it is at least `lifecycle.old_after_days` old.
    pub old: bool,
}

/// A metered resource no verdict was drawn for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageGap {
    /// The resource.
    pub resource_arn: String,
    /// Its `service:type`.
    pub resource_type: String,
    /// Its region.
    pub region: String,
    /// Why: the failed call, or the days of data it had.
    pub reason: String,
}

/// Usage verdicts of one type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCounts {
    /// Resources whose usage was asked for.
    pub measured: usize,
    /// Idle or unused.
    pub idle: usize,
    /// Oversized (a smaller size is named).
    pub oversized: usize,
    /// Neither.
    pub busy: usize,
    /// Too few days of data to judge.
    pub not_enough_data: usize,
    /// Metrics could not be read.
    pub not_evaluated: usize,
    /// Carry `lifecycle.keep_tag`: idle on purpose, usage not read.
    #[serde(default)]
    pub kept: usize,
}

/// One resource in the age section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgedResource {
    /// The resource.
    pub resource_arn: String,
    /// When AWS says it was created.
    pub created_at: DateTime<Utc>,
    /// Days from then to the inventory.
    pub age_days: i64,
}

/// Ages of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeAge {
    /// Resources per age band (`0-30 days` ... `over 1 year`, `unknown`).
    pub bands: BTreeMap<String, usize>,
    /// The oldest, oldest first (at most [`OLDEST_PER_TYPE`]).
    pub oldest: Vec<AgedResource>,
}

impl TypeAge {
    /// Resources per band in [`crate::history::AGE_BANDS`] order.
    pub fn counts(&self) -> Vec<usize> {
        crate::history::AGE_BANDS
            .iter()
            .map(|b| self.bands.get(*b).copied().unwrap_or(0))
            .collect()
    }
}

/// The report's `lifecycle` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Days of usage behind the verdicts.
    pub lookback_days: u32,
    /// Age from which a resource counts as old (`lifecycle.old_after_days`).
    pub old_after_days: u32,
    /// The tag that marks a resource as kept on purpose (`lifecycle.keep_tag`).
    #[serde(default)]
    pub keep_tag: String,
    /// Verdicts per metered type.
    pub usage: BTreeMap<String, UsageCounts>,
    /// What to clean up, largest saving first.
    pub cleanup: Vec<Cleanup>,
    /// Sum of the cleanup's priced savings per month.
    pub estimated_monthly_saving_usd: f64,
    /// Metered resources with too few days of data.
    pub not_enough_data: Vec<UsageGap>,
    /// Metered resources whose metrics could not be read.
    pub not_evaluated: Vec<UsageGap>,
    /// Ages per type, every inventoried type.
    pub age: BTreeMap<String, TypeAge>,
}

impl Lifecycle {
    /// Cleanup candidates that are also old.
    pub fn idle_and_old(&self) -> impl Iterator<Item = &Cleanup> {
        self.cleanup.iter().filter(|c| c.old)
    }
}

/// What one resource's usage says.
#[derive(Debug)]
enum Verdict {
    Cleanup {
        kind: CleanupKind,
        reason: String,
        action: CleanupAction,
        resize_to: Option<String>,
        command: String,
        saving: Option<f64>,
    },
    Busy,
    NotEnoughData(String),
}

/// The next smaller size of `current` (same family) that `priced` knows, e.g. `m5.xlarge` ->
/// `m5.large`.
pub fn smaller_size(current: &str, priced: impl Fn(&str) -> bool) -> Option<String> {
    let (family, size) = split_type(current)?;
    let rank = size_rank(size)?;
    SIZES[..rank]
        .iter()
        .rev()
        .map(|s| format!("{family}.{s}"))
        .find(|t| priced(t))
}

fn fmt_num(x: f64) -> String {
    if x >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The days-of-data check: `Some(reason)` when `metric` has fewer than `min` days.
fn too_few(u: &Usage, metric: &str, stat: Statistic, min: u32) -> Option<String> {
    let days = u.get(metric, stat).map_or(0, |m| m.datapoints);
    (days < min).then(|| {
        format!(
            "{metric} has data on {days} of {} days; {min} needed",
            u.days()
        )
    })
}

fn peak(u: &Usage, metric: &str, stat: Statistic) -> f64 {
    u.get(metric, stat).and_then(|m| m.maximum).unwrap_or(0.0)
}

/// The verdict "one size smaller": `current` moves to the next smaller size `monthly` prices,
/// which carries a daily peak of `cpu_peak` (over `days` days) at about twice the share.
fn resize(
    kind: CleanupKind,
    current: &str,
    (cpu_peak, days): (f64, i64),
    monthly: impl Fn(&str) -> Option<f64>,
    command: impl FnOnce(&str) -> String,
) -> Option<Verdict> {
    let to = smaller_size(current, |t| monthly(t).is_some())?;
    Some(Verdict::Cleanup {
        kind,
        reason: format!(
            "{current}: peak CPU at most {}% on each of the {days} days; {to} carries that load below {}%",
            fmt_num(cpu_peak),
            fmt_num((cpu_peak * 2.0).min(100.0))
        ),
        action: CleanupAction::Resize,
        command: command(&to),
        saving: monthly(current).zip(monthly(&to)).map(|(a, b)| a - b),
        resize_to: Some(to),
    })
}

fn judge(r: &Resource, u: &Usage, p: &LifecyclePolicy, prices: &PriceTable) -> Verdict {
    match &r.details {
        ResourceDetails::Ec2Instance(i) => judge_instance(r, i, u, p, prices),
        ResourceDetails::RdsDb(d) => judge_database(r, d, u, p, prices),
        ResourceDetails::LambdaFunction(f) => judge_function(r, f, u),
        ResourceDetails::Ec2NatGateway(_) => judge_nat_gateway(r, u, p, prices),
        ResourceDetails::Ec2Volume(v) => judge_volume(r, v, u, p, prices),
        _ => Verdict::Busy,
    }
}

/// An instance: idle (stop it), oversized (resize it) or busy.
fn judge_instance(
    r: &Resource,
    i: &Ec2Instance,
    u: &Usage,
    p: &LifecyclePolicy,
    prices: &PriceTable,
) -> Verdict {
    let region = r.region.as_str();
    let days = u.days();
    let needed = [
        ("CPUUtilization", Statistic::Average),
        ("CPUUtilization", Statistic::Maximum),
        ("NetworkIn", Statistic::Sum),
        ("NetworkOut", Statistic::Sum),
    ];
    if let Some(why) = needed
        .iter()
        .find_map(|(m, s)| too_few(u, m, *s, p.min_days))
    {
        return Verdict::NotEnoughData(why);
    }
    let cpu = peak(u, "CPUUtilization", Statistic::Average);
    // The largest day's in + out. An inventory written before the daily sums were kept
    // has only the largest day in and the largest day out: their sum bounds every
    // day's in + out from above, so what it calls idle is idle.
    let net = match u.get(crate::usage::NETWORK_IN_OUT, Statistic::Sum) {
        Some(m) => m.maximum.unwrap_or(0.0),
        None => peak(u, "NetworkIn", Statistic::Sum) + peak(u, "NetworkOut", Statistic::Sum),
    };
    let cpu_peak = peak(u, "CPUUtilization", Statistic::Maximum);
    if cpu <= f64::from(p.idle_cpu_percent) && net <= f64::from(p.idle_network_mb) * MB {
        return Verdict::Cleanup {
            kind: CleanupKind::IdleInstance,
            reason: format!(
                "daily average CPU at most {}% and network at most {} MB a day on each of the {days} days",
                fmt_num(cpu),
                fmt_num(net / MB)
            ),
            action: CleanupAction::Stop,
            resize_to: None,
            command: format!(
                "aws ec2 stop-instances --region {region} --instance-ids {id} (to remove it: aws ec2 create-image --instance-id {id} --name {id}-final, then aws ec2 terminate-instances --instance-ids {id})",
                id = r.id
            ),
            saving: prices.ec2_month(region, &i.instance_type),
        };
    }
    if cpu_peak <= f64::from(p.oversized_cpu_percent)
        && let Some(v) = resize(
            CleanupKind::OversizedInstance,
            &i.instance_type,
            (cpu_peak, days),
            |t| prices.ec2_month(region, t),
            |to| {
                format!(
                    "aws ec2 stop-instances --region {region} --instance-ids {id}; aws ec2 modify-instance-attribute --region {region} --instance-id {id} --instance-type {to}; aws ec2 start-instances --region {region} --instance-ids {id}",
                    id = r.id
                )
            },
        )
    {
        return v;
    }
    Verdict::Busy
}

/// A database: idle (snapshot and delete it), oversized (resize it) or busy.
fn judge_database(
    r: &Resource,
    d: &RdsDb,
    u: &Usage,
    p: &LifecyclePolicy,
    prices: &PriceTable,
) -> Verdict {
    let region = r.region.as_str();
    let days = u.days();
    if let Some(why) = too_few(u, "DatabaseConnections", Statistic::Maximum, p.min_days) {
        return Verdict::NotEnoughData(why);
    }
    let connections = peak(u, "DatabaseConnections", Statistic::Maximum);
    if connections <= f64::from(p.idle_connections) {
        return Verdict::Cleanup {
            kind: CleanupKind::IdleDatabase,
            reason: format!(
                "at most {} connection(s) a day on each of the {days} days",
                fmt_num(connections)
            ),
            action: CleanupAction::SnapshotThenDelete,
            resize_to: None,
            command: format!(
                "aws rds delete-db-instance --region {region} --db-instance-identifier {id} --final-db-snapshot-identifier {id}-final",
                id = r.id
            ),
            saving: prices.rds_month(region, &d.instance_class),
        };
    }
    let cpu_days = too_few(u, "CPUUtilization", Statistic::Maximum, p.min_days);
    let cpu_peak = peak(u, "CPUUtilization", Statistic::Maximum);
    if cpu_days.is_none()
        && cpu_peak <= f64::from(p.oversized_cpu_percent)
        && let Some(v) = resize(
            CleanupKind::OversizedDatabase,
            &d.instance_class,
            (cpu_peak, days),
            |c| prices.rds_month(region, c),
            |to| {
                format!(
                    "aws rds modify-db-instance --region {region} --db-instance-identifier {} --db-instance-class {to} --apply-immediately (or in the next maintenance window without --apply-immediately)",
                    r.id
                )
            },
        )
    {
        return v;
    }
    Verdict::Busy
}

/// A function: unused over the whole window (delete it) or busy.
fn judge_function(r: &Resource, f: &LambdaFunction, u: &Usage) -> Verdict {
    let region = r.region.as_str();
    let days = u.days();
    // Lambda publishes `Invocations` only for minutes with invocations: no data is
    // zero, but only for a function that existed, unchanged, over the whole window.
    if peak(u, "Invocations", Statistic::Sum) > 0.0 {
        return Verdict::Busy;
    }
    match f.last_modified {
        Some(changed) if changed <= u.start => Verdict::Cleanup {
            kind: CleanupKind::UnusedFunction,
            reason: format!(
                "not invoked in the {days} days (unchanged since {})",
                changed.format("%Y-%m-%d")
            ),
            action: CleanupAction::Delete,
            resize_to: None,
            command: format!(
                "aws lambda delete-function --region {region} --function-name {}",
                r.id
            ),
            // Lambda bills per invocation: an unused function costs nothing but
            // remains something to patch and to audit.
            saving: None,
        },
        Some(changed) => Verdict::NotEnoughData(format!(
            "not invoked since it changed on {}, within the {days}-day window",
            changed.format("%Y-%m-%d")
        )),
        None => {
            Verdict::NotEnoughData("not invoked in the window, and its age is unknown".to_owned())
        }
    }
}

/// A NAT gateway: idle (delete it) or busy.
fn judge_nat_gateway(r: &Resource, u: &Usage, p: &LifecyclePolicy, prices: &PriceTable) -> Verdict {
    let region = r.region.as_str();
    let days = u.days();
    if let Some(why) = too_few(u, "BytesOutToDestination", Statistic::Sum, p.min_days) {
        return Verdict::NotEnoughData(why);
    }
    let bytes = peak(u, "BytesOutToDestination", Statistic::Sum);
    if bytes <= f64::from(p.idle_nat_gateway_mb) * MB {
        return Verdict::Cleanup {
            kind: CleanupKind::IdleNatGateway,
            reason: format!(
                "at most {} MB a day sent out on each of the {days} days",
                fmt_num(bytes / MB)
            ),
            action: CleanupAction::Delete,
            resize_to: None,
            command: format!(
                "aws ec2 delete-nat-gateway --region {region} --nat-gateway-id {} (then release its elastic IP)",
                r.id
            ),
            saving: prices.nat_gateway_month(region),
        };
    }
    Verdict::Busy
}

/// An attached volume: idle (snapshot and delete it) or busy.
fn judge_volume(
    r: &Resource,
    v: &Ec2Volume,
    u: &Usage,
    p: &LifecyclePolicy,
    prices: &PriceTable,
) -> Verdict {
    let region = r.region.as_str();
    let days = u.days();
    for m in ["VolumeReadOps", "VolumeWriteOps"] {
        if let Some(why) = too_few(u, m, Statistic::Sum, p.min_days) {
            return Verdict::NotEnoughData(why);
        }
    }
    let ops = peak(u, "VolumeReadOps", Statistic::Sum) + peak(u, "VolumeWriteOps", Statistic::Sum);
    if ops < f64::from(p.idle_volume_ops) {
        let attached = v.attached_instance_ids.join(", ");
        return Verdict::Cleanup {
            kind: CleanupKind::IdleVolume,
            reason: format!(
                "{} GiB {} volume attached to {attached}: {} read and write operations a day at most on each of the {days} days",
                v.size_gib,
                v.volume_type,
                fmt_num(ops)
            ),
            action: CleanupAction::SnapshotThenDelete,
            resize_to: None,
            command: format!(
                "aws ec2 create-snapshot --region {region} --volume-id {id}; aws ec2 detach-volume --volume-id {id}; aws ec2 delete-volume --volume-id {id}",
                id = r.id
            ),
            saving: prices.ebs_month(region, &v.volume_type, v.size_gib),
        };
    }
    Verdict::Busy
}

/// One type's resources per age band, and its oldest (creation time, ARN), oldest first.
type TypeAges<'a> = (BTreeMap<&'static str, usize>, Vec<(DateTime<Utc>, &'a str)>);

/// The `lifecycle` section of an inventory.
pub fn assess(inventory: &Inventory, policy: &LifecyclePolicy, prices: &PriceTable) -> Lifecycle {
    let at = inventory.generated_at;
    let mut out = Lifecycle {
        lookback_days: policy.lookback_days,
        old_after_days: policy.old_after_days,
        keep_tag: policy.keep_tag.clone(),
        ..Lifecycle::default()
    };
    // Per type: counts by band, and the oldest few as references (a million resources are
    // never copied to find three).
    let mut ages: BTreeMap<&ResourceType, TypeAges<'_>> = BTreeMap::new();
    for r in &inventory.resources {
        let (bands, oldest) = ages.entry(&r.resource_type).or_default();
        *bands.entry(age_band(r.created_at, at)).or_default() += 1;
        if let Some(created) = r.created_at {
            let key = (created, r.arn.as_str());
            let pos = oldest.partition_point(|o| *o <= key);
            if pos < OLDEST_PER_TYPE {
                oldest.insert(pos, key);
                oldest.truncate(OLDEST_PER_TYPE);
            }
        }
        let age_days = r.created_at.map(|c| (at - c).num_days());
        if policy.keeps(r) && policy.reads_usage(&r.resource_type) && crate::usage::is_metered(r) {
            out.usage
                .entry(r.resource_type.to_string())
                .or_default()
                .kept += 1;
            continue;
        }
        // Usage of a type infraqa does not meter (another tool's inventory) decides nothing.
        let Some(usage) = r
            .usage
            .as_deref()
            .filter(|_| !metrics_for(&r.resource_type).is_empty())
        else {
            continue;
        };
        let t = r.resource_type.to_string();
        let counts = out.usage.entry(t.clone()).or_default();
        counts.measured += 1;
        let gap = |reason: String| UsageGap {
            resource_arn: r.arn.clone(),
            resource_type: t.clone(),
            region: r.region.to_string(),
            reason,
        };
        let u = match usage {
            Observed::Read(u) => u,
            Observed::Unread(e) => {
                counts.not_evaluated += 1;
                out.not_evaluated.push(gap(format!(
                    "{} {} failed: {} ({})",
                    e.service, e.operation, e.code, e.message
                )));
                continue;
            }
        };
        match judge(r, u, policy, prices) {
            Verdict::Busy => counts.busy += 1,
            Verdict::NotEnoughData(why) => {
                counts.not_enough_data += 1;
                out.not_enough_data.push(gap(why));
            }
            Verdict::Cleanup {
                kind,
                reason,
                action,
                resize_to,
                command,
                saving,
            } => {
                if kind.is_oversized() {
                    counts.oversized += 1;
                } else {
                    counts.idle += 1;
                }
                out.cleanup.push(Cleanup {
                    kind,
                    resource_arn: r.arn.clone(),
                    resource_type: t.clone(),
                    region: r.region.to_string(),
                    reason,
                    action,
                    resize_to,
                    command,
                    estimated_monthly_saving_usd: saving.filter(|s| *s > 0.0).map(round2),
                    age_days,
                    old: age_days.is_some_and(|d| d >= i64::from(policy.old_after_days)),
                });
            }
        }
    }
    out.age = ages
        .into_iter()
        .map(|(t, (bands, oldest))| {
            let age = TypeAge {
                bands: bands.into_iter().map(|(b, n)| (b.to_owned(), n)).collect(),
                oldest: oldest
                    .into_iter()
                    .map(|(created_at, arn)| AgedResource {
                        resource_arn: arn.to_owned(),
                        created_at,
                        age_days: (at - created_at).num_days(),
                    })
                    .collect(),
            };
            (t.to_string(), age)
        })
        .collect();
    out.cleanup.sort_by(|a, b| {
        b.estimated_monthly_saving_usd
            .unwrap_or(0.0)
            .total_cmp(&a.estimated_monthly_saving_usd.unwrap_or(0.0))
            .then_with(|| (a.kind, &a.resource_arn).cmp(&(b.kind, &b.resource_arn)))
    });
    out.estimated_monthly_saving_usd = round2(
        out.cleanup
            .iter()
            .filter_map(|c| c.estimated_monthly_saving_usd)
            .sum(),
    );
    out
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
