//! The rule engine: a pure function of (inventory, policy, evaluation time) to findings,
//! exempted findings and orphans, in a deterministic order.
//!
//! Each rule is one module implementing [`Rule`] and one line in [`catalogue`]. A rule looks at
//! one resource (or, for account-level checks, the whole inventory) and returns at most one
//! [`Violation`] listing every reason. The engine applies the policy's switches, severity
//! overrides, allow-lists and exemptions; rules never see them.

mod account;
mod at_rest;
mod cloudtrail;
mod custom;
mod ec2_access;
mod ec2_ami;
mod iam;
mod iam_admin;
mod iam_users;
mod listed;
mod logging;
mod nacl;
pub(crate) mod network;
mod rds;
mod region;
mod s3;
mod s3_events;
mod sg_ports;
mod tags;
mod vpc;

use crate::finding::{Evidence, Finding, Severity};
use crate::inventory::{Inventory, ScanError};
use crate::model::{Resource, ResourceDetails};
use crate::policy::{Exemption, ExemptionTarget, Policy};
use chrono::{DateTime, NaiveDate, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub use custom::{Condition, ConditionError, CustomRule};
pub use network::{Coverage, open_to_world};

/// What a rule found wrong with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The catalogue severity for this case (before policy overrides).
    pub severity: Severity,
    /// Every reason, each naming its exact cause.
    pub reasons: Vec<String>,
    /// What a person does to fix it.
    pub remediation: String,
    /// The structured facts behind the reasons.
    pub evidence: Vec<Evidence>,
}

impl Violation {
    /// A violation with one or more reasons and their evidence.
    pub fn new(
        severity: Severity,
        reasons: Vec<String>,
        remediation: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Self {
        Self {
            severity,
            reasons,
            remediation: remediation.into(),
            evidence,
        }
    }
}

/// A rule's verdict on one resource (or account-region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Complies, judged from data that was read.
    Pass,
    /// Does not comply, judged from data that was read.
    Fail(Violation),
    /// Cannot be decided: a read the rule needs failed. Neither a pass nor a finding.
    NotEvaluated(Vec<ScanError>),
}

impl From<Option<Violation>> for Verdict {
    fn from(v: Option<Violation>) -> Self {
        v.map_or(Self::Pass, Self::Fail)
    }
}

impl Verdict {
    /// Not evaluated because of `missing`.
    pub fn unread(missing: &ScanError) -> Self {
        Self::NotEvaluated(vec![missing.clone()])
    }
}

/// Not evaluated: the inventory does not hold `field` of `r`, which `service`'s `operation`
/// returns (AWS did not return it, or an infraqa that did not record it yet wrote the
/// inventory, as a backtest over kept inventories finds).
fn not_recorded(r: &Resource, service: &str, operation: &str, field: &str) -> Verdict {
    not_recorded_in(
        &r.region,
        &format!("{field} for {}", r.id),
        service,
        operation,
    )
}

/// Not evaluated: the inventory does not hold `what` (in `region`), which `service`'s
/// `operation` reads.
fn not_recorded_in(region: &str, what: &str, service: &str, operation: &str) -> Verdict {
    Verdict::NotEvaluated(vec![not_recorded_error(region, what, service, operation)])
}

/// The failed read that stands for `what` (in `region`) not being in the inventory.
fn not_recorded_error(region: &str, what: &str, service: &str, operation: &str) -> ScanError {
    ScanError {
        region: region.to_owned(),
        service: service.to_owned(),
        operation: operation.to_owned(),
        code: "NotRecorded".to_owned(),
        message: format!(
            "the inventory holds no {what}: {operation} did not return it, or the scan that wrote it did not run a rule that needs it (scan again with this policy)"
        ),
    }
}

/// A resource (or account-region) a rule could not decide, and the reads that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    /// The rule that could not decide.
    pub rule_id: RuleId,
    /// The resource (for account-level checks, the account in the region).
    pub resource_arn: String,
    /// The resource's `service:type` (`account` for account-level checks).
    pub resource_type: String,
    /// The region the resource lives in, or `global`.
    pub region: String,
    /// The reads that failed, as the inventory's `errors` record them.
    pub missing: Vec<ScanError>,
}

