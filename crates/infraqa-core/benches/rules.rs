//! The rule engine over 100,000 synthetic resources (`make bench`): every rule and orphan
//! check, on one core. Prints the time of one full check and the process's peak memory.
//! Targets: under 0.5 s and under 300 MB. Then a custom rule (a CEL condition in the policy)
//! against the built-in rule of the same shape over the same resources: target at most 3x.
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
    custom_against_built_in(&inventory, now);
}

/// `region-approved` alone, then a custom rule that says the same, alone: the median of five
/// evaluations of each, and the ratio.
fn custom_against_built_in(inventory: &infraqa_core::Inventory, now: chrono::DateTime<Utc>) {
    let others: String = infraqa_core::RuleId::ALL
        .iter()
        .filter(|r| **r != infraqa_core::RuleId::RegionApproved)
        .map(|r| format!("[rules.{r}]\nenabled = false\n"))
        .collect();
    let built_in = Policy::from_toml(
        &format!("{others}[regions]\napproved = [\"us-east-1\", \"eu-west-1\"]\n"),
        "built-in.toml",
    )
    .unwrap();
    let custom = Policy::from_toml(
        &format!(
            "{others}[[custom_rules]]\nid = \"approved-region\"\ncondition = 'resource.region == \"global\" || resource.region in [\"us-east-1\", \"eu-west-1\"]'\nmessage = \"not in an approved region\"\nremediation = \"move it\"\n"
        ),
        "custom.toml",
    )
    .unwrap();
    let median = |policy: &Policy| {
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let e = black_box(infraqa_core::rules::evaluate(inventory, policy, now));
                let t = start.elapsed().as_secs_f64();
                (t, e.findings.len())
            })
            .map(|(t, _)| t)
            .collect();
        times.sort_by(f64::total_cmp);
        times[2]
    };
    let (b, bf) = (
        median(&built_in),
        infraqa_core::rules::evaluate(inventory, &built_in, now)
            .findings
            .len(),
    );
    let (c, cf) = (
        median(&custom),
        infraqa_core::rules::evaluate(inventory, &custom, now)
            .findings
            .len(),
    );
    println!(
        "custom rule against the built-in rule of the same shape (region-approved), {} resources",
        inventory.resources.len()
    );
    println!(
        "  built-in: {:.3} s, {bf} findings; custom (CEL): {:.3} s, {cf} findings",
        b, c
    );
    println!("  ratio: {:.1}x (target at most 3x)", c / b);
}
