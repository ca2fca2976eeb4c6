//! The CIS estate: in the primary region, one planted violation of each CIS AWS Foundations
//! control infraqa decides from the emulator, and a compliant twin of each.

use crate::seed::{
    APPROVED_BY_ID_AMI, PRIMARY_REGION, SECONDARY_REGION, block_all_public_access, create_bucket,
    tcp,
};
use crate::{KitError, Step};
use aws_sdk_cloudtrail::types as ctt;
use aws_sdk_ec2::types as ec2t;
use infraqa_aws::AwsClients;
use infraqa_core::RuleId;

/// What the CIS estate holds: per control rule, the ids of the resources that must fail it
/// and of those that must pass it.
#[derive(Debug, Clone, Default)]
pub struct CisEstate {
    /// The account.
    pub account_id: String,
    /// (rule, resource id) pairs that must be findings.
    pub failing: Vec<(RuleId, String)>,
    /// (rule, resource id) pairs that must pass.
    pub passing: Vec<(RuleId, String)>,
    /// (rule, region) pairs of account-level findings there must be (region `global` for the
    /// account as a whole).
    pub account_failing: Vec<(RuleId, String)>,
    /// (rule, region) pairs of account-level units that must pass.
    pub account_passing: Vec<(RuleId, String)>,
    /// (rule, user ARN) pairs that must be findings about a user.
    pub user_failing: Vec<(RuleId, String)>,
    /// (rule, user ARN) pairs that must pass.
    pub user_passing: Vec<(RuleId, String)>,
    /// The server certificates that must fail 2.17.
    pub certificate_failing: Vec<String>,
    /// (rule, ARN) pairs of what the account's lists hold (attached policies, file systems,
    /// KMS keys, network ACLs) that must be findings.
    pub listed_failing: Vec<(RuleId, String)>,
    /// (rule, ARN) pairs of listed items that must pass.
    pub listed_passing: Vec<(RuleId, String)>,
}

impl CisEstate {
    fn fails(&mut self, id: &str, rules: &[RuleId]) {
        self.failing
            .extend(rules.iter().map(|r| (*r, id.to_owned())));
    }

    fn passes(&mut self, id: &str, rules: &[RuleId]) {
        self.passing
            .extend(rules.iter().map(|r| (*r, id.to_owned())));
    }
}

const RDS_RULES: [RuleId; 3] = [
    RuleId::RdsEncryption,
    RuleId::RdsAutoMinorUpgrade,
    RuleId::RdsPublicAccess,
];
const TRAIL_RULES: [RuleId; 2] = [RuleId::CloudtrailLogValidation, RuleId::CloudtrailKms];

/// Seeds the CIS estate into the account `clients` act in.
pub async fn seed_cis_estate(clients: &AwsClients) -> Result<CisEstate, KitError> {
    let account_id = clients
        .sts()
        .map_err(|e| KitError::missing(e.to_string()))?
        .get_caller_identity()
        .send()
        .await
        .step("reading the account")?
        .account
        .unwrap_or_default();
    let mut estate = CisEstate {
        account_id: account_id.clone(),
        ..CisEstate::default()
    };
    let logs = format!("cis-logs-{account_id}");
    let s3 = private_bucket(clients, &logs, &mut estate).await?;
    // The logs bucket refuses plain HTTP; the dark bucket (see `trails`) does not.
    s3.put_bucket_policy()
        .bucket(&logs)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{logs}","arn:aws:s3:::{logs}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
        ))
        .send()
        .await
        .step(format!("denying plain HTTP to {logs}"))?;
    estate.passes(&logs, &[RuleId::S3SecureTransport]);
    databases(clients, &mut estate).await?;
    trails(clients, &logs, &mut estate).await?;
    network(clients, &logs, &mut estate).await?;
    aws_defaults(clients, SECONDARY_REGION, &mut estate, None).await?;
    regional_settings(clients, &mut estate).await?;
    recorders(clients, &logs, &mut estate).await?;
    keys_and_file_systems(clients, &mut estate).await?;
    admin_policies(clients, &mut estate).await?;
    for region in [PRIMARY_REGION, SECONDARY_REGION] {
        default_acls(clients, region, &mut estate).await?;
    }
    // A fresh account has no password policy; the emulator's summary shows no root key and no
    // root MFA device, whatever is done (the other sides are the collector's mocked tests).
    estate.account_failing.extend([
        (RuleId::IamPasswordLength, "global".to_owned()),
        (RuleId::IamPasswordReuse, "global".to_owned()),
        (RuleId::RootMfa, "global".to_owned()),
    ]);
    estate
        .account_passing
        .push((RuleId::RootAccessKeys, "global".to_owned()));
    // No role holds AWSSupportAccess yet (the test attaches it before its second run).
    estate
        .account_failing
        .push((RuleId::IamSupportRole, "global".to_owned()));
    Ok(estate)
}

