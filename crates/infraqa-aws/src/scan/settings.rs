//! The account settings the rules in force need ([`infraqa_core::settings`]): per region, EBS
//! default encryption, Security Hub, the access analyzers, EFS file systems, Config recorders,
//! KMS keys and network ACLs; once, the account's password policy, IAM summary, credential
//! report, support role, server certificates, users' own policies and attached policies. Only
//! what is asked for is read, so a policy without those rules makes none of these calls.

use super::Ctx;
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::observed::Observed;
use infraqa_core::settings::{
    AccountSummary, AclEntry, Analyzer, AttachedPolicy, ConfigRecorder, FileSystem, GlobalSettings,
    KeyDescription, KmsKey, NetworkAcl, PasswordPolicy, RegionSettings, SUPPORT_ACCESS_POLICY,
    ServerCertificate, Setting, UserCredentials, UserPolicies, parse_credential_report,
};
use std::collections::BTreeSet;

/// The clients the regional settings are read with.
pub struct RegionalClients {
    /// EC2: EBS default encryption, network ACLs.
    pub ec2: aws_sdk_ec2::Client,
    /// Security Hub.
    pub hub: aws_sdk_securityhub::Client,
    /// IAM Access Analyzer.
    pub analyzer: aws_sdk_accessanalyzer::Client,
    /// EFS.
    pub efs: aws_sdk_efs::Client,
    /// AWS Config.
    pub config: aws_sdk_config::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
}

/// Reads the regional settings of `needed` in `ctx.region`.
pub async fn regional(ctx: &Ctx<'_>, needed: &BTreeSet<Setting>) -> Sink {
    let c = ctx.clients;
    let region = ctx.region;
    let clients = RegionalClients {
        ec2: c.ec2(region),
        hub: c.securityhub(region),
        analyzer: c.accessanalyzer(region),
        efs: c.efs(region),
        config: c.config(region),
        kms: c.kms(region),
    };
    regional_from(region, &clients, needed).await
}

/// [`regional`] with given clients (tests pass mocked ones). The reads of different services
/// run at once.
pub async fn regional_from(region: &str, c: &RegionalClients, needed: &BTreeSet<Setting>) -> Sink {
    let asked = |s: Setting| needed.contains(&s);
    let (mut sink, analyzers, file_systems, recorders, keys, acls) = tokio::join!(
        switches(region, &c.ec2, &c.hub, needed),
        async {
            if asked(Setting::AccessAnalyzers) {
                Some(analyzers(region, &c.analyzer).await)
            } else {
                None
            }
        },
        async {
            if asked(Setting::FileSystems) {
                Some(file_systems(region, &c.efs).await)
            } else {
                None
            }
        },
        async {
            if asked(Setting::ConfigRecorders) {
                Some(recorders(region, &c.config).await)
            } else {
                None
            }
        },
        async {
            if asked(Setting::KmsKeys) {
                Some(kms_keys(region, &c.kms).await)
            } else {
                None
            }
        },
        async {
            if asked(Setting::NetworkAcls) {
                Some(network_acls(region, &c.ec2).await)
            } else {
                None
            }
        },
    );
    let mut read = sink.settings.regions.remove(region).unwrap_or_default();
    /// Takes a read's value, adding its errors to the unit's.
    fn keep<T>(sink: &mut Sink, part: Option<(Observed<T>, Sink)>) -> Option<Observed<T>> {
        part.map(|(value, part)| {
            sink.absorb(part);
            value
        })
    }
    read.access_analyzers = keep(&mut sink, analyzers);
    read.file_systems = keep(&mut sink, file_systems);
    read.config_recorders = keep(&mut sink, recorders);
    read.kms_keys = keep(&mut sink, keys);
    read.network_acls = keep(&mut sink, acls);
    if read != RegionSettings::default() {
        sink.settings.regions.insert(region.to_owned(), read);
    }
    sink
}

