//! Validation as a step: the verdict on one CloudTrail event, audited once per event id, and
//! alerted on (once) when a finding is critical. The `infraqa validate` command and the
//! validator function both call this.

use crate::audit::AuditLog;
use crate::aws::Aws;
use crate::error::PipelineError;
use infraqa_aws::validate::{self, Options};
use infraqa_core::Policy;
use infraqa_core::names::audit_file_for_event;
use infraqa_core::validation::event::ApiCall;
use infraqa_core::validation::{Validation, Verdict};
use serde::Serialize;

/// An alert that was published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// The topic.
    pub topic: String,
    /// SNS's message id.
    pub message_id: String,
}

/// What a validation printed and did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The verdict.
    #[serde(flatten)]
    pub validation: Validation,
    /// The alert, when one was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// False when the event had been validated before (a duplicate delivery: no second audit
    /// entry, no second alert).
    pub first_delivery: bool,
}

/// Validates `call`, audits the verdict in `log` (keyed by the event id), logs it, and, on the
/// first delivery of a flagged event with a critical finding, publishes to `topic`. A second
/// delivery (the event id already in the log, however long ago) is judged read-only and writes
/// nothing anywhere: no tags, no audit entry, no alert.
pub async fn run(
    aws: &Aws,
    policy: &Policy,
    call: &ApiCall,
    options: Options,
    log: &AuditLog,
    topic: Option<&str>,
) -> Result<Outcome, PipelineError> {
    let clients = &aws.for_policy(policy).await;
    // The duplicate check comes before any write: a second delivery of the event is judged
    // again (read only, for its verdict) but writes no tag, no audit entry and no alert.
    let seen = log
        .has_event(&call.id, call.time, chrono::Utc::now())
        .await?;
    let options = Options {
        apply_tags: options.apply_tags && !seen,
        ..options
    };
    let v = validate::validate(clients, policy, call, options)
        .await
        .map_err(|e| PipelineError::aws(format!("validating event {}", call.id), e))?;
    let first = if seen {
        false
    } else {
        let (_, actor) = clients
            .caller()
            .await
            .map_err(|e| PipelineError::aws("reading the caller's identity", e))?;
        let now = chrono::Utc::now();
        log.write(
            &audit_file_for_event(&v.event.id, v.event.time, now),
            &v.audit(&actor, now),
        )
        .await?
    };
    tracing::info!(
        target: "infraqa::verdict",
        event_id = %v.event.id,
        event = %v.event.name,
        principal = %v.event.principal,
        verdict = %v.verdict.as_str(),
        resources = v.resources.len(),
        findings = v.findings().count(),
        first_delivery = first,
        "validated"
    );
    let mut alert = None;
    if let Some(topic) = topic
        && first
        && v.verdict == Verdict::Flagged
        && let Some(message_id) = validate::alert(clients, topic, &v)
            .await
            .map_err(|e| PipelineError::aws(format!("publishing to {topic}"), e))?
    {
        alert = Some(Alert {
            topic: topic.to_owned(),
            message_id,
        });
    }
    Ok(Outcome {
        validation: v,
        alert,
        first_delivery: first,
    })
}
