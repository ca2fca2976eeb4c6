//! The deployed state machine's definition (`statemachine/organization-run.asl.json`) run
//! locally against the functions, as Step Functions runs it: each task's `Parameters` filled
//! from the state's input (keys ending in `.$` are paths), its function's answer wrapped as
//! `lambda:invoke` wraps it (`{"Payload": ...}`), then `ResultSelector`, `ResultPath` and
//! `OutputPath` applied; the Map's items read from S3 as its `ItemReader` names them, shaped
//! by its `ItemSelector` and each run through its `ItemProcessor`, with its tolerated failure
//! percentage. Only what the definition uses is interpreted; anything else is an error that
//! names it, so a test fails rather than passes when the definition grows past this reading.
//!
//! The functions are reached through [`Functions`]: the handlers called in-process, or the
//! built binaries under `cargo lambda watch`.

use crate::KitError;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use std::path::Path;

/// The definition's file, from the workspace root.
pub const DEFINITION: &str = "statemachine/organization-run.asl.json";

/// What the definition's substitutions stand for here: each function by its short name.
const SUBSTITUTIONS: [(&str, &str); 5] = [
    ("Partition", "aws"),
    ("ScannerArn", "scanner"),
    ("CheckerArn", "checker"),
    ("ReporterArn", "reporter"),
    ("TaggerArn", "tagger"),
];

/// The functions a run calls, and the bucket its map reads items from.
pub trait Functions: Send {
    /// Invokes `function` (`scanner`, `checker`, `reporter`, `tagger`) with `payload`: its
    /// answer, or its error as Lambda reports it.
    fn invoke(&mut self, function: &str, payload: Value) -> BoxFuture<'_, Result<Value, String>>;
    /// The object `key` of `bucket`.
    fn object(&mut self, bucket: &str, key: &str) -> BoxFuture<'_, Result<Vec<u8>, String>>;
}

/// What a run did besides its output: every invocation, in order.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// (function, payload, answer or error).
    pub calls: Vec<(String, Value, Result<Value, String>)>,
    /// Map items that failed.
    pub failed_items: usize,
}

/// The definition, its substitutions filled.
#[derive(Debug, Clone)]
pub struct Definition {
    root: Value,
}

fn fail(what: impl Into<String>) -> KitError {
    let what = what.into();
    KitError {
        step: "running the state machine's definition".into(),
        detail: what.clone(),
        cause: what.into(),
    }
}

impl Definition {
    /// Reads the definition from the workspace at `workspace`.
    pub fn load(workspace: &Path) -> Result<Self, KitError> {
        let path = workspace.join(DEFINITION);
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| fail(format!("reading {}: {e}", path.display())))?;
        for (name, value) in SUBSTITUTIONS {
            text = text.replace(&format!("${{{name}}}"), value);
        }
        if let Some(at) = text.find("${") {
            return Err(fail(format!(
                "{DEFINITION} has a substitution this reading does not fill: {}",
                &text[at..text.len().min(at + 40)]
            )));
        }
        let root = serde_json::from_str(&text)
            .map_err(|e| fail(format!("{DEFINITION} is not JSON: {e}")))?;
        Ok(Self { root })
    }

    /// The definition as JSON.
    pub fn json(&self) -> &Value {
        &self.root
    }

    /// Runs the definition on `input`; returns its output and what it called.
    pub async fn run(
        &self,
        input: Value,
        functions: &mut dyn Functions,
    ) -> Result<(Value, Trace), KitError> {
        let mut trace = Trace::default();
        let out = run_states(&self.root, input, &Value::Null, functions, &mut trace).await?;
        Ok((out, trace))
    }
}

