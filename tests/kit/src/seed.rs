//! The demo estate: a small, realistic AWS estate across two regions, created with real SDK
//! calls, with compliant resources, look-alikes that must pass, and planted violations of
//! every rule and orphan kind in the catalogue.
//!
//! [`seed_demo_estate`] returns an [`Estate`] manifest: every resource it created (and the
//! AWS-created defaults it found), what the demo policy ([`Estate::policy_toml`]) must say about
//! each, the ids that must never be inventoried, and the account-level findings. The demo and
//! the integration tests of the scanner and the rule engine compare their output with it.

use crate::{KitError, Step};
use aws_sdk_ec2::types as ec2t;
use aws_sdk_s3::types as s3t;
use chrono::NaiveDate;
use infraqa_aws::AwsClients;
use infraqa_core::{OrphanKind, ResourceType, RuleId};
use std::collections::BTreeMap;

/// The approved region; the home of most of the estate.
pub const PRIMARY_REGION: &str = "us-east-1";
/// A region the demo policy does not approve: what lives here violates `region-approved`.
pub const SECONDARY_REGION: &str = "eu-west-1";
/// An AMI id the demo policy approves by id although `DescribeImages` does not return it.
pub const APPROVED_BY_ID_AMI: &str = "ami-0123456789abcdef0";
/// An AMI id nobody approves (and `DescribeImages` does not return).
pub const UNAPPROVED_AMI: &str = "ami-0badc0ffee0000001";

/// What the demo policy must conclude about one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expect {
    /// A finding of this rule.
    Finding(RuleId),
    /// A finding of this rule, moved to `exempted`.
    Exempted(RuleId),
    /// An orphan of this kind.
    Orphan(OrphanKind),
}

/// One resource of the estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// Its `service:type`.
    pub resource_type: ResourceType,
    /// Its region, or `global`.
    pub region: String,
    /// The id AWS gave it (or its name, where the name is the id).
    pub id: String,
    /// A human name for test messages.
    pub name: String,
    /// Whether AWS (not the seeder) created it: default VPCs and security groups.
    pub aws_default: bool,
    /// Its tags as seeded.
    pub tags: BTreeMap<String, String>,
    /// What the demo policy must say about it; empty means fully compliant.
    pub expect: Vec<Expect>,
}

/// The manifest of a seeded estate.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    /// The account it lives in.
    pub account_id: String,
    /// The suffix that makes its bucket names unique.
    pub suffix: String,
    /// Every resource, seeded or AWS-created, that a scan must inventory.
    pub resources: Vec<Seeded>,
    /// Ids that must never appear in an inventory (terminated instances).
    pub absent_ids: Vec<String>,
    /// Account-level findings: (rule, region).
    pub account_findings: Vec<(RuleId, String)>,
    /// The day it was seeded; the demo policy's exemption dates are relative to it.
    pub seeded_on: NaiveDate,
    /// The usage planted in CloudWatch, and what the lifecycle section must conclude.
    pub usage: Vec<PlantedUsage>,
}

/// Usage planted for one resource: daily datapoints over the days before the seeding.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedUsage {
    /// The resource's id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// A human name for test messages.
    pub name: String,
    /// The verdict the demo policy must reach: a cleanup kind (`idle-instance`, ...), `busy`
    /// or `not-enough-data`.
    pub verdict: &'static str,
    /// The monthly saving of a cleanup, where priced.
    pub saving: Option<f64>,
}

impl Estate {
    /// Resources of `resource_type` in `region`.
    pub fn count(&self, resource_type: &ResourceType, region: &str) -> usize {
        self.resources
            .iter()
            .filter(|r| &r.resource_type == resource_type && r.region == region)
            .count()
    }

    /// The resource seeded under `name`, if any.
    pub fn by_name(&self, name: &str) -> Option<&Seeded> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// The policy the expectations are written against.
    pub fn policy_toml(&self) -> String {
        demo_policy(&self.account_id, self.seeded_on)
    }
}

/// The demo policy for an estate seeded in `account_id` on `today`: the legacy exemption is
/// active for another 120 days, the archive one expired 150 days ago.
pub fn demo_policy(account_id: &str, today: NaiveDate) -> String {
    let active_until = today + chrono::Days::new(120);
    let expired_on = today - chrono::Days::new(150);
    format!(
        r#"# The policy the demo estate is checked against (written by infraqa-seed-demo).

[scan]
regions = ["{PRIMARY_REGION}", "{SECONDARY_REGION}"]

[tags]
required = ["Environment", "Owner", "CostCenter", "CreatedAt", "Project"]
applies_to = ["ec2:instance", "s3:bucket", "rds:db", "lambda:function"]
[tags.allowed_values]
Environment = ["dev", "staging", "prod"]
[tags.aliases]
Owner = ["Team"]

[regions]
approved = ["{PRIMARY_REGION}"]

[ec2]
approved_amis = ["{APPROVED_BY_ID_AMI}"]
approved_ami_owners = ["{account_id}"]

[s3]
public_allowlist = ["public-website-*"]

[network]
allowed_public_ports = [80, 443]

[logging]
critical_tag = "Environment"
critical_values = ["prod"]

[orphans]
# The emulator stops instances "now"; 0 days lets the demo show the stopped-instance orphan.
stopped_instance_days = 0

[[exemptions]]
rule = "s3-public-access"
resource = "arn:aws:s3:::legacy-*"
reason = "migrating to CloudFront, ticket OPS-112"
expires = "{active_until}"

[[exemptions]]
rule = "s3-encryption"
resource = "arn:aws:s3:::archive-*"
reason = "re-encryption job, ticket OPS-97"
expires = "{expired_on}"

[[exemptions]]
rule = "sg-open-ingress"
tag = {{ key = "infraqa:exempt", value = "sg-open-ingress" }}
reason = "bastion, reviewed quarterly"
"#
    )
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn prod_tags() -> BTreeMap<String, String> {
    tags(&[
        ("Environment", "prod"),
        ("Owner", "platform"),
        ("CostCenter", "CC-1001"),
        ("CreatedAt", "2026-01-15"),
        ("Project", "storefront"),
    ])
}

fn dev_tags() -> BTreeMap<String, String> {
    tags(&[
        ("Environment", "dev"),
        ("Team", "data"),
        ("CostCenter", "CC-2002"),
        ("CreatedAt", "2026-03-02T09:30:00Z"),
        ("Project", "analytics"),
    ])
}

fn with(mut base: BTreeMap<String, String>, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    base.extend(tags(pairs));
    base
}

const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TRUST_LAMBDA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

use Expect::{Exempted, Finding, Orphan};

struct Seeder<'a> {
    clients: &'a AwsClients,
    estate: Estate,
    /// Where the trail delivers: the access-logs bucket.
    trail_bucket: Option<String>,
}

/// What the seeded bucket names of account `account_id` carry, so two accounts' buckets never
/// collide: the id's last six digits, reversed.
pub fn name_suffix(account_id: &str) -> String {
    account_id.chars().rev().take(6).collect()
}

