//! The integration tests' and benchmarks' crate: the test kit ([`infraqa_testkit`], re-exported
//! so the tests and benchmarks name one crate) and [`measure`], which runs `infraqa` command
//! lines in a process of their own (it needs the CLI, which the kit must not depend on: the
//! CLI's own tests use the kit).

pub use infraqa_testkit::*;

pub mod measure;
