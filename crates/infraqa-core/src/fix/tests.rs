use super::*;
use crate::finding::{Finding, Severity};
use crate::rules::testkit::{ACCOUNT, denied, now, policy};

fn finding(rule: RuleId, arn: &str) -> Finding {
    Finding {
        rule_id: rule,
        severity: Severity::High,
        resource_arn: arn.to_owned(),
        resource_type: "s3:bucket".into(),
        region: "us-east-1".into(),
        message: "m".into(),
        remediation: "do it by hand".into(),
        evidence: Vec::new(),
    }
}

/// A check's result holding `findings`.
fn checked(findings: Vec<Finding>) -> CheckResult {
    CheckResult {
        schema_version: crate::check::FINDINGS_SCHEMA_VERSION,
        generated_at: now(),
        account_id: ACCOUNT.into(),
        inventory_generated_at: now(),
        policy_digest: String::new(),
        partial: false,
        findings,
        exempted: Vec::new(),
        not_evaluated: Vec::new(),
        orphans: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    }
}

fn bucket_target(rule: RuleId, name: &str) -> Target {
    Target {
        subject: Subject::Rule(rule),
        resource_arn: format!("arn:aws:s3:::{name}"),
        region: "us-east-1".into(),
        resource_type: ResourceType::S3Bucket,
        resource_id: name.to_owned(),
    }
}

fn ec2_target(subject: Subject, kind: &str, id: &str) -> Target {
    Target {
        subject,
        resource_arn: format!("arn:aws:ec2:us-east-1:{ACCOUNT}:{kind}/{id}"),
        region: "us-east-1".into(),
        resource_type: ResourceType::parse(&format!("ec2:{kind}")),
        resource_id: id.to_owned(),
    }
}

fn group_target(id: &str) -> Target {
    ec2_target(Subject::Rule(RuleId::SgOpenIngress), "security-group", id)
}

fn group(ingress: Vec<IngressRule>) -> GroupState {
    GroupState {
        name: "g".into(),
        ingress,
        interfaces: None,
        referenced_by: None,
        tags: BTreeMap::new(),
    }
}

fn bucket(encryption: BucketEncryption) -> BucketState {
    BucketState {
        encryption,
        block: None,
        website: false,
        cloudfront: Vec::new(),
        tags: BTreeMap::new(),
    }
}

