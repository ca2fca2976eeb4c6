//! The real function binaries against the Lambda runtime API of `cargo lambda watch`, and the
//! emulator behind them: the scanner invoked as the schedule does, the checker, reporter and
//! tagger with the S3 events their input objects produce, the validator with a queued
//! CloudTrail event, a duplicate delivery that changes nothing, the metrics and the alert read
//! back, and a scan cut short by its time that still writes a partial inventory.
//!
//! The binaries are the workspace build's (`make test` and `make e2e` build them first), run by
//! [`Runtime`]: the very binaries the workspace builds rather than a second build with another
//! feature set. Runs when `INFRAQA_E2E=1` with cargo-lambda on the PATH; otherwise it says why
//! it did not run.

use crate::fresh_account;
use infraqa_tests::events::{cloudtrail_event, s3_object_created, scheduled_event, sqs_message};
use infraqa_tests::objects::{keys, object};
use infraqa_tests::runtime::{Runtime, binaries};
use infraqa_tests::seed::{PRIMARY_REGION, seed_demo_estate};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[tokio::test]
#[ignore = "needs the emulator and cargo-lambda: run `make test` or `make e2e`"]
async fn the_built_binaries_run_the_chain_against_the_lambda_runtime_api() {
    if std::env::var("INFRAQA_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set INFRAQA_E2E=1 with cargo-lambda on the PATH (make e2e does)");
        return;
    }
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let estate = seed_demo_estate(&c).await.unwrap();
    let bucket = format!("infraqa-e2e-{}", account.account_id);
    let s3 = c.s3(PRIMARY_REGION);
    infraqa_tests::objects::suite_bucket(&s3, &bucket, &estate.policy_toml())
        .await
        .unwrap();
    let alerts = infraqa_tests::alerts::watched_topic(&c, PRIMARY_REGION, "infraqa-alerts")
        .await
        .unwrap();

    let mut runtime = Runtime::start(
        std::path::Path::new(WORKSPACE),
        [
            ("INFRAQA_BUCKET".into(), bucket.clone()),
            ("INFRAQA_ALERT_TOPIC".into(), alerts.topic.clone()),
            ("INFRAQA_GRACE_SECONDS".into(), "0".into()),
        ]
        .into_iter()
        .chain(account.environment(PRIMARY_REGION))
        .collect(),
    )
    .unwrap();
    let bin = binaries().unwrap();
    for name in [
        "infraqa-scanner",
        "infraqa-checker",
        "infraqa-reporter",
        "infraqa-tagger",
        "infraqa-validator",
    ] {
        runtime.function(&bin, name, 512, &[]).unwrap();
    }

    // The schedule's payload is an EventBridge scheduled event; the scanner ignores its fields.
    let schedule = scheduled_event(&account.account_id, PRIMARY_REGION).unwrap();
    let scanned = runtime.invoke("infraqa-scanner", &schedule).unwrap();
    assert_eq!(scanned["partial"], false, "{scanned}");
    let run = format!("runs/{}", scanned["run_id"].as_str().unwrap());
    for (function, file) in [
        ("infraqa-checker", "inventory.json"),
        ("infraqa-reporter", "findings.json"),
        ("infraqa-tagger", "report.json"),
    ] {
        let event = s3_object_created(&bucket, &format!("{run}/{file}"), PRIMARY_REGION).unwrap();
        let steps = runtime.invoke(function, &event).unwrap();
        let outcome = steps[0]["outcome"].as_str().unwrap();
        assert!(!outcome.starts_with("duplicate"), "{function}: {steps}");
    }
    let objects = keys(&s3, &bucket, "runs/").await.unwrap();
    for name in [
        "inventory.json",
        "findings.json",
        "report.json",
        "report.html",
        "alert.json",
        "tag-plan.json",
    ] {
        assert!(
            objects.contains(&format!("{run}/{name}")),
            "{name}: {objects:?}"
        );
    }
    // One history entry, and the run's inventory kept beside it (for backtests).
    let history = keys(&s3, &bucket, "history/").await.unwrap();
    assert!(infraqa_tests::objects::one_run(&history), "{history:?}");

    // The report's figures in CloudWatch, and one alert naming each critical finding.
    let report: infraqa_core::report::Report = serde_json::from_slice(
        &object(&s3, &bucket, &format!("{run}/report.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let metrics = infraqa_tests::metrics::latest(
        &c,
        PRIMARY_REGION,
        &account.account_id,
        &["ComplianceScore", "ResourcesScanned"],
        report.generated_at,
    )
    .await
    .unwrap();
    assert_eq!(
        metrics.get("ComplianceScore"),
        Some(&report.summary.compliance_score)
    );
    assert_eq!(
        metrics.get("ResourcesScanned"),
        Some(&(report.summary.total_resources as f64))
    );
    let criticals = report
        .findings
        .iter()
        .filter(|f| f.severity == infraqa_core::Severity::Critical)
        .count();
    let received = alerts.received().await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = received[0]["Message"].as_str().unwrap();
    assert_eq!(message.matches("\n- resource: ").count(), criticals);

    // A duplicate delivery of the findings' event changes nothing.
    let event =
        s3_object_created(&bucket, &format!("{run}/findings.json"), PRIMARY_REGION).unwrap();
    let again = runtime.invoke("infraqa-reporter", &event).unwrap();
    let outcome = again[0]["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("duplicate"), "{again}");
    assert_eq!(
        keys(&s3, &bucket, "history/").await.unwrap(),
        history,
        "no second history entry"
    );
    assert!(
        alerts.received().await.unwrap().is_empty(),
        "no second alert"
    );

    // The validator with a queued CloudTrail event about a role anyone may assume.
    let role = estate
        .resources
        .iter()
        .find(|r| r.name == "open-trust")
        .map(|r| r.id.clone())
        .unwrap();
    let body = cloudtrail_event(
        "UpdateAssumeRolePolicy",
        &role,
        &account.account_id,
        PRIMARY_REGION,
        chrono::Utc::now(),
        "ev-e2e",
    )
    .unwrap();
    let batch = sqs_message(&body, "m-e2e", &account.account_id, PRIMARY_REGION).unwrap();
    let response = runtime.invoke("infraqa-validator", &batch).unwrap();
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([]),
        "{response}"
    );
    let logged = keys(&s3, &bucket, "audit-log/").await.unwrap();
    let key = logged
        .iter()
        .find(|k| k.ends_with("-ev-e2e.jsonl"))
        .unwrap_or_else(|| panic!("no audit file for ev-e2e: {logged:?}"));
    let audit = object(&s3, &bucket, key).await;
    let text = String::from_utf8(audit.unwrap()).unwrap();
    assert!(
        text.contains("\"outcome\":\"flagged\"") && text.contains("iam-least-privilege"),
        "{text}"
    );

    // A scanner with no time to scan (a zero budget) still writes its inventory, partial,
    // naming every unit it did not read.
    runtime.stop("infraqa-scanner");
    runtime
        .function(
            &bin,
            "infraqa-scanner",
            512,
            &[("INFRAQA_SCAN_BUDGET_SECONDS", "0")],
        )
        .unwrap();
    let cut = runtime
        .invoke("infraqa-scanner", r#"{"regions": ["eu-west-1"]}"#)
        .unwrap();
    assert_eq!(cut["partial"], true, "{cut}");
    assert_eq!(cut["resources"], 0, "{cut}");
    let key = cut["inventory"].as_str().unwrap();
    let key = key.trim_start_matches(&format!("s3://{bucket}/"));
    let inventory =
        infraqa_core::document::inventory(&object(&s3, &bucket, key).await.unwrap()).unwrap();
    let missed = infraqa_tests::deadline_misses(&inventory);
    for (service, region) in [("ec2", "eu-west-1"), ("iam", "global")] {
        let unit = (service.to_owned(), region.to_owned());
        assert!(missed.contains(&unit), "{unit:?} missing from {missed:?}");
    }

    // A bad configuration value: the function keeps serving, and each invocation's error is a
    // ConfigError naming the variable and what it expects; its log says so once, as JSON.
    runtime.stop("infraqa-validator");
    runtime
        .function(
            &bin,
            "infraqa-validator",
            512,
            &[("INFRAQA_GRACE_SECONDS", "soon")],
        )
        .unwrap();
    for _ in 0..2 {
        let err = runtime
            .invoke("infraqa-validator", r#"{"Records": []}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ConfigError") && err.contains("INFRAQA_GRACE_SECONDS"),
            "{err}"
        );
        assert!(err.contains("whole number from 0 to 86400"), "{err}");
    }
    let log = runtime.log("infraqa-validator");
    let line = log
        .lines()
        .find(|l| l.contains("configuration is wrong"))
        .unwrap_or_else(|| panic!("no configuration error in the log:\n{log}"));
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(
        line["fields"]["variable"], "INFRAQA_GRACE_SECONDS",
        "{line}"
    );
}

/// The built binaries behind the state machine's definition.
struct Binaries<'r> {
    runtime: &'r Runtime,
    s3: aws_sdk_s3::Client,
}

impl infraqa_tests::state_machine::Functions for Binaries<'_> {
    fn invoke(
        &mut self,
        function: &str,
        payload: serde_json::Value,
    ) -> futures_util::future::BoxFuture<'_, Result<serde_json::Value, String>> {
        let answer = self
            .runtime
            .invoke(&format!("infraqa-{function}"), &payload.to_string())
            .map_err(|e| e.to_string());
        Box::pin(async move { answer })
    }

    fn object(
        &mut self,
        bucket: &str,
        key: &str,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<u8>, String>> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        Box::pin(async move {
            object(&self.s3, &bucket, &key)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[tokio::test]
#[ignore = "needs the emulator and cargo-lambda: run `make test` or `make e2e`"]
async fn the_built_binaries_run_the_state_machines_shards_against_the_lambda_runtime_api() {
    if std::env::var("INFRAQA_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set INFRAQA_E2E=1 with cargo-lambda on the PATH (make e2e does)");
        return;
    }
    let (emulator, management) = fresh_account().await;
    let members = management.create_organization(1).await.unwrap();
    let member = emulator.account(members[0].clone()).await.unwrap();
    let estate = seed_demo_estate(&member.clients().await).await.unwrap();
    let c = management.clients().await;
    let bucket = format!("infraqa-e2e-org-{}", management.account_id);
    let s3 = c.s3(PRIMARY_REGION);
    let policy = format!(
        "{}\n[accounts]\nids = \"organization\"\n",
        estate.policy_toml()
    );
    infraqa_tests::objects::suite_bucket(&s3, &bucket, &policy)
        .await
        .unwrap();
    let mut runtime = Runtime::start(
        std::path::Path::new(WORKSPACE),
        [("INFRAQA_BUCKET".into(), bucket.clone())]
            .into_iter()
            .chain(management.environment(PRIMARY_REGION))
            .collect(),
    )
    .unwrap();
    let bin = binaries().unwrap();
    for name in [
        "infraqa-scanner",
        "infraqa-checker",
        "infraqa-reporter",
        "infraqa-tagger",
    ] {
        runtime.function(&bin, name, 512, &[]).unwrap();
    }
    let definition =
        infraqa_tests::state_machine::Definition::load(std::path::Path::new(WORKSPACE)).unwrap();
    let input = serde_json::json!({"max_concurrency": 2, "tolerated_failure_percentage": 0});
    let (out, trace) = definition
        .run(
            input,
            &mut Binaries {
                runtime: &runtime,
                s3: s3.clone(),
            },
        )
        .await
        .unwrap();
    // Two accounts, each its global services and the policy's two regions.
    assert_eq!(out["plan"]["shards"], 6, "{out}");
    assert_eq!(trace.failed_items, 0);
    let run = format!("runs/{}", out["plan"]["run_id"].as_str().unwrap());
    let summary: infraqa_core::organization::OrganizationSummary = serde_json::from_slice(
        &object(&s3, &bucket, &format!("{run}/organization.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary.accounts.len(), 2, "{summary:?}");
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let objects = keys(&s3, &bucket, &format!("{run}/")).await.unwrap();
    for id in [&management.account_id, &members[0]] {
        for name in ["report.json", "report.html", "tag-plan.json"] {
            let key = format!("{run}/{id}/{name}");
            assert!(objects.contains(&key), "{key}: {objects:?}");
        }
        for shard in ["global", PRIMARY_REGION] {
            let key = format!("{run}/{id}/{shard}/findings.json");
            assert!(objects.contains(&key), "{key}: {objects:?}");
        }
    }
}
