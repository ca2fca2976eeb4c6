//! The reporter: on a new `runs/<run-id>/findings.json`, writes the reports and the history
//! entry, publishes the metrics and alerts on new critical findings.

use aws_lambda_events::event::s3::S3Event;
use infraqa_lambda::handlers::reporter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<S3Event>| async move {
            reporter(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
