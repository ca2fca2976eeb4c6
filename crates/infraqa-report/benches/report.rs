//! Reports over 100,000 synthetic resources and 50,000 findings (`make bench`): building the
//! report (summary, scope, cost, recommendations, trend against a previous run) and rendering
//! every format (report.json, report.html, findings.csv, report.md). Prints the time of one
//! full pass and the process's peak memory. Targets: under 3 s and under 500 MB.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{TimeZone, Utc};
use criterion::Criterion;
use infraqa_core::Policy;
use infraqa_core::check::check;
use infraqa_core::prices::PriceTable;
use infraqa_core::report::{ReportInput, build, digest, history_entry};
use infraqa_core::synthetic::{POLICY, inventory};
use infraqa_core::trend::PastRuns;

#[path = "../../infraqa-core/benches/support/peak_memory.rs"]
mod peak_memory;
use peak_memory::peak_memory_mb;
use std::hint::black_box;
use std::time::Instant;

const RESOURCES: usize = 100_000;
const FINDINGS: usize = 50_000;

fn main() {
    let inventory = inventory(
        RESOURCES,
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
    );
    let policy = Policy::from_toml(POLICY, "bench.toml").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let mut checked = check(&inventory, &policy, now);
    assert!(
        checked.findings.len() >= FINDINGS,
        "{}",
        checked.findings.len()
    );
    checked.findings.truncate(FINDINGS);
    let previous = {
        let yesterday = now - chrono::Duration::days(1);
        let mut past = PastRuns::for_inventory(&inventory, yesterday);
        let mut r = build(ReportInput {
            inventory: digest(
                &inventory,
                &policy,
                &mut past,
                PriceTable::embedded(),
                yesterday,
            ),
            check: checked.clone(),
            past,
            now: yesterday,
        });
        r.findings.truncate(FINDINGS - 5_000);
        history_entry(&r)
    };
    let history = vec![previous];
    let pass = || {
        let mut past = PastRuns::of(&inventory, &history, now, 12);
        let report = build(ReportInput {
            inventory: digest(&inventory, &policy, &mut past, PriceTable::embedded(), now),
            check: checked.clone(),
            past,
            now,
        });
        // As `write_all` does: one format at a time, each dropped once written.
        let files: Vec<(&str, usize)> = infraqa_report::FILES
            .iter()
            .map(|name| {
                (
                    *name,
                    black_box(infraqa_report::render(&report, name).unwrap()).len(),
                )
            })
            .collect();
        (report, files)
    };

    let start = Instant::now();
    let (report, files) = pass();
    let once = start.elapsed();
    let counts = (
        report.findings.len(),
        report.recommendations.len(),
        report.cost.misconfigurations.len(),
        report.trend.new.len(),
        report.trend.resolved.len(),
    );
    let sizes = files;
    // Nothing of the measured pass stays alive while criterion repeats it.
    drop(report);

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("report 100k resources, 50k findings, every format", |b| {
        b.iter(|| black_box(pass()))
    });
    c.final_summary();

    println!("report benchmark");
    println!(
        "  resources: {RESOURCES}; findings: {}; recommendations: {}; misconfigurations: {}; trend: {} new, {} resolved",
        counts.0, counts.1, counts.2, counts.3, counts.4
    );
    for (name, len) in sizes {
        println!("  {name}: {:.1} MB", len as f64 / 1_000_000.0);
    }
    println!(
        "  one full pass (build + every format): {:.3} s (target under 3 s)",
        once.as_secs_f64()
    );
    match peak_memory_mb() {
        Some(mb) => println!("  peak memory of the process: {mb:.0} MB (target under 500 MB)"),
        None => println!("  peak memory: unavailable (needs /proc)"),
    }
}
