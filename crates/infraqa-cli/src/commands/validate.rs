//! `infraqa validate --policy FILE --event FILE`: the verdict on the resources one CloudTrail
//! event names, as JSON on stdout; audited once per event id, logged, and alerted on when a
//! finding is critical.

use super::audit::AuditLog;
use super::aws::LazyClients;
use crate::args::ValidateArgs;
use crate::exit::CliError;
use anyhow::{Context, anyhow};
use infraqa_aws::validate::{self, Options, Verdict, event};
use infraqa_core::history::{audit_file_for_event, audit_lines};
use serde::Serialize;
use std::path::PathBuf;

/// What is printed: the verdict, and the alert when one was published.
#[derive(Serialize)]
struct Printed<'a> {
    #[serde(flatten)]
    validation: &'a validate::Validation,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<Alert>,
    /// False when the event had been validated before (a duplicate delivery).
    first_delivery: bool,
}

#[derive(Serialize)]
struct Alert {
    topic: String,
    message_id: String,
}

/// Runs `infraqa validate`.
pub async fn run(args: &ValidateArgs, aws: &LazyClients<'_>) -> Result<(), CliError> {
    let policy = super::policy::load(&args.policy)?;
    let text = std::fs::read_to_string(&args.event)
        .with_context(|| format!("cannot read event file {}", args.event.display()))
        .map_err(CliError::InvalidInput)?;
    let call = event::parse(&text, &args.event.display().to_string())
        .map_err(|e| CliError::InvalidInput(anyhow!(e)))?;
    let clients = aws.get().await;
    let options = Options {
        grace: std::time::Duration::from_secs(args.grace),
        apply_tags: args.apply_tags,
    };
    let v = validate::validate(clients, &policy, &call, options).await?;
    let (_, actor) = clients.caller().await?;

    let at = chrono::Utc::now();
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let log = AuditLog::new(&dir, args.history.as_ref(), aws);
    let first = log
        .write(
            &audit_file_for_event(&v.event.id),
            &audit_lines(&v.audit(&actor, at)),
        )
        .await?;
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

    let topic = args
        .alert_topic
        .clone()
        .or_else(|| policy.alerts.topic.clone());
    let mut alert = None;
    if let Some(topic) = topic
        && first
        && v.verdict == Verdict::Flagged
        && let Some(id) = validate::alert(clients, &topic, &v).await?
    {
        alert = Some(Alert {
            topic,
            message_id: id,
        });
    }
    let printed = Printed {
        validation: &v,
        alert,
        first_delivery: first,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&printed).map_err(|e| CliError::AwsOrStorage(anyhow!(e)))?
    );
    match v.verdict {
        Verdict::NotEvaluated => Err(CliError::AwsOrStorage(anyhow!(
            "not evaluated: {}",
            v.reason.clone().unwrap_or_default()
        ))),
        _ => super::check::enforce(&v.findings().cloned().collect::<Vec<_>>(), args.fail_on),
    }
}
