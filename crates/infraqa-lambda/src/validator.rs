//! The validator: CloudTrail events from the delay queue, one verdict each, audited once per
//! event id; a message that fails is returned as a batch item failure.

use crate::config::TaggerMode;
use crate::suite::{HandlerError, Suite};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use infraqa_aws::validate::Options;
use infraqa_core::Policy;
use infraqa_core::validation::event;

/// For each queued CloudTrail event: the verdict, audited once per event id, tags and alerts as
/// configured. A message that fails is returned as a batch item failure, so SQS retries it
/// and finally moves it to the dead-letter queue; it never blocks the others.
pub async fn handle(suite: &Suite, event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let policy = match suite.policy().await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, "no usable policy: every message is returned");
            None
        }
    };
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let result = match &policy {
            None => Err("no usable policy".to_owned()),
            Some(policy) => {
                validate_one(
                    suite,
                    policy,
                    message.body.as_deref().unwrap_or_default(),
                    &id,
                )
                .await
            }
        };
        if let Err(e) = result {
            tracing::error!(message_id = %id, error = %e, "event not validated");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn validate_one(suite: &Suite, policy: &Policy, body: &str, id: &str) -> Result<(), String> {
    let call = event::parse(body, &format!("SQS message {id}")).map_err(|e| e.to_string())?;
    let options = Options {
        grace: suite.config.grace,
        apply_tags: suite.config.tagger_mode == TaggerMode::Apply,
    };
    infraqa_pipeline::validation::run(
        &suite.aws,
        policy,
        &call,
        options,
        &suite.audit_log(),
        suite.config.alert_topic.as_deref(),
    )
    .await
    .map(drop)
    .map_err(|e| HandlerError::from(e).to_string())
}
