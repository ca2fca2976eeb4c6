//! Reading the documents infraqa writes (`inventory.json`, `findings.json`, history entries):
//! each is checked for what it is and its `schema_version`, so a file of another kind or of a
//! layout this build does not read is refused with a typed error naming the problem, never
//! half-understood. A good document is parsed once; the passes that tell what is wrong with a
//! bad one run only when it did not parse.

use crate::check::{CheckResult, FINDINGS_SCHEMA_VERSION};
use crate::fix::{FIX_PLAN_SCHEMA_VERSION, FixPlan};
use crate::history::{HISTORY_SCHEMA_VERSION, HistoryEntry};
use crate::inventory::{INVENTORY_SCHEMA_VERSION, Inventory};
use crate::report::{REPORT_SCHEMA_VERSION, Report};
use crate::tagging::{PLAN_SCHEMA_VERSION, TagPlan};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The kinds of document infraqa reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `inventory.json`, written by a scan.
    Inventory,
    /// `findings.json`, written by a check.
    Findings,
    /// One run's history entry.
    HistoryEntry,
    /// `report.json`, written by a report.
    Report,
    /// A tag plan, written by `infraqa tag --json`.
    TagPlan,
    /// `fix-plan.json`, written by `infraqa fix`.
    FixPlan,
}

impl DocumentKind {
    /// The layout versions this build reads: the current one, and older ones whose meaning
    /// did not change (history entries of layout 1 lack only fields that default).
    fn supported(self) -> &'static [u32] {
        match self {
            Self::Inventory => &[INVENTORY_SCHEMA_VERSION],
            Self::Findings => &[FINDINGS_SCHEMA_VERSION],
            Self::HistoryEntry => &[1, 2, HISTORY_SCHEMA_VERSION],
            Self::Report => &[REPORT_SCHEMA_VERSION],
            Self::TagPlan => &[PLAN_SCHEMA_VERSION],
            Self::FixPlan => &[FIX_PLAN_SCHEMA_VERSION],
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inventory => "inventory",
            Self::Findings => "findings file",
            Self::HistoryEntry => "history entry",
            Self::Report => "report",
            Self::TagPlan => "tag plan",
            Self::FixPlan => "fix plan",
        })
    }
}

/// Why a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON at all.
    #[error("not JSON: {source}")]
    NotJson {
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// JSON without a `schema_version`: not a document infraqa wrote.
    #[error("no schema_version: not an infraqa {kind}")]
    NoSchemaVersion {
        /// What was expected.
        kind: DocumentKind,
    },
    /// A layout this build does not read.
    #[error(
        "{kind} schema_version {found} is not supported (this infraqa reads {supported}){hint}",
        supported = kind.supported().iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        hint = if *kind == DocumentKind::Inventory && *found < INVENTORY_SCHEMA_VERSION {
            ": an older inventory records a failed read as a value; scan again"
        } else if *kind == DocumentKind::Findings && *found < FINDINGS_SCHEMA_VERSION {
            ": check the inventory again"
        } else {
            ""
        }
    )]
    UnsupportedVersion {
        /// What was expected.
        kind: DocumentKind,
        /// The version found.
        found: u32,
    },
    /// The right version, but fields are missing or wrong.
    #[error("not a valid {kind}: {source}")]
    Invalid {
        /// What was expected.
        kind: DocumentKind,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Version {
    schema_version: Option<u32>,
}

/// A document that says which layout it is.
trait Versioned {
    fn schema_version(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn schema_version(&self) -> u32 {
                self.schema_version
            }
        }
    )*};
}
versioned!(
    Inventory,
    CheckResult,
    Report,
    TagPlan,
    HistoryEntry,
    FixPlan
);

