//! Custom rules: declared in the policy under `[[custom_rules]]`, each a CEL expression that is
//! true when a resource complies.
//!
//! The expression sees `resource` exactly as `inventory.json` writes it (`resource.type`,
//! `resource.region`, `resource.tags`, `resource.created_at`, `resource.details.<field>`),
//! `now` (a timestamp) and `policy` (the effective policy as `infraqa policy check` prints
//! it). It is compiled once, when the policy is read, and evaluated per resource.
//!
//! What the scan could not read is not evaluated, never a pass or a finding: an unread value
//! is absent from `resource`, and an expression that reaches for it (or asks `has()` of a
//! field by that name) leaves the resource not evaluated with the failed call. An expression
//! that fails on one resource (a field that type does not have, a comparison of a string with
//! a number) leaves that resource not evaluated with the error, and the check goes on.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{RuleId, Severity};
use crate::inventory::ScanError;
use crate::model::{Resource, ResourceType};
use crate::observed::Observed;
use cel::common::ast::{Expr, IdedExpr};
use cel::common::traits::{Container, Indexer};
use cel::common::types::{CelMap, CelMapKey as Key, CelString, MAP_TYPE, Type};
use cel::common::value::{CowVal, Val};
use cel::objects::Map;
use cel::{Context, Env, ExecutionError, Program, Value};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The CEL environment of every condition: the standard library with the strings and lists
/// extensions (as Kubernetes enables them).
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Both extensions declare functions the fresh standard library does not: they cannot
        // collide with it, so registering them cannot fail (the tests call one of each).
        let registered = env
            .add_extension(cel::extensions::strings)
            .and_then(|()| env.add_extension(cel::extensions::lists));
        debug_assert!(registered.is_ok(), "{registered:?}");
        Arc::new(env)
    })
}

/// A condition that does not compile: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("position {line}:{column} of the expression: {message}")]
pub struct ConditionError {
    /// 1-based line within the expression.
    pub line: usize,
    /// 1-based column within that line.
    pub column: usize,
    /// What the CEL parser found.
    pub message: String,
}

/// A compiled condition: a CEL expression that is true when a resource complies.
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<Program>,
    /// Field names the expression tests with `has()`: a test of a field the scan could not
    /// read would answer "absent", which is not known.
    tested: BTreeSet<String>,
    /// Whether the expression reads `policy` (converted only then).
    reads_policy: bool,
    /// Whether the expression reads `now`.
    reads_now: bool,
}

