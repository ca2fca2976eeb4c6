//! `cloudtrail-enabled`: every scanned region is covered by a logging trail.

use super::{EvalContext, Rule, Violation, account_arn};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{Resource, ResourceDetails};

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
        let inv = cx.inventory;
        inv.regions
            .iter()
            .filter(|region| !inv.could_not_read(region, "cloudtrail"))
            .map(|region| (region.clone(), account_arn(region, &inv.account_id)))
            .collect()
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Option<Violation> {
        None
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Violation)> {
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
            // Trails that could not be listed are unknown, not absent.
            if cx.inventory.could_not_read(region, "cloudtrail") {
                continue;
            }
            let covered = trails
                .iter()
                .any(|t| t.is_logging && (t.multi_region || t.home_region == *region));
            if covered {
                continue;
            }
            let not_logging = trails
                .iter()
                .filter(|t| !t.is_logging && (t.multi_region || t.home_region == *region))
                .count();
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
                Violation::new(
                    Severity::High,
                    vec![reason],
                    "aws cloudtrail create-trail --name org-trail --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --name org-trail",
                    vec![Evidence::TrailCoverage {
                        region: region.clone(),
                        stopped_trails: not_logging,
                    }],
                ),
            ));
        }
        out
    }
}

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
                is_logging: logging,
            }),
        )
    }

    fn uncovered(inv: &crate::inventory::Inventory) -> Vec<String> {
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: inv,
            now: now(),
        };
        CloudtrailEnabled
            .check_account(&cx)
            .into_iter()
            .map(|(region, _, _)| region)
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
        let mut inv = inventory(vec![]);
        inv.errors
            .push(scan_error("eu-west-1", "cloudtrail", "DescribeTrails"));
        assert_eq!(
            uncovered(&inv),
            ["us-east-1"],
            "an unreadable region is not judged"
        );
    }
}
