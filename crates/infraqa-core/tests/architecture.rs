//! ARCHITECTURE.md's invariants that a machine can check, over every crate of the workspace:
//! the core does no IO and depends on no AWS, async or Lambda crate; each crate depends only on
//! the crates below it, and no crate's tests depend on a crate that depends on it; only the AWS
//! adapter crate (and the test harness) depends on AWS SDK crates; no library uses anyhow; the
//! model holds no untyped JSON.
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

/// Every crate of the workspace, by folder, with the workspace crates its `[dependencies]`
/// may name: a crate depends only on crates below it, never on one above or beside it.
const LAYERS: &[(&str, &[&str])] = &[
    ("crates/infraqa-core", &[]),
    ("crates/infraqa-report", &["infraqa-core"]),
    ("crates/infraqa-aws", &["infraqa-core"]),
    (
        "crates/infraqa-pipeline",
        &["infraqa-core", "infraqa-report", "infraqa-aws"],
    ),
    (
        "crates/infraqa-lambda",
        &[
            "infraqa-core",
            "infraqa-report",
            "infraqa-aws",
            "infraqa-pipeline",
        ],
    ),
    (
        "crates/infraqa-cli",
        &[
            "infraqa-core",
            "infraqa-report",
            "infraqa-aws",
            "infraqa-pipeline",
        ],
    ),
    ("functions/checker", &["infraqa-lambda"]),
    ("functions/reporter", &["infraqa-lambda"]),
    ("functions/scanner", &["infraqa-lambda"]),
    ("functions/tagger", &["infraqa-lambda"]),
    ("functions/validator", &["infraqa-lambda"]),
    ("tests/kit", &["infraqa-core", "infraqa-aws"]),
    (
        "tests",
        &[
            "infraqa-testkit",
            "infraqa-core",
            "infraqa-report",
            "infraqa-aws",
            "infraqa-pipeline",
            "infraqa-lambda",
            "infraqa-cli",
        ],
    ),
];

/// The crates whose edge may use anyhow: binaries and their test harness.
const EDGES: &[&str] = &["crates/infraqa-cli", "tests"];
/// The crates that may depend on AWS SDK crates: the adapter and the test harness.
const SDK_USERS: &[&str] = &["crates/infraqa-aws", "tests/kit", "tests"];

/// The crate's package name and the names in one section of its manifest.
fn section(folder: &str, name: &str) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(root().join(folder).join("Cargo.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let package = doc["package"]["name"].as_str().unwrap().to_owned();
    let names = doc
        .get(name)
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    (package, names)
}

#[test]
fn every_crate_of_the_workspace_has_its_place_in_the_layers() {
    let mut found = Vec::new();
    for dir in ["crates", "functions"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.join("Cargo.toml").exists() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.extend(["tests".to_owned(), "tests/kit".to_owned()]);
    found.sort();
    let mut listed: Vec<String> = LAYERS.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed, "a new crate needs its line in LAYERS");
}

#[test]
fn every_crate_depends_only_on_the_crates_below_it() {
    for (folder, allowed) in LAYERS {
        let (_, deps) = section(folder, "dependencies");
        for d in deps.iter().filter(|d| d.starts_with("infraqa")) {
            assert!(
                allowed.contains(&d.as_str()),
                "{folder} depends on {d}, which is not below it"
            );
        }
    }
}

#[test]
fn no_crate_is_a_dev_dependency_of_a_crate_it_depends_on() {
    // Each crate's workspace dependencies, transitively.
    let packages: Vec<(String, &str)> = LAYERS
        .iter()
        .map(|(folder, _)| (section(folder, "dependencies").0, *folder))
        .collect();
    let folder_of = |name: &str| {
        packages
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, f)| *f)
            .unwrap_or_else(|| panic!("{name} is not a workspace crate"))
    };
    let below = |folder: &str| {
        let mut seen: Vec<String> = Vec::new();
        let mut todo = vec![folder.to_owned()];
        while let Some(f) = todo.pop() {
            for d in section(&f, "dependencies").1 {
                if d.starts_with("infraqa") && !seen.contains(&d) {
                    todo.push(folder_of(&d).to_owned());
                    seen.push(d);
                }
            }
        }
        seen
    };
    for (package, folder) in &packages {
        for dev in section(folder, "dev-dependencies").1 {
            if dev.starts_with("infraqa") {
                assert!(
                    !below(folder_of(&dev)).contains(package),
                    "{package} dev-depends on {dev}, which depends on {package}"
                );
            }
        }
    }
}

#[test]
fn only_the_aws_adapter_depends_on_aws_sdk_crates_and_no_library_on_anyhow() {
    for (folder, _) in LAYERS {
        let (package, deps) = section(folder, "dependencies");
        assert!(
            EDGES.contains(folder) || !deps.contains(&"anyhow".to_owned()),
            "{package} is a library and uses anyhow"
        );
        let sdk: Vec<&String> = deps.iter().filter(|d| d.starts_with("aws-sdk-")).collect();
        assert!(
            SDK_USERS.contains(folder) || sdk.is_empty(),
            "{package} depends on AWS SDK crates: {sdk:?}"
        );
    }
    let (_, adapter) = section("crates/infraqa-aws", "dependencies");
    assert!(adapter.iter().any(|d| d.starts_with("aws-sdk-")));
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
