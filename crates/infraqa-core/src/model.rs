//! The resource model: what the scanner discovered about one AWS resource.
//!
//! A resource has an ARN, an id, a `service:type` (as the Resource Groups Tagging API writes
//! it), a region (`global` for IAM), an account, tags, a creation time when AWS knows it, and
//! typed per-type details. Details carry exactly what the rules, orphan detection and cost
//! estimation read, and nothing is stored as untyped JSON.

use crate::iam::PolicyDocument;
use crate::inventory::ScanError;
use crate::observed::Observed;
pub use crate::tagset::Tags;
use crate::usage::Usage;
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The region value of resources that are not regional (IAM).
pub const GLOBAL_REGION: &str = "global";

/// The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A resource's `service:type`, e.g. `ec2:instance`.
///
/// The types infraqa understands in depth are variants; anything else the tagging API returns
/// is kept as [`ResourceType::Other`] with its `service:type` text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ResourceType {
    /// `ec2:instance`
    Ec2Instance,
    /// `ec2:volume`
    Ec2Volume,
    /// `ec2:snapshot`
    Ec2Snapshot,
    /// `ec2:image`
    Ec2Image,
    /// `ec2:security-group`
    Ec2SecurityGroup,
    /// `ec2:vpc`
    Ec2Vpc,
    /// `ec2:elastic-ip`
    Ec2ElasticIp,
    /// `ec2:natgateway`
    Ec2NatGateway,
    /// `s3:bucket`
    S3Bucket,
    /// `iam:role`
    IamRole,
    /// `rds:db`
    RdsDb,
    /// `lambda:function`
    LambdaFunction,
    /// `logs:log-group`
    LogsLogGroup,
    /// `cloudtrail:trail`
    CloudtrailTrail,
    /// Any other `service:type`, as the tagging API names it.
    Other(String),
}

impl ResourceType {
    /// The types infraqa collects with their own details, in contract order.
    pub const KNOWN: [ResourceType; 14] = [
        Self::Ec2Instance,
        Self::Ec2Volume,
        Self::Ec2Snapshot,
        Self::Ec2Image,
        Self::Ec2SecurityGroup,
        Self::Ec2Vpc,
        Self::Ec2ElasticIp,
        Self::Ec2NatGateway,
        Self::S3Bucket,
        Self::IamRole,
        Self::RdsDb,
        Self::LambdaFunction,
        Self::LogsLogGroup,
        Self::CloudtrailTrail,
    ];

    /// The `service:type` text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ec2Instance => "ec2:instance",
            Self::Ec2Volume => "ec2:volume",
            Self::Ec2Snapshot => "ec2:snapshot",
            Self::Ec2Image => "ec2:image",
            Self::Ec2SecurityGroup => "ec2:security-group",
            Self::Ec2Vpc => "ec2:vpc",
            Self::Ec2ElasticIp => "ec2:elastic-ip",
            Self::Ec2NatGateway => "ec2:natgateway",
            Self::S3Bucket => "s3:bucket",
            Self::IamRole => "iam:role",
            Self::RdsDb => "rds:db",
            Self::LambdaFunction => "lambda:function",
            Self::LogsLogGroup => "logs:log-group",
            Self::CloudtrailTrail => "cloudtrail:trail",
            Self::Other(s) => s,
        }
    }

    /// Parses `service:type`; unknown but well-formed names become [`ResourceType::Other`].
    pub fn parse(s: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or_else(|| Self::Other(s.to_owned()))
    }

    /// Whether `s` has the `service:type` shape (two non-empty lowercase parts).
    pub fn is_well_formed(s: &str) -> bool {
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        matches!(s.split_once(':'), Some((svc, kind)) if valid(svc) && valid(kind))
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for ResourceType {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<ResourceType> for String {
    fn from(t: ResourceType) -> Self {
        t.as_str().to_owned()
    }
}

/// One discovered AWS resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's real ARN.
    pub arn: String,
    /// The id AWS uses for it (instance id, bucket name, role name, ...): inline when
    /// short, as the small strings of a resource are (compact_str).
    pub id: CompactString,
    /// Its `service:type`.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// The region it lives in (a bucket's location), or `global`.
    pub region: CompactString,
    /// The account that owns it.
    pub account_id: CompactString,
    /// Its tags; keys and values are case-sensitive.
    #[serde(default)]
    pub tags: Tags,
    /// When AWS says it was created, if AWS knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Set when the call that returns this resource's tags failed (the tagging API for types
    /// whose list call carries no tags): then `tags` is incomplete and nothing may judge it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_unread: Option<Box<ScanError>>,
    /// What CloudWatch says it did over the lookback window (`[lifecycle]`): absent for types
    /// and states whose usage is not read, unread when `GetMetricData` failed. Boxed: most
    /// resources have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Box<Observed<Usage>>>,
    /// What the scanner learned about it beyond the common fields.
    pub details: ResourceDetails,
}

impl Resource {
    /// The value of tag `key`, if present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key)
    }

    /// Whether the resource is global (IAM) rather than regional.
    pub fn is_global(&self) -> bool {
        self.region == GLOBAL_REGION
    }
}

