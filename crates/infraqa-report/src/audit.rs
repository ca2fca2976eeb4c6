//! The audit pack's pages: `audit.html` (one self-contained page like `report.html`) and
//! `audit.md` (the same for tickets and wikis), each a pure function of the audit export and
//! its [`AuditPack`].

use crate::charts::{self, ChartError};
use crate::html::HtmlError;
use askama::Template;
use infraqa_core::pack::AuditExport;
use infraqa_core::pack::{AccountPack, AuditPack};

/// One account's part of the pages, with its chart drawn.
struct AccountView<'a> {
    a: &'a AccountPack,
    chart_svg: String,
    days_without_run: String,
}

/// One remediation action as the log shows it.
struct ActionView {
    at: String,
    account: String,
    resource: String,
    action: String,
    actor: String,
    details: String,
}

/// What both pages show.
struct Pack<'a> {
    x: &'a AuditExport,
    p: &'a AuditPack,
    generated: String,
    retention: String,
    accounts: Vec<AccountView<'a>>,
    actions: Vec<ActionView>,
    csv: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct HtmlPage<'a> {
    v: Pack<'a>,
}

#[derive(Template)]
#[template(path = "audit.md")]
struct MarkdownPage<'a> {
    v: Pack<'a>,
}

/// The name of the findings CSV beside the pages.
pub fn csv_name(x: &AuditExport) -> String {
    infraqa_core::names::pack_findings(x.from, x.to)
}

fn views<'a>(p: &'a AuditPack, draw: bool) -> Result<Vec<AccountView<'a>>, ChartError> {
    p.accounts
        .iter()
        .map(|a| {
            let points: Vec<(String, f64)> = a
                .scores
                .iter()
                .map(|(t, s)| (t.format("%m-%d %H:%M").to_string(), *s))
                .collect();
            Ok(AccountView {
                a,
                chart_svg: if draw {
                    charts::score_trend(&points)?
                } else {
                    String::new()
                },
                days_without_run: a
                    .days_without_run
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
        .collect()
}

fn actions(x: &AuditExport) -> Vec<ActionView> {
    x.remediation_actions
        .iter()
        .map(|r| ActionView {
            at: r.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            account: r.account_id.clone(),
            resource: r.resource_arn.clone(),
            action: r.action.clone(),
            actor: r.actor.clone().unwrap_or_else(|| "unknown".to_owned()),
            details: r
                .outcome
                .iter()
                .map(|o| format!("outcome {o}"))
                .chain(r.error.iter().map(|e| format!("error {e}")))
                .chain(r.details.iter().map(|(k, v)| format!("{k}={v}")))
                .chain(
                    r.tags_written
                        .iter()
                        .flat_map(|t| t.iter().map(|(k, v)| format!("tag {k}={v}"))),
                )
                // A repair names the calls it made (or was to make).
                .chain(r.fix.iter().flat_map(|a| {
                    let calls = if r.action == "fix-undo" {
                        &a.undo_calls
                    } else {
                        &a.calls
                    };
                    calls
                        .iter()
                        .map(|c| format!("call {c}"))
                        .collect::<Vec<_>>()
                }))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect()
}

fn retention(x: &AuditExport) -> String {
    x.evidence_retention.as_ref().map_or_else(
        || "The history's retention was not read for this export.".to_owned(),
        |r| r.describe(),
    )
}

fn pack_view<'a>(x: &'a AuditExport, p: &'a AuditPack, accounts: Vec<AccountView<'a>>) -> Pack<'a> {
    Pack {
        x,
        p,
        generated: x.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        retention: retention(x),
        accounts,
        actions: actions(x),
        csv: csv_name(x),
    }
}

/// Renders `audit.html`.
pub fn html(x: &AuditExport, p: &AuditPack) -> Result<String, HtmlError> {
    let v = pack_view(x, p, views(p, true)?);
    Ok(HtmlPage { v }.render()?)
}

/// Renders `audit.md`.
pub fn markdown(x: &AuditExport, p: &AuditPack) -> Result<String, askama::Error> {
    // Markdown draws no chart.
    let v = pack_view(x, p, views(p, false).unwrap_or_default());
    MarkdownPage { v }.render()
}
