//! Validation of CloudTrail events against the emulator: for every supported event name, a
//! resource seeded to match it, once compliant (`approved`) and once not (`flagged` with
//! exactly the expected rule ids); the grace period; gone resources; tags applied from the
//! event.

use crate::fresh_account;
use aws_sdk_ec2::types as ec2t;
use aws_sdk_s3::types as s3t;
use infraqa_aws::AwsClients;
use infraqa_aws::validate::{Options, validate};
use infraqa_core::validation::{Validation, Verdict, event};
use infraqa_core::{Policy, RuleId};
use infraqa_tests::events::cloudtrail_event;
use infraqa_tests::seed::{APPROVED_BY_ID_AMI, PRIMARY_REGION, UNAPPROVED_AMI, demo_lambda_zip};
use std::collections::BTreeSet;
use std::time::Duration;

const POLICY: &str = r#"
[scan]
regions = ["us-east-1"]
[tags]
required = ["Owner", "Environment"]
[regions]
approved = ["us-east-1"]
[ec2]
approved_amis = ["ami-0123456789abcdef0"]
[network]
allowed_public_ports = [443]
[logging]
critical_tag = "Environment"
critical_values = ["prod"]
"#;

const GOOD: [(&str, &str); 2] = [("Owner", "team-a"), ("Environment", "dev")];
const PROD: [(&str, &str); 2] = [("Owner", "team-a"), ("Environment", "prod")];

fn ec2_tags(
    kind: ec2t::ResourceType,
    tags: &[(&str, &str)],
) -> Option<Vec<ec2t::TagSpecification>> {
    (!tags.is_empty()).then(|| {
        vec![
            ec2t::TagSpecification::builder()
                .resource_type(kind)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| ec2t::Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .build(),
        ]
    })
}

/// What a test seeds: one resource of a kind, compliant or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Volume,
    Group,
    Bucket,
    Db,
    Function,
    Role,
}

fn kind_of(event: &str) -> Kind {
    match event {
        "RunInstances" | "ModifyInstanceAttribute" => Kind::Instance,
        "CreateVolume" => Kind::Volume,
        "CreateSecurityGroup" | "AuthorizeSecurityGroupIngress" => Kind::Group,
        "CreateDBInstance" | "ModifyDBInstance" => Kind::Db,
        "CreateFunction20150331" | "UpdateFunctionConfiguration20150331v2" => Kind::Function,
        "CreateRole" | "PutRolePolicy" | "AttachRolePolicy" | "UpdateAssumeRolePolicy" => {
            Kind::Role
        }
        _ => Kind::Bucket,
    }
}

/// The rule ids the non-compliant variant of `kind` violates.
fn violations(kind: Kind) -> BTreeSet<RuleId> {
    use RuleId::*;
    BTreeSet::from_iter(match kind {
        Kind::Instance => vec![Ec2ApprovedAmi, TagsRequired],
        Kind::Volume => vec![TagsRequired],
        Kind::Group => vec![SgOpenIngress],
        Kind::Bucket => vec![TagsRequired, S3Encryption, S3PublicAccess],
        Kind::Db | Kind::Function => vec![LoggingEnabled],
        Kind::Role => vec![IamLeastPrivilege],
    })
}

