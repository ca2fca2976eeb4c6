//! CloudTrail trails visible from one region (including multi-region trails homed elsewhere),
//! with their logging status and tags read in their home region (`ListTags`: an account has a
//! handful of trails, and not every tagging API implementation lists them).

use super::{Ctx, Only, partition};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, ReadWriteType};
use infraqa_core::model::{ResourceDetails, S3DataEvents, Trail, TrailIntegrity};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType};

/// Collects the trails whose home region is `ctx.region`, and multi-region trails seen here
/// whose home region is not scanned (so coverage can still be judged); with `only`, the named
/// trails alone; with `events`, what each logs of S3 objects (`GetEventSelectors`).
pub async fn collect(ctx: &Ctx<'_>, scanned: &[String], only: Only<'_>, events: bool) -> Sink {
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
        let data_events = if events {
            let answer = status_client
                .get_event_selectors()
                .trail_name(arn)
                .send()
                .await;
            Some(match answer {
                Ok(out) => Observed::Read(s3_data_events(&out, partition(&home))),
                Err(e) => {
                    let err = AwsError::call("cloudtrail", "GetEventSelectors", e);
                    Observed::failed(sink.error(&home, &err.naming(&format!("trail {name}"))))
                }
            })
        } else {
            None
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
                data_events,
            }),
        });
    }
    sink
}

/// The S3 object type of data events.
const S3_OBJECT: &str = "AWS::S3::Object";

/// What a trail logs of S3 objects, from its basic and advanced event selectors; `partition`
/// names "every bucket" (`arn:PARTITION:s3`).
fn s3_data_events(out: &GetEventSelectorsOutput, partition: &str) -> S3DataEvents {
    let mut events = S3DataEvents::default();
    for s in out.event_selectors() {
        // AWS's default is All.
        let (read, write) = match s.read_write_type() {
            Some(ReadWriteType::ReadOnly) => (true, false),
            Some(ReadWriteType::WriteOnly) => (false, true),
            _ => (true, true),
        };
        for d in s
            .data_resources()
            .iter()
            .filter(|d| d.r#type() == Some(S3_OBJECT))
        {
            for v in d.values() {
                if read {
                    events.read.push(v.clone());
                }
                if write {
                    events.write.push(v.clone());
                }
            }
        }
    }
    for a in out.advanced_event_selectors() {
        advanced(a, partition, &mut events);
    }
    events
}

/// An advanced selector counts when it selects S3 object data events (`eventCategory` and
/// `resources.type` equal to `Data` and `AWS::S3::Object`) narrowed by nothing but `readOnly`
/// and `resources.ARN` prefixes: any other condition logs part of the objects' events.
fn advanced(a: &AdvancedEventSelector, partition: &str, events: &mut S3DataEvents) {
    let (mut data, mut objects) = (false, false);
    let (mut read, mut write) = (true, true);
    let mut prefixes: Option<Vec<String>> = None;
    for f in a.field_selectors() {
        let only_equals = f.starts_with().is_empty()
            && f.ends_with().is_empty()
            && f.not_equals().is_empty()
            && f.not_starts_with().is_empty()
            && f.not_ends_with().is_empty();
        match (f.field(), f.equals()) {
            ("eventCategory", [v]) if only_equals && v == "Data" => data = true,
            ("resources.type", [v]) if only_equals && v == S3_OBJECT => objects = true,
            ("readOnly", [v]) if only_equals && v == "true" => write = false,
            ("readOnly", [v]) if only_equals && v == "false" => read = false,
            ("resources.ARN", [])
                if f.ends_with().is_empty()
                    && f.not_equals().is_empty()
                    && f.not_starts_with().is_empty()
                    && f.not_ends_with().is_empty() =>
            {
                prefixes = Some(f.starts_with().to_vec());
            }
            _ => return,
        }
    }
    if !(data && objects) {
        return;
    }
    let prefixes = prefixes.unwrap_or_else(|| vec![format!("arn:{partition}:s3")]);
    if read {
        events.read.extend(prefixes.iter().cloned());
    }
    if write {
        events.write.extend(prefixes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::types::{AdvancedFieldSelector, DataResource, EventSelector};

    fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
        AdvancedFieldSelector::builder()
            .field(name)
            .set_equals(Some(equals.iter().map(|s| (*s).to_owned()).collect()))
            .build()
            .unwrap()
    }

    #[test]
    fn basic_and_advanced_selectors_say_what_is_logged() {
        let out = GetEventSelectorsOutput::builder()
            .event_selectors(
                EventSelector::builder()
                    .read_write_type(ReadWriteType::WriteOnly)
                    .data_resources(
                        DataResource::builder()
                            .r#type(S3_OBJECT)
                            .values("arn:aws:s3:::orders/")
                            .build(),
                    )
                    .data_resources(
                        DataResource::builder()
                            .r#type("AWS::Lambda::Function")
                            .values("arn:aws:lambda")
                            .build(),
                    )
                    .build(),
            )
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .field_selectors(field("eventCategory", &["Data"]))
                    .field_selectors(field("resources.type", &[S3_OBJECT]))
                    .field_selectors(field("readOnly", &["true"]))
                    .build()
                    .unwrap(),
            )
            // Narrowed by event name: part of the events, not counted.
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .field_selectors(field("eventCategory", &["Data"]))
                    .field_selectors(field("resources.type", &[S3_OBJECT]))
                    .field_selectors(field("eventName", &["PutObject"]))
                    .build()
                    .unwrap(),
            )
            .build();
        let got = s3_data_events(&out, "aws");
        assert_eq!(got.write, ["arn:aws:s3:::orders/"]);
        assert_eq!(got.read, ["arn:aws:s3"]);
    }
}
