//! A run over several accounts at a glance, beside `organization.json`: `organization.md`,
//! `organization.html` (one self-contained page) and `organization.csv` (one row per
//! account). Each has the organization's score and trend, the accounts worst first, findings
//! by rule over every account, and a section per account linking its own full report.

use crate::charts;
use crate::html::HtmlError;
use askama::Template;
use infraqa_core::Severity;
use infraqa_core::organization::{AccountLine, AccountStatus, OrganizationSummary};

/// One account, as every format shows it.
struct Row {
    account: String,
    status: &'static str,
    score: String,
    change: String,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    findings: usize,
    new: usize,
    resolved: usize,
    report: String,
    page: String,
    error: String,
    rules: Vec<(String, usize)>,
}

/// The organization, as every format shows it.
struct View<'a> {
    s: &'a OrganizationSummary,
    generated: String,
    score: String,
    change: String,
    unreached: usize,
    partial: usize,
    rows: Vec<Row>,
    rules: Vec<(String, usize)>,
    errors: Vec<String>,
    history: Vec<(String, String, usize, usize)>,
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}%"))
}

fn change(delta: Option<f64>) -> String {
    delta.map_or_else(String::new, |d| format!("{d:+.2}"))
}

fn status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Complete => "complete",
        AccountStatus::Partial => "partial",
        AccountStatus::Unreachable => "not reached",
    }
}

fn by_count(rules: impl Iterator<Item = (String, usize)>) -> Vec<(String, usize)> {
    let mut rules: Vec<(String, usize)> = rules.collect();
    rules.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rules
}

fn row(a: &AccountLine) -> Row {
    let n = |sev| a.by_severity.get(&sev).copied().unwrap_or(0);
    let report = a.report.clone().unwrap_or_default();
    Row {
        account: a.account_id.clone(),
        status: status(a.status),
        score: percent(a.compliance_score),
        change: change(a.score_delta),
        critical: n(Severity::Critical),
        high: n(Severity::High),
        medium: n(Severity::Medium),
        low: n(Severity::Low),
        findings: a.findings,
        new: a.new_findings,
        resolved: a.resolved_findings,
        page: report
            .strip_suffix(".json")
            .map_or_else(String::new, |stem| format!("{stem}.html")),
        report,
        error: a.error.clone().unwrap_or_default(),
        rules: by_count(a.by_rule.iter().map(|(id, n)| (id.to_string(), *n))),
    }
}

impl<'a> View<'a> {
    fn of(s: &'a OrganizationSummary) -> Self {
        let count = |status| s.accounts.iter().filter(|a| a.status == status).count();
        View {
            s,
            generated: s.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            score: percent(s.compliance_score),
            change: change(s.trend.score_delta),
            unreached: count(AccountStatus::Unreachable),
            partial: count(AccountStatus::Partial),
            rows: s.accounts.iter().map(row).collect(),
            rules: by_count(s.by_rule.iter().map(|(id, n)| (id.to_string(), *n))),
            errors: s.errors.iter().map(|e| e.message.clone()).collect(),
            history: s
                .trend
                .history
                .iter()
                .map(|p| {
                    (
                        p.at.format("%Y-%m-%d %H:%M").to_string(),
                        percent(p.compliance_score),
                        p.accounts,
                        p.unreached,
                    )
                })
                .collect(),
        }
    }
}

/// Table cells must not break the Markdown table.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[derive(Template)]
#[template(path = "organization.md")]
struct Markdown<'a> {
    v: View<'a>,
}

/// Renders the summary as Markdown.
pub fn render(s: &OrganizationSummary) -> Result<String, askama::Error> {
    let mut v = View::of(s);
    for r in &mut v.rows {
        r.report = escape(&r.report);
        r.error = escape(&r.error);
    }
    v.errors = v.errors.iter().map(|e| escape(e)).collect();
    Markdown { v }.render()
}

#[derive(Template)]
#[template(path = "organization.html")]
struct Html<'a> {
    v: View<'a>,
    chart_svg: String,
}

/// Renders the summary as one self-contained HTML page (inline CSS and SVG, no scripts).
pub fn html(s: &OrganizationSummary) -> Result<String, HtmlError> {
    let points: Vec<(String, f64)> = s
        .trend
        .history
        .iter()
        .filter_map(|p| Some((p.at.format("%m-%d").to_string(), p.compliance_score?)))
        .collect();
    let chart_svg = if points.len() >= 2 {
        charts::score_trend(&points)?
    } else {
        String::new()
    };
    Ok(Html {
        v: View::of(s),
        chart_svg,
    }
    .render()?)
}

/// The CSV's header row.
pub const CSV_HEADER: [&str; 15] = [
    "account_id",
    "status",
    "compliance_score",
    "previous_score",
    "score_delta",
    "critical",
    "high",
    "medium",
    "low",
    "findings",
    "new_findings",
    "resolved_findings",
    "report",
    "error",
    "findings_by_rule",
];

