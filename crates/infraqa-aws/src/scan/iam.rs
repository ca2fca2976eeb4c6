//! IAM roles with their trust policy and every identity policy's default-version document.
//!
//! `GetAccountAuthorizationDetails` returns roles, inline policies, attachments and
//! customer-managed policy versions in a few paginated calls. AWS-managed policies attached to
//! a role are read once each (`GetPolicy`, `GetPolicyVersion`), not once per role.

use super::{Ctx, Only, to_utc};
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_iam::types as t;
use infraqa_core::iam::PolicyDocument;
use infraqa_core::model::{GLOBAL_REGION, IamRole, PolicySource, ResourceDetails, RolePolicy};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ResourceType, ScanError};
use std::collections::{BTreeSet, HashMap};

const SVC: &str = "iam";

/// A document as read, or why it was not: a document that does not parse is unread, never an
/// empty document (which would let the role pass).
fn parse(sink: &mut Sink, text: Result<&str, ScanError>, what: &str) -> Observed<PolicyDocument> {
    match text.map(PolicyDocument::parse) {
        Ok(Ok(doc)) => Observed::Read(doc),
        Ok(Err(e)) => Observed::failed(sink.problem(
            GLOBAL_REGION,
            SVC,
            "GetAccountAuthorizationDetails",
            "MalformedPolicyDocument",
            format!("{what}: {e}"),
        )),
        Err(unread) => Observed::failed(unread),
    }
}

/// The document text of `what`, or the recorded reason it is missing.
fn present<'a>(sink: &mut Sink, text: Option<&'a str>, what: &str) -> Result<&'a str, ScanError> {
    text.ok_or_else(|| {
        sink.problem(
            GLOBAL_REGION,
            SVC,
            "GetAccountAuthorizationDetails",
            "MissingPolicyDocument",
            format!("{what}: no document returned"),
        )
    })
}

fn is_aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

/// Collects every IAM role of the account, or the roles `only` names.
pub async fn collect(ctx: &Ctx<'_>, only: Only<'_>) -> Sink {
    match ctx.clients.iam() {
        Ok(iam) => match only.ids(&ResourceType::IamRole) {
            None => collect_from(ctx, &iam).await,
            Some(names) => collect_named(ctx, &iam, names).await,
        },
        Err(e) => {
            let mut sink = Sink::default();
            sink.error(GLOBAL_REGION, &e);
            sink
        }
    }
}

/// [`collect`] with a given client (tests pass a mocked one).
pub async fn collect_from(ctx: &Ctx<'_>, iam: &aws_sdk_iam::Client) -> Sink {
    let mut sink = Sink::default();
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
    let mut documents: Documents = HashMap::new();
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
                .and_then(|v| v.document().map(str::to_owned))
                .ok_or_else(|| {
                    sink.problem(
                        GLOBAL_REGION,
                        SVC,
                        "GetAccountAuthorizationDetails",
                        "MissingPolicyDocument",
                        format!("no default version of {arn} was returned"),
                    )
                });
            documents.insert(arn, doc);
        }
    }

    // Customer-managed documents came with the listing; AWS-managed ones are read here.
    assemble(ctx, iam, sink, roles, documents, is_aws_managed).await
}

/// Policy ARN to its default version's document, or why it is missing.
type Documents = HashMap<String, Result<String, ScanError>>;

/// The named roles, read one by one (`GetRole`, their inline and attached policies): what a
/// role's rules need without listing the account's every role. A role that no longer exists is
/// simply absent.
pub async fn collect_named(ctx: &Ctx<'_>, iam: &aws_sdk_iam::Client, names: &[String]) -> Sink {
    let mut sink = Sink::default();
    let mut roles = Vec::new();
    for name in names {
        let named = |e: AwsError| e.naming(&format!("role {name}"));
        let role = match iam.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e) => {
                let err = AwsError::call(SVC, "GetRole", e);
                if err.code() != "NoSuchEntity" {
                    sink.error(GLOBAL_REGION, &named(err));
                }
                continue;
            }
        };
        let Some(role) = role else { continue };
        let mut detail = t::RoleDetail::builder()
            .role_name(role.role_name())
            .arn(role.arn())
            .path(role.path())
            .create_date(*role.create_date())
            .set_assume_role_policy_document(role.assume_role_policy_document)
            .set_tags(role.tags);
        // A policy list that cannot be read leaves the role unjudgeable: record it and keep
        // what was read (the rule then concludes only from that, or not at all).
        let stream = iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        let mut part = Sink::default();
        let inline: Vec<String> = part
            .pages(GLOBAL_REGION, SVC, "ListRolePolicies", stream)
            .await
            .into_iter()
            .flat_map(|p| p.policy_names)
            .collect();
        for pname in inline {
            let document = match iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&pname)
                .send()
                .await
            {
                Ok(out) => Some(out.policy_document),
                Err(e) => {
                    let err = AwsError::call(SVC, "GetRolePolicy", e);
                    part.error(GLOBAL_REGION, &named(err));
                    None
                }
            };
            detail = detail.role_policy_list(
                t::PolicyDetail::builder()
                    .policy_name(pname)
                    .set_policy_document(document)
                    .build(),
            );
        }
        let stream = iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        for page in part
            .pages(GLOBAL_REGION, SVC, "ListAttachedRolePolicies", stream)
            .await
        {
            for p in page.attached_policies.unwrap_or_default() {
                detail = detail.attached_managed_policies(p);
            }
        }
        if let Some(e) = part.errors.first() {
            sink.problem(
                GLOBAL_REGION,
                SVC,
                "GetRole",
                &e.code,
                format!("role {name} was not read whole: {}", e.message),
            );
            sink.absorb(part);
            continue;
        }
        roles.push(detail.build());
    }
    assemble(ctx, iam, sink, roles, Documents::new(), |_| true).await
}

