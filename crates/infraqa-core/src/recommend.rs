//! Recommendations: remediations grouped by the action that fixes them and ranked by how much
//! (severity-weighted) each action clears. "Turn on the account-level S3 public access block:
//! clears 37 findings" beats 37 separate lines.

use crate::finding::{
    Evidence, EvidenceIngress, EvidenceStatement, Finding, Grant, LoggingControl, RuleId, Severity,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How much one finding of each severity weighs in the ranking.
pub fn weight(s: Severity) -> u64 {
    match s {
        Severity::Critical => 10,
        Severity::High => 5,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

/// One grouped action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What to do, in one sentence.
    pub action: String,
    /// The rule whose findings it addresses.
    pub rule_id: RuleId,
    /// Findings this action alone resolves.
    pub clears: usize,
    /// Findings it contributes to (includes `clears`): others need further actions too.
    pub addresses: usize,
    /// Severity-weighted findings cleared (critical 10, high 5, medium 2, low 1): the rank.
    pub weight: u64,
    /// The most severe finding it addresses.
    pub max_severity: Severity,
    /// Up to ten affected resources, for orientation.
    pub resources: Vec<String>,
    /// How to do it for one resource (an example remediation).
    pub example: String,
}

/// How many resource ARNs a recommendation lists.
const SAMPLE: usize = 10;

/// The action keys a finding contributes to: (key, action sentence with `{n}` for the count).
fn actions(f: &Finding) -> Vec<(String, String)> {
    let account = f
        .resource_arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or("this account")
        .to_owned();
    let mut out: Vec<(String, String)> = Vec::new();
    for e in &f.evidence {
        let item = match (f.rule_id, e) {
            (RuleId::TagsRequired, Evidence::MissingTag { key }) => (
                format!("tag:{key}"),
                format!("Add the `{key}` tag to {{n}} resource(s)"),
            ),
            (RuleId::TagsRequired, Evidence::InvalidTagValue(v)) => (
                format!("tag-value:{}", v.key),
                format!("Correct the `{}` tag on {{n}} resource(s) to {}", v.key, v.expected),
            ),
            (RuleId::SgOpenIngress, Evidence::OpenIngress(ingress)) => {
                let EvidenceIngress { protocol, from_port, to_port, .. } = ingress.as_ref();
                let ports = match (from_port, to_port) {
                    (Some(a), Some(b)) if a == b => format!(" port {a}"),
                    (Some(a), Some(b)) => format!(" ports {a}-{b}"),
                    _ => String::new(),
                };
                (
                    format!("sg:{protocol}:{from_port:?}:{to_port:?}"),
                    format!(
                        "Close {protocol}{ports} to 0.0.0.0/0 and ::/0 in {{n}} security group(s); allow known CIDRs or a prefix list instead"
                    ),
                )
            }
            (RuleId::IamLeastPrivilege, Evidence::PolicyStatement(s)) if s.source.is_none() && s.grant == Grant::OpenTrust => (
                format!("iam-trust:{}", s.policy),
                "Restrict the trust policy of {n} role(s) to named principals (or add an sts:ExternalId / aws:PrincipalOrgID condition)".to_owned(),
            ),
            (RuleId::IamLeastPrivilege, Evidence::PolicyStatement(s)) => {
                let EvidenceStatement { policy, source, .. } = s.as_ref();
                let from = source.as_ref().map(|s| format!(" ({})", s.label())).unwrap_or_default();
                (
                    format!("iam:{policy}:{from}"),
                    format!("Replace or scope down policy {policy}{from} on {{n}} role(s)"),
                )
            }
            (RuleId::LoggingEnabled, Evidence::Logging { control }) => match control {
                LoggingControl::S3AccessLogging => ("log:s3".into(), "Turn on server access logging for {n} critical bucket(s)".into()),
                LoggingControl::RdsLogExports => ("log:rds".into(), "Export logs to CloudWatch Logs from {n} critical database(s)".into()),
                LoggingControl::LambdaLogGroup { .. } => ("log:lambda".into(), "Create the missing log groups of {n} critical function(s)".into()),
                LoggingControl::VpcFlowLog => ("log:vpc".into(), "Turn on flow logs for {n} critical VPC(s)".into()),
            },
            (RuleId::Ec2ApprovedAmi, Evidence::Ami(ami)) => (
                format!("ami:{}", ami.image_id),
                format!("Rebuild {{n}} instance(s) running {0} from an approved AMI, or approve {0} after review", ami.image_id),
            ),
            (RuleId::RegionApproved, Evidence::Region(r)) => (
                format!("region:{}", r.region),
                format!("Move or delete {{n}} resource(s) in {}, which is not an approved region (then deny it with an SCP)", r.region),
            ),
            (RuleId::S3PublicAccess, Evidence::PublicAccess { .. }) => (
                format!("s3-account-block:{account}"),
                format!("Turn on all four S3 Block Public Access settings for account {account} (aws s3control put-public-access-block): covers {{n}} bucket(s) at once; serve allow-listed public content through CloudFront"),
            ),
            (RuleId::S3Encryption, Evidence::BucketEncryption { kms_required, .. }) => (
                "s3-encryption".into(),
                if *kms_required {
                    "Set SSE-KMS default encryption on {n} bucket(s)".into()
                } else {
                    "Turn on default encryption on {n} bucket(s)".into()
                },
            ),
            (RuleId::CloudtrailEnabled, Evidence::TrailCoverage { .. }) => (
                format!("trail:{account}"),
                "Create one multi-region trail and start logging: covers {n} uncovered region(s) at once".into(),
            ),
            _ => continue,
        };
        if !out.iter().any(|(k, _)| *k == item.0) {
            out.push(item);
        }
    }
    if out.is_empty() {
        out.push((
            format!("{}:{}", f.rule_id, f.remediation),
            format!("{} ({{n}} finding(s))", f.remediation),
        ));
    }
    out
}

#[derive(Default)]
struct Group {
    rule: Option<RuleId>,
    action: String,
    clears: usize,
    addresses: usize,
    weight: u64,
    max: Option<Severity>,
    resources: Vec<String>,
    example: String,
}

/// Groups `findings` by the action that fixes them, most valuable first (weight, then findings
/// addressed, then the action's text, so the order is deterministic).
pub fn recommendations(findings: &[Finding]) -> Vec<Recommendation> {
    let mut groups: BTreeMap<(RuleId, String), Group> = BTreeMap::new();
    for f in findings {
        let acts = actions(f);
        let alone = acts.len() == 1;
        for (key, action) in acts {
            let g = groups.entry((f.rule_id, key)).or_default();
            g.rule = Some(f.rule_id);
            g.action = action;
            g.addresses += 1;
            if alone {
                g.clears += 1;
                g.weight += weight(f.severity);
            }
            g.max = g.max.max(Some(f.severity));
            if g.resources.len() < SAMPLE {
                g.resources.push(f.resource_arn.clone());
            }
            if g.example.is_empty() {
                g.example = f.remediation.clone();
            }
        }
    }
    let mut out: Vec<Recommendation> = groups
        .into_values()
        .filter_map(|g| {
            Some(Recommendation {
                action: g.action.replace("{n}", &g.addresses.to_string()),
                rule_id: g.rule?,
                clears: g.clears,
                addresses: g.addresses,
                weight: g.weight,
                max_severity: g.max?,
                resources: g.resources,
                example: g.example,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.weight, b.addresses, b.max_severity)
            .cmp(&(a.weight, a.addresses, a.max_severity))
            .then_with(|| a.action.cmp(&b.action))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: RuleId, sev: Severity, arn: &str, evidence: Vec<Evidence>) -> Finding {
        Finding {
            rule_id: rule,
            severity: sev,
            resource_arn: arn.into(),
            resource_type: "x:y".into(),
            region: "us-east-1".into(),
            message: "m".into(),
            remediation: format!("fix {arn}"),
            evidence,
        }
    }

    fn public(arn: &str) -> Finding {
        finding(
            RuleId::S3PublicAccess,
            Severity::Critical,
            arn,
            vec![Evidence::PublicAccess {
                effective: Default::default(),
                public_policy: true,
                public_grants: vec![],
            }],
        )
    }

    fn missing(arn: &str, keys: &[&str]) -> Finding {
        finding(
            RuleId::TagsRequired,
            Severity::Medium,
            arn,
            keys.iter()
                .map(|k| Evidence::MissingTag { key: (*k).into() })
                .collect(),
        )
    }

    #[test]
    fn one_action_that_clears_many_findings_ranks_first() {
        let mut fs: Vec<Finding> = (0..3)
            .map(|i| {
                missing(
                    &format!("arn:aws:ec2:us-east-1:123456789012:instance/i-{i}"),
                    &["Owner"],
                )
            })
            .collect();
        fs.push(missing(
            "arn:aws:ec2:us-east-1:123456789012:instance/i-9",
            &["Owner", "Project"],
        ));
        fs.push(public("arn:aws:s3:::a"));
        fs.push(public("arn:aws:s3:::b"));
        let r = recommendations(&fs);
        assert_eq!(r.len(), 3, "{r:#?}");
        // Two critical buckets (weight 20) beat three cleared medium tag findings (weight 6).
        assert_eq!(r[0].rule_id, RuleId::S3PublicAccess);
        assert_eq!((r[0].clears, r[0].addresses, r[0].weight), (2, 2, 20));
        assert!(
            r[0].action.contains("covers 2 bucket(s)"),
            "{}",
            r[0].action
        );
        // Owner: four findings addressed, three cleared (one also misses Project).
        assert_eq!(r[1].action, "Add the `Owner` tag to 4 resource(s)");
        assert_eq!((r[1].clears, r[1].addresses, r[1].weight), (3, 4, 6));
        assert_eq!((r[2].clears, r[2].addresses), (0, 1));
        assert_eq!(
            r[2].example,
            "fix arn:aws:ec2:us-east-1:123456789012:instance/i-9"
        );
    }

    #[test]
    fn findings_without_evidence_group_by_their_remediation() {
        let f = finding(
            RuleId::S3Encryption,
            Severity::High,
            "arn:aws:s3:::x",
            vec![],
        );
        let r = recommendations(&[f.clone(), f]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].action, "fix arn:aws:s3:::x (2 finding(s))");
        assert_eq!(r[0].clears, 2);
    }
}
