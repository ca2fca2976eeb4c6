//! The adapter of [`infraqa_core::fix`]: reads what a fix depends on ([`read`]) and makes a
//! change ([`write`]). What to change, and whether, is decided in core.

use crate::clients::AwsClients;
use crate::error::AwsError;
use aws_sdk_ec2::types as ec2t;
use aws_sdk_s3::types as s3t;
use infraqa_core::ResourceType;
use infraqa_core::finding::OrphanKind;
use infraqa_core::fix::{
    AddressState, BucketState, Change, GroupState, IngressRule, SnapshotState, State, Subject,
    cloudfront_grants,
};
use infraqa_core::iam::PolicyDocument;
use infraqa_core::model::{BucketEncryption, PublicAccessBlock};
use infraqa_core::observed::Observed;

/// The state a fix of `subject` on `resource_type` `id` (in `region`) depends on, read now:
/// `Read(None)` when the resource no longer exists.
pub async fn read(
    clients: &AwsClients,
    subject: Subject,
    resource_type: &ResourceType,
    id: &str,
    region: &str,
) -> Observed<Option<State>> {
    let ec2 = || clients.ec2(region);
    let read = match resource_type {
        ResourceType::S3Bucket => bucket(&clients.s3(region), id, region).await,
        ResourceType::Ec2SecurityGroup => {
            // Who uses the group matters only to delete it.
            let usage = subject == Subject::Orphan(OrphanKind::SgUnused);
            group(&ec2(), id, region, usage).await
        }
        ResourceType::Ec2ElasticIp => address(&ec2(), id, region).await,
        ResourceType::Ec2Snapshot => snapshot(&ec2(), id, region).await,
        other => Err(problem(
            region,
            "infraqa",
            "Fix",
            "NoFixer",
            format!("no fixer reads a {other}"),
        )),
    };
    match read {
        Ok(state) => Observed::Read(state),
        Err(e) => Observed::failed(e),
    }
}

/// A failed read that is not an AWS error.
fn problem(
    region: &str,
    service: &str,
    operation: &str,
    code: &str,
    message: String,
) -> infraqa_core::ScanError {
    infraqa_core::ScanError {
        region: region.to_owned(),
        service: service.to_owned(),
        operation: operation.to_owned(),
        code: code.to_owned(),
        message,
    }
}

/// What a read answered: the value, `absent` when AWS says the configuration does not exist
/// (`absent_code`), gone when the bucket does not.
enum Answer<T> {
    Value(T),
    Gone,
}

fn answer<T, E, R>(
    result: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    operation: &'static str,
    id: &str,
    region: &str,
    absent_code: &str,
) -> Result<Answer<Option<T>>, infraqa_core::ScanError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Answer::Value(Some(out))),
        Err(e) => {
            let err = AwsError::call("s3", operation, e).naming(&format!("bucket {id}"));
            match err.code() {
                "NoSuchBucket" => Ok(Answer::Gone),
                code if code == absent_code => Ok(Answer::Value(None)),
                _ => Err(err.record(region)),
            }
        }
    }
}

async fn bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    region: &str,
) -> Result<Option<State>, infraqa_core::ScanError> {
    let (enc, block, website, policy, tags) = tokio::join!(
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_website().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
        s3.get_bucket_tagging().bucket(name).send(),
    );
    macro_rules! or_gone {
        ($result:expr, $op:expr, $absent:expr) => {
            match answer($result, $op, name, region, $absent)? {
                Answer::Value(v) => v,
                Answer::Gone => return Ok(None),
            }
        };
    }
    let enc = or_gone!(
        enc,
        "GetBucketEncryption",
        "ServerSideEncryptionConfigurationNotFoundError"
    );
    let block = or_gone!(
        block,
        "GetPublicAccessBlock",
        "NoSuchPublicAccessBlockConfiguration"
    );
    let website = or_gone!(website, "GetBucketWebsite", "NoSuchWebsiteConfiguration");
    let policy = or_gone!(policy, "GetBucketPolicy", "NoSuchBucketPolicy");
    let tags = or_gone!(tags, "GetBucketTagging", "NoSuchTagSet");
    let cloudfront = match policy.as_ref().and_then(|p| p.policy()) {
        None => Vec::new(),
        Some(text) => match PolicyDocument::parse(text) {
            Ok(doc) => cloudfront_grants(&doc),
            Err(e) => {
                return Err(problem(
                    region,
                    "s3",
                    "GetBucketPolicy",
                    "MalformedPolicy",
                    format!("bucket {name}: its policy does not parse: {e}"),
                ));
            }
        },
    };
    Ok(Some(State::Bucket(BucketState {
        encryption: crate::scan::s3::encryption(
            enc.as_ref()
                .and_then(|o| o.server_side_encryption_configuration()),
        ),
        block: block
            .as_ref()
            .and_then(|o| o.public_access_block_configuration())
            .map(|c| {
                crate::scan::s3::flags(
                    c.block_public_acls(),
                    c.ignore_public_acls(),
                    c.block_public_policy(),
                    c.restrict_public_buckets(),
                )
            }),
        website: website.is_some(),
        cloudfront,
        tags: tags
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
    })))
}

