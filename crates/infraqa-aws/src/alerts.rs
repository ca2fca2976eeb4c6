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

/// The AWS console's page of the object `key` in `bucket` (a bucket of `region`): the console
/// asks for the person's own sign-in, so nothing is made public and no link expires.
pub fn console_object_url(bucket: &str, region: &str, key: &str) -> String {
    format!(
        "https://{}/s3/object/{bucket}?region={region}&prefix={}",
        console_host(region),
        encode(key)
    )
}

/// The AWS console's listing of `prefix` (ending in `/`) in `bucket` (a bucket of `region`).
pub fn console_prefix_url(bucket: &str, region: &str, prefix: &str) -> String {
    format!(
        "https://{}/s3/buckets/{bucket}?region={region}&prefix={}",
        console_host(region),
        encode(prefix)
    )
}

/// The console's host in `region`'s partition.
fn console_host(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "console.amazonaws.cn"
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com"
    } else {
        "console.aws.amazon.com"
    }
}

/// `text` for a query string: unreserved characters and `/` as they are, the rest %-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_links_name_the_object_in_its_partition() {
        assert_eq!(
            console_object_url(
                "infraqa-1-eu-west-1",
                "eu-west-1",
                "runs/20261202T013000Z/report.html"
            ),
            "https://console.aws.amazon.com/s3/object/infraqa-1-eu-west-1?region=eu-west-1&prefix=runs/20261202T013000Z/report.html"
        );
        assert!(
            console_prefix_url("b", "cn-north-1", "runs/")
                .starts_with("https://console.amazonaws.cn/s3/buckets/b?")
        );
        assert!(console_object_url("b", "us-gov-west-1", "a b&c").ends_with("prefix=a%20b%26c"));
    }
}
