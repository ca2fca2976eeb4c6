//! Every `infraqa` command shown in the README and in `docs/` parses with the CLI as built:
//! its subcommand, flags and values are the ones `infraqa --help` offers, so the
//! documentation cannot drift from the binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use infraqa_cli::Cli;
use std::path::{Path, PathBuf};

/// The README and every page of `docs/`.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

/// The `infraqa` command lines of `text`'s fenced blocks, with the line each starts on:
/// continuations joined, a prompt, leading variable assignments, a trailing comment and a
/// redirection dropped. The usage synopsis (`infraqa [--profile NAME] ...`) is not a command.
fn examples(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        let (start, joined) = match pending.take() {
            Some((start, before)) => (start, format!("{before} {}", line.trim())),
            None => (n + 1, line.trim().to_owned()),
        };
        if let Some(open) = joined.strip_suffix('\\') {
            pending = Some((start, open.trim_end().to_owned()));
            continue;
        }
        let mut command = joined.strip_prefix("$ ").unwrap_or(&joined).trim();
        while let Some((first, rest)) = command.split_once(' ') {
            let assignment = first.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            });
            if !assignment {
                break;
            }
            command = rest.trim_start();
        }
        let Some(args) = command.strip_prefix("infraqa ") else {
            continue;
        };
        if args.trim_start().starts_with('[') {
            continue;
        }
        let args = args.split(" #").next().unwrap_or_default();
        let args = args.split(['>', '|']).next().unwrap_or_default();
        out.push((start, args.trim().to_owned()));
    }
    out
}

#[test]
fn every_documented_infraqa_command_parses_with_the_cli_as_built() {
    let mut seen = 0;
    let mut wrong = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, args) in examples(&text) {
            seen += 1;
            // Optional parts shown in brackets are parsed as given.
            let argv = std::iter::once("infraqa".to_owned()).chain(
                args.split_whitespace()
                    .map(|a| a.trim_matches(|c| c == '[' || c == ']').to_owned())
                    .filter(|a| !a.is_empty()),
            );
            if let Err(e) = Cli::try_parse_from(argv) {
                let name = file.file_name().unwrap().to_string_lossy();
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_owned();
                wrong.push(format!("{name}:{line}: infraqa {args}\n    {first}"));
            }
        }
    }
    assert!(
        seen >= 10,
        "only {seen} documented commands found: the extraction is broken"
    );
    assert!(
        wrong.is_empty(),
        "documented commands the CLI refuses:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_extraction_joins_continuations_and_drops_what_is_not_an_argument() {
    let text = "```sh\n$ AWS_PROFILE=a infraqa run --policy p.toml \\\n  --out out/  # all\ninfraqa [--profile NAME] <COMMAND>\ninfraqa tag --report r.json --json > plan.json\n```\ninfraqa scan outside a fence\n";
    assert_eq!(
        examples(text),
        [
            (2, "run --policy p.toml --out out/".to_owned()),
            (5, "tag --report r.json --json".to_owned()),
        ]
    );
}

/// GitHub's anchor of a heading: lowercase, spaces to `-`, punctuation other than `-` and `_`
/// dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of `text`'s headings (outside fenced blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_link_between_the_documents_reaches_a_file_and_a_heading() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for (n, line) in text.lines().enumerate() {
            for part in line.split("](").skip(1) {
                let Some(target) = part.split(')').next() else {
                    continue;
                };
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
                let linked = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                checked += 1;
                let name = file.file_name().unwrap().to_string_lossy();
                let Ok(linked_text) = std::fs::read_to_string(&linked) else {
                    broken.push(format!("{name}:{}: {target} (no such file)", n + 1));
                    continue;
                };
                if !fragment.is_empty() && !anchors(&linked_text).iter().any(|a| a == fragment) {
                    broken.push(format!("{name}:{}: {target} (no such heading)", n + 1));
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn a_heading_anchor_is_githubs() {
    assert_eq!(
        anchor(" Discovery: `infraqa scan`"),
        "discovery-infraqa-scan"
    );
    assert_eq!(anchor("The emulator's version"), "the-emulators-version");
}
