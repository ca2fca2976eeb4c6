//! `findings.csv`: every finding, exempted finding and not-evaluated verdict, one row each,
//! for spreadsheets.

use infraqa_core::report::Report;

/// The header row.
pub const HEADER: [&str; 10] = [
    "status",
    "rule_id",
    "severity",
    "resource_arn",
    "resource_type",
    "region",
    "message",
    "remediation",
    "exemption_reason",
    "exemption_expires",
];

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a
/// leading `'`: tag values are user input and reach these cells.
pub(crate) fn cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Writes `findings.csv` into `out` row by row.
pub fn write(r: &Report, out: impl std::io::Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let rows = r
        .findings
        .iter()
        .map(|f| ("finding", f, "", String::new()))
        .chain(r.exempted.iter().map(|e| {
            let expires = e.expires.map(|d| d.to_string()).unwrap_or_default();
            ("exempted", &e.finding, e.reason.as_str(), expires)
        }));
    for (status, f, reason, expires) in rows {
        w.write_record([
            status,
            f.rule_id.as_str(),
            f.severity.as_str(),
            &cell(&f.resource_arn),
            &f.resource_type,
            &f.region,
            &cell(&f.message),
            &cell(&f.remediation),
            &cell(reason),
            &expires,
        ])?;
    }
    // Not evaluated: no severity, the failed reads as the message.
    for n in &r.not_evaluated {
        let reads: Vec<String> = n
            .missing
            .iter()
            .map(|e| format!("{} {} {}: {}", e.service, e.operation, e.code, e.message))
            .collect();
        w.write_record([
            "not-evaluated",
            n.rule_id.as_str(),
            "",
            &cell(&n.resource_arn),
            &n.resource_type,
            &n.region,
            &cell(&format!("not evaluated: {}", reads.join("; "))),
            "grant or repair the failed reads, then run again",
            "",
            "",
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The header row of `audit-findings-FROM-TO.csv`.
pub const AUDIT_HEADER: [&str; 8] = [
    "account_id",
    "rule_id",
    "resource_arn",
    "first_seen",
    "last_seen",
    "resolved_at",
    "severity",
    "exempted_at",
];

/// `audit-findings-FROM-TO.csv`: every finding open at any time in an audit period, one row
/// per span (first seen, last seen, resolved at; empty while still open).
pub fn render_audit_findings(
    spans: &[infraqa_core::pack::FindingSpan],
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(128 * (spans.len() + 1)));
    w.write_record(AUDIT_HEADER)?;
    let time = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339();
    for s in spans {
        w.write_record([
            s.account_id.as_str(),
            s.rule_id.as_str(),
            &cell(&s.resource_arn),
            &time(&s.first_seen),
            &time(&s.last_seen),
            &s.resolved_at.as_ref().map(time).unwrap_or_default(),
            s.severity.map_or("", |sev| sev.as_str()),
            &s.exempted_at.as_ref().map(time).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