fn rule(
    protocol: &str,
    ports: Option<(i32, i32)>,
    source: &str,
    description: Option<&str>,
) -> IngressRule {
    IngressRule {
        protocol: protocol.into(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        source: source.into(),
        description: description.map(str::to_owned),
    }
}

/// The decision's change, or its kind of reason and the reason.
fn decided(
    t: &Target,
    state: State,
    policy_text: &str,
    include_website: bool,
) -> Result<Change, (Why, String)> {
    let options = PlanOptions {
        include_website,
        ..PlanOptions::default()
    };
    decide(
        t,
        &Observed::Read(state),
        &policy(policy_text),
        &options,
        now(),
    )
    .map(|a| a.change)
    .map_err(|n| (n.why, n.reason))
}

const KMS: &str = "[s3]\nrequire_kms = true\n[remediation]\nkms_key = \"arn:aws:kms:us-east-1:123456789012:key/k\"";

#[test]
fn encryption_is_set_once_and_never_weakened() {
    let t = bucket_target(RuleId::S3Encryption, "b");
    assert_eq!(
        decided(&t, State::Bucket(bucket(BucketEncryption::None)), "", false),
        Ok(Change::Encryption {
            to: BucketEncryption::SseS3
        })
    );
    assert_eq!(
        decided(
            &t,
            State::Bucket(bucket(BucketEncryption::SseS3)),
            KMS,
            false
        ),
        Ok(Change::Encryption {
            to: BucketEncryption::SseKms {
                key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".into())
            }
        })
    );
    let elsewhere = decided(
        &t,
        State::Bucket(bucket(BucketEncryption::None)),
        "[s3]\nrequire_kms = true\n[remediation]\nkms_key = \"arn:aws:kms:eu-west-1:123456789012:key/k\"",
        false,
    );
    assert!(
        matches!(&elsewhere, Err((Why::Refused, r)) if r.contains("not in us-east-1")),
        "{elsewhere:?}"
    );
    let no_key = decided(
        &t,
        State::Bucket(bucket(BucketEncryption::None)),
        "[s3]\nrequire_kms = true",
        false,
    );
    assert!(
        matches!(&no_key, Err((Why::Refused, r)) if r.contains("kms_key")),
        "{no_key:?}"
    );
    // A KMS configuration is never replaced, whatever the policy asks.
    for policy_text in ["", KMS] {
        let other_key = BucketEncryption::SseKms {
            key_id: Some("arn:aws:kms:us-east-1:123456789012:key/other".into()),
        };
        assert!(matches!(
            decided(&t, State::Bucket(bucket(other_key)), policy_text, false),
            Err((Why::AlreadyDone, _))
        ));
    }
    assert!(matches!(
        decided(
            &t,
            State::Bucket(bucket(BucketEncryption::SseS3)),
            "",
            false
        ),
        Err((Why::AlreadyDone, _))
    ));
}

#[test]
fn the_public_access_block_spares_websites_cloudfront_allow_lists_opt_outs_and_exemptions() {
    let t = bucket_target(RuleId::S3PublicAccess, "b");
    let all = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
    let partial = PublicAccessBlock {
        block_public_acls: true,
        ..PublicAccessBlock::default()
    };
    let mut b = bucket(BucketEncryption::SseS3);
    b.block = Some(partial);
    let action = decide(
        &t,
        &Observed::Read(State::Bucket(b.clone())),
        &policy(""),
        &PlanOptions::default(),
        now(),
    )
    .unwrap();
    assert_eq!(action.change, Change::PublicAccessBlock { to: Some(all) });
    assert_eq!(
        action.undo,
        Some(Change::PublicAccessBlock { to: Some(partial) }),
        "undo restores the partial block"
    );
    assert_eq!(
        action.calls,
        [
            "s3:PutPublicAccessBlock Bucket=b BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=true"
        ]
    );

    let mut site = b.clone();
    site.website = true;
    let refused = decided(&t, State::Bucket(site.clone()), "", false);
    assert!(
        matches!(&refused, Err((Why::Refused, r)) if r.contains("serves a website") && r.contains("--include-website")),
        "{refused:?}"
    );
    assert!(
        decided(&t, State::Bucket(site), "", true).is_ok(),
        "let in by --include-website"
    );

    let mut cdn = b.clone();
    cdn.cloudfront = vec!["cloudfront.amazonaws.com".into()];
    assert!(
        matches!(&decided(&t, State::Bucket(cdn), "", false), Err((Why::Refused, r)) if r.contains("grants CloudFront"))
    );

    let allowed = decided(
        &t,
        State::Bucket(b.clone()),
        "[s3]\npublic_allowlist = [\"b\"]",
        false,
    );
    assert!(
        matches!(&allowed, Err((Why::Refused, r)) if r.contains("public_allowlist")),
        "{allowed:?}"
    );

    let mut opted_out = b.clone();
    opted_out
        .tags
        .insert("infraqa:remediate".into(), "never".into());
    assert!(
        matches!(&decided(&t, State::Bucket(opted_out.clone()), "", false), Err((Why::Refused, r)) if r.contains("infraqa:remediate = never"))
    );
    // The key is the policy's.
    assert!(
        decided(
            &t,
            State::Bucket(opted_out),
            "[remediation]\nopt_out_tag = \"keep\"",
            false
        )
        .is_ok()
    );

    let mut exempt = b.clone();
    exempt.tags.insert("Team".into(), "web".into());
    let text = "[[exemptions]]\nrule = \"s3-public-access\"\ntag = { key = \"Team\", value = \"web\" }\nreason = \"static site\"";
    assert!(
        matches!(&decided(&t, State::Bucket(exempt), text, false), Err((Why::Refused, r)) if r.contains("static site"))
    );

    let mut done = b;
    done.block = Some(all);
    assert!(matches!(
        decided(&t, State::Bucket(done), "", false),
        Err((Why::AlreadyDone, _))
    ));
}

#[test]
fn only_world_sources_on_disallowed_ports_are_revoked() {
    let t = group_target("sg-1");
    let state = State::Group(group(vec![
        rule("tcp", Some((22, 22)), "0.0.0.0/0", Some("ops")),
        rule("tcp", Some((22, 22)), "::/0", None),
        rule("tcp", Some((22, 22)), "10.0.0.0/8", None),
        rule("tcp", Some((443, 443)), "0.0.0.0/0", None),
        rule("tcp", Some((22, 22)), "sg-2", None),
        rule("icmp", Some((-1, -1)), "0.0.0.0/0", None),
    ]));
    let text = "[network]\nallowed_public_ports = [443]";
    let Ok(Change::RevokeIngress { rules }) = decided(&t, state.clone(), text, false) else {
        panic!("a revoke")
    };
    assert_eq!(
        rules,
        [
            rule("tcp", Some((22, 22)), "0.0.0.0/0", Some("ops")),
            rule("tcp", Some((22, 22)), "::/0", None)
        ]
    );
    let action = decide(
        &t,
        &Observed::Read(state),
        &policy(text),
        &PlanOptions::default(),
        now(),
    )
    .unwrap();
    assert_eq!(
        action.undo,
        Some(Change::AuthorizeIngress {
            rules: rules.clone()
        }),
        "re-added with the description"
    );
    assert!(
        action.undo_calls[0].ends_with("Description=\"ops\""),
        "{:?}",
        action.undo_calls
    );

    // A world range that holds an allowed port is a person's to split.
    let mixed = State::Group(group(vec![rule(
        "tcp",
        Some((0, 65535)),
        "0.0.0.0/0",
        None,
    )]));
    let refused = decided(&t, mixed, text, false);
    assert!(
        matches!(&refused, Err((Why::Refused, r)) if r.contains("allowed_public_ports")),
        "{refused:?}"
    );
    let clean = State::Group(group(vec![rule(
        "tcp",
        Some((443, 443)),
        "0.0.0.0/0",
        None,
    )]));
    assert!(matches!(
        decided(&t, clean, text, false),
        Err((Why::AlreadyDone, _))
    ));
}

#[test]
fn apply_time_guards_catch_drift_opt_outs_and_what_is_already_done() {
    let t = bucket_target(RuleId::S3PublicAccess, "b");
    let p = policy("");
    let planned = bucket(BucketEncryption::SseS3);
    let action = decide(
        &t,
        &Observed::Read(State::Bucket(planned.clone())),
        &p,
        &PlanOptions::default(),
        now(),
    )
    .unwrap();
    assert_eq!(
        guard(&action, &State::Bucket(planned.clone()), &p, now(), false),
        None
    );
    let mut drifted = planned.clone();
    drifted.website = true;
    assert!(
        guard(&action, &State::Bucket(drifted), &p, now(), false)
            .unwrap()
            .contains("changed since the plan")
    );
    let mut done = planned.clone();
    done.block = Some(PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    });
    assert!(
        guard(&action, &State::Bucket(done.clone()), &p, now(), false)
            .unwrap()
            .starts_with("already done")
    );
    assert!(took(&action.change, Some(&State::Bucket(done.clone()))));
    assert!(!took(&action.change, Some(&State::Bucket(planned.clone()))));
    assert!(!took(&action.change, None), "a bucket gone is no block set");
    let mut opted_out = planned.clone();
    opted_out
        .tags
        .insert("infraqa:remediate".into(), "never".into());
    assert!(
        guard(&action, &State::Bucket(opted_out), &p, now(), false)
            .unwrap()
            .contains("opt-out tag")
    );
    // Undo only what the fix left, exactly.
    assert_eq!(
        guard_undo(
            &action,
            &State::Bucket(done.clone()),
            &State::Bucket(done.clone())
        ),
        None
    );
    assert!(
        guard_undo(
            &action,
            &State::Bucket(done.clone()),
            &State::Bucket(planned.clone())
        )
        .is_some()
    );
    // Another fix of the same bucket (its encryption) voids neither this one nor its undo.
    let mut encrypted = planned.clone();
    encrypted.encryption = BucketEncryption::SseKms { key_id: None };
    assert_eq!(
        guard(&action, &State::Bucket(encrypted), &p, now(), false),
        None
    );
    let mut done_encrypted = done.clone();
    done_encrypted.encryption = BucketEncryption::SseKms { key_id: None };
    assert_eq!(
        guard_undo(
            &action,
            &State::Bucket(done),
            &State::Bucket(done_encrypted)
        ),
        None
    );
}

