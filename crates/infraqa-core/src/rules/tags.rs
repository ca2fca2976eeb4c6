//! `tags-required`: required tags present and non-empty, allowed values respected,
//! `CreatedAt` a real date.

use super::{EvalContext, Rule, Verdict, Violation, aws_default};
use crate::finding::{Evidence, EvidenceTagValue, RuleId, Severity};
use crate::model::Resource;
use chrono::{DateTime, NaiveDate};

/// See the module documentation.
pub struct TagsRequired;

/// `YYYY-MM-DD` exactly: four-digit year, two-digit month and day, a real calendar date.
fn exact_date(value: &str) -> Option<NaiveDate> {
    let b = value.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let num = |range: std::ops::Range<usize>| value.get(range)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

/// An RFC 3339 timestamp (`T`, `t` or a space between date and time) or an exact
/// `YYYY-MM-DD` date, with nothing before or after.
fn is_date(value: &str) -> bool {
    if value.len() == 10 {
        return exact_date(value).is_some();
    }
    // chrono is lenient about the date's digits; the date part is checked exactly first.
    value.get(..10).and_then(exact_date).is_some()
        && matches!(value.as_bytes().get(10), Some(b'T' | b't' | b' '))
        && DateTime::parse_from_rfc3339(value).is_ok()
}

impl Rule for TagsRequired {
    fn id(&self) -> RuleId {
        RuleId::TagsRequired
    }

    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        let p = &cx.policy.tags;
        (!p.required.is_empty() || !p.allowed_values.is_empty())
            && aws_default(r) != Ok(true)
            && (p.applies_to.is_empty() || p.applies_to.contains(&r.resource_type))
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        if let Err(unread) = aws_default(r) {
            return Verdict::unread(unread);
        }
        if let Some(unread) = &r.tags_unread {
            return Verdict::unread(unread);
        }
        let p = &cx.policy.tags;
        let value = |key: &str| r.tag(key).filter(|v| !v.trim().is_empty());
        let mut reasons = Vec::new();
        let mut evidence = Vec::new();
        let mut missing = Vec::new();
        for key in &p.required {
            if p.value(r, key).is_none() {
                evidence.push(Evidence::MissingTag {
                    key: key.as_str().into(),
                });
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
                evidence.push(Evidence::InvalidTagValue(Box::new(EvidenceTagValue {
                    key: key.clone(),
                    value: v.to_owned(),
                    expected,
                })));
            }
        }
        if p.required.iter().any(|k| k == "CreatedAt")
            && let Some(v) = value("CreatedAt")
            && !is_date(v)
        {
            let expected = "an RFC 3339 timestamp or a YYYY-MM-DD date";
            reasons.push(format!("tag CreatedAt=\"{v}\" is not {expected}"));
            evidence.push(Evidence::InvalidTagValue(Box::new(EvidenceTagValue {
                key: "CreatedAt".into(),
                value: v.to_owned(),
                expected: expected.into(),
            })));
        }
        (!reasons.is_empty())
            .then(|| {
                Violation::new(
                    Severity::Medium,
                    reasons,
                    format!(
                        "Set the tags: aws resourcegroupstaggingapi tag-resources --resource-arn-list {} --tags Key=Value,...",
                        r.arn
                    ),
                    evidence,
                )
            })
            .into()
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
            ResourceDetails::Generic(Default::default()),
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
                    ResourceDetails::Generic(Default::default()),
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
                        flow_log_ids: Default::default(),
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
                        flow_log_ids: Default::default(),
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
                Evidence::InvalidTagValue(Box::new(EvidenceTagValue {
                    key: "Environment".into(),
                    value: "qa".into(),
                    expected: "one of: dev, prod".into()
                })),
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
            ResourceDetails::Generic(Default::default()),
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

    #[test]
    fn created_at_is_parsed_exactly() {
        let cases = [
            ("2026-10-15", true),
            ("2026-10-15T08:30:00Z", true),
            ("2026-10-15T08:30:00.5+05:30", true),
            ("2026-10-15t08:30:00Z", true),
            ("2026-10-15 08:30:00Z", true),
            ("2024-02-29", true),
            ("2026-1-5", false),
            ("26-10-15", false),
            ("+2026-10-15", false),
            (" 2026-10-15", false),
            ("2026-10-15 ", false),
            ("2026-02-30", false),
            ("2026-13-01", false),
            ("2026-10-15T08:30:00", false),
            ("2026-10-15T8:30:00Z", false),
            ("2026-10-15x", false),
            ("yesterday", false),
        ];
        for (value, ok) in cases {
            assert_eq!(is_date(value), ok, "{value:?}");
        }
    }

    #[test]
    fn whitespace_only_values_are_empty_and_allowed_values_compare_exactly() {
        let p = policy(POLICY);
        let v = check(
            &TagsRequired,
            &p,
            &inventory(vec![instance(&[
                ("Environment", "\t \n"),
                ("Owner", "a"),
                ("CreatedAt", "2026-01-15"),
            ])]),
        )
        .unwrap();
        assert_eq!(v.reasons, ["missing required tags: Environment (empty)"]);
    }

    #[test]
    fn aws_defaults_are_exempt_however_they_arrive_and_unread_ones_are_not_evaluated() {
        use crate::model::Generic;
        use crate::observed::Observed;
        let p = policy("[tags]\nrequired = [\"Owner\"]");
        let generic = |t: &str, aws_default: Observed<bool>| {
            resource(
                ResourceType::parse(t),
                "x",
                "us-east-1",
                &[("Name", "tagged by someone")],
                ResourceDetails::Generic(Generic { aws_default }),
            )
        };
        for t in [
            "ec2:subnet",
            "ec2:route-table",
            "ec2:network-acl",
            "ec2:internet-gateway",
        ] {
            let r = generic(t, Observed::Read(true));
            assert_eq!(check(&TagsRequired, &p, &inventory(vec![r])), None, "{t}");
        }
        let own = generic("ec2:subnet", Observed::Read(false));
        assert!(check(&TagsRequired, &p, &inventory(vec![own])).is_some());
        let unknown = generic(
            "ec2:subnet",
            Observed::failed(denied("ec2", "DescribeSubnets")),
        );
        assert_eq!(
            unread_operations(&TagsRequired, &p, &inventory(vec![unknown])),
            ["DescribeSubnets"]
        );
        let mut bucket = resource(
            ResourceType::S3Bucket,
            "b",
            "us-east-1",
            &[],
            ResourceDetails::Generic(Generic::default()),
        );
        bucket.tags_unread = Some(Box::new(denied("tagging", "GetResources")));
        assert_eq!(
            unread_operations(&TagsRequired, &p, &inventory(vec![bucket])),
            ["GetResources"],
            "tags that could not be read are not missing tags"
        );
    }
}
