use super::*;
use crate::check::check;
use crate::model::{Ec2Instance, Ec2Snapshot, Ec2Volume, InstanceState, SecurityGroup};
use crate::observed::Observed;
use crate::rules::scope;
use crate::rules::testkit::{ACCOUNT, inventory, now, policy, resource, scan_error};
use chrono::TimeZone;

const POLICY: &str = r#"
[tags]
required = ["Environment", "Owner", "CostCenter", "CreatedAt", "Project", "ComplianceStatus"]
[tags.allowed_values]
Environment = ["dev", "staging", "prod"]
[tags.aliases]
Owner = ["Team"]

[ec2]
approved_amis = ["ami-0123456789abcdef0"]

[[tagging.defaults]]
types = ["ec2:volume"]
regions = ["us-east-1"]
tags = { CostCenter = "shared", Project = "platform" }

[[exemptions]]
rule = "ec2-approved-ami"
resource = "arn:aws:ec2:*:*:i-exempt"
reason = "vendor appliance"

[[exemptions]]
rule = "tags-required"
resource = "arn:aws:ec2:*:*:vol-legacy"
reason = "legacy, decommissioned in Q1"
"#;

fn instance(id: &str, ami: &str, tags: &[(&str, &str)]) -> Resource {
    let mut r = resource(
        ResourceType::Ec2Instance,
        id,
        "us-east-1",
        tags,
        ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
            instance_type: "t3.micro".into(),
            state: InstanceState::Running,
            image_id: ami.into(),
            image_owner_id: Observed::Read(None),
            state_transition_reason: None,
            vpc_id: None,
            security_group_ids: vec![],
            network_interface_ids: vec![],
            created_at_source: None,
            metadata: None,
            role: None,
        })),
    );
    r.created_at = Some(Utc.with_ymd_and_hms(2026, 10, 1, 8, 30, 0).unwrap());
    r
}

fn volume(id: &str, instance: Option<&str>, tags: &[(&str, &str)]) -> Resource {
    resource(
        ResourceType::Ec2Volume,
        id,
        "us-east-1",
        tags,
        ResourceDetails::Ec2Volume(Ec2Volume {
            volume_type: "gp3".into(),
            size_gib: 8,
            state: if instance.is_some() {
                "in-use"
            } else {
                "available"
            }
            .into(),
            encrypted: true,
            attached_instance_ids: instance.into_iter().map(str::to_owned).collect(),
        }),
    )
}

const FULL: &[(&str, &str)] = &[
    ("Environment", "prod"),
    ("Owner", "team-a"),
    ("CostCenter", "cc-1"),
    ("Project", "shop"),
];

fn plan_of(resources: Vec<Resource>) -> TagPlan {
    let p = policy(POLICY);
    let inv = inventory(resources);
    let result = check(&inv, &p, now());
    let s = statuses(
        &result.findings,
        &result.not_evaluated,
        &scope(&inv, &p, now()),
    );
    plan(&inv, &p, &s, now())
}

fn change<'p>(plan: &'p TagPlan, id: &str) -> &'p TagChange {
    plan.changes
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no change for {id}: {plan:#?}"))
}

#[test]
fn compliance_status_follows_the_findings_and_exemptions() {
    let plan = plan_of(vec![
        instance("i-good", "ami-0123456789abcdef0", FULL),
        instance("i-bad", "ami-0fffffffffffffff0", FULL),
        instance("i-exempt", "ami-0fffffffffffffff0", FULL),
        instance(
            "i-stale",
            "ami-0123456789abcdef0",
            &[
                ("Environment", "prod"),
                ("Owner", "team-a"),
                ("CostCenter", "cc-1"),
                ("Project", "shop"),
                ("CreatedAt", "2026-10-01"),
                ("ComplianceStatus", "non-compliant"),
            ],
        ),
    ]);
    let status = |id: &str| change(&plan, id).add.get(COMPLIANCE_STATUS).cloned();
    // Tags-required fails on each until CreatedAt/ComplianceStatus are written: the
    // approved-AMI instance still has a tags finding, so it is non-compliant today.
    assert_eq!(status("i-good").as_deref(), Some("non-compliant"));
    assert_eq!(status("i-bad").as_deref(), Some("non-compliant"));
    // The stale one carries every required tag and an approved AMI: compliant, overwritten.
    assert_eq!(status("i-stale").as_deref(), Some("compliant"));
    let stale = change(&plan, "i-stale");
    assert_eq!(stale.add.len(), 1, "{stale:?}");
    assert_eq!(
        stale.tags_before.get("ComplianceStatus"),
        Some("non-compliant")
    );
}

