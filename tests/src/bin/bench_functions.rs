//! `infraqa-bench-functions` (`make bench`): the release function binaries run as Lambda runs
//! them (the runtime API of `cargo lambda watch`) over a seeded emulator estate: the scheduled
//! chain (scanner, checker, reporter, tagger) and one validator event. Per function it prints
//! the invocation's duration, the process's CPU time and peak resident memory, the memory the
//! template configures, and the GB-seconds Lambda would bill; then what the run stored in S3.
//! Durations on the emulator include the emulator's own CPU (it shares the machine), so they
//! bound real ones from above for the CPU-bound steps and say little about network waits.
//! Estate shape: BENCH_FN_INSTANCES (default 300), BENCH_FN_BUCKETS (50), BENCH_FN_ROLES (50).
//!
//! Then the scanner at the scale issue's size: its scan of that estate is recorded and served
//! by the scaled replay endpoint as an estate of about BENCH_FN_SCALE (default 100,000)
//! resources, 40 ms per request and AWS's published throttling (its writes go to the
//! emulator), against the template's timeout (900 s) and memory size.
//! A benchmark, not a test: it asserts nothing, it reports.

use anyhow::Context;
use infraqa_tests::emulator::Emulator;
use infraqa_tests::events::{cloudtrail_event, s3_object_created, scheduled_event, sqs_message};
use infraqa_tests::fault_proxy::{FaultProxy, Recording};
use infraqa_tests::runtime::{Runtime, binaries};
use infraqa_tests::scaled::Scaled;
use infraqa_tests::seed::{BenchEstate, bench_policy, name_suffix, seed_bench_estate};
use std::path::Path;
use std::time::Instant;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// Lambda's arm64 price per GB-second (us-east-1).
const ARM64_GB_SECOND: f64 = 0.000_013_333_4;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `MemorySize` template.yaml gives the function whose binary is `binary`.
fn configured_memory_mb(template: &str, binary: &str) -> anyhow::Result<u32> {
    let at = template
        .find(&format!("Binary: {binary}"))
        .with_context(|| format!("template.yaml builds no {binary}"))?;
    template[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("MemorySize:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("template.yaml gives {binary} no MemorySize"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let shape = BenchEstate {
        instances: env_count("BENCH_FN_INSTANCES", 300),
        buckets: env_count("BENCH_FN_BUCKETS", 50),
        roles: env_count("BENCH_FN_ROLES", 50),
    };
    let template = std::fs::read_to_string(Path::new(WORKSPACE).join("template.yaml"))?;
    let emulator = Emulator::from_env()?;
    let account = emulator.fresh_account().await?;
    let c = account.clients().await;
    let suffix = name_suffix(&account.account_id);
    eprintln!("seeding {shape:?} across {REGIONS:?}...");
    seed_bench_estate(&c, &REGIONS, shape, &suffix).await?;

    let region = REGIONS[0];
    let bucket = format!("infraqa-bench-{}", account.account_id);
    let s3 = c.s3(region);
    let policy = bench_policy(&REGIONS);
    infraqa_tests::objects::suite_bucket(&s3, &bucket, &policy).await?;
    let mut runtime = Runtime::start(
        Path::new(WORKSPACE),
        [
            ("INFRAQA_BUCKET".into(), bucket.clone()),
            ("INFRAQA_GRACE_SECONDS".into(), "0".into()),
        ]
        .into_iter()
        .chain(account.environment(region))
        .collect(),
    )?;
    let dir = binaries()?;

    // The chain, then one validator event about one of the buckets.
    let schedule = scheduled_event(&account.account_id, region)?;
    let mut steps: Vec<(&str, String)> = vec![("infraqa-scanner", schedule.clone())];
    let event = cloudtrail_event(
        "CreateBucket",
        &format!("bench-{suffix}-0000"),
        &account.account_id,
        region,
        chrono::Utc::now(),
        "ev-bench",
    )?;
    let mut run = String::new();
    println!(
        "infraqa function benchmark ({} binaries, emulator estate)",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    println!(
        "  {:<18} {:>9} {:>9} {:>10} {:>11} {:>10}",
        "function", "wall s", "cpu s", "peak MiB", "config MiB", "GB-s"
    );
    let mut chain_gb_s = 0.0;
    let mut validator_gb_s = 0.0;
    let mut i = 0;
    while i < steps.len() {
        let (name, payload) = steps[i].clone();
        let memory = configured_memory_mb(&template, name)?;
        runtime.function(&dir, name, memory, &[])?;
        let started = Instant::now();
        let answer = runtime.invoke(name, &payload)?;
        let wall = started.elapsed();
        let usage = runtime.usage(name)?;
        runtime.stop(name);
        // Lambda bills the configured memory for the duration, rounded up to the millisecond.
        let gb_s = f64::from(memory) / 1024.0 * (wall.as_millis() as f64 / 1000.0);
        println!(
            "  {name:<18} {:>9.2} {:>9.2} {:>10.1} {memory:>11} {gb_s:>10.3}",
            wall.as_secs_f64(),
            usage.cpu.as_secs_f64(),
            usage.peak_rss_kib as f64 / 1024.0,
        );
        if name == "infraqa-validator" {
            validator_gb_s += gb_s;
        } else {
            chain_gb_s += gb_s;
        }
        match name {
            "infraqa-scanner" => {
                run = format!(
                    "runs/{}",
                    answer["run_id"].as_str().context("the scanner's run id")?
                );
                println!(
                    "    inventory: {} resources, {} errors",
                    answer["resources"], answer["errors"]
                );
                steps.push((
                    "infraqa-checker",
                    s3_object_created(&bucket, &format!("{run}/inventory.json"), region)?,
                ));
            }
            "infraqa-checker" => steps.push((
                "infraqa-reporter",
                s3_object_created(&bucket, &format!("{run}/findings.json"), region)?,
            )),
            "infraqa-reporter" => steps.push((
                "infraqa-tagger",
                s3_object_created(&bucket, &format!("{run}/report.json"), region)?,
            )),
            "infraqa-tagger" => steps.push((
                "infraqa-validator",
                sqs_message(&event, "m-bench", &account.account_id, region)?,
            )),
            _ => {}
        }
        i += 1;
    }

    scanner_at_scale(&mut runtime, &dir, &template, &emulator, &schedule).await?;

    let mut objects = 0;
    let mut bytes = 0;
    for prefix in [format!("{run}/"), "history/".to_owned()] {
        let listed = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(prefix)
            .send()
            .await?;
        for o in listed.contents() {
            objects += 1;
            bytes += o.size().unwrap_or(0);
        }
    }
    println!("  one run stores {objects} objects, {bytes} bytes (run folder and history entry)");
    println!(
        "  Lambda per month, arm64: daily chain {:.1} GB-s = ${:.4}; validator ${:.6} per event",
        30.0 * chain_gb_s,
        30.0 * chain_gb_s * ARM64_GB_SECOND,
        validator_gb_s * ARM64_GB_SECOND
    );
    Ok(())
}

/// The scanner's scan recorded, then served scaled up to about `BENCH_FN_SCALE` resources.
async fn scanner_at_scale(
    runtime: &mut Runtime,
    dir: &Path,
    template: &str,
    emulator: &Emulator,
    schedule: &str,
) -> anyhow::Result<()> {
    let target = env_count("BENCH_FN_SCALE", 100_000);
    let name = "infraqa-scanner";
    let memory = configured_memory_mb(template, name)?;
    let recording = Recording::new();
    let recorder = FaultProxy::recording(emulator.url(), &recording).await?;
    runtime.function(dir, name, memory, &[("AWS_ENDPOINT_URL", recorder.url())])?;
    let recorded = runtime.invoke(name, schedule)?;
    runtime.stop(name);
    let resources = recorded["resources"].as_u64().unwrap_or(1).max(1);
    let copies = u32::try_from(target as u64 / resources)
        .unwrap_or(u32::MAX)
        .max(1);
    let scaled = Scaled::new(&recording, copies);
    let proxy = FaultProxy::scaled(
        emulator.url(),
        &scaled,
        std::time::Duration::from_millis(40),
    )
    .await?;
    runtime.function(dir, name, memory, &[("AWS_ENDPOINT_URL", proxy.url())])?;
    let started = Instant::now();
    let answer = runtime.invoke(name, schedule)?;
    let wall = started.elapsed();
    let usage = runtime.usage(name)?;
    runtime.stop(name);
    println!(
        "  the scanner at scale: {} resources (x{copies} of {resources}, 40 ms per request), {} errors: wall {:.1} s of its 900 s timeout, CPU {:.1} s, peak {:.0} MiB of its {memory} MiB; {} requests served, {} throttled, {} unanswered",
        answer["resources"],
        answer["errors"],
        wall.as_secs_f64(),
        usage.cpu.as_secs_f64(),
        usage.peak_rss_kib as f64 / 1024.0,
        scaled.served(),
        scaled.throttles(),
        scaled.misses(),
    );
    Ok(())
}
