#![allow(clippy::type_complexity)] // case tables read best inline

use super::validate::is_region;
use super::*;

const EXAMPLE: &str = include_str!("../../../../examples/policy.toml");

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_toml(text, "policy.toml")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn the_contract_example_parses_into_the_expected_policy() {
    let p = parse(EXAMPLE).unwrap();
    assert_eq!(
        p.scan.regions,
        RegionScope::List(vec!["us-east-1".into(), "eu-west-1".into()])
    );
    assert_eq!(p.tags.required.len(), 6);
    assert_eq!(
        p.tags.applies_to,
        vec![
            ResourceType::Ec2Instance,
            ResourceType::S3Bucket,
            ResourceType::RdsDb,
            ResourceType::LambdaFunction
        ]
    );
    assert_eq!(
        p.tags.allowed_values["Environment"],
        ["dev", "staging", "prod"]
    );
    assert_eq!(p.tags.aliases["Owner"], ["Team"]);
    assert_eq!(p.regions.approved, ["us-east-1", "eu-west-1"]);
    assert_eq!(p.ec2.approved_amis, ["ami-0123456789abcdef0"]);
    assert_eq!(p.ec2.approved_ami_owners, ["123456789012"]);
    assert_eq!(p.accounts.ids, AccountScope::Own);
    assert_eq!(p.accounts.role_name, "infraqa-member");
    assert!(p.s3.public_allowlist[0].is_match("public-website-assets"));
    assert!(!p.s3.public_allowlist[0].is_match("private-data"));
    assert_eq!(p.network.allowed_public_ports, BTreeSet::from([80, 443]));
    assert!(p.network.allow_public_icmp);
    assert_eq!(p.orphans.stopped_instance_days, 30);
    assert_eq!(
        p.lifecycle,
        crate::policy::LifecyclePolicy::default(),
        "the example spells out the defaults"
    );
    assert!(
        parse("[lifecycle]\nusage_types = []")
            .unwrap()
            .lifecycle
            .usage_types
            .is_empty()
    );
    assert_eq!(p.exemptions.len(), 2);
    let legacy = &p.exemptions[0];
    assert_eq!(legacy.rule, RuleId::S3PublicAccess);
    assert_eq!(legacy.expires, Some(date("2027-03-31")));
    match &legacy.target {
        ExemptionTarget::Resource(g) => assert!(g.is_match("arn:aws:s3:::legacy-logs")),
        other => panic!("expected an ARN glob, got {other:?}"),
    }
    assert_eq!(
        p.exemptions[1].target,
        ExemptionTarget::Tag(TagMatch {
            key: "infraqa:exempt".into(),
            value: "sg-open-ingress".into()
        })
    );
}

#[test]
fn an_empty_file_gives_the_documented_defaults() {
    let p = parse("").unwrap();
    assert_eq!(p, Policy::default());
    assert_eq!(p.scan.regions, RegionScope::All);
    assert!(p.tags.required.is_empty() && p.tags.applies_to.is_empty());
    assert!(p.regions.approved.is_empty());
    assert!(p.ec2.approved_amis.is_empty() && p.ec2.approved_ami_owners.is_empty());
    assert!(p.s3.public_allowlist.is_empty() && !p.s3.require_kms);
    assert!(p.network.allowed_public_ports.is_empty() && p.network.allow_public_icmp);
    assert_eq!(p.logging.critical_tag, "Environment");
    assert_eq!(p.logging.critical_values, ["prod"]);
    assert_eq!(p.orphans.stopped_instance_days, 30);
    for rule in RuleId::ALL {
        assert_eq!(p.rule_enabled(rule), rule.on_by_default(), "{rule}");
        assert_eq!(p.severity_override(rule), None);
    }
    assert!(RuleId::ALL.iter().any(|r| !r.on_by_default()));
}

