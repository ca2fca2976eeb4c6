//! `infraqa validate --policy FILE --event FILE`: the verdict on the resources one CloudTrail
//! event names, as JSON on stdout; audited once per event id, logged, and alerted on when a
//! finding is critical (all by the pipeline's validation step).

use super::aws::Aws;
use crate::args::ValidateArgs;
use crate::exit::CliError;
use anyhow::{Context, anyhow};
use infraqa_aws::validate::Options;
use infraqa_core::validation::{Verdict, event};
use infraqa_pipeline::audit::AuditLog;
use infraqa_pipeline::{Location, Store};
use std::path::PathBuf;

/// Runs `infraqa validate`.
pub async fn run(args: &ValidateArgs, aws: &Aws) -> Result<(), CliError> {
    let policy = super::policy::load(&args.policy)?;
    let text = std::fs::read_to_string(&args.event)
        .with_context(|| format!("cannot read event file {}", args.event.display()))
        .map_err(CliError::InvalidInput)?;
    let call = event::parse(&text, &args.event.display().to_string())
        .map_err(|e| CliError::InvalidInput(anyhow!(e)))?;
    let options = Options {
        grace: std::time::Duration::from_secs(args.grace),
        apply_tags: args.apply_tags,
    };
    let dir = Store::new(
        Location::Local(args.dir.clone().unwrap_or_else(|| PathBuf::from("."))),
        aws,
    );
    let history = args.history.clone().map(|h| Store::new(h, aws));
    let log = AuditLog::new(&dir, history.as_ref());
    let topic = args
        .alert_topic
        .clone()
        .or_else(|| policy.alerts.topic.clone());
    let outcome =
        infraqa_pipeline::validation::run(aws, &policy, &call, options, &log, topic.as_deref())
            .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&outcome).map_err(|e| CliError::AwsOrStorage(anyhow!(e)))?
    );
    let v = &outcome.validation;
    match v.verdict {
        Verdict::NotEvaluated => Err(CliError::AwsOrStorage(anyhow!(
            "not evaluated: {}",
            v.reason.clone().unwrap_or_default()
        ))),
        _ => super::check::enforce(&v.findings().cloned().collect::<Vec<_>>(), args.fail_on),
    }
}