#[test]
fn what_cannot_be_read_or_fixed_is_said_not_guessed() {
    let t = bucket_target(RuleId::S3PublicAccess, "b");
    let n = decide(
        &t,
        &Observed::failed(denied("s3", "GetBucketWebsite")),
        &policy(""),
        &PlanOptions::default(),
        now(),
    )
    .unwrap_err();
    assert_eq!(n.why, Why::NotRead);
    assert!(n.reason.contains("GetBucketWebsite"), "{}", n.reason);

    let check = checked(vec![
        finding(RuleId::S3PublicAccess, "arn:aws:s3:::b"),
        finding(
            RuleId::IamLeastPrivilege,
            "arn:aws:iam::123456789012:role/r",
        ),
        finding(RuleId::S3Encryption, "arn:aws:s3:::unknown"),
    ]);
    let id_of =
        |arn: &str| (arn == "arn:aws:s3:::b").then(|| (ResourceType::S3Bucket, "b".to_owned()));
    let (read, untouched) = targets(&check, &PlanOptions::default(), id_of);
    assert_eq!(read.len(), 1);
    let whys: Vec<(Why, &str)> = untouched
        .iter()
        .map(|n| (n.why, n.reason.as_str()))
        .collect();
    assert_eq!(
        whys[0],
        (Why::NeedsAPerson, "do it by hand"),
        "the finding's recommendation"
    );
    assert_eq!(whys[1].0, Why::NotRead);
    let only_iam = PlanOptions {
        only: vec![Subject::Rule(RuleId::IamLeastPrivilege)],
        ..PlanOptions::default()
    };
    let (read, untouched) = targets(&check, &only_iam, id_of);
    assert!(
        read.is_empty() && untouched.len() == 1,
        "--rule narrows the plan"
    );
}