/// EBS encryption by default and Security Hub: off in the primary region, on in the
/// secondary.
async fn regional_settings(clients: &AwsClients, estate: &mut CisEstate) -> Result<(), KitError> {
    clients
        .ec2(SECONDARY_REGION)
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .step("enabling EBS encryption by default")?;
    clients
        .securityhub(SECONDARY_REGION)
        .enable_security_hub()
        .send()
        .await
        .step("enabling Security Hub")?;
    for rule in [RuleId::EbsDefaultEncryption, RuleId::SecurityhubEnabled] {
        estate
            .account_failing
            .push((rule, PRIMARY_REGION.to_owned()));
        estate
            .account_passing
            .push((rule, SECONDARY_REGION.to_owned()));
    }
    Ok(())
}

/// A bucket of the primary region blocking public access (passes 3.1.4), and its client.
async fn private_bucket(
    clients: &AwsClients,
    name: &str,
    estate: &mut CisEstate,
) -> Result<aws_sdk_s3::Client, KitError> {
    let s3 = clients.s3(PRIMARY_REGION);
    create_bucket(&s3, name, PRIMARY_REGION).await?;
    s3.put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(block_all_public_access())
        .send()
        .await
        .step(format!("blocking public access to {name}"))?;
    estate.passes(name, &[RuleId::S3PublicAccess]);
    Ok(s3)
}

/// What AWS creates in `region` fails as it is: the default VPC has no flow log, and each
/// VPC's default group allows its members in and everything out. The default group of
/// `closed` (a VPC of the estate's own) has its rules removed, and passes.
async fn aws_defaults(
    clients: &AwsClients,
    region: &str,
    estate: &mut CisEstate,
    closed: Option<&str>,
) -> Result<(), KitError> {
    let ec2 = clients.ec2(region);
    let named = |name: &str, value: &str| ec2t::Filter::builder().name(name).values(value).build();
    let vpcs = ec2
        .describe_vpcs()
        .filters(named("is-default", "true"))
        .send()
        .await
        .step(format!("listing the default VPC of {region}"))?;
    for id in vpcs.vpcs().iter().filter_map(|v| v.vpc_id()) {
        estate.fails(id, &[RuleId::VpcFlowLogs]);
    }
    let groups = ec2
        .describe_security_groups()
        .filters(named("group-name", "default"))
        .send()
        .await
        .step(format!("listing the default security groups of {region}"))?;
    for g in groups.security_groups() {
        let Some(id) = g.group_id() else { continue };
        if g.vpc_id().is_none() || g.vpc_id() != closed {
            estate.fails(id, &[RuleId::SgDefaultClosed]);
            continue;
        }
        if !g.ip_permissions().is_empty() {
            ec2.revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(g.ip_permissions().to_vec()))
                .send()
                .await
                .step("closing a default group to inbound traffic")?;
        }
        if !g.ip_permissions_egress().is_empty() {
            ec2.revoke_security_group_egress()
                .group_id(id)
                .set_ip_permissions(Some(g.ip_permissions_egress().to_vec()))
                .send()
                .await
                .step("closing a default group to outbound traffic")?;
        }
        estate.passes(id, &[RuleId::SgDefaultClosed]);
    }
    Ok(())
}

async fn databases(clients: &AwsClients, estate: &mut CisEstate) -> Result<(), KitError> {
    let rds = clients.rds(PRIMARY_REGION);
    for (id, sealed) in [("cis-db-exposed", false), ("cis-db-sealed", true)] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .master_username("infraqa")
            .master_user_password("demo-password-1")
            .allocated_storage(20)
            .storage_encrypted(sealed)
            .publicly_accessible(!sealed)
            .auto_minor_version_upgrade(sealed)
            .send()
            .await
            .step(format!("creating RDS instance {id}"))?;
        if sealed {
            estate.passes(id, &RDS_RULES);
        } else {
            estate.fails(id, &RDS_RULES);
        }
    }
    Ok(())
}