/// What a rule reads besides the resource.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The whole inventory (for rules that look at neighbours).
    pub inventory: &'a Inventory,
    /// The evaluation time.
    pub now: DateTime<Utc>,
}

/// One compliance rule.
pub trait Rule: Sync {
    /// Its published id.
    fn id(&self) -> RuleId;

    /// Whether the rule judges this resource under this policy: the resources counted as
    /// "evaluated" in its pass rate and "in scope" in the compliance score. A rule never
    /// reports a resource it does not apply to.
    fn applies(&self, cx: &EvalContext<'_>, resource: &Resource) -> bool;

    /// Judges one resource the rule [`applies`](Rule::applies) to.
    fn check(&self, cx: &EvalContext<'_>, resource: &Resource) -> Verdict;

    /// Account-level verdicts that are not passes: (region, account ARN, verdict), one per
    /// unit of [`account_scope`](Rule::account_scope) at most. Most rules have none.
    fn check_account(&self, _cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        Vec::new()
    }

    /// The account-level units the rule judges: (region, account ARN). Most rules have none.
    fn account_scope(&self, _cx: &EvalContext<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The list calls, as (service, operation), that find the resources the rule judges. When
    /// one failed somewhere the rule may not have seen every resource, so a framework
    /// requirement it decides is not evaluated rather than passed ([`unlisted`]).
    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The account settings the rule decides from: the scan reads them only when a rule in
    /// force needs them ([`crate::settings::needed`]).
    fn needs(&self) -> &'static [crate::settings::Setting] {
        &[]
    }

    /// The `resource_type` of the units [`check_account`](Rule::check_account) judges: the
    /// account, or what the account's settings list (`iam:user` for the credential report).
    fn unit_type(&self) -> &'static str {
        "account"
    }
}

/// A borrowed rule is a rule (the policy's custom rules are run from where the policy holds them).
impl<R: Rule + ?Sized> Rule for &R {
    fn id(&self) -> RuleId {
        (**self).id()
    }
    fn applies(&self, cx: &EvalContext<'_>, resource: &Resource) -> bool {
        (**self).applies(cx, resource)
    }
    fn check(&self, cx: &EvalContext<'_>, resource: &Resource) -> Verdict {
        (**self).check(cx, resource)
    }
    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<(String, String, Verdict)> {
        (**self).check_account(cx)
    }
    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        (**self).account_scope(cx)
    }
    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        (**self).listed_by()
    }
    fn needs(&self) -> &'static [crate::settings::Setting] {
        (**self).needs()
    }
    fn unit_type(&self) -> &'static str {
        (**self).unit_type()
    }
}

/// Per rule in force, the failed reads that may have hidden resources from it: the
/// inventory's errors on its [`Rule::listed_by`] calls, or on a whole unit of their service (a
/// scan unit cut off by the deadline, a shard or region not read), each as
/// `service operation in region (code)`; and for a rule about the account as a whole, an
/// inventory that did not read its global services (it judged nothing, which is no pass).
pub fn unlisted(inventory: &Inventory, policy: &Policy) -> BTreeMap<RuleId, Vec<String>> {
    use crate::inventory::{EVERY_SERVICE, WHOLE_UNIT};
    in_force(policy)
        .iter()
        .filter_map(|rule| {
            let lists = rule.listed_by();
            let failed: Vec<String> = inventory
                .errors
                .iter()
                .filter(|e| {
                    lists.iter().any(|(service, operation)| {
                        e.service == EVERY_SERVICE
                            || (e.service == *service
                                && (e.operation == *operation || e.operation == WHOLE_UNIT))
                    })
                })
                .map(|e| format!("{} {} in {} ({})", e.service, e.operation, e.region, e.code))
                .chain(
                    rule.needs()
                        .iter()
                        .filter(|s| {
                            s.reach() == crate::settings::Reach::Account
                                && !inventory.covers_global()
                        })
                        .map(|s| {
                            let (service, operation) = s.call();
                            format!("{service} {operation} (the inventory does not cover the account's global services)")
                        }),
                )
                .collect();
            (!failed.is_empty()).then(|| (rule.id(), failed))
        })
        .collect()
}