#[test]
fn cloudfront_is_the_service_or_an_origin_access_identity() {
    let doc = PolicyDocument::parse(
        r#"{"Statement":[
            {"Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2X"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Deny","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}
        ]}"#,
    )
    .unwrap();
    assert_eq!(
        cloudfront_grants(&doc),
        [
            "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2X",
            "cloudfront.amazonaws.com"
        ]
    );
}

#[test]
fn orphans_are_deleted_only_when_nothing_uses_them_and_irreversibly_only_when_allowed() {
    let unused = ec2_target(
        Subject::Orphan(OrphanKind::SgUnused),
        "security-group",
        "sg-9",
    );
    let state = |interfaces: &[&str], referenced: &[&str]| {
        let mut g = group(vec![rule("tcp", Some((80, 80)), "10.0.0.0/8", None)]);
        g.interfaces = Some(interfaces.iter().map(|s| (*s).to_owned()).collect());
        g.referenced_by = Some(referenced.iter().map(|s| (*s).to_owned()).collect());
        State::Group(g)
    };
    let action = decide(
        &unused,
        &Observed::Read(state(&[], &[])),
        &policy(""),
        &PlanOptions::default(),
        now(),
    )
    .unwrap();
    assert_eq!(action.change, Change::DeleteGroup);
    assert_eq!(action.undo, None);
    assert!(action.reversible.starts_with("no"), "{}", action.reversible);
    assert_eq!(
        action.calls,
        ["ec2:DeleteSecurityGroup GroupId=sg-9 Region=us-east-1"]
    );
    // Referenced by another group: the mistake AWS's own response made (ASR#57).
    assert!(
        matches!(decided(&unused, state(&[], &["sg-1"]), "", false), Err((Why::Refused, r)) if r.contains("sg-1"))
    );
    assert!(
        matches!(decided(&unused, state(&["eni-1"], &[]), "", false), Err((Why::AlreadyDone, r)) if r.contains("eni-1"))
    );
    let mut default = state(&[], &[]);
    if let State::Group(g) = &mut default {
        g.name = "default".into();
    }
    assert!(matches!(
        decided(&unused, default, "", false),
        Err((Why::Refused, _))
    ));
    // An interface attached after the plan voids the delete.
    assert!(
        guard(&action, &state(&["eni-2"], &[]), &policy(""), now(), false)
            .unwrap()
            .contains("changed since the plan")
    );
    assert!(took(&action.change, None), "deleted is gone");

    let eip = ec2_target(
        Subject::Orphan(OrphanKind::EipUnassociated),
        "elastic-ip",
        "eipalloc-1",
    );
    let address = |assoc: Option<&str>| {
        State::Address(AddressState {
            allocation_id: "eipalloc-1".into(),
            public_ip: Some("203.0.113.9".into()),
            association_id: assoc.map(str::to_owned),
            tags: BTreeMap::new(),
        })
    };
    let refused = decided(&eip, address(None), "", false);
    assert!(
        matches!(&refused, Err((Why::Refused, r)) if r.contains("--allow-irreversible")),
        "{refused:?}"
    );
    let allowed = PlanOptions {
        allow_irreversible: true,
        ..PlanOptions::default()
    };
    let release = decide(
        &eip,
        &Observed::Read(address(None)),
        &policy(""),
        &allowed,
        now(),
    )
    .unwrap();
    assert_eq!(release.change, Change::ReleaseAddress);
    assert!(matches!(
        decide(
            &eip,
            &Observed::Read(address(Some("eipassoc-1"))),
            &policy(""),
            &allowed,
            now()
        )
        .map_err(|n| n.why),
        Err(Why::AlreadyDone)
    ));

    let snap = ec2_target(
        Subject::Orphan(OrphanKind::SnapshotOrphaned),
        "snapshot",
        "snap-1",
    );
    let snapshot = |exists: bool, images: &[&str]| {
        State::Snapshot(SnapshotState {
            volume_id: Some("vol-1".into()),
            volume_exists: exists,
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            tags: BTreeMap::new(),
        })
    };
    assert!(
        decide(
            &snap,
            &Observed::Read(snapshot(false, &[])),
            &policy(""),
            &allowed,
            now()
        )
        .is_ok_and(|a| a.change == Change::DeleteSnapshot)
    );
    assert!(matches!(
        decide(
            &snap,
            &Observed::Read(snapshot(false, &["ami-1"])),
            &policy(""),
            &allowed,
            now()
        )
        .map_err(|n| n.why),
        Err(Why::AlreadyDone)
    ));
    assert!(matches!(
        decided(&snap, snapshot(false, &[]), "", false),
        Err((Why::Refused, _))
    ));
    // The opt-out tag holds for orphans too; exemptions are a rule's, not an orphan's.
    let mut tagged = snapshot(false, &[]);
    if let State::Snapshot(s) = &mut tagged {
        s.tags.insert("infraqa:remediate".into(), "never".into());
    }
    assert!(matches!(
        decide(&snap, &Observed::Read(tagged), &policy(""), &allowed, now()).map_err(|n| n.why),
        Err(Why::Refused)
    ));
}

