//! The built-in portal's token routes, on the same process as the service: `/sharing/rest/info`
//! (its `authInfo.tokenServicesUrl`) and `POST /sharing/rest/generateToken`, which answers a user
//! and password with a portal token, or with a server token for `serverUrl` (the service's server
//! root, when it is federated to this portal), and exchanges a portal `token` for a server token
//! the same way. The OAuth endpoints are `oauth`'s. Wording as ArcGIS's (`docs/arcgis-auth.md`).

use super::reply::{envelope, json};
use super::request::{Req, token_error};
use super::state::{AppState, Shared};
use super::tokens::{
    PORTAL_TOKENS_PATH, TokenAsk, issue, refuse_unless_post_body, sign_in, unable,
};
use crate::protocol::ServiceError;
use crate::protocol::rules::Caller;
use crate::server::auth::registry::Audience;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::net::SocketAddr;

/// `/sharing/rest/info`.
pub(super) async fn info(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    let base = req.base_url(state.shared.settings.scheme());
    json(&serde_json::json!({
        "owningSystemUrl": base,
        "authInfo": {
            "tokenServicesUrl": format!("{base}{PORTAL_TOKENS_PATH}"),
            "isTokenBasedSecurity": true,
        },
    }))
}

/// `/sharing/rest/generateToken`.
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
    match mint(&state, &req).await {
        Ok(response) => response,
        Err(e) => envelope(StatusCode::OK, e),
    }
}

async fn mint(state: &AppState, req: &Req) -> Result<Response, ServiceError> {
    let ask = TokenAsk::read(req)?;
    let audience = match req.params.text("serverUrl") {
        Some(server_url) => {
            check_federated_server(&state.shared, req, server_url)?;
            Audience::Server
        }
        None => Audience::Portal,
    };
    let who = match (&ask.username, req.params.text("token")) {
        (None, Some(portal_token)) => portal_caller(&state.shared, req, portal_token, audience)?,
        _ => sign_in(state, req, &ask).await?,
    };
    let lifetime = state.shared.auth.settings.token_lifetime_for(ask.minutes);
    Ok(issue(&state.shared, &who, audience, lifetime, ask.bound_to))
}

/// The user behind a portal token being exchanged for a server token.
fn portal_caller(
    shared: &Shared,
    req: &Req,
    portal_token: &str,
    audience: Audience,
) -> Result<Caller, ServiceError> {
    if audience != Audience::Server {
        return Err(unable(vec!["'serverUrl' must be specified.".into()]));
    }
    shared
        .auth
        .token_caller(
            portal_token,
            Audience::Portal,
            req.peer,
            crate::server::now_ms(),
        )
        .map_err(|refusal| token_error(refusal, "Invalid token."))
}

/// `serverUrl` must be the root of the service's server (`<this host>/arcgis`, with or without
/// `/rest/services`), and that server federated to this portal.
fn check_federated_server(
    shared: &Shared,
    req: &Req,
    server_url: &str,
) -> Result<(), ServiceError> {
    let ours = format!("{}/arcgis", req.base_url(shared.settings.scheme()));
    if shared.federated && same_server_root(server_url, &ours) {
        Ok(())
    } else {
        Err(unable(vec![format!(
            "'serverUrl' {server_url:?} is not a server federated with this portal."
        )]))
    }
}

/// Whether `url` names the server root `root` (scheme and host case-insensitive, the suffixes
/// `/rest` and `/rest/services` and a trailing slash ignored).
fn same_server_root(url: &str, root: &str) -> bool {
    let normalise = |u: &str| {
        let mut u = u.trim().trim_end_matches('/').to_ascii_lowercase();
        for suffix in ["/rest/services", "/rest"] {
            if let Some(stripped) = u.strip_suffix(suffix) {
                u = stripped.to_string();
            }
        }
        // The scheme may differ behind a proxy; the host, port and path may not.
        u.split_once("://")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or(u)
    };
    normalise(url) == normalise(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_roots_match_with_or_without_rest_services() {
        let root = "http://127.0.0.1:4000/arcgis";
        assert!(same_server_root("http://127.0.0.1:4000/arcgis/", root));
        assert!(same_server_root(
            "HTTPS://127.0.0.1:4000/arcgis/rest/services",
            root
        ));
        assert!(!same_server_root("http://127.0.0.1:4001/arcgis", root));
        assert!(!same_server_root("http://127.0.0.1:4000/server", root));
    }
}
