//! The CIS AWS Foundations controls about the account itself, decided from its
//! [`settings`](crate::settings) (read only when one of these rules is in force):
//! - per scanned region (the finding's resource is the account, its region the region):
//!   - `ebs-default-encryption` (6.1.1): `GetEbsEncryptionByDefault` is true;
//!   - `securityhub-enabled` (5.16): `DescribeHub` answers with a hub (an account that is not
//!     subscribed is answered `InvalidAccessException`, which is "off", not a failed read);
//! - once per account (region `global`, judged by the scan that read IAM):
//!   - `root-access-keys` (2.4): `GetAccountSummary` counts no `AccountAccessKeysPresent`;
//!   - `root-mfa` (2.5): `AccountMFAEnabled` is 1 (a virtual or hardware device alike);
//!   - `iam-password-length` (2.8): a password policy with `MinimumPasswordLength` of 14 or
//!     more (no policy fails);
//!   - `iam-password-reuse` (2.9): a password policy with `PasswordReusePrevention` of 24
//!     (no policy, or no reuse prevention, fails);
//!   - `iam-support-role` (2.15): `AWSSupportAccess` is attached to a role
//!     (`ListEntitiesForPolicy`; attached to users or groups only does not count).
//!
//! A setting that could not be read makes its unit not evaluated, with the failed call; one the
//! inventory does not hold (its scan ran no rule that needed it) too, as `NotRecorded`.

use super::{EvalContext, Rule, Verdict, Violation, account_arn, not_recorded_in};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{GLOBAL_REGION, Resource};
use crate::observed::Observed;
use crate::settings::{GlobalSettings, RegionSettings, Setting};

/// A rule on a setting of each scanned region.
pub struct Regional {
    id: RuleId,
    setting: Setting,
    /// The setting's name as AWS writes it.
    name: &'static str,
    /// The region's verdict; `None` when the inventory does not hold the setting.
    judge: fn(&RegionSettings, &str) -> Option<Verdict>,
}

/// A boolean setting that should be on.
struct Switch {
    severity: Severity,
    /// Why it fails, before " in REGION".
    off: &'static str,
    /// The CLI command that fixes it, before " --region REGION".
    fix: &'static str,
    /// The setting's name as AWS writes it.
    name: &'static str,
}

impl Switch {
    fn judge(&self, read: Option<&Observed<bool>>, region: &str) -> Option<Verdict> {
        Some(match read? {
            Observed::Unread(e) => Verdict::unread(e),
            Observed::Read(true) => Verdict::Pass,
            Observed::Read(false) => Verdict::Fail(Violation::new(
                self.severity,
                vec![format!("{} in {region}", self.off)],
                format!("{} --region {region}", self.fix),
                vec![Evidence::setting(self.name, "false", "true")],
            )),
        })
    }
}

const EBS: Switch = Switch {
    severity: Severity::Medium,
    off: "new EBS volumes are not encrypted by default",
    fix: "aws ec2 enable-ebs-encryption-by-default",
    name: "EbsEncryptionByDefault",
};

const HUB: Switch = Switch {
    severity: Severity::Medium,
    off: "Security Hub is not enabled",
    fix: "aws securityhub enable-security-hub --enable-default-standards",
    name: "SecurityHub",
};

/// A list of the region: its verdict from the items, `None` when not recorded.
fn from_list<T>(
    list: Option<&Observed<Vec<T>>>,
    judge: impl FnOnce(&[T]) -> Option<Violation>,
) -> Option<Verdict> {
    Some(match list? {
        Observed::Unread(e) => Verdict::unread(e),
        Observed::Read(items) => judge(items).into(),
    })
}

