//! Typed IAM policy documents.
//!
//! IAM returns policy documents as URL-encoded JSON (some emulators return plain JSON for some
//! calls). `Action`, `NotAction`, `Resource` and principals may each be a string or a list;
//! [`OneOrMany`] keeps that shape on the wire and gives callers a slice either way.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A JSON value that is either a single item or a list of items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single item, written without brackets.
    One(T),
    /// A list of items.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The items, whichever shape they arrived in.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(item) => std::slice::from_ref(item),
            Self::Many(items) => items,
        }
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Denies the actions.
    Deny,
}

/// A statement's `Principal`: `"*"` or a map such as `{"AWS": [...], "Service": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// A bare string; IAM only accepts `"*"` here.
    Wildcard(String),
    /// Principal kind (`AWS`, `Service`, `Federated`, `CanonicalUser`) to principals.
    Map(BTreeMap<String, OneOrMany<String>>),
}

impl Principal {
    /// Whether this principal is everyone: `"*"` or `{"AWS": "*"}`.
    pub fn is_everyone(&self) -> bool {
        match self {
            Self::Wildcard(s) => s == "*",
            Self::Map(kinds) => kinds
                .get("AWS")
                .is_some_and(|p| p.as_slice().iter().any(|s| s == "*")),
        }
    }
}

/// A condition value: IAM accepts strings, booleans and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
}

/// Condition operator (e.g. `StringEquals`) to condition key to values.
pub type Conditions = BTreeMap<String, BTreeMap<String, OneOrMany<ConditionValue>>>;

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Optional statement id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Who the statement applies to (trust and resource policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Everyone but these principals (trust and resource policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principal>,
    /// Actions granted or denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    /// Everything but these actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    /// Resources the statement covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    /// Everything but these resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    /// Conditions that limit the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Conditions>,
}

impl Statement {
    /// The `Action` entries (empty when absent).
    pub fn actions(&self) -> &[String] {
        self.action.as_ref().map_or(&[], OneOrMany::as_slice)
    }

    /// The `NotAction` entries (empty when absent).
    pub fn not_actions(&self) -> &[String] {
        self.not_action.as_ref().map_or(&[], OneOrMany::as_slice)
    }

    /// The `Resource` entries (empty when absent).
    pub fn resources(&self) -> &[String] {
        self.resource.as_ref().map_or(&[], OneOrMany::as_slice)
    }

    /// Whether the statement covers every resource: `Resource` `*`, or any `NotResource`
    /// (everything but a list).
    pub fn covers_all_resources(&self) -> bool {
        self.not_resource.is_some() || self.resources().iter().any(|r| r == "*")
    }
}

/// An IAM policy document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// The policy language version, e.g. `2012-10-17`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its statements, in document order.
    #[serde(default)]
    pub statement: OneOrMany<Statement>,
}

/// A policy document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("policy document is not valid IAM policy JSON: {source}")]
pub struct PolicyDocumentError {
    #[source]
    source: serde_json::Error,
}

impl PolicyDocument {
    /// Parses a document as IAM returns it: URL-encoded JSON, or plain JSON.
    pub fn parse(text: &str) -> Result<Self, PolicyDocumentError> {
        let trimmed = text.trim_start();
        let decoded;
        let json = if trimmed.starts_with('{') {
            text
        } else {
            decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
            decoded.as_ref()
        };
        serde_json::from_str(json).map_err(|source| PolicyDocumentError { source })
    }

    /// The statements, whichever shape the document used.
    pub fn statements(&self) -> &[Statement] {
        self.statement.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    #[test]
    fn parses_url_encoded_and_plain_documents_alike() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let a = PolicyDocument::parse(encoded).unwrap();
        let b = PolicyDocument::parse(ADMIN).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.statements()[0].actions(), ["*"]);
        assert_eq!(a.statements()[0].resources(), ["*"]);
    }

    #[test]
    fn string_and_list_fields_normalise_to_slices() {
        let doc = PolicyDocument::parse(
            r#"{"Statement":{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*",
                "Condition":{"Bool":{"aws:MultiFactorAuthPresent":false},"StringEquals":{"aws:RequestedRegion":["eu-west-1"]}}}}"#,
        )
        .unwrap();
        let st = &doc.statements()[0];
        assert_eq!(st.effect, Effect::Deny);
        assert!(st.actions().is_empty());
        assert_eq!(st.not_actions(), ["iam:*", "sts:*"]);
        assert_eq!(st.condition.as_ref().map(|c| c.len()), Some(2));
    }

    #[test]
    fn everyone_principals() {
        let cases = [
            (r#""*""#, true),
            (r#"{"AWS":"*"}"#, true),
            (r#"{"AWS":["arn:aws:iam::1:root","*"]}"#, true),
            (r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, false),
            (r#"{"Service":"lambda.amazonaws.com"}"#, false),
            (r#"{"Service":"*"}"#, false),
        ];
        for (json, everyone) in cases {
            let p: Principal = serde_json::from_str(json).unwrap();
            assert_eq!(p.is_everyone(), everyone, "{json}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_policy() {
        assert!(PolicyDocument::parse("not json").is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe"}]}"#).is_err());
    }
}
