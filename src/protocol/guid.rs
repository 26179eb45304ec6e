//! GlobalIDs and replica IDs. Servers send them braced or bare, upper or lower case; they are the
//! same ID. [`Guid`] stores the canonical form `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (braced,
//! upper case), compares on it, and serializes it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A GUID in canonical braced upper-case form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(String);

/// Why a text is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a GUID: {text:?} (expected 32 hex digits as 8-4-4-4-12, optionally in braces)")]
pub struct GuidError {
    pub text: String,
}

impl Guid {
    /// A new random (v4) GUID.
    pub fn new_v4() -> Self {
        Self::from_uuid(uuid::Uuid::new_v4())
    }

    fn from_uuid(u: uuid::Uuid) -> Self {
        let mut s = String::with_capacity(38);
        s.push('{');
        s.push_str(&u.hyphenated().to_string().to_ascii_uppercase());
        s.push('}');
        Guid(s)
    }

    /// Parses braced or bare, any case. Empty text is an error.
    pub fn parse(text: &str) -> Result<Self, GuidError> {
        let t = text.trim();
        let inner = t
            .strip_prefix('{')
            .and_then(|x| x.strip_suffix('}'))
            .unwrap_or(t);
        let is_hyphenated = inner.len() == 36
            && inner.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        let is_simple = inner.len() == 32 && inner.chars().all(|c| c.is_ascii_hexdigit());
        if !(is_hyphenated || is_simple) {
            return Err(GuidError {
                text: text.to_string(),
            });
        }
        match uuid::Uuid::parse_str(inner) {
            Ok(u) => Ok(Self::from_uuid(u)),
            Err(_) => Err(GuidError {
                text: text.to_string(),
            }),
        }
    }

    /// The canonical braced upper-case text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without braces, as some URL paths and file names want it.
    pub fn bare(&self) -> &str {
        &self.0[1..self.0.len() - 1]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Guid {
    type Err = GuidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Guid::parse(s)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Guid::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An optional GUID where null or empty text means "none": servers send `""` for "no GlobalID".
pub fn opt_guid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Guid>, D::Error> {
    let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
    match text {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => Guid::parse(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braced_bare_and_case_are_one_id() {
        let a = Guid::parse("{419d227b-2a61-43c4-8884-4b7b5bf3eabb}").unwrap();
        let b = Guid::parse("419D227B-2A61-43C4-8884-4B7B5BF3EABB").unwrap();
        let c = Guid::parse("419d227b2a6143c488844b7b5bf3eabb").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.as_str(), "{419D227B-2A61-43C4-8884-4B7B5BF3EABB}");
        assert_eq!(a.bare(), "419D227B-2A61-43C4-8884-4B7B5BF3EABB");
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "{}",
            "hello",
            "419d227b-2a61-43c4-8884",
            "{419d227b-2a61-43c4-8884-4b7b5bf3eabz}",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_round_trip_is_canonical() {
        let g: Guid = serde_json::from_str(r#""{7a0c2c24-5ca5-408f-8705-a23ef105f351}""#).unwrap();
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#""{7A0C2C24-5CA5-408F-8705-A23EF105F351}""#
        );
    }
}
