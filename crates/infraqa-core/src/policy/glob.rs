//! Globs in the policy (bucket allow-lists, exemption ARNs): compiled once, kept with their
//! text so the effective policy prints as written.

use serde::{Serialize, Serializer};

/// A compiled glob (`*` matches any run of characters, `?` one character), kept with its text.
#[derive(Debug, Clone)]
pub struct GlobPattern {
    text: String,
    matcher: globset::GlobMatcher,
}

impl GlobPattern {
    /// Compiles `text`; a pattern without wildcards matches only itself.
    pub fn new(text: &str) -> Result<Self, globset::Error> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()?;
        Ok(Self {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether `candidate` matches.
    pub fn is_match(&self, candidate: &str) -> bool {
        self.matcher.is_match(candidate)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for GlobPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for GlobPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}
