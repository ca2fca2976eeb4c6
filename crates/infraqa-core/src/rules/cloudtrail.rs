//! The CloudTrail rules:
//! - `cloudtrail-enabled`: every scanned region is covered by a logging trail.
//! - `cloudtrail-log-validation` (CIS 4.2): every trail has `LogFileValidationEnabled`.
//! - `cloudtrail-kms` (CIS 4.5): every trail has a `KmsKeyId` (SSE-KMS). Whether the key
//!   still exists and its policy lets CloudTrail use it is not read.
//!
//! The trail rules judge each trail the account's scan read, once, in its home region
//! (stopped trails too: a trail that is started again logs as it is configured).

use super::{Control, EvalContext, Rule, Verdict, Violation, account_arn, per_region};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{Resource, ResourceDetails, Trail, TrailIntegrity};
use crate::observed::Observed;

/// See the module documentation.
pub struct CloudtrailEnabled;

impl Rule for CloudtrailEnabled {
    fn id(&self) -> RuleId {
        RuleId::CloudtrailEnabled
    }

    fn applies(&self, _cx: &EvalContext<'_>, _r: &Resource) -> bool {
        false
    }

    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        per_region(cx.inventory)
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Verdict {
        Verdict::Pass
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        let inv = cx.inventory;
        let trails: Vec<_> = inv
            .resources
            .iter()
            .filter_map(|r| match &r.details {
                ResourceDetails::CloudtrailTrail(t) => Some(t),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for region in &inv.regions {
            let covering: Vec<_> = trails
                .iter()
                .filter(|t| t.multi_region || t.home_region == *region)
                .collect();
            if covering
                .iter()
                .any(|t| t.is_logging == Observed::Read(true))
            {
                continue;
            }
            // Trails that could not be listed, or whose status could not be read, are unknown,
            // not absent or stopped. A region whose trails could not be listed may home a
            // multi-region trail that covers this one too.
            let mut missing: Vec<_> = inv
                .errors
                .iter()
                .filter(|e| e.service == "cloudtrail" && e.operation != "GetTrailStatus")
                .cloned()
                .collect();
            missing.extend(
                covering
                    .iter()
                    .filter_map(|t| t.is_logging.unread().cloned()),
            );
            if !missing.is_empty() {
                out.push((
                    region.clone(),
                    account_arn(region, &inv.account_id),
                    Verdict::NotEvaluated(missing),
                ));
                continue;
            }
            let not_logging = covering.len();
            let reason = if not_logging > 0 {
                format!(
                    "no trail is logging in {region} ({not_logging} trail(s) cover it but are stopped)"
                )
            } else {
                format!("no CloudTrail trail covers {region}")
            };
            out.push((
                region.clone(),
                account_arn(region, &inv.account_id),
                Verdict::Fail(Violation::new(
                    Severity::High,
                    vec![reason],
                    "aws cloudtrail create-trail --name org-trail --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --name org-trail",
                    vec![Evidence::TrailCoverage {
                        region: region.clone(),
                        stopped_trails: not_logging,
                    }],
                )),
            ));
        }
        out
    }
}

/// The trail in `d`, if it is one.
fn trail(d: &ResourceDetails) -> Option<&Trail> {
    match d {
        ResourceDetails::CloudtrailTrail(t) => Some(t),
        _ => None,
    }
}

/// How `t` (the trail `r`) protects its log files, or the verdict "not evaluated" when the
/// inventory does not hold it.
fn integrity<'a>(r: &Resource, t: &'a Trail) -> Result<&'a TrailIntegrity, Verdict> {
    t.integrity.as_ref().ok_or_else(|| {
        super::not_recorded(r, "cloudtrail", "DescribeTrails", "log file protection")
    })
}

/// The list call that finds trails.
const LISTED: &[(&str, &str)] = &[("cloudtrail", "DescribeTrails")];

/// CIS 4.2.
pub const LOG_VALIDATION: Control<Trail> = Control {
    id: RuleId::CloudtrailLogValidation,
    listed_by: LISTED,
    details: trail,
    judge: |r, t| match integrity(r, t) {
        Err(unknown) => unknown,
        Ok(i) if i.log_file_validation => Verdict::Pass,
        Ok(_) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec![
                "log file validation is off: a changed or deleted log file would go unnoticed"
                    .to_owned(),
            ],
            format!(
                "aws cloudtrail update-trail --name {} --enable-log-file-validation",
                r.id
            ),
            vec![Evidence::setting(
                "LogFileValidationEnabled",
                "false",
                "true",
            )],
        )),
    },
};

