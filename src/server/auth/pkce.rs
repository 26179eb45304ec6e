//! PKCE (RFC 7636) on the authorization server's side: which `code_challenge_method`s are
//! accepted (`S256`, and `plain` as ArcGIS also takes it) and whether a `code_verifier` answers
//! the challenge stored with an authorization code. Comparison is constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// How the challenge was derived from the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    /// `S256` or `plain` (absent means plain, as RFC 7636 says); anything else is refused.
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text {
            None => Some(ChallengeMethod::Plain),
            Some(t) if t.eq_ignore_ascii_case("S256") => Some(ChallengeMethod::S256),
            Some(t) if t.eq_ignore_ascii_case("plain") => Some(ChallengeMethod::Plain),
            Some(_) => None,
        }
    }
}

/// A code's PKCE challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub method: ChallengeMethod,
    pub value: String,
}

impl Challenge {
    /// Whether `verifier` is the one this challenge was made from.
    pub fn is_answered_by(&self, verifier: &str) -> bool {
        let derived = match self.method {
            ChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            ChallengeMethod::Plain => verifier.to_string(),
        };
        super::secret_token::same_secret(&derived, &self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifies() {
        // RFC 7636, appendix B.
        let challenge = Challenge {
            method: ChallengeMethod::S256,
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        };
        assert!(challenge.is_answered_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!challenge.is_answered_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        assert_eq!(
            ChallengeMethod::parse(Some("s256")),
            Some(ChallengeMethod::S256)
        );
        assert_eq!(ChallengeMethod::parse(Some("S512")), None);
    }
}