/// A rule that judges each resource of one kind by one function: its id, the list call that
/// finds those resources, which details it reads, and the judgement. The CIS controls on one
/// setting of a resource are each one of these.
pub struct Control<T: 'static> {
    /// The rule.
    pub id: RuleId,
    /// The list call that finds the resources it judges ([`Rule::listed_by`]).
    pub listed_by: &'static [(&'static str, &'static str)],
    /// The details it judges, for the resources it applies to.
    pub details: fn(&ResourceDetails) -> Option<&T>,
    /// The verdict on one resource.
    pub judge: fn(&Resource, &T) -> Verdict,
}

impl<T: 'static> Rule for Control<T> {
    fn id(&self) -> RuleId {
        self.id
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        self.listed_by
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        (self.details)(&r.details).is_some()
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        (self.details)(&r.details).map_or(Verdict::Pass, |d| (self.judge)(r, d))
    }
}

/// One unit per scanned region: the account there (the rules about a region's settings).
fn per_region(inv: &Inventory) -> Vec<(String, String)> {
    inv.regions
        .iter()
        .map(|region| (region.clone(), account_arn(region, &inv.account_id)))
        .collect()
}

/// The ARN that stands for the account in account-level findings.
pub fn account_arn(region: &str, account_id: &str) -> String {
    format!(
        "arn:{}:iam::{account_id}:root",
        crate::model::partition(region)
    )
}

/// What each enabled rule judges: the denominators of pass rates and of the compliance score.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    /// Per enabled rule, how many units (resources, or account-regions) it judged.
    pub evaluated: BTreeMap<RuleId, usize>,
    /// Every unit some enabled rule judges, as (resource ARN, region): borrowed from the
    /// inventory (a million resources are not copied), made for account-level units.
    pub units: foldhash::HashSet<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Scope<'_> {
    /// The same scope, its units copied out of the inventory so that it can be freed.
    pub fn into_owned(self) -> Scope<'static> {
        Scope {
            evaluated: self.evaluated,
            units: self
                .units
                .into_iter()
                .map(|(arn, region)| {
                    (
                        Cow::Owned(arn.into_owned()),
                        Cow::Owned(region.into_owned()),
                    )
                })
                .collect(),
        }
    }
}

/// Computes the [`Scope`] of an evaluation: same switches and skips as [`evaluate`].
pub fn scope<'a>(inventory: &'a Inventory, policy: &Policy, now: DateTime<Utc>) -> Scope<'a> {
    let cx = EvalContext {
        policy,
        inventory,
        now,
    };
    let rules = in_force(policy);
    let mut counts = vec![0; rules.len()];
    let mut out = Scope::default();
    // One pass over the resources, each unit inserted once however many rules judge it.
    for r in inventory.resources.iter().filter(|r| !is_service_linked(r)) {
        let mut judged = false;
        for (rule, n) in rules.iter().zip(&mut counts) {
            if rule.applies(&cx, r) {
                *n += 1;
                judged = true;
            }
        }
        if judged {
            out.units
                .insert((Cow::Borrowed(&r.arn), Cow::Borrowed(&r.region)));
        }
    }
    for (rule, mut n) in rules.iter().zip(counts) {
        for unit in rule.account_scope(&cx) {
            n += 1;
            out.units.insert((Cow::Owned(unit.1), Cow::Owned(unit.0)));
        }
        out.evaluated.insert(rule.id(), n);
    }
    out
}

/// The catalogue: each rule's id variant (with its doc), published id and implementation, in
/// catalogue order. It declares [`RuleId`] (its variants, `ALL`, `as_str`) and [`catalogue`],
/// so a rule is one module and one line here.
macro_rules! catalogue {
    (@on) => { true };
    (@on opt_in) => { false };
    ($($(#[doc = $doc:literal])* $variant:ident = $id:literal $([$opt:ident])? => $rule:expr,)+) => {
        /// A compliance rule: one of the catalogue's (see the rule catalogue in
        /// docs/rules.md), or a custom rule the policy declares under `[[custom_rules]]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $($(#[doc = $doc])* $variant,)+
            /// A rule the policy declares: ordered after the catalogue's, by id.
            Custom(crate::finding::CustomRuleId),
        }

        impl RuleId {
            /// Every catalogue rule, in catalogue order.
            pub const ALL: [RuleId; [$($id),+].len()] = [$(Self::$variant),+];

            /// The published id, e.g. `sg-open-ingress`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $id,)+
                    Self::Custom(id) => id.as_str(),
                }
            }

            /// Whether the rule runs when the policy does not mention it: the rules marked
            /// `[opt_in]` (the controls of a framework) run only when the policy turns them
            /// on or enables a framework they decide; custom rules always do.
            pub fn on_by_default(self) -> bool {
                match self {
                    $(Self::$variant => catalogue!(@on $($opt)?),)+
                    Self::Custom(_) => true,
                }
            }

            /// A catalogue rule's one-line title (its line in the catalogue); a custom
            /// rule's id.
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($($doc),+).trim_ascii(),)+
                    Self::Custom(id) => id.as_str(),
                }
            }
        }

        /// Every published rule, in catalogue order.
        pub fn catalogue() -> Vec<Box<dyn Rule>> {
            vec![$(Box::new($rule)),+]
        }
    };
}

