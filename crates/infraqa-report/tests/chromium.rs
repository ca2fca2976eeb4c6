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
