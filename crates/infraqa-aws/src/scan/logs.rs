//! CloudWatch Logs log groups of one region.

use super::Ctx;
use crate::scan::sink::Sink;
use chrono::{DateTime, Utc};
use infraqa_core::model::{LogGroup, ResourceDetails};
use infraqa_core::{Resource, ResourceType};
use std::collections::BTreeMap;

/// A log group ARN without the `:*` suffix `DescribeLogGroups` adds (the tagging API and
/// policies use the bare form).
pub fn bare_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// Collects the region's log groups (tags come from the tagging API).
pub async fn collect(ctx: &Ctx<'_>) -> Sink {
    let mut sink = Sink::default();
    let stream = ctx
        .clients
        .logs(ctx.region)
        .describe_log_groups()
        .limit(50)
        .into_paginator()
        .send();
    let pages = sink
        .pages(ctx.region, "logs", "DescribeLogGroups", stream)
        .await;
    for g in pages
        .into_iter()
        .flat_map(|p| p.log_groups.unwrap_or_default())
    {
        let Some(name) = g.log_group_name() else {
            continue;
        };
        let arn = g
            .log_group_arn()
            .or(g.arn())
            .map(|a| bare_arn(a).to_owned())
            .unwrap_or_else(|| ctx.arn("logs", &format!("log-group:{name}")));
        sink.resources.push(Resource {
            arn,
            id: name.to_owned(),
            resource_type: ResourceType::LogsLogGroup,
            region: ctx.region.to_owned(),
            account_id: ctx.account_id.to_owned(),
            tags: BTreeMap::new(),
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
            assert_eq!(super::bare_arn(arn), bare);
        }
    }
}