#[test]
fn an_exempted_finding_does_not_make_a_resource_non_compliant() {
    let p = policy(
        r#"
[ec2]
approved_amis = ["ami-0123456789abcdef0"]
[[exemptions]]
rule = "ec2-approved-ami"
resource = "arn:aws:ec2:*:*:i-exempt"
reason = "vendor appliance"
"#,
    );
    let inv = inventory(vec![
        instance("i-exempt", "ami-0fffffffffffffff0", &[]),
        instance("i-bad", "ami-0fffffffffffffff0", &[]),
    ]);
    let result = check(&inv, &p, now());
    let s = statuses(
        &result.findings,
        &result.not_evaluated,
        &scope(&inv, &p, now()),
    );
    assert_eq!(s[&inv.resources[0].arn], Status::Compliant);
    assert_eq!(s[&inv.resources[1].arn], Status::NonCompliant);
}

#[test]
fn a_resource_no_rule_judges_or_one_a_rule_could_not_decide_gets_no_status() {
    let p = policy("[ec2]\napproved_amis = [\"ami-0123456789abcdef0\"]\n");
    let mut unread = instance("i-unread", "ami-0fffffffffffffff0", &[]);
    if let ResourceDetails::Ec2Instance(i) = &mut unread.details {
        i.image_owner_id = Observed::failed(scan_error("us-east-1", "ec2", "DescribeImages"));
    }
    // An approved-AMI rule with an owner list needs the owner; with only ids it does not.
    let p2 = policy(
        "[ec2]\napproved_amis = [\"ami-0123456789abcdef0\"]\napproved_ami_owners = [\"111111111111\"]\n",
    );
    let inv = inventory(vec![unread, volume("vol-1", None, &[])]);
    for p in [&p, &p2] {
        let result = check(&inv, p, now());
        let s = statuses(
            &result.findings,
            &result.not_evaluated,
            &scope(&inv, p, now()),
        );
        assert!(
            !s.contains_key(&inv.resources[1].arn),
            "no rule judges a volume here"
        );
        if !result.not_evaluated.is_empty() {
            assert!(!s.contains_key(&inv.resources[0].arn), "{s:?}");
        }
    }
}

#[test]
fn volumes_inherit_from_their_instance_and_nothing_is_overwritten() {
    let plan = plan_of(vec![
        instance("i-1", "ami-0123456789abcdef0", FULL),
        volume("vol-a", Some("i-1"), &[("Owner", "someone-else")]),
        volume("vol-b", None, &[]),
    ]);
    let a = change(&plan, "vol-a");
    assert!(!a.add.contains_key("Owner"), "never overwritten: {a:?}");
    assert_eq!(a.add["Environment"], "prod");
    assert_eq!(
        a.add["CostCenter"], "cc-1",
        "inheritance wins over defaults"
    );
    assert_eq!(a.sources["Environment"], "inherited from i-1");
    // The unattached volume gets the type's defaults only.
    let b = change(&plan, "vol-b");
    assert_eq!(b.add["CostCenter"], "shared");
    assert_eq!(b.add["Project"], "platform");
    assert!(!b.add.contains_key("Environment"));
}