async fn trails(
    clients: &AwsClients,
    bucket: &str,
    estate: &mut CisEstate,
) -> Result<(), KitError> {
    let ct = clients.cloudtrail(PRIMARY_REGION);
    let key = format!(
        "arn:aws:kms:{PRIMARY_REGION}:{}:key/0b6bd6f4-3a7e-4c5e-9d0c-5f1a2b3c4d5e",
        estate.account_id
    );
    for (name, sealed) in [("cis-trail-plain", false), ("cis-trail-sealed", true)] {
        ct.create_trail()
            .name(name)
            .s3_bucket_name(bucket)
            .is_multi_region_trail(true)
            .enable_log_file_validation(sealed)
            .set_kms_key_id(sealed.then(|| key.clone()))
            .send()
            .await
            .step(format!("creating trail {name}"))?;
        if sealed {
            estate.passes(name, &TRAIL_RULES);
        } else {
            estate.fails(name, &TRAIL_RULES);
        }
    }
    // The sealed trail logs every bucket's object reads, but the writes of the logs bucket
    // only: the primary region's other bucket has no write events.
    ct.put_event_selectors()
        .trail_name("cis-trail-sealed")
        .event_selectors(cloudtrail_selector(
            ctt::ReadWriteType::WriteOnly,
            format!("arn:aws:s3:::{bucket}/"),
        ))
        .event_selectors(cloudtrail_selector(
            ctt::ReadWriteType::ReadOnly,
            "arn:aws:s3".to_owned(),
        ))
        .send()
        .await
        .step("selecting the sealed trail's data events")?;
    ct.start_logging()
        .name("cis-trail-sealed")
        .send()
        .await
        .step("starting the sealed trail")?;
    let dark = format!("cis-dark-{}", estate.account_id);
    private_bucket(clients, &dark, estate).await?;
    estate.fails(&dark, &[RuleId::S3SecureTransport]);
    estate
        .account_failing
        .push((RuleId::S3DataEventsWrite, PRIMARY_REGION.to_owned()));
    estate.account_passing.extend([
        (RuleId::S3DataEventsRead, PRIMARY_REGION.to_owned()),
        (RuleId::S3DataEventsWrite, SECONDARY_REGION.to_owned()),
    ]);
    Ok(())
}

/// A basic event selector of S3 object events of `kind` for `prefix`.
fn cloudtrail_selector(kind: ctt::ReadWriteType, prefix: String) -> ctt::EventSelector {
    ctt::EventSelector::builder()
        .read_write_type(kind)
        .include_management_events(true)
        .data_resources(
            ctt::DataResource::builder()
                .r#type("AWS::S3::Object")
                .values(prefix)
                .build(),
        )
        .build()
}

