//! The CLI's client factory against a seeded emulator: endpoint override, credentials,
//! path-style S3, the S3 Control endpoint fix, error mapping and the rate limiter.

use crate::fresh_account;
use clap::Parser;
use infraqa_aws::{AwsClients, AwsError, RateLimit, Service};
use infraqa_cli::Cli;
use infraqa_core::ResourceType;
use infraqa_tests::emulator::{Emulator, TestAccount};
use infraqa_tests::seed::{PRIMARY_REGION, seed_demo_estate};
use std::time::{Duration, Instant};

/// The factory exactly as `infraqa --endpoint-url URL --region us-east-1 ...` builds it, acting
/// in the test's account.
async fn cli_factory(emulator: &Emulator, account: &TestAccount, extra: &[&str]) -> AwsClients {
    let mut argv = vec![
        "infraqa",
        "--endpoint-url",
        emulator.url(),
        "--region",
        PRIMARY_REGION,
    ];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(&["policy", "check", "unused.toml"]);
    let cli = Cli::try_parse_from(argv).unwrap();
    let mut options = cli.global.aws_options();
    options.credentials = Some(account.credentials.clone());
    AwsClients::load(options).await
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_cli_factory_reads_the_account_and_lists_the_seeded_buckets() {
    let (emulator, account) = fresh_account().await;
    let estate = seed_demo_estate(&account.clients().await).await.unwrap();

    let clients = cli_factory(&emulator, &account, &[]).await;
    assert_eq!(clients.endpoint_override(), Some(emulator.url()));
    assert_eq!(clients.account_id().await.unwrap(), account.account_id);

    let listed = clients
        .s3(PRIMARY_REGION)
        .list_buckets()
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    names.sort_unstable();
    let mut seeded: Vec<&str> = estate
        .resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::S3Bucket)
        .map(|r| r.id.as_str())
        .collect();
    seeded.sort_unstable();
    assert_eq!(names, seeded);
    assert_eq!(names.len(), 10);

    // Path-style addressing reaches a bucket by name through the override.
    let first = seeded[0];
    clients
        .s3(PRIMARY_REGION)
        .head_bucket()
        .bucket(first)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn accounts_are_isolated_from_each_other() {
    let (emulator, a) = fresh_account().await;
    let b = emulator.fresh_account().await.unwrap();
    assert_ne!(a.account_id, b.account_id);
    let a_clients = a.clients().await;
    a_clients
        .s3(PRIMARY_REGION)
        .create_bucket()
        .bucket(format!("isolation-{}", a.account_id))
        .send()
        .await
        .unwrap();
    let seen_by_b = b
        .clients()
        .await
        .s3(PRIMARY_REGION)
        .list_buckets()
        .send()
        .await
        .unwrap();
    assert!(seen_by_b.buckets().is_empty(), "{:?}", seen_by_b.buckets());
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn s3_control_reaches_the_emulator_without_the_account_host_prefix() {
    use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
    let (emulator, account) = fresh_account().await;
    let clients = cli_factory(&emulator, &account, &[]).await;
    let s3control = clients.s3control().unwrap();

    // Before any configuration: the service answers (not a DNS failure for
    // `<account>.127.0.0.1`) with the documented error code.
    let err = s3control
        .get_public_access_block()
        .account_id(&account.account_id)
        .send()
        .await
        .map_err(|e| AwsError::call("s3control", "GetPublicAccessBlock", e))
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchPublicAccessBlockConfiguration", "{err}");

    s3control
        .put_public_access_block()
        .account_id(&account.account_id)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = s3control
        .get_public_access_block()
        .account_id(&account.account_id)
        .send()
        .await
        .unwrap();
    let config = got.public_access_block_configuration().unwrap();
    assert_eq!(config.block_public_acls(), Some(true));
    assert_eq!(config.restrict_public_buckets(), Some(true));
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn an_api_the_emulator_cannot_serve_is_a_typed_error_not_a_crash() {
    let (emulator, account) = fresh_account().await;
    // Few attempts: the emulator's HTTP 500 is retried as a transient server error.
    let clients = cli_factory(&emulator, &account, &["--max-attempts", "2"]).await;
    let err = clients
        .cloudtrail(PRIMARY_REGION)
        .lookup_events()
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail", "LookupEvents", e))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cloudtrail LookupEvents failed"), "{text}");
    assert!(matches!(err, AwsError::Call { .. }));
}

#[tokio::test]
#[ignore = "needs the emulator: run `make test`"]
async fn the_rate_limit_spaces_requests_to_one_service() {
    let (emulator, account) = fresh_account().await;
    let clients = cli_factory(&emulator, &account, &["--rate-limit", "ec2=4"]).await;
    let ec2 = clients.ec2(PRIMARY_REGION);
    // A burst of 4 passes at once; each of the next 4 waits 250 ms for a token. The bound
    // is a floor (the limiter cannot be faster), so a slow machine cannot make this flaky.
    let start = Instant::now();
    for _ in 0..8 {
        ec2.describe_vpcs().send().await.unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );

    // Another service is not held back by EC2's limiter.
    let mut options = account.options();
    options
        .rate_limits
        .insert(Service::Ec2, RateLimit::per_second(1));
    let limited = AwsClients::load(options).await;
    let start = Instant::now();
    limited
        .ec2(PRIMARY_REGION)
        .describe_vpcs()
        .send()
        .await
        .unwrap();
    limited
        .s3(PRIMARY_REGION)
        .list_buckets()
        .send()
        .await
        .unwrap();
    limited
        .s3(PRIMARY_REGION)
        .list_buckets()
        .send()
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
}
