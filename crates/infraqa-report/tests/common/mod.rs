//! The fixed inputs of the report tests: the demo estate's inventory and policy.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use infraqa_core::check::{CheckResult, check};
use infraqa_core::history::HistoryEntry;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{Report, ReportInput, build};
use infraqa_core::{Inventory, Policy};
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .unwrap()
}

pub fn inventory() -> Inventory {
    serde_json::from_str(&std::fs::read_to_string(fixture("fixtures/inventory.json")).unwrap())
        .unwrap()
}

pub fn policy() -> Policy {
    let path = fixture("fixtures/policy.toml");
    Policy::from_toml(&std::fs::read_to_string(&path).unwrap(), "policy.toml").unwrap()
}

pub fn report(
    inv: &Inventory,
    history: &[HistoryEntry],
    now: DateTime<Utc>,
) -> (CheckResult, Report) {
    let policy = policy();
    let checked = check(inv, &policy, now);
    let report = build(ReportInput {
        inventory: inv,
        check: &checked,
        policy: &policy,
        history,
        trend_runs: 12,
        prices: PriceTable::embedded(),
        now,
    });
    (checked, report)
}
