//! The audit pack's pages: what an auditor reads about a period (completeness first, then each
//! account's trend, remediation and open findings, then the remediation log), in HTML and in
//! Markdown, pure functions of the export. `audit.md` is compared with a golden file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use infraqa_core::pack::pack;

/// A policy with an exemption that lapses in the period and one in force after it.
fn exempting_policy() -> infraqa_core::Policy {
    infraqa_core::Policy::from_toml(
        "[[exemptions]]\nrule = \"s3-encryption\"\nresource = \"arn:aws:s3:::data\"\nreason = \"key rotation\"\nexpires = 2026-11-12\n\n[[exemptions]]\nrule = \"tags-required\"\ntag = { key = \"Team\", value = \"research\" }\nreason = \"sandbox accounts\"\n",
        "policy.toml",
    )
    .unwrap()
}

#[test]
fn the_pages_state_completeness_remediation_and_what_is_still_open() {
    let x = audit_export();
    let p = pack(&x, Some(&exempting_policy()));
    let html = infraqa_report::audit::html(&x, &p).unwrap();
    let md = infraqa_report::audit::markdown(&x, &p).unwrap();
    for page in [&html, &md] {
        for fact in [
            "2026-11-02 to 2026-11-15",
            // The history's protection, the days without a run and what a partial run missed.
            "S3 Object Lock in bucket infraqa-evidence: COMPLIANCE mode, 400 days",
            "9 day(s) without a run",
            "2026-11-04, 2026-11-06, 2026-11-07, 2026-11-08, 2026-11-11",
            "s3 eu-west-1 GetBucketEncryption",
            // The trend, remediation and what is still open.
            "80% at the",
            "90% at",
            "2026-11-09",
            "tags-required",
            "improved",
            "arn:aws:s3:::data",
            // Who fixed what.
            "assumed-role/infraqa-tagger/run",
            "tag Owner=platform",
            "audit-findings-2026-11-02-2026-11-15.csv",
            // The finding moved aside, and the exemption that lapsed in the period.
            "Exemptions that took effect in the period",
            "key rotation",
            "expired in the period",
        ] {
            assert!(page.contains(fact), "missing {fact:?} in\n{page}");
        }
    }
    assert!(
        md.contains("12 resources (age 0-30 days: 2, age over 1 year: 10)"),
        "{md}"
    );
    assert!(html.contains("<td>over 1 year</td><td>10</td>"), "{html}");
    assert!(html.contains("<svg"), "the score chart is drawn inline");
    for fetch in [" src=", "<link", "url(", "@import", "href=\"http"] {
        assert!(
            !html.contains(fetch),
            "the page fetches nothing, found {fetch}"
        );
    }
}

#[test]
fn audit_md_matches_the_golden_file() {
    let x = audit_export();
    let md = infraqa_report::audit::markdown(&x, &pack(&x, Some(&exempting_policy()))).unwrap();
    let path = fixture("golden/audit.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        md, golden,
        "regenerate with UPDATE_GOLDEN=1 after an intended change"
    );
}

#[test]
fn each_framework_shows_its_status_at_the_end_and_what_changed_since_when() {
    use infraqa_core::frameworks::Status;
    let mut x = audit_export();
    let statuses = |public: Status| {
        std::collections::BTreeMap::from([(
            "cis-aws-7.0".to_owned(),
            std::collections::BTreeMap::from([
                ("3.1.4".to_owned(), public),
                ("2.4".to_owned(), Status::Pass),
                ("2.1.1".to_owned(), Status::Manual),
            ]),
        )])
    };
    let n = x.runs.len();
    for (i, run) in x.runs.iter_mut().enumerate() {
        run.frameworks = statuses(if i + 2 < n {
            Status::Fail
        } else {
            Status::Pass
        });
    }
    let fixed_at = x.runs[n - 2]
        .run_time()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let p = pack(&x, None);
    let html = infraqa_report::audit::html(&x, &p).unwrap();
    let md = infraqa_report::audit::markdown(&x, &p).unwrap();
    assert!(md.contains("CIS Amazon Web Services Foundations Benchmark v7.0.0 at the period's end: 2 pass, 1 manual."), "{md}");
    assert!(
        md.contains(&format!("| 3.1.4 Ensure that S3 is configured with 'Block Public Access' enabled | fail | pass | {fixed_at} |")),
        "{md}"
    );
    assert!(
        !md.contains("| 2.4 "),
        "an unchanged requirement is not listed as changed"
    );
    assert!(html.contains("id=\"framework-111111111111-cis-aws-7.0\""));
    assert!(
        html.contains(&format!("<td>fail</td><td>pass</td><td>{fixed_at}</td>")),
        "{html}"
    );
}
