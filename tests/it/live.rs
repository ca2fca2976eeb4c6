//! The deployed suite in a real AWS account, opt-in: with `INFRAQA_LIVE=1`, credentials for
//! the account where `sam deploy` put the stack (the standard chain: `AWS_PROFILE`,
//! `AWS_REGION`...) and `INFRAQA_LIVE_STACK` naming the stack (default `infraqa`), it invokes
//! the deployed scanner on the home region, as the console's manual invoke does, and waits for
//! the chain to write the run's report. It reads and writes only the suite's own bucket and
//! invokes only the suite's own function. It is ignored (`make test` skips it by name): run it
//! with `make live`; without `INFRAQA_LIVE=1` it fails saying what it needs.

use infraqa_aws::{AwsClients, AwsOptions};
use std::time::{Duration, Instant};

#[tokio::test]
#[ignore = "needs a deployed stack and a real AWS account's credentials: INFRAQA_LIVE=1 make live"]
async fn the_deployed_scanner_scans_the_real_account_and_the_chain_reports() {
    assert!(
        std::env::var("INFRAQA_LIVE").as_deref() == Ok("1"),
        "the live test invokes a deployed stack in a real AWS account: set INFRAQA_LIVE=1 with \
         that account's credentials (and INFRAQA_LIVE_STACK if the stack is not named infraqa)"
    );
    let stack = std::env::var("INFRAQA_LIVE_STACK").unwrap_or_else(|_| "infraqa".to_owned());
    // One attempt: a retried invoke would scan twice. The scanner may run its full timeout.
    let clients = AwsClients::load(AwsOptions {
        max_attempts: 1,
        attempt_timeout: Duration::from_secs(16 * 60),
        operation_timeout: Duration::from_secs(16 * 60),
        ..AwsOptions::default()
    })
    .await;
    let region = clients.require_home_region().unwrap().to_owned();
    let account = clients.account_id().await.unwrap();
    let lambda = aws_sdk_lambda::Client::new(clients.sdk_config());
    let out = lambda
        .invoke()
        .function_name(format!("{stack}-scanner"))
        .payload(aws_smithy_types::Blob::new(format!(
            r#"{{"regions": ["{region}"]}}"#
        )))
        .send()
        .await
        .unwrap();
    let payload = out
        .payload()
        .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
        .unwrap_or_default();
    assert!(
        out.function_error().is_none(),
        "the scanner failed: {payload}"
    );
    let done: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert!(
        done["resources"].as_u64().unwrap_or(0) > 0,
        "a real region has at least its default VPC: {done}"
    );

    // The checker and the reporter follow through S3 events.
    let bucket = format!("infraqa-{account}-{region}");
    let report = format!("runs/{}/report.json", done["run_id"].as_str().unwrap());
    let s3 = clients.s3(&region);
    let started = Instant::now();
    while s3
        .head_object()
        .bucket(&bucket)
        .key(&report)
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no s3://{bucket}/{report} five minutes after the scan: see the checker's and \
             reporter's logs and the FailedInvocations queue"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
