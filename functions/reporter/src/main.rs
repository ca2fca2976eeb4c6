//! The reporter: on a new `runs/<run-id>/findings.json`, writes the reports and the history
//! entry, publishes the metrics and alerts on new critical findings; the first report of a
//! quarter writes the previous quarter's audit pack under `audits/`, and a manual invoke with
//! `{"audit": {"from": DATE, "to": DATE}}` writes the pack of that period.

use infraqa_lambda::events::ReporterEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<ReporterEvent>| async move {
            infraqa_lambda::reporter::handle(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
