//! Records as AWS Security Finding Format (ASFF, schema 2018-10-08) findings, the shape
//! `BatchImportFindings` takes.
//!
//! Every field is bounded (Title 256 characters, Description 1,024, the recommendation 512,
//! each product field 1,024): a finding is a few kilobytes, far under Security Hub's 240 KB, and
//! a long text (a policy document in a message) is cut with a marker rather than refused.

use super::{Closed, Record, clip, partition};
use crate::finding::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The ASFF schema version infraqa writes.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The product name and company name infraqa's findings carry.
pub const PRODUCT: &str = "infraqa";

/// Longest Title Security Hub takes.
pub const TITLE_MAX: usize = 256;
/// Longest Description.
pub const DESCRIPTION_MAX: usize = 1024;
/// Longest Remediation.Recommendation.Text.
pub const RECOMMENDATION_MAX: usize = 512;
/// Longest value of a product field (under the `Other` map's 1,024).
pub const FIELD_MAX: usize = 1000;

/// One ASFF finding: the required attributes and those infraqa fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    /// `2018-10-08`.
    pub schema_version: String,
    /// The record's id.
    pub id: String,
    /// `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`.
    pub product_arn: String,
    /// `infraqa`.
    pub product_name: String,
    /// `infraqa`.
    pub company_name: String,
    /// The rule id.
    pub generator_id: String,
    /// The account.
    pub aws_account_id: String,
    /// The Security Hub region the finding is imported into.
    pub region: String,
    /// The finding type (namespace/category/classifier).
    pub types: Vec<String>,
    /// When a run first found it.
    pub first_observed_at: String,
    /// When the inventory that last judged it was taken.
    pub last_observed_at: String,
    /// When the issue was first captured (first seen).
    pub created_at: String,
    /// When this version was made.
    pub updated_at: String,
    /// The severity.
    pub severity: AsffSeverity,
    /// The rule's title.
    pub title: String,
    /// The finding's message.
    pub description: String,
    /// What to do.
    pub remediation: AsffRemediation,
    /// infraqa's own fields.
    pub product_fields: BTreeMap<String, String>,
    /// The resource.
    pub resources: Vec<AsffResource>,
    /// FAILED while open; after closing, PASSED (resolved), NOT_AVAILABLE (deleted), or still
    /// FAILED (exempted: the resource still fails the rule, the policy accepts it).
    pub compliance: AsffCompliance,
    /// ACTIVE while open, ARCHIVED once closed.
    pub record_state: String,
}

/// `Severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// CRITICAL, HIGH, MEDIUM or LOW.
    pub label: String,
    /// infraqa's own word.
    pub original: String,
}

/// `Remediation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRemediation {
    /// `Recommendation`.
    pub recommendation: AsffRecommendation,
}

/// `Remediation.Recommendation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRecommendation {
    /// The text.
    pub text: String,
}

/// One of `Resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// The ASFF resource type ([`resource_type`]).
    #[serde(rename = "Type")]
    pub kind: String,
    /// The ARN.
    pub id: String,
    /// The partition.
    pub partition: String,
    /// The resource's region (the home region for global resources).
    pub region: String,
}

/// `Compliance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffCompliance {
    /// PASSED, FAILED or NOT_AVAILABLE.
    pub status: String,
}

/// The ASFF `Resources[].Type` of infraqa's `service:type`: the ASFF's own type where it has
/// one, `AwsAccount` for account-level checks, `Other` for the rest.
pub fn resource_type(ours: &str) -> &'static str {
    match ours {
        "ec2:instance" => "AwsEc2Instance",
        "ec2:volume" => "AwsEc2Volume",
        "ec2:security-group" => "AwsEc2SecurityGroup",
        "ec2:vpc" => "AwsEc2Vpc",
        "ec2:elastic-ip" => "AwsEc2Eip",
        "s3:bucket" => "AwsS3Bucket",
        "iam:role" => "AwsIamRole",
        "iam:user" => "AwsIamUser",
        "iam:policy" => "AwsIamPolicy",
        "kms:key" => "AwsKmsKey",
        "ec2:network-acl" => "AwsEc2NetworkAcl",
        "rds:db" => "AwsRdsDbInstance",
        "lambda:function" => "AwsLambdaFunction",
        "cloudtrail:trail" => "AwsCloudTrailTrail",
        "account" => "AwsAccount",
        _ => "Other",
    }
}

/// The ASFF severity label.
pub fn label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
    }
}

/// `r` as an ASFF finding for the Security Hub of `home` (global resources) or its own region.
pub fn finding(r: &Record, home: &str) -> AsffFinding {
    let region = r.hub_region(home).to_owned();
    let partition = partition(&r.resource_arn).to_owned();
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut fields = BTreeMap::from([
        ("infraqa/RuleId".to_owned(), r.rule_id.to_string()),
        ("infraqa/ResourceType".to_owned(), r.resource_type.clone()),
        ("infraqa/Region".to_owned(), r.region.clone()),
    ]);
    if !r.evidence.is_empty() {
        fields.insert("infraqa/Evidence".to_owned(), clip(&r.evidence, FIELD_MAX));
    }
    let (record_state, status, description) = match &r.closed {
        None => ("ACTIVE", "FAILED", r.message.clone()),
        Some(why) => {
            fields.insert("infraqa/ClosedBecause".to_owned(), why.as_str().to_owned());
            match why {
                Closed::Resolved => (
                    "ARCHIVED",
                    "PASSED",
                    format!(
                        "Resolved: infraqa judged the resource again and it passes. Was: {}",
                        r.message
                    ),
                ),
                Closed::Deleted => (
                    "ARCHIVED",
                    "NOT_AVAILABLE",
                    format!(
                        "Resource deleted: infraqa read its service and region and it is gone. Was: {}",
                        r.message
                    ),
                ),
                Closed::Exempted { reason } => {
                    fields.insert(
                        "infraqa/ExemptionReason".to_owned(),
                        clip(reason, FIELD_MAX),
                    );
                    (
                        "ARCHIVED",
                        "FAILED",
                        format!("Exempted by the policy ({reason}): {}", r.message),
                    )
                }
            }
        }
    };
    AsffFinding {
        schema_version: SCHEMA_VERSION.to_owned(),
        id: r.id.clone(),
        product_arn: format!(
            "arn:{partition}:securityhub:{region}:{account}:product/{account}/default",
            account = r.account_id
        ),
        product_name: PRODUCT.to_owned(),
        company_name: PRODUCT.to_owned(),
        generator_id: r.rule_id.to_string(),
        aws_account_id: r.account_id.clone(),
        region: region.clone(),
        types: vec![format!(
            "Software and Configuration Checks/Industry and Regulatory Standards/infraqa {}",
            r.rule_id
        )],
        first_observed_at: time(r.first_seen),
        last_observed_at: time(r.last_seen),
        created_at: time(r.first_seen),
        updated_at: time(r.updated_at),
        severity: AsffSeverity {
            label: label(r.severity).to_owned(),
            original: r.severity.to_string(),
        },
        title: clip(&r.title, TITLE_MAX),
        description: clip(&description, DESCRIPTION_MAX),
        remediation: AsffRemediation {
            recommendation: AsffRecommendation {
                text: clip(&r.remediation, RECOMMENDATION_MAX),
            },
        },
        product_fields: fields,
        resources: vec![AsffResource {
            kind: resource_type(&r.resource_type).to_owned(),
            id: r.resource_arn.clone(),
            partition,
            region,
        }],
        compliance: AsffCompliance {
            status: status.to_owned(),
        },
        record_state: record_state.to_owned(),
    }
}
