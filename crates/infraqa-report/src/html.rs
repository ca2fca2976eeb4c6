//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no fetches), drawn
//! by an askama template over a view of the report.

use crate::charts::{self, Bar, ChartError, NEUTRAL, severity_color};
use askama::Template;
use infraqa_core::frameworks::{RequirementStatus, Status};
use infraqa_core::history::{AGE_BANDS, FindingKey};
use infraqa_core::lifecycle::{Cleanup, UsageGap};
use infraqa_core::report::Report;
use infraqa_core::rules::{ExemptedFinding, NotEvaluated};
use infraqa_core::{Finding, Severity};
use std::collections::BTreeMap;

/// Why the page could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// A chart failed to draw.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The template failed to render.
    #[error("could not render report.html: {0}")]
    Template(#[from] askama::Error),
}

/// One non-compliant resource and everything wrong with it.
pub struct ResourceView<'a> {
    arn: &'a str,
    resource_type: &'a str,
    region: &'a str,
    worst: Severity,
    findings: Vec<&'a Finding>,
}

struct Row {
    cells: Vec<String>,
}

/// One cleanup recommendation as the page shows it.
struct CleanupRow<'a> {
    c: &'a Cleanup,
    saving: String,
    age: String,
}

/// One type's ages.
struct AgeRow {
    resource_type: String,
    counts: Vec<usize>,
    oldest: Vec<String>,
}

/// The rows of a long list a person reads, at most [`LISTED`], and how many more there are.
struct Listed<T> {
    shown: Vec<T>,
    more: usize,
    total: usize,
}

impl<T> Listed<T> {
    fn of(items: impl ExactSizeIterator<Item = T>) -> Self {
        let total = items.len();
        Self {
            shown: items.take(LISTED).collect(),
            more: total.saturating_sub(LISTED),
            total,
        }
    }
}

/// Rows a long list shows on the page: past this, the page would stop being read (and at a
/// million resources, stop loading); every row is always in findings.csv and report.json.
pub const LISTED: usize = 1000;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    score: String,
    delta: String,
    direction: &'static str,
    generated: String,
    trend_svg: String,
    severity_svg: String,
    rule_svg: String,
    type_svg: String,
    region_svg: String,
    rules: Vec<Row>,
    resources: Vec<ResourceView<'a>>,
    resources_total: usize,
    resources_more: usize,
    errors: Listed<&'a infraqa_core::ScanError>,
    not_evaluated: Listed<&'a NotEvaluated>,
    exempted: Listed<&'a ExemptedFinding>,
    trend_new: Listed<&'a FindingKey>,
    trend_resolved: Listed<&'a FindingKey>,
    trend_unknown: Listed<&'a FindingKey>,
    trend_exempted: Listed<&'a FindingKey>,
    orphans: Listed<Row>,
    allocation: Vec<(String, Vec<Row>)>,
    misconfigurations: Listed<Row>,
    usage: Vec<Row>,
    cleanup: Listed<CleanupRow<'a>>,
    idle_and_old: usize,
    not_enough_data: Listed<&'a UsageGap>,
    usage_unread: Listed<&'a UsageGap>,
    bands: [&'static str; 5],
    ages: Vec<AgeRow>,
    waste_trend: Vec<Row>,
    mttr: Vec<Row>,
    cost_total: String,
    waste_total: String,
    untagged: String,
    frameworks: Vec<FrameworkView<'a>>,
}

/// One framework as the page shows it: its counts, a score per section, and its
/// requirements, failing first.
struct FrameworkView<'a> {
    name: &'a str,
    id: &'a str,
    counts: String,
    sections: Vec<Row>,
    requirements: Vec<RequirementRow<'a>>,
}

/// One requirement as the page shows it.
struct RequirementRow<'a> {
    q: &'a RequirementStatus,
    label: &'static str,
    class: &'static str,
}

/// The statuses in the order the page lists them, each with its label and CSS class.
const STATUSES: [(Status, &str, &str); 5] = [
    (Status::Fail, "fail", "fail"),
    (Status::NotEvaluated, "not evaluated", "not-evaluated"),
    (Status::Pass, "pass", "pass"),
    (Status::Manual, "manual", "manual"),
    (Status::NotCovered, "not covered", "not-covered"),
];

/// The place of `s` in [`STATUSES`].
fn slot(s: Status) -> usize {
    STATUSES.iter().position(|(x, _, _)| *x == s).unwrap_or(0)
}