/// Declares [`ResourceDetails`] and how it is read back: one line per kind.
macro_rules! resource_details {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// Per-type details, tagged by `kind` in JSON.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum ResourceDetails {
            $($(#[$doc])* $variant($ty),)*
        }

        /// The kinds of [`ResourceDetails`], as `kind` names them.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum DetailsKind {
            $($variant,)*
        }

        impl DetailsKind {
            /// Reads the details of this kind from the object's other fields.
            fn read<'de, D: serde::Deserializer<'de>>(
                self,
                fields: D,
            ) -> Result<ResourceDetails, D::Error> {
                Ok(match self {
                    $(Self::$variant => ResourceDetails::$variant(<$ty>::deserialize(fields)?),)*
                })
            }
        }
    };
}

resource_details! {
    /// An EC2 instance (boxed, as are the other large kinds: every resource is as large as
    /// the largest kind held inline).
    Ec2Instance(Box<Ec2Instance>),
    /// An EBS volume.
    Ec2Volume(Ec2Volume),
    /// An EBS snapshot owned by the account.
    Ec2Snapshot(Ec2Snapshot),
    /// An AMI owned by the account.
    Ec2Image(Ec2Image),
    /// A security group.
    Ec2SecurityGroup(SecurityGroup),
    /// A VPC.
    Ec2Vpc(Vpc),
    /// An elastic IP address.
    Ec2ElasticIp(ElasticIp),
    /// A NAT gateway.
    Ec2NatGateway(NatGateway),
    /// An S3 bucket.
    S3Bucket(S3Bucket),
    /// An IAM role.
    IamRole(Box<IamRole>),
    /// An RDS database instance.
    RdsDb(RdsDb),
    /// A Lambda function.
    LambdaFunction(LambdaFunction),
    /// A CloudWatch Logs log group.
    LogsLogGroup(LogGroup),
    /// A CloudTrail trail.
    CloudtrailTrail(Trail),
    /// A tagged resource known only through the Resource Groups Tagging API.
    Generic(Generic),
}

/// Reads details without buffering them: infraqa writes `kind` first, so the fields that
/// follow are read straight into the kind's type (serde's internally tagged enums buffer every
/// object whole, which at a million resources is most of the time an inventory takes to read).
/// An object whose `kind` comes later, as another tool may write it, is buffered and read the
/// same way.
impl<'de> Deserialize<'de> for ResourceDetails {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DetailsVisitor)
    }
}

struct DetailsVisitor;

impl<'de> serde::de::Visitor<'de> for DetailsVisitor {
    type Value = ResourceDetails;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("resource details: an object with a `kind`")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let Some(first) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
            return Err(A::Error::missing_field("kind"));
        };
        if first == "kind" {
            let kind: DetailsKind = map.next_value()?;
            return kind.read(serde::de::value::MapAccessDeserializer::new(map));
        }
        let mut fields = serde_json::Map::new();
        fields.insert(first.into_owned(), map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            fields.insert(key, value);
        }
        let kind = fields
            .remove("kind")
            .ok_or_else(|| A::Error::missing_field("kind"))?;
        let kind = DetailsKind::deserialize(kind).map_err(A::Error::custom)?;
        kind.read(serde_json::Value::Object(fields))
            .map_err(A::Error::custom)
    }
}

