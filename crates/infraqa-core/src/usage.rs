//! Usage: what CloudWatch says a resource did over the lookback window, summarised per metric.
//!
//! The scanner asks `GetMetricData` for each metered resource's metrics at a period of one day
//! over whole UTC days (the window ends at the midnight before the scan), so every figure here
//! is a daily value: a day's average CPU, a day's peak CPU, a day's bytes or invocations. A
//! summary keeps the mean and the largest of those daily values and how many days had data,
//! so the lifecycle verdicts can be recomputed offline from the inventory alone.

use crate::model::{InstanceState, Resource, ResourceDetails, ResourceType};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Seconds in the one period every usage metric is read at: a day.
pub const PERIOD_SECONDS: i32 = 86_400;

/// The most metric queries one `GetMetricData` call may carry (AWS's limit).
pub const QUERIES_PER_CALL: usize = 500;

/// How a day's datapoints are combined into the day's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Statistic {
    /// The day's mean (CPU).
    Average,
    /// The day's peak (CPU, connections).
    Maximum,
    /// The day's total (bytes, operations, invocations).
    Sum,
}

impl Statistic {
    /// The name CloudWatch uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Average => "Average",
            Self::Maximum => "Maximum",
            Self::Sum => "Sum",
        }
    }
}

/// One metric infraqa reads for a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// The CloudWatch namespace, e.g. `AWS/EC2`.
    pub namespace: &'static str,
    /// The dimension naming the resource, e.g. `InstanceId`.
    pub dimension: &'static str,
    /// The metric, e.g. `CPUUtilization`.
    pub metric: &'static str,
    /// The daily statistic.
    pub statistic: Statistic,
}

const fn spec(
    namespace: &'static str,
    dimension: &'static str,
    metric: &'static str,
    statistic: Statistic,
) -> MetricSpec {
    MetricSpec {
        namespace,
        dimension,
        metric,
        statistic,
    }
}

const EC2: [MetricSpec; 4] = [
    spec(
        "AWS/EC2",
        "InstanceId",
        "CPUUtilization",
        Statistic::Average,
    ),
    spec(
        "AWS/EC2",
        "InstanceId",
        "CPUUtilization",
        Statistic::Maximum,
    ),
    spec("AWS/EC2", "InstanceId", "NetworkIn", Statistic::Sum),
    spec("AWS/EC2", "InstanceId", "NetworkOut", Statistic::Sum),
];
const RDS: [MetricSpec; 3] = [
    spec(
        "AWS/RDS",
        "DBInstanceIdentifier",
        "DatabaseConnections",
        Statistic::Maximum,
    ),
    spec(
        "AWS/RDS",
        "DBInstanceIdentifier",
        "CPUUtilization",
        Statistic::Average,
    ),
    spec(
        "AWS/RDS",
        "DBInstanceIdentifier",
        "CPUUtilization",
        Statistic::Maximum,
    ),
];
const LAMBDA: [MetricSpec; 1] = [spec(
    "AWS/Lambda",
    "FunctionName",
    "Invocations",
    Statistic::Sum,
)];
const NAT: [MetricSpec; 1] = [spec(
    "AWS/NATGateway",
    "NatGatewayId",
    "BytesOutToDestination",
    Statistic::Sum,
)];
const EBS: [MetricSpec; 2] = [
    spec("AWS/EBS", "VolumeId", "VolumeReadOps", Statistic::Sum),
    spec("AWS/EBS", "VolumeId", "VolumeWriteOps", Statistic::Sum),
];

/// The types whose usage infraqa reads, in contract order.
pub const METERED: [ResourceType; 5] = [
    ResourceType::Ec2Instance,
    ResourceType::RdsDb,
    ResourceType::LambdaFunction,
    ResourceType::Ec2NatGateway,
    ResourceType::Ec2Volume,
];

/// The metrics read for resources of type `t` (none for unmetered types).
pub fn metrics_for(t: &ResourceType) -> &'static [MetricSpec] {
    match t {
        ResourceType::Ec2Instance => &EC2,
        ResourceType::RdsDb => &RDS,
        ResourceType::LambdaFunction => &LAMBDA,
        ResourceType::Ec2NatGateway => &NAT,
        ResourceType::Ec2Volume => &EBS,
        _ => &[],
    }
}

/// The summary kept beside an instance's `NetworkIn` and `NetworkOut`: each day's bytes in plus
/// bytes out (statistic `Sum`). The idle rule holds "in + out on every day" against it, and an
/// inventory keeps it so the verdict can be recomputed offline.
pub const NETWORK_IN_OUT: &str = "NetworkIn+NetworkOut";

/// The summaries of a resource of type `t`: one per metric of [`metrics_for`] from `values`
/// (the metric's daily values as (day's start in Unix seconds, value), in the same order),
/// then the sums derived from them ([`NETWORK_IN_OUT`] for an instance).
pub fn summaries(t: &ResourceType, values: &[Vec<(i64, f64)>]) -> Vec<MetricUsage> {
    let specs = metrics_for(t);
    let of = |i: usize| values.get(i).map_or(&[][..], Vec::as_slice);
    let mut out: Vec<MetricUsage> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let daily: Vec<f64> = of(i).iter().map(|(_, v)| *v).collect();
            MetricUsage::of(spec, &daily)
        })
        .collect();
    let position = |metric: &str| {
        specs
            .iter()
            .position(|s| s.metric == metric && s.statistic == Statistic::Sum)
    };
    if let (Some(i), Some(o)) = (position("NetworkIn"), position("NetworkOut")) {
        let mut days: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
        for (day, v) in of(i).iter().chain(of(o)).filter(|(_, v)| v.is_finite()) {
            *days.entry(*day).or_default() += v;
        }
        let sums: Vec<f64> = days.into_values().collect();
        out.push(MetricUsage::of(
            &spec("AWS/EC2", "InstanceId", NETWORK_IN_OUT, Statistic::Sum),
            &sums,
        ));
    }
    out
}

