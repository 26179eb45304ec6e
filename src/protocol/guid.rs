//! GlobalIDs and replica IDs. Servers send them braced or bare, upper or lower case; they are the
//! same ID. [`Guid`] stores the canonical form `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (braced,
//! upper case), compares on it, and serializes it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Length of the canonical text: 32 hex digits, 4 hyphens, 2 braces.
const CANONICAL_LEN: usize = 38;
/// Where the hyphens sit in the bare 8-4-4-4-12 form.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];
/// The braced form, `x` for a hex digit.
const BRACED_SHAPE: &[u8; CANONICAL_LEN] = b"{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
/// Which bytes are hex digits, either case.
const HEX_DIGIT: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u8).is_ascii_hexdigit();
        byte += 1;
    }
    table
};

/// A GUID in canonical braced upper-case form, stored inline (a plain value: no allocation, so
/// millions of edit results carry their GlobalIDs cheaply).
/// Not `Copy` on purpose: call sites read as if it were text, and `clone` is a 38-byte copy.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid([u8; CANONICAL_LEN]);

/// Why a text is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a GUID: {text:?} (expected 32 hex digits as 8-4-4-4-12, optionally in braces)")]
pub struct GuidError {
    pub text: String,
}

impl Guid {
    /// A new random (v4) GUID.
    pub fn new_v4() -> Self {
        let mut bare = [0u8; 36];
        let text = uuid::Uuid::new_v4().hyphenated().encode_upper(&mut bare);
        Self::from_hex_digits(text.bytes().filter(|b| *b != b'-'))
    }

    /// Builds the canonical text from exactly 32 hex digits (checked by the caller).
    fn from_hex_digits(digits: impl Iterator<Item = u8>) -> Self {
        let mut out = [0u8; CANONICAL_LEN];
        out[0] = b'{';
        out[CANONICAL_LEN - 1] = b'}';
        let mut at = 1;
        for (i, digit) in digits.take(32).enumerate() {
            // Digits 8, 12, 16 and 20 start a new group of 8-4-4-4-12.
            if matches!(i, 8 | 12 | 16 | 20) {
                out[at] = b'-';
                at += 1;
            }
            out[at] = digit.to_ascii_uppercase();
            at += 1;
        }
        Guid(out)
    }

    /// Parses braced or bare, any case. Empty text is an error.
    pub fn parse(text: &str) -> Result<Self, GuidError> {
        // Servers send braced hyphenated text: convert it in one pass.
        if let Some(guid) = Self::from_braced(text.as_bytes()) {
            return Ok(guid);
        }
        let t = text.trim();
        let inner = t
            .strip_prefix('{')
            .and_then(|x| x.strip_suffix('}'))
            .unwrap_or(t)
            .as_bytes();
        let is_hyphenated = inner.len() == 36
            && inner.iter().enumerate().all(|(i, c)| {
                if HYPHENS.contains(&i) {
                    *c == b'-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        let is_simple = inner.len() == 32 && inner.iter().all(u8::is_ascii_hexdigit);
        if !(is_hyphenated || is_simple) {
            return Err(GuidError {
                text: text.to_string(),
            });
        }
        Ok(Self::from_hex_digits(
            inner.iter().copied().filter(|c| *c != b'-'),
        ))
    }

    /// Braced hyphenated text in any case, upper-cased; `None` when it is anything else.
    fn from_braced(text: &[u8]) -> Option<Self> {
        let text: &[u8; CANONICAL_LEN] = text.try_into().ok()?;
        // Every byte is looked up and the answers and-ed: no branch per digit (random hex
        // digits made a branch per byte mispredict, the cost of a GUID check in large replies).
        let shape = text
            .iter()
            .zip(BRACED_SHAPE.iter())
            .fold(true, |ok, (&byte, &expected)| {
                ok & match expected {
                    b'x' => HEX_DIGIT[usize::from(byte)],
                    _ => byte == expected,
                }
            });
        if !shape {
            return None;
        }
        let mut out = *text;
        out.make_ascii_uppercase();
        Some(Guid(out))
    }

    /// The canonical braced upper-case text.
    pub fn as_str(&self) -> &str {
        // Only `from_hex_digits` builds a Guid, and it writes ASCII only.
        std::str::from_utf8(&self.0).expect("a Guid holds ASCII text")
    }

    /// The 128-bit value of the hex digits, ordered exactly as the canonical text is (every GUID
    /// has the same layout, and '0'–'9' sort before 'A'–'F'): a cheap sort key.
    pub fn sort_key(&self) -> u128 {
        // The canonical text holds upper-case hex digits, braces and dashes only.
        fn digits(text: &[u8]) -> u64 {
            text.iter().fold(0, |key, &b| match b {
                b'0'..=b'9' => (key << 4) | u64::from(b - b'0'),
                b'A'..=b'F' => (key << 4) | u64::from(b - b'A' + 10),
                _ => key,
            })
        }
        // "{XXXXXXXX-XXXX-XXXX-" holds the first 16 digits, "XXXX-XXXXXXXXXXXX}" the rest.
        let (high, low) = self.0.split_at(20);
        (u128::from(digits(high)) << 64) | u128::from(digits(low))
    }

    /// Without braces, as some URL paths and file names want it.
    pub fn bare(&self) -> &str {
        let text = self.as_str();
        &text[1..text.len() - 1]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        s.serialize_str(self.as_str())
    }
}

/// Parses GUID text without first copying it into a `String`; blank text is `None`.
struct GuidVisitor;

impl serde::de::Visitor<'_> for GuidVisitor {
    type Value = Option<Guid>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GUID text")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Guid::parse(text).map(Some).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(GuidVisitor)?.ok_or_else(|| {
            serde::de::Error::custom(GuidError {
                text: String::new(),
            })
        })
    }
}

/// An optional GUID where null or empty text means "none": servers send `""` for "no GlobalID".
pub fn opt_guid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Guid>, D::Error> {
    d.deserialize_option(OptionalGuidVisitor)
}

/// `null`, `""` or GUID text.
struct OptionalGuidVisitor;

impl<'de> serde::de::Visitor<'de> for OptionalGuidVisitor {
    type Value = Option<Guid>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GUID text or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(GuidVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_orders_as_the_text_does() {
        let mut guids: Vec<Guid> = (0..500).map(|_| Guid::new_v4()).collect();
        guids.push(Guid::parse("{00000000-0000-0000-0000-000000000000}").unwrap());
        guids.push(Guid::parse("{FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF}").unwrap());
        guids.push(Guid::parse("{0000000A-0000-0000-0000-000000000009}").unwrap());
        for a in &guids {
            for b in guids.iter().step_by(7) {
                assert_eq!(a.sort_key().cmp(&b.sort_key()), a.as_str().cmp(b.as_str()));
            }
        }
        assert_eq!(guids[500].sort_key(), 0);
        assert_eq!(guids[501].sort_key(), u128::MAX);
    }

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
            "{419d227b-2a61-43c4-8884_4b7b5bf3eabb}",
            "[419d227b-2a61-43c4-8884-4b7b5bf3eabb]",
            "{419d227b2a61-43c4-8884-4b7b5bf3eabb-}",
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
