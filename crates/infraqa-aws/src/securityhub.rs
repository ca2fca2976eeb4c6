//! AWS Security Hub: `BatchImportFindings` in batches Security Hub takes, each finding's
//! outcome kept.
//!
//! A call carries at most 100 findings and 6 MB; calls go at the `securityhub` rate limit
//! (10 a second by default) and throttling is retried with the SDK's backoff. Findings a call
//! reports as failed are sent once more, then reported with Security Hub's code and message.

use crate::clients::AwsClients;
use crate::error::AwsError;
use aws_sdk_securityhub::types as sh;
use infraqa_core::export::asff::AsffFinding;
use infraqa_core::export::{Failed, Outcome};

/// Most findings in one call (Security Hub's limit).
pub const MAX_FINDINGS_PER_CALL: usize = 100;
/// Most bytes in one call (Security Hub's limit is 6 MB of request body).
pub const MAX_BYTES_PER_CALL: usize = 6 * 1024 * 1024 - 64 * 1024;

const SVC: &str = "securityhub";
const OP: &str = "BatchImportFindings";

/// What an import did: each finding's outcome and the calls it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Accepted and refused findings.
    pub outcome: Outcome,
    /// `BatchImportFindings` calls made (retries of a throttled call not counted).
    pub calls: usize,
}