/// An EC2 call's error, named, recorded for `region`; `None` when it only says the resource
/// does not exist (`gone_code`).
fn ec2_error<E, R>(
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    operation: &'static str,
    what: &str,
    region: &str,
    gone_code: &str,
) -> Option<infraqa_core::ScanError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let err = AwsError::call("ec2", operation, e).naming(what);
    (err.code() != gone_code).then(|| err.record(region))
}

async fn address(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    region: &str,
) -> Result<Option<State>, infraqa_core::ScanError> {
    let out = match ec2.describe_addresses().allocation_ids(id).send().await {
        Ok(out) => out,
        Err(e) => {
            return match ec2_error(
                e,
                "DescribeAddresses",
                &format!("address {id}"),
                region,
                "InvalidAllocationID.NotFound",
            ) {
                None => Ok(None),
                Some(e) => Err(e),
            };
        }
    };
    Ok(out
        .addresses()
        .iter()
        .find(|a| a.allocation_id() == Some(id))
        .map(|a| {
            State::Address(AddressState {
                allocation_id: id.to_owned(),
                public_ip: a.public_ip().map(str::to_owned),
                association_id: a.association_id().map(str::to_owned),
                tags: crate::scan::ec2::tags(a.tags()).to_map(),
            })
        }))
}

async fn snapshot(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    region: &str,
) -> Result<Option<State>, infraqa_core::ScanError> {
    let what = format!("snapshot {id}");
    let out = match ec2.describe_snapshots().snapshot_ids(id).send().await {
        Ok(out) => out,
        Err(e) => {
            return match ec2_error(
                e,
                "DescribeSnapshots",
                &what,
                region,
                "InvalidSnapshot.NotFound",
            ) {
                None => Ok(None),
                Some(e) => Err(e),
            };
        }
    };
    let Some(snap) = out.snapshots().iter().find(|s| s.snapshot_id() == Some(id)) else {
        return Ok(None);
    };
    let volume_id = snap
        .volume_id()
        .filter(|v| !v.is_empty() && *v != "vol-ffffffff");
    let volume_exists = match volume_id {
        None => false,
        Some(v) => match ec2.describe_volumes().volume_ids(v).send().await {
            Ok(out) => !out.volumes().is_empty(),
            Err(e) => match ec2_error(
                e,
                "DescribeVolumes",
                &what,
                region,
                "InvalidVolume.NotFound",
            ) {
                None => false,
                Some(e) => return Err(e),
            },
        },
    };
    let images = match ec2
        .describe_images()
        .owners("self")
        .filters(
            ec2t::Filter::builder()
                .name("block-device-mapping.snapshot-id")
                .values(id)
                .build(),
        )
        .send()
        .await
    {
        Ok(out) => out
            .images()
            .iter()
            .filter_map(|i| i.image_id().map(str::to_owned))
            .collect(),
        Err(e) => {
            return Err(AwsError::call("ec2", "DescribeImages", e)
                .naming(&what)
                .record(region));
        }
    };
    Ok(Some(State::Snapshot(SnapshotState {
        volume_id: volume_id.map(str::to_owned),
        volume_exists,
        images,
        tags: crate::scan::ec2::tags(snap.tags()).to_map(),
    })))
}

