//! Sharded runs: a run over several accounts cut into (account, region) shards, each scanned
//! and checked on its own (the deployed state machine's Distributed Map runs one shard per
//! item), then joined again per account for its report.
//!
//! ```text
//! <run>/shards.json                          the plan: every shard of the run
//! <run>/<account>/<region>/inventory.json    a shard's scan (region `global`: IAM and the
//!                                            account's S3 public access block)
//! <run>/<account>/<region>/findings.json     the shard's check
//! <run>/<account>/<region>/unreached.json    why the shard's account could not be read
//! ```
//!
//! A shard that left no checked inventory is never silently absent: its account's joined
//! inventory carries an error for every service of its region (service `*`), so the report is
//! partial there and a past finding in that region is unknown, not resolved.

use crate::error::PipelineError;
use crate::report::put_json;
use crate::store::Store;
use chrono::{DateTime, Utc};
use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Deadline, ScanObserver};
use infraqa_core::check::CheckResult;
use infraqa_core::document::{self, DocumentError};
use infraqa_core::inventory::EVERY_SERVICE;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::names::{FINDINGS, INVENTORY, PLAN, UNREACHED};
use infraqa_core::{Inventory, Policy, ScanError};
use serde::{Deserialize, Serialize};

/// One shard: the global services (`region` is `global`) or one region of one account, in
/// one run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// The run (its folder under `runs/`).
    pub run_id: String,
    /// The account id.
    pub account: String,
    /// The region, or `global`.
    pub region: String,
    /// For an account's global shard: the regions of its account's other shards. The global
    /// shard reads the account's buckets that those shards do not (outside these regions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_regions: Option<Vec<String>>,
    /// For a global shard when the run covers every enabled region, as enabled where the plan
    /// was made (another account): the shard names each region enabled in its own account
    /// that the plan left out, so that region is reported as not read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub every_enabled: bool,
}

impl Shard {
    /// Whether the shard names a run, an account and a region that are what they claim (and
    /// so safe as folder names); the error names the field.
    pub fn validate(&self) -> Result<(), PipelineError> {
        let bad = |field: &str, value: &str, want: &str| {
            Err(PipelineError::input(format!(
                "shard {field} `{value}` is not {want}"
            )))
        };
        if !self.run_id.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !self
                .run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return bad(
                "run_id",
                &self.run_id,
                "a run id (a letter or digit, then letters, digits, `.-_`)",
            );
        }
        if self.account.len() != 12 || !self.account.chars().all(|c| c.is_ascii_digit()) {
            return bad("account", &self.account, "a 12-digit account id");
        }
        let region_shape = self.region.split('-').count() >= 3
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if self.region != GLOBAL_REGION && !region_shape {
            return bad("region", &self.region, "a region name or `global`");
        }
        Ok(())
    }

    /// The shard's folder in `runs` (the folder of every run).
    pub fn store(&self, runs: &Store) -> Store {
        runs.child(&self.run_id)
            .child(&self.account)
            .child(&self.region)
    }

    /// `123456789012/eu-west-1`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// The shards of the run `run_id` over `accounts` and `regions`: for each account its global
/// services, then each region; each global shard carries the regions
/// ([`Shard::planned_regions`]). With `every_enabled`, `regions` are those enabled where the
/// plan was made (see [`Shard::every_enabled`]).
pub fn plan(
    run_id: &str,
    accounts: &[String],
    regions: &[String],
    every_enabled: bool,
) -> Vec<Shard> {
    accounts
        .iter()
        .flat_map(|account| {
            std::iter::once(GLOBAL_REGION)
                .chain(regions.iter().map(String::as_str))
                .map(|region| Shard {
                    run_id: run_id.to_owned(),
                    account: account.clone(),
                    region: region.to_owned(),
                    planned_regions: (region == GLOBAL_REGION).then(|| regions.to_vec()),
                    every_enabled: every_enabled && region == GLOBAL_REGION,
                })
        })
        .collect()
}

/// Writes `plan` as the run's `shards.json` (a JSON array, as the Distributed Map's item
/// reader reads it); returns where it went.
pub async fn write_plan(run: &Store, plan: &[Shard]) -> Result<String, PipelineError> {
    put_json(run, PLAN, &plan).await
}

/// The run's plan.
pub async fn read_plan(run: &Store) -> Result<Vec<Shard>, PipelineError> {
    let bytes = run.get(PLAN).await?.ok_or_else(|| {
        PipelineError::input(format!(
            "{} does not exist: the run was not planned",
            run.describe(PLAN)
        ))
    })?;
    let plan: Vec<Shard> = serde_json::from_slice(&bytes).map_err(|e| {
        PipelineError::input_because(format!("{} is not a shard plan", run.describe(PLAN)), e)
    })?;
    for shard in &plan {
        shard.validate()?;
    }
    Ok(plan)
}

