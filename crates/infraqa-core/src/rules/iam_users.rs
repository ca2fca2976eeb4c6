//! The CIS AWS Foundations controls on IAM users, each judged per user from the credential
//! report (read only when one of them is in force; the finding's resource is the user,
//! `iam:user`, region `global`):
//! - `iam-user-mfa` (2.10): a user with a console password has an MFA device;
//! - `iam-unused-credentials` (2.11): no console password and no active access key has gone
//!   unused for 45 days or more (a password or key never used counts from when it was set:
//!   the password's last change, else the user's creation; the key's last rotation);
//! - `iam-access-key-rotation` (2.12): no active access key is more than 90 days old.
//!
//! - `iam-user-policies` (2.13): no managed policy is attached to a user and no inline policy
//!   is embedded in one (`GetAccountAuthorizationDetails` of the users): permissions come
//!   through groups (or roles);
//! - `iam-expired-certificates` (2.17): no server certificate stored in IAM has expired
//!   (`ListServerCertificates`; the finding's resource is the certificate,
//!   `iam:server-certificate`).
//!
//! Each is a [`Listed`] rule: a list that could not be read, or that the inventory does not
//! hold, leaves the account's users (or certificates) not evaluated.

use super::listed::{Listed, Source};
use super::{Verdict, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::observed::Observed;
use crate::settings::{
    GlobalSettings, IAM_USER, ServerCertificate, Setting, UserCredentials, UserPolicies,
};
use chrono::{DateTime, Utc};

/// Days a credential may go unused (2.11).
const UNUSED_DAYS: i64 = 45;
/// Days an access key may live (2.12).
const ROTATION_DAYS: i64 = 90;

/// A rule on each user of the credential report.
pub type Users = Listed<UserCredentials>;

/// Whole days from `t` to `now`.
fn days(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_days()
}

fn mfa(u: &UserCredentials, _now: DateTime<Utc>) -> Option<Violation> {
    (u.password_enabled && !u.mfa_active).then(|| {
        Violation::new(
            Severity::High,
            vec!["signs in to the console with a password and no MFA device".to_owned()],
            format!(
                "Assign an MFA device to {} (IAM console, Security credentials), or remove the console password if it is not needed: aws iam delete-login-profile --user-name {}",
                u.user, u.user
            ),
            vec![Evidence::setting("mfa_active", "false", "true")],
        )
    })
}

fn unused(u: &UserCredentials, now: DateTime<Utc>) -> Option<Violation> {
    let mut reasons = Vec::new();
    let mut evidence = Vec::new();
    if u.password_enabled {
        let since = u
            .password_last_used
            .or(u.password_last_changed)
            .or(u.created);
        if let Some(age) = since.map(|t| days(t, now))
            && age >= UNUSED_DAYS
        {
            reasons.push(format!(
                "its console password has not been used for {age} days"
            ));
            evidence.push(Evidence::setting(
                "password_last_used",
                format!("{age} days ago"),
                format!("less than {UNUSED_DAYS} days ago, or disabled"),
            ));
        }
    }
    for k in u.access_keys.iter().filter(|k| k.active) {
        if let Some(age) = k.last_used.or(k.last_rotated).map(|t| days(t, now))
            && age >= UNUSED_DAYS
        {
            reasons.push(format!(
                "its access key {} has not been used for {age} days",
                k.slot
            ));
            evidence.push(Evidence::setting(
                format!("access_key_{}_last_used_date", k.slot),
                format!("{age} days ago"),
                format!("less than {UNUSED_DAYS} days ago, or inactive"),
            ));
        }
    }
    (!reasons.is_empty()).then(|| {
        Violation::new(
            Severity::Medium,
            reasons,
            format!(
                "Disable what {user} no longer uses: aws iam delete-login-profile --user-name {user}; aws iam update-access-key --user-name {user} --access-key-id KEY --status Inactive",
                user = u.user
            ),
            evidence,
        )
    })
}

fn rotation(u: &UserCredentials, now: DateTime<Utc>) -> Option<Violation> {
    let old: Vec<(u8, i64)> = u
        .access_keys
        .iter()
        .filter(|k| k.active)
        .filter_map(|k| Some((k.slot, days(k.last_rotated?, now))))
        .filter(|(_, age)| *age > ROTATION_DAYS)
        .collect();
    (!old.is_empty()).then(|| {
        Violation::new(
            Severity::Medium,
            old.iter()
                .map(|(slot, age)| format!("its access key {slot} is {age} days old"))
                .collect(),
            format!(
                "Rotate: aws iam create-access-key --user-name {user}, move its users to the new key, then aws iam update-access-key --user-name {user} --access-key-id OLD --status Inactive and delete it",
                user = u.user
            ),
            old.iter()
                .map(|(slot, age)| {
                    Evidence::setting(
                        format!("access_key_{slot}_last_rotated"),
                        format!("{age} days ago"),
                        format!("{ROTATION_DAYS} days ago or less"),
                    )
                })
                .collect(),
        )
    })
}

fn expired(c: &ServerCertificate, now: DateTime<Utc>) -> Option<Violation> {
    let at = c.expiration.filter(|at| *at < now)?;
    Some(Violation::new(
        Severity::Medium,
        vec![format!("expired on {}", at.format("%Y-%m-%d"))],
        format!(
            "aws iam delete-server-certificate --server-certificate-name {} (after checking no load balancer still uses it)",
            c.name
        ),
        vec![Evidence::setting(
            "Expiration",
            at.format("%Y-%m-%d").to_string(),
            "in the future",
        )],
    ))
}

fn users(g: &GlobalSettings) -> Option<&Observed<Vec<UserCredentials>>> {
    g.credential_report.as_ref()
}

/// Every item is judged: a violation fails it, else it passes.
fn verdict(found: Option<Violation>) -> Option<Verdict> {
    Some(found.into())
}

fn user_arn(u: &UserCredentials) -> &str {
    &u.arn
}

impl Users {
    /// The rule `id` judging each user of the credential report with `judge`.
    const fn of_report(
        id: RuleId,
        judge: fn(&UserCredentials, DateTime<Utc>) -> Option<Verdict>,
    ) -> Self {
        Self {
            id,
            setting: Setting::CredentialReport,
            unit_type: IAM_USER,
            list: Source::Account(users),
            arn: user_arn,
            judge,
        }
    }

    /// CIS 2.10.
    pub const MFA: Self = Self::of_report(RuleId::IamUserMfa, |u, now| verdict(mfa(u, now)));
    /// CIS 2.11.
    pub const UNUSED: Self = Self::of_report(RuleId::IamUnusedCredentials, |u, now| {
        verdict(unused(u, now))
    });
    /// CIS 2.12.
    pub const ROTATION: Self = Self::of_report(RuleId::IamAccessKeyRotation, |u, now| {
        verdict(rotation(u, now))
    });
}

fn own_policies(u: &UserPolicies, _now: DateTime<Utc>) -> Option<Violation> {
    if u.attached.is_empty() && u.inline.is_empty() {
        return None;
    }
    let mut reasons = Vec::new();
    if !u.attached.is_empty() {
        reasons.push(format!(
            "managed policies attached to the user: {}",
            u.attached.join(", ")
        ));
    }
    if !u.inline.is_empty() {
        reasons.push(format!("inline policies: {}", u.inline.join(", ")));
    }
    Some(Violation::new(
        Severity::Low,
        reasons,
        format!(
            "Grant through a group: add {user} to a group holding these permissions, then aws iam detach-user-policy --user-name {user} --policy-arn ARN and aws iam delete-user-policy --user-name {user} --policy-name NAME",
            user = u.user
        ),
        vec![Evidence::setting(
            "user policies",
            format!("{} attached, {} inline", u.attached.len(), u.inline.len()),
            "none: permissions through groups or roles",
        )],
    ))
}

/// CIS 2.13.
pub const GROUPS_ONLY: Listed<UserPolicies> = Listed {
    id: RuleId::IamUserPolicies,
    setting: Setting::UserPolicies,
    unit_type: IAM_USER,
    list: Source::Account(|g| g.user_policies.as_ref()),
    arn: |u| &u.arn,
    judge: |u, now| verdict(own_policies(u, now)),
};

/// CIS 2.17.
pub const EXPIRED_CERTIFICATES: Listed<ServerCertificate> = Listed {
    id: RuleId::IamExpiredCertificates,
    setting: Setting::ServerCertificates,
    unit_type: "iam:server-certificate",
    list: Source::Account(|g| g.server_certificates.as_ref()),
    arn: |c| &c.arn,
    judge: |c, now| verdict(expired(c, now)),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use crate::rules::{EvalContext, Rule};
    use crate::settings::AccessKeyUse;

    fn user(name: &str) -> UserCredentials {
        UserCredentials {
            user: name.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            created: Some(now() - chrono::Duration::days(400)),
            password_enabled: false,
            password_last_used: None,
            password_last_changed: None,
            mfa_active: false,
            access_keys: vec![],
        }
    }

    fn key(active: bool, rotated_days: i64, used_days: Option<i64>) -> AccessKeyUse {
        AccessKeyUse {
            slot: 1,
            active,
            last_rotated: Some(now() - chrono::Duration::days(rotated_days)),
            last_used: used_days.map(|d| now() - chrono::Duration::days(d)),
        }
    }

    fn judged(
        rule: &Users,
        report: Option<Observed<Vec<UserCredentials>>>,
    ) -> Vec<(String, String)> {
        let mut inv = inventory(vec![]);
        inv.settings.global = Some(Box::new(GlobalSettings {
            credential_report: report,
            ..GlobalSettings::default()
        }));
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: &inv,
            now: now(),
        };
        assert_eq!(
            rule.account_scope(&cx).len(),
            match &inv.settings.global.as_ref().unwrap().credential_report {
                Some(Observed::Read(users)) => users.len(),
                _ => 1,
            }
        );
        rule.check_account(&cx)
            .into_iter()
            .map(|(_, arn, v)| {
                let what = match v {
                    Verdict::Fail(v) => v.reasons.join("; "),
                    Verdict::NotEvaluated(m) => format!("not evaluated: {}", m[0].code),
                    Verdict::Pass => "pass".to_owned(),
                };
                (
                    arn.rsplit(['/', ':']).next().unwrap_or_default().to_owned(),
                    what,
                )
            })
            .collect()
    }

    #[test]
    fn console_users_need_mfa() {
        let mut console = user("console");
        console.password_enabled = true;
        let mut with_mfa = console.clone();
        with_mfa.user = "mfa".into();
        with_mfa.arn = with_mfa.arn.replace("console", "mfa");
        with_mfa.mfa_active = true;
        let keys_only = user("keys");
        assert_eq!(
            judged(
                &Users::MFA,
                Some(Observed::Read(vec![console, with_mfa, keys_only]))
            ),
            [(
                "console".to_owned(),
                "signs in to the console with a password and no MFA device".to_owned()
            )]
        );
    }

    #[test]
    fn unused_for_45_days_fails_and_never_used_counts_from_when_it_was_set() {
        let mut password = user("password");
        password.password_enabled = true;
        password.password_last_used = Some(now() - chrono::Duration::days(45));
        let mut recent = user("recent");
        recent.password_enabled = true;
        recent.password_last_used = Some(now() - chrono::Duration::days(44));
        let mut never = user("never");
        never.access_keys = vec![
            key(true, 50, None),
            AccessKeyUse {
                slot: 2,
                ..key(false, 300, None)
            },
        ];
        let mut fresh = user("fresh");
        fresh.access_keys = vec![key(true, 10, None)];
        assert_eq!(
            judged(
                &Users::UNUSED,
                Some(Observed::Read(vec![password, recent, never, fresh]))
            ),
            [
                (
                    "password".to_owned(),
                    "its console password has not been used for 45 days".to_owned()
                ),
                (
                    "never".to_owned(),
                    "its access key 1 has not been used for 50 days".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn keys_older_than_90_days_fail_and_an_unread_report_is_not_evaluated() {
        let mut old = user("old");
        old.access_keys = vec![key(true, 91, Some(1))];
        let mut ninety = user("ninety");
        ninety.access_keys = vec![key(true, 90, Some(1))];
        let mut inactive = user("inactive");
        inactive.access_keys = vec![key(false, 500, None)];
        assert_eq!(
            judged(
                &Users::ROTATION,
                Some(Observed::Read(vec![old, ninety, inactive]))
            ),
            [(
                "old".to_owned(),
                "its access key 1 is 91 days old".to_owned()
            )]
        );
        assert_eq!(
            judged(
                &Users::ROTATION,
                Some(Observed::failed(denied("iam", "GetCredentialReport")))
            ),
            [("root".to_owned(), "not evaluated: AccessDenied".to_owned())]
        );
        assert_eq!(
            judged(&Users::MFA, None),
            [("root".to_owned(), "not evaluated: NotRecorded".to_owned())]
        );
    }

    #[test]
    fn an_expired_server_certificate_fails_and_a_valid_one_passes() {
        let cert = |name: &str, days: i64| ServerCertificate {
            name: name.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:server-certificate/{name}"),
            expiration: Some(now() + chrono::Duration::days(days)),
        };
        let mut inv = inventory(vec![]);
        inv.settings.global = Some(Box::new(GlobalSettings {
            server_certificates: Some(Observed::Read(vec![cert("old", -1), cert("valid", 30)])),
            ..GlobalSettings::default()
        }));
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: &inv,
            now: now(),
        };
        assert_eq!(EXPIRED_CERTIFICATES.account_scope(&cx).len(), 2);
        let got = EXPIRED_CERTIFICATES.check_account(&cx);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.ends_with("server-certificate/old"));
        assert_eq!(EXPIRED_CERTIFICATES.unit_type(), "iam:server-certificate");
    }

    #[test]
    fn users_get_permissions_only_through_groups() {
        let user = |name: &str, attached: &[&str], inline: &[&str]| UserPolicies {
            arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            user: name.into(),
            attached: attached.iter().map(|s| (*s).to_owned()).collect(),
            inline: inline.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut inv = inventory(vec![]);
        inv.settings.global = Some(Box::new(GlobalSettings {
            user_policies: Some(Observed::Read(vec![
                user("grouped", &[], &[]),
                user("attached", &["arn:aws:iam::aws:policy/ReadOnlyAccess"], &[]),
                user("inline", &[], &["scratch"]),
            ])),
            ..GlobalSettings::default()
        }));
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: &inv,
            now: now(),
        };
        let failing: Vec<String> = GROUPS_ONLY
            .check_account(&cx)
            .into_iter()
            .map(|(_, arn, _)| arn.rsplit('/').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(failing, ["attached", "inline"]);
        assert_eq!(GROUPS_ONLY.account_scope(&cx).len(), 3);
    }
}
