//! Each function's configuration: environment variables set by the SAM template, read and
//! validated once at start-up, so a misconfigured function fails at its first cold start with
//! a message naming the variable, not halfway through a run.

use std::time::Duration;

/// The tagger's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggerMode {
    /// Write the plan next to the report; change nothing.
    Plan,
    /// Write the tags (and the plan).
    Apply,
}

/// A variable that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl From<ConfigError> for lambda_runtime::Diagnostic {
    fn from(e: ConfigError) -> Self {
        Self {
            error_type: "ConfigError".to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What the functions read from their environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `INFRAQA_BUCKET`: the suite's bucket (required).
    pub bucket: String,
    /// `INFRAQA_POLICY_KEY`: the policy object (default `policy.toml`).
    pub policy_key: String,
    /// `INFRAQA_ALERT_TOPIC`: the SNS topic for critical findings (optional).
    pub alert_topic: Option<String>,
    /// `INFRAQA_TAGGER_MODE`: `plan` (default) or `apply`.
    pub tagger_mode: TaggerMode,
    /// `INFRAQA_GRACE_SECONDS`: how long after an event the validator reads (default 60).
    pub grace: Duration,
    /// `INFRAQA_MAX_TAG_CHANGES`: the tagger writes nothing above this many resources
    /// (default 500).
    pub max_tag_changes: usize,
    /// `INFRAQA_SCAN_BUDGET_SECONDS`: the scanner starts no unit after this many seconds even
    /// when the invocation's deadline is later (optional; the deadline alone when unset).
    pub scan_budget: Option<Duration>,
    /// `INFRAQA_REGIONS`: comma-separated regions the scheduled scan covers instead of the
    /// policy's `[scan] regions` (optional; a payload's `regions` still wins).
    pub regions: Option<Vec<String>>,
    /// `INFRAQA_SECURITY_HUB`: `true` to import each reported run's findings into Security Hub
    /// with their lifecycle (default `false`).
    pub security_hub: bool,
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let bucket = get("INFRAQA_BUCKET").ok_or(ConfigError {
            variable: "INFRAQA_BUCKET",
            problem: "not set: name the bucket the suite keeps its policy and runs in".into(),
        })?;
        let alert_topic = get("INFRAQA_ALERT_TOPIC");
        if let Some(t) = &alert_topic
            && !(t.starts_with("arn:") && t.split(':').nth(2) == Some("sns"))
        {
            return Err(ConfigError {
                variable: "INFRAQA_ALERT_TOPIC",
                problem: format!("`{t}` is not an SNS topic ARN"),
            });
        }
        let tagger_mode = match get("INFRAQA_TAGGER_MODE").as_deref() {
            None | Some("plan") => TaggerMode::Plan,
            Some("apply") => TaggerMode::Apply,
            Some(other) => {
                return Err(ConfigError {
                    variable: "INFRAQA_TAGGER_MODE",
                    problem: format!("`{other}` is neither `plan` nor `apply`"),
                });
            }
        };
        let security_hub = match get("INFRAQA_SECURITY_HUB").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "INFRAQA_SECURITY_HUB",
                    problem: format!("`{other}` is neither `true` nor `false`"),
                });
            }
        };
        let number = |k: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            get(k).map_or(Ok(default), |v| match v.parse::<u64>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(ConfigError {
                    variable: k,
                    problem: format!("`{v}` is not a whole number from 0 to {max}"),
                }),
            })
        };
        Ok(Self {
            bucket,
            policy_key: get("INFRAQA_POLICY_KEY").unwrap_or_else(|| "policy.toml".to_owned()),
            alert_topic,
            tagger_mode,
            grace: Duration::from_secs(number(
                "INFRAQA_GRACE_SECONDS",
                60,
                infraqa_core::validation::MAX_GRACE_SECONDS,
            )?),
            max_tag_changes: usize::try_from(number("INFRAQA_MAX_TAG_CHANGES", 500, 1_000_000)?)
                .unwrap_or(usize::MAX),
            regions: regions(get("INFRAQA_REGIONS"))?,
            security_hub,
            scan_budget: match get("INFRAQA_SCAN_BUDGET_SECONDS") {
                None => None,
                Some(_) => Some(Duration::from_secs(number(
                    "INFRAQA_SCAN_BUDGET_SECONDS",
                    0,
                    86_400,
                )?)),
            },
        })
    }
}

/// `INFRAQA_REGIONS` parsed: region names, each checked for shape.
fn regions(value: Option<String>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let list: Vec<String> = value
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    if let Some(bad) = list.iter().find(|r| {
        !r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }) {
        return Err(ConfigError {
            variable: "INFRAQA_REGIONS",
            problem: format!("`{bad}` is not a region name (expected e.g. eu-west-1)"),
        });
    }
    Ok((!list.is_empty()).then_some(list))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let c = from(&[("INFRAQA_BUCKET", "b")]).unwrap();
        assert_eq!(c.policy_key, "policy.toml");
        assert_eq!(c.tagger_mode, TaggerMode::Plan);
        assert_eq!(c.grace, Duration::from_secs(60));
        assert_eq!(from(&[]).unwrap_err().variable, "INFRAQA_BUCKET");
        let e = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_TAGGER_MODE", "yes")]).unwrap_err();
        assert_eq!(e.variable, "INFRAQA_TAGGER_MODE");
        let e = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_GRACE_SECONDS", "soon")]).unwrap_err();
        assert!(e.to_string().contains("INFRAQA_GRACE_SECONDS"), "{e}");
        let e = from(&[
            ("INFRAQA_BUCKET", "b"),
            ("INFRAQA_ALERT_TOPIC", "arn:aws:sqs:x:1:q"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "INFRAQA_ALERT_TOPIC");
        let c = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_TAGGER_MODE", "apply")]).unwrap();
        assert_eq!(c.tagger_mode, TaggerMode::Apply);
        assert_eq!(c.scan_budget, None);
        assert_eq!(c.regions, None);
        assert!(!c.security_hub);
        let c = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_SECURITY_HUB", "true")]).unwrap();
        assert!(c.security_hub);
        let e = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_SECURITY_HUB", "yes")]).unwrap_err();
        assert_eq!(e.variable, "INFRAQA_SECURITY_HUB");
        let c = from(&[
            ("INFRAQA_BUCKET", "b"),
            ("INFRAQA_REGIONS", "eu-west-1, us-east-1"),
        ])
        .unwrap();
        assert_eq!(c.regions.unwrap(), ["eu-west-1", "us-east-1"]);
        let e = from(&[("INFRAQA_BUCKET", "b"), ("INFRAQA_REGIONS", "Ireland")]).unwrap_err();
        assert_eq!(e.variable, "INFRAQA_REGIONS");
        let c = from(&[
            ("INFRAQA_BUCKET", "b"),
            ("INFRAQA_SCAN_BUDGET_SECONDS", "30"),
        ])
        .unwrap();
        assert_eq!(c.scan_budget, Some(Duration::from_secs(30)));
        let e = from(&[
            ("INFRAQA_BUCKET", "b"),
            ("INFRAQA_SCAN_BUDGET_SECONDS", "-1"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "INFRAQA_SCAN_BUDGET_SECONDS");
    }
}
