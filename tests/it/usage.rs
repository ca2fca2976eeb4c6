//! Usage from CloudWatch against the emulator: planted datapoints give the idle, busy and
//! not-enough-data verdicts with their savings; metrics are read in calls of 500 queries; a
//! denied read leaves usage not evaluated, never idle.

use crate::fresh_account;
use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::Inventory;
use infraqa_core::lifecycle::{Lifecycle, assess};
use infraqa_core::policy::{LifecyclePolicy, RegionScope};
use infraqa_core::prices::PriceTable;
use infraqa_core::{Policy, ResourceType};
use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_tests::seed::{
    BenchEstate, PRIMARY_REGION, SECONDARY_REGION, seed_bench_estate, seed_demo_estate,
};
use std::collections::BTreeMap;

fn metric_calls(inv: &Inventory) -> u64 {
    inv.stats
        .api_calls
        .get("cloudwatch")
        .and_then(|ops| ops.get("GetMetricData"))
        .copied()
        .unwrap_or(0)
}

/// Each metered resource's verdict by ARN: a cleanup kind, `not-enough-data`, `not-evaluated`
/// or `busy`.
fn verdicts(inv: &Inventory, l: &Lifecycle) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = inv
        .resources
        .iter()
        .filter(|r| r.usage.is_some())
        .map(|r| (r.arn.clone(), "busy".to_owned()))
        .collect();
    for c in &l.cleanup {
        out.insert(c.resource_arn.clone(), c.kind.as_str().to_owned());
    }
    for g in &l.not_enough_data {
        out.insert(g.resource_arn.clone(), "not-enough-data".to_owned());
    }
    for g in &l.not_evaluated {
        out.insert(g.resource_arn.clone(), "not-evaluated".to_owned());
    }
    out
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn planted_usage_gives_idle_busy_and_not_enough_data_with_savings() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let estate = seed_demo_estate(&clients).await.unwrap();
    let scope = RegionScope::List(vec![PRIMARY_REGION.into(), SECONDARY_REGION.into()]);
    let policy = Policy::from_toml(&estate.policy_toml(), "demo-policy.toml").unwrap();
    let inv = scan(&clients, &scope, &policy, &Quiet).await.unwrap();
    assert!(inv.errors.is_empty(), "{:#?}", inv.errors);
    let l = assess(&inv, &policy.lifecycle, PriceTable::embedded());
    let got = verdicts(&inv, &l);

    let arn_of = |id: &str| {
        inv.resources
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.arn.clone())
            .unwrap_or_else(|| panic!("{id} not inventoried"))
    };
    for planted in &estate.usage {
        let arn = arn_of(&planted.id);
        assert_eq!(
            got.get(&arn).map(String::as_str),
            Some(planted.verdict),
            "{} ({})",
            planted.name,
            planted.id
        );
        if let Some(saving) = planted.saving {
            let c = l.cleanup.iter().find(|c| c.resource_arn == arn).unwrap();
            assert_eq!(
                c.estimated_monthly_saving_usd,
                Some(saving),
                "{}",
                planted.name
            );
        }
    }
    // Nothing else is called idle: every cleanup is a planted one.
    let planted_cleanup = estate.usage.iter().filter(|u| u.saving.is_some()).count();
    assert_eq!(l.cleanup.len(), planted_cleanup, "{:#?}", l.cleanup);
    let idle = l
        .cleanup
        .iter()
        .find(|c| c.kind.as_str() == "idle-instance")
        .unwrap();
    assert!(
        idle.command.contains("aws ec2 stop-instances"),
        "{}",
        idle.command
    );
    assert_eq!(
        l.estimated_monthly_saving_usd,
        infraqa_core::round2(estate.usage.iter().filter_map(|u| u.saving).sum())
    );
    // Every metered resource of the estate was measured over the same 14 whole days, the two
    // regions in one call each.
    let measured: Vec<_> = inv
        .resources
        .iter()
        .filter_map(|r| r.usage.as_deref())
        .collect();
    assert_eq!(measured.len(), got.len());
    assert!(
        measured
            .iter()
            .all(|u| u.read().is_some_and(|u| u.days() == 14))
    );
    assert_eq!(metric_calls(&inv), 2);
    assert!(
        inv.stats
            .units
            .iter()
            .any(|u| u.service == "cloudwatch" && u.region == SECONDARY_REGION)
    );
}

async fn instances(clients: &AwsClients, n: usize) {
    seed_bench_estate(
        clients,
        &[PRIMARY_REGION],
        BenchEstate {
            instances: n,
            buckets: 0,
            roles: 0,
        },
        "usage",
    )
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn usage_is_read_500_queries_a_call_and_not_at_all_when_switched_off() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    instances(&clients, 130).await;
    let scope = RegionScope::List(vec![PRIMARY_REGION.into()]);
    let only_instances = LifecyclePolicy {
        usage_types: vec![ResourceType::Ec2Instance],
        ..LifecyclePolicy::default()
    };
    let inv = scan(&clients, &scope, &with(only_instances.clone()), &Quiet)
        .await
        .unwrap();
    assert!(inv.errors.is_empty(), "{:#?}", inv.errors);
    let measured = inv.resources.iter().filter(|r| r.usage.is_some()).count();
    assert_eq!(measured, 130);
    // 4 queries per instance: 125 fill a call, 5 more need a second.
    assert_eq!(metric_calls(&inv), 2);
    let l = assess(&inv, &only_instances, PriceTable::embedded());
    assert_eq!(
        l.usage["ec2:instance"].not_enough_data, 130,
        "no datapoints planted"
    );
    assert!(l.cleanup.is_empty());

    let off = LifecyclePolicy {
        usage_types: vec![],
        ..LifecyclePolicy::default()
    };
    let inv = scan(&clients, &scope, &with(off.clone()), &Quiet)
        .await
        .unwrap();
    assert_eq!(metric_calls(&inv), 0);
    assert!(inv.resources.iter().all(|r| r.usage.is_none()));
    assert!(assess(&inv, &off, PriceTable::embedded()).usage.is_empty());
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn denied_metrics_leave_usage_not_evaluated_never_idle() {
    let (emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    instances(&clients, 3).await;
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![Fault::on("GetMetricData", FaultAction::AccessDenied)],
    )
    .await
    .unwrap();
    let mut options = account.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    let denied = AwsClients::load(options).await;
    let scope = RegionScope::List(vec![PRIMARY_REGION.into()]);
    let policy = LifecyclePolicy::default();
    let inv = scan(&denied, &scope, &with(policy.clone()), &Quiet)
        .await
        .unwrap();
    let failed: Vec<_> = inv
        .errors
        .iter()
        .filter(|e| e.service == "cloudwatch")
        .collect();
    assert_eq!(failed.len(), 1, "{:#?}", inv.errors);
    assert_eq!(failed[0].code, "AccessDenied");
    assert!(inv.is_partial(), "a run without usage says so");
    let l = assess(&inv, &policy, PriceTable::embedded());
    let instances = &l.usage["ec2:instance"];
    assert_eq!((instances.measured, instances.not_evaluated), (3, 3));
    assert!(l.cleanup.is_empty());
    assert!(
        l.not_evaluated
            .iter()
            .all(|g| g.reason.contains("GetMetricData failed: AccessDenied")),
        "{:#?}",
        l.not_evaluated
    );
}

/// The default policy reading usage as `lifecycle` says.
fn with(lifecycle: LifecyclePolicy) -> infraqa_core::Policy {
    infraqa_core::Policy {
        lifecycle,
        ..infraqa_core::Policy::default()
    }
}
