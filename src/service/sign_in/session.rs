//! [`SignInSession`]: one signed-in user at one standalone server or portal, and the tokens it
//! makes. It keeps the token of its server or portal and, for a portal, one token per federated
//! server root; each is renewed a few minutes before its end, with what the sign-in left: a
//! remembered password (generateToken again) or an OAuth refresh token (`refresh_token`, and
//! `exchange_refresh_token` when the refresh token ends within a day). A portal token goes
//! only to the portal, to ArcGIS Online-hosted services when the portal is ArcGIS Online, and
//! into the exchange for a server whose `owningSystemUrl` is this portal. When nothing can
//! renew a token, the answer is [`SignInError::SignInNeeded`].

use super::authority::Authority;
use super::discovery::{Portal, owning_system, server_info};
use super::error::SignInError;
use super::generate_token::{self, ExchangeFailure, TokenOptions};
use super::http::SignInHttp;
use super::oauth_token::{self, OAuthApp};
use super::provider::{ProvidedToken, TokenProvider};
use super::record::{AuthorityRecord, SessionRecord, StoredToken};
use super::roots::{is_arcgis_online, is_owned_by, server_root_of};
use super::timed_token::{RENEW_BEFORE, TimedToken};
use crate::model::Secret;
use crate::model::now_ms;
use crate::service::Token;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// How the session renews its own token.
#[derive(Clone)]
pub(super) enum Renewal {
    /// Nothing: when the token ends, the user signs in again.
    None,
    /// generateToken with the password the user chose to remember.
    Password(Secret),
    /// The OAuth app; the refresh token is in the session's state (it changes).
    OAuth(OAuthApp),
}

/// How a federated server root is reached from a portal session.
#[derive(Debug, Clone)]
enum Route {
    /// The server uses no tokens.
    NoToken,
    /// The portal's token works there (ArcGIS Online-hosted services).
    Direct,
    /// A token of its own, exchanged for the portal's.
    Exchanged(Option<TimedToken>),
}

#[derive(Default)]
struct State {
    /// The token of the server or portal signed in to.
    primary: Option<TimedToken>,
    refresh: Option<TimedToken>,
    servers: HashMap<String, Route>,
}

/// Called after every renewal, with the record to keep (its secrets go to the secret store).
pub type RenewedFn = Arc<dyn Fn(&SessionRecord) + Send + Sync>;

/// A signed-in session. Cheap to clone; clones share tokens.
#[derive(Clone)]
pub struct SignInSession {
    inner: Arc<Inner>,
}

struct Inner {
    http: SignInHttp,
    authority: Authority,
    username: String,
    options: TokenOptions,
    renewal: Renewal,
    /// When the refresh token is exchanged for a new one (a day before its end).
    exchange_refresh_within: Duration,
    state: tokio::sync::Mutex<State>,
    on_renewed: Mutex<Option<RenewedFn>>,
}

impl std::fmt::Debug for SignInSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInSession")
            .field("authority", &self.inner.authority.root().as_str())
            .field("username", &self.inner.username)
            .finish_non_exhaustive()
    }
}

/// The refresh token is exchanged when it ends within this long (as arcgis-rest-js does).
pub const EXCHANGE_REFRESH_WITHIN: Duration = Duration::from_secs(24 * 3600);

impl SignInSession {
    pub(super) fn new(
        http: SignInHttp,
        authority: Authority,
        username: String,
        options: TokenOptions,
        renewal: Renewal,
        primary: Option<TimedToken>,
        refresh: Option<TimedToken>,
    ) -> SignInSession {
        SignInSession {
            inner: Arc::new(Inner {
                http,
                authority,
                username,
                options,
                renewal,
                exchange_refresh_within: EXCHANGE_REFRESH_WITHIN,
                state: tokio::sync::Mutex::new(State {
                    primary,
                    refresh,
                    servers: HashMap::new(),
                }),
                on_renewed: Mutex::new(None),
            }),
        }
    }