/// What a shard's scan or check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardOutcome {
    /// Read: resources found (scan) or findings (check), and reads that failed.
    Read {
        /// Resources or findings.
        count: usize,
        /// Reads that failed.
        errors: usize,
    },
    /// Its account could not be reached (or read at all): `unreached.json` says why.
    Unreached,
}

/// Scans the shard `region` of the account `reached` acts in (or records why it could not be
/// reached) into `store`: `inventory.json`, or `unreached.json` with the failed call. A scan
/// that cannot even read which account it is in counts as not reached. A global shard reads
/// the account's buckets outside its [`Shard::planned_regions`]; with
/// [`Shard::every_enabled`], each region enabled in the account but not planned is an error of
/// every service in that region.
pub async fn scan_into(
    store: &Store,
    reached: Result<AwsClients, ScanError>,
    shard: &Shard,
    policy: &Policy,
    observer: &dyn ScanObserver,
    deadline: Option<Deadline>,
) -> Result<ShardOutcome, PipelineError> {
    let scanned = match reached {
        Err(e) => Err(e),
        Ok(clients) => {
            let region = shard.region.as_str();
            let planned = shard.planned_regions.as_deref().unwrap_or_default();
            let scanned = infraqa_aws::scan::scan_shard(
                &clients, region, planned, policy, observer, deadline,
            )
            .await
            .map_err(|e| e.record(region));
            match scanned {
                Ok(mut inventory) if shard.every_enabled => {
                    inventory
                        .errors
                        .extend(unplanned_regions(&clients, planned).await);
                    Ok(inventory)
                }
                scanned => scanned,
            }
        }
    };
    match scanned {
        Err(error) => {
            put_json(store, UNREACHED, &error).await?;
            Ok(ShardOutcome::Unreached)
        }
        Ok(inventory) => {
            put_json(store, INVENTORY, &inventory).await?;
            Ok(ShardOutcome::Read {
                count: inventory.resources.len(),
                errors: inventory.errors.len(),
            })
        }
    }
}

/// An error for each region enabled in the account `clients` act in that `planned` leaves out
/// (or for the listing itself, when it fails: which regions were left out is then unknown).
async fn unplanned_regions(clients: &AwsClients, planned: &[String]) -> Vec<ScanError> {
    let enabled = match clients.require_home_region() {
        Ok(home) => infraqa_aws::scan::enabled_regions(clients, home).await,
        Err(e) => Err(e),
    };
    match enabled {
        Err(e) => vec![e.record(GLOBAL_REGION)],
        Ok(enabled) => enabled
            .into_iter()
            .filter(|r| !planned.contains(r))
            .map(|r| ScanError {
                service: EVERY_SERVICE.to_owned(),
                operation: "DescribeRegions".to_owned(),
                code: "NotPlanned".to_owned(),
                message: format!(
                    "region {r} is enabled in this account but not where the run was planned: \
                     nothing of it was read (name it in [scan] regions to scan it)"
                ),
                region: r,
            })
            .collect(),
    }
}

