//! `infraqa tag` and `infraqa validate` as a user runs them, against the emulator: plans,
//! applies read back, the audit log, safety (changed since the plan, gone, caps), injected
//! failures, alerts and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Seeded, infraqa, infraqa_as, infraqa_via, seeded};
use infraqa_core::Inventory;
use infraqa_core::tagging::TagPlan;
use infraqa_testkit::events::cloudtrail_event;
use infraqa_testkit::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_testkit::seed::{Expect, PRIMARY_REGION};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

fn code_and_err(o: &Output) -> (Option<i32>, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn read_inventory(path: &Path) -> Inventory {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `infraqa run` into `dir/out`; returns the directory.
fn run_once(s: &Seeded) -> std::path::PathBuf {
    let out = s.dir.path().join("out");
    let o = infraqa_as(
        &s.emulator,
        &s.account,
        &["run", "--policy", &s.policy, "--out", out.to_str().unwrap()],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    out
}

/// A fresh scan of the account into `dir`.
fn rescan(s: &Seeded, dir: &Path) -> Inventory {
    let o = infraqa_as(
        &s.emulator,
        &s.account,
        &[
            "scan",
            "--policy",
            &s.policy,
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    read_inventory(&dir.join("inventory.json"))
}

fn save_plan(s: &Seeded, out: &Path) -> (std::path::PathBuf, TagPlan) {
    let report = out.join("report.json");
    let o = infraqa_as(
        &s.emulator,
        &s.account,
        &[
            "tag",
            "--policy",
            &s.policy,
            "--report",
            report.to_str().unwrap(),
            "--json",
        ],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    let path = s.dir.path().join("plan.json");
    std::fs::write(&path, &o.stdout).unwrap();
    (path, serde_json::from_slice(&o.stdout).unwrap())
}

fn apply(url: &str, s: &Seeded, plan: &Path, out: &Path, extra: &[&str]) -> Output {
    let inventory = out.join("inventory.json");
    let mut args = vec![
        "tag",
        "--policy",
        &s.policy,
        "--apply",
        "--plan",
        plan.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
        "--dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    infraqa_via(url, &s.account, &args)
}

fn audit_lines(out: &Path) -> Vec<Value> {
    let dir = out.join("audit-log");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn tag_plans_then_applies_on_the_demo_estate_and_the_tags_read_back() {
    let s = seeded();
    let out = run_once(&s);
    let before = read_inventory(&out.join("inventory.json"));

    // The default: a plan on the terminal, nothing written.
    let o = infraqa_as(
        &s.emulator,
        &s.account,
        &[
            "tag",
            "--policy",
            &s.policy,
            "--report",
            out.join("report.json").to_str().unwrap(),
        ],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.starts_with("RESOURCE"), "{table}");
    assert!(audit_lines(&out).is_empty(), "a plan writes nothing");

    let (plan_file, plan) = save_plan(&s, &out);
    assert!(!plan.changes.is_empty());
    assert!(table.contains(&format!(
        "{} tag value(s) on {} resource(s)",
        plan.tag_count(),
        plan.changes.len()
    )));
    let o = apply(s.emulator.url(), &s, &plan_file, &out, &[]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "{} written, 0 skipped, 0 gone, 0 failed",
            plan.changes.len()
        )),
        "{err}"
    );

    let after = rescan(&s, &s.dir.path().join("after"));
    tags_read_back(&s, &before, &after, &plan);

    // Every write is audited, and the quarterly export shows the tagging run.
    let lines = audit_lines(&out);
    assert_eq!(lines.len(), plan.changes.len());
    assert!(lines.iter().all(|l| l["action"] == "tag-write"
        && l["outcome"] == "written"
        && l["actor"].as_str().is_some_and(|a| a.starts_with("arn:"))
        && l["tags_before"].is_object()));
    let today = chrono::Utc::now().date_naive().to_string();
    let export = s.dir.path().join("audit.json");
    let o = infraqa(&[
        "audit",
        "--from",
        &today,
        "--to",
        &today,
        "--dir",
        out.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    let x: infraqa_core::pack::AuditExport =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(x.remediation_actions.len(), plan.changes.len());

    // Planned again from a fresh run, nothing is left to write.
    let out2 = run_once(&s);
    let (_, again) = save_plan(&s, &out2);
    assert!(
        again
            .changes
            .iter()
            .all(|c| c.add.keys().all(|k| k == "ComplianceStatus")),
        "{:#?}",
        again.changes
    );
}

/// What `tag --apply` wrote reads back on a fresh scan (`after`): nothing overwritten but
/// `ComplianceStatus`, every planned value, `ComplianceStatus` from the findings (an exempted
/// finding leaves a resource compliant), values inherited from instances, roles tagged
/// through IAM, and a bucket that had no tags at all.
fn tags_read_back(s: &Seeded, before: &Inventory, after: &Inventory, plan: &TagPlan) {
    let now: BTreeMap<&str, &infraqa_core::Resource> = after
        .resources
        .iter()
        .map(|r| (r.arn.as_str(), r))
        .collect();
    // Nothing overwritten but ComplianceStatus.
    for r in &before.resources {
        let Some(a) = now.get(r.arn.as_str()) else {
            panic!("{} vanished", r.arn)
        };
        for (k, v) in r.tags.iter().filter(|(k, _)| *k != "ComplianceStatus") {
            assert_eq!(a.tags.get(k), Some(v), "{} {k} overwritten", r.arn);
        }
    }
    // Everything planned reads back.
    for c in &plan.changes {
        let a = now[c.resource_arn.as_str()];
        for (k, v) in &c.add {
            assert_eq!(a.tags.get(k), Some(v.as_str()), "{} {k}", c.resource_arn);
        }
    }
    // ComplianceStatus from the findings: an exempted finding leaves a resource compliant.
    let by_id = |id: &str| after.resources.iter().find(|r| r.id == id).unwrap();
    let (mut exempted_only, mut failing) = (0, 0);
    for seeded in s.estate.resources.iter().filter(|r| !r.aws_default) {
        let status = by_id(&seeded.id).tag("ComplianceStatus");
        if seeded
            .expect
            .iter()
            .any(|e| matches!(e, Expect::Finding(_)))
        {
            failing += 1;
            assert_eq!(status, Some("non-compliant"), "{}", seeded.name);
        } else if seeded
            .expect
            .iter()
            .any(|e| matches!(e, Expect::Exempted(_)))
        {
            exempted_only += 1;
            assert_eq!(status, Some("compliant"), "{}", seeded.name);
        }
    }
    assert!(exempted_only > 0 && failing > 0);
    // Inherited values: a root volume carries its instance's Environment and Project.
    let inherited = after
        .resources
        .iter()
        .filter_map(|r| match &r.details {
            infraqa_core::ResourceDetails::Ec2Volume(v) => {
                Some((r, v.attached_instance_ids.first()?))
            }
            _ => None,
        })
        .filter(|(v, i)| {
            let instance = by_id(i);
            instance.tag("Environment").is_some()
                && v.tag("Environment") == instance.tag("Environment")
                && v.tag("Project") == instance.tag("Project")
        })
        .count();
    assert!(inherited >= 2, "{inherited}");
    // Roles through IAM, and a bucket that had no tags at all.
    assert!(
        after
            .resources
            .iter()
            .filter(|r| r.resource_type == infraqa_core::ResourceType::IamRole)
            .any(|r| r.tag("ComplianceStatus").is_some())
    );
    let untagged = s.estate.by_name("untagged").unwrap();
    assert!(
        before
            .resources
            .iter()
            .find(|r| r.id == untagged.id)
            .unwrap()
            .tags
            .is_empty()
    );
    let b = by_id(&untagged.id);
    assert!(
        b.tag("ComplianceStatus").is_some() && b.tag("CreatedAt").is_some(),
        "{:?}",
        b.tags
    );
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn apply_skips_what_changed_reports_what_is_gone_and_honours_the_cap() {
    let s = seeded();
    let out = run_once(&s);
    let (plan_file, plan) = save_plan(&s, &out);

    // Over the cap: nothing written, exit 2.
    let o = apply(
        s.emulator.url(),
        &s,
        &plan_file,
        &out,
        &["--max-changes", "1"],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-changes 1"), "{err}");
    assert!(audit_lines(&out).is_empty());

    // Someone tags the untagged bucket and deletes a planned snapshot after the plan.
    let bucket = s.estate.by_name("untagged").unwrap().id.clone();
    let backup = &s.estate.by_name("deleted-volume-backup").unwrap().id;
    let snapshot = plan
        .changes
        .iter()
        .find(|c| c.id == *backup)
        .unwrap()
        .clone();
    s.rt.block_on(async {
        let c = s.account.clients().await;
        c.s3(PRIMARY_REGION)
            .put_bucket_tagging()
            .bucket(&bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("Owner")
                            .value("ops")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        c.ec2(&snapshot.region)
            .delete_snapshot()
            .snapshot_id(&snapshot.id)
            .send()
            .await
            .unwrap();
    });
    let o = apply(s.emulator.url(), &s, &plan_file, &out, &["--json"]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let outcome = |arn: &str| {
        lines
            .iter()
            .find(|l| l["resource_arn"] == arn)
            .map(|l| l["outcome"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(outcome(&format!("arn:aws:s3:::{bucket}")), "skipped");
    assert_eq!(outcome(&snapshot.resource_arn), "gone");
    assert_eq!(
        lines.iter().filter(|l| l["outcome"] == "written").count(),
        plan.changes.len() - 2
    );
    // The bucket keeps what its owner wrote; the audit log says what happened to each.
    let after = rescan(&s, &s.dir.path().join("after"));
    let b = after.resources.iter().find(|r| r.id == bucket).unwrap();
    assert_eq!(
        b.tags,
        BTreeMap::from([("Owner".to_owned(), "ops".to_owned())])
    );
    let audited = audit_lines(&out);
    assert_eq!(audited.len(), plan.changes.len());
    assert!(audited.iter().any(|l| l["outcome"] == "gone"));

    // An edited plan: an entry that changes a value the resource has is refused, with why,
    // and written nowhere; the other entries are applied; exit 3.
    let mut edited = plan.clone();
    let (i, owned) = plan
        .changes
        .iter()
        .enumerate()
        .find(|(_, c)| c.tags_before.get("Owner").is_some() && c.id != bucket && c.id != *backup)
        .map(|(i, c)| (i, c.clone()))
        .expect("a planned resource that has an Owner");
    edited.changes[i]
        .add
        .insert("Owner".to_owned(), "mallory".to_owned());
    edited.changes[i].add.remove("ComplianceStatus");
    let edited_file = s.dir.path().join("edited-plan.json");
    std::fs::write(&edited_file, serde_json::to_vec(&edited).unwrap()).unwrap();
    let o = apply(s.emulator.url(), &s, &edited_file, &out, &["--json"]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("1 refused"), "{err}");
    let lines: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let line = lines
        .iter()
        .find(|l| l["resource_arn"] == owned.resource_arn)
        .unwrap();
    assert_eq!(line["outcome"], "refused", "{line}");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("would change Owner"),
        "{line}"
    );
    let after = rescan(&s, &s.dir.path().join("after-edit"));
    let r = after
        .resources
        .iter()
        .find(|r| r.arn == owned.resource_arn)
        .unwrap();
    assert_eq!(r.tags.get("Owner"), owned.tags_before.get("Owner"));
    assert!(
        audit_lines(&out)
            .iter()
            .any(|l| l["outcome"] == "refused" && l["resource_arn"] == owned.resource_arn)
    );

    // A plan made under another policy is refused.
    std::fs::write(
        &s.policy,
        std::fs::read_to_string(&s.policy).unwrap() + "\n[tagging]\ncreated_at = false\n",
    )
    .unwrap();
    let o = apply(s.emulator.url(), &s, &plan_file, &out, &[]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("another policy"), "{err}");
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn a_failing_tag_resources_is_reported_and_a_transient_one_retried() {
    let s = seeded();
    let out = run_once(&s);
    let (plan_file, plan) = save_plan(&s, &out);
    let via_tagging = plan
        .changes
        .iter()
        .filter(|c| {
            !matches!(
                c.resource_type,
                infraqa_core::ResourceType::IamRole | infraqa_core::ResourceType::CloudtrailTrail
            )
        })
        .count();

    let denied =
        s.rt.block_on(FaultProxy::start(
            s.emulator.url(),
            vec![Fault::on("TagResources", FaultAction::AccessDenied)],
        ))
        .unwrap();
    let o = apply(denied.url(), &s, &plan_file, &out, &["--json"]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(3), "{err}");
    let lines: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let failed: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "failed").collect();
    assert_eq!(failed.len(), via_tagging);
    assert!(
        failed
            .iter()
            .all(|l| l["error"].as_str().unwrap().contains("AccessDenied"))
    );
    assert!(
        audit_lines(&out)
            .iter()
            .filter(|l| l["outcome"] == "failed")
            .count()
            == via_tagging
    );

    // One 500 on the first TagResources call: retried, everything written.
    let flaky =
        s.rt.block_on(FaultProxy::start(
            s.emulator.url(),
            vec![
                Fault::on(
                    "TagResources",
                    FaultAction::Status {
                        status: 500,
                        body: r#"{"__type":"InternalServiceException","Message":"try again"}"#
                            .into(),
                    },
                )
                .times(1),
            ],
        ))
        .unwrap();
    // Roles and the trail were written through their own APIs: plan again from a fresh run
    // (a plan of the old inventory would skip them as changed since).
    let out = run_once(&s);
    let (plan_file, plan) = save_plan(&s, &out);
    assert_eq!(plan.changes.len(), via_tagging);
    let o = apply(flaky.url(), &s, &plan_file, &out, &["--json"]);
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(flaky.injected(), 1);
    let lines: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(lines.len(), plan.changes.len());
    assert!(
        lines.iter().all(|l| l["outcome"] == "written"),
        "{lines:#?}"
    );
}

/// An account with a topic the alerts go to and a policy naming it, for `infraqa validate`.
struct Validating {
    rt: tokio::runtime::Runtime,
    emulator: infraqa_testkit::emulator::Emulator,
    account: infraqa_testkit::emulator::TestAccount,
    clients: infraqa_aws::AwsClients,
    alerts: infraqa_testkit::alerts::Watched,
    dir: tempfile::TempDir,
    policy: std::path::PathBuf,
}

impl Validating {
    fn new() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
        let account = rt.block_on(emulator.fresh_account()).unwrap();
        let clients = rt.block_on(account.clients());
        let alerts = rt
            .block_on(infraqa_testkit::alerts::watched_topic(
                &clients,
                PRIMARY_REGION,
                "infraqa-alerts",
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, format!("[alerts]\ntopic = \"{}\"\n", alerts.topic)).unwrap();
        Self {
            rt,
            emulator,
            account,
            clients,
            alerts,
            dir,
            policy,
        }
    }

    /// A role anyone may assume: critical.
    fn wide_open_role(&self) {
        self.rt.block_on(async {
            self.clients
                .iam()
                .unwrap()
                .create_role()
                .role_name("wide-open")
                .assume_role_policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
                )
                .send()
                .await
                .unwrap();
        });
    }

    /// The event file of `name` on `id`, happening now.
    fn event(&self, name: &str, id: &str, event_id: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("{event_id}.json"));
        let text = cloudtrail_event(
            name,
            id,
            &self.account.account_id,
            PRIMARY_REGION,
            chrono::Utc::now(),
            event_id,
        )
        .unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `infraqa validate` of the event at `path`: exit code, stdout as JSON, stderr.
    fn validate(&self, path: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
        let mut args = vec![
            "validate",
            "--policy",
            self.policy.to_str().unwrap(),
            "--event",
            path.to_str().unwrap(),
            "--dir",
            self.dir.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = infraqa_as(&self.emulator, &self.account, &args);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (
            o.status.code(),
            v,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn validate_prints_the_verdict_audits_once_per_event_and_alerts_on_critical_findings() {
    let f = Validating::new();
    f.wide_open_role();
    let open = f.event("UpdateAssumeRolePolicy", "wide-open", "ev-open-1");
    let (code, v, err) = f.validate(&open, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["verdict"], "flagged");
    assert_eq!(v["first_delivery"], true);
    assert_eq!(
        v["resources"][0]["findings"][0]["rule_id"],
        "iam-least-privilege"
    );
    assert!(v["alert"]["message_id"].is_string(), "{v:#}");
    let messages = f.rt.block_on(f.alerts.received()).unwrap();
    assert_eq!(messages.len(), 1);
    let subject = messages[0]["Subject"].as_str().unwrap();
    assert!(
        subject.contains("critical iam-least-privilege") && subject.contains("wide-open"),
        "{subject}"
    );
    let body = messages[0]["Message"].as_str().unwrap();
    for part in [
        "wide-open",
        "alice",
        "remediation",
        "UpdateAssumeRolePolicy",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }

    // The same event again: the same verdict, one audit entry, no second alert.
    let (code, again, err) = f.validate(&open, &["--fail-on", "critical"]);
    assert_eq!(code, Some(4), "{err}");
    assert_eq!(again["verdict"], "flagged");
    assert_eq!(again["first_delivery"], false);
    assert!(again.get("alert").is_none());
    let log = std::fs::read_to_string(audit_file(f.dir.path(), "ev-open-1")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(f.rt.block_on(f.alerts.received()).unwrap().is_empty());

    // Failed calls and events the validator does not check are ignored, with the reason.
    let failed = f.dir.path().join("failed.json");
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&open).unwrap()).unwrap();
    edited["detail"]["errorCode"] = "AccessDenied".into();
    edited["detail"]["eventID"] = "ev-failed".into();
    std::fs::write(&failed, edited.to_string()).unwrap();
    let (code, v, _) = f.validate(&failed, &[]);
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("ignored")));
    assert!(v["reason"].as_str().unwrap().contains("AccessDenied"));
    edited["detail"]["eventName"] = "DeleteRole".into();
    edited["detail"]
        .as_object_mut()
        .unwrap()
        .remove("errorCode");
    edited["detail"]["eventID"] = "ev-delete".into();
    std::fs::write(&failed, edited.to_string()).unwrap();
    let (code, v, _) = f.validate(&failed, &[]);
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("ignored")));

    // Bad input: exit 2 naming what is wrong and where.
    let bad = f.dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"detail-type\": \"AWS API Call via CloudTrail\",\n  \"detail\": [\n",
    )
    .unwrap();
    let (code, _, err) = f.validate(&bad, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.json") && err.contains("line"), "{err}");
    std::fs::write(
        &bad,
        r#"{"detail-type": "EC2 Instance State-change Notification", "detail": {}}"#,
    )
    .unwrap();
    let (code, _, err) = f.validate(&bad, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("detail-type"), "{err}");
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn validate_with_the_history_in_s3_audits_there_under_object_lock_and_audit_reads_it() {
    let f = Validating::new();
    f.wide_open_role();
    // With the history in S3 the audit log is written there too, and `infraqa audit` reads it,
    // with the retention that protects it: here, as the deployed stack's bucket, Object Lock.
    let bucket = format!("audit-{}", f.account.account_id);
    let s3 = f.clients.s3(PRIMARY_REGION);
    f.rt.block_on(
        s3.create_bucket()
            .bucket(&bucket)
            .object_lock_enabled_for_bucket(true)
            .send(),
    )
    .unwrap();
    let retention = aws_sdk_s3::types::DefaultRetention::builder()
        .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Governance)
        .days(400)
        .build();
    f.rt.block_on(
        s3.put_object_lock_configuration()
            .bucket(&bucket)
            .object_lock_configuration(
                aws_sdk_s3::types::ObjectLockConfiguration::builder()
                    .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
                    .rule(
                        aws_sdk_s3::types::ObjectLockRule::builder()
                            .default_retention(retention)
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let history = format!("s3://{bucket}/infraqa/history");
    let in_s3 = f.event("UpdateAssumeRolePolicy", "wide-open", "ev-s3");
    let (code, v, err) = f.validate(&in_s3, &["--history", &history]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["first_delivery"], true);
    let keys: Vec<String> =
        f.rt.block_on(
            f.clients
                .s3(PRIMARY_REGION)
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("infraqa/history/audit-log/")
                .send(),
        )
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("infraqa/history/audit-log/event-2")
            && keys[0].ends_with("-ev-s3.jsonl"),
        "named by the event's time and id: {keys:?}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive().to_string();
    let export = elsewhere.path().join("audit.json");
    let o = infraqa_as(
        &f.emulator,
        &f.account,
        &[
            "audit",
            "--from",
            &today,
            "--to",
            &today,
            "--dir",
            elsewhere.path().to_str().unwrap(),
            "--history",
            &history,
            "--out",
            export.to_str().unwrap(),
        ],
    );
    let (code, err) = code_and_err(&o);
    assert_eq!(code, Some(0), "{err}");
    let x: infraqa_core::pack::AuditExport =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(
        x.evidence_retention,
        Some(infraqa_core::pack::EvidenceRetention::ObjectLock {
            bucket: bucket.clone(),
            mode: "GOVERNANCE".into(),
            days: Some(400),
            years: None,
        })
    );
    assert!(
        x.remediation_actions
            .iter()
            .any(|a| a.event_id.as_deref() == Some("ev-s3") && a.action == "validate"),
        "{:#?}",
        x.remediation_actions
    );
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn validate_with_apply_tags_writes_owner_from_the_principal_and_audits_it() {
    let f = Validating::new();
    // --apply-tags writes Owner from the principal and is audited.
    let volume = f.rt.block_on(async {
        f.clients
            .ec2(PRIMARY_REGION)
            .create_volume()
            .availability_zone("us-east-1a")
            .size(8)
            .send()
            .await
            .unwrap()
            .volume_id
            .unwrap()
    });
    let created = f.event("CreateVolume", &volume, "ev-volume");
    let (code, v, err) = f.validate(&created, &["--apply-tags"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        v["verdict"], "approved",
        "no rule judges an untagged volume here: {v:#}"
    );
    assert_eq!(v["resources"][0]["tags_written"]["Owner"], "alice");
    let log = std::fs::read_to_string(audit_file(f.dir.path(), "ev-volume")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("\"tag-write\"") && l.contains("alice")),
        "{log}"
    );
}

/// The one audit log file in `dir/audit-log/` of the event `event_id` (named by the event's
/// time and id).
fn audit_file(dir: &Path, event_id: &str) -> std::path::PathBuf {
    let suffix = format!("-{event_id}.jsonl");
    let found: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("audit-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("event-") && name.ends_with(&suffix)
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn a_redelivered_event_writes_nothing_more_however_old() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let clients = rt.block_on(account.clients());
    let ec2 = clients.ec2(PRIMARY_REGION);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[scan]\nregions = [\"us-east-1\"]\n[tags]\nrequired = [\"Owner\"]\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let tags_of = |volume: &str| -> BTreeMap<String, String> {
        let out = rt
            .block_on(ec2.describe_volumes().volume_ids(volume).send())
            .unwrap();
        out.volumes()[0]
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect()
    };
    let event_files = || {
        std::fs::read_dir(dir.path().join("audit-log"))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    // A recent event, and one old enough that its audit file is named by the validation time.
    for (age_days, event_id) in [(0, "ev-recent"), (40, "ev-old")] {
        let volume = rt
            .block_on(
                ec2.create_volume()
                    .availability_zone(format!("{PRIMARY_REGION}a"))
                    .size(1)
                    .send(),
            )
            .unwrap()
            .volume_id()
            .unwrap()
            .to_owned();
        let path = dir.path().join(format!("{event_id}.json"));
        let time = chrono::Utc::now() - chrono::Duration::days(age_days);
        let text = cloudtrail_event(
            "CreateVolume",
            &volume,
            &account.account_id,
            PRIMARY_REGION,
            time,
            event_id,
        )
        .unwrap();
        std::fs::write(&path, text).unwrap();
        let validate = || {
            let o = infraqa_as(
                &emulator,
                &account,
                &[
                    "validate",
                    "--policy",
                    policy.to_str().unwrap(),
                    "--event",
                    path.to_str().unwrap(),
                    "--dir",
                    &d,
                    "--apply-tags",
                ],
            );
            let (code, err) = code_and_err(&o);
            assert_eq!(code, Some(0), "{err}");
            serde_json::from_slice::<Value>(&o.stdout).unwrap()
        };
        let files_before = event_files();
        let first = validate();
        assert_eq!(first["first_delivery"], true, "{first:#}");
        assert_eq!(tags_of(&volume)["Owner"], "alice");
        assert_eq!(event_files(), files_before + 1);

        // Someone removes the tags; the event is delivered again: nothing is written back.
        let keys: Vec<String> = tags_of(&volume).into_keys().collect();
        let mut delete = ec2.delete_tags().resources(&volume);
        for k in &keys {
            delete = delete.tags(aws_sdk_ec2::types::Tag::builder().key(k).build());
        }
        rt.block_on(delete.send()).unwrap();
        let again = validate();
        assert_eq!(again["first_delivery"], false, "{event_id}: {again:#}");
        assert!(
            again["resources"][0].get("tags_written").is_none(),
            "{event_id}: {again:#}"
        );
        assert!(
            tags_of(&volume).is_empty(),
            "{event_id}: tags were written again"
        );
        assert_eq!(
            event_files(),
            files_before + 1,
            "{event_id}: a second audit file"
        );
    }
}