impl Condition {
    /// Compiles `source`; the first error names its position in the expression.
    pub fn compile(source: &str) -> Result<Self, ConditionError> {
        let program = env().compile(source).map_err(|e| {
            let first = e.errors.first();
            let (line, column) = first.map_or((1, 1), |f| {
                (
                    usize::try_from(f.pos.0).unwrap_or(1).max(1),
                    usize::try_from(f.pos.1).unwrap_or(1).max(1),
                )
            });
            ConditionError {
                line,
                column,
                message: first.map_or_else(|| e.to_string(), |f| f.msg.clone()),
            }
        })?;
        let mut free = Vec::new();
        free_names(program.expression(), &mut Vec::new(), &mut free);
        if let Some((name, id)) = free.into_iter().find(|(name, _)| {
            !VARIABLES.contains(&name.as_str()) && !TYPE_NAMES.contains(&name.as_str())
        }) {
            let (line, column) = program
                .source_info()
                .offset_for(id)
                .map_or((1, 1), |(start, _)| position(source, start));
            return Err(ConditionError {
                line,
                column,
                message: format!(
                    "`{name}` is not a variable: the expression sees {}",
                    VARIABLES.join(", ")
                ),
            });
        }
        let mut tested = BTreeSet::new();
        has_tests(&program.expression().expr, &mut tested);
        let refs = program.references();
        Ok(Self {
            source: source.to_owned(),
            reads_policy: refs.has_variable("policy"),
            reads_now: refs.has_variable("now"),
            program: Arc::new(program),
            tested,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The variables a condition sees.
const VARIABLES: [&str; 3] = ["resource", "now", "policy"];

/// CEL's type names, which an expression may name as values (`type(x) == string`).
const TYPE_NAMES: [&str; 10] = [
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

/// The 1-based (line, column) of the character at `offset` in `source`.
fn position(source: &str, offset: u32) -> (usize, usize) {
    let offset = usize::try_from(offset).unwrap_or(0);
    let before: Vec<char> = source.chars().take(offset).collect();
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let column = before.iter().rev().take_while(|c| **c != '\n').count() + 1;
    (line, column)
}

/// Collects the names `expr` reads that no comprehension (`all`, `exists`, `map`, ...) binds,
/// with the id of where each is read, in the order written.
fn free_names(expr: &IdedExpr, bound: &mut Vec<String>, out: &mut Vec<(String, u64)>) {
    match &expr.expr {
        Expr::Ident(name) if !bound.contains(name) => out.push((name.clone(), expr.id)),
        Expr::Comprehension(c) => {
            // The range and the initial value are outside the loop's own variables.
            free_names(&c.iter_range, bound, out);
            free_names(&c.accu_init, bound, out);
            let depth = bound.len();
            bound.push(c.accu_var.clone());
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            for e in [&c.loop_cond, &c.loop_step, &c.result] {
                free_names(e, bound, out);
            }
            bound.truncate(depth);
        }
        other => {
            for child in children(other) {
                free_names(child, bound, out);
            }
        }
    }
}

/// Collects the fields `has()` tests anywhere in `expr`, and the keys `"key" in map` tests.
fn has_tests(expr: &Expr, out: &mut BTreeSet<String>) {
    if let Expr::Select(s) = expr
        && s.test
    {
        out.insert(s.field.clone());
    }
    if let Expr::Call(c) = expr
        && c.func_name == "@in"
        && let Some(Expr::Literal(cel::common::ast::LiteralValue::String(key))) =
            c.args.first().map(|a| &a.expr)
    {
        out.insert(key.to_string());
    }
    for child in children(expr) {
        has_tests(&child.expr, out);
    }
}

/// The sub-expressions of `expr`, in the order written (a comprehension's: its range, initial
/// value, condition, step and result).
fn children(expr: &Expr) -> Vec<&IdedExpr> {
    match expr {
        Expr::Select(s) => vec![&s.operand],
        Expr::Call(c) => c.target.iter().map(|t| &**t).chain(&c.args).collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m
            .entries
            .iter()
            .filter_map(|entry| match &entry.expr {
                cel::common::ast::EntryExpr::MapEntry(e) => Some([&e.key, &e.value]),
                _ => None,
            })
            .flatten()
            .collect(),
        Expr::Struct(s) => s
            .entries
            .iter()
            .filter_map(|entry| match &entry.expr {
                cel::common::ast::EntryExpr::StructField(f) => Some(&f.value),
                _ => None,
            })
            .collect(),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condition({:?})", self.source)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// `[[custom_rules]]`: a rule the policy declares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomRule {
    /// Its id: kebab-case, not a catalogue rule's.
    pub id: RuleId,
    /// What it checks, for people.
    pub description: String,
    /// The types it judges (empty: every type).
    pub applies_to: Vec<ResourceType>,
    /// True when a resource complies.
    pub condition: Condition,
    /// The severity of its findings (before `[rules.<id>]` overrides).
    pub severity: Severity,
    /// The finding's message.
    pub message: String,
    /// What a person does to fix it.
    pub remediation: String,
    /// Whether it runs. Default true.
    pub enabled: bool,
    /// The framework requirements it decides, by framework id (`frameworks = { "cis-aws-7.0"
    /// = ["5.3"] }`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub frameworks: BTreeMap<String, Vec<String>>,
}

impl Rule for CustomRule {
    fn id(&self) -> RuleId {
        self.id
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        self.applies_to.is_empty() || self.applies_to.contains(&r.resource_type)
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let failed = |message: String| {
            Verdict::NotEvaluated(vec![ScanError {
                region: r.region.to_string(),
                service: "infraqa".to_owned(),
                operation: format!("custom rule {}", self.id),
                code: "ConditionError".to_owned(),
                message,
            }])
        };
        // A field the expression tests with `has()` must not be one the scan could not read:
        // the test would answer "absent". Looked at only for expressions that use `has()`.
        if !self.condition.tested.is_empty() {
            let unread = unread_fields(r);
            let tested: Vec<ScanError> = self
                .condition
                .tested
                .iter()
                .filter_map(|field| unread.get(field))
                .flatten()
                .cloned()
                .collect();
            if !tested.is_empty() {
                return Verdict::NotEvaluated(tested);
            }
        }
        let mut context = Context::with_env(Arc::clone(env()));
        context.add_variable_as_val("resource", Box::new(ResourceVal::new(r)));
        if self.condition.reads_now {
            context.add_variable_from_value("now", Value::Timestamp(cx.now.fixed_offset()));
        }
        if self.condition.reads_policy {
            context.add_variable_as_val("policy", Box::new(Lazy(PolicyVal(cx.policy))));
        }
        match self.condition.program.execute(&context) {
            Ok(Value::Bool(true)) => Verdict::Pass,
            Ok(Value::Bool(false)) => Verdict::Fail(Violation::new(
                self.severity,
                vec![self.message.clone()],
                self.remediation.clone(),
                Vec::new(),
            )),
            Ok(other) => failed(format!(
                "the condition gave {}, not true or false",
                other.type_of()
            )),
            Err(ExecutionError::NoSuchKey(key)) => match unread_fields(r).remove(key.as_str()) {
                // It reached for a value the scan could not read.
                Some(missing) => Verdict::NotEvaluated(missing),
                None => failed(ExecutionError::NoSuchKey(key).to_string()),
            },
            Err(e) => failed(e.to_string()),
        }
    }
}

/// The failed reads of `r`, by the name of the field that would hold the value.
fn unread_fields(r: &Resource) -> HashMap<String, Vec<ScanError>> {
    let mut unread = HashMap::new();
    if let Ok(details) = cel::to_value(&r.details) {
        strip_unread(details, &mut unread);
    }
    if let Some(e) = &r.tags_unread {
        unread.insert("tags".to_owned(), vec![(**e).clone()]);
    }
    if let Some(e) = r.usage.as_deref().and_then(Observed::unread) {
        unread.insert("usage".to_owned(), vec![e.clone()]);
    }
    unread
}

fn no_such_key(name: &str) -> ExecutionError {
    ExecutionError::NoSuchKey(Arc::new(name.to_owned()))
}

/// The name a field is selected by (`resource.region`, `resource["region"]`).
fn field_name(idx: &dyn Val) -> Result<&str, ExecutionError> {
    idx.downcast_ref::<CelString>()
        .map(|s| &**s)
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: idx.get_type().name().to_owned(),
            want: "string".to_owned(),
        })
}

/// `resource` as the expression sees it: the fields `inventory.json` writes, each converted
/// from the typed resource only when the expression reaches for it (most conditions read one
/// or two). Unread values are absent from `details`, and `tags` whose read failed is absent.
#[derive(Debug)]
struct ResourceVal<'a> {
    r: &'a Resource,
    tags: OnceLock<Box<dyn Val + 'a>>,
    details: OnceLock<Result<Box<dyn Val + 'a>, ExecutionError>>,
}

impl<'a> ResourceVal<'a> {
    fn new(r: &'a Resource) -> Lazy<Self> {
        Lazy(Self {
            r,
            tags: OnceLock::new(),
            details: OnceLock::new(),
        })
    }
}

impl<'a> Record for ResourceVal<'a> {
    fn field<'w>(&self, name: &str) -> Result<CowVal<'_, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let text = |s: &'a str| Ok(CowVal::Owned(Box::new(CelString::from(s))));
        let r = self.r;
        match name {
            "arn" => text(&r.arn),
            "id" => text(&r.id),
            "type" => text(r.resource_type.as_str()),
            "region" => text(&r.region),
            "account_id" => text(&r.account_id),
            "tags" if r.tags_unread.is_none() => {
                Ok(CowVal::Borrowed(&**self.tags.get_or_init(|| {
                    let map: HashMap<Key<'a>, Box<dyn Val + 'a>> = r
                        .tags
                        .iter()
                        .map(|(k, v)| {
                            (
                                Key::from(k),
                                Box::new(CelString::from(v)) as Box<dyn Val + 'a>,
                            )
                        })
                        .collect();
                    Box::new(CelMap::from(map))
                })))
            }
            "created_at" => match &r.created_at {
                Some(at) => owned(cel::to_value(at)),
                None => Err(no_such_key(name)),
            },
            "usage" => match r.usage.as_deref().and_then(Observed::read) {
                Some(u) => owned(cel::to_value(u)),
                None => Err(no_such_key(name)),
            },
            "details" => match self.details.get_or_init(|| {
                let value = cel::to_value(&r.details).map_err(conversion)?;
                Box::<dyn Val>::try_from(strip_unread(value, &mut HashMap::new()))
            }) {
                Ok(v) => Ok(CowVal::Borrowed(&**v)),
                Err(e) => Err(e.clone()),
            },
            _ => Err(no_such_key(name)),
        }
    }

    fn unread(&self, name: &str) -> bool {
        match name {
            "tags" => self.r.tags_unread.is_some(),
            "usage" => self
                .r
                .usage
                .as_deref()
                .is_some_and(|u| u.unread().is_some()),
            _ => false,
        }
    }

    /// As `inventory.json` writes the resource, less unread values.
    fn whole(&self) -> Result<Box<dyn Val + 'static>, ExecutionError> {
        let value = cel::to_value(self.r).map_err(conversion)?;
        let mut value = strip_unread(value, &mut HashMap::new());
        if let (Some(_), Value::Map(m)) = (&self.r.tags_unread, &mut value) {
            let mut fields = (*m.map).clone();
            fields.remove(&cel::objects::Key::from("tags"));
            fields.remove(&cel::objects::Key::from("tags_unread"));
            m.map = Arc::new(fields);
        }
        Box::<dyn Val>::try_from(value)
    }
}

fn conversion(e: cel::SerializationError) -> ExecutionError {
    ExecutionError::FunctionError {
        function: "resource".to_owned(),
        message: e.to_string(),
    }
}

fn owned<'b, 'w>(
    value: Result<Value, cel::SerializationError>,
) -> Result<CowVal<'b, 'w>, ExecutionError> {
    Ok(CowVal::Owned(Box::<dyn Val>::try_from(
        value.map_err(conversion)?,
    )?))
}

/// `policy` as the expression sees it: the effective policy's sections, each converted only
/// when the expression reaches for it.
#[derive(Debug)]
struct PolicyVal<'a>(&'a crate::policy::Policy);

