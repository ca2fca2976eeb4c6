//! `infraqa-bench-check` (`make bench`): `infraqa check` then `infraqa report` over a synthetic
//! inventory of 1,000,000 resources (`BENCH_RESOURCES`), each in a process of its own as the
//! checker and reporter functions run them (each in its own Lambda's memory): wall time and CPU
//! of the two together against the target (under 10 s), each one's peak memory against the
//! target (under 2 GB), and the size of what a person opens. A benchmark, not a test: it
//! asserts nothing, it prints its figures. Then the report again with a trend over past runs'
//! history entries (`BENCH_HISTORY_RUNS`, default 12), as a daily report has one. `BENCH_DIR`
//! keeps the inventory and the reports there.

use infraqa_core::history::HistoryEntry;
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

/// Writes into `to` (emptied first) `runs` past runs' history entries: the one entry in
/// `from` (the report just made), dated one day earlier per run.
fn past_runs(from: &std::path::Path, to: &std::path::Path, runs: usize) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    let entry = std::fs::read_dir(from)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .ok_or_else(|| anyhow::anyhow!("no history entry in {}", from.display()))?;
    let entry: HistoryEntry = serde_json::from_slice(&std::fs::read(entry)?)?;
    for days in 1..=runs {
        let back = chrono::Duration::days(days as i64);
        let mut past = entry.clone();
        past.generated_at -= back;
        let taken = past.inventory_generated_at.unwrap_or(past.generated_at) - back;
        past.inventory_generated_at = Some(taken);
        // As that run would have carried them: first seen no later than it.
        for t in past
            .first_seen
            .iter_mut()
            .chain(past.still_open.iter_mut().map(|(_, t)| t))
        {
            *t = (*t - back).min(taken);
        }
        let name = infraqa_core::names::entry_name(taken, &past.account_id);
        let mut file = std::io::BufWriter::new(std::fs::File::create(to.join(name))?);
        infraqa_report::write_json(&past, &mut file)?;
        file.flush()?;
    }
    Ok(())
}

/// The size of one history entry in `dir`, in megabytes.
fn entry_megabytes(dir: &std::path::Path) -> f64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .map_or(0.0, |p| megabytes(&p))
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
    // `infraqa report` into `to`, with the history in `history` (else `to/history`).
    let report = |to: &std::path::Path, history: Option<&std::path::Path>| -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--quiet".into(),
            "report".into(),
            "--policy".into(),
            path(&policy),
            "--inventory".into(),
            path(&inventory),
            "--findings".into(),
            path(&out.join("findings.json")),
            "--out".into(),
            path(to),
        ];
        if let Some(h) = history {
            args.extend(["--history".into(), path(h)]);
        }
        args
    };
    let checked = measure::run(&[check], &[])?;
    let reported = measure::run(&[report(&out, None)], &[])?;
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
    // The daily report has a trend: the same report again, over the history entries of
    // `BENCH_HISTORY_RUNS` past runs (default 12, the default trend), each the entry just
    // written, dated a day earlier per run: a steady estate, every past run finding what this
    // one finds.
    let runs = env_count("BENCH_HISTORY_RUNS", 12);
    let history = dir.join("history");
    past_runs(&out.join("history"), &history, runs)?;
    let again = dir.join("out-with-history");
    let with_history = measure::run(&[report(&again, Some(&history))], &[])?;
    println!(
        "  report over {runs} past runs' history: {:.2} s wall, {:.2} s CPU, {:.0} MB peak; each entry {:.0} MB",
        with_history.wall.as_secs_f64(),
        with_history.usage.cpu.as_secs_f64(),
        mb(&with_history),
        entry_megabytes(&history)
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
    measure::main("infraqa-bench-check", bench)
}
