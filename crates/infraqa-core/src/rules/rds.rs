//! The RDS controls of CIS AWS Foundations 3.2, each from what `DescribeDBInstances` returns
//! for every database instance:
//! - `rds-encryption` (3.2.1): `StorageEncrypted` is true.
//! - `rds-auto-minor-upgrade` (3.2.2): `AutoMinorVersionUpgrade` is true.
//! - `rds-public-access` (3.2.3): `PubliclyAccessible` is false. Whether the instance's subnets
//!   route to an internet gateway is not read: a publicly accessible instance fails whatever
//!   its routes, as the flag alone gives it a public address.

use super::{EvalContext, Rule, Verdict, Violation, not_recorded};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{RdsDb, Resource, ResourceDetails};

/// The database instance behind `r`, if it is one.
fn db(r: &Resource) -> Option<&RdsDb> {
    match &r.details {
        ResourceDetails::RdsDb(d) => Some(d),
        _ => None,
    }
}

/// See the module documentation.
pub struct RdsEncryption;

impl Rule for RdsEncryption {
    fn id(&self) -> RuleId {
        RuleId::RdsEncryption
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("rds", "DescribeDBInstances")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        db(r).is_some()
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        match db(r) {
            Some(d) if !d.storage_encrypted => Verdict::Fail(Violation::new(
                Severity::Medium,
                vec!["storage is not encrypted at rest".to_owned()],
                format!(
                    "Encryption cannot be turned on in place: snapshot the instance (aws rds create-db-snapshot --db-instance-identifier {id}), copy the snapshot with --kms-key-id, restore a new instance from the copy and move clients to it",
                    id = r.id
                ),
                vec![Evidence::setting("StorageEncrypted", "false", "true")],
            )),
            _ => Verdict::Pass,
        }
    }
}

/// See the module documentation.
pub struct RdsAutoMinorUpgrade;

impl Rule for RdsAutoMinorUpgrade {
    fn id(&self) -> RuleId {
        RuleId::RdsAutoMinorUpgrade
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("rds", "DescribeDBInstances")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        db(r).is_some()
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        match db(r).map(|d| d.auto_minor_version_upgrade) {
            Some(None) => not_recorded(r, "rds", "DescribeDBInstances", "AutoMinorVersionUpgrade"),
            Some(Some(false)) => Verdict::Fail(Violation::new(
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
            _ => Verdict::Pass,
        }
    }
}

/// See the module documentation.
pub struct RdsPublicAccess;

impl Rule for RdsPublicAccess {
    fn id(&self) -> RuleId {
        RuleId::RdsPublicAccess
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[("rds", "DescribeDBInstances")]
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        db(r).is_some()
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        match db(r) {
            Some(d) if d.publicly_accessible => Verdict::Fail(Violation::new(
                Severity::High,
                vec!["publicly accessible: its endpoint resolves to a public address".to_owned()],
                format!(
                    "aws rds modify-db-instance --db-instance-identifier {} --no-publicly-accessible --apply-immediately, and reach it from inside the VPC",
                    r.id
                ),
                vec![Evidence::setting("PubliclyAccessible", "true", "false")],
            )),
            _ => Verdict::Pass,
        }
    }
}

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
        assert_eq!(check(&RdsEncryption, &p, &rds(true, true, None)), None);
        let v = check(&RdsEncryption, &p, &rds(false, false, Some(true))).unwrap();
        assert_eq!(v.severity, Severity::Medium);
        assert_eq!(
            v.evidence,
            [Evidence::setting("StorageEncrypted", "false", "true")]
        );
    }

    #[test]
    fn minor_upgrades_fail_when_off_and_are_unknown_when_not_recorded() {
        let p = policy("");
        let rule = RdsAutoMinorUpgrade;
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
        assert_eq!(check(&RdsPublicAccess, &p, &rds(false, false, None)), None);
        let v = check(&RdsPublicAccess, &p, &rds(true, true, Some(true))).unwrap();
        assert_eq!(v.severity, Severity::High);
        assert!(v.remediation.contains("--no-publicly-accessible"));
    }
}
