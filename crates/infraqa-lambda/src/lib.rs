//! The handlers of the infraqa Lambda functions, as library functions over the pipeline.
//!
//! The suite keeps everything in one bucket:
//!
//! ```text
//! policy.toml                      the policy (a parameter names the key)
//! latest.json                      reporter: the newest run's report files (never an older one's)
//! latest-organization.json         reporter: the newest organization run's summary files
//! runs/<run-id>/inventory.json     scanner   (run id: the scan's time, 20261202T013000Z)
//! runs/<run-id>/findings.json      checker   (on the inventory's ObjectCreated event)
//! runs/<run-id>/report.*           reporter  (on the findings' event), with the history entry
//! runs/<run-id>/alert.json         reporter: the alert sent for the run (never sent twice)
//! runs/<run-id>/tag-plan.json      tagger    (on report.json's event)
//! runs/<run-id>/shards.json        a run over several accounts (the state machine's): its
//! runs/<run-id>/<account>/...      shards, their files, each account's report, and the
//! runs/<run-id>/organization.*     summary over them
//! history/                         one entry per run
//! audit-log/                       tag writes and validations, one file each, never replaced
//! ```
//!
//! A run over several accounts, as the stack's state machine (`template.yaml`,
//! `OrganizationRun`) calls the same functions:
//!
//! ```text
//! runs/<run-id>/shards.json                         scanner {"plan": {}}
//! runs/<run-id>/<account>/<region>/inventory.json   scanner {"shard": {...}}
//! runs/<run-id>/<account>/<region>/findings.json    checker {"shard": {...}}
//! runs/<run-id>/<account>/report.*                  reporter {"organization_run": "<run-id>"}
//! runs/<run-id>/organization.json, .md              reporter
//! runs/<run-id>/<account>/tag-plan.json             tagger {"organization_run": "<run-id>"}
//! ```
//!
//! One module per function (`scanner`, `checker`, `reporter`, `tagger`, `validator`), each
//! with its `handle` (the entry point its `functions/<name>` main calls) and both its
//! single-account and its organization paths; `events` holds what they are invoked with and
//! answer, `suite` what they share. Every S3- or EventBridge-triggered handler is idempotent: a
//! second delivery of the same event finds its output there and changes nothing, and every
//! state machine step can be retried (a shard is scanned and checked again over its previous
//! files; an account with its history entry is not reported twice, nor tagged twice). Each main
//! reads its [`Config`] at start-up, builds the clients once and hands events to `handle`.

pub mod checker;
pub mod config;
pub mod events;
pub mod reporter;
pub mod scanner;
pub mod suite;
pub mod tagger;
pub mod validator;

pub use config::{Config, ConfigError};
pub use suite::{HandlerError, Suite};

/// A function's whole `main`: JSON logging, the configuration read and validated, the clients
/// built once, and every event handed to `handler`. A bad configuration does not end the
/// process (Lambda would then say only `Runtime.ExitError`): it is logged once as JSON, and
/// every invocation fails with the error type `ConfigError` and a message naming the variable
/// and the value expected, where the console, the CLI and the state machine show an error.
pub async fn serve<A, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    A: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(suite::Suite, lambda_runtime::LambdaEvent<A>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<R, HandlerError>> + Send + 'static,
{
    // Lambda's own logging setup: JSON when the function's `LogFormat` is JSON (the template
    // sets it), the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default info). `serve` is
    // the process's entry point, so no subscriber is installed before this one.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return serve_config_error(e).await,
    };
    let suite = suite::Suite::new(config, infraqa_pipeline::Aws::new(Default::default()));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(suite.clone(), event)
    }))
    .await
}

/// The runtime of a function whose configuration is wrong: `e` logged once, then every
/// invocation answered with it.
async fn serve_config_error(e: ConfigError) -> Result<(), lambda_runtime::Error> {
    tracing::error!(
        variable = e.variable,
        problem = %e.problem,
        "the function's configuration is wrong: every invocation fails until it is fixed"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(e);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let diagnostic = diagnostic.clone();
            async move { Err::<(), _>(diagnostic) }
        },
    ))
    .await
}