/// Each framework of the report: per section, how many requirements pass of those decided
/// (passed or failed; not evaluated ones are counted apart, never as passes), and every
/// requirement in status order (fail, not evaluated, pass, manual, not covered), each in the
/// framework's order.
fn framework_views(r: &Report) -> Vec<FrameworkView<'_>> {
    r.frameworks
        .iter()
        .map(|f| {
            let mut sections: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
            let order: Vec<&str> = f.requirements.iter().fold(Vec::new(), |mut v, q| {
                if !v.contains(&q.section.as_str()) {
                    v.push(&q.section);
                }
                v
            });
            for q in &f.requirements {
                sections.entry(&q.section).or_default()[slot(q.status)] += 1;
            }
            let rows = order
                .iter()
                .map(|name| {
                    let [fail, unknown, pass, manual, uncovered] = sections[name];
                    let decided = pass + fail;
                    Row {
                        cells: vec![
                            (*name).to_owned(),
                            fail.to_string(),
                            unknown.to_string(),
                            pass.to_string(),
                            manual.to_string(),
                            uncovered.to_string(),
                            if decided == 0 {
                                "none decided".to_owned()
                            } else {
                                format!(
                                    "{:.0}% ({pass} of {decided})",
                                    pass as f64 * 100.0 / decided as f64
                                )
                            },
                        ],
                    }
                })
                .collect();
            let mut requirements: Vec<RequirementRow<'_>> = f
                .requirements
                .iter()
                .map(|q| {
                    let (_, label, class) = STATUSES[slot(q.status)];
                    RequirementRow { q, label, class }
                })
                .collect();
            // A stable sort: each status's requirements stay in the framework's order.
            requirements.sort_by_key(|row| slot(row.q.status));
            let counts = STATUSES
                .iter()
                .map(|(s, label, _)| format!("{} {label}", f.counts.get(s).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ");
            FrameworkView {
                name: &f.name,
                id: &f.id,
                counts,
                sections: rows,
                requirements,
            }
        })
        .collect()
}

fn money(x: f64) -> String {
    format!("${x:.2}")
}

fn neutral_bars<'a>(items: impl Iterator<Item = (&'a String, &'a usize)>) -> Vec<Bar> {
    let mut v: Vec<Bar> = items
        .map(|(k, n)| Bar {
            label: k.clone(),
            value: *n as f64,
            color: NEUTRAL,
        })
        .collect();
    v.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.label.cmp(&b.label))
    });
    v
}

/// Renders the page.
pub fn render(r: &Report) -> Result<String, HtmlError> {
    let s = &r.summary;
    let points: Vec<(String, f64)> = r
        .trend
        .history
        .iter()
        .map(|p| {
            (
                p.generated_at.format("%m-%d %H:%M").to_string(),
                p.compliance_score,
            )
        })
        .collect();
    let severity_bars: Vec<Bar> = Severity::ALL
        .into_iter()
        .rev()
        .map(|sev| Bar {
            label: sev.to_string(),
            value: s.by_severity.get(&sev).copied().unwrap_or(0) as f64,
            color: severity_color(sev),
        })
        .collect();
    let rule_bars: Vec<Bar> = s
        .by_rule
        .iter()
        .map(|(rule, rs)| Bar {
            label: rule.to_string(),
            value: rs.findings as f64,
            color: NEUTRAL,
        })
        .collect();

    let mut by_resource: BTreeMap<(&str, &str), ResourceView<'_>> = BTreeMap::new();
    for f in &r.findings {
        let v = by_resource
            .entry((f.resource_arn.as_str(), f.region.as_str()))
            .or_insert_with(|| ResourceView {
                arn: &f.resource_arn,
                resource_type: &f.resource_type,
                region: &f.region,
                worst: f.severity,
                findings: Vec::new(),
            });
        v.worst = v.worst.max(f.severity);
        v.findings.push(f);
    }
    let mut resources: Vec<ResourceView<'_>> = by_resource.into_values().collect();
    resources.sort_by(|a, b| b.worst.cmp(&a.worst).then_with(|| a.arn.cmp(b.arn)));
    let resources_total = resources.len();
    resources.truncate(LISTED);

    let page = Page {
        r,
        score: format!("{:.2}", s.compliance_score),
        delta: match r.trend.score_delta {
            Some(d) => format!("{d:+.2} points since the previous run"),
            None => "first run: no previous score".to_owned(),
        },
        direction: match r.trend.direction {
            infraqa_core::trend::Direction::Improving => "improving",
            infraqa_core::trend::Direction::Degrading => "degrading",
            infraqa_core::trend::Direction::Stable => "stable",
        },
        generated: r.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        trend_svg: charts::score_trend(&points)?,
        severity_svg: charts::bars("Findings by severity", &severity_bars, "severity")?,
        rule_svg: charts::bars("Findings by rule", &rule_bars, "rule")?,
        type_svg: charts::bars(
            "Resources by type",
            &neutral_bars(s.by_type.iter()),
            "resource type",
        )?,
        region_svg: charts::bars(
            "Resources by region",
            &neutral_bars(s.by_region.iter()),
            "region",
        )?,
        rules: rule_rows(r),
        resources,
        resources_total,
        resources_more: resources_total.saturating_sub(LISTED),
        errors: Listed::of(r.errors.iter()),
        not_evaluated: Listed::of(r.not_evaluated.iter()),
        exempted: Listed::of(r.exempted.iter()),
        trend_new: Listed::of(r.trend.new.iter()),
        trend_resolved: Listed::of(r.trend.resolved.iter()),
        trend_unknown: Listed::of(r.trend.unknown.iter()),
        trend_exempted: Listed::of(r.trend.exempted.iter()),
        orphans: Listed::of(r.orphans.iter().map(|o| Row {
            cells: vec![
                    o.kind.to_string(),
                    o.resource_arn.clone(),
                    o.region.clone(),
                    o.reason.clone(),
                    o.estimated_monthly_cost_usd
                        .map_or_else(|| "unknown".to_owned(), money),
                ],
        })),
        allocation: allocation_rows(r),
        misconfigurations: Listed::of(r.cost.misconfigurations.iter().map(|m| Row {
            cells: vec![
                m.kind.as_str().to_owned(),
                m.resource_arn.clone(),
                m.region.clone(),
                m.reason.clone(),
                money(m.estimated_monthly_waste_usd),
                m.action.clone(),
            ],
        })),
        usage: usage_rows(r),
        cleanup: Listed::of(r.lifecycle.cleanup.iter().map(|c| {
            CleanupRow {
                c,
                saving: c
                    .estimated_monthly_saving_usd
                    .map_or_else(|| "not priced".to_owned(), money),
                age: c
                    .age_days
                    .map_or_else(|| "unknown".to_owned(), |d| format!("{d} days")),
            }
        })),
        idle_and_old: r.lifecycle.idle_and_old().count(),
        not_enough_data: Listed::of(r.lifecycle.not_enough_data.iter()),
        usage_unread: Listed::of(r.lifecycle.not_evaluated.iter()),
        bands: AGE_BANDS,
        ages: age_rows(r),
        waste_trend: waste_trend_rows(r),
        mttr: mttr_rows(r),
        cost_total: money(r.cost.estimated_monthly_total_usd),
        waste_total: money(r.cost.estimated_monthly_waste_usd),
        untagged: format!(
            "{} resources, {} ({:.2}% of the estimated total)",
            r.cost.untagged.resources,
            money(r.cost.untagged.estimated_monthly_cost_usd),
            r.cost.untagged.share_percent
        ),
        frameworks: framework_views(r),
    };
    Ok(page.render()?)
}

