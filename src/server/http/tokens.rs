//! The server's token service: `POST /arcgis/tokens/generateToken` (advertised in `rest/info`)
//! and `POST /arcgis/admin/generateToken` (what the ArcGIS API for Python uses against a
//! standalone server), the `authInfo` of `rest/info`, and what the portal's generateToken shares
//! with them: reading the request (`username`, `password`, `client`, `referer`, `ip`,
//! `expiration`), signing in (lock-outs, the bounded password checks) and the `{"token",
//! "expires", "ssl"}` reply, with ArcGIS's error wording (`docs/arcgis-auth.md`). Never logs a
//! password or a token.

use super::reply::{envelope, json};
use super::request::Req;
use super::state::{AppState, Shared};
use crate::protocol::ServiceError;
use crate::protocol::rules::Caller;
use crate::server::auth::SignInError;
use crate::server::auth::registry::{Audience, IssuedToken, expiry_ms};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The path of the server's token service, under the server root.
pub(super) const SERVER_TOKENS_PATH: &str = "/arcgis/tokens/generateToken";
/// The path of the portal's token service.
pub(super) const PORTAL_TOKENS_PATH: &str = "/sharing/rest/generateToken";

/// `authInfo` (and `owningSystemUrl` when federated) of the server's `rest/info`.
pub(super) fn server_info(shared: &Shared, req: &Req) -> serde_json::Value {
    let base = req.base_url(shared.settings.scheme());
    let secured = shared.require_token || shared.auth.has_password_accounts();
    let mut auth_info = serde_json::json!({ "isTokenBasedSecurity": secured });
    if secured {
        let tokens = if shared.federated {
            format!("{base}{PORTAL_TOKENS_PATH}")
        } else {
            format!("{base}{SERVER_TOKENS_PATH}")
        };
        auth_info["tokenServicesUrl"] = tokens.into();
        auth_info["shortLivedTokenValidity"] =
            (shared.auth.settings.token_lifetime.as_secs() / 60).into();
    }
    let mut info = serde_json::json!({
        "currentVersion": 11.1,
        "fullVersion": "11.1.0",
        "authInfo": auth_info,
    });
    if shared.federated {
        info["owningSystemUrl"] = base.into();
    }
    info
}

/// `generateToken` of the server (both paths): a server token for a user and password.
pub(super) async fn generate_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    if let Err(refused) = refuse_unless_post_body(&method, &uri) {
        return *refused;
    }
    let ask = match TokenAsk::read(&req) {
        Ok(ask) => ask,
        Err(e) => return envelope(StatusCode::OK, e),
    };
    let who = match sign_in(&state, &req, &ask).await {
        Ok(who) => who,
        Err(e) => return envelope(StatusCode::OK, e),
    };
    let lifetime = state.shared.auth.settings.token_lifetime_for(ask.minutes);
    issue(
        &state.shared,
        &who,
        Audience::Server,
        lifetime,
        ask.bound_to,
    )
}

/// Only POST, and never credentials in the URL (they would end up in logs and histories).
pub(super) fn refuse_unless_post_body(method: &Method, uri: &Uri) -> Result<(), Box<Response>> {
    if method != Method::POST {
        return Err(Box::new(envelope(
            StatusCode::METHOD_NOT_ALLOWED,
            ServiceError::new(
                405,
                "Method not allowed.",
                vec!["generateToken accepts POST only, with the parameters in the body.".into()],
            ),
        )));
    }
    if Req::query_has(uri, "password") || Req::query_has(uri, "token") {
        return Err(Box::new(envelope(
            StatusCode::OK,
            unable(vec![
                "Send the credentials in the request body, not in the URL.".into(),
            ]),
        )));
    }
    Ok(())
}

/// A generateToken request's parameters.
pub(super) struct TokenAsk {
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    /// `client=ip` / `requestip`: the address the token is bound to.
    pub(super) bound_to: Option<IpAddr>,
    /// `expiration`, minutes.
    pub(super) minutes: Option<u64>,
}

