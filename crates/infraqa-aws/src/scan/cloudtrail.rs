//! CloudTrail trails visible from one region (including multi-region trails homed elsewhere),
//! with their logging status and tags read in their home region (`ListTags`: an account has a
//! handful of trails, and not every tagging API implementation lists them).

use super::{Ctx, Only};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use infraqa_core::model::{ResourceDetails, Trail, TrailIntegrity};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType};

/// Collects the trails whose home region is `ctx.region`, and multi-region trails seen here
/// whose home region is not scanned (so coverage can still be judged); with `only`, the named
/// trails alone.
pub async fn collect(ctx: &Ctx<'_>, scanned: &[String], only: Only<'_>) -> Sink {
    let mut sink = Sink::default();
    let ct = ctx.clients.cloudtrail(ctx.region);
    let trails = match ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(out) => out.trail_list.unwrap_or_default(),
        Err(e) => {
            sink.error(
                ctx.region,
                &AwsError::call("cloudtrail", "DescribeTrails", e),
            );
            return sink;
        }
    };
    for trail in trails {
        let (Some(name), Some(arn)) = (trail.name(), trail.trail_arn()) else {
            continue;
        };
        if !only.has(&ResourceType::CloudtrailTrail, name) {
            continue;
        }
        let home = trail.home_region().unwrap_or(ctx.region).to_owned();
        // Each trail is read once: by its home region's unit, or by this one when the home
        // region is not scanned.
        let here = home == ctx.region;
        if !here && (scanned.contains(&home) || !trail.is_multi_region_trail().unwrap_or(false)) {
            continue;
        }
        let status_client = if here {
            ct.clone()
        } else {
            ctx.clients.cloudtrail(&home)
        };
        let is_logging = match status_client.get_trail_status().name(arn).send().await {
            Ok(out) => Observed::Read(out.is_logging().unwrap_or(false)),
            Err(e) => {
                let err = AwsError::call("cloudtrail", "GetTrailStatus", e);
                Observed::failed(sink.error(&home, &err.naming(&format!("trail {name}"))))
            }
        };
        let (tags, tags_unread) = match status_client.list_tags().resource_id_list(arn).send().await
        {
            Ok(out) => (
                out.resource_tag_list()
                    .iter()
                    .flat_map(|t| t.tags_list())
                    .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
                    .collect(),
                None,
            ),
            Err(e) => {
                let err = AwsError::call("cloudtrail", "ListTags", e);
                let record = sink.error(&home, &err.naming(&format!("trail {name}")));
                (infraqa_core::model::Tags::new(), Some(Box::new(record)))
            }
        };
        sink.resources.push(Resource {
            arn: arn.to_owned(),
            id: name.into(),
            resource_type: ResourceType::CloudtrailTrail,
            region: home.as_str().into(),
            account_id: ctx.account_id.into(),
            tags,
            tags_unread,
            usage: None,
            created_at: None,
            details: ResourceDetails::CloudtrailTrail(Trail {
                home_region: home,
                multi_region: trail.is_multi_region_trail().unwrap_or(false),
                is_logging,
                integrity: trail
                    .log_file_validation_enabled()
                    .map(|log_file_validation| TrailIntegrity {
                        log_file_validation,
                        kms_key_id: trail.kms_key_id().map(str::to_owned),
                    }),
            }),
        });
    }
    sink
}
