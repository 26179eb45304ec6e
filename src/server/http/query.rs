//! The layer `query` resource (`…/FeatureServer/<layerId>/query`, GET or POST form): reads the
//! parameters, checks the caller like every read resource, runs `ops::query` off the runtime and
//! answers with JSON (FeatureSet, count or ids) or GeoJSON. Bad parameters get ArcGIS's
//! "Invalid query parameters" envelope.

use super::reply::{envelope, json, not_found, op_error};
use super::request::{Req, service_caller};
use super::state::AppState;
use crate::protocol::{ParamError, QueryParams, ServiceError};
use crate::server::ops::{self, QUERY_REFUSED, QueryOutput};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

pub(super) async fn layer_query(
    State(state): State<AppState>,
    Path((service, layer)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    let who = match service_caller(&state.shared, &service, &req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Ok(layer_id) = layer.parse::<i64>() else {
        return not_found(uri).await;
    };
    let params = match QueryParams::from_form(&req.params) {
        Ok(p) => p,
        Err(e) => return envelope(StatusCode::OK, refused(e)),
    };
    let result = state
        .blocking(move |s| ops::query(&s.core(), &who, layer_id, &params))
        .await;
    match result {
        Ok(QueryOutput::Features(reply)) => json(&reply),
        Ok(QueryOutput::Count(reply)) => json(&reply),
        Ok(QueryOutput::Ids(reply)) => json(&reply),
        Ok(QueryOutput::GeoJson(collection)) => (
            [(header::CONTENT_TYPE, "application/geo+json")],
            collection.to_string(),
        )
            .into_response(),
        Err(e) => op_error(e),
    }
}

fn refused(err: ParamError) -> ServiceError {
    let detail = match &err {
        ParamError::Invalid { name, reason } => format!("'{name}' parameter is invalid: {reason}"),
        ParamError::Missing(name) => format!("'{name}' parameter is missing"),
    };
    ServiceError::new(400, QUERY_REFUSED, vec![detail])
}
