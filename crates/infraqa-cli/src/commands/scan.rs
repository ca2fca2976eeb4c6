//! `infraqa scan --policy FILE --out DIR`: discover resources, write `DIR/inventory.json`.

use crate::exit::CliError;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use infraqa_aws::AwsClients;
use infraqa_aws::scan::ScanObserver;
use infraqa_core::Inventory;
use infraqa_pipeline::Store;
use std::io::IsTerminal;
use std::time::Duration;

/// A progress bar over scan units, drawn only on a terminal.
struct Progress(ProgressBar);

impl Progress {
    fn new(enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if enabled && std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} scanning [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }
}

impl ScanObserver for Progress {
    fn planned(&self, units: usize) {
        self.0.set_length(units as u64);
    }

    fn finished(&self, label: &str, resources: usize, errors: usize) {
        self.0.inc(1);
        self.0
            .set_message(format!("{label}: {resources} resources, {errors} errors"));
    }
}

/// Scans with `clients` over the policy's regions.
pub async fn scan(
    clients: &AwsClients,
    policy: &infraqa_core::Policy,
    progress: bool,
) -> Result<Inventory, CliError> {
    let bar = Progress::new(progress);
    let result = infraqa_aws::scan::scan(clients, &policy.scan.regions, policy, &bar).await;
    bar.0.finish_and_clear();
    result.map_err(|e| CliError::from(e).context("scan stopped"))
}

/// Writes the inventory to `OUT/inventory.json` and returns where it went.
pub async fn write(out: &Store, inventory: &Inventory) -> Result<String, CliError> {
    Ok(infraqa_pipeline::report::put_json(out, infraqa_core::names::INVENTORY, inventory).await?)
}

/// One line a person reads after a scan.
pub fn summary(inventory: &Inventory) -> String {
    let calls = inventory.stats.total_calls();
    let mut line = format!(
        "scanned {} resources in {} region(s) of account {} with {calls} API calls in {:.1} s",
        inventory.resources.len(),
        inventory.regions.len(),
        inventory.account_id,
        inventory.stats.duration_ms as f64 / 1000.0
    );
    if let Some(unit) = inventory.stats.longest_unit() {
        line.push_str(&format!(" (longest unit: {unit})"));
    }
    if inventory.is_partial() {
        line.push_str(&format!(
            "; PARTIAL: {} part(s) could not be read (see `errors` in the inventory)",
            inventory.errors.len()
        ));
    }
    line
}
