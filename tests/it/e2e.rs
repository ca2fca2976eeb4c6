//! The real function binaries under `cargo lambda watch`, against the emulator: the scanner
//! invoked as the schedule does, the checker, reporter and tagger with the S3 events their
//! input objects produce, the validator with a queued CloudTrail event, and a duplicate
//! delivery that changes nothing. Runs when `INFRAQA_E2E=1` (`make test` and `make e2e` set
//! it and put cargo-lambda on the PATH); otherwise it says why it did not run.

use crate::fresh_account;
use infraqa_tests::events::{cloudtrail_event, s3_object_created, sqs_message};
use infraqa_tests::seed::{PRIMARY_REGION, seed_demo_estate};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo lambda watch`, stopped when dropped.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Invokes `function` with `payload` through the watch server; returns its JSON answer.
fn invoke(port: u16, function: &str, payload: &str) -> serde_json::Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), payload).unwrap();
    let out = Command::new("cargo")
        .args([
            "lambda",
            "invoke",
            function,
            "--invoke-port",
            &port.to_string(),
        ])
        .args([
            "--data-file",
            file.path().to_str().unwrap(),
            "--output-format",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{function}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{function} answered {stdout}: {e}"))
}

#[tokio::test]
#[ignore = "needs the emulator and cargo-lambda: run `make test` or `make e2e`"]
async fn the_deployed_binaries_run_the_chain_under_cargo_lambda_watch() {
    if std::env::var("INFRAQA_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set INFRAQA_E2E=1 with cargo-lambda on the PATH (make e2e does)");
        return;
    }
    let (emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let estate = seed_demo_estate(&c).await.unwrap();
    let bucket = format!("infraqa-e2e-{}", account.account_id);
    let s3 = c.s3(PRIMARY_REGION);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("policy.toml")
        .body(estate.policy_toml().into_bytes().into())
        .send()
        .await
        .unwrap();

    let port = free_port();
    let creds = &account.credentials;
    let env = [
        format!("INFRAQA_BUCKET={bucket}"),
        "INFRAQA_GRACE_SECONDS=0".to_owned(),
        format!("AWS_ENDPOINT_URL={}", emulator.url()),
        format!("AWS_REGION={PRIMARY_REGION}"),
        format!("AWS_ACCESS_KEY_ID={}", creds.access_key_id()),
        format!("AWS_SECRET_ACCESS_KEY={}", creds.secret_access_key()),
        format!(
            "AWS_SESSION_TOKEN={}",
            creds.session_token().unwrap_or_default()
        ),
    ];
    let mut watch = Command::new("cargo");
    watch
        // --timeout is each invocation's deadline: the scanner plans its units by it.
        .args([
            "lambda",
            "watch",
            "--invoke-port",
            &port.to_string(),
            "--timeout",
            "300",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for e in &env {
        watch.args(["--env-var", e]);
    }
    let _watch = Watch(watch.spawn().unwrap());
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "cargo lambda watch did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The schedule's payload is an EventBridge scheduled event; the scanner ignores its fields.
    let scanned = invoke(
        port,
        "infraqa-scanner",
        r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-12-02T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/infraqa-daily"],"detail":{}}"#,
    );
    let run = format!("runs/{}", scanned["run_id"].as_str().unwrap());
    assert_eq!(scanned["partial"], false, "{scanned}");
    for (function, file) in [
        ("infraqa-checker", "inventory.json"),
        ("infraqa-reporter", "findings.json"),
        ("infraqa-tagger", "report.json"),
    ] {
        let event = s3_object_created(&bucket, &format!("{run}/{file}"), PRIMARY_REGION).unwrap();
        let steps = invoke(port, function, &event);
        assert!(
            !steps[0]["outcome"]
                .as_str()
                .unwrap()
                .starts_with("duplicate"),
            "{function}: {steps}"
        );
    }
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    for name in [
        "inventory.json",
        "findings.json",
        "report.json",
        "report.html",
        "tag-plan.json",
    ] {
        assert!(keys.contains(&format!("{run}/{name}")), "{name}: {keys:?}");
    }
    assert_eq!(keys.iter().filter(|k| k.starts_with("history/")).count(), 1);

    // A duplicate delivery of the findings' event changes nothing.
    let event =
        s3_object_created(&bucket, &format!("{run}/findings.json"), PRIMARY_REGION).unwrap();
    let again = invoke(port, "infraqa-reporter", &event);
    assert!(
        again[0]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("duplicate"),
        "{again}"
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
    let response = invoke(port, "infraqa-validator", &batch);
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([]),
        "{response}"
    );
    let audit = s3
        .get_object()
        .bucket(&bucket)
        .key("audit-log/event-ev-e2e.jsonl")
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(audit.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(
        text.contains("\"outcome\":\"flagged\"") && text.contains("iam-least-privilege"),
        "{text}"
    );
}