catalogue! {
    /// Required tags are present, non-empty and have allowed values.
    TagsRequired = "tags-required" => tags::TagsRequired,
    /// S3 buckets have default encryption.
    S3Encryption = "s3-encryption" => s3::S3Encryption,
    /// S3 buckets block public access, unless allow-listed.
    S3PublicAccess = "s3-public-access" => s3::S3PublicAccess,
    /// EC2 instances run approved AMIs.
    Ec2ApprovedAmi = "ec2-approved-ami" => ec2_ami::Ec2ApprovedAmi,
    /// Security groups do not open ports to the world beyond the allowed ones.
    SgOpenIngress = "sg-open-ingress" => network::SgOpenIngress,
    /// IAM roles do not grant admin, escalation or whole-service wildcards.
    IamLeastPrivilege = "iam-least-privilege" => iam::IamLeastPrivilege,
    /// Regional resources live in approved regions.
    RegionApproved = "region-approved" => region::RegionApproved,
    /// Critical resources have logging enabled.
    LoggingEnabled = "logging-enabled" => logging::LoggingEnabled,
    /// Every scanned region is covered by a logging CloudTrail trail.
    CloudtrailEnabled = "cloudtrail-enabled" => cloudtrail::CloudtrailEnabled,
    /// CloudTrail trails write signed digest files (log file validation).
    CloudtrailLogValidation = "cloudtrail-log-validation" [opt_in] => cloudtrail::LOG_VALIDATION,
    /// CloudTrail trails encrypt their log files with a KMS key.
    CloudtrailKms = "cloudtrail-kms" [opt_in] => cloudtrail::KMS_ENCRYPTION,
    /// S3 bucket policies deny requests over plain HTTP.
    S3SecureTransport = "s3-secure-transport" [opt_in] => s3::S3SecureTransport,
    /// A logging trail records object-level writes of every S3 bucket.
    S3DataEventsWrite = "s3-data-events-write" [opt_in] => s3_events::S3Events::WRITE,
    /// A logging trail records object-level reads of every S3 bucket.
    S3DataEventsRead = "s3-data-events-read" [opt_in] => s3_events::S3Events::READ,
    /// RDS database instances encrypt their storage at rest.
    RdsEncryption = "rds-encryption" [opt_in] => rds::ENCRYPTION,
    /// RDS database instances apply minor engine upgrades automatically.
    RdsAutoMinorUpgrade = "rds-auto-minor-upgrade" [opt_in] => rds::AUTO_MINOR_UPGRADE,
    /// RDS database instances are not publicly accessible.
    RdsPublicAccess = "rds-public-access" [opt_in] => rds::PUBLIC_ACCESS,
    /// Every VPC has a flow log.
    VpcFlowLogs = "vpc-flow-logs" [opt_in] => vpc::FLOW_LOGS,
    /// Security groups do not open SSH or RDP to 0.0.0.0/0.
    SgAdminPortsIpv4 = "sg-admin-ports-ipv4" [opt_in] => sg_ports::SgPorts::ADMIN_IPV4,
    /// Security groups do not open SSH or RDP to ::/0.
    SgAdminPortsIpv6 = "sg-admin-ports-ipv6" [opt_in] => sg_ports::SgPorts::ADMIN_IPV6,
    /// Security groups do not open CIFS (445) to the world.
    SgCifsIngress = "sg-cifs-ingress" [opt_in] => sg_ports::SgPorts::CIFS,
    /// Every VPC's default security group allows no traffic.
    SgDefaultClosed = "sg-default-closed" [opt_in] => vpc::DEFAULT_GROUP_CLOSED,
    /// EC2 instances answer instance metadata requests over IMDSv2 only.
    Ec2Imdsv2 = "ec2-imdsv2" [opt_in] => ec2_access::IMDSV2,
    /// EC2 instances have an IAM role (an instance profile).
    Ec2InstanceRole = "ec2-instance-role" [opt_in] => ec2_access::INSTANCE_ROLE,
    /// New EBS volumes are encrypted by default in every scanned region.
    EbsDefaultEncryption = "ebs-default-encryption" [opt_in] => account::Regional::EBS_DEFAULT_ENCRYPTION,
    /// Security Hub is enabled in every scanned region.
    SecurityhubEnabled = "securityhub-enabled" [opt_in] => account::Regional::SECURITY_HUB,
    /// The root user has no access keys.
    RootAccessKeys = "root-access-keys" [opt_in] => account::Global::ROOT_ACCESS_KEYS,
    /// The root user has an MFA device.
    RootMfa = "root-mfa" [opt_in] => account::Global::ROOT_MFA,
    /// The password policy requires at least 14 characters.
    IamPasswordLength = "iam-password-length" [opt_in] => account::Global::PASSWORD_LENGTH,
    /// The password policy forbids reusing the last 24 passwords.
    IamPasswordReuse = "iam-password-reuse" [opt_in] => account::Global::PASSWORD_REUSE,
    /// A role holds AWSSupportAccess, to handle incidents with AWS Support.
    IamSupportRole = "iam-support-role" [opt_in] => account::Global::SUPPORT_ROLE,
    /// IAM users with a console password have an MFA device.
    IamUserMfa = "iam-user-mfa" [opt_in] => iam_users::Users::MFA,
    /// IAM users' passwords and access keys unused for 45 days are disabled.
    IamUnusedCredentials = "iam-unused-credentials" [opt_in] => iam_users::Users::UNUSED,
    /// IAM users' active access keys are at most 90 days old.
    IamAccessKeyRotation = "iam-access-key-rotation" [opt_in] => iam_users::Users::ROTATION,
    /// IAM users get permissions only through groups.
    IamUserPolicies = "iam-user-policies" [opt_in] => iam_users::GROUPS_ONLY,
    /// No expired server certificate is stored in IAM.
    IamExpiredCertificates = "iam-expired-certificates" [opt_in] => iam_users::EXPIRED_CERTIFICATES,
    /// No attached managed policy allows Action "*" on Resource "*".
    IamFullAdminPolicies = "iam-full-admin-policies" [opt_in] => iam_admin::FULL_ADMIN,
    /// An external access analyzer is active in every scanned region.
    AccessAnalyzerEnabled = "access-analyzer-enabled" [opt_in] => account::Regional::ACCESS_ANALYZER,
    /// EFS file systems are encrypted at rest.
    EfsEncryption = "efs-encryption" [opt_in] => at_rest::EFS_ENCRYPTION,
    /// AWS Config records every supported resource type in every scanned region.
    ConfigRecorderEnabled = "config-recorder-enabled" [opt_in] => account::Regional::CONFIG_RECORDER,
    /// Customer-managed symmetric KMS keys rotate automatically.
    KmsKeyRotation = "kms-key-rotation" [opt_in] => at_rest::KEY_ROTATION,
    /// Network ACLs in use do not let the world reach SSH or RDP.
    NaclAdminPorts = "nacl-admin-ports" [opt_in] => nacl::ADMIN_PORTS_OPEN,
}

