//! The deployed suite's stack: its outputs name the bucket its reports are in.

use crate::clients::AwsClients;
use crate::error::AwsError;
use std::collections::BTreeMap;

/// The outputs of the CloudFormation stack `name` (its name or id), by key; an error when the
/// stack cannot be described (it does not exist, or the call is denied).
pub async fn outputs(
    clients: &AwsClients,
    name: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = clients
        .cloudformation()?
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudformation", "DescribeStacks", e))?;
    Ok(out
        .stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}
