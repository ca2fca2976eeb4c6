//! `logging-enabled`: critical resources (by tag) have logging.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, LoggingControl, RuleId, Severity};
use crate::model::{Resource, ResourceDetails};
use crate::observed::Observed;

fn is_critical(cx: &EvalContext<'_>, r: &Resource) -> bool {
    let p = &cx.policy.logging;
    r.tag(&p.critical_tag)
        .is_some_and(|v| p.critical_values.iter().any(|c| c == v))
}

/// See the module documentation.
pub struct LoggingEnabled;

impl Rule for LoggingEnabled {
    fn id(&self) -> RuleId {
        RuleId::LoggingEnabled
    }

    /// Critical resources of the types with a logging requirement, and those whose tags could
    /// not be read (they may be critical: not evaluated rather than silently out of scope).
    fn applies(&self, cx: &EvalContext<'_>, r: &Resource) -> bool {
        let has_requirement = matches!(
            &r.details,
            ResourceDetails::S3Bucket(_)
                | ResourceDetails::RdsDb(_)
                | ResourceDetails::Ec2Vpc(_)
                | ResourceDetails::LambdaFunction(_)
        );
        has_requirement
            && !cx.policy.logging.critical_values.is_empty()
            && (is_critical(cx, r) || r.tags_unread.is_some())
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        if !is_critical(cx, r)
            && let Some(unread) = &r.tags_unread
        {
            return Verdict::unread(unread);
        }
        let p = &cx.policy.logging;
        let unread = match &r.details {
            ResourceDetails::S3Bucket(b) => b.access_logging.unread(),
            ResourceDetails::LambdaFunction(f) => f.log_group_exists.unread(),
            ResourceDetails::Ec2Vpc(v) => v.flow_log_ids.unread(),
            _ => None,
        };
        if let Some(e) = unread {
            return Verdict::unread(e);
        }
        let (reason, remediation, control) = match &r.details {
            ResourceDetails::S3Bucket(b) if b.access_logging == Observed::Read(false) => (
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
            ResourceDetails::LambdaFunction(f) if f.log_group_exists == Observed::Read(false) => (
                format!("its log group {} does not exist", f.log_group),
                format!(
                    "aws logs create-log-group --log-group-name {} (and let the function's role write to it)",
                    f.log_group
                ),
                LoggingControl::LambdaLogGroup {
                    log_group: f.log_group.clone(),
                },
            ),
            ResourceDetails::Ec2Vpc(v) if v.flow_log_ids.read().is_some_and(Vec::is_empty) => (
                "no flow log is attached".to_owned(),
                format!(
                    "aws ec2 create-flow-logs --resource-type VPC --resource-ids {} --traffic-type ALL --log-destination-type cloud-watch-logs ...",
                    r.id
                ),
                LoggingControl::VpcFlowLog,
            ),
            _ => return Verdict::Pass,
        };
        Verdict::Fail(Violation::new(
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
    use crate::observed::Observed;
    use crate::rules::testkit::*;

    fn lambda(exists: bool) -> ResourceDetails {
        ResourceDetails::LambdaFunction(LambdaFunction {
            runtime: None,
            role: "r".into(),
            last_modified: None,
            log_group: "/aws/lambda/f".into(),
            log_group_exists: Observed::Read(exists),
        })
    }

    #[test]
    fn cases() {
        let prod = [("Environment", "prod")];
        let vpc = |flow: bool| {
            ResourceDetails::Ec2Vpc(Vpc {
                is_default: false,
                cidr_block: None,
                flow_log_ids: Observed::Read(if flow { vec!["fl-1".into()] } else { vec![] }),
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
                auto_minor_version_upgrade: None,
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
                    ResourceDetails::Generic(Default::default()),
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
    fn unread_controls_and_unread_tags_are_not_evaluated() {
        let prod = [("Environment", "prod")];
        let unread_lambda = ResourceDetails::LambdaFunction(LambdaFunction {
            log_group_exists: Observed::failed(denied("logs", "DescribeLogGroups")),
            ..match lambda(true) {
                ResourceDetails::LambdaFunction(f) => f,
                _ => unreachable!(),
            }
        });
        let unread_vpc = ResourceDetails::Ec2Vpc(Vpc {
            is_default: false,
            cidr_block: None,
            flow_log_ids: Observed::failed(denied("ec2", "DescribeFlowLogs")),
        });
        let unread_bucket = ResourceDetails::S3Bucket(crate::model::S3Bucket {
            encryption: Observed::Read(crate::model::BucketEncryption::SseS3),
            public_access_block: Observed::default(),
            account_public_access_block: Default::default(),
            policy_is_public: None,
            acl_public_grants: None,
            access_logging: Observed::failed(denied("s3", "GetBucketLogging")),
            policy: None,
        });
        let mut untagged_unread = resource(
            ResourceType::Ec2Vpc,
            "v",
            "us-east-1",
            &[],
            unread_vpc.clone(),
        );
        untagged_unread.tags_unread = Some(Box::new(denied("tagging", "GetResources")));
        let cases = [
            (
                resource(
                    ResourceType::LambdaFunction,
                    "f",
                    "us-east-1",
                    &prod,
                    unread_lambda,
                ),
                "DescribeLogGroups",
            ),
            (
                resource(ResourceType::Ec2Vpc, "v", "us-east-1", &prod, unread_vpc),
                "DescribeFlowLogs",
            ),
            (
                resource(
                    ResourceType::S3Bucket,
                    "b",
                    "us-east-1",
                    &prod,
                    unread_bucket,
                ),
                "GetBucketLogging",
            ),
            (untagged_unread, "GetResources"),
        ];
        for (r, op) in cases {
            let inv = inventory(vec![r]);
            assert_eq!(unread_operations(&LoggingEnabled, &policy(""), &inv), [op]);
        }
        let mut unread_dev = resource(
            ResourceType::Ec2Vpc,
            "v",
            "us-east-1",
            &[("Environment", "dev")],
            vpc_without_flow_log(),
        );
        unread_dev.tags_unread = Some(Box::new(denied("tagging", "GetResources")));
        assert_eq!(
            unread_operations(&LoggingEnabled, &policy(""), &inventory(vec![unread_dev])),
            ["GetResources"],
            "a non-critical value read beside unread tags does not decide"
        );
    }

    fn vpc_without_flow_log() -> ResourceDetails {
        ResourceDetails::Ec2Vpc(Vpc {
            is_default: false,
            cidr_block: None,
            flow_log_ids: Observed::Read(vec![]),
        })
    }
}