/// The rules the policy runs: the catalogue's and its own custom rules, less those it turns
/// off, in order (catalogue first).
pub fn in_force(policy: &Policy) -> Vec<Box<dyn Rule + '_>> {
    catalogue()
        .into_iter()
        .chain(
            policy
                .custom_rules
                .iter()
                .map(|r| Box::new(r) as Box<dyn Rule + '_>),
        )
        .filter(|rule| policy.rule_enabled(rule.id()))
        .collect()
}

/// A finding moved aside by the policy, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptedFinding {
    /// The finding as it would have been reported.
    #[serde(flatten)]
    pub finding: Finding,
    /// Why it is exempted (the exemption's reason, or `allow-listed`).
    pub reason: String,
    /// The last day the exemption applies, if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
}

/// The engine's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Findings, ordered by rule, region, resource.
    pub findings: Vec<Finding>,
    /// Findings moved aside, same order.
    pub exempted: Vec<ExemptedFinding>,
    /// What no rule could decide for lack of data, same order.
    pub not_evaluated: Vec<NotEvaluated>,
}

/// Whether AWS created the resource with the account (not the user's): exempt from
/// `tags-required` and `region-approved`. Unread when that could not be read (a tagged subnet
/// whose `DescribeSubnets` failed), and then those rules cannot decide.
pub fn aws_default(r: &Resource) -> Result<bool, &ScanError> {
    match &r.details {
        ResourceDetails::Ec2Vpc(v) => Ok(v.is_default),
        ResourceDetails::Ec2SecurityGroup(g) => Ok(g.is_default()),
        ResourceDetails::Generic(g) => match &g.aws_default {
            crate::observed::Observed::Read(d) => Ok(*d),
            crate::observed::Observed::Unread(e) => Err(e),
        },
        _ => Ok(false),
    }
}