/// CIS 4.5.
pub const KMS_ENCRYPTION: Control<Trail> = Control {
    id: RuleId::CloudtrailKms,
    listed_by: LISTED,
    details: trail,
    judge: |r, t| match integrity(r, t) {
        Err(unknown) => unknown,
        Ok(i) if i.kms_key_id.is_some() => Verdict::Pass,
        Ok(_) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec!["log files are not encrypted with a KMS key (SSE-S3 only)".to_owned()],
            format!(
                "aws cloudtrail update-trail --name {} --kms-key-id KEY (a key whose policy lets cloudtrail.amazonaws.com encrypt)",
                r.id
            ),
            vec![Evidence::setting("KmsKeyId", "(none)", "a KMS key")],
        )),
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceType, Trail};
    use crate::rules::testkit::*;

    fn trail(home: &str, multi: bool, logging: bool) -> Resource {
        resource(
            ResourceType::CloudtrailTrail,
            "t",
            home,
            &[],
            ResourceDetails::CloudtrailTrail(Trail {
                home_region: home.into(),
                multi_region: multi,
                is_logging: Observed::Read(logging),
                integrity: None,
                data_events: None,
            }),
        )
    }

    fn verdicts(inv: &crate::inventory::Inventory) -> Vec<(String, &'static str)> {
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: inv,
            now: now(),
        };
        CloudtrailEnabled
            .check_account(&cx)
            .into_iter()
            .map(|(region, _, v)| {
                let kind = match v {
                    Verdict::Pass => "pass",
                    Verdict::Fail(_) => "fail",
                    Verdict::NotEvaluated(_) => "not evaluated",
                };
                (region, kind)
            })
            .collect()
    }

    fn uncovered(inv: &crate::inventory::Inventory) -> Vec<String> {
        verdicts(inv)
            .into_iter()
            .map(|(region, kind)| {
                assert_eq!(kind, "fail", "{region}");
                region
            })
            .collect()
    }

    #[test]
    fn cases() {
        let cases: Vec<(&str, Vec<Resource>, Vec<&str>)> = vec![
            ("no trail", vec![], vec!["us-east-1", "eu-west-1"]),
            (
                "single-region trail covers its home",
                vec![trail("us-east-1", false, true)],
                vec!["eu-west-1"],
            ),
            (
                "multi-region trail covers all",
                vec![trail("us-east-1", true, true)],
                vec![],
            ),
            (
                "stopped multi-region trail covers nothing",
                vec![trail("us-east-1", true, false)],
                vec!["us-east-1", "eu-west-1"],
            ),
        ];
        for (name, resources, want) in cases {
            assert_eq!(uncovered(&inventory(resources)), want, "{name}");
        }
    }

    #[test]
    fn unread_trails_and_statuses_are_not_evaluated() {
        let ne = "not evaluated";
        let mut inv = inventory(vec![trail("us-east-1", false, true)]);
        inv.errors
            .push(scan_error("eu-west-1", "cloudtrail", "DescribeTrails"));
        assert_eq!(
            verdicts(&inv),
            [("eu-west-1".to_owned(), ne)],
            "a region whose trails could not be listed is unknown; a logging trail still covers its home"
        );
        let mut unread = trail("us-east-1", true, true);
        if let ResourceDetails::CloudtrailTrail(t) = &mut unread.details {
            t.is_logging = Observed::failed(denied("cloudtrail", "GetTrailStatus"));
        }
        assert_eq!(
            verdicts(&inventory(vec![unread.clone()])),
            [("us-east-1".to_owned(), ne), ("eu-west-1".to_owned(), ne)],
            "a trail whose status is unread neither covers nor leaves uncovered"
        );
        assert_eq!(
            verdicts(&inventory(vec![unread, trail("eu-west-1", false, true)])),
            [("us-east-1".to_owned(), ne)],
            "a logging trail decides where it covers"
        );
    }

    fn protected(validation: bool, key: Option<&str>) -> crate::inventory::Inventory {
        let mut t = trail("us-east-1", true, false);
        if let ResourceDetails::CloudtrailTrail(d) = &mut t.details {
            d.integrity = Some(TrailIntegrity {
                log_file_validation: validation,
                kms_key_id: key.map(str::to_owned),
            });
        }
        inventory(vec![t])
    }

    #[test]
    fn log_validation_and_kms_judge_each_trail_stopped_or_not() {
        let p = policy("");
        let key = Some("arn:aws:kms:us-east-1:123456789012:key/k");
        assert_eq!(check(&LOG_VALIDATION, &p, &protected(true, None)), None);
        let v = check(&LOG_VALIDATION, &p, &protected(false, key)).unwrap();
        assert!(v.remediation.contains("--enable-log-file-validation"));
        assert_eq!(check(&KMS_ENCRYPTION, &p, &protected(false, key)), None);
        let v = check(&KMS_ENCRYPTION, &p, &protected(true, None)).unwrap();
        assert_eq!(
            v.evidence,
            [Evidence::setting("KmsKeyId", "(none)", "a KMS key")]
        );
    }

    #[test]
    fn a_trail_without_recorded_protection_is_not_evaluated() {
        let p = policy("");
        let inv = inventory(vec![trail("us-east-1", true, true)]);
        assert_eq!(
            unread_operations(&LOG_VALIDATION, &p, &inv),
            ["DescribeTrails"]
        );
        assert_eq!(
            unread_operations(&KMS_ENCRYPTION, &p, &inv),
            ["DescribeTrails"]
        );
    }
}
