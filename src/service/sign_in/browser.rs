//! [`BrowserSignIn`]: one OAuth 2.0 authorization-code sign-in with PKCE, from the authorize
//! URL the caller opens in the system browser to the session: the redirect arrives at the
//! loopback listener (state checked) or the user pastes the code shown for
//! `urn:ietf:wg:oauth:2.0:oob`; the code and its verifier are exchanged at `oauth2/token`.
//! It opens no browser itself.

use super::authority::Authority;
use super::authorize::{OUT_OF_BAND, Redirect, authorize_url};
use super::discovery::Portal;
use super::error::SignInError;
use super::generate_token::TokenOptions;
use super::http::SignInHttp;
use super::loopback::LoopbackListener;
use super::oauth_token::{self, OAuthApp};
use super::pkce::{Pkce, State};
use super::secure_url::require_secure;
use super::session::{Renewal, SignInSession};
use std::time::Duration;
use url::Url;

/// A browser sign-in under way.
#[derive(Debug)]
pub struct BrowserSignIn {
    http: SignInHttp,
    portal: Portal,
    app: OAuthApp,
    pkce: Pkce,
    state: State,
    listener: Option<LoopbackListener>,
    authorize_url: Url,
    options: TokenOptions,
}

impl BrowserSignIn {
    /// Prepares the sign-in: binds the loopback listener (for [`Redirect::Loopback`]) and builds
    /// the authorize URL, asking for `options.refresh_expiration_minutes` of refresh token.
    pub async fn start(
        http: &SignInHttp,
        portal: &Portal,
        client_id: &str,
        redirect: Redirect,
        options: TokenOptions,
    ) -> Result<BrowserSignIn, SignInError> {
        require_secure(&portal.authorize_url, "a sign-in")?;
        require_secure(&portal.oauth_token_url, "an authorization code")?;
        let (listener, redirect_uri) = match redirect {
            Redirect::Loopback { port, path } => {
                let listener = LoopbackListener::bind(port, &path).await?;
                let uri = listener.redirect_uri();
                (Some(listener), uri)
            }
            Redirect::OutOfBand => (None, OUT_OF_BAND.to_string()),
        };
        let pkce = Pkce::new_random();
        let state = State::new_random();
        let url = authorize_url(
            &portal.authorize_url,
            client_id,
            &redirect_uri,
            &state,
            &pkce,
            options.requested_refresh_minutes(),
        );
        Ok(BrowserSignIn {
            http: http.clone(),
            portal: portal.clone(),
            app: OAuthApp {
                client_id: client_id.to_string(),
                redirect_uri,
            },
            pkce,
            state,
            listener,
            authorize_url: url,
            options,
        })
    }

    /// The page to open in the browser.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The `redirect_uri` sent (the loopback address with its port, or the out-of-band URN).
    pub fn redirect_uri(&self) -> &str {
        &self.app.redirect_uri
    }

    /// Waits (up to `timeout`) for the browser to come back to the loopback listener, then
    /// exchanges the code. For an out-of-band sign-in, use [`BrowserSignIn::finish_with_code`].
    pub async fn finish(mut self, timeout: Duration) -> Result<SignInSession, SignInError> {
        let Some(listener) = self.listener.take() else {
            return Err(SignInError::AuthorizationDenied {
                error: "this sign-in has no listener; paste the code the portal shows".into(),
                description: String::new(),
            });
        };
        let code = listener.wait_for_code(&self.state, timeout).await?;
        self.exchange(code.expose()).await
    }

    /// Exchanges a code the user pasted (the `urn:ietf:wg:oauth:2.0:oob` flow).
    pub async fn finish_with_code(self, code: &str) -> Result<SignInSession, SignInError> {
        self.exchange(code.trim()).await
    }

    async fn exchange(self, code: &str) -> Result<SignInSession, SignInError> {
        let granted = oauth_token::exchange_code(
            &self.http,
            &self.portal.oauth_token_url,
            &self.app,
            code,
            self.pkce.verifier(),
        )
        .await?;
        Ok(SignInSession::new(
            self.http,
            Authority::Portal(self.portal),
            granted.username.unwrap_or_default(),
            self.options,
            Renewal::OAuth(self.app),
            granted.access,
            granted.refresh,
        ))
    }
}
