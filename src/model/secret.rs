//! [`Secret`]: a token or key carried from the form field to the request header without being
//! printed on the way. Its `Debug` shows no part of the value; the value is read only through
//! [`Secret::expose`], so every place that needs it says so.
//!
//! Serde carries the plain text (the `credentials` part stores it, the service client sends it),
//! so stored and sent formats are those of a plain string. The app database never holds one.

use serde::{Deserialize, Serialize};

/// A secret text. `Debug` prints `Secret(<redacted>)`; serde reads and writes the bare string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` never shows the value; serde carries it as a plain string.
    #[test]
    fn debug_hides_and_serde_is_plain() {
        let secret = Secret::new("s3cret-value");
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert!(!format!("{:?}", Some(&secret)).contains("s3cret"));
        assert_eq!(secret.expose(), "s3cret-value");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, "\"s3cret-value\"");
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), secret);
    }
}
