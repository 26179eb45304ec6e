//! Signing in to the reference service: its accounts (password hashes and fixed tokens), the
//! tokens it issued (`registry`), the attempt limits (`limits`), PKCE (`pkce`), the registered
//! OAuth apps, and the one answer to "who is behind this token". Knows no HTTP and no service
//! definition file: `http` builds an [`Auth`] from the definition and speaks the ArcGIS wire
//! (`docs/arcgis-auth.md`). Never logs a password or a token.

pub mod limits;
pub mod password;
pub mod pkce;
pub mod registry;
pub mod secret_token;
pub mod settings;

use crate::protocol::rules::Caller;
use limits::FailureCounter;
use registry::{Audience, Registry};
use secret_token::same_secret;
use settings::AuthSettings;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Password checks running at once; more wait (each argon2 check takes about 19 MiB).
pub const CONCURRENT_PASSWORD_CHECKS: usize = 4;

/// One account of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub admin: bool,
    /// argon2id PHC string; `None`: the account cannot sign in with a password.
    pub password_hash: Option<String>,
    /// A token that never expires (fixed in the definition, for scripts and the test suite).
    pub fixed_token: Option<String>,
}

/// A registered OAuth app ("OAuth 2.0 credentials" item): its client id and the redirect URIs
/// it may use, compared exactly (scheme, host, port and path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

impl OAuthApp {
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// Wrong password or unknown user (deliberately the same).
    Invalid,
    /// Too many failures for this user name or from this address; try again after this long.
    LockedOut { retry_after: Duration },
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Unknown, foreign (other audience or address), or expired (`expired` says which).
    Invalid { expired: bool },
    /// Too many invalid tokens from this address lately.
    TooManyGuesses { retry_after: Duration },
}

/// Everything about signing in, shared by the handlers.
pub struct Auth {
    pub settings: AuthSettings,
    accounts: Vec<Account>,
    apps: Vec<OAuthApp>,
    pub registry: Registry,
    user_failures: FailureCounter<String>,
    address_failures: FailureCounter<IpAddr>,
    token_guesses: FailureCounter<IpAddr>,
    /// Bounds the password checks running at once.
    pub password_checks: tokio::sync::Semaphore,
}

impl Auth {
    pub fn new(settings: AuthSettings, accounts: Vec<Account>, apps: Vec<OAuthApp>) -> Self {
        Auth {
            user_failures: FailureCounter::new(settings.user_sign_in_limit),
            address_failures: FailureCounter::new(settings.address_sign_in_limit),
            token_guesses: FailureCounter::new(settings.token_guess_limit),
            settings,
            accounts,
            apps,
            registry: Registry::default(),
            password_checks: tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS),
        }
    }

    /// Whether anyone can sign in with a password (the token service is worth advertising).
    pub fn has_password_accounts(&self) -> bool {
        self.accounts.iter().any(|a| a.password_hash.is_some())
    }

    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The caller an account name stands for.
    pub fn caller_named(&self, name: &str) -> Caller {
        Caller {
            name: name.to_string(),
            is_admin: self.account(name).is_some_and(|a| a.admin),
        }
    }

    /// Checks a user name (case-sensitive, as ArcGIS) and password, counting failures per name
    /// and per address. Blocking: argon2 takes tens of milliseconds. A locked-out name or
    /// address is refused even with the right password; the failure that reaches the limit
    /// already answers with the lock-out.
    pub fn sign_in(&self, name: &str, password: &str, peer: IpAddr) -> Result<Caller, SignInError> {
        let now = Instant::now();
        let locked = [
            self.address_failures.locked_for(&peer, now),
            self.user_failures.locked_for(&name.to_string(), now),
        ];
        if let Some(retry_after) = locked.into_iter().flatten().max() {
            return Err(SignInError::LockedOut { retry_after });
        }
        let account = self.account(name);
        let ok = match account.and_then(|a| a.password_hash.as_deref()) {
            Some(hash) => password::verify_password(password, hash),
            None => {
                password::verify_against_nobody(password);
                false
            }
        };
        if ok {
            self.user_failures.record_success(&name.to_string());
            return Ok(self.caller_named(name));
        }
        tracing::info!(%peer, "failed sign-in");
        let now = Instant::now();
        let locks = [
            self.user_failures.record_failure(&name.to_string(), now),
            self.address_failures.record_failure(&peer, now),
        ];
        match locks.into_iter().flatten().max() {
            Some(retry_after) => {
                tracing::warn!(%peer, "sign-in locked out after repeated failures");
                Err(SignInError::LockedOut { retry_after })
            }
            None => Err(SignInError::Invalid),
        }
    }

    /// The caller behind `token` for `audience` presented from `peer`: a fixed token of the
    /// definition (any audience), or an issued, unexpired token of that audience whose address
    /// binding (if any) is `peer`. Every refusal counts as a guess from `peer`; too many lock
    /// the address out of token checks for a while, whatever it sends.
    pub fn token_caller(
        &self,
        token: &str,
        audience: Audience,
        peer: IpAddr,
        now_ms: i64,
    ) -> Result<Caller, TokenRefusal> {
        let now = Instant::now();
        if let Some(retry_after) = self.token_guesses.locked_for(&peer, now) {
            return Err(TokenRefusal::TooManyGuesses { retry_after });
        }
        match self.check_token(token, audience, peer, now_ms) {
            Ok(caller) => Ok(caller),
            Err(refusal) => Err(self.guessed(peer, now).unwrap_or(refusal)),
        }
    }

    /// Counts a wrong secret (token, refresh token, code) from `peer`; answers the lock-out if
    /// this one started it.
    pub fn guessed(&self, peer: IpAddr, now: Instant) -> Option<TokenRefusal> {
        self.token_guesses
            .record_failure(&peer, now)
            .map(|retry_after| {
                tracing::warn!(%peer, "too many invalid tokens; address locked out of token checks");
                TokenRefusal::TooManyGuesses { retry_after }
            })
    }

    /// How long `peer` is still locked out of token checks.
    pub fn guesses_locked_for(&self, peer: IpAddr) -> Option<Duration> {
        self.token_guesses.locked_for(&peer, Instant::now())
    }

    fn check_token(
        &self,
        token: &str,
        audience: Audience,
        peer: IpAddr,
        now_ms: i64,
    ) -> Result<Caller, TokenRefusal> {
        // Every fixed token is compared (no early exit), each in constant time.
        let fixed = self
            .accounts
            .iter()
            .filter(|a| {
                a.fixed_token
                    .as_deref()
                    .is_some_and(|t| !t.is_empty() & same_secret(t, token))
            })
            .fold(None, |found, a| found.or(Some(a)));
        if let Some(account) = fixed {
            return Ok(self.caller_named(&account.name));
        }
        let Some(issued) = self.registry.token(token) else {
            return Err(TokenRefusal::Invalid { expired: false });
        };
        if issued.audience != audience || issued.bound_to.is_some_and(|ip| ip != peer) {
            return Err(TokenRefusal::Invalid { expired: false });
        }
        if issued.expires_ms <= now_ms {
            return Err(TokenRefusal::Invalid { expired: true });
        }
        Ok(self.caller_named(&issued.user))
    }
}

