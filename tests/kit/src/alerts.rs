//! Watching alerts in the emulator: an SNS topic with an SQS queue subscribed, and the SNS
//! envelopes (`Subject`, `Message`) that reach the queue.

use crate::{KitError, Step};
use infraqa_aws::AwsClients;

/// A topic whose messages land in a queue.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The topic's ARN.
    pub topic: String,
    /// The queue's URL.
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// Creates topic `name` in `region` and subscribes a new queue to it.
pub async fn watched_topic(c: &AwsClients, region: &str, name: &str) -> Result<Watched, KitError> {
    let sns = c.sns(region);
    let topic = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .step(format!("creating topic {name}"))?
        .topic_arn
        .ok_or_else(|| KitError::missing(format!("the ARN of topic {name}")))?;
    let sqs = aws_sdk_sqs::Client::new(c.sdk_config());
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{name}-watch"))
        .send()
        .await
        .step("creating the watching queue")?
        .queue_url
        .ok_or_else(|| KitError::missing("the watching queue's URL".to_owned()))?;
    let arn_key = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(arn_key.clone())
        .send()
        .await
        .step("reading the watching queue's ARN")?
        .attributes
        .and_then(|mut a| a.remove(&arn_key))
        .ok_or_else(|| KitError::missing("the watching queue's ARN".to_owned()))?;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .step("subscribing the queue to the topic")?;
    Ok(Watched {
        topic,
        queue_url,
        sqs,
    })
}

impl Watched {
    /// The SNS envelopes that arrived (waiting up to a second), consumed.
    pub async fn received(&self) -> Result<Vec<serde_json::Value>, KitError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .step("receiving alerts")?;
        out.messages()
            .iter()
            .map(|m| {
                serde_json::from_str(m.body().unwrap_or_default()).step("reading an SNS envelope")
            })
            .collect()
    }
}