/// The network interfaces that use group `id`, and the groups of `vpc` whose permissions name
/// it.
async fn usage(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    vpc: Option<&str>,
    region: &str,
) -> Result<(Vec<String>, Vec<String>), infraqa_core::ScanError> {
    let what = format!("security group {id}");
    let filter = |name: &str, value: &str| ec2t::Filter::builder().name(name).values(value).build();
    let mut interfaces = Vec::new();
    let mut pages = ec2
        .describe_network_interfaces()
        .filters(filter("group-id", id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::call("ec2", "DescribeNetworkInterfaces", e)
                .naming(&what)
                .record(region)
        })?;
        interfaces.extend(
            page.network_interfaces()
                .iter()
                .filter_map(|n| n.network_interface_id().map(str::to_owned)),
        );
    }
    let mut referenced_by = Vec::new();
    let mut groups = ec2.describe_security_groups();
    if let Some(vpc) = vpc {
        groups = groups.filters(filter("vpc-id", vpc));
    }
    let mut pages = groups.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::call("ec2", "DescribeSecurityGroups", e)
                .naming(&what)
                .record(region)
        })?;
        for g in page.security_groups() {
            let names = g
                .ip_permissions()
                .iter()
                .chain(g.ip_permissions_egress())
                .flat_map(|p| p.user_id_group_pairs())
                .any(|pair| pair.group_id() == Some(id));
            if names && g.group_id() != Some(id) {
                referenced_by.extend(g.group_id().map(str::to_owned));
            }
        }
    }
    interfaces.sort();
    referenced_by.sort();
    Ok((interfaces, referenced_by))
}

async fn group(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    region: &str,
    with_usage: bool,
) -> Result<Option<State>, infraqa_core::ScanError> {
    let out = match ec2.describe_security_groups().group_ids(id).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = AwsError::call("ec2", "DescribeSecurityGroups", e)
                .naming(&format!("security group {id}"));
            if err.code() == "InvalidGroup.NotFound" {
                return Ok(None);
            }
            return Err(err.record(region));
        }
    };
    let Some(g) = out
        .security_groups()
        .iter()
        .find(|g| g.group_id() == Some(id))
    else {
        return Ok(None);
    };
    let mut ingress = Vec::new();
    for p in g.ip_permissions() {
        let rule = |source: &str, description: Option<&str>| IngressRule {
            protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            source: source.to_owned(),
            description: description.map(str::to_owned),
        };
        ingress.extend(
            p.ip_ranges()
                .iter()
                .filter_map(|r| Some(rule(r.cidr_ip()?, r.description()))),
        );
        ingress.extend(
            p.ipv6_ranges()
                .iter()
                .filter_map(|r| Some(rule(r.cidr_ipv6()?, r.description()))),
        );
        ingress.extend(
            p.prefix_list_ids()
                .iter()
                .filter_map(|r| Some(rule(r.prefix_list_id()?, r.description()))),
        );
        ingress.extend(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|r| Some(rule(r.group_id()?, r.description()))),
        );
    }
    ingress.sort();
    let (interfaces, referenced_by) = if with_usage {
        let (i, r) = usage(ec2, id, g.vpc_id(), region).await?;
        (Some(i), Some(r))
    } else {
        (None, None)
    };
    Ok(Some(State::Group(GroupState {
        name: g.group_name().unwrap_or_default().to_owned(),
        ingress,
        interfaces,
        referenced_by,
        tags: crate::scan::ec2::tags(g.tags()).to_map(),
    })))
}

/// One IPv4 or IPv6 source as the permission EC2 takes (a revoke or an authorisation).
fn permission(r: &IngressRule) -> ec2t::IpPermission {
    let p = ec2t::IpPermission::builder()
        .ip_protocol(&r.protocol)
        .set_from_port(r.from_port)
        .set_to_port(r.to_port);
    if r.source.contains(':') {
        p.ipv6_ranges(
            ec2t::Ipv6Range::builder()
                .cidr_ipv6(&r.source)
                .set_description(r.description.clone())
                .build(),
        )
        .build()
    } else {
        p.ip_ranges(
            ec2t::IpRange::builder()
                .cidr_ip(&r.source)
                .set_description(r.description.clone())
                .build(),
        )
        .build()
    }
}

