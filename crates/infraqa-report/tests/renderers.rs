//! What a reader of each format notices: partial scans are labelled everywhere, spreadsheet
//! cells cannot run formulas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use infraqa_core::ScanError;

#[test]
fn a_partial_scan_is_labelled_partial_in_every_format() {
    let mut inv = inventory();
    inv.errors.push(ScanError {
        region: "eu-west-1".into(),
        service: "rds".into(),
        operation: "DescribeDBInstances".into(),
        code: "AccessDenied".into(),
        message: "not authorized".into(),
    });
    let (_, report) = report(&inv, &[], at(28, 6));
    assert!(report.partial);
    assert_eq!(report.errors, inv.errors);
    let json: serde_json::Value =
        serde_json::from_slice(&infraqa_report::render(&report, "report.json").unwrap()).unwrap();
    assert_eq!(json["partial"], true);
    assert_eq!(json["errors"][0]["operation"], "DescribeDBInstances");
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(html.contains("id=\"partial\""));
    assert!(html.contains("eu-west-1 rds DescribeDBInstances: AccessDenied"));
    let md = infraqa_report::markdown::render(&report).unwrap();
    assert!(md.contains("**Partial scan**"), "{md}");
    assert!(md.contains("DescribeDBInstances AccessDenied"), "{md}");

    // A complete scan carries no such label.
    let (_, complete) = report_of_fixture();
    assert!(
        !infraqa_report::html::render(&complete)
            .unwrap()
            .contains("id=\"partial\"")
    );
    assert!(
        !infraqa_report::markdown::render(&complete)
            .unwrap()
            .contains("Partial")
    );
}

fn report_of_fixture() -> (
    infraqa_core::check::CheckResult,
    infraqa_core::report::Report,
) {
    report(&inventory(), &[], at(28, 6))
}

#[test]
fn csv_has_a_row_per_finding_and_exemption_and_no_cell_runs_a_formula() {
    let (_, mut report) = report_of_fixture();
    report.findings[0].message = "=HYPERLINK(\"http://evil\")".into();
    let bytes = infraqa_report::render(&report, "findings.csv").unwrap();
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        infraqa_report::table::HEADER.to_vec()
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), report.findings.len() + report.exempted.len());
    assert_eq!(&rows[0][6], "'=HYPERLINK(\"http://evil\")");
    let exempted = rows.iter().filter(|r| &r[0] == "exempted").count();
    assert_eq!(exempted, report.exempted.len());
    let with_reason = rows.iter().find(|r| &r[0] == "exempted").unwrap();
    assert!(
        !with_reason[8].is_empty(),
        "an exempted row carries its reason"
    );
}

#[test]
fn not_evaluated_resources_show_in_every_format_beside_the_score() {
    use infraqa_core::model::ResourceDetails;
    use infraqa_core::observed::Observed;
    let mut inv = inventory();
    let denied = ScanError {
        region: "us-east-1".into(),
        service: "s3".into(),
        operation: "GetBucketEncryption".into(),
        code: "AccessDenied".into(),
        message: "bucket x: Access Denied".into(),
    };
    let bucket = inv
        .resources
        .iter_mut()
        .find(|r| matches!(r.details, ResourceDetails::S3Bucket(_)))
        .unwrap();
    let arn = bucket.arn.clone();
    if let ResourceDetails::S3Bucket(b) = &mut bucket.details {
        b.encryption = Observed::failed(denied.clone());
    }
    inv.errors.push(denied);
    let (checked, report) = report(&inv, &[], at(28, 6));
    let n = report
        .not_evaluated
        .iter()
        .find(|n| n.resource_arn == arn)
        .expect("the bucket is not evaluated by s3-encryption");
    assert_eq!(n.missing[0].operation, "GetBucketEncryption");
    assert_eq!(checked.not_evaluated, report.not_evaluated);
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.resource_arn == arn && f.rule_id == infraqa_core::RuleId::S3Encryption)
    );

    let s = &report.summary;
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(html.contains(&format!(
        "<b id=\"not-evaluated-count\">{}</b>",
        s.not_evaluated_resources
    )));
    assert!(
        html.contains("id=\"not-evaluated\"")
            && html.contains("s3 GetBucketEncryption: AccessDenied")
    );
    let md = infraqa_report::markdown::render(&report).unwrap();
    assert!(
        md.contains(&format!("{} not evaluated", s.not_evaluated_resources)),
        "{md}"
    );
    let csv = String::from_utf8(infraqa_report::render(&report, "findings.csv").unwrap()).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("not-evaluated,s3-encryption,,") && l.contains(&arn))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains("s3 GetBucketEncryption AccessDenied"), "{row}");
}

