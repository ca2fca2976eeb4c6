//! Builders for rule tests: resources, inventories and policies in a line each.

use crate::inventory::{INVENTORY_SCHEMA_VERSION, Inventory, ScanError, ScanStats};
use crate::model::{Resource, ResourceDetails, ResourceType};
use crate::policy::Policy;
use crate::rules::{EvalContext, Rule, Verdict, Violation};
use chrono::{DateTime, TimeZone, Utc};

pub const ACCOUNT: &str = "123456789012";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

pub fn resource(
    t: ResourceType,
    id: &str,
    region: &str,
    tags: &[(&str, &str)],
    details: ResourceDetails,
) -> Resource {
    let arn = match t {
        ResourceType::S3Bucket => format!("arn:aws:s3:::{id}"),
        ResourceType::IamRole => format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
        _ => format!(
            "arn:aws:{}:{region}:{ACCOUNT}:{id}",
            t.as_str().split(':').next().unwrap()
        ),
    };
    Resource {
        arn,
        id: id.into(),
        resource_type: t,
        region: region.into(),
        account_id: ACCOUNT.into(),
        tags: tags.iter().copied().collect::<crate::model::Tags>(),
        created_at: None,
        tags_unread: None,
        usage: None,
        details,
    }
}

pub fn inventory(resources: Vec<Resource>) -> Inventory {
    Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        generated_at: now(),
        account_id: ACCOUNT.to_owned(),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        resources,
        errors: Vec::new(),
        notes: Vec::new(),
        settings: Default::default(),
        stats: ScanStats::default(),
    }
}

pub fn scan_error(region: &str, service: &str, operation: &str) -> ScanError {
    ScanError {
        region: region.into(),
        service: service.into(),
        operation: operation.into(),
        code: "AccessDenied".into(),
        message: "denied".into(),
    }
}

pub fn policy(toml: &str) -> Policy {
    Policy::from_toml(toml, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The verdict of `rule` on the first resource of `inv`, as the engine reaches it: a rule
/// is only asked about resources it applies to (others count as passes here).
pub fn verdict(rule: &dyn Rule, policy: &Policy, inv: &Inventory) -> Verdict {
    let cx = EvalContext {
        policy,
        inventory: inv,
        now: now(),
    };
    let r = &inv.resources[0];
    if !rule.applies(&cx, r) {
        return Verdict::Pass;
    }
    rule.check(&cx, r)
}

/// [`verdict`] for resources whose data was all read: the violation, if any.
pub fn check(rule: &dyn Rule, policy: &Policy, inv: &Inventory) -> Option<Violation> {
    match verdict(rule, policy, inv) {
        Verdict::Pass => None,
        Verdict::Fail(v) => Some(v),
        Verdict::NotEvaluated(missing) => panic!("{} not evaluated: {missing:?}", rule.id()),
    }
}

/// [`verdict`] that must be "not evaluated": the operations of the failed reads.
pub fn unread_operations(rule: &dyn Rule, policy: &Policy, inv: &Inventory) -> Vec<String> {
    match verdict(rule, policy, inv) {
        Verdict::NotEvaluated(missing) => missing.into_iter().map(|e| e.operation).collect(),
        other => panic!("{} judged from unread data: {other:?}", rule.id()),
    }
}

/// A failed read of `operation` (AccessDenied).
pub fn denied(service: &str, operation: &str) -> ScanError {
    scan_error("us-east-1", service, operation)
}
