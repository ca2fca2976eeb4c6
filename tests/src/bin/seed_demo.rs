//! `infraqa-seed-demo`: seeds the demo estate into the AWS endpoint the standard chain (or
//! `--endpoint-url`) points at, writes the matching policy, and lists what it created.
//!
//! It refuses to run without an endpoint override: the demo estate is for an emulator, never
//! for a real account.

use anyhow::{Context, bail};
use aws_credential_types::Credentials;
use infraqa_aws::{AwsClients, AwsOptions};
use infraqa_tests::seed::{Expect, seed_demo_estate};
use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    // The emulator accepts any credentials; these act in its default account.
    let mut options = AwsOptions {
        region: Some("us-east-1".into()),
        credentials: Some(Credentials::new(
            "emulator",
            "emulator",
            None,
            None,
            "infraqa-demo",
        )),
        ..AwsOptions::default()
    };
    let mut policy_out: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--endpoint-url" => options.endpoint_url = args.next(),
            "--write-policy" => policy_out = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: infraqa-seed-demo [--endpoint-url URL] [--write-policy FILE]");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`; see --help"),
        }
    }
    let clients = AwsClients::load(options).await;
    let Some(endpoint) = clients.endpoint_override().map(str::to_owned) else {
        bail!(
            "no endpoint override: set AWS_ENDPOINT_URL or pass --endpoint-url (the demo estate is for an emulator only)"
        );
    };
    let estate = seed_demo_estate(&clients)
        .await
        .context("seeding the demo estate")?;
    if let Some(path) = policy_out {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, estate.policy_toml())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote the demo policy to {}", path.display());
    }

    // Prove the wiring with the same client factory the CLI uses.
    let account = clients
        .account_id()
        .await
        .context("reading the account id")?;
    let buckets = clients
        .s3("us-east-1")
        .list_buckets()
        .send()
        .await
        .context("listing buckets")?;
    println!("seeded account {account} at {endpoint}");
    println!(
        "{:<20} {:<10} {:<32} {:<24} expectations",
        "type", "region", "id", "name"
    );
    for r in &estate.resources {
        let expect = r
            .expect
            .iter()
            .map(|e| match e {
                Expect::Finding(rule) => rule.to_string(),
                Expect::Exempted(rule) => format!("{rule} (exempted)"),
                Expect::Orphan(kind) => format!("orphan {kind}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let default = if r.aws_default { " (AWS default)" } else { "" };
        println!(
            "{:<20} {:<10} {:<32} {:<24} {expect}",
            r.resource_type.as_str(),
            r.region,
            r.id,
            format!("{}{default}", r.name)
        );
    }
    for (rule, region) in &estate.account_findings {
        println!("account-level: {rule} in {region}");
    }
    for u in &estate.usage {
        let saving = u
            .saving
            .map(|s| format!(", saves ${s:.2}/month"))
            .unwrap_or_default();
        println!(
            "usage planted: {:<18} {:<10} {:<32} {}{saving}",
            u.name, u.region, u.id, u.verdict
        );
    }
    println!(
        "{} resources ({} buckets listed by S3), {} terminated instance(s) that must not be inventoried",
        estate.resources.len(),
        buckets.buckets().len(),
        estate.absent_ids.len()
    );
    Ok(())
}