/// Seeds one resource of `kind` named after `name`; returns its id.
async fn seed(c: &AwsClients, kind: Kind, name: &str, compliant: bool) -> String {
    let ec2 = c.ec2(PRIMARY_REGION);
    match kind {
        Kind::Instance => {
            let (ami, tags): (&str, &[(&str, &str)]) = if compliant {
                (APPROVED_BY_ID_AMI, &GOOD)
            } else {
                (UNAPPROVED_AMI, &[])
            };
            let out = ec2
                .run_instances()
                .image_id(ami)
                .instance_type(ec2t::InstanceType::T3Micro)
                .min_count(1)
                .max_count(1)
                .set_tag_specifications(ec2_tags(ec2t::ResourceType::Instance, tags))
                .send()
                .await
                .unwrap();
            out.instances()[0].instance_id().unwrap().to_owned()
        }
        Kind::Volume => {
            let tags: &[(&str, &str)] = if compliant { &GOOD } else { &[] };
            ec2.create_volume()
                .availability_zone(format!("{PRIMARY_REGION}a"))
                .size(8)
                .set_tag_specifications(ec2_tags(ec2t::ResourceType::Volume, tags))
                .send()
                .await
                .unwrap()
                .volume_id
                .unwrap()
        }
        Kind::Group => {
            let id = ec2
                .create_security_group()
                .group_name(name)
                .description("validation test")
                .set_tag_specifications(ec2_tags(ec2t::ResourceType::SecurityGroup, &GOOD))
                .send()
                .await
                .unwrap()
                .group_id
                .unwrap();
            let port = if compliant { 443 } else { 22 };
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .ip_permissions(
                    ec2t::IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(port)
                        .to_port(port)
                        .ip_ranges(ec2t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            id
        }
        Kind::Bucket => {
            let s3 = c.s3(PRIMARY_REGION);
            s3.create_bucket().bucket(name).send().await.unwrap();
            if compliant {
                s3.put_bucket_tagging()
                    .bucket(name)
                    .tagging(
                        s3t::Tagging::builder()
                            .set_tag_set(Some(
                                GOOD.iter()
                                    .map(|(k, v)| {
                                        s3t::Tag::builder().key(*k).value(*v).build().unwrap()
                                    })
                                    .collect(),
                            ))
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                s3.put_bucket_encryption()
                    .bucket(name)
                    .server_side_encryption_configuration(
                        s3t::ServerSideEncryptionConfiguration::builder()
                            .rules(
                                s3t::ServerSideEncryptionRule::builder()
                                    .apply_server_side_encryption_by_default(
                                        s3t::ServerSideEncryptionByDefault::builder()
                                            .sse_algorithm(s3t::ServerSideEncryption::Aes256)
                                            .build()
                                            .unwrap(),
                                    )
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                s3.put_public_access_block()
                    .bucket(name)
                    .public_access_block_configuration(
                        infraqa_tests::seed::block_all_public_access(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            name.to_owned()
        }
        Kind::Db => {
            let tags = if compliant { GOOD } else { PROD };
            c.rds(PRIMARY_REGION)
                .create_db_instance()
                .db_instance_identifier(name)
                .db_instance_class("db.t3.micro")
                .engine("postgres")
                .allocated_storage(20)
                .master_username("app")
                .master_user_password("not-a-secret-1")
                .storage_encrypted(true)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .send()
                .await
                .unwrap();
            name.to_owned()
        }
        Kind::Function => {
            let role = Box::pin(seed(c, Kind::Role, &format!("{name}-exec"), true)).await;
            let tags = if compliant { GOOD } else { PROD };
            c.lambda(PRIMARY_REGION)
                .create_function()
                .function_name(name)
                .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                .role(format!(
                    "arn:aws:iam::{}:role/{role}",
                    c.account_id().await.unwrap()
                ))
                .handler("bootstrap")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_smithy_types::Blob::new(demo_lambda_zip().unwrap()))
                        .build(),
                )
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ))
                .send()
                .await
                .unwrap();
            if compliant {
                // Not critical, so no log group is needed; give it one anyway, as a deployed
                // function would have.
                c.logs(PRIMARY_REGION)
                    .create_log_group()
                    .log_group_name(format!("/aws/lambda/{name}"))
                    .send()
                    .await
                    .unwrap();
            }
            name.to_owned()
        }
        Kind::Role => {
            let iam = c.iam().unwrap();
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
                )
                .set_tags(Some(
                    GOOD.iter()
                        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(*k).value(*v).build().unwrap())
                        .collect(),
                ))
                .send()
                .await
                .unwrap();
            if !compliant {
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name("admin")
                    .policy_document(
                        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                    )
                    .send()
                    .await
                    .unwrap();
            }
            name.to_owned()
        }
    }
}

async fn run(c: &AwsClients, account: &str, name: &str, id: &str, options: Options) -> Validation {
    let policy = Policy::from_toml(POLICY, "validate.toml").unwrap();
    let text = cloudtrail_event(
        name,
        id,
        account,
        PRIMARY_REGION,
        chrono::Utc::now(),
        &format!("ev-{name}-{id}"),
    )
    .unwrap();
    let call = event::parse(&text, name).unwrap();
    validate(c, &policy, &call, options).await.unwrap()
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn every_supported_event_is_approved_when_compliant_and_flagged_with_exactly_its_rules_when_not()
 {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    for (i, name) in event::SUPPORTED.into_iter().enumerate() {
        let kind = kind_of(name);
        for compliant in [true, false] {
            // Bucket names are global: the account id keeps them unique across runs.
            let label = format!(
                "v{i}-{}-{}",
                if compliant { "ok" } else { "bad" },
                account.account_id
            );
            let id = seed(&c, kind, &label, compliant).await;
            let v = run(&c, &account.account_id, name, &id, Options::default()).await;
            assert_eq!(v.resources.len(), 1, "{name}: {v:#?}");
            let got: BTreeSet<RuleId> = v.findings().map(|f| f.rule_id).collect();
            if compliant {
                assert_eq!(v.verdict, Verdict::Approved, "{name} {label}: {v:#?}");
                assert!(got.is_empty(), "{name}: {got:?}");
            } else {
                assert_eq!(v.verdict, Verdict::Flagged, "{name} {label}: {v:#?}");
                assert_eq!(got, violations(kind), "{name} {label}");
            }
            assert_eq!(v.event.name, name);
            assert_eq!(
                v.event.principal,
                format!(
                    "arn:aws:sts::{}:assumed-role/Deploy/alice",
                    account.account_id
                )
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_resource_tagged_within_the_grace_period_is_approved() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let volume = seed(&c, Kind::Volume, "late", false).await;
    let options = Options {
        grace: Duration::from_secs(3),
        apply_tags: false,
    };
    let verdict = {
        let c = c.clone();
        let (account_id, volume) = (account.account_id.clone(), volume.clone());
        tokio::spawn(async move { run(&c, &account_id, "CreateVolume", &volume, options).await })
    };
    // The infrastructure-as-code tool tags it a second after creating it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    c.ec2(PRIMARY_REGION)
        .create_tags()
        .resources(&volume)
        .set_tags(Some(
            GOOD.iter()
                .map(|(k, v)| ec2t::Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    let v = verdict.await.unwrap();
    assert_eq!(v.verdict, Verdict::Approved, "{v:#?}");

    // Without a grace period the same untagged volume is flagged at once.
    let early = seed(&c, Kind::Volume, "early", false).await;
    let v = run(
        &c,
        &account.account_id,
        "CreateVolume",
        &early,
        Options::default(),
    )
    .await;
    assert_eq!(v.verdict, Verdict::Flagged);
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_resource_deleted_before_the_read_is_named_as_gone() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let v = run(
        &c,
        &account.account_id,
        "CreateVolume",
        "vol-0000000000000dead",
        Options::default(),
    )
    .await;
    assert_eq!(v.verdict, Verdict::Ignored, "{v:#?}");
    assert!(v.resources[0].gone);
    assert!(v.reason.unwrap().contains("no longer exists"));
    let v = run(
        &c,
        &account.account_id,
        "PutBucketAcl",
        "no-such-bucket-4242",
        Options::default(),
    )
    .await;
    assert!(v.resources[0].gone, "{v:#?}");
    let v = run(
        &c,
        &account.account_id,
        "PutRolePolicy",
        "no-such-role",
        Options::default(),
    )
    .await;
    assert!(v.resources[0].gone, "{v:#?}");
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn apply_tags_sets_owner_created_at_and_compliance_status_from_the_event() {
    let (_emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let volume = seed(&c, Kind::Volume, "fresh", false).await;
    let options = Options {
        grace: Duration::ZERO,
        apply_tags: true,
    };
    let v = run(&c, &account.account_id, "CreateVolume", &volume, options).await;
    let written = v.resources[0].tags_written.clone().unwrap();
    assert_eq!(written["Owner"], "alice");
    assert_eq!(
        written["ComplianceStatus"], "non-compliant",
        "Environment is still missing"
    );
    assert!(written.contains_key("CreatedAt"));
    let out = c
        .ec2(PRIMARY_REGION)
        .describe_volumes()
        .volume_ids(&volume)
        .send()
        .await
        .unwrap();
    let tags: std::collections::BTreeMap<&str, &str> = out.volumes()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags["Owner"], "alice");
    assert_eq!(tags["CreatedAt"], written["CreatedAt"]);
    assert_eq!(tags["ComplianceStatus"], "non-compliant");

    // An existing Owner is never overwritten: a second delivery writes nothing new.
    let again = run(&c, &account.account_id, "CreateVolume", &volume, options).await;
    assert_eq!(again.resources[0].tags_written, None, "{again:#?}");
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn a_denied_read_is_not_evaluated_never_approved() {
    use infraqa_tests::fault_proxy::{Fault, FaultAction, FaultProxy};
    let (emulator, account) = fresh_account().await;
    let c = account.clients().await;
    let volume = seed(&c, Kind::Volume, "denied", true).await;
    let bucket = seed(
        &c,
        Kind::Bucket,
        &format!("denied-{}", account.account_id),
        true,
    )
    .await;
    let proxy = FaultProxy::start(
        emulator.url(),
        vec![
            Fault::on("DescribeVolumes", FaultAction::AccessDenied),
            Fault::on("GetBucketEncryption", FaultAction::AccessDenied),
        ],
    )
    .await
    .unwrap();
    let mut options = account.options();
    options.endpoint_url = Some(proxy.url().to_owned());
    let denied = AwsClients::load(options).await;

    let v = run(
        &denied,
        &account.account_id,
        "CreateVolume",
        &volume,
        Options::default(),
    )
    .await;
    assert_eq!(v.verdict, Verdict::NotEvaluated, "{v:#?}");
    let unread = v.resources[0].unread.as_ref().unwrap();
    assert_eq!(unread.operation, "DescribeVolumes");
    assert!(!v.resources[0].gone, "a denied listing is not a deletion");
    assert!(v.reason.unwrap().contains("DescribeVolumes"));

    let v = run(
        &denied,
        &account.account_id,
        "PutBucketEncryption",
        &bucket,
        Options::default(),
    )
    .await;
    assert_eq!(v.verdict, Verdict::NotEvaluated, "{v:#?}");
    let rules: BTreeSet<RuleId> = v.resources[0]
        .not_evaluated
        .iter()
        .map(|n| n.rule_id)
        .collect();
    assert_eq!(rules, BTreeSet::from([RuleId::S3Encryption]));
}