#[test]
fn snapshots_and_addresses_find_their_instance() {
    let snap = resource(
        ResourceType::Ec2Snapshot,
        "snap-1",
        "us-east-1",
        &[],
        ResourceDetails::Ec2Snapshot(Ec2Snapshot {
            volume_id: Some("vol-a".into()),
            source_volume_exists: true,
            size_gib: 8,
            used_by_image_ids: vec![],
        }),
    );
    let eip = resource(
        ResourceType::Ec2ElasticIp,
        "eipalloc-1",
        "us-east-1",
        &[],
        ResourceDetails::Ec2ElasticIp(crate::model::ElasticIp {
            public_ip: "203.0.113.1".into(),
            association_id: Some("eipassoc-1".into()),
            instance_id: Some("i-1".into()),
        }),
    );
    let plan = plan_of(vec![
        instance("i-1", "ami-0123456789abcdef0", FULL),
        volume("vol-a", Some("i-1"), &[]),
        snap,
        eip,
    ]);
    for id in ["snap-1", "eipalloc-1"] {
        assert_eq!(change(&plan, id).add["Owner"], "team-a", "{id}");
    }
}

#[test]
fn a_value_outside_the_allowed_values_is_withheld() {
    let plan = plan_of(vec![
        instance(
            "i-1",
            "ami-0123456789abcdef0",
            &[("Environment", "production"), ("Owner", "a")],
        ),
        volume(
            "vol-a",
            Some("i-1"),
            &[("CostCenter", "x"), ("Project", "y")],
        ),
    ]);
    let v = change(&plan, "vol-a");
    assert!(!v.add.contains_key("Environment"), "{v:?}");
    assert!(
        v.withheld["Environment"].contains("\"production\""),
        "{v:?}"
    );
    assert_eq!(v.add["Owner"], "a");
}

#[test]
fn an_alias_satisfies_a_key_and_created_at_comes_from_the_creation_time() {
    let plan = plan_of(vec![instance(
        "i-1",
        "ami-0123456789abcdef0",
        &[("Team", "t")],
    )]);
    let c = change(&plan, "i-1");
    assert!(!c.add.contains_key("Owner"), "Team stands for Owner: {c:?}");
    assert_eq!(c.add["CreatedAt"], "2026-10-01T08:30:00Z");
}

#[test]
fn opt_out_exemption_unread_tags_and_aws_defaults_are_left_alone() {
    let mut unread = instance("i-unread", "ami-0123456789abcdef0", &[]);
    unread.tags_unread = Some(Box::new(scan_error("us-east-1", "tagging", "GetResources")));
    let default_sg = resource(
        ResourceType::Ec2SecurityGroup,
        "sg-default",
        "us-east-1",
        &[],
        ResourceDetails::Ec2SecurityGroup(SecurityGroup {
            group_name: "default".into(),
            vpc_id: Some("vpc-1".into()),
            ingress: vec![],
            egress: vec![],
            network_interface_ids: Observed::Read(vec![]),
        }),
    );
    let plan = plan_of(vec![
        instance(
            "i-out",
            "ami-0fffffffffffffff0",
            &[("infraqa:skip-tagging", "")],
        ),
        volume("vol-legacy", None, &[]),
        unread,
        default_sg,
    ]);
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    let reasons: BTreeMap<&str, &str> = plan
        .skipped
        .iter()
        .map(|s| {
            (
                s.resource_arn.rsplit(':').next().unwrap(),
                s.reason.as_str(),
            )
        })
        .collect();
    assert!(reasons["i-out"].starts_with("opted out"), "{reasons:?}");
    assert!(reasons["vol-legacy"].contains("legacy"), "{reasons:?}");
    assert!(
        reasons["i-unread"].contains("could not be read"),
        "{reasons:?}"
    );
    assert!(!reasons.contains_key("sg-default"));
}

#[test]
fn a_plan_round_trips_as_json_and_counts_its_values() {
    let plan = plan_of(vec![instance("i-1", "ami-0123456789abcdef0", &[])]);
    assert_eq!(plan.account_id, ACCOUNT);
    let back: TagPlan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);
    assert_eq!(
        plan.tag_count(),
        2,
        "CreatedAt and ComplianceStatus: {plan:?}"
    );
}

