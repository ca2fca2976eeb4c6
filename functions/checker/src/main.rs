//! The checker: on a new `runs/<run-id>/inventory.json`, writes its `findings.json`.

use aws_lambda_events::event::s3::S3Event;
use infraqa_lambda::handlers::checker;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<S3Event>| async move {
            checker(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
