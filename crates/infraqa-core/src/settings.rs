//! What a scan read about the account itself rather than about one resource: a region's EBS
//! default encryption and Security Hub, the account's password policy and IAM summary (and
//! which of these reads, with the trails' event selectors, the rules in force need).
//!
//! Each is read only when a rule in force needs it ([`Setting`], [`Rule::needs`]
//! (crate::rules::Rule::needs)), so a policy without those rules costs no call and asks no
//! permission. A value absent from an inventory was not asked for (or the inventory predates
//! it): the rule that needs it reports "not evaluated", never a pass or a finding.

use crate::observed::Observed;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A setting the scan can read, each by its own call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    /// `ec2:GetEbsEncryptionByDefault`, per region.
    EbsEncryptionByDefault,
    /// `securityhub:DescribeHub`, per region.
    SecurityHub,
    /// `iam:GetAccountPasswordPolicy`, once.
    PasswordPolicy,
    /// `iam:GetAccountSummary`, once.
    AccountSummary,
    /// `cloudtrail:GetEventSelectors`, per trail (read with the trail).
    TrailEventSelectors,
    /// `s3:GetBucketPolicy`, per bucket (read with the bucket).
    BucketPolicy,
}

/// Where a [`Setting`] is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Once per scanned region.
    Region,
    /// Once per account, with its global services.
    Account,
    /// With each trail.
    Trail,
    /// With each bucket.
    Bucket,
}

impl Setting {
    /// Where it is read.
    pub fn reach(self) -> Reach {
        match self {
            Self::EbsEncryptionByDefault | Self::SecurityHub => Reach::Region,
            Self::PasswordPolicy | Self::AccountSummary => Reach::Account,
            Self::TrailEventSelectors => Reach::Trail,
            Self::BucketPolicy => Reach::Bucket,
        }
    }

    /// The (service, operation) that reads it.
    pub fn call(self) -> (&'static str, &'static str) {
        match self {
            Self::EbsEncryptionByDefault => ("ec2", "GetEbsEncryptionByDefault"),
            Self::SecurityHub => ("securityhub", "DescribeHub"),
            Self::PasswordPolicy => ("iam", "GetAccountPasswordPolicy"),
            Self::AccountSummary => ("iam", "GetAccountSummary"),
            Self::TrailEventSelectors => ("cloudtrail", "GetEventSelectors"),
            Self::BucketPolicy => ("s3", "GetBucketPolicy"),
        }
    }
}

/// The settings a scan read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// Per scanned region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, RegionSettings>,
    /// Account-wide: present when the scan read the account's global services and a rule
    /// needed one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalSettings>,
}

impl AccountSettings {
    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.global.is_none()
    }

    /// Adds what `other` read (the shards of one account read apart).
    pub fn absorb(&mut self, other: AccountSettings) {
        for (region, s) in other.regions {
            let into = self.regions.entry(region).or_default();
            into.ebs_encryption_by_default = into
                .ebs_encryption_by_default
                .take()
                .or(s.ebs_encryption_by_default);
            into.security_hub = into.security_hub.take().or(s.security_hub);
        }
        if let Some(theirs) = other.global {
            let g = self.global.get_or_insert_with(GlobalSettings::default);
            g.password_policy = g.password_policy.take().or(theirs.password_policy);
            g.account_summary = g.account_summary.take().or(theirs.account_summary);
        }
    }
}

/// What a scan read about one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSettings {
    /// Whether new EBS volumes are encrypted by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_encryption_by_default: Option<Observed<bool>>,
    /// Whether Security Hub is enabled (`DescribeHub` answers with a hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_hub: Option<Observed<bool>>,
}

/// What a scan read about the account as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalSettings {
    /// The password policy; `null` when the account has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<Observed<Option<PasswordPolicy>>>,
    /// The root user's credentials, as `GetAccountSummary` counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_summary: Option<Observed<AccountSummary>>,
}

/// The account's IAM password policy, as far as the rules read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength`.
    pub minimum_length: i32,
    /// `PasswordReusePrevention`: how many previous passwords may not be reused (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_prevention: Option<i32>,
}

/// What `GetAccountSummary` says of the root user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// `AccountAccessKeysPresent`: the root user's access keys (0 or more).
    pub root_access_keys: i32,
    /// `AccountMFAEnabled`: whether the root user has an MFA device.
    pub root_mfa: bool,
}

/// The settings the rules in force need, each read once per region or once per account.
pub fn needed(policy: &crate::Policy) -> BTreeSet<Setting> {
    crate::rules::in_force(policy)
        .iter()
        .flat_map(|rule| rule.needs().iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_add_up_and_nothing_read_writes_nothing() {
        let mut a = AccountSettings::default();
        assert!(a.is_empty());
        assert_eq!(serde_json::to_string(&a).unwrap(), "{}");
        let mut b = AccountSettings::default();
        b.regions
            .entry("eu-west-1".into())
            .or_default()
            .security_hub = Some(Observed::Read(true));
        b.global = Some(GlobalSettings {
            account_summary: Some(Observed::Read(AccountSummary {
                root_access_keys: 1,
                root_mfa: false,
            })),
            ..GlobalSettings::default()
        });
        a.regions
            .entry("us-east-1".into())
            .or_default()
            .ebs_encryption_by_default = Some(Observed::Read(false));
        a.absorb(b.clone());
        assert_eq!(a.regions.len(), 2);
        assert_eq!(a.global, b.global);
        let back: AccountSettings =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn only_the_rules_in_force_ask_for_reads() {
        let none = crate::Policy::default();
        assert!(
            needed(&none).is_empty(),
            "the default policy reads nothing more"
        );
        let cis = crate::Policy::from_toml(
            "[frameworks]\nenabled = [\"cis-aws-7.0\"]\n[rules.securityhub-enabled]\nenabled = false",
            "p.toml",
        )
        .unwrap();
        let got = needed(&cis);
        assert!(got.contains(&Setting::EbsEncryptionByDefault));
        assert!(!got.contains(&Setting::SecurityHub), "its rule is off");
    }
}