    /// A kept session again, renewing with its refresh token, or with `remembered_password`
    /// for a password sign-in the user chose to remember (without either it lasts as long as
    /// its token). Checks nothing over the network.
    pub fn restore(
        http: &SignInHttp,
        record: &SessionRecord,
        remembered_password: Option<Secret>,
    ) -> Result<SignInSession, SignInError> {
        let renewal = match (&record.client_id, &record.redirect_uri, remembered_password) {
            (Some(client_id), Some(redirect_uri), _) => Renewal::OAuth(OAuthApp {
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.clone(),
            }),
            (_, _, Some(password)) => Renewal::Password(password),
            _ => Renewal::None,
        };
        Ok(SignInSession::new(
            http.clone(),
            record.authority.to_authority()?,
            record.username.clone(),
            record.options(),
            renewal,
            record.token.as_ref().and_then(StoredToken::to_timed),
            record
                .refresh_token
                .as_ref()
                .and_then(StoredToken::to_timed),
        ))
    }

    pub fn username(&self) -> &str {
        &self.inner.username
    }

    pub fn authority(&self) -> &Authority {
        &self.inner.authority
    }

    /// Calls `f` after every renewal with the record to keep.
    pub fn on_renewed(&self, f: RenewedFn) {
        if let Ok(mut slot) = self.inner.on_renewed.lock() {
            *slot = Some(f);
        }
    }

    /// When the session's own token ends (epoch ms).
    pub async fn token_expires_at_ms(&self) -> Option<i64> {
        self.inner
            .state
            .lock()
            .await
            .primary
            .as_ref()
            .map(|t| t.expires_at_ms)
    }

    /// When the refresh token ends (epoch ms), for OAuth sessions.
    pub async fn refresh_expires_at_ms(&self) -> Option<i64> {
        self.inner
            .state
            .lock()
            .await
            .refresh
            .as_ref()
            .map(|t| t.expires_at_ms)
    }

    /// What to keep to restore this session later ([`SessionRecord::restore`]). The remembered
    /// password is not in it: the caller keeps that in the secret store itself.
    pub async fn record(&self) -> SessionRecord {
        let state = self.inner.state.lock().await;
        self.record_of(&state)
    }

    fn record_of(&self, state: &State) -> SessionRecord {
        let inner = &self.inner;
        let (client_id, redirect_uri) = match &inner.renewal {
            Renewal::OAuth(app) => (Some(app.client_id.clone()), Some(app.redirect_uri.clone())),
            _ => (None, None),
        };
        SessionRecord {
            authority: AuthorityRecord::of(&inner.authority),
            username: inner.username.clone(),
            client_id,
            redirect_uri,
            expiration_minutes: inner.options.expiration_minutes,
            refresh_expiration_minutes: inner.options.refresh_expiration_minutes,
            referer: inner.options.referer.clone(),
            token: state.primary.as_ref().map(StoredToken::of),
            refresh_token: state.refresh.as_ref().map(StoredToken::of),
        }
    }

    fn renewed(&self, state: &State) {
        let callback = self.inner.on_renewed.lock().ok().and_then(|s| s.clone());
        if let Some(f) = callback {
            f(&self.record_of(state));
        }
    }

    /// The token for requests to `service_url`, renewed first when it nears its end.
    pub async fn token_for_url(
        &self,
        service_url: &Url,
    ) -> Result<Option<ProvidedToken>, SignInError> {
        let root = server_root_of(service_url);
        let mut state = self.inner.state.lock().await;
        let token = match &self.inner.authority {
            Authority::Server { root: own, .. } => {
                if &root != own {
                    return Err(SignInError::SignInNeeded {
                        server: root.to_string(),
                        reason: format!("the sign-in is for {own}, not for this server"),
                    });
                }
                Some(self.primary(&mut state).await?)
            }
            Authority::Portal(portal) => self.portal_route(&mut state, portal, &root).await?,
        };
        Ok(token.map(|token| ProvidedToken {
            token,
            referer: Some(self.inner.options.referer.clone()),
        }))
    }

