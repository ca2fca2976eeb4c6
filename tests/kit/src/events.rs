//! CloudTrail events for validation tests: the fixtures in `tests/fixtures/cloudtrail/` (one
//! per supported event name, shaped like AWS's documented examples) with their placeholders
//! filled in.

use crate::{KitError, Step};
use chrono::{DateTime, Utc};

/// The directory of the fixtures.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/cloudtrail");

/// The event `name` about resource `id`, in `account` and `region`, at `time`, with `event_id`.
pub fn cloudtrail_event(
    name: &str,
    id: &str,
    account: &str,
    region: &str,
    time: DateTime<Utc>,
    event_id: &str,
) -> Result<String, KitError> {
    let path = format!("{FIXTURES}/{name}.json");
    Ok(std::fs::read_to_string(&path)
        .step(format!("reading {path}"))?
        .replace("${ACCOUNT}", account)
        .replace("${REGION}", region)
        .replace(
            "${TIME}",
            &time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
        .replace("${EVENT_ID}", event_id)
        .replace("${ID}", id))
}

/// The lambda fixtures' directory.
pub const LAMBDA_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/lambda");

fn lambda_fixture(name: &str) -> Result<String, KitError> {
    let path = format!("{LAMBDA_FIXTURES}/{name}");
    std::fs::read_to_string(&path).step(format!("reading {path}"))
}

/// The EventBridge event the daily schedule sends the scanner (AWS's documented shape).
pub fn scheduled_event(account: &str, region: &str) -> Result<String, KitError> {
    Ok(lambda_fixture("scheduled-event.json")?
        .replace("${ACCOUNT}", account)
        .replace("${REGION}", region)
        .replace(
            "${TIME}",
            &Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ))
}

/// An S3 `ObjectCreated:Put` notification for `key` in `bucket` (AWS's documented shape).
pub fn s3_object_created(bucket: &str, key: &str, region: &str) -> Result<String, KitError> {
    Ok(lambda_fixture("s3-object-created.json")?
        .replace("${BUCKET}", bucket)
        .replace("${KEY}", key)
        .replace("${REGION}", region)
        .replace(
            "${TIME}",
            &Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ))
}

/// An SQS batch of one message whose body is `body` (an EventBridge event, as the validator's
/// queue delivers it).
pub fn sqs_message(
    body: &str,
    message_id: &str,
    account: &str,
    region: &str,
) -> Result<String, KitError> {
    let quoted = serde_json::to_string(body).step("quoting the message body")?;
    Ok(lambda_fixture("sqs-eventbridge.json")?
        .replace("${MESSAGE_ID}", message_id)
        .replace("${ACCOUNT}", account)
        .replace("${REGION}", region)
        .replace("${BODY}", &quoted))
}
