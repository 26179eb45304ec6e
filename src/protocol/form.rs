//! Form-encoded request parameters as ArcGIS sends and accepts them: names matched
//! case-insensitively, JSON-valued parameters as JSON text, booleans as `true`/`false` text.

use super::lenient::parse_bool_text;
use serde::de::DeserializeOwned;

/// A request parameter that is missing or not of the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("required parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("parameter '{name}' is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ParamError {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ParamError::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// Request parameters with case-insensitive names; the last value of a repeated name wins.
#[derive(Debug, Clone, Default)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
}

impl FormParams {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        FormParams {
            pairs: pairs.into_iter().collect(),
        }
    }

    /// Parses `a=1&b=2` (query string or form body).
    pub fn parse(encoded: &[u8]) -> Self {
        Self::new(url::form_urlencoded::parse(encoded).into_owned())
    }

    pub fn extend(&mut self, other: FormParams) {
        self.pairs.extend(other.pairs);
    }

    /// The raw text of a parameter; empty text counts as absent, as ArcGIS treats it.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, ParamError> {
        self.text(name).ok_or(ParamError::Missing(name))
    }

    pub fn bool_or(&self, name: &'static str, default: bool) -> Result<bool, ParamError> {
        match self.text(name) {
            None => Ok(default),
            Some(t) => parse_bool_text(t).ok_or_else(|| {
                ParamError::invalid(name, format!("expected true or false, got {t:?}"))
            }),
        }
    }

    pub fn opt_bool(&self, name: &'static str) -> Result<Option<bool>, ParamError> {
        self.text(name)
            .map(|_| self.bool_or(name, false))
            .transpose()
    }

    pub fn opt_i64(&self, name: &'static str) -> Result<Option<i64>, ParamError> {
        self.text(name)
            .map(|t| {
                t.trim().parse::<i64>().map_err(|_| {
                    ParamError::invalid(name, format!("expected an integer, got {t:?}"))
                })
            })
            .transpose()
    }

    /// A JSON-valued parameter.
    pub fn opt_json<T: DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, ParamError> {
        self.text(name)
            .map(|t| {
                serde_json::from_str::<T>(t).map_err(|e| {
                    ParamError::invalid(name, format!("not valid JSON of the expected shape: {e}"))
                })
            })
            .transpose()
    }

    /// A parameter parsed with `FromStr` (the wire enums).
    pub fn opt_parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, ParamError>
    where
        T::Err: std::fmt::Display,
    {
        self.text(name)
            .map(|t| {
                t.parse::<T>()
                    .map_err(|e| ParamError::invalid(name, e.to_string()))
            })
            .transpose()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Builds form pairs in order; `None` values are skipped.
#[derive(Debug, Default)]
pub struct FormBuilder {
    pairs: Vec<(String, String)>,
}

impl FormBuilder {
    pub fn new() -> Self {
        FormBuilder::default()
    }
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.pairs.push((name.to_string(), value.into()));
        self
    }
    pub fn opt_text(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.text(name, v),
            None => self,
        }
    }
    pub fn bool(self, name: &str, value: bool) -> Self {
        self.text(name, if value { "true" } else { "false" })
    }
    pub fn json<T: serde::Serialize>(self, name: &str, value: &T) -> Self {
        // Serializing our own plain data types to JSON cannot fail.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
        self.text(name, text)
    }
    pub fn build(self) -> Vec<(String, String)> {
        self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_empty_is_absent() {
        let p = FormParams::parse(
            b"F=json&ReplicaID=%7Babc%7D&returnAttachmentsDatabyUrl=TRUE&async=&n=12",
        );
        assert_eq!(p.text("f"), Some("json"));
        assert_eq!(p.text("replicaid"), Some("{abc}"));
        assert_eq!(p.bool_or("returnAttachmentsDataByUrl", false), Ok(true));
        assert_eq!(p.opt_bool("async"), Ok(None));
        assert_eq!(p.opt_i64("n"), Ok(Some(12)));
        assert_eq!(p.required("missing"), Err(ParamError::Missing("missing")));
        assert!(matches!(
            FormParams::parse(b"async=perhaps").bool_or("async", false),
            Err(ParamError::Invalid { name: "async", .. })
        ));
    }
}
