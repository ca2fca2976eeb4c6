use super::*;
use crate::model::{
    Ec2Instance, Ec2Volume, InstanceState, LambdaFunction, NatGateway, RdsDb, ResourceDetails,
};
use crate::rules::testkit::{inventory, now, policy, resource, scan_error};
use crate::usage::{MetricUsage, metrics_for, window};

/// Usage whose every metric has `days` daily values, the metric's value taken from `values`
/// by (metric, statistic) and 0 for the rest.
fn usage(t: &ResourceType, days: usize, values: &[(&str, Statistic, f64)]) -> Usage {
    let (start, end) = window(now(), 14);
    Usage {
        start,
        end,
        metrics: metrics_for(t)
            .iter()
            .map(|spec| {
                let v = values
                    .iter()
                    .find(|(m, s, _)| *m == spec.metric && *s == spec.statistic)
                    .map_or(0.0, |(_, _, v)| *v);
                MetricUsage::of(spec, &vec![v; days])
            })
            .collect(),
    }
}

fn with_usage(mut r: Resource, u: Observed<Usage>) -> Resource {
    r.usage = Some(Box::new(u));
    r
}

fn instance(instance_type: &str) -> Resource {
    let mut r = resource(
        ResourceType::Ec2Instance,
        "i-1",
        "us-east-1",
        &[],
        ResourceDetails::Ec2Instance(Box::new(Ec2Instance {
            instance_type: instance_type.into(),
            state: InstanceState::Running,
            image_id: "ami-1".into(),
            image_owner_id: Observed::Read(None),
            state_transition_reason: None,
            vpc_id: None,
            security_group_ids: vec![],
            network_interface_ids: vec![],
            created_at_source: None,
            metadata: None,
            role: None,
        })),
    );
    r.created_at = Some(now() - chrono::Duration::days(400));
    r
}

fn database(class: &str) -> Resource {
    resource(
        ResourceType::RdsDb,
        "orders",
        "us-east-1",
        &[],
        ResourceDetails::RdsDb(RdsDb {
            engine: "postgres".into(),
            instance_class: class.into(),
            storage_encrypted: true,
            publicly_accessible: false,
            cloudwatch_logs_exports: vec![],
            status: "available".into(),
            auto_minor_version_upgrade: None,
        }),
    )
}

fn function(days_since_change: i64) -> Resource {
    resource(
        ResourceType::LambdaFunction,
        "fn",
        "us-east-1",
        &[],
        ResourceDetails::LambdaFunction(LambdaFunction {
            runtime: None,
            role: "r".into(),
            last_modified: Some(now() - chrono::Duration::days(days_since_change)),
            log_group: "/aws/lambda/fn".into(),
            log_group_exists: Observed::Read(true),
        }),
    )
}

fn nat() -> Resource {
    resource(
        ResourceType::Ec2NatGateway,
        "nat-1",
        "us-east-1",
        &[],
        ResourceDetails::Ec2NatGateway(NatGateway {
            state: "available".into(),
            vpc_id: None,
        }),
    )
}

fn volume() -> Resource {
    resource(
        ResourceType::Ec2Volume,
        "vol-1",
        "us-east-1",
        &[],
        ResourceDetails::Ec2Volume(Ec2Volume {
            volume_type: "gp3".into(),
            size_gib: 100,
            state: "in-use".into(),
            encrypted: true,
            attached_instance_ids: vec!["i-1".into()],
        }),
    )
}

const CPU: &str = "CPUUtilization";
use Statistic::{Average, Maximum, Sum};

/// The verdict on one resource: the cleanup kind, or `busy`, `not-enough-data`,
/// `not-evaluated`, `unmeasured`.
fn verdict(r: Resource, toml: &str) -> (String, Option<Cleanup>) {
    let l = assess(
        &inventory(vec![r]),
        &policy(toml).lifecycle,
        PriceTable::embedded(),
    );
    let c = l.usage.values().next().cloned().unwrap_or_default();
    let label = if let Some(first) = l.cleanup.first() {
        first.kind.as_str().to_owned()
    } else if c.busy == 1 {
        "busy".into()
    } else if c.not_enough_data == 1 {
        "not-enough-data".into()
    } else if c.not_evaluated == 1 {
        "not-evaluated".into()
    } else {
        "unmeasured".into()
    };
    (label, l.cleanup.into_iter().next())
}