/// The region's default VPC and every VPC's default group fail unless fixed, as AWS makes
/// them: the default VPC has no flow log, and a default group allows its members in and
/// everything out.
async fn network(
    clients: &AwsClients,
    bucket: &str,
    estate: &mut CisEstate,
) -> Result<(), KitError> {
    let ec2 = clients.ec2(PRIMARY_REGION);
    let vpc = |cidr: &'static str| {
        let ec2 = ec2.clone();
        async move {
            let out = ec2
                .create_vpc()
                .cidr_block(cidr)
                .send()
                .await
                .step(format!("creating VPC {cidr}"))?;
            Ok::<_, KitError>(out.vpc.and_then(|v| v.vpc_id).unwrap_or_default())
        }
    };
    let dark = vpc("10.20.0.0/16").await?;
    let watched = vpc("10.21.0.0/16").await?;
    ec2.create_flow_logs()
        .resource_type(ec2t::FlowLogsResourceType::Vpc)
        .resource_ids(&watched)
        .traffic_type(ec2t::TrafficType::Reject)
        .log_destination_type(ec2t::LogDestinationType::S3)
        .log_destination(format!("arn:aws:s3:::{bucket}"))
        .send()
        .await
        .step("creating the flow log of the watched VPC")?;
    estate.fails(&dark, &[RuleId::VpcFlowLogs]);
    estate.passes(&watched, &[RuleId::VpcFlowLogs]);

    aws_defaults(clients, PRIMARY_REGION, estate, Some(&watched)).await?;

    let ports = [
        RuleId::SgAdminPortsIpv4,
        RuleId::SgAdminPortsIpv6,
        RuleId::SgCifsIngress,
    ];
    let world4 = ["0.0.0.0/0"];
    let world6 = ["::/0"];
    let groups: [(&str, Vec<ec2t::IpPermission>, Option<RuleId>); 4] = [
        (
            "cis-ssh-world",
            vec![tcp(22, 22, &world4, &[])],
            Some(RuleId::SgAdminPortsIpv4),
        ),
        (
            "cis-rdp-world6",
            vec![tcp(3389, 3389, &[], &world6)],
            Some(RuleId::SgAdminPortsIpv6),
        ),
        (
            "cis-cifs-world",
            vec![tcp(445, 445, &world4, &world6)],
            Some(RuleId::SgCifsIngress),
        ),
        (
            "cis-admin-known",
            vec![
                tcp(22, 22, &["10.0.0.0/8"], &[]),
                tcp(3389, 3389, &[], &["2001:db8::/32"]),
                tcp(445, 445, &["10.0.0.0/8"], &[]),
                tcp(443, 443, &world4, &world6),
            ],
            None,
        ),
    ];
    for (name, ingress, fails) in groups {
        let id = ec2
            .create_security_group()
            .group_name(name)
            .description(format!("infraqa CIS estate: {name}"))
            .vpc_id(&watched)
            .send()
            .await
            .step(format!("creating security group {name}"))?
            .group_id
            .unwrap_or_default();
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(ingress))
            .send()
            .await
            .step(format!("authorising ingress on {name}"))?;
        for rule in ports {
            if Some(rule) == fails {
                estate.fails(&id, &[rule]);
            } else {
                estate.passes(&id, &[rule]);
            }
        }
    }

    let subnet = ec2
        .create_subnet()
        .vpc_id(&watched)
        .cidr_block("10.21.1.0/24")
        .availability_zone(format!("{PRIMARY_REGION}a"))
        .send()
        .await
        .step("creating the watched VPC's subnet")?
        .subnet
        .and_then(|s| s.subnet_id)
        .unwrap_or_default();
    acls(clients, &watched, estate).await?;
    let profile = instance_profile(clients).await?;
    users(clients, estate).await?;
    for (tokens, passes) in [
        (ec2t::HttpTokensState::Optional, false),
        (ec2t::HttpTokensState::Required, true),
    ] {
        let id = ec2
            .run_instances()
            .image_id(APPROVED_BY_ID_AMI)
            .instance_type(ec2t::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .subnet_id(&subnet)
            .metadata_options(
                ec2t::InstanceMetadataOptionsRequest::builder()
                    .http_tokens(tokens.clone())
                    .http_endpoint(ec2t::InstanceMetadataEndpointState::Enabled)
                    .build(),
            )
            .set_iam_instance_profile(passes.then(|| {
                ec2t::IamInstanceProfileSpecification::builder()
                    .name(&profile)
                    .build()
            }))
            .send()
            .await
            .step(format!("running an instance with HttpTokens {tokens}"))?
            .instances
            .and_then(|i| i.into_iter().next())
            .and_then(|i| i.instance_id)
            .unwrap_or_default();
        let rules = [RuleId::Ec2Imdsv2, RuleId::Ec2InstanceRole];
        if passes {
            estate.passes(&id, &rules);
        } else {
            estate.fails(&id, &rules);
        }
    }
    Ok(())
}

/// A console user without MFA (fails 2.10) and a user with a fresh access key only (passes
/// 2.10 to 2.12; the emulator cannot age a credential, so the other sides of 2.11 and 2.12 are
/// unit tests).
async fn users(clients: &AwsClients, estate: &mut CisEstate) -> Result<(), KitError> {
    let iam = clients
        .iam()
        .map_err(|e| KitError::missing(e.to_string()))?;
    for name in ["cis-console", "cis-keys"] {
        iam.create_user()
            .user_name(name)
            .send()
            .await
            .step(format!("creating user {name}"))?;
    }
    iam.create_login_profile()
        .user_name("cis-console")
        .password("Demo-password-1234!")
        .send()
        .await
        .step("giving cis-console a console password")?;
    iam.create_access_key()
        .user_name("cis-keys")
        .send()
        .await
        .step("giving cis-keys an access key")?;
    // cis-console holds a policy of its own (fails 2.13); cis-keys holds none.
    iam.attach_user_policy()
        .user_name("cis-console")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .step("attaching a policy to cis-console")?;
    // The emulator gives every certificate an expiration in 2012: the failing side only (the
    // other is a unit test).
    iam.upload_server_certificate()
        .server_certificate_name("cis-old-certificate")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----")
        .send()
        .await
        .step("uploading a server certificate")?;
    estate.certificate_failing.push(format!(
        "arn:aws:iam::{}:server-certificate/cis-old-certificate",
        estate.account_id
    ));
    let arn = |name: &str| format!("arn:aws:iam::{}:user/{name}", estate.account_id);
    let fresh = [RuleId::IamUnusedCredentials, RuleId::IamAccessKeyRotation];
    estate.user_failing.extend([
        (RuleId::IamUserMfa, arn("cis-console")),
        (RuleId::IamUserPolicies, arn("cis-console")),
    ]);
    estate
        .user_passing
        .extend(fresh.iter().map(|r| (*r, arn("cis-console"))));
    estate.user_passing.extend(
        [RuleId::IamUserMfa, RuleId::IamUserPolicies]
            .iter()
            .chain(&fresh)
            .map(|r| (*r, arn("cis-keys"))),
    );
    Ok(())
}