#[test]
fn orphans_without_a_fixer_need_a_person_and_subjects_parse() {
    let mut check = checked(Vec::new());
    for (kind, arn) in [
        (
            OrphanKind::EbsUnattached,
            "arn:aws:ec2:us-east-1:123456789012:volume/vol-1",
        ),
        (
            OrphanKind::SgUnused,
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-9",
        ),
    ] {
        check.orphans.push(crate::orphans::Orphan {
            kind,
            resource_arn: arn.into(),
            region: "us-east-1".into(),
            reason: format!("{kind} reason"),
            estimated_monthly_cost_usd: None,
        });
    }
    let id_of = |arn: &str| {
        Some((
            ResourceType::Ec2SecurityGroup,
            arn.rsplit('/').next().unwrap_or_default().to_owned(),
        ))
    };
    let (read, untouched) = targets(&check, &PlanOptions::default(), id_of);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].subject, Subject::Orphan(OrphanKind::SgUnused));
    assert_eq!(untouched[0].why, Why::NeedsAPerson);
    assert_eq!(untouched[0].reason, "ebs-unattached reason");
    assert_eq!(
        "sg-unused".parse::<Subject>(),
        Ok(Subject::Orphan(OrphanKind::SgUnused))
    );
    assert_eq!(
        "s3-encryption".parse::<Subject>(),
        Ok(Subject::Rule(RuleId::S3Encryption))
    );
    assert!("Not A Rule".parse::<Subject>().is_err());
    let json = serde_json::to_value(&untouched[0]).unwrap();
    assert_eq!(json["orphan"], "ebs-unattached", "{json}");
}