#[test]
fn instance_thresholds_hold_at_their_boundaries() {
    let t = ResourceType::Ec2Instance;
    let busy_peak = (CPU, Maximum, 90.0);
    let cases: Vec<(&str, usize, Vec<(&str, Statistic, f64)>, &str, &str)> = vec![
        (
            "quiet",
            14,
            vec![(CPU, Average, 2.0), busy_peak],
            "",
            "idle-instance",
        ),
        (
            "CPU at the threshold is idle",
            14,
            vec![(CPU, Average, 10.0), busy_peak],
            "",
            "idle-instance",
        ),
        (
            "CPU just above is not",
            14,
            vec![(CPU, Average, 10.01), busy_peak],
            "",
            "busy",
        ),
        (
            "network 5 MB a day in total is idle",
            14,
            vec![
                (CPU, Average, 1.0),
                ("NetworkIn", Sum, 2_500_000.0),
                ("NetworkOut", Sum, 2_500_000.0),
                busy_peak,
            ],
            "",
            "idle-instance",
        ),
        (
            "one byte more is not",
            14,
            vec![
                (CPU, Average, 1.0),
                ("NetworkIn", Sum, 2_500_001.0),
                ("NetworkOut", Sum, 2_500_000.0),
                busy_peak,
            ],
            "",
            "busy",
        ),
        (
            "a policy threshold moves the line",
            14,
            vec![(CPU, Average, 15.0), busy_peak],
            "[lifecycle]\nidle_cpu_percent = 20",
            "idle-instance",
        ),
        (
            "seven days of data suffice",
            7,
            vec![(CPU, Average, 1.0)],
            "",
            "idle-instance",
        ),
        (
            "six do not",
            6,
            vec![(CPU, Average, 1.0)],
            "",
            "not-enough-data",
        ),
        (
            "peak 40% with a smaller size priced: oversized",
            14,
            vec![(CPU, Average, 25.0), (CPU, Maximum, 40.0)],
            "",
            "oversized-instance",
        ),
        (
            "peak above 40% is busy",
            14,
            vec![(CPU, Average, 25.0), (CPU, Maximum, 40.5)],
            "",
            "busy",
        ),
    ];
    for (name, days, values, toml, want) in cases {
        let r = with_usage(
            instance("m5.xlarge"),
            Observed::Read(usage(&t, days, &values)),
        );
        assert_eq!(verdict(r, toml).0, want, "{name}");
    }
}

#[test]
fn idle_and_oversized_instances_name_action_size_and_saving() {
    let t = ResourceType::Ec2Instance;
    let idle = verdict(
        with_usage(
            instance("m5.xlarge"),
            Observed::Read(usage(&t, 14, &[(CPU, Average, 1.5), (CPU, Maximum, 60.0)])),
        ),
        "",
    )
    .1
    .unwrap();
    assert_eq!(idle.action, CleanupAction::Stop);
    assert_eq!(
        idle.estimated_monthly_saving_usd,
        Some(140.16),
        "0.192 x 730"
    );
    assert!(
        idle.command
            .contains("aws ec2 stop-instances --region us-east-1 --instance-ids i-1")
    );
    assert_eq!((idle.age_days, idle.old), (Some(400), true));
    assert!(idle.reason.contains("at most 1.5%"), "{}", idle.reason);

    let resize = verdict(
        with_usage(
            instance("m5.xlarge"),
            Observed::Read(usage(&t, 14, &[(CPU, Average, 20.0), (CPU, Maximum, 30.0)])),
        ),
        "",
    )
    .1
    .unwrap();
    assert_eq!(resize.resize_to.as_deref(), Some("m5.large"));
    assert_eq!(resize.estimated_monthly_saving_usd, Some(70.08));
    assert!(resize.command.contains("--instance-type m5.large"));

    // No smaller size is priced for m5.large: nothing to name, so no resize.
    let (label, _) = verdict(
        with_usage(
            instance("m5.large"),
            Observed::Read(usage(&t, 14, &[(CPU, Average, 20.0), (CPU, Maximum, 30.0)])),
        ),
        "",
    );
    assert_eq!(label, "busy");
}