/// The roles as resources: every attached policy not in `documents` that `read` selects is
/// read once (`GetPolicy`, `GetPolicyVersion`) however many roles attach it.
async fn assemble(
    ctx: &Ctx<'_>,
    iam: &aws_sdk_iam::Client,
    mut sink: Sink,
    roles: Vec<t::RoleDetail>,
    mut documents: Documents,
    read: fn(&str) -> bool,
) -> Sink {
    let aws_managed: BTreeSet<String> = roles
        .iter()
        .flat_map(|r| r.attached_managed_policies())
        .filter_map(|p| p.policy_arn())
        .filter(|arn| read(arn) && !documents.contains_key(*arn))
        .map(str::to_owned)
        .collect();
    for arn in aws_managed {
        let doc = managed_document(iam, &arn, &mut sink).await;
        documents.insert(arn, doc);
    }

    for role in roles {
        let (Some(name), Some(arn)) = (role.role_name(), role.arn()) else {
            continue;
        };
        let what = format!("trust policy of role {name}");
        let text = present(&mut sink, role.assume_role_policy_document(), &what);
        let trust = parse(&mut sink, text, &what);
        let mut policies = Vec::new();
        for inline in role.role_policy_list() {
            let pname = inline.policy_name().unwrap_or_default().to_owned();
            let what = format!("inline policy {pname} of role {name}");
            let text = present(&mut sink, inline.policy_document(), &what);
            let document = parse(&mut sink, text, &what);
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
            // A policy the listing did not return at all (e.g. a later page failed) is unread
            // like one whose document failed: the listing's own error says why.
            let text = match documents.get(parn) {
                Some(Ok(text)) => Ok(text.as_str()),
                Some(Err(e)) => Err(e.clone()),
                None => Err(sink.problem(
                    GLOBAL_REGION,
                    SVC,
                    "GetAccountAuthorizationDetails",
                    "MissingPolicyDocument",
                    format!("policy {parn} attached to role {name} was not returned"),
                )),
            };
            let document = parse(
                &mut sink,
                text,
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
            id: name.into(),
            resource_type: ResourceType::IamRole,
            region: GLOBAL_REGION.into(),
            account_id: ctx.account_id.into(),
            tags: role.tags().iter().map(|t| (t.key(), t.value())).collect(),
            created_at: role.create_date().and_then(to_utc),
            tags_unread: None,
            usage: None,
            details: ResourceDetails::IamRole(Box::new(IamRole {
                path: role.path().unwrap_or("/").to_owned(),
                trust_policy: trust,
                policies,
            })),
        });
    }
    sink
}

async fn managed_document(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    sink: &mut Sink,
) -> Result<String, ScanError> {
    let missing = |sink: &mut Sink, operation: &str| {
        sink.problem(
            GLOBAL_REGION,
            SVC,
            operation,
            "MissingPolicyDocument",
            format!("{operation} returned no document for {arn}"),
        )
    };
    let policy = match iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out.policy,
        Err(e) => {
            let err = AwsError::call(SVC, "GetPolicy", e);
            return Err(sink.error(GLOBAL_REGION, &with_policy(err, arn)));
        }
    };
    let Some(version) = policy.as_ref().and_then(|p| p.default_version_id()) else {
        return Err(missing(sink, "GetPolicy"));
    };
    policy_version(iam, arn, version, sink).await
}