#[test]
fn opt_in_rules_run_when_named_or_when_an_enabled_framework_maps_them() {
    let cis = |id: &str| {
        let f = crate::frameworks::find("cis-aws-7.0").unwrap().unwrap();
        f.requirements
            .iter()
            .any(|r| r.rules.iter().any(|rule| rule.as_str() == id))
    };
    let named = parse("[rules.rds-encryption]\nseverity = \"high\"").unwrap();
    assert!(
        named.rule_enabled(RuleId::RdsEncryption),
        "naming it turns it on"
    );
    assert!(!named.rule_enabled(RuleId::Ec2Imdsv2));
    let framework =
        parse("[frameworks]\nenabled = [\"cis-aws-7.0\"]\n[rules.ec2-imdsv2]\nenabled = false")
            .unwrap();
    for rule in RuleId::ALL.into_iter().filter(|r| !r.on_by_default()) {
        let want = cis(rule.as_str()) && rule != RuleId::Ec2Imdsv2;
        assert_eq!(framework.rule_enabled(rule), want, "{rule}");
    }
    assert!(
        framework.rule_enabled(RuleId::TagsRequired),
        "default rules stay on"
    );
}

#[test]
fn partial_sections_keep_defaults_for_what_they_omit() {
    let cases: [(&str, fn(&Policy) -> bool); 6] = [
        ("[scan]\nregions = \"all\"", |p| {
            p.scan.regions == RegionScope::All
        }),
        ("[network]\nallow_public_icmp = false", |p| {
            !p.network.allow_public_icmp && p.network.allowed_public_ports.is_empty()
        }),
        (
            "[logging]\ncritical_values = [\"prod\", \"staging\"]",
            |p| p.logging.critical_tag == "Environment" && p.logging.critical_values.len() == 2,
        ),
        ("[s3]\nrequire_kms = true", |p| p.s3.require_kms),
        ("[rules.sg-open-ingress]\nseverity = \"critical\"", |p| {
            p.rule_enabled(RuleId::SgOpenIngress)
                && p.severity_override(RuleId::SgOpenIngress) == Some(Severity::Critical)
        }),
        ("[rules.tags-required]\nenabled = false", |p| {
            !p.rule_enabled(RuleId::TagsRequired) && p.rule_enabled(RuleId::S3Encryption)
        }),
    ];
    for (text, holds) in cases {
        let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(holds(&p), "{text}");
    }
}

/// Each case: the file, the line the error must name, and text the message must contain.
#[test]
fn syntax_errors_and_unknown_keys_name_the_key_and_line() {
    let cases = [
        (
            "unknown top-level section",
            "[scan]\nregions = \"all\"\n\n[tagz]\nrequired = []\n",
            4,
            "tagz",
        ),
        (
            "unknown key in a section",
            "[network]\nallowed_public_ports = [443]\nallow_icmp = true\n",
            3,
            "allow_icmp",
        ),
        (
            "unknown key in an exemption",
            "[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\nreason = \"x\"\nuntil = \"2027-01-01\"\n",
            5,
            "until",
        ),
        (
            "unknown key in a tag match",
            "[[exemptions]]\nrule = \"s3-encryption\"\ntag = { key = \"a\", valu = \"b\" }\nreason = \"x\"\n",
            3,
            "valu",
        ),
        ("wrong type", "[s3]\nrequire_kms = \"yes\"\n", 2, "bool"),
        ("broken TOML", "[tags]\nrequired = [\"Owner\"\n", 2, ""),
    ];
    for (name, text, line, needle) in cases {
        match parse(text) {
            Err(PolicyError::Syntax {
                line: got,
                message,
                origin,
                ..
            }) => {
                assert_eq!(got, line, "{name}: {message}");
                assert!(message.contains(needle), "{name}: {message}");
                assert_eq!(origin, "policy.toml");
            }
            other => panic!("{name}: expected a syntax error, got {other:?}"),
        }
    }
}