/// An instance profile holding a role EC2 may assume: its name.
async fn instance_profile(clients: &AwsClients) -> Result<String, KitError> {
    let iam = clients
        .iam()
        .map_err(|e| KitError::missing(e.to_string()))?;
    let name = "cis-instance-role";
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .step("creating the instance role")?;
    iam.create_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .step("creating the instance profile")?;
    iam.add_role_to_instance_profile()
        .instance_profile_name(name)
        .role_name(name)
        .send()
        .await
        .step("adding the role to the instance profile")?;
    Ok(name.to_owned())
}

/// AWS Config: a recorder of every supported type recording in the secondary region (passes
/// 4.3), none in the primary (fails).
async fn recorders(
    clients: &AwsClients,
    bucket: &str,
    estate: &mut CisEstate,
) -> Result<(), KitError> {
    use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
    let config = clients.config(SECONDARY_REGION);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!(
                    "arn:aws:iam::{}:role/aws-config",
                    estate.account_id
                ))
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .step("creating the Config recorder")?;
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .step("creating the Config delivery channel")?;
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .step("starting the Config recorder")?;
    estate
        .account_failing
        .push((RuleId::ConfigRecorderEnabled, PRIMARY_REGION.to_owned()));
    estate
        .account_passing
        .push((RuleId::ConfigRecorderEnabled, SECONDARY_REGION.to_owned()));
    Ok(())
}

/// In the primary region: a KMS key that rotates and one that does not (4.6), an encrypted
/// EFS file system and one that is not (3.3.1).
async fn keys_and_file_systems(
    clients: &AwsClients,
    estate: &mut CisEstate,
) -> Result<(), KitError> {
    let kms = clients.kms(PRIMARY_REGION);
    for rotates in [true, false] {
        let key = kms
            .create_key()
            .description(format!("infraqa CIS estate, rotation {rotates}"))
            .send()
            .await
            .step("creating a KMS key")?
            .key_metadata
            .ok_or_else(|| KitError::missing("CreateKey returned no key".to_owned()))?;
        if rotates {
            kms.enable_key_rotation()
                .key_id(&key.key_id)
                .send()
                .await
                .step("enabling key rotation")?;
        }
        let arn = key.arn.unwrap_or_default();
        let into = if rotates {
            &mut estate.listed_passing
        } else {
            &mut estate.listed_failing
        };
        into.push((RuleId::KmsKeyRotation, arn));
    }
    let efs = clients.efs(PRIMARY_REGION);
    for encrypted in [true, false] {
        let fs = efs
            .create_file_system()
            .creation_token(format!("cis-encrypted-{encrypted}"))
            .encrypted(encrypted)
            .send()
            .await
            .step("creating an EFS file system")?;
        let arn = fs.file_system_arn.unwrap_or_default();
        let into = if encrypted {
            &mut estate.listed_passing
        } else {
            &mut estate.listed_failing
        };
        into.push((RuleId::EfsEncryption, arn));
    }
    Ok(())
}

/// A group holding a customer-managed policy allowing `*` on `*` (fails 2.14) and one
/// allowing a single read (passes).
async fn admin_policies(clients: &AwsClients, estate: &mut CisEstate) -> Result<(), KitError> {
    let iam = clients
        .iam()
        .map_err(|e| KitError::missing(e.to_string()))?;
    let group = "cis-operators";
    iam.create_group()
        .group_name(group)
        .send()
        .await
        .step("creating the operators group")?;
    for (name, document, admin) in [
        (
            "cis-full-admin",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            true,
        ),
        (
            "cis-read-logs",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:GetLogEvents","Resource":"*"}]}"#,
            false,
        ),
    ] {
        let arn = iam
            .create_policy()
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .step(format!("creating policy {name}"))?
            .policy
            .and_then(|p| p.arn)
            .unwrap_or_default();
        iam.attach_group_policy()
            .group_name(group)
            .policy_arn(&arn)
            .send()
            .await
            .step(format!("attaching {name}"))?;
        let into = if admin {
            &mut estate.listed_failing
        } else {
            &mut estate.listed_passing
        };
        into.push((RuleId::IamFullAdminPolicies, arn));
    }
    Ok(())
}

