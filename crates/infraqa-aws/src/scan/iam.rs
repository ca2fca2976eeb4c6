//! IAM roles with their trust policy and every identity policy's default-version document.
//!
//! `GetAccountAuthorizationDetails` returns roles, inline policies, attachments and
//! customer-managed policy versions in a few paginated calls. AWS-managed policies attached to
//! a role are read once each (`GetPolicy`, `GetPolicyVersion`), not once per role.

use super::{Ctx, to_utc};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_iam::types as t;
use infraqa_core::iam::PolicyDocument;
use infraqa_core::model::{GLOBAL_REGION, IamRole, PolicySource, ResourceDetails, RolePolicy};
use infraqa_core::{Resource, ResourceType};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const SVC: &str = "iam";

fn parse(sink: &mut Sink, text: Option<&str>, what: &str) -> PolicyDocument {
    match text.map(PolicyDocument::parse) {
        Some(Ok(doc)) => doc,
        Some(Err(e)) => {
            sink.problem(
                GLOBAL_REGION,
                SVC,
                "GetAccountAuthorizationDetails",
                "MalformedPolicyDocument",
                format!("{what}: {e}"),
            );
            PolicyDocument::default()
        }
        None => PolicyDocument::default(),
    }
}

fn is_aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

/// Collects every IAM role of the account.
pub async fn collect(ctx: &Ctx<'_>) -> Sink {
    let mut sink = Sink::default();
    let iam = match ctx.clients.iam() {
        Ok(c) => c,
        Err(e) => {
            sink.error(GLOBAL_REGION, &e);
            return sink;
        }
    };
    let stream = iam
        .get_account_authorization_details()
        .filter(t::EntityType::Role)
        .filter(t::EntityType::LocalManagedPolicy)
        .max_items(1000)
        .into_paginator()
        .send();
    let pages = sink
        .pages(GLOBAL_REGION, SVC, "GetAccountAuthorizationDetails", stream)
        .await;
    let mut roles = Vec::new();
    let mut documents: HashMap<String, Option<String>> = HashMap::new();
    for page in pages {
        roles.extend(page.role_detail_list.unwrap_or_default());
        for policy in page.policies.unwrap_or_default() {
            let Some(arn) = policy.arn().map(str::to_owned) else {
                continue;
            };
            let doc = policy
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version())
                .and_then(|v| v.document().map(str::to_owned));
            documents.insert(arn, doc);
        }
    }

    let aws_managed: BTreeSet<String> = roles
        .iter()
        .flat_map(|r| r.attached_managed_policies())
        .filter_map(|p| p.policy_arn())
        .filter(|arn| is_aws_managed(arn) && !documents.contains_key(*arn))
        .map(str::to_owned)
        .collect();
    for arn in aws_managed {
        let doc = aws_managed_document(&iam, &arn, &mut sink).await;
        documents.insert(arn, doc);
    }

    for role in roles {
        let (Some(name), Some(arn)) = (role.role_name(), role.arn()) else {
            continue;
        };
        let trust = parse(
            &mut sink,
            role.assume_role_policy_document(),
            &format!("trust policy of role {name}"),
        );
        let mut policies = Vec::new();
        for inline in role.role_policy_list() {
            let pname = inline.policy_name().unwrap_or_default().to_owned();
            let document = parse(
                &mut sink,
                inline.policy_document(),
                &format!("inline policy {pname} of role {name}"),
            );
            policies.push(RolePolicy {
                name: pname,
                arn: None,
                source: PolicySource::Inline,
                document,
            });
        }
        for attached in role.attached_managed_policies() {
            let Some(parn) = attached.policy_arn() else {
                continue;
            };
            let text = documents.get(parn).cloned().flatten();
            if text.is_none() {
                sink.problem(
                    GLOBAL_REGION,
                    SVC,
                    "GetPolicyVersion",
                    "MissingPolicyDocument",
                    format!("no default version of {parn} (attached to role {name}) could be read"),
                );
            }
            let document = parse(
                &mut sink,
                text.as_deref(),
                &format!("policy {parn} attached to role {name}"),
            );
            policies.push(RolePolicy {
                name: attached.policy_name().unwrap_or_default().to_owned(),
                arn: Some(parn.to_owned()),
                source: if is_aws_managed(parn) {
                    PolicySource::AwsManaged
                } else {
                    PolicySource::CustomerManaged
                },
                document,
            });
        }
        sink.resources.push(Resource {
            arn: arn.to_owned(),
            id: name.to_owned(),
            resource_type: ResourceType::IamRole,
            region: GLOBAL_REGION.to_owned(),
            account_id: ctx.account_id.to_owned(),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect::<BTreeMap<_, _>>(),
            created_at: role.create_date().and_then(to_utc),
            details: ResourceDetails::IamRole(IamRole {
                path: role.path().unwrap_or("/").to_owned(),
                trust_policy: trust,
                policies,
            }),
        });
    }
    sink
}

async fn aws_managed_document(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    sink: &mut Sink,
) -> Option<String> {
    let policy = match iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out.policy?,
        Err(e) => {
            sink.error(GLOBAL_REGION, &AwsError::call(SVC, "GetPolicy", e));
            return None;
        }
    };
    let version = policy.default_version_id()?;
    match iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(out) => out.policy_version?.document,
        Err(e) => {
            sink.error(GLOBAL_REGION, &AwsError::call(SVC, "GetPolicyVersion", e));
            None
        }
    }
}
