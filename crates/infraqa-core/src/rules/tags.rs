//! `tags-required`: required tags present and non-empty, allowed values respected,
//! `CreatedAt` a real date.

use super::{EvalContext, Rule, Violation, is_aws_default};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::Resource;
use chrono::{DateTime, NaiveDate};

/// See the module documentation.
pub struct TagsRequired;

fn is_date(value: &str) -> bool {
    DateTime::parse_from_rfc3339(value).is_ok()
        || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

impl Rule for TagsRequired {
    fn id(&self) -> RuleId {
        RuleId::TagsRequired
    }

    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        let p = &cx.policy.tags;
        (!p.required.is_empty() || !p.allowed_values.is_empty())
            && !is_aws_default(r)
            && (p.applies_to.is_empty() || p.applies_to.contains(&r.resource_type))
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Option<Violation> {
        if !self.applies(cx, r) {
            return None;
        }
        let p = &cx.policy.tags;
        let value = |key: &str| r.tag(key).filter(|v| !v.trim().is_empty());
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        let mut missing = Vec::new();
        for key in &p.required {
            if p.value(r, key).is_none() {
                evidence.push(Evidence::MissingTag { key: key.clone() });
                missing.push(if r.tags.contains_key(key) {
                    format!("{key} (empty)")
                } else {
                    key.clone()
                });
            }
        }
        if !missing.is_empty() {
            reasons.push(format!("missing required tags: {}", missing.join(", ")));
        }
        for (key, allowed) in &p.allowed_values {
            if let Some(v) = value(key)
                && !allowed.iter().any(|a| a == v)
            {
                let expected = format!("one of: {}", allowed.join(", "));
                reasons.push(format!("tag {key}=\"{v}\" is not {expected}"));
                evidence.push(Evidence::InvalidTagValue {
                    key: key.clone(),
                    value: v.to_owned(),
                    expected,
                });
            }
        }
        if p.required.iter().any(|k| k == "CreatedAt")
            && let Some(v) = value("CreatedAt")
            && !is_date(v)
        {
            let expected = "an RFC 3339 timestamp or a YYYY-MM-DD date";
            reasons.push(format!("tag CreatedAt=\"{v}\" is not {expected}"));
            evidence.push(Evidence::InvalidTagValue {
                key: "CreatedAt".into(),
                value: v.to_owned(),
                expected: expected.into(),
            });
        }
        (!reasons.is_empty()).then(|| {
            Violation::new(
                Severity::Medium,
                reasons,
                format!(
                    "Set the tags: aws resourcegroupstaggingapi tag-resources --resource-arn-list {} --tags Key=Value,... (or `infraqa tag --apply`)",
                    r.arn
                ),
                evidence,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceDetails, ResourceType, Vpc};
    use crate::rules::testkit::*;

    const POLICY: &str = r#"
[tags]
required = ["Environment", "Owner", "CreatedAt"]
applies_to = ["ec2:instance", "ec2:vpc"]
[tags.allowed_values]
Environment = ["dev", "prod"]
[tags.aliases]
Owner = ["Team"]
"#;

    fn instance(tags: &[(&str, &str)]) -> Resource {
        resource(
            ResourceType::Ec2Instance,
            "i-1",
            "us-east-1",
            tags,
            ResourceDetails::Generic,
        )
    }

    #[test]
    fn cases() {
        let p = policy(POLICY);
        let cases: Vec<(&str, Resource, Option<&[&str]>)> = vec![
            (
                "all present",
                instance(&[
                    ("Environment", "prod"),
                    ("Owner", "a"),
                    ("CreatedAt", "2026-01-15"),
                ]),
                None,
            ),
            (
                "alias satisfies",
                instance(&[
                    ("Environment", "dev"),
                    ("Team", "a"),
                    ("CreatedAt", "2026-01-15T10:00:00Z"),
                ]),
                None,
            ),
            (
                "missing keys named",
                instance(&[("Environment", "dev")]),
                Some(&["missing required tags: Owner, CreatedAt"]),
            ),
            (
                "empty value is missing",
                instance(&[
                    ("Environment", "dev"),
                    ("Owner", " "),
                    ("CreatedAt", "2026-01-15"),
                ]),
                Some(&["missing required tags: Owner (empty)"]),
            ),
            (
                "empty alias does not satisfy",
                instance(&[
                    ("Environment", "dev"),
                    ("Team", ""),
                    ("CreatedAt", "2026-01-15"),
                ]),
                Some(&["missing required tags: Owner"]),
            ),
            (
                "values compare case-sensitively",
                instance(&[
                    ("Environment", "Prod"),
                    ("Owner", "a"),
                    ("CreatedAt", "2026-01-15"),
                ]),
                Some(&["tag Environment=\"Prod\" is not one of: dev, prod"]),
            ),
            (
                "bad date",
                instance(&[
                    ("Environment", "dev"),
                    ("Owner", "a"),
                    ("CreatedAt", "yesterday"),
                ]),
                Some(&[
                    "tag CreatedAt=\"yesterday\" is not an RFC 3339 timestamp or a YYYY-MM-DD date",
                ]),
            ),
            (
                "every reason listed",
                instance(&[("Environment", "qa"), ("CreatedAt", "2026-13-01")]),
                Some(&[
                    "missing required tags: Owner",
                    "tag Environment=\"qa\" is not one of: dev, prod",
                    "tag CreatedAt=\"2026-13-01\" is not an RFC 3339 timestamp or a YYYY-MM-DD date",
                ]),
            ),
            (
                "type not in applies_to",
                resource(
                    ResourceType::S3Bucket,
                    "b",
                    "us-east-1",
                    &[],
                    ResourceDetails::Generic,
                ),
                None,
            ),
            (
                "default VPC exempt",
                resource(
                    ResourceType::Ec2Vpc,
                    "vpc-1",
                    "us-east-1",
                    &[],
                    ResourceDetails::Ec2Vpc(Vpc {
                        is_default: true,
                        cidr_block: None,
                        flow_log_ids: vec![],
                    }),
                ),
                None,
            ),
            (
                "own VPC checked",
                resource(
                    ResourceType::Ec2Vpc,
                    "vpc-2",
                    "us-east-1",
                    &[],
                    ResourceDetails::Ec2Vpc(Vpc {
                        is_default: false,
                        cidr_block: None,
                        flow_log_ids: vec![],
                    }),
                ),
                Some(&["missing required tags: Environment, Owner, CreatedAt"]),
            ),
        ];
        for (name, r, want) in cases {
            let got = check(&TagsRequired, &p, &inventory(vec![r]));
            assert_eq!(
                got.as_ref().map(|v| v.reasons.clone()),
                want.map(|w| w.iter().map(|s| s.to_string()).collect()),
                "{name}"
            );
            if let Some(v) = got {
                assert_eq!(v.severity, Severity::Medium);
            }
        }
    }

    #[test]
    fn evidence_names_each_key_and_value() {
        let r = instance(&[("Environment", "qa"), ("CreatedAt", "2026-01-15")]);
        let v = check(&TagsRequired, &policy(POLICY), &inventory(vec![r])).unwrap();
        assert_eq!(
            v.evidence,
            [
                Evidence::MissingTag {
                    key: "Owner".into()
                },
                Evidence::InvalidTagValue {
                    key: "Environment".into(),
                    value: "qa".into(),
                    expected: "one of: dev, prod".into()
                },
            ]
        );
    }

    #[test]
    fn no_required_tags_means_nothing_to_check_and_default_applies_to_all() {
        let untagged = inventory(vec![resource(
            ResourceType::Other("sqs:queue".into()),
            "q",
            "us-east-1",
            &[],
            ResourceDetails::Generic,
        )]);
        assert_eq!(check(&TagsRequired, &policy(""), &untagged), None);
        assert!(
            check(
                &TagsRequired,
                &policy("[tags]\nrequired = [\"Owner\"]"),
                &untagged
            )
            .is_some()
        );
    }
}
