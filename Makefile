# infraqa: common tasks. Each target is a thin wrapper over a script in scripts/.
.PHONY: test live e2e demo bench coverage package emulator-canary lint fmt emulator-start emulator-stop build

## Everything CI runs: fmt, clippy, template lint, unit and emulator integration tests.
test:
	scripts/test

## The deployed stack in a real AWS account (INFRAQA_LIVE=1, that account's credentials; not in make test).
live:
	cargo test --locked -p infraqa-tests --test it -- --ignored --exact live::the_deployed_scanner_scans_the_real_account_and_the_chain_reports

## The function binaries against cargo lambda watch's runtime API and the emulator (also in make test).
e2e:
	scripts/e2e

## The pipeline against a seeded local emulator.
demo:
	scripts/demo

## Benchmarks that print their figures (release build, own emulator).
bench:
	scripts/bench

## The tests against the newest moto 5.x beside the pinned one: which results differ (not in make test).
emulator-canary:
	scripts/emulator-canary

## Each function's Lambda zip (release, cargo-lambda), sizes checked.
package:
	scripts/package

## Line coverage per crate (cargo-llvm-cov).
coverage:
	scripts/coverage

## Formatting and lints only.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

build:
	cargo build --workspace

emulator-start:
	scripts/emulator start

emulator-stop:
	scripts/emulator stop