/// External access analyzers (2.18): `ACCOUNT` or `ORGANIZATION`, `ACTIVE`.
fn analyzer(s: &RegionSettings, region: &str) -> Option<Verdict> {
    from_list(s.access_analyzers.as_ref(), |all| {
        let active = all
            .iter()
            .any(|a| matches!(a.kind.as_str(), "ACCOUNT" | "ORGANIZATION") && a.status == "ACTIVE");
        (!active).then(|| {
            let seen = if all.is_empty() {
                "no analyzer".to_owned()
            } else {
                all.iter()
                    .map(|a| format!("{} ({}, {})", a.name, a.kind, a.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Violation::new(
                Severity::Medium,
                vec![format!(
                    "no active external access analyzer in {region} (found: {seen}); an organization analyzer is visible only from the management or delegated administrator account"
                )],
                format!(
                    "aws accessanalyzer create-analyzer --analyzer-name account-external --type ACCOUNT --region {region} (or exempt this finding where an organization analyzer covers the account)"
                ),
                vec![Evidence::setting("analyzer", seen, "an ACTIVE ACCOUNT or ORGANIZATION analyzer")],
            )
        })
    })
}

/// A recorder that records (4.3): every supported type, recording, its last delivery not
/// failed (`Pending` is a recorder just started).
fn recorder(s: &RegionSettings, region: &str) -> Option<Verdict> {
    from_list(s.config_recorders.as_ref(), |all| {
        let works = |r: &&crate::settings::ConfigRecorder| {
            r.all_supported
                && r.recording == Some(true)
                && !r
                    .last_status
                    .as_deref()
                    .is_some_and(|st| st.eq_ignore_ascii_case("failure"))
        };
        if all.iter().any(|r| works(&r)) {
            return None;
        }
        let (reason, found) = match all.first() {
            None => ("no configuration recorder".to_owned(), "none".to_owned()),
            Some(r) if !r.all_supported => (
                format!(
                    "recorder {} does not record every supported resource type",
                    r.name
                ),
                "allSupported false".to_owned(),
            ),
            Some(r) if r.recording != Some(true) => (
                format!("recorder {} is not recording", r.name),
                "recording false".to_owned(),
            ),
            Some(r) => (
                format!("recorder {}'s last delivery failed", r.name),
                format!(
                    "lastStatus {}",
                    r.last_status.as_deref().unwrap_or("Failure")
                ),
            ),
        };
        Some(Violation::new(
            Severity::Medium,
            vec![format!("AWS Config does not record in {region}: {reason}")],
            format!(
                "aws configservice put-configuration-recorder --configuration-recorder name=default,roleARN=ROLE --recording-group allSupported=true,includeGlobalResourceTypes=true --region {region}, then put-delivery-channel and start-configuration-recorder"
            ),
            vec![Evidence::setting(
                "configuration recorder",
                found,
                "recording, allSupported true",
            )],
        ))
    })
}

impl Regional {
    /// CIS 6.1.1.
    pub const EBS_DEFAULT_ENCRYPTION: Self = Self {
        id: RuleId::EbsDefaultEncryption,
        setting: Setting::EbsEncryptionByDefault,
        name: EBS.name,
        judge: |s, region| EBS.judge(s.ebs_encryption_by_default.as_ref(), region),
    };
    /// CIS 5.16.
    pub const SECURITY_HUB: Self = Self {
        id: RuleId::SecurityhubEnabled,
        setting: Setting::SecurityHub,
        name: HUB.name,
        judge: |s, region| HUB.judge(s.security_hub.as_ref(), region),
    };
    /// CIS 2.18.
    pub const ACCESS_ANALYZER: Self = Self {
        id: RuleId::AccessAnalyzerEnabled,
        setting: Setting::AccessAnalyzers,
        name: "Analyzers",
        judge: analyzer,
    };
    /// CIS 4.3.
    pub const CONFIG_RECORDER: Self = Self {
        id: RuleId::ConfigRecorderEnabled,
        setting: Setting::ConfigRecorders,
        name: "ConfigurationRecorders",
        judge: recorder,
    };
}

impl Rule for Regional {
    fn id(&self) -> RuleId {
        self.id
    }

    fn needs(&self) -> &'static [Setting] {
        self.setting.alone()
    }

    fn applies(&self, _cx: &EvalContext<'_>, _r: &Resource) -> bool {
        false
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Verdict {
        Verdict::Pass
    }

    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        super::per_region(cx.inventory)
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        let inv = cx.inventory;
        let (service, operation) = self.setting.call();
        inv.regions
            .iter()
            .filter_map(|region| {
                let verdict = inv
                    .settings
                    .regions
                    .get(region)
                    .and_then(|s| (self.judge)(s, region))
                    .unwrap_or_else(|| not_recorded_in(region, self.name, service, operation));
                (!matches!(verdict, Verdict::Pass)).then(|| {
                    (
                        region.clone(),
                        account_arn(region, &inv.account_id),
                        verdict,
                    )
                })
            })
            .collect()
    }
}

/// A rule about the account as a whole, decided from its global settings.
pub struct Global {
    id: RuleId,
    setting: Setting,
    /// The verdict from the settings; `None` when they do not hold what it needs.
    judge: fn(&GlobalSettings) -> Option<Verdict>,
}

/// The account summary's verdict: `None` when not recorded.
fn summary(
    g: &GlobalSettings,
    fails: fn(&crate::settings::AccountSummary) -> Option<Violation>,
) -> Option<Verdict> {
    Some(match g.account_summary.as_ref()? {
        Observed::Read(s) => fails(s).into(),
        Observed::Unread(e) => Verdict::unread(e),
    })
}

/// The password policy's verdict: `None` when not recorded.
fn password(
    g: &GlobalSettings,
    fails: fn(Option<&crate::settings::PasswordPolicy>) -> Option<Violation>,
) -> Option<Verdict> {
    Some(match g.password_policy.as_ref()? {
        Observed::Read(p) => fails(p.as_ref()).into(),
        Observed::Unread(e) => Verdict::unread(e),
    })
}

fn root_keys(g: &GlobalSettings) -> Option<Verdict> {
    summary(g, |s| {
        (s.root_access_keys > 0).then(|| {
            Violation::new(
                Severity::Critical,
                vec![format!(
                    "the root user has {} access key(s)",
                    s.root_access_keys
                )],
                "Sign in as the root user, Security credentials: delete every access key (create an IAM role for whatever used it first)",
                vec![Evidence::setting(
                    "AccountAccessKeysPresent",
                    s.root_access_keys.to_string(),
                    "0",
                )],
            )
        })
    })
}

fn root_mfa(g: &GlobalSettings) -> Option<Verdict> {
    summary(g, |s| {
        (!s.root_mfa).then(|| {
            Violation::new(
                Severity::Critical,
                vec!["the root user has no MFA device".to_owned()],
                "Sign in as the root user, Security credentials: assign an MFA device (a hardware key for the root user of a production account)",
                vec![Evidence::setting("AccountMFAEnabled", "0", "1")],
            )
        })
    })
}

fn length(g: &GlobalSettings) -> Option<Verdict> {
    password(g, |p| {
        let found = p.map(|p| p.minimum_length);
        (found.is_none_or(|n| n < 14)).then(|| {
            Violation::new(
                Severity::Medium,
                vec![match found {
                    None => "the account has no password policy".to_owned(),
                    Some(n) => format!("passwords may be {n} characters long"),
                }],
                "aws iam update-account-password-policy --minimum-password-length 14 (with the other settings you keep: the call replaces the whole policy)",
                vec![Evidence::setting(
                    "MinimumPasswordLength",
                    found.map_or("(no policy)".to_owned(), |n| n.to_string()),
                    "14 or more",
                )],
            )
        })
    })
}

fn reuse(g: &GlobalSettings) -> Option<Verdict> {
    password(g, |p| {
        let found = p.map(|p| p.reuse_prevention);
        (found.is_none_or(|n| n.is_none_or(|n| n < 24))).then(|| {
            Violation::new(
                Severity::Medium,
                vec![match found {
                    None => "the account has no password policy".to_owned(),
                    Some(None) => "passwords may be reused".to_owned(),
                    Some(Some(n)) => format!("only the last {n} passwords may not be reused"),
                }],
                "aws iam update-account-password-policy --password-reuse-prevention 24 (with the other settings you keep: the call replaces the whole policy)",
                vec![Evidence::setting(
                    "PasswordReusePrevention",
                    match found {
                        None => "(no policy)".to_owned(),
                        Some(None) => "(none)".to_owned(),
                        Some(Some(n)) => n.to_string(),
                    },
                    "24",
                )],
            )
        })
    })
}

fn support_role(g: &GlobalSettings) -> Option<Verdict> {
    Some(match g.support_roles.as_ref()? {
        Observed::Unread(e) => Verdict::unread(e),
        Observed::Read(roles) if !roles.is_empty() => Verdict::Pass,
        Observed::Read(_) => Verdict::Fail(Violation::new(
            Severity::Low,
            vec!["no role holds AWSSupportAccess: nobody can open a support case during an incident without the root user".to_owned()],
            "aws iam create-role --role-name support --assume-role-policy-document TRUST (the people who handle incidents) && aws iam attach-role-policy --role-name support --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess",
            vec![Evidence::setting("AWSSupportAccess", "attached to no role", "attached to a role")],
        )),
    })
}

impl Global {
    /// CIS 2.4.
    pub const ROOT_ACCESS_KEYS: Self = Self {
        id: RuleId::RootAccessKeys,
        setting: Setting::AccountSummary,
        judge: root_keys,
    };
    /// CIS 2.5.
    pub const ROOT_MFA: Self = Self {
        id: RuleId::RootMfa,
        setting: Setting::AccountSummary,
        judge: root_mfa,
    };
    /// CIS 2.8.
    pub const PASSWORD_LENGTH: Self = Self {
        id: RuleId::IamPasswordLength,
        setting: Setting::PasswordPolicy,
        judge: length,
    };
    /// CIS 2.9.
    pub const PASSWORD_REUSE: Self = Self {
        id: RuleId::IamPasswordReuse,
        setting: Setting::PasswordPolicy,
        judge: reuse,
    };
    /// CIS 2.15.
    pub const SUPPORT_ROLE: Self = Self {
        id: RuleId::IamSupportRole,
        setting: Setting::SupportAccess,
        judge: support_role,
    };

    /// The one unit: the account, in `global`, when the inventory read IAM.
    fn unit(inv: &crate::Inventory) -> Option<(String, String)> {
        // The partition is the scanned regions'; a shard of IAM alone names none.
        let partition_of = inv.regions.first().map_or(GLOBAL_REGION, String::as_str);
        inv.covers_global().then(|| {
            (
                GLOBAL_REGION.to_owned(),
                account_arn(partition_of, &inv.account_id),
            )
        })
    }
}

impl Rule for Global {
    fn id(&self) -> RuleId {
        self.id
    }

    fn needs(&self) -> &'static [Setting] {
        self.setting.alone()
    }

    fn applies(&self, _cx: &EvalContext<'_>, _r: &Resource) -> bool {
        false
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Verdict {
        Verdict::Pass
    }

    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        Self::unit(cx.inventory).into_iter().collect()
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        let Some((region, arn)) = Self::unit(cx.inventory) else {
            return Vec::new();
        };
        let (service, operation) = self.setting.call();
        let global = cx.inventory.settings.global.as_deref();
        let verdict = match global.and_then(self.judge) {
            None => not_recorded_in(&region, "account settings", service, operation),
            Some(Verdict::Pass) => return Vec::new(),
            Some(verdict) => verdict,
        };
        vec![(region, arn, verdict)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use crate::settings::{AccountSummary, PasswordPolicy};

    /// The verdicts of `rule` as (region, kind).
    fn verdicts(rule: &dyn Rule, inv: &crate::Inventory) -> Vec<(String, String)> {
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: inv,
            now: now(),
        };
        rule.check_account(&cx)
            .into_iter()
            .map(|(region, _, v)| {
                let kind = match v {
                    Verdict::Pass => "pass".to_owned(),
                    Verdict::Fail(v) => format!("fail: {}", v.reasons.join("; ")),
                    Verdict::NotEvaluated(m) => format!("not evaluated: {}", m[0].code),
                };
                (region, kind)
            })
            .collect()
    }

    #[test]
    fn regional_settings_are_judged_per_scanned_region() {
        let mut inv = inventory(vec![]);
        inv.settings.regions.insert(
            "us-east-1".into(),
            RegionSettings {
                ebs_encryption_by_default: Some(Observed::Read(false)),
                security_hub: Some(Observed::Read(true)),
                ..RegionSettings::default()
            },
        );
        inv.settings.regions.insert(
            "eu-west-1".into(),
            RegionSettings {
                ebs_encryption_by_default: Some(Observed::failed(denied(
                    "ec2",
                    "GetEbsEncryptionByDefault",
                ))),
                security_hub: None,
                ..RegionSettings::default()
            },
        );
        assert_eq!(
            verdicts(&Regional::EBS_DEFAULT_ENCRYPTION, &inv),
            [
                (
                    "us-east-1".to_owned(),
                    "fail: new EBS volumes are not encrypted by default in us-east-1".to_owned()
                ),
                (
                    "eu-west-1".to_owned(),
                    "not evaluated: AccessDenied".to_owned()
                ),
            ]
        );
        assert_eq!(
            verdicts(&Regional::SECURITY_HUB, &inv),
            [(
                "eu-west-1".to_owned(),
                "not evaluated: NotRecorded".to_owned()
            )],
            "on in us-east-1; never asked in eu-west-1"
        );
    }

    fn global(
        summary: Option<Observed<AccountSummary>>,
        password: Option<Observed<Option<PasswordPolicy>>>,
    ) -> crate::Inventory {
        let mut inv = inventory(vec![]);
        inv.settings.global = Some(Box::new(GlobalSettings {
            password_policy: password,
            account_summary: summary,
            ..GlobalSettings::default()
        }));
        inv
    }

    #[test]
    fn root_credentials_from_the_account_summary() {
        let summary = |keys, mfa| {
            Some(Observed::Read(AccountSummary {
                root_access_keys: keys,
                root_mfa: mfa,
            }))
        };
        let one = |rule: &Global, inv| {
            let v = verdicts(rule, &inv);
            assert!(v.iter().all(|(r, _)| r == "global"));
            v.into_iter().map(|(_, k)| k).collect::<Vec<_>>()
        };
        let clean = global(summary(0, true), None);
        assert!(one(&Global::ROOT_ACCESS_KEYS, clean.clone()).is_empty());
        assert!(one(&Global::ROOT_MFA, clean).is_empty());
        let bad = global(summary(2, false), None);
        assert_eq!(
            one(&Global::ROOT_ACCESS_KEYS, bad.clone()),
            ["fail: the root user has 2 access key(s)"]
        );
        assert_eq!(
            one(&Global::ROOT_MFA, bad),
            ["fail: the root user has no MFA device"]
        );
        let unread = global(
            Some(Observed::failed(denied("iam", "GetAccountSummary"))),
            None,
        );
        assert_eq!(
            one(&Global::ROOT_MFA, unread),
            ["not evaluated: AccessDenied"]
        );
        assert_eq!(
            one(&Global::PASSWORD_LENGTH, global(summary(0, true), None)),
            ["not evaluated: NotRecorded"]
        );
    }

    #[test]
    fn password_policy_boundaries() {
        let with = |length, reuse| {
            global(
                None,
                Some(Observed::Read(Some(PasswordPolicy {
                    minimum_length: length,
                    reuse_prevention: reuse,
                }))),
            )
        };
        let cases: Vec<(crate::Inventory, Vec<&str>, Vec<&str>)> = vec![
            (with(14, Some(24)), vec![], vec![]),
            (
                with(13, Some(23)),
                vec!["fail: passwords may be 13 characters long"],
                vec!["fail: only the last 23 passwords may not be reused"],
            ),
            (
                with(64, None),
                vec![],
                vec!["fail: passwords may be reused"],
            ),
            (
                global(None, Some(Observed::Read(None))),
                vec!["fail: the account has no password policy"],
                vec!["fail: the account has no password policy"],
            ),
        ];
        for (inv, length, reuse) in cases {
            let kinds = |rule: &Global| -> Vec<String> {
                verdicts(rule, &inv).into_iter().map(|(_, k)| k).collect()
            };
            assert_eq!(kinds(&Global::PASSWORD_LENGTH), length);
            assert_eq!(kinds(&Global::PASSWORD_REUSE), reuse);
        }
    }

    #[test]
    fn a_regional_shard_leaves_the_account_to_the_global_one() {
        let shard = inventory(vec![]);
        assert!(shard.settings.is_empty());
        assert!(verdicts(&Global::ROOT_MFA, &shard).is_empty());
        let mut full = inventory(vec![]);
        full.stats.units.push(crate::inventory::UnitTiming {
            service: "iam".into(),
            region: GLOBAL_REGION.into(),
            duration_ms: 1,
        });
        assert_eq!(
            verdicts(&Global::ROOT_MFA, &full),
            [("global".to_owned(), "not evaluated: NotRecorded".to_owned())],
            "a scan of IAM that did not read the summary decides nothing"
        );
    }

    #[test]
    fn a_support_role_is_a_role_holding_support_access() {
        let with = |roles: Option<Observed<Vec<String>>>| {
            let mut inv = global(None, None);
            if let Some(g) = inv.settings.global.as_mut() {
                g.support_roles = roles;
            }
            inv
        };
        let kinds = |inv| -> Vec<String> {
            verdicts(&Global::SUPPORT_ROLE, &inv)
                .into_iter()
                .map(|(_, k)| k)
                .collect()
        };
        assert!(kinds(with(Some(Observed::Read(vec!["support".into()])))).is_empty());
        assert_eq!(
            kinds(with(Some(Observed::Read(vec![])))),
            [
                "fail: no role holds AWSSupportAccess: nobody can open a support case during an incident without the root user"
            ]
        );
        assert_eq!(
            kinds(with(Some(Observed::failed(denied(
                "iam",
                "ListEntitiesForPolicy"
            ))))),
            ["not evaluated: AccessDenied"]
        );
        assert_eq!(kinds(with(None)), ["not evaluated: NotRecorded"]);
    }
}
