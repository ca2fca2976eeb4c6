//! `organization.md`: a run over several accounts at a glance, beside `organization.json`.

use askama::Template;
use infraqa_core::Severity;
use infraqa_core::organization::{AccountStatus, OrganizationSummary};

#[derive(Template)]
#[template(path = "organization.md")]
struct Page<'a> {
    s: &'a OrganizationSummary,
    generated: String,
    unreached: usize,
    partial: usize,
    rows: Vec<Row>,
    rules: Vec<(String, usize)>,
    errors: Vec<String>,
}

/// One account's row.
struct Row {
    account: String,
    status: &'static str,
    score: String,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    findings: usize,
    report: String,
}

/// Table cells must not break the Markdown table.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the summary as Markdown.
pub fn render(s: &OrganizationSummary) -> Result<String, askama::Error> {
    let count = |status| s.accounts.iter().filter(|a| a.status == status).count();
    let rows = s
        .accounts
        .iter()
        .map(|a| {
            let n = |sev| a.by_severity.get(&sev).copied().unwrap_or(0);
            let status = match a.status {
                AccountStatus::Complete => "complete",
                AccountStatus::Partial => "partial",
                AccountStatus::Unreachable => "not reached",
            };
            Row {
                account: a.account_id.clone(),
                status,
                score: a
                    .compliance_score
                    .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}%")),
                critical: n(Severity::Critical),
                high: n(Severity::High),
                medium: n(Severity::Medium),
                low: n(Severity::Low),
                findings: a.findings,
                report: a.report.as_deref().map_or_else(String::new, escape),
            }
        })
        .collect();
    let mut rules: Vec<(String, usize)> = s
        .by_rule
        .iter()
        .map(|(id, n)| (id.to_string(), *n))
        .collect();
    rules.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Page {
        s,
        generated: s.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        unreached: count(AccountStatus::Unreachable),
        partial: count(AccountStatus::Partial),
        rows,
        rules,
        errors: s.errors.iter().map(|e| escape(&e.message)).collect(),
    }
    .render()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use infraqa_core::organization::{AccountLine, summarize};

    #[test]
    fn accounts_are_listed_worst_first_and_the_one_not_reached_says_why() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
        let policy = infraqa_core::Policy::from_toml(infraqa_core::synthetic::POLICY, "p").unwrap();
        let report = |account: &str, n: usize| {
            let mut inv = infraqa_core::synthetic::inventory(n, now);
            inv.account_id = account.into();
            inv.errors.clear();
            let mut past = infraqa_core::history::PastRuns::for_inventory(&inv, now);
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
            message: "arn:aws:iam::333333333333:role/infraqa-member: not authorized | denied"
                .into(),
        };
        let s = summarize(
            vec![
                AccountLine::reported(&a, "111111111111/report.json".into()),
                AccountLine::unreached("333333333333", &denied),
                AccountLine::reported(&b, "222222222222/report.json".into()),
            ],
            vec![denied.clone()],
            now,
        );
        let md = render(&s).unwrap();
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
                "- arn:aws:iam::333333333333:role/infraqa-member: not authorized \\| denied"
            ),
            "{md}"
        );
        assert!(md.contains("### Findings by rule, every account"), "{md}");
    }
}
