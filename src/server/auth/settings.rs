//! How long the reference service's tokens live and how hard it pushes back on guessing: the
//! lifetimes of generateToken tokens, OAuth access and refresh tokens and authorization codes,
//! and the attempt limits (per user, per address, token guesses). Plain settings; the checks that
//! use them are `limits` and `registry`. Defaults follow ArcGIS (`docs/arcgis-auth.md`).

use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// Token lifetimes and attempt limits of the reference service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Lifetime of a generateToken token when the request names no `expiration`
    /// (`shortLivedTokenValidity`; ArcGIS: 60 minutes).
    pub token_lifetime: Duration,
    /// The longest a generateToken token lives; a longer `expiration` is capped to it (ArcGIS
    /// Server's `maxTokenExpirationMinutes`, 1,440 by default).
    pub max_token_lifetime: Duration,
    /// Lifetime of an OAuth access token (ArcGIS: 30 minutes), capped by `max_token_lifetime`.
    pub oauth_token_lifetime: Duration,
    /// Lifetime of a refresh token when `authorize` names no `expiration` (ArcGIS: two weeks).
    pub refresh_token_lifetime: Duration,
    /// The longest a refresh token lives (ArcGIS: 90 days).
    pub max_refresh_token_lifetime: Duration,
    /// How long an authorization code can be exchanged.
    pub code_lifetime: Duration,
    /// Failed sign-ins of one user name before it is locked out (ArcGIS Server's built-in store:
    /// five within 15 minutes lock the account for 15 minutes).
    pub user_sign_in_limit: AttemptLimit,
    /// Failed sign-ins from one client address, whatever the user name.
    pub address_sign_in_limit: AttemptLimit,
    /// Invalid tokens (and refresh tokens, authorization codes) presented from one address.
    pub token_guess_limit: AttemptLimit,
}

/// `max_failures` failures within `window` lock the key out for `lockout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub max_failures: u32,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_lifetime: 60 * MINUTE,
            max_token_lifetime: 1440 * MINUTE,
            oauth_token_lifetime: 30 * MINUTE,
            refresh_token_lifetime: 14 * 1440 * MINUTE,
            max_refresh_token_lifetime: 90 * 1440 * MINUTE,
            code_lifetime: 5 * MINUTE,
            user_sign_in_limit: AttemptLimit {
                max_failures: 5,
                window: 15 * MINUTE,
                lockout: 15 * MINUTE,
            },
            address_sign_in_limit: AttemptLimit {
                max_failures: 20,
                window: 15 * MINUTE,
                lockout: 15 * MINUTE,
            },
            token_guess_limit: AttemptLimit {
                max_failures: 30,
                window: MINUTE,
                lockout: MINUTE,
            },
        }
    }
}

impl AuthSettings {
    /// Every access token (generateToken's default and cap, OAuth access tokens) lives `lifetime`
    /// (`syncwatch serve --token-minutes`; tests use seconds to watch tokens expire).
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self.max_token_lifetime = lifetime;
        self.oauth_token_lifetime = lifetime;
        self
    }

    /// Every refresh token lives `lifetime` (`syncwatch serve --refresh-token-minutes`).
    pub fn with_refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_token_lifetime = lifetime;
        self.max_refresh_token_lifetime = lifetime;
        self
    }

    /// The lifetime of a generateToken token asked for `minutes` (absent: the default), capped.
    pub fn token_lifetime_for(&self, minutes: Option<u64>) -> Duration {
        let asked = minutes.map_or(self.token_lifetime, |m| MINUTE.saturating_mul(clamp_u32(m)));
        asked.min(self.max_token_lifetime)
    }

    /// The lifetime of a refresh token asked for `minutes` (absent: the default), capped.
    pub fn refresh_lifetime_for(&self, minutes: Option<u64>) -> Duration {
        let asked = minutes.map_or(self.refresh_token_lifetime, |m| {
            MINUTE.saturating_mul(clamp_u32(m))
        });
        asked.min(self.max_refresh_token_lifetime)
    }

    /// The lifetime of an OAuth access token.
    pub fn access_lifetime(&self) -> Duration {
        self.oauth_token_lifetime.min(self.max_token_lifetime)
    }
}

fn clamp_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_lifetimes_are_capped() {
        let s = AuthSettings::default();
        assert_eq!(s.token_lifetime_for(None), 60 * MINUTE);
        assert_eq!(s.token_lifetime_for(Some(5)), 5 * MINUTE);
        assert_eq!(s.token_lifetime_for(Some(100_000)), 1440 * MINUTE);
        let short = s.with_token_lifetime(Duration::from_secs(2));
        assert_eq!(short.token_lifetime_for(Some(60)), Duration::from_secs(2));
        assert_eq!(short.access_lifetime(), Duration::from_secs(2));
        assert_eq!(
            AuthSettings::default().refresh_lifetime_for(Some(u64::MAX)),
            90 * 1440 * MINUTE
        );
    }
}
