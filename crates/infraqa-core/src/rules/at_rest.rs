//! Encryption at rest outside the inventory's resource types, judged from lists the settings
//! hold per region:
//! - `efs-encryption` (CIS 3.3.1): every EFS file system is encrypted at rest
//!   (`DescribeFileSystems`' `Encrypted`; set when the file system is created, never after);
//! - `kms-key-rotation` (CIS 4.6): every KMS key whose rotation the customer controls (enabled,
//!   customer-managed, symmetric, key material from KMS: [`KeyDescription::rotatable`]) rotates
//!   automatically (`GetKeyRotationStatus`). AWS-managed keys rotate every year on their own;
//!   asymmetric, HMAC, imported and custom-store keys cannot rotate automatically and are not
//!   judged. A key `DescribeKey` could not read, or whose rotation status could not be read, is
//!   not evaluated.
//!
//! [`KeyDescription::rotatable`]: crate::settings::KeyDescription::rotatable

use super::listed::{Listed, Source};
use super::{Verdict, Violation, not_recorded_in};
use crate::finding::{Evidence, RuleId, Severity};
use crate::observed::Observed;
use crate::settings::{FileSystem, KmsKey, Setting};
use chrono::{DateTime, Utc};

fn file_system(fs: &FileSystem, _now: DateTime<Utc>) -> Option<Verdict> {
    Some(if fs.encrypted {
        Verdict::Pass
    } else {
        Verdict::Fail(Violation::new(
            Severity::High,
            vec!["the file system is not encrypted at rest".to_owned()],
            format!(
                "Encryption is chosen when a file system is created: aws efs create-file-system --encrypted (with --kms-key-id for your own key), copy {}'s data across (AWS DataSync), move its mount targets' users, then delete it",
                fs.id
            ),
            vec![Evidence::setting("Encrypted", "false", "true")],
        ))
    })
}

fn key(k: &KmsKey, _now: DateTime<Utc>) -> Option<Verdict> {
    let d = match &k.description {
        Observed::Unread(e) => return Some(Verdict::unread(e)),
        Observed::Read(d) => d,
    };
    if !d.rotatable() {
        return None;
    }
    Some(match &k.rotation {
        Some(Observed::Read(true)) => Verdict::Pass,
        Some(Observed::Read(false)) => Verdict::Fail(Violation::new(
            Severity::Medium,
            vec!["automatic key rotation is off".to_owned()],
            format!("aws kms enable-key-rotation --key-id {}", k.arn),
            vec![Evidence::setting("KeyRotationEnabled", "false", "true")],
        )),
        Some(Observed::Unread(e)) => Verdict::unread(e),
        None => not_recorded_in(
            k.arn.split(':').nth(3).unwrap_or_default(),
            &format!("the rotation status of {}", k.arn),
            "kms",
            "GetKeyRotationStatus",
        ),
    })
}

/// CIS 3.3.1.
pub const EFS_ENCRYPTION: Listed<FileSystem> = Listed {
    id: RuleId::EfsEncryption,
    setting: Setting::FileSystems,
    unit_type: "efs:file-system",
    list: Source::Region(|s| s.file_systems.as_ref()),
    arn: |fs| &fs.arn,
    judge: file_system,
};

