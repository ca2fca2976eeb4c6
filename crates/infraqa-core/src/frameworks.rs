//! Compliance frameworks as data: each framework version one TOML file (`data/frameworks/`),
//! its requirements mapped to the rules that decide them, and a run's status per requirement.
//!
//! A requirement is `pass` when every covering rule in force passes on every resource it
//! judged, `fail` with the findings of its covering rules, `not evaluated` when none failed but
//! one could not read something, `manual` when the framework says a person assesses it, and
//! `not covered` when no rule in force decides it: coverage is always stated, never implied.

use crate::finding::{Finding, RuleId};
use crate::rules::NotEvaluated;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The frameworks infraqa ships, as their files.
pub const BUILTIN: [(&str, &str); 1] = [(
    "cis-aws-7.0.toml",
    include_str!("../data/frameworks/cis-aws-7.0.toml"),
)];

/// How a requirement is assessed, as the framework says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assessment {
    /// A tool can decide it.
    Automated,
    /// A person assesses it.
    Manual,
}

/// One requirement of a framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Its id in the framework, e.g. `3.1.4`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its section.
    pub section: String,
    /// Its level or profile.
    pub profile: String,
    /// Automated or manual.
    pub assessment: Assessment,
    /// The catalogue rules that decide it.
    pub rules: Vec<RuleId>,
    /// What the rules read and what they cannot.
    pub note: String,
}

/// A framework version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    /// Its id, e.g. `cis-aws-7.0`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its requirements, in the framework's order.
    pub requirements: Vec<Requirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    id: String,
    name: String,
    version: String,
    requirements: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    title: String,
    section: String,
    profile: String,
    assessment: Assessment,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    note: String,
}

/// A framework file that is not a usable framework.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameworkError {
    /// Not TOML of the framework layout.
    #[error("{file}: {message}")]
    Layout {
        /// The file.
        file: String,
        /// What the parser said.
        message: String,
    },
    /// A requirement that is not right.
    #[error("{file}: requirement {requirement}: {message}")]
    Requirement {
        /// The file.
        file: String,
        /// The requirement's id.
        requirement: String,
        /// What is wrong.
        message: String,
    },
}

/// Parses the framework file `file` holding `text`: every requirement id unique, every rule a
/// catalogue rule (custom rules map themselves in the policy).
pub fn parse(file: &str, text: &str) -> Result<Framework, FrameworkError> {
    let raw: RawFramework = toml::from_str(text).map_err(|e| FrameworkError::Layout {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    let mut seen = BTreeSet::new();
    let mut requirements = Vec::with_capacity(raw.requirements.len());
    for r in raw.requirements {
        let bad = |message: String| FrameworkError::Requirement {
            file: file.to_owned(),
            requirement: r.id.clone(),
            message,
        };
        if !seen.insert(r.id.clone()) {
            return Err(bad("its id appears twice".into()));
        }
        let rules = r
            .rules
            .iter()
            .map(|id| {
                RuleId::catalogue(id)
                    .ok_or_else(|| bad(format!("`{id}` is not a rule of the catalogue")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        requirements.push(Requirement {
            id: r.id,
            title: r.title,
            section: r.section,
            profile: r.profile,
            assessment: r.assessment,
            rules,
            note: r.note,
        });
    }
    Ok(Framework {
        id: raw.id,
        name: raw.name,
        version: raw.version,
        requirements,
    })
}

/// The frameworks infraqa ships, parsed once.
pub fn builtin() -> Result<&'static [Framework], FrameworkError> {
    static PARSED: std::sync::OnceLock<Result<Vec<Framework>, FrameworkError>> =
        std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            BUILTIN
                .iter()
                .map(|(file, text)| parse(file, text))
                .collect()
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// The shipped framework `id`, if there is one.
pub fn find(id: &str) -> Result<Option<&'static Framework>, FrameworkError> {
    Ok(builtin()?.iter().find(|f| f.id == id))
}

/// A requirement's status in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A covering rule found something.
    Fail,
    /// No covering rule failed, and one could not read something.
    NotEvaluated,
    /// Every covering rule passed on everything it judged.
    Pass,
    /// A person assesses it.
    Manual,
    /// No rule in force decides it.
    NotCovered,
}

impl Status {
    /// How the pages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::NotEvaluated => "not evaluated",
            Self::Pass => "pass",
            Self::Manual => "manual",
            Self::NotCovered => "not covered",
        }
    }
}

/// One requirement's status in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementStatus {
    /// The requirement's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its section.
    pub section: String,
    /// Its status.
    pub status: Status,
    /// The rules in force that decided it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleId>,
    /// Findings of those rules.
    pub findings: usize,
    /// (rule, resource) pairs of those rules that could not be decided.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_evaluated: usize,
    /// What the rules read and what they cannot, and why a requirement is not covered.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A framework's status in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkStatus {
    /// The framework's id.
    pub id: String,
    /// Its name and version.
    pub name: String,
    /// Requirements per status.
    pub counts: BTreeMap<Status, usize>,
    /// Every requirement, in the framework's order.
    pub requirements: Vec<RequirementStatus>,
}

/// What a run concluded, as a framework reads it.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    /// The rules in force.
    pub in_force: &'a BTreeSet<RuleId>,
    /// The findings.
    pub findings: &'a [Finding],
    /// What no rule could decide.
    pub not_evaluated: &'a [NotEvaluated],
    /// Per rule, the failed list calls that may have hidden resources from it
    /// ([`crate::rules::unlisted`]).
    pub unlisted: &'a BTreeMap<RuleId, Vec<String>>,
}