#[test]
fn a_large_estate_lists_the_worst_resources_and_points_to_the_csv_for_the_rest() {
    use infraqa_report::html::LISTED;
    let now = at(28, 6);
    let inv = infraqa_core::synthetic::inventory(4000, now);
    let policy = infraqa_core::Policy::from_toml(infraqa_core::synthetic::POLICY, "p").unwrap();
    let (_, report) = report_under(&policy, &inv, &[], now);
    // A resource is a row per (ARN, region): account-level findings repeat per region.
    let flagged: std::collections::BTreeSet<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.resource_arn.as_str(), f.region.as_str()))
        .collect();
    assert!(flagged.len() > LISTED, "{}", flagged.len());
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(html.contains(&format!("Non-compliant resources ({})", flagged.len())));
    let table = html
        .split("id=\"non-compliant\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert_eq!(table.matches("<td class=\"arn\">").count(), LISTED);
    assert!(html.contains(&format!(
        "every finding of the other {} is in findings.csv",
        flagged.len() - LISTED
    )));
    // The worst come first: the first row carries the estate's most severe finding.
    let worst = report.findings.iter().map(|f| f.severity).max().unwrap();
    let first_row = table.split("<tr><td class=\"arn\">").nth(1).unwrap();
    let first_row = first_row.split("</tr>").next().unwrap();
    assert!(first_row.contains(&format!("sev-{worst}")), "{first_row}");
    // The summary for an e-mail stays short: a few failed reads, the count of the rest.
    assert!(report.errors.len() > infraqa_report::markdown::TOP);
    let md = infraqa_report::markdown::render(&report).unwrap();
    assert!(md.contains(&format!(
        "and {} more in report.json",
        report.errors.len() - infraqa_report::markdown::TOP
    )));
    assert!(md.len() < 8_000, "{} bytes", md.len());
    // Every finding is still in the CSV.
    let csv = infraqa_report::render(&report, "findings.csv").unwrap();
    assert!(String::from_utf8(csv).unwrap().lines().count() > report.findings.len());
}

#[test]
fn cleanup_by_usage_and_ages_per_type_show_in_html_and_markdown() {
    let (_, mut report) = report_of_fixture();
    let l = &report.lifecycle;
    assert_eq!(l.cleanup.len(), 3);
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(
        html.contains("Cleanup by usage (3, $120.45/month)"),
        "heading"
    );
    let cleanup = html.split("id=\"cleanup\"").nth(1).unwrap();
    let cleanup = cleanup.split("</table>").next().unwrap();
    // Ranked by saving: the idle m4.large first, with its action and command.
    let first = cleanup.find("idle-instance").unwrap();
    let second = cleanup.find("idle-nat-gateway").unwrap();
    let third = cleanup.find("idle-database").unwrap();
    assert!(first < second && second < third, "{cleanup}");
    assert!(cleanup.contains("$73.00"));
    assert!(
        cleanup.contains(
            "aws ec2 stop-instances --region us-east-1 --instance-ids i-0124681d25ddff653"
        )
    );
    assert!(html.contains("id=\"not-enough-data\""));
    let ages = html.split("id=\"age\"").nth(1).unwrap();
    let ages = ages.split("</table>").next().unwrap();
    assert!(ages.contains("<th>over 1 year</th>"));
    assert!(ages.contains("<td>ec2:instance</td><td>4</td>"), "{ages}");

    let md = infraqa_report::markdown::render(&report).unwrap();
    assert!(md.contains("### Cleanup"), "{md}");
    assert!(md.contains("Cleaning up saves $120.45/month"), "{md}");
    assert!(md.contains("| 1 | idle-instance `arn:aws:ec2:us-east-1:123456789012:instance/i-0124681d25ddff653` | stop | $73.00 |"), "{md}");
    assert!(md.contains("| ec2:instance | 4 | 0 | 0 | 0 | 0 |"), "{md}");

    // Without usage, the cleanup section says why instead of showing an empty table.
    report.lifecycle.usage.clear();
    report.lifecycle.cleanup.clear();
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(html.contains("No usage was read"));
    assert!(
        !infraqa_report::markdown::render(&report)
            .unwrap()
            .contains("### Cleanup")
    );
}

#[test]
fn findings_the_policy_exempts_since_the_previous_run_are_shown_apart_from_resolved_ones() {
    let (_, mut report) = report_of_fixture();
    report.trend.previous_score = Some(50.0);
    let key = (
        infraqa_core::RuleId::S3Encryption,
        "arn:aws:s3:::moved-aside".to_owned(),
    );
    report.trend.exempted = vec![key];
    let html = infraqa_report::html::render(&report).unwrap();
    assert!(html.contains("id=\"trend-exempted\""), "{html}");
    assert!(html.contains("arn:aws:s3:::moved-aside"));
    let md = infraqa_report::markdown::render(&report).unwrap();
    assert!(
        md.contains("1 exempted by the policy (moved aside, not fixed)"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&infraqa_report::render(&report, "report.json").unwrap()).unwrap();
    assert_eq!(json["trend"]["exempted"][0][1], "arn:aws:s3:::moved-aside");
}