/// EBS encryption by default and Security Hub: the boolean settings of a region.
async fn switches(
    region: &str,
    ec2: &aws_sdk_ec2::Client,
    hub: &aws_sdk_securityhub::Client,
    needed: &BTreeSet<Setting>,
) -> Sink {
    let mut sink = Sink::default();
    let mut read = RegionSettings::default();
    if needed.contains(&Setting::EbsEncryptionByDefault) {
        read.ebs_encryption_by_default =
            Some(match ec2.get_ebs_encryption_by_default().send().await {
                Ok(out) => Observed::Read(out.ebs_encryption_by_default().unwrap_or(false)),
                Err(e) => Observed::failed(sink.error(
                    region,
                    &AwsError::call("ec2", "GetEbsEncryptionByDefault", e),
                )),
            });
    }
    if needed.contains(&Setting::SecurityHub) {
        read.security_hub = Some(match hub.describe_hub().send().await {
            Ok(out) => Observed::Read(out.hub_arn().is_some()),
            // An account that is not subscribed is answered this, not a denial.
            Err(e) if e.code() == Some("InvalidAccessException") => Observed::Read(false),
            Err(e) => Observed::failed(
                sink.error(region, &AwsError::call("securityhub", "DescribeHub", e)),
            ),
        });
    }
    if read != RegionSettings::default() {
        sink.settings.regions.insert(region.to_owned(), read);
    }
    sink
}

/// The region's analyzers (`ListAnalyzers`, every type).
async fn analyzers(
    region: &str,
    client: &aws_sdk_accessanalyzer::Client,
) -> (Observed<Vec<Analyzer>>, Sink) {
    let (sink, items) = Sink::list(
        region,
        "access-analyzer",
        "ListAnalyzers",
        true,
        || client.list_analyzers().into_paginator().send(),
        |page| {
            page.analyzers
                .into_iter()
                .map(|a| Analyzer {
                    name: a.name,
                    kind: a.r#type.as_str().to_owned(),
                    status: a.status.as_str().to_owned(),
                })
                .collect()
        },
    )
    .await;
    (sink.observed(items), sink)
}

/// The region's EFS file systems.
async fn file_systems(
    region: &str,
    efs: &aws_sdk_efs::Client,
) -> (Observed<Vec<FileSystem>>, Sink) {
    let (sink, items) = Sink::list(
        region,
        "efs",
        "DescribeFileSystems",
        true,
        || efs.describe_file_systems().into_paginator().send(),
        |page| {
            page.file_systems
                .unwrap_or_default()
                .into_iter()
                .map(|fs| FileSystem {
                    arn: fs.file_system_arn.unwrap_or_default(),
                    id: fs.file_system_id,
                    encrypted: fs.encrypted.unwrap_or(false),
                })
                .collect()
        },
    )
    .await;
    (sink.observed(items), sink)
}

/// The region's configuration recorders, each with its status.
async fn recorders(
    region: &str,
    config: &aws_sdk_config::Client,
) -> (Observed<Vec<ConfigRecorder>>, Sink) {
    let mut sink = Sink::default();
    let listed = match config.describe_configuration_recorders().send().await {
        Ok(out) => out.configuration_recorders.unwrap_or_default(),
        Err(e) => {
            let failed = sink.error(
                region,
                &AwsError::call("config", "DescribeConfigurationRecorders", e),
            );
            return (Observed::failed(failed), sink);
        }
    };
    let status = if listed.is_empty() {
        Vec::new()
    } else {
        match config.describe_configuration_recorder_status().send().await {
            Ok(out) => out.configuration_recorders_status.unwrap_or_default(),
            Err(e) => {
                let failed = sink.error(
                    region,
                    &AwsError::call("config", "DescribeConfigurationRecorderStatus", e),
                );
                return (Observed::failed(failed), sink);
            }
        }
    };
    let recorders = listed
        .into_iter()
        .map(|r| {
            let name = r.name.unwrap_or_default();
            let group = r.recording_group;
            let st = status.iter().find(|s| s.name() == Some(name.as_str()));
            ConfigRecorder {
                all_supported: group.as_ref().is_some_and(|g| g.all_supported),
                include_global: group
                    .as_ref()
                    .is_some_and(|g| g.include_global_resource_types),
                recording: st.map(|s| s.recording),
                last_status: st
                    .and_then(|s| s.last_status())
                    .map(|s| s.as_str().to_owned()),
                name,
            }
        })
        .collect();
    (Observed::Read(recorders), sink)
}

