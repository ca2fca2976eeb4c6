//! Security Hub with its lifecycle, against the emulator's BatchImportFindings and GetFindings:
//! two reported runs of one account, the second after fixing, deleting and exempting one
//! finding each and with one unit's reads denied, the second's import throttled.

use crate::fresh_account;
use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::Policy;
use infraqa_core::export::{Concluded, Scanned};
use infraqa_core::policy::RegionScope;
use infraqa_pipeline::export;
use infraqa_pipeline::report::{ReportTarget, produce};
use infraqa_pipeline::{Aws, Location, Store};
use infraqa_tests::emulator::TestAccount;
use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_tests::seed::PRIMARY_REGION;
use std::collections::BTreeMap;

/// Only `tags-required` runs, over the primary region.
fn policy(exempt: Option<&str>) -> Policy {
    let mut toml =
        format!("[scan]\nregions = [\"{PRIMARY_REGION}\"]\n[tags]\nrequired = [\"Owner\"]\n");
    for rule in [
        "s3-encryption",
        "s3-public-access",
        "ec2-approved-ami",
        "sg-open-ingress",
        "iam-least-privilege",
        "region-approved",
        "logging-enabled",
        "cloudtrail-enabled",
    ] {
        toml.push_str(&format!("[rules.{rule}]\nenabled = false\n"));
    }
    if let Some(arn) = exempt {
        toml.push_str(&format!(
            "[[exemptions]]\nrule = \"tags-required\"\nresource = \"{arn}\"\nreason = \"scratch volume, ticket SEC-7\"\n"
        ));
    }
    Policy::from_toml(&toml, "securityhub-policy.toml").unwrap()
}

/// One reported run (scan of `regions`, check, report into `dir`) and its export's plan, with
/// what was last sent.
async fn reported(
    clients: &AwsClients,
    regions: &[&str],
    policy: &Policy,
    dir: &std::path::Path,
) -> (
    infraqa_core::export::Plan,
    infraqa_core::export::Sent,
    Store,
) {
    let scope = RegionScope::List(regions.iter().map(|r| (*r).to_owned()).collect());
    let inventory = scan(clients, &scope, &Default::default(), &Quiet)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let check = infraqa_core::check::check(&inventory, policy, now);
    let aws = Aws::from_clients(clients.clone());
    let out = Store::new(Location::Local(dir.to_path_buf()), &aws);
    let history = out.child("history");
    let sent = export::read_sent(&history, &inventory.account_id)
        .await
        .unwrap();
    let scanned = Scanned::of(&inventory, &sent);
    let target = ReportTarget {
        out: &out,
        history: &history,
        trend_runs: 12,
    };
    let findings = check.clone();
    produce(inventory, async { Ok(findings) }, policy, target, &aws, now)
        .await
        .unwrap();
    let plan = export::plan(&history, Concluded::of_check(&check), &scanned, &sent, now)
        .await
        .unwrap();
    (plan, sent, history)
}

/// One reported run of the primary region, then its export imported into Security Hub; every
/// call through `endpoint`.
async fn run_and_import(
    account: &TestAccount,
    endpoint: &str,
    policy: &Policy,
    dir: &std::path::Path,
) -> export::Imported {
    let mut options = account.options();
    options.endpoint_url = Some(endpoint.to_owned());
    options.initial_backoff = std::time::Duration::from_millis(5);
    let clients = AwsClients::load(options).await;
    let (plan, sent, history) = reported(&clients, &[PRIMARY_REGION], policy, dir).await;
    export::import(&clients, &history, &plan, &sent, PRIMARY_REGION)
        .await
        .unwrap()
}

/// A finding as the hub holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) state: String,
    pub(crate) updated_at: String,
    pub(crate) closed_because: String,
    pub(crate) resource_type: String,
}

/// Every finding `account`'s hub in `region` holds, by id. GetFindings' answer is read through the SDK's whole
/// resource model, whose deserializer takes more stack in a debug build than a test thread's
/// 2 MB: it is read on a thread of its own, with clients of its own runtime.
pub(crate) fn hub(account: &TestAccount, region: &str) -> BTreeMap<String, Held> {
    let region = region.to_owned();
    let options = account.options();
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async { read_hub(&AwsClients::load(options).await, &region).await })
        })
        .unwrap()
        .join()
        .unwrap()
}

async fn read_hub(clients: &AwsClients, region: &str) -> BTreeMap<String, Held> {
    let sh = clients.securityhub(region);
    let mut out = BTreeMap::new();
    let mut token = None;
    let mut seen = 0;
    loop {
        let page = sh
            .get_findings()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for f in page.findings() {
            seen += 1;
            let field = |name: &str| {
                f.product_fields()
                    .and_then(|p| p.get(name))
                    .cloned()
                    .unwrap_or_default()
            };
            let held = Held {
                state: f
                    .record_state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                updated_at: f.updated_at().unwrap_or_default().to_owned(),
                closed_because: field("infraqa/ClosedBecause"),
                resource_type: field("infraqa/ResourceType"),
            };
            out.insert(f.id().unwrap_or_default().to_owned(), held);
        }
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, out.len(), "no finding is held twice");
    out
}