/// Runs the state list `machine` (`StartAt`, `States`) on `input`; `context` is `$$`.
fn run_states<'a>(
    machine: &'a Value,
    input: Value,
    context: &'a Value,
    functions: &'a mut dyn Functions,
    trace: &'a mut Trace,
) -> BoxFuture<'a, Result<Value, KitError>> {
    Box::pin(async move {
        let states = machine
            .get("States")
            .and_then(Value::as_object)
            .ok_or_else(|| fail("no States"))?;
        let mut name = text(machine, "StartAt")?.to_owned();
        let mut data = input;
        loop {
            let state = states
                .get(&name)
                .ok_or_else(|| fail(format!("state `{name}` is named but not defined")))?;
            for key in state.as_object().into_iter().flat_map(Map::keys) {
                if !KNOWN.contains(&key.as_str()) {
                    return Err(fail(format!("state `{name}`: `{key}` is not read here")));
                }
            }
            data = match text(state, "Type")? {
                "Task" => task(&name, state, data, context, functions, trace).await?,
                "Map" => map(&name, state, data, functions, trace).await?,
                other => return Err(fail(format!("state `{name}`: type {other} not read here"))),
            };
            if state.get("End").and_then(Value::as_bool) == Some(true) {
                return Ok(data);
            }
            name = text(state, "Next")?.to_owned();
        }
    })
}

/// The state fields this reading interprets (`Retry` is Step Functions' own: a call that
/// fails here fails the run).
const KNOWN: [&str; 17] = [
    "Type",
    "Comment",
    "Resource",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Retry",
    "Next",
    "End",
    "ItemReader",
    "ItemSelector",
    "ItemProcessor",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "MaxConcurrency",
    "ToleratedFailurePercentage",
];

fn text<'v>(v: &'v Value, key: &str) -> Result<&'v str, KitError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| fail(format!("no `{key}` in {v}")))
}

/// A lambda:invoke task.
async fn task(
    name: &str,
    state: &Value,
    input: Value,
    context: &Value,
    functions: &mut dyn Functions,
    trace: &mut Trace,
) -> Result<Value, KitError> {
    let resource = text(state, "Resource")?;
    if resource != "arn:aws:states:::lambda:invoke" {
        return Err(fail(format!("state `{name}`: resource {resource}")));
    }
    let parameters = fill(
        state
            .get("Parameters")
            .ok_or_else(|| fail(format!("`{name}` has no Parameters")))?,
        &input,
        context,
    )?;
    let function = text(&parameters, "FunctionName")?.to_owned();
    let payload = parameters.get("Payload").cloned().unwrap_or(Value::Null);
    let answer = functions.invoke(&function, payload.clone()).await;
    trace
        .calls
        .push((function.clone(), payload.clone(), answer.clone()));
    let answer = answer.map_err(|e| fail(format!("state `{name}`: {function} failed: {e}")))?;
    let mut result = serde_json::json!({ "Payload": answer, "StatusCode": 200 });
    if let Some(selector) = state.get("ResultSelector") {
        result = fill(selector, &result, context)
            .map_err(|e| fail(format!("state `{name}`'s ResultSelector: {e}")))?;
    }
    output(name, state, input, result)
}

/// `ResultPath` then `OutputPath`.
fn output(name: &str, state: &Value, input: Value, result: Value) -> Result<Value, KitError> {
    let combined = match state.get("ResultPath") {
        None => result,
        Some(Value::Null) => input,
        Some(Value::String(path)) => {
            let key = path
                .strip_prefix("$.")
                .filter(|k| !k.contains(['.', '[']))
                .ok_or_else(|| fail(format!("state `{name}`: ResultPath {path}")))?;
            let mut input = input;
            input
                .as_object_mut()
                .ok_or_else(|| fail(format!("state `{name}`: its input is not an object")))?
                .insert(key.to_owned(), result);
            input
        }
        Some(other) => return Err(fail(format!("state `{name}`: ResultPath {other}"))),
    };
    match state.get("OutputPath") {
        None => Ok(combined),
        Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::String(path)) => select(&combined, path, &Value::Null)
            .ok_or_else(|| fail(format!("state `{name}`: OutputPath {path} selects nothing"))),
        Some(other) => Err(fail(format!("state `{name}`: OutputPath {other}"))),
    }
}

