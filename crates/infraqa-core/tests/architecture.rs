//! ARCHITECTURE.md's invariants that a machine can check: the core does no IO and depends on
//! no AWS, async or Lambda crate; only the AWS adapter crate (and the test harness) depends on
//! AWS SDK crates; no library uses anyhow; the model holds no untyped JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names under `[dependencies]` (not dev-dependencies) of a crate's manifest.
fn dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_depends_on_no_aws_async_or_lambda_crate() {
    let deps = dependencies(&root().join("crates/infraqa-core/Cargo.toml"));
    assert!(!deps.is_empty());
    for d in &deps {
        let forbidden = [
            "aws-", "tokio", "lambda", "hyper", "reqwest", "futures", "anyhow",
        ];
        assert!(
            !forbidden.iter().any(|f| d.starts_with(f)),
            "infraqa-core depends on {d}"
        );
    }
}

#[test]
fn the_core_does_no_io_and_reads_no_clock_or_environment() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/infraqa-core/src"), &mut files);
    assert!(files.len() > 10);
    let forbidden = [
        "std::fs",
        "std::env",
        "std::net",
        "std::process",
        "SystemTime::now",
        "Utc::now",
        "Local::now",
        "Instant::now",
        "tokio",
        "aws_sdk",
        "aws_config",
        "lambda_runtime",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for f in forbidden {
            assert!(!text.contains(f), "{} uses {f}", file.display());
        }
    }
}

#[test]
fn only_the_aws_adapter_depends_on_aws_sdk_crates_and_no_library_on_anyhow() {
    for krate in ["infraqa-core", "infraqa-report", "infraqa-aws"] {
        let deps = dependencies(&root().join(format!("crates/{krate}/Cargo.toml")));
        assert!(!deps.contains(&"anyhow".to_owned()), "{krate} uses anyhow");
        let sdk: Vec<&String> = deps.iter().filter(|d| d.starts_with("aws-sdk-")).collect();
        assert_eq!(
            sdk.is_empty(),
            krate != "infraqa-aws",
            "{krate} AWS SDK dependencies: {sdk:?}"
        );
    }
}

#[test]
fn the_model_holds_no_untyped_json() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/infraqa-core/src"), &mut files);
    // No field or return type is untyped JSON (a deserializer may buffer an
    // object it reads while it reads it).
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| l.contains("serde_json::Value")) {
            let declared = line
                .trim_start()
                .trim_start_matches("pub ")
                .split_once(':')
                .is_some_and(|(name, ty)| {
                    name.chars().all(|c| c.is_alphanumeric() || c == '_')
                        && ty.contains("serde_json::Value")
                });
            assert!(
                !declared && !line.contains("-> serde_json::Value"),
                "{} passes serde_json::Value around: {line}",
                file.display()
            );
        }
    }
}
