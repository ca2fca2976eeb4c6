//! Actual spend from Cost Explorer: `GetCostAndUsage` grouped by each allocation tag. Optional
//! and off by default (`[cost] cost_explorer = true`): every request is billed.

use crate::{AwsClients, AwsError};
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use chrono::NaiveDate;
use infraqa_core::cost::{ActualSpend, SpendRow};
use std::collections::BTreeMap;

const METRIC: &str = "UnblendedCost";

/// The spend of `[start, end)` grouped by each of `tags`.
pub async fn actual_spend(
    clients: &AwsClients,
    tags: &[String],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<ActualSpend, AwsError> {
    spend_from(&clients.ce()?, tags, start, end).await
}

/// [`actual_spend`] with a given client.
pub async fn spend_from(
    ce: &aws_sdk_costexplorer::Client,
    tags: &[String],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<ActualSpend, AwsError> {
    let mut by_tag = BTreeMap::new();
    let mut total = None;
    let mut currency = String::from("USD");
    for tag in tags {
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        let mut token: Option<String> = None;
        // GetCostAndUsage has no SDK paginator: this loop is the only hand-written one.
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let out = ce
                .get_cost_and_usage()
                .time_period(
                    DateInterval::builder()
                        .start(start.to_string())
                        .end(end.to_string())
                        .build()
                        .map_err(|e| build_error(&e))?,
                )
                .granularity(Granularity::Monthly)
                .metrics(METRIC)
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Tag)
                        .key(tag)
                        .build(),
                )
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::call("ce", "GetCostAndUsage", e))?;
            for period in out.results_by_time() {
                for group in period.groups() {
                    let Some(metric) = group.metrics().and_then(|m| m.get(METRIC)) else {
                        continue;
                    };
                    let amount: f64 = metric.amount().unwrap_or("0").parse().unwrap_or(0.0);
                    if let Some(unit) = metric.unit() {
                        currency = unit.to_owned();
                    }
                    // Keys look like `Owner$team-a`; `Owner$` is spend without the tag.
                    let key = group.keys().first().map(String::as_str).unwrap_or_default();
                    let value = key.split_once('$').map_or(key, |(_, v)| v);
                    let value = if value.is_empty() {
                        "(untagged)"
                    } else {
                        value
                    };
                    *sums.entry(value.to_owned()).or_default() += amount;
                }
            }
            token = out
                .next_page_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            match &token {
                None => break,
                Some(t) if !seen_tokens.insert(t.clone()) => {
                    return Err(AwsError::RepeatedPageToken {
                        service: "ce",
                        operation: "GetCostAndUsage",
                        token: t.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        let sum: f64 = sums.values().sum();
        total.get_or_insert(sum);
        let mut rows: Vec<SpendRow> = sums
            .into_iter()
            .map(|(value, amount)| SpendRow {
                value,
                amount: infraqa_core::round2(amount),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.amount
                .total_cmp(&a.amount)
                .then_with(|| a.value.cmp(&b.value))
        });
        by_tag.insert(tag.clone(), rows);
    }
    Ok(ActualSpend {
        start,
        end,
        currency,
        total: infraqa_core::round2(total.unwrap_or(0.0)),
        by_tag,
    })
}

fn build_error(e: &aws_sdk_costexplorer::error::BuildError) -> AwsError {
    AwsError::Call {
        service: "ce",
        operation: "GetCostAndUsage",
        code: "InvalidRequest".into(),
        message: e.to_string(),
        retryable: false,
        cause: Box::new(std::io::Error::other(e.to_string())),
    }
}

/// The last full calendar month before `today`: `[first of last month, first of this month)`.
pub fn last_full_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    use chrono::Datelike;
    let this = today.with_day(1).unwrap_or(today);
    let last = this.pred_opt().and_then(|d| d.with_day(1)).unwrap_or(this);
    (last, this)
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_costexplorer::operation::get_cost_and_usage::{
        GetCostAndUsageError, GetCostAndUsageOutput,
    };
    use aws_sdk_costexplorer::types::{Group, MetricValue, ResultByTime};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn page(groups: &[(&str, &str)], next: Option<&str>) -> GetCostAndUsageOutput {
        let mut period = ResultByTime::builder();
        for (key, amount) in groups {
            period = period.groups(
                Group::builder()
                    .keys(*key)
                    .metrics(
                        METRIC,
                        MetricValue::builder().amount(*amount).unit("USD").build(),
                    )
                    .build(),
            );
        }
        GetCostAndUsageOutput::builder()
            .results_by_time(period.build())
            .set_next_page_token(next.map(str::to_owned))
            .build()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[tokio::test]
    async fn pages_are_summed_per_tag_value_and_untagged_spend_is_named() {
        let first = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(|r| {
                r.next_page_token().is_none()
                    && r.time_period().is_some_and(|p| p.start() == "2026-10-01")
                    && r.group_by()[0].key() == Some("Owner")
            })
            .then_output(|| page(&[("Owner$a", "10.004"), ("Owner$", "5")], Some("p2")));
        let second = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(|r| r.next_page_token() == Some("p2"))
            .then_output(|| page(&[("Owner$a", "2.5"), ("Owner$b", "20")], None));
        let client = mock_client!(
            aws_sdk_costexplorer,
            RuleMode::Sequential,
            [&first, &second]
        );
        let spend = spend_from(
            &client,
            &["Owner".into()],
            day(2026, 10, 1),
            day(2026, 11, 1),
        )
        .await
        .unwrap();
        let rows: Vec<(&str, f64)> = spend.by_tag["Owner"]
            .iter()
            .map(|r| (r.value.as_str(), r.amount))
            .collect();
        assert_eq!(rows, vec![("b", 20.0), ("a", 12.5), ("(untagged)", 5.0)]);
        assert_eq!(spend.total, 37.5);
        assert_eq!(first.num_calls() + second.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_repeated_page_token_stops_the_listing_with_a_typed_error() {
        let looping = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .then_output(|| page(&[("Owner$a", "1")], Some("same")));
        let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&looping]);
        let err = spend_from(
            &client,
            &["Owner".into()],
            day(2026, 10, 1),
            day(2026, 11, 1),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "RepeatedPageToken");
        assert!(
            err.to_string().contains("repeated the page token same"),
            "{err}"
        );
        assert_eq!(looping.num_calls(), 2, "stopped at the first repeat");
    }

    #[tokio::test]
    async fn an_account_without_cost_explorer_is_a_typed_error() {
        let denied = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_error(|| {
            GetCostAndUsageError::generic(
                aws_sdk_costexplorer::error::ErrorMetadata::builder()
                    .code("DataUnavailableException")
                    .message("Cost Explorer is not enabled")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&denied]);
        let err = spend_from(
            &client,
            &["Owner".into()],
            day(2026, 10, 1),
            day(2026, 11, 1),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "DataUnavailableException");
        assert!(
            err.to_string().contains("ce GetCostAndUsage failed"),
            "{err}"
        );
    }

    #[test]
    fn last_full_month_crosses_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            last_full_month(d(2026, 11, 27)),
            (d(2026, 10, 1), d(2026, 11, 1))
        );
        assert_eq!(
            last_full_month(d(2026, 1, 1)),
            (d(2025, 12, 1), d(2026, 1, 1))
        );
    }
}
