//! The portal's `oauth2/token` endpoint: the authorization code with its PKCE verifier
//! (`authorization_code`), a new access token from the refresh token (`refresh_token`) and a new
//! refresh token before the old one ends (`exchange_refresh_token`, ArcGIS's own grant). Each is
//! a POST with the secrets in the body, only where secrets may go. A refused refresh token means
//! the user must sign in again.

use super::error::{SignInError, one_line};
use super::http::{Failure, SignInHttp};
use super::timed_token::TimedToken;
use super::wire::OAuthTokenReply;
use crate::model::now_ms;
use crate::service::Token;
use url::Url;

/// What a grant gave: the access token, and a refresh token when the grant hands one out.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access: Option<TimedToken>,
    pub refresh: Option<TimedToken>,
    pub username: Option<String>,
}

/// The app and redirect the tokens belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: String,
    pub redirect_uri: String,
}

/// Exchanges an authorization code (with the verifier it was asked with).
pub async fn exchange_code(
    http: &SignInHttp,
    token_url: &Url,
    app: &OAuthApp,
    code: &str,
    verifier: &str,
) -> Result<Granted, SignInError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("code", code),
        ("code_verifier", verifier),
    ];
    post(
        http,
        token_url,
        "an authorization code",
        &form,
        "browser sign-in",
        Needed::Access,
    )
    .await
}

/// A new access token from the refresh token.
pub async fn refresh(
    http: &SignInHttp,
    token_url: &Url,
    app: &OAuthApp,
    refresh_token: &Token,
) -> Result<Granted, SignInError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", app.client_id.as_str()),
        ("refresh_token", refresh_token.expose()),
    ];
    post(
        http,
        token_url,
        "a refresh token",
        &form,
        "token refresh",
        Needed::Access,
    )
    .await
}

/// A new refresh token for one that ends soon.
pub async fn exchange_refresh_token(
    http: &SignInHttp,
    token_url: &Url,
    app: &OAuthApp,
    refresh_token: &Token,
) -> Result<Granted, SignInError> {
    let form = [
        ("grant_type", "exchange_refresh_token"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("refresh_token", refresh_token.expose()),
    ];
    post(
        http,
        token_url,
        "a refresh token",
        &form,
        "refresh token exchange",
        Needed::Refresh,
    )
    .await
}

/// The token a grant's reply must carry.
#[derive(Debug, Clone, Copy)]
enum Needed {
    Access,
    Refresh,
}

/// POSTs one grant's `form` and reads the tokens; a reply without the `needed` one is malformed.
async fn post(
    http: &SignInHttp,
    token_url: &Url,
    what: &'static str,
    form: &[(&str, &str)],
    grant: &'static str,
    needed: Needed,
) -> Result<Granted, SignInError> {
    let reply: OAuthTokenReply = http
        .post_secret("oauth2/token", what, token_url, form)
        .await
        .map_err(|f| match f {
            Failure::Refused(error) => SignInError::Refused {
                operation: grant,
                host: token_url.host_str().unwrap_or("").to_string(),
                message: one_line(&error.summary()),
                code: error.code,
            },
            Failure::Other(e) => e,
        })?;
    let now = now_ms();
    let timed = |token: &Option<crate::model::Secret>, seconds: Option<i64>| {
        let token = token.as_ref().and_then(Token::from_secret)?;
        Some(TimedToken {
            token,
            issued_at_ms: now,
            expires_at_ms: now.saturating_add(seconds.unwrap_or(1800).saturating_mul(1000)),
        })
    };
    let granted = Granted {
        access: timed(&reply.access_token, reply.expires_in),
        refresh: timed(
            &reply.refresh_token,
            reply.refresh_token_expires_in.or(Some(1_209_600)),
        ),
        username: reply.username,
    };
    match needed {
        Needed::Access if granted.access.is_none() => Err(no_token(token_url, "access_token")),
        Needed::Refresh if granted.refresh.is_none() => Err(no_token(token_url, "refresh_token")),
        _ => Ok(granted),
    }
}

fn no_token(url: &Url, field: &str) -> SignInError {
    SignInError::Malformed {
        operation: "oauth2/token",
        reason: format!("the reply has no {field}"),
        snippet: String::new(),
        url: url.to_string(),
    }
}
