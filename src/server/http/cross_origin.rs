//! Refusing requests from web pages: a `Host` that is not one of the service's own names (DNS
//! rebinding) and a state-changing request sent by a page of another origin (a cross-site form
//! POST of `unRegisterReplica`), told by its `Origin` header or the browser's
//! `Sec-Fetch-Site`. Both get 403 with the ArcGIS error envelope. Programs (the client, curl,
//! the ArcGIS API for Python) send neither header and pass. No CORS header is ever sent, so a
//! foreign page cannot read a reply either. Owns only these checks.

use super::reply::envelope;
use crate::protocol::ServiceError;
use crate::server::own_hosts::OwnHosts;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;

/// The operations whose GET changes state (ArcGIS accepts them as GET too).
const STATE_CHANGING_OPS: [&str; 3] = ["createreplica", "synchronizereplica", "unregisterreplica"];

/// The 403 reply for a request a web page must not make, or `None` to let it through.
pub(super) fn refusal(own: &OwnHosts, request: &Request) -> Option<Response> {
    let headers = request.headers();
    if let Some(host) = headers.get(header::HOST) {
        let named = host.to_str().ok().is_some_and(|h| own.accepts_host(h));
        if !named {
            tracing::warn!(host = ?host, "request for a foreign Host refused");
            return Some(forbidden("The Host header does not name this service."));
        }
    }
    if changes_state(request) && sent_by_another_site(own, headers) {
        tracing::warn!(
            path = request.uri().path(),
            "cross-origin state-changing request refused"
        );
        return Some(forbidden(
            "Requests from another web origin may not change this service.",
        ));
    }
    None
}

/// POST and the other unsafe methods, and the replica operations in any method.
fn changes_state(request: &Request) -> bool {
    let method = request.method();
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let last = request.uri().path().rsplit('/').next().unwrap_or("");
    STATE_CHANGING_OPS.contains(&last.to_ascii_lowercase().as_str())
}

/// A foreign (or `null`) `Origin`, or a browser saying the request comes from another site.
fn sent_by_another_site(own: &OwnHosts, headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own_origin = origin.to_str().ok().is_some_and(|o| own.accepts_origin(o));
        if !own_origin {
            return true;
        }
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| {
            site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site")
        })
}

fn forbidden(detail: &str) -> Response {
    envelope(
        StatusCode::FORBIDDEN,
        ServiceError::new(
            403,
            "You do not have permissions to access this resource or perform this operation.",
            vec![detail.into()],
        ),
    )
}
