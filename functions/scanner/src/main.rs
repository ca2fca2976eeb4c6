//! The scanner: on the schedule (or a console invoke with `{}` or `{"regions": [...]}`), scans
//! the account by the Lambda's deadline and writes `runs/<run-id>/inventory.json`.

use infraqa_lambda::handlers::{ScanRequest, scanner};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<ScanRequest>| async move {
            let deadline = event.context.deadline();
            scanner(&suite, event.payload, Some(deadline)).await
        },
    )
    .await
}
