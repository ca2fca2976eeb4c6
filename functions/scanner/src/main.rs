//! The scanner: on the schedule (or a console invoke with `{}` or `{"regions": [...]}`), scans
//! the account by the Lambda's deadline and writes `runs/<run-id>/inventory.json`. For the
//! state machine of a run over several accounts, `{"plan": {}}` writes the run's shards and
//! `{"shard": {...}}` scans one of them.

use infraqa_lambda::events::ScannerEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<ScannerEvent>| async move {
            let deadline = event.context.deadline();
            infraqa_lambda::scanner::handle(
                &suite,
                event.payload,
                Some(deadline),
                chrono::Utc::now(),
            )
            .await
        },
    )
    .await
}
