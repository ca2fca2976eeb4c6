//! Renders infraqa reports and keeps the local history store.
//!
//! Every renderer is a pure function of a [`Report`] to bytes, so the CLI writes them to a
//! directory and the reporter Lambda PUTs them to S3 without either knowing the formats.

pub mod audit;
pub mod charts;
pub mod html;
pub mod markdown;
pub mod store;
pub mod table;

use infraqa_core::report::Report;

/// The files a report is rendered to, by name.
pub const FILES: [&str; 4] = ["report.json", "report.html", "findings.csv", "report.md"];

/// A renderer failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// report.json could not be encoded.
    #[error("could not encode report.json: {0}")]
    Json(#[from] serde_json::Error),
    /// report.html could not be drawn.
    #[error(transparent)]
    Html(#[from] html::HtmlError),
    /// findings.csv could not be written.
    #[error("could not write findings.csv: {0}")]
    Csv(#[from] csv::Error),
    /// report.md could not be rendered.
    #[error("could not render report.md: {0}")]
    Markdown(askama::Error),
}

/// `report.json` bytes (pretty, final newline).
pub fn json(report: &Report) -> Result<Vec<u8>, RenderError> {
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Renders one of [`FILES`].
pub fn render(report: &Report, name: &str) -> Result<Vec<u8>, RenderError> {
    match name {
        "report.json" => json(report),
        "report.html" => Ok(html::render(report)?.into_bytes()),
        "findings.csv" => Ok(table::render(report)?),
        _ => Ok(markdown::render(report)
            .map_err(RenderError::Markdown)?
            .into_bytes()),
    }
}
