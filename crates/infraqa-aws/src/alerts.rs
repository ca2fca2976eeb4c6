//! Alerts: one SNS message with a subject a person can triage from.

use crate::clients::AwsClients;
use crate::error::AwsError;

/// SNS subjects are at most 100 characters.
const SUBJECT_MAX: usize = 100;

/// Publishes `body` under `subject` (shortened to SNS's limit) to `topic`, in the topic's own
/// region; returns SNS's message id.
pub async fn publish(
    clients: &AwsClients,
    topic: &str,
    subject: &str,
    body: String,
) -> Result<Option<String>, AwsError> {
    let region = match topic.split(':').nth(3) {
        Some(r) if !r.is_empty() => r.to_owned(),
        _ => clients.require_home_region()?.to_owned(),
    };
    let subject = if subject.chars().count() > SUBJECT_MAX {
        subject.chars().take(SUBJECT_MAX - 3).collect::<String>() + "..."
    } else {
        subject.to_owned()
    };
    let out = clients
        .sns(&region)
        .publish()
        .topic_arn(topic)
        .subject(subject)
        .message(body)
        .send()
        .await
        .map_err(|e| AwsError::call("sns", "Publish", e))?;
    Ok(out.message_id)
}

/// The last segment of an ARN, for a subject line.
pub fn short(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}
