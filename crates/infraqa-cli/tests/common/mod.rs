//! What the `infraqa` binary's tests share: running it, and a seeded emulator account.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn infraqa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infraqa"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run infraqa")
}

pub fn demo_policy_file(dir: &Path, account_id: &str) -> String {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        infraqa_testkit::seed::demo_policy(account_id, chrono::Utc::now().date_naive()),
    )
    .unwrap();
    path.display().to_string()
}

pub struct Seeded {
    pub rt: tokio::runtime::Runtime,
    pub emulator: infraqa_testkit::emulator::Emulator,
    pub account: infraqa_testkit::emulator::TestAccount,
    pub estate: infraqa_testkit::seed::Estate,
    pub dir: tempfile::TempDir,
    pub policy: String,
}

pub fn seeded() -> Seeded {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = infraqa_testkit::emulator::Emulator::from_env().unwrap();
    let (account, estate) = rt.block_on(async {
        let account = emulator.fresh_account().await.unwrap();
        let estate = infraqa_testkit::seed::seed_demo_estate(&account.clients().await)
            .await
            .unwrap();
        (account, estate)
    });
    let dir = tempfile::tempdir().unwrap();
    let policy = demo_policy_file(dir.path(), &account.account_id);
    Seeded {
        rt,
        emulator,
        account,
        estate,
        dir,
        policy,
    }
}

pub fn infraqa_as(
    emulator: &infraqa_testkit::emulator::Emulator,
    account: &infraqa_testkit::emulator::TestAccount,
    args: &[&str],
) -> Output {
    infraqa_via(emulator.url(), account, args)
}

/// `infraqa` acting in `account` against the endpoint `url` (the emulator or a proxy).
pub fn infraqa_via(
    url: &str,
    account: &infraqa_testkit::emulator::TestAccount,
    args: &[&str],
) -> Output {
    let creds = &account.credentials;
    Command::new(env!("CARGO_BIN_EXE_infraqa"))
        .args(["--endpoint-url", url, "--region", "us-east-1", "-q"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env(
            "AWS_SESSION_TOKEN",
            creds.session_token().unwrap_or_default(),
        )
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}