/// Each case: the file, then the (key, line, text in message) of every problem expected.
#[test]
fn invalid_values_are_all_reported_with_key_and_line() {
    let cases: Vec<(&str, &str, Vec<(&str, usize, &str)>)> = vec![
        (
            "bad scan region",
            "[scan]\nregions = [\"us-east-1\", \"mars-1\"]\n",
            vec![("scan.regions", 2, "mars-1")],
        ),
        (
            "scan regions neither all nor list",
            "[scan]\nregions = \"some\"\n",
            vec![("scan.regions", 2, "expected \"all\"")],
        ),
        (
            "empty scan list",
            "[scan]\nregions = []\n",
            vec![("scan.regions", 2, "scans nothing")],
        ),
        (
            "rate limit of an unknown service, zero, and text",
            "[scan.rate_limits]\nec2 = 5\ndynamo = 3\ns3 = 0\niam = \"fast\"\n",
            vec![
                ("scan.rate_limits.dynamo", 3, "unknown service `dynamo`"),
                ("scan.rate_limits.s3", 4, "from 1 to 10000, found 0"),
                ("scan.rate_limits.iam", 5, "found \"fast\""),
            ],
        ),
        (
            "approved region typo",
            "[regions]\napproved = [\"us-east-1\",\n  \"US-EAST-2\"]\n",
            vec![("regions.approved", 3, "US-EAST-2")],
        ),
        (
            "port out of range",
            "[network]\nallowed_public_ports = [443,\n 70000, -1]\n",
            vec![
                ("network.allowed_public_ports", 3, "70000"),
                ("network.allowed_public_ports", 3, "-1"),
            ],
        ),
        (
            "bad glob",
            "[s3]\npublic_allowlist = [\"site-[\"]\n",
            vec![("s3.public_allowlist", 2, "site-[")],
        ),
        (
            "bad ami and owner",
            "[ec2]\napproved_amis = [\"ami-xyz\"]\napproved_ami_owners = [\"amazon\"]\n",
            vec![
                ("ec2.approved_amis", 2, "AMI id"),
                ("ec2.approved_ami_owners", 3, "12-digit"),
            ],
        ),
        (
            "bad applies_to",
            "[tags]\napplies_to = [\"EC2 instance\"]\n",
            vec![("tags.applies_to", 2, "service:type")],
        ),
        (
            "empty required tag",
            "[tags]\nrequired = [\"Owner\", \"\"]\n",
            vec![("tags.required", 2, "tag key")],
        ),
        (
            "negative days",
            "[orphans]\nstopped_instance_days = -3\n",
            vec![("orphans.stopped_instance_days", 2, "-3")],
        ),
        (
            "lifecycle values out of range",
            "[lifecycle]\nusage_types = [\"s3:bucket\"]\nlookback_days = 0\nidle_cpu_percent = 140\nold_after_days = -1\n",
            vec![
                (
                    "lifecycle.usage_types",
                    2,
                    "not a type infraqa reads usage for",
                ),
                ("lifecycle.lookback_days", 3, "from 1 to 455"),
                (
                    "lifecycle.idle_cpu_percent",
                    4,
                    "140 is not a whole number of percent",
                ),
                ("lifecycle.old_after_days", 5, "-1"),
            ],
        ),
        (
            "more days with data than the window has",
            "[lifecycle]\nlookback_days = 7\nmin_days = 10\n",
            vec![("lifecycle.min_days", 3, "lookback_days = 7")],
        ),
        (
            "empty critical tag",
            "[logging]\ncritical_tag = \"\"\n",
            vec![("logging.critical_tag", 2, "tag key")],
        ),
        (
            "expiry of the wrong type",
            "[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\nreason = \"r\"\nexpires = 20270331\n",
            vec![("exemptions[0].expires", 5, "20270331 is not a date")],
        ),
        (
            "unknown rule control",
            "[rules.open-ports]\nenabled = false\n",
            vec![("rules.open-ports", 1, "unknown rule `open-ports`")],
        ),
        (
            "bad severity",
            "[rules.s3-encryption]\nseverity = \"urgent\"\n",
            vec![("rules.s3-encryption.severity", 2, "urgent")],
        ),
        (
            "exemption with unknown rule, bad date",
            "[[exemptions]]\nrule = \"s3-public\"\nresource = \"arn:*\"\nreason = \"r\"\nexpires = \"31/03/2027\"\n",
            vec![
                ("exemptions[0].rule", 2, "unknown rule `s3-public`"),
                ("exemptions[0].expires", 5, "YYYY-MM-DD"),
            ],
        ),
        (
            "exemption without target or reason",
            "[[exemptions]]\nrule = \"s3-encryption\"\n",
            vec![
                ("exemptions[0]", 1, "neither"),
                ("exemptions[0]", 1, "reason"),
            ],
        ),
        (
            "exemption with both targets",
            "[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\ntag = { key = \"a\", value = \"b\" }\nreason = \"r\"\n",
            vec![("exemptions[0]", 1, "not both")],
        ),
        (
            "second exemption blank reason",
            "[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\nreason = \"ok\"\n\n[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\nreason = \"  \"\n",
            vec![("exemptions[1].reason", 9, "empty")],
        ),
    ];
    for (name, text, expected) in cases {
        let problems = match parse(text) {
            Err(PolicyError::Invalid { problems, .. }) => problems,
            other => panic!("{name}: expected invalid values, got {other:?}"),
        };
        assert_eq!(problems.len(), expected.len(), "{name}: {problems:?}");
        for (p, (key, line, needle)) in problems.iter().zip(&expected) {
            assert_eq!(p.key, *key, "{name}");
            assert_eq!(p.line, *line, "{name}: {p}");
            assert!(p.message.contains(needle), "{name}: {p}");
        }
    }
}

