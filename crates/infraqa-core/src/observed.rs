//! A value the scan either read or could not read.
//!
//! "Could not read" is not "absent": an `AccessDenied` on `GetBucketEncryption` says nothing
//! about the bucket's encryption. Every field a rule decides from and that comes from a call of
//! its own is an [`Observed`], so a rule can only conclude from what was read; what was not
//! carries the failed call, and the rule reports the resource as not evaluated.
//!
//! In JSON a read value is written as itself and an unread one as
//! `{"unread": {"region", "service", "operation", "code", "message"}}`, so `inventory.json`
//! stays readable and a consumer can never mistake the two.

use crate::Resource;
use crate::inventory::ScanError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that was read, or the read that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed<T> {
    /// The value as AWS returned it.
    Read(T),
    /// The call that would have returned it failed (after retries). Boxed: most values are
    /// read, and an inventory holds many of them.
    Unread(Box<ScanError>),
}

impl<T> Observed<T> {
    /// Unread because of `failure`.
    pub fn failed(failure: ScanError) -> Self {
        Self::Unread(Box::new(failure))
    }

    /// The value, when it was read.
    pub fn read(&self) -> Option<&T> {
        match self {
            Self::Read(v) => Some(v),
            Self::Unread(_) => None,
        }
    }

    /// The failed call, when it was not read.
    pub fn unread(&self) -> Option<&ScanError> {
        match self {
            Self::Read(_) => None,
            Self::Unread(e) => Some(e),
        }
    }

    /// Applies `f` to a read value; an unread one stays unread.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Observed<U> {
        match self {
            Self::Read(v) => Observed::Read(f(v)),
            Self::Unread(e) => Observed::Unread(e),
        }
    }
}

impl<T: Default> Default for Observed<T> {
    fn default() -> Self {
        Self::Read(T::default())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnreadRepr<E> {
    unread: E,
}

impl<T: Serialize> Serialize for Observed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Read(v) => v.serialize(s),
            Self::Unread(e) => UnreadRepr { unread: e }.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Observed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The unread shape is tried first: no read value has exactly one `unread` key.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr<T> {
            Unread(UnreadRepr<ScanError>),
            Read(T),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Unread(u) => Self::failed(u.unread),
            Repr::Read(v) => Self::Read(v),
        })
    }
}

/// What became of a resource asked for by name (a re-read before a tag write, the resources
/// an event names).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Read now.
    Read(Box<Resource>),
    /// It no longer exists (the reads that would list it succeeded without it).
    Gone,
    /// A read it needs failed.
    Unread(ScanError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied() -> ScanError {
        ScanError {
            region: "us-east-1".into(),
            service: "s3".into(),
            operation: "GetBucketLogging".into(),
            code: "AccessDenied".into(),
            message: "bucket b: denied".into(),
        }
    }

    #[test]
    fn read_values_are_written_as_themselves_and_unread_ones_name_the_call() {
        let cases: Vec<(Observed<Option<bool>>, &str)> = vec![
            (Observed::Read(Some(true)), "true"),
            (Observed::Read(None), "null"),
            (
                Observed::failed(denied()),
                r#"{"unread":{"region":"us-east-1","service":"s3","operation":"GetBucketLogging","code":"AccessDenied","message":"bucket b: denied"}}"#,
            ),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            let back: Observed<Option<bool>> = serde_json::from_str(json).unwrap();
            assert_eq!(back, value, "{json}");
        }
        let list: Observed<Vec<String>> = serde_json::from_str(r#"["eni-1"]"#).unwrap();
        assert_eq!(list.read().map(Vec::len), Some(1));
        assert!(
            serde_json::from_str::<Observed<bool>>(r#"{"unread":{"region":"x"}}"#).is_err(),
            "an incomplete failed read is refused, not taken as a value"
        );
        assert_eq!(
            Observed::<bool>::failed(denied())
                .map(|b| !b)
                .unread()
                .map(|e| e.code.as_str()),
            Some("AccessDenied")
        );
    }
}
