//! Writing tag plans: re-read, compare, write in bulk, report per resource.
//!
//! Every resource is re-read just before its write ([`crate::scan::select`]) and skipped when
//! its tags are no longer those the plan saw, so what was reviewed is exactly what is written.
//! Writes go through the Resource Groups Tagging API `TagResources` (at most 20 ARNs per call,
//! grouped by identical tag sets), except IAM roles (`iam:TagRole`: the tagging API cannot
//! write IAM) and CloudTrail trails (`cloudtrail:AddTags`, in the trail's home region). Entries
//! of `FailedResourcesMap` are retried when transient (a 5xx or 429 status) and reported
//! when not. Rate limits and call retries are discovery's: the same [`AwsClients`].

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::scan::select::{self, Target};
use infraqa_core::ResourceType;
use infraqa_core::observed::Found;
use infraqa_core::tagging::{Outcome, TagChange};
use std::collections::BTreeMap;
use std::time::Duration;

/// ARNs per `TagResources` call (the API's limit).
pub const ARNS_PER_CALL: usize = 20;
/// Attempts for an ARN `FailedResourcesMap` reports as transient, including the first.
const TRANSIENT_ATTEMPTS: u32 = 4;

/// What became of one planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The change.
    pub change: TagChange,
    /// What came of it.
    pub outcome: Outcome,
    /// Why it was skipped or failed.
    pub error: Option<String>,
}

/// Re-reads each changed resource, then writes the changes whose resource is unchanged since
/// the plan. Fails only when the account cannot be read.
pub async fn apply(clients: &AwsClients, changes: &[TagChange]) -> Result<Vec<Written>, AwsError> {
    let targets: Vec<Target> = changes
        .iter()
        .map(|c| Target {
            arn: c.resource_arn.clone(),
            resource_type: c.resource_type.clone(),
            id: c.id.clone(),
            region: c.region.clone(),
        })
        .collect();
    let (_, found) = select::read(clients, &targets).await?;
    let mut ready = Vec::new();
    let mut out = Vec::new();
    for (c, found) in changes.iter().zip(&found) {
        let settled = |outcome, error: String| Written {
            change: c.clone(),
            outcome,
            error: Some(error),
        };
        match found {
            Found::Read(now) if now.tags == c.tags_before => ready.push(c.clone()),
            Found::Read(_) => out.push(settled(
                Outcome::Skipped,
                "its tags changed since the plan: plan again".to_owned(),
            )),
            Found::Unread(e) => out.push(settled(
                Outcome::Failed,
                format!("could not be re-read before the write: {}", e.message),
            )),
            Found::Gone => out.push(settled(Outcome::Gone, "no longer exists".to_owned())),
        }
    }
    out.extend(write(clients, &ready).await);
    Ok(out)
}

/// Writes `changes` as they are (the caller has just read the resources).
pub async fn write(clients: &AwsClients, changes: &[TagChange]) -> Vec<Written> {
    let mut out = Vec::new();
    // (region, tag set) -> changes, for TagResources.
    let mut groups: BTreeMap<(&str, &BTreeMap<String, String>), Vec<&TagChange>> = BTreeMap::new();
    for c in changes {
        match c.resource_type {
            ResourceType::IamRole => out.push(tag_role(clients, c).await),
            ResourceType::CloudtrailTrail => out.push(tag_trail(clients, c).await),
            _ => groups
                .entry((c.region.as_str(), &c.add))
                .or_default()
                .push(c),
        }
    }
    for ((region, tags), members) in groups {
        for chunk in members.chunks(ARNS_PER_CALL) {
            out.extend(tag_resources(&clients.tagging(region), tags, chunk).await);
        }
    }
    out
}

fn done(c: &TagChange, result: Result<(), String>) -> Written {
    match result {
        Ok(()) => Written {
            change: c.clone(),
            outcome: Outcome::Written,
            error: None,
        },
        Err(e) => Written {
            change: c.clone(),
            outcome: Outcome::Failed,
            error: Some(e),
        },
    }
}

/// Whether an error code says the resource does not exist.
fn is_gone(code: &str) -> bool {
    matches!(
        code,
        "NoSuchEntity"
            | "NoSuchBucket"
            | "ResourceNotFoundException"
            | "TrailNotFoundException"
            | "DBInstanceNotFound"
            | "InvalidInstanceID.NotFound"
            | "InvalidVolume.NotFound"
            | "InvalidSnapshot.NotFound"
            | "InvalidGroup.NotFound"
            | "InvalidAllocationID.NotFound"
    )
}

fn failed_call(c: &TagChange, err: &AwsError) -> Written {
    let mut w = done(c, Err(err.to_string()));
    if is_gone(err.code()) {
        w.outcome = Outcome::Gone;
    }
    w
}

async fn tag_role(clients: &AwsClients, c: &TagChange) -> Written {
    let iam = match clients.iam() {
        Ok(iam) => iam,
        Err(e) => return failed_call(c, &e),
    };
    let tags: Vec<aws_sdk_iam::types::Tag> = c
        .add
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect();
    match iam
        .tag_role()
        .role_name(&c.id)
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(_) => done(c, Ok(())),
        Err(e) => failed_call(c, &AwsError::call("iam", "TagRole", e)),
    }
}

