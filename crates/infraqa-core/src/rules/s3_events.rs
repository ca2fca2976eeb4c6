//! S3 object-level logging, as CIS AWS Foundations asks:
//! - `s3-data-events-write` (4.8): every bucket's object writes are logged by a trail;
//! - `s3-data-events-read` (4.9): every bucket's object reads are.
//!
//! Judged per scanned region (the finding's resource is the account, its region the region,
//! and it names the buckets not covered), from the buckets and trails of the whole inventory:
//! a check of a few resources, as the validator makes, has not read the account's trails and
//! must not judge them. A bucket is covered when a trail that is logging and covers the
//! bucket's region (a multi-region trail, or one homed there) logs the kind of event for every
//! object of the bucket ([`S3DataEvents`], from its basic or advanced event selectors:
//! `arn:aws:s3` for every bucket, or `arn:aws:s3:::BUCKET/`). A prefix inside a bucket logs
//! part of its objects, which is not the control. A trail whose selectors or logging status
//! could not be read, or a region whose trails could not be listed, leaves the buckets it might
//! cover not evaluated.

use super::{EvalContext, Rule, Verdict, Violation, account_arn, not_recorded_error};
use crate::finding::{Evidence, RuleId, Severity};
use crate::inventory::ScanError;
use crate::model::{Resource, ResourceDetails, S3DataEvents, Trail, partition};
use crate::observed::Observed;
use crate::settings::Setting;

/// The buckets a region's finding names before "and N more".
const NAMED: usize = 20;

/// See the module documentation.
pub struct S3Events {
    id: RuleId,
    write: bool,
}

/// Whether one bucket is covered.
enum Coverage {
    Covered,
    /// Not covered, with the trails that would cover it but are not logging.
    Uncovered(usize),
    Unknown(Vec<ScanError>),
}

impl S3Events {
    /// CIS 4.8.
    pub const WRITE: Self = Self {
        id: RuleId::S3DataEventsWrite,
        write: true,
    };

    /// CIS 4.9.
    pub const READ: Self = Self {
        id: RuleId::S3DataEventsRead,
        write: false,
    };

    fn kind(&self) -> &'static str {
        if self.write { "write" } else { "read" }
    }

    /// Whether `trails` log this kind of event for every object of `bucket`; `unlisted` are
    /// the failed trail listings.
    fn coverage(&self, bucket: &Resource, trails: &[&Trail], unlisted: &[ScanError]) -> Coverage {
        let partition = partition(&bucket.region);
        let mut unknown: Vec<ScanError> = unlisted.to_vec();
        let mut stopped = 0;
        for t in trails
            .iter()
            .filter(|t| t.multi_region || t.home_region == bucket.region.as_str())
        {
            let events = match &t.data_events {
                Some(Observed::Read(events)) => events,
                Some(Observed::Unread(e)) => {
                    unknown.push((**e).clone());
                    continue;
                }
                None => {
                    unknown.push(not_recorded_error(
                        &t.home_region,
                        "event selectors of a trail",
                        "cloudtrail",
                        "GetEventSelectors",
                    ));
                    continue;
                }
            };
            let prefixes = if self.write {
                &events.write
            } else {
                &events.read
            };
            if !S3DataEvents::covers(prefixes, partition, &bucket.id) {
                continue;
            }
            match &t.is_logging {
                Observed::Read(true) => return Coverage::Covered,
                Observed::Read(false) => stopped += 1,
                Observed::Unread(e) => unknown.push((**e).clone()),
            }
        }
        if unknown.is_empty() {
            Coverage::Uncovered(stopped)
        } else {
            unknown.dedup();
            Coverage::Unknown(unknown)
        }
    }

    /// The verdict on `region`'s buckets.
    fn judge(
        &self,
        region: &str,
        buckets: &[&Resource],
        trails: &[&Trail],
        unlisted: &[ScanError],
    ) -> Verdict {
        let mut uncovered: Vec<&str> = Vec::new();
        let mut stopped = 0;
        let mut unknown: Vec<ScanError> = Vec::new();
        for b in buckets.iter().filter(|b| b.region == region) {
            match self.coverage(b, trails, unlisted) {
                Coverage::Covered => {}
                Coverage::Uncovered(n) => {
                    uncovered.push(&b.id);
                    stopped = stopped.max(n);
                }
                Coverage::Unknown(e) => unknown.extend(e),
            }
        }
        if uncovered.is_empty() {
            if unknown.is_empty() {
                return Verdict::Pass;
            }
            unknown.sort_by(|a, b| {
                (&a.region, &a.operation, &a.message).cmp(&(&b.region, &b.operation, &b.message))
            });
            unknown.dedup();
            return Verdict::NotEvaluated(unknown);
        }
        let kind = self.kind();
        let partition = partition(region);
        let mut names: Vec<&str> = uncovered.iter().take(NAMED).copied().collect();
        let more = uncovered.len() - names.len();
        names.sort_unstable();
        let mut reasons = vec![format!(
            "no logging trail records object-level {kind} events of {} bucket(s) in {region}: {}{}",
            uncovered.len(),
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )];
        if stopped > 0 {
            reasons.push(format!(
                "{stopped} trail(s) select them but are not logging"
            ));
        }
        let rw = if self.write { "WriteOnly" } else { "ReadOnly" };
        Verdict::Fail(Violation::new(
            Severity::Medium,
            reasons,
            format!(
                "aws cloudtrail put-event-selectors --trail-name TRAIL --event-selectors '[{{\"ReadWriteType\":\"{rw}\",\"IncludeManagementEvents\":true,\"DataResources\":[{{\"Type\":\"AWS::S3::Object\",\"Values\":[\"arn:{partition}:s3\"]}}]}}]' on a multi-region trail that is logging (data events are billed per event)"
            ),
            vec![Evidence::setting(
                "EventSelectors",
                format!("{} bucket(s) not covered", uncovered.len()),
                format!("AWS::S3::Object {kind} events of every bucket"),
            )],
        ))
    }
}