/// The region's KMS keys: each described, and the rotation status of those that can rotate.
/// A key deleted between the list and its description is left out.
async fn kms_keys(region: &str, kms: &aws_sdk_kms::Client) -> (Observed<Vec<KmsKey>>, Sink) {
    let (mut sink, listed) = Sink::list(
        region,
        "kms",
        "ListKeys",
        true,
        || kms.list_keys().into_paginator().send(),
        |page| page.keys.unwrap_or_default(),
    )
    .await;
    let complete = sink.errors.is_empty();
    let mut keys = Vec::new();
    for entry in listed {
        let (Some(id), Some(arn)) = (entry.key_id, entry.key_arn) else {
            continue;
        };
        let named = |e: AwsError| e.naming(&format!("key {arn}"));
        let description = match kms.describe_key().key_id(&id).send().await {
            Ok(out) => match out.key_metadata {
                Some(m) => Observed::Read(KeyDescription {
                    manager: m.key_manager().map_or("", |v| v.as_str()).to_owned(),
                    spec: m.key_spec().map_or("", |v| v.as_str()).to_owned(),
                    state: m.key_state().map_or("", |v| v.as_str()).to_owned(),
                    origin: m.origin().map_or("", |v| v.as_str()).to_owned(),
                }),
                None => continue,
            },
            Err(e) => {
                let err = AwsError::call("kms", "DescribeKey", e);
                if err.code() == "NotFoundException" {
                    continue;
                }
                Observed::failed(sink.error(region, &named(err)))
            }
        };
        let rotation = match &description {
            Observed::Read(d) if d.rotatable() => Some(
                match kms.get_key_rotation_status().key_id(&id).send().await {
                    Ok(out) => Observed::Read(out.key_rotation_enabled),
                    Err(e) => Observed::failed(sink.error(
                        region,
                        &named(AwsError::call("kms", "GetKeyRotationStatus", e)),
                    )),
                },
            ),
            _ => None,
        };
        keys.push(KmsKey {
            arn,
            description,
            rotation,
        });
    }
    // A failed page leaves keys unseen: the list is not known. A key that failed alone is
    // that key's, not evaluated.
    let observed = match sink.errors.first() {
        Some(e) if !complete => Observed::failed(e.clone()),
        _ => Observed::Read(keys),
    };
    (observed, sink)
}

/// The region's network ACLs with their entries and how many subnets each is associated with.
async fn network_acls(
    region: &str,
    ec2: &aws_sdk_ec2::Client,
) -> (Observed<Vec<NetworkAcl>>, Sink) {
    let (sink, items) = Sink::list(
        region,
        "ec2",
        "DescribeNetworkAcls",
        true,
        || ec2.describe_network_acls().into_paginator().send(),
        |page| {
            page.network_acls
                .unwrap_or_default()
                .into_iter()
                .filter_map(|acl| {
                    let id = acl.network_acl_id?;
                    Some(NetworkAcl {
                        arn: format!(
                            "arn:{}:ec2:{region}:{}:network-acl/{id}",
                            infraqa_core::model::partition(region),
                            acl.owner_id.unwrap_or_default()
                        ),
                        vpc_id: acl.vpc_id.unwrap_or_default(),
                        subnets: acl.associations.map_or(0, |a| a.len()),
                        entries: acl
                            .entries
                            .unwrap_or_default()
                            .into_iter()
                            .map(|e| AclEntry {
                                rule_number: e.rule_number.unwrap_or(i32::MAX),
                                egress: e.egress.unwrap_or(false),
                                allow: e.rule_action.as_ref().map(|a| a.as_str()) == Some("allow"),
                                protocol: e.protocol.unwrap_or_default(),
                                cidr: e.cidr_block,
                                ipv6_cidr: e.ipv6_cidr_block,
                                ports: e.port_range.and_then(|p| Some((p.from?, p.to?))),
                            })
                            .collect(),
                        id,
                    })
                })
                .collect()
        },
    )
    .await;
    (sink.observed(items), sink)
}

