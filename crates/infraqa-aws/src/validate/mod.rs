//! Validating the resources one CloudTrail event names, the moment it arrives: the grace
//! period waited out, each resource read fresh (the collectors with a resource filter,
//! [`crate::scan::select`]), the verdict from core ([`Validation::judge`]) as of the clock
//! read here, and with `--apply-tags` the missing tags written.

use crate::alerts::short;
use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::scan::select::{self, Target};
use crate::tagger;
use infraqa_core::validation::event::ApiCall;
use infraqa_core::validation::{Judged, Named, Validation, grace_left};
use infraqa_core::{Finding, Policy, Severity};
use std::time::Duration;

/// How to validate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Read no earlier than this long after the event's time.
    pub grace: Duration,
    /// Write missing `Owner`, `CreatedAt` and `ComplianceStatus`.
    pub apply_tags: bool,
}

/// Validates the resources `call` names. Fails only when the account cannot be read.
pub async fn validate(
    clients: &AwsClients,
    policy: &Policy,
    call: &ApiCall,
    options: Options,
) -> Result<Validation, AwsError> {
    let names = match call.resources() {
        Ok(names) => names,
        Err(ignored) => return Ok(Validation::ignored(call, ignored.0)),
    };
    if let Some(left) = grace_left(call.time, options.grace, chrono::Utc::now()) {
        tokio::time::sleep(left).await;
    }
    let targets: Vec<Target> = names
        .iter()
        .map(|n| Target {
            arn: String::new(),
            resource_type: n.resource_type.clone(),
            id: n.id.clone(),
            region: n.region.clone(),
        })
        .collect();
    let (account_id, found) = select::read(clients, &targets).await?;
    let named: Vec<Named> = targets
        .into_iter()
        .zip(found)
        .map(|(t, found)| Named {
            resource_type: t.resource_type,
            id: t.id,
            region: t.region,
            found,
        })
        .collect();
    let Judged {
        mut validation,
        to_write,
    } = Validation::judge(
        call,
        policy,
        account_id,
        &named,
        options.apply_tags,
        chrono::Utc::now(),
    );
    for w in tagger::write(clients, &to_write).await {
        validation.record_write(&w.change, w.error);
    }
    Ok(validation)
}

/// Publishes one alert for the event's critical findings to `topic`; returns the message id,
/// or `None` when there is no critical finding.
pub async fn alert(
    clients: &AwsClients,
    topic: &str,
    v: &Validation,
) -> Result<Option<String>, AwsError> {
    let critical: Vec<&Finding> = v
        .findings()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    let Some(first) = critical.first() else {
        return Ok(None);
    };
    let subject = format!(
        "infraqa: critical {} on {} by {}",
        first.rule_id,
        short(&first.resource_arn),
        short(&v.event.principal)
    );
    let mut body = format!(
        "{} by {} in {} at {} (event {}) made a resource critical:\n",
        v.event.name, v.event.principal, v.event.region, v.event.time, v.event.id
    );
    for f in &critical {
        body.push_str(&format!(
            "\n- resource: {}\n  rule: {} ({})\n  finding: {}\n  remediation: {}\n  principal: {}\n",
            f.resource_arn, f.rule_id, f.severity, f.message, f.remediation, v.event.principal
        ));
    }
    crate::alerts::publish(clients, topic, &subject, body).await
}