#[cfg(test)]
mod tests {
    use super::registry::IssuedToken;
    use super::*;
    use std::net::Ipv4Addr;

    fn auth() -> Auth {
        let mut settings = AuthSettings::default();
        settings.user_sign_in_limit.max_failures = 2;
        settings.token_guess_limit.max_failures = 3;
        Auth::new(
            settings,
            vec![
                Account {
                    name: "tech1".into(),
                    admin: false,
                    password_hash: Some(password::hash_password("pw1").unwrap()),
                    fixed_token: None,
                },
                Account {
                    name: "boss".into(),
                    admin: true,
                    password_hash: None,
                    fixed_token: Some("boss-token".into()),
                },
            ],
            Vec::new(),
        )
    }

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn sign_in_checks_the_password_and_locks_out_after_failures() {
        let a = auth();
        assert_eq!(a.sign_in("tech1", "pw1", HERE).unwrap().name, "tech1");
        assert_eq!(a.sign_in("tech1", "nope", HERE), Err(SignInError::Invalid));
        assert_eq!(a.sign_in("nobody", "pw1", HERE), Err(SignInError::Invalid));
        assert_eq!(a.sign_in("Tech1", "pw1", HERE), Err(SignInError::Invalid));
        assert!(matches!(
            a.sign_in("tech1", "nope", HERE),
            Err(SignInError::LockedOut { .. })
        ));
        assert!(matches!(
            a.sign_in("tech1", "pw1", HERE),
            Err(SignInError::LockedOut { .. })
        ));
        assert!(
            a.sign_in("boss", "", HERE).is_err(),
            "no password, no sign-in"
        );
    }

    #[test]
    fn tokens_answer_their_audience_until_they_expire_and_guesses_are_limited() {
        let a = auth();
        let token = a.registry.issue_token(
            IssuedToken {
                user: "tech1".into(),
                audience: Audience::Server,
                expires_ms: 1_000,
                bound_to: None,
            },
            0,
        );
        assert_eq!(
            a.token_caller(&token, Audience::Server, HERE, 999)
                .unwrap()
                .name,
            "tech1"
        );
        assert!(
            a.token_caller("boss-token", Audience::Server, HERE, 0)
                .unwrap()
                .is_admin
        );
        assert_eq!(
            a.token_caller(&token, Audience::Portal, HERE, 0),
            Err(TokenRefusal::Invalid { expired: false })
        );
        assert_eq!(
            a.token_caller(&token, Audience::Server, HERE, 1_000),
            Err(TokenRefusal::Invalid { expired: true })
        );
        assert!(matches!(
            a.token_caller("guess", Audience::Server, HERE, 0),
            Err(TokenRefusal::TooManyGuesses { .. })
        ));
        assert!(matches!(
            a.token_caller(&token, Audience::Server, HERE, 0),
            Err(TokenRefusal::TooManyGuesses { .. })
        ));
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert!(a.token_caller(&token, Audience::Server, other, 0).is_ok());
    }
}
