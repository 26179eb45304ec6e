//! The secrets of one browser sign-in: the PKCE code verifier with its S256 challenge
//! (RFC 7636) and the `state` that ties the browser's answer to this sign-in. Made with the
//! `oauth2` crate's types (random verifier and state from the OS's random source); only their
//! text leaves here. `Debug` shows no value.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    verifier: PkceCodeVerifier,
    challenge: PkceCodeChallenge,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkce(<redacted>)")
    }
}

impl Pkce {
    /// A fresh random verifier (32 random bytes, 43 characters) and its challenge.
    pub fn new_random() -> Pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Pkce {
            verifier,
            challenge,
        }
    }

    /// The pair for a given verifier (the RFC's example).
    #[cfg(test)]
    pub fn from_verifier(verifier: &str) -> Pkce {
        let verifier = PkceCodeVerifier::new(verifier.to_string());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }

    /// `code_challenge`: BASE64URL(SHA256(verifier)) without padding.
    pub fn challenge(&self) -> &str {
        self.challenge.as_str()
    }

    /// `code_challenge_method`.
    pub fn method(&self) -> &str {
        self.challenge.method().as_str()
    }

    /// `code_verifier`, sent once with the code.
    pub fn verifier(&self) -> &str {
        self.verifier.secret()
    }
}

/// The `state` of one sign-in.
pub struct State(CsrfToken);

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("State(<redacted>)")
    }
}

impl State {
    pub fn new_random() -> State {
        State(CsrfToken::new_random())
    }

    pub fn as_str(&self) -> &str {
        self.0.secret()
    }

    /// True when the browser brought back this state (compared in constant time).
    pub fn matches(&self, received: &str) -> bool {
        let ours = self.as_str().as_bytes();
        let theirs = received.as_bytes();
        ours.len() == theirs.len()
            && ours
                .iter()
                .zip(theirs)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B: the verifier's S256 challenge.
    #[test]
    fn s256_challenge_matches_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(pkce.method(), "S256");
        assert_eq!(
            pkce.verifier(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    /// Random verifiers are 43 URL-safe characters, differ each time, and never show in Debug.
    #[test]
    fn random_verifiers_and_states_are_fresh_and_hidden() {
        let a = Pkce::new_random();
        let b = Pkce::new_random();
        assert_eq!(a.verifier().len(), 43);
        assert!(
            a.verifier()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.verifier(), b.verifier());
        assert_eq!(Pkce::from_verifier(a.verifier()).challenge(), a.challenge());
        assert!(!format!("{a:?}").contains(a.verifier()));
        let s = State::new_random();
        assert!(s.matches(s.as_str()));
        assert!(!s.matches("other"));
        assert!(!s.matches(""));
        assert!(!State::new_random().matches(s.as_str()));
        assert!(!format!("{s:?}").contains(s.as_str()));
    }
}
