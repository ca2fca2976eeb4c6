//! The `infraqa` binary as a user runs it: exit codes, stdout and stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Seeded, demo_policy_file, infraqa, infraqa_as, infraqa_via, seeded};
use std::path::Path;
use std::process::{Command, Output};

fn example_policy() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policy.toml")
        .display()
        .to_string()
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let out = infraqa(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "policy",
        "--endpoint-url",
        "--profile",
        "--region",
        "Exit codes",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
}

#[test]
fn policy_check_prints_the_effective_policy_of_the_contract_example() {
    let out = infraqa(&["policy", "check", &example_policy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("[network]"), "{printed}");
    assert!(printed.contains("allow_public_icmp = true"), "{printed}");
    assert!(
        printed.contains("reason = \"bastion, reviewed quarterly\""),
        "{printed}"
    );
    assert!(printed.contains("expires = \"2027-03-31\""), "{printed}");
    // Defaults the file did not state are printed too.
    assert!(printed.contains("[orphans]"), "{printed}");
}

#[test]
fn an_unknown_key_is_exit_2_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "[scan]\nregions = \"all\"\n\n[network]\nallowed_public_ports = [443]\nopen_ports = [22]\n",
    )
    .unwrap();
    let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("open_ports"), "{err}");
    assert!(err.contains("line 6"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_values_and_missing_files_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "[regions]\napproved = [\"us-east-1\", \"moon-1\"]\n").unwrap();
    let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("line 2: `regions.approved`: \"moon-1\""),
        "{err}"
    );

    let missing = dir.path().join("nope.toml");
    let out = infraqa(&["policy", "check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot read policy file") && err.contains("nope.toml"),
        "{err}"
    );
}

#[test]
fn extreme_numbers_are_exit_2_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    for (flag, value) in [
        ("--grace", "18446744073709551615"),
        ("--grace", "86401"),
        ("--grace", "-1"),
    ] {
        let out = infraqa(&[
            "validate",
            "--policy",
            &example_policy(),
            "--event",
            event.to_str().unwrap(),
            &format!("{flag}={value}"),
        ]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
    // Every number of the policy has a range too: one past it is exit 2 naming key and line.
    for (table, key, value) in [
        ("orphans", "stopped_instance_days", "4294967295"),
        ("lifecycle", "old_after_days", "36501"),
        ("lifecycle", "lookback_days", "9223372036854775807"),
        ("lifecycle", "idle_cpu_percent", "101"),
        ("scan.rate_limits", "ec2", "10001"),
    ] {
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, format!("[{table}]\n{key} = {value}\n")).unwrap();
        let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{table}.{key} = {value}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(key) && err.contains("line 2"), "{err}");
    }
}

#[test]
fn policy_check_refuses_a_custom_rule_naming_no_variable_and_warns_of_an_uncollected_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let rule = |applies_to: &str, condition: &str| {
        format!(
            "[tags]\nrequired = [\"Owner\"]\n\n[[custom_rules]]\nid = \"gp3-only\"\napplies_to = [\"{applies_to}\"]\ncondition = \"{condition}\"\nmessage = \"m\"\nremediation = \"r\"\n"
        )
    };
    std::fs::write(
        &path,
        rule("ec2:volume", "resourse.details.volume_type == 'gp3'"),
    )
    .unwrap();
    let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("line 7")
            && err.contains("gp3-only")
            && err.contains("`resourse` is not a variable"),
        "{err}"
    );
    std::fs::write(
        &path,
        rule("ec2:volumes", "resource.details.volume_type == 'gp3'"),
    )
    .unwrap();
    let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: custom rule gp3-only: applies_to \"ec2:volumes\"")
            && err.contains("ec2:volume, ec2:snapshot"),
        "{err}"
    );
    std::fs::write(
        &path,
        rule("ec2:volume", "resource.details.volume_type == 'gp3'"),
    )
    .unwrap();
    let out = infraqa(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_are_exit_2() {
    assert_eq!(infraqa(&["policy"]).status.code(), Some(2));
    assert_eq!(infraqa(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn scan_that_cannot_reach_aws_exits_3_naming_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let policy = demo_policy_file(dir.path(), "123456789012");
    let out = Command::new(env!("CARGO_BIN_EXE_infraqa"))
        .args([
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--region",
            "us-east-1",
            "--max-attempts",
            "1",
        ])
        .args([
            "scan",
            "--policy",
            &policy,
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("sts GetCallerIdentity failed (Unreachable)"),
        "{err}"
    );
    assert!(!dir.path().join("inventory.json").exists());
}

/// A fresh emulator account holding the demo estate, and its policy in a temporary directory.
#[test]
#[ignore = "needs the emulator: run `make test`"]
fn scan_writes_the_inventory_of_a_seeded_account() {
    let Seeded {
        rt: _rt,
        emulator,
        account,
        estate,
        dir,
        policy,
    } = seeded();
    let out_dir = dir.path().join("out");
    let out = infraqa_as(
        &emulator,
        &account,
        &[
            "scan",
            "--policy",
            &policy,
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "scanned {} resources in 2 region(s)",
            estate.resources.len()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("PARTIAL"), "{stderr}");
    let text = std::fs::read_to_string(out_dir.join("inventory.json")).unwrap();
    let inventory: infraqa_core::Inventory = serde_json::from_str(&text).unwrap();
    assert_eq!(inventory.account_id, account.account_id);
    let mut got: Vec<(String, String, String)> = inventory
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type.to_string(),
                r.region.to_string(),
                r.id.to_string(),
            )
        })
        .collect();
    let mut want: Vec<(String, String, String)> = estate
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type.to_string(),
                r.region.to_string(),
                r.id.to_string(),
            )
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "the inventory lists exactly the seeded resources"
    );

    // check on that inventory writes findings.json; --fail-on critical exits 4 (the estate
    // has critical findings), after writing the file.
    let out = Command::new(env!("CARGO_BIN_EXE_infraqa"))
        .args(["check", "--policy", &policy, "--inventory"])
        .arg(out_dir.join("inventory.json"))
        .arg("--out")
        .arg(&out_dir)
        .args(["--fail-on", "critical"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("finding(s) at or above critical"),
        "{stderr}"
    );
    let findings: infraqa_core::check::CheckResult =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("findings.json")).unwrap())
            .unwrap();
    assert!(!findings.findings.is_empty() && !findings.partial);
}