/// Writes `organization.csv` (one row per account, worst first) into `out`.
pub fn csv(s: &OrganizationSummary, out: impl std::io::Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    let number = |x: Option<f64>| x.map_or_else(String::new, |x| format!("{x:.2}"));
    for a in &s.accounts {
        let r = row(a);
        let rules: Vec<String> = r.rules.iter().map(|(id, n)| format!("{id}={n}")).collect();
        w.write_record([
            r.account,
            r.status.to_owned(),
            number(a.compliance_score),
            number(a.previous_score),
            number(a.score_delta),
            r.critical.to_string(),
            r.high.to_string(),
            r.medium.to_string(),
            r.low.to_string(),
            r.findings.to_string(),
            r.new.to_string(),
            r.resolved.to_string(),
            r.report,
            crate::table::cell(&r.error).into_owned(),
            rules.join(" "),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use infraqa_core::organization::{AccountLine, summarize};

    fn summary() -> OrganizationSummary {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
        let policy = infraqa_core::Policy::from_toml(infraqa_core::synthetic::POLICY, "p").unwrap();
        let report = |account: &str, n: usize| {
            let mut inv = infraqa_core::synthetic::inventory(n, now);
            inv.account_id = account.into();
            inv.errors.clear();
            let mut past = infraqa_core::trend::PastRuns::for_inventory(&inv, now);
            infraqa_core::report::build(infraqa_core::report::ReportInput {
                inventory: infraqa_core::report::digest(
                    &inv,
                    &policy,
                    &mut past,
                    infraqa_core::prices::PriceTable::embedded(),
                    now,
                ),
                check: infraqa_core::check::check(&inv, &policy, now),
                past,
                now,
            })
        };
        let (a, b) = (report("111111111111", 30), report("222222222222", 90));
        let denied = infraqa_core::ScanError {
            region: "global".into(),
            service: "sts".into(),
            operation: "AssumeRole".into(),
            code: "AccessDenied".into(),
            message: "=arn:aws:iam::333333333333:role/infraqa-member: not authorized | <denied>"
                .into(),
        };
        let mut s = summarize(
            vec![
                AccountLine::reported(&a, "111111111111/report.json".into()),
                AccountLine::unreached("333333333333", &denied),
                AccountLine::reported(&b, "222222222222/report.json".into()),
            ],
            vec![denied],
            now,
        );
        s.trend = infraqa_core::organization::trend(&s, &[]);
        s
    }

    #[test]
    fn accounts_are_listed_worst_first_and_the_one_not_reached_says_why() {
        let md = render(&summary()).unwrap();
        assert!(
            md.contains("> **Partial**: 1 account(s) not reached"),
            "{md}"
        );
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| 3") || l.starts_with("| 1") || l.starts_with("| 2"))
            .collect();
        assert_eq!(rows.len(), 3, "{md}");
        assert!(
            rows[0].starts_with("| 333333333333 | not reached | - |"),
            "{md}"
        );
        let score = |line: &str| {
            line.split('|')
                .nth(3)
                .unwrap()
                .trim()
                .trim_end_matches('%')
                .parse::<f64>()
                .unwrap()
        };
        assert!(score(rows[1]) <= score(rows[2]), "{md}");
        assert!(
            md.contains(
                "- =arn:aws:iam::333333333333:role/infraqa-member: not authorized \\| <denied>"
            ),
            "{md}"
        );
        assert!(md.contains("### Findings by rule, every account"), "{md}");
        // A section per account, the unreached one with its reason.
        for id in ["111111111111", "222222222222", "333333333333"] {
            assert!(md.contains(&format!("#### {id}: ")), "{md}");
        }
        assert!(md.contains("Its report: 111111111111/report.json."), "{md}");
    }

    #[test]
    fn the_page_has_the_score_a_section_per_account_and_escapes_what_aws_said() {
        let s = summary();
        let page = html(&s).unwrap();
        assert!(page.contains(&format!(
            "<span class=\"score\" id=\"score\">{}</span>",
            percent(s.compliance_score)
        )));
        for id in ["111111111111", "222222222222", "333333333333"] {
            assert!(
                page.contains(&format!("<section id=\"account-{id}\">")),
                "{id}"
            );
        }
        assert!(page.contains("<a href=\"111111111111/report.html\">"));
        assert!(
            page.contains("not authorized | &#60;denied&#62;"),
            "the reason is escaped: {page}"
        );
        assert!(!page.contains("<denied>"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn the_table_has_a_row_per_account_worst_first_and_no_formula_cells() {
        let s = summary();
        let mut bytes = Vec::new();
        csv(&s, &mut bytes).unwrap();
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(r.headers().unwrap(), CSV_HEADER.as_slice());
        let rows: Vec<::csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[0][0], "333333333333");
        assert_eq!(&rows[0][1], "not reached");
        assert_eq!(&rows[0][2], "", "no score for an account not reached");
        assert!(rows[0][13].starts_with("'="), "{:?}", &rows[0][13]);
        assert!(
            rows[1][14].contains('='),
            "findings by rule: {:?}",
            &rows[1][14]
        );
    }
}