#[test]
fn errors_render_with_origin_line_and_key() {
    let err = parse("[network]\nallowed_public_ports = [70000]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy.toml: invalid policy:\n  line 2: `network.allowed_public_ports`: port 70000 is outside 0-65535"
    );
    let err = parse("[netwrk]\n").unwrap_err().to_string();
    assert!(err.starts_with("policy.toml: line 1, column "), "{err}");
    assert!(err.contains("netwrk"), "{err}");
}

#[test]
fn exemption_expiry_accepts_toml_dates_and_applies_through_the_day() {
    let p = parse("[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"arn:aws:s3:::a\"\nreason = \"r\"\nexpires = 2027-03-31\n").unwrap();
    let e = &p.exemptions[0];
    let cases = [
        ("2027-03-30", true),
        ("2027-03-31", true),
        ("2027-04-01", false),
    ];
    for (day, active) in cases {
        assert_eq!(e.is_active_on(date(day)), active, "{day}");
    }
    let never =
        parse("[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"*\"\nreason = \"r\"\n")
            .unwrap();
    assert!(never.exemptions[0].is_active_on(date("2999-01-01")));
}

#[test]
fn globs_match_whole_names_and_arns_with_slashes() {
    let cases = [
        ("public-website-*", "public-website-a", true),
        ("public-website-*", "xpublic-website-a", false),
        ("exact-name", "exact-name", true),
        ("exact-name", "exact-name-2", false),
        (
            "arn:aws:iam::*:role/legacy/*",
            "arn:aws:iam::123456789012:role/legacy/app/x",
            true,
        ),
        ("bucket-?", "bucket-1", true),
        ("bucket-?", "bucket-12", false),
    ];
    for (glob, candidate, want) in cases {
        assert_eq!(
            GlobPattern::new(glob).unwrap().is_match(candidate),
            want,
            "{glob} {candidate}"
        );
        assert_eq!(GlobPattern::new(glob).unwrap().as_str(), glob);
    }
}