#[test]
fn databases_functions_nat_gateways_and_volumes() {
    let db = ResourceType::RdsDb;
    let cases: Vec<(&str, Resource, &str, Option<f64>)> = vec![
        (
            "database without connections",
            with_usage(
                database("db.m5.large"),
                Observed::Read(usage(&db, 14, &[(CPU, Maximum, 5.0)])),
            ),
            "idle-database",
            Some(124.83),
        ),
        (
            "database with one connection a day",
            with_usage(
                database("db.m5.large"),
                Observed::Read(usage(
                    &db,
                    14,
                    &[("DatabaseConnections", Maximum, 1.0), (CPU, Maximum, 80.0)],
                )),
            ),
            "busy",
            None,
        ),
        (
            "database used lightly: one class smaller",
            with_usage(
                database("db.t3.medium"),
                Observed::Read(usage(
                    &db,
                    14,
                    &[("DatabaseConnections", Maximum, 3.0), (CPU, Maximum, 12.0)],
                )),
            ),
            "oversized-database",
            Some(24.82),
        ),
        (
            "function unchanged for a month, never invoked",
            with_usage(
                function(30),
                Observed::Read(usage(&ResourceType::LambdaFunction, 0, &[])),
            ),
            "unused-function",
            None,
        ),
        (
            "function changed last week, never invoked",
            with_usage(
                function(7),
                Observed::Read(usage(&ResourceType::LambdaFunction, 0, &[])),
            ),
            "not-enough-data",
            None,
        ),
        (
            "function invoked once",
            with_usage(
                function(30),
                Observed::Read(usage(
                    &ResourceType::LambdaFunction,
                    1,
                    &[("Invocations", Sum, 1.0)],
                )),
            ),
            "busy",
            None,
        ),
        (
            "NAT gateway at 1 MB a day",
            with_usage(
                nat(),
                Observed::Read(usage(
                    &ResourceType::Ec2NatGateway,
                    14,
                    &[("BytesOutToDestination", Sum, 1_000_000.0)],
                )),
            ),
            "idle-nat-gateway",
            Some(32.85),
        ),
        (
            "NAT gateway moving traffic",
            with_usage(
                nat(),
                Observed::Read(usage(
                    &ResourceType::Ec2NatGateway,
                    14,
                    &[("BytesOutToDestination", Sum, 5e9)],
                )),
            ),
            "busy",
            None,
        ),
        (
            "NAT gateway without datapoints",
            with_usage(
                nat(),
                Observed::Read(usage(&ResourceType::Ec2NatGateway, 0, &[])),
            ),
            "not-enough-data",
            None,
        ),
        (
            "volume without I/O",
            with_usage(
                volume(),
                Observed::Read(usage(&ResourceType::Ec2Volume, 14, &[])),
            ),
            "idle-volume",
            Some(8.0),
        ),
        (
            "volume with one write a day",
            with_usage(
                volume(),
                Observed::Read(usage(
                    &ResourceType::Ec2Volume,
                    14,
                    &[("VolumeWriteOps", Sum, 1.0)],
                )),
            ),
            "busy",
            None,
        ),
        (
            "metrics denied",
            with_usage(
                nat(),
                Observed::failed(scan_error("us-east-1", "cloudwatch", "GetMetricData")),
            ),
            "not-evaluated",
            None,
        ),
        ("usage not read", nat(), "unmeasured", None),
    ];
    for (name, r, want, saving) in cases {
        let (label, cleanup) = verdict(r, "");
        assert_eq!(label, want, "{name}");
        assert_eq!(
            cleanup.and_then(|c| c.estimated_monthly_saving_usd),
            saving,
            "{name}"
        );
    }
}

#[test]
fn cleanup_ranks_by_saving_and_ages_are_banded_per_type() {
    let t = ResourceType::Ec2Instance;
    let quiet = [(CPU, Average, 1.0), (CPU, Maximum, 90.0)];
    let mut small = with_usage(instance("t3.micro"), Observed::Read(usage(&t, 14, &quiet)));
    small.id = "i-small".into();
    small.arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-small".into();
    small.created_at = Some(now() - chrono::Duration::days(10));
    let big = with_usage(
        instance("m5.2xlarge"),
        Observed::Read(usage(&t, 14, &quiet)),
    );
    let nat = with_usage(
        nat(),
        Observed::Read(usage(&ResourceType::Ec2NatGateway, 14, &[])),
    );
    let l = assess(
        &inventory(vec![small, big, nat]),
        &policy("").lifecycle,
        PriceTable::embedded(),
    );
    let order: Vec<(&str, Option<f64>, bool)> = l
        .cleanup
        .iter()
        .map(|c| (c.kind.as_str(), c.estimated_monthly_saving_usd, c.old))
        .collect();
    assert_eq!(
        order,
        [
            ("idle-instance", Some(280.32), true),
            ("idle-nat-gateway", Some(32.85), false),
            ("idle-instance", Some(7.59), false),
        ]
    );
    assert_eq!(l.estimated_monthly_saving_usd, 320.76);
    assert_eq!(l.idle_and_old().count(), 1);
    let ages = &l.age["ec2:instance"];
    assert_eq!(ages.bands["0-30 days"], 1);
    assert_eq!(ages.bands["over 1 year"], 1);
    assert_eq!(ages.oldest.len(), 2);
    assert_eq!(ages.oldest[0].age_days, 400, "oldest first");
    assert_eq!(l.age["ec2:natgateway"].bands["unknown"], 1);
    assert_eq!(l.usage["ec2:instance"].idle, 2);
    assert_eq!(l.usage["ec2:instance"].measured, 2);
}

