//! [`SignInClient`]: the entry the engine and the front ends call: discover how to sign in for
//! a URL, sign in with a username and password (generateToken at the server or portal), start
//! a browser sign-in (OAuth with PKCE) and restore a kept session. The password is used for
//! one request and dropped unless the caller asks to remember it (then only the session holds
//! it, to renew tokens).

use super::authority::Authority;
use super::authorize::Redirect;
use super::browser::BrowserSignIn;
use super::discovery::{self, Portal, SignInPlan};
use super::error::SignInError;
use super::generate_token::{self, TokenOptions};
use super::http::SignInHttp;
use super::record::SessionRecord;
use super::session::{Renewal, SignInSession};
use crate::model::Secret;
use crate::service::ClientConfig;

/// Signs in to ArcGIS servers and portals.
#[derive(Debug, Clone)]
pub struct SignInClient {
    http: SignInHttp,
}

/// Whether a password is kept to renew tokens without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RememberPassword {
    /// Used once and dropped: when the token ends, the user signs in again.
    No,
    /// Kept by the session (the caller also keeps it in the secret store, never elsewhere).
    Yes,
}

impl SignInClient {
    /// A sign-in client with the timeouts and the trusted certificates of `config`.
    pub fn new(config: &ClientConfig) -> Result<SignInClient, SignInError> {
        Ok(SignInClient {
            http: SignInHttp::new(config)?,
        })
    }

    /// How to sign in for `url` (a service, a server, a portal, ArcGIS Online).
    pub async fn discover(&self, url: &str) -> Result<SignInPlan, SignInError> {
        discovery::discover(&self.http, url).await
    }

    /// Signs in with a username and password where `plan` says.
    pub async fn sign_in_with_password(
        &self,
        plan: &SignInPlan,
        username: &str,
        password: Secret,
        remember: RememberPassword,
        options: TokenOptions,
    ) -> Result<SignInSession, SignInError> {
        let authority = match plan {
            SignInPlan::NotNeeded { server_root } => {
                return Err(SignInError::Refused {
                    operation: "sign-in",
                    host: server_root.host_str().unwrap_or("").to_string(),
                    message: "this server does not use tokens; no sign-in is needed".into(),
                    code: None,
                });
            }
            SignInPlan::Server(s) => Authority::Server {
                root: s.server_root.clone(),
                token_url: s.token_url.clone(),
            },
            SignInPlan::Portal(p) => Authority::Portal(p.portal.clone()),
        };
        let token_url = match &authority {
            Authority::Server { token_url, .. } => token_url.clone(),
            Authority::Portal(p) => {
                p.token_url
                    .clone()
                    .ok_or_else(|| SignInError::NoTokenService {
                        server: p.root.to_string(),
                    })?
            }
        };
        let token =
            generate_token::with_password(&self.http, &token_url, username, &password, &options)
                .await?;
        let renewal = match remember {
            RememberPassword::Yes => Renewal::Password(password),
            RememberPassword::No => Renewal::None,
        };
        Ok(SignInSession::new(
            self.http.clone(),
            authority,
            username.to_string(),
            options,
            renewal,
            Some(token),
            None,
        ))
    }

    /// Starts a browser sign-in at `portal` for the registered app `client_id`; open
    /// [`BrowserSignIn::authorize_url`] in the browser, then `finish` it.
    pub async fn start_browser_sign_in(
        &self,
        portal: &Portal,
        client_id: &str,
        redirect: Redirect,
        options: TokenOptions,
    ) -> Result<BrowserSignIn, SignInError> {
        BrowserSignIn::start(&self.http, portal, client_id, redirect, options).await
    }

    /// A kept session again (see [`SignInSession::restore`]).
    pub fn restore(
        &self,
        record: &SessionRecord,
        remembered_password: Option<Secret>,
    ) -> Result<SignInSession, SignInError> {
        SignInSession::restore(&self.http, record, remembered_password)
    }
}