/// Makes `change` on `resource_type` `id` in `region`.
pub async fn write(
    clients: &AwsClients,
    change: &Change,
    id: &str,
    region: &str,
) -> Result<(), AwsError> {
    // Sends a request; its error names the call and the resource.
    macro_rules! send {
        ($request:expr, $service:literal, $operation:literal, $what:literal) => {
            $request.send().await.map(drop).map_err(|e| {
                AwsError::call($service, $operation, e).naming(&format!("{} {id}", $what))
            })
        };
    }
    let (s3, ec2) = (|| clients.s3(region), || clients.ec2(region));
    match change {
        Change::Encryption {
            to: BucketEncryption::None,
        } => send!(
            s3().delete_bucket_encryption().bucket(id),
            "s3",
            "DeleteBucketEncryption",
            "bucket"
        ),
        Change::Encryption { to } => {
            let (algorithm, key) = match to {
                BucketEncryption::SseKms { key_id } => {
                    (s3t::ServerSideEncryption::AwsKms, key_id.clone())
                }
                BucketEncryption::SseKmsDsse { key_id } => {
                    (s3t::ServerSideEncryption::AwsKmsDsse, key_id.clone())
                }
                _ => (s3t::ServerSideEncryption::Aes256, None),
            };
            let default = s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(algorithm)
                .set_kms_master_key_id(key)
                .build()
                .map_err(|e| build_error(&e))?;
            let config = s3t::ServerSideEncryptionConfiguration::builder()
                .rules(
                    s3t::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(default)
                        .build(),
                )
                .build()
                .map_err(|e| build_error(&e))?;
            send!(
                s3().put_bucket_encryption()
                    .bucket(id)
                    .server_side_encryption_configuration(config),
                "s3",
                "PutBucketEncryption",
                "bucket"
            )
        }
        Change::PublicAccessBlock { to: None } => send!(
            s3().delete_public_access_block().bucket(id),
            "s3",
            "DeletePublicAccessBlock",
            "bucket"
        ),
        Change::PublicAccessBlock { to: Some(b) } => send!(
            s3().put_public_access_block()
                .bucket(id)
                .public_access_block_configuration(block(*b)),
            "s3",
            "PutPublicAccessBlock",
            "bucket"
        ),
        Change::RevokeIngress { rules } => send!(
            ec2()
                .revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(rules.iter().map(permission).collect())),
            "ec2",
            "RevokeSecurityGroupIngress",
            "security group"
        ),
        Change::AuthorizeIngress { rules } => send!(
            ec2()
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(rules.iter().map(permission).collect())),
            "ec2",
            "AuthorizeSecurityGroupIngress",
            "security group"
        ),
        Change::DeleteGroup => send!(
            ec2().delete_security_group().group_id(id),
            "ec2",
            "DeleteSecurityGroup",
            "security group"
        ),
        Change::ReleaseAddress => send!(
            ec2().release_address().allocation_id(id),
            "ec2",
            "ReleaseAddress",
            "address"
        ),
        Change::DeleteSnapshot => send!(
            ec2().delete_snapshot().snapshot_id(id),
            "ec2",
            "DeleteSnapshot",
            "snapshot"
        ),
    }
}

/// A request the SDK would not build (a required field missing): never sent.
fn build_error(e: &aws_sdk_s3::error::BuildError) -> AwsError {
    AwsError::Call {
        service: "s3",
        operation: "PutBucketEncryption",
        code: "InvalidRequest".into(),
        message: e.to_string(),
        retryable: false,
        cause: Box::new(std::io::Error::other(e.to_string())),
    }
}

fn block(b: PublicAccessBlock) -> s3t::PublicAccessBlockConfiguration {
    s3t::PublicAccessBlockConfiguration::builder()
        .block_public_acls(b.block_public_acls)
        .ignore_public_acls(b.ignore_public_acls)
        .block_public_policy(b.block_public_policy)
        .restrict_public_buckets(b.restrict_public_buckets)
        .build()
}
