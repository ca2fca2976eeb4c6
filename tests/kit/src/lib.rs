//! The test kit of infraqa: the emulator harness that gives each integration test its own
//! clean AWS account on a shared local emulator, and the demo estate seeder that the demo and
//! the integration tests reuse.

pub mod alerts;
pub mod cis;
pub mod emulator;
pub mod events;
pub mod fault_proxy;
pub mod metrics;
pub mod objects;
pub mod runtime;
pub mod scaled;
pub mod seed;
pub mod state_machine;

/// A step of the harness or the seeder that failed, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct KitError {
    /// What was being done, naming the resource.
    pub step: String,
    /// The cause, with its whole chain.
    pub detail: String,
    /// The original error (summarised in `detail`, so not chained as `source`).
    pub cause: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl KitError {
    /// Something the set-up expected to find (`what`) was not there.
    pub fn missing(what: String) -> Self {
        Self {
            step: what.clone(),
            detail: "not found".to_owned(),
            cause: what.into(),
        }
    }
}

/// Adds "what was being done" to any error.
pub trait Step<T> {
    /// Labels the error with `what`.
    fn step(self, what: impl Into<String>) -> Result<T, KitError>;
}

impl<T, E> Step<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn step(self, what: impl Into<String>) -> Result<T, KitError> {
        self.map_err(|e| KitError {
            step: what.into(),
            detail: error_chain(&e),
            cause: Box::new(e),
        })
    }
}

/// An error and its causes, joined with ": ", skipping causes whose text the previous one
/// already contains.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}

/// The (service, region) units an inventory names as not read before its deadline.
pub fn deadline_misses(
    inventory: &infraqa_core::Inventory,
) -> std::collections::BTreeSet<(String, String)> {
    inventory
        .errors
        .iter()
        .filter(|e| e.code == "DeadlineExceeded")
        .map(|e| (e.service.clone(), e.region.clone()))
        .collect()
}
