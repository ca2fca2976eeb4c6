//! CloudWatch Logs log groups of one region.

use super::{Ctx, Only};
use crate::scan::sink::Sink;
use chrono::{DateTime, Utc};
use infraqa_core::model::{LogGroup, ResourceDetails};
use infraqa_core::{Resource, ResourceType};

/// A log group ARN without the `:*` suffix `DescribeLogGroups` adds (the tagging API and
/// policies use the bare form).
pub fn bare_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// Collects the region's log groups, or those `only` names (tags come from the tagging API).
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    collect_from(ctx, &ctx.clients.logs(ctx.region), only).await
}

/// [`collect`] with a given client (tests pass a mocked one).
pub async fn collect_from(
    ctx: &Ctx<'_>,
    client: &aws_sdk_cloudwatchlogs::Client,
    only: Only<'_>,
) -> Sink {
    let mut sink = Sink::default();
    // Named groups are looked up by name prefix, one listing each.
    let prefixes: Vec<Option<&str>> = match only.ids(&ResourceType::LogsLogGroup) {
        None => vec![None],
        Some(names) => names.iter().map(|n| Some(n.as_str())).collect(),
    };
    let mut pages = Vec::new();
    for prefix in prefixes {
        let stream = client
            .describe_log_groups()
            .set_log_group_name_prefix(prefix.map(str::to_owned))
            .limit(50)
            .into_paginator()
            .send();
        pages.extend(
            sink.pages(ctx.region, "logs", "DescribeLogGroups", stream)
                .await,
        );
    }
    for g in pages
        .into_iter()
        .flat_map(|p| p.log_groups.unwrap_or_default())
    {
        let Some(name) = g.log_group_name() else {
            continue;
        };
        if !only.has(&ResourceType::LogsLogGroup, name) {
            continue;
        }
        let arn = g
            .log_group_arn()
            .or(g.arn())
            .map(|a| bare_arn(a).to_owned())
            .unwrap_or_else(|| ctx.arn("logs", &format!("log-group:{name}")));
        sink.resources.push(Resource {
            arn,
            id: name.into(),
            resource_type: ResourceType::LogsLogGroup,
            region: ctx.region.into(),
            account_id: ctx.account_id.into(),
            tags: infraqa_core::model::Tags::new(),
            tags_unread: None,
            usage: None,
            created_at: g
                .creation_time()
                .and_then(DateTime::<Utc>::from_timestamp_millis),
            details: ResourceDetails::LogsLogGroup(LogGroup {
                retention_days: g.retention_in_days(),
                stored_bytes: g.stored_bytes().unwrap_or_default(),
            }),
        });
    }
    sink
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::{
        DescribeLogGroupsError, DescribeLogGroupsOutput,
    };
    use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::retry::RetryConfig;
    use std::time::Duration;

    #[test]
    fn log_group_arns_lose_the_wildcard_suffix() {
        let cases = [
            (
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*",
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f",
            ),
            (
                "arn:aws:logs:us-east-1:1:log-group:/x",
                "arn:aws:logs:us-east-1:1:log-group:/x",
            ),
        ];
        for (arn, bare) in cases {
            assert_eq!(bare_arn(arn), bare);
        }
    }

    fn group(name: &str) -> SdkLogGroup {
        SdkLogGroup::builder()
            .log_group_name(name)
            .arn(format!(
                "arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"
            ))
            .creation_time(1_767_225_600_000)
            .retention_in_days(14)
            .stored_bytes(2048)
            .build()
    }

    fn page(names: &[&str], next: Option<&str>) -> DescribeLogGroupsOutput {
        DescribeLogGroupsOutput::builder()
            .set_log_groups(Some(names.iter().map(|n| group(n)).collect()))
            .set_next_token(next.map(str::to_owned))
            .build()
    }

    fn throttled() -> (u16, Option<String>) {
        (
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
    }

    #[tokio::test]
    async fn reads_all_three_pages_and_maps_each_group() {
        let first = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.next_token().is_none() && r.limit() == Some(50))
            .then_output(|| page(&["/a", "/b"], Some("t1")));
        let second = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| page(&["/c"], Some("t2")));
        let third = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(|| page(&["/aws/lambda/f"], None));
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&first, &second, &third]
        );
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };

        let sink = collect_from(&ctx, &client, Only::All).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let ids: Vec<&str> = sink.resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["/a", "/b", "/c", "/aws/lambda/f"]);
        let f = &sink.resources[3];
        assert_eq!(
            f.arn,
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f"
        );
        assert_eq!(f.resource_type, ResourceType::LogsLogGroup);
        assert_eq!(
            f.created_at.map(|t| t.to_rfc3339()),
            Some("2026-01-01T00:00:00+00:00".into())
        );
        assert_eq!(
            f.details,
            ResourceDetails::LogsLogGroup(LogGroup {
                retention_days: Some(14),
                stored_bytes: 2048
            })
        );
        assert_eq!(
            (first.num_calls(), second.num_calls(), third.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn throttling_is_retried_until_it_succeeds() {
        let (status, body) = throttled();
        let rule = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .sequence()
            .http_status(status, body)
            .times(2)
            .output(|| page(&["/only"], None))
            .build();
        let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&rule], |c| {
            c.retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        });
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };

        let sink = collect_from(&ctx, &client, Only::All).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        assert_eq!(sink.resources.len(), 1);
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn access_denied_is_recorded_and_earlier_pages_are_kept() {
        let first = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| page(&["/kept"], Some("t1")));
        let denied = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_error(|| {
                DescribeLogGroupsError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not authorized to perform logs:DescribeLogGroups")
                        .build(),
                )
            });
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&first, &denied]
        );
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "eu-west-1",
        };

        let sink = collect_from(&ctx, &client, Only::All).await;
        assert_eq!(sink.resources.len(), 1, "the first page is kept");
        assert_eq!(sink.errors.len(), 1);
        let e = &sink.errors[0];
        assert_eq!(
            (
                e.region.as_str(),
                e.service.as_str(),
                e.operation.as_str(),
                e.code.as_str()
            ),
            (
                "eu-west-1",
                "logs",
                "DescribeLogGroups",
                "AccessDeniedException"
            )
        );
        assert!(e.message.contains("not authorized"), "{}", e.message);
    }
}
