//! `infraqa-bench-accounts` (`make bench`): `infraqa run --accounts` over many emulator
//! accounts, each reached through `AssumeRole` and holding a small estate in three regions
//! (`BENCH_ACCOUNTS`, default 50, of about `BENCH_ACCOUNT_RESOURCES`, default 100, resources),
//! through the fault proxy with a 40 ms round trip per request (`BENCH_LATENCY_MS`), at each
//! `--parallel` of `BENCH_PARALLEL` (default 1,4,16). Each run is measured in a process of its
//! own: wall time, CPU and peak memory. A benchmark, not a test: it asserts nothing, it prints
//! a table.

use infraqa_core::organization::OrganizationSummary;
use infraqa_tests::emulator::Emulator;
use infraqa_tests::fault_proxy::{FaultProxy, Latency};
use infraqa_tests::measure;
use infraqa_tests::seed::{BenchEstate, seed_bench_estate};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

async fn bench() -> anyhow::Result<()> {
    let accounts = env_usize("BENCH_ACCOUNTS", 50);
    let per_account = env_usize("BENCH_ACCOUNT_RESOURCES", 100);
    let latency_ms = env_usize("BENCH_LATENCY_MS", 40) as u64;
    let parallel: Vec<usize> = std::env::var("BENCH_PARALLEL")
        .unwrap_or_else(|_| "1,4,16".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let emulator = Emulator::from_env()?;
    let runner = emulator.fresh_account().await?;
    eprintln!("seeding {accounts} accounts of about {per_account} resources in {REGIONS:?}...");
    let seeding = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..accounts {
        let account = emulator.fresh_account().await?;
        let suffix = account.account_id.chars().rev().take(6).collect::<String>();
        seed_bench_estate(
            &account.clients().await,
            &REGIONS,
            BenchEstate::of_about(per_account),
            &suffix,
        )
        .await?;
        ids.push(account.account_id);
    }
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let work = tempfile::tempdir()?;
    let policy = work.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[scan]\nregions = {REGIONS:?}\n[tags]\nrequired = [\"Environment\", \"Owner\", \"CostCenter\"]\n"
        ),
    )?;
    let proxy = FaultProxy::with_latency(
        emulator.url(),
        vec![],
        Latency::fixed(Duration::from_millis(latency_ms)),
    )
    .await?;
    let mut rows = Vec::new();
    for n in parallel {
        let out = work.path().join(format!("parallel-{n}"));
        let mut env = runner.environment(REGIONS[0]);
        env.push(("AWS_ENDPOINT_URL".into(), proxy.url().to_owned()));
        let args: Vec<String> = vec![
            "--quiet".into(),
            "run".into(),
            "--policy".into(),
            policy.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--accounts".into(),
            ids.join(","),
            "--parallel".into(),
            n.to_string(),
        ];
        let measured = tokio::task::spawn_blocking(move || measure::run(&[args], &env)).await??;
        let summary: OrganizationSummary =
            serde_json::from_slice(&std::fs::read(out.join("organization.json"))?)?;
        // Each account's shards: its global services and each region.
        let row = format!(
            "| {} | {} | {} | {n} | {:.1} s | {:.2} s | {:.0} MB | {} |",
            summary.accounts.len(),
            REGIONS.len(),
            summary.accounts.len() * (REGIONS.len() + 1),
            measured.wall.as_secs_f64(),
            measured.usage.cpu.as_secs_f64(),
            measured.usage.peak_rss_kib as f64 / 1024.0,
            summary.errors.len(),
        );
        println!("{row}");
        rows.push(row);
    }
    println!();
    println!(
        "infraqa run --accounts over {accounts} emulator accounts of about {per_account} resources, {latency_ms} ms per request, measured in its own process"
    );
    println!(
        "| accounts | regions each | shards | --parallel | wall | CPU | peak memory | not reached |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!("{row}");
    }
    Ok(())
}

fn main() -> ExitCode {
    measure::main_async("infraqa-bench-accounts", bench)
}