/// A resource known only through the Resource Groups Tagging API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generic {
    /// Whether AWS created it with the account (a default VPC's subnets and internet gateway,
    /// a main route table, a default network ACL): read with the type's own `Describe*` call.
    #[serde(default)]
    pub aws_default: Observed<bool>,
}

/// EC2 instance lifecycle states that are inventoried (terminated and shutting-down are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    /// Launching.
    Pending,
    /// Running.
    Running,
    /// Stopping.
    Stopping,
    /// Stopped.
    Stopped,
}

/// An EC2 instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Instance {
    /// Instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// Lifecycle state.
    pub state: InstanceState,
    /// The AMI it was launched from.
    pub image_id: String,
    /// The AMI's owner account: `null` when `DescribeImages` does not return the AMI
    /// (deregistered, or no longer shared); unread when that call failed.
    #[serde(default)]
    pub image_owner_id: Observed<Option<String>>,
    /// AWS's free-text reason for the last state change (carries the stop time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_transition_reason: Option<String>,
    /// The VPC it runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// Ids of its security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Ids of its network interfaces.
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
    /// Where the resource's `created_at` comes from: an instance's `LaunchTime` is reset by
    /// every start, so its original launch is taken from when its primary network interface
    /// was attached, and `LaunchTime` only when that is absent. Absent in inventories written
    /// before this was recorded (they used `LaunchTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_source: Option<InstanceAgeSource>,
    /// How its instance metadata service answers (`MetadataOptions`); absent in inventories
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<InstanceMetadata>,
    /// Its IAM role (`IamInstanceProfile`); absent in inventories written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<InstanceRole>,
}

/// Whether an instance has an IAM role, as `DescribeInstances` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRole {
    /// The ARN of its instance profile; absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_arn: Option<String>,
}

/// An instance's metadata service settings, as `DescribeInstances` returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMetadata {
    /// `HttpEndpoint`: `enabled` or `disabled` (no metadata service at all).
    pub http_endpoint: String,
    /// `HttpTokens`: `required` (IMDSv2 only) or `optional` (IMDSv1 answers too).
    pub http_tokens: String,
}

impl InstanceMetadata {
    /// Whether only IMDSv2 answers: tokens required, or the service turned off.
    pub fn v2_only(&self) -> bool {
        self.http_tokens == "required" || self.http_endpoint == "disabled"
    }
}

/// Which time an instance's age is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceAgeSource {
    /// `NetworkInterfaces[device index 0].Attachment.AttachTime`: the original launch, kept
    /// across stop and start.
    PrimaryInterfaceAttachTime,
    /// `LaunchTime`: the last start (used only when the instance has no primary interface
    /// attachment time).
    LaunchTime,
}

/// An EBS volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Volume {
    /// Volume type, e.g. `gp3`.
    pub volume_type: String,
    /// Size in GiB.
    pub size_gib: i32,
    /// State, e.g. `available` (unattached) or `in-use`.
    pub state: String,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// Instances it is attached to.
    #[serde(default)]
    pub attached_instance_ids: Vec<String>,
}

/// An EBS snapshot owned by the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Snapshot {
    /// The volume it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    /// Whether that volume still exists.
    pub source_volume_exists: bool,
    /// Size in GiB.
    pub size_gib: i32,
    /// Own AMIs that use it.
    #[serde(default)]
    pub used_by_image_ids: Vec<String>,
}

/// An AMI owned by the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Image {
    /// The owning account.
    pub owner_id: String,
    /// The image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Snapshots that back it.
    #[serde(default)]
    pub snapshot_ids: Vec<String>,
}

/// A security group with its rules and users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// Its name (`default` for a VPC's default group).
    pub group_name: String,
    /// The VPC it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// Inbound permissions.
    #[serde(default)]
    pub ingress: Vec<IpPermission>,
    /// Outbound permissions (inventoried, never evaluated).
    #[serde(default)]
    pub egress: Vec<IpPermission>,
    /// Network interfaces that use the group (`DescribeNetworkInterfaces`).
    #[serde(default)]
    pub network_interface_ids: Observed<Vec<String>>,
}

impl SecurityGroup {
    /// Whether this is a VPC's default group (`GroupName` is `default`).
    pub fn is_default(&self) -> bool {
        self.group_name == "default"
    }
}

