//! Integration tests against the local AWS emulator: one binary, one module per capability.
//!
//! Each test takes a fresh account of its own on the shared emulator, so tests run in parallel
//! without resets. They are `#[ignore]`d by default because they need the emulator; `make test`
//! starts it and runs them with `--include-ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_clients;
mod check;
mod cis;
mod e2e;
mod faults;
mod grants;
mod lambda;
mod live;
mod scan;
mod securityhub;
mod usage;
mod validate;

use infraqa_tests::emulator::{Emulator, TestAccount};

/// The emulator and a fresh account of this test's own.
pub async fn fresh_account() -> (Emulator, TestAccount) {
    let emulator = Emulator::from_env().unwrap();
    let account = emulator.fresh_account().await.unwrap();
    (emulator, account)
}