/// CIS 4.6.
pub const KEY_ROTATION: Listed<KmsKey> = Listed {
    id: RuleId::KmsKeyRotation,
    setting: Setting::KmsKeys,
    unit_type: "kms:key",
    list: Source::Region(|s| s.kms_keys.as_ref()),
    arn: |k| &k.arn,
    judge: key,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use crate::rules::{EvalContext, Rule};
    use crate::settings::{KeyDescription, RegionSettings};

    fn described(manager: &str, spec: &str, state: &str, origin: &str) -> KeyDescription {
        KeyDescription {
            manager: manager.into(),
            spec: spec.into(),
            state: state.into(),
            origin: origin.into(),
        }
    }

    fn k(name: &str, d: Observed<KeyDescription>, rotation: Option<Observed<bool>>) -> KmsKey {
        KmsKey {
            arn: format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{name}"),
            description: d,
            rotation,
        }
    }

    /// (unit name, outcome) per unit the rule judged, passes included.
    fn judged(rule: &dyn Rule, settings: RegionSettings) -> Vec<(String, String)> {
        let mut inv = inventory(vec![]);
        inv.regions = vec!["us-east-1".into()];
        inv.settings.regions.insert("us-east-1".into(), settings);
        let p = policy("");
        let cx = EvalContext {
            policy: &p,
            inventory: &inv,
            now: now(),
        };
        let failed = rule.check_account(&cx);
        rule.account_scope(&cx)
            .into_iter()
            .map(|(_, arn)| {
                let outcome = match failed.iter().find(|(_, a, _)| *a == arn) {
                    None => "pass".to_owned(),
                    Some((_, _, Verdict::Fail(v))) => v.reasons.join("; "),
                    Some((_, _, Verdict::NotEvaluated(m))) => {
                        format!("not evaluated: {}", m[0].code)
                    }
                    Some((_, _, Verdict::Pass)) => unreachable!("passes are not returned"),
                };
                (
                    arn.rsplit(['/', ':']).next().unwrap_or_default().to_owned(),
                    outcome,
                )
            })
            .collect()
    }

    #[test]
    fn customer_symmetric_keys_must_rotate_and_others_are_not_judged() {
        let customer = || {
            Observed::Read(described(
                "CUSTOMER",
                "SYMMETRIC_DEFAULT",
                "Enabled",
                "AWS_KMS",
            ))
        };
        let keys = vec![
            k("on", customer(), Some(Observed::Read(true))),
            k("off", customer(), Some(Observed::Read(false))),
            k(
                "denied",
                customer(),
                Some(Observed::failed(denied("kms", "GetKeyRotationStatus"))),
            ),
            k(
                "undescribed",
                Observed::failed(denied("kms", "DescribeKey")),
                None,
            ),
            k(
                "aws",
                Observed::Read(described("AWS", "SYMMETRIC_DEFAULT", "Enabled", "AWS_KMS")),
                None,
            ),
            k(
                "rsa",
                Observed::Read(described("CUSTOMER", "RSA_2048", "Enabled", "AWS_KMS")),
                None,
            ),
            k(
                "imported",
                Observed::Read(described(
                    "CUSTOMER",
                    "SYMMETRIC_DEFAULT",
                    "Enabled",
                    "EXTERNAL",
                )),
                None,
            ),
            k(
                "disabled",
                Observed::Read(described(
                    "CUSTOMER",
                    "SYMMETRIC_DEFAULT",
                    "Disabled",
                    "AWS_KMS",
                )),
                None,
            ),
            k("unrecorded", customer(), None),
        ];
        let got = judged(
            &KEY_ROTATION,
            RegionSettings {
                kms_keys: Some(Observed::Read(keys)),
                ..RegionSettings::default()
            },
        );
        let want = [
            ("on", "pass"),
            ("off", "automatic key rotation is off"),
            ("denied", "not evaluated: AccessDenied"),
            ("undescribed", "not evaluated: AccessDenied"),
            ("unrecorded", "not evaluated: NotRecorded"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
        );
    }

    #[test]
    fn unencrypted_file_systems_fail_and_an_unread_list_is_not_evaluated() {
        let fs = |id: &str, encrypted| FileSystem {
            arn: format!("arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/{id}"),
            id: id.into(),
            encrypted,
        };
        assert_eq!(
            judged(
                &EFS_ENCRYPTION,
                RegionSettings {
                    file_systems: Some(Observed::Read(vec![fs("fs-1", true), fs("fs-2", false)])),
                    ..RegionSettings::default()
                }
            ),
            [
                ("fs-1".to_owned(), "pass".to_owned()),
                (
                    "fs-2".to_owned(),
                    "the file system is not encrypted at rest".to_owned()
                )
            ]
        );
        assert_eq!(
            judged(
                &EFS_ENCRYPTION,
                RegionSettings {
                    file_systems: Some(Observed::failed(denied("efs", "DescribeFileSystems"))),
                    ..RegionSettings::default()
                }
            ),
            [("root".to_owned(), "not evaluated: AccessDenied".to_owned())]
        );
        assert_eq!(
            judged(&EFS_ENCRYPTION, RegionSettings::default()),
            [("root".to_owned(), "not evaluated: NotRecorded".to_owned())]
        );
    }
}
