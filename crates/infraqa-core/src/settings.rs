//! What a scan read about the account itself rather than about one resource: a region's EBS
//! default encryption and Security Hub, the account's password policy and IAM summary (and
//! which of these reads, with the trails' event selectors, the rules in force need).
//!
//! Each is read only when a rule in force needs it ([`Setting`], [`Rule::needs`]
//! (crate::rules::Rule::needs)), so a policy without those rules costs no call and asks no
//! permission. A value absent from an inventory was not asked for (or the inventory predates
//! it): the rule that needs it reports "not evaluated", never a pass or a finding.

use crate::observed::Observed;
use chrono::{DateTime, Utc};
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
    /// `iam:GenerateCredentialReport` and `iam:GetCredentialReport`, once.
    CredentialReport,
    /// `iam:ListEntitiesForPolicy` of `AWSSupportAccess`, once.
    SupportAccess,
    /// `iam:ListServerCertificates`, once.
    ServerCertificates,
    /// `iam:GetAccountAuthorizationDetails` of the users, once.
    UserPolicies,
    /// `iam:ListPolicies` of the attached ones and `iam:GetPolicyVersion` of each, once.
    AttachedPolicies,
    /// `access-analyzer:ListAnalyzers`, per region.
    AccessAnalyzers,
    /// `elasticfilesystem:DescribeFileSystems`, per region.
    FileSystems,
    /// `config:DescribeConfigurationRecorders` and `DescribeConfigurationRecorderStatus`, per
    /// region.
    ConfigRecorders,
    /// `kms:ListKeys`, then `DescribeKey` and `GetKeyRotationStatus` of each, per region.
    KmsKeys,
    /// `ec2:DescribeNetworkAcls`, per region.
    NetworkAcls,
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
    /// This setting alone, as a rule's [`needs`](crate::rules::Rule::needs) lists it.
    pub fn alone(self) -> &'static [Setting] {
        match self {
            Self::EbsEncryptionByDefault => &[Self::EbsEncryptionByDefault],
            Self::SecurityHub => &[Self::SecurityHub],
            Self::PasswordPolicy => &[Self::PasswordPolicy],
            Self::AccountSummary => &[Self::AccountSummary],
            Self::TrailEventSelectors => &[Self::TrailEventSelectors],
            Self::BucketPolicy => &[Self::BucketPolicy],
            Self::CredentialReport => &[Self::CredentialReport],
            Self::SupportAccess => &[Self::SupportAccess],
            Self::ServerCertificates => &[Self::ServerCertificates],
            Self::UserPolicies => &[Self::UserPolicies],
            Self::AttachedPolicies => &[Self::AttachedPolicies],
            Self::AccessAnalyzers => &[Self::AccessAnalyzers],
            Self::FileSystems => &[Self::FileSystems],
            Self::ConfigRecorders => &[Self::ConfigRecorders],
            Self::KmsKeys => &[Self::KmsKeys],
            Self::NetworkAcls => &[Self::NetworkAcls],
        }
    }

    /// Where it is read.
    pub fn reach(self) -> Reach {
        match self {
            Self::EbsEncryptionByDefault
            | Self::SecurityHub
            | Self::AccessAnalyzers
            | Self::FileSystems
            | Self::ConfigRecorders
            | Self::KmsKeys
            | Self::NetworkAcls => Reach::Region,
            Self::PasswordPolicy
            | Self::AccountSummary
            | Self::CredentialReport
            | Self::SupportAccess
            | Self::ServerCertificates
            | Self::UserPolicies
            | Self::AttachedPolicies => Reach::Account,
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
            Self::CredentialReport => ("iam", "GetCredentialReport"),
            Self::SupportAccess => ("iam", "ListEntitiesForPolicy"),
            Self::ServerCertificates => ("iam", "ListServerCertificates"),
            Self::UserPolicies => ("iam", "GetAccountAuthorizationDetails"),
            Self::AttachedPolicies => ("iam", "ListPolicies"),
            Self::AccessAnalyzers => ("access-analyzer", "ListAnalyzers"),
            Self::FileSystems => ("efs", "DescribeFileSystems"),
            Self::ConfigRecorders => ("config", "DescribeConfigurationRecorders"),
            Self::KmsKeys => ("kms", "ListKeys"),
            Self::NetworkAcls => ("ec2", "DescribeNetworkAcls"),
        }
    }
}

