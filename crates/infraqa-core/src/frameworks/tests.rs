use super::*;
use crate::finding::Severity;

#[test]
fn the_cis_benchmark_ships_whole() {
    let all = builtin().unwrap();
    let cis = all.iter().find(|f| f.id == "cis-aws-7.0").unwrap();
    assert_eq!(cis.version, "7.0.0");
    assert_eq!(cis.requirements.len(), 70);
    let automated = cis
        .requirements
        .iter()
        .filter(|r| r.assessment == Assessment::Automated)
        .count();
    assert_eq!(automated, 34);
    let undecided: Vec<&str> = cis
        .requirements
        .iter()
        .filter(|r| r.assessment == Assessment::Automated && r.rules.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        undecided.is_empty(),
        "every automated requirement has a rule: {undecided:?}"
    );
    let s3 = cis.requirements.iter().find(|r| r.id == "3.1.4").unwrap();
    assert_eq!(s3.rules, vec![RuleId::S3PublicAccess]);
    assert!(find("cis-aws-7.0").unwrap().is_some());
    assert!(find("nist-800-53").unwrap().is_none());
}

const TWO: &str = r#"
id = "t"
name = "Test"
version = "1"
[[requirements]]
id = "1"
title = "a"
section = "s"
profile = "L1"
assessment = "automated"
rules = ["tags-required"]
"#;

#[test]
fn a_bad_file_is_refused_naming_the_file_and_requirement() {
    assert!(parse("t.toml", TWO).is_ok());
    let twice = format!("{TWO}{}", &TWO[TWO.find("[[requirements]]").unwrap()..]);
    let e = parse("t.toml", &twice).unwrap_err().to_string();
    assert!(
        e.contains("t.toml: requirement 1: its id appears twice"),
        "{e}"
    );
    let e = parse("t.toml", &TWO.replace("tags-required", "no-such-rule"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`no-such-rule` is not a rule of the catalogue"),
        "{e}"
    );
    let e = parse("t.toml", &TWO.replace("profile", "level"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("t.toml: "), "{e}");
    let e = parse("t.toml", &TWO.replace("\"automated\"", "\"sometimes\""))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("t.toml: "), "{e}");
}

fn finding(rule: RuleId) -> Finding {
    Finding {
        rule_id: rule,
        severity: Severity::Low,
        resource_arn: "arn:aws:s3:::b".into(),
        resource_type: "s3:bucket".into(),
        region: "us-east-1".into(),
        message: String::new(),
        remediation: String::new(),
        evidence: Vec::new(),
    }
}

fn unread(rule: RuleId) -> NotEvaluated {
    NotEvaluated {
        rule_id: rule,
        resource_arn: "arn:aws:s3:::c".into(),
        resource_type: "s3:bucket".into(),
        region: "us-east-1".into(),
        missing: Vec::new(),
    }
}

fn requirement(id: &str, assessment: Assessment, rules: &[RuleId]) -> Requirement {
    Requirement {
        id: id.into(),
        title: format!("requirement {id}"),
        section: "1 Section".into(),
        profile: "Level 1".into(),
        assessment,
        rules: rules.to_vec(),
        note: String::new(),
    }
}

#[test]
fn each_status_from_what_the_rules_concluded() {
    use Assessment::{Automated, Manual};
    let custom =
        RuleId::Custom(crate::finding::CustomRuleId::new("ebs-snapshots-private").unwrap());
    let fw = Framework {
        id: "t".into(),
        name: "Test".into(),
        version: "1".into(),
        requirements: vec![
            requirement(
                "fails",
                Automated,
                &[RuleId::S3PublicAccess, RuleId::S3Encryption],
            ),
            requirement("unread", Automated, &[RuleId::TagsRequired]),
            requirement("passes", Automated, &[RuleId::S3Encryption]),
            requirement("manual", Manual, &[RuleId::S3PublicAccess]),
            requirement("uncovered", Automated, &[]),
            requirement("off", Automated, &[RuleId::SgOpenIngress]),
            requirement("by-custom", Automated, &[]),
            requirement("unlisted", Automated, &[RuleId::RdsEncryption]),
            requirement("unlisted-fails", Automated, &[RuleId::S3PublicAccess]),
        ],
    };
    let in_force: BTreeSet<RuleId> = [
        RuleId::S3PublicAccess,
        RuleId::S3Encryption,
        RuleId::TagsRequired,
        RuleId::RdsEncryption,
        custom,
    ]
    .into();
    let findings = [
        finding(RuleId::S3PublicAccess),
        finding(RuleId::S3PublicAccess),
        finding(custom),
    ];
    let not_evaluated = [unread(RuleId::TagsRequired), unread(RuleId::S3PublicAccess)];
    let mapping = BTreeMap::from([(custom, vec!["by-custom".to_owned()])]);
    let got = assess(
        &fw,
        &mapping,
        Judged {
            in_force: &in_force,
            findings: &findings,
            not_evaluated: &not_evaluated,
            unlisted: &BTreeMap::from([
                (
                    RuleId::RdsEncryption,
                    vec!["rds DescribeDBInstances in us-east-1 (AccessDenied)".to_owned()],
                ),
                (
                    RuleId::S3PublicAccess,
                    vec!["s3 ListBuckets in global (AccessDenied)".to_owned()],
                ),
            ]),
        },
    );
    let status = |id: &str| got.requirements.iter().find(|r| r.id == id).unwrap();
    assert_eq!(status("fails").status, Status::Fail);
    assert_eq!(
        status("fails").findings,
        2,
        "a failure wins over an unread resource"
    );
    assert_eq!(status("unread").status, Status::NotEvaluated);
    assert_eq!(status("passes").status, Status::Pass);
    assert_eq!(status("manual").status, Status::Manual);
    assert_eq!(status("uncovered").status, Status::NotCovered);
    assert_eq!(status("off").status, Status::NotCovered);
    assert!(
        status("off")
            .note
            .contains("turned off by the policy: sg-open-ingress")
    );
    assert_eq!(status("by-custom").status, Status::Fail);
    assert_eq!(status("by-custom").rules, vec![custom]);
    assert_eq!(
        status("unlisted").status,
        Status::NotEvaluated,
        "no finding is no pass when the list failed"
    );
    assert_eq!(
        status("unlisted").note,
        "not read: rds DescribeDBInstances in us-east-1 (AccessDenied)"
    );
    assert_eq!(status("unlisted-fails").status, Status::Fail);
    assert_eq!(got.counts[&Status::NotCovered], 2);
    assert_eq!(got.counts.values().sum::<usize>(), 9);
}
