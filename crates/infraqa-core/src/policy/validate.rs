//! Validation: the raw file into a [`Policy`] whose values are known good, every problem
//! named by its key and line, all of them reported at once.

use super::raw::*;
use super::*;
use crate::finding::UnknownRule;
use crate::limits::{MAX_RATE_LIMIT, RateLimit, Service};
use crate::rules::Condition;
use chrono::NaiveDate;
use std::ops::Range;
use std::str::FromStr;

/// The most days a policy's age limit may say: a century, far past any retention, and within
/// what date arithmetic on today's date can hold.
const MAX_DAYS: u32 = 36_500;
use toml::Spanned;

impl Policy {
    /// Parses and validates a policy file's text. `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_and_column(text, span.start));
            PolicyError::Syntax {
                origin: origin.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut v = Validator {
            text,
            problems: Vec::new(),
            custom_ids: BTreeSet::new(),
        };
        let policy = v.policy(raw);
        if v.problems.is_empty() {
            Ok(policy)
        } else {
            v.problems.sort_by_key(|p| p.line);
            Err(PolicyError::Invalid {
                origin: origin.to_owned(),
                problems: v.problems,
            })
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Validator<'a> {
    text: &'a str,
    problems: Vec<PolicyProblem>,
    /// The ids of the custom rules the file declares: `[rules.<id>]` and exemptions may name
    /// them.
    custom_ids: BTreeSet<RuleId>,
}

/// The shipped frameworks' ids, for messages.
fn known_frameworks() -> String {
    crate::frameworks::builtin()
        .map(|all| {
            all.iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

impl Validator<'_> {
    /// A custom rule's `frameworks`: each a shipped framework, each requirement one of its.
    fn custom_frameworks(
        &mut self,
        key: &str,
        raw: BTreeMap<Spanned<String>, SpannedStrings>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (id, requirements) in raw {
            let span = id.span();
            let id = id.into_inner();
            let Ok(Some(framework)) = crate::frameworks::find(&id) else {
                self.problem(
                    key,
                    span,
                    format!(
                        "unknown framework \"{id}\": expected one of {}",
                        known_frameworks()
                    ),
                );
                continue;
            };
            let mut ids = Vec::new();
            for r in requirements {
                let span = r.span();
                let r = r.into_inner();
                if framework.requirements.iter().any(|q| q.id == r) {
                    ids.push(r);
                } else {
                    self.problem(key, span, format!("{id} has no requirement \"{r}\""));
                }
            }
            out.insert(id, ids);
        }
        out
    }

    fn problem(&mut self, key: impl Into<String>, span: Range<usize>, message: impl Into<String>) {
        let (line, _) = line_and_column(self.text, span.start);
        self.problems.push(PolicyProblem {
            key: key.into(),
            line,
            message: message.into(),
        });
    }

    fn policy(&mut self, raw: RawPolicy) -> Policy {
        let custom_rules = raw
            .custom_rules
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| self.custom_rule(i, r))
            .collect();
        let tags = self.tags(raw.tags);
        let tagging = self.tagging(raw.tagging, &tags.allowed_values);
        Policy {
            scan: ScanPolicy {
                regions: self.region_scope(raw.scan.regions),
                rate_limits: self.rate_limits(raw.scan.rate_limits),
            },
            tags,
            regions: RegionPolicy {
                approved: self.regions("regions.approved", raw.regions.approved),
            },
            ec2: Ec2Policy {
                approved_amis: self.checked_strings(
                    "ec2.approved_amis",
                    raw.ec2.approved_amis,
                    is_ami_id,
                    "is not an AMI id (ami- followed by hex digits)",
                ),
                approved_ami_owners: self.checked_strings(
                    "ec2.approved_ami_owners",
                    raw.ec2.approved_ami_owners,
                    is_account_id,
                    "is not a 12-digit AWS account id",
                ),
            },
            s3: S3Policy {
                public_allowlist: raw
                    .s3
                    .public_allowlist
                    .into_iter()
                    .filter_map(|g| self.glob("s3.public_allowlist", g))
                    .collect(),
                require_kms: raw.s3.require_kms.unwrap_or(false),
            },
            network: NetworkPolicy {
                allowed_public_ports: raw
                    .network
                    .allowed_public_ports
                    .into_iter()
                    .filter_map(|p| {
                        let (span, port) = (p.span(), *p.get_ref());
                        let ok = u16::try_from(port).ok();
                        if ok.is_none() {
                            self.problem(
                                "network.allowed_public_ports",
                                span,
                                format!("port {port} is outside 0-65535"),
                            );
                        }
                        ok
                    })
                    .collect(),
                allow_public_icmp: raw.network.allow_public_icmp.unwrap_or(true),
            },
            logging: self.logging(raw.logging),
            orphans: OrphanPolicy {
                stopped_instance_days: self.days(
                    "orphans.stopped_instance_days",
                    raw.orphans.stopped_instance_days,
                    OrphanPolicy::default().stopped_instance_days,
                ),
            },
            cost: self.cost(raw.cost),
            lifecycle: self.lifecycle(raw.lifecycle),
            tagging,
            alerts: AlertPolicy {
                topic: raw.alerts.topic.and_then(|t| {
                    let span = t.span();
                    let t = t.into_inner();
                    if t.starts_with("arn:") && t.split(':').nth(2) == Some("sns") {
                        Some(t)
                    } else {
                        self.problem(
                            "alerts.topic",
                            span,
                            format!(
                                "\"{t}\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                            ),
                        );
                        None
                    }
                }),
            },
            accounts: self.accounts(raw.accounts),
            remediation: self.remediation(raw.remediation),
            frameworks: FrameworkPolicy {
                enabled: raw
                    .frameworks
                    .enabled
                    .into_iter()
                    .filter_map(|id| {
                        let span = id.span();
                        let id = id.into_inner();
                        match crate::frameworks::find(&id) {
                            Ok(Some(_)) => Some(id),
                            _ => {
                                self.problem(
                                    "frameworks.enabled",
                                    span,
                                    format!(
                                        "unknown framework \"{id}\": expected one of {}",
                                        known_frameworks()
                                    ),
                                );
                                None
                            }
                        }
                    })
                    .collect(),
            },
            rules: raw
                .rules
                .into_iter()
                .filter_map(|(id, control)| self.rule_control(&id, control))
                .collect(),
            exemptions: raw
                .exemptions
                .into_iter()
                .enumerate()
                .filter_map(|(i, e)| self.exemption(i, e))
                .collect(),
            custom_rules,
        }
    }

    fn custom_rule(&mut self, index: usize, raw: Spanned<RawCustomRule>) -> Option<CustomRule> {
        let raw = raw.into_inner();
        let key = format!("custom_rules[{index}]");
        let id_span = raw.id.span();
        let id_text = raw.id.into_inner();
        let id = match RuleId::from_str(&id_text) {
            Ok(id @ RuleId::Custom(_)) if self.custom_ids.insert(id) => Some(id),
            Ok(RuleId::Custom(_)) => {
                self.problem(
                    format!("{key}.id"),
                    id_span,
                    format!("`{id_text}` is declared twice"),
                );
                None
            }
            Ok(_) => {
                self.problem(
                    format!("{key}.id"),
                    id_span,
                    format!("`{id_text}` is a catalogue rule's id: give the custom rule its own"),
                );
                None
            }
            Err(_) => {
                self.problem(
                    format!("{key}.id"),
                    id_span,
                    format!(
                        "`{id_text}` is not kebab-case (lowercase letters and digits in words joined by hyphens, starting with a letter)"
                    ),
                );
                None
            }
        };
        let named = |what: &str| match id {
            Some(id) => format!("{key}.{what} (rule {id})"),
            None => format!("{key}.{what}"),
        };
        let condition_span = raw.condition.span();
        let condition = match Condition::compile(raw.condition.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(named("condition"), condition_span, e.to_string());
                None
            }
        };
        let severity = match raw.severity {
            None => Some(Severity::Medium),
            Some(s) => match s.get_ref().parse::<Severity>() {
                Ok(sev) => Some(sev),
                Err(e) => {
                    self.problem(named("severity"), s.span(), e.to_string());
                    None
                }
            },
        };
        let mut text = |what: &str, value: Spanned<String>| {
            if value.get_ref().trim().is_empty() {
                self.problem(named(what), value.span(), "must not be empty");
                None
            } else {
                Some(value.into_inner())
            }
        };
        let message = text("message", raw.message);
        let remediation = text("remediation", raw.remediation);
        let applies_to = self.resource_types(&named("applies_to"), raw.applies_to);
        let frameworks = self.custom_frameworks(&named("frameworks"), raw.frameworks);
        Some(CustomRule {
            id: id?,
            description: raw.description,
            applies_to,
            condition: condition?,
            severity: severity?,
            message: message?,
            remediation: remediation?,
            enabled: raw.enabled.unwrap_or(true),
            frameworks,
        })
    }

    fn rate_limits(
        &mut self,
        raw: BTreeMap<String, Spanned<toml::Value>>,
    ) -> BTreeMap<Service, RateLimit> {
        let mut out = BTreeMap::new();
        for (name, value) in raw {
            let key = format!("scan.rate_limits.{name}");
            let span = value.span();
            let service = match name.parse::<Service>() {
                Ok(s) => s,
                Err(e) => {
                    self.problem(key, span, e.to_string());
                    continue;
                }
            };
            match value.into_inner() {
                toml::Value::Integer(rps) if (1..=i64::from(MAX_RATE_LIMIT)).contains(&rps) => {
                    // In range, so it fits a u32.
                    let rps = u32::try_from(rps).unwrap_or(1);
                    out.insert(service, RateLimit::per_second(rps));
                }
                other => self.problem(
                    key,
                    span,
                    format!(
                        "expected requests per second, a whole number from 1 to {MAX_RATE_LIMIT}, found {other}"
                    ),
                ),
            }
        }
        out
    }

    fn region_scope(&mut self, raw: Option<Spanned<toml::Value>>) -> RegionScope {
        let Some(raw) = raw else {
            return RegionScope::All;
        };
        let choice = self.keyword_or_list(
            "scan.regions",
            raw,
            &["all"],
            is_region,
            ListWords {
                item: "is not a region name such as \"us-east-1\"",
                empty: "an empty list scans nothing; write \"all\" or name regions",
                expected: "\"all\" or a list of regions",
            },
        );
        match choice {
            Some(Choice::List(regions)) => RegionScope::List(regions),
            Some(Choice::Keyword(_)) | None => RegionScope::All,
        }
    }

    /// A value that is one of `keywords` or a list of strings each `valid` (an empty list is a
    /// problem too, as it would cover nothing); `None`, the problem named, for anything else.
    fn keyword_or_list(
        &mut self,
        key: &str,
        raw: Spanned<toml::Value>,
        keywords: &[&str],
        valid: fn(&str) -> bool,
        words: ListWords,
    ) -> Option<Choice> {
        let span = raw.span();
        match raw.into_inner() {
            toml::Value::String(s) if keywords.contains(&s.as_str()) => {
                keywords.iter().position(|k| *k == s).map(Choice::Keyword)
            }
            toml::Value::Array(items) => {
                let mut list = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(x) if valid(&x) => list.push(x),
                        other => self.problem(key, span.clone(), format!("{other} {}", words.item)),
                    }
                }
                if list.is_empty() {
                    self.problem(key, span, words.empty);
                }
                Some(Choice::List(list))
            }
            other => {
                self.problem(
                    key,
                    span,
                    format!("expected {}, found {other}", words.expected),
                );
                None
            }
        }
    }

    fn accounts(&mut self, raw: RawAccounts) -> AccountsPolicy {
        let default = AccountsPolicy::default();
        let keywords = ["own", "organization"];
        let ids = match raw.ids.and_then(|ids| {
            self.keyword_or_list(
                "accounts.ids",
                ids,
                &keywords,
                is_account_id,
                ListWords {
                    item: "is not a 12-digit AWS account id",
                    empty: "an empty list scans nothing; name accounts, or write \"own\" or \"organization\"",
                    expected: "\"own\", \"organization\" or a list of account ids",
                },
            )
        }) {
            Some(Choice::Keyword(1)) => AccountScope::Organization,
            Some(Choice::List(mut ids)) => {
                ids.sort();
                ids.dedup();
                AccountScope::List(ids)
            }
            Some(Choice::Keyword(_)) | None => AccountScope::Own,
        };
        let units_span = raw.organizational_units.first().map(|u| u.span());
        let organizational_units = self.checked_strings(
            "accounts.organizational_units",
            raw.organizational_units,
            is_organization_parent,
            "is not an organizational unit or root id (ou-xxxx-xxxxxxxx or r-xxxx)",
        );
        if let Some(span) = units_span
            && ids != AccountScope::Organization
        {
            self.problem(
                "accounts.organizational_units",
                span,
                "applies only with ids = \"organization\"",
            );
        }
        let mut text =
            |key: &str, raw: Option<Spanned<String>>, valid: fn(&str) -> bool, what: &str| {
                let raw = raw?;
                let span = raw.span();
                let value = raw.into_inner();
                if valid(&value) {
                    Some(value)
                } else {
                    self.problem(
                        format!("accounts.{key}"),
                        span,
                        format!("\"{value}\" {what}"),
                    );
                    None
                }
            };
        let role_name = text(
            "role_name",
            raw.role_name,
            is_role_name,
            "is not an IAM role name (1-64 letters, digits and +=,.@_-)",
        )
        .unwrap_or(default.role_name);
        let external_id = text(
            "external_id",
            raw.external_id,
            is_external_id,
            "is not an external id (2-1224 letters, digits and +=,.@:/_-)",
        );
        let session_name = text(
            "session_name",
            raw.session_name,
            is_session_name,
            "is not a role session name (2-64 letters, digits and +=,.@_-)",
        )
        .unwrap_or(default.session_name);
        let session_duration_seconds = match raw.session_duration_seconds {
            None => default.session_duration_seconds,
            Some(d) => {
                let span = d.span();
                match u32::try_from(*d.get_ref()) {
                    Ok(secs) if (900..=43_200).contains(&secs) => secs,
                    _ => {
                        self.problem(
                            "accounts.session_duration_seconds",
                            span,
                            format!("{} is outside 900-43200 seconds", d.get_ref()),
                        );
                        default.session_duration_seconds
                    }
                }
            }
        };
        AccountsPolicy {
            ids,
            organizational_units,
            skip: self.checked_strings(
                "accounts.skip",
                raw.skip,
                is_account_id,
                "is not a 12-digit AWS account id",
            ),
            role_name,
            external_id,
            session_name,
            session_duration_seconds,
        }
    }

    fn regions(&mut self, key: &str, raw: SpannedStrings) -> Vec<String> {
        self.checked_strings(
            key,
            raw,
            is_region,
            "is not a region name such as \"us-east-1\"",
        )
    }

    fn checked_strings(
        &mut self,
        key: &str,
        raw: SpannedStrings,
        valid: fn(&str) -> bool,
        complaint: &str,
    ) -> Vec<String> {
        raw.into_iter()
            .filter_map(|s| {
                let span = s.span();
                let s = s.into_inner();
                if valid(&s) {
                    Some(s)
                } else {
                    self.problem(key, span, format!("\"{s}\" {complaint}"));
                    None
                }
            })
            .collect()
    }

    fn tag_keys(&mut self, key: &str, raw: SpannedStrings) -> Vec<String> {
        self.checked_strings(
            key,
            raw,
            is_tag_key,
            "is not a valid tag key (1-128 characters)",
        )
    }

    fn tags(&mut self, raw: RawTags) -> TagPolicy {
        TagPolicy {
            required: self.tag_keys("tags.required", raw.required),
            applies_to: self.resource_types("tags.applies_to", raw.applies_to),
            allowed_values: raw
                .allowed_values
                .into_iter()
                .map(|(k, values)| (k, values.into_iter().map(Spanned::into_inner).collect()))
                .collect(),
            aliases: raw
                .aliases
                .into_iter()
                .map(|(k, aliases)| {
                    let key = format!("tags.aliases.{k}");
                    let aliases = self.tag_keys(&key, aliases);
                    (k, aliases)
                })
                .collect(),
        }
    }

    fn resource_types(&mut self, key: &str, raw: SpannedStrings) -> Vec<ResourceType> {
        raw.into_iter()
            .filter_map(|t| {
                let span = t.span();
                let t = t.into_inner();
                if ResourceType::is_well_formed(&t) {
                    Some(ResourceType::parse(&t))
                } else {
                    self.problem(
                        key,
                        span,
                        format!("\"{t}\" is not a resource type written service:type, such as \"ec2:instance\""),
                    );
                    None
                }
            })
            .collect()
    }

    fn tagging(
        &mut self,
        raw: RawTagging,
        allowed: &BTreeMap<String, Vec<String>>,
    ) -> TaggingPolicy {
        let d = TaggingPolicy::default();
        TaggingPolicy {
            opt_out_tag: self.tag_key("tagging.opt_out_tag", raw.opt_out_tag, d.opt_out_tag),
            inherit: raw
                .inherit
                .map_or(d.inherit, |keys| self.tag_keys("tagging.inherit", keys)),
            compliance_status: raw.compliance_status.unwrap_or(d.compliance_status),
            created_at: raw.created_at.unwrap_or(d.created_at),
            defaults: raw
                .defaults
                .into_iter()
                .map(|entry| TagDefault {
                    types: self.resource_types("tagging.defaults.types", entry.types),
                    regions: entry
                        .regions
                        .into_iter()
                        .filter_map(|r| {
                            let span = r.span();
                            let r = r.into_inner();
                            if r == crate::model::GLOBAL_REGION || is_region(&r) {
                                Some(r)
                            } else {
                                self.problem(
                                    "tagging.defaults.regions",
                                    span,
                                    format!("\"{r}\" is not a region name such as \"eu-west-1\" (or \"global\")"),
                                );
                                None
                            }
                        })
                        .collect(),
                    tags: entry
                        .tags
                        .into_iter()
                        .filter_map(|(k, v)| {
                            let span = k.span();
                            let k = k.into_inner();
                            if !is_tag_key(&k) {
                                self.problem(
                                    "tagging.defaults.tags",
                                    span,
                                    format!("\"{k}\" is not a valid tag key (1-128 characters)"),
                                );
                                return None;
                            }
                            if let Some(allowed) = allowed.get(&k)
                                && !allowed.contains(&v)
                            {
                                self.problem(
                                    format!("tagging.defaults.tags.{k}"),
                                    span,
                                    format!("\"{v}\" is not among tags.allowed_values.{k}: {}", allowed.join(", ")),
                                );
                                return None;
                            }
                            Some((k, v))
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// A number of days from 0 to [`MAX_DAYS`], or the default with a problem naming the key.
    fn days(&mut self, key: &str, raw: Option<Spanned<i64>>, default: u32) -> u32 {
        self.bounded(key, raw, 0..=MAX_DAYS, "days", default)
    }

    /// A tag key, or the default; an invalid one is a problem naming the key.
    fn tag_key(&mut self, key: &str, raw: Option<Spanned<String>>, default: String) -> String {
        let Some(tag) = raw else {
            return default;
        };
        let span = tag.span();
        let tag = tag.into_inner();
        if !is_tag_key(&tag) {
            self.problem(
                key,
                span,
                format!("\"{tag}\" is not a valid tag key (1-128 characters)"),
            );
        }
        tag
    }

    /// A whole number in `range`, or the default with a problem naming the key.
    fn bounded(
        &mut self,
        key: &str,
        raw: Option<Spanned<i64>>,
        range: std::ops::RangeInclusive<u32>,
        unit: &str,
        default: u32,
    ) -> u32 {
        let Some(value) = raw else {
            return default;
        };
        let (span, n) = (value.span(), *value.get_ref());
        match u32::try_from(n) {
            Ok(v) if range.contains(&v) => v,
            _ => {
                self.problem(
                    key,
                    span,
                    format!(
                        "{n} is not a whole number of {unit} from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    fn lifecycle(&mut self, raw: RawLifecycle) -> LifecyclePolicy {
        let d = LifecyclePolicy::default();
        let usage_types = match raw.usage_types {
            None => d.usage_types.clone(),
            Some(list) => {
                let mut types: Vec<ResourceType> = Vec::new();
                for t in list {
                    let span = t.span();
                    let name = t.into_inner();
                    let parsed = ResourceType::parse(&name);
                    if !crate::usage::METERED.contains(&parsed) {
                        self.problem(
                            "lifecycle.usage_types",
                            span,
                            format!(
                                "\"{name}\" is not a type infraqa reads usage for: one of {}",
                                crate::usage::METERED.map(|t| format!("\"{t}\"")).join(", ")
                            ),
                        );
                    } else if !types.contains(&parsed) {
                        types.push(parsed);
                    }
                }
                types
            }
        };
        let min_span = raw.min_days.as_ref().map(Spanned::span);
        let lookback_days = self.bounded(
            "lifecycle.lookback_days",
            raw.lookback_days,
            1..=455,
            "days",
            d.lookback_days,
        );
        let min_days = self.bounded(
            "lifecycle.min_days",
            raw.min_days,
            1..=455,
            "days",
            d.min_days.min(lookback_days),
        );
        if min_days > lookback_days {
            self.problem(
                "lifecycle.min_days",
                min_span.unwrap_or(0..0),
                format!(
                    "{min_days} days with data cannot be found in a window of lookback_days = {lookback_days}"
                ),
            );
        }
        LifecyclePolicy {
            usage_types,
            lookback_days,
            min_days,
            idle_cpu_percent: self.bounded(
                "lifecycle.idle_cpu_percent",
                raw.idle_cpu_percent,
                0..=100,
                "percent",
                d.idle_cpu_percent,
            ),
            idle_network_mb: self.bounded(
                "lifecycle.idle_network_mb",
                raw.idle_network_mb,
                0..=u32::MAX,
                "MB",
                d.idle_network_mb,
            ),
            oversized_cpu_percent: self.bounded(
                "lifecycle.oversized_cpu_percent",
                raw.oversized_cpu_percent,
                0..=100,
                "percent",
                d.oversized_cpu_percent,
            ),
            idle_connections: self.bounded(
                "lifecycle.idle_connections",
                raw.idle_connections,
                0..=u32::MAX,
                "connections",
                d.idle_connections,
            ),
            idle_nat_gateway_mb: self.bounded(
                "lifecycle.idle_nat_gateway_mb",
                raw.idle_nat_gateway_mb,
                0..=u32::MAX,
                "MB",
                d.idle_nat_gateway_mb,
            ),
            idle_volume_ops: self.bounded(
                "lifecycle.idle_volume_ops",
                raw.idle_volume_ops,
                0..=u32::MAX,
                "operations",
                d.idle_volume_ops,
            ),
            old_after_days: self.days(
                "lifecycle.old_after_days",
                raw.old_after_days,
                d.old_after_days,
            ),
            keep_tag: self.tag_key("lifecycle.keep_tag", raw.keep_tag, d.keep_tag.clone()),
        }
    }

    fn cost(&mut self, raw: RawCost) -> CostPolicy {
        let d = CostPolicy::default();
        CostPolicy {
            allocation_tags: raw.allocation_tags.unwrap_or(d.allocation_tags),
            environment_tag: raw.environment_tag.unwrap_or(d.environment_tag),
            non_production_values: raw.non_production_values.unwrap_or(d.non_production_values),
            max_non_production_size: match raw.max_non_production_size {
                None => d.max_non_production_size,
                Some(size) => {
                    let (span, size) = (size.span(), size.into_inner());
                    if crate::prices::size_rank(&size).is_none() {
                        self.problem(
                            "cost.max_non_production_size",
                            span,
                            format!(
                                "unknown instance size `{size}`: expected one of {}",
                                crate::prices::SIZES.join(", ")
                            ),
                        );
                    }
                    size
                }
            },
            snapshot_max_age_days: self.days(
                "cost.snapshot_max_age_days",
                raw.snapshot_max_age_days,
                d.snapshot_max_age_days,
            ),
            cost_explorer: raw.cost_explorer.unwrap_or(d.cost_explorer),
        }
    }

    fn logging(&mut self, raw: RawLogging) -> LoggingPolicy {
        let defaults = LoggingPolicy::default();
        LoggingPolicy {
            critical_tag: self.tag_key(
                "logging.critical_tag",
                raw.critical_tag,
                defaults.critical_tag,
            ),
            critical_values: raw.critical_values.map_or(defaults.critical_values, |v| {
                v.into_iter().map(Spanned::into_inner).collect()
            }),
        }
    }

    fn glob(&mut self, key: &str, raw: Spanned<String>) -> Option<GlobPattern> {
        let span = raw.span();
        match GlobPattern::new(raw.get_ref()) {
            Ok(g) => Some(g),
            Err(e) => {
                self.problem(
                    key,
                    span,
                    format!("\"{}\" is not a valid glob: {}", raw.get_ref(), e.kind()),
                );
                None
            }
        }
    }

    /// A catalogue rule's id, or the id of a custom rule the file declares.
    fn rule_id(&mut self, key: &str, raw: &Spanned<String>) -> Option<RuleId> {
        match raw.get_ref().parse::<RuleId>() {
            Ok(rule) if !rule.is_custom() || self.custom_ids.contains(&rule) => Some(rule),
            Ok(_) | Err(_) => {
                let declared = self
                    .custom_ids
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>();
                let mut message = UnknownRule(raw.get_ref().clone()).to_string();
                if !declared.is_empty() {
                    message.push_str(&format!(" declared in this file ({})", declared.join(", ")));
                }
                self.problem(key, raw.span(), message);
                None
            }
        }
    }

    fn rule_control(
        &mut self,
        id: &str,
        raw: Spanned<RawRuleControl>,
    ) -> Option<(RuleId, RuleControl)> {
        let span = raw.span();
        let key = format!("rules.{id}");
        let rule = self.rule_id(&key, &Spanned::new(span.clone(), id.to_owned()));
        let raw = raw.into_inner();
        let severity = raw
            .severity
            .and_then(|s| match s.get_ref().parse::<Severity>() {
                Ok(sev) => Some(sev),
                Err(e) => {
                    self.problem(format!("{key}.severity"), s.span(), e.to_string());
                    None
                }
            });
        Some((
            rule?,
            RuleControl {
                enabled: raw.enabled.unwrap_or(true),
                severity,
            },
        ))
    }

    /// `[remediation]`: a tag key AWS accepts, a KMS key ARN.
    fn remediation(&mut self, raw: RawRemediation) -> RemediationPolicy {
        let mut out = RemediationPolicy::default();
        if let Some(key) = raw.opt_out_tag {
            let span = key.span();
            let key = key.into_inner();
            if key.trim().is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
                self.problem(
                    "remediation.opt_out_tag",
                    span,
                    format!(
                        "\"{key}\" is not a tag key (1 to 128 characters, not starting with aws:)"
                    ),
                );
            } else {
                out.opt_out_tag = key;
            }
        }
        if let Some(arn) = raw.kms_key {
            let span = arn.span();
            let arn = arn.into_inner();
            if arn.starts_with("arn:") && arn.split(':').nth(2) == Some("kms") {
                out.kms_key = Some(arn);
            } else {
                self.problem(
                    "remediation.kms_key",
                    span,
                    format!("\"{arn}\" is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME)"),
                );
            }
        }
        out
    }

    fn exemption(&mut self, index: usize, raw: Spanned<RawExemption>) -> Option<Exemption> {
        let span = raw.span();
        let raw = raw.into_inner();
        let key = format!("exemptions[{index}]");
        let rule = self.rule_id(&format!("{key}.rule"), &raw.rule);
        let target = match (raw.resource, raw.tag) {
            (Some(resource), None) => self
                .glob(&format!("{key}.resource"), resource)
                .map(ExemptionTarget::Resource),
            (None, Some(tag)) => Some(ExemptionTarget::Tag(tag)),
            (Some(_), Some(_)) => {
                self.problem(
                    &key,
                    span.clone(),
                    "give either `resource` (an ARN glob) or `tag`, not both",
                );
                None
            }
            (None, None) => {
                self.problem(
                    &key,
                    span.clone(),
                    "says neither which resources (`resource`, an ARN glob) nor which tag (`tag`) it covers",
                );
                None
            }
        };
        let reason = match raw.reason {
            Some(r) if !r.get_ref().trim().is_empty() => Some(r.into_inner()),
            Some(r) => {
                self.problem(format!("{key}.reason"), r.span(), "must not be empty");
                None
            }
            None => {
                self.problem(
                    &key,
                    span,
                    "has no `reason`: every exemption says why, for the auditor",
                );
                None
            }
        };
        let expires = match raw.expires {
            None => Ok(None),
            Some(e) => {
                let e_span = e.span();
                let text = match e.into_inner() {
                    toml::Value::String(s) => s,
                    toml::Value::Datetime(d) => d.to_string(),
                    other => other.to_string(),
                };
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        self.problem(
                            format!("{key}.expires"),
                            e_span,
                            format!("{text} is not a date written YYYY-MM-DD"),
                        )
                    })
            }
        };
        Some(Exemption {
            rule: rule?,
            target: target?,
            reason: reason?,
            expires: expires.ok()?,
        })
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`, `cn-north-1`...
pub(super) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    match parts.as_slice() {
        [geo, middle @ .., number] => {
            geo.len() == 2
                && lower(geo)
                && !middle.is_empty()
                && middle.iter().all(|p| lower(p))
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

fn is_ami_id(s: &str) -> bool {
    s.strip_prefix("ami-")
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A keyword, by its index, or a list.
enum Choice {
    Keyword(usize),
    List(Vec<String>),
}

/// What [`Validator::keyword_or_list`] says of a bad item, an empty list and a wrong type.
struct ListWords {
    item: &'static str,
    empty: &'static str,
    expected: &'static str,
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// `ou-` + 4-32 of the root's characters + `-` + 8-32 more, or a root `r-` + 4-32.
fn is_organization_parent(s: &str) -> bool {
    let lower_alnum = |p: &str| {
        p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(rest) = s.strip_prefix("ou-") {
        return rest.split_once('-').is_some_and(|(root, unit)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&unit.len())
                && lower_alnum(root)
                && lower_alnum(unit)
        });
    }
    s.strip_prefix("r-")
        .is_some_and(|root| (4..=32).contains(&root.len()) && lower_alnum(root))
}

fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(is_iam_name_char)
}

fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.chars().all(is_iam_name_char)
}

fn is_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len()) && s.chars().all(|c| is_iam_name_char(c) || ":/".contains(c))
}

fn is_tag_key(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128
}
