//! `infraqa fetch` against the emulator: a stack whose outputs name the suite's bucket, the
//! reports the reporter left there, and `latest.json` naming them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::infraqa_as;
use infraqa_testkit::seed::PRIMARY_REGION;

const TEMPLATE: &str = r#"{
  "Resources": {"ReportsBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "BUCKET"}}},
  "Outputs": {"ReportsBucketName": {"Value": {"Ref": "ReportsBucket"}}}
}"#;

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn fetch_downloads_the_newest_runs_reports_from_the_stacks_bucket() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let clients = rt.block_on(account.clients());
    let bucket = format!("infraqa-fetch-{}", account.account_id);
    let stack = "infraqa-fetch";
    let s3 = clients.s3(PRIMARY_REGION);
    let put = |key: &str, body: &str| {
        rt.block_on(
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send(),
        )
        .unwrap();
    };
    rt.block_on(async {
        clients
            .cloudformation()
            .unwrap()
            .create_stack()
            .stack_name(stack)
            .template_body(TEMPLATE.replace("BUCKET", &bucket))
            .send()
            .await
            .unwrap();
    });
    // Two runs; latest.json names the second.
    for run in ["20261201T013000.000Z", "20261202T013000.000Z"] {
        for name in ["report.html", "report.md", "report.json", "findings.csv"] {
            put(&format!("runs/{run}/{name}"), &format!("{name} of {run}"));
        }
    }
    let files: Vec<(String, String)> = ["findings.csv", "report.html", "report.json", "report.md"]
        .iter()
        .map(|n| ((*n).to_owned(), format!("runs/20261202T013000.000Z/{n}")))
        .collect();
    let latest = serde_json::json!({
        "run_id": "20261202T013000.000Z",
        "inventory_generated_at": "2026-12-02T01:30:00Z",
        "report_generated_at": "2026-12-02T01:34:00Z",
        "compliance_score": 71.5,
        "files": files.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    });
    put("latest.json", &latest.to_string());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("today");
    let o = infraqa_as(
        &emulator,
        &account,
        &["fetch", "--stack", stack, "--out", out.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("run 20261202T013000.000Z from s3://{bucket}/")),
        "{err}"
    );
    let printed: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed.len(), 4, "{printed:?}");
    assert!(
        printed[0].ends_with("report.html"),
        "the page to open first: {printed:?}"
    );
    for (name, _) in &files {
        let got = std::fs::read_to_string(out.join(name)).unwrap();
        assert_eq!(got, format!("{name} of 20261202T013000.000Z"));
    }

    // A named run: its files, in the default folder reports/RUN_ID under the working directory.
    let o = infraqa_as(
        &emulator,
        &account,
        &[
            "fetch",
            "--stack",
            stack,
            "--run",
            "20261201T013000.000Z",
            "--out",
            dir.path().join("older").to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("older/report.md")).unwrap(),
        "report.md of 20261201T013000.000Z"
    );

    // A run the bucket does not have, and a stack that is not infraqa's: exit 2, named.
    let o = infraqa_as(
        &emulator,
        &account,
        &[
            "fetch",
            "--stack",
            stack,
            "--run",
            "20200101T000000.000Z",
            "--out",
            dir.path().join("none").to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("runs/20200101T000000.000Z/report.html does not exist"),
        "{err}"
    );
    rt.block_on(async {
        clients
            .cloudformation()
            .unwrap()
            .create_stack()
            .stack_name("not-infraqa")
            .template_body(r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}"#)
            .send()
            .await
            .unwrap();
    });
    let o = infraqa_as(&emulator, &account, &["fetch", "--stack", "not-infraqa"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("has no output ReportsBucketName"), "{err}");
}