/// The document of version `version` of policy `arn` (`GetPolicyVersion`), or the recorded
/// reason it is missing.
pub(super) async fn policy_version(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    version: &str,
    sink: &mut Sink,
) -> Result<String, ScanError> {
    match iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(out) => match out.policy_version.and_then(|v| v.document) {
            Some(doc) => Ok(doc),
            None => Err(sink.problem(
                GLOBAL_REGION,
                SVC,
                "GetPolicyVersion",
                "MissingPolicyDocument",
                format!("GetPolicyVersion returned no document for {arn}"),
            )),
        },
        Err(e) => {
            let err = AwsError::call(SVC, "GetPolicyVersion", e);
            Err(sink.error(GLOBAL_REGION, &with_policy(err, arn)))
        }
    }
}

/// Names the policy in a per-policy error's message.
fn with_policy(err: AwsError, arn: &str) -> AwsError {
    err.naming(&format!("policy {arn}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use infraqa_core::iam::Effect;

    const ADMIN_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
    const CUSTOM_ARN: &str = "arn:aws:iam::123456789012:policy/deploy";
    /// `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, URL-encoded as IAM sends it.
    const ADMIN_ENCODED: &str = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
    const TRUST: &str = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";

    fn role(name: &str, attached: &[&str], inline: Option<&str>) -> t::RoleDetail {
        let mut b = t::RoleDetail::builder()
            .role_name(name)
            .arn(format!("arn:aws:iam::123456789012:role/{name}"))
            .path("/")
            .assume_role_policy_document(TRUST);
        for arn in attached {
            b = b.attached_managed_policies(
                t::AttachedPolicy::builder()
                    .policy_arn(*arn)
                    .policy_name(arn.rsplit('/').next().unwrap())
                    .build(),
            );
        }
        if let Some(doc) = inline {
            b = b.role_policy_list(
                t::PolicyDetail::builder()
                    .policy_name("inline")
                    .policy_document(doc)
                    .build(),
            );
        }
        b.build()
    }

    #[tokio::test]
    async fn roles_across_pages_with_each_aws_managed_policy_read_once() {
        let page1 = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(role("admin-a", &[ADMIN_ARN], None))
                    .role_detail_list(role(
                        "deployer",
                        &[CUSTOM_ARN],
                        Some(r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#),
                    ))
                    .is_truncated(true)
                    .marker("m1")
                    .build()
            });
        let page2 = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(role("admin-b", &[ADMIN_ARN], None))
                    .policies(
                        t::ManagedPolicyDetail::builder()
                            .arn(CUSTOM_ARN)
                            .policy_name("deploy")
                            .policy_version_list(
                                t::PolicyVersion::builder()
                                    .is_default_version(false)
                                    .document(ADMIN_ENCODED)
                                    .build(),
                            )
                            .policy_version_list(
                                t::PolicyVersion::builder()
                                    .is_default_version(true)
                                    .document("%7B%22Statement%22%3A%5B%5D%7D")
                                    .build(),
                            )
                            .build(),
                    )
                    .is_truncated(false)
                    .build()
            });
        let get_policy = mock!(aws_sdk_iam::Client::get_policy)
            .match_requests(|r| r.policy_arn() == Some(ADMIN_ARN))
            .then_output(|| {
                GetPolicyOutput::builder()
                    .policy(
                        t::Policy::builder()
                            .arn(ADMIN_ARN)
                            .default_version_id("v1")
                            .build(),
                    )
                    .build()
            });
        let get_version = mock!(aws_sdk_iam::Client::get_policy_version)
            .match_requests(|r| r.version_id() == Some("v1"))
            .then_output(|| {
                GetPolicyVersionOutput::builder()
                    .policy_version(t::PolicyVersion::builder().document(ADMIN_ENCODED).build())
                    .build()
            });
        let client = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&page1, &page2, &get_policy, &get_version]
        );
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };

        let sink = collect_from(&ctx, &client).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let names: Vec<&str> = sink.resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(names, ["admin-a", "deployer", "admin-b"]);
        assert_eq!((get_policy.num_calls(), get_version.num_calls()), (1, 1));
        let details = |i: usize| match &sink.resources[i].details {
            ResourceDetails::IamRole(r) => r.clone(),
            other => panic!("{other:?}"),
        };
        let admin = details(0);
        assert_eq!(admin.policies[0].source, PolicySource::AwsManaged);
        assert_eq!(
            admin.policies[0].document.read().unwrap().statements()[0].actions(),
            ["*"]
        );
        assert!(
            admin.trust_policy.read().unwrap().statements()[0]
                .principal
                .is_some()
        );
        let deployer = details(1);
        assert_eq!(deployer.policies[0].source, PolicySource::Inline);
        assert_eq!(
            deployer.policies[0].document.read().unwrap().statements()[0].effect,
            Effect::Deny
        );
        assert_eq!(deployer.policies[1].source, PolicySource::CustomerManaged);
        assert!(
            deployer.policies[1]
                .document
                .read()
                .unwrap()
                .statements()
                .is_empty(),
            "the default version is used"
        );
    }
}