/// `framework`'s status in a run: `custom` maps the policy's custom rules to the requirement
/// ids they declare for it.
pub fn assess(
    framework: &Framework,
    custom: &BTreeMap<RuleId, Vec<String>>,
    run: Judged<'_>,
) -> FrameworkStatus {
    let mut findings: BTreeMap<RuleId, usize> = BTreeMap::new();
    for f in run.findings {
        *findings.entry(f.rule_id).or_default() += 1;
    }
    let mut unread: BTreeMap<RuleId, usize> = BTreeMap::new();
    for n in run.not_evaluated {
        *unread.entry(n.rule_id).or_default() += 1;
    }
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    let requirements: Vec<RequirementStatus> = framework
        .requirements
        .iter()
        .map(|req| {
            let declared: Vec<RuleId> = req
                .rules
                .iter()
                .copied()
                .chain(
                    custom
                        .iter()
                        .filter(|(_, ids)| ids.contains(&req.id))
                        .map(|(rule, _)| *rule),
                )
                .collect();
            let (rules, off): (Vec<RuleId>, Vec<RuleId>) =
                declared.into_iter().partition(|r| run.in_force.contains(r));
            let found: usize = rules
                .iter()
                .map(|r| findings.get(r).copied().unwrap_or(0))
                .sum();
            let undecided: usize = rules
                .iter()
                .map(|r| unread.get(r).copied().unwrap_or(0))
                .sum();
            let unlisted: Vec<&str> = rules
                .iter()
                .filter_map(|r| run.unlisted.get(r))
                .flatten()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let status = match req.assessment {
                Assessment::Manual => Status::Manual,
                Assessment::Automated if rules.is_empty() => Status::NotCovered,
                Assessment::Automated if found > 0 => Status::Fail,
                Assessment::Automated if undecided > 0 || !unlisted.is_empty() => {
                    Status::NotEvaluated
                }
                Assessment::Automated => Status::Pass,
            };
            let mut note = req.note.clone();
            if !unlisted.is_empty() && req.assessment == Assessment::Automated {
                let missed = format!("not read: {}", unlisted.join("; "));
                note = if note.is_empty() {
                    missed
                } else {
                    format!("{note} ({missed})")
                };
            }
            if !off.is_empty() {
                let names: Vec<&str> = off.iter().map(|r| r.as_str()).collect();
                let turned_off = format!("turned off by the policy: {}", names.join(", "));
                note = if note.is_empty() {
                    turned_off
                } else {
                    format!("{note} ({turned_off})")
                };
            }
            *counts.entry(status).or_default() += 1;
            RequirementStatus {
                id: req.id.clone(),
                title: req.title.clone(),
                section: req.section.clone(),
                status,
                rules,
                findings: found,
                not_evaluated: undecided,
                note,
            }
        })
        .collect();
    FrameworkStatus {
        id: framework.id.clone(),
        name: format!("{} v{}", framework.name, framework.version),
        counts,
        requirements,
    }
}

#[cfg(test)]
mod tests;
