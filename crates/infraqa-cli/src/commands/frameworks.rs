//! `infraqa frameworks list|show`: the compliance frameworks infraqa ships and, per
//! requirement, the rules that decide it.

use crate::exit::CliError;
use infraqa_core::frameworks::{self, Assessment, Framework};
use std::fmt::Write;

fn builtin() -> Result<&'static [Framework], CliError> {
    frameworks::builtin().map_err(|e| CliError::InvalidInput(e.into()))
}

/// One line per shipped framework.
pub fn list() -> Result<String, CliError> {
    let mut out = String::new();
    for f in builtin()? {
        let automated = f
            .requirements
            .iter()
            .filter(|r| r.assessment == Assessment::Automated)
            .count();
        let decided = f
            .requirements
            .iter()
            .filter(|r| !r.rules.is_empty())
            .count();
        let _ = writeln!(
            out,
            "{}\t{} v{}: {} requirements, {automated} automated ({decided} decided by infraqa's rules), {} manual",
            f.id,
            f.name,
            f.version,
            f.requirements.len(),
            f.requirements.len() - automated
        );
    }
    Ok(out)
}

/// The framework `id`'s requirements, as a table or JSON.
pub fn show(id: &str, json: bool) -> Result<String, CliError> {
    let all = builtin()?;
    let Some(f) = all.iter().find(|f| f.id == id) else {
        let ids: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
        return Err(CliError::InvalidInput(anyhow::anyhow!(
            "no framework \"{id}\": infraqa ships {}",
            ids.join(", ")
        )));
    };
    if json {
        let mut text =
            serde_json::to_string_pretty(f).map_err(|e| CliError::InvalidInput(e.into()))?;
        text.push('\n');
        return Ok(text);
    }
    let mut out = format!("{} v{} ({})\n", f.name, f.version, f.id);
    for r in &f.requirements {
        let rules: Vec<&str> = r.rules.iter().map(|r| r.as_str()).collect();
        let decided = match (r.assessment, rules.is_empty()) {
            (Assessment::Manual, _) => "manual".to_owned(),
            (Assessment::Automated, true) => "not covered".to_owned(),
            (Assessment::Automated, false) => rules.join(", "),
        };
        let _ = writeln!(out, "{:<7} {:<22} {}", r.id, decided, r.title);
    }
    Ok(out)
}