/// Whether `r` is in a state whose usage means something: a running instance, an available
/// database or NAT gateway, an attached volume, any function. A stopped instance or a detached
/// volume is already an orphan; reading its metrics would cost money and say nothing.
pub fn is_metered(r: &Resource) -> bool {
    match &r.details {
        ResourceDetails::Ec2Instance(i) => i.state == InstanceState::Running,
        ResourceDetails::RdsDb(d) => d.status == "available",
        ResourceDetails::LambdaFunction(_) => true,
        ResourceDetails::Ec2NatGateway(n) => n.state == "available",
        ResourceDetails::Ec2Volume(v) => v.state == "in-use",
        _ => false,
    }
}

/// The window of whole UTC days ending at the midnight before `now`.
pub fn window(now: DateTime<Utc>, days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    (end - Duration::days(i64::from(days)), end)
}

/// A resource's usage over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// First instant of the window (a midnight, UTC).
    pub start: DateTime<Utc>,
    /// The instant after the window (a midnight, UTC).
    pub end: DateTime<Utc>,
    /// One summary per metric and statistic read, in [`metrics_for`] order, then the derived
    /// ones ([`summaries`]).
    pub metrics: Vec<MetricUsage>,
}

impl Usage {
    /// The window's length in days.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The summary of `metric` at `statistic`, if it was read.
    pub fn get(&self, metric: &str, statistic: Statistic) -> Option<&MetricUsage> {
        self.metrics
            .iter()
            .find(|m| m.metric == metric && m.statistic == statistic)
    }
}

/// One metric's daily values over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricUsage {
    /// The CloudWatch metric name.
    pub metric: String,
    /// The daily statistic.
    pub statistic: Statistic,
    /// Days that had a value.
    pub datapoints: u32,
    /// The mean of the daily values; absent without datapoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    /// The largest daily value; absent without datapoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
}

impl MetricUsage {
    /// The summary of `values` (one per day that had data).
    pub fn of(spec: &MetricSpec, values: &[f64]) -> Self {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = finite.len();
        Self {
            metric: spec.metric.to_owned(),
            statistic: spec.statistic,
            datapoints: u32::try_from(n).unwrap_or(u32::MAX),
            average: (n > 0).then(|| finite.iter().sum::<f64>() / n as f64),
            maximum: finite.iter().copied().reduce(f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_window_is_whole_days_before_the_scan() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 2, 17, 30, 0)
            .single()
            .unwrap();
        let (start, end) = window(now, 14);
        assert_eq!(end.to_rfc3339(), "2026-12-02T00:00:00+00:00");
        assert_eq!(start.to_rfc3339(), "2026-11-18T00:00:00+00:00");
    }

    #[test]
    fn an_instances_daily_network_is_summed_day_by_day() {
        let day = |d: i64| d * 86_400;
        // 4 MB in on even days, 4 MB out on odd days: never more than 4 MB in + out a day.
        let inbound: Vec<(i64, f64)> = (0..14)
            .filter(|d| d % 2 == 0)
            .map(|d| (day(d), 4e6))
            .collect();
        let outbound: Vec<(i64, f64)> = (0..14)
            .filter(|d| d % 2 == 1)
            .map(|d| (day(d), 4e6))
            .collect();
        let got = summaries(
            &ResourceType::Ec2Instance,
            &[vec![(day(0), 1.0)], vec![(day(0), 2.0)], inbound, outbound],
        );
        assert_eq!(got.len(), 5);
        let total = &got[4];
        assert_eq!(
            (total.metric.as_str(), total.statistic),
            (NETWORK_IN_OUT, Statistic::Sum)
        );
        assert_eq!((total.datapoints, total.maximum), (14, Some(4e6)));
        // The same day in and out add up.
        let both = summaries(
            &ResourceType::Ec2Instance,
            &[
                vec![],
                vec![],
                vec![(day(1), 3e6), (day(2), f64::NAN)],
                vec![(day(1), 3e6)],
            ],
        );
        assert_eq!((both[4].datapoints, both[4].maximum), (1, Some(6e6)));
        // Other types derive nothing.
        assert_eq!(
            summaries(&ResourceType::RdsDb, &[]).len(),
            metrics_for(&ResourceType::RdsDb).len()
        );
    }

    #[test]
    fn summaries_keep_mean_peak_and_days() {
        let cpu = &EC2[0];
        let m = MetricUsage::of(cpu, &[2.0, 4.0, f64::NAN, 9.0]);
        assert_eq!(m.datapoints, 3);
        assert_eq!(m.average, Some(5.0));
        assert_eq!(m.maximum, Some(9.0));
        let none = MetricUsage::of(cpu, &[]);
        assert_eq!(
            (none.datapoints, none.average, none.maximum),
            (0, None, None)
        );
        for t in &METERED {
            assert!(!metrics_for(t).is_empty(), "{t}");
            assert!(metrics_for(t).len() <= QUERIES_PER_CALL);
        }
        assert!(metrics_for(&ResourceType::S3Bucket).is_empty());
    }
}
