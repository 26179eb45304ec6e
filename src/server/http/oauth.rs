//! The built-in portal's OAuth 2.0 endpoints: `/sharing/rest/oauth2/authorize` (GET shows the
//! sign-in form for a registered app and redirect URI; POST signs in and redirects to
//! `redirect_uri?code=…&state=…`, or shows the code for `urn:ietf:wg:oauth:2.0:oob`) and
//! `POST /sharing/rest/oauth2/token` (`authorization_code` with PKCE, `refresh_token`,
//! `exchange_refresh_token`). Replies and errors as ArcGIS's (`docs/arcgis-auth.md`): errors are
//! `{"error": {"code", "error", "error_description", "message", "details"}}` in a 200 body.
//! Access tokens are portal tokens (exchange them for a server token with `serverUrl`).

use super::reply::json;
use super::request::Req;
use super::sign_in_page::{code_page, error_page, form};
use super::state::AppState;
use super::tokens::{check_password, sign_in_error_text};
use crate::protocol::FormParams;
use crate::server::auth::pkce::{Challenge, ChallengeMethod};
use crate::server::auth::registry::{Audience, CodeGrant, IssuedToken, RefreshGrant, expiry_ms};
use crate::server::auth::{OAuthApp, TokenRefusal};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The redirect URI of apps that show the code to copy instead of redirecting.
pub const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The OAuth parameters of an authorize request (GET query, or the form's hidden fields).
const AUTHORIZE_PARAMS: [&str; 7] = [
    "client_id",
    "response_type",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "expiration",
];

/// An authorize request that may be answered (known app, registered redirect).
struct Authorize<'a> {
    params: &'a FormParams,
    app: &'a OAuthApp,
    redirect_uri: &'a str,
    challenge: Option<Challenge>,
}

/// Checks an authorize request; the error is shown on a page, never sent to a redirect.
fn check_authorize<'a>(
    state: &'a AppState,
    params: &'a FormParams,
) -> Result<Authorize<'a>, &'static str> {
    let bad = |message: &'static str| Err(message);
    let Some(app) = params
        .text("client_id")
        .and_then(|id| state.shared.auth.app(id))
    else {
        return bad("Invalid client_id");
    };
    let Some(redirect_uri) = params
        .text("redirect_uri")
        .filter(|r| app.allows_redirect(r))
    else {
        return bad("Invalid redirect_uri");
    };
    if !params
        .text("response_type")
        .is_some_and(|t| t.eq_ignore_ascii_case("code"))
    {
        return bad("Invalid response_type: this portal supports response_type=code.");
    }
    let challenge = match params.text("code_challenge") {
        None => None,
        Some(value) => match ChallengeMethod::parse(params.text("code_challenge_method")) {
            Some(method) => Some(Challenge {
                method,
                value: value.to_string(),
            }),
            None => return bad("Invalid code_challenge_method"),
        },
    };
    Ok(Authorize {
        params,
        app,
        redirect_uri,
        challenge,
    })
}

fn hidden_fields(params: &FormParams) -> Vec<(&'static str, &str)> {
    AUTHORIZE_PARAMS
        .iter()
        .map(|name| (*name, params.text(name).unwrap_or("")))
        .collect()
}

/// `GET /sharing/rest/oauth2/authorize`: the sign-in form. `POST`: the form's submission.
pub(super) async fn authorize(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    let request = match check_authorize(&state, &req.params) {
        Ok(request) => request,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, message),
    };
    if method != Method::POST {
        return form(&hidden_fields(&req.params), "", None);
    }
    let username = req.params.text("username").unwrap_or("");
    let password = req.params.text("password").unwrap_or("");
    let who = match check_password(&state, username, password, req.peer).await {
        Ok(who) => who,
        Err(e) => {
            let text = sign_in_error_text(&e);
            return form(&hidden_fields(&req.params), username, Some(&text));
        }
    };
    let settings = &state.shared.auth.settings;
    let refresh_minutes = request
        .params
        .text("expiration")
        .and_then(|m| m.trim().parse::<u64>().ok());
    let now = crate::server::now_ms();
    let code = state.shared.auth.registry.issue_code(
        CodeGrant {
            user: who.name,
            client_id: request.app.client_id.clone(),
            redirect_uri: request.redirect_uri.to_string(),
            challenge: request.challenge.clone(),
            refresh_lifetime: settings.refresh_lifetime_for(refresh_minutes),
            expires_ms: expiry_ms(now, settings.code_lifetime),
        },
        now,
    );
    if request.redirect_uri == OUT_OF_BAND {
        return code_page(&code);
    }
    redirect_with_code(request.redirect_uri, &code, request.params.text("state"))
}

/// 302 to `redirect_uri` with `code` (and `state`) added to its query.
fn redirect_with_code(redirect_uri: &str, code: &str, state: Option<&str>) -> Response {
    let target = match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("code", code);
                if let Some(state) = state {
                    query.append_pair("state", state);
                }
            }
            url.to_string()
        }
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "Invalid redirect_uri"),
    };
    match HeaderValue::from_str(&target) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "Invalid redirect_uri"),
    }
}

/// An OAuth error as ArcGIS sends it.
fn oauth_error(code: i64, error: &str, description: &str) -> Response {
    json(&serde_json::json!({
        "error": {
            "code": code,
            "error": error,
            "error_description": description,
            "message": description,
            "details": [],
        }
    }))
}

