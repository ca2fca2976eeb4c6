//! `infraqa-bench-scan` (`make bench`): `infraqa scan`, then `check` and `report` of its
//! inventory, over seeded emulator estates in three regions: the scale issue's own estate
//! (1,000 instances, 200 buckets, 200 roles) and about 1,000 resources in its proportions, six
//! tags each (`BENCH_SCALES=issue,1000`). Each is scanned twice through the fault proxy: as the
//! emulator answers, recording its answers to every read, then with a 40 ms round trip per
//! request as real AWS answers (`BENCH_LATENCY_MS`), each read answered from that recording.
//! One emulator process answers on one core, so the first wall is the emulator's total work;
//! the second is the scan's critical path (calls that wait for one another, rate limits,
//! concurrency bounds), as against an endpoint that serves in parallel. Then the largest
//! recording is served by the scaled replay endpoint as estates 10 and 100 times larger
//! (`BENCH_COPIES=10,100`: about 10,000 and 100,000 resources), 40 ms per request with AWS's
//! published throttling. Each command is measured in a process of its own: wall time, CPU,
//! peak memory, API calls per resource and against the fewest the APIs allow, and the longest
//! unit. A benchmark, not a test: it asserts nothing, it prints a table.

use infraqa_core::model::ResourceDetails;
use infraqa_core::{Inventory, ResourceType};
use infraqa_tests::emulator::Emulator;
use infraqa_tests::fault_proxy::{FaultProxy, Latency, Recording, Replay};
use infraqa_tests::measure;
use infraqa_tests::scaled::Scaled;
use infraqa_tests::seed::{BenchEstate, bench_policy, name_suffix, seed_bench_estate};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
/// The estate the scale issue measured, and the calls the best-tuned peer made on it.
const ISSUE_ESTATE: BenchEstate = BenchEstate {
    instances: 1000,
    buckets: 200,
    roles: 200,
};
const PEER_CALLS: u64 = 1515;

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
        // A page ends at 100 resources or 500 tags, whichever comes first.
        let tagged: Vec<usize> = inv
            .resources
            .iter()
            .filter(|x| x.region == r && !x.tags.is_empty())
            .map(|x| x.tags.len())
            .collect();
        tagging += pages(tagged.len(), 100).max(pages(tagged.iter().sum(), 500));
        other += pages(count(ResourceType::RdsDb, r), 100)
            + pages(count(ResourceType::LambdaFunction, r), 50)
            + pages(count(ResourceType::LogsLogGroup, r), 50)
            + 1; // DescribeTrails
    }
    // Usage: queries of the metered resources, 500 to a call, per region.
    let mut cloudwatch = 0;
    for region in &inv.regions {
        let queries: usize = inv
            .resources
            .iter()
            .filter(|x| x.region == region && x.usage.is_some())
            .map(|x| infraqa_core::usage::metrics_for(&x.resource_type).len())
            .sum();
        cloudwatch += queries.div_ceil(infraqa_core::usage::QUERIES_PER_CALL) as u64;
    }
    min.insert("cloudwatch", cloudwatch);
    min.insert("ec2", ec2);
    min.insert("tagging", tagging);
    min.insert("rds+lambda+logs+cloudtrail", other);
    // One ListBuckets for the account: AWS names each bucket's region in it (the emulator
    // does not, which costs each scanned region a filtered listing more).
    let mut s3 = 1;
    for r in &inv.resources {
        if let ResourceDetails::S3Bucket(b) = &r.details {
            // Encryption, block, logging; policy status and ACL where the block leaves them open.
            s3 += 3;
            s3 +=
                u64::from(b.policy_is_public.is_some()) + u64::from(b.acl_public_grants.is_some());
            // Tags of a bucket outside the scanned regions, whose tagging API is not read.
            s3 += u64::from(!inv.regions.iter().any(|x| x == r.region.as_str()));
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
    // What the rules in force needed besides (the CIS controls): one call per setting read.
    let settings = &inv.settings;
    let regional: u64 = settings
        .regions
        .values()
        .map(|r| {
            use infraqa_core::observed::Observed;
            u64::from(r.ebs_encryption_by_default.is_some())
                + u64::from(r.security_hub.is_some())
                + u64::from(r.access_analyzers.is_some())
                + u64::from(r.file_systems.is_some())
                + u64::from(r.network_acls.is_some())
                // The recorders, and their status when there is one.
                + r.config_recorders.as_ref().map_or(0, |c| {
                    1 + u64::from(matches!(c, Observed::Read(v) if !v.is_empty()))
                })
                // The list, each key described, each rotatable key's status.
                + r.kms_keys.as_ref().map_or(0, |k| match k {
                    Observed::Read(keys) => {
                        let rotatable = keys.iter().filter(|k| k.rotation.is_some()).count();
                        (1 + keys.len() + rotatable) as u64
                    }
                    Observed::Unread(_) => 1,
                })
        })
        .sum();
    let account: u64 = settings.global.as_ref().map_or(0, |g| {
        u64::from(g.password_policy.is_some())
            + u64::from(g.account_summary.is_some())
            // Generate (once, when AWS has one ready) and read.
            + 2 * u64::from(g.credential_report.is_some())
            + u64::from(g.support_roles.is_some())
            + u64::from(g.server_certificates.is_some())
            + u64::from(g.user_policies.is_some())
            // The attached policies, and each one's default version.
            + g.attached_policies.as_ref().map_or(0, |p| match p {
                infraqa_core::observed::Observed::Read(all) => 1 + all.len() as u64,
                infraqa_core::observed::Observed::Unread(_) => 1,
            })
    });
    let per_resource: u64 = inv
        .resources
        .iter()
        .map(|r| match &r.details {
            ResourceDetails::CloudtrailTrail(t) => u64::from(t.data_events.is_some()),
            ResourceDetails::S3Bucket(b) => u64::from(b.policy.is_some()),
            _ => 0,
        })
        .sum();
    if regional + account + per_resource > 0 {
        min.insert("settings", regional + account + per_resource);
    }
    min
}

/// One measured run.
struct Row {
    resources: usize,
    latency_ms: u64,
    scan_s: f64,
    run_s: f64,
    /// Scan, check and report, each in a process of its own.
    cpu_s: f64,
    scan_cpu_s: f64,
    /// The scan's peak memory, and that of checking and reporting its inventory.
    peak_mb: f64,
    check_report_mb: f64,
    calls: u64,
    minimum: u64,
    errors: usize,
    longest: String,
    /// What answered the scan's requests.
    answered_by: String,
}

impl Row {
    fn budget_mb(&self) -> f64 {
        2.0 * self.resources as f64 / 1024.0 + 100.0
    }

    fn print(&self) {
        println!(
            "| {} | {} ms | {} | {:.1} s | {:.1} s | {:.2} s | {:.2} s ({:.3} ms) | {:.0} MB (budget {:.0}) | {:.0} MB | {} ({:.3}/resource) | {} ({:.3}x) | {} | {} |",
            self.resources,
            self.latency_ms,
            self.answered_by,
            self.scan_s,
            self.run_s,
            self.cpu_s,
            self.scan_cpu_s,
            1000.0 * self.scan_cpu_s / self.resources.max(1) as f64,
            self.peak_mb,
            self.budget_mb(),
            self.check_report_mb,
            self.calls,
            self.calls as f64 / self.resources.max(1) as f64,
            self.minimum,
            self.calls as f64 / self.minimum.max(1) as f64,
            self.errors,
            self.longest,
        );
    }
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// The estates to measure: `BENCH_SCALES` (resources, comma-separated; `issue` is the scale
/// issue's own estate of 1,000 instances, 200 buckets and 200 roles, on which the tuned peer
/// made 1,515 calls). Default: the issue's estate, then 1,000, 10,000 and 50,000 resources.
fn estates() -> Vec<BenchEstate> {
    let spec = std::env::var("BENCH_SCALES").unwrap_or_else(|_| "issue,1000".into());
    spec.split(',')
        .filter_map(|x| match x.trim() {
            "issue" => Some(ISSUE_ESTATE),
            n => n.parse().ok().map(BenchEstate::of_about),
        })
        .collect()
}

/// Where a run's answers came from.
enum Source<'a> {
    Emulator,
    Recording,
    Scaled(&'a Scaled),
}

/// One `infraqa scan` through `proxy`, measured, then its inventory checked and reported,
/// each in a process of its own.
async fn measure_run(
    work: &std::path::Path,
    policy: &std::path::Path,
    mut env: Vec<(String, String)>,
    proxy: &FaultProxy,
    source: Source<'_>,
    name: String,
) -> anyhow::Result<(Row, Inventory)> {
    let out = work.join(format!("run-{name}"));
    env.push(("AWS_ENDPOINT_URL".into(), proxy.url().to_owned()));
    let arg = |p: &std::path::Path| p.display().to_string();
    let args = ["--quiet", "scan", "--policy"]
        .map(str::to_owned)
        .into_iter()
        .chain([arg(policy), "--out".into(), arg(&out)])
        .collect();
    let measured = tokio::task::spawn_blocking(move || measure::run(&[args], &env)).await??;
    let inventory: Inventory = serde_json::from_slice(&std::fs::read(out.join("inventory.json"))?)?;
    // Then checked and reported, each process measured apart: the scan's memory is its own.
    let again = work.join(format!("again-{name}"));
    let command = |verb: &str, extra: &[String]| -> Vec<String> {
        ["--quiet", verb, "--policy"]
            .map(str::to_owned)
            .into_iter()
            .chain([
                arg(policy),
                "--inventory".into(),
                arg(&out.join("inventory.json")),
            ])
            .chain(extra.iter().cloned())
            .chain(["--out".into(), arg(&again)])
            .collect()
    };
    let check = command("check", &[]);
    let report = command(
        "report",
        &["--findings".into(), arg(&again.join("findings.json"))],
    );
    let offline =
        tokio::task::spawn_blocking(move || measure::run(&[check, report], &[])).await??;
    let row = Row {
        resources: inventory.resources.len(),
        latency_ms: 0,
        answered_by: match source {
            Source::Emulator => "emulator".to_owned(),
            Source::Recording => {
                format!("recording ({} of {})", proxy.replayed(), proxy.requests())
            }
            Source::Scaled(scaled) => format!(
                "recording x{} ({} served, {} throttled, {} unanswered)",
                scaled.copies(),
                scaled.served(),
                scaled.throttles(),
                scaled.misses()
            ),
        },
        scan_s: inventory.stats.duration_ms as f64 / 1000.0,
        run_s: (measured.wall + offline.wall).as_secs_f64(),
        cpu_s: (measured.usage.cpu + offline.usage.cpu).as_secs_f64(),
        scan_cpu_s: measured.usage.cpu.as_secs_f64(),
        peak_mb: measured.usage.peak_rss_kib as f64 / 1024.0,
        check_report_mb: offline.usage.peak_rss_kib as f64 / 1024.0,
        calls: inventory.stats.total_calls(),
        minimum: minimum_calls(&inventory).values().sum(),
        errors: inventory.errors.len(),
        longest: inventory
            .stats
            .longest_unit()
            .map_or_else(String::new, ToString::to_string),
    };
    Ok((row, inventory))
}

fn print_calls(row: &Row, inventory: &Inventory) {
    eprintln!("calls by service at {} resources:", row.resources);
    for (svc, ops) in &inventory.stats.api_calls {
        let detail = ops
            .iter()
            .map(|(op, c)| format!("{op} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!("  {svc:<11} {:>6}  ({detail})", ops.values().sum::<u64>());
    }
    eprintln!("  minimum by service: {:?}", minimum_calls(inventory));
}

async fn bench() -> anyhow::Result<()> {
    let latency_ms = env_list("BENCH_LATENCY_MS", &[40])[0] as u64;
    let copies = env_list("BENCH_COPIES", &[10, 100]);
    let emulator = Emulator::from_env()?;
    let work = tempfile::tempdir()?;
    let policy = work.path().join("policy.toml");
    std::fs::write(&policy, bench_policy(&REGIONS))?;
    let mut rows = Vec::new();
    // The largest seeded estate's recording and account, to serve scaled up.
    let mut largest = None;
    for (scale, shape) in estates().into_iter().enumerate() {
        let account = emulator.fresh_account().await?;
        let suffix = name_suffix(&account.account_id);
        eprintln!("seeding {shape:?} across {REGIONS:?}...");
        let seeding = Instant::now();
        seed_bench_estate(&account.clients().await, &REGIONS, shape, &suffix).await?;
        eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
        let recording = Recording::new();
        for (delay, replay) in [
            (0, Replay::Record(recording.clone())),
            (latency_ms, Replay::Serve(recording.clone())),
        ] {
            let source = match replay {
                Replay::Record(_) => Source::Emulator,
                _ => Source::Recording,
            };
            let proxy = FaultProxy::with_replay(
                emulator.url(),
                vec![],
                Latency::fixed(Duration::from_millis(delay)),
                replay,
            )
            .await?;
            let env = account.environment(REGIONS[0]);
            let name = format!("{scale}-{delay}");
            let (mut row, inventory) =
                measure_run(work.path(), &policy, env, &proxy, source, name).await?;
            row.latency_ms = delay;
            if delay == 0 && shape == ISSUE_ESTATE {
                println!(
                    "the scale issue's estate: {} calls, {:.2}x the tuned peer's {PEER_CALLS} (target at most 0.6x)",
                    row.calls,
                    row.calls as f64 / PEER_CALLS as f64
                );
            }
            if delay == 0 {
                print_calls(&row, &inventory);
            }
            row.print();
            rows.push(row);
        }
        if largest
            .as_ref()
            .is_none_or(|(s, _, _): &(BenchEstate, _, _)| s.instances < shape.instances)
        {
            largest = Some((shape, recording, account));
        }
    }
    // The largest recording served as estates `BENCH_COPIES` times larger, as AWS answers:
    // a round trip per request and its published throttling.
    if let Some((_, recording, account)) = largest {
        for n in copies {
            let scaled = Scaled::new(&recording, u32::try_from(n)?);
            let latency = Duration::from_millis(latency_ms);
            let proxy = FaultProxy::scaled(emulator.url(), &scaled, latency).await?;
            let env = account.environment(REGIONS[0]);
            let (mut row, inventory) = measure_run(
                work.path(),
                &policy,
                env,
                &proxy,
                Source::Scaled(&scaled),
                format!("x{n}"),
            )
            .await?;
            row.latency_ms = latency_ms;
            print_calls(&row, &inventory);
            row.print();
            rows.push(row);
        }
    }
    println!();
    println!(
        "infraqa scan, check and report over seeded emulator estates ({} regions) and the largest recording scaled up, each command in a process of its own",
        REGIONS.len()
    );
    println!(
        "| resources | latency | answered by | scan wall | scan, check and report wall | their CPU | scan CPU (per resource) | peak memory of the scan | of check and report | API calls | minimum (ratio) | scan errors | longest unit |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        row.print();
    }
    Ok(())
}

fn main() -> ExitCode {
    measure::main_async("infraqa-bench-scan", bench)
}