/// A distributed Map over the JSON array its item reader names.
async fn map(
    name: &str,
    state: &Value,
    input: Value,
    functions: &mut dyn Functions,
    trace: &mut Trace,
) -> Result<Value, KitError> {
    let reader = state
        .get("ItemReader")
        .ok_or_else(|| fail(format!("map `{name}` has no ItemReader")))?;
    if text(reader, "Resource")? != "arn:aws:states:::s3:getObject" {
        return Err(fail(format!("map `{name}`: item reader {reader}")));
    }
    let at = fill(
        reader
            .get("Parameters")
            .ok_or_else(|| fail("no reader Parameters"))?,
        &input,
        &Value::Null,
    )?;
    let (bucket, key) = (text(&at, "Bucket")?, text(&at, "Key")?);
    let bytes = functions
        .object(bucket, key)
        .await
        .map_err(|e| fail(format!("map `{name}`: reading s3://{bucket}/{key}: {e}")))?;
    let items: Vec<Value> = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!(
            "map `{name}`: s3://{bucket}/{key} is not an array: {e}"
        ))
    })?;
    let tolerated = match state.get("ToleratedFailurePercentagePath") {
        Some(Value::String(path)) => select(&input, path, &Value::Null)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| fail(format!("map `{name}`: {path} is not in the input")))?,
        _ => state
            .get("ToleratedFailurePercentage")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
    };
    if let Some(Value::String(path)) = state.get("MaxConcurrencyPath") {
        select(&input, path, &Value::Null)
            .and_then(|v| v.as_u64())
            .ok_or_else(|| fail(format!("map `{name}`: {path} is not in the input")))?;
    }
    let processor = state
        .get("ItemProcessor")
        .ok_or_else(|| fail(format!("map `{name}` has no ItemProcessor")))?;
    let mut results = Vec::new();
    let mut failed = 0;
    for (index, item) in items.iter().enumerate() {
        let context = serde_json::json!({ "Map": { "Item": { "Index": index, "Value": item } } });
        let child_input = match state.get("ItemSelector") {
            Some(selector) => fill(selector, &input, &context)?,
            None => item.clone(),
        };
        match run_states(processor, child_input, &context, functions, trace).await {
            Ok(out) => results.push(out),
            Err(e) => {
                eprintln!("map `{name}` item {index} failed: {e}");
                failed += 1;
            }
        }
    }
    trace.failed_items += failed;
    if !items.is_empty() && failed as f64 * 100.0 / items.len() as f64 > tolerated {
        return Err(fail(format!(
            "map `{name}`: {failed} of {} items failed, over the tolerated {tolerated}%",
            items.len()
        )));
    }
    output(name, state, input, Value::Array(results))
}

/// `template` with every `key.$` replaced by `key` and the value its path selects.
fn fill(template: &Value, input: &Value, context: &Value) -> Result<Value, KitError> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(plain) => {
                        let path = value
                            .as_str()
                            .ok_or_else(|| fail(format!("`{key}` is not a path")))?;
                        let selected = select(input, path, context).ok_or_else(|| {
                            fail(format!("`{key}`: {path} selects nothing in {input}"))
                        })?;
                        out.insert(plain.to_owned(), selected);
                    }
                    None => {
                        out.insert(key.clone(), fill(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// What `path` (`$`, `$.a.b`, `$.a[0].b`, `$$.Map.Item.Value`) selects.
pub fn select(input: &Value, path: &str, context: &Value) -> Option<Value> {
    let (mut at, rest) = match path.strip_prefix("$$") {
        Some(rest) => (context, rest),
        None => (input, path.strip_prefix('$')?),
    };
    for segment in rest.split('.').filter(|s| !s.is_empty()) {
        let (field, index) = match segment.split_once('[') {
            Some((field, index)) => (field, Some(index.strip_suffix(']')?.parse::<usize>().ok()?)),
            None => (segment, None),
        };
        if !field.is_empty() {
            at = at.get(field)?;
        }
        if let Some(i) = index {
            at = at.get(i)?;
        }
    }
    Some(at.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_select_fields_indexes_and_the_context() {
        let input = serde_json::json!({"a": {"b": [{"c": 1}]}});
        let context = serde_json::json!({"Map": {"Item": {"Value": "x"}}});
        assert_eq!(select(&input, "$.a.b[0].c", &context), Some(1.into()));
        assert_eq!(select(&input, "$", &context), Some(input.clone()));
        assert_eq!(
            select(&input, "$$.Map.Item.Value", &context),
            Some("x".into())
        );
        assert_eq!(select(&input, "$.a.missing", &context), None);
    }
}
