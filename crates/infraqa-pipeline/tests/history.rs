//! The report step over a local store: every format written whole, one history entry per
//! inventory (a report made again replaces its own), a damaged entry skipped by name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use infraqa_core::check::check;
use infraqa_core::{Inventory, Policy};
use infraqa_pipeline::history::{load_past_runs, load_period_history};
use infraqa_pipeline::report::{ReportTarget, produce};
use infraqa_pipeline::{Aws, Location, Store};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .unwrap()
}

fn inventory(taken: DateTime<Utc>) -> Inventory {
    infraqa_core::synthetic::inventory(20, taken)
}

async fn report(store: &Store, history: &Store, inv: &Inventory, now: DateTime<Utc>) {
    let policy = Policy::from_toml("[tags]\nrequired = [\"Owner\"]\n", "p.toml").unwrap();
    let checked = check(inv, &policy, now);
    let target = ReportTarget {
        out: store,
        history,
        trend_runs: 12,
    };
    let aws = Aws::new(Default::default());
    produce(
        inv.clone(),
        async { Ok(checked) },
        &policy,
        target,
        &aws,
        now,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_history_keeps_one_entry_per_inventory_and_skips_a_damaged_one_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::new(Default::default());
    let out = Store::new(Location::Local(dir.path().join("out")), &aws);
    let history = out.child("history");
    assert_eq!(
        load_period_history(&history, NaiveDate::MIN, NaiveDate::MAX)
            .await
            .unwrap()
            .0
            .len(),
        0,
        "no directory yet"
    );

    let first = inventory(at(20, 5));
    let second = inventory(at(21, 5));
    report(&out, &history, &first, at(20, 6)).await;
    report(&out, &history, &second, at(21, 6)).await;
    // Reporting the same inventory again replaces its entry rather than adding a run.
    report(&out, &history, &second, at(21, 7)).await;
    std::fs::write(dir.path().join("out/history/broken.json"), "{\"half\": ").unwrap();

    let (entries, problems) = load_period_history(&history, NaiveDate::MIN, NaiveDate::MAX)
        .await
        .unwrap();
    let times: Vec<_> = entries.iter().map(|e| e.generated_at).collect();
    assert_eq!(
        times,
        vec![at(20, 6), at(21, 7)],
        "oldest first, one per inventory"
    );
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("broken.json"), "{}", problems[0]);
    for name in infraqa_report::FILES {
        assert!(dir.path().join("out").join(name).is_file(), "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out/history"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[tokio::test]
async fn a_report_reads_only_the_runs_its_trend_needs_and_gets_the_same_trend() {
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::new(Default::default());
    let out = Store::new(Location::Local(dir.path().join("out")), &aws);
    let history = out.child("history");
    let policy = Policy::from_toml("[tags]\nrequired = [\"Owner\"]\n", "p.toml").unwrap();
    let target = || ReportTarget {
        out: &out,
        history: &history,
        trend_runs: 3,
    };
    // Twenty daily runs whose estates (and so findings) change from day to day.
    for day in 1..=20 {
        let inv = infraqa_core::synthetic::inventory(10 + (day as usize * 7) % 13, at(day, 5));
        let checked = check(&inv, &policy, at(day, 6));
        produce(
            inv,
            async { Ok(checked) },
            &policy,
            target(),
            &aws,
            at(day, 6),
        )
        .await
        .unwrap();
    }
    let (all, _) = load_period_history(&history, NaiveDate::MIN, NaiveDate::MAX)
        .await
        .unwrap();
    assert_eq!(all.len(), 20);
    // The 21st run reads its last three runs: not the fourth most recent, here damaged.
    let inv = infraqa_core::synthetic::inventory(17, at(21, 5));
    let fourth = dir
        .path()
        .join("out/history")
        .join(infraqa_core::names::entry_name(at(17, 5), &inv.account_id));
    let kept = std::fs::read(&fourth).unwrap();
    std::fs::write(&fourth, "{\"half\": ").unwrap();
    let (recent, problems) = load_past_runs(&history, &inv, at(21, 6), 3).await.unwrap();
    assert_eq!(recent.len(), 3);
    assert!(problems.is_empty(), "{problems:?}");
    std::fs::write(&fourth, kept).unwrap();

    // Its trend from the runs read equals the trend over the whole history.
    let checked = check(&inv, &policy, at(21, 6));
    let mut past = infraqa_core::trend::PastRuns::of(&inv, &all, at(21, 6), 3);
    let expected = infraqa_core::report::build(infraqa_core::report::ReportInput {
        inventory: infraqa_core::report::digest(
            &inv,
            &policy,
            &mut past,
            infraqa_core::prices::PriceTable::embedded(),
            at(21, 6),
        ),
        check: checked.clone(),
        past,
        now: at(21, 6),
    });
    assert!(!expected.trend.history.is_empty());
    let (report, _) = produce(
        inv,
        async { Ok(checked) },
        &policy,
        target(),
        &aws,
        at(21, 6),
    )
    .await
    .unwrap();
    assert_eq!(report.trend, expected.trend);

    // An audit of days 8-10 reads its period (and a day either side), not the whole history,
    // and exports exactly what the whole history gives.
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let (period, _) = load_period_history(&history, day(8), day(10))
        .await
        .unwrap();
    assert_eq!(period.len(), 5, "days 7 to 11");
    let export =
        |entries| infraqa_core::pack::audit_export(entries, Vec::new(), day(8), day(10), at(30, 0));
    let (whole, _) = load_period_history(&history, NaiveDate::MIN, NaiveDate::MAX)
        .await
        .unwrap();
    let from_period = export(period);
    assert_eq!(from_period.runs.len(), 3);
    assert_eq!(from_period, export(whole));
}

#[tokio::test]
async fn a_window_mixing_entries_of_schema_2_and_3_gets_the_trend_of_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let aws = Aws::new(Default::default());
    let out = Store::new(Location::Local(dir.path().join("out")), &aws);
    let history = out.child("history");
    for day in 1..=6 {
        let inv = infraqa_core::synthetic::inventory(10 + (day as usize * 5) % 11, at(day, 5));
        report(&out, &history, &inv, at(day, 6)).await;
    }
    let inv = infraqa_core::synthetic::inventory(14, at(7, 5));
    // Day 4's entry as an earlier release wrote it: no first-seen times, nothing resolved.
    let path = dir
        .path()
        .join("out/history")
        .join(infraqa_core::names::entry_name(at(4, 5), &inv.account_id));
    let mut old: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(old["schema_version"], 3);
    let fields = old.as_object_mut().unwrap();
    for key in ["first_seen", "still_open", "resolved"] {
        fields.remove(key);
    }
    fields.insert("schema_version".into(), 2.into());
    std::fs::write(&path, old.to_string()).unwrap();

    // The run being reported, as its entry says it (the trend compares it with the others).
    let policy = Policy::from_toml("[tags]\nrequired = [\"Owner\"]\n", "p.toml").unwrap();
    let none = || infraqa_core::trend::PastRuns::of(&inv, &[], at(7, 6), 0);
    let current = infraqa_core::report::history_entry(&infraqa_core::report::build(
        infraqa_core::report::ReportInput {
            inventory: infraqa_core::report::digest(
                &inv,
                &policy,
                &mut none(),
                infraqa_core::prices::PriceTable::embedded(),
                at(7, 6),
            ),
            check: check(&inv, &policy, at(7, 6)),
            past: none(),
            now: at(7, 6),
        },
    ));
    let (all, _) = load_period_history(&history, NaiveDate::MIN, NaiveDate::MAX)
        .await
        .unwrap();
    for last_n in [2, 5] {
        // With day 4 in the window (schema 2 among schema 3) and without it, the trend the
        // report reads is the one of every entry.
        let (read, problems) = load_past_runs(&history, &inv, at(7, 6), last_n)
            .await
            .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let whole = infraqa_core::trend::PastRuns::of(&inv, &all, at(7, 6), last_n);
        assert_eq!(read.len(), last_n);
        assert_eq!(read.trend(&current), whole.trend(&current), "last {last_n}");
    }
}
