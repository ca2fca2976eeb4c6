//! The tagger: on a new `runs/<run-id>/report.json`, writes the tag plan beside it, and the
//! tags themselves when the stack's tagger mode is `apply`.

use aws_lambda_events::event::s3::S3Event;
use infraqa_lambda::handlers::tagger;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<S3Event>| async move {
            tagger(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
