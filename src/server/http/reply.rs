//! Shaping replies: JSON with status 200, the ArcGIS error envelope, and the envelopes for an
//! operation error, an internal error, bad parameters and an unknown path.

use crate::protocol::{ParamError, ServiceError};
use crate::server::ops::OpError;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub(super) fn internal_error() -> ServiceError {
    ServiceError::new(
        500,
        "Unable to complete operation.",
        vec!["Internal server error; see the server log.".into()],
    )
}

pub(super) fn param_error(err: ParamError) -> ServiceError {
    ServiceError::new(
        400,
        "Invalid or missing input parameters.",
        vec![err.to_string()],
    )
}

/// A JSON reply with status 200.
pub(super) fn json<T: Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// The error envelope (status 200, as ArcGIS sends it, unless told otherwise).
pub(super) fn envelope(status: StatusCode, error: ServiceError) -> Response {
    (status, axum::Json(crate::protocol::ErrorEnvelope { error })).into_response()
}

pub(super) fn op_error(err: OpError) -> Response {
    match err {
        OpError::Service(e) => envelope(StatusCode::OK, e),
        OpError::Db(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "service database failure");
            envelope(StatusCode::INTERNAL_SERVER_ERROR, internal_error())
        }
    }
}

pub(super) async fn not_found(uri: Uri) -> Response {
    envelope(
        StatusCode::NOT_FOUND,
        ServiceError::new(
            404,
            "Requested resource not found.",
            vec![format!("No resource at {}", uri.path())],
        ),
    )
}