/// One permission of a security group, as EC2 returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpPermission {
    /// The protocol as AWS sends it: a name (`tcp`), a number (`6`) or `-1` for all.
    pub protocol: String,
    /// First port (or ICMP type); absent for all-traffic rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// Last port (or ICMP code); absent for all-traffic rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// IPv4 source or destination ranges.
    #[serde(default)]
    pub ipv4_ranges: Vec<String>,
    /// IPv6 source or destination ranges.
    #[serde(default)]
    pub ipv6_ranges: Vec<String>,
    /// Managed prefix lists (never "the world").
    #[serde(default)]
    pub prefix_list_ids: Vec<String>,
    /// Referenced security groups (never "the world").
    #[serde(default)]
    pub referenced_group_ids: Vec<String>,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    /// Whether it is the region's default VPC.
    pub is_default: bool,
    /// Its primary IPv4 CIDR block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<String>,
    /// Flow logs attached to it (`DescribeFlowLogs`).
    #[serde(default)]
    pub flow_log_ids: Observed<Vec<String>>,
}

/// An elastic IP address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElasticIp {
    /// The public address.
    pub public_ip: String,
    /// Its association, when associated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    /// The instance it points at, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// A NAT gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    /// State, e.g. `available`.
    pub state: String,
    /// The VPC it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
}

/// The default encryption of a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketEncryption {
    /// No configuration, or no rule applies encryption by default.
    None,
    /// SSE-S3 (`AES256`).
    SseS3,
    /// SSE-KMS (`aws:kms`), with the key when set.
    SseKms {
        /// The KMS key id or ARN.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
    /// Dual-layer SSE-KMS (`aws:kms:dsse`).
    SseKmsDsse {
        /// The KMS key id or ARN.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
}

/// The four S3 public access block flags. A missing configuration is all false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// Reject new public ACLs.
    pub block_public_acls: bool,
    /// Ignore existing public ACLs.
    pub ignore_public_acls: bool,
    /// Reject public bucket policies.
    pub block_public_policy: bool,
    /// Restrict access to buckets with public policies.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Each flag set when set at either level (bucket OR account), as S3 applies them.
    pub fn effective(bucket: Self, account: Self) -> Self {
        Self {
            block_public_acls: bucket.block_public_acls || account.block_public_acls,
            ignore_public_acls: bucket.ignore_public_acls || account.ignore_public_acls,
            block_public_policy: bucket.block_public_policy || account.block_public_policy,
            restrict_public_buckets: bucket.restrict_public_buckets
                || account.restrict_public_buckets,
        }
    }

    /// Whether all four flags are set.
    pub fn all_blocked(self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

/// The ACL grantee groups that make a bucket public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublicGrantee {
    /// `http://acs.amazonaws.com/groups/global/AllUsers`
    AllUsers,
    /// `http://acs.amazonaws.com/groups/global/AuthenticatedUsers`
    AuthenticatedUsers,
}

/// An S3 bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3Bucket {
    /// Default encryption (`GetBucketEncryption`).
    pub encryption: Observed<BucketEncryption>,
    /// The bucket-level public access block (all false when absent).
    pub public_access_block: Observed<PublicAccessBlock>,
    /// The account-level block (S3 Control) in force when the bucket was read (all false when
    /// absent or unreadable; an unreadable one is recorded in the inventory's errors).
    #[serde(default)]
    pub account_public_access_block: PublicAccessBlock,
    /// `GetBucketPolicyStatus.IsPublic`; absent when the effective block already neutralises
    /// public policies (then it is not asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_is_public: Option<Observed<bool>>,
    /// Public grantee groups in the ACL; absent when the effective block already neutralises
    /// public ACLs (then it is not asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_public_grants: Option<Observed<Vec<PublicGrantee>>>,
    /// Whether server access logging is configured (`GetBucketLogging`).
    pub access_logging: Observed<bool>,
    /// Its bucket policy (`GetBucketPolicy`; `null` when it has none): read only when a rule
    /// in force needs it, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Observed<Option<Box<PolicyDocument>>>>,
}