/// Checks the shard scanned into `store` as of `now` into its `findings.json`; a shard whose
/// account was not reached has nothing to check.
pub async fn check_into(
    store: &Store,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<ShardOutcome, PipelineError> {
    if store.exists(UNREACHED).await? {
        return Ok(ShardOutcome::Unreached);
    }
    let checked = crate::report::check_stored(store, policy, now).await?;
    Ok(ShardOutcome::Read {
        count: checked.findings,
        errors: checked.errors,
    })
}

/// One account of a sharded run, joined.
#[derive(Debug)]
pub enum Joined {
    /// Some shard was read: the account's inventory and check, as one scan and check of the
    /// same regions would have them, with an error for each shard that was not.
    Read {
        /// The inventory.
        inventory: Inventory,
        /// The check.
        check: Box<CheckResult>,
    },
    /// No shard of the account was read: why (the first shard's reason).
    Unreached(ScanError),
}

/// Joins the shards `regions` of `account` in `run` (the run's folder), checked under
/// `policy`.
pub async fn join_account(
    run: &Store,
    account: &str,
    regions: &[String],
    policy: &Policy,
) -> Result<Joined, PipelineError> {
    let mut inventories = Vec::new();
    let mut checks = Vec::new();
    let mut missing = Vec::new();
    let mut unreached = None;
    for region in regions {
        let shard = run.child(account).child(region);
        let not_read = |code: &str, message: String| ScanError {
            region: region.clone(),
            service: EVERY_SERVICE.to_owned(),
            operation: "Shard".to_owned(),
            code: code.to_owned(),
            message,
        };
        if let Some(bytes) = shard.get(UNREACHED).await? {
            let error: ScanError = serde_json::from_slice(&bytes).map_err(|e| {
                PipelineError::input_because(
                    format!("{} is not a recorded error", shard.describe(UNREACHED)),
                    e,
                )
            })?;
            missing.push(not_read(
                &error.code,
                format!("shard {account}/{region} not read: {}", error.message),
            ));
            unreached.get_or_insert(error);
            continue;
        }
        let Some(bytes) = shard.get(INVENTORY).await? else {
            missing.push(not_read(
                "NotScanned",
                format!(
                    "shard {account}/{region} has no inventory: its scan did not finish (the \
                     state machine's execution says why)"
                ),
            ));
            continue;
        };
        let inventory = parse(&shard, INVENTORY, "inventory", &bytes, document::inventory)?;
        drop(bytes);
        let check = match shard.get(FINDINGS).await? {
            None => None,
            Some(bytes) => Some(parse(
                &shard,
                FINDINGS,
                "findings file",
                &bytes,
                document::findings,
            )?),
        };
        match check.map(|c| {
            let fits = c.belongs_to(account, inventory.generated_at, policy);
            (c, fits)
        }) {
            Some((check, Ok(()))) => {
                inventories.push(inventory);
                checks.push(check);
            }
            Some((_, Err(mismatch))) => missing.push(not_read(
                "NotChecked",
                format!("shard {account}/{region} not checked: {mismatch}"),
            )),
            None => missing.push(not_read(
                "NotChecked",
                format!("shard {account}/{region} was scanned but not checked"),
            )),
        }
    }
    let Some(first) = inventories.first_mut() else {
        let error = unreached
            .or_else(|| missing.first().cloned())
            .unwrap_or(ScanError {
                region: GLOBAL_REGION.to_owned(),
                service: EVERY_SERVICE.to_owned(),
                operation: "Shard".to_owned(),
                code: "NotPlanned".to_owned(),
                message: format!("account {account} has no shard in the run"),
            });
        return Ok(Joined::Unreached(error));
    };
    first.errors.extend(missing);
    // `merge` has a part: the first was just matched.
    let Some(inventory) = Inventory::merge(inventories) else {
        return Err(PipelineError::input(format!(
            "account {account}: no inventory to join"
        )));
    };
    let check = infraqa_core::check::merge(checks, &inventory, policy).map_err(|e| {
        PipelineError::input_because(format!("joining the checks of account {account}"), e)
    })?;
    Ok(Joined::Read {
        inventory,
        check: Box::new(check),
    })
}

/// `bytes`, the document `name` of `store`, read with `read`.
fn parse<T>(
    store: &Store,
    name: &str,
    what: &str,
    bytes: &[u8],
    read: fn(&[u8]) -> Result<T, DocumentError>,
) -> Result<T, PipelineError> {
    read(bytes).map_err(|e| {
        PipelineError::input_because(
            format!("{} is not a usable infraqa {what}", store.describe(name)),
            e,
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_has_each_accounts_global_shard_then_its_regions() {
        let accounts = ["111111111111".to_owned(), "222222222222".to_owned()];
        let regions = ["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let shards = plan("20261203T060000.000Z", &accounts, &regions, false);
        let labels: Vec<String> = shards.iter().map(Shard::label).collect();
        assert_eq!(
            labels,
            [
                "111111111111/global",
                "111111111111/eu-west-1",
                "111111111111/us-east-1",
                "222222222222/global",
                "222222222222/eu-west-1",
                "222222222222/us-east-1",
            ]
        );
        // The global shards carry the plan's regions (they read the buckets elsewhere).
        for s in &shards {
            s.validate().unwrap();
            let carried = s.planned_regions.as_deref();
            let expected = (s.region == GLOBAL_REGION).then_some(&regions[..]);
            assert_eq!(carried, expected, "{}", s.label());
            assert!(!s.every_enabled);
        }
        // Over every enabled region, the global shards also name what the plan left out.
        let every = plan("20261203T060000.000Z", &accounts, &regions, true);
        for s in &every {
            assert_eq!(s.every_enabled, s.region == GLOBAL_REGION, "{}", s.label());
        }
    }

    #[test]
    fn a_shard_that_could_escape_its_folder_is_refused_naming_the_field() {
        let good = Shard {
            run_id: "20261203T060000.000Z".into(),
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            planned_regions: None,
            every_enabled: false,
        };
        good.validate().unwrap();
        for (bad, field) in [
            (
                Shard {
                    run_id: "../history".into(),
                    ..good.clone()
                },
                "run_id",
            ),
            (
                Shard {
                    run_id: "..".into(),
                    ..good.clone()
                },
                "run_id",
            ),
            (
                Shard {
                    account: "1111/../2222".into(),
                    ..good.clone()
                },
                "account",
            ),
            (
                Shard {
                    region: "eu-west-1/..".into(),
                    ..good.clone()
                },
                "region",
            ),
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains(&format!("shard {field}")), "{e}");
        }
    }
}