/// Whether the resource is a service-linked role: exempt from every rule.
fn is_service_linked(r: &Resource) -> bool {
    matches!(&r.details, ResourceDetails::IamRole(role) if role.is_service_linked())
}

fn exemption_matches(e: &Exemption, rule: RuleId, r: Option<&Resource>, arn: &str) -> bool {
    exemption_covers(e, rule, arn, |key| r.and_then(|r| r.tag(key)))
}

/// Whether `e` exempts `arn` (whose tag values `tag` gives) from `rule`.
fn exemption_covers<'t>(
    e: &Exemption,
    rule: RuleId,
    arn: &str,
    tag: impl Fn(&str) -> Option<&'t str>,
) -> bool {
    if e.rule != rule {
        return false;
    }
    match &e.target {
        ExemptionTarget::Resource(glob) => glob.is_match(arn),
        ExemptionTarget::Tag(t) => tag(&t.key) == Some(t.value.as_str()),
    }
}

/// The exemption of `rule` that covers `r` on `now`'s day, if one does.
pub fn active_exemption<'p>(
    policy: &'p Policy,
    rule: RuleId,
    r: &Resource,
    now: DateTime<Utc>,
) -> Option<&'p Exemption> {
    exemption_for(policy, rule, &r.arn, |key| r.tag(key), now)
}

/// The exemption of `rule` that covers the resource `arn`, whose tag values `tag` gives (as
/// read now, not as an inventory holds them), on `now`'s day, if one does.
pub fn exemption_for<'p, 't>(
    policy: &'p Policy,
    rule: RuleId,
    arn: &str,
    tag: impl Fn(&str) -> Option<&'t str>,
    now: DateTime<Utc>,
) -> Option<&'p Exemption> {
    let today = now.date_naive();
    policy
        .exemptions
        .iter()
        .find(|e| exemption_covers(e, rule, arn, &tag) && e.is_active_on(today))
}