/// Seeds the demo estate into the account `clients` act in, and returns its manifest.
pub async fn seed_demo_estate(clients: &AwsClients) -> Result<Estate, KitError> {
    let account_id = clients.account_id().await.step("reading the account id")?;
    let suffix = name_suffix(&account_id);
    let mut s = Seeder {
        clients,
        estate: Estate {
            account_id,
            suffix,
            seeded_on: chrono::Utc::now().date_naive(),
            ..Estate::default()
        },
        trail_bucket: None,
    };
    let roles = s.iam().await?;
    s.logs().await?;
    let net = s.network(PRIMARY_REGION, &roles.flow_logs_role).await?;
    s.instances(&net).await?;
    s.storage().await?;
    s.buckets().await?;
    s.rds().await?;
    s.lambdas(&roles.lambda_exec_role).await?;
    s.trail().await?;
    s.secondary_region().await?;
    s.aws_defaults_and_derived().await?;
    s.usage().await?;
    s.estate.account_findings = vec![(RuleId::CloudtrailEnabled, SECONDARY_REGION.to_owned())];
    Ok(s.estate)
}

/// (name, path, trust policy, attached managed policy ARNs, inline (name, document), expectations)
type RoleSpec = (
    &'static str,
    &'static str,
    String,
    Vec<&'static str>,
    Vec<(&'static str, String)>,
    Vec<Expect>,
);

struct Roles {
    flow_logs_role: String,
    lambda_exec_role: String,
}

struct PrimaryNetwork {
    subnet_id: String,
    sg_web: String,
    sg_ssh_open: String,
    sg_bastion: String,
}

impl Seeder<'_> {
    fn record(
        &mut self,
        resource_type: ResourceType,
        region: &str,
        id: impl Into<String>,
        name: &str,
        tags: BTreeMap<String, String>,
        expect: Vec<Expect>,
    ) {
        self.estate.resources.push(Seeded {
            resource_type,
            region: region.to_owned(),
            id: id.into(),
            name: name.to_owned(),
            aws_default: false,
            tags,
            expect,
        });
    }

    fn bucket_name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.estate.suffix)
    }

    // ---------- IAM ----------

    async fn iam(&mut self) -> Result<Roles, KitError> {
        let iam = self.clients.iam().step("building an IAM client")?;
        let acct = self.estate.account_id.clone();
        // (name, path, trust, managed policy ARNs, inline policies, expectations)
        let roles: Vec<RoleSpec> = vec![
            ("app-readonly", "/", TRUST_EC2.into(), vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"], vec![], vec![]),
            ("break-glass-admin", "/", TRUST_EC2.into(), vec!["arn:aws:iam::aws:policy/AdministratorAccess"], vec![], vec![Finding(RuleId::IamLeastPrivilege)]),
            ("legacy-notaction", "/legacy/", TRUST_EC2.into(), vec![], vec![("everything-but-iam", r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#.into())], vec![Finding(RuleId::IamLeastPrivilege)]),
            ("ci-deployer", "/", TRUST_EC2.into(), vec![], vec![("deploy", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:RunInstances","iam:PassRole"],"Resource":"*"}]}"#.into())], vec![Finding(RuleId::IamLeastPrivilege)]),
            ("data-pipeline", "/", TRUST_EC2.into(), vec![], vec![("s3-everything", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#.into())], vec![Finding(RuleId::IamLeastPrivilege)]),
            ("open-trust", "/", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#.into(), vec![], vec![("read-one-bucket", format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data-{}/*"}}]}}"#, self.estate.suffix))], vec![Finding(RuleId::IamLeastPrivilege)]),
            ("partner-access", "/", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"partner-7f3a"}}}]}"#.into(), vec![], vec![], vec![]),
            ("guarded-deployer", "/", TRUST_EC2.into(), vec![], vec![("scoped", format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"false"}}}}}},{{"Effect":"Allow","Action":"iam:passrole","Resource":"arn:aws:iam::{acct}:role/app-*"}}]}}"#))], vec![]),
            ("AWSServiceRoleForInfraqaDemo", "/aws-service-role/demo.amazonaws.com/", TRUST_EC2.into(), vec!["arn:aws:iam::aws:policy/AdministratorAccess"], vec![], vec![]),
            ("flow-logs-delivery", "/", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(), vec![], vec![("deliver", format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:{acct}:log-group:/infraqa/flow-logs/*"}}]}}"#))], vec![]),
            ("lambda-exec", "/", TRUST_LAMBDA.into(), vec![], vec![("logs", format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:{PRIMARY_REGION}:{acct}:log-group:/aws/lambda/*"}}]}}"#))], vec![]),
        ];
        let mut arns = BTreeMap::new();
        for (name, path, trust, managed, inline, expect) in roles {
            let (name, path): (&str, &str) = (name, path);
            let out = iam
                .create_role()
                .role_name(name)
                .path(path)
                .assume_role_policy_document(trust)
                .send()
                .await
                .step(format!("creating IAM role {name}"))?;
            if let Some(role) = out.role {
                arns.insert(name, role.arn);
            }
            for arn in managed {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .step(format!("attaching {arn} to role {name}"))?;
            }
            for (policy_name, doc) in inline {
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name(policy_name)
                    .policy_document(doc)
                    .send()
                    .await
                    .step(format!(
                        "putting inline policy {policy_name} on role {name}"
                    ))?;
            }
            self.record(
                ResourceType::IamRole,
                "global",
                name,
                name,
                BTreeMap::new(),
                expect,
            );
        }
        let arn = |name: &str| arns.get(name).cloned().unwrap_or_default();
        Ok(Roles {
            flow_logs_role: arn("flow-logs-delivery"),
            lambda_exec_role: arn("lambda-exec"),
        })
    }

    // ---------- CloudWatch Logs ----------

    async fn logs(&mut self) -> Result<(), KitError> {
        let logs = self.clients.logs(PRIMARY_REGION);
        let groups = [
            ("/aws/lambda/orders-api", vec![]),
            (
                "/aws/lambda/retired-report",
                vec![Orphan(OrphanKind::LoggroupOrphaned)],
            ),
            ("/infraqa/flow-logs/vpc-prod", vec![]),
        ];
        for (name, expect) in groups {
            logs.create_log_group()
                .log_group_name(name)
                .send()
                .await
                .step(format!("creating log group {name}"))?;
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(30)
                .send()
                .await
                .step(format!("setting retention of log group {name}"))?;
            self.record(
                ResourceType::LogsLogGroup,
                PRIMARY_REGION,
                name,
                name,
                BTreeMap::new(),
                expect,
            );
        }
        Ok(())
    }

    // ---------- EC2 network ----------

    async fn vpc(
        &mut self,
        region: &str,
        name: &str,
        cidr: &str,
        tags: BTreeMap<String, String>,
        expect: Vec<Expect>,
    ) -> Result<String, KitError> {
        let out = self
            .clients
            .ec2(region)
            .create_vpc()
            .cidr_block(cidr)
            .tag_specifications(tag_spec(
                ec2t::ResourceType::Vpc,
                &with(tags.clone(), &[("Name", name)]),
            ))
            .send()
            .await
            .step(format!("creating VPC {name} in {region}"))?;
        let id = out.vpc.and_then(|v| v.vpc_id).unwrap_or_default();
        self.record(
            ResourceType::Ec2Vpc,
            region,
            &id,
            name,
            with(tags, &[("Name", name)]),
            expect,
        );
        Ok(id)
    }

    async fn subnet(&self, region: &str, vpc_id: &str, cidr: &str) -> Result<String, KitError> {
        let out = self
            .clients
            .ec2(region)
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(format!("{region}a"))
            .send()
            .await
            .step(format!("creating subnet {cidr} in {vpc_id}"))?;
        Ok(out.subnet.and_then(|s| s.subnet_id).unwrap_or_default())
    }

    async fn security_group(
        &mut self,
        region: &str,
        vpc_id: &str,
        name: &str,
        ingress: Vec<ec2t::IpPermission>,
        tags: BTreeMap<String, String>,
        expect: Vec<Expect>,
    ) -> Result<String, KitError> {
        let ec2 = self.clients.ec2(region);
        let out = ec2
            .create_security_group()
            .group_name(name)
            .description(format!("infraqa demo: {name}"))
            .vpc_id(vpc_id)
            .set_tag_specifications(
                (!tags.is_empty())
                    .then(|| vec![tag_spec(ec2t::ResourceType::SecurityGroup, &tags)]),
            )
            .send()
            .await
            .step(format!("creating security group {name}"))?;
        let id = out.group_id.unwrap_or_default();
        if !ingress.is_empty() {
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(ingress))
                .send()
                .await
                .step(format!("authorising ingress on security group {name}"))?;
        }
        self.record(
            ResourceType::Ec2SecurityGroup,
            region,
            &id,
            name,
            tags,
            expect,
        );
        Ok(id)
    }

    async fn network(
        &mut self,
        region: &str,
        flow_logs_role: &str,
    ) -> Result<PrimaryNetwork, KitError> {
        let ec2 = self.clients.ec2(region);
        let vpc_prod = self
            .vpc(region, "vpc-prod", "10.0.0.0/16", prod_tags(), vec![])
            .await?;
        ec2.create_flow_logs()
            .resource_type(ec2t::FlowLogsResourceType::Vpc)
            .resource_ids(&vpc_prod)
            .traffic_type(ec2t::TrafficType::All)
            .log_destination_type(ec2t::LogDestinationType::CloudWatchLogs)
            .log_group_name("/infraqa/flow-logs/vpc-prod")
            .deliver_logs_permission_arn(flow_logs_role)
            .send()
            .await
            .step("creating the flow log of vpc-prod")?;
        self.vpc(
            region,
            "vpc-legacy",
            "10.1.0.0/16",
            tags(&[("Environment", "prod"), ("Owner", "platform")]),
            vec![Finding(RuleId::LoggingEnabled)],
        )
        .await?;
        let subnet_id = self.subnet(region, &vpc_prod, "10.0.1.0/24").await?;

        let sg_web = self
            .security_group(
                region,
                &vpc_prod,
                "web",
                vec![
                    tcp(80, 80, &["0.0.0.0/0"], &[]),
                    tcp(443, 443, &["0.0.0.0/0"], &["::/0"]),
                ],
                BTreeMap::new(),
                vec![],
            )
            .await?;
        let sg_ssh_open = self
            .security_group(
                region,
                &vpc_prod,
                "ssh-open",
                vec![tcp(22, 22, &["0.0.0.0/0"], &[])],
                BTreeMap::new(),
                vec![Finding(RuleId::SgOpenIngress)],
            )
            .await?;
        let sg_bastion = self
            .security_group(
                region,
                &vpc_prod,
                "bastion",
                vec![tcp(22, 22, &["0.0.0.0/0"], &[])],
                tags(&[("infraqa:exempt", "sg-open-ingress")]),
                vec![Exempted(RuleId::SgOpenIngress)],
            )
            .await?;
        self.security_group(
            region,
            &vpc_prod,
            "web-range",
            vec![tcp(80, 443, &["0.0.0.0/0"], &[])],
            BTreeMap::new(),
            vec![Finding(RuleId::SgOpenIngress), Orphan(OrphanKind::SgUnused)],
        )
        .await?;
        self.security_group(
            region,
            &vpc_prod,
            "all-ipv6",
            vec![
                ec2t::IpPermission::builder()
                    .ip_protocol("-1")
                    .ipv6_ranges(ec2t::Ipv6Range::builder().cidr_ipv6("::/0").build())
                    .build(),
            ],
            BTreeMap::new(),
            vec![Finding(RuleId::SgOpenIngress), Orphan(OrphanKind::SgUnused)],
        )
        .await?;
        let internal_ingress = vec![
            ec2t::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(ec2t::UserIdGroupPair::builder().group_id(&sg_web).build())
                .build(),
            ec2t::IpPermission::builder()
                .ip_protocol("icmp")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(ec2t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
            tcp(8080, 8080, &["10.0.0.0/8"], &[]),
        ];
        self.security_group(
            region,
            &vpc_prod,
            "internal",
            internal_ingress,
            BTreeMap::new(),
            vec![Orphan(OrphanKind::SgUnused)],
        )
        .await?;
        Ok(PrimaryNetwork {
            subnet_id,
            sg_web,
            sg_ssh_open,
            sg_bastion,
        })
    }

    // ---------- EC2 instances ----------

    async fn run_instance(
        &self,
        name: &str,
        image_id: &str,
        instance_type: ec2t::InstanceType,
        subnet_id: &str,
        security_group: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, KitError> {
        let out = self
            .clients
            .ec2(PRIMARY_REGION)
            .run_instances()
            .image_id(image_id)
            .instance_type(instance_type)
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet_id)
            .set_security_group_ids(security_group.map(|sg| vec![sg.to_owned()]))
            .tag_specifications(tag_spec(
                ec2t::ResourceType::Instance,
                &with(tags.clone(), &[("Name", name)]),
            ))
            .send()
            .await
            .step(format!("running instance {name}"))?;
        Ok(out
            .instances
            .and_then(|i| i.into_iter().next())
            .and_then(|i| i.instance_id)
            .unwrap_or_default())
    }

    async fn instances(&mut self, net: &PrimaryNetwork) -> Result<(), KitError> {
        let ec2 = self.clients.ec2(PRIMARY_REGION);
        // The golden AMI: built from an instance that is then terminated (and must not be
        // inventoried).
        let builder = self
            .run_instance(
                "ami-builder",
                APPROVED_BY_ID_AMI,
                ec2t::InstanceType::T3Micro,
                &net.subnet_id,
                None,
                &prod_tags(),
            )
            .await?;
        let image = ec2
            .create_image()
            .instance_id(&builder)
            .name("golden-al2023")
            .send()
            .await
            .step("creating the golden AMI")?;
        let golden = image.image_id.unwrap_or_default();
        self.record(
            ResourceType::Ec2Image,
            PRIMARY_REGION,
            &golden,
            "golden-al2023",
            BTreeMap::new(),
            vec![],
        );
        ec2.terminate_instances()
            .instance_ids(&builder)
            .send()
            .await
            .step("terminating the AMI builder")?;
        self.estate.absent_ids.push(builder);

        let with_name = |tags: BTreeMap<String, String>, name: &str| with(tags, &[("Name", name)]);
        let web1_tags = with_name(prod_tags(), "web-1");
        let web1 = self
            .run_instance(
                "web-1",
                &golden,
                ec2t::InstanceType::T3Micro,
                &net.subnet_id,
                Some(&net.sg_web),
                &web1_tags,
            )
            .await?;
        self.record(
            ResourceType::Ec2Instance,
            PRIMARY_REGION,
            &web1,
            "web-1",
            web1_tags,
            vec![],
        );

        let web2_tags = with_name(prod_tags(), "web-2");
        let web2 = self
            .run_instance(
                "web-2",
                APPROVED_BY_ID_AMI,
                ec2t::InstanceType::T3Micro,
                &net.subnet_id,
                Some(&net.sg_bastion),
                &web2_tags,
            )
            .await?;
        self.record(
            ResourceType::Ec2Instance,
            PRIMARY_REGION,
            &web2,
            "web-2",
            web2_tags,
            vec![],
        );

        let batch_tags = tags(&[
            ("Name", "batch-1"),
            ("Environment", "Prod"),
            ("CostCenter", ""),
            ("CreatedAt", "yesterday"),
            ("Project", "etl"),
        ]);
        let batch = self
            .run_instance(
                "batch-1",
                UNAPPROVED_AMI,
                ec2t::InstanceType::M4Large,
                &net.subnet_id,
                Some(&net.sg_ssh_open),
                &batch_tags,
            )
            .await?;
        self.record(
            ResourceType::Ec2Instance,
            PRIMARY_REGION,
            &batch,
            "batch-1",
            batch_tags,
            vec![
                Finding(RuleId::TagsRequired),
                Finding(RuleId::Ec2ApprovedAmi),
            ],
        );

        let worker_tags = with_name(dev_tags(), "old-worker");
        let worker = self
            .run_instance(
                "old-worker",
                &golden,
                ec2t::InstanceType::T2Medium,
                &net.subnet_id,
                Some(&net.sg_web),
                &worker_tags,
            )
            .await?;
        ec2.stop_instances()
            .instance_ids(&worker)
            .send()
            .await
            .step("stopping old-worker")?;
        self.record(
            ResourceType::Ec2Instance,
            PRIMARY_REGION,
            &worker,
            "old-worker",
            worker_tags,
            vec![Orphan(OrphanKind::InstanceStopped)],
        );

        // Elastic IPs: one in use, one idle.
        let used = ec2
            .allocate_address()
            .domain(ec2t::DomainType::Vpc)
            .send()
            .await
            .step("allocating the web EIP")?
            .allocation_id
            .unwrap_or_default();
        ec2.associate_address()
            .allocation_id(&used)
            .instance_id(&web1)
            .send()
            .await
            .step("associating the web EIP with web-1")?;
        self.record(
            ResourceType::Ec2ElasticIp,
            PRIMARY_REGION,
            &used,
            "eip-web",
            BTreeMap::new(),
            vec![],
        );
        let idle = ec2
            .allocate_address()
            .domain(ec2t::DomainType::Vpc)
            .send()
            .await
            .step("allocating the idle EIP")?
            .allocation_id
            .unwrap_or_default();
        self.record(
            ResourceType::Ec2ElasticIp,
            PRIMARY_REGION,
            &idle,
            "eip-idle",
            BTreeMap::new(),
            vec![Orphan(OrphanKind::EipUnassociated)],
        );
        Ok(())
    }

    // ---------- EBS ----------

    async fn create_volume(
        &self,
        size: i32,
        kind: ec2t::VolumeType,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, KitError> {
        let out = self
            .clients
            .ec2(PRIMARY_REGION)
            .create_volume()
            .availability_zone(format!("{PRIMARY_REGION}a"))
            .size(size)
            .volume_type(kind)
            .set_tag_specifications(
                (!tags.is_empty()).then(|| vec![tag_spec(ec2t::ResourceType::Volume, tags)]),
            )
            .send()
            .await
            .step(format!("creating a {size} GiB volume"))?;
        Ok(out.volume_id.unwrap_or_default())
    }

    async fn snapshot(&self, volume_id: &str, description: &str) -> Result<String, KitError> {
        let out = self
            .clients
            .ec2(PRIMARY_REGION)
            .create_snapshot()
            .volume_id(volume_id)
            .description(description)
            .send()
            .await
            .step(format!("snapshotting {volume_id}"))?;
        Ok(out.snapshot_id.unwrap_or_default())
    }

    async fn storage(&mut self) -> Result<(), KitError> {
        let idle_tags = with(dev_tags(), &[("Name", "scratch-gp2")]);
        let idle = self
            .create_volume(100, ec2t::VolumeType::Gp2, &idle_tags)
            .await?;
        self.record(
            ResourceType::Ec2Volume,
            PRIMARY_REGION,
            &idle,
            "scratch-gp2",
            idle_tags,
            vec![Orphan(OrphanKind::EbsUnattached)],
        );
        let kept = self.snapshot(&idle, "backup of scratch-gp2").await?;
        self.record(
            ResourceType::Ec2Snapshot,
            PRIMARY_REGION,
            &kept,
            "scratch-backup",
            BTreeMap::new(),
            vec![],
        );

        let gone = self
            .create_volume(8, ec2t::VolumeType::Gp3, &BTreeMap::new())
            .await?;
        let orphan = self.snapshot(&gone, "backup of a deleted volume").await?;
        self.clients
            .ec2(PRIMARY_REGION)
            .delete_volume()
            .volume_id(&gone)
            .send()
            .await
            .step(format!("deleting volume {gone}"))?;
        self.record(
            ResourceType::Ec2Snapshot,
            PRIMARY_REGION,
            &orphan,
            "deleted-volume-backup",
            BTreeMap::new(),
            vec![Orphan(OrphanKind::SnapshotOrphaned)],
        );
        Ok(())
    }

    // ---------- S3 ----------

    async fn bucket(
        &mut self,
        region: &str,
        prefix: &str,
        spec: BucketSpec,
        tags: BTreeMap<String, String>,
        expect: Vec<Expect>,
    ) -> Result<String, KitError> {
        let s3 = self.clients.s3(region);
        let name = self.bucket_name(prefix);
        create_bucket(&s3, &name, region).await?;
        if let Some(algorithm) = spec.encryption {
            let by_default = s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(algorithm)
                .build()
                .step("building the encryption default")?;
            let config = s3t::ServerSideEncryptionConfiguration::builder()
                .rules(
                    s3t::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .step("building the encryption configuration")?;
            s3.put_bucket_encryption()
                .bucket(&name)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .step(format!("setting encryption of bucket {name}"))?;
        }
        if spec.block_public {
            s3.put_public_access_block()
                .bucket(&name)
                .public_access_block_configuration(block_all_public_access())
                .send()
                .await
                .step(format!("blocking public access to bucket {name}"))?;
        }
        if spec.public_read_acl {
            s3.put_bucket_acl()
                .bucket(&name)
                .acl(s3t::BucketCannedAcl::PublicRead)
                .send()
                .await
                .step(format!("making bucket {name} public-read"))?;
        }
        if let Some(target) = spec.log_to {
            let logging = s3t::LoggingEnabled::builder()
                .target_bucket(target)
                .target_prefix(format!("{name}/"))
                .build()
                .step("building the logging configuration")?;
            s3.put_bucket_logging()
                .bucket(&name)
                .bucket_logging_status(
                    s3t::BucketLoggingStatus::builder()
                        .logging_enabled(logging)
                        .build(),
                )
                .send()
                .await
                .step(format!("enabling access logging of bucket {name}"))?;
        }
        if spec.versioning {
            s3.put_bucket_versioning()
                .bucket(&name)
                .versioning_configuration(
                    s3t::VersioningConfiguration::builder()
                        .status(s3t::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .step(format!("enabling versioning of bucket {name}"))?;
        }
        if !tags.is_empty() {
            tag_bucket(
                &s3,
                &name,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .await?;
        }
        self.record(ResourceType::S3Bucket, region, &name, prefix, tags, expect);
        Ok(name)
    }

    async fn buckets(&mut self) -> Result<(), KitError> {
        let r = PRIMARY_REGION;
        let logs = self
            .bucket(
                r,
                "access-logs",
                BucketSpec::private(s3t::ServerSideEncryption::Aes256),
                with(prod_tags(), &[("Environment", "staging")]),
                vec![],
            )
            .await?;
        // Server access logs are delivered by the S3 logging service principal.
        let delivery = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S3ServerAccessLogs","Effect":"Allow","Principal":{{"Service":"logging.s3.amazonaws.com"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::{logs}/*","Condition":{{"StringEquals":{{"aws:SourceAccount":"{}"}}}}}}]}}"#,
            self.estate.account_id
        );
        self.clients
            .s3(r)
            .put_bucket_policy()
            .bucket(&logs)
            .policy(delivery)
            .send()
            .await
            .step(format!("granting log delivery on bucket {logs}"))?;
        self.bucket(
            r,
            "prod-data",
            BucketSpec {
                log_to: Some(logs.clone()),
                versioning: true,
                ..BucketSpec::private(s3t::ServerSideEncryption::AwsKms)
            },
            prod_tags(),
            vec![],
        )
        .await?;
        self.bucket(
            r,
            "prod-reports",
            BucketSpec::private(s3t::ServerSideEncryption::Aes256),
            prod_tags(),
            vec![Finding(RuleId::LoggingEnabled)],
        )
        .await?;
        self.bucket(
            r,
            "unencrypted",
            BucketSpec {
                encryption: None,
                ..BucketSpec::private(s3t::ServerSideEncryption::Aes256)
            },
            dev_tags(),
            vec![Finding(RuleId::S3Encryption)],
        )
        .await?;
        self.bucket(
            r,
            "archive",
            BucketSpec {
                encryption: None,
                ..BucketSpec::private(s3t::ServerSideEncryption::Aes256)
            },
            dev_tags(),
            vec![Finding(RuleId::S3Encryption)],
        )
        .await?;
        self.bucket(
            r,
            "public-assets",
            BucketSpec::public_read(),
            dev_tags(),
            vec![Finding(RuleId::S3PublicAccess)],
        )
        .await?;
        self.bucket(
            r,
            "public-website",
            BucketSpec::public_read(),
            dev_tags(),
            vec![Exempted(RuleId::S3PublicAccess)],
        )
        .await?;
        self.bucket(
            r,
            "legacy",
            BucketSpec {
                public_read_acl: false,
                ..BucketSpec::public_read()
            },
            dev_tags(),
            vec![Exempted(RuleId::S3PublicAccess)],
        )
        .await?;
        self.bucket(
            r,
            "untagged",
            BucketSpec::private(s3t::ServerSideEncryption::Aes256),
            BTreeMap::new(),
            vec![Finding(RuleId::TagsRequired)],
        )
        .await?;
        self.trail_bucket = Some(logs);
        Ok(())
    }

    // ---------- RDS ----------

    async fn db(
        &mut self,
        region: &str,
        id: &str,
        spec: DbSpec,
        tags: BTreeMap<String, String>,
        expect: Vec<Expect>,
    ) -> Result<(), KitError> {
        let DbSpec {
            engine,
            encrypted,
            log_exports,
        } = spec;
        let rds_tags = tags
            .iter()
            .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
            .collect();
        self.clients
            .rds(region)
            .create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class("db.t3.micro")
            .engine(engine)
            .master_username("infraqa")
            .master_user_password("demo-password-1")
            .allocated_storage(20)
            .storage_encrypted(encrypted)
            .publicly_accessible(false)
            .set_enable_cloudwatch_logs_exports(
                (!log_exports.is_empty())
                    .then(|| log_exports.iter().map(|s| (*s).to_owned()).collect()),
            )
            .set_tags(Some(rds_tags))
            .send()
            .await
            .step(format!("creating RDS instance {id}"))?;
        self.record(ResourceType::RdsDb, region, id, id, tags, expect);
        Ok(())
    }

    async fn rds(&mut self) -> Result<(), KitError> {
        self.db(
            PRIMARY_REGION,
            "orders-db",
            DbSpec {
                engine: "postgres",
                encrypted: true,
                log_exports: &["postgresql"],
            },
            prod_tags(),
            vec![],
        )
        .await?;
        self.db(
            PRIMARY_REGION,
            "reports-db",
            DbSpec {
                engine: "mysql",
                encrypted: true,
                log_exports: &[],
            },
            prod_tags(),
            vec![Finding(RuleId::LoggingEnabled)],
        )
        .await?;
        Ok(())
    }

    // ---------- Lambda ----------

    async fn lambdas(&mut self, role: &str) -> Result<(), KitError> {
        let lambda = self.clients.lambda(PRIMARY_REGION);
        let package = demo_lambda_zip()?;
        let functions = [
            ("orders-api", vec![]),
            ("nightly-export", vec![Finding(RuleId::LoggingEnabled)]),
        ];
        for (name, expect) in functions {
            lambda
                .create_function()
                .function_name(name)
                .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                .role(role)
                .handler("bootstrap")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_smithy_types::Blob::new(package.clone()))
                        .build(),
                )
                .set_tags(Some(prod_tags().into_iter().collect()))
                .send()
                .await
                .step(format!("creating Lambda function {name}"))?;
            self.record(
                ResourceType::LambdaFunction,
                PRIMARY_REGION,
                name,
                name,
                prod_tags(),
                expect,
            );
        }
        Ok(())
    }

    // ---------- CloudTrail ----------

    async fn trail(&mut self) -> Result<(), KitError> {
        let ct = self.clients.cloudtrail(PRIMARY_REGION);
        let bucket = self.trail_bucket.clone().unwrap_or_default();
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name(&bucket)
            .is_multi_region_trail(false)
            .send()
            .await
            .step("creating trail org-trail")?;
        ct.start_logging()
            .name("org-trail")
            .send()
            .await
            .step("starting trail org-trail")?;
        self.record(
            ResourceType::CloudtrailTrail,
            PRIMARY_REGION,
            "org-trail",
            "org-trail",
            BTreeMap::new(),
            vec![],
        );
        Ok(())
    }

    // ---------- the unapproved region ----------

    async fn secondary_region(&mut self) -> Result<(), KitError> {
        let r = SECONDARY_REGION;
        let outside = vec![Finding(RuleId::RegionApproved)];
        let vpc = self
            .vpc(
                r,
                "vpc-analytics-eu",
                "10.2.0.0/16",
                dev_tags(),
                outside.clone(),
            )
            .await?;
        let subnet = self.subnet(r, &vpc, "10.2.1.0/24").await?;
        let ec2 = self.clients.ec2(r);
        let eip = ec2
            .allocate_address()
            .domain(ec2t::DomainType::Vpc)
            .send()
            .await
            .step("allocating the NAT gateway's EIP")?
            .allocation_id
            .unwrap_or_default();
        self.record(
            ResourceType::Ec2ElasticIp,
            r,
            &eip,
            "eip-nat-eu",
            BTreeMap::new(),
            outside.clone(),
        );
        let nat = ec2
            .create_nat_gateway()
            .subnet_id(&subnet)
            .allocation_id(&eip)
            .tag_specifications(tag_spec(ec2t::ResourceType::Natgateway, &dev_tags()))
            .send()
            .await
            .step("creating the NAT gateway in the dev VPC")?
            .nat_gateway
            .and_then(|n| n.nat_gateway_id)
            .unwrap_or_default();
        self.record(
            ResourceType::Ec2NatGateway,
            r,
            &nat,
            "nat-analytics-eu",
            dev_tags(),
            outside.clone(),
        );
        self.bucket(
            r,
            "eu-data",
            BucketSpec::private(s3t::ServerSideEncryption::Aes256),
            dev_tags(),
            outside.clone(),
        )
        .await?;
        self.db(
            r,
            "eu-scratch-db",
            DbSpec {
                engine: "postgres",
                encrypted: false,
                log_exports: &[],
            },
            dev_tags(),
            outside,
        )
        .await?;
        Ok(())
    }

    // ---------- what AWS created on its own ----------

    async fn aws_defaults_and_derived(&mut self) -> Result<(), KitError> {
        for region in [PRIMARY_REGION, SECONDARY_REGION] {
            let ec2 = self.clients.ec2(region);
            let vpcs = ec2
                .describe_vpcs()
                .send()
                .await
                .step(format!("listing VPCs in {region}"))?;
            for vpc in vpcs.vpcs() {
                if vpc.is_default() == Some(true) {
                    let id = vpc.vpc_id().unwrap_or_default().to_owned();
                    self.push_default(ResourceType::Ec2Vpc, region, id, "default-vpc");
                }
            }
            let groups = ec2
                .describe_security_groups()
                .filters(
                    ec2t::Filter::builder()
                        .name("group-name")
                        .values("default")
                        .build(),
                )
                .send()
                .await
                .step(format!("listing default security groups in {region}"))?;
            for g in groups.security_groups() {
                let id = g.group_id().unwrap_or_default().to_owned();
                self.push_default(ResourceType::Ec2SecurityGroup, region, id, "default-sg");
            }
        }
        // Root volumes the instances got, and the golden AMI's snapshot.
        let ec2 = self.clients.ec2(PRIMARY_REGION);
        let volumes = ec2
            .describe_volumes()
            .send()
            .await
            .step("listing volumes")?;
        for v in volumes.volumes() {
            let id = v.volume_id().unwrap_or_default().to_owned();
            if !self.estate.resources.iter().any(|r| r.id == id) {
                self.record(
                    ResourceType::Ec2Volume,
                    PRIMARY_REGION,
                    id,
                    "root-volume",
                    BTreeMap::new(),
                    vec![],
                );
            }
        }
        let images = ec2
            .describe_images()
            .owners("self")
            .send()
            .await
            .step("listing own AMIs")?;
        for image in images.images() {
            for mapping in image.block_device_mappings() {
                let snap = mapping.ebs().and_then(|e| e.snapshot_id());
                if let Some(snap) =
                    snap.filter(|s| !self.estate.resources.iter().any(|r| r.id == *s))
                {
                    self.record(
                        ResourceType::Ec2Snapshot,
                        PRIMARY_REGION,
                        snap,
                        "golden-ami-snapshot",
                        BTreeMap::new(),
                        vec![],
                    );
                }
            }
        }
        Ok(())
    }

    // ---------- what CloudWatch says they did ----------

    /// Puts `values` (one datapoint each, hours apart) of `metric` on each of the `days` whole
    /// days before today, as the service would have published them.
    async fn put_usage(
        &self,
        region: &str,
        (namespace, dimension, id): (&str, &str, &str),
        metric: &str,
        values: &[f64],
        days: i64,
    ) -> Result<(), KitError> {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let midnight = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let mut data = Vec::new();
        for day in 1..=days {
            for (i, v) in values.iter().enumerate() {
                let hour = 6 + 4 * i64::try_from(i).unwrap_or(0);
                let at = midnight - chrono::Duration::days(day) + chrono::Duration::hours(hour);
                data.push(
                    MetricDatum::builder()
                        .metric_name(metric)
                        .dimensions(Dimension::builder().name(dimension).value(id).build())
                        .timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
                        .value(*v)
                        .build(),
                );
            }
        }
        self.clients
            .cloudwatch(region)
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .step(format!("putting {metric} of {id}"))?;
        Ok(())
    }

    fn id_of(&self, name: &str) -> Result<(String, String), KitError> {
        self.estate
            .by_name(name)
            .map(|r| (r.id.clone(), r.region.clone()))
            .ok_or_else(|| KitError::missing(format!("the seeded resource {name}")))
    }

    /// Plants two weeks of usage: an idle batch host, a busy web server and one with three
    /// days of data; an idle and two busy databases; a busy and a never-invoked function; an
    /// idle NAT gateway; busy root volumes.
    async fn usage(&mut self) -> Result<(), KitError> {
        type Plan = (
            &'static str,
            (&'static str, &'static str),
            &'static [(&'static str, &'static [f64])],
            i64,
            &'static str,
        );
        const EC2: (&str, &str) = ("AWS/EC2", "InstanceId");
        const RDS: (&str, &str) = ("AWS/RDS", "DBInstanceIdentifier");
        let plans: [Plan; 9] = [
            (
                "batch-1",
                EC2,
                &[
                    ("CPUUtilization", &[0.5, 3.0]),
                    ("NetworkIn", &[100_000.0]),
                    ("NetworkOut", &[100_000.0]),
                ],
                14,
                "idle-instance",
            ),
            (
                "web-1",
                EC2,
                &[
                    ("CPUUtilization", &[20.0, 80.0]),
                    ("NetworkIn", &[5e8]),
                    ("NetworkOut", &[5e8]),
                ],
                14,
                "busy",
            ),
            (
                "web-2",
                EC2,
                &[
                    ("CPUUtilization", &[1.0, 2.0]),
                    ("NetworkIn", &[1000.0]),
                    ("NetworkOut", &[1000.0]),
                ],
                3,
                "not-enough-data",
            ),
            (
                "orders-db",
                RDS,
                &[
                    ("DatabaseConnections", &[4.0, 12.0]),
                    ("CPUUtilization", &[20.0, 55.0]),
                ],
                14,
                "busy",
            ),
            (
                "reports-db",
                RDS,
                &[
                    ("DatabaseConnections", &[0.0]),
                    ("CPUUtilization", &[1.0, 2.0]),
                ],
                14,
                "idle-database",
            ),
            (
                "eu-scratch-db",
                RDS,
                &[
                    ("DatabaseConnections", &[1.0, 2.0]),
                    ("CPUUtilization", &[30.0, 70.0]),
                ],
                14,
                "busy",
            ),
            (
                "orders-api",
                ("AWS/Lambda", "FunctionName"),
                &[("Invocations", &[1200.0])],
                14,
                "busy",
            ),
            (
                "nightly-export",
                ("AWS/Lambda", "FunctionName"),
                &[],
                0,
                "not-enough-data",
            ),
            (
                "nat-analytics-eu",
                ("AWS/NATGateway", "NatGatewayId"),
                &[("BytesOutToDestination", &[0.0])],
                14,
                "idle-nat-gateway",
            ),
        ];
        let prices = infraqa_core::prices::PriceTable::embedded();
        for (name, (namespace, dimension), metrics, days, verdict) in plans {
            let (id, region) = self.id_of(name)?;
            for (metric, values) in metrics {
                self.put_usage(&region, (namespace, dimension, &id), metric, values, days)
                    .await?;
            }
            let saving = match verdict {
                "idle-instance" => prices.ec2_month(&region, "m4.large"),
                "idle-database" => prices.rds_month(&region, "db.t3.micro"),
                "idle-nat-gateway" => prices.nat_gateway_month(&region),
                _ => None,
            };
            self.estate.usage.push(PlantedUsage {
                id,
                region,
                name: name.to_owned(),
                verdict,
                saving: saving.map(infraqa_core::round2),
            });
        }
        let roots: Vec<(String, String)> = self
            .estate
            .resources
            .iter()
            .filter(|r| r.name == "root-volume")
            .map(|r| (r.id.clone(), r.region.clone()))
            .collect();
        for (id, region) in roots {
            for (metric, value) in [("VolumeReadOps", 3000.0), ("VolumeWriteOps", 5000.0)] {
                self.put_usage(&region, ("AWS/EBS", "VolumeId", &id), metric, &[value], 14)
                    .await?;
            }
            self.estate.usage.push(PlantedUsage {
                id,
                region,
                name: "root-volume".to_owned(),
                verdict: "busy",
                saving: None,
            });
        }
        Ok(())
    }

    fn push_default(&mut self, resource_type: ResourceType, region: &str, id: String, name: &str) {
        self.estate.resources.push(Seeded {
            resource_type,
            region: region.to_owned(),
            id,
            name: name.to_owned(),
            aws_default: true,
            tags: BTreeMap::new(),
            expect: vec![],
        });
    }
}

/// A bucket public access block with all four flags set.
pub fn block_all_public_access() -> s3t::PublicAccessBlockConfiguration {
    s3t::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

/// How to configure one RDS instance.
struct DbSpec {
    engine: &'static str,
    encrypted: bool,
    log_exports: &'static [&'static str],
}

/// How to configure one bucket.
struct BucketSpec {
    encryption: Option<s3t::ServerSideEncryption>,
    block_public: bool,
    public_read_acl: bool,
    log_to: Option<String>,
    versioning: bool,
}

impl BucketSpec {
    fn private(encryption: s3t::ServerSideEncryption) -> Self {
        Self {
            encryption: Some(encryption),
            block_public: true,
            public_read_acl: false,
            log_to: None,
            versioning: false,
        }
    }

    fn public_read() -> Self {
        Self {
            encryption: Some(s3t::ServerSideEncryption::Aes256),
            block_public: false,
            public_read_acl: true,
            log_to: None,
            versioning: false,
        }
    }
}

fn tag_spec(kind: ec2t::ResourceType, tags: &BTreeMap<String, String>) -> ec2t::TagSpecification {
    ec2t::TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| ec2t::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// A TCP permission of ports `from..=to` from `v4` and `v6` ranges.
pub(crate) fn tcp(from: i32, to: i32, v4: &[&str], v6: &[&str]) -> ec2t::IpPermission {
    ec2t::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .set_ip_ranges(Some(
            v4.iter()
                .map(|c| ec2t::IpRange::builder().cidr_ip(*c).build())
                .collect(),
        ))
        .set_ipv6_ranges(Some(
            v6.iter()
                .map(|c| ec2t::Ipv6Range::builder().cidr_ipv6(*c).build())
                .collect(),
        ))
        .build()
}

/// A deployment package holding one `bootstrap` script: the demo functions are never
/// invoked, but `CreateFunction` takes a real zip archive.
pub fn demo_lambda_zip() -> Result<Vec<u8>, KitError> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)
        .step("writing the demo Lambda package")?;
    zip.write_all(b"#!/bin/sh\necho demo\n")
        .step("writing the demo Lambda package")?;
    let cursor = zip.finish().step("writing the demo Lambda package")?;
    Ok(cursor.into_inner())
}

/// The AWS-created defaults of a region's default VPC that someone tagged `Name`.
#[derive(Debug, Clone)]
pub struct TaggedDefaults {
    /// A default subnet.
    pub subnet: String,
    /// The default VPC's main route table.
    pub main_route_table: String,
    /// The default VPC's default network ACL.
    pub network_acl: String,
}

/// Tags a default subnet, the main route table and the default network ACL of `region`'s
/// default VPC with `Name`, as people do: they then reach the inventory through the tagging
/// API as generic resources.
pub async fn tag_aws_defaults(
    clients: &AwsClients,
    region: &str,
) -> Result<TaggedDefaults, KitError> {
    let ec2 = clients.ec2(region);
    let filter = |name: &str, value: &str| ec2t::Filter::builder().name(name).values(value).build();
    let missing = |what: &str| KitError::missing(format!("no {what} in {region}"));
    let vpc = ec2
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .step("finding the default VPC")?
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_owned)
        .ok_or_else(|| missing("default VPC"))?;
    let subnet = ec2
        .describe_subnets()
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .step("finding a default subnet")?
        .subnets()
        .first()
        .and_then(|s| s.subnet_id())
        .map(str::to_owned)
        .ok_or_else(|| missing("default subnet"))?;
    let main_route_table = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("association.main", "true"))
        .send()
        .await
        .step("finding the main route table")?
        .route_tables()
        .first()
        .and_then(|t| t.route_table_id())
        .map(str::to_owned)
        .ok_or_else(|| missing("main route table"))?;
    let network_acl = ec2
        .describe_network_acls()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("default", "true"))
        .send()
        .await
        .step("finding the default network ACL")?
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .map(str::to_owned)
        .ok_or_else(|| missing("default network ACL"))?;
    ec2.create_tags()
        .resources(&subnet)
        .resources(&main_route_table)
        .resources(&network_acl)
        .tags(
            ec2t::Tag::builder()
                .key("Name")
                .value("someone named it")
                .build(),
        )
        .send()
        .await
        .step("tagging the defaults")?;
    Ok(TaggedDefaults {
        subnet,
        main_route_table,
        network_acl,
    })
}
/// Creates bucket `name` located in `region`.
pub async fn create_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    region: &str,
) -> Result<(), KitError> {
    let mut create = s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            s3t::CreateBucketConfiguration::builder()
                .location_constraint(s3t::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .step(format!("creating bucket {name}"))?;
    Ok(())
}

/// The shape of a benchmark estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchEstate {
    /// Instances, spread over the regions (each comes with its volume and network interface).
    pub instances: usize,
    /// Buckets, spread over the regions, half of them blocking public access.
    pub buckets: usize,
    /// Roles with an inline policy, one in fifty with a managed policy attached.
    pub roles: usize,
}

impl BenchEstate {
    /// An estate of about `resources` inventoried resources, in the proportions of the estate
    /// the scale issue measured (1,000 instances, 200 buckets, 200 roles): each instance is
    /// inventoried with its volume, so 2.4 resources per instance.
    pub fn of_about(resources: usize) -> Self {
        let instances = (resources * 10 / 24).max(1);
        let others = (instances / 5).max(1);
        Self {
            instances,
            buckets: others,
            roles: others,
        }
    }
}

/// The six tags every benchmark instance and bucket carries (a page of the tagging API ends at
/// 500 tags, so the tag count decides its size).
pub fn bench_tags(i: usize) -> [(&'static str, String); 6] {
    [
        ("Environment", ["dev", "staging", "prod"][i % 3].to_owned()),
        ("Owner", format!("team-{}", i % 7)),
        ("CostCenter", format!("cc-{}", 100 + i % 5)),
        ("Project", format!("project-{}", i % 11)),
        ("CreatedAt", "2026-01-15".to_owned()),
        ("Name", format!("bench-{i}")),
    ]
}

/// The policy the benchmarks scan a bench estate with: `regions`, and three of the tags
/// [`bench_tags`] sets required.
pub fn bench_policy(regions: &[&str]) -> String {
    format!(
        "[scan]\nregions = {regions:?}\n[tags]\nrequired = [\"Environment\", \"Owner\", \"CostCenter\"]\n"
    )
}

/// Calls the seeder makes at once for buckets and roles.
const SEED_CONCURRENCY: usize = 8;

/// Seeds a benchmark estate of `shape` across `regions`; bucket names carry `suffix`.
pub async fn seed_bench_estate(
    clients: &AwsClients,
    regions: &[&str],
    shape: BenchEstate,
    suffix: &str,
) -> Result<(), KitError> {
    use futures_util::{StreamExt, TryStreamExt};
    let BenchEstate {
        instances,
        buckets,
        roles,
    } = shape;
    for (i, region) in regions.iter().enumerate() {
        let mut left = instances / regions.len() + usize::from(i < instances % regions.len());
        while left > 0 {
            let batch = left.min(100);
            let tags = bench_tags(left).map(|(k, v)| ec2t::Tag::builder().key(k).value(v).build());
            clients
                .ec2(region)
                .run_instances()
                .image_id("ami-0123456789abcdef0")
                .instance_type(ec2t::InstanceType::T3Micro)
                .min_count(batch as i32)
                .max_count(batch as i32)
                .tag_specifications(
                    ec2t::TagSpecification::builder()
                        .resource_type(ec2t::ResourceType::Instance)
                        .set_tags(Some(tags.to_vec()))
                        .build(),
                )
                .send()
                .await
                .step("RunInstances")?;
            left -= batch;
        }
    }
    futures_util::stream::iter(0..buckets)
        .map(|i| seed_bench_bucket(clients, regions[i % regions.len()], i, suffix))
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    futures_util::stream::iter(0..roles)
        .map(|i| seed_bench_role(clients, i))
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

async fn seed_bench_bucket(
    clients: &AwsClients,
    region: &str,
    i: usize,
    suffix: &str,
) -> Result<(), KitError> {
    let name = format!("bench-{suffix}-{i:05}");
    let s3 = clients.s3(region);
    create_bucket(&s3, &name, region).await?;
    // Half the buckets block public access: those never need the policy-status and ACL reads.
    if i.is_multiple_of(2) {
        s3.put_public_access_block()
            .bucket(&name)
            .public_access_block_configuration(block_all_public_access())
            .send()
            .await
            .step("PutPublicAccessBlock")?;
    }
    let tags = bench_tags(i);
    tag_bucket(&s3, &name, tags.iter().map(|(k, v)| (*k, v.as_str()))).await?;
    Ok(())
}

/// Sets a bucket's tags.
async fn tag_bucket<'a>(
    s3: &aws_sdk_s3::Client,
    name: &str,
    tags: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), KitError> {
    let tag_set = tags
        .map(|(k, v)| s3t::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .step("building bucket tags")?;
    s3.put_bucket_tagging()
        .bucket(name)
        .tagging(
            s3t::Tagging::builder()
                .set_tag_set(Some(tag_set))
                .build()
                .step("building bucket tagging")?,
        )
        .send()
        .await
        .step(format!("tagging bucket {name}"))?;
    Ok(())
}

async fn seed_bench_role(clients: &AwsClients, i: usize) -> Result<(), KitError> {
    let iam = clients.iam().step("the IAM client")?;
    let name = format!("bench-role-{i:05}");
    iam.create_role()
        .role_name(&name)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .step("CreateRole")?;
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("inline")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/*"}]}"#)
        .send()
        .await
        .step("PutRolePolicy")?;
    if i.is_multiple_of(50) {
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .step("AttachRolePolicy")?;
    }
    Ok(())
}
