//! What a document read back was made from: the inventory and the policy it belongs to. A
//! report, a tag plan, findings or a fix plan is used only with those (bad input otherwise,
//! naming both sides), and with credentials of the account it is for.

use crate::aws::Aws;
use crate::error::PipelineError;
use infraqa_aws::AwsClients;
use infraqa_core::{Inventory, Policy};

/// Bad input unless `inventory` is the one (of `account`, taken at `taken`) that the `what`
/// (a report, a plan, the findings) was made from.
pub(crate) fn made_from(
    what: &str,
    account: &str,
    taken: chrono::DateTime<chrono::Utc>,
    inventory: &Inventory,
) -> Result<(), PipelineError> {
    if account == inventory.account_id && taken == inventory.generated_at {
        return Ok(());
    }
    Err(PipelineError::input(format!(
        "the {what} is of the inventory of account {account} taken at {taken}, but the inventory given is of account {} taken at {}: pass the inventory the {what} was made from",
        inventory.account_id, inventory.generated_at
    )))
}

/// Bad input unless the `what` was made under `policy` (its digest `made_under`); `again`
/// says what to do then. The policy's digest when it was.
pub(crate) fn made_under(
    what: &str,
    made_under: &str,
    policy: &Policy,
    again: &str,
) -> Result<String, PipelineError> {
    let digest = policy.digest();
    if made_under == digest {
        return Ok(digest);
    }
    Err(PipelineError::input(format!(
        "the {what} was made under another policy (digest {made_under}, this policy's is {digest}): {again}"
    )))
}

/// The clients acting in `account` under `policy`, and who they are; bad input when the
/// credentials act in another account.
pub(crate) async fn acting_in(
    aws: &Aws,
    policy: &Policy,
    account: &str,
    what: &str,
) -> Result<(AwsClients, String), PipelineError> {
    let clients = aws.for_policy(policy).await;
    let (caller, actor) = clients
        .caller()
        .await
        .map_err(|e| PipelineError::aws("reading the caller's identity", e))?;
    if caller != account {
        return Err(PipelineError::input(format!(
            "the {what} is for account {account} but the credentials act in account {caller}: nothing was changed"
        )));
    }
    Ok((clients, actor))
}