/// Evaluates every enabled rule over the inventory, one rule after the other (see
/// [`evaluate_share`] to spread them over cores).
pub fn evaluate(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> Evaluation {
    join_shares([evaluate_share(inventory, policy, now, 0, 1)])
}

/// Each evaluated rule's id and results (see [`evaluate_share`]).
pub type RuleResults = Vec<(RuleId, Evaluation)>;

/// Evaluates one share of the enabled rules: every `shares`-th rule from the `share`-th
/// (alternately, so no share gets every costly rule). The rules are independent passes over
/// the same inventory, so shares run on cores of their own; [`join_shares`] makes one
/// evaluation of them.
pub fn evaluate_share(
    inventory: &Inventory,
    policy: &Policy,
    now: DateTime<Utc>,
    share: usize,
    shares: usize,
) -> RuleResults {
    let cx = EvalContext {
        policy,
        inventory,
        now,
    };
    in_force(policy)
        .iter()
        .skip(share)
        .step_by(shares.max(1))
        .map(|rule| (rule.id(), evaluate_rule(&cx, rule.as_ref())))
        .collect()
}

/// The shares' results as one evaluation: each rule's results are in document order already,
/// and the rules' blocks are joined in rule order (a rule id is in force at most once: the
/// policy refuses a custom rule declared twice).
pub fn join_shares(shares: impl IntoIterator<Item = RuleResults>) -> Evaluation {
    let mut blocks: RuleResults = shares.into_iter().flatten().collect();
    blocks.sort_by_key(|(id, _)| *id);
    let mut out = Evaluation::default();
    for (_, block) in blocks {
        out.findings.extend(block.findings);
        out.exempted.extend(block.exempted);
        out.not_evaluated.extend(block.not_evaluated);
    }
    out
}

/// One rule's findings, exempted findings and undecided units, each by region and resource.
fn evaluate_rule(cx: &EvalContext<'_>, rule: &dyn Rule) -> Evaluation {
    let policy = cx.policy;
    let today = cx.now.date_naive();
    let mut out = Evaluation::default();
    let id = rule.id();
    // Only failures and undecided units are kept: a pass costs nothing (this loop runs
    // once per rule over every resource).
    let mut raw: Vec<(
        Option<&Resource>,
        String,
        CompactString,
        CompactString,
        Violation,
    )> = Vec::new();
    let mut not_evaluated = |arn, resource_type, region, missing| {
        out.not_evaluated.push(NotEvaluated {
            rule_id: id,
            resource_arn: arn,
            resource_type,
            region,
            missing,
        });
    };
    for r in &cx.inventory.resources {
        if is_service_linked(r) || !rule.applies(cx, r) {
            continue;
        }
        match rule.check(cx, r) {
            Verdict::Pass => {}
            Verdict::Fail(v) => raw.push((
                Some(r),
                r.arn.clone(),
                r.resource_type.as_str().into(),
                r.region.as_str().into(),
                v,
            )),
            Verdict::NotEvaluated(missing) => not_evaluated(
                r.arn.clone(),
                r.resource_type.to_string(),
                r.region.to_string(),
                missing,
            ),
        }
    }
    for (region, arn, v) in rule.check_account(cx) {
        match v {
            Verdict::Pass => {}
            Verdict::Fail(v) => raw.push((None, arn, rule.unit_type().into(), region.into(), v)),
            Verdict::NotEvaluated(missing) => {
                not_evaluated(arn, rule.unit_type().to_owned(), region, missing);
            }
        }
    }
    for (resource, arn, resource_type, region, v) in raw {
        let severity = policy.severity_override(id).unwrap_or(v.severity);
        let mut finding = Finding {
            rule_id: id,
            severity,
            resource_arn: arn.clone(),
            resource_type,
            region,
            message: v.reasons.join("; "),
            remediation: v.remediation,
            evidence: v.evidence,
        };
        // Allow-listed public buckets are exempted, never silently passed.
        if id == RuleId::S3PublicAccess
            && let Some(r) = resource
            && policy.s3.public_allowlist.iter().any(|g| g.is_match(&r.id))
        {
            out.exempted.push(ExemptedFinding {
                finding,
                reason: "allow-listed".to_owned(),
                expires: None,
            });
            continue;
        }
        let matching: Vec<&Exemption> = policy
            .exemptions
            .iter()
            .filter(|e| exemption_matches(e, id, resource, &arn))
            .collect();
        if let Some(active) = matching.iter().find(|e| e.is_active_on(today)) {
            out.exempted.push(ExemptedFinding {
                finding,
                reason: active.reason.clone(),
                expires: active.expires,
            });
            continue;
        }
        if let Some(expired) = matching
            .iter()
            .filter_map(|e| e.expires.map(|d| (d, e)))
            .max_by_key(|(d, _)| *d)
        {
            finding.message.push_str(&format!(
                " (exemption \"{}\" expired on {})",
                expired.1.reason, expired.0
            ));
        }
        out.findings.push(finding);
    }
    // Compared by reference: a key that clones its strings allocates twice per comparison.
    out.findings.sort_by(finding_order);
    out.exempted
        .sort_by(|a, b| finding_order(&a.finding, &b.finding));
    out.not_evaluated.sort_by(|a, b| {
        (a.rule_id, &a.region, &a.resource_arn).cmp(&(b.rule_id, &b.region, &b.resource_arn))
    });
    out
}

/// The order of findings in every document: by rule, region, resource.
pub(crate) fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.rule_id, &a.region, &a.resource_arn).cmp(&(b.rule_id, &b.region, &b.resource_arn))
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod engine_tests;
