//! Reading a request: its parameters (query string and form body, case-insensitive names), the
//! address the client used, its token and the user behind it, and whether it names our service.

use super::reply::envelope;
use super::state::Shared;
use crate::protocol::rules::Caller;
use crate::protocol::{FormParams, ServiceError};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

/// The parsed parts of a request every handler needs.
pub(super) struct Req {
    pub(super) params: FormParams,
    headers: HeaderMap,
}

impl Req {
    pub(super) fn new(uri: &Uri, headers: HeaderMap, body: &[u8]) -> Req {
        let mut params = FormParams::parse(uri.query().unwrap_or("").as_bytes());
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| !ct.starts_with("multipart/") && !ct.contains("json"));
        if is_form && !body.is_empty() {
            params.extend(FormParams::parse(body));
        }
        Req { params, headers }
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

    fn token(&self) -> Option<String> {
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

/// The user behind the request's token: 499 without one when tokens are required, 498 for an
/// unknown token.
pub(super) fn caller(shared: &Shared, req: &Req) -> Result<Caller, ServiceError> {
    match req.token() {
        None if shared.require_token => Err(ServiceError::new(499, "Token Required", Vec::new())),
        None => Ok(Caller::default()),
        Some(token) => shared
            .users
            .iter()
            .find(|u| u.token == token)
            .map(|u| Caller {
                name: u.name.clone(),
                is_admin: u.admin,
            })
            .ok_or_else(|| ServiceError::new(498, "Invalid token.", Vec::new())),
    }
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
