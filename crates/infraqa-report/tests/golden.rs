//! Golden tests: a fixed inventory and policy produce the report.json in `tests/golden/`,
//! compared field by field; a two-run history produces the expected trend.
//!
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test -p infraqa-report
//! --test golden` and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use infraqa_core::RuleId;
use infraqa_core::model::{BucketEncryption, ResourceDetails};
use infraqa_core::observed::Observed;
use infraqa_core::report::history_entry;
use infraqa_core::trend::Direction;
use serde_json::Value;

/// Every difference between two JSON values, each named by its path.
fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => diff(&format!("{path}.{k}"), v, w, out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items, expected {}", b.len(), a.len()));
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if want != got => out.push(format!("{path}: got {got}, expected {want}")),
        _ => {}
    }
}

/// Compares `report`'s report.json with the golden file `name` field by field (rewriting it
/// first with `UPDATE_GOLDEN`).
fn matches_golden(report: &infraqa_core::report::Report, name: &str) {
    let bytes = infraqa_report::render(report, "report.json").unwrap();
    let got: Value = serde_json::from_slice(&bytes).unwrap();
    let path = fixture(&format!("golden/{name}"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut pretty = serde_json::to_vec_pretty(report).unwrap();
        pretty.push(b'\n');
        std::fs::write(&path, pretty).unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut diffs = Vec::new();
    diff("report", &want, &got, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{name}: {} difference(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn report_json_matches_the_golden_file_field_by_field() {
    let inv = inventory();
    let (_, report) = report(&inv, &[], at(28, 6));
    matches_golden(&report, "report.json");

    // The counts are the inventory's, not assumed.
    let s = &report.summary;
    assert_eq!(s.total_resources, inv.resources.len());
    assert_eq!(s.by_type.values().sum::<usize>(), inv.resources.len());
    assert_eq!(s.by_region.values().sum::<usize>(), inv.resources.len());
    assert_eq!(s.by_severity.values().sum::<usize>(), report.findings.len());
    let judged = s.in_scope_resources - s.not_evaluated_resources;
    let score = s.compliant_resources as f64 / judged as f64 * 100.0;
    assert!((s.compliance_score - score).abs() < 0.005, "{score}");
    assert!(report.trend.previous_score.is_none(), "first run");
}

#[test]
fn a_two_run_history_produces_the_expected_trend() {
    let mut inv1 = inventory();
    inv1.generated_at = at(20, 5);
    let (_, first) = report(&inv1, &[], at(20, 6));
    let run1 = history_entry(&first);

    // Between the runs: one unencrypted bucket gets encryption, one encrypted bucket loses it.
    let mut inv2 = inv1.clone();
    inv2.generated_at = at(22, 5);
    let mut fixed = None;
    let mut broken = None;
    for r in &mut inv2.resources {
        if let ResourceDetails::S3Bucket(b) = &mut r.details {
            let unencrypted = b.encryption == Observed::Read(BucketEncryption::None);
            if unencrypted && fixed.is_none() && !r.id.starts_with("archive-") {
                b.encryption = Observed::Read(BucketEncryption::SseS3);
                fixed = Some(r.arn.clone());
            } else if !unencrypted && broken.is_none() {
                b.encryption = Observed::Read(BucketEncryption::None);
                broken = Some(r.arn.clone());
            }
        }
    }
    let (fixed, broken) = (fixed.unwrap(), broken.unwrap());
    let (_, second) = report(&inv2, std::slice::from_ref(&run1), at(22, 6));
    let t = &second.trend;
    assert_eq!(t.previous_score, Some(first.summary.compliance_score));
    assert_eq!(t.new, vec![(RuleId::S3Encryption, broken)]);
    assert_eq!(t.resolved, vec![(RuleId::S3Encryption, fixed)]);
    assert_eq!(t.history.len(), 2);
    assert_eq!(
        t.history[0].compliance_score,
        first.summary.compliance_score
    );
    assert_eq!(
        t.history[1].compliance_score,
        second.summary.compliance_score
    );
    // The fixed bucket was seen on the 20th and gone on the 22nd: 2 days to remediate.
    assert_eq!(t.mttr_days[&RuleId::S3Encryption].resolved, 1);
    assert_eq!(t.mttr_days[&RuleId::S3Encryption].mean_days, 2.0);
    let delta = second.summary.compliance_score - first.summary.compliance_score;
    assert_eq!(t.score_delta, Some((delta * 100.0).round() / 100.0));
    assert_eq!(t.direction, Direction::of(delta));
    assert!(!t.partial);
}

/// With `[frameworks] enabled`, report.json says each requirement's status (the golden
/// `report-cis.json`): those today's rules decide from the findings, the manual ones manual,
/// the rest not covered.
#[test]
fn an_enabled_framework_reports_every_requirement_with_its_status() {
    use infraqa_core::frameworks::Status;
    let inv = inventory();
    let now = at(28, 6);
    let text = format!(
        "{}\n[frameworks]\nenabled = [\"cis-aws-7.0\"]\n",
        std::fs::read_to_string(fixture("fixtures/policy.toml")).unwrap()
    );
    let policy = infraqa_core::Policy::from_toml(&text, "policy.toml").unwrap();
    let (checked, assessed) = report_under(&policy, &inv, &[], now);
    assert_eq!(assessed.frameworks.len(), 1);
    let cis = &assessed.frameworks[0];
    assert_eq!(cis.id, "cis-aws-7.0");
    assert_eq!(cis.requirements.len(), 70);
    assert_eq!(cis.counts[&Status::Manual], 36);
    let public = checked
        .findings
        .iter()
        .filter(|f| f.rule_id == RuleId::S3PublicAccess)
        .count();
    assert!(
        public > 0,
        "the fixture has a bucket without Block Public Access"
    );
    let s3 = cis.requirements.iter().find(|r| r.id == "3.1.4").unwrap();
    assert_eq!((s3.status, s3.findings), (Status::Fail, public));
    assert!(
        !cis.counts.contains_key(&Status::NotCovered),
        "all 34 automated requirements are decided"
    );
    for q in &cis.requirements {
        match q.status {
            Status::Fail => assert!(q.findings > 0, "{}", q.id),
            Status::Pass | Status::NotEvaluated => assert_eq!(q.findings, 0, "{}", q.id),
            Status::Manual | Status::NotCovered => assert!(q.rules.is_empty(), "{}", q.id),
        }
    }
    // The fixture's inventory read no account settings: their requirements are unknown.
    let ebs = cis.requirements.iter().find(|r| r.id == "6.1.1").unwrap();
    assert_eq!(ebs.status, Status::NotEvaluated);
    matches_golden(&assessed, "report-cis.json");
    // Without the key the report has no section: the golden file stays as it was.
    let (_, plain) = report(&inv, &[], now);
    assert!(plain.frameworks.is_empty());
}
