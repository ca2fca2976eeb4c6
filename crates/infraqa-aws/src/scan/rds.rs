//! RDS database instances of one region.

use super::{Ctx, Only, to_utc};
use crate::scan::sink::Sink;
use infraqa_core::model::{RdsDb, ResourceDetails};
use infraqa_core::{Resource, ResourceType};

/// Collects the region's DB instances, or those `only` names (tags come with them).
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    collect_from(ctx, &ctx.clients.rds(ctx.region), only).await
}

/// [`collect`] with a given client (tests pass a mocked one).
pub async fn collect_from(ctx: &Ctx<'_>, client: &aws_sdk_rds::Client, only: Only<'_>) -> Sink {
    let mut sink = Sink::default();
    if !only.wants(&ResourceType::RdsDb) {
        return sink;
    }
    let stream = client
        .describe_db_instances()
        .set_filters(only.ids(&ResourceType::RdsDb).map(|ids| {
            vec![
                aws_sdk_rds::types::Filter::builder()
                    .name("db-instance-id")
                    .set_values(Some(ids.to_vec()))
                    .build(),
            ]
        }))
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
            id: id.into(),
            resource_type: ResourceType::RdsDb,
            region: ctx.region.into(),
            account_id: ctx.account_id.into(),
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
            tags_unread: None,
            usage: None,
            created_at: db.instance_create_time().and_then(to_utc),
            details: ResourceDetails::RdsDb(RdsDb {
                engine: db.engine().unwrap_or_default().to_owned(),
                instance_class: db.db_instance_class().unwrap_or_default().to_owned(),
                storage_encrypted: db.storage_encrypted().unwrap_or(false),
                publicly_accessible: db.publicly_accessible().unwrap_or(false),
                cloudwatch_logs_exports: db.enabled_cloudwatch_logs_exports().to_vec(),
                status: db.db_instance_status().unwrap_or_default().to_owned(),
                auto_minor_version_upgrade: db.auto_minor_version_upgrade(),
            }),
        });
    }
    sink
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::types::{DbInstance, Tag};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn maps_instances_with_their_tags_and_log_exports() {
        let rule = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|r| r.max_records() == Some(100))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("orders")
                            .db_instance_arn("arn:aws:rds:us-east-1:123456789012:db:orders")
                            .engine("postgres")
                            .db_instance_class("db.t3.micro")
                            .storage_encrypted(true)
                            .publicly_accessible(false)
                            .auto_minor_version_upgrade(false)
                            .enabled_cloudwatch_logs_exports("postgresql")
                            .db_instance_status("available")
                            .tag_list(Tag::builder().key("Environment").value("prod").build())
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, [&rule]);
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let sink = collect_from(&ctx, &client, Only::All).await;
        assert!(sink.errors.is_empty());
        let db = &sink.resources[0];
        assert_eq!(db.arn, "arn:aws:rds:us-east-1:123456789012:db:orders");
        assert_eq!(db.tag("Environment"), Some("prod"));
        match &db.details {
            ResourceDetails::RdsDb(d) => {
                assert_eq!(d.cloudwatch_logs_exports, ["postgresql"]);
                assert!(d.storage_encrypted && !d.publicly_accessible);
                assert_eq!(d.auto_minor_version_upgrade, Some(false));
            }
            other => panic!("{other:?}"),
        }
    }
}
