//! `infraqa-bench-check` (`make bench`): `infraqa check` then `infraqa report` over a synthetic
//! inventory of 1,000,000 resources (`BENCH_RESOURCES`), each in a process of its own as the
//! checker and reporter functions run them (each in its own Lambda's memory): wall time and CPU
//! of the two together against the target (under 10 s), each one's peak memory against the
//! target (under 2 GB), and the size of what a person opens. A benchmark, not a test: it
//! asserts nothing, it prints its figures. `BENCH_DIR` keeps the inventory and the reports
//! there.

use infraqa_tests::measure;
use std::io::Write;
use std::process::ExitCode;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn megabytes(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
}

fn bench() -> anyhow::Result<()> {
    let n = env_count("BENCH_RESOURCES", 1_000_000);
    // BENCH_DIR keeps the files for a look (report.html at this size); else a temporary
    // directory, removed at the end.
    let temp = tempfile::tempdir()?;
    let dir = std::env::var_os("BENCH_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir)?;
    let inventory = dir.join("inventory.json");
    let policy = dir.join("policy.toml");
    let out = dir.join("out");
    eprintln!("writing a synthetic inventory of {n} resources...");
    {
        let inv = infraqa_core::synthetic::inventory(n, chrono::Utc::now());
        let mut file = std::io::BufWriter::new(std::fs::File::create(&inventory)?);
        serde_json::to_writer(&mut file, &inv)?;
        file.flush()?;
    }
    std::fs::write(&policy, infraqa_core::synthetic::POLICY)?;
    let path = |p: &std::path::Path| p.display().to_string();
    let check: Vec<String> = vec![
        "--quiet".into(),
        "check".into(),
        "--policy".into(),
        path(&policy),
        "--inventory".into(),
        path(&inventory),
        "--out".into(),
        path(&out),
    ];
    let report: Vec<String> = vec![
        "--quiet".into(),
        "report".into(),
        "--policy".into(),
        path(&policy),
        "--inventory".into(),
        path(&inventory),
        "--findings".into(),
        path(&out.join("findings.json")),
        "--out".into(),
        path(&out),
    ];
    let checked = measure::run(&[check], &[])?;
    let reported = measure::run(&[report], &[])?;
    let mb = |m: &measure::Measured| m.usage.peak_rss_kib as f64 / 1024.0;
    println!(
        "infraqa check then infraqa report over {n} synthetic resources, each in its own process"
    );
    println!(
        "  wall time: {:.2} s (check {:.2} s, report {:.2} s; target under 10 s)",
        (checked.wall + reported.wall).as_secs_f64(),
        checked.wall.as_secs_f64(),
        reported.wall.as_secs_f64()
    );
    println!(
        "  CPU time: {:.2} s (check {:.2} s, report {:.2} s)",
        (checked.usage.cpu + reported.usage.cpu).as_secs_f64(),
        checked.usage.cpu.as_secs_f64(),
        reported.usage.cpu.as_secs_f64()
    );
    println!(
        "  peak memory: check {:.0} MB, report {:.0} MB (target under 2048 MB each)",
        mb(&checked),
        mb(&reported)
    );
    println!(
        "  inventory.json {:.0} MB, findings.json {:.0} MB, report.json {:.0} MB, findings.csv {:.0} MB",
        megabytes(&inventory),
        megabytes(&out.join("findings.json")),
        megabytes(&out.join("report.json")),
        megabytes(&out.join("findings.csv")),
    );
    println!(
        "  report.html {:.2} MB (lists the worst {} of each long list), report.md {:.3} MB",
        megabytes(&out.join("report.html")),
        infraqa_report::html::LISTED,
        megabytes(&out.join("report.md")),
    );
    Ok(())
}

fn main() -> ExitCode {
    if let Some(code) = measure::child_mode() {
        return ExitCode::from(code);
    }
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("infraqa-bench-check: {e:#}");
            ExitCode::FAILURE
        }
    }
}