impl Record for PolicyVal<'_> {
    fn field<'w>(&self, name: &str) -> Result<CowVal<'_, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let p = self.0;
        owned(match name {
            "scan" => cel::to_value(&p.scan),
            "tags" => cel::to_value(&p.tags),
            "regions" => cel::to_value(&p.regions),
            "ec2" => cel::to_value(&p.ec2),
            "s3" => cel::to_value(&p.s3),
            "network" => cel::to_value(&p.network),
            "logging" => cel::to_value(&p.logging),
            "orphans" => cel::to_value(&p.orphans),
            "cost" => cel::to_value(&p.cost),
            "lifecycle" => cel::to_value(&p.lifecycle),
            "tagging" => cel::to_value(&p.tagging),
            "alerts" => cel::to_value(&p.alerts),
            "accounts" => cel::to_value(&p.accounts),
            "rules" => cel::to_value(&p.rules),
            "exemptions" => cel::to_value(&p.exemptions),
            "custom_rules" => cel::to_value(&p.custom_rules),
            _ => return Err(no_such_key(name)),
        })
    }

    fn whole(&self) -> Result<Box<dyn Val + 'static>, ExecutionError> {
        Box::<dyn Val>::try_from(cel::to_value(self.0).map_err(conversion)?)
    }
}