/// Reads the account-wide settings of `needed` (IAM), and records that they were asked, so
/// the rules about the account judge this scan.
pub async fn global(ctx: &Ctx<'_>, needed: &BTreeSet<Setting>) -> Sink {
    match ctx.clients.iam() {
        Ok(iam) => global_from(&iam, needed).await,
        Err(e) => {
            let mut sink = Sink::default();
            let failed = sink.error(GLOBAL_REGION, &e);
            let asked = |s| needed.contains(&s);
            sink.settings.global = Some(Box::new(GlobalSettings {
                password_policy: asked(Setting::PasswordPolicy)
                    .then(|| Observed::failed(failed.clone())),
                account_summary: asked(Setting::AccountSummary)
                    .then(|| Observed::failed(failed.clone())),
                credential_report: asked(Setting::CredentialReport)
                    .then(|| Observed::failed(failed.clone())),
                support_roles: asked(Setting::SupportAccess)
                    .then(|| Observed::failed(failed.clone())),
                server_certificates: asked(Setting::ServerCertificates)
                    .then(|| Observed::failed(failed.clone())),
                user_policies: asked(Setting::UserPolicies)
                    .then(|| Observed::failed(failed.clone())),
                attached_policies: asked(Setting::AttachedPolicies)
                    .then(|| Observed::failed(failed.clone())),
            }));
            sink
        }
    }
}

/// [`global`] with a given client (tests pass a mocked one).
pub async fn global_from(iam: &aws_sdk_iam::Client, needed: &BTreeSet<Setting>) -> Sink {
    let mut sink = Sink::default();
    let mut read = GlobalSettings::default();
    if needed.contains(&Setting::PasswordPolicy) {
        read.password_policy = Some(match iam.get_account_password_policy().send().await {
            Ok(out) => Observed::Read(out.password_policy().map(|p| PasswordPolicy {
                minimum_length: p.minimum_password_length().unwrap_or(0),
                reuse_prevention: p.password_reuse_prevention(),
            })),
            // No policy at all is an answer: AWS's defaults apply (8 characters, reuse allowed).
            Err(e) if e.code() == Some("NoSuchEntity") => Observed::Read(None),
            Err(e) => Observed::failed(sink.error(
                GLOBAL_REGION,
                &AwsError::call("iam", "GetAccountPasswordPolicy", e),
            )),
        });
    }
    if needed.contains(&Setting::AccountSummary) {
        read.account_summary = Some(match iam.get_account_summary().send().await {
            Ok(out) => {
                use aws_sdk_iam::types::SummaryKeyType as K;
                let map = out.summary_map();
                let value = |k: K| map.and_then(|m| m.get(&k)).copied().unwrap_or(0);
                Observed::Read(AccountSummary {
                    root_access_keys: value(K::AccountAccessKeysPresent),
                    root_mfa: value(K::AccountMfaEnabled) > 0,
                })
            }
            Err(e) => Observed::failed(sink.error(
                GLOBAL_REGION,
                &AwsError::call("iam", "GetAccountSummary", e),
            )),
        });
    }
    if needed.contains(&Setting::CredentialReport) {
        read.credential_report = Some(credential_report(iam, &mut sink).await);
    }
    if needed.contains(&Setting::SupportAccess) {
        let stream = iam
            .list_entities_for_policy()
            .policy_arn(SUPPORT_ACCESS_POLICY)
            .into_paginator()
            .send();
        let mut part = Sink::default();
        let pages = part
            .pages(GLOBAL_REGION, "iam", "ListEntitiesForPolicy", stream)
            .await;
        let roles: Vec<String> = pages
            .iter()
            .flat_map(|p| p.policy_roles())
            .filter_map(|r| r.role_name().map(str::to_owned))
            .collect();
        read.support_roles = Some(part.observed(roles));
        sink.absorb(part);
    }
    if needed.contains(&Setting::ServerCertificates) {
        let stream = iam.list_server_certificates().into_paginator().send();
        let mut part = Sink::default();
        let pages = part
            .pages(GLOBAL_REGION, "iam", "ListServerCertificates", stream)
            .await;
        let certificates: Vec<ServerCertificate> = pages
            .iter()
            .flat_map(|p| p.server_certificate_metadata_list())
            .map(|m| ServerCertificate {
                name: m.server_certificate_name().to_owned(),
                arn: m.arn().to_owned(),
                expiration: m.expiration().and_then(super::to_utc),
            })
            .collect();
        read.server_certificates = Some(part.observed(certificates));
        sink.absorb(part);
    }
    if needed.contains(&Setting::UserPolicies) {
        let stream = iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::User)
            .max_items(1000)
            .into_paginator()
            .send();
        let mut part = Sink::default();
        let pages = part
            .pages(
                GLOBAL_REGION,
                "iam",
                "GetAccountAuthorizationDetails",
                stream,
            )
            .await;
        let users: Vec<UserPolicies> = pages
            .iter()
            .flat_map(|p| p.user_detail_list())
            .filter_map(|u| {
                Some(UserPolicies {
                    arn: u.arn()?.to_owned(),
                    user: u.user_name()?.to_owned(),
                    attached: u
                        .attached_managed_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_owned))
                        .collect(),
                    inline: u
                        .user_policy_list()
                        .iter()
                        .filter_map(|p| p.policy_name().map(str::to_owned))
                        .collect(),
                })
            })
            .collect();
        read.user_policies = Some(part.observed(users));
        sink.absorb(part);
    }
    if needed.contains(&Setting::AttachedPolicies) {
        read.attached_policies = Some(attached_policies(iam, &mut sink).await);
    }
    sink.settings.global = Some(Box::new(read));
    sink
}