fn volume_arn(account: &str, id: &str) -> String {
    format!("arn:aws:ec2:{PRIMARY_REGION}:{account}:volume/{id}")
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_second_run_archives_exactly_what_it_judged_gone_and_leaves_the_unread_unit_alone() {
    let (emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let ec2 = clients.ec2(PRIMARY_REGION);
    let mut volumes = Vec::new();
    for _ in 0..249 {
        let v = ec2
            .create_volume()
            .availability_zone(format!("{PRIMARY_REGION}a"))
            .size(1)
            .send()
            .await
            .unwrap();
        volumes.push(v.volume_id().unwrap().to_owned());
    }
    clients
        .logs(PRIMARY_REGION)
        .create_log_group()
        .log_group_name("/app/unread")
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The first run: 250 findings (249 untagged volumes and the log group), three calls.
    let first = run_and_import(&account, emulator.url(), &policy(None), dir.path()).await;
    assert_eq!((first.active, first.archived, first.untouched), (250, 0, 0));
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert_eq!(first.calls, 3, "250 findings go in three calls");
    let before = hub(&account, PRIMARY_REGION);
    assert_eq!(before.len(), 250);
    assert!(before.values().all(|h| h.state == "ACTIVE"));
    let unread = before
        .iter()
        .find(|(_, h)| h.resource_type == "logs:log-group")
        .map(|(id, _)| id.clone())
        .unwrap();

    // Fix one, delete one, exempt one; deny the log group's unit; throttle the import.
    let (fixed, deleted, exempted) = (&volumes[0], &volumes[1], &volumes[2]);
    ec2.create_tags()
        .resources(fixed)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Owner")
                .value("team-a")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ec2.delete_volume().volume_id(deleted).send().await.unwrap();
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![
            Fault::on_service("logs", FaultAction::AccessDenied).in_region(PRIMARY_REGION),
            Fault::on("BatchImportFindings", FaultAction::Throttle).rate(1, 2),
        ],
    )
    .await
    .unwrap();
    let exempt_arn = volume_arn(&account.account_id, exempted);
    let second = run_and_import(
        &account,
        proxy.url(),
        &policy(Some(&exempt_arn)),
        dir.path(),
    )
    .await;
    assert!(proxy.injected() > 0, "the import was throttled");
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(
        (second.active, second.archived, second.untouched),
        (246, 3, 1)
    );

    let after = hub(&account, PRIMARY_REGION);
    assert_eq!(after.len(), 250, "nothing lost, nothing duplicated");
    let archived: BTreeMap<&str, &str> = after
        .iter()
        .filter(|(_, h)| h.state == "ARCHIVED")
        .map(|(id, h)| (id.as_str(), h.closed_because.as_str()))
        .collect();
    let id_of = |arn: &str| {
        infraqa_core::export::record_id(
            infraqa_core::RuleId::TagsRequired,
            &account.account_id,
            PRIMARY_REGION,
            arn,
        )
    };
    let expected: BTreeMap<String, &str> = [
        (id_of(&volume_arn(&account.account_id, fixed)), "resolved"),
        (id_of(&volume_arn(&account.account_id, deleted)), "deleted"),
        (id_of(&exempt_arn), "exempted"),
    ]
    .into();
    assert_eq!(
        archived,
        expected.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
        "exactly one archived per fixed, deleted and exempted finding"
    );
    assert_eq!(
        after.get(&unread),
        before.get(&unread),
        "the unread unit's finding is active and unchanged"
    );
    assert_eq!(after[&unread].state, "ACTIVE");

    // A third, unthrottled run with the same policy archives nothing more and sends no
    // archived finding again.
    let third = run_and_import(
        &account,
        emulator.url(),
        &policy(Some(&exempt_arn)),
        dir.path(),
    )
    .await;
    assert_eq!((third.active, third.archived, third.untouched), (247, 0, 0));
    let last = hub(&account, PRIMARY_REGION);
    assert_eq!(last.values().filter(|h| h.state == "ARCHIVED").count(), 3);
}

/// The python of the shape checkers' venv (`make test` builds it from
/// scripts/requirements/shapes.txt).
fn shapes_python() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let python = std::env::var_os("INFRAQA_SHAPES_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-shapes/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run `scripts/venv .venv-shapes scripts/requirements/shapes.txt` (make test does)",
        python.display()
    );
    python
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn every_asff_finding_and_ocsf_line_of_the_demo_estate_passes_its_consumers_checker() {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let estate = infraqa_tests::seed::seed_demo_estate(&clients)
        .await
        .unwrap();
    let policy = Policy::from_toml(&estate.policy_toml(), "demo-policy.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let regions = [PRIMARY_REGION, infraqa_tests::seed::SECONDARY_REGION];
    let (mut plan, _, _) = reported(&clients, &regions, &policy, dir.path()).await;
    let types: std::collections::BTreeSet<&str> =
        plan.open.iter().map(|r| r.resource_type.as_str()).collect();
    assert!(
        plan.open.len() >= 10 && types.contains("account") && types.contains("iam:role"),
        "every kind of finding is checked: {types:?}"
    );
    // Each way of closing, as a later run would send it.
    for (r, why) in plan.open.clone().into_iter().zip([
        infraqa_core::export::Closed::Resolved,
        infraqa_core::export::Closed::Deleted,
        infraqa_core::export::Closed::Exempted {
            reason: "accepted risk, ticket SEC-9".into(),
        },
    ]) {
        let mut closed = r;
        closed.closed = Some(why);
        plan.closed.push(closed);
    }
    let asff = dir.path().join("findings.asff.json");
    let ocsf = dir.path().join("findings.ocsf.jsonl");
    std::fs::write(
        &asff,
        serde_json::to_vec(&export::asff_findings(&plan, PRIMARY_REGION)).unwrap(),
    )
    .unwrap();
    std::fs::write(&ocsf, export::ocsf_lines(&plan).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/export-shapes");
    let done = std::process::Command::new(shapes_python())
        .arg(script)
        .arg(&asff)
        .arg(&ocsf)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "{said}");
    assert!(said.contains("ACTIVE, ARCHIVED"), "{said}");
    assert!(said.contains("New, Resolved, Suppressed"), "{said}");
}
