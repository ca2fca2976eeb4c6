//! Lambda functions of one region. Whether each function's log group exists is joined in
//! afterwards from the same region's log groups (see `scan::link_lambda_log_groups`).

use super::{Ctx, Only};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_lambda::types::FunctionConfiguration;
use infraqa_core::model::{LambdaFunction, ResourceDetails};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType};

/// Collects the region's functions, or those `only` names (one `GetFunction` each; a function
/// that no longer exists is simply absent). Tags come from the tagging API.
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    let mut sink = Sink::default();
    let client = ctx.clients.lambda(ctx.region);
    let functions: Vec<FunctionConfiguration> = match only.ids(&ResourceType::LambdaFunction) {
        None => {
            let stream = client
                .list_functions()
                .max_items(50)
                .into_paginator()
                .send();
            sink.pages(ctx.region, "lambda", "ListFunctions", stream)
                .await
                .into_iter()
                .flat_map(|p| p.functions.unwrap_or_default())
                .collect()
        }
        Some(names) => {
            let mut out = Vec::new();
            for name in names {
                match client.get_function().function_name(name).send().await {
                    Ok(f) => out.extend(f.configuration),
                    Err(e) => {
                        let err = AwsError::call("lambda", "GetFunction", e);
                        if err.code() != "ResourceNotFoundException" {
                            sink.error(ctx.region, &err.naming(&format!("function {name}")));
                        }
                    }
                }
            }
            out
        }
    };
    for f in functions {
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
            id: name.into(),
            resource_type: ResourceType::LambdaFunction,
            region: ctx.region.into(),
            account_id: ctx.account_id.into(),
            tags: infraqa_core::model::Tags::new(),
            tags_unread: None,
            usage: None,
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
