//! `report.md`: a short summary fit for an SNS e-mail or a pull request comment.

use askama::Template;
use infraqa_core::Severity;
use infraqa_core::history::AGE_BANDS;
use infraqa_core::report::Report;

/// How many recommendations (and failed reads) the summary lists.
pub const TOP: usize = 5;

#[derive(Template)]
#[template(path = "report.md")]
struct Summary<'a> {
    r: &'a Report,
    errors: Vec<&'a infraqa_core::ScanError>,
    errors_more: usize,
    score: String,
    delta: String,
    direction: String,
    generated: String,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    top: Vec<(String, usize, Severity)>,
    more: usize,
    cost_total: String,
    waste_total: String,
    orphans_cost: String,
    untagged: String,
    idle: usize,
    oversized: usize,
    kept: usize,
    saving: String,
    idle_and_old: usize,
    cleanup: Vec<(String, String, String, String)>,
    cleanup_more: usize,
    bands: [&'static str; 5],
    ages: Vec<(String, Vec<usize>)>,
}

/// Table cells must not break the Markdown table.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the summary.
pub fn render(r: &Report) -> Result<String, askama::Error> {
    let s = &r.summary;
    let count = |sev| s.by_severity.get(&sev).copied().unwrap_or(0);
    Summary {
        r,
        errors: r.errors.iter().take(TOP).collect(),
        errors_more: r.errors.len().saturating_sub(TOP),
        score: format!("{:.2}", s.compliance_score),
        delta: r
            .trend
            .score_delta
            .map_or_else(|| "first run".to_owned(), |d| format!("{d:+.2} points")),
        direction: serde_json::to_value(r.trend.direction)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        generated: r.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        critical: count(Severity::Critical),
        high: count(Severity::High),
        medium: count(Severity::Medium),
        low: count(Severity::Low),
        top: r
            .recommendations
            .iter()
            .take(TOP)
            .map(|rec| (escape(&rec.action), rec.clears, rec.max_severity))
            .collect(),
        more: r.recommendations.len().saturating_sub(TOP),
        cost_total: format!("${:.2}", r.cost.estimated_monthly_total_usd),
        waste_total: format!("${:.2}", r.cost.estimated_monthly_waste_usd),
        orphans_cost: format!("${:.2}", s.orphans_monthly_cost_usd),
        untagged: format!(
            "{} resources, ${:.2}/month ({:.2}%)",
            r.cost.untagged.resources,
            r.cost.untagged.estimated_monthly_cost_usd,
            r.cost.untagged.share_percent
        ),
        idle: r.lifecycle.usage.values().map(|c| c.idle).sum(),
        oversized: r.lifecycle.usage.values().map(|c| c.oversized).sum(),
        kept: r.lifecycle.usage.values().map(|c| c.kept).sum(),
        saving: format!("${:.2}", r.lifecycle.estimated_monthly_saving_usd),
        idle_and_old: r.lifecycle.idle_and_old().count(),
        cleanup: r
            .lifecycle
            .cleanup
            .iter()
            .take(TOP)
            .map(|c| {
                (
                    format!("{} `{}`", c.kind.as_str(), escape(&c.resource_arn)),
                    match &c.resize_to {
                        Some(to) => format!("{} to {to}", c.action.as_str()),
                        None => c.action.as_str().to_owned(),
                    },
                    c.estimated_monthly_saving_usd
                        .map_or_else(|| "not priced".to_owned(), |s| format!("${s:.2}")),
                    match (c.age_days, c.old) {
                        (Some(d), true) => format!("{d} days (old)"),
                        (Some(d), false) => format!("{d} days"),
                        (None, _) => "unknown".to_owned(),
                    },
                )
            })
            .collect(),
        cleanup_more: r.lifecycle.cleanup.len().saturating_sub(TOP),
        bands: AGE_BANDS,
        ages: r
            .lifecycle
            .age
            .iter()
            .map(|(t, a)| (t.clone(), a.counts()))
            .collect(),
    }
    .render()
    .map(|mut text| {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    })
}
