//! Renders infraqa reports and keeps the local history store.
//!
//! Every renderer is a pure function of a [`Report`] to bytes, so the CLI writes them to a
//! directory and the reporter Lambda PUTs them to S3 without either knowing the formats.

pub mod audit;
pub mod charts;
pub mod html;
pub mod markdown;
pub mod organization;
pub mod store;
pub mod table;

use infraqa_core::report::Report;
use std::io::Write;

/// The files a report is rendered to, by name.
pub const FILES: [&str; 4] = ["report.json", "report.html", "findings.csv", "report.md"];

/// A renderer failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// report.json could not be encoded or written.
    #[error("could not write report.json: {0}")]
    Json(std::io::Error),
    /// report.html could not be drawn.
    #[error(transparent)]
    Html(#[from] html::HtmlError),
    /// findings.csv could not be written.
    #[error("could not write findings.csv: {0}")]
    Csv(#[from] csv::Error),
    /// report.md could not be rendered.
    #[error("could not render report.md: {0}")]
    Markdown(askama::Error),
    /// A rendered file could not be written out.
    #[error("could not write the report: {0}")]
    Write(std::io::Error),
}

/// Writes `value` as every JSON document infraqa writes is written (compact, one final
/// newline), into `out` as it is encoded: report.json here, the others through the pipeline,
/// so every shell writes the same bytes. Machine documents are read by programs; people read
/// the HTML, Markdown and CSV, and `jq .` pretty-prints any of them.
pub fn write_json<T: serde::Serialize>(value: &T, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Renders one of [`FILES`].
pub fn render(report: &Report, name: &str) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Vec::new();
    render_to(report, name, &mut bytes)?;
    Ok(bytes)
}

/// Renders one of [`FILES`] into `out` as it goes: at a million resources report.json and
/// findings.csv are hundreds of megabytes that need never be held whole.
pub fn render_to(report: &Report, name: &str, out: &mut dyn Write) -> Result<(), RenderError> {
    match name {
        "report.json" => write_json(report, out).map_err(RenderError::Json),
        "report.html" => out
            .write_all(html::render(report)?.as_bytes())
            .map_err(RenderError::Write),
        "findings.csv" => Ok(table::write(report, out)?),
        _ => out
            .write_all(
                markdown::render(report)
                    .map_err(RenderError::Markdown)?
                    .as_bytes(),
            )
            .map_err(RenderError::Write),
    }
}
