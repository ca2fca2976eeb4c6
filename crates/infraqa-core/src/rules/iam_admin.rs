//! `iam-full-admin-policies` (CIS 2.14): no managed policy attached to a user, group or role
//! allows full administrative privileges: a statement with `Effect` `Allow`, `Action` `*` and
//! `Resource` `*` (each as a string, or in a list), in the policy's default version. A
//! condition on the statement does not clear it (the control names the grant, not its
//! circumstances). AWS-managed and customer-managed policies alike (`AdministratorAccess`
//! fails wherever it is attached); a policy attached to nothing is not judged, nor are inline
//! policies (the control's audit lists attached managed policies; `iam-least-privilege` judges
//! roles' inline policies). A default version that could not be read is not evaluated.

use super::listed::{Listed, Source};
use super::{Verdict, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::iam::Effect;
use crate::observed::Observed;
use crate::settings::{AttachedPolicy, Setting};
use chrono::{DateTime, Utc};

fn judge(p: &AttachedPolicy, _now: DateTime<Utc>) -> Option<Verdict> {
    if p.attachments == 0 {
        return None;
    }
    let doc = match &p.document {
        Observed::Unread(e) => return Some(Verdict::unread(e)),
        Observed::Read(doc) => doc,
    };
    let full: Vec<usize> = doc
        .statements()
        .iter()
        .enumerate()
        .filter(|(_, st)| {
            st.effect == Effect::Allow
                && st.actions().iter().any(|a| a == "*")
                && st.resources().iter().any(|r| r == "*")
        })
        .map(|(i, _)| i + 1)
        .collect();
    if full.is_empty() {
        return Some(Verdict::Pass);
    }
    Some(Verdict::Fail(Violation::new(
        Severity::Critical,
        full.iter()
            .map(|n| {
                format!(
                    "statement {n} of {} allows Action \"*\" on Resource \"*\" and the policy is attached {} time(s)",
                    p.name, p.attachments
                )
            })
            .collect(),
        format!(
            "Grant what each holder needs instead, then detach {arn} from every user, group and role: aws iam list-entities-for-policy --policy-arn {arn}, then detach-user-policy, detach-group-policy and detach-role-policy",
            arn = p.arn
        ),
        vec![Evidence::setting(
            "Statement",
            "Effect Allow, Action *, Resource *",
            "no full administrative statement",
        )],
    )))
}

/// CIS 2.14.
pub const FULL_ADMIN: Listed<AttachedPolicy> = Listed {
    id: RuleId::IamFullAdminPolicies,
    setting: Setting::AttachedPolicies,
    unit_type: "iam:policy",
    list: Source::Account(|g| g.attached_policies.as_ref()),
    arn: |p| &p.arn,
    judge,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::PolicyDocument;
    use crate::rules::testkit::*;

    fn attached(doc: &str, attachments: i32) -> AttachedPolicy {
        AttachedPolicy {
            arn: "arn:aws:iam::aws:policy/X".into(),
            name: "X".into(),
            attachments,
            document: Observed::Read(PolicyDocument::parse(doc).unwrap()),
        }
    }

    fn outcome(p: &AttachedPolicy) -> Option<String> {
        Some(match judge(p, now())? {
            Verdict::Pass => "pass".to_owned(),
            Verdict::Fail(v) => v.reasons.join("; "),
            Verdict::NotEvaluated(m) => format!("not evaluated: {}", m[0].code),
        })
    }

    #[test]
    fn only_allow_star_on_star_is_full_admin() {
        let cases = [
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                "statement 1 of X allows Action \"*\" on Resource \"*\" and the policy is attached 2 time(s)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":["ec2:*","*"],"Resource":["arn:aws:s3:::b","*"],"Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#,
                "statement 2 of X allows Action \"*\" on Resource \"*\" and the policy is attached 2 time(s)",
            ),
            (
                r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
                "pass",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}}"#,
                "pass",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#,
                "pass",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
                "pass",
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(outcome(&attached(doc, 2)).as_deref(), Some(want), "{doc}");
        }
        let admin = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(outcome(&attached(admin, 0)), None, "attached to nothing");
        let unread = AttachedPolicy {
            document: Observed::failed(denied("iam", "GetPolicyVersion")),
            ..attached(admin, 1)
        };
        assert_eq!(
            outcome(&unread).as_deref(),
            Some("not evaluated: AccessDenied")
        );
    }
}
