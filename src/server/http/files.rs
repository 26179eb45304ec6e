//! Serving files: an attachment's data (`…/FeatureServer/<layer>/<objectId>/attachments/<id>`)
//! and result files from the output directory (`output_dir`), each with its content type.

use super::reply::{envelope, not_found, op_error};
use super::request::{Req, caller, check_service};
use super::state::AppState;
use crate::protocol::ServiceError;
use crate::server::ops;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use std::net::SocketAddr;

/// `…/FeatureServer/<layer>/<objectId>/attachments/<attachmentId>`: an attachment's data, with
/// its content type. 404 with the envelope for an unknown or deleted attachment, or one whose
/// parent the caller may not see.
pub(super) async fn attachment_file(
    State(state): State<AppState>,
    Path((service, layer, object, attachment)): Path<(String, String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let who = match caller(&state.shared, &req) {
        Ok(c) => c,
        Err(e) => return envelope(StatusCode::OK, e),
    };
    let ids = (
        layer.parse::<i64>(),
        object.parse::<i64>(),
        attachment.parse::<i64>(),
    );
    let (Ok(layer_id), Ok(object_id), Ok(attachment_id)) = ids else {
        return not_found(uri).await;
    };
    let found = state
        .blocking(move |s| {
            ops::attachment_data(&s.core(), &who, layer_id, object_id, attachment_id)
        })
        .await;
    match found {
        Ok(Some((content_type, bytes))) => {
            let mut response = Response::new(Body::from(bytes));
            let value = HeaderValue::from_str(&content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
            response.headers_mut().insert(header::CONTENT_TYPE, value);
            response
        }
        Ok(None) => envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Attachment not found.",
                vec![format!(
                    "Layer {layer_id} has no attachment {attachment_id} on feature {object_id}"
                )],
            ),
        ),
        Err(e) => op_error(e),
    }
}

pub(super) async fn result_file(
    State(state): State<AppState>,
    Path((service, file)): Path<(String, String)>,
) -> Response {
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let shared = state.shared.clone();
    let name = file.clone();
    let read =
        tokio::task::spawn_blocking(move || shared.outputs.open(&name).map(std::fs::read)).await;
    match read {
        Ok(Some(Ok(bytes))) => file_response(&file, bytes),
        _ => envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Result file not found.",
                vec![format!(
                    "{file} does not exist in the output directory: it expired or was never created"
                )],
            ),
        ),
    }
}

fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    let content_type = if name.ends_with(".json") {
        "application/json"
    } else {
        "application/x-sqlite3"
    };
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