#[test]
fn due_means_marked_with_a_day_that_has_come() {
    let today = now().date_naive();
    let tags = |v: Option<&str>| {
        v.map(|v| BTreeMap::from([(REMEDIATE_AFTER.to_owned(), v.to_owned())]))
            .unwrap_or_default()
    };
    assert!(
        not_due(&tags(None), today)
            .unwrap()
            .starts_with("not marked")
    );
    assert!(
        not_due(&tags(Some("soon")), today)
            .unwrap()
            .contains("not a date")
    );
    let tomorrow = due_date(now(), 1);
    assert_eq!(
        not_due(&tags(Some(&tomorrow.to_string())), today),
        Some(format!("not due until {tomorrow}"))
    );
    assert_eq!(not_due(&tags(Some(&today.to_string())), today), None);
    assert_eq!(not_due(&tags(Some("2020-01-01")), today), None);

    // --due adds the mark to the other guards; without it the mark is not asked.
    let t = bucket_target(RuleId::S3PublicAccess, "b");
    let p = policy("");
    let planned = bucket(BucketEncryption::SseS3);
    let action = decide(
        &t,
        &Observed::Read(State::Bucket(planned.clone())),
        &p,
        &PlanOptions::default(),
        now(),
    )
    .unwrap();
    let unmarked = State::Bucket(planned.clone());
    assert!(
        guard(&action, &unmarked, &p, now(), true)
            .unwrap()
            .starts_with("not marked")
    );
    assert_eq!(guard(&action, &unmarked, &p, now(), false), None);
    let mut marked = planned;
    marked.tags = tags(Some(&today.to_string()));
    assert_eq!(
        guard(&action, &State::Bucket(marked), &p, now(), true),
        None,
        "tags are not what it depends on"
    );

    let plan = FixPlan {
        schema_version: FIX_PLAN_SCHEMA_VERSION,
        generated_at: now(),
        account_id: ACCOUNT.into(),
        inventory_generated_at: now(),
        policy_digest: String::new(),
        include_website: false,
        allow_irreversible: false,
        actions: vec![action.clone()],
        untouched: Vec::new(),
    };
    let (subject, body) = mark_summary(&plan, tomorrow, &[&action], "keep");
    assert!(
        subject.contains("1 resource(s)") && subject.contains(&tomorrow.to_string()),
        "{subject}"
    );
    assert!(
        body.contains("arn:aws:s3:::b")
            && body.contains("s3:PutPublicAccessBlock")
            && body.contains("keep=never"),
        "{body}"
    );
}