#[test]
fn check_rejects_a_file_that_is_not_an_inventory_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("inventory.json");
    let cases = [
        (
            "{\"resources\": 3",
            "not JSON: EOF while parsing an object at line 1",
        ),
        (
            "{\"resources\": 3}",
            "no schema_version: not an infraqa inventory",
        ),
        (
            "{\"schema_version\": 1, \"resources\": []}",
            "inventory schema_version 1 is not supported (this infraqa reads 2): an older inventory records a failed read as a value; scan again",
        ),
        (
            "{\"schema_version\": 2, \"resources\": 3}",
            "not a valid inventory: invalid type: integer `3`",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&bad, text).unwrap();
        let out = infraqa(&[
            "check",
            "--policy",
            &example_policy(),
            "--inventory",
            bad.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("is not a usable infraqa inventory") && err.contains(want),
            "{text}: {err}"
        );
    }
    assert!(
        !dir.path().join("findings.json").exists(),
        "nothing written"
    );
}

/// The report crate's fixture inventory and policy (the demo estate).
fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infraqa-report/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// `infraqa check` on the fixture inventory, writing `out/findings.json`.
fn check_fixture(out: &Path) -> Output {
    infraqa(&[
        "check",
        "--policy",
        &fixture("policy.toml"),
        "--inventory",
        &fixture("inventory.json"),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// `infraqa report` on the fixture inventory and `findings`, into `out`.
fn report_fixture(findings: &Path, out: &Path) -> Output {
    infraqa(&[
        "report",
        "--policy",
        &fixture("policy.toml"),
        "--inventory",
        &fixture("inventory.json"),
        "--findings",
        findings.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn report_rejects_bad_findings_and_mismatched_accounts_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let bad = dir.path().join("findings.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    let out = report_fixture(&bad, &out_dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("is not a usable infraqa findings file: no schema_version"),
        "{err}"
    );

    // Findings that do not belong to the inventory and policy they are reported with.
    assert_eq!(check_fixture(dir.path()).status.code(), Some(0));
    let text = std::fs::read_to_string(&bad).unwrap();
    let findings: serde_json::Value = serde_json::from_str(&text).unwrap();
    let taken = findings["inventory_generated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let digest = findings["policy_digest"].as_str().unwrap().to_owned();
    let cases = [
        (
            text.replace("123456789012", "210987654321"),
            "the findings are for account 210987654321 but the inventory is of account 123456789012".to_owned(),
        ),
        (
            text.replace(&taken, "2026-01-01T00:00:00Z"),
            "the findings were made from the inventory taken at 2026-01-01 00:00:00 UTC".to_owned(),
        ),
        (
            text.replace(&digest, "0000"),
            "the findings were made under another policy (digest 0000".to_owned(),
        ),
    ];
    for (mismatched, want) in cases {
        std::fs::write(&bad, mismatched).unwrap();
        let out = report_fixture(&bad, &out_dir);
        assert_eq!(out.status.code(), Some(2), "{want}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&want), "{err}");
        assert!(!out_dir.exists(), "nothing written");
    }
}

#[test]
fn a_store_that_fails_keeps_the_previous_report_and_history_whole_and_says_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(check_fixture(dir.path()).status.code(), Some(0));
    let findings = dir.path().join("findings.json");
    let out = report_fixture(&findings, dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = std::fs::read(dir.path().join("report.json")).unwrap();
    let history = dir.path().join("history");
    // The run's entry and its kept inventory.
    let entries = || std::fs::read_dir(&history).unwrap().count();
    assert_eq!(entries(), 2);
    let temporaries = || {
        walk(dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect::<Vec<_>>()
    };

    // A report file cannot be replaced: exit 3 naming it, and nothing else changed.
    std::fs::remove_file(dir.path().join("report.md")).unwrap();
    std::fs::create_dir(dir.path().join("report.md")).unwrap();
    let out = report_fixture(&findings, dir.path());
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("making the reports") && err.contains("report.md"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("report.json")).unwrap(),
        before
    );
    assert_eq!(
        entries(),
        2,
        "no history entry for a run whose reports failed"
    );
    assert!(temporaries().is_empty(), "{:?}", temporaries());

    // The history cannot be appended to: exit 3 naming it, no half-written entry.
    std::fs::remove_dir(dir.path().join("report.md")).unwrap();
    let moved = dir.path().join("history-kept");
    std::fs::rename(&history, &moved).unwrap();
    std::fs::write(&history, "not a directory").unwrap();
    let out = report_fixture(&findings, dir.path());
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("history"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&history).unwrap(),
        "not a directory"
    );
    assert_eq!(std::fs::read_dir(&moved).unwrap().count(), 2);
    assert!(temporaries().is_empty(), "{:?}", temporaries());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn audit_gathers_history_and_remediation_actions_and_names_a_bad_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |out: Output| {
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(check_fixture(dir.path()));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(report_fixture(
        &dir.path().join("findings.json"),
        dir.path(),
    ));
    assert_eq!(code, Some(0), "{err}");
    let now = chrono::Utc::now();
    let log = dir.path().join("audit-log");
    std::fs::create_dir_all(&log).unwrap();
    let action = |at: chrono::DateTime<chrono::Utc>, arn: &str| {
        format!(
            r#"{{"at": "{}", "account_id": "123456789012", "resource_arn": "{arn}", "action": "tag-write", "details": {{"Owner": "team-a"}}}}"#,
            at.to_rfc3339()
        )
    };
    std::fs::write(
        log.join("2026.jsonl"),
        format!(
            "{}\n\n{}\n",
            action(now, "arn:aws:ec2:us-east-1:123456789012:instance/i-1"),
            action(now - chrono::Duration::days(400), "arn:aws:s3:::old")
        ),
    )
    .unwrap();
    let today = now.date_naive().to_string();
    // A run belongs to the day its inventory was taken: the fixture's.
    let taken: infraqa_core::Inventory =
        serde_json::from_str(&std::fs::read_to_string(fixture("inventory.json")).unwrap()).unwrap();
    let from = taken.generated_at.date_naive().to_string();
    let out_file = dir.path().join("audit.json");
    let audit = [
        "audit",
        "--from",
        &from,
        "--to",
        &today,
        "--dir",
        d,
        "--out",
        out_file.to_str().unwrap(),
    ];
    let (code, err) = run(infraqa(&audit));
    assert_eq!(code, Some(0), "{err}");
    let x: infraqa_core::pack::AuditExport =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(x.runs.len(), 1);
    assert_eq!(x.accounts, vec!["123456789012".to_owned()]);
    assert_eq!(
        x.evidence_retention,
        Some(infraqa_core::pack::EvidenceRetention::LocalDirectory),
        "a local history has no retention but the file system's"
    );
    assert_eq!(
        x.remediation_actions.len(),
        1,
        "the action of 400 days ago is outside"
    );
    assert_eq!(x.remediation_actions[0].details["Owner"], "team-a");
    // The pack's other files beside the export, the pages naming the run and the action.
    for name in [
        format!("audit-findings-{from}-{today}.csv"),
        format!("audit-{from}-{today}.md"),
        format!("audit-{from}-{today}.html"),
    ] {
        let page = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        assert!(page.contains("123456789012"), "{name}");
    }
    let md = std::fs::read_to_string(dir.path().join(format!("audit-{from}-{today}.md"))).unwrap();
    assert!(
        md.contains("1 run(s) of 1 account(s)") && md.contains("team-a"),
        "{md}"
    );

    std::fs::write(log.join("2027.jsonl"), "{\"at\": \"yesterday\"}\n").unwrap();
    let (code, err) = run(infraqa(&audit));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("2027.jsonl line 1 is not an audit log entry"),
        "{err}"
    );
}

/// `infraqa` with the emulator's endpoint and an account's credentials.
fn read_report(dir: &Path) -> infraqa_core::report::Report {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn run_twice_writes_every_report_and_a_trend_then_audit_gathers_both_runs() {
    use infraqa_core::RuleId;
    use infraqa_testkit::seed::Expect;
    let Seeded {
        rt,
        emulator,
        account,
        estate,
        dir,
        policy,
    } = seeded();
    let out_dir = dir.path().join("out");
    let out_s = out_dir.to_str().unwrap();

    let first = infraqa_as(
        &emulator,
        &account,
        &["run", "--policy", &policy, "--out", out_s],
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    for name in [
        "inventory.json",
        "findings.json",
        "report.json",
        "report.html",
        "findings.csv",
        "report.md",
    ] {
        assert!(out_dir.join(name).is_file(), "{name}");
    }
    let r1 = read_report(&out_dir);
    assert_eq!(r1.account_id, account.account_id);
    assert_eq!(r1.summary.total_resources, estate.resources.len());
    assert!(!r1.partial);
    assert_eq!(r1.trend.previous_score, None);
    let planted: usize = estate
        .resources
        .iter()
        .flat_map(|r| &r.expect)
        .filter(|e| matches!(e, Expect::Finding(_)))
        .count()
        + estate.account_findings.len();
    assert_eq!(
        r1.findings.len(),
        planted,
        "every planted finding, nothing else"
    );
    let csv = std::fs::read_to_string(out_dir.join("findings.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + r1.findings.len() + r1.exempted.len(),
        "a header and one row per finding and exempted finding"
    );

    // Fix one planted s3-encryption finding, run again into the same directory.
    let bucket = estate
        .resources
        .iter()
        .find(|r| r.expect.contains(&Expect::Finding(RuleId::S3Encryption)))
        .unwrap();
    encrypt_bucket(&rt, &account, &bucket.region, &bucket.id);
    let second = infraqa_as(
        &emulator,
        &account,
        &["run", "--policy", &policy, "--out", out_s],
    );
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let r2 = read_report(&out_dir);
    let t = &r2.trend;
    assert_eq!(t.previous_score, Some(r1.summary.compliance_score));
    let fixed = format!("arn:aws:s3:::{}", bucket.id);
    assert_eq!(t.resolved, vec![(RuleId::S3Encryption, fixed)]);
    assert!(t.new.is_empty(), "{:?}", t.new);
    assert_eq!(t.history.len(), 2);
    let history: Vec<String> = std::fs::read_dir(out_dir.join("history"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        history
            .iter()
            .filter(|n| n.ends_with(".inventory.json.gz"))
            .count(),
        2,
        "one kept inventory per run: {history:?}"
    );
    assert_eq!(
        history.len(),
        4,
        "one history entry per run, and its inventory: {history:?}"
    );

    audit_gathers_both_runs(dir.path(), out_s, &account.account_id);
}

/// Gives `bucket` default encryption (SSE-S3).
fn encrypt_bucket(
    rt: &tokio::runtime::Runtime,
    account: &infraqa_testkit::emulator::TestAccount,
    region: &str,
    bucket: &str,
) {
    rt.block_on(async {
        use aws_sdk_s3::types::{
            ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
            ServerSideEncryptionRule,
        };
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .unwrap(),
            )
            .build();
        account
            .clients()
            .await
            .s3(region)
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
}

/// The audit export of today over `out` gathers both runs of `account_id` and, beside it,
/// every finding of the period with when it was first and last seen and resolved.
fn audit_gathers_both_runs(dir: &Path, out_s: &str, account_id: &str) {
    // The audit export of today gathers both runs.
    let today = chrono::Utc::now().date_naive().to_string();
    let audit_path = dir.join("audit.json");
    let audit = infraqa(&[
        "audit",
        "--from",
        &today,
        "--to",
        &today,
        "--dir",
        out_s,
        "--out",
        audit_path.to_str().unwrap(),
    ]);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let x: infraqa_core::pack::AuditExport =
        serde_json::from_str(&std::fs::read_to_string(&audit_path).unwrap()).unwrap();
    assert_eq!(x.runs.len(), 2);
    assert_eq!(x.accounts, vec![account_id.to_owned()]);
    assert_eq!(
        x.trend[account_id].resolved.len(),
        1,
        "the fix shows across the period"
    );
    // Beside it, every finding of the period with when it was first and last seen and, for the
    // fixed one, when it was resolved.
    let csv =
        std::fs::read_to_string(dir.join(format!("audit-findings-{today}-{today}.csv"))).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "account_id,rule_id,resource_arn,first_seen,last_seen,resolved_at,severity,exempted_at"
        )
    );
    let rows: Vec<&str> = lines.collect();
    let keys: std::collections::BTreeSet<_> = x.runs.iter().flat_map(|r| &r.findings).collect();
    assert_eq!(rows.len(), keys.len(), "{csv}");
    // Every row names its severity; one has a resolved_at.
    let cells = |r: &str| r.split(',').map(str::to_owned).collect::<Vec<_>>();
    assert!(rows.iter().all(|r| !cells(r)[6].is_empty()), "{csv}");
    let resolved: Vec<&&str> = rows.iter().filter(|r| !cells(r)[5].is_empty()).collect();
    assert_eq!(resolved.len(), 1, "{csv}");
    let fixed = &x.trend[account_id].resolved[0];
    assert!(resolved[0].contains(&fixed.1), "{csv}");
    // --from after --to is bad input.
    let bad = infraqa(&[
        "audit",
        "--from",
        "2026-12-31",
        "--to",
        "2026-01-01",
        "--dir",
        out_s,
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn report_keeps_history_in_s3_when_asked() {
    use infraqa_testkit::emulator::Emulator;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    let s3 = rt.block_on(account.clients()).s3("us-east-1");
    // Bucket names are global to the emulator: make this one unique to the account.
    let bucket = format!("infraqa-history-{}", account.account_id);
    rt.block_on(s3.create_bucket().bucket(&bucket).send())
        .unwrap();
    let location = format!("s3://{bucket}/acme/runs");
    let dir = tempfile::tempdir().unwrap();
    let policy = demo_policy_file(dir.path(), &account.account_id);
    let out_s = dir.path().join("out");
    let args = [
        "run",
        "--policy",
        &policy,
        "--out",
        out_s.to_str().unwrap(),
        "--history",
        &location,
    ];
    for _ in 0..2 {
        let out = infraqa_as(&emulator, &account, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let entries = || {
        rt.block_on(
            s3.list_objects_v2()
                .bucket(&bucket)
                .prefix("acme/runs/")
                .send(),
        )
        .unwrap()
        .contents()
        .len()
    };
    assert_eq!(entries(), 4, "one entry and one kept inventory per run");
    assert!(!out_s.join("history").exists(), "nothing kept locally");
    let r = read_report(&out_s);
    assert_eq!(
        r.trend.history.len(),
        2,
        "the second run read the first from S3"
    );

    // An S3 store that answers the PUT with HTTP 500 stops the run with exit 3, naming the
    // call; the entries already there are untouched (each is one complete PUT).
    let proxy = rt
        .block_on(infraqa_testkit::fault_proxy::FaultProxy::start(
            emulator.url(),
            vec![infraqa_testkit::fault_proxy::Fault::on(
                "PutObject",
                infraqa_testkit::fault_proxy::FaultAction::Status {
                    status: 500,
                    body: "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>".into(),
                },
            )],
        ))
        .unwrap();
    let report_again = |url: &str, history: &str| {
        infraqa_via(
            url,
            &account,
            &[
                "report",
                "--policy",
                &policy,
                "--inventory",
                out_s.join("inventory.json").to_str().unwrap(),
                "--findings",
                out_s.join("findings.json").to_str().unwrap(),
                "--out",
                out_s.to_str().unwrap(),
                "--history",
                history,
            ],
        )
    };
    let out = report_again(proxy.url(), &location);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PutObject") && err.contains("InternalError"),
        "{err}"
    );
    assert!(proxy.injected() >= 1);
    assert_eq!(
        entries(),
        4,
        "the earlier entries and kept inventories are intact"
    );

    // An S3 store that cannot be reached stops the run with exit 3.
    let out = report_again(emulator.url(), "s3://no-such-bucket-infraqa/x");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-bucket-infraqa"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn cost_explorer_spend_by_tag_lands_in_the_report_when_the_policy_asks() {
    use infraqa_testkit::emulator::Emulator;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = Emulator::from_env().unwrap();
    let account = rt.block_on(emulator.fresh_account()).unwrap();
    // One AWS-shaped GetCostAndUsage response per allocation tag, in request order.
    let group = |key: &str, amount: &str| {
        format!(
            r#"{{"Keys": ["{key}"], "Metrics": {{"UnblendedCost": {{"Amount": "{amount}", "Unit": "USD"}}}}}}"#
        )
    };
    let response = |groups: Vec<String>| {
        format!(
            r#"{{"ResultsByTime": [{{"TimePeriod": {{"Start": "2026-10-01", "End": "2026-11-01"}}, "Total": {{}}, "Groups": [{}], "Estimated": false}}], "DimensionValueAttributes": []}}"#,
            groups.join(",")
        )
    };
    let results = format!(
        "[{}, {}, {}]",
        response(vec![group("Owner$data", "120.5"), group("Owner$", "30.25")]),
        response(vec![group("Project$atlas", "150.75")]),
        response(vec![group("CostCenter$", "150.75")]),
    );
    rt.block_on(emulator.queue_cost_and_usage(&account.account_id, &results))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[scan]\nregions = [\"us-east-1\"]\n[cost]\ncost_explorer = true\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = infraqa_as(
        &emulator,
        &account,
        &[
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = read_report(&out);
    let spend = r.cost.actual_spend.expect("actual spend");
    let rows = |tag: &str| -> Vec<(String, f64)> {
        spend.by_tag[tag]
            .iter()
            .map(|s| (s.value.clone(), s.amount))
            .collect()
    };
    assert_eq!(spend.total, 150.75);
    assert_eq!(spend.currency, "USD");
    assert_eq!(
        rows("Owner"),
        vec![("data".into(), 120.5), ("(untagged)".into(), 30.25)]
    );
    assert_eq!(rows("Project"), vec![("atlas".into(), 150.75)]);
    assert_eq!(rows("CostCenter"), vec![("(untagged)".into(), 150.75)]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"actual-spend\""));
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn run_into_an_s3_prefix_writes_every_file_and_the_history_there() {
    let Seeded {
        rt,
        emulator,
        account,
        policy,
        dir: _dir,
        ..
    } = seeded();
    let bucket = format!("runs-{}", account.account_id);
    let s3 = rt.block_on(account.clients()).s3("us-east-1");
    rt.block_on(s3.create_bucket().bucket(&bucket).send())
        .unwrap();
    let out = format!("s3://{bucket}/acme/daily");
    for _ in 0..2 {
        let o = infraqa_as(
            &emulator,
            &account,
            &["run", "--policy", &policy, "--out", &out],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let keys: Vec<String> = rt
        .block_on(
            s3.list_objects_v2()
                .bucket(&bucket)
                .prefix("acme/daily/")
                .send(),
        )
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
        "findings.csv",
        "report.md",
    ] {
        assert!(
            keys.contains(&format!("acme/daily/{name}")),
            "{name}: {keys:?}"
        );
    }
    let entries = keys
        .iter()
        .filter(|k| k.starts_with("acme/daily/history/") && k.ends_with(".json"))
        .count();
    assert_eq!(entries, 2, "{keys:?}");
    let kept = keys
        .iter()
        .filter(|k| k.starts_with("acme/daily/history/") && k.ends_with(".inventory.json.gz"))
        .count();
    assert_eq!(kept, 2, "{keys:?}");
    let report = rt
        .block_on(
            s3.get_object()
                .bucket(&bucket)
                .key("acme/daily/report.json")
                .send(),
        )
        .unwrap();
    let bytes = rt.block_on(report.body.collect()).unwrap().into_bytes();
    let r: infraqa_core::report::Report = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        r.trend.history.len(),
        2,
        "the second run's trend read the first from S3"
    );
}

/// `policy` with the example custom rules (`examples/custom-rules.toml`) appended, written
/// into `dir`.
fn with_example_rules(policy: &str, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("with-rules.toml");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/custom-rules.toml");
    let text = format!(
        "{}\n{}",
        std::fs::read_to_string(policy).unwrap(),
        std::fs::read_to_string(rules).unwrap()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Two runs of the demo estate a day apart (the second with one old instance gone), checked
/// and reported with the demo policy; then a backtest of an example custom rule over them.
#[test]
fn backtest_reruns_a_new_rule_over_the_kept_inventories_of_past_runs() {
    let dir = tempfile::tempdir().unwrap();
    let policy = fixture("policy.toml");
    let with_rules = with_example_rules(&policy, dir.path());
    let mut inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("inventory.json")).unwrap()).unwrap();
    let history = dir.path().join("history");
    for (day, drop) in [
        ("2026-11-28T06:00:00Z", None),
        ("2026-11-29T06:00:00Z", Some("i-0124681d25ddff653")),
    ] {
        inventory["generated_at"] = day.into();
        if let Some(id) = drop {
            inventory["resources"]
                .as_array_mut()
                .unwrap()
                .retain(|r| r["id"] != id);
        }
        let out = dir.path().join(&day[..10]);
        std::fs::create_dir_all(&out).unwrap();
        let inv = out.join("inventory.json");
        std::fs::write(&inv, serde_json::to_vec(&inventory).unwrap()).unwrap();
        let (inv, out_s, hist) = (
            inv.to_str().unwrap(),
            out.to_str().unwrap(),
            history.to_str().unwrap(),
        );
        let checked = infraqa(&[
            "check",
            "--policy",
            &policy,
            "--inventory",
            inv,
            "--out",
            out_s,
        ]);
        assert_eq!(
            checked.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let findings = out.join("findings.json");
        let reported = infraqa(&[
            "report",
            "--policy",
            &policy,
            "--inventory",
            inv,
            "--findings",
            findings.to_str().unwrap(),
            "--out",
            out_s,
            "--history",
            hist,
        ]);
        assert_eq!(
            reported.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&reported.stderr)
        );
    }
    let kept: Vec<_> = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".inventory.json.gz"))
        .collect();
    assert_eq!(kept.len(), 2, "one inventory kept per run: {kept:?}");

    let backtest = |extra: &[&str]| {
        let mut args = vec![
            "backtest",
            "--policy",
            with_rules.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        infraqa(&args)
    };
    let out = backtest(&["--rule", "no-previous-generation", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = b["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let figures = |r: &serde_json::Value| -> [serde_json::Value; 5] {
        [
            r["findings"].clone(),
            r["new"].clone(),
            r["resolved"].clone(),
            r["added_to_recorded"].clone(),
            r["removed_from_recorded"].clone(),
        ]
    };
    // Day one: both previous-generation instances, none recorded (the rule is new).
    assert_eq!(
        figures(&runs[0]),
        [
            2.into(),
            serde_json::Value::Null,
            serde_json::Value::Null,
            2.into(),
            0.into()
        ]
    );
    // Day two: the m4 instance is gone: one finding, none new, one resolved.
    assert_eq!(
        figures(&runs[1]),
        [1, 0, 1, 1, 0].map(serde_json::Value::from)
    );
    for r in runs {
        assert!(
            r["compliance_score"].as_f64().unwrap() < r["recorded_score"].as_f64().unwrap(),
            "a rule that finds something lowers the score it would have given: {r}"
        );
    }

    // The table a person reads, every rule of the policy.
    let out = backtest(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("backtest of all 14 rules of the policy over 2 run(s)"),
        "{text}"
    );
    assert!(text.contains("2026-11-29T06:00:00Z"), "{text}");

    // A rule the policy does not declare is bad input.
    let out = backtest(&["--rule", "not-declared"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not run rule `not-declared`"));
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn example_custom_rules_run_end_to_end_scan_check_report_validate_backtest() {
    let Seeded {
        rt: _rt,
        emulator,
        account,
        estate: _estate,
        dir,
        policy,
    } = seeded();
    let with_rules = with_example_rules(&policy, dir.path());
    let p = with_rules.to_str().unwrap();
    let out_dir = dir.path().join("out");
    let out_s = out_dir.to_str().unwrap();
    let run = infraqa_as(&emulator, &account, &["run", "--policy", p, "--out", out_s]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // What the inventory says, read without CEL: the instances of a previous generation.
    let inventory: infraqa_core::Inventory =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("inventory.json")).unwrap())
            .unwrap();
    let mut old: Vec<(String, String)> = inventory
        .resources
        .iter()
        .filter_map(|r| match &r.details {
            infraqa_core::model::ResourceDetails::Ec2Instance(i)
                if ["m4.", "c4.", "r4.", "t2."]
                    .iter()
                    .any(|f| i.instance_type.starts_with(f)) =>
            {
                Some((r.arn.clone(), r.id.to_string()))
            }
            _ => None,
        })
        .collect();
    old.sort();
    assert!(
        !old.is_empty(),
        "the demo estate plants previous-generation instances"
    );
    let rule: infraqa_core::RuleId = "no-previous-generation".parse().unwrap();
    let report = read_report(&out_dir);
    let mut found: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .map(|f| f.resource_arn.clone())
        .collect();
    found.sort();
    assert_eq!(
        found,
        old.iter().map(|(arn, _)| arn.clone()).collect::<Vec<_>>()
    );
    let instances = inventory
        .resources
        .iter()
        .filter(|r| r.resource_type == infraqa_core::model::ResourceType::Ec2Instance)
        .count();
    assert_eq!(report.summary.by_rule[&rule].evaluated, instances);
    let csv = std::fs::read_to_string(out_dir.join("findings.csv")).unwrap();
    assert_eq!(csv.matches("no-previous-generation").count(), old.len());
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("no-previous-generation"));

    // The validator judges a fresh read of the resource an event names by the same rules.
    let event = dir.path().join("run-instances.json");
    std::fs::write(
        &event,
        infraqa_testkit::events::cloudtrail_event(
            "RunInstances",
            &old[0].1,
            &account.account_id,
            "us-east-1",
            chrono::Utc::now(),
            "ev-prev-gen",
        )
        .unwrap(),
    )
    .unwrap();
    let validated = infraqa_as(
        &emulator,
        &account,
        &[
            "validate",
            "--policy",
            p,
            "--event",
            event.to_str().unwrap(),
            "--dir",
            out_s,
        ],
    );
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&validated.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&validated.stdout).unwrap();
    assert_eq!(v["verdict"], "flagged", "{v:#}");
    let rules: Vec<&str> = v["resources"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(rules.contains(&"no-previous-generation"), "{v:#}");

    // And the run's kept inventory backtests to the same findings.
    let history = out_dir.join("history");
    let bt = infraqa(&[
        "backtest",
        "--policy",
        p,
        "--history",
        history.to_str().unwrap(),
        "--rule",
        "no-previous-generation",
        "--json",
    ]);
    assert_eq!(
        bt.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bt.stderr)
    );
    let b: serde_json::Value = serde_json::from_slice(&bt.stdout).unwrap();
    assert_eq!(b["runs"][0]["findings"], old.len());
    assert_eq!(
        b["runs"][0]["added_to_recorded"], 0,
        "the run recorded the same findings"
    );
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn run_over_an_organization_reports_each_account_and_names_the_one_it_could_not_reach() {
    use infraqa_core::organization::{AccountStatus, OrganizationSummary};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let (management, members, proxy) = rt.block_on(organization_with_a_denied_member(&emulator));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[scan]\nregions = [\"us-east-1\"]\n[tags]\nrequired = [\"Owner\"]\n[accounts]\nids = \"organization\"\nrole_name = \"infraqa-member\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = rt.block_on(async {
        let (url, account) = (proxy.url().to_owned(), management.clone());
        let (policy, out) = (policy.clone(), out.clone());
        tokio::task::spawn_blocking(move || {
            infraqa_via(
                &url,
                &account,
                &[
                    "run",
                    "--policy",
                    policy.to_str().unwrap(),
                    "--out",
                    out.to_str().unwrap(),
                    "--parallel",
                    "2",
                ],
            )
        })
        .await
        .unwrap()
    });
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("1 of 3 account(s) could not be reached"),
        "{stderr}"
    );
    // One AssumeRole per member account, whatever its shards: the first credentials serve
    // until they near their expiry. The management account is read with its own.
    assert_eq!(
        proxy.requests_by_operation().get("AssumeRole"),
        Some(&2),
        "{:?}",
        proxy.requests_by_operation()
    );

    let summary: OrganizationSummary =
        serde_json::from_slice(&std::fs::read(out.join("organization.json")).unwrap()).unwrap();
    assert!(summary.partial);
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
    assert_eq!(
        summary.accounts[0].account_id, members[1],
        "unreached first"
    );
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(summary.errors[0].operation, "AssumeRole");
    assert_eq!(summary.errors[0].code, "AccessDenied");
    assert!(summary.errors[0].message.contains(&members[1]));
    let page = std::fs::read_to_string(out.join("organization.md")).unwrap();
    assert!(
        page.contains(&format!("| {} | not reached | - |", members[1])),
        "{page}"
    );

    each_reached_account_is_reported_from_its_shards(&out, &management.account_id, &members);

    // The reached accounts alone, with --fail-on: every account is still reported, then 4.
    let accounts = format!("{},{}", management.account_id, members[0]);
    let again = infraqa_via(
        proxy.url(),
        &management,
        &[
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--accounts",
            &accounts,
            "--fail-on",
            "low",
        ],
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("across the accounts"), "{stderr}");
    let summary: OrganizationSummary =
        serde_json::from_slice(&std::fs::read(out.join("organization.json")).unwrap()).unwrap();
    assert_eq!(summary.accounts.len(), 2);
    assert!(!summary.partial);
    // The organization's trend: the first run is the previous one, its account gone from this
    // run's scope named.
    let t = &summary.trend;
    assert_eq!(t.history.len(), 2, "{t:?}");
    assert_eq!(t.previous_score, t.history[0].compliance_score);
    assert!(t.previous_score.is_some());
    assert_eq!(t.removed, [members[1].clone()]);
    assert!(t.newly_unreached.is_empty());
    let kept = std::fs::read_dir(out.join("history").join("organization"))
        .unwrap()
        .count();
    assert_eq!(kept, 2, "one organization entry per run");
    // Every format, a section per account in the page, a row per account in the table.
    let page = std::fs::read_to_string(out.join("organization.html")).unwrap();
    for id in [&management.account_id, &members[0]] {
        assert!(
            page.contains(&format!("<section id=\"account-{id}\">")),
            "{page}"
        );
        assert!(
            page.contains(&format!("<a href=\"{id}/report.html\">")),
            "{page}"
        );
    }
    let table = std::fs::read_to_string(out.join("organization.csv")).unwrap();
    assert_eq!(table.lines().count(), 3, "{table}");
}

/// A fresh organization of a management account and two members: a bucket in the first, and
/// behind the returned fault proxy the second's member role cannot be assumed.
async fn organization_with_a_denied_member(
    emulator: &infraqa_testkit::emulator::Emulator,
) -> (
    infraqa_testkit::emulator::TestAccount,
    Vec<String>,
    infraqa_testkit::fault_proxy::FaultProxy,
) {
    use infraqa_testkit::fault_proxy::{Fault, FaultAction, FaultProxy};
    let management = emulator.fresh_account().await.unwrap();
    let members = management.create_organization(2).await.unwrap();
    // A bucket in the first member, so its report is its own.
    let first = emulator.account(members[0].clone()).await.unwrap();
    first
        .clients()
        .await
        .s3("us-east-1")
        .create_bucket()
        .bucket(format!("member-{}", members[0]))
        .send()
        .await
        .unwrap();
    // The second member's role cannot be assumed.
    let denied = Fault {
        service: Some("sts".into()),
        ..Fault::on("AssumeRole", FaultAction::AccessDenied)
    }
    .with_body(&members[1]);
    let proxy = FaultProxy::start(emulator.url(), vec![denied])
        .await
        .unwrap();
    (management, members, proxy)
}

/// Each reached account of `run_over_an_organization...` has its own reports, joined from its
/// shards, and its history entry; the unreached one (the second member) has none.
fn each_reached_account_is_reported_from_its_shards(
    out: &Path,
    management: &str,
    members: &[String],
) {
    // Each reached account has its own reports; the unreached one has none.
    for id in [management, members[0].as_str()] {
        let report = read_report(&out.join(id));
        assert_eq!(report.account_id, id);
        assert!(!report.partial, "{id}: {:?}", report.errors);
    }
    let member = read_report(&out.join(&members[0]));
    assert!(
        member
            .findings
            .iter()
            .any(|f| f.resource_arn == format!("arn:aws:s3:::member-{}", members[0])),
        "the member's bucket is judged in its own report"
    );
    assert!(!out.join(&members[1]).exists());
    // Each account was scanned and checked as shards (its global services, each region), then
    // joined into its own inventory and findings.
    for shard in ["global", "us-east-1"] {
        for file in ["inventory.json", "findings.json"] {
            let at = out.join(&members[0]).join(shard).join(file);
            assert!(at.is_file(), "{}", at.display());
        }
    }
    let joined: infraqa_core::Inventory = serde_json::from_slice(
        &std::fs::read(out.join(&members[0]).join("inventory.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(joined.regions, ["us-east-1"]);
    assert!(joined.stats.units.iter().any(|u| u.service == "iam"));
    // One history store, one entry per account reached.
    let entries = std::fs::read_dir(out.join("history"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".json") && !name.ends_with(".inventory.json")
        })
        .count();
    assert_eq!(entries, 2);
}

#[test]
fn export_writes_asff_and_ocsf_of_a_reported_run_and_refuses_an_unreported_one() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(check_fixture(dir.path()).status.code(), Some(0));
    let findings = dir.path().join("findings.json");
    let inventory = fixture("inventory.json");
    let export = |format: &str| {
        infraqa(&[
            "--region",
            "us-east-1",
            "export",
            "--findings",
            findings.to_str().unwrap(),
            "--inventory",
            &inventory,
            "--format",
            format,
        ])
    };
    // Not reported yet: its first-seen times are unknown.
    let out = export("asff");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("report the run first"), "{err}");
    assert!(!dir.path().join("findings.asff.json").exists());
    // Neither a format nor Security Hub: nothing to do is a usage error.
    let out = infraqa(&[
        "export",
        "--findings",
        findings.to_str().unwrap(),
        "--inventory",
        &inventory,
    ]);
    assert_eq!(out.status.code(), Some(2));

    assert_eq!(report_fixture(&findings, dir.path()).status.code(), Some(0));
    let check: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&findings).unwrap()).unwrap();
    let n = check["findings"].as_array().unwrap().len();
    assert!(n > 0);

    let out = export("asff");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        Path::new(path.trim()),
        dir.path().join("findings.asff.json")
    );
    let asff: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(path.trim()).unwrap()).unwrap();
    assert_eq!(
        asff.len(),
        n,
        "one finding each, nothing to close on a first export"
    );
    let ids: std::collections::BTreeSet<&str> =
        asff.iter().map(|f| f["Id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), n, "ids are distinct");
    for f in &asff {
        assert_eq!(f["RecordState"], "ACTIVE");
        assert_eq!(f["Compliance"]["Status"], "FAILED");
        assert_eq!(f["SchemaVersion"], "2018-10-08");
        assert!(
            f["ProductArn"]
                .as_str()
                .unwrap()
                .ends_with(":product/123456789012/default"),
            "{f}"
        );
    }

    let out = export("ocsf");
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("findings.ocsf.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    assert!(
        lines
            .iter()
            .all(|l| l["class_uid"] == 2004 && l["status"] == "New")
    );
}

#[test]
#[ignore = "needs the emulator: run `make test`"]
fn export_imports_a_run_into_the_accounts_security_hub_and_refuses_another_accounts_findings() {
    let Seeded {
        emulator,
        account,
        dir,
        policy,
        ..
    } = seeded();
    let out_dir = dir.path().join("out");
    let out = infraqa_as(
        &emulator,
        &account,
        &[
            "run",
            "--policy",
            &policy,
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(matches!(out.status.code(), Some(0) | Some(4)), "{out:?}");
    let findings = out_dir.join("findings.json");
    let inventory = out_dir.join("inventory.json");
    let export = |findings: &str, inventory: &str| {
        infraqa_as(
            &emulator,
            &account,
            &[
                "export",
                "--findings",
                findings,
                "--inventory",
                inventory,
                "--security-hub",
            ],
        )
    };
    let out = export(findings.to_str().unwrap(), inventory.to_str().unwrap());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Security Hub: ") && err.contains(" archived, 0 untouched, 0 refused"),
        "{err}"
    );
    let recorded = out_dir
        .join("history/security-hub")
        .join(format!("{}.json", account.account_id));
    assert!(recorded.exists());

    // Another account's reported run: refused before any call, naming both accounts.
    let other = tempfile::tempdir().unwrap();
    assert_eq!(check_fixture(other.path()).status.code(), Some(0));
    let other_findings = other.path().join("findings.json");
    assert_eq!(
        report_fixture(&other_findings, other.path()).status.code(),
        Some(0)
    );
    let out = export(other_findings.to_str().unwrap(), &fixture("inventory.json"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the findings are of account 123456789012")
            && err.contains(&account.account_id),
        "{err}"
    );
}

#[test]
fn frameworks_list_and_show_say_what_each_requirement_is_decided_by() {
    let out = infraqa(&["frameworks", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("cis-aws-7.0\t"), "{text}");
    assert!(text.contains("70 requirements, 34 automated"), "{text}");
    let out = infraqa(&["frameworks", "show", "cis-aws-7.0"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        71,
        "a heading and a line per requirement"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("3.1.4") && l.contains("s3-public-access"))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("2.4 ") && l.contains("root-access-keys"))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("2.14 ") && l.contains("iam-full-admin-policies"))
    );
    assert!(
        !text.contains("not covered"),
        "every automated requirement is decided: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("5.1 ") && l.contains("manual"))
    );
    let out = infraqa(&["frameworks", "show", "cis-aws-7.0", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["requirements"].as_array().unwrap().len(), 70);
    let out = infraqa(&["frameworks", "show", "soc2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no framework \"soc2\""));
}
