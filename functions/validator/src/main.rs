//! The validator: CloudTrail events from the delay queue, one verdict each; failures are
//! returned as batch item failures (retried, then dead-lettered), never blocking the rest.

use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            Ok(infraqa_lambda::validator::handle(&suite, &event.payload).await)
        },
    )
    .await
}