/// The settings a scan read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// Per scanned region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, RegionSettings>,
    /// Account-wide: present when the scan read the account's global services and a rule
    /// needed one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<Box<GlobalSettings>>,
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
            into.access_analyzers = into.access_analyzers.take().or(s.access_analyzers);
            into.file_systems = into.file_systems.take().or(s.file_systems);
            into.config_recorders = into.config_recorders.take().or(s.config_recorders);
            into.kms_keys = into.kms_keys.take().or(s.kms_keys);
            into.network_acls = into.network_acls.take().or(s.network_acls);
        }
        if let Some(theirs) = other.global {
            let g = self.global.get_or_insert_with(Box::default);
            g.password_policy = g.password_policy.take().or(theirs.password_policy);
            g.account_summary = g.account_summary.take().or(theirs.account_summary);
            g.credential_report = g.credential_report.take().or(theirs.credential_report);
            g.support_roles = g.support_roles.take().or(theirs.support_roles);
            g.server_certificates = g.server_certificates.take().or(theirs.server_certificates);
            g.user_policies = g.user_policies.take().or(theirs.user_policies);
            g.attached_policies = g.attached_policies.take().or(theirs.attached_policies);
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
    /// The IAM Access Analyzer analyzers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_analyzers: Option<Observed<Vec<Analyzer>>>,
    /// The EFS file systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_systems: Option<Observed<Vec<FileSystem>>>,
    /// The AWS Config configuration recorders, with their status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_recorders: Option<Observed<Vec<ConfigRecorder>>>,
    /// The KMS keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_keys: Option<Observed<Vec<KmsKey>>>,
    /// The network ACLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_acls: Option<Observed<Vec<NetworkAcl>>>,
}

/// An IAM Access Analyzer analyzer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analyzer {
    /// Its name.
    pub name: String,
    /// `ACCOUNT` or `ORGANIZATION` (external access), or another kind (unused or internal
    /// access).
    pub kind: String,
    /// `ACTIVE`, `CREATING`, `DISABLED` or `FAILED`.
    pub status: String,
}

/// An EFS file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystem {
    /// Its ARN.
    pub arn: String,
    /// Its id, `fs-...`.
    pub id: String,
    /// Whether its data is encrypted at rest (set at creation, never changed).
    pub encrypted: bool,
}

/// An AWS Config configuration recorder and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecorder {
    /// Its name.
    pub name: String,
    /// Whether it records every supported resource type (`allSupported`).
    pub all_supported: bool,
    /// Whether it records global resource types (IAM) too.
    pub include_global: bool,
    /// Whether it is recording; absent when its status was not returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    /// Its last delivery status: `Pending`, `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
}

/// A KMS key as `ListKeys` names it, described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsKey {
    /// Its ARN.
    pub arn: String,
    /// What `DescribeKey` said of it.
    pub description: Observed<KeyDescription>,
    /// Whether automatic rotation is on (`GetKeyRotationStatus`), read only for the keys
    /// that [`KeyDescription::rotatable`] says can rotate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Observed<bool>>,
}

/// What `DescribeKey` says of a key, as far as rotation depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDescription {
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, or an asymmetric or HMAC spec.
    pub spec: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// Where its key material came from: `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, ...
    pub origin: String,
}

impl KeyDescription {
    /// Whether the key is one whose rotation the customer turns on (CIS 4.6): an enabled,
    /// customer-managed, symmetric key with key material KMS made. AWS-managed keys rotate
    /// every year on their own; imported or custom-store material cannot rotate automatically.
    pub fn rotatable(&self) -> bool {
        self.manager == "CUSTOMER"
            && self.spec == "SYMMETRIC_DEFAULT"
            && self.state == "Enabled"
            && self.origin == "AWS_KMS"
    }
}

/// A network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    /// Its ARN.
    pub arn: String,
    /// Its id, `acl-...`.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// How many subnets it is associated with.
    pub subnets: usize,
    /// Its entries, in the order AWS returned them.
    pub entries: Vec<AclEntry>,
}

/// One entry (rule) of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    /// The rule number: entries are evaluated in increasing order, the first match decides.
    pub rule_number: i32,
    /// Whether it applies to outbound traffic.
    pub egress: bool,
    /// `allow` (true) or `deny`.
    pub allow: bool,
    /// The IP protocol number, `-1` for all.
    pub protocol: String,
    /// The IPv4 range it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// The IPv6 range it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr: Option<String>,
    /// The port range, for TCP and UDP (absent: every port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<(i32, i32)>,
}

/// What a scan read about the account as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalSettings {
    /// The password policy; `null` when the account has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<Observed<Option<PasswordPolicy>>>,
    /// The root user's credentials, as `GetAccountSummary` counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_summary: Option<Observed<AccountSummary>>,
    /// Each IAM user's credentials, as the credential report lists them (the root user left
    /// out: `account_summary` says what the rules need of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_report: Option<Observed<Vec<UserCredentials>>>,
    /// The roles `AWSSupportAccess` is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_roles: Option<Observed<Vec<String>>>,
    /// The server certificates stored in IAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificates: Option<Observed<Vec<ServerCertificate>>>,
    /// Each IAM user's own policies (not its groups').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_policies: Option<Observed<Vec<UserPolicies>>>,
    /// The managed policies attached to a user, group or role, with their default versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_policies: Option<Observed<Vec<AttachedPolicy>>>,
}

