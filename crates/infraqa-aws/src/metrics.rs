//! The run's figures as CloudWatch metrics (namespace `infraqa`, dimension `Account`): what the
//! dashboard draws and the alarms watch.

use crate::clients::AwsClients;
use crate::error::AwsError;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use infraqa_core::Severity;
use infraqa_core::report::Report;

/// The namespace.
pub const NAMESPACE: &str = "infraqa";

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// The account.
    pub account_id: String,
    /// The compliance score, 0-100.
    pub score: f64,
    /// Findings per severity.
    pub findings: Vec<(Severity, usize)>,
    /// Critical findings new since the previous run.
    pub new_critical: usize,
    /// Resources in the inventory.
    pub resources: usize,
    /// Reads that failed.
    pub scan_errors: usize,
    /// How long the scan took.
    pub scan_duration_ms: u64,
    /// What cleaning up the idle and oversized resources would save per month (USD).
    pub idle_monthly_saving_usd: f64,
    /// What the run's Security Hub import did, when the suite imports.
    pub security_hub: Option<HubFigures>,
}

/// What a run's Security Hub import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubFigures {
    /// Open findings Security Hub accepted.
    pub active: usize,
    /// Closed findings it accepted (archived).
    pub archived: usize,
    /// Findings sent before that the run could not judge, left as they were.
    pub untouched: usize,
    /// Findings it did not take (refused, or the import failed).
    pub failed: usize,
}

impl RunFigures {
    /// The figures of `report`, whose scan took `scan_duration_ms`.
    pub fn of(report: &Report, new_critical: usize, scan_duration_ms: u64) -> Self {
        Self {
            account_id: report.account_id.clone(),
            score: report.summary.compliance_score,
            findings: Severity::ALL
                .iter()
                .map(|s| {
                    (
                        *s,
                        report.findings.iter().filter(|f| f.severity == *s).count(),
                    )
                })
                .collect(),
            new_critical,
            resources: report.summary.total_resources,
            scan_errors: report.errors.len(),
            scan_duration_ms,
            idle_monthly_saving_usd: report.lifecycle.estimated_monthly_saving_usd,
            security_hub: None,
        }
    }
}

fn datum(
    name: &str,
    value: f64,
    unit: StandardUnit,
    dims: &[(&str, &str)],
    at: aws_smithy_types::DateTime,
) -> MetricDatum {
    let mut b = MetricDatum::builder()
        .metric_name(name)
        .value(value)
        .unit(unit)
        .timestamp(at);
    for (k, v) in dims {
        b = b.dimensions(Dimension::builder().name(*k).value(*v).build());
    }
    b.build()
}

/// Publishes `figures` at `at` in the home region (one `PutMetricData` call).
pub async fn publish(
    clients: &AwsClients,
    figures: &RunFigures,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AwsError> {
    let region = clients.require_home_region()?.to_owned();
    let at = aws_smithy_types::DateTime::from_millis(at.timestamp_millis());
    let account = [("Account", figures.account_id.as_str())];
    let mut data = vec![
        datum(
            "ComplianceScore",
            figures.score,
            StandardUnit::Percent,
            &account,
            at,
        ),
        datum(
            "NewCriticalFindings",
            figures.new_critical as f64,
            StandardUnit::Count,
            &account,
            at,
        ),
        datum(
            "ResourcesScanned",
            figures.resources as f64,
            StandardUnit::Count,
            &account,
            at,
        ),
        datum(
            "ScanErrors",
            figures.scan_errors as f64,
            StandardUnit::Count,
            &account,
            at,
        ),
        datum(
            "ScanDuration",
            figures.scan_duration_ms as f64,
            StandardUnit::Milliseconds,
            &account,
            at,
        ),
        datum(
            "IdleMonthlySaving",
            figures.idle_monthly_saving_usd,
            StandardUnit::None,
            &account,
            at,
        ),
    ];
    if let Some(hub) = figures.security_hub {
        for (name, n) in [
            ("SecurityHubActive", hub.active),
            ("SecurityHubArchived", hub.archived),
            ("SecurityHubUntouched", hub.untouched),
            ("SecurityHubFailed", hub.failed),
        ] {
            data.push(datum(name, n as f64, StandardUnit::Count, &account, at));
        }
    }
    for (severity, n) in &figures.findings {
        let s = severity.to_string();
        data.push(datum(
            "Findings",
            *n as f64,
            StandardUnit::Count,
            &[
                ("Account", figures.account_id.as_str()),
                ("Severity", s.as_str()),
            ],
            at,
        ));
    }
    clients
        .cloudwatch(&region)
        .put_metric_data()
        .namespace(NAMESPACE)
        .set_metric_data(Some(data))
        .send()
        .await
        .map_err(|e| AwsError::call("cloudwatch", "PutMetricData", e))?;
    Ok(())
}