/// A record whose fields are converted only when an expression reaches for them.
trait Record: fmt::Debug + Send + Sync {
    /// The field `name`, or `NoSuchKey`.
    fn field<'w>(&self, name: &str) -> Result<CowVal<'_, 'w>, ExecutionError>
    where
        Self: 'w;

    /// Every field at once: for an expression that uses the record whole.
    fn whole(&self) -> Result<Box<dyn Val + 'static>, ExecutionError>;

    /// Whether field `name` is absent because the scan could not read it.
    fn unread(&self, _name: &str) -> bool {
        false
    }
}

/// A [`Record`] as a CEL map.
#[derive(Debug)]
struct Lazy<R>(R);

impl<R: Record> Val for Lazy<R> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        // Converting plain data cannot fail; if it ever did, the expression sees null and
        // fails on it rather than judging.
        self.0
            .whole()
            .unwrap_or_else(|_| Box::new(cel::common::types::CelNull))
    }
}

impl<R: Record> Indexer for Lazy<R> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.0.field(field_name(idx)?)
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl<R: Record> Container for Lazy<R> {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        let name = field_name(value)?;
        if self.0.unread(name) {
            // Not known to be absent: the check reports the failed read.
            return Err(no_such_key(name));
        }
        Ok(self.0.field(name).is_ok())
    }
}

/// Removes every unread value (`{"unread": {...}}`) from `value`, recording its failed call
/// under the field name that held it.
fn strip_unread(value: Value, unread: &mut HashMap<String, Vec<ScanError>>) -> Value {
    match value {
        Value::Map(m) => {
            let mut fields = HashMap::with_capacity(m.map.len());
            for (k, v) in Arc::unwrap_or_clone(m.map) {
                if let Some(e) = unread_call(&v) {
                    if let cel::objects::Key::String(name) = &k {
                        unread.entry(name.to_string()).or_default().push(e);
                    }
                    continue;
                }
                fields.insert(k, strip_unread(v, unread));
            }
            Value::Map(Map {
                map: Arc::new(fields),
            })
        }
        Value::List(items) => Value::List(Arc::new(
            Arc::unwrap_or_clone(items)
                .into_iter()
                .map(|v| strip_unread(v, unread))
                .collect(),
        )),
        other => other,
    }
}

