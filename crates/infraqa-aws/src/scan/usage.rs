//! Usage of one region's metered resources, read in bulk with CloudWatch `GetMetricData`.
//!
//! Every metric of every resource is one query (`MetricStat` at a one-day period over whole
//! UTC days); queries are packed up to 500 to a call, a resource's queries never split across
//! calls, so a failed call leaves exactly its resources' usage unread. Never one
//! `GetMetricStatistics` per resource.

use super::Ctx;
use crate::scan::sink::Sink;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use chrono::{DateTime, Utc};
use infraqa_core::ResourceType;
use infraqa_core::observed::Observed;
use infraqa_core::usage::{
    MetricSpec, PERIOD_SECONDS, QUERIES_PER_CALL, Usage, metrics_for, summaries,
};
use std::collections::HashMap;

/// A resource whose usage is read.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its position in the caller's list.
    pub index: usize,
    /// Its type (which metrics).
    pub resource_type: ResourceType,
    /// The id its metrics' dimension carries.
    pub id: String,
}

/// Usage per target, by the target's `index`.
pub type Usages = Vec<(usize, Observed<Usage>)>;

/// Reads the usage of `targets` (all in the context's region) over `[start, end)`.
pub async fn collect(
    ctx: &Ctx<'_>,
    targets: Vec<Target>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (Sink, Usages) {
    collect_from(
        ctx,
        &ctx.clients.cloudwatch(ctx.region),
        targets,
        start,
        end,
    )
    .await
}

/// Packs the targets into calls: each batch is at most [`QUERIES_PER_CALL`] queries, and a
/// target's queries stay together.
pub fn batches(targets: Vec<Target>) -> Vec<Vec<Target>> {
    let mut out: Vec<Vec<Target>> = Vec::new();
    let mut queries = 0;
    for t in targets {
        let n = metrics_for(&t.resource_type).len();
        if n == 0 {
            continue;
        }
        if out.is_empty() || queries + n > QUERIES_PER_CALL {
            out.push(Vec::new());
            queries = 0;
        }
        queries += n;
        if let Some(batch) = out.last_mut() {
            batch.push(t);
        }
    }
    out
}

/// [`collect`] with a given client (tests pass a mocked one).
pub async fn collect_from(
    ctx: &Ctx<'_>,
    client: &aws_sdk_cloudwatch::Client,
    targets: Vec<Target>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (Sink, Usages) {
    let mut sink = Sink::default();
    let mut out = Vec::with_capacity(targets.len());
    for batch in batches(targets) {
        read_batch(ctx, client, &batch, start, end, &mut sink, &mut out).await;
    }
    (sink, out)
}

fn smithy_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

fn query(id: String, spec: &MetricSpec, resource_id: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(spec.namespace)
                        .metric_name(spec.metric)
                        .dimensions(
                            Dimension::builder()
                                .name(spec.dimension)
                                .value(resource_id)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                .stat(spec.statistic.as_str())
                .build(),
        )
        .return_data(true)
        .build()
}

async fn read_batch(
    ctx: &Ctx<'_>,
    client: &aws_sdk_cloudwatch::Client,
    batch: &[Target],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    sink: &mut Sink,
    out: &mut Usages,
) {
    // Query ids are `q<target>_<metric>`: they must start with a lower-case letter.
    let mut queries = Vec::new();
    for (ti, t) in batch.iter().enumerate() {
        for (mi, spec) in metrics_for(&t.resource_type).iter().enumerate() {
            queries.push(query(format!("q{ti}_{mi}"), spec, &t.id));
        }
    }
    let stream = client
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(smithy_time(start))
        .end_time(smithy_time(end))
        .scan_by(ScanBy::TimestampAscending)
        .into_paginator()
        .send();
    let mut call = Sink::default();
    let pages = call
        .pages(ctx.region, "cloudwatch", "GetMetricData", stream)
        .await;
    let failed = call.errors.first().cloned();
    sink.absorb(call);
    if let Some(e) = failed {
        // A batch whose pages did not all arrive is unread as a whole: a metric missing
        // its later days would look quieter than it was.
        out.extend(batch.iter().map(|t| (t.index, Observed::failed(e.clone()))));
        return;
    }
    // Per query, its daily values with the day's start (Unix seconds), so that derived sums
    // (an instance's daily in + out) pair the same days.
    let mut values: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    // Per refused query: CloudWatch's status code and its messages.
    let mut refused: HashMap<String, (&str, String)> = HashMap::new();
    for result in pages.iter().flat_map(|p| p.metric_data_results()) {
        let Some(id) = result.id() else { continue };
        match result.status_code() {
            Some(StatusCode::Complete | StatusCode::PartialData) | None => {
                values.entry(id.to_owned()).or_default().extend(
                    result
                        .timestamps()
                        .iter()
                        .map(aws_smithy_types::DateTime::secs)
                        .zip(result.values().iter().copied()),
                );
            }
            Some(other) => {
                let why = result
                    .messages()
                    .iter()
                    .filter_map(|m| m.value())
                    .collect::<Vec<_>>()
                    .join("; ");
                refused.insert(id.to_owned(), (other.as_str(), why));
            }
        }
    }
    for (ti, t) in batch.iter().enumerate() {
        let specs = metrics_for(&t.resource_type);
        let refusal = (0..specs.len()).find_map(|mi| refused.get(&format!("q{ti}_{mi}")));
        let usage = match refusal {
            Some((code, why)) => {
                let err = sink.problem(
                    ctx.region,
                    "cloudwatch",
                    "GetMetricData",
                    code,
                    format!("{} {}: {code}: {why}", t.resource_type, t.id),
                );
                Observed::failed(err)
            }
            None => {
                let daily: Vec<Vec<(i64, f64)>> = (0..specs.len())
                    .map(|mi| values.remove(&format!("q{ti}_{mi}")).unwrap_or_default())
                    .collect();
                Observed::Read(Usage {
                    start,
                    end,
                    metrics: summaries(&t.resource_type, &daily),
                })
            }
        };
        out.push((t.index, usage));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::TimeZone;

    fn target(index: usize, t: ResourceType, id: &str) -> Target {
        Target {
            index,
            resource_type: t,
            id: id.into(),
        }
    }

    #[test]
    fn batches_hold_500_queries_and_never_split_a_resource() {
        // 4 queries per instance: 125 instances fill a call; the 126th opens the next.
        let targets: Vec<Target> = (0..251)
            .map(|i| target(i, ResourceType::Ec2Instance, &format!("i-{i}")))
            .collect();
        let sizes: Vec<usize> = batches(targets).iter().map(Vec::len).collect();
        assert_eq!(sizes, [125, 125, 1]);
        // Mixed: 3 queries per database never straddle a call.
        let mixed: Vec<Target> = (0..200)
            .map(|i| target(i, ResourceType::RdsDb, &format!("db{i}")))
            .chain((200..210).map(|i| target(i, ResourceType::S3Bucket, "b")))
            .collect();
        let b = batches(mixed);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [166, 34]);
        assert!(
            b.iter()
                .flatten()
                .all(|t| t.resource_type == ResourceType::RdsDb)
        );
    }

    #[tokio::test]
    async fn pages_are_joined_and_refused_queries_leave_their_resource_unread() {
        let start = Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let origin = start.timestamp();
        let day = move |d: i64| aws_smithy_types::DateTime::from_secs(origin + d * 86_400);
        let first = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
            .match_requests(|r| r.next_token().is_none() && r.metric_data_queries().len() == 5)
            .then_output(move || {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("q0_0")
                            .timestamps(day(0))
                            .values(2.0)
                            .timestamps(day(1))
                            .values(4.0)
                            .status_code(StatusCode::PartialData)
                            .build(),
                    )
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("q0_3")
                            .timestamps(day(1))
                            .values(4e6)
                            .status_code(StatusCode::Complete)
                            .build(),
                    )
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("q1_0")
                            .status_code(StatusCode::Forbidden)
                            .messages(
                                aws_sdk_cloudwatch::types::MessageData::builder()
                                    .value("not authorized")
                                    .build(),
                            )
                            .build(),
                    )
                    .next_token("more")
                    .build()
            });
        let second = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
            .match_requests(|r| r.next_token() == Some("more"))
            .then_output(move || {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("q0_0")
                            .timestamps(day(2))
                            .values(9.0)
                            .status_code(StatusCode::Complete)
                            .build(),
                    )
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("q0_2")
                            .timestamps(day(0))
                            .values(4e6)
                            .status_code(StatusCode::Complete)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&first, &second]);
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let targets = vec![
            target(7, ResourceType::Ec2Instance, "i-1"),
            target(9, ResourceType::LambdaFunction, "fn"),
        ];
        let (sink, usages) = collect_from(&ctx, &client, targets, start, end).await;
        assert_eq!(usages.len(), 2);
        let (index, usage) = &usages[0];
        assert_eq!(*index, 7);
        let u = usage.read().unwrap();
        let cpu = &u.metrics[0];
        assert_eq!(
            (cpu.datapoints, cpu.average, cpu.maximum),
            (3, Some(5.0), Some(9.0))
        );
        // In on day 0 and out on day 1 are paired by day: no day moved more than 4 MB.
        assert_eq!(u.metrics[2].maximum, Some(4e6), "NetworkIn");
        let total = &u.metrics[4];
        assert_eq!(total.metric, infraqa_core::usage::NETWORK_IN_OUT);
        assert_eq!((total.datapoints, total.maximum), (2, Some(4e6)));
        assert_eq!(u.days(), 14);
        let (index, usage) = &usages[1];
        assert_eq!(*index, 9);
        let e = usage.unread().unwrap();
        assert_eq!(e.code, "Forbidden");
        assert!(e.message.contains("lambda:function fn"), "{}", e.message);
        assert_eq!(sink.errors.len(), 1);
    }
}