/// The batches `findings` go in: in order, at most [`MAX_FINDINGS_PER_CALL`] and
/// [`MAX_BYTES_PER_CALL`] (by their JSON size) each.
pub fn batches(findings: &[AsffFinding]) -> Vec<&[AsffFinding]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, f) in findings.iter().enumerate() {
        let size = serde_json::to_vec(f).map_or(0, |v| v.len()) + 1;
        if i > start && (i - start == MAX_FINDINGS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            out.push(&findings[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < findings.len() {
        out.push(&findings[start..]);
    }
    out
}

/// Imports `findings` into Security Hub in `region`. Fails only when a call fails as a whole
/// (after the SDK's retries); what a call refuses finding by finding is retried once and then
/// reported in the outcome.
pub async fn import(
    clients: &AwsClients,
    region: &str,
    findings: &[AsffFinding],
) -> Result<Imported, AwsError> {
    import_with(&clients.securityhub(region), findings).await
}

async fn import_with(
    client: &aws_sdk_securityhub::Client,
    findings: &[AsffFinding],
) -> Result<Imported, AwsError> {
    let mut done = Imported::default();
    let refused = send(client, findings, &mut done).await?;
    let again: Vec<AsffFinding> = findings
        .iter()
        .filter(|f| refused.iter().any(|x| x.id == f.id))
        .cloned()
        .collect();
    done.outcome.failed = send(client, &again, &mut done).await?;
    Ok(done)
}

/// Sends `findings` in batches, adding the ids each call accepted to `done`; returns what the
/// calls refused.
async fn send(
    client: &aws_sdk_securityhub::Client,
    findings: &[AsffFinding],
    done: &mut Imported,
) -> Result<Vec<Failed>, AwsError> {
    let mut refused = Vec::new();
    for batch in batches(findings) {
        done.calls += 1;
        let out = client
            .batch_import_findings()
            .set_findings(Some(batch.iter().map(to_sdk).collect()))
            .send()
            .await
            .map_err(|e| AwsError::call(SVC, OP, e))?;
        let failed: Vec<Failed> = out
            .failed_findings()
            .iter()
            .map(|f| Failed {
                id: f.id().unwrap_or_default().to_owned(),
                code: f.error_code().unwrap_or_default().to_owned(),
                message: f.error_message().unwrap_or_default().to_owned(),
            })
            .collect();
        done.outcome.accepted.extend(
            batch
                .iter()
                .filter(|f| !failed.iter().any(|x| x.id == f.id))
                .map(|f| f.id.clone()),
        );
        refused.extend(failed);
    }
    Ok(refused)
}

fn to_sdk(f: &AsffFinding) -> sh::AwsSecurityFinding {
    let resources = f
        .resources
        .iter()
        .map(|r| {
            sh::Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(sh::Partition::from(r.partition.as_str()))
                .region(&r.region)
                .build()
        })
        .collect();
    sh::AwsSecurityFinding::builder()
        .schema_version(&f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .product_name(&f.product_name)
        .company_name(&f.company_name)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .region(&f.region)
        .set_types(Some(f.types.clone()))
        .first_observed_at(&f.first_observed_at)
        .last_observed_at(&f.last_observed_at)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .severity(
            sh::Severity::builder()
                .label(sh::SeverityLabel::from(f.severity.label.as_str()))
                .original(&f.severity.original)
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .remediation(
            sh::Remediation::builder()
                .recommendation(
                    sh::Recommendation::builder()
                        .text(&f.remediation.recommendation.text)
                        .build(),
                )
                .build(),
        )
        .set_product_fields(Some(f.product_fields.clone().into_iter().collect()))
        .set_resources(Some(resources))
        .compliance(
            sh::Compliance::builder()
                .status(sh::ComplianceStatus::from(f.compliance.status.as_str()))
                .build(),
        )
        .record_state(sh::RecordState::from(f.record_state.as_str()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use infraqa_core::export::asff::{
        AsffCompliance, AsffRecommendation, AsffRemediation, AsffResource, AsffSeverity,
    };

    fn finding(id: usize, pad: usize) -> AsffFinding {
        AsffFinding {
            schema_version: "2018-10-08".into(),
            id: format!("f{id}"),
            product_arn: "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
                .into(),
            product_name: "infraqa".into(),
            company_name: "infraqa".into(),
            generator_id: "tags-required".into(),
            aws_account_id: "123456789012".into(),
            region: "us-east-1".into(),
            types: vec!["Software and Configuration Checks".into()],
            first_observed_at: "2026-12-07T00:00:00.000Z".into(),
            last_observed_at: "2026-12-07T00:00:00.000Z".into(),
            created_at: "2026-12-07T00:00:00.000Z".into(),
            updated_at: "2026-12-07T00:00:00.000Z".into(),
            severity: AsffSeverity {
                label: "LOW".into(),
                original: "low".into(),
            },
            title: "t".into(),
            description: "d".repeat(pad),
            remediation: AsffRemediation {
                recommendation: AsffRecommendation { text: "r".into() },
            },
            product_fields: Default::default(),
            resources: vec![AsffResource {
                kind: "Other".into(),
                id: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                partition: "aws".into(),
                region: "us-east-1".into(),
            }],
            compliance: AsffCompliance {
                status: "FAILED".into(),
            },
            record_state: "ACTIVE".into(),
        }
    }

    #[test]
    fn batches_hold_at_most_100_findings_and_6_mb_and_keep_every_one_once() {
        let many: Vec<AsffFinding> = (0..250).map(|i| finding(i, 10)).collect();
        let sizes: Vec<usize> = batches(&many).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        // 100 KB each: 6 MB holds 60 of them.
        let big: Vec<AsffFinding> = (0..130).map(|i| finding(i, 100_000)).collect();
        let split = batches(&big);
        assert!(split.iter().all(|b| {
            b.iter()
                .map(|f| serde_json::to_vec(f).unwrap().len() + 1)
                .sum::<usize>()
                <= MAX_BYTES_PER_CALL
        }));
        assert_eq!(split.iter().map(|b| b.len()).sum::<usize>(), 130);
        assert!(split.len() >= 3, "{}", split.len());
        assert!(batches(&[]).is_empty());
    }

    fn failing(
        ids: &[&str],
    ) -> aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsOutput {
        let mut out = aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsOutput::builder()
            .failed_count(ids.len() as i32)
            .success_count(0);
        for id in ids {
            out = out.failed_findings(
                sh::ImportFindingsError::builder()
                    .id(*id)
                    .error_code("InvalidInput")
                    .error_message("the finding was refused")
                    .build(),
            );
        }
        out.build()
    }

    #[tokio::test]
    async fn a_refused_finding_is_sent_once_more_then_reported() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        // f1 is refused the first time only, f2 every time.
        let first = mock!(aws_sdk_securityhub::Client::batch_import_findings)
            .match_requests(|r| r.findings().len() == 3)
            .then_output(|| failing(&["f1", "f2"]));
        let retry = mock!(aws_sdk_securityhub::Client::batch_import_findings)
            .match_requests(|r| r.findings().len() == 2)
            .then_output(|| failing(&["f2"]));
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&first, &retry]);
        let findings: Vec<AsffFinding> = (0..3).map(|i| finding(i, 5)).collect();
        let done = import_with(&client, &findings).await.unwrap();
        assert_eq!(
            done.outcome.accepted,
            ["f0", "f1"].map(str::to_owned).into_iter().collect()
        );
        assert_eq!(done.outcome.failed.len(), 1);
        assert_eq!(done.outcome.failed[0].id, "f2");
        assert_eq!(done.outcome.failed[0].code, "InvalidInput");
        assert_eq!(done.calls, 2);
        assert_eq!((first.num_calls(), retry.num_calls()), (1, 1));
    }

    #[test]
    fn every_field_reaches_the_sdk_finding() {
        let sdk = to_sdk(&finding(1, 5));
        assert_eq!(sdk.id(), Some("f1"));
        assert_eq!(sdk.generator_id(), Some("tags-required"));
        assert_eq!(sdk.record_state(), Some(&sh::RecordState::Active));
        assert_eq!(
            sdk.compliance().and_then(|c| c.status()),
            Some(&sh::ComplianceStatus::Failed)
        );
        assert_eq!(
            sdk.severity().and_then(|s| s.label()),
            Some(&sh::SeverityLabel::Low)
        );
        assert_eq!(sdk.resources()[0].r#type(), Some("Other"));
    }
}
