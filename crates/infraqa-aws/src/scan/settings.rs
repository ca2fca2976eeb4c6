//! The account settings the rules in force need ([`infraqa_core::settings`]): a region's EBS
//! default encryption and Security Hub, the account's password policy and IAM summary. Only
//! what is asked for is read, so a policy without those rules makes none of these calls.

use super::Ctx;
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infraqa_core::model::GLOBAL_REGION;
use infraqa_core::observed::Observed;
use infraqa_core::settings::{
    AccountSummary, GlobalSettings, PasswordPolicy, RegionSettings, SUPPORT_ACCESS_POLICY,
    ServerCertificate, Setting, UserCredentials, UserPolicies, parse_credential_report,
};
use std::collections::BTreeSet;

/// Reads the regional settings of `needed` in `ctx.region`.
pub async fn regional(ctx: &Ctx<'_>, needed: &BTreeSet<Setting>) -> Sink {
    let ec2 = ctx.clients.ec2(ctx.region);
    let hub = ctx.clients.securityhub(ctx.region);
    regional_from(ctx.region, &ec2, &hub, needed).await
}

/// [`regional`] with given clients (tests pass mocked ones).
pub async fn regional_from(
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
    sink.settings.global = Some(Box::new(read));
    sink
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
        let sink = regional_from("eu-west-1", &ec2, &hub, &every()).await;
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
        let sink = regional_from("eu-west-1", &ec2, &hub, &only_hub).await;
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
}