/// The managed policies attached to anything (`ListPolicies --only-attached`), each with its
/// default version's document (`GetPolicyVersion`; one that cannot be read or parsed is that
/// policy's not evaluated).
async fn attached_policies(
    iam: &aws_sdk_iam::Client,
    sink: &mut Sink,
) -> Observed<Vec<AttachedPolicy>> {
    let (part, listed) = Sink::list(
        GLOBAL_REGION,
        "iam",
        "ListPolicies",
        true,
        || {
            iam.list_policies()
                .only_attached(true)
                .scope(aws_sdk_iam::types::PolicyScopeType::All)
                .into_paginator()
                .send()
        },
        |page| page.policies.unwrap_or_default(),
    )
    .await;
    let unlisted = part.errors.first().cloned();
    sink.absorb(part);
    if let Some(e) = unlisted {
        return Observed::failed(e);
    }
    let mut out = Vec::new();
    for p in listed {
        let (Some(arn), Some(version)) = (p.arn(), p.default_version_id()) else {
            continue;
        };
        let document = match super::iam::policy_version(iam, arn, version, sink).await {
            Ok(text) => match infraqa_core::iam::PolicyDocument::parse(&text) {
                Ok(doc) => Observed::Read(doc),
                Err(e) => Observed::failed(sink.problem(
                    GLOBAL_REGION,
                    "iam",
                    "GetPolicyVersion",
                    "MalformedPolicyDocument",
                    format!("policy {arn}: {e}"),
                )),
            },
            Err(unread) => Observed::failed(unread),
        };
        out.push(AttachedPolicy {
            arn: arn.to_owned(),
            name: p.policy_name().unwrap_or_default().to_owned(),
            attachments: p.attachment_count().unwrap_or(0),
            document,
        });
    }
    Observed::Read(out)
}

/// Times `GenerateCredentialReport` is asked before the report is given up on (AWS builds it
/// in seconds, and keeps it four hours).
const REPORT_ATTEMPTS: u32 = 10;

