//! report.html renders in a real browser: headless Chromium loads the file, and the rendered
//! DOM holds the score and the charts. Needs Debian's `chromium` (`make test` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::process::Command;

fn chromium() -> String {
    std::env::var("INFRAQA_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

/// Loads `url` in headless Chromium with no network and returns the rendered DOM.
fn dump_dom(url: &str, profile: &std::path::Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            url,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): install Debian's chromium",
                chromium()
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs chromium; make test runs it"]
fn headless_chromium_renders_the_score_and_the_charts() {
    let (_, report) = report(&inventory(), &[], at(28, 6));
    let dir = tempfile::tempdir().unwrap();
    for name in infraqa_report::FILES {
        let bytes = infraqa_report::render(&report, name).unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for fetch in [" src=", "<link", "url(", "@import", "href=\"http"] {
        assert!(
            !html.contains(fetch),
            "the page fetches nothing, found {fetch}"
        );
    }
    assert!(!html.contains("<script"), "no scripts");

    let dom = dump_dom(
        &format!("file://{}", dir.path().join("report.html").display()),
        &dir.path().join("profile"),
    );
    let score = format!(
        "<span id=\"score\">{:.2}</span>",
        report.summary.compliance_score
    );
    assert!(dom.contains(&score), "the rendered page shows {score}");
    for chart in [
        "chart-trend",
        "chart-severity",
        "chart-rule",
        "chart-type",
        "chart-region",
    ] {
        let at = dom
            .find(&format!("id=\"{chart}\""))
            .unwrap_or_else(|| panic!("no {chart}"));
        let figure = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        assert!(figure.contains("<svg"), "{chart} holds an SVG chart");
        assert!(
            figure.contains("<rect") || figure.contains("<polyline") || figure.contains("<circle"),
            "{chart} draws something"
        );
    }
    // The non-compliant resources are listed with their remediation.
    let first = &report.findings[0];
    assert!(dom.contains(&first.resource_arn));
    assert!(dom.contains("id=\"recommendations\""));
}

#[test]
#[ignore = "needs chromium; make test runs it"]
fn headless_chromium_renders_the_audit_pack_with_its_chart() {
    let x = audit_export();
    let p = infraqa_core::pack::pack(&x, None);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("audit.html");
    std::fs::write(&page, infraqa_report::audit::html(&x, &p).unwrap()).unwrap();
    let dom = dump_dom(
        &format!("file://{}", page.display()),
        &dir.path().join("profile"),
    );
    assert!(dom.contains("id=\"retention\""));
    let account = dom.find("id=\"account-111111111111\"").unwrap();
    let section = &dom[account..];
    assert!(
        section.contains("<svg") && (section.contains("<polyline") || section.contains("<circle"))
    );
    assert!(dom.contains("id=\"remediation\""));
}

#[test]
#[ignore = "needs chromium; make test runs it"]
fn headless_chromium_renders_the_framework_section_failing_requirements_first() {
    use infraqa_core::frameworks::Status;
    let text = format!(
        "{}\n[frameworks]\nenabled = [\"cis-aws-7.0\"]\n",
        std::fs::read_to_string(fixture("fixtures/policy.toml")).unwrap()
    );
    let policy = infraqa_core::Policy::from_toml(&text, "policy.toml").unwrap();
    let (_, report) = report_under(&policy, &inventory(), &[], at(28, 6));
    let cis = &report.frameworks[0];
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(
        &page,
        infraqa_report::render(&report, "report.html").unwrap(),
    )
    .unwrap();
    let dom = dump_dom(
        &format!("file://{}", page.display()),
        &dir.path().join("profile"),
    );
    let at = dom
        .find("id=\"framework-cis-aws-7.0\"")
        .expect("a section per framework");
    let section = &dom[at..];
    // Every requirement is a row, the failing ones first, in the benchmark's order.
    let statuses: Vec<&str> = section
        .match_indices("data-status=\"")
        .map(|(i, m)| {
            let rest = &section[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(statuses.len(), 70);
    let fails = cis.counts[&Status::Fail];
    assert!(fails > 0);
    assert!(
        statuses[..fails].iter().all(|s| *s == "fail"),
        "{statuses:?}"
    );
    assert_eq!(statuses[fails], "not-evaluated");
    // Every automated requirement is decided: the manual ones close the list.
    assert_eq!(*statuses.last().unwrap(), "manual");
    assert!(!statuses.contains(&"not-covered"), "{statuses:?}");
    // A score per section, and each failing requirement links to its rule's row.
    let sections = section.find("class=\"framework-sections\"").unwrap();
    let table = &section[sections..sections + section[sections..].find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr>").count(),
        1 + 5,
        "a heading and the five sections"
    );
    assert!(section.contains("2 Identity and Access Management"));
    assert!(section.contains("href=\"#rule-s3-public-access\""));
    assert!(
        dom.contains("id=\"rule-s3-public-access\""),
        "the link's target"
    );
}
