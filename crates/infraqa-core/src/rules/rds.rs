//! The RDS controls of CIS AWS Foundations 3.2, each from what `DescribeDBInstances` returns
//! for every database instance:
//! - `rds-encryption` (3.2.1): `StorageEncrypted` is true.
//! - `rds-auto-minor-upgrade` (3.2.2): `AutoMinorVersionUpgrade` is true.
//! - `rds-public-access` (3.2.3): `PubliclyAccessible` is false. Whether the instance's subnets
//!   route to an internet gateway is not read: a publicly accessible instance fails whatever
//!   its routes, as the flag alone gives it a public address.

use super::{Control, Verdict, Violation, not_recorded};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{RdsDb, Resource, ResourceDetails};

/// The database instance in `d`, if it is one.
fn db(d: &ResourceDetails) -> Option<&RdsDb> {
    match d {
        ResourceDetails::RdsDb(db) => Some(db),
        _ => None,
    }
}

/// The list call that finds database instances.
const LISTED: &[(&str, &str)] = &[("rds", "DescribeDBInstances")];

/// CIS 3.2.1.
pub const ENCRYPTION: Control<RdsDb> = Control {
    id: RuleId::RdsEncryption,
    listed_by: LISTED,
    details: db,
    judge: |r, d| {
        if d.storage_encrypted {
            return Verdict::Pass;
        }
        Verdict::Fail(Violation::new(
            Severity::Medium,
            vec!["storage is not encrypted at rest".to_owned()],
            format!(
                "Encryption cannot be turned on in place: snapshot the instance (aws rds create-db-snapshot --db-instance-identifier {id}), copy the snapshot with --kms-key-id, restore a new instance from the copy and move clients to it",
                id = r.id
            ),
            vec![Evidence::setting("StorageEncrypted", "false", "true")],
        ))
    },
};

/// CIS 3.2.2.
pub const AUTO_MINOR_UPGRADE: Control<RdsDb> = Control {
    id: RuleId::RdsAutoMinorUpgrade,
    listed_by: LISTED,
    details: db,
    judge: |r, d| match d.auto_minor_version_upgrade {
        None => not_recorded(r, "rds", "DescribeDBInstances", "AutoMinorVersionUpgrade"),
        Some(true) => Verdict::Pass,
        Some(false) => Verdict::Fail(Violation::new(
            Severity::Low,
            vec!["minor engine upgrades are not applied automatically".to_owned()],
            format!(
                "aws rds modify-db-instance --db-instance-identifier {} --auto-minor-version-upgrade --apply-immediately",
                r.id
            ),
            vec![Evidence::setting(
                "AutoMinorVersionUpgrade",
                "false",
                "true",
            )],
        )),
    },
};

/// CIS 3.2.3.
pub const PUBLIC_ACCESS: Control<RdsDb> = Control {
    id: RuleId::RdsPublicAccess,
    listed_by: LISTED,
    details: db,
    judge: |r: &Resource, d| {
        if !d.publicly_accessible {
            return Verdict::Pass;
        }
        Verdict::Fail(Violation::new(
            Severity::High,
            vec!["publicly accessible: its endpoint resolves to a public address".to_owned()],
            format!(
                "aws rds modify-db-instance --db-instance-identifier {} --no-publicly-accessible --apply-immediately, and reach it from inside the VPC",
                r.id
            ),
            vec![Evidence::setting("PubliclyAccessible", "true", "false")],
        ))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceType;
    use crate::rules::testkit::*;

    fn rds(encrypted: bool, public: bool, minor: Option<bool>) -> crate::Inventory {
        inventory(vec![resource(
            ResourceType::RdsDb,
            "orders",
            "us-east-1",
            &[],
            ResourceDetails::RdsDb(RdsDb {
                engine: "postgres".into(),
                instance_class: "db.t3.micro".into(),
                storage_encrypted: encrypted,
                publicly_accessible: public,
                cloudwatch_logs_exports: vec![],
                status: "available".into(),
                auto_minor_version_upgrade: minor,
            }),
        )])
    }

    #[test]
    fn encryption_fails_only_unencrypted_storage() {
        let p = policy("");
        assert_eq!(check(&ENCRYPTION, &p, &rds(true, true, None)), None);
        let v = check(&ENCRYPTION, &p, &rds(false, false, Some(true))).unwrap();
        assert_eq!(v.severity, Severity::Medium);
        assert_eq!(
            v.evidence,
            [Evidence::setting("StorageEncrypted", "false", "true")]
        );
    }

    #[test]
    fn minor_upgrades_fail_when_off_and_are_unknown_when_not_recorded() {
        let p = policy("");
        let rule = AUTO_MINOR_UPGRADE;
        assert_eq!(check(&rule, &p, &rds(false, false, Some(true))), None);
        assert_eq!(
            check(&rule, &p, &rds(true, false, Some(false)))
                .unwrap()
                .severity,
            Severity::Low
        );
        let Verdict::NotEvaluated(missing) = verdict(&rule, &p, &rds(true, false, None)) else {
            panic!("an inventory without the field decides nothing")
        };
        assert_eq!(missing[0].code, "NotRecorded");
        assert_eq!(missing[0].operation, "DescribeDBInstances");
        assert!(missing[0].message.contains("orders"));
    }

    #[test]
    fn public_access_fails_on_the_flag_alone() {
        let p = policy("");
        assert_eq!(check(&PUBLIC_ACCESS, &p, &rds(false, false, None)), None);
        let v = check(&PUBLIC_ACCESS, &p, &rds(true, true, Some(true))).unwrap();
        assert_eq!(v.severity, Severity::High);
        assert!(v.remediation.contains("--no-publicly-accessible"));
    }
}