impl TokenAsk {
    /// Reads the parameters; `username` and `password` are checked by [`TokenAsk::credentials`].
    pub(super) fn read(req: &Req) -> Result<TokenAsk, ServiceError> {
        let p = &req.params;
        let bound_to = match p.text("client").map(str::to_ascii_lowercase).as_deref() {
            None | Some("requestip") => Some(req.peer),
            Some("referer") => {
                if p.text("referer").is_none() {
                    return Err(unable(vec!["'referer' must be specified.".into()]));
                }
                None
            }
            Some("ip") => match p.text("ip").and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
                Some(ip) => Some(ip),
                None => return Err(unable(vec!["'ip' must be specified.".into()])),
            },
            Some(_) => {
                return Err(unable(vec![
                    "'client' must be referer, ip or requestip.".into(),
                ]));
            }
        };
        let minutes = p
            .text("expiration")
            .and_then(|m| m.trim().parse::<f64>().ok())
            .filter(|m| m.is_finite() && *m > 0.0)
            // Whole minutes; a fraction rounds up so that a tiny expiration is not zero.
            .map(|m| m.ceil().min(u64::MAX as f64) as u64);
        Ok(TokenAsk {
            username: p.text("username").map(str::to_string),
            password: p.text("password").map(str::to_string),
            bound_to,
            minutes,
        })
    }

    /// The user name and password, both required.
    pub(super) fn credentials(&self) -> Result<(&str, &str), ServiceError> {
        let mut missing = Vec::new();
        if self.username.is_none() {
            missing.push("'username' must be specified.".to_string());
        }
        if self.password.is_none() {
            missing.push("'password' must be specified.".to_string());
        }
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Ok((u, p)),
            _ => Err(unable(missing)),
        }
    }
}

/// "Unable to generate token." with its details, as ArcGIS answers generateToken's failures.
pub(super) fn unable(details: Vec<String>) -> ServiceError {
    ServiceError::new(400, "Unable to generate token.", details)
}

/// Signs the request's user in (a bounded number of password checks at once, off the runtime).
pub(super) async fn sign_in(
    state: &AppState,
    req: &Req,
    ask: &TokenAsk,
) -> Result<Caller, ServiceError> {
    let (name, password) = ask.credentials()?;
    check_password(state, name, password, req.peer)
        .await
        .map_err(|e| unable(vec![sign_in_error_text(&e)]))
}

/// A password check through the auth state's semaphore, on a blocking thread.
pub(super) async fn check_password(
    state: &AppState,
    name: &str,
    password: &str,
    peer: IpAddr,
) -> Result<Caller, SignInError> {
    let Ok(_permit) = state.shared.auth.password_checks.acquire().await else {
        return Err(SignInError::Invalid);
    };
    let (name, password) = (name.to_string(), password.to_string());
    let shared = state.shared.clone();
    tokio::task::spawn_blocking(move || shared.auth.sign_in(&name, &password, peer))
        .await
        .unwrap_or(Err(SignInError::Invalid))
}

/// The one line a failed sign-in shows (the same for an unknown user and a wrong password).
pub(super) fn sign_in_error_text(error: &SignInError) -> String {
    match error {
        SignInError::Invalid => "Invalid username or password.".into(),
        SignInError::LockedOut { retry_after } => format!(
            "Too many failed sign-in attempts. Try again in {}.",
            wait_text(*retry_after)
        ),
    }
}

/// "15 minutes (after 02:45:10 UTC)" / "40 seconds (after …)".
fn wait_text(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    let amount = if secs >= 120 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    };
    let at = chrono::Utc::now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(0));
    format!("{amount} (after {} UTC)", at.format("%H:%M:%S"))
}

/// Issues a token for `who` and answers `{"token", "expires", "ssl"}`.
pub(super) fn issue(
    shared: &Shared,
    who: &Caller,
    audience: Audience,
    lifetime: Duration,
    bound_to: Option<IpAddr>,
) -> Response {
    let now = crate::server::now_ms();
    let expires = expiry_ms(now, lifetime);
    let token = shared.auth.registry.issue_token(
        IssuedToken {
            user: who.name.clone(),
            audience,
            expires_ms: expires,
            bound_to,
        },
        now,
    );
    json(&serde_json::json!({
        "token": token,
        "expires": expires,
        "ssl": shared.settings.https,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_out_text_says_when_to_try_again() {
        let text = sign_in_error_text(&SignInError::LockedOut {
            retry_after: Duration::from_secs(900),
        });
        assert!(
            text.starts_with("Too many failed sign-in attempts. Try again in 15 minutes (after ")
        );
        assert!(text.ends_with(" UTC)."));
        assert_eq!(
            wait_text(Duration::from_millis(300)).split(' ').next(),
            Some("1")
        );
    }
}