/// The ARN of network ACL `id` in `region`.
fn acl_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:{account}:network-acl/{id}")
}

/// What AWS creates fails 6.2 as it is: a VPC's default network ACL allows every protocol from
/// everywhere, so each one a subnet uses fails (the estate's own ACLs are planted by `acls`).
async fn default_acls(
    clients: &AwsClients,
    region: &str,
    estate: &mut CisEstate,
) -> Result<(), KitError> {
    let acls = clients
        .ec2(region)
        .describe_network_acls()
        .filters(
            ec2t::Filter::builder()
                .name("default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .step(format!("listing the default network ACLs of {region}"))?;
    for acl in acls.network_acls() {
        if acl.associations().is_empty() {
            continue;
        }
        let id = acl.network_acl_id().unwrap_or_default();
        estate.listed_failing.push((
            RuleId::NaclAdminPorts,
            acl_arn(region, &estate.account_id, id),
        ));
    }
    Ok(())
}

/// Two subnets of `vpc`, each moved to a network ACL of its own: one lets the world reach SSH
/// (fails 6.2), the other allows everything below a deny of all TCP and UDP from the world
/// (passes: the lower deny decides).
async fn acls(clients: &AwsClients, vpc: &str, estate: &mut CisEstate) -> Result<(), KitError> {
    let ec2 = clients.ec2(PRIMARY_REGION);
    let entry = |acl: &str, n: i32, allow: bool, protocol: &str, ports: Option<(i32, i32)>| {
        let mut call = ec2
            .create_network_acl_entry()
            .network_acl_id(acl)
            .rule_number(n)
            .egress(false)
            .protocol(protocol)
            .cidr_block("0.0.0.0/0")
            .rule_action(if allow {
                ec2t::RuleAction::Allow
            } else {
                ec2t::RuleAction::Deny
            });
        if let Some((from, to)) = ports {
            call = call.port_range(ec2t::PortRange::builder().from(from).to(to).build());
        }
        call.send()
    };
    for (cidr, open) in [("10.21.8.0/24", true), ("10.21.9.0/24", false)] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(cidr)
            .availability_zone(format!("{PRIMARY_REGION}a"))
            .send()
            .await
            .step(format!("creating subnet {cidr}"))?
            .subnet
            .and_then(|s| s.subnet_id)
            .unwrap_or_default();
        let acl = ec2
            .create_network_acl()
            .vpc_id(vpc)
            .send()
            .await
            .step("creating a network ACL")?
            .network_acl
            .and_then(|a| a.network_acl_id)
            .unwrap_or_default();
        if open {
            entry(&acl, 100, true, "6", Some((22, 22)))
                .await
                .step("allowing SSH from the world")?;
        } else {
            entry(&acl, 90, false, "6", Some((0, 65535)))
                .await
                .step("denying TCP from the world")?;
            entry(&acl, 91, false, "17", Some((0, 65535)))
                .await
                .step("denying UDP from the world")?;
            entry(&acl, 100, true, "-1", None)
                .await
                .step("allowing the rest")?;
        }
        let current = ec2
            .describe_network_acls()
            .filters(
                ec2t::Filter::builder()
                    .name("association.subnet-id")
                    .values(&subnet)
                    .build(),
            )
            .send()
            .await
            .step("finding the subnet's ACL association")?;
        let association = current
            .network_acls()
            .iter()
            .flat_map(|a| a.associations())
            .find(|a| a.subnet_id() == Some(subnet.as_str()))
            .and_then(|a| a.network_acl_association_id())
            .unwrap_or_default()
            .to_owned();
        ec2.replace_network_acl_association()
            .association_id(association)
            .network_acl_id(&acl)
            .send()
            .await
            .step("moving the subnet to its ACL")?;
        let into = if open {
            &mut estate.listed_failing
        } else {
            &mut estate.listed_passing
        };
        into.push((
            RuleId::NaclAdminPorts,
            acl_arn(PRIMARY_REGION, &estate.account_id, &acl),
        ));
    }
    Ok(())
}
