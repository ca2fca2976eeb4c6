//! A resource's tags, stored compactly: every key and value in one string, sorted by key.
//!
//! A `BTreeMap<String, String>` of six tags is a 560-byte node and twelve string allocations,
//! about 940 bytes; at a million resources that is most of an inventory's memory. `Tags` is
//! two allocations (the text and the boundaries) of about 150 bytes, with the same read API:
//! lookups by key (binary search), iteration in key order, and JSON as an object.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Tag keys and values, keys unique and in order; keys and values are case-sensitive.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Tags {
    /// Key, value, key, value, ... concatenated.
    text: Box<str>,
    /// Where each key and each value ends in `text` (two entries per tag).
    ends: Box<[u32]>,
}

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from pairs sorted by key with unique keys.
    fn from_sorted<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Self {
        let len: usize = pairs
            .iter()
            .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
            .sum();
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(pairs.len() * 2);
        for (k, v) in pairs {
            for part in [k.as_ref(), v.as_ref()] {
                text.push_str(part);
                // Tags are bounded by AWS (50 of at most 128 + 256 characters): far below 4 GiB.
                ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            }
        }
        Self {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Builds from any pairs: sorted by key, and for a key given twice the last value wins
    /// (as inserting into a map would).
    fn from_pairs<K: AsRef<str>, V: AsRef<str>>(mut pairs: Vec<(K, V)>) -> Self {
        // A stable sort keeps equal keys in input order; keep the last of each run.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut unique: Vec<(K, V)> = Vec::with_capacity(pairs.len());
        for p in pairs {
            match unique.last_mut() {
                Some(last) if last.0.as_ref() == p.0.as_ref() => *last = p,
                _ => unique.push(p),
            }
        }
        Self::from_sorted(&unique)
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        self.text.get(start..end).unwrap_or_default()
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn key(&self, i: usize) -> &str {
        self.part(2 * i)
    }

    fn value(&self, i: usize) -> &str {
        self.part(2 * i + 1)
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.value(i))
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// (key, value) in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            tags: self,
            next: 0,
            end: self.len(),
        }
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let (key, value) = (key.into(), value.into());
        let old = self.get(&key).map(str::to_owned);
        let mut pairs: Vec<(&str, &str)> = self.iter().filter(|(k, _)| *k != key).collect();
        let at = pairs.partition_point(|(k, _)| *k < key.as_str());
        pairs.insert(at, (&key, &value));
        *self = Self::from_sorted(&pairs);
        old
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let old = self.get(key).map(str::to_owned)?;
        let pairs: Vec<(&str, &str)> = self.iter().filter(|(k, _)| *k != key).collect();
        *self = Self::from_sorted(&pairs);
        Some(old)
    }

    /// As a map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// The tags in key order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    tags: &'a Tags,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        (self.next < self.end).then(|| {
            let i = self.next;
            self.next += 1;
            (self.tags.key(i), self.tags.value(i))
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Tags {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for Tags {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut pairs: Vec<(String, String)> = self
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        pairs.extend(
            iter.into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        *self = Self::from_pairs(pairs);
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Self {
        let pairs: Vec<(String, String)> = map.into_iter().collect();
        Self::from_sorted(&pairs)
    }
}

impl PartialEq<BTreeMap<String, String>> for Tags {
    fn eq(&self, other: &BTreeMap<String, String>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other)
                .all(|((k, v), (ok, ov))| k == ok && v == ov)
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagsVisitor;
        impl<'de> Visitor<'de> for TagsVisitor {
            type Value = Tags;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tags: an object of string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tags, A::Error> {
                let mut pairs: Vec<(Cow<'de, str>, Cow<'de, str>)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<CowStr<'de>, CowStr<'de>>()? {
                    pairs.push((entry.0.0, entry.1.0));
                }
                Ok(Tags::from_pairs(pairs))
            }
        }
        d.deserialize_map(TagsVisitor)
    }
}

/// A string borrowed from the input where it can be (no escapes), owned otherwise.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut t: Tags = [
            ("Owner", "a"),
            ("Env", "prod"),
            ("Owner", "b"),
            ("", "empty"),
        ]
        .into_iter()
        .collect();
        assert_eq!(t.len(), 3);
        assert_eq!(t.get("Owner"), Some("b"), "the last value wins");
        assert_eq!(t.get(""), Some("empty"));
        assert_eq!(t.get("owner"), None, "case-sensitive");
        assert_eq!(t.keys().collect::<Vec<_>>(), ["", "Env", "Owner"]);
        assert_eq!(t.insert("Cost", "cc-1"), None);
        assert_eq!(t.insert("Env", "dev"), Some("prod".into()));
        assert_eq!(t.remove("Owner"), Some("b".into()));
        assert_eq!(t.remove("Owner"), None);
        let map = BTreeMap::from([
            ("".to_owned(), "empty".to_owned()),
            ("Cost".to_owned(), "cc-1".to_owned()),
            ("Env".to_owned(), "dev".to_owned()),
        ]);
        assert_eq!(t, map);
        assert_eq!(Tags::from(map.clone()), t);
        assert_eq!(t.to_map(), map);
        t.extend([("Env", "qa"), ("Zone", "z")]);
        assert_eq!(t.get("Env"), Some("qa"));
        assert_eq!(t.len(), 4);
        assert!(Tags::new().is_empty());
        assert_eq!(
            format!("{:?}", Tags::from_iter([("a", "1")])),
            r#"{"a": "1"}"#
        );
    }

    #[test]
    fn json_is_an_object_and_reads_back_whatever_the_order() {
        let t: Tags = serde_json::from_str(r#"{"b":"2","a":"1","q":"say \"hi\""}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":"1","b":"2","q":"say \"hi\""}"#
        );
        let from_value: Tags = serde_json::from_value(serde_json::json!({"x": "y"})).unwrap();
        assert_eq!(from_value.get("x"), Some("y"));
        assert!(serde_json::from_str::<Tags>(r#"{"a":1}"#).is_err());
        assert!(serde_json::from_str::<Tags>("[]").is_err());
    }
}
