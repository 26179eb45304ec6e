//! [`SessionRecord`]: what is kept of a sign-in between runs, so the app can renew tokens
//! without asking again: where (server or portal and its endpoints), who, which OAuth app, and
//! the current token and refresh token with their ends. Its [`Secret`] fields belong in the
//! secret store, never in the app database, a log or an export; the rest is plain metadata.
//! `SignInSession::restore` makes a session of it again.

use super::authority::Authority;
use super::discovery::Portal;
use super::error::SignInError;
use super::generate_token::TokenOptions;
use super::timed_token::TimedToken;
use crate::model::Secret;
use crate::service::Token;
use serde::{Deserialize, Serialize};
use url::Url;

/// Where a session signed in, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AuthorityRecord {
    #[serde(rename_all = "camelCase")]
    Server { root: String, token_url: String },
    #[serde(rename_all = "camelCase")]
    Portal {
        root: String,
        token_url: Option<String>,
        authorize_url: String,
        oauth_token_url: String,
    },
}

/// A token with its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredToken {
    pub value: Secret,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A session to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub authority: AuthorityRecord,
    pub username: String,
    /// The OAuth app, for sessions signed in with the browser.
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub expiration_minutes: u32,
    #[serde(default = "two_weeks")]
    pub refresh_expiration_minutes: u32,
    pub referer: String,
    /// Secret: the current token of the server or portal.
    pub token: Option<StoredToken>,
    /// Secret: the OAuth refresh token.
    pub refresh_token: Option<StoredToken>,
}

impl AuthorityRecord {
    pub(super) fn of(authority: &Authority) -> AuthorityRecord {
        match authority {
            Authority::Server { root, token_url } => AuthorityRecord::Server {
                root: root.to_string(),
                token_url: token_url.to_string(),
            },
            Authority::Portal(p) => AuthorityRecord::Portal {
                root: p.root.to_string(),
                token_url: p.token_url.as_ref().map(Url::to_string),
                authorize_url: p.authorize_url.to_string(),
                oauth_token_url: p.oauth_token_url.to_string(),
            },
        }
    }

    pub(super) fn to_authority(&self) -> Result<Authority, SignInError> {
        let parse = |text: &str| {
            Url::parse(text).map_err(|e| SignInError::InvalidUrl {
                url: text.to_string(),
                reason: format!("the stored sign-in is damaged: {e}"),
            })
        };
        Ok(match self {
            AuthorityRecord::Server { root, token_url } => Authority::Server {
                root: parse(root)?,
                token_url: parse(token_url)?,
            },
            AuthorityRecord::Portal {
                root,
                token_url,
                authorize_url,
                oauth_token_url,
            } => Authority::Portal(Portal {
                root: parse(root)?,
                token_url: token_url.as_deref().map(parse).transpose()?,
                authorize_url: parse(authorize_url)?,
                oauth_token_url: parse(oauth_token_url)?,
            }),
        })
    }
}

impl StoredToken {
    pub(super) fn of(t: &TimedToken) -> StoredToken {
        StoredToken {
            value: Secret::new(t.token.expose()),
            issued_at_ms: t.issued_at_ms,
            expires_at_ms: t.expires_at_ms,
        }
    }

    pub(super) fn to_timed(&self) -> Option<TimedToken> {
        Some(TimedToken {
            token: Token::from_secret(&self.value)?,
            issued_at_ms: self.issued_at_ms,
            expires_at_ms: self.expires_at_ms,
        })
    }
}

impl SessionRecord {
    /// The token options the session asked with.
    pub(super) fn options(&self) -> TokenOptions {
        TokenOptions {
            expiration_minutes: self.expiration_minutes,
            referer: self.referer.clone(),
            refresh_expiration_minutes: self.refresh_expiration_minutes,
        }
    }
}

fn two_weeks() -> u32 {
    TokenOptions::default().refresh_expiration_minutes
}
