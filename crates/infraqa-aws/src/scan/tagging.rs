//! The Resource Groups Tagging API: every tagged resource of one region, in bulk.
//!
//! Its answer supplies the tags that other list calls do not return (buckets, functions, log
//! groups, trails), and makes every other tagged resource (queues, tables, keys...) visible as
//! a generic resource, so nothing tagged is missed.

use super::Ctx;
use crate::scan::sink::Sink;
use infraqa_core::ResourceType;
use std::collections::BTreeMap;

/// ARN to tags, for one region.
pub type TagMap = BTreeMap<String, infraqa_core::model::Tags>;

/// Resources per `GetResources` page: the API's maximum.
pub const RESOURCES_PER_PAGE: i32 = 100;
/// Tags per `GetResources` page: the API's maximum. A page also ends at this many tags (a
/// resource never split across pages, an untagged one counting as one tag), and the default is
/// 100: with six tags per resource, pages of about 16 resources instead of 83.
pub const TAGS_PER_PAGE: i32 = 500;

/// Reads every tagged resource of the region.
pub async fn collect(ctx: &Ctx<'_>, sink: &mut Sink) -> TagMap {
    let stream = ctx
        .clients
        .tagging(ctx.region)
        .get_resources()
        .resources_per_page(RESOURCES_PER_PAGE)
        .tags_per_page(TAGS_PER_PAGE)
        .into_paginator()
        .send();
    let pages = sink
        .pages(ctx.region, "tagging", "GetResources", stream)
        .await;
    let mut out = TagMap::new();
    for mapping in pages
        .into_iter()
        .flat_map(|p| p.resource_tag_mapping_list.unwrap_or_default())
    {
        let Some(arn) = mapping.resource_arn() else {
            continue;
        };
        let tags = mapping
            .tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect();
        out.insert(super::logs::bare_arn(arn).to_owned(), tags);
    }
    out
}

/// The `service:type` and id an ARN names, as the tagging API writes types.
pub fn type_and_id(arn: &str) -> Option<(ResourceType, String)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region, _account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let resource = parts.next()?;
    if service.is_empty() || resource.is_empty() {
        return None;
    }
    let (kind, id) = match resource.find(['/', ':']) {
        Some(i) => (&resource[..i], &resource[i + 1..]),
        None => match service {
            "s3" => ("bucket", resource),
            "sqs" => ("queue", resource),
            "sns" => ("topic", resource),
            _ => ("resource", resource),
        },
    };
    let name = format!("{service}:{}", kind.to_ascii_lowercase());
    ResourceType::is_well_formed(&name).then(|| (ResourceType::parse(&name), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_map_to_tagging_api_types() {
        let cases = [
            (
                "arn:aws:ec2:us-east-1:1:instance/i-1",
                Some(("ec2:instance", "i-1")),
            ),
            (
                "arn:aws:ec2:us-east-1:1:security-group/sg-1",
                Some(("ec2:security-group", "sg-1")),
            ),
            ("arn:aws:s3:::my-bucket", Some(("s3:bucket", "my-bucket"))),
            (
                "arn:aws:dynamodb:us-east-1:1:table/orders",
                Some(("dynamodb:table", "orders")),
            ),
            ("arn:aws:sqs:us-east-1:1:jobs", Some(("sqs:queue", "jobs"))),
            (
                "arn:aws:lambda:us-east-1:1:function:f",
                Some(("lambda:function", "f")),
            ),
            (
                "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f",
                Some(("logs:log-group", "/aws/lambda/f")),
            ),
            (
                "arn:aws:rds:us-east-1:1:db:orders-db",
                Some(("rds:db", "orders-db")),
            ),
            ("arn:aws:kms:us-east-1:1:key/abc", Some(("kms:key", "abc"))),
            ("not-an-arn", None),
        ];
        for (arn, want) in cases {
            let got = type_and_id(arn).map(|(t, id)| (t.as_str().to_owned(), id));
            assert_eq!(
                got,
                want.map(|(t, id)| (t.to_owned(), id.to_owned())),
                "{arn}"
            );
        }
    }
}
