//! An account's shards joined over a local store: every shard read gives what one check of
//! the whole inventory gives; a shard that left no checked inventory makes the account
//! partial in that region (never a pass); an account none of whose shards was read is
//! unreached, with the recorded reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use infraqa_core::check::check;
use infraqa_core::inventory::EVERY_SERVICE;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::names::{FINDINGS, INVENTORY, UNREACHED};
use infraqa_core::{Inventory, Policy, ScanError};
use infraqa_pipeline::report::put_json;
use infraqa_pipeline::shards::{Joined, join_account};
use infraqa_pipeline::{Aws, Location, Store};
use std::collections::BTreeSet;

const ACCOUNT: &str = "123456789012";

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 6, minute, 0)
        .single()
        .unwrap()
}

fn policy() -> Policy {
    Policy::from_toml(infraqa_core::synthetic::POLICY, "bench.toml").unwrap()
}

/// The synthetic estate and its shards: the global resources, then each region's, each
/// taken a minute after the one before.
fn estate() -> (Inventory, Vec<(String, Inventory)>) {
    let whole = infraqa_core::synthetic::inventory(400, at(0));
    let mut shards = Vec::new();
    let names = std::iter::once(GLOBAL_REGION.to_owned()).chain(whole.regions.iter().cloned());
    for (n, region) in names.enumerate() {
        let mut part = whole.clone();
        part.generated_at = at(u32::try_from(n).unwrap());
        part.regions = if region == GLOBAL_REGION {
            vec![]
        } else {
            vec![region.clone()]
        };
        part.resources.retain(|r| r.region == region);
        part.errors.retain(|e| e.region == region);
        shards.push((region, part));
    }
    (whole, shards)
}

/// Writes each shard's inventory, and its findings unless `unchecked` names it.
async fn write(run: &Store, shards: &[(String, Inventory)], unchecked: Option<&str>) {
    for (region, part) in shards {
        let store = run.child(ACCOUNT).child(region);
        put_json(&store, INVENTORY, part).await.unwrap();
        if unchecked != Some(region.as_str()) {
            put_json(&store, FINDINGS, &check(part, &policy(), at(30)))
                .await
                .unwrap();
        }
    }
}

fn keys(findings: &[infraqa_core::Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| format!("{} {} {}", f.rule_id, f.region, f.resource_arn))
        .collect()
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::new(
        Location::Local(dir.path().to_path_buf()),
        &Aws::new(Default::default()),
    )
}

fn regions(shards: &[(String, Inventory)]) -> Vec<String> {
    shards.iter().map(|(r, _)| r.clone()).collect()
}

#[tokio::test]
async fn every_shard_joined_finds_what_one_check_of_the_whole_finds() {
    let dir = tempfile::tempdir().unwrap();
    let run = store(&dir);
    let (whole, shards) = estate();
    write(&run, &shards, None).await;
    let Joined::Read {
        inventory,
        check: joined,
    } = join_account(&run, ACCOUNT, &regions(&shards), &policy())
        .await
        .unwrap()
    else {
        panic!("every shard was written");
    };
    assert_eq!(inventory.resources.len(), whole.resources.len());
    assert_eq!(inventory.regions.len(), whole.regions.len());
    assert_eq!(
        inventory.generated_at,
        at(3),
        "taken when its last shard was"
    );
    let one = check(&whole, &policy(), at(30));
    assert!(!one.findings.is_empty());
    assert_eq!(keys(&joined.findings), keys(&one.findings));
    assert_eq!(joined.findings.len(), one.findings.len());
    assert_eq!(joined.not_evaluated.len(), one.not_evaluated.len());
    assert_eq!(joined.orphans.len(), one.orphans.len());
    assert_eq!(joined.partial, one.partial);
    joined
        .belongs_to(ACCOUNT, inventory.generated_at, &policy())
        .unwrap();
}

#[tokio::test]
async fn a_shard_not_checked_leaves_its_region_unknown_not_passing() {
    let dir = tempfile::tempdir().unwrap();
    let run = store(&dir);
    let (whole, shards) = estate();
    let lost = "eu-west-1";
    write(&run, &shards, Some(lost)).await;
    let Joined::Read { inventory, check } =
        join_account(&run, ACCOUNT, &regions(&shards), &policy())
            .await
            .unwrap()
    else {
        panic!("three shards were read");
    };
    assert!(inventory.resources.iter().all(|r| r.region != lost));
    let error = inventory
        .errors
        .iter()
        .find(|e| e.service == EVERY_SERVICE)
        .expect("the lost shard is named");
    assert_eq!(
        (error.region.as_str(), error.code.as_str()),
        (lost, "NotChecked")
    );
    assert!(check.partial);
    assert!(check.errors.contains(error));
    assert!(check.findings.iter().all(|f| f.region != lost));
    // Anything of the region may have been missed: a past finding there is unknown.
    let gaps = inventory.gaps();
    for r in whole.resources.iter().filter(|r| r.region == lost) {
        assert!(gaps.may_have_missed(&r.arn), "{}", r.arn);
    }
    assert!(inventory.could_not_read(lost, "ec2"));
}

#[tokio::test]
async fn an_account_whose_every_shard_was_unreached_is_unreached_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let run = store(&dir);
    let denied = ScanError {
        region: GLOBAL_REGION.into(),
        service: "sts".into(),
        operation: "AssumeRole".into(),
        code: "AccessDenied".into(),
        message: "arn:aws:iam::123456789012:role/infraqa-member: not authorized".into(),
    };
    let shard_regions = vec![GLOBAL_REGION.to_owned(), "us-east-1".to_owned()];
    for region in &shard_regions {
        put_json(&run.child(ACCOUNT).child(region), UNREACHED, &denied)
            .await
            .unwrap();
    }
    match join_account(&run, ACCOUNT, &shard_regions, &policy())
        .await
        .unwrap()
    {
        Joined::Unreached(e) => assert_eq!(e, denied),
        Joined::Read { .. } => panic!("nothing was read"),
    }
    // A shard that never wrote anything is named too, as not scanned.
    let empty = tempfile::tempdir().unwrap();
    match join_account(&store(&empty), ACCOUNT, &shard_regions, &policy())
        .await
        .unwrap()
    {
        Joined::Unreached(e) => {
            assert_eq!(
                (e.service.as_str(), e.code.as_str()),
                (EVERY_SERVICE, "NotScanned")
            );
        }
        Joined::Read { .. } => panic!("nothing was written"),
    }
}
