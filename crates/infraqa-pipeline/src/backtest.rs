//! `infraqa backtest`: a policy re-evaluated over the inventories the history store keeps
//! (one per run, gzip-compressed beside the run's history entry).

use crate::error::PipelineError;
use crate::store::Store;
use infraqa_core::backtest::{BacktestRun, rerun, rules_under_test};
use infraqa_core::history::FindingKey;
use infraqa_core::names::{KEPT_INVENTORY_SUFFIX, entry_name_of};
use infraqa_core::{Inventory, Policy, RuleId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// A backtest over a history store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    /// The rules looked at.
    pub rules: Vec<RuleId>,
    /// Every run with a kept inventory, oldest first.
    pub runs: Vec<BacktestRun>,
    /// History entries without a kept inventory (runs from before inventories were kept):
    /// left out.
    pub runs_without_inventory: usize,
    /// Kept inventories that could not be read, each with why: left out.
    pub problems: Vec<String>,
}

/// Re-evaluates `policy` (the rule `only`, or all its rules) over every kept inventory in
/// `history`, one at a time, oldest first.
pub async fn backtest(
    history: &Store,
    policy: &Policy,
    only: Option<RuleId>,
) -> Result<Backtest, PipelineError> {
    let rules = rules_under_test(policy, only).ok_or_else(|| {
        PipelineError::input(format!(
            "the policy does not run rule `{}` (not declared, or switched off)",
            only.map_or("", RuleId::as_str)
        ))
    })?;
    let kept = history.names(KEPT_INVENTORY_SUFFIX).await?;
    let entries: BTreeSet<String> = history.names(".json").await?.into_iter().collect();
    let kept_stems: BTreeSet<&str> = kept
        .iter()
        .filter_map(|k| k.strip_suffix(KEPT_INVENTORY_SUFFIX))
        .collect();
    let mut out = Backtest {
        rules: rules.iter().copied().collect(),
        runs: Vec::new(),
        runs_without_inventory: entries
            .iter()
            .filter(|e| !kept_stems.contains(e.strip_suffix(".json").unwrap_or(e)))
            .count(),
        problems: Vec::new(),
    };
    let mut previous: BTreeMap<String, BTreeSet<FindingKey>> = BTreeMap::new();
    for name in kept {
        let inventory = match read_kept(history, &name).await? {
            Ok(inv) => inv,
            Err(problem) => {
                out.problems.push(problem);
                continue;
            }
        };
        let entry_name = entry_name_of(&inventory);
        let recorded = if entries.contains(&entry_name) {
            history
                .get(&entry_name)
                .await?
                .and_then(|b| infraqa_core::document::history_entry(&b).ok())
        } else {
            None
        };
        let (run, keys) = rerun(
            &inventory,
            policy,
            &rules,
            recorded.as_ref(),
            previous.get(&inventory.account_id),
        );
        previous.insert(inventory.account_id.clone(), keys);
        out.runs.push(run);
    }
    Ok(out)
}

/// Reads and parses one kept inventory: `Err` names what is wrong with it.
async fn read_kept(
    history: &Store,
    name: &str,
) -> Result<Result<Inventory, String>, PipelineError> {
    let Some(bytes) = history.get(name).await? else {
        return Ok(Err(format!(
            "{} vanished while read",
            history.describe(name)
        )));
    };
    let mut json = Vec::new();
    if let Err(e) = flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut json) {
        return Ok(Err(format!("{} is not gzip: {e}", history.describe(name))));
    }
    Ok(infraqa_core::document::inventory(&json)
        .map_err(|e| format!("{} is not a usable inventory: {e}", history.describe(name))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;
    use chrono::TimeZone;
    use infraqa_core::synthetic;

    const RULE: &str = r#"
[[custom_rules]]
id = "gp3-volumes"
applies_to = ["ec2:volume"]
condition = "resource.details.volume_type == 'gp3'"
message = "is not gp3"
remediation = "aws ec2 modify-volume --volume-type gp3"
"#;

    fn aws() -> crate::Aws {
        crate::Aws::new(infraqa_aws::AwsOptions::default())
    }

    #[tokio::test]
    async fn kept_inventories_are_rerun_oldest_first_and_damaged_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let aws = aws();
        let history = Store::new(Location::Local(dir.path().to_path_buf()), &aws);
        let at = |d| chrono::Utc.with_ymd_and_hms(2026, 11, d, 6, 0, 0).unwrap();
        // Stored newest first: the backtest orders them.
        for (d, n) in [(3, 90), (2, 30)] {
            let inventory = synthetic::inventory(n, at(d));
            crate::history::keep_inventory(
                &history,
                &infraqa_core::names::kept_inventory_of(&inventory),
                crate::history::compress(&inventory).unwrap(),
            )
            .await
            .unwrap();
        }
        // A run from before inventories were kept, and a damaged inventory.
        std::fs::write(
            dir.path().join("20261101T000000.000Z-123456789012.json"),
            b"{}",
        )
        .unwrap();
        std::fs::write(
            dir.path()
                .join("20261102T000000.000Z-123456789012.inventory.json.gz"),
            b"not gzip",
        )
        .unwrap();

        let policy = Policy::from_toml(&format!("{}{RULE}", synthetic::POLICY), "p.toml").unwrap();
        let rule: RuleId = "gp3-volumes".parse().unwrap();
        let b = backtest(&history, &policy, Some(rule)).await.unwrap();
        assert_eq!(b.rules, [rule]);
        assert_eq!(b.runs.len(), 2);
        assert_eq!(b.runs[0].inventory_generated_at, at(2));
        assert_eq!(b.runs[1].inventory_generated_at, at(3));
        assert!(b.runs[1].findings > b.runs[0].findings);
        assert_eq!(b.runs[1].new, Some(b.runs[1].findings - b.runs[0].findings));
        assert_eq!(b.runs_without_inventory, 1);
        assert_eq!(b.problems.len(), 1);
        assert!(b.problems[0].contains("is not gzip"), "{:?}", b.problems);

        let missing: RuleId = "not-declared".parse().unwrap();
        let err = backtest(&history, &policy, Some(missing))
            .await
            .unwrap_err();
        assert!(
            err.is_input() && err.to_string().contains("not-declared"),
            "{err}"
        );
    }
}
