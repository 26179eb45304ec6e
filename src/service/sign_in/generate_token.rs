//! generateToken, the username-and-password way in (standalone server or portal), and the
//! portal's exchange of its token for a federated server's (`token` + `serverUrl`). Always a
//! POST with the secret in the body (`client=referer`, `f=json`), only where secrets may go; the
//! expiration asked for is the caller's, capped at the longest ArcGIS grants, and the token's
//! real end is what the server answers (`expires`).

use super::error::{SignInError, credentials_refusal, one_line};
use super::http::{Failure, SignInHttp};
use super::timed_token::TimedToken;
use super::wire::GenerateTokenReply;
use crate::model::Secret;
use crate::model::now_ms;
use crate::service::Token;
use url::Url;

/// The longest token generateToken hands out (ArcGIS Online: two weeks); longer asks are cut.
pub const MAX_EXPIRATION_MINUTES: u32 = 14 * 24 * 60;

/// What every token request says about the token it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOptions {
    /// Minutes the token should last; the server may grant less (default 60).
    pub expiration_minutes: u32,
    /// The `referer` the token is bound to (`client=referer`); sent as the `Referer` header of
    /// every request that carries the token.
    pub referer: String,
    /// Minutes an OAuth refresh token should last (the authorize URL's `expiration`; default
    /// two weeks, the portal may grant less).
    pub refresh_expiration_minutes: u32,
}

/// The referer syncwatch's tokens are bound to.
pub const DEFAULT_REFERER: &str = "syncwatch";

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            expiration_minutes: 60,
            referer: DEFAULT_REFERER.to_string(),
            refresh_expiration_minutes: 14 * 24 * 60,
        }
    }
}

impl TokenOptions {
    /// The expiration to ask for: at least a minute, at most [`MAX_EXPIRATION_MINUTES`].
    pub fn requested_minutes(&self) -> u32 {
        self.expiration_minutes.clamp(1, MAX_EXPIRATION_MINUTES)
    }

    /// The refresh token's life to ask for: at least a minute, at most 90 days (the longest an
    /// organisation may allow).
    pub fn requested_refresh_minutes(&self) -> u32 {
        self.refresh_expiration_minutes.clamp(1, 90 * 24 * 60)
    }
}

/// Signs in with a username and password at `token_url` (a server's or a portal's
/// generateToken). The password is sent once, in the body, and not kept.
pub async fn with_password(
    http: &SignInHttp,
    token_url: &Url,
    username: &str,
    password: &Secret,
    options: &TokenOptions,
) -> Result<TimedToken, SignInError> {
    let minutes = options.requested_minutes().to_string();
    let form = [
        ("username", username),
        ("password", password.expose()),
        ("client", "referer"),
        ("referer", options.referer.as_str()),
        ("expiration", minutes.as_str()),
    ];
    let host = token_url.host_str().unwrap_or("").to_string();
    let reply: GenerateTokenReply = http
        .post_secret("generateToken", "a password", token_url, &form)
        .await
        .map_err(|f| match f {
            Failure::Refused(error) => credentials_refusal(&host, &error),
            Failure::Other(e) => e,
        })?;
    timed(token_url, reply, "generateToken")
}

/// The refusal of a portal token by the exchange: 498/499 mean the portal token itself is no
/// longer good (renew it and try again); anything else is final.
#[derive(Debug)]
pub(super) enum ExchangeFailure {
    PortalTokenRefused,
    Failed(SignInError),
}

/// Mints a token for `server_root` from the portal's token at the portal's generateToken.
pub(super) async fn for_server(
    http: &SignInHttp,
    portal_token_url: &Url,
    portal_token: &Token,
    server_root: &Url,
    options: &TokenOptions,
) -> Result<TimedToken, ExchangeFailure> {
    let minutes = options.requested_minutes().to_string();
    let form = [
        ("token", portal_token.expose()),
        ("serverUrl", server_root.as_str()),
        ("client", "referer"),
        ("referer", options.referer.as_str()),
        ("expiration", minutes.as_str()),
    ];
    let reply: GenerateTokenReply = match http
        .post_secret("generateToken", "a token", portal_token_url, &form)
        .await
    {
        Ok(reply) => reply,
        Err(Failure::Refused(error)) if matches!(error.code, Some(498 | 499)) => {
            return Err(ExchangeFailure::PortalTokenRefused);
        }
        Err(Failure::Refused(error)) => {
            return Err(ExchangeFailure::Failed(SignInError::Refused {
                operation: "token for a federated server",
                host: portal_token_url.host_str().unwrap_or("").to_string(),
                message: one_line(&error.summary()),
                code: error.code,
            }));
        }
        Err(Failure::Other(e)) => return Err(ExchangeFailure::Failed(e)),
    };
    timed(portal_token_url, reply, "generateToken").map_err(ExchangeFailure::Failed)
}

/// The token of a reply, with its end; a reply without either is not what ArcGIS sends.
fn timed(
    url: &Url,
    reply: GenerateTokenReply,
    operation: &'static str,
) -> Result<TimedToken, SignInError> {
    let malformed = |reason: &str| SignInError::Malformed {
        operation,
        reason: reason.to_string(),
        snippet: String::new(),
        url: url.to_string(),
    };
    let token = reply
        .token
        .as_ref()
        .and_then(Token::from_secret)
        .ok_or_else(|| malformed("the reply has no token"))?;
    let expires_at_ms = reply
        .expires
        .ok_or_else(|| malformed("the reply does not say when the token expires"))?;
    Ok(TimedToken {
        token,
        issued_at_ms: now_ms(),
        expires_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The caller's expiration is asked for, within what ArcGIS grants.
    #[test]
    fn requested_expiration_is_capped() {
        let ask = |m| {
            TokenOptions {
                expiration_minutes: m,
                ..TokenOptions::default()
            }
            .requested_minutes()
        };
        assert_eq!(TokenOptions::default().requested_minutes(), 60);
        assert_eq!(ask(1440), 1440);
        assert_eq!(ask(0), 1);
        assert_eq!(ask(500_000), MAX_EXPIRATION_MINUTES);
    }
}
