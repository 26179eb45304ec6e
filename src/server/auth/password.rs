//! Password hashes: argon2id in the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`),
//! the only form a password takes in a service definition or the service's database. Owns hashing
//! a new password with a fresh random salt and checking a password against a stored hash. Never
//! logs or keeps a password. Format: `docs/service-definition.md`.

use argon2::Argon2;
use password_hash::rand_core::OsRng;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

/// Why a password could not be hashed, or a stored hash is unusable.
#[derive(Debug, thiserror::Error)]
#[error("password hash: {0}")]
pub struct PasswordHashError(String);

/// Hashes `password` with argon2id (default parameters) and a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordHashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordHashError(e.to_string()))
}

/// Checks that `stored` is a PHC string this service can verify against.
pub fn check_hash_format(stored: &str) -> Result<(), PasswordHashError> {
    PasswordHash::new(stored)
        .map(|_| ())
        .map_err(|e| PasswordHashError(e.to_string()))
}

/// Whether `password` matches `stored` (false for a malformed hash). Slow on purpose.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(err) => {
            tracing::warn!(%err, "a stored password hash is malformed");
            false
        }
    }
}

/// Spends the time of one verification against a hash nobody has, so that an unknown user name
/// answers as slowly as a wrong password.
pub fn verify_against_nobody(password: &str) {
    static NOBODY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = NOBODY.get_or_init(|| hash_password("no user has this password").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_salted() {
        let a = hash_password("s3cret").unwrap();
        let b = hash_password("s3cret").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "every hash has its own salt");
        assert!(!a.contains("s3cret"));
        assert!(verify_password("s3cret", &a));
        assert!(!verify_password("s3cret ", &a));
        assert!(!verify_password("s3cret", "not a hash"));
        assert!(check_hash_format(&a).is_ok());
        assert!(check_hash_format("plain").is_err());
    }
}
