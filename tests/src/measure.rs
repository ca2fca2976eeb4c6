//! Measuring `infraqa` command lines as users run them, in a process of their own: a benchmark
//! re-runs its own executable in measure mode ([`FLAG`]), which runs the commands through the
//! CLI library and then reports that process's wall time, CPU time and peak memory. Nothing of
//! the benchmark's own work (seeding, the fault proxy) is counted, and no `unsafe` `wait4` is
//! needed to read a child's usage.

use crate::runtime::{Usage, process_usage};
use crate::{KitError, Step};
use clap::Parser;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// The first argument that starts measure mode.
pub const FLAG: &str = "--measure";
/// Separates commands run one after the other in the same process.
pub const THEN: &str = "+";
/// The line prefix the measured process reports its usage with.
const MARK: &str = "INFRAQA_MEASURED";

/// What one measured process used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// Wall time from the first command's start to the last one's end.
    pub wall: Duration,
    /// CPU time and peak memory of the whole process.
    pub usage: Usage,
}

/// In the measured process: when this executable was started with [`FLAG`], runs the
/// commands that follow (separated by [`THEN`]), prints the usage line and returns the exit
/// code to end with; `None` when this is not measure mode.
pub fn child_mode() -> Option<u8> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some(FLAG) {
        return None;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("measure: no runtime: {e}");
            return Some(1);
        }
    };
    let started = Instant::now();
    for command in args[1..].split(|a| a == THEN) {
        let argv = std::iter::once("infraqa").chain(command.iter().map(String::as_str));
        let cli = match infraqa_cli::Cli::try_parse_from(argv) {
            Ok(cli) => cli,
            Err(e) => {
                eprintln!("measure: {e}");
                return Some(1);
            }
        };
        if let Err(e) = runtime.block_on(infraqa_cli::run(cli)) {
            eprintln!("measure: infraqa {}: {}", command.join(" "), e.render());
            return Some(1);
        }
    }
    let wall = started.elapsed();
    match process_usage(Path::new("/proc/self")) {
        Ok(u) => {
            println!(
                "{MARK} {} {} {}",
                wall.as_millis(),
                u.cpu.as_millis(),
                u.peak_rss_kib
            );
            Some(0)
        }
        Err(e) => {
            eprintln!("measure: {e}");
            Some(1)
        }
    }
}

/// A benchmark's `main`: the measured process when this executable was started in measure
/// mode ([`child_mode`]), else `bench`, whose error is printed after `name`.
pub fn main<E: std::fmt::Display>(name: &str, bench: impl FnOnce() -> Result<(), E>) -> ExitCode {
    if let Some(code) = child_mode() {
        return ExitCode::from(code);
    }
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// [`main`] for a benchmark that runs on a tokio runtime.
pub fn main_async<E, F>(name: &str, bench: impl FnOnce() -> F) -> ExitCode
where
    E: std::fmt::Display + From<std::io::Error>,
    F: Future<Output = Result<(), E>>,
{
    main(name, || tokio::runtime::Runtime::new()?.block_on(bench()))
}

/// Runs `commands` (each an `infraqa` argument list without the program name) one after the
/// other in one fresh process of this executable, with `env` added to its environment. With
/// `BENCH_PROFILER` set (a command line, e.g. `heaptrack -o /tmp/scan`), the process runs
/// under it, to see where its time or memory goes; its figures then include the profiler's.
pub fn run(commands: &[Vec<String>], env: &[(String, String)]) -> Result<Measured, KitError> {
    let exe = std::env::current_exe().step("locating this executable")?;
    let profiler = std::env::var("BENCH_PROFILER").unwrap_or_default();
    let mut words = profiler.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    cmd.arg(FLAG);
    for (i, c) in commands.iter().enumerate() {
        if i > 0 {
            cmd.arg(THEN);
        }
        cmd.args(c);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().step("running the measured commands")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(MARK));
    let figures: Vec<u64> = line
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match (out.status.success(), figures.as_slice()) {
        (true, [wall_ms, cpu_ms, peak]) => Ok(Measured {
            wall: Duration::from_millis(*wall_ms),
            usage: Usage {
                cpu: Duration::from_millis(*cpu_ms),
                peak_rss_kib: *peak,
            },
        }),
        _ => Err(KitError::missing(format!(
            "the usage of `infraqa {}` ({}): {}",
            commands
                .iter()
                .map(|c| c.join(" "))
                .collect::<Vec<_>>()
                .join(" + "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}
