//! The rule engine over 100,000 synthetic resources (`make bench`): every rule and orphan
//! check, on one core. Prints the time of one full check and the process's peak memory.
//! Targets: under 0.5 s and under 300 MB.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{TimeZone, Utc};
use criterion::Criterion;
use infraqa_core::Policy;
use infraqa_core::check::check;
use infraqa_core::synthetic::{POLICY, inventory};

#[path = "support/peak_memory.rs"]
mod peak_memory;
use peak_memory::peak_memory_mb;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let n = 100_000;
    let inventory = inventory(n, Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap());
    let policy = Policy::from_toml(POLICY, "bench.toml").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();

    let start = Instant::now();
    let result = check(&inventory, &policy, now);
    let once = start.elapsed();

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("check 100k resources (all rules and orphans)", |b| {
        b.iter(|| black_box(check(black_box(&inventory), &policy, now)))
    });
    c.final_summary();

    println!("rule engine benchmark");
    println!(
        "  resources: {n}; findings: {}; exempted: {}; orphans: {}",
        result.findings.len(),
        result.exempted.len(),
        result.orphans.len()
    );
    println!(
        "  one full check, one core: {:.3} s (target under 0.5 s)",
        once.as_secs_f64()
    );
    match peak_memory_mb() {
        Some(mb) => println!("  peak memory of the process: {mb:.0} MB (target under 300 MB)"),
        None => println!("  peak memory: unavailable (needs /proc)"),
    }
}
