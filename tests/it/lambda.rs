//! The Lambda handlers, called directly with real event shapes against the emulator: the
//! scheduled chain (scanner, checker, reporter, tagger), duplicate deliveries, metrics read
//! back, the run alert through SNS to SQS, the validator's queue, a deadline-limited scan, and
//! the same findings.json and report.json bytes as the CLI's pipeline for the same inputs.

use crate::fresh_account;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use infraqa_aws::AwsClients;
use infraqa_lambda::Config;
use infraqa_lambda::events::{self, ScanRequest};
use infraqa_lambda::{Suite, checker, reporter, scanner, tagger, validator};
use infraqa_pipeline::report::{ReportTarget, produce, to_json};
use infraqa_pipeline::{Aws, Location, Store};
use infraqa_tests::alerts::{Watched, watched_topic};
use infraqa_tests::events::{cloudtrail_event, s3_object_created, sqs_message};
use infraqa_tests::seed::{PRIMARY_REGION, seed_demo_estate};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

async fn object(
    c: &AwsClients,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, infraqa_tests::KitError> {
    infraqa_tests::objects::object(&c.s3(PRIMARY_REGION), bucket, key).await
}

async fn keys(c: &AwsClients, bucket: &str, prefix: &str) -> Vec<String> {
    infraqa_tests::objects::keys(&c.s3(PRIMARY_REGION), bucket, prefix)
        .await
        .unwrap()
}

fn s3_event(bucket: &str, key: &str) -> S3Event {
    serde_json::from_str(&s3_object_created(bucket, key, PRIMARY_REGION).unwrap()).unwrap()
}

/// A suite on a fresh bucket with `policy`, alerting to a topic an SQS queue hears.
async fn suite(c: &AwsClients, policy: &str, account: &str) -> (Suite, Watched) {
    suite_with(c, policy, account, &[]).await
}

/// [`suite`] with more of the functions' environment.
async fn suite_with(
    c: &AwsClients,
    policy: &str,
    account: &str,
    more: &[(&'static str, &str)],
) -> (Suite, Watched) {
    let bucket = format!("infraqa-suite-{account}");
    let s3 = c.s3(PRIMARY_REGION);
    infraqa_tests::objects::suite_bucket(&s3, &bucket, policy)
        .await
        .unwrap();
    let alerts = watched_topic(c, PRIMARY_REGION, "infraqa-alerts")
        .await
        .unwrap();
    let mut env: BTreeMap<&str, String> = BTreeMap::from([
        ("INFRAQA_BUCKET", bucket.clone()),
        ("INFRAQA_ALERT_TOPIC", alerts.topic.clone()),
        ("INFRAQA_GRACE_SECONDS", "0".to_owned()),
    ]);
    env.extend(more.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    (Suite::new(config, Aws::from_clients(c.clone())), alerts)
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_scheduled_chain_writes_every_object_once_publishes_metrics_and_alerts_once() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let estate = seed_demo_estate(&c).await.unwrap();
    let (suite, alerts) = suite(&c, &estate.policy_toml(), &account.account_id).await;
    let bucket = suite.config.bucket.clone();

    let scanned = scanner::scan(&suite, ScanRequest::default(), None)
        .await
        .unwrap();
    assert!(!scanned.partial, "{scanned:?}");
    let run = format!("runs/{}", scanned.run_id);
    let now = chrono::Utc::now();
    let checked = checker::check_runs(
        &suite,
        &s3_event(&bucket, &format!("{run}/inventory.json")),
        now,
    )
    .await
    .unwrap();
    assert_eq!(checked.len(), 1);
    let reported = reporter::report_runs(
        &suite,
        &s3_event(&bucket, &format!("{run}/findings.json")),
        now,
    )
    .await
    .unwrap();
    assert!(reported[0].outcome.contains("new critical"), "{reported:?}");
    let tagged = tagger::tag_runs(
        &suite,
        &s3_event(&bucket, &format!("{run}/report.json")),
        now,
    )
    .await
    .unwrap();
    assert!(tagged[0].outcome.starts_with("planned"), "{tagged:?}");

    let objects = keys(&c, &bucket, &format!("{run}/")).await;
    for name in [
        "inventory.json",
        "findings.json",
        "report.json",
        "report.html",
        "findings.csv",
        "report.md",
        "alert.json",
        "tag-plan.json",
    ] {
        assert!(
            objects.contains(&format!("{run}/{name}")),
            "{name}: {objects:?}"
        );
    }
    // One history entry, and the run's inventory kept beside it (for backtests).
    let history = keys(&c, &bucket, "history/").await;
    assert!(infraqa_tests::objects::one_run(&history), "{history:?}");

    // The first run alerts on every critical finding, once.
    let report: infraqa_core::report::Report = serde_json::from_slice(
        &object(&c, &bucket, &format!("{run}/report.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let criticals = report
        .findings
        .iter()
        .filter(|f| f.severity == infraqa_core::Severity::Critical)
        .count();
    assert!(criticals > 0);
    let got = alerts.received().await.unwrap();
    assert_eq!(got.len(), 1);
    let body = got[0]["Message"].as_str().unwrap();
    assert_eq!(body.matches("\n- resource: ").count(), criticals, "{body}");
    // The alert says which run, how it scored, and where its report is (the console's page of
    // the object, behind the reader's own sign-in).
    assert!(
        body.starts_with(&format!(
            "Run {}, account {}",
            scanned.run_id, account.account_id
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "Report: https://console.aws.amazon.com/s3/object/{bucket}?region={PRIMARY_REGION}&prefix={run}/report.html"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "Score: {:.1}% (the first run)",
            report.summary.compliance_score
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("Findings: {} (", report.findings.len())),
        "{body}"
    );
    // latest.json names this run's reports by key.
    let latest: infraqa_pipeline::latest::Latest =
        serde_json::from_slice(&object(&c, &bucket, "latest.json").await.unwrap()).unwrap();
    assert_eq!(latest.run_id, scanned.run_id);
    assert_eq!(latest.files["report.html"], format!("{run}/report.html"));
    for key in latest.files.values() {
        assert!(objects.contains(key), "{key}: {objects:?}");
    }
    assert!(
        got[0]["Subject"]
            .as_str()
            .unwrap()
            .contains(&format!("{criticals} new critical"))
    );

    // Every handler again with the same event: nothing new anywhere.
    for (handler, file) in [
        ("checker", "inventory.json"),
        ("reporter", "findings.json"),
        ("tagger", "report.json"),
    ] {
        let event = s3_event(&bucket, &format!("{run}/{file}"));
        let again = match handler {
            "checker" => checker::check_runs(&suite, &event, now).await,
            "reporter" => reporter::report_runs(&suite, &event, now).await,
            _ => tagger::tag_runs(&suite, &event, now).await,
        }
        .unwrap();
        assert!(
            again[0].outcome.starts_with("duplicate"),
            "{handler}: {again:?}"
        );
    }
    assert_eq!(
        keys(&c, &bucket, "history/").await,
        history,
        "no second history entry"
    );
    assert!(
        alerts.received().await.unwrap().is_empty(),
        "no second alert"
    );

    // The metrics, read back.
    let metrics = infraqa_tests::metrics::latest(
        &c,
        PRIMARY_REGION,
        &account.account_id,
        &[
            "ComplianceScore",
            "ResourcesScanned",
            "NewCriticalFindings",
            "IdleMonthlySaving",
        ],
        report.generated_at,
    )
    .await
    .unwrap();
    let value = |name: &str| metrics.get(name).copied();
    assert_eq!(
        value("ComplianceScore"),
        Some(report.summary.compliance_score)
    );
    assert_eq!(
        value("ResourcesScanned"),
        Some(report.summary.total_resources as f64)
    );
    assert_eq!(value("NewCriticalFindings"), Some(criticals as f64));
    assert_eq!(
        value("IdleMonthlySaving"),
        Some(report.lifecycle.estimated_monthly_saving_usd)
    );

    // The CLI's pipeline makes the same bytes from the same inventory, policy and time.
    let inventory = infraqa_core::document::inventory(
        &object(&c, &bucket, &format!("{run}/inventory.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let policy = infraqa_core::Policy::from_toml(&estate.policy_toml(), "p").unwrap();
    let findings = infraqa_core::check::check(&inventory, &policy, now);
    assert_eq!(
        to_json("findings", &findings).unwrap(),
        object(&c, &bucket, &format!("{run}/findings.json"))
            .await
            .unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::from_clients(c.clone());
    let local = Store::new(Location::Local(dir.path().to_path_buf()), &aws);
    let target = ReportTarget {
        out: &local,
        history: &local.child("history"),
        trend_runs: infraqa_core::report::DEFAULT_TREND_RUNS,
    };
    produce(
        inventory,
        async { Ok(findings) },
        &policy,
        target,
        &aws,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("report.json")).unwrap(),
        object(&c, &bucket, &format!("{run}/report.json"))
            .await
            .unwrap()
    );
}

/// The scanner with five seconds to its deadline (less than the write margin: no unit may
/// start), and the inventory it wrote.
async fn scan_with_five_seconds_left(
    c: &AwsClients,
    suite: &Suite,
    request: ScanRequest,
) -> (events::ScanDone, infraqa_core::Inventory) {
    let deadline = SystemTime::now() + Duration::from_secs(5);
    let done = scanner::scan(suite, request, Some(deadline)).await.unwrap();
    let key = format!("runs/{}/inventory.json", done.run_id);
    let bytes = object(c, &suite.config.bucket, &key).await.unwrap();
    (done, infraqa_core::document::inventory(&bytes).unwrap())
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_scan_that_meets_its_deadline_writes_a_partial_inventory_naming_what_it_missed() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let (suite, _) = suite(
        &c,
        "[scan]\nregions = [\"us-east-1\", \"eu-west-1\"]\n",
        &account.account_id,
    )
    .await;
    let request: ScanRequest = serde_json::from_str(r#"{"regions": ["eu-west-1"]}"#).unwrap();
    // Less time than the write margin: no unit may start.
    let (done, inventory) = scan_with_five_seconds_left(&c, &suite, request).await;
    assert!(done.partial);
    assert_eq!(inventory.regions, ["eu-west-1"]);
    let missed = infraqa_tests::deadline_misses(&inventory);
    for unit in [
        ("iam", "global"),
        ("s3control", "global"),
        ("s3", "eu-west-1"),
        ("ec2", "eu-west-1"),
        ("tagging", "eu-west-1"),
    ] {
        let unit = (unit.0.to_owned(), unit.1.to_owned());
        assert!(missed.contains(&unit), "{unit:?} missing from {missed:?}");
    }
    assert!(inventory.resources.is_empty());

    // A payload that names no region is refused as bad input, not retried.
    let err = scanner::scan(
        &suite,
        serde_json::from_str(r#"{"regions": []}"#).unwrap(),
        None,
    )
    .await
    .unwrap_err();
    assert!(!err.retryable, "{err}");

    // The stack's Regions parameter (INFRAQA_REGIONS) stands in for the policy's regions when
    // the payload names none.
    let mut configured = suite.clone();
    configured.config.regions = Some(vec!["eu-west-1".to_owned()]);
    let (_, inventory) = scan_with_five_seconds_left(&c, &configured, ScanRequest::default()).await;
    assert_eq!(inventory.regions, ["eu-west-1"]);
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_validator_audits_each_queued_event_once_and_returns_a_poison_one() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let (suite, _) = suite(&c, "[tags]\nrequired = [\"Owner\"]\n", &account.account_id).await;
    let volume = c
        .ec2(PRIMARY_REGION)
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    let event = cloudtrail_event(
        "CreateVolume",
        &volume,
        &account.account_id,
        PRIMARY_REGION,
        chrono::Utc::now(),
        "ev-queued",
    )
    .unwrap();
    let batch = |body: &str, id: &str| -> SqsEvent {
        serde_json::from_str(&sqs_message(body, id, &account.account_id, PRIMARY_REGION).unwrap())
            .unwrap()
    };
    let response = validator::handle(&suite, &batch(&event, "m-1")).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let response = validator::handle(&suite, &batch(&event, "m-2")).await;
    assert!(response.batch_item_failures.is_empty());
    let log = keys(&c, &suite.config.bucket, "audit-log/").await;
    assert_eq!(log.len(), 1, "one audit entry for two deliveries: {log:?}");
    assert!(
        log[0].starts_with("audit-log/event-2") && log[0].ends_with("-ev-queued.jsonl"),
        "named by the event's time and id: {log:?}"
    );
    let entry =
        String::from_utf8(object(&c, &suite.config.bucket, &log[0]).await.unwrap()).unwrap();
    assert!(
        entry.contains("\"outcome\":\"flagged\"") && entry.contains("tags-required"),
        "{entry}"
    );

    let poison = batch("{\"detail-type\": \"not json", "m-poison");
    let response = validator::handle(&suite, &poison).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(response.batch_item_failures[0].item_identifier, "m-poison");
}

/// A run of `inventory` through the checker and the reporter as of its own time.
async fn report_run(
    suite: &Suite,
    inventory: &infraqa_core::Inventory,
    run_id: &str,
) -> Vec<events::Step> {
    let run = suite.run(run_id);
    infraqa_pipeline::report::put_json(&run, "inventory.json", inventory)
        .await
        .unwrap();
    let bucket = &suite.config.bucket;
    let at = inventory.generated_at;
    let key = |name: &str| format!("runs/{run_id}/{name}");
    checker::check_runs(suite, &s3_event(bucket, &key("inventory.json")), at)
        .await
        .unwrap();
    reporter::report_runs(suite, &s3_event(bucket, &key("findings.json")), at)
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_first_report_of_a_quarter_writes_the_previous_quarters_audit_pack_once() {
    use chrono::TimeZone;
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let policy = infraqa_core::synthetic::POLICY;
    let (suite, _) = suite(&c, policy, &account.account_id).await;
    let bucket = suite.config.bucket.clone();
    let day = |m, d| {
        chrono::Utc
            .with_ymd_and_hms(2026, m, d, 6, 0, 0)
            .single()
            .unwrap()
    };
    let inventory = |m, d| infraqa_core::synthetic::inventory(30, day(m, d));

    // A run in September: the quarter before has no run, so no pack.
    let steps = report_run(&suite, &inventory(9, 20), "20260920T060000.000Z").await;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(keys(&c, &bucket, "audits/").await.is_empty());

    // The first run of October writes July to September's pack, every file of it.
    let steps = report_run(&suite, &inventory(10, 2), "20261002T060000.000Z").await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(
        steps[1].outcome.contains("2026-07-01 to 2026-09-30"),
        "{steps:?}"
    );
    let pack = keys(&c, &bucket, "audits/").await;
    assert_eq!(
        pack,
        [
            "audits/audit-2026-07-01-2026-09-30.html",
            "audits/audit-2026-07-01-2026-09-30.json",
            "audits/audit-2026-07-01-2026-09-30.md",
            "audits/audit-findings-2026-07-01-2026-09-30.csv",
        ]
    );
    let export: infraqa_core::pack::AuditExport = serde_json::from_slice(
        &object(&c, &bucket, "audits/audit-2026-07-01-2026-09-30.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(export.runs.len(), 1, "the September run only");
    assert!(export.evidence_retention.is_some());

    // Later runs of the quarter find it there.
    let steps = report_run(&suite, &inventory(10, 3), "20261003T060000.000Z").await;
    assert_eq!(steps.len(), 1, "{steps:?}");

    // A manual invoke writes the pack of the period it names.
    let event: events::ReporterEvent =
        serde_json::from_str(r#"{"audit": {"from": "2026-09-01", "to": "2026-10-31"}}"#).unwrap();
    let steps = reporter::handle(&suite, &event, day(11, 1)).await.unwrap();
    assert!(
        steps[0].outcome.contains("audit-2026-09-01-2026-10-31.md"),
        "{steps:?}"
    );
    let md = String::from_utf8(
        object(&c, &bucket, "audits/audit-2026-09-01-2026-10-31.md")
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(md.contains("3 run(s) of 1 account(s)"), "{md}");
    // A period that ends before it starts is bad input, not retried.
    let reversed: events::ReporterEvent =
        serde_json::from_str(r#"{"audit": {"from": "2026-10-31", "to": "2026-09-01"}}"#).unwrap();
    let err = reporter::handle(&suite, &reversed, day(11, 1))
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err}");
}

/// The handlers in-process, as the state machine's definition calls them.
struct InProcess {
    suite: Suite,
    s3: aws_sdk_s3::Client,
}

impl infraqa_tests::state_machine::Functions for InProcess {
    fn invoke(
        &mut self,
        function: &str,
        payload: serde_json::Value,
    ) -> futures_util::future::BoxFuture<'_, Result<serde_json::Value, String>> {
        use infraqa_lambda::events::{ChainEvent, RunRequest, ShardRequest};
        let function = function.to_owned();
        Box::pin(async move {
            let now = chrono::Utc::now();
            let suite = &self.suite;
            let json =
                |v: Result<serde_json::Value, serde_json::Error>| v.map_err(|e| e.to_string());
            let read = |what: &str| format!("{function} cannot read its payload as {what}");
            match function.as_str() {
                "scanner" => {
                    let event = serde_json::from_value(payload)
                        .map_err(|e| format!("{}: {e}", read("a scanner event")))?;
                    let done = scanner::handle(suite, event, None, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    json(serde_json::to_value(done))
                }
                "checker" => {
                    let event: ChainEvent<ShardRequest> = serde_json::from_value(payload)
                        .map_err(|e| format!("{}: {e}", read("a shard")))?;
                    let done = checker::handle(suite, &event, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    json(serde_json::to_value(done))
                }
                "reporter" => {
                    let event: events::ReporterEvent = serde_json::from_value(payload)
                        .map_err(|e| format!("{}: {e}", read("a run")))?;
                    let done = reporter::handle(suite, &event, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    json(serde_json::to_value(done))
                }
                "tagger" => {
                    let event: ChainEvent<RunRequest> = serde_json::from_value(payload)
                        .map_err(|e| format!("{}: {e}", read("a run")))?;
                    let done = tagger::handle(suite, &event, now)
                        .await
                        .map_err(|e| e.to_string())?;
                    json(serde_json::to_value(done))
                }
                other => Err(format!("no function {other}")),
            }
        })
    }

    fn object(
        &mut self,
        bucket: &str,
        key: &str,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<u8>, String>> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        Box::pin(async move {
            infraqa_tests::objects::object(&self.s3, &bucket, &key)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The keys (rule, region, resource) of `findings`.
fn finding_keys(findings: &[infraqa_core::Finding]) -> std::collections::BTreeSet<String> {
    findings
        .iter()
        .map(|f| format!("{} {} {}", f.rule_id, f.region, f.resource_arn))
        .collect()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_state_machine_shards_an_organization_and_reports_each_account_as_one_scan_would() {
    use infraqa_core::organization::{AccountStatus, OrganizationSummary};
    use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
    use infraqa_tests::state_machine::Definition;
    let emulator = infraqa_tests::emulator::Emulator::from_env().unwrap();
    let management = emulator.fresh_account().await.unwrap();
    let members = management.create_organization(2).await.unwrap();
    // The first member: the demo estate (both regions, IAM, trails, buckets).
    let first = emulator.account(members[0].clone()).await.unwrap();
    let first_clients = first.clients().await;
    let estate = seed_demo_estate(&first_clients).await.unwrap();
    // The second member's role cannot be assumed.
    let denied = Fault {
        service: Some("sts".into()),
        ..Fault::on("AssumeRole", FaultAction::AccessDenied)
    }
    .with_body(&members[1]);
    let proxy = FaultProxy::start(emulator.url(), vec![denied])
        .await
        .unwrap();
    let mut options = management.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    let c = AwsClients::load(options).await;
    // The demo policy (every rule, both regions), over the organization, with a default
    // project tag for buckets that lack one.
    let policy = format!(
        "{}\n[accounts]\nids = \"organization\"\n\n\
         [[tagging.defaults]]\ntypes = [\"s3:bucket\"]\ntags = {{ Project = \"unassigned\" }}\n",
        estate.policy_toml()
    );
    // The reporter imports each reached account's findings into that account's Security Hub.
    let (suite, _alerts) = suite_with(
        &c,
        &policy,
        &management.account_id,
        &[("INFRAQA_SECURITY_HUB", "true")],
    )
    .await;
    let bucket = suite.config.bucket.clone();

    let definition = Definition::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.."
    )))
    .unwrap();
    let mut functions = InProcess {
        suite: suite.clone(),
        s3: c.s3(PRIMARY_REGION),
    };
    let input = serde_json::json!({"max_concurrency": 4, "tolerated_failure_percentage": 0});
    let (out, trace) = definition.run(input, &mut functions).await.unwrap();

    // Three accounts, each its global services and two regions.
    assert_eq!(out["plan"]["shards"], 9, "{out}");
    let run_id = out["plan"]["run_id"].as_str().unwrap().to_owned();
    let shard_scans: Vec<_> = trace
        .calls
        .iter()
        .filter(|(f, p, _)| f == "scanner" && p.get("shard").is_some())
        .collect();
    assert_eq!(shard_scans.len(), 9);
    for (_, payload, answer) in &shard_scans {
        let reached = answer.as_ref().unwrap()["reached"].as_bool().unwrap();
        assert_eq!(
            reached,
            payload["shard"]["account"] != members[1].as_str(),
            "{payload} {answer:?}"
        );
    }
    assert_eq!(trace.failed_items, 0);

    // The summary: two complete accounts, the third named with why.
    let summary: OrganizationSummary = serde_json::from_slice(
        &object(&c, &bucket, &format!("runs/{run_id}/organization.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let status = |id: &str| {
        summary
            .accounts
            .iter()
            .find(|a| a.account_id == id)
            .map(|a| a.status)
    };
    assert_eq!(
        status(&management.account_id),
        Some(AccountStatus::Complete)
    );
    assert_eq!(status(&members[0]), Some(AccountStatus::Complete));
    assert_eq!(status(&members[1]), Some(AccountStatus::Unreachable));
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
    assert_eq!(summary.errors[0].operation, "AssumeRole");
    assert_eq!(summary.errors[0].code, "AccessDenied");
    let history = keys(&c, &bucket, "history/").await;
    let entries = history
        .iter()
        .filter(|k| {
            !k.ends_with(".inventory.json.gz")
                && !k.contains("/organization/")
                && !k.contains("/security-hub/")
        })
        .count();
    assert_eq!(entries, 2, "one per account reported: {history:?}");
    // What each reached account's Security Hub holds is kept for its next run.
    for id in [&management.account_id, &members[0]] {
        assert!(
            history.contains(&format!("history/security-hub/{id}.json")),
            "{history:?}"
        );
    }

    // The first member's report, joined from its shards, finds what one scan and one check of
    // the same regions find: no finding more, none fewer.
    let report = infraqa_core::document::report(
        &object(
            &c,
            &bucket,
            &format!("runs/{run_id}/{}/report.json", members[0]),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(!report.partial);
    let parsed = infraqa_core::Policy::from_toml(&policy, "policy").unwrap();
    let whole = infraqa_aws::scan::scan(
        &first_clients,
        &parsed.scan.regions,
        &parsed,
        &infraqa_aws::scan::Quiet,
    )
    .await
    .unwrap();
    assert!(whole.errors.is_empty(), "{:?}", whole.errors);
    let checked = infraqa_core::check::check(&whole, &parsed, chrono::Utc::now());
    assert!(!checked.findings.is_empty());
    assert_eq!(
        finding_keys(&report.findings),
        finding_keys(&checked.findings)
    );
    assert_eq!(report.summary.total_resources, whole.resources.len());
    let orphan_keys = |orphans: &[infraqa_core::orphans::Orphan]| -> Vec<String> {
        orphans
            .iter()
            .map(|o| format!("{:?} {}", o.kind, o.resource_arn))
            .collect()
    };
    assert_eq!(orphan_keys(&report.orphans), orphan_keys(&checked.orphans));
    assert_eq!(report.exempted.len(), checked.exempted.len());
    assert_eq!(report.not_evaluated.len(), checked.not_evaluated.len());

    // The member's findings went to the member's own Security Hub (global ones to the home
    // region's), every one active; none to the management account's.
    let expected: std::collections::BTreeSet<String> = report
        .findings
        .iter()
        .map(|f| {
            infraqa_core::export::record_id(f.rule_id, &members[0], &f.region, &f.resource_arn)
        })
        .collect();
    let held = |account: &infraqa_tests::emulator::TestAccount| {
        let mut all = std::collections::BTreeMap::new();
        for region in [PRIMARY_REGION, infraqa_tests::seed::SECONDARY_REGION] {
            all.extend(crate::securityhub::hub(account, region));
        }
        all
    };
    let member_hub = held(&first);
    assert_eq!(
        member_hub
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    assert!(member_hub.values().all(|h| h.state == "ACTIVE"));
    assert!(
        held(&management).keys().all(|id| !expected.contains(id)),
        "each account imports its own findings"
    );

    // Tag plans for the reported accounts; nothing for the one not reached.
    let tagged = &out["tag"]["accounts"];
    assert_eq!(tagged[&members[1]], "not reported: nothing to tag", "{out}");
    for id in [&management.account_id, &members[0]] {
        assert!(tagged[id].as_str().unwrap().starts_with("planned"), "{out}");
        object(&c, &bucket, &format!("runs/{run_id}/{id}/tag-plan.json"))
            .await
            .unwrap();
    }

    // A retried report step reports nothing twice and writes the same summary.
    let again: events::ReporterEvent =
        serde_json::from_value(serde_json::json!({"organization_run": run_id})).unwrap();
    reporter::handle(&suite, &again, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(keys(&c, &bucket, "history/").await, history);
    let retried: OrganizationSummary = serde_json::from_slice(
        &object(&c, &bucket, &format!("runs/{run_id}/organization.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(retried.accounts, summary.accounts);
    // The organization's own history: one entry for the run, replaced by the retry.
    let kept = keys(&c, &bucket, "history/organization/").await;
    assert_eq!(kept, [format!("history/organization/{run_id}.json")]);
    for name in ["organization.md", "organization.html", "organization.csv"] {
        object(&c, &bucket, &format!("runs/{run_id}/{name}"))
            .await
            .unwrap();
    }
    // latest-organization.json names the run's summary files, each of them there.
    let latest: infraqa_pipeline::latest::Latest = serde_json::from_slice(
        &object(&c, &bucket, "latest-organization.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(latest.run_id, run_id);
    for key in latest.files.values() {
        object(&c, &bucket, key).await.unwrap();
    }

    // In apply mode the tagger writes a member's tags in that member, through its role.
    let untagged: Vec<&str> = estate
        .resources
        .iter()
        .filter(|r| r.resource_type.to_string() == "s3:bucket" && !r.tags.contains_key("Project"))
        .map(|r| r.id.as_str())
        .collect();
    assert!(!untagged.is_empty());
    let mut applying = suite.clone();
    applying.config.tagger_mode = infraqa_lambda::config::TaggerMode::Apply;
    c.s3(PRIMARY_REGION)
        .delete_object()
        .bucket(&bucket)
        .key(format!("runs/{run_id}/{}/tag-plan.json", members[0]))
        .send()
        .await
        .unwrap();
    let tagged = tagger::tag_run(&applying, &run_id, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        tagged.accounts[&management.account_id], "duplicate: tag-plan.json exists",
        "{tagged:?}"
    );
    assert_eq!(
        tagged.accounts[&members[1]], "not reported: nothing to tag",
        "{tagged:?}"
    );
    let wrote = &tagged.accounts[&members[0]];
    assert!(wrote.starts_with("wrote tags on "), "{tagged:?}");
    let member_s3 = first_clients.s3(PRIMARY_REGION);
    for name in &untagged {
        let tags = member_s3
            .get_bucket_tagging()
            .bucket(*name)
            .send()
            .await
            .unwrap();
        assert!(
            tags.tag_set()
                .iter()
                .any(|t| t.key() == "Project" && t.value() == "unassigned"),
            "{name}: {tags:?}"
        );
    }
}

#[test]
fn the_state_machine_retries_exactly_the_errors_the_handlers_call_retryable() {
    let definition = infraqa_tests::state_machine::Definition::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.."
    )))
    .unwrap();
    let text = definition.json().to_string();
    let error = |retryable| infraqa_lambda::HandlerError {
        retryable,
        message: String::new(),
    };
    assert!(text.contains(error(true).error_type()));
    assert!(!text.contains(error(false).error_type()));
}

/// Step Functions' limits on a Distributed Map run, as its documentation gives them: a child
/// execution's input (one item, selected) at most 256 KiB, at most 10,000 child executions at
/// once.
const MAX_PAYLOAD: usize = 256 * 1024;
const MAX_DISTRIBUTED_CONCURRENCY: u64 = 10_000;

/// A number parameter's bound in template.yaml (`MinValue`, `MaxValue`) under `name:`.
fn template_bound(template: &str, name: &str, bound: &str) -> u64 {
    let block = template
        .split(&format!("\n  {name}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    block
        .lines()
        .take_while(|l| l.starts_with("    "))
        .find_map(|l| l.trim().strip_prefix(&format!("{bound}: ")))
        .unwrap_or_else(|| panic!("{name} has no {bound}"))
        .parse()
        .unwrap()
}

#[test]
fn the_shard_plan_of_1000_accounts_in_4_regions_fits_the_distributed_maps_limits() {
    let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let definition = infraqa_tests::state_machine::Definition::load(workspace).unwrap();
    let map = &definition.json()["States"]["Shards"];
    // (Loaded with the partition substituted.) The items are read from the plan in S3, never carried in the execution's own input or
    // output (whose 256 KiB would hold about 700 of them), and each child returns nothing.
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        map["ItemReader"]["Resource"],
        "arn:aws:states:::s3:getObject"
    );
    assert_eq!(map["ItemReader"]["ReaderConfig"]["InputType"], "JSON");
    assert!(map["ResultPath"].is_null() && map.get("ResultPath").is_some());
    let check = &map["ItemProcessor"]["States"]["Check"];
    assert!(check["OutputPath"].is_null() && check.get("OutputPath").is_some());
    // Concurrency and tolerated failures come from the stack's parameters, bounded there.
    assert_eq!(map["MaxConcurrencyPath"], "$.max_concurrency");
    assert_eq!(
        map["ToleratedFailurePercentagePath"],
        "$.tolerated_failure_percentage"
    );
    let template = std::fs::read_to_string(workspace.join("template.yaml")).unwrap();
    assert!(template_bound(&template, "MaxConcurrency", "MinValue") >= 1);
    assert!(template_bound(&template, "MaxConcurrency", "MaxValue") <= MAX_DISTRIBUTED_CONCURRENCY);
    assert_eq!(
        template_bound(&template, "ToleratedFailurePercentage", "MaxValue"),
        100
    );

    // 1,000 accounts in 4 regions: a global shard and 4 regional ones each.
    let accounts: Vec<String> = (0..1000)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    let regions: Vec<String> = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
        .map(str::to_owned)
        .to_vec();
    let plan = infraqa_pipeline::shards::plan("20261207T060000.000Z", &accounts, &regions, true);
    assert_eq!(plan.len(), 5_000);
    let mut file = Vec::new();
    infraqa_report::write_json(&plan, &mut file).unwrap();
    let largest = plan
        .iter()
        .map(|shard| {
            serde_json::to_vec(&serde_json::json!({ "shard": shard }))
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    assert!(largest < MAX_PAYLOAD / 100, "{largest} bytes");
    eprintln!(
        "shards.json for 1,000 accounts x 4 regions: {} items, {} bytes; the largest child input {largest} bytes",
        plan.len(),
        file.len()
    );
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_global_shard_names_each_region_enabled_in_its_account_that_the_plan_left_out() {
    use infraqa_pipeline::shards::{ShardOutcome, scan_into};
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(
        Location::Local(dir.path().to_path_buf()),
        &Aws::from_clients(c.clone()),
    );
    let policy = infraqa_core::Policy::from_toml("", "policy.toml").unwrap();
    let planned = vec![PRIMARY_REGION.to_owned()];
    let shard = infraqa_pipeline::shards::plan(
        "20261207T060000.000Z",
        std::slice::from_ref(&account.account_id),
        &planned,
        true,
    )
    .remove(0);
    assert_eq!(shard.region, "global");
    let outcome = scan_into(
        &store,
        Ok(c.clone()),
        &shard,
        &policy,
        &infraqa_aws::scan::Quiet,
        None,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, ShardOutcome::Read { .. }), "{outcome:?}");
    let inventory = infraqa_core::document::inventory(
        &std::fs::read(dir.path().join("inventory.json")).unwrap(),
    )
    .unwrap();
    let enabled = infraqa_aws::scan::enabled_regions(&c, PRIMARY_REGION)
        .await
        .unwrap();
    let named: Vec<&str> = inventory
        .errors
        .iter()
        .filter(|e| e.code == "NotPlanned")
        .map(|e| e.region.as_str())
        .collect();
    let left_out: Vec<&str> = enabled
        .iter()
        .map(String::as_str)
        .filter(|r| *r != PRIMARY_REGION)
        .collect();
    assert!(!left_out.is_empty());
    assert_eq!(named, left_out);
    // Nothing of a region left out counts as read.
    assert!(inventory.could_not_read(left_out[0], "ec2"));
    assert!(!inventory.could_not_read(PRIMARY_REGION, "ec2"));
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn latest_names_the_newest_inventorys_run_even_when_an_older_one_is_reported_last() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let estate = seed_demo_estate(&c).await.unwrap();
    let (suite, _alerts) = suite(&c, &estate.policy_toml(), &account.account_id).await;
    let bucket = suite.config.bucket.clone();
    let now = chrono::Utc::now();
    // Two scans; the older one's report comes last (a retried or late delivery).
    let mut runs = Vec::new();
    for _ in 0..2 {
        let scanned = scanner::scan(&suite, ScanRequest::default(), None)
            .await
            .unwrap();
        let run = format!("runs/{}", scanned.run_id);
        checker::check_runs(
            &suite,
            &s3_event(&bucket, &format!("{run}/inventory.json")),
            now,
        )
        .await
        .unwrap();
        runs.push((scanned.run_id, run));
    }
    let latest = || async {
        serde_json::from_slice::<infraqa_pipeline::latest::Latest>(
            &object(&c, &bucket, "latest.json").await.unwrap(),
        )
        .unwrap()
    };
    for (i, expected) in [(1, 1), (0, 1)] {
        let reported = reporter::report_runs(
            &suite,
            &s3_event(&bucket, &format!("{}/findings.json", runs[i].1)),
            now,
        )
        .await
        .unwrap();
        assert_eq!(latest().await.run_id, runs[expected].0, "{reported:?}");
        if i == 0 {
            assert!(
                reported[0]
                    .outcome
                    .contains("latest.json names a newer run"),
                "{reported:?}"
            );
        }
    }
    let newest = latest().await;
    assert_eq!(
        newest.files["report.html"],
        format!("{}/report.html", runs[1].1)
    );
    assert!(newest.inventory_generated_at > chrono::DateTime::<chrono::Utc>::MIN_UTC);
}

/// The golden report with `n` critical findings, all new (a first run).
fn report_with_criticals(n: usize) -> infraqa_core::report::Report {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/infraqa-report/tests/golden/report.json"
    );
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let one = v["findings"][0].clone();
    v["findings"] = (0..n)
        .map(|i| {
            let mut f = one.clone();
            f["severity"] = "critical".into();
            f["resource_arn"] = format!("arn:aws:s3:::bucket-{i:05}").into();
            f["message"] = "a policy grants s3:* to everyone, including anonymous callers".into();
            f
        })
        .collect();
    v["summary"]["by_severity"] = serde_json::json!({ "critical": n });
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn an_alert_carries_the_run_the_counts_and_the_link_and_stays_one_small_message() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let alerts = watched_topic(&c, PRIMARY_REGION, "infraqa-alerts")
        .await
        .unwrap();
    let link =
        "https://console.aws.amazon.com/s3/object/b?region=us-east-1&prefix=runs/r1/report.html";
    for n in [3, 5_000] {
        let report = report_with_criticals(n);
        let criticals = reporter::new_criticals(&report);
        let (subject, body) = reporter::alert_text(&report, &criticals, "r1", link);
        infraqa_aws::alerts::publish(&c, &alerts.topic, &subject, body)
            .await
            .unwrap();
        let got = alerts.received().await.unwrap();
        assert_eq!(got.len(), 1, "one message for {n} findings");
        let body = got[0]["Message"].as_str().unwrap();
        assert!(
            got[0]["Subject"]
                .as_str()
                .unwrap()
                .contains(&format!("{n} new critical")),
            "{:?}",
            got[0]["Subject"]
        );
        assert!(body.starts_with("Run r1, account "), "{body}");
        assert!(body.contains(&format!("Report: {link}")), "{body}");
        assert!(
            body.contains(&format!("Findings: {n} ({n} critical")),
            "{body}"
        );
        let listed = body.matches("\n- resource: ").count();
        if n == 3 {
            assert_eq!(listed, 3);
            assert!(!body.contains("more new critical"), "{body}");
        } else {
            assert_eq!(listed, 50);
            assert!(
                body.contains(&format!(
                    "...and {} more new critical finding(s)",
                    n - listed
                )),
                "{body}"
            );
            assert!(body.trim_end().ends_with(link), "{body}");
        }
        // SNS takes 256 KB; an e-mail a person reads takes far less.
        assert!(body.len() < 80 * 1024, "{} bytes", body.len());
    }
}
