//! The tokens the service has issued and still remembers: access tokens (from generateToken or
//! OAuth, each with its audience, owner, expiry and optional address binding), OAuth refresh
//! tokens, and authorization codes (single use, with their PKCE challenge). Kept in memory only:
//! a restart signs everyone out, as on a server whose token key changed. Each is keyed by the
//! SHA-256 of the secret (`secret_token`), never by the secret. Bounded: expired entries are
//! dropped when a map fills up, and past a cap the entry closest to expiring makes room.

use super::pkce::Challenge;
use super::secret_token::{SecretDigest, new_secret};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Most entries one map holds before expired ones are swept.
const SWEEP_AT: usize = 50_000;
/// Most live entries one map holds: past it, the one closest to expiring makes room.
const MAX_ENTRIES: usize = 200_000;

/// Who may use a token: the feature service (a server token) or the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Server,
    Portal,
}

/// An access token the service issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub user: String,
    pub audience: Audience,
    pub expires_ms: i64,
    /// `client=ip` / `client=requestip`: only this address may use it.
    pub bound_to: Option<IpAddr>,
}

/// An OAuth refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub user: String,
    pub client_id: String,
    pub expires_ms: i64,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub user: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<Challenge>,
    /// Lifetime of the refresh token the exchange will issue (`authorize`'s `expiration`).
    pub refresh_lifetime: Duration,
    pub expires_ms: i64,
}

trait Expiring {
    fn expires_ms(&self) -> i64;
}
impl Expiring for IssuedToken {
    fn expires_ms(&self) -> i64 {
        self.expires_ms
    }
}
impl Expiring for RefreshGrant {
    fn expires_ms(&self) -> i64 {
        self.expires_ms
    }
}
impl Expiring for CodeGrant {
    fn expires_ms(&self) -> i64 {
        self.expires_ms
    }
}

/// One map of secrets.
struct Secrets<T> {
    map: Mutex<HashMap<SecretDigest, T>>,
}

impl<T: Expiring + Clone> Secrets<T> {
    fn new() -> Self {
        Secrets {
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SecretDigest, T>> {
        // Plain values; a panic while holding the lock cannot leave the map inconsistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, value: T, now_ms: i64) -> String {
        let secret = new_secret();
        let mut map = self.lock();
        if map.len() >= SWEEP_AT {
            map.retain(|_, v| v.expires_ms() > now_ms);
        }
        if map.len() >= MAX_ENTRIES
            && let Some(soonest) = map
                .iter()
                .min_by_key(|(_, v)| v.expires_ms())
                .map(|(k, _)| *k)
        {
            map.remove(&soonest);
        }
        map.insert(SecretDigest::of(&secret), value);
        secret
    }

    fn get(&self, secret: &str) -> Option<T> {
        self.lock().get(&SecretDigest::of(secret)).cloned()
    }

    fn take(&self, secret: &str) -> Option<T> {
        self.lock().remove(&SecretDigest::of(secret))
    }
}

/// Every secret the service issued.
pub struct Registry {
    tokens: Secrets<IssuedToken>,
    refresh_tokens: Secrets<RefreshGrant>,
    codes: Secrets<CodeGrant>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            tokens: Secrets::new(),
            refresh_tokens: Secrets::new(),
            codes: Secrets::new(),
        }
    }
}

impl Registry {
    /// Issues an access token; returns it.
    pub fn issue_token(&self, token: IssuedToken, now_ms: i64) -> String {
        self.tokens.insert(token, now_ms)
    }

    /// The token as issued (expired or not), if the service issued it.
    pub fn token(&self, secret: &str) -> Option<IssuedToken> {
        self.tokens.get(secret)
    }

    pub fn issue_refresh_token(&self, grant: RefreshGrant, now_ms: i64) -> String {
        self.refresh_tokens.insert(grant, now_ms)
    }

    pub fn refresh_token(&self, secret: &str) -> Option<RefreshGrant> {
        self.refresh_tokens.get(secret)
    }

    pub fn issue_code(&self, grant: CodeGrant, now_ms: i64) -> String {
        self.codes.insert(grant, now_ms)
    }

    /// Removes and returns a code: a code is good for one exchange, right or wrong.
    pub fn take_code(&self, secret: &str) -> Option<CodeGrant> {
        self.codes.take(secret)
    }
}

/// `now_ms` plus a lifetime, in epoch milliseconds.
pub fn expiry_ms(now_ms: i64, lifetime: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_by_secret_and_codes_are_single_use() {
        let r = Registry::default();
        let t = IssuedToken {
            user: "tech1".into(),
            audience: Audience::Server,
            expires_ms: 10,
            bound_to: None,
        };
        let secret = r.issue_token(t.clone(), 0);
        assert_eq!(r.token(&secret), Some(t));
        assert_eq!(r.token("guess"), None);
        let code = r.issue_code(
            CodeGrant {
                user: "tech1".into(),
                client_id: "app".into(),
                redirect_uri: "urn:ietf:wg:oauth:2.0:oob".into(),
                challenge: None,
                refresh_lifetime: Duration::from_secs(60),
                expires_ms: 10,
            },
            0,
        );
        assert!(r.take_code(&code).is_some());
        assert!(r.take_code(&code).is_none());
        assert_eq!(expiry_ms(1_000, Duration::from_secs(2)), 3_000);
    }
}
