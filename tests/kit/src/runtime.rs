//! The function binaries as Lambda runs them, locally: `cargo lambda watch --only-lambda-apis`
//! serves the Lambda runtime API, and each binary is started as Lambda starts a custom runtime
//! (`AWS_LAMBDA_RUNTIME_API` and the function's variables), one process per function, invoked
//! with `cargo lambda invoke`. What each process used (CPU time, peak resident memory) is read
//! from /proc, for the measurements the template's sizes come from.
//!
//! `cargo lambda watch` sends every invocation the same fixed deadline (600,000 ms after the
//! Unix epoch); the scanner treats a deadline already past at its start as none.

use crate::{KitError, Step};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The runtime API and the functions started against it; all stopped when dropped.
pub struct Runtime {
    port: u16,
    api: Child,
    functions: Vec<(String, Child)>,
    env: Vec<(String, String)>,
    workspace: PathBuf,
    logs: tempfile::TempDir,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for (_, child) in &mut self.functions {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.api.kill();
        let _ = self.api.wait();
    }
}

/// What one function process used so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// User and system CPU time.
    pub cpu: Duration,
    /// Peak resident memory (VmHWM), in KiB.
    pub peak_rss_kib: u64,
}

/// What the process whose /proc directory is `proc` (`/proc/self` for this one) has used so
/// far: CPU time from `stat`, peak resident memory (VmHWM) from `status`. Linux only.
pub fn process_usage(proc: &Path) -> Result<Usage, KitError> {
    let status = std::fs::read_to_string(proc.join("status")).step("reading /proc status")?;
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| KitError::missing(format!("VmHWM in {}", proc.display())))?;
    let stat = std::fs::read_to_string(proc.join("stat")).step("reading /proc stat")?;
    // After the command name: state is field 0, utime 11 and stime 12 (clock ticks, 100/s).
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Ok(Usage {
        cpu: Duration::from_millis(ticks * 10),
        peak_rss_kib,
    })
}

/// The directory the running executable was built into (`target/<profile>`), where the
/// workspace's other binaries are.
pub fn binaries() -> Result<PathBuf, KitError> {
    let exe = std::env::current_exe().step("locating this executable")?;
    let dir = exe
        .parent()
        .ok_or_else(|| KitError::missing("the executable's directory".to_owned()))?;
    // Test executables live in target/<profile>/deps.
    Ok(if dir.ends_with("deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    })
}

impl Runtime {
    /// Starts the runtime API on a free port, from `workspace` (cargo-lambda checks invoked
    /// names against its binaries); `env` is every function's environment.
    pub fn start(workspace: &Path, env: Vec<(String, String)>) -> Result<Self, KitError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .step("finding a free port")?
            .port();
        let logs = tempfile::tempdir().step("creating the log directory")?;
        let log =
            std::fs::File::create(logs.path().join("watch.log")).step("creating watch.log")?;
        let api = Command::new("cargo")
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-port"])
            .arg(port.to_string())
            .current_dir(workspace)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .step("starting `cargo lambda watch` (is cargo-lambda on the PATH?)")?;
        let runtime = Self {
            port,
            api,
            functions: Vec::new(),
            env,
            workspace: workspace.to_path_buf(),
            logs,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(KitError::missing(format!(
                    "cargo lambda watch listening on port {port} after 60 s: {}",
                    runtime.log("watch")
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(runtime)
    }

    /// What process `name` wrote so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Starts `binary` (a file in `dir`) as Lambda starts a custom runtime of the template's
    /// configuration (JSON logs), with `extra` variables and `memory_mb` as its configured
    /// memory.
    pub fn function(
        &mut self,
        dir: &Path,
        name: &str,
        memory_mb: u32,
        extra: &[(&str, &str)],
    ) -> Result<(), KitError> {
        let binary = dir.join(name);
        if !binary.is_file() {
            return Err(KitError::missing(format!(
                "{} (build the workspace's binaries first: cargo build --workspace --bins)",
                binary.display()
            )));
        }
        let log = std::fs::File::create(self.logs.path().join(format!("{name}.log")))
            .step(format!("creating {name}.log"))?;
        let err = log.try_clone().step(format!("opening {name}.log"))?;
        let child = Command::new(&binary)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt/{name}", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            // What Lambda sets for the template's `LoggingConfig: LogFormat: JSON`.
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdout(log)
            .stderr(err)
            .spawn()
            .step(format!("starting {}", binary.display()))?;
        self.functions.push((name.to_owned(), child));
        Ok(())
    }

    /// Stops function `name`.
    pub fn stop(&mut self, name: &str) {
        for (_, child) in self.functions.iter_mut().filter(|(n, _)| n == name) {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.functions.retain(|(n, _)| n != name);
    }

    /// What function `name`'s process has used so far (Linux /proc).
    pub fn usage(&self, name: &str) -> Result<Usage, KitError> {
        let (_, child) = self
            .functions
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| KitError::missing(format!("a running {name}")))?;
        process_usage(&PathBuf::from(format!("/proc/{}", child.id())))
    }

    /// Invokes `function` with `payload` (`cargo lambda invoke`); its JSON answer, or an error
    /// with the function's log.
    pub fn invoke(&self, function: &str, payload: &str) -> Result<serde_json::Value, KitError> {
        let file = self.logs.path().join("payload.json");
        std::fs::write(&file, payload).step("writing the payload")?;
        let out = Command::new("cargo")
            .args(["lambda", "invoke", function, "--invoke-port"])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(&file)
            .args(["--output-format", "json"])
            .current_dir(&self.workspace)
            .output()
            .step(format!("running cargo lambda invoke {function}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let failed = |why: String| {
            KitError::missing(format!(
                "an answer from {function}: {why}\n{}\nits log:\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log(function)
            ))
        };
        if !out.status.success() {
            return Err(failed(format!("it failed: {stdout}")));
        }
        serde_json::from_str(&stdout).map_err(|e| failed(format!("{stdout}: {e}")))
    }
}
