//! The pure core of infraqa.
//!
//! Everything here is a function of data: the resource model and inventory, findings and rule
//! ids, and the policy file; rules, scoring, trends and cost over them. This crate performs no
//! IO, reads no environment and no clock, and depends on no AWS SDK crate; the adapters in
//! `infraqa-aws` and the binaries feed it data and take its results.

// Test case tables are tuples read best inline.
#![cfg_attr(test, allow(clippy::type_complexity))]

pub mod audit;
pub mod backtest;
pub mod check;
pub mod cost;
pub mod document;
pub mod finding;
pub mod history;
pub mod iam;
pub mod inventory;
pub mod lifecycle;
pub mod limits;
pub mod model;
pub mod observed;
pub mod orphans;
pub mod policy;
pub mod prices;
pub mod recommend;
pub mod report;
pub mod rules;
pub mod synthetic;
pub mod tagging;
pub mod tagset;
pub mod usage;

/// Rounds to two decimals (cents, score points), so reports and golden files carry stable
/// figures; `-0.0` (an empty float sum) becomes `0.0`.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

/// Runs `a` on a second thread while `b` runs on this one, both borrowing what they need
/// (the passes over a million-resource inventory use both cores); a panic in `a` is resumed
/// here.
pub fn side_by_side<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

pub use finding::{Evidence, Finding, OrphanKind, RuleId, Severity};
pub use inventory::{Inventory, ScanError, ScanStats};
pub use model::{Resource, ResourceDetails, ResourceType};
pub use policy::{Policy, PolicyError};
