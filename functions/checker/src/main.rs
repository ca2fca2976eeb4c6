//! The checker: on a new `runs/<run-id>/inventory.json`, writes its `findings.json`; for the
//! state machine, `{"shard": {...}}` checks one shard of a run over several accounts.

use infraqa_lambda::events::{ChainEvent, ShardRequest};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infraqa_lambda::serve(
        |suite, event: lambda_runtime::LambdaEvent<ChainEvent<ShardRequest>>| async move {
            infraqa_lambda::checker::handle(&suite, &event.payload, chrono::Utc::now()).await
        },
    )
    .await
}