impl Rule for S3Events {
    fn id(&self) -> RuleId {
        self.id
    }

    fn needs(&self) -> &'static [Setting] {
        &[Setting::TrailEventSelectors]
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("s3", "ListBuckets"), ("s3", "GetBucketLocation")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, _r: &Resource) -> bool {
        false
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Verdict {
        Verdict::Pass
    }

    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        super::per_region(cx.inventory)
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        let inv = cx.inventory;
        let mut buckets = Vec::new();
        let mut trails = Vec::new();
        for r in &inv.resources {
            match &r.details {
                ResourceDetails::S3Bucket(_) => buckets.push(r),
                ResourceDetails::CloudtrailTrail(t) => trails.push(t),
                _ => {}
            }
        }
        // A region whose trails could not be listed may home a multi-region trail.
        let unlisted: Vec<ScanError> = inv
            .errors
            .iter()
            .filter(|e| e.service == "cloudtrail" && e.operation == "DescribeTrails")
            .cloned()
            .collect();
        inv.regions
            .iter()
            .filter_map(|region| {
                let verdict = self.judge(region, &buckets, &trails, &unlisted);
                (verdict != Verdict::Pass).then(|| {
                    (
                        region.clone(),
                        account_arn(region, &inv.account_id),
                        verdict,
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BucketEncryption, PublicAccessBlock, ResourceType, S3Bucket};
    use crate::rules::testkit::*;

    fn bucket(name: &str, region: &str) -> Resource {
        resource(
            ResourceType::S3Bucket,
            name,
            region,
            &[],
            ResourceDetails::S3Bucket(S3Bucket {
                encryption: Observed::Read(BucketEncryption::SseS3),
                public_access_block: Observed::Read(PublicAccessBlock::default()),
                account_public_access_block: PublicAccessBlock::default(),
                policy_is_public: None,
                acl_public_grants: None,
                access_logging: Observed::Read(false),
                policy: None,
            }),
        )
    }

    fn trail(
        home: &str,
        multi: bool,
        logging: Observed<bool>,
        events: Option<Observed<S3DataEvents>>,
    ) -> Resource {
        resource(
            ResourceType::CloudtrailTrail,
            "t",
            home,
            &[],
            ResourceDetails::CloudtrailTrail(Trail {
                home_region: home.into(),
                multi_region: multi,
                is_logging: logging,
                integrity: None,
                data_events: events,
            }),
        )
    }

    fn events(write: &[&str], read: &[&str]) -> Option<Observed<S3DataEvents>> {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Some(Observed::Read(S3DataEvents {
            write: v(write),
            read: v(read),
        }))
    }

    /// The verdict of `rule` on us-east-1, as "pass", "fail" or "unknown", and its reasons.
    fn in_us_east_1(rule: &S3Events, inv: &crate::Inventory) -> (&'static str, Vec<String>) {
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: inv,
            now: now(),
        };
        let got = rule.check_account(&cx);
        match got.iter().find(|(region, _, _)| region == "us-east-1") {
            None => ("pass", vec![]),
            Some((_, _, Verdict::Fail(v))) => ("fail", v.reasons.clone()),
            Some((_, _, Verdict::NotEvaluated(m))) => {
                ("unknown", m.iter().map(|e| e.operation.clone()).collect())
            }
            Some((_, _, Verdict::Pass)) => unreachable!("passes are not returned"),
        }
    }

    /// (write, read) verdicts on bucket `b` of us-east-1 with `trails`.
    fn both(trails: Vec<Resource>) -> (&'static str, &'static str) {
        let mut resources = vec![bucket("b", "us-east-1")];
        resources.extend(trails);
        let inv = inventory(resources);
        (
            in_us_east_1(&S3Events::WRITE, &inv).0,
            in_us_east_1(&S3Events::READ, &inv).0,
        )
    }

    #[test]
    fn coverage_boundaries() {
        let on = || Observed::Read(true);
        let cases: Vec<(&str, Vec<Resource>, (&str, &str))> = vec![
            ("no trail", vec![], ("fail", "fail")),
            (
                "every bucket, both kinds",
                vec![trail(
                    "eu-west-1",
                    true,
                    on(),
                    events(&["arn:aws:s3"], &["arn:aws:s3"]),
                )],
                ("pass", "pass"),
            ),
            (
                "the bucket, writes only",
                vec![trail(
                    "us-east-1",
                    false,
                    on(),
                    events(&["arn:aws:s3:::b/"], &[]),
                )],
                ("pass", "fail"),
            ),
            (
                "a prefix inside the bucket is part of it",
                vec![trail(
                    "us-east-1",
                    false,
                    on(),
                    events(&["arn:aws:s3:::b/logs/"], &[]),
                )],
                ("fail", "fail"),
            ),
            (
                "another bucket of the same prefix",
                vec![trail(
                    "us-east-1",
                    false,
                    on(),
                    events(&["arn:aws:s3:::bb/"], &[]),
                )],
                ("fail", "fail"),
            ),
            (
                "a single-region trail elsewhere",
                vec![trail(
                    "eu-west-1",
                    false,
                    on(),
                    events(&["arn:aws:s3"], &["arn:aws:s3"]),
                )],
                ("fail", "fail"),
            ),
            (
                "a stopped trail logs nothing",
                vec![trail(
                    "us-east-1",
                    true,
                    Observed::Read(false),
                    events(&["arn:aws:s3"], &["arn:aws:s3"]),
                )],
                ("fail", "fail"),
            ),
            (
                "selectors unread",
                vec![trail(
                    "us-east-1",
                    true,
                    on(),
                    Some(Observed::failed(denied("cloudtrail", "GetEventSelectors"))),
                )],
                ("unknown", "unknown"),
            ),
            (
                "selectors not asked for",
                vec![trail("us-east-1", true, on(), None)],
                ("unknown", "unknown"),
            ),
            (
                "a covering trail decides whatever another's state",
                vec![
                    trail("us-east-1", true, on(), None),
                    trail("us-east-1", false, on(), events(&["arn:aws:s3:::"], &[])),
                ],
                ("pass", "unknown"),
            ),
        ];
        for (name, trails, want) in cases {
            assert_eq!(both(trails), want, "{name}");
        }
    }

    #[test]
    fn a_region_whose_trails_are_unlisted_is_unknown() {
        let mut inv = inventory(vec![bucket("b", "us-east-1")]);
        inv.errors
            .push(scan_error("eu-west-1", "cloudtrail", "DescribeTrails"));
        assert_eq!(
            in_us_east_1(&S3Events::WRITE, &inv),
            ("unknown", vec!["DescribeTrails".to_owned()])
        );
    }

    #[test]
    fn a_region_finding_names_its_uncovered_buckets_and_nothing_is_judged_without_buckets() {
        let trail_b = trail(
            "us-east-1",
            true,
            Observed::Read(true),
            events(&["arn:aws:s3:::b/"], &[]),
        );
        let inv = inventory(vec![
            bucket("b", "us-east-1"),
            bucket("c", "us-east-1"),
            bucket("a", "us-east-1"),
            bucket("elsewhere", "eu-west-1"),
            trail_b.clone(),
        ]);
        let (kind, reasons) = in_us_east_1(&S3Events::WRITE, &inv);
        assert_eq!(kind, "fail");
        assert_eq!(
            reasons,
            [
                "no logging trail records object-level write events of 2 bucket(s) in us-east-1: a, c"
            ]
        );
        assert_eq!(
            in_us_east_1(&S3Events::WRITE, &inventory(vec![trail_b])).0,
            "pass"
        );
    }
}