    /// Forgets `refused` (wherever it is kept) and hands out a renewed token.
    pub async fn renew_after_refusal(
        &self,
        service_url: &Url,
        refused: Option<&Token>,
    ) -> Result<Option<ProvidedToken>, SignInError> {
        {
            let root = server_root_of(service_url).to_string();
            let mut state = self.inner.state.lock().await;
            let is_refused = |t: &TimedToken| refused.is_none_or(|r| &t.token == r);
            if let Some(Route::Exchanged(slot)) = state.servers.get_mut(&root)
                && slot.as_ref().is_some_and(is_refused)
            {
                *slot = None;
            } else if state.primary.as_ref().is_some_and(is_refused) {
                state.primary = None;
            }
        }
        self.token_for_url(service_url).await
    }

    /// The session's own token, renewed when needed.
    async fn primary(&self, state: &mut State) -> Result<Token, SignInError> {
        let now = now_ms();
        if let Some(t) = state
            .primary
            .as_ref()
            .filter(|t| t.is_fresh(now, RENEW_BEFORE))
        {
            return Ok(t.token.clone());
        }
        let renewed = self
            .renew_primary(state)
            .await
            .map_err(|e| self.needed(e))?;
        state.primary = Some(renewed.clone());
        self.renewed(state);
        Ok(renewed.token)
    }

    async fn renew_primary(&self, state: &mut State) -> Result<TimedToken, SignInError> {
        let inner = &self.inner;
        match &inner.renewal {
            Renewal::None => Err(SignInError::SignInNeeded {
                server: inner.authority.root().to_string(),
                reason: "the token has ended and this sign-in keeps nothing to renew it with"
                    .into(),
            }),
            Renewal::Password(password) => {
                let token_url = self.generate_token_url()?;
                generate_token::with_password(
                    &inner.http,
                    &token_url,
                    &inner.username,
                    password,
                    &inner.options,
                )
                .await
            }
            Renewal::OAuth(app) => {
                let Authority::Portal(portal) = &inner.authority else {
                    return Err(SignInError::SignInNeeded {
                        server: inner.authority.root().to_string(),
                        reason: "OAuth needs a portal".into(),
                    });
                };
                let now = now_ms();
                let refresh = state
                    .refresh
                    .clone()
                    .filter(|r| !r.ends_within(now, Duration::ZERO))
                    .ok_or_else(|| SignInError::SignInNeeded {
                        server: portal.root.to_string(),
                        reason: "the refresh token has ended".into(),
                    })?;
                let refresh = if refresh.ends_within(now, inner.exchange_refresh_within) {
                    let granted = oauth_token::exchange_refresh_token(
                        &inner.http,
                        &portal.oauth_token_url,
                        app,
                        &refresh.token,
                    )
                    .await?;
                    let fresh = granted.refresh.unwrap_or(refresh);
                    state.refresh = Some(fresh.clone());
                    if let Some(access) = granted.access {
                        return Ok(access);
                    }
                    fresh
                } else {
                    refresh
                };
                let granted =
                    oauth_token::refresh(&inner.http, &portal.oauth_token_url, app, &refresh.token)
                        .await?;
                granted.access.ok_or_else(|| SignInError::SignInNeeded {
                    server: portal.root.to_string(),
                    reason: "the portal gave no access token".into(),
                })
            }
        }
    }

    fn generate_token_url(&self) -> Result<Url, SignInError> {
        match &self.inner.authority {
            Authority::Server { token_url, .. } => Ok(token_url.clone()),
            Authority::Portal(p) => {
                p.token_url
                    .clone()
                    .ok_or_else(|| SignInError::NoTokenService {
                        server: p.root.to_string(),
                    })
            }
        }
    }

