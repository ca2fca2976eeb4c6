//! `infraqa-bench-accounts` (`make bench`): `infraqa run --accounts` over many emulator
//! accounts, each reached through `AssumeRole` and holding a small estate in three regions
//! (`BENCH_ACCOUNTS`, default 50, of about `BENCH_ACCOUNT_RESOURCES`, default 100, resources),
//! through the fault proxy with a 40 ms round trip per request (`BENCH_LATENCY_MS`), at each
//! `--parallel` of `BENCH_PARALLEL` (default 1,4,16). Each run is measured in a process of its
//! own: wall time, CPU and peak memory.
//!
//! Then the organization at the scale issue's size: one account of about
//! `BENCH_ACCOUNT_RESOURCES` resources in four regions is seeded and its scan recorded, and the
//! scaled replay endpoint ([`Scaled::for_accounts`]) serves that recording as each of
//! `BENCH_REPLAY_ACCOUNTS` (default 250,500,1000) accounts, with its own id and fresh
//! resource ids, reached through `AssumeRole`, 40 ms per request and AWS's published
//! throttling, at `--parallel` 16 (`BENCH_REPLAY_PARALLEL`): memory must not grow with the
//! number of accounts. A benchmark, not a test: it asserts nothing, it prints a table.

use infraqa_core::organization::OrganizationSummary;
use infraqa_tests::emulator::Emulator;
use infraqa_tests::fault_proxy::{FaultProxy, Latency, Recording};
use infraqa_tests::measure;
use infraqa_tests::scaled::Scaled;
use infraqa_tests::seed::{BenchEstate, bench_policy, name_suffix, seed_bench_estate};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
/// The regions of the organization served by the replay endpoint.
const REPLAY_REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];

/// `infraqa run`, with `--accounts` when any are given, through `proxy`, measured.
async fn run(
    env: &[(String, String)],
    proxy: &FaultProxy,
    policy: &std::path::Path,
    out: &std::path::Path,
    accounts: &[String],
    parallel: usize,
) -> anyhow::Result<measure::Measured> {
    let mut env = env.to_vec();
    env.push(("AWS_ENDPOINT_URL".into(), proxy.url().to_owned()));
    let mut args: Vec<String> = vec![
        "--quiet".into(),
        "run".into(),
        "--policy".into(),
        policy.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    if !accounts.is_empty() {
        args.extend([
            "--accounts".into(),
            accounts.join(","),
            "--parallel".into(),
            parallel.to_string(),
        ]);
    }
    Ok(tokio::task::spawn_blocking(move || measure::run(&[args], &env)).await??)
}

fn row(summary: &OrganizationSummary, regions: usize, n: usize, m: &measure::Measured) -> String {
    // Each account's shards: its global services and each region.
    format!(
        "| {} | {regions} | {} | {n} | {:.1} s | {:.2} s | {:.0} MB | {} |",
        summary.accounts.len(),
        summary.accounts.len() * (regions + 1),
        m.wall.as_secs_f64(),
        m.usage.cpu.as_secs_f64(),
        m.usage.peak_rss_kib as f64 / 1024.0,
        summary.errors.len(),
    )
}

const HEADER: &str =
    "| accounts | regions each | shards | --parallel | wall | CPU | peak memory | not reached |";
const RULE: &str = "|---:|---:|---:|---:|---:|---:|---:|---:|";

/// The organization served by the replay endpoint: `sizes` accounts, each a copy of one
/// recorded account.
async fn replayed(
    emulator: &Emulator,
    per_account: usize,
    latency_ms: u64,
    sizes: &[usize],
    parallel: usize,
) -> anyhow::Result<Vec<String>> {
    let work = tempfile::tempdir()?;
    let policy = work.path().join("policy.toml");
    std::fs::write(&policy, bench_policy(&REPLAY_REGIONS))?;
    let recorded = emulator.fresh_account().await?;
    let suffix = name_suffix(&recorded.account_id);
    seed_bench_estate(
        &recorded.clients().await,
        &REPLAY_REGIONS,
        BenchEstate::of_about(per_account),
        &suffix,
    )
    .await?;
    let recording = Recording::new();
    let proxy = FaultProxy::recording(emulator.url(), &recording).await?;
    let env = recorded.environment(REPLAY_REGIONS[0]);
    run(&env, &proxy, &policy, &work.path().join("recorded"), &[], 1).await?;
    let mut rows = Vec::new();
    for &size in sizes {
        let ids: Vec<String> = (0..size)
            .map(|n| format!("{:012}", 700_000_000_000 + n))
            .collect();
        let scaled = Scaled::for_accounts(&recording, 1, &recorded.account_id, &ids);
        let latency = Duration::from_millis(latency_ms);
        let proxy = FaultProxy::scaled(emulator.url(), &scaled, latency).await?;
        let out = work.path().join(format!("accounts-{size}"));
        let measured = run(&env, &proxy, &policy, &out, &ids, parallel).await?;
        let summary: OrganizationSummary =
            serde_json::from_slice(&std::fs::read(out.join("organization.json"))?)?;
        let line = format!(
            "{} {} served, {} throttled, {} unanswered |",
            row(&summary, REPLAY_REGIONS.len(), parallel, &measured),
            scaled.served(),
            scaled.throttles(),
            scaled.misses()
        );
        println!("{line}");
        rows.push(line);
    }
    Ok(rows)
}

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
        let suffix = name_suffix(&account.account_id);
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
    std::fs::write(&policy, bench_policy(&REGIONS))?;
    let proxy = FaultProxy::with_latency(
        emulator.url(),
        vec![],
        Latency::fixed(Duration::from_millis(latency_ms)),
    )
    .await?;
    let env = runner.environment(REGIONS[0]);
    let mut rows = Vec::new();
    for n in parallel {
        let out = work.path().join(format!("parallel-{n}"));
        let measured = run(&env, &proxy, &policy, &out, &ids, n).await?;
        let summary: OrganizationSummary =
            serde_json::from_slice(&std::fs::read(out.join("organization.json"))?)?;
        let line = row(&summary, REGIONS.len(), n, &measured);
        println!("{line}");
        rows.push(line);
    }
    let sizes: Vec<usize> = std::env::var("BENCH_REPLAY_ACCOUNTS")
        .unwrap_or_else(|_| "250,500,1000".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let replay_parallel = env_usize("BENCH_REPLAY_PARALLEL", 16);
    let organization =
        replayed(&emulator, per_account, latency_ms, &sizes, replay_parallel).await?;
    println!();
    println!(
        "infraqa run --accounts over {accounts} emulator accounts of about {per_account} resources, {latency_ms} ms per request, measured in its own process"
    );
    println!("{HEADER}\n{RULE}");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "infraqa run --accounts over one recorded account of about {per_account} resources served as each account by the scaled replay endpoint, {latency_ms} ms per request and AWS's published throttling"
    );
    println!("{HEADER} answered |\n{RULE}---|");
    for row in &organization {
        println!("{row}");
    }
    Ok(())
}

fn main() -> ExitCode {
    measure::main_async("infraqa-bench-accounts", bench)
}
