//! Tolerant deserializers for values real ArcGIS servers and clients spell in more than one way:
//! booleans as JSON or as text, integers as numbers or as text, `details` as a string or a list.
//! Pure functions over serde; no I/O.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use std::fmt;

/// Parses `true`/`false` text the way ArcGIS does: case-insensitive, `1`/`0` and `yes`/`no` too.
pub fn parse_bool_text(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean, 0/1, or \"true\"/\"false\" text")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        parse_bool_text(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

/// `bool` from JSON `true`, `1` or `"true"`; missing, null or empty text is `false`.
pub fn bool_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(d.deserialize_any(BoolVisitor)?.unwrap_or(false))
}

/// `Option<bool>` from JSON or text; null or empty text is `None`.
pub fn opt_bool_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// `bool` that defaults to `true` when null (used with `#[serde(default = "yes")]`).
pub fn bool_or_text_default_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(d.deserialize_any(BoolVisitor)?.unwrap_or(true))
}

pub fn yes() -> bool {
    true
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or integer text")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("null") {
            return Ok(None);
        }
        t.parse::<i64>()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(IntVisitor)
    }
}

/// `Option<i64>` from a JSON number or integer text; null or empty text is `None`.
pub fn opt_int_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// A required `i64` from a JSON number or integer text (an `id` of a layer entry).
pub fn required_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_int_or_text(d)?.ok_or_else(|| serde::de::Error::custom("id is missing"))
}

/// An optional wire enum read from its text; a spelling we do not know reads as `None` instead
/// of failing the whole reply.
pub fn known_or_none<'de, D: Deserializer<'de>, T: std::str::FromStr>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
    Ok(text.and_then(|t| t.parse().ok()))
}

/// `Vec<String>` from a list of strings, a single string, or null. Non-string items are rendered as JSON.
pub fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) if s.is_empty() => Vec::new(),
        Some(serde_json::Value::String(s)) => vec![s],
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Some(other) => vec![other.to_string()],
    })
}

/// Accepts any JSON value and keeps nothing: for fields whose shape varies and that we do not use.
pub fn ignore<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    IgnoredAny::deserialize(d).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct B {
        #[serde(default, deserialize_with = "bool_or_text")]
        b: bool,
        #[serde(default, deserialize_with = "opt_int_or_text")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "string_or_list")]
        d: Vec<String>,
    }

    #[test]
    fn booleans_numbers_and_lists_in_every_spelling() {
        let cases = [
            (r#"{"b":true,"n":5,"d":["x"]}"#, true, Some(5), vec!["x"]),
            (r#"{"b":"true","n":"5","d":"x"}"#, true, Some(5), vec!["x"]),
            (r#"{"b":"False","n":"","d":null}"#, false, None, vec![]),
            (r#"{"b":1,"n":5.0}"#, true, Some(5), vec![]),
            (r#"{}"#, false, None, vec![]),
        ];
        for (json, b, n, d) in cases {
            let parsed: B = serde_json::from_str(json).unwrap();
            assert_eq!(parsed.b, b, "{json}");
            assert_eq!(parsed.n, n, "{json}");
            assert_eq!(parsed.d, d, "{json}");
        }
    }

    #[test]
    fn nonsense_text_is_an_error_not_a_guess() {
        assert!(serde_json::from_str::<B>(r#"{"b":"maybe"}"#).is_err());
        assert!(serde_json::from_str::<B>(r#"{"n":"12x"}"#).is_err());
        assert!(serde_json::from_str::<B>(r#"{"n":1.5}"#).is_err());
    }
}