#[test]
fn a_resource_kept_on_purpose_is_counted_never_cleaned_up() {
    let t = ResourceType::Ec2Instance;
    let quiet = [(CPU, Average, 1.0), (CPU, Maximum, 2.0)];
    let mut standby = with_usage(instance("m5.xlarge"), Observed::Read(usage(&t, 14, &quiet)));
    standby
        .tags
        .insert("infraqa:keep", "disaster recovery standby");
    let l = assess(
        &inventory(vec![standby.clone()]),
        &policy("").lifecycle,
        PriceTable::embedded(),
    );
    assert!(l.cleanup.is_empty());
    assert_eq!(
        l.usage["ec2:instance"],
        UsageCounts {
            kept: 1,
            ..UsageCounts::default()
        }
    );
    // Another key can mark it; then the default one means nothing.
    let l = assess(
        &inventory(vec![standby]),
        &policy("[lifecycle]\nkeep_tag = \"Standby\"").lifecycle,
        PriceTable::embedded(),
    );
    assert_eq!(l.cleanup.len(), 1);
}

#[test]
fn smaller_sizes_skip_what_the_table_does_not_price() {
    let priced = |t: &str| ["m5.large", "m5.2xlarge", "db.t3.small"].contains(&t);
    assert_eq!(
        smaller_size("m5.4xlarge", priced).as_deref(),
        Some("m5.2xlarge")
    );
    assert_eq!(
        smaller_size("m5.2xlarge", priced).as_deref(),
        Some("m5.large")
    );
    assert_eq!(smaller_size("m5.large", priced), None);
    assert_eq!(
        smaller_size("db.t3.medium", priced).as_deref(),
        Some("db.t3.small")
    );
    assert_eq!(smaller_size("weird", priced), None);
}

#[test]
fn network_idle_is_every_days_in_plus_out() {
    use crate::usage::summaries;
    let day = |d: i64| d * 86_400;
    let days =
        |f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> { (0..14).map(|d| (day(d), f(d))).collect() };
    let verdict = |inbound: Vec<(i64, f64)>, outbound: Vec<(i64, f64)>| {
        let (start, end) = window(now(), 14);
        let u = Usage {
            start,
            end,
            metrics: summaries(
                &ResourceType::Ec2Instance,
                &[days(&|_| 1.0), days(&|_| 50.0), inbound, outbound],
            ),
        };
        judge(
            &instance("m5.large"),
            &u,
            &policy("").lifecycle,
            &PriceTable::default(),
        )
    };
    // 4 MB a day, in on some days and out on the others: idle (in + out <= 5 MB every day).
    let alternating = verdict(
        days(&|d| if d % 2 == 0 { 4e6 } else { 0.0 }),
        days(&|d| if d % 2 == 0 { 0.0 } else { 4e6 }),
    );
    assert!(
        matches!(
            &alternating,
            Verdict::Cleanup {
                kind: CleanupKind::IdleInstance,
                ..
            }
        ),
        "{alternating:?}"
    );
    // 3 MB in and 3 MB out on one day: 6 MB that day, not idle.
    let one_busy_day = verdict(
        days(&|d| if d == 5 { 3e6 } else { 0.0 }),
        days(&|d| if d == 5 { 3e6 } else { 0.0 }),
    );
    assert!(
        !matches!(
            &one_busy_day,
            Verdict::Cleanup {
                kind: CleanupKind::IdleInstance,
                ..
            }
        ),
        "{one_busy_day:?}"
    );
}
