//! RDS database instances of one region.

use super::{Ctx, to_utc};
use crate::scan::sink::Sink;
use infraqa_core::model::{RdsDb, ResourceDetails};
use infraqa_core::{Resource, ResourceType};

/// Collects the region's DB instances (tags come with them).
pub async fn collect(ctx: &Ctx<'_>) -> Sink {
    let mut sink = Sink::default();
    let stream = ctx
        .clients
        .rds(ctx.region)
        .describe_db_instances()
        .max_records(100)
        .into_paginator()
        .send();
    let pages = sink
        .pages(ctx.region, "rds", "DescribeDBInstances", stream)
        .await;
    for db in pages
        .into_iter()
        .flat_map(|p| p.db_instances.unwrap_or_default())
    {
        let Some(id) = db.db_instance_identifier() else {
            continue;
        };
        sink.resources.push(Resource {
            arn: db
                .db_instance_arn()
                .map_or_else(|| ctx.arn("rds", &format!("db:{id}")), str::to_owned),
            id: id.to_owned(),
            resource_type: ResourceType::RdsDb,
            region: ctx.region.to_owned(),
            account_id: ctx.account_id.to_owned(),
            tags: db
                .tag_list()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            created_at: db.instance_create_time().and_then(to_utc),
            details: ResourceDetails::RdsDb(RdsDb {
                engine: db.engine().unwrap_or_default().to_owned(),
                instance_class: db.db_instance_class().unwrap_or_default().to_owned(),
                storage_encrypted: db.storage_encrypted().unwrap_or(false),
                publicly_accessible: db.publicly_accessible().unwrap_or(false),
                cloudwatch_logs_exports: db.enabled_cloudwatch_logs_exports().to_vec(),
                status: db.db_instance_status().unwrap_or_default().to_owned(),
            }),
        });
    }
    sink
}