    /// A renewal failure as the caller sees it: passing problems as they are, the rest
    /// "sign-in needed".
    fn needed(&self, e: SignInError) -> SignInError {
        if e.is_transient() || matches!(e, SignInError::SignInNeeded { .. }) {
            e
        } else {
            SignInError::SignInNeeded {
                server: self.inner.authority.root().to_string(),
                reason: e.to_string(),
            }
        }
    }

    /// The token for a server root from a portal session.
    async fn portal_route(
        &self,
        state: &mut State,
        portal: &Portal,
        root: &Url,
    ) -> Result<Option<Token>, SignInError> {
        let key = root.to_string();
        let route = match state.servers.get(&key) {
            Some(route) => route.clone(),
            None => {
                let route = self.route_to(portal, root).await?;
                state.servers.insert(key.clone(), route.clone());
                route
            }
        };
        match route {
            Route::NoToken => Ok(None),
            Route::Direct => Ok(Some(self.primary(state).await?)),
            Route::Exchanged(Some(t)) if t.is_fresh(now_ms(), RENEW_BEFORE) => Ok(Some(t.token)),
            Route::Exchanged(_) => {
                let minted = self.exchange(state, portal, root).await?;
                state
                    .servers
                    .insert(key, Route::Exchanged(Some(minted.clone())));
                Ok(Some(minted.token))
            }
        }
    }

    /// How `root` is reached: the portal itself and ArcGIS Online-hosted services take the
    /// portal's token; a server is asked for its `owningSystemUrl`, which must be this portal.
    async fn route_to(&self, portal: &Portal, root: &Url) -> Result<Route, SignInError> {
        if *root == portal.root {
            return Ok(Route::Direct);
        }
        if portal.is_arcgis_online() && is_arcgis_online(root) {
            return Ok(Route::Direct);
        }
        let info = server_info(&self.inner.http, root).await?;
        if !info
            .auth_info
            .as_ref()
            .is_some_and(|a| a.is_token_based_security)
        {
            return Ok(Route::NoToken);
        }
        let not_federated = |owner: String| SignInError::NotFederated {
            server: root.to_string(),
            portal: portal.root.to_string(),
            owner,
        };
        match owning_system(root, &info)? {
            None => Err(not_federated("the server has users of its own".into())),
            Some(owner) if !is_owned_by(&owner, &portal.root) => {
                Err(not_federated(format!("it belongs to {owner}")))
            }
            Some(_) => Ok(Route::Exchanged(None)),
        }
    }

    /// A server token for `root` from the portal's token; a refused portal token is renewed
    /// once.
    async fn exchange(
        &self,
        state: &mut State,
        portal: &Portal,
        root: &Url,
    ) -> Result<TimedToken, SignInError> {
        let token_url = portal
            .token_url
            .clone()
            .ok_or_else(|| SignInError::NoTokenService {
                server: portal.root.to_string(),
            })?;
        for attempt in 0..2 {
            let portal_token = self.primary(state).await?;
            match generate_token::for_server(
                &self.inner.http,
                &token_url,
                &portal_token,
                root,
                &self.inner.options,
            )
            .await
            {
                Ok(minted) => return Ok(minted),
                Err(ExchangeFailure::PortalTokenRefused) if attempt == 0 => state.primary = None,
                Err(ExchangeFailure::PortalTokenRefused) => break,
                Err(ExchangeFailure::Failed(e)) => return Err(self.needed(e)),
            }
        }
        Err(SignInError::SignInNeeded {
            server: portal.root.to_string(),
            reason: "the portal refused its own renewed token".into(),
        })
    }
}

impl TokenProvider for SignInSession {
    fn token_for<'a>(
        &'a self,
        service_url: &'a Url,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>> {
        Box::pin(self.token_for_url(service_url))
    }

    fn renew_refused<'a>(
        &'a self,
        service_url: &'a Url,
        refused: Option<&'a Token>,
    ) -> BoxFuture<'a, Result<Option<ProvidedToken>, SignInError>> {
        Box::pin(self.renew_after_refusal(service_url, refused))
    }
}