/// The credential report: generated (or the one AWS keeps), then read and parsed.
async fn credential_report(
    iam: &aws_sdk_iam::Client,
    sink: &mut Sink,
) -> Observed<Vec<UserCredentials>> {
    use aws_sdk_iam::types::ReportStateType;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match iam.generate_credential_report().send().await {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => break,
            Ok(_) if attempt < REPORT_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Ok(_) => {
                return Observed::failed(sink.problem(
                    GLOBAL_REGION,
                    "iam",
                    "GenerateCredentialReport",
                    "ReportInProgress",
                    format!("the credential report was not ready after {REPORT_ATTEMPTS} attempts"),
                ));
            }
            Err(e) => {
                return Observed::failed(sink.error(
                    GLOBAL_REGION,
                    &AwsError::call("iam", "GenerateCredentialReport", e),
                ));
            }
        }
    }
    match iam.get_credential_report().send().await {
        Ok(out) => {
            let bytes = out.content().map(|b| b.as_ref()).unwrap_or_default();
            match parse_credential_report(&String::from_utf8_lossy(bytes)) {
                Ok(users) => Observed::Read(users),
                Err(e) => Observed::failed(sink.problem(
                    GLOBAL_REGION,
                    "iam",
                    "GetCredentialReport",
                    "MalformedReport",
                    e.to_string(),
                )),
            }
        }
        Err(e) => Observed::failed(sink.error(
            GLOBAL_REGION,
            &AwsError::call("iam", "GetCredentialReport", e),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_clients;
    use aws_sdk_ec2::operation::get_ebs_encryption_by_default::GetEbsEncryptionByDefaultOutput;
    use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyError;
    use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
    use aws_sdk_iam::types::SummaryKeyType;
    use aws_sdk_securityhub::operation::describe_hub::DescribeHubError;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    /// Regional clients: EC2 and Security Hub as given, the others answering nothing.
    fn with(ec2: aws_sdk_ec2::Client, hub: aws_sdk_securityhub::Client) -> RegionalClients {
        RegionalClients {
            ec2,
            hub,
            analyzer: mock_client!(aws_sdk_accessanalyzer, []),
            efs: mock_client!(aws_sdk_efs, []),
            config: mock_client!(aws_sdk_config, []),
            kms: mock_client!(aws_sdk_kms, []),
        }
    }

    fn every() -> BTreeSet<Setting> {
        [
            Setting::EbsEncryptionByDefault,
            Setting::SecurityHub,
            Setting::PasswordPolicy,
            Setting::AccountSummary,
        ]
        .into()
    }

    #[tokio::test]
    async fn nothing_needed_reads_nothing() {
        let clients = test_clients().await;
        let ctx = Ctx {
            clients: &clients,
            account_id: "123456789012",
            region: "us-east-1",
        };
        let sink = regional(&ctx, &BTreeSet::new()).await;
        assert!(sink.settings.is_empty() && sink.errors.is_empty());
        assert!(clients.call_counts().is_empty(), "no call made");
    }

    #[tokio::test]
    async fn root_keys_and_mfa_come_from_the_summary_and_no_policy_is_an_answer() {
        // The emulator's summary never shows a root key or a root MFA device: both sides here.
        let summary = mock!(aws_sdk_iam::Client::get_account_summary).then_output(|| {
            GetAccountSummaryOutput::builder()
                .summary_map(SummaryKeyType::AccountAccessKeysPresent, 1)
                .summary_map(SummaryKeyType::AccountMfaEnabled, 1)
                .build()
        });
        let no_policy = mock!(aws_sdk_iam::Client::get_account_password_policy).then_error(|| {
            GetAccountPasswordPolicyError::generic(
                ErrorMetadata::builder().code("NoSuchEntity").build(),
            )
        });
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&summary, &no_policy]);
        let sink = global_from(&iam, &every()).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let g = sink.settings.global.unwrap();
        assert_eq!(g.password_policy, Some(Observed::Read(None)));
        assert_eq!(
            g.account_summary,
            Some(Observed::Read(AccountSummary {
                root_access_keys: 1,
                root_mfa: true
            }))
        );
    }

    #[tokio::test]
    async fn a_hub_not_subscribed_is_off_and_a_denial_is_unread() {
        let ebs = mock!(aws_sdk_ec2::Client::get_ebs_encryption_by_default).then_output(|| {
            GetEbsEncryptionByDefaultOutput::builder()
                .ebs_encryption_by_default(true)
                .build()
        });
        let ec2 = mock_client!(aws_sdk_ec2, [&ebs]);
        let not_subscribed = mock!(aws_sdk_securityhub::Client::describe_hub).then_error(|| {
            DescribeHubError::generic(
                ErrorMetadata::builder()
                    .code("InvalidAccessException")
                    .message("Account 123456789012 is not subscribed to AWS Security Hub")
                    .build(),
            )
        });
        let hub = mock_client!(aws_sdk_securityhub, [&not_subscribed]);
        let sink = regional_from("eu-west-1", &with(ec2.clone(), hub), &every()).await;
        assert!(sink.errors.is_empty());
        let r = &sink.settings.regions["eu-west-1"];
        assert_eq!(r.ebs_encryption_by_default, Some(Observed::Read(true)));
        assert_eq!(r.security_hub, Some(Observed::Read(false)));

        let denied = mock!(aws_sdk_securityhub::Client::describe_hub).then_error(|| {
            DescribeHubError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            )
        });
        let hub = mock_client!(aws_sdk_securityhub, [&denied]);
        let only_hub = [Setting::SecurityHub].into();
        let sink = regional_from("eu-west-1", &with(ec2, hub), &only_hub).await;
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].operation, "DescribeHub");
        let r = &sink.settings.regions["eu-west-1"];
        assert!(r.security_hub.as_ref().unwrap().unread().is_some());
        assert_eq!(r.ebs_encryption_by_default, None, "not asked");
    }

    #[tokio::test(start_paused = true)]
    async fn the_credential_report_is_waited_for_then_read() {
        use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
        use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
        use aws_sdk_iam::types::ReportStateType;
        let started = mock!(aws_sdk_iam::Client::generate_credential_report).then_output(|| {
            GenerateCredentialReportOutput::builder()
                .state(ReportStateType::Started)
                .build()
        });
        let complete = mock!(aws_sdk_iam::Client::generate_credential_report).then_output(|| {
            GenerateCredentialReportOutput::builder()
                .state(ReportStateType::Complete)
                .build()
        });
        let report = mock!(aws_sdk_iam::Client::get_credential_report).then_output(|| {
            GetCredentialReportOutput::builder()
                .content(aws_smithy_types::Blob::new(
                    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n\
                     bob,arn:aws:iam::123456789012:user/bob,2026-01-01T00:00:00+00:00,true,N/A,2026-01-01T00:00:00+00:00,false,false,N/A,N/A,false,N/A,N/A\n",
                ))
                .build()
        });
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::Sequential,
            [&started, &complete, &report]
        );
        let sink = global_from(&iam, &[Setting::CredentialReport].into()).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let users = sink.settings.global.unwrap().credential_report.unwrap();
        let Observed::Read(users) = users else {
            panic!("read")
        };
        assert_eq!(users.len(), 1);
        assert!(users[0].password_enabled && !users[0].mfa_active);
    }

    #[tokio::test]
    async fn an_active_external_analyzer_is_read_and_a_denial_is_unread() {
        // The emulator has no IAM Access Analyzer: both sides here.
        use aws_sdk_accessanalyzer::operation::list_analyzers::{
            ListAnalyzersError, ListAnalyzersOutput,
        };
        use aws_sdk_accessanalyzer::types::{AnalyzerStatus, AnalyzerSummary, Type};
        let listed = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(|| {
            let summary = |name: &str, kind: Type, status: AnalyzerStatus| {
                AnalyzerSummary::builder()
                    .arn(format!(
                        "arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/{name}"
                    ))
                    .name(name)
                    .r#type(kind)
                    .created_at(aws_smithy_types::DateTime::from_secs(0))
                    .status(status)
                    .build()
                    .unwrap()
            };
            ListAnalyzersOutput::builder()
                .analyzers(summary(
                    "unused",
                    Type::AccountUnusedAccess,
                    AnalyzerStatus::Active,
                ))
                .analyzers(summary("external", Type::Account, AnalyzerStatus::Active))
                .build()
                .unwrap()
        });
        let mut clients = with(
            mock_client!(aws_sdk_ec2, []),
            mock_client!(aws_sdk_securityhub, []),
        );
        clients.analyzer = mock_client!(aws_sdk_accessanalyzer, [&listed]);
        let only = [Setting::AccessAnalyzers].into();
        let sink = regional_from("eu-west-1", &clients, &only).await;
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let Some(Observed::Read(found)) = &sink.settings.regions["eu-west-1"].access_analyzers
        else {
            panic!("read")
        };
        let kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|a| (a.kind.as_str(), a.status.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("ACCOUNT_UNUSED_ACCESS", "ACTIVE"), ("ACCOUNT", "ACTIVE")]
        );

        let denied = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_error(|| {
            ListAnalyzersError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            )
        });
        clients.analyzer = mock_client!(aws_sdk_accessanalyzer, [&denied]);
        let sink = regional_from("eu-west-1", &clients, &only).await;
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].service, "access-analyzer");
        assert!(
            sink.settings.regions["eu-west-1"]
                .access_analyzers
                .as_ref()
                .unwrap()
                .unread()
                .is_some()
        );
    }

    #[tokio::test]
    async fn only_rotatable_keys_are_asked_and_one_key_failing_is_that_key_only() {
        use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
        use aws_sdk_kms::operation::get_key_rotation_status::{
            GetKeyRotationStatusError, GetKeyRotationStatusOutput,
        };
        use aws_sdk_kms::operation::list_keys::ListKeysOutput;
        use aws_sdk_kms::types::{
            KeyListEntry, KeyManagerType, KeyMetadata, KeySpec, KeyState, OriginType,
        };
        let arn = |id: &str| format!("arn:aws:kms:eu-west-1:123456789012:key/{id}");
        let list = mock!(aws_sdk_kms::Client::list_keys).then_output(move || {
            let mut out = ListKeysOutput::builder();
            for id in ["aws", "mine", "gone", "denied"] {
                out = out.keys(KeyListEntry::builder().key_id(id).key_arn(arn(id)).build());
            }
            out.build()
        });
        let describe = |id: &'static str, manager: KeyManagerType| {
            mock!(aws_sdk_kms::Client::describe_key)
                .match_requests(move |r| r.key_id() == Some(id))
                .then_output(move || {
                    DescribeKeyOutput::builder()
                        .key_metadata(
                            KeyMetadata::builder()
                                .key_id(id)
                                .key_manager(manager.clone())
                                .key_spec(KeySpec::SymmetricDefault)
                                .key_state(KeyState::Enabled)
                                .origin(OriginType::AwsKms)
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
        };
        let aws = describe("aws", KeyManagerType::Aws);
        let mine = describe("mine", KeyManagerType::Customer);
        let denied_key = describe("denied", KeyManagerType::Customer);
        let gone = mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(|r| r.key_id() == Some("gone"))
            .then_error(|| {
                DescribeKeyError::generic(
                    ErrorMetadata::builder().code("NotFoundException").build(),
                )
            });
        let rotation_on = mock!(aws_sdk_kms::Client::get_key_rotation_status)
            .match_requests(|r| r.key_id() == Some("mine"))
            .then_output(|| {
                GetKeyRotationStatusOutput::builder()
                    .key_rotation_enabled(true)
                    .build()
            });
        let rotation_denied = mock!(aws_sdk_kms::Client::get_key_rotation_status)
            .match_requests(|r| r.key_id() == Some("denied"))
            .then_error(|| {
                GetKeyRotationStatusError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .build(),
                )
            });
        let mut clients = with(
            mock_client!(aws_sdk_ec2, []),
            mock_client!(aws_sdk_securityhub, []),
        );
        clients.kms = mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [
                &list,
                &aws,
                &mine,
                &denied_key,
                &gone,
                &rotation_on,
                &rotation_denied
            ]
        );
        let sink = regional_from("eu-west-1", &clients, &[Setting::KmsKeys].into()).await;
        assert_eq!(
            rotation_on.num_calls() + rotation_denied.num_calls(),
            2,
            "the AWS key is not asked"
        );
        let Some(Observed::Read(keys)) = &sink.settings.regions["eu-west-1"].kms_keys else {
            panic!("the list was read")
        };
        let got: Vec<(&str, Option<bool>)> = keys
            .iter()
            .map(|k| {
                (
                    k.arn.rsplit('/').next().unwrap_or_default(),
                    k.rotation
                        .as_ref()
                        .map(|r| matches!(r, Observed::Read(true))),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("aws", None), ("mine", Some(true)), ("denied", Some(false))]
        );
        assert!(keys[2].rotation.as_ref().unwrap().unread().is_some());
        assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
        assert!(
            sink.errors[0].message.contains("denied"),
            "names the key: {:?}",
            sink.errors[0]
        );
    }
}
