//! Records as OCSF Detection Findings (class 2004, OCSF 1.5.0), one JSON object per line: the
//! shape Prowler writes and Amazon Security Lake ingests.

use super::{Closed, Record, partition};
use crate::finding::Severity;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The OCSF schema version infraqa writes.
pub const OCSF_VERSION: &str = "1.5.0";

/// The Detection Finding class.
pub const CLASS_UID: u32 = 2004;

/// One Detection Finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionFinding {
    /// Schema version and product.
    pub metadata: Metadata,
    /// 1 Create (first found by this run), 2 Update (found again), 3 Close.
    pub activity_id: u8,
    /// Its caption.
    pub activity_name: &'static str,
    /// 2, Findings.
    pub category_uid: u8,
    /// `Findings`.
    pub category_name: &'static str,
    /// 2004.
    pub class_uid: u32,
    /// `Detection Finding`.
    pub class_name: &'static str,
    /// class_uid * 100 + activity_id.
    pub type_uid: u32,
    /// `Detection Finding: <activity>`.
    pub type_name: String,
    /// 2 Low, 3 Medium, 4 High, 5 Critical.
    pub severity_id: u8,
    /// Its caption.
    pub severity: &'static str,
    /// 1 New while open, 4 Resolved once resolved or deleted, 3 Suppressed once exempted.
    pub status_id: u8,
    /// Its caption.
    pub status: &'static str,
    /// Why it closed (`resolved`, `deleted`, `exempted: <reason>`), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// When this record was made, in milliseconds since the epoch.
    pub time: i64,
    /// The same, as a date-time.
    pub time_dt: DateTime<Utc>,
    /// The finding's message.
    pub message: String,
    /// The finding.
    pub finding_info: FindingInfo,
    /// The resource.
    pub resources: Vec<ResourceDetails>,
    /// The account and region.
    pub cloud: Cloud,
    /// What to do.
    pub remediation: Remediation,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// The OCSF version.
    pub version: &'static str,
    /// infraqa.
    pub product: Product,
    /// The rule id.
    pub event_code: String,
    /// The record's id.
    pub uid: String,
    /// `cloud`.
    pub profiles: Vec<&'static str>,
}

/// `metadata.product`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    /// `infraqa`.
    pub name: &'static str,
    /// `infraqa`.
    pub vendor_name: &'static str,
    /// infraqa's version.
    pub version: &'static str,
}

/// `finding_info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingInfo {
    /// The record's id (the ASFF finding's Id).
    pub uid: String,
    /// The rule's title.
    pub title: String,
    /// The finding's message.
    pub desc: String,
    /// The rule id.
    pub types: Vec<String>,
    /// When a run first found it (ms).
    pub first_seen_time: i64,
    /// When the inventory that last judged it was taken (ms).
    pub last_seen_time: i64,
    /// When it was first found (ms).
    pub created_time: i64,
    /// When this record was made (ms).
    pub modified_time: i64,
}

/// One of `resources`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDetails {
    /// The ARN.
    pub uid: String,
    /// infraqa's `service:type` (or `account`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The region, or `global`.
    pub region: String,
    /// The partition.
    pub cloud_partition: String,
}

/// `cloud`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cloud {
    /// `AWS`.
    pub provider: &'static str,
    /// The region, or `global`.
    pub region: String,
    /// The account.
    pub account: Account,
}

/// `cloud.account`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// The account id.
    pub uid: String,
    /// The account id (infraqa does not read account names).
    pub name: String,
    /// 10, AWS Account.
    pub type_id: u8,
    /// `AWS Account`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `remediation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation {
    /// What to do.
    pub desc: String,
}

fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// `r` as a Detection Finding.
pub fn finding(r: &Record) -> DetectionFinding {
    let (activity_id, activity_name) = match (&r.closed, r.first_seen == r.last_seen) {
        (Some(_), _) => (3, "Close"),
        (None, true) => (1, "Create"),
        (None, false) => (2, "Update"),
    };
    let (status_id, status, status_detail) = match &r.closed {
        None => (1, "New", None),
        Some(Closed::Exempted { reason }) => (3, "Suppressed", Some(format!("exempted: {reason}"))),
        Some(why) => (4, "Resolved", Some(why.as_str().to_owned())),
    };
    let (severity_id, severity) = severity(r.severity);
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    DetectionFinding {
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: "infraqa",
                vendor_name: "infraqa",
                version: env!("CARGO_PKG_VERSION"),
            },
            event_code: r.rule_id.to_string(),
            uid: r.id.clone(),
            profiles: vec!["cloud"],
        },
        activity_id,
        activity_name,
        category_uid: 2,
        category_name: "Findings",
        class_uid: CLASS_UID,
        class_name: "Detection Finding",
        type_uid: CLASS_UID * 100 + u32::from(activity_id),
        type_name: format!("Detection Finding: {activity_name}"),
        severity_id,
        severity,
        status_id,
        status,
        status_detail,
        time: ms(r.updated_at),
        time_dt: r.updated_at,
        message: r.message.clone(),
        finding_info: FindingInfo {
            uid: r.id.clone(),
            title: r.title.clone(),
            desc: r.message.clone(),
            types: vec![r.rule_id.to_string()],
            first_seen_time: ms(r.first_seen),
            last_seen_time: ms(r.last_seen),
            created_time: ms(r.first_seen),
            modified_time: ms(r.updated_at),
        },
        resources: vec![ResourceDetails {
            uid: r.resource_arn.clone(),
            kind: r.resource_type.clone(),
            region: r.region.clone(),
            cloud_partition: partition(&r.resource_arn).to_owned(),
        }],
        cloud: Cloud {
            provider: "AWS",
            region: r.region.clone(),
            account: Account {
                uid: r.account_id.clone(),
                name: r.account_id.clone(),
                type_id: 10,
                kind: "AWS Account",
            },
        },
        remediation: Remediation {
            desc: r.remediation.clone(),
        },
    }
}