/// One parse for a good document (an inventory of a million resources is hundreds of
/// megabytes); the passes that say what is wrong run only for a document that did not parse.
fn read<T: DeserializeOwned + Versioned>(
    bytes: &[u8],
    kind: DocumentKind,
) -> Result<T, DocumentError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(doc) if kind.supported().contains(&doc.schema_version()) => Ok(doc),
        Ok(doc) => Err(DocumentError::UnsupportedVersion {
            kind,
            found: doc.schema_version(),
        }),
        Err(source) => Err(diagnose(bytes, kind, source)),
    }
}

/// Why `bytes` did not parse as a `kind`: not JSON, no version, a version this build does not
/// read, or (the right version) wrong fields, as `source` says.
fn diagnose(bytes: &[u8], kind: DocumentKind, source: serde_json::Error) -> DocumentError {
    if let Err(source) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return DocumentError::NotJson { source };
    }
    match serde_json::from_slice::<Version>(bytes)
        .ok()
        .and_then(|v| v.schema_version)
    {
        None => DocumentError::NoSchemaVersion { kind },
        Some(found) if !kind.supported().contains(&found) => {
            DocumentError::UnsupportedVersion { kind, found }
        }
        Some(_) => DocumentError::Invalid { kind, source },
    }
}

/// Reads an `inventory.json`.
pub fn inventory(bytes: &[u8]) -> Result<Inventory, DocumentError> {
    read(bytes, DocumentKind::Inventory)
}

/// Reads a `findings.json`.
pub fn findings(bytes: &[u8]) -> Result<CheckResult, DocumentError> {
    read(bytes, DocumentKind::Findings)
}

/// Reads a `report.json`.
pub fn report(bytes: &[u8]) -> Result<Report, DocumentError> {
    read(bytes, DocumentKind::Report)
}

/// Reads a tag plan.
pub fn tag_plan(bytes: &[u8]) -> Result<TagPlan, DocumentError> {
    read(bytes, DocumentKind::TagPlan)
}

/// Reads a fix plan (`fix-plan.json`).
pub fn fix_plan(bytes: &[u8]) -> Result<FixPlan, DocumentError> {
    read(bytes, DocumentKind::FixPlan)
}

/// Reads a history entry.
pub fn history_entry(bytes: &[u8]) -> Result<HistoryEntry, DocumentError> {
    read(bytes, DocumentKind::HistoryEntry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_wrong_input_has_its_own_error() {
        let cases: [(&str, &str); 6] = [
            ("{", "not JSON"),
            ("[1, 2]", "no schema_version: not an infraqa inventory"),
            (r#"{"resources": []}"#, "no schema_version"),
            (
                r#"{"schema_version": 1, "resources": []}"#,
                "inventory schema_version 1 is not supported (this infraqa reads 2): an older inventory",
            ),
            (
                r#"{"schema_version": 99}"#,
                "schema_version 99 is not supported",
            ),
            (
                r#"{"schema_version": 2, "account_id": 7}"#,
                "not a valid inventory",
            ),
        ];
        for (text, want) in cases {
            let err = inventory(text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = findings(br#"{"schema_version": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("check the inventory again"), "{err}");
    }

    #[test]
    fn history_entries_of_the_previous_layout_still_read() {
        let v1 = r#"{"schema_version":1,"generated_at":"2026-11-01T00:00:00Z","account_id":"1",
            "partial":false,"compliance_score":90.0,"in_scope_resources":10,"compliant_resources":9,
            "by_severity":{},"by_rule":{},"findings":[["tags-required","arn:x"]],
            "inventory":{"total_resources":10,"by_type":{},"by_region":{}}}"#;
        let e = history_entry(v1.as_bytes()).unwrap();
        assert!(e.not_evaluated.is_empty());
        assert_eq!(e.findings.len(), 1);
        // A layout this build does not read is refused even when its fields happen to parse.
        let v9 = v1.replace(r#""schema_version":1"#, r#""schema_version":9"#);
        let err = history_entry(v9.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("schema_version 9 is not supported"), "{err}");
    }
}