/// `POST /sharing/rest/oauth2/token`.
pub(super) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    if method != Method::POST {
        return oauth_error(405, "invalid_request", "oauth2/token accepts POST only.");
    }
    if let Some(wait) = state.shared.auth.guesses_locked_for(req.peer) {
        return too_many_guesses(wait);
    }
    let Some(app) = req
        .params
        .text("client_id")
        .and_then(|id| state.shared.auth.app(id))
    else {
        return oauth_error(400, "invalid_client_id", "Invalid client_id");
    };
    match req.params.text("grant_type") {
        Some("authorization_code") => exchange_code(&state, &req, app),
        Some("refresh_token") => refresh(&state, &req, app, false),
        Some("exchange_refresh_token") => refresh(&state, &req, app, true),
        _ => oauth_error(400, "unsupported_grant_type", "Invalid grant_type"),
    }
}

fn too_many_guesses(wait: Duration) -> Response {
    oauth_error(
        429,
        "invalid_request",
        &format!(
            "Too many invalid codes or tokens from this address; try again in {} seconds.",
            wait.as_secs().max(1)
        ),
    )
}

/// Counts a wrong code or refresh token from the request's address.
fn guessed(state: &AppState, req: &Req, refusal: Response) -> Response {
    match state.shared.auth.guessed(req.peer, Instant::now()) {
        Some(TokenRefusal::TooManyGuesses { retry_after }) => too_many_guesses(retry_after),
        _ => refusal,
    }
}

fn exchange_code(state: &AppState, req: &Req, app: &OAuthApp) -> Response {
    let invalid_code = || oauth_error(400, "invalid_request", "Invalid authorization code");
    let Some(redirect_uri) = req
        .params
        .text("redirect_uri")
        .filter(|r| app.allows_redirect(r))
    else {
        return oauth_error(400, "invalid_request", "Invalid redirect_uri");
    };
    // Taken whatever follows: a code is good for one exchange attempt.
    let Some(grant) = req
        .params
        .text("code")
        .and_then(|c| state.shared.auth.registry.take_code(c))
    else {
        return guessed(state, req, invalid_code());
    };
    let now = crate::server::now_ms();
    if grant.client_id != app.client_id || grant.expires_ms <= now {
        return guessed(state, req, invalid_code());
    }
    if grant.redirect_uri != redirect_uri {
        return oauth_error(400, "invalid_request", "Invalid redirect_uri");
    }
    if let Some(challenge) = &grant.challenge {
        let answered = req
            .params
            .text("code_verifier")
            .is_some_and(|v| challenge.is_answered_by(v));
        if !answered {
            return guessed(
                state,
                req,
                oauth_error(400, "invalid_request", "Invalid code_verifier"),
            );
        }
    }
    tokens_reply(
        state,
        &grant.user,
        &app.client_id,
        Some(grant.refresh_lifetime),
    )
}

fn refresh(state: &AppState, req: &Req, app: &OAuthApp, exchange: bool) -> Response {
    if exchange
        && !req
            .params
            .text("redirect_uri")
            .is_some_and(|r| app.allows_redirect(r))
    {
        return oauth_error(400, "invalid_request", "Invalid redirect_uri");
    }
    let invalid = || oauth_error(498, "invalid_request", "Invalid refresh_token");
    let Some(grant) = req
        .params
        .text("refresh_token")
        .and_then(|t| state.shared.auth.registry.refresh_token(t))
        .filter(|g| g.client_id == app.client_id)
    else {
        return guessed(state, req, invalid());
    };
    if grant.expires_ms <= crate::server::now_ms() {
        return oauth_error(498, "invalid_request", "refresh_token expired");
    }
    let new_refresh = exchange.then(|| {
        let minutes = req
            .params
            .text("expiration")
            .and_then(|m| m.trim().parse::<u64>().ok());
        state.shared.auth.settings.refresh_lifetime_for(minutes)
    });
    tokens_reply(state, &grant.user, &app.client_id, new_refresh)
}

/// `access_token`, `expires_in`, `username`, `ssl`, and with `refresh_lifetime` a new
/// `refresh_token` and `refresh_token_expires_in`.
fn tokens_reply(
    state: &AppState,
    user: &str,
    client_id: &str,
    refresh_lifetime: Option<Duration>,
) -> Response {
    let auth = &state.shared.auth;
    let now = crate::server::now_ms();
    let lifetime = auth.settings.access_lifetime();
    let access_token = auth.registry.issue_token(
        IssuedToken {
            user: user.to_string(),
            audience: Audience::Portal,
            expires_ms: expiry_ms(now, lifetime),
            bound_to: None,
        },
        now,
    );
    let mut reply = serde_json::json!({
        "access_token": access_token,
        "expires_in": lifetime.as_secs(),
        "username": user,
        "ssl": state.shared.settings.https,
    });
    if let Some(refresh_lifetime) = refresh_lifetime {
        let refresh_token = auth.registry.issue_refresh_token(
            RefreshGrant {
                user: user.to_string(),
                client_id: client_id.to_string(),
                expires_ms: expiry_ms(now, refresh_lifetime),
            },
            now,
        );
        reply["refresh_token"] = refresh_token.into();
        reply["refresh_token_expires_in"] = refresh_lifetime.as_secs().into();
    }
    json(&reply)
}