/// A managed policy attached to at least one user, group or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// How many users, groups and roles it is attached to.
    pub attachments: i32,
    /// Its default version's document.
    pub document: Observed<crate::iam::PolicyDocument>,
}

/// The policies attached to, or embedded in, one IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPolicies {
    /// The user's ARN.
    pub arn: String,
    /// The user's name.
    pub user: String,
    /// The ARNs of the managed policies attached to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
    /// The names of its inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<String>,
}

/// A server certificate stored in IAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCertificate {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<DateTime<Utc>>,
}

/// The AWS-managed policy that lets its holder manage AWS Support cases.
pub const SUPPORT_ACCESS_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

/// The `resource_type` of findings about an IAM user (known from the credential report).
pub const IAM_USER: &str = "iam:user";

/// One IAM user's credentials, as the credential report lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCredentials {
    /// The user's name.
    pub user: String,
    /// The user's ARN.
    pub arn: String,
    /// When the user was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// Whether the user has a console password.
    pub password_enabled: bool,
    /// When the password was last used (absent: never, or before AWS recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_used: Option<DateTime<Utc>>,
    /// When the password was last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_changed: Option<DateTime<Utc>>,
    /// Whether the user has an MFA device.
    pub mfa_active: bool,
    /// Its two access key slots.
    #[serde(default)]
    pub access_keys: Vec<AccessKeyUse>,
}

/// One access key slot of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyUse {
    /// Which slot (1 or 2).
    pub slot: u8,
    /// Whether the key is active.
    pub active: bool,
    /// When it was created or last rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated: Option<DateTime<Utc>>,
    /// When it was last used (absent: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
}

/// A credential report that is not the CSV AWS documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the credential report does not parse: {0}")]
pub struct CredentialReportError(String);

/// Parses the credential report (`GetCredentialReport`'s CSV): every user but the root
/// account. A time column holds an RFC 3339 time, or `N/A`, `no_information` or `not_supported`
/// (none); a missing column is an error naming it.
pub fn parse_credential_report(
    csv_text: &str,
) -> Result<Vec<UserCredentials>, CredentialReportError> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| CredentialReportError(e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| CredentialReportError(format!("no column {name}")))
    };
    let [
        user,
        arn,
        created,
        password,
        password_used,
        password_changed,
        mfa,
    ] = [
        "user",
        "arn",
        "user_creation_time",
        "password_enabled",
        "password_last_used",
        "password_last_changed",
        "mfa_active",
    ]
    .map(column);
    let (user, arn, created, password, password_used, password_changed, mfa) = (
        user?,
        arn?,
        created?,
        password?,
        password_used?,
        password_changed?,
        mfa?,
    );
    let mut keys = Vec::new();
    for slot in [1u8, 2] {
        keys.push((
            slot,
            column(&format!("access_key_{slot}_active"))?,
            column(&format!("access_key_{slot}_last_rotated"))?,
            column(&format!("access_key_{slot}_last_used_date"))?,
        ));
    }
    let time = |v: &str| {
        DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| CredentialReportError(e.to_string()))?;
        let field = |i: usize| row.get(i).unwrap_or_default();
        if field(user) == "<root_account>" {
            continue;
        }
        out.push(UserCredentials {
            user: field(user).to_owned(),
            arn: field(arn).to_owned(),
            created: time(field(created)),
            password_enabled: field(password) == "true",
            password_last_used: time(field(password_used)),
            password_last_changed: time(field(password_changed)),
            mfa_active: field(mfa) == "true",
            access_keys: keys
                .iter()
                .map(|(slot, active, rotated, used)| AccessKeyUse {
                    slot: *slot,
                    active: field(*active) == "true",
                    last_rotated: time(field(*rotated)),
                    last_used: time(field(*used)),
                })
                .collect(),
        });
    }
    Ok(out)
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
        b.global = Some(Box::new(GlobalSettings {
            account_summary: Some(Observed::Read(AccountSummary {
                root_access_keys: 1,
                root_mfa: false,
            })),
            ..GlobalSettings::default()
        }));
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

    #[test]
    fn the_credential_report_reads_every_user_but_root() {
        let csv = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::123456789012:user/alice,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,N/A,false,true,2025-02-01T00:00:00+00:00,2026-11-20T10:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        let users = parse_credential_report(csv).unwrap();
        assert_eq!(users.len(), 1, "the root account is left out");
        let a = &users[0];
        assert_eq!(a.arn, "arn:aws:iam::123456789012:user/alice");
        assert!(a.password_enabled && !a.mfa_active);
        assert_eq!(a.password_last_used, None, "no_information is none");
        assert!(a.access_keys[0].active && !a.access_keys[1].active);
        assert_eq!(
            a.access_keys[0].last_used,
            Some("2026-11-20T10:00:00Z".parse().unwrap())
        );
        let err = parse_credential_report("user,arn\nbob,arn:x\n").unwrap_err();
        assert!(
            err.to_string().contains("no column user_creation_time"),
            "{err}"
        );
    }
}
