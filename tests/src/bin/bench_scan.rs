//! `infraqa-bench-scan` (`make bench`): seeds 2,000 instances, 200 buckets and 200 roles across
//! two regions of a fresh emulator account, scans them through a counting proxy, and prints
//! wall time, client CPU time, API calls by service, and how they compare with the minimum the
//! APIs allow for that estate. A benchmark, not a test: it asserts nothing, it reports.

use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::model::ResourceDetails;
use infraqa_core::policy::RegionScope;
use infraqa_core::{Inventory, ResourceType};
use infraqa_tests::emulator::Emulator;
use infraqa_tests::fault_proxy::FaultProxy;
use infraqa_tests::seed::{BenchEstate, seed_bench_estate};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's user + system CPU time, from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after the command name.
    let hz = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

fn pages(n: usize, page: usize) -> u64 {
    n.div_ceil(page).max(1) as u64
}

/// The fewest calls the APIs allow for the estate this inventory describes, by service.
fn minimum_calls(inv: &Inventory) -> BTreeMap<&'static str, u64> {
    let count = |t: ResourceType, region: &str| {
        inv.resources
            .iter()
            .filter(|r| r.resource_type == t && r.region == region)
            .count()
    };
    let mut min = BTreeMap::new();
    min.insert("sts", 1);
    let (mut ec2, mut tagging, mut other) = (0, 0, 0);
    for region in &inv.regions {
        let r = region.as_str();
        let enis: usize = inv
            .resources
            .iter()
            .filter(|x| x.region == r)
            .filter_map(|x| match &x.details {
                ResourceDetails::Ec2Instance(i) => Some(i.network_interface_ids.len()),
                _ => None,
            })
            .sum();
        let foreign_amis = inv
            .resources
            .iter()
            .filter(|x| x.region == r)
            .filter_map(|x| match &x.details {
                ResourceDetails::Ec2Instance(i)
                    if i.image_owner_id.read().and_then(Option::as_deref)
                        != Some(inv.account_id.as_str()) =>
                {
                    Some(i.image_id.clone())
                }
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        ec2 += pages(count(ResourceType::Ec2Instance, r), 1000)
            + pages(count(ResourceType::Ec2Volume, r), 500)
            + pages(count(ResourceType::Ec2Snapshot, r), 1000)
            + pages(count(ResourceType::Ec2Image, r), 1000)
            + foreign_amis.div_ceil(200) as u64
            + 1 // addresses
            + pages(count(ResourceType::Ec2SecurityGroup, r), 1000)
            + pages(enis, 1000)
            + pages(count(ResourceType::Ec2Vpc, r), 1000)
            + 1 // flow logs
            + pages(count(ResourceType::Ec2NatGateway, r), 1000);
        let tagged = inv
            .resources
            .iter()
            .filter(|x| x.region == r && !x.tags.is_empty())
            .count();
        tagging += pages(tagged, 100);
        other += pages(count(ResourceType::RdsDb, r), 100)
            + pages(count(ResourceType::LambdaFunction, r), 50)
            + pages(count(ResourceType::LogsLogGroup, r), 50)
            + 1; // DescribeTrails
    }
    min.insert("ec2", ec2);
    min.insert("tagging", tagging);
    min.insert("rds+lambda+logs+cloudtrail", other);
    let mut s3 = 1; // ListBuckets
    for r in &inv.resources {
        if let ResourceDetails::S3Bucket(b) = &r.details {
            // Location (the emulator's ListBuckets omits BucketRegion), encryption, block, logging.
            s3 += 4;
            s3 +=
                u64::from(b.policy_is_public.is_some()) + u64::from(b.acl_public_grants.is_some());
        }
    }
    min.insert("s3", s3);
    min.insert("s3control", 1);
    let roles = inv
        .resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::IamRole)
        .count();
    min.insert("iam", pages(roles, 1000) + 2); // + GetPolicy/GetPolicyVersion for ReadOnlyAccess
    min
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let instances = env_count("BENCH_INSTANCES", 2000);
    let buckets = env_count("BENCH_BUCKETS", 200);
    let roles = env_count("BENCH_ROLES", 200);
    let emulator = Emulator::from_env()?;
    let account = emulator.fresh_account().await?;
    let suffix = account.account_id.chars().rev().take(6).collect::<String>();

    eprintln!(
        "seeding {instances} instances, {buckets} buckets, {roles} roles across {REGIONS:?}..."
    );
    let seeding = Instant::now();
    seed_bench_estate(
        &account.clients().await,
        &REGIONS,
        BenchEstate {
            instances,
            buckets,
            roles,
        },
        &suffix,
    )
    .await?;
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let proxy = FaultProxy::start(emulator.url(), vec![]).await?;
    let mut options = account.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    let clients = AwsClients::load(options).await;
    let scope = RegionScope::List(REGIONS.iter().map(|r| (*r).to_owned()).collect());
    let cpu_before = cpu_time();
    let wall = Instant::now();
    let inventory = scan(&clients, &scope, &Quiet).await?;
    let wall = wall.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);

    let total = inventory.stats.total_calls();
    let minimum = minimum_calls(&inventory);
    let min_total: u64 = minimum.values().sum();
    println!("infraqa scan benchmark");
    println!(
        "  estate: {} resources ({instances} instances, {buckets} buckets, {roles} roles seeded), {} regions",
        inventory.resources.len(),
        inventory.regions.len()
    );
    println!("  scan errors: {}", inventory.errors.len());
    println!("  wall time: {:.2} s", wall.as_secs_f64());
    println!(
        "  client CPU time: {:.2} s ({:.1}% of wall time; target under 10%)",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    println!(
        "  API calls: {total} counted by the client, {} seen by the proxy",
        proxy.forwarded()
    );
    for (svc, ops) in &inventory.stats.api_calls {
        let n: u64 = ops.values().sum();
        let detail = ops
            .iter()
            .map(|(op, c)| format!("{op} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!("    {svc:<11} {n:>6}  ({detail})");
    }
    println!("  minimum the APIs allow for this estate: {min_total}");
    for (svc, n) in &minimum {
        println!("    {svc:<27} {n:>6}");
    }
    println!(
        "  ratio to minimum: {:.3} (target at most 1.2)",
        total as f64 / min_total.max(1) as f64
    );
    println!(
        "  API calls per resource: {:.3}",
        total as f64 / inventory.resources.len().max(1) as f64
    );
    Ok(())
}
