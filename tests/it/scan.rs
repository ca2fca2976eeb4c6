//! Resource discovery against a seeded emulator: the inventory is compared resource by
//! resource with what the seeder created.

use crate::fresh_account;
use infraqa_aws::AwsClients;
use infraqa_aws::scan::{Quiet, scan};
use infraqa_core::iam::Effect;
use infraqa_core::model::{
    BucketEncryption, InstanceState, PolicySource, PublicGrantee, ResourceDetails,
};
use infraqa_core::observed::Observed;
use infraqa_core::policy::RegionScope;
use infraqa_core::{Inventory, Resource, ResourceType};
use infraqa_tests::emulator::TestAccount;
use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
use infraqa_tests::seed::{Estate, PRIMARY_REGION, SECONDARY_REGION, seed_demo_estate};
use std::collections::BTreeSet;

async fn seeded_scan() -> (Estate, Inventory) {
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let estate = seed_demo_estate(&clients).await.unwrap();
    let scope = RegionScope::List(vec![PRIMARY_REGION.into(), SECONDARY_REGION.into()]);
    let inventory = scan(&clients, &scope, &Default::default(), &Quiet)
        .await
        .unwrap();
    (estate, inventory)
}

fn find<'a>(inv: &'a Inventory, estate: &Estate, name: &str) -> &'a Resource {
    let seeded = estate
        .by_name(name)
        .unwrap_or_else(|| panic!("nothing seeded as {name}"));
    inv.resources
        .iter()
        .find(|r| r.id == seeded.id && r.resource_type == seeded.resource_type)
        .unwrap_or_else(|| panic!("{name} ({}) not inventoried", seeded.id))
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_inventory_matches_the_seeded_estate_resource_by_resource() {
    let (estate, inv) = seeded_scan().await;
    assert!(
        inv.errors.is_empty(),
        "unexpected scan errors: {:#?}",
        inv.errors
    );
    assert!(!inv.is_partial());
    assert_eq!(inv.account_id, estate.account_id);
    assert_eq!(inv.regions, [PRIMARY_REGION, SECONDARY_REGION]);

    let got: BTreeSet<(String, String, String)> = inv
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type.to_string(),
                r.region.to_string(),
                r.id.to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = estate
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type.to_string(),
                r.region.to_string(),
                r.id.to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(
        inv.resources.len(),
        estate.resources.len(),
        "duplicates in the inventory"
    );

    // Exact counts per type and region.
    for t in ResourceType::KNOWN {
        for region in [PRIMARY_REGION, SECONDARY_REGION, "global"] {
            let n = inv
                .resources
                .iter()
                .filter(|r| r.resource_type == t && r.region == region)
                .count();
            assert_eq!(n, estate.count(&t, region), "{t} in {region}");
        }
    }

    // Terminated instances are not inventoried.
    for id in &estate.absent_ids {
        assert!(
            inv.resources.iter().all(|r| r.id != id),
            "terminated {id} inventoried"
        );
    }

    // Tags arrive exactly as seeded, whichever API supplies them.
    for seeded in estate.resources.iter().filter(|s| !s.tags.is_empty()) {
        let r = inv
            .resources
            .iter()
            .find(|r| r.id == seeded.id && r.resource_type == seeded.resource_type)
            .unwrap();
        assert_eq!(
            r.tags, seeded.tags,
            "tags of {} {}",
            seeded.resource_type, seeded.name
        );
    }

    // Every ARN is a real ARN naming the resource.
    for r in &inv.resources {
        assert!(r.arn.starts_with("arn:aws:"), "{}", r.arn);
        assert!(
            r.arn.ends_with(r.id.as_str()) || r.resource_type == ResourceType::IamRole,
            "{} / {}",
            r.arn,
            r.id
        );
    }
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn details_carry_what_the_rules_read() {
    let (estate, inv) = seeded_scan().await;
    let bucket = |name: &str| match &find(&inv, &estate, name).details {
        ResourceDetails::S3Bucket(b) => b.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let prod = bucket("prod-data");
    assert!(matches!(
        prod.encryption,
        Observed::Read(BucketEncryption::SseKms { .. })
    ));
    assert!(prod.public_access_block.read().unwrap().all_blocked());
    assert_eq!(prod.access_logging, Observed::Read(true));
    // Fully blocked buckets never pay for the policy-status and ACL reads.
    assert_eq!(
        (prod.policy_is_public, prod.acl_public_grants.clone()),
        (None, None)
    );
    assert_eq!(
        bucket("unencrypted").encryption,
        Observed::Read(BucketEncryption::None)
    );
    assert_eq!(
        bucket("access-logs").encryption,
        Observed::Read(BucketEncryption::SseS3)
    );
    let public = bucket("public-assets");
    assert!(!public.public_access_block.read().unwrap().block_public_acls);
    assert_eq!(
        public.acl_public_grants,
        Some(Observed::Read(vec![PublicGrantee::AllUsers]))
    );
    assert_eq!(public.policy_is_public, Some(Observed::Read(false)));
    assert_eq!(find(&inv, &estate, "eu-data").region, SECONDARY_REGION);

    let role = |name: &str| match &find(&inv, &estate, name).details {
        ResourceDetails::IamRole(r) => r.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let admin = role("break-glass-admin");
    let attached = &admin.policies[0];
    assert_eq!(
        (attached.name.as_str(), &attached.source),
        ("AdministratorAccess", &PolicySource::AwsManaged)
    );
    let st = &attached.document.read().unwrap().statements()[0];
    assert_eq!(
        (st.effect, st.actions(), st.resources()),
        (Effect::Allow, &["*".to_owned()][..], &["*".to_owned()][..])
    );
    let notaction = role("legacy-notaction");
    assert_eq!(notaction.path, "/legacy/");
    assert_eq!(notaction.policies[0].source, PolicySource::Inline);
    assert_eq!(
        notaction.policies[0].document.read().unwrap().statements()[0].not_actions(),
        ["iam:*"]
    );
    assert_eq!(
        role("ci-deployer").policies[0]
            .document
            .read()
            .unwrap()
            .statements()[0]
            .actions(),
        ["ec2:RunInstances", "iam:PassRole"]
    );
    assert!(
        role("open-trust").trust_policy.read().unwrap().statements()[0]
            .principal
            .as_ref()
            .unwrap()
            .is_everyone()
    );
    let partner = role("partner-access");
    assert!(
        partner.trust_policy.read().unwrap().statements()[0]
            .condition
            .is_some()
    );
    assert!(role("AWSServiceRoleForInfraqaDemo").is_service_linked());
    let readonly = role("app-readonly");
    assert_eq!(readonly.policies[0].name, "ReadOnlyAccess");
    assert!(
        !readonly.policies[0]
            .document
            .read()
            .unwrap()
            .statements()
            .is_empty()
    );

    let instance = |name: &str| match &find(&inv, &estate, name).details {
        ResourceDetails::Ec2Instance(i) => i.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let worker = instance("old-worker");
    assert_eq!(worker.state, InstanceState::Stopped);
    assert!(
        worker
            .state_transition_reason
            .unwrap_or_default()
            .contains("User initiated")
    );
    let web1 = instance("web-1");
    assert_eq!(
        web1.image_owner_id.read().unwrap().as_deref(),
        Some(estate.account_id.as_str())
    );
    assert_eq!(instance("batch-1").image_owner_id, Observed::Read(None));

    let sg = |name: &str| match &find(&inv, &estate, name).details {
        ResourceDetails::Ec2SecurityGroup(g) => g.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(
        !sg("ssh-open")
            .network_interface_ids
            .read()
            .unwrap()
            .is_empty()
    );
    assert!(
        sg("web-range")
            .network_interface_ids
            .read()
            .unwrap()
            .is_empty()
    );
    let web = sg("web");
    assert!(
        web.ingress
            .iter()
            .any(|p| p.ipv6_ranges == ["::/0"] && p.from_port == Some(443))
    );
    let internal = sg("internal");
    assert!(
        internal
            .ingress
            .iter()
            .any(|p| !p.referenced_group_ids.is_empty())
    );

    match &find(&inv, &estate, "vpc-prod").details {
        ResourceDetails::Ec2Vpc(v) => assert_eq!(v.flow_log_ids.read().map(Vec::len), Some(1)),
        other => panic!("{other:?}"),
    }
    match &find(&inv, &estate, "deleted-volume-backup").details {
        ResourceDetails::Ec2Snapshot(s) => {
            assert!(!s.source_volume_exists && s.used_by_image_ids.is_empty())
        }
        other => panic!("{other:?}"),
    }
    match &find(&inv, &estate, "eip-idle").details {
        ResourceDetails::Ec2ElasticIp(e) => assert_eq!(e.association_id, None),
        other => panic!("{other:?}"),
    }
    match &find(&inv, &estate, "eip-web").details {
        ResourceDetails::Ec2ElasticIp(e) => assert!(e.association_id.is_some()),
        other => panic!("{other:?}"),
    }
    for (name, exists) in [("orders-api", true), ("nightly-export", false)] {
        match &find(&inv, &estate, name).details {
            ResourceDetails::LambdaFunction(f) => {
                assert_eq!(f.log_group_exists, Observed::Read(exists), "{name}")
            }
            other => panic!("{other:?}"),
        }
    }
    match &find(&inv, &estate, "reports-db").details {
        ResourceDetails::RdsDb(d) => {
            assert!(d.cloudwatch_logs_exports.is_empty() && d.storage_encrypted)
        }
        other => panic!("{other:?}"),
    }
    match &find(&inv, &estate, "org-trail").details {
        ResourceDetails::CloudtrailTrail(t) => {
            assert!(t.is_logging == Observed::Read(true) && !t.multi_region)
        }
        other => panic!("{other:?}"),
    }

    // What the scan cost is recorded.
    assert!(inv.stats.api_calls["ec2"]["DescribeInstances"] >= 2);
    assert_eq!(
        inv.stats.api_calls["iam"]["GetAccountAuthorizationDetails"],
        1
    );
}

const EMULATOR_500: &str = "<!doctype html><html><title>500 Internal Server Error</title><h1>Internal Server Error</h1></html>";

pub async fn scan_through(
    proxy: &FaultProxy,
    account: &TestAccount,
    max_attempts: u32,
) -> Inventory {
    let mut options = account.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    options.max_attempts = max_attempts;
    options.initial_backoff = std::time::Duration::from_millis(5);
    let scope = RegionScope::List(vec![PRIMARY_REGION.into(), SECONDARY_REGION.into()]);
    scan(
        &AwsClients::load(options).await,
        &scope,
        &Default::default(),
        &Quiet,
    )
    .await
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn an_api_answering_http_500_is_recorded_and_the_rest_is_kept() {
    let (emulator, account) = fresh_account().await;
    let estate = seed_demo_estate(&account.clients().await).await.unwrap();
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![
            Fault::on(
                "DescribeDBInstances",
                FaultAction::Status {
                    status: 500,
                    body: EMULATOR_500.into(),
                },
            )
            .in_region(SECONDARY_REGION),
        ],
    )
    .await
    .unwrap();
    let inv = scan_through(&proxy, &account, 2).await;

    assert!(inv.is_partial());
    assert_eq!(inv.errors.len(), 1, "{:#?}", inv.errors);
    let e = &inv.errors[0];
    assert_eq!(
        (
            e.region.as_str(),
            e.service.as_str(),
            e.operation.as_str(),
            e.code.as_str()
        ),
        (
            SECONDARY_REGION,
            "rds",
            "DescribeDBInstances",
            "HttpStatus500"
        )
    );
    assert_eq!(
        proxy.injected(),
        2,
        "the 500 is retried once (max attempts 2)"
    );
    // Only the unreadable region's databases are missing.
    let missing: Vec<&str> = estate
        .resources
        .iter()
        .filter(|s| !inv.resources.iter().any(|r| r.id == s.id))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(missing, ["eu-scratch-db"]);
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn throttling_is_retried_and_the_inventory_is_complete() {
    let (emulator, account) = fresh_account().await;
    let estate = seed_demo_estate(&account.clients().await).await.unwrap();
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![
            Fault::on("DescribeInstances", FaultAction::Throttle)
                .in_region(PRIMARY_REGION)
                .times(3),
        ],
    )
    .await
    .unwrap();
    let inv = scan_through(&proxy, &account, 8).await;
    assert!(inv.errors.is_empty(), "{:#?}", inv.errors);
    assert_eq!(proxy.injected(), 3);
    assert_eq!(inv.resources.len(), estate.resources.len());
    // The retries are counted as API calls.
    assert_eq!(inv.stats.api_calls["ec2"]["DescribeInstances"], 2 + 3);
}

/// Buckets in every kind of place: listed under each scanned region, in a region outside the
/// scan, and at the legacy `EU` location; the one outside is tagged.
async fn buckets_everywhere(clients: &AwsClients, account: &str) -> [String; 4] {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};
    let names = [
        format!("here-{account}"),
        format!("west-{account}"),
        format!("far-{account}"),
        format!("legacy-eu-{account}"),
    ];
    let places = [
        None,
        Some(BucketLocationConstraint::from(SECONDARY_REGION)),
        Some(BucketLocationConstraint::from("ap-south-1")),
        Some(BucketLocationConstraint::Eu),
    ];
    for (name, place) in names.iter().zip(places) {
        // The emulator takes a location other than its region's only at us-east-1's endpoint.
        let region = match &place {
            None | Some(BucketLocationConstraint::Eu) => PRIMARY_REGION,
            Some(p) => p.as_str(),
        };
        let mut create = clients.s3(region).create_bucket().bucket(name);
        if let Some(place) = place {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(place)
                    .build(),
            );
        }
        create.send().await.unwrap();
    }
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    clients
        .s3("ap-south-1")
        .put_bucket_tagging()
        .bucket(&names[2])
        .tagging(
            Tagging::builder()
                .tag_set(tag("Owner", "data"))
                .tag_set(tag("Environment", "prod"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    names
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn every_bucket_of_the_account_is_inventoried_in_its_own_region_however_it_is_scanned() {
    use infraqa_core::check::check;
    let (_emulator, account) = fresh_account().await;
    let clients = account.clients().await;
    let [here, west, far, legacy] = buckets_everywhere(&clients, &account.account_id).await;
    let scanned = vec![PRIMARY_REGION.to_owned(), SECONDARY_REGION.to_owned()];
    let whole = scan(
        &clients,
        &RegionScope::List(scanned.clone()),
        &Default::default(),
        &Quiet,
    )
    .await
    .unwrap();
    assert!(whole.errors.is_empty(), "{:#?}", whole.errors);

    // The same account in shards (the organization run's plan), merged.
    let plan = infraqa_pipeline::shards::plan(
        "20261207T060000.000Z",
        std::slice::from_ref(&account.account_id),
        &scanned,
        false,
    );
    let mut parts = Vec::new();
    for shard in &plan {
        parts.push(
            infraqa_aws::scan::scan_shard(
                &clients,
                &shard.region,
                shard.planned_regions.as_deref().unwrap_or_default(),
                &Default::default(),
                &Quiet,
                None,
            )
            .await
            .unwrap(),
        );
    }
    let sharded = Inventory::merge(parts).unwrap();
    assert!(sharded.errors.is_empty(), "{:#?}", sharded.errors);

    for inventory in [&whole, &sharded] {
        let buckets: Vec<(&str, &str)> = inventory
            .resources
            .iter()
            .filter(|r| r.resource_type == ResourceType::S3Bucket)
            .map(|r| (r.id.as_str(), r.region.as_str()))
            .collect();
        let expected: BTreeSet<(&str, &str)> = [
            (here.as_str(), PRIMARY_REGION),
            (west.as_str(), SECONDARY_REGION),
            (far.as_str(), "ap-south-1"),
            (legacy.as_str(), "eu-west-1"),
        ]
        .into();
        assert_eq!(buckets.len(), 4, "each bucket once: {buckets:?}");
        assert_eq!(buckets.into_iter().collect::<BTreeSet<_>>(), expected);
        let far_bucket = inventory.resources.iter().find(|r| r.id == far).unwrap();
        // Its configuration read at its own endpoint, its tags without the tagging API.
        assert_eq!(far_bucket.tags.get("Owner"), Some("data"));
        assert!(far_bucket.tags_unread.is_none());
        let ResourceDetails::S3Bucket(b) = &far_bucket.details else {
            panic!("{far_bucket:?}")
        };
        assert!(b.encryption.read().is_some() && b.public_access_block.read().is_some());
    }

    // region-approved judges the bucket outside the approved regions, and only it.
    let policy = infraqa_core::Policy::from_toml(
        &format!("[regions]\napproved = [\"{PRIMARY_REGION}\", \"{SECONDARY_REGION}\"]\n"),
        "policy.toml",
    )
    .unwrap();
    let result = check(&whole, &policy, chrono::Utc::now());
    let flagged: Vec<&str> = result
        .findings
        .iter()
        .filter(|f| f.rule_id.as_str() == "region-approved")
        .map(|f| f.resource_arn.as_str())
        .collect();
    assert_eq!(flagged, [format!("arn:aws:s3:::{far}")]);
}