/// The failed call an unread value carries: an object whose only key is `unread` (no read
/// value has that shape, see [`crate::observed`]).
fn unread_call(v: &Value) -> Option<ScanError> {
    let Value::Map(m) = v else { return None };
    if m.map.len() != 1 {
        return None;
    }
    let Some(Value::Map(call)) = m.map.get(&cel::objects::Key::from("unread")) else {
        return None;
    };
    let text = |k: &str| match call.map.get(&cel::objects::Key::from(k)) {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    };
    Some(ScanError {
        region: text("region"),
        service: text("service"),
        operation: text("operation"),
        code: text("code"),
        message: text("message"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        BucketEncryption, Ec2Instance, InstanceState, PublicAccessBlock, ResourceDetails, S3Bucket,
    };
    use crate::observed::Observed;
    use crate::policy::{Policy, PolicyError};
    use crate::rules::testkit::*;
    use crate::rules::{Evaluation, evaluate};

    fn instance(id: &str, instance_type: &str, tags: &[(&str, &str)]) -> Resource {
        resource(
            ResourceType::Ec2Instance,
            id,
            "us-east-1",
            tags,
            ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
                instance_type: instance_type.into(),
                state: InstanceState::Running,
                image_id: "ami-1".into(),
                image_owner_id: Observed::Read(Some(ACCOUNT.into())),
                state_transition_reason: None,
                vpc_id: None,
                security_group_ids: vec![],
                network_interface_ids: vec![],
                created_at_source: None,
                metadata: None,
                role: None,
            })),
        )
    }

    fn bucket(name: &str, encryption: Observed<BucketEncryption>) -> Resource {
        resource(
            ResourceType::S3Bucket,
            name,
            "eu-west-1",
            &[],
            ResourceDetails::S3Bucket(S3Bucket {
                encryption,
                public_access_block: Observed::Read(PublicAccessBlock::default()),
                account_public_access_block: PublicAccessBlock::default(),
                policy_is_public: Some(Observed::Read(false)),
                acl_public_grants: Some(Observed::Read(vec![])),
                access_logging: Observed::Read(true),
                policy: None,
            }),
        )
    }

    /// A policy with one custom rule `r` of `condition`, applying to `types`, plus `extra`.
    fn one_rule(types: &str, condition: &str, extra: &str) -> Policy {
        policy(&format!(
            "{extra}\n[[custom_rules]]\nid = \"r\"\napplies_to = [{types}]\ncondition = '''{condition}'''\nmessage = \"broken\"\nremediation = \"fix it\"\n"
        ))
    }

    /// The custom rule's verdict on each resource, by id: pass, fail, or the not-evaluated
    /// operations and codes.
    fn verdicts(p: &Policy, resources: Vec<Resource>) -> Vec<(String, String)> {
        let rule = &p.custom_rules[0];
        let inv = inventory(resources);
        let cx = EvalContext {
            policy: p,
            inventory: &inv,
            now: now(),
        };
        inv.resources
            .iter()
            .filter(|r| rule.applies(&cx, r))
            .map(|r| {
                let v = match rule.check(&cx, r) {
                    Verdict::Pass => "pass".to_owned(),
                    Verdict::Fail(v) => format!("fail: {}", v.reasons.join("; ")),
                    Verdict::NotEvaluated(m) => format!(
                        "not evaluated: {}",
                        m.iter()
                            .map(|e| format!("{} {} {}", e.operation, e.code, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                };
                (r.id.to_string(), v)
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn usage_is_in_reach_and_unread_usage_is_not_evaluated() {
        use crate::usage::{MetricUsage, Usage, metrics_for, window};
        let read = |cpu: f64| {
            let mut r = instance(&format!("i-{cpu}"), "m5.large", &[]);
            let (start, end) = window(now(), 14);
            r.usage = Some(Box::new(Observed::Read(Usage {
                start,
                end,
                metrics: metrics_for(&ResourceType::Ec2Instance)
                    .iter()
                    .map(|m| MetricUsage::of(m, &[cpu; 14]))
                    .collect(),
            })));
            r
        };
        let mut unread = instance("i-unread", "m5.large", &[]);
        unread.usage = Some(Box::new(Observed::failed(denied(
            "cloudwatch",
            "GetMetricData",
        ))));
        let unmeasured = instance("i-none", "m5.large", &[]);
        let p = one_rule(
            "\"ec2:instance\"",
            "!has(resource.usage) || resource.usage.metrics.exists(m, m.metric == 'CPUUtilization' && m.maximum > 5.0)",
            "",
        );
        let got = verdicts(&p, vec![read(50.0), read(1.0), unread, unmeasured]);
        assert_eq!(got[0], ("i-50".to_owned(), "pass".to_owned()));
        assert_eq!(got[1], ("i-1".to_owned(), "fail: broken".to_owned()));
        assert!(
            got[2].1.starts_with("not evaluated: GetMetricData"),
            "{got:?}"
        );
        assert_eq!(got[3], ("i-none".to_owned(), "pass".to_owned()));
    }

    #[test]
    fn a_condition_judges_the_resource_as_the_inventory_writes_it() {
        let p = one_rule(
            "\"ec2:instance\"",
            "!resource.details.instance_type.startsWith(\"m4.\")",
            "",
        );
        let got = verdicts(
            &p,
            vec![
                instance("i-old", "m4.large", &[]),
                instance("i-new", "m7g.large", &[]),
                bucket("b", Observed::Read(BucketEncryption::None)),
            ],
        );
        assert_eq!(got, pairs(&[("i-old", "fail: broken"), ("i-new", "pass")]));
    }

    #[test]
    fn tags_region_type_now_and_the_policy_are_in_reach() {
        let cases = [
            ("resource.tags.Owner == 'platform'", "fail: broken"),
            (
                "'Owner' in resource.tags && resource.tags.Owner.lowerAscii() == 'team'",
                "pass",
            ),
            ("resource.region in policy.regions.approved", "pass"),
            (
                "resource.type == 'ec2:instance' && resource.account_id == '123456789012'",
                "pass",
            ),
            ("now > timestamp('2026-11-27T11:00:00Z')", "pass"),
            (
                "now - timestamp('2026-11-01T00:00:00Z') < duration('240h')",
                "fail: broken",
            ),
            (
                "resource.details.network_interface_ids.all(e, e.startsWith('eni-'))",
                "pass",
            ),
            (
                "resource.details.security_group_ids.distinct() == []",
                "pass",
            ),
        ];
        for (condition, expected) in cases {
            let p = one_rule("", condition, "[regions]\napproved = [\"us-east-1\"]");
            let got = verdicts(&p, vec![instance("i-1", "t3.micro", &[("Owner", "Team")])]);
            assert_eq!(got, pairs(&[("i-1", expected)]), "{condition}");
        }
    }

    #[test]
    fn every_field_of_the_inventory_and_every_policy_section_is_in_reach() {
        let mut r = instance("i-1", "t3.micro", &[("Owner", "Team")]);
        r.created_at = Some(now() - chrono::Duration::days(40));
        let json = serde_json::to_value(&r).unwrap();
        let fields = json.as_object().unwrap();
        assert!(fields.len() >= 8, "{fields:?}");
        for (key, value) in fields {
            let condition = match value.as_str() {
                Some(s) => format!("resource.{key} == '{s}'"),
                None => format!("has(resource.{key})"),
            };
            let p = one_rule("", &condition, "");
            assert_eq!(
                verdicts(&p, vec![r.clone()]),
                pairs(&[("i-1", "pass")]),
                "{condition}"
            );
        }
        let p = one_rule(
            "",
            "now - timestamp(resource.created_at) > duration('720h') && [resource][0].details.state == 'running'",
            "",
        );
        assert_eq!(verdicts(&p, vec![r.clone()]), pairs(&[("i-1", "pass")]));
        let sections = serde_json::to_value(&p).unwrap();
        for key in sections.as_object().unwrap().keys() {
            let condition = format!("has(policy.{key})");
            let p = one_rule("", &condition, "");
            assert_eq!(
                verdicts(&p, vec![r.clone()]),
                pairs(&[("i-1", "pass")]),
                "{condition}"
            );
        }
    }

    #[test]
    fn what_the_scan_could_not_read_is_not_evaluated_never_judged() {
        let unread = Observed::failed(denied("s3", "GetBucketEncryption"));
        let mut untagged = instance("i-unread", "t3.micro", &[]);
        untagged.tags_unread = Some(Box::new(denied("tagging", "GetResources")));
        let cases = [
            (
                "resource.details.encryption != 'none'",
                "GetBucketEncryption",
            ),
            ("!has(resource.details.encryption)", "GetBucketEncryption"),
            ("!('encryption' in resource.details)", "GetBucketEncryption"),
            (
                "resource.details.access_logging && resource.details.encryption == 'sse_s3'",
                "GetBucketEncryption",
            ),
        ];
        for (condition, operation) in cases {
            let p = one_rule("", condition, "");
            let got = verdicts(
                &p,
                vec![
                    bucket("read", Observed::Read(BucketEncryption::SseS3)),
                    bucket("unread", unread.clone()),
                ],
            );
            assert_eq!(got[1].0, "unread");
            assert!(
                got[1]
                    .1
                    .starts_with(&format!("not evaluated: {operation} AccessDenied")),
                "{condition}: {got:?}"
            );
            assert!(
                !got[0].1.starts_with("not evaluated"),
                "{condition}: {got:?}"
            );
        }
        // What was read still decides, when the expression never reaches the unread part.
        let p = one_rule("", "resource.details.access_logging", "");
        let got = verdicts(&p, vec![bucket("unread", unread)]);
        assert_eq!(got, pairs(&[("unread", "pass")]));
        // Tags whose read failed are not an empty map.
        for condition in ["size(resource.tags) > 0", "!('tags' in resource)"] {
            let p = one_rule("", condition, "");
            let got = verdicts(&p, vec![untagged.clone()]);
            assert_eq!(got.len(), 1);
            assert!(
                got[0]
                    .1
                    .starts_with("not evaluated: GetResources AccessDenied"),
                "{condition}: {got:?}"
            );
        }
    }

    #[test]
    fn an_expression_that_fails_on_one_resource_leaves_it_not_evaluated_and_goes_on() {
        let cases = [
            ("resource.details.instance_type < 5", "no matching overload"),
            (
                "resource.details.no_such_field == 'x'",
                "No such key: no_such_field",
            ),
            (
                "resource.details.instance_type",
                "gave string, not true or false",
            ),
        ];
        for (condition, error) in cases {
            let p = one_rule("", condition, "");
            let got = verdicts(
                &p,
                vec![
                    instance("i-1", "t3.micro", &[]),
                    instance("i-2", "m4.large", &[]),
                ],
            );
            assert_eq!(got.len(), 2, "{condition}");
            for (_, v) in &got {
                assert!(
                    v.starts_with("not evaluated: custom rule r ConditionError"),
                    "{v}"
                );
                assert!(
                    v.to_lowercase().contains(&error.to_lowercase()),
                    "{condition}: {v}"
                );
            }
        }
    }

    #[test]
    fn custom_rules_are_first_class_in_the_engine() {
        let p = policy(
            r#"
[rules.no-previous-generation]
severity = "critical"

[[exemptions]]
rule = "no-previous-generation"
resource = "*:i-legacy"
reason = "retired next quarter"

[[custom_rules]]
id = "no-previous-generation"
description = "No previous-generation instance families"
applies_to = ["ec2:instance"]
condition = '!resource.details.instance_type.startsWith("m4.")'
severity = "low"
message = "runs a previous-generation type"
remediation = "Resize it to a current generation (m7g, m7i)"

[[custom_rules]]
id = "owner-tag"
condition = '"Owner" in resource.tags'
message = "has no Owner"
remediation = "Tag it"
enabled = false
"#,
        );
        let inv = inventory(vec![
            instance("i-old", "m4.large", &[]),
            instance("i-legacy", "m4.xlarge", &[]),
            instance("i-new", "m7g.large", &[]),
        ]);
        let Evaluation {
            findings,
            exempted,
            not_evaluated,
        } = evaluate(&inv, &p, now());
        let custom: Vec<_> = findings.iter().filter(|f| f.rule_id.is_custom()).collect();
        assert_eq!(custom.len(), 1, "{findings:?}");
        let f = custom[0];
        assert_eq!(f.rule_id.as_str(), "no-previous-generation");
        assert!(f.resource_arn.ends_with(":i-old"));
        assert_eq!(f.severity, Severity::Critical, "the override wins");
        assert_eq!(f.message, "runs a previous-generation type");
        assert_eq!(
            f.remediation,
            "Resize it to a current generation (m7g, m7i)"
        );
        assert_eq!(exempted.len(), 1);
        assert_eq!(exempted[0].reason, "retired next quarter");
        assert!(not_evaluated.is_empty());
        // Scope counts the custom rule's resources; the switched-off rule is nowhere.
        let scope = crate::rules::scope(&inv, &p, now());
        assert_eq!(scope.evaluated.get(&f.rule_id), Some(&3));
        assert!(scope.evaluated.keys().all(|r| r.as_str() != "owner-tag"));
    }

    fn problems(toml: &str) -> Vec<String> {
        match Policy::from_toml(toml, "p.toml") {
            Err(PolicyError::Invalid { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_name_that_is_not_a_variable_is_a_policy_error_at_its_position() {
        // Typos of each variable, anywhere in the expression, and names a comprehension does
        // not bind.
        for (condition, name, position) in [
            ("resourse.id == 'x'", "resourse", "1:1"),
            (
                "resource.id == 'x' && nwo > resource.created_at",
                "nwo",
                "1:23",
            ),
            (
                "has(resource.tags.Owner) ||\n  polcy.tags.required.size() > 0",
                "polcy",
                "2:3",
            ),
            ("resource.tags.all(k, k == v)", "v", "1:27"),
            ("[1].map(x, x).exists(y, x == y)", "x", "1:25"),
        ] {
            let got = problems(&format!(
                "[[custom_rules]]\nid = \"typo\"\ncondition = '''{condition}'''\nmessage = \"m\"\nremediation = \"r\"\n"
            ));
            assert_eq!(got.len(), 1, "{condition}: {got:?}");
            assert!(
                got[0].starts_with("line 3: `custom_rules[0].condition (rule typo)`"),
                "{got:?}"
            );
            assert!(
                got[0].contains(&format!("position {position} "))
                    && got[0].contains(&format!("`{name}` is not a variable")),
                "{condition}: {got:?}"
            );
        }
        // Comprehension variables, nested ones, type names and the three variables compile.
        for condition in [
            "resource.tags.all(k, k.startsWith('team-') || resource.tags[k] != '')",
            "[1, 2].all(a, [a].exists(b, b == a)) && type(resource.region) == string",
            "now > resource.created_at && size(policy.tags.required) >= 0",
        ] {
            assert!(Condition::compile(condition).is_ok(), "{condition}");
        }
    }

    #[test]
    fn policy_check_names_the_rule_the_line_and_the_position_in_the_expression() {
        let got = problems(
            r#"[tags]
required = ["Owner"]

[[custom_rules]]
id = "prev-gen"
condition = """
resource.details.instance_type ==
  && true"""
message = "m"
remediation = "r"

[[custom_rules]]
id = "tags-required"
condition = "true"
message = "m"
remediation = "r"

[[custom_rules]]
id = "Bad_Id"
condition = "true"
message = " "
remediation = "r"
severity = "urgent"
applies_to = ["instance"]

[[custom_rules]]
id = "prev-gen"
condition = "true"
message = "m"
remediation = "r"

[[exemptions]]
rule = "not-declared"
resource = "*"
reason = "x"
"#,
        );
        assert_eq!(
            got,
            [
                "line 6: `custom_rules[0].condition (rule prev-gen)`: position 2:3 of the expression: Syntax error: extraneous input '&&' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
                "line 13: `custom_rules[1].id`: `tags-required` is a catalogue rule's id: give the custom rule its own",
                "line 19: `custom_rules[2].id`: `Bad_Id` is not kebab-case (lowercase letters and digits in words joined by hyphens, starting with a letter)",
                "line 21: `custom_rules[2].message`: must not be empty",
                "line 23: `custom_rules[2].severity`: unknown severity `urgent`: expected one of critical, high, medium, low",
                "line 24: `custom_rules[2].applies_to`: \"instance\" is not a resource type written service:type, such as \"ec2:instance\"",
                "line 27: `custom_rules[3].id`: `prev-gen` is declared twice",
                &format!(
                    "line 33: `exemptions[0].rule`: unknown rule `not-declared`: expected one of {}, or the id of a custom rule (kebab-case) declared in this file (prev-gen)",
                    RuleId::ALL.map(RuleId::as_str).join(", ")
                ),
            ]
        );
    }

    #[test]
    fn the_effective_policy_prints_custom_rules_and_reads_back_the_same() {
        let p = one_rule("\"ec2:instance\"", "resource.region != 'ap-south-1'", "");
        let text = p.to_toml();
        assert!(text.contains("[[custom_rules]]"), "{text}");
        let again =
            Policy::from_toml(&text, "printed.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again, p);
        assert_eq!(again.digest(), p.digest());
        let other = one_rule("\"ec2:instance\"", "resource.region != 'eu-west-1'", "");
        assert_ne!(
            other.digest(),
            p.digest(),
            "the expression is part of the policy's digest"
        );
    }
}
