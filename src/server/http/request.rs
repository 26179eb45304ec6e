//! Reading a request: its parameters (query string and form body, case-insensitive names), the
//! address the client used, the peer it came from, its token and the user behind it
//! ([`authenticate`], the service's one token check), and whether it names our service.

use super::reply::envelope;
use super::state::Shared;
use crate::protocol::rules::Caller;
use crate::protocol::{FormParams, ServiceError};
use crate::server::auth::TokenRefusal;
use crate::server::auth::registry::Audience;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// The parsed parts of a request every handler needs.
pub(super) struct Req {
    pub(super) params: FormParams,
    headers: HeaderMap,
    /// The address the connection came from (token guesses and sign-ins are limited per address).
    pub(super) peer: IpAddr,
}

impl Req {
    pub(super) fn new(peer: SocketAddr, uri: &Uri, headers: HeaderMap, body: &[u8]) -> Req {
        let mut params = FormParams::parse(uri.query().unwrap_or("").as_bytes());
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| !ct.starts_with("multipart/") && !ct.contains("json"));
        if is_form && !body.is_empty() {
            params.extend(FormParams::parse(body));
        }
        Req {
            params,
            headers,
            peer: peer.ip(),
        }
    }

    /// The query string's own parameters (credentials must not come that way).
    pub(super) fn query_has(uri: &Uri, name: &str) -> bool {
        FormParams::parse(uri.query().unwrap_or("").as_bytes())
            .text(name)
            .is_some()
    }

    /// `scheme://host:port` as the client addressed us (the `Host` was checked on admission).
    pub(super) fn base_url(&self, scheme: &str) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            })
            .unwrap_or("127.0.0.1");
        format!("{scheme}://{host}")
    }

    /// The token the request carries: the `token` parameter, else an `Authorization` or
    /// `X-Esri-Authorization` header (`Bearer <token>`).
    pub(super) fn token(&self) -> Option<String> {
        if let Some(t) = self.params.text("token") {
            return Some(t.to_string());
        }
        for name in [header::AUTHORIZATION.as_str(), "x-esri-authorization"] {
            if let Some(value) = self.headers.get(name).and_then(|v| v.to_str().ok()) {
                let value = value.trim();
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .unwrap_or(value)
                    .trim();
                if !token.is_empty() {
                    return Some(token.to_string());
                }
            }
        }
        None
    }
}

/// The user behind the request's token; see [`authenticate`].
pub(super) fn caller(shared: &Shared, req: &Req) -> Result<Caller, ServiceError> {
    authenticate(shared, req.token().as_deref(), req.peer)
}

/// The service's one token check: which caller `token` (sent from `peer`) stands for. No token:
/// anonymous, or 499 "Token Required" when the service requires tokens. A token that is not a
/// fixed token of the definition nor an unexpired server token issued by this service (portal
/// tokens are foreign here: exchange them with `serverUrl`): 498 "Invalid Token". Too many invalid
/// tokens from one address lock it out of token checks for a while (code 429).
pub(super) fn authenticate(
    shared: &Shared,
    token: Option<&str>,
    peer: IpAddr,
) -> Result<Caller, ServiceError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return if shared.require_token {
            Err(ServiceError::new(499, "Token Required", Vec::new()))
        } else {
            Ok(Caller::default())
        };
    };
    shared
        .auth
        .token_caller(token, Audience::Server, peer, crate::server::now_ms())
        .map_err(|refusal| token_error(refusal, "Invalid Token"))
}

/// The error envelope of a refused token (`invalid` is the wording of the side refusing it:
/// the server's "Invalid Token", the portal's "Invalid token.").
pub(super) fn token_error(refusal: TokenRefusal, invalid: &str) -> ServiceError {
    match refusal {
        TokenRefusal::Invalid { expired: true } => {
            ServiceError::new(498, invalid, vec!["Token has expired.".into()])
        }
        TokenRefusal::Invalid { expired: false } => ServiceError::new(498, invalid, Vec::new()),
        TokenRefusal::TooManyGuesses { retry_after } => ServiceError::new(
            429,
            "Too many invalid tokens.",
            vec![format!(
                "Too many invalid tokens from this address; try again in {} seconds.",
                retry_after.as_secs().max(1)
            )],
        ),
    }
}

/// The caller of a request to `service`: a 404 reply when the service is not ours, the token's
/// error envelope when the caller cannot be known.
pub(super) fn service_caller(
    shared: &Shared,
    service: &str,
    req: &Req,
) -> Result<Caller, Box<Response>> {
    check_service(shared, service)?;
    caller(shared, req).map_err(|e| Box::new(envelope(StatusCode::OK, e)))
}

/// The 404 reply for a service name that is not ours.
pub(super) fn check_service(shared: &Shared, service: &str) -> Result<(), Box<Response>> {
    if service.eq_ignore_ascii_case(&shared.service_name) {
        Ok(())
    } else {
        Err(Box::new(envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Service not found.",
                vec![format!("No service named {service:?}")],
            ),
        )))
    }
}