#[test]
fn the_effective_policy_prints_as_toml_that_parses_back() {
    let p = parse(EXAMPLE).unwrap();
    let printed = p.to_toml();
    assert!(printed.contains("allow_public_icmp = true"), "{printed}");
    let again = parse(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(again, p);
    let defaults = Policy::default().to_toml();
    assert!(defaults.contains("regions = \"all\""), "{defaults}");
    assert_eq!(parse(&defaults).unwrap(), Policy::default());
}

#[test]
fn rate_limits_replace_defaults_print_back_and_leave_the_digest_alone() {
    use crate::limits::Service;
    let plain = parse("[scan]\nregions = [\"us-east-1\"]\n").unwrap();
    let paced =
        parse("[scan]\nregions = [\"us-east-1\"]\n[scan.rate_limits]\nec2 = 4\ntagging = 2\n")
            .unwrap();
    let rps: Vec<(Service, u32)> = paced
        .scan
        .rate_limits
        .iter()
        .map(|(s, l)| (*s, l.per_second.get()))
        .collect();
    assert_eq!(rps, [(Service::Ec2, 4), (Service::Tagging, 2)]);
    let printed = paced.to_toml();
    assert!(printed.contains("ec2 = 4"), "{printed}");
    assert_eq!(parse(&printed).unwrap(), paced);
    assert_eq!(paced.digest(), plain.digest());
    assert!(plain.to_toml().find("rate_limits").is_none());
}

#[test]
fn region_names() {
    let cases = [
        ("us-east-1", true),
        ("eu-central-2", true),
        ("us-gov-west-1", true),
        ("ap-southeast-5", true),
        ("us-east", false),
        ("useast-1", false),
        ("US-east-1", false),
        ("us--1", false),
        ("", false),
    ];
    for (r, ok) in cases {
        assert_eq!(is_region(r), ok, "{r}");
    }
}

#[test]
fn accounts_default_to_the_credentials_own_and_take_a_list_or_the_organization() {
    let own = parse("").unwrap().accounts;
    assert_eq!(own.ids, AccountScope::Own);
    assert_eq!(own.role_name, "infraqa-member");
    assert_eq!(own.session_name, "infraqa");
    assert_eq!(own.session_duration_seconds, 3600);

    let listed = parse(
        "[accounts]\nids = [\"222222222222\", \"111111111111\", \"222222222222\"]\nrole_name = \"audit-reader\"\nexternal_id = \"acme:infraqa\"\nsession_duration_seconds = 7200\n",
    )
    .unwrap()
    .accounts;
    assert_eq!(
        listed.ids,
        AccountScope::List(vec!["111111111111".into(), "222222222222".into()])
    );
    assert_eq!(listed.role_name, "audit-reader");
    assert_eq!(listed.external_id.as_deref(), Some("acme:infraqa"));
    assert_eq!(listed.session_duration_seconds, 7200);

    let org = parse(
        "[accounts]\nids = \"organization\"\norganizational_units = [\"ou-ab12-cdef3456\", \"r-ab12\"]\nskip = [\"333333333333\"]\n",
    )
    .unwrap()
    .accounts;
    assert_eq!(org.ids, AccountScope::Organization);
    assert_eq!(org.organizational_units, ["ou-ab12-cdef3456", "r-ab12"]);
    assert_eq!(org.skip, ["333333333333"]);
    // The effective policy prints what it parsed.
    let printed = parse(
        &Policy {
            accounts: org.clone(),
            ..Policy::default()
        }
        .to_toml(),
    )
    .unwrap();
    assert_eq!(printed.accounts, org);
}

#[test]
fn bad_account_settings_are_named_with_their_key_and_line() {
    let text = "[accounts]\nids = [\"12345\"]\norganizational_units = [\"ou-ab12-cdef3456\"]\nskip = [\"x\"]\nrole_name = \"has space\"\nexternal_id = \"x\"\nsession_name = \"s\"\nsession_duration_seconds = 60\n";
    let problems = match parse(text) {
        Err(PolicyError::Invalid { problems, .. }) => problems,
        other => panic!("{other:?}"),
    };
    let got: Vec<(&str, usize)> = problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
    for want in [
        ("accounts.ids", 2),
        ("accounts.organizational_units", 3),
        ("accounts.skip", 4),
        ("accounts.role_name", 5),
        ("accounts.external_id", 6),
        ("accounts.session_name", 7),
        ("accounts.session_duration_seconds", 8),
    ] {
        assert!(got.contains(&want), "{want:?} not in {got:?}");
    }
    assert!(parse("[accounts]\nids = \"everyone\"\n").is_err());
    assert!(parse("[accounts]\nids = []\n").is_err());
}

#[test]
fn frameworks_are_shipped_ones_and_custom_rules_name_their_requirements() {
    let p = parse(
        r#"
[frameworks]
enabled = ["cis-aws-7.0"]

[[custom_rules]]
id = "s3-versioning"
condition = "true"
message = "m"
remediation = "r"
frameworks = { "cis-aws-7.0" = ["3.1.2"] }
"#,
    )
    .unwrap();
    assert_eq!(p.frameworks.enabled, ["cis-aws-7.0"]);
    assert_eq!(p.custom_rules[0].frameworks["cis-aws-7.0"], ["3.1.2"]);
    assert!(
        p.to_toml().contains("enabled = [\"cis-aws-7.0\"]"),
        "the effective policy shows it"
    );
    // Absent, the key is not in the effective policy (nor in its digest).
    assert!(!parse("").unwrap().to_toml().contains("frameworks"));

    let problems = match parse(
        r#"
[frameworks]
enabled = ["cis-aws-9.9"]

[[custom_rules]]
id = "s3-versioning"
condition = "true"
message = "m"
remediation = "r"
frameworks = { "cis-aws-7.0" = ["99.1"], "soc2" = ["CC6.1"] }
"#,
    ) {
        Err(PolicyError::Invalid { problems, .. }) => problems,
        other => panic!("{other:?}"),
    };
    let said: Vec<(String, usize, String)> = problems
        .iter()
        .map(|p| (p.key.clone(), p.line, p.message.clone()))
        .collect();
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(said.iter().any(|(k, l, m)| k == "frameworks.enabled"
        && *l == 3
        && m.contains("unknown framework \"cis-aws-9.9\": expected one of cis-aws-7.0")));
    assert!(
        said.iter()
            .any(|(k, l, m)| k.starts_with("custom_rules[0].frameworks")
                && *l == 10
                && m.contains("cis-aws-7.0 has no requirement \"99.1\""))
    );
    assert!(
        said.iter()
            .any(|(_, _, m)| m.contains("unknown framework \"soc2\""))
    );
}

#[test]
fn remediation_keys_are_checked_and_leave_other_policies_digests_alone() {
    let p = parse("[remediation]\nopt_out_tag = \"keep-out\"\nkms_key = \"arn:aws:kms:eu-west-1:123456789012:key/k\"").unwrap();
    assert_eq!(p.remediation.opt_out_tag, "keep-out");
    assert_eq!(
        p.remediation.kms_key.as_deref(),
        Some("arn:aws:kms:eu-west-1:123456789012:key/k")
    );
    let e = parse("[remediation]\nopt_out_tag = \"aws:x\"\nkms_key = \"alias/mine\"")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("remediation.opt_out_tag") && e.contains("remediation.kms_key"),
        "{e}"
    );
    assert!(
        parse("[remediation]\nowner = \"me\"").is_err(),
        "unknown keys are refused"
    );
    // Without [remediation] the effective policy, and so its digest, is what it was.
    let plain = parse("").unwrap();
    assert_eq!(plain.remediation.opt_out_tag, "infraqa:remediate");
    assert!(
        !serde_json::to_string(&plain)
            .unwrap()
            .contains("remediation")
    );
    assert_ne!(p.digest(), plain.digest());
}
