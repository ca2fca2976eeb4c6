//! A report's trend against its past runs when the scan was partial: a past finding on a
//! resource the scan may have missed is unknown, never resolved.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use infraqa_core::check::check;
use infraqa_core::history::{FindingKey, HistoryEntry};
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build, digest, history_entry};
use infraqa_core::synthetic::{POLICY, inventory};
use infraqa_core::trend::PastRuns;
use infraqa_core::{Inventory, Policy};

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 6, 0, 0).unwrap()
}

fn report(inv: &Inventory, past: &[HistoryEntry], now: DateTime<Utc>) -> Report {
    let policy = Policy::from_toml(POLICY, "policy.toml").unwrap();
    let checked = check(inv, &policy, now);
    let mut runs = PastRuns::of(inv, past, now, 12);
    build(ReportInput {
        inventory: digest(inv, &policy, &mut runs, PriceTable::embedded(), now),
        check: checked,
        past: runs,
        now,
    })
}

#[test]
fn a_past_finding_on_a_resource_a_partial_scan_may_have_missed_is_unknown_not_resolved() {
    let mut first = inventory(60, day(1));
    assert!(
        first.is_partial(),
        "some bucket reads of the synthetic estate fail"
    );
    // A bucket with findings, given a real bucket ARN (no region: any failed S3 read may
    // have missed it).
    let flagged = report(&first, &[], day(1))
        .findings
        .iter()
        .map(|f| f.resource_arn.clone())
        .find(|arn| arn.contains(":s3-bucket:"))
        .unwrap();
    let bucket = "arn:aws:s3:::synthetic-bucket".to_owned();
    first
        .resources
        .iter_mut()
        .find(|r| r.arn == flagged)
        .unwrap()
        .arn = bucket.clone();
    let before = history_entry(&report(&first, &[], day(1)));
    let on_bucket: Vec<FindingKey> = before
        .findings
        .iter()
        .filter(|(_, arn)| *arn == bucket)
        .cloned()
        .collect();
    assert!(!on_bucket.is_empty());
    let mut next = first.clone();
    next.generated_at = day(2);
    next.resources.retain(|r| r.arn != bucket);
    assert!(next.gaps().may_have_missed(&bucket));

    let trend = report(&next, std::slice::from_ref(&before), day(2)).trend;
    for key in &on_bucket {
        assert!(trend.unknown.contains(key), "{key:?} not unknown");
        assert!(!trend.resolved.contains(key), "{key:?} resolved");
    }

    // Had the scan read S3 whole, the bucket would be gone, and its findings resolved.
    next.errors.retain(|e| e.service != "s3");
    let trend = report(&next, std::slice::from_ref(&before), day(2)).trend;
    for key in &on_bucket {
        assert!(trend.resolved.contains(key), "{key:?} not resolved");
    }
}
