//! `iam-least-privilege`: roles that grant admin, everything-but, privilege escalation through
//! `iam:PassRole`, whole-service wildcards, or that anyone may assume.
//!
//! Conservative by design: Deny statements never make a role pass, and a `Condition` does not
//! clear a reason (it is shown in the message). Partial wildcards such as `s3:Get*` are not
//! reasons, so AWS's `ReadOnlyAccess` passes.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, EvidenceStatement, Grant, RuleId, Severity};
use crate::iam::{Effect, Statement};
use crate::model::{Resource, ResourceDetails};
use crate::observed::Observed;

/// See the module documentation.
pub struct IamLeastPrivilege;

/// IAM's action matching: `*` any run, `?` one character, case-insensitive.
pub fn iam_match(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ai, mut star, mut mark) = (0, 0, None, 0);
    while ai < a.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == a[ai]) {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ai;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ai = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn condition_note(st: &Statement) -> String {
    match &st.condition {
        Some(c) if !c.is_empty() => {
            let ops: Vec<&str> = c.keys().map(String::as_str).collect();
            format!(
                " (has Condition {}, which does not limit the grant enough to clear it)",
                ops.join(", ")
            )
        }
        _ => String::new(),
    }
}

/// One objection to a statement: severity, message, what it grants, the pattern to blame.
type Objection = (Severity, String, Grant, Option<String>);

/// The objections to one identity-policy statement.
fn statement_reasons(where_: &str, st: &Statement) -> Vec<Objection> {
    let mut out = Vec::new();
    if st.effect != Effect::Allow || !st.covers_all_resources() {
        return out;
    }
    let note = condition_note(st);
    let on = match &st.not_resource {
        Some(not) => format!(
            "on every resource except {} (NotResource)",
            not.as_slice().join(", ")
        ),
        None => "on Resource \"*\"".to_owned(),
    };
    if st.actions().iter().any(|a| a == "*") {
        out.push((
            Severity::Critical,
            format!("{where_} allows Action \"*\" {on}: full admin{note}"),
            Grant::FullAdmin,
            Some("*".to_owned()),
        ));
    }
    if !st.not_actions().is_empty() {
        out.push((
            Severity::Critical,
            format!(
                "{where_} allows everything except {} (NotAction) {on}{note}",
                st.not_actions().join(", ")
            ),
            Grant::NotAction,
            None,
        ));
    }
    for a in st.actions().iter().filter(|a| *a != "*") {
        if iam_match(a, "iam:PassRole") {
            out.push((
                Severity::High,
                format!(
                    "{where_} allows {a} {on}: privilege escalation through iam:PassRole{note}"
                ),
                Grant::PassRole,
                Some(a.clone()),
            ));
        }
        if let Some((svc, rest)) = a.split_once(':')
            && rest == "*"
            && !svc.is_empty()
        {
            out.push((
                Severity::Medium,
                format!("{where_} allows {a} (every {svc} action) {on}{note}"),
                Grant::ServiceWildcard,
                Some(a.clone()),
            ));
        }
    }
    out
}

fn conditions(st: &Statement) -> Vec<String> {
    st.condition
        .as_ref()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default()
}

impl Rule for IamLeastPrivilege {
    fn id(&self) -> RuleId {
        RuleId::IamLeastPrivilege
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(&r.details, ResourceDetails::IamRole(role) if !role.is_service_linked())
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::IamRole(role) = &r.details else {
            return Verdict::Pass;
        };
        let mut reasons: Vec<(Severity, String)> = Vec::new();
        let mut evidence = Vec::new();
        // Documents that could not be read or parsed: what was read may still decide.
        let mut unread = Vec::new();
        for policy in &role.policies {
            let document = match &policy.document {
                Observed::Read(d) => d,
                Observed::Unread(e) => {
                    unread.push((
                        format!("policy {} ({})", policy.name, policy.source.label()),
                        e,
                    ));
                    continue;
                }
            };
            for (i, st) in document.statements().iter().enumerate() {
                let where_ = format!(
                    "policy {} ({}) statement {}",
                    policy.name,
                    policy.source.label(),
                    i + 1
                );
                for (severity, message, grant, pattern) in statement_reasons(&where_, st) {
                    reasons.push((severity, message));
                    evidence.push(Evidence::PolicyStatement(Box::new(EvidenceStatement {
                        policy: policy.name.clone(),
                        source: Some(policy.source.clone()),
                        statement: i + 1,
                        grant,
                        pattern,
                        conditions: conditions(st),
                    })));
                }
            }
        }
        let trust = match &role.trust_policy {
            Observed::Read(d) => d.statements(),
            Observed::Unread(e) => {
                unread.push(("trust policy".to_owned(), e));
                &[]
            }
        };
        for (i, st) in trust.iter().enumerate() {
            let unconditioned = st.condition.as_ref().is_none_or(|c| c.is_empty());
            let who = if st.principal.as_ref().is_some_and(|p| p.is_everyone()) {
                "anyone (Principal \"*\")"
            } else if st.not_principal.is_some() {
                "everyone but a list (NotPrincipal)"
            } else {
                ""
            };
            if st.effect == Effect::Allow && unconditioned && !who.is_empty() {
                reasons.push((
                    Severity::Critical,
                    format!(
                        "trust policy statement {} lets {who} assume the role, with no Condition",
                        i + 1
                    ),
                ));
                evidence.push(Evidence::PolicyStatement(Box::new(EvidenceStatement {
                    policy: "trust policy".into(),
                    source: None,
                    statement: i + 1,
                    grant: Grant::OpenTrust,
                    pattern: None,
                    conditions: Vec::new(),
                })));
            }
        }
        let Some(worst) = reasons.iter().map(|(s, _)| *s).max() else {
            return if unread.is_empty() {
                Verdict::Pass
            } else {
                Verdict::NotEvaluated(unread.into_iter().map(|(_, e)| (**e).clone()).collect())
            };
        };
        let mut reasons: Vec<String> = reasons.into_iter().map(|(_, m)| m).collect();
        reasons.extend(unread.iter().map(|(what, e)| {
            format!(
                "{what} could not be read ({} {}): not judged",
                e.operation, e.code
            )
        }));
        Verdict::Fail(Violation::new(
            worst,
            reasons,
            format!(
                "Scope the grants of role {} to the actions and resources it needs (IAM Access Analyzer can generate a policy from its CloudTrail activity); restrict the trust policy's Principal or add a Condition",
                r.id
            ),
            evidence,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::PolicyDocument;
    use crate::model::{IamRole, PolicySource, ResourceType, RolePolicy};
    use crate::rules::testkit::*;

    const TRUST_EC2: &str = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn role(path: &str, trust: &str, policies: &[(&str, PolicySource, &str)]) -> Resource {
        resource(
            ResourceType::IamRole,
            "r",
            "global",
            &[],
            ResourceDetails::IamRole(Box::new(IamRole {
                path: path.into(),
                trust_policy: Observed::Read(PolicyDocument::parse(trust).unwrap()),
                policies: policies
                    .iter()
                    .map(|(name, source, doc)| RolePolicy {
                        name: (*name).into(),
                        arn: None,
                        source: source.clone(),
                        document: Observed::Read(PolicyDocument::parse(doc).unwrap()),
                    })
                    .collect(),
            })),
        )
    }

    fn inline(doc: &str) -> Resource {
        role("/", TRUST_EC2, &[("p", PolicySource::Inline, doc)])
    }

    #[test]
    fn wildcard_matching_follows_iam() {
        let cases = [
            ("iam:*", true),
            ("iam:Pass*", true),
            ("iam:passrole", true),
            ("IAM:PassRole", true),
            ("iam:Pass?ole", true),
            ("*", true),
            ("iam:P*e", true),
            ("iam:Get*", false),
            ("iam:PassRoles", false),
            ("s3:*", false),
            ("*:PassRole", true),
        ];
        for (pattern, matches) in cases {
            assert_eq!(iam_match(pattern, "iam:PassRole"), matches, "{pattern}");
        }
    }

    #[test]
    fn cases() {
        let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let readonly = r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","ec2:Describe*"],"Resource":"*"}]}"#;
        let cases: Vec<(&str, Resource, Option<Severity>)> = vec![
            (
                "string action admin",
                inline(admin),
                Some(Severity::Critical),
            ),
            (
                "list action admin",
                inline(r#"{"Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]}]}"#),
                Some(Severity::Critical),
            ),
            (
                "AWS-managed AdministratorAccess",
                role(
                    "/",
                    TRUST_EC2,
                    &[("AdministratorAccess", PolicySource::AwsManaged, admin)],
                ),
                Some(Severity::Critical),
            ),
            (
                "AWS-managed ReadOnlyAccess passes",
                role(
                    "/",
                    TRUST_EC2,
                    &[("ReadOnlyAccess", PolicySource::AwsManaged, readonly)],
                ),
                None,
            ),
            (
                "NotAction on *",
                inline(r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#),
                Some(Severity::Critical),
            ),
            (
                "NotAction on a scoped resource",
                inline(
                    r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b/*"}}"#,
                ),
                None,
            ),
            (
                "PassRole on *",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":["ec2:RunInstances","iam:PassRole"],"Resource":"*"}]}"#,
                ),
                Some(Severity::High),
            ),
            (
                "lower-case pass*",
                inline(r#"{"Statement":[{"Effect":"Allow","Action":"iam:pass*","Resource":"*"}]}"#),
                Some(Severity::High),
            ),
            (
                "PassRole on a scoped role",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/app-*"}]}"#,
                ),
                None,
            ),
            (
                "service wildcard",
                inline(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
                Some(Severity::Medium),
            ),
            (
                "iam:* is escalation and wildcard",
                inline(r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#),
                Some(Severity::High),
            ),
            (
                "Deny only passes",
                inline(r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#),
                None,
            ),
            (
                "Deny does not clear an Allow",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
                ),
                Some(Severity::Critical),
            ),
            (
                "Condition does not clear",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
                ),
                Some(Severity::Critical),
            ),
            (
                "open trust",
                role(
                    "/",
                    r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
                    &[],
                ),
                Some(Severity::Critical),
            ),
            (
                "open trust bare *",
                role(
                    "/",
                    r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#,
                    &[],
                ),
                Some(Severity::Critical),
            ),
            (
                "open trust with condition passes",
                role(
                    "/",
                    r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#,
                    &[],
                ),
                None,
            ),
            (
                "service-linked role exempt",
                role(
                    "/aws-service-role/rds.amazonaws.com/",
                    TRUST_EC2,
                    &[("AdministratorAccess", PolicySource::AwsManaged, admin)],
                ),
                None,
            ),
        ];
        for (name, r, want) in cases {
            let got = check(&IamLeastPrivilege, &policy(""), &inventory(vec![r]));
            assert_eq!(got.as_ref().map(|v| v.severity), want, "{name}: {got:?}");
        }
    }

    #[test]
    fn messages_name_policy_statement_and_condition() {
        let r = role(
            "/",
            TRUST_EC2,
            &[(
                "AdministratorAccess",
                PolicySource::AwsManaged,
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#,
            )],
        );
        let v = check(&IamLeastPrivilege, &policy(""), &inventory(vec![r])).unwrap();
        assert_eq!(
            v.reasons,
            [
                "policy AdministratorAccess (AWS-managed) statement 2 allows Action \"*\" on Resource \"*\": full admin (has Condition Bool, which does not limit the grant enough to clear it)"
            ]
        );
        assert_eq!(
            v.evidence,
            [Evidence::PolicyStatement(Box::new(EvidenceStatement {
                policy: "AdministratorAccess".into(),
                source: Some(PolicySource::AwsManaged),
                statement: 2,
                grant: Grant::FullAdmin,
                pattern: Some("*".into()),
                conditions: vec!["Bool".into()],
            }))]
        );
        let json = serde_json::to_value(&v.evidence[0]).unwrap();
        assert_eq!(
            (json["kind"].as_str(), json["grant"].as_str()),
            (Some("policy_statement"), Some("full-admin"))
        );
    }

    #[test]
    fn not_resource_and_not_principal_grant_everything_but_a_list() {
        let cases: Vec<(&str, Resource, Option<Severity>)> = vec![
            (
                "NotResource admin",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::secret/*"}]}"#,
                ),
                Some(Severity::Critical),
            ),
            (
                "NotResource PassRole",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","NotResource":["arn:aws:iam::1:role/x"]}]}"#,
                ),
                Some(Severity::High),
            ),
            (
                "NotResource service wildcard",
                inline(
                    r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::b"}]}"#,
                ),
                Some(Severity::Medium),
            ),
            (
                "NotResource in a Deny is no grant",
                inline(
                    r#"{"Statement":[{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::b"}]}"#,
                ),
                None,
            ),
            (
                "NotPrincipal Allow trust",
                role(
                    "/",
                    r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}"#,
                    &[],
                ),
                Some(Severity::Critical),
            ),
            (
                "NotPrincipal with a Condition",
                role(
                    "/",
                    r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#,
                    &[],
                ),
                None,
            ),
        ];
        for (name, r, want) in cases {
            let got = check(&IamLeastPrivilege, &policy(""), &inventory(vec![r]));
            assert_eq!(got.as_ref().map(|v| v.severity), want, "{name}: {got:?}");
        }
        let v = check(
            &IamLeastPrivilege,
            &policy(""),
            &inventory(vec![inline(
                r#"{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::b"}]}"#,
            )]),
        )
        .unwrap();
        assert!(
            v.reasons[0].contains("on every resource except arn:aws:s3:::b (NotResource)"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn unread_documents_are_not_evaluated_unless_a_read_one_decides() {
        let admin = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let unread = |mut r: Resource, which: usize| {
            if let ResourceDetails::IamRole(role) = &mut r.details {
                role.policies[which].document = Observed::failed(denied("iam", "GetPolicyVersion"));
            }
            r
        };
        let both = role(
            "/",
            TRUST_EC2,
            &[
                ("admin", PolicySource::Inline, admin),
                (
                    "Attached",
                    PolicySource::CustomerManaged,
                    r#"{"Statement":[]}"#,
                ),
            ],
        );
        let v = check(
            &IamLeastPrivilege,
            &policy(""),
            &inventory(vec![unread(both.clone(), 1)]),
        )
        .expect("a readable inline admin policy decides");
        assert_eq!(v.severity, Severity::Critical);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("policy Attached (customer-managed) could not be read")),
            "{:?}",
            v.reasons
        );
        assert_eq!(
            unread_operations(
                &IamLeastPrivilege,
                &policy(""),
                &inventory(vec![unread(both, 0)])
            ),
            ["GetPolicyVersion"],
            "an unreadable document is not an empty one: the role does not pass"
        );
        let mut trust_unread = inline(r#"{"Statement":[]}"#);
        if let ResourceDetails::IamRole(role) = &mut trust_unread.details {
            role.trust_policy = Observed::failed(denied("iam", "GetAccountAuthorizationDetails"));
        }
        assert_eq!(
            unread_operations(
                &IamLeastPrivilege,
                &policy(""),
                &inventory(vec![trust_unread])
            ),
            ["GetAccountAuthorizationDetails"]
        );
    }
}
