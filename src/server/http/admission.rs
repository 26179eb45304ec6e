//! Admitting a request before any handler sees it: the web-page checks of `cross_origin`, a
//! request slot (bounded in all and per client address; past it 503), and the request body,
//! read here under bounds so no handler ever holds an unbounded one. The caller's token is
//! checked first wherever it can be (the query string or the `X-Esri-Authorization` /
//! `Authorization` header): an invalid one is answered without reading the body. A request to
//! a token-secured service that carries no token there may carry it in its form body: that body
//! is read with the smaller "unverified" allowance, and the handler then checks the token.
//! Bodies hold bytes of a shared budget while they live (reserved before reading; a body that
//! finds the budget full for the stall timeout gets 503); a body that sends nothing for the
//! stall timeout, or not all within the read timeout, is answered 408 and its connection closed.

use super::cross_origin;
use super::reply::envelope;
use super::request::{Req, caller};
use super::state::AppState;
use crate::protocol::ServiceError;
use crate::server::limits::Limits;
use crate::server::slots::Full;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tokio::time::Instant;

/// Where the service's own requests start; every handler under it checks the caller's token.
const SERVICES_PATH: &str = "/arcgis/rest/services/";

/// How much of a body may be read, from which budget.
struct Allowance {
    cap: usize,
    budget: Arc<Semaphore>,
}

/// The middleware: checks, a slot, then the body read under its allowance.
pub(super) async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admission = &state.shared.admission;
    if let Some(refused) = cross_origin::refusal(&admission.own_hosts, &request) {
        return refused;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let _slot = match admission.requests.take(client) {
        Ok(slot) => slot,
        Err(full) => return busy(full),
    };
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let allowance = match allowance(&state, &request) {
        Ok(allowance) => allowance,
        Err(refused) => return *refused,
    };
    let (parts, body) = request.into_parts();
    let (bytes, _held) = match read_body(body, &allowance, &admission.limits).await {
        Ok(read) => read,
        Err(refused) => return *refused,
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The full allowance for a caller whose token checked out (or an anonymous service), the
/// unverified one when the token may be in the body, or the token's refusal.
fn allowance(state: &AppState, request: &Request) -> Result<Allowance, Box<Response>> {
    let admission = &state.shared.admission;
    let limits = &admission.limits;
    // A body larger than its whole budget could never be reserved.
    let unverified = Allowance {
        cap: limits
            .unverified_body_bytes
            .min(limits.unverified_budget_bytes),
        budget: admission.unverified_budget.clone(),
    };
    if !request.uri().path().starts_with(SERVICES_PATH) {
        return Ok(unverified);
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |info| info.0);
    let without_body = Req::new(peer, request.uri(), request.headers().clone(), &[]);
    match caller(&state.shared, &without_body) {
        Ok(_) => Ok(Allowance {
            cap: limits.max_body_bytes.min(limits.body_budget_bytes),
            budget: admission.body_budget.clone(),
        }),
        // "Token Required": none in the query string or the headers; it may be in the body.
        Err(missing) if missing.code == Some(499) => Ok(unverified),
        Err(refused) => Err(Box::new(envelope(StatusCode::OK, refused))),
    }
}

/// Reads the whole body within the allowance and the timeouts. Its share of the budget is
/// reserved before the first byte is read (the announced length, or the whole allowance for a
/// chunked body), so bodies never wait for each other half-read; the permit holds it until the
/// request is answered.
async fn read_body(
    body: Body,
    allowance: &Allowance,
    limits: &Limits,
) -> Result<(Bytes, OwnedSemaphorePermit), Box<Response>> {
    let announced = body.size_hint().exact();
    if announced.is_some_and(|len| len > allowance.cap as u64) {
        return Err(Box::new(too_large(allowance.cap)));
    }
    let reserved = announced.map_or(allowance.cap, |len| len as usize);
    let permits = u32::try_from(reserved).map_err(|_| Box::new(too_large(allowance.cap)))?;
    let held = tokio::time::timeout(
        limits.body_stall_timeout,
        allowance.budget.clone().acquire_many_owned(permits),
    )
    .await;
    let held = match held {
        Ok(Ok(held)) => held,
        _ => return Err(Box::new(busy(Full::Total))),
    };
    let deadline = Instant::now() + limits.body_read_timeout;
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::with_capacity(announced.map_or(0, |_| reserved));
    loop {
        let wait_until = deadline.min(Instant::now() + limits.body_stall_timeout);
        let chunk = match tokio::time::timeout_at(wait_until, stream.next()).await {
            Err(_) => return Err(Box::new(too_slow())),
            Ok(None) => break,
            Ok(Some(Err(err))) => {
                tracing::debug!(%err, "request body ended early");
                return Err(Box::new(unreadable()));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        if buffer.len() + chunk.len() > reserved {
            return Err(Box::new(too_large(allowance.cap)));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok((buffer.freeze(), held))
}

fn too_large(cap: usize) -> Response {
    envelope(
        StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::new(
            413,
            "Request Entity Too Large",
            vec![format!("The request body is larger than {cap} bytes.")],
        ),
    )
}

fn too_slow() -> Response {
    envelope(
        StatusCode::REQUEST_TIMEOUT,
        ServiceError::new(
            408,
            "Request Timeout",
            vec!["The request body did not arrive in time.".into()],
        ),
    )
}

fn unreadable() -> Response {
    envelope(
        StatusCode::BAD_REQUEST,
        ServiceError::new(
            400,
            "Unable to read the request.",
            vec!["The request body was cut off.".into()],
        ),
    )
}

/// 503 with `Retry-After`, which the client retries with backoff.
fn busy(full: Full) -> Response {
    let detail = match full {
        Full::Total => "The service is answering as many requests as it can; try again shortly.",
        Full::Client => "Too many requests from this address at once; try again shortly.",
    };
    let mut reply = envelope(
        StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::new(503, "Service Unavailable", vec![detail.into()]),
    );
    reply
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    reply
}
