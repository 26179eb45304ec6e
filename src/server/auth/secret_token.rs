//! Secret values the service hands out (tokens, refresh tokens, authorization codes): made from
//! 32 bytes of the operating system's randomness, and remembered only as their SHA-256 digest, so
//! that looking one up never compares the secret itself and comparing digests is constant-time.
//! Also the constant-time comparison of two secrets of any length (fixed tokens, the admin key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a secret: how registries key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }
}

/// A new random secret: 256 bits, URL-safe base64 (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two secrets are equal, in time that depends on neither (digests compared with `subtle`).
pub fn same_secret(a: &str, b: &str) -> bool {
    SecretDigest::of(a).0.ct_eq(&SecretDigest::of(b).0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_compare_exactly() {
        let a = new_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_secret());
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &a[1..]));
        assert!(!same_secret("", "x"));
        assert_eq!(SecretDigest::of(&a), SecretDigest::of(&a.clone()));
    }
}
