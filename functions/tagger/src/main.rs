//! The tagger: on a new `runs/<run-id>/report.json`, writes the tag plan beside it, and the
//! tags themselves when the stack's tagger mode is `apply`; for the state machine,
//! `{"organization_run": "<run-id>"}` does the same for every account of that run.

use infraqa_lambda::events::{ChainEvent, RunRequest};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<ChainEvent<RunRequest>>| async move {
            infraqa_lambda::tagger::handle(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
