//! The suite's CloudWatch metrics read back with `GetMetricData`, as a dashboard would.

use crate::{KitError, Step};
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use infraqa_aws::AwsClients;
use std::collections::BTreeMap;

/// The latest value of each metric in `names` (namespace `infraqa`, dimension `Account`)
/// published within five minutes of `around`; metrics with no datapoint are absent.
pub async fn latest(
    c: &AwsClients,
    region: &str,
    account: &str,
    names: &[&str],
    around: chrono::DateTime<chrono::Utc>,
) -> Result<BTreeMap<String, f64>, KitError> {
    let queries = names.iter().enumerate().map(|(i, name)| {
        MetricDataQuery::builder()
            .id(format!("m{i}"))
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("infraqa")
                            .metric_name(*name)
                            .dimensions(Dimension::builder().name("Account").value(account).build())
                            .build(),
                    )
                    .period(60)
                    .stat("Maximum")
                    .build(),
            )
            .build()
    });
    let window = chrono::Duration::minutes(5);
    let data = c
        .cloudwatch(region)
        .get_metric_data()
        .set_metric_data_queries(Some(queries.collect()))
        .start_time(aws_smithy_types::DateTime::from_secs(
            (around - window).timestamp(),
        ))
        .end_time(aws_smithy_types::DateTime::from_secs(
            (around + window).timestamp(),
        ))
        .send()
        .await
        .step("reading the suite's metrics")?;
    Ok(names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let id = format!("m{i}");
            let result = data
                .metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id.as_str()))?;
            Some(((*name).to_owned(), *result.values().first()?))
        })
        .collect())
}