/// An IAM role with its identity and trust policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRole {
    /// The role's path, e.g. `/` or `/aws-service-role/...`.
    pub path: String,
    /// Who may assume it; unread when the document could not be read or parsed.
    pub trust_policy: Observed<PolicyDocument>,
    /// Inline and attached managed policies, with their default-version documents.
    #[serde(default)]
    pub policies: Vec<RolePolicy>,
}

impl IamRole {
    /// Service-linked roles are AWS's, inventoried but exempt from every rule.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }
}

/// Where a role's identity policy comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// Embedded in the role.
    Inline,
    /// An AWS-managed policy (`arn:aws:iam::aws:policy/...`).
    AwsManaged,
    /// A customer-managed policy.
    CustomerManaged,
}

impl PolicySource {
    /// How a person names it: `inline`, `AWS-managed`, `customer-managed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::AwsManaged => "AWS-managed",
            Self::CustomerManaged => "customer-managed",
        }
    }
}

/// One identity policy of a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolePolicy {
    /// The policy's name.
    pub name: String,
    /// Its ARN, for managed policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Where it comes from.
    pub source: PolicySource,
    /// The (default version's) document; unread when it could not be read or parsed.
    pub document: Observed<PolicyDocument>,
}

/// An RDS database instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RdsDb {
    /// Engine, e.g. `postgres`.
    pub engine: String,
    /// Instance class, e.g. `db.t3.micro`.
    pub instance_class: String,
    /// Whether storage is encrypted.
    pub storage_encrypted: bool,
    /// Whether it has a public address.
    pub publicly_accessible: bool,
    /// Log types exported to CloudWatch Logs.
    #[serde(default)]
    pub cloudwatch_logs_exports: Vec<String>,
    /// Status, e.g. `available`.
    pub status: String,
    /// Whether minor engine upgrades are applied in the maintenance window
    /// (`AutoMinorVersionUpgrade`); absent in inventories written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_minor_version_upgrade: Option<bool>,
}

/// A Lambda function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaFunction {
    /// Runtime, e.g. `provided.al2023`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Execution role ARN.
    pub role: String,
    /// When its code or configuration last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
    /// The log group it writes to (`/aws/lambda/NAME` unless configured otherwise).
    pub log_group: String,
    /// Whether that log group exists (unread when the region's log groups could not be listed).
    pub log_group_exists: Observed<bool>,
}

/// A CloudWatch Logs log group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogGroup {
    /// Retention in days; none means kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i32>,
    /// Stored bytes.
    #[serde(default)]
    pub stored_bytes: i64,
}

/// A CloudTrail trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// Its home region.
    pub home_region: String,
    /// Whether it covers every region.
    pub multi_region: bool,
    /// `GetTrailStatus.IsLogging`.
    pub is_logging: Observed<bool>,
    /// How its log files are protected (`DescribeTrails`); absent in inventories written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<TrailIntegrity>,
    /// What it logs of S3 objects (`GetEventSelectors`): read only when a rule in force needs
    /// it, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_events: Option<Observed<S3DataEvents>>,
}

/// What a trail logs of S3 object-level activity (its data events), as its event selectors
/// (basic or advanced) say: the S3 ARN prefixes whose object writes and reads it logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3DataEvents {
    /// Prefixes whose object writes are logged: `arn:aws:s3` (every bucket), a bucket
    /// (`arn:aws:s3:::NAME/`) or part of one (`arn:aws:s3:::NAME/logs/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    /// Prefixes whose object reads are logged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
}

impl S3DataEvents {
    /// Whether `prefixes` cover every object of `bucket` (in `partition`).
    pub fn covers(prefixes: &[String], partition: &str, bucket: &str) -> bool {
        let all = format!("arn:{partition}:s3");
        let whole = format!("arn:{partition}:s3:::{bucket}/");
        prefixes
            .iter()
            .any(|p| *p == all || p.strip_prefix(&all) == Some(":::") || *p == whole)
    }
}

