//! `logging-enabled`: critical resources (by tag) have logging.

use super::{EvalContext, Rule, Violation};
use crate::finding::{Evidence, LoggingControl, RuleId, Severity};
use crate::model::{Resource, ResourceDetails};

/// See the module documentation.
pub struct LoggingEnabled;

impl Rule for LoggingEnabled {
    fn id(&self) -> RuleId {
        RuleId::LoggingEnabled
    }

    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        let p = &cx.policy.logging;
        let critical = r
            .tag(&p.critical_tag)
            .is_some_and(|v| p.critical_values.iter().any(|c| c == v));
        critical
            && match &r.details {
                ResourceDetails::S3Bucket(_)
                | ResourceDetails::RdsDb(_)
                | ResourceDetails::Ec2Vpc(_) => true,
                ResourceDetails::LambdaFunction(_) => {
                    !cx.inventory.could_not_read(&r.region, "logs")
                }
                _ => false,
            }
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Option<Violation> {
        if !self.applies(cx, r) {
            return None;
        }
        let p = &cx.policy.logging;
        let (reason, remediation, control) = match &r.details {
            ResourceDetails::S3Bucket(b) if !b.access_logging => (
                "server access logging is not configured".to_owned(),
                format!(
                    "aws s3api put-bucket-logging --bucket {} --bucket-logging-status '{{\"LoggingEnabled\":{{\"TargetBucket\":\"LOG-BUCKET\",\"TargetPrefix\":\"{}/\"}}}}'",
                    r.id, r.id
                ),
                LoggingControl::S3AccessLogging,
            ),
            ResourceDetails::RdsDb(d) if d.cloudwatch_logs_exports.is_empty() => (
                "no logs are exported to CloudWatch Logs".to_owned(),
                format!(
                    "aws rds modify-db-instance --db-instance-identifier {} --cloudwatch-logs-export-configuration EnableLogTypes=...",
                    r.id
                ),
                LoggingControl::RdsLogExports,
            ),
            // A log group that could not be listed is unknown, not missing (`applies` skips
            // the function then).
            ResourceDetails::LambdaFunction(f) if !f.log_group_exists => (
                format!("its log group {} does not exist", f.log_group),
                format!(
                    "aws logs create-log-group --log-group-name {} (and let the function's role write to it)",
                    f.log_group
                ),
                LoggingControl::LambdaLogGroup {
                    log_group: f.log_group.clone(),
                },
            ),
            ResourceDetails::Ec2Vpc(v) if v.flow_log_ids.is_empty() => (
                "no flow log is attached".to_owned(),
                format!(
                    "aws ec2 create-flow-logs --resource-type VPC --resource-ids {} --traffic-type ALL --log-destination-type cloud-watch-logs ...",
                    r.id
                ),
                LoggingControl::VpcFlowLog,
            ),
            _ => return None,
        };
        Some(Violation::new(
            Severity::Medium,
            vec![format!(
                "critical ({}={}): {reason}",
                p.critical_tag,
                r.tag(&p.critical_tag).unwrap_or_default()
            )],
            remediation,
            vec![Evidence::Logging { control }],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LambdaFunction, RdsDb, ResourceType, Vpc};
    use crate::rules::testkit::*;

    fn lambda(exists: bool) -> ResourceDetails {
        ResourceDetails::LambdaFunction(LambdaFunction {
            runtime: None,
            role: "r".into(),
            last_modified: None,
            log_group: "/aws/lambda/f".into(),
            log_group_exists: exists,
        })
    }

    #[test]
    fn cases() {
        let prod = [("Environment", "prod")];
        let vpc = |flow: bool| {
            ResourceDetails::Ec2Vpc(Vpc {
                is_default: false,
                cidr_block: None,
                flow_log_ids: if flow { vec!["fl-1".into()] } else { vec![] },
            })
        };
        let db = |exports: &[&str]| {
            ResourceDetails::RdsDb(RdsDb {
                engine: "postgres".into(),
                instance_class: "db.t3.micro".into(),
                storage_encrypted: true,
                publicly_accessible: false,
                cloudwatch_logs_exports: exports.iter().map(|s| (*s).to_owned()).collect(),
                status: "available".into(),
            })
        };
        let cases = [
            (
                "prod VPC with flow log",
                resource(ResourceType::Ec2Vpc, "v", "us-east-1", &prod, vpc(true)),
                false,
            ),
            (
                "prod VPC without",
                resource(ResourceType::Ec2Vpc, "v", "us-east-1", &prod, vpc(false)),
                true,
            ),
            (
                "dev VPC without is not critical",
                resource(
                    ResourceType::Ec2Vpc,
                    "v",
                    "us-east-1",
                    &[("Environment", "dev")],
                    vpc(false),
                ),
                false,
            ),
            (
                "value compares exactly",
                resource(
                    ResourceType::Ec2Vpc,
                    "v",
                    "us-east-1",
                    &[("Environment", "Prod")],
                    vpc(false),
                ),
                false,
            ),
            (
                "prod db exporting",
                resource(
                    ResourceType::RdsDb,
                    "d",
                    "us-east-1",
                    &prod,
                    db(&["postgresql"]),
                ),
                false,
            ),
            (
                "prod db not exporting",
                resource(ResourceType::RdsDb, "d", "us-east-1", &prod, db(&[])),
                true,
            ),
            (
                "prod function with log group",
                resource(
                    ResourceType::LambdaFunction,
                    "f",
                    "us-east-1",
                    &prod,
                    lambda(true),
                ),
                false,
            ),
            (
                "prod function without",
                resource(
                    ResourceType::LambdaFunction,
                    "f",
                    "us-east-1",
                    &prod,
                    lambda(false),
                ),
                true,
            ),
            (
                "other types have no requirement",
                resource(
                    ResourceType::Ec2Instance,
                    "i",
                    "us-east-1",
                    &prod,
                    ResourceDetails::Generic,
                ),
                false,
            ),
        ];
        for (name, r, fails) in cases {
            assert_eq!(
                check(&LoggingEnabled, &policy(""), &inventory(vec![r])).is_some(),
                fails,
                "{name}"
            );
        }
    }

    #[test]
    fn unreadable_log_groups_are_not_a_missing_log_group() {
        let mut inv = inventory(vec![resource(
            ResourceType::LambdaFunction,
            "f",
            "us-east-1",
            &[("Environment", "prod")],
            lambda(false),
        )]);
        inv.errors
            .push(scan_error("us-east-1", "logs", "DescribeLogGroups"));
        assert!(check(&LoggingEnabled, &policy(""), &inv).is_none());
    }
}
