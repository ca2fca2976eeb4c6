//! Lambda functions of one region. Whether each function's log group exists is joined in
//! afterwards from the same region's log groups (see `scan::link_lambda_log_groups`).

use super::Ctx;
use crate::scan::sink::Sink;
use infraqa_core::model::{LambdaFunction, ResourceDetails};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType};
use std::collections::BTreeMap;

/// Collects the region's functions (tags come from the tagging API).
pub async fn collect(ctx: &Ctx<'_>) -> Sink {
    let mut sink = Sink::default();
    let stream = ctx
        .clients
        .lambda(ctx.region)
        .list_functions()
        .max_items(50)
        .into_paginator()
        .send();
    let pages = sink
        .pages(ctx.region, "lambda", "ListFunctions", stream)
        .await;
    for f in pages
        .into_iter()
        .flat_map(|p| p.functions.unwrap_or_default())
    {
        let Some(name) = f.function_name() else {
            continue;
        };
        let log_group = f
            .logging_config()
            .and_then(|c| c.log_group())
            .map_or_else(|| format!("/aws/lambda/{name}"), str::to_owned);
        sink.resources.push(Resource {
            arn: f.function_arn().map_or_else(
                || ctx.arn("lambda", &format!("function:{name}")),
                str::to_owned,
            ),
            id: name.to_owned(),
            resource_type: ResourceType::LambdaFunction,
            region: ctx.region.to_owned(),
            account_id: ctx.account_id.to_owned(),
            tags: BTreeMap::new(),
            tags_unread: None,
            created_at: None,
            details: ResourceDetails::LambdaFunction(LambdaFunction {
                runtime: f.runtime().map(|r| r.as_str().to_owned()),
                role: f.role().unwrap_or_default().to_owned(),
                last_modified: f.last_modified().and_then(super::parse_time),
                log_group,
                // Decided once the region's log groups are known (`scan::link_lambda_log_groups`).
                log_group_exists: Observed::Read(false),
            }),
        });
    }
    sink
}