/// Per rule: judged, findings, exempted, not evaluated and pass rate.
fn rule_rows(r: &Report) -> Vec<Row> {
    r.summary
        .by_rule
        .iter()
        .map(|(id, rs)| Row {
            cells: vec![
                id.to_string(),
                rs.evaluated.to_string(),
                rs.findings.to_string(),
                rs.exempted.to_string(),
                rs.not_evaluated.to_string(),
                format!("{:.2}%", rs.pass_rate),
            ],
        })
        .collect()
}

/// Per allocation tag, its values' rows and the untagged row.
fn allocation_rows(r: &Report) -> Vec<(String, Vec<Row>)> {
    r.cost
        .allocation
        .iter()
        .map(|(tag, a)| {
            let rows = a
                .by_value
                .iter()
                .chain(std::iter::once(&a.untagged))
                .map(|row| Row {
                    cells: vec![
                        row.value.clone(),
                        row.resources.to_string(),
                        money(row.estimated_monthly_cost_usd),
                        format!("{:.2}%", row.share_percent),
                    ],
                })
                .collect();
            (tag.clone(), rows)
        })
        .collect()
}

/// Per measured type, its usage verdict counts.
fn usage_rows(r: &Report) -> Vec<Row> {
    r.lifecycle
        .usage
        .iter()
        .map(|(t, c)| Row {
            cells: vec![
                t.clone(),
                c.measured.to_string(),
                c.idle.to_string(),
                c.oversized.to_string(),
                c.busy.to_string(),
                c.not_enough_data.to_string(),
                c.not_evaluated.to_string(),
                c.kept.to_string(),
            ],
        })
        .collect()
}

/// Per type, its resources per age band and its oldest.
fn age_rows(r: &Report) -> Vec<AgeRow> {
    r.lifecycle
        .age
        .iter()
        .map(|(t, a)| AgeRow {
            resource_type: t.clone(),
            counts: a.counts(),
            oldest: a
                .oldest
                .iter()
                .map(|o| format!("{} ({} days)", o.resource_arn, o.age_days))
                .collect(),
        })
        .collect()
}

/// Per past run: score, findings and the idle resources' monthly saving.
fn waste_trend_rows(r: &Report) -> Vec<Row> {
    r.trend
        .history
        .iter()
        .map(|p| Row {
            cells: vec![
                p.generated_at.format("%Y-%m-%d %H:%M").to_string(),
                format!("{:.2}%", p.compliance_score),
                p.findings.to_string(),
                p.idle_monthly_saving_usd
                    .map_or_else(|| "not measured".to_owned(), money),
            ],
        })
        .collect()
}

/// Per rule: findings resolved and the mean days to resolve them.
fn mttr_rows(r: &Report) -> Vec<Row> {
    r.trend
        .mttr_days
        .iter()
        .map(|(rule, m)| Row {
            cells: vec![
                rule.to_string(),
                m.resolved.to_string(),
                format!("{:.2}", m.mean_days),
            ],
        })
        .collect()
}