async fn tag_trail(clients: &AwsClients, c: &TagChange) -> Written {
    let tags: Vec<aws_sdk_cloudtrail::types::Tag> = c
        .add
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_cloudtrail::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect();
    match clients
        .cloudtrail(&c.region)
        .add_tags()
        .resource_id(&c.resource_arn)
        .set_tags_list(Some(tags))
        .send()
        .await
    {
        Ok(_) => done(c, Ok(())),
        Err(e) => failed_call(c, &AwsError::call("cloudtrail", "AddTags", e)),
    }
}

/// One `TagResources` call per attempt; ARNs it reports as transiently failed are retried.
async fn tag_resources(
    client: &aws_sdk_resourcegroupstagging::Client,
    tags: &BTreeMap<String, String>,
    chunk: &[&TagChange],
) -> Vec<Written> {
    let mut pending: Vec<&TagChange> = chunk.to_vec();
    let mut out = Vec::new();
    for attempt in 1..=TRANSIENT_ATTEMPTS {
        let arns: Vec<String> = pending.iter().map(|c| c.resource_arn.clone()).collect();
        let failed = match client
            .tag_resources()
            .set_resource_arn_list(Some(arns))
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
            .await
        {
            Ok(o) => o.failed_resources_map.unwrap_or_default(),
            Err(e) => {
                let err = AwsError::call("tagging", "TagResources", e);
                out.extend(pending.iter().map(|c| failed_call(c, &err)));
                return out;
            }
        };
        let mut retry = Vec::new();
        for c in pending {
            match failed.get(&c.resource_arn) {
                None => out.push(done(c, Ok(()))),
                Some(f) => {
                    let code = f.error_code().map_or("", |c| c.as_str());
                    let transient = f.status_code() >= 500 || code.contains("Throttl");
                    if transient && attempt < TRANSIENT_ATTEMPTS {
                        retry.push(c);
                    } else {
                        let message = format!(
                            "TagResources: {} {code}: {}",
                            f.status_code(),
                            f.error_message().unwrap_or("no message")
                        );
                        out.push(done(c, Err(message)));
                    }
                }
            }
        }
        if retry.is_empty() {
            break;
        }
        pending = retry;
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_resourcegroupstagging::operation::tag_resources::TagResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ErrorCode, FailureInfo};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn change(arn: &str) -> TagChange {
        TagChange {
            resource_arn: arn.to_owned(),
            resource_type: ResourceType::Ec2Volume,
            id: arn.rsplit('/').next().unwrap_or_default().to_owned(),
            region: "us-east-1".to_owned(),
            tags_before: infraqa_core::model::Tags::new(),
            add: BTreeMap::from([("Owner".to_owned(), "a".to_owned())]),
            sources: BTreeMap::new(),
            withheld: BTreeMap::new(),
        }
    }

    fn failure(status: i32, code: ErrorCode) -> FailureInfo {
        FailureInfo::builder()
            .status_code(status)
            .error_code(code)
            .error_message("boom")
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_and_permanent_ones_reported() {
        let (flaky, bad, fine) = (
            "arn:aws:ec2:us-east-1:1:volume/vol-flaky",
            "arn:aws:ec2:us-east-1:1:volume/vol-bad",
            "arn:aws:ec2:us-east-1:1:volume/vol-fine",
        );
        let first = mock!(aws_sdk_resourcegroupstagging::Client::tag_resources)
            .match_requests(move |r| r.resource_arn_list().len() == 3)
            .then_output(move || {
                TagResourcesOutput::builder()
                    .failed_resources_map(flaky, failure(500, ErrorCode::InternalServiceException))
                    .failed_resources_map(bad, failure(400, ErrorCode::InvalidParameterException))
                    .build()
            });
        let retry = mock!(aws_sdk_resourcegroupstagging::Client::tag_resources)
            .match_requests(move |r| r.resource_arn_list() == [flaky.to_owned()])
            .then_output(|| TagResourcesOutput::builder().build());
        let client = mock_client!(
            aws_sdk_resourcegroupstagging,
            RuleMode::MatchAny,
            [&first, &retry]
        );
        let changes = [change(flaky), change(bad), change(fine)];
        let refs: Vec<&TagChange> = changes.iter().collect();
        let out = tag_resources(&client, &changes[0].add, &refs).await;
        let outcome = |arn: &str| {
            out.iter()
                .find(|w| w.change.resource_arn == arn)
                .map(|w| (w.outcome, w.error.clone()))
                .unwrap()
        };
        assert_eq!(outcome(fine).0, Outcome::Written);
        assert_eq!(outcome(flaky).0, Outcome::Written, "retried after a 500");
        let (o, e) = outcome(bad);
        assert_eq!(o, Outcome::Failed);
        assert!(e.unwrap().contains("InvalidParameterException"));
        assert_eq!(first.num_calls(), 1);
        assert_eq!(retry.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_that_stays_transient_is_reported_after_the_last_attempt() {
        let arn = "arn:aws:ec2:us-east-1:1:volume/vol-flaky";
        let always =
            mock!(aws_sdk_resourcegroupstagging::Client::tag_resources).then_output(move || {
                TagResourcesOutput::builder()
                    .failed_resources_map(arn, failure(503, ErrorCode::InternalServiceException))
                    .build()
            });
        let client = mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [&always]);
        let c = change(arn);
        let out = tag_resources(&client, &c.add, &[&c]).await;
        assert_eq!(out[0].outcome, Outcome::Failed);
        assert_eq!(always.num_calls(), TRANSIENT_ATTEMPTS as usize);
    }
}
