//! Peak memory for the benchmarks to print. Lives beside the benchmarks, not in the core
//! library: reading `/proc` is IO, and the core does none. Both benchmark binaries include
//! this file (`#[path]`).

/// The process's peak resident memory in MB (Linux `/proc`), for benchmarks to print.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