#[test]
fn tagging_policy_keys_are_validated_with_their_line() {
    let err = Policy::from_toml(
        r#"
[tags.allowed_values]
Environment = ["dev"]
[tagging]
inherit = [""]
[[tagging.defaults]]
types = ["volume"]
regions = ["mars-1"]
tags = { Environment = "prod" }
[alerts]
topic = "arn:aws:sqs:us-east-1:123456789012:q"
"#,
        "p.toml",
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "tagging.inherit",
        "tagging.defaults.types",
        "tagging.defaults.regions",
        "tagging.defaults.tags.Environment",
        "alerts.topic",
    ] {
        assert!(err.contains(expected), "{expected} missing from {err}");
    }
    let ok = policy(
        "[tagging]\ncompliance_status = false\n[alerts]\ntopic = \"arn:aws:sns:us-east-1:123456789012:t\"\n",
    );
    assert!(!ok.tagging.compliance_status);
    assert_eq!(ok.tagging.opt_out_tag, "infraqa:skip-tagging");
    assert!(ok.alerts.topic.is_some());
}

#[test]
fn a_saved_plan_holds_only_what_a_fresh_plan_could() {
    let p = policy(POLICY);
    let resources = vec![
        instance("i-good", "ami-0123456789abcdef0", FULL),
        volume("vol-1", Some("i-good"), &[("Owner", "ops")]),
        volume("vol-2", None, &[]),
    ];
    let inv = inventory(resources);
    let fresh = plan_of(inv.resources.clone());
    let refused = |plan: &TagPlan| refusals(plan, &inv, &p);
    // The plan as made: nothing refused.
    assert!(
        refused(&fresh).iter().all(Option::is_none),
        "{:?}",
        refused(&fresh)
    );

    // Each edit a person could make, refused with why; the other entries stand.
    type Edit = fn(&mut TagChange);
    let edits: [(&str, &str, Edit, &str); 8] = [
        (
            "vol-1",
            "an existing value changed",
            |c| {
                c.add.insert("Owner".into(), "someone-else".into());
            },
            "would change Owner from \"ops\"",
        ),
        (
            "vol-2",
            "a key the policy does not manage",
            |c| {
                c.add.insert("Backdoor".into(), "yes".into());
            },
            "writes Backdoor, which no plan",
        ),
        (
            "vol-2",
            "another value for a managed key",
            |c| {
                c.add.insert("CostCenter".into(), "cc-999".into());
            },
            "a plan made now writes CostCenter=\"shared\"",
        ),
        (
            "vol-2",
            "a made-up creation time",
            |c| {
                c.add.insert("CreatedAt".into(), "1999-01-01".into());
            },
            "CreatedAt",
        ),
        (
            "vol-2",
            "a status no rule gives",
            |c| {
                c.add.insert("ComplianceStatus".into(), "waived".into());
            },
            "neither compliant nor non-compliant",
        ),
        (
            "vol-2",
            "a resource outside the inventory",
            |c| {
                c.resource_arn = "arn:aws:ec2:us-east-1:999999999999:volume/vol-x".into();
            },
            "is not in the inventory",
        ),
        (
            "vol-2",
            "the resource moved to another region",
            |c| {
                c.region = "eu-west-1".into();
            },
            "but the inventory has",
        ),
        (
            "vol-2",
            "tags before edited",
            |c| {
                c.tags_before = crate::model::Tags::default();
                c.tags_before.insert("Owner", "x");
            },
            "tags before the write",
        ),
    ];
    for (id, what, edit, expected) in edits {
        let mut plan = fresh.clone();
        let i = plan.changes.iter().position(|c| c.id == id).unwrap();
        edit(&mut plan.changes[i]);
        let got = refused(&plan);
        let why = got[i]
            .as_deref()
            .unwrap_or_else(|| panic!("{what}: not refused"));
        assert!(why.contains(expected), "{what}: {why}");
        for (j, other) in got.iter().enumerate() {
            assert!(
                j == i || other.is_none(),
                "{what}: entry {j} refused too: {other:?}"
            );
        }
    }
    // The same resource twice: the second is refused.
    let mut plan = fresh.clone();
    plan.changes.push(plan.changes[0].clone());
    let got = refused(&plan);
    assert!(
        got.last()
            .unwrap()
            .as_deref()
            .unwrap()
            .contains("named twice")
    );
}