/// What protects a trail's log files, as `DescribeTrails` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailIntegrity {
    /// `LogFileValidationEnabled`: CloudTrail writes signed digest files.
    pub log_file_validation: bool,
    /// `KmsKeyId`: the KMS key the log files are encrypted with (SSE-KMS); absent when they
    /// are encrypted with S3's own keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_back_whatever_the_position_of_their_kind() {
        let inv = crate::synthetic::inventory(60, "2026-11-01T00:00:00Z".parse().unwrap());
        for r in &inv.resources {
            let json = serde_json::to_value(&r.details).unwrap();
            let back: ResourceDetails = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, r.details);
            // Written by another tool, with `kind` last.
            let serde_json::Value::Object(mut fields) = json else {
                panic!("details are an object")
            };
            let kind = fields.remove("kind").unwrap();
            let mut text = serde_json::to_string(&fields).unwrap();
            text.pop();
            let text = format!(
                "{text}{}\"kind\":{kind}}}",
                if fields.is_empty() { "" } else { "," }
            );
            let back: ResourceDetails = serde_json::from_str(&text).unwrap();
            assert_eq!(back, r.details, "{text}");
        }
        for (text, want) in [
            ("{}", "missing field `kind`"),
            (r#"{"kind":"ec2_thing"}"#, "unknown variant `ec2_thing`"),
            (
                r#"{"aws_default":true,"kind":"nope"}"#,
                "unknown variant `nope`",
            ),
            (r#"{"kind":"ec2_vpc","is_default":"yes"}"#, "invalid type"),
            ("[]", "resource details: an object with a `kind`"),
        ] {
            let err = serde_json::from_str::<ResourceDetails>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn resource_types_round_trip_and_keep_unknown_names() {
        for t in ResourceType::KNOWN {
            assert_eq!(ResourceType::parse(t.as_str()), t);
        }
        let other = ResourceType::parse("dynamodb:table");
        assert_eq!(other, ResourceType::Other("dynamodb:table".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), "\"dynamodb:table\"");
        let back: ResourceType = serde_json::from_str("\"ec2:vpc\"").unwrap();
        assert_eq!(back, ResourceType::Ec2Vpc);
    }

    #[test]
    fn regions_map_to_partitions() {
        let cases = [
            ("us-east-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("eu-west-1", "aws"),
        ];
        for (region, p) in cases {
            assert_eq!(partition(region), p, "{region}");
        }
    }

    #[test]
    fn well_formed_type_names() {
        let cases = [
            ("ec2:instance", true),
            ("s3:bucket", true),
            ("ec2:security-group", true),
            ("ec2", false),
            (":bucket", false),
            ("S3:Bucket", false),
            ("ec2:", false),
        ];
        for (name, ok) in cases {
            assert_eq!(ResourceType::is_well_formed(name), ok, "{name}");
        }
    }

    #[test]
    fn effective_public_access_block_ors_each_flag() {
        let bucket = PublicAccessBlock {
            block_public_acls: true,
            ..Default::default()
        };
        let account = PublicAccessBlock {
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
            ..Default::default()
        };
        assert!(PublicAccessBlock::effective(bucket, account).all_blocked());
        assert!(!PublicAccessBlock::effective(bucket, PublicAccessBlock::default()).all_blocked());
    }

    #[test]
    fn resources_serialise_with_contract_field_names() {
        let r = Resource {
            arn: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1".into(),
            id: "vpc-1".into(),
            resource_type: ResourceType::Ec2Vpc,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            tags: Tags::from_iter([("Owner", "platform")]),
            created_at: None,
            tags_unread: None,
            usage: None,
            details: ResourceDetails::Ec2Vpc(Vpc {
                is_default: true,
                cidr_block: Some("172.31.0.0/16".into()),
                flow_log_ids: Observed::Read(vec![]),
            }),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["type"], "ec2:vpc");
        assert_eq!(v["details"]["kind"], "ec2_vpc");
        assert_eq!(v["tags"]["Owner"], "platform");
        assert!(v.get("created_at").is_none());
        assert_eq!(r.tag("Owner"), Some("platform"));
        assert!(!r.is_global());
        let back: Resource = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn service_linked_roles_and_default_groups_are_recognised() {
        let role = IamRole {
            path: "/aws-service-role/rds.amazonaws.com/".into(),
            trust_policy: Observed::default(),
            policies: vec![],
        };
        assert!(role.is_service_linked());
        let sg = SecurityGroup {
            group_name: "default".into(),
            vpc_id: None,
            ingress: vec![],
            egress: vec![],
            network_interface_ids: Observed::default(),
        };
        assert!(sg.is_default());
    }
}
