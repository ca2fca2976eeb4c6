//! `infraqa fix` as a user runs it, against the emulator: a plan with its guards, an apply
//! read back and audited, the change cap, guards refusing at apply time (opt-out tag added,
//! changed since the plan), a re-run changing nothing, undo restoring the exact previous
//! state (and refusing when the resource changed since), a denied write reported and audited
//! with nothing else changed, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_ec2::types as ec2t;
use aws_sdk_s3::types as s3t;
use common::{infraqa, infraqa_as, infraqa_via};
use infraqa_core::RuleId;
use infraqa_core::finding::OrphanKind;
use infraqa_core::fix::{Change, FixPlan, Subject, Why};
use infraqa_testkit::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_testkit::seed::create_bucket;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

const REGION: &str = "us-east-1";

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn audit(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("audit-log")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

/// `infraqa scan` then `infraqa check` into `out`: the findings file.
fn scan_and_check(
    emulator: &infraqa_testkit::emulator::Emulator,
    account: &infraqa_testkit::emulator::TestAccount,
    policy: &str,
    out: &str,
) -> std::path::PathBuf {
    ok(&infraqa_as(
        emulator,
        account,
        &["scan", "--policy", policy, "--out", out],
    ));
    let inventory = Path::new(out).join("inventory.json");
    ok(&infraqa_as(
        emulator,
        account,
        &[
            "check",
            "--policy",
            policy,
            "--inventory",
            inventory.to_str().unwrap(),
            "--out",
            out,
        ],
    ));
    Path::new(out).join("findings.json")
}

/// Sets the bucket's tag set to `key` = `value`.
async fn tag_bucket(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, value: &str) {
    let tag = s3t::Tag::builder().key(key).value(value).build().unwrap();
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(s3t::Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// A group of `vpc` named `name` with `ingress`; its id.
async fn group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    ingress: Vec<ec2t::IpPermission>,
) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .set_ip_permissions(Some(ingress))
        .send()
        .await
        .unwrap();
    id
}

fn tcp(port: i32, v4: Option<(&str, &str)>, v6: Option<&str>) -> ec2t::IpPermission {
    let mut p = ec2t::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    if let Some((cidr, description)) = v4 {
        p = p.ip_ranges(
            ec2t::IpRange::builder()
                .cidr_ip(cidr)
                .description(description)
                .build(),
        );
    }
    if let Some(cidr) = v6 {
        p = p.ipv6_ranges(ec2t::Ipv6Range::builder().cidr_ipv6(cidr).build());
    }
    p.build()
}

/// The inbound sources of a group as `tcp PORT SOURCE description`.
async fn ingress(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<String> {
    let out = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap();
    let mut rules = Vec::new();
    for p in out.security_groups()[0].ip_permissions() {
        let port = p.from_port().unwrap_or(-1);
        for r in p.ip_ranges() {
            rules.push(format!(
                "{port} {} {}",
                r.cidr_ip().unwrap(),
                r.description().unwrap_or("-")
            ));
        }
        for r in p.ipv6_ranges() {
            rules.push(format!(
                "{port} {} {}",
                r.cidr_ipv6().unwrap(),
                r.description().unwrap_or("-")
            ));
        }
    }
    rules.sort();
    rules
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn fix_plans_applies_guards_and_undoes_against_the_emulator() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let clients = rt.block_on(account.clients());
    let (s3, ec2) = (clients.s3(REGION), clients.ec2(REGION));
    let name = |n: &str| format!("fix-{n}-{}", account.account_id);
    let (open, site, optout, late, denied) = (
        name("open"),
        name("site"),
        name("optout"),
        name("late"),
        name("denied"),
    );
    let key = format!(
        "arn:aws:kms:{REGION}:{}:key/11111111-2222-3333-4444-555555555555",
        account.account_id
    );
    let (ssh, mixed, drift) = rt.block_on(async {
        for b in [&open, &site, &optout, &late] {
            create_bucket(&s3, b, REGION).await.unwrap();
        }
        s3.put_bucket_website()
            .bucket(&site)
            .website_configuration(
                s3t::WebsiteConfiguration::builder()
                    .index_document(
                        s3t::IndexDocument::builder()
                            .suffix("index.html")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        tag_bucket(&s3, &optout, "infraqa:remediate", "never").await;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.40.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let ssh = group(
            &ec2,
            &vpc,
            "fix-ssh",
            vec![
                tcp(22, Some(("0.0.0.0/0", "ops ssh")), Some("::/0")),
                tcp(22, Some(("10.0.0.0/8", "office")), None),
                tcp(443, Some(("0.0.0.0/0", "web")), None),
            ],
        )
        .await;
        let mixed = group(
            &ec2,
            &vpc,
            "fix-mixed",
            vec![
                ec2t::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(0)
                    .to_port(65535)
                    .ip_ranges(ec2t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            ],
        )
        .await;
        let drift = group(
            &ec2,
            &vpc,
            "fix-drift",
            vec![tcp(3389, Some(("0.0.0.0/0", "rdp")), None)],
        )
        .await;
        (ssh, mixed, drift)
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let policy = out.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[scan]\nregions = [\"{REGION}\"]\n[s3]\nrequire_kms = true\n[network]\nallowed_public_ports = [443]\n[remediation]\nkms_key = \"{key}\"\n"
        ),
    )
    .unwrap();
    let (p, o) = (policy.to_str().unwrap(), out.to_str().unwrap());
    let findings = scan_and_check(&emulator, &account, p, o);

    // The plan: what is fixed, with the exact calls and the state read now; what is not, and why.
    let summary = ok(&infraqa_as(
        &emulator,
        &account,
        &[
            "fix",
            "--policy",
            p,
            "--findings",
            findings.to_str().unwrap(),
            "--out",
            o,
            // The rules' fixers (the groups here are unused too: orphans have a test of
            // their own).
            "--rule",
            "s3-encryption",
            "--rule",
            "s3-public-access",
            "--rule",
            "sg-open-ingress",
            "--rule",
            "cloudtrail-enabled",
        ],
    ));
    let plan_path = out.join("fix-plan.json");
    let plan: FixPlan =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let acting: Vec<(Subject, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.subject, a.resource_id.as_str()))
        .collect();
    for want in [
        (Subject::Rule(RuleId::S3Encryption), open.as_str()),
        (Subject::Rule(RuleId::S3PublicAccess), open.as_str()),
        (Subject::Rule(RuleId::S3PublicAccess), late.as_str()),
        (Subject::Rule(RuleId::SgOpenIngress), ssh.as_str()),
        (Subject::Rule(RuleId::SgOpenIngress), drift.as_str()),
    ] {
        assert!(acting.contains(&want), "{want:?} planned: {acting:?}");
    }
    let refused = |rule: RuleId, id: &str| {
        plan.untouched
            .iter()
            .find(|n| n.subject == Subject::Rule(rule) && n.resource_arn.ends_with(id))
            .map(|n| (n.why, n.reason.clone()))
    };
    let (why, reason) = refused(RuleId::S3PublicAccess, site.as_str()).unwrap();
    assert_eq!(why, Why::Refused);
    assert!(
        reason.contains("serves a website") && reason.contains("--include-website"),
        "{reason}"
    );
    let (why, reason) = refused(RuleId::S3Encryption, optout.as_str()).unwrap();
    assert_eq!(why, Why::Refused);
    assert!(reason.contains("infraqa:remediate = never"), "{reason}");
    let (why, reason) = refused(RuleId::SgOpenIngress, &mixed).unwrap();
    assert_eq!(why, Why::Refused);
    assert!(reason.contains("allowed_public_ports"), "{reason}");
    assert!(
        plan.untouched
            .iter()
            .any(|n| n.why == Why::NeedsAPerson
                && n.subject == Subject::Rule(RuleId::CloudtrailEnabled)),
        "a rule without a fixer needs a person"
    );
    let ssh_action = plan.actions.iter().find(|a| a.resource_id == ssh).unwrap();
    let Change::RevokeIngress { rules } = &ssh_action.change else {
        panic!("{:?}", ssh_action.change)
    };
    let revoked: Vec<(&str, Option<&str>)> = rules
        .iter()
        .map(|r| (r.source.as_str(), r.description.as_deref()))
        .collect();
    assert_eq!(
        revoked,
        [("0.0.0.0/0", Some("ops ssh")), ("::/0", None)],
        "exactly the world sources of port 22"
    );
    assert!(
        ssh_action
            .calls
            .iter()
            .all(|c| c.starts_with("ec2:RevokeSecurityGroupIngress"))
    );
    let enc = plan
        .actions
        .iter()
        .find(|a| a.subject == Subject::Rule(RuleId::S3Encryption) && a.resource_id == open)
        .unwrap();
    assert!(
        enc.calls[0].contains(&format!("KMSMasterKeyID={key}")),
        "{:?}",
        enc.calls
    );
    assert!(summary.contains(&ssh_action.id), "{summary}");

    // After the review: fix-late is opted out, and the drift group changes.
    rt.block_on(async {
        tag_bucket(&s3, &late, "infraqa:remediate", "never").await;
        ec2.authorize_security_group_ingress()
            .group_id(&drift)
            .set_ip_permissions(Some(vec![tcp(8080, Some(("10.0.0.0/8", "app")), None)]))
            .send()
            .await
            .unwrap();
    });
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "fix",
            "--policy",
            p,
            "--apply",
            "--plan",
            plan_path.to_str().unwrap(),
            "--out",
            o,
            "--json",
        ];
        args.extend_from_slice(extra);
        infraqa_as(&emulator, &account, &args)
    };
    let outcomes = |o: &Output| -> Vec<(String, String, String)> {
        let v: Vec<Value> = serde_json::from_str(&ok(o)).unwrap();
        v.iter()
            .map(|r| {
                (
                    r["resource_arn"]
                        .as_str()
                        .unwrap()
                        .rsplit(['/', ':'])
                        .next()
                        .unwrap()
                        .to_owned(),
                    r["outcome"].as_str().unwrap().to_owned(),
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    // The cap: two changes, then nothing more.
    let first = outcomes(&apply(&["--max-changes", "2"]));
    assert_eq!(
        first.iter().filter(|(_, o, _)| o == "applied").count(),
        2,
        "{first:?}"
    );
    assert!(
        first
            .iter()
            .filter(|(_, o, _)| o != "applied" && o != "skipped")
            .all(|(_, o, _)| o == "not-applied"),
        "{first:?}"
    );
    let second = outcomes(&apply(&[]));
    let outcome = |rows: &[(String, String, String)], id: &str, rule_skip: &str| {
        rows.iter()
            .find(|(r, _, why)| r == id && why.contains(rule_skip))
            .cloned()
    };
    assert!(
        outcome(&second, &late, "infraqa:remediate = never").is_some_and(|r| r.1 == "skipped"),
        "{second:?}"
    );
    assert!(
        outcome(&second, &drift, "changed since the plan").is_some_and(|r| r.1 == "skipped"),
        "{second:?}"
    );
    assert!(
        second
            .iter()
            .any(|(r, o, why)| r == &ssh && (o == "applied" || why.contains("already done"))),
        "{second:?}"
    );
    // Read back: the bucket is encrypted with the key and blocked, the group lost exactly the
    // world sources of port 22.
    rt.block_on(async {
        let e = s3
            .get_bucket_encryption()
            .bucket(&open)
            .send()
            .await
            .unwrap();
        let d = e.server_side_encryption_configuration().unwrap().rules()[0]
            .apply_server_side_encryption_by_default()
            .unwrap()
            .clone();
        assert_eq!(d.sse_algorithm(), &s3t::ServerSideEncryption::AwsKms);
        assert_eq!(d.kms_master_key_id(), Some(key.as_str()));
        let b = s3
            .get_public_access_block()
            .bucket(&open)
            .send()
            .await
            .unwrap();
        assert_eq!(
            b.public_access_block_configuration()
                .unwrap()
                .block_public_policy(),
            Some(true)
        );
        assert_eq!(
            ingress(&ec2, &ssh).await,
            ["22 10.0.0.0/8 office", "443 0.0.0.0/0 web"]
        );
        assert!(
            s3.get_public_access_block()
                .bucket(&late)
                .send()
                .await
                .is_err(),
            "opted out: untouched"
        );
    });
    // A re-run of the same plan changes nothing.
    let third = outcomes(&apply(&[]));
    assert!(third.iter().all(|(_, o, _)| o == "skipped"), "{third:?}");
    // Every write is audited: before, after, actor, outcome.
    let lines = audit(out);
    let applied_now = first
        .iter()
        .chain(&second)
        .filter(|(_, o, _)| o == "applied")
        .count();
    let applied: Vec<&Value> = lines
        .iter()
        .filter(|l| l["action"] == "fix" && l["outcome"] == "applied")
        .collect();
    assert_eq!(applied.len(), applied_now, "{applied:#?}");
    assert!(
        applied
            .iter()
            .all(|l| l["before"].is_object() && l["after"].is_object() && l["actor"].is_string())
    );

    // Undo restores the exact previous state, descriptions included; twice is refused.
    let undo = |id: &str| {
        infraqa_as(
            &emulator,
            &account,
            &["fix", "--policy", p, "--undo", id, "--out", o],
        )
    };
    ok(&undo(&ssh_action.id));
    rt.block_on(async {
        assert_eq!(
            ingress(&ec2, &ssh).await,
            [
                "22 0.0.0.0/0 ops ssh",
                "22 10.0.0.0/8 office",
                "22 ::/0 -",
                "443 0.0.0.0/0 web"
            ]
        );
    });
    assert_eq!(
        undo(&ssh_action.id).status.code(),
        Some(2),
        "undone already"
    );
    // Changed since the fix: the undo is refused and nothing is written.
    rt.block_on(async {
        s3.delete_bucket_encryption()
            .bucket(&open)
            .send()
            .await
            .unwrap();
    });
    let refused_undo = undo(&enc.id);
    assert_eq!(refused_undo.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused_undo.stderr).contains("changed since the fix"));

    // A denied write: reported failed and audited, nothing else changed.
    let proxy = rt
        .block_on(FaultProxy::start(
            emulator.url(),
            vec![Fault::on("PutPublicAccessBlock", FaultAction::AccessDenied)],
        ))
        .unwrap();
    let denied_dir = tempfile::tempdir().unwrap();
    let d = denied_dir.path().to_str().unwrap();
    rt.block_on(create_bucket(&s3, &denied, REGION)).unwrap();
    let denied_findings = scan_and_check(&emulator, &account, p, d);
    ok(&infraqa_via(
        proxy.url(),
        &account,
        &[
            "fix",
            "--policy",
            p,
            "--findings",
            denied_findings.to_str().unwrap(),
            "--out",
            d,
            "--rule",
            "s3-public-access",
        ],
    ));
    let denied_plan = denied_dir.path().join("fix-plan.json");
    let o = infraqa_via(
        proxy.url(),
        &account,
        &[
            "fix",
            "--policy",
            p,
            "--apply",
            "--plan",
            denied_plan.to_str().unwrap(),
            "--out",
            d,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(proxy.injected() >= 1);
    let lines = audit(denied_dir.path());
    let failed = lines
        .iter()
        .find(|l| {
            l["resource_arn"]
                .as_str()
                .unwrap()
                .ends_with(denied.as_str())
        })
        .unwrap();
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["before"], failed["after"], "nothing changed");
    rt.block_on(async {
        assert!(
            s3.get_public_access_block()
                .bucket(&denied)
                .send()
                .await
                .is_err()
        );
    });
}

#[test]
fn fix_refuses_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "").unwrap();
    let p = policy.to_str().unwrap();
    // Nothing to plan from.
    assert_eq!(infraqa(&["fix", "--policy", p]).status.code(), Some(2));
    // --apply without a plan.
    assert_eq!(
        infraqa(&["fix", "--policy", p, "--apply"]).status.code(),
        Some(2)
    );
    // A plan that is not a fix plan.
    let bogus = dir.path().join("plan.json");
    std::fs::write(&bogus, "{\"schema_version\": 1}").unwrap();
    let o = infraqa(&[
        "fix",
        "--policy",
        p,
        "--apply",
        "--plan",
        bogus.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fix plan"));
    // An unknown rule.
    let findings = dir.path().join("findings.json");
    std::fs::write(&findings, "{}").unwrap();
    let o = infraqa(&[
        "fix",
        "--policy",
        p,
        "--findings",
        findings.to_str().unwrap(),
        "--rule",
        "Not A Rule",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn fix_cleans_up_orphans_only_when_nothing_uses_them() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let clients = rt.block_on(account.clients());
    let ec2 = clients.ec2(REGION);
    let (free, target, referrer, late, subnet, allocation, snapshot) = rt.block_on(async {
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.41.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let free = group(
            &ec2,
            &vpc,
            "orphan-free",
            vec![tcp(80, Some(("10.0.0.0/8", "lb")), None)],
        )
        .await;
        let target = group(
            &ec2,
            &vpc,
            "orphan-target",
            vec![tcp(5432, Some(("10.0.0.0/8", "db")), None)],
        )
        .await;
        // Another group names the target: deleting it would break that permission.
        let referrer = group(
            &ec2,
            &vpc,
            "orphan-referrer",
            vec![
                ec2t::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(5432)
                    .to_port(5432)
                    .user_id_group_pairs(ec2t::UserIdGroupPair::builder().group_id(&target).build())
                    .build(),
            ],
        )
        .await;
        let late = group(
            &ec2,
            &vpc,
            "orphan-late",
            vec![tcp(8080, Some(("10.0.0.0/8", "app")), None)],
        )
        .await;
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.41.1.0/24")
            .availability_zone(format!("{REGION}a"))
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        let allocation = ec2
            .allocate_address()
            .domain(ec2t::DomainType::Vpc)
            .send()
            .await
            .unwrap()
            .allocation_id
            .unwrap();
        let volume = ec2
            .create_volume()
            .availability_zone(format!("{REGION}a"))
            .size(1)
            .send()
            .await
            .unwrap()
            .volume_id
            .unwrap();
        let snapshot = ec2
            .create_snapshot()
            .volume_id(&volume)
            .send()
            .await
            .unwrap()
            .snapshot_id
            .unwrap();
        ec2.delete_volume().volume_id(&volume).send().await.unwrap();
        (free, target, referrer, late, subnet, allocation, snapshot)
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let policy = out.join("policy.toml");
    std::fs::write(&policy, format!("[scan]\nregions = [\"{REGION}\"]\n")).unwrap();
    let (p, o) = (policy.to_str().unwrap(), out.to_str().unwrap());
    let findings = scan_and_check(&emulator, &account, p, o);
    let plan_of = |extra: &[&str]| {
        let mut args = vec![
            "fix",
            "--policy",
            p,
            "--findings",
            findings.to_str().unwrap(),
            "--out",
            o,
        ];
        args.extend_from_slice(extra);
        ok(&infraqa_as(&emulator, &account, &args));
        let plan: FixPlan =
            serde_json::from_str(&std::fs::read_to_string(out.join("fix-plan.json")).unwrap())
                .unwrap();
        plan
    };
    let planned = |plan: &FixPlan, id: &str| {
        plan.actions
            .iter()
            .find(|a| a.resource_id == id)
            .map(|a| a.change.clone())
    };
    let left = |plan: &FixPlan, id: &str| {
        plan.untouched
            .iter()
            .find(|n| n.resource_arn.ends_with(id))
            .map(|n| (n.why, n.reason.clone()))
    };
    // Without --allow-irreversible: groups only; the address and the snapshot are refused.
    let cautious = plan_of(&[]);
    assert_eq!(planned(&cautious, &free), Some(Change::DeleteGroup));
    assert!(
        left(&cautious, &allocation)
            .is_some_and(|(w, r)| w == Why::Refused && r.contains("--allow-irreversible"))
    );
    assert!(
        left(&cautious, &snapshot)
            .is_some_and(|(w, r)| w == Why::Refused && r.contains("--allow-irreversible"))
    );
    let (why, reason) = left(&cautious, &target).unwrap();
    assert_eq!(why, Why::Refused);
    assert!(reason.contains(&referrer), "{reason}");
    assert!(
        cautious
            .untouched
            .iter()
            .all(|n| n.why != Why::NeedsAPerson
                || n.subject != Subject::Orphan(OrphanKind::SgUnused)),
        "sg-unused has a fixer"
    );
    let plan = plan_of(&["--allow-irreversible"]);
    assert!(plan.allow_irreversible);
    assert_eq!(planned(&plan, &allocation), Some(Change::ReleaseAddress));
    assert_eq!(planned(&plan, &snapshot), Some(Change::DeleteSnapshot));
    let release = plan
        .actions
        .iter()
        .find(|a| a.resource_id == allocation)
        .unwrap();
    assert!(
        release.undo.is_none() && release.reversible.starts_with("no"),
        "{}",
        release.reversible
    );
    assert!(planned(&plan, &late).is_some());

    // After the review an interface starts using the late group.
    rt.block_on(async {
        ec2.create_network_interface()
            .subnet_id(&subnet)
            .groups(&late)
            .send()
            .await
            .unwrap();
    });
    let plan_path = out.join("fix-plan.json");
    let applied = ok(&infraqa_as(
        &emulator,
        &account,
        &[
            "fix",
            "--policy",
            p,
            "--apply",
            "--plan",
            plan_path.to_str().unwrap(),
            "--out",
            o,
            "--json",
        ],
    ));
    let rows: Vec<Value> = serde_json::from_str(&applied).unwrap();
    let outcome = |id: &str| {
        rows.iter()
            .find(|r| r["resource_arn"].as_str().unwrap().ends_with(id))
            .map(|r| {
                (
                    r["outcome"].as_str().unwrap().to_owned(),
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .unwrap()
    };
    assert_eq!(outcome(&free).0, "applied");
    assert_eq!(outcome(&allocation).0, "applied");
    assert_eq!(outcome(&snapshot).0, "applied");
    let (o_late, why_late) = outcome(&late);
    assert_eq!(o_late, "skipped");
    assert!(why_late.contains("changed since the plan"), "{why_late}");
    rt.block_on(async {
        assert!(
            ec2.describe_security_groups()
                .group_ids(&free)
                .send()
                .await
                .is_err(),
            "deleted"
        );
        assert!(
            ec2.describe_security_groups()
                .group_ids(&late)
                .send()
                .await
                .is_ok(),
            "in use: kept"
        );
        assert!(
            ec2.describe_security_groups()
                .group_ids(&target)
                .send()
                .await
                .is_ok(),
            "referenced: kept"
        );
        assert!(
            ec2.describe_addresses()
                .allocation_ids(&allocation)
                .send()
                .await
                .map_or(true, |o| o.addresses().is_empty()),
            "released"
        );
        assert!(
            ec2.describe_snapshots()
                .snapshot_ids(&snapshot)
                .send()
                .await
                .map_or(true, |o| o.snapshots().is_empty()),
            "deleted"
        );
    });
    // What cannot be undone is refused as such.
    let o = infraqa_as(
        &emulator,
        &account,
        &["fix", "--policy", p, "--undo", &release.id, "--out", o],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be undone"));
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn fix_marks_first_and_acts_only_on_what_is_due() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let clients = rt.block_on(account.clients());
    let s3 = clients.s3(REGION);
    let (early, later) = (
        format!("mark-early-{}", account.account_id),
        format!("mark-later-{}", account.account_id),
    );
    let topic = rt.block_on(async {
        for b in [&early, &later] {
            create_bucket(&s3, b, REGION).await.unwrap();
        }
        clients
            .sns(REGION)
            .create_topic()
            .name("fix-marks")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let policy = out.join("policy.toml");
    std::fs::write(
        &policy,
        format!("[scan]\nregions = [\"{REGION}\"]\n[alerts]\ntopic = \"{topic}\"\n"),
    )
    .unwrap();
    let (p, o) = (policy.to_str().unwrap(), out.to_str().unwrap());
    let findings = scan_and_check(&emulator, &account, p, o);
    let marking = infraqa_as(
        &emulator,
        &account,
        &[
            "fix",
            "--policy",
            p,
            "--findings",
            findings.to_str().unwrap(),
            "--out",
            o,
            "--rule",
            "s3-public-access",
            "--mark",
            "3",
        ],
    );
    ok(&marking);
    let said = String::from_utf8_lossy(&marking.stderr).into_owned();
    assert!(
        said.contains("2 resource(s) marked") && said.contains(&topic),
        "{said}"
    );
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let mark_of = |bucket: &str| {
        rt.block_on(s3.get_bucket_tagging().bucket(bucket).send())
            .unwrap()
            .tag_set()
            .iter()
            .find(|t| t.key() == "infraqa:remediate-after")
            .map(|t| t.value().to_owned())
    };
    assert_eq!(mark_of(&early).as_deref(), Some(day.as_str()));
    let plan = out.join("fix-plan.json");
    let due = || {
        let o = infraqa_as(
            &emulator,
            &account,
            &[
                "fix",
                "--policy",
                p,
                "--apply",
                "--plan",
                plan.to_str().unwrap(),
                "--due",
                "--out",
                o,
                "--json",
            ],
        );
        let rows: Vec<Value> = serde_json::from_str(&ok(&o)).unwrap();
        rows.iter()
            .map(|r| {
                (
                    r["resource_arn"]
                        .as_str()
                        .unwrap()
                        .rsplit(':')
                        .next()
                        .unwrap()
                        .to_owned(),
                    r["outcome"].as_str().unwrap().to_owned(),
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = due();
    assert!(
        first
            .iter()
            .all(|(_, o, why)| o == "skipped" && why.contains(&format!("not due until {day}"))),
        "{first:?}"
    );
    // Time passes for one of them.
    rt.block_on(tag_bucket(
        &s3,
        &early,
        "infraqa:remediate-after",
        &(chrono::Utc::now() - chrono::Duration::days(1))
            .date_naive()
            .to_string(),
    ));
    let second = due();
    let outcome = |b: &str| {
        second
            .iter()
            .find(|(r, ..)| r == b)
            .map(|(_, o, _)| o.clone())
    };
    assert_eq!(outcome(&early).as_deref(), Some("applied"), "{second:?}");
    assert_eq!(outcome(&later).as_deref(), Some("skipped"), "{second:?}");
    assert!(
        rt.block_on(s3.get_public_access_block().bucket(&early).send())
            .is_ok()
    );
    assert!(
        rt.block_on(s3.get_public_access_block().bucket(&later).send())
            .is_err()
    );
    let marks = audit(out)
        .into_iter()
        .filter(|l| l["action"] == "fix-mark")
        .count();
    assert_eq!(marks, 2);
}
